"""Empirical bias correction (Nagel et al. 2019, "Data-Free Quantization", section 4.2, the
empirical form): remove the mean output error that weight quantization adds to each layer.

A layer y = W x + b run with quantized weights W_q computes y + (W_q - W) x. Rounding errors
do not average out per output channel: the mean of (W_q - W) x over the data, per channel,
is a bias shift that every later layer sees (largest with few, coarse levels: int4, per-tensor
scales, depthwise layers of 9 taps). Since it is linear in x, it only needs the mean input:

    E[(W_q - W) x] = (W_q - W) E[x]

where, for a convolution, E[x] is the mean of each input channel at each kernel tap over every
output position, zero padding included (the mean of the im2col'd input, so border pixels count
as the kernel sees them). That mean comes from one sweep of the float model over the
calibration data; the corrected float bias b - (W_q - W) E[x] is then quantized as usual.

W_q is what the lowering will store: the layer's weights quantized with the scales it will use
(per-channel or per-tensor int8, the int4 scales or the calibrated int8 rounding of
precision.py). Float only, in the converter; the kernels are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from . import float_ops
from . import qparams as qp
from .fgraph import FloatGraph, Node
from .low_bit import INT4_MAX, weighted_nodes
from .precision import Precision


class InputMeans:
    """The mean input each weighted node's weights multiply, per input channel (and kernel tap
    for convolutions: [C, kh, kw]), summed over calibration batches by `observe`."""

    def __init__(self, fg: FloatGraph, nodes: list[Node]):
        self.fg = fg
        self.by_input: dict[str, list[Node]] = {}
        for n in nodes:
            self.by_input.setdefault(n.inputs[0], []).append(n)
        self.sums: dict[str, np.ndarray] = {}
        self.count: dict[str, int] = {}

    def observe(self, name: str, v: np.ndarray) -> None:
        for node in self.by_input.get(name, ()):
            x = v.astype(np.float64)
            if node.op == "Conv":
                kh, kw = self.fg.consts[node.inputs[1]].shape[2:]
                strides, dil, pads, out = float_ops._geometry(node, x, (kh, kw))
                win = float_ops._windows(float_ops._pad_hw(x, pads), (kh, kw), strides, dil, out)
                total, n = win.sum(axis=(0, 2, 3)), x.shape[0] * out[0] * out[1]  # [C, kh, kw]
            else:  # pq.Dense: over the last axis
                total, n = x.reshape(-1, x.shape[-1]).sum(axis=0), x.size // x.shape[-1]
            self.sums[node.name] = self.sums.get(node.name, 0) + total
            self.count[node.name] = self.count.get(node.name, 0) + n

    def mean(self, node: Node) -> np.ndarray:
        return self.sums[node.name] / max(self.count[node.name], 1)


def quantized_weights(node: Node, w: np.ndarray, precision: Precision, per_channel: bool) -> np.ndarray:
    """The float values of the weights the lowering stores for `node` (w in ONNX layout: the
    output channel first; the lowering's NHWC filters hold the same values per channel)."""
    if node.name in precision.int4:
        scales, qmax = precision.int4[node.name], INT4_MAX
    elif node.name in precision.int8:
        scales, qmax = precision.int8[node.name], 127
    else:
        scales, qmax = qp.weight_scales(w, 0 if per_channel else None), 127
    q = qp.quantize_weights(w, scales, 0 if scales.size > 1 else None, qmax)
    shape = (-1,) + (1,) * (w.ndim - 1) if scales.size > 1 else ()
    return q.astype(np.float64) * scales.astype(np.float64).reshape(shape)


def output_error(node: Node, dw: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """(W_q - W) E[x] per output channel: dw in the node's weight layout, mean from InputMeans."""
    if node.op == "pq.Dense":  # dw [out, in], mean [in]
        return dw @ mean
    m, cg, kh, kw = dw.shape
    g = int(node.attrs.get("group", 1))
    return np.einsum(
        "gmcij,gcij->gm", dw.reshape(g, m // g, cg, kh, kw), mean.reshape(g, cg, kh, kw)
    ).reshape(m)


def correct_biases(
    original: FloatGraph,
    fg: FloatGraph,
    precision: Precision,
    per_channel: bool,
    sweep: Callable[[Callable[[str, np.ndarray], None]], None],
) -> tuple[FloatGraph, dict[str, np.ndarray]]:
    """`fg` (the graph to lower: the original's, or precision.py's with int4 / calibrated int8
    weight values) with each weighted node's bias corrected for its weight quantization error
    against `original`'s float weights, and the corrections by node name. `sweep(observe)` runs
    `original` over the calibration data. fg itself is not changed."""
    nodes = weighted_nodes(original)
    means = InputMeans(original, nodes)
    sweep(means.observe)
    originals = {n.name: n for n in nodes}
    lowered = {n.name for n in weighted_nodes(fg)}
    consts, new_nodes, corrections = dict(fg.consts), [], {}
    for node in fg.nodes:
        orig = originals.get(node.name) if node.name in lowered else None
        if orig is None or node.name not in means.count:
            new_nodes.append(node)
            continue
        w = original.consts[orig.inputs[1]].astype(np.float64)
        wq = quantized_weights(node, fg.consts[node.inputs[1]], precision, per_channel)
        err = output_error(node, wq - w, means.mean(node))
        bias_name = node.inputs[2] if len(node.inputs) > 2 and node.inputs[2] else ""
        b = fg.consts[bias_name].astype(np.float64).reshape(-1) if bias_name else np.zeros(w.shape[0])
        corrected = fg.fresh(f"{node.name}/bias@corrected")
        while corrected in consts:
            corrected += "_"
        consts[corrected] = (np.broadcast_to(b, err.shape) - err).astype(np.float32)
        corrections[node.name] = err
        new_nodes.append(replace(node, inputs=[node.inputs[0], node.inputs[1], corrected, *node.inputs[3:]]))
    return replace(fg, nodes=new_nodes, consts=consts), corrections
