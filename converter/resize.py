"""Nearest-neighbour resizes as index tables: the RESIZE_NEAREST_NEIGHBOR kernel copies input
pixel (rows[y], cols[x]) to output pixel (y, x), and the converter works out the two tables
with the source's own rule, so the kernel needs no float and no rounding mode.

- TFLite: GetNearestNeighbor (reference/resize_nearest_neighbor.h) in float32, as TFLM runs it.
- ONNX: whatever the Resize node's coordinate_transformation_mode and nearest_mode say,
  learned by running the node itself (onnx's reference evaluator) on an image whose pixel
  values are their own indices.
"""

from __future__ import annotations

import numpy as np

from .fgraph import FloatGraph, Node
from .foreign_ops import PROTO, ForeignOpError, run_foreign

F32 = np.float32


def tflite_nearest_index(in_size: int, out_size: int, align_corners: bool, half_pixel: bool) -> np.ndarray:
    """For each output coordinate, its input coordinate (int32), float32 as TFLite computes it."""
    if align_corners and out_size > 1:
        scale = F32(in_size - 1) / F32(out_size - 1)
    else:
        scale = F32(in_size) / F32(out_size)
    pos = (np.arange(out_size, dtype=F32) + F32(0.5 if half_pixel else 0.0)) * scale
    if align_corners:  # TfLiteRound: half away from zero (pos >= 0 here)
        idx = np.floor(pos + F32(0.5))
    else:
        idx = np.floor(pos)
    idx = np.minimum(idx.astype(np.int64), in_size - 1)
    if half_pixel:
        idx = np.maximum(idx, 0)
    return idx.astype(np.int32)


def onnx_nearest_maps(graph: FloatGraph, node: Node) -> tuple[np.ndarray, np.ndarray] | None:
    """(rows, cols) of a 4-D nearest Resize that keeps N and C and whose scales or sizes are
    constants; None for any other Resize (it then stays an unsupported node)."""
    proto = node.attrs[PROTO]
    mode = next((a.s.decode() for a in proto.attribute if a.name == "mode"), "nearest")
    x, y = node.inputs[0], node.outputs[0]
    xs, ys = graph.shapes.get(x), graph.shapes.get(y)
    if mode != "nearest" or xs is None or ys is None or len(xs) != 4 or len(ys) != 4 or xs[:2] != ys[:2]:
        return None
    if any(i and not graph.is_const(i) for i in node.inputs[1:]):
        return None
    h, w = xs[2:]
    if h * w >= 1 << 24:  # the probe's indices must be exact in float32
        return None
    probe = np.arange(h * w, dtype=np.float32).reshape(1, 1, h, w)
    extra = [graph.const(i) if i else None for i in node.inputs[1:]]
    if proto.op_type == "Resize" and len(extra) > 2 and extra[2] is not None and extra[2].size == 4:
        extra[2] = np.array([1, 1, *ys[2:]], np.int64)  # sizes: the probe's batch and channels are 1
    try:
        out = run_foreign(node, probe, *extra)[0]
    except ForeignOpError:
        return None
    if out.shape != (1, 1, *ys[2:]):
        return None
    flat = out[0, 0].astype(np.int64)
    rows, cols = flat[:, 0] // w, flat[0, :] % w
    if not np.array_equal(flat, rows[:, None] * w + cols[None, :]):
        return None  # not one source row per output row and one column per output column
    return rows.astype(np.int32), cols.astype(np.int32)


def as_resize_nearest(graph: FloatGraph, node: Node) -> list[Node] | None:
    """A foreign Resize / Upsample node as pq.ResizeNearest (canonicalize), when it is one."""
    maps = onnx_nearest_maps(graph, node)
    if maps is None:
        return None
    return [
        Node(
            "pq.ResizeNearest",
            node.inputs[:1],
            node.outputs[:1],
            {"rows": maps[0], "cols": maps[1]},
            node.name,
        )
    ]


def resize_nearest(node: Node, x: np.ndarray) -> list[np.ndarray]:
    """pq.ResizeNearest's float function: the same gather."""
    return [x[:, :, node.attrs["rows"]][:, :, :, node.attrs["cols"]]]


# *** ops14: bilinear resizes as interpolation tables ***
#
# RESIZE_BILINEAR's kernel mixes input rows y0, y1 and columns x0, x1 with 10-bit weights, TFLM's
# ResizeBilinearInteger arithmetic; the converter gives it one (low, high, weight) row per output
# row and per output column, int32 [n, 3], where weight is TFLM's input_y - (1 << 10) * y0.


def tflite_bilinear_table(
    in_size: int, out_size: int, align_corners: bool, half_pixel: bool
) -> np.ndarray | None:
    """TFLM's ComputeInterpolationValuesInteger for every output coordinate, with its 10-bit
    scale; None where TFLM itself would read past the input (a huge upsampling whose rounded
    scale overshoots: its low index reaches in_size)."""
    if align_corners and out_size > 1:
        scale = ((1 << 10) * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    else:
        scale = ((1 << 10) * in_size + out_size // 2) // out_size
    table = np.zeros((out_size, 3), np.int32)
    for v in range(out_size):
        pos = v * scale + scale // 2 - (1 << 9) if half_pixel else v * scale
        # C's truncating division equals floor here: pos < 0 only when max(., 0) makes it 0,
        # and pos + 1023 > 0 always (pos >= -512).
        lo = max(pos // (1 << 10), 0)
        hi = min((pos + (1 << 10) - 1) // (1 << 10), in_size - 1)
        if lo >= in_size:
            return None
        table[v] = (lo, hi, pos - (1 << 10) * lo)
    return table


def onnx_bilinear_table(in_size: int, out_size: int, mode: str, scale: float) -> np.ndarray:
    """ONNX Resize linear along one axis: the source coordinate of coordinate_transformation_mode
    ``mode`` (``scale`` = output / input, as the node's scales say), clamped to the input as the
    ONNX reference's edge padding does, split into two indices and a 10-bit weight (rounded)."""
    v = np.arange(out_size, dtype=np.float64)
    if mode == "align_corners":
        pos = v * (in_size - 1) / (out_size - 1) if out_size > 1 else np.zeros_like(v)
    elif mode == "asymmetric":
        pos = v / scale
    elif mode == "pytorch_half_pixel" and out_size == 1:
        pos = np.zeros_like(v)
    else:  # half_pixel, pytorch_half_pixel
        pos = (v + 0.5) / scale - 0.5
    pos = np.clip(pos, 0.0, in_size - 1)
    lo = np.floor(pos).astype(np.int64)
    w = np.rint((pos - lo) * 1024).astype(np.int64)
    step = w >= 1024  # rounds up to the next pixel
    lo, w = np.where(step, lo + 1, lo), np.where(step, 0, w)
    hi = np.minimum(lo + 1, in_size - 1)
    return np.stack([lo, hi, w], axis=1).astype(np.int32)


ONNX_LINEAR_MODES = ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric")


class ResizeRefused(ValueError):
    """A linear Resize picoq cannot run, with the reason (the converter names it)."""


def onnx_bilinear_tables(graph: FloatGraph, node: Node) -> tuple[np.ndarray, np.ndarray] | None:
    """(rows, cols) of a 4-D NCHW Resize mode=linear (or Upsample linear) that keeps N and C,
    constant scales or sizes; None when the node is neither; ResizeRefused naming what is not
    supported."""
    proto = node.attrs[PROTO]
    attrs = {a.name: a for a in proto.attribute}
    mode = attrs["mode"].s.decode() if "mode" in attrs else "nearest"
    if proto.op_type == "Upsample" and mode in ("linear", "bilinear"):
        return _upsample_tables(graph, node, attrs)
    if proto.op_type != "Resize" or mode != "linear":
        return None
    ctm = (
        attrs["coordinate_transformation_mode"].s.decode()
        if "coordinate_transformation_mode" in attrs
        else "half_pixel"
    )
    if ctm not in ONNX_LINEAR_MODES:
        raise ResizeRefused(f"coordinate_transformation_mode={ctm} (picoq: {', '.join(ONNX_LINEAR_MODES)})")
    if "antialias" in attrs and attrs["antialias"].i:
        raise ResizeRefused("antialias=1")
    if "keep_aspect_ratio_policy" in attrs and attrs["keep_aspect_ratio_policy"].s.decode() != "stretch":
        raise ResizeRefused("keep_aspect_ratio_policy other than stretch")
    if "axes" in attrs:
        raise ResizeRefused("the axes attribute")
    x, y = node.inputs[0], node.outputs[0]
    xs, ys = graph.shapes.get(x), graph.shapes.get(y)
    if xs is None or ys is None or len(xs) != 4 or len(ys) != 4 or tuple(xs[:2]) != tuple(ys[:2]):
        raise ResizeRefused("not a 2-D spatial resize of a 4-D NCHW tensor keeping N and C")
    if any(i and not graph.is_const(i) for i in node.inputs[1:]):
        raise ResizeRefused("scales or sizes computed at run time")
    scales = graph.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
    if scales is not None and scales.size == 4:
        sh, sw = float(scales[2]), float(scales[3])
    else:  # sizes: the scale is output / input
        sh, sw = ys[2] / xs[2], ys[3] / xs[3]
    return (
        onnx_bilinear_table(int(xs[2]), int(ys[2]), ctm, sh),
        onnx_bilinear_table(int(xs[3]), int(ys[3]), ctm, sw),
    )


def _upsample_tables(graph: FloatGraph, node: Node, attrs: dict) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of Upsample (opsets 7 to 9) mode linear: ONNX's asymmetric coordinates,
    input x = output x / scale, the scale as given (an attribute up to opset 8, an input from 9),
    not output / input. ("bilinear", Upsample-1's name, means the same; onnxruntime refuses it.)"""
    x, y = node.inputs[0], node.outputs[0]
    xs, ys = graph.shapes.get(x), graph.shapes.get(y)
    if xs is None or ys is None or len(xs) != 4 or len(ys) != 4 or tuple(xs[:2]) != tuple(ys[:2]):
        raise ResizeRefused("not a 2-D spatial upsampling of a 4-D NCHW tensor keeping N and C")
    if "scales" in attrs:
        scales = np.asarray(attrs["scales"].floats, np.float64)
    elif len(node.inputs) > 1 and node.inputs[1] and graph.is_const(node.inputs[1]):
        scales = graph.const(node.inputs[1]).astype(np.float64).reshape(-1)
    else:
        raise ResizeRefused("scales computed at run time")
    if scales.size != 4 or not np.all(scales[2:] > 0):
        raise ResizeRefused(f"scales {scales.tolist()}")
    return (
        onnx_bilinear_table(int(xs[2]), int(ys[2]), "asymmetric", float(scales[2])),
        onnx_bilinear_table(int(xs[3]), int(ys[3]), "asymmetric", float(scales[3])),
    )


def as_resize_bilinear(graph: FloatGraph, node: Node) -> list[Node] | None:
    """A foreign Resize mode=linear (or Upsample linear) as pq.ResizeBilinear (canonicalize);
    None when it is not one (a refused one, and a cubic one, stays an unsupported node, its
    reason in node.attrs["_problem"])."""
    proto = node.attrs[PROTO]
    mode = next((a.s.decode() for a in proto.attribute if a.name == "mode"), "nearest")
    if mode == "cubic":
        node.attrs["_problem"] = f"{node.where}: not supported by picoq: mode=cubic (nearest and linear are)"
        return None
    try:
        tables = onnx_bilinear_tables(graph, node)
    except ResizeRefused as e:
        node.attrs["_problem"] = f"{node.where}: {proto.op_type} mode={mode} with {e}: not supported by picoq"
        return None
    if tables is None:
        return None
    return [
        Node(
            "pq.ResizeBilinear",
            node.inputs[:1],
            node.outputs[:1],
            {"rows": tables[0], "cols": tables[1]},
            node.name,
        )
    ]


def _lerp(x: np.ndarray, table: np.ndarray, axis: int) -> np.ndarray:
    lo, hi = np.take(x, table[:, 0], axis=axis), np.take(x, table[:, 1], axis=axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    w = (table[:, 2].astype(np.float32) / np.float32(1024)).reshape(shape)
    return lo + (hi - lo) * w


def resize_bilinear(node: Node, x: np.ndarray) -> list[np.ndarray]:
    """pq.ResizeBilinear's float function (NCHW): the kernel's interpolation, in float."""
    return [_lerp(_lerp(x, node.attrs["rows"], 2), node.attrs["cols"], 3).astype(x.dtype)]
