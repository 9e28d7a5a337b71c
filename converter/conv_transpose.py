"""ONNX ConvTranspose (2-D) as picoq's TRANSPOSE_CONV.

TRANSPOSE_CONV adds input pixel (iy, ix) times filter tap (fy, fx) to output pixel
(iy * stride - pad + fy, ix * stride - pad + fx) when it is inside the output. ONNX's
ConvTranspose is that with pad = the begin padding and an output size
stride * (in - 1) + output_padding + kernel - begin - end, or the output_shape attribute's size
with the padding the spec derives from it; so one pad per axis and the output's size say it all.

TRANSPOSE_CONV has neither groups nor dilations; conv_transpose_ext.py rewrites those nodes into
group-1, dilation-1 ones before lowering. The float function here runs every form (the import
gives shapes before that rewrite).
"""

from __future__ import annotations

import numpy as np

from .fgraph import Node


def conv_transpose_geometry(
    node: Node, in_hw, k_hw
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """(strides, begin pads, output size) of a 2-D ConvTranspose, as the ONNX spec defines them
    (k_hw: the kernel's size before dilation). ValueError names padding that grows the output."""
    a = node.attrs
    dil = tuple(int(v) for v in a.get("dilations", (1, 1)))
    strides = tuple(int(v) for v in a.get("strides", (1, 1)))
    out_pad = tuple(int(v) for v in a.get("output_padding", (0, 0)))
    auto_pad = a.get("auto_pad", "NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else str(auto_pad)
    pads = tuple(int(v) for v in a.get("pads", (0, 0, 0, 0)))
    output_shape = a.get("output_shape")
    if len(strides) != 2 or len(dil) != 2 or len(out_pad) != 2 or len(pads) != 4:
        raise ValueError("strides, dilations, output_padding or pads of another rank than the 2-D input's")
    if output_shape is not None and len(output_shape) not in (2, 4):
        raise ValueError(f"output_shape {list(output_shape)} for a 2-D input")
    begins, outs = [], []
    for i in range(2):
        # a dilated kernel spans (k - 1) * d + 1 pixels: the spec's output size uses that span
        natural = strides[i] * (in_hw[i] - 1) + out_pad[i] + (k_hw[i] - 1) * dil[i] + 1
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


def dilate_kernel(w: np.ndarray, dil: tuple[int, int]) -> np.ndarray:
    """The kernel [.., .., kh, kw] with d - 1 zeros between taps: a dilated transposed convolution
    is the undilated one with this kernel (the same sums, the zeros add nothing)."""
    kh, kw = w.shape[2:]
    out = np.zeros((*w.shape[:2], (kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1), w.dtype)
    out[:, :, :: dil[0], :: dil[1]] = w
    return out


def conv_transpose(node: Node, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> list[np.ndarray]:
    """ConvTranspose's float function (NCHW; w [Cin, Cout / group, kh, kw]): the scatter
    TRANSPOSE_CONV makes, in float, group by group, with the dilated kernel."""
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError("only 2-D transposed convolutions (4-D input) are supported")
    group = int(node.attrs.get("group", 1))
    n, cin, h, wd = x.shape
    if w.shape[0] != cin or cin % group:
        raise ValueError(f"weights {w.shape} with group {group} do not fit an input of {cin} channels")
    dil = tuple(int(v) for v in node.attrs.get("dilations", (1, 1)))
    (sh, sw), (ph, pw), (oh, ow) = conv_transpose_geometry(node, (h, wd), w.shape[2:])
    w = dilate_kernel(w, dil)
    m, kh, kw = w.shape[1:]
    if b is not None and b.shape != (m * group,):
        raise ValueError(f"bias of shape {b.shape}; {m * group} output channels need ({m * group},)")
    cg = cin // group
    # the full scatter, then the output window starting at the begin padding
    full = np.zeros(
        (n, m * group, max((h - 1) * sh + kh, ph + oh), max((wd - 1) * sw + kw, pw + ow)), np.float64
    )
    for g in range(group):
        xg, wg = x[:, g * cg : (g + 1) * cg], w[g * cg : (g + 1) * cg]
        for fy in range(kh):
            for fx in range(kw):
                full[
                    :, g * m : (g + 1) * m, fy : fy + (h - 1) * sh + 1 : sh, fx : fx + (wd - 1) * sw + 1 : sw
                ] += np.einsum("nchw,cm->nmhw", xg, wg[:, :, fy, fx])
    y = full[:, :, ph : ph + oh, pw : pw + ow]
    if b is not None:
        y = y + b.reshape(1, -1, 1, 1)
    return [y.astype(np.float32)]
