"""ONNX ConvTranspose (2-D, group 1, dilation 1) as picoq's TRANSPOSE_CONV.

TRANSPOSE_CONV adds input pixel (iy, ix) times filter tap (fy, fx) to output pixel
(iy * stride - pad + fy, ix * stride - pad + fx) when it is inside the output. ONNX's
ConvTranspose is that with pad = the begin padding and an output size
stride * (in - 1) + output_padding + kernel - begin - end, or the output_shape attribute's size
with the padding the spec derives from it; so one pad per axis and the output's size say it all.
"""

from __future__ import annotations

import numpy as np

from .fgraph import Node


def conv_transpose_geometry(
    node: Node, in_hw, k_hw
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """(strides, begin pads, output size) of a 2-D ConvTranspose, as the ONNX spec defines them.
    ValueError names what picoq does not run (groups, dilations, negative padding)."""
    a = node.attrs
    if int(a.get("group", 1)) != 1:
        raise ValueError(f"group={int(a['group'])} (picoq's TRANSPOSE_CONV has no groups)")
    dil = tuple(int(v) for v in a.get("dilations", (1, 1)))
    if dil != (1, 1):
        raise ValueError(f"dilations={list(dil)} (TRANSPOSE_CONV has none)")
    strides = tuple(int(v) for v in a.get("strides", (1, 1)))
    out_pad = tuple(int(v) for v in a.get("output_padding", (0, 0)))
    auto_pad = a.get("auto_pad", "NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else str(auto_pad)
    pads = tuple(int(v) for v in a.get("pads", (0, 0, 0, 0)))
    output_shape = a.get("output_shape")
    begins, outs = [], []
    for i in range(2):
        natural = strides[i] * (in_hw[i] - 1) + out_pad[i] + k_hw[i]
        if output_shape is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            out = int(output_shape[-2 + i]) if output_shape is not None else in_hw[i] * strides[i]
            total = natural - out
            # the spec: SAME_UPPER puts the extra row at the end; otherwise at the beginning
            begin = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
        else:
            begin, out = pads[i], natural - pads[i] - pads[i + 2]
        if begin < 0 or out < 1:
            raise ValueError(f"padding that grows the output (begin {begin}, output size {out})")
        begins.append(begin)
        outs.append(out)
    return (strides[0], strides[1]), (begins[0], begins[1]), (outs[0], outs[1])


def conv_transpose(node: Node, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> list[np.ndarray]:
    """ConvTranspose's float function (NCHW; w [Cin, Cout, kh, kw]): the scatter TRANSPOSE_CONV
    makes, in float."""
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError("only 2-D transposed convolutions (4-D input) are supported")
    n, _, h, wd = x.shape
    _, cout, kh, kw = w.shape
    (sh, sw), (ph, pw), (oh, ow) = conv_transpose_geometry(node, (h, wd), (kh, kw))
    # the full scatter, then the output window starting at the begin padding
    full = np.zeros((n, cout, max((h - 1) * sh + kh, ph + oh), max((wd - 1) * sw + kw, pw + ow)), np.float64)
    for fy in range(kh):
        for fx in range(kw):
            full[:, :, fy : fy + (h - 1) * sh + 1 : sh, fx : fx + (wd - 1) * sw + 1 : sw] += np.einsum(
                "nchw,cm->nmhw", x, w[:, :, fy, fx]
            )
    y = full[:, :, ph : ph + oh, pw : pw + ow]
    if b is not None:
        y = y + b.reshape(1, -1, 1, 1)
    return [y.astype(np.float32)]
