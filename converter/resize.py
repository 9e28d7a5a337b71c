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
