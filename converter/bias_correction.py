"""Empirical bias correction (Nagel et al. 2019, "Data-Free Quantization", section 4.2, the
empirical form): remove the mean output error that weight quantization adds to each layer.

A layer y = W x + b run with quantized weights W_q computes y + (W_q - W) x. Rounding errors
do not average out per output channel: the mean of (W_q - W) x over the data, per channel,
is a bias shift that every later layer sees (largest with few, coarse levels: int4, per-tensor
scales, depthwise layers of 9 taps, and after ReLU, whose outputs have a large mean).

picoq measures it exactly with the float simulator: the float model and the model with every
layer's quantized weights run side by side over calibration samples, layer by layer; each
weighted layer's mean pre-activation error E[y_q - y] per output channel (zero padding, upstream
layers' errors and their corrections included) is subtracted from its float bias before the
next layer runs. The corrected float bias is then quantized as usual. (The paper's form,
(W_q - W) E[x] with the float model's input mean, is the same for the first layer; measured on
the MLPerf Tiny nets it corrects less and lowers GPTQ-rounded int4 models, whose layers'
errors partly cancel: the side-by-side run sees that, the float-input mean does not.)

W_q is what the lowering will store: the layer's weights quantized with the scales it will use
(per-channel or per-tensor int8, the int4 scales or the calibrated int8 rounding of
precision.py). Float only, in the converter; the kernels are unchanged.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import float_ops
from . import qparams as qp
from .fgraph import FloatGraph, Node
from .low_bit import INT4_MAX, weighted_nodes
from .precision import Precision


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


SEQUENTIAL_SAMPLES = 64  # calibration samples the sequential correction runs (all at once: memory)


def _chunks(fg: FloatGraph, samples: dict[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
    """The first samples as feeds: one stacked batch when the graph allows, else one per sample."""
    n = min(SEQUENTIAL_SAMPLES, len(next(iter(samples.values()))))
    if float_ops.batch_safe(fg):
        return [{k: v[:n].reshape(-1, *v.shape[2:]) for k, v in samples.items()}]
    return [{k: v[i] for k, v in samples.items()} for i in range(n)]


def _pre_activation(node: Node, ins: list, batched: bool, shapes) -> list[np.ndarray]:
    """A node's outputs before its fused clamp (float_run.run's batched Reshape rule kept)."""
    from .onnx_rules import rule_of

    if batched and node.op == "Reshape" and node.outputs[0] in shapes and ins[0].shape[:1] != (1,):
        return [ins[0].reshape((ins[0].shape[0], *shapes[node.outputs[0]][1:]))]
    return rule_of(node.op).run(node, *ins)


def correct_biases(
    original: FloatGraph,
    fg: FloatGraph,
    precision: Precision,
    per_channel: bool,
    samples: dict[str, np.ndarray],
) -> tuple[FloatGraph, dict[str, np.ndarray]]:
    """`fg` (the graph to lower: `original`, or precision.py's copy holding int4 / calibrated
    int8 weight values) with each weighted layer's bias corrected, and the corrections by node
    name; fg itself is not changed. A layer's correction is its mean output error (before its
    activation), over the first calibration samples, in the model whose every weighted layer
    holds its quantized weights and whose earlier layers are already corrected, against
    `original`'s float model. One pass over the nodes, both models side by side."""
    from .float_ops import F32

    nodes_q = list(fg.nodes)
    assert [n.outputs for n in nodes_q] == [n.outputs for n in original.nodes]
    lowered = {n.name for n in weighted_nodes(fg)}
    consts = dict(fg.consts)
    corrections: dict[str, np.ndarray] = {}
    chunks = _chunks(original, samples)
    batched = len(chunks) == 1 and float_ops.batch_safe(original)
    env_f = [dict(c) for c in chunks]
    env_q = [dict(c) for c in chunks]
    last_use: dict[str, int] = {}
    for k, n in enumerate(original.nodes):
        for i in n.inputs:
            last_use[i] = k
    keep = set(original.outputs)
    for k, (node_f, node_q) in enumerate(zip(original.nodes, nodes_q)):
        weighted = node_q.name in lowered
        if weighted:
            wq = quantized_weights(node_q, consts[node_q.inputs[1]], precision, per_channel).astype(F32)
            consts[f"{node_q.name}/filter@q"] = wq
            node_q = replace(node_q, inputs=[node_q.inputs[0], f"{node_q.name}/filter@q", *node_q.inputs[2:]])
        outs_f, outs_q = [], []
        for ef, eq in zip(env_f, env_q):
            ins_f = [None if not i else ef[i] if i in ef else original.consts[i] for i in node_f.inputs]
            ins_q = [None if not i else eq[i] if i in eq else consts[i] for i in node_q.inputs]
            outs_f.append(_pre_activation(node_f, ins_f, batched, original.shapes))
            outs_q.append(_pre_activation(node_q, ins_q, batched, original.shapes))
        if weighted:
            axis = 1 if node_q.op == "Conv" else -1
            err = sum(
                np.moveaxis(q[0].astype(np.float64) - f[0], axis, -1)
                .reshape(-1, q[0].shape[axis])
                .sum(axis=0)
                for f, q in zip(outs_f, outs_q)
            ) / sum(np.prod(q[0].shape) // q[0].shape[axis] for q in outs_q)
            bias_name = node_q.inputs[2] if len(node_q.inputs) > 2 and node_q.inputs[2] else ""
            b = consts[bias_name].astype(np.float64).reshape(-1) if bias_name else np.zeros(err.shape)
            name = f"{node_q.name}/bias@corrected"
            consts[name] = (np.broadcast_to(b, err.shape) - err).astype(F32)
            corrections[node_q.name] = err
            shape = [1] * outs_q[0][0].ndim
            shape[axis] = -1
            for q in outs_q:
                q[0] = (q[0] - err.reshape(shape)).astype(F32)
            fixed = [node_q.inputs[0], fg.nodes[k].inputs[1], name, *node_q.inputs[3:]]
            nodes_q[k] = replace(fg.nodes[k], inputs=fixed)
        clamp = node_f.attrs.get("clamp")
        for env, outs in ((env_f, outs_f), (env_q, outs_q)):
            for e, o in zip(env, outs):
                if clamp is not None:
                    o[0] = np.clip(o[0], F32(clamp[0]), F32(clamp[1])).astype(F32)
                for t, v in zip(node_f.outputs, o):
                    if t:
                        e[t] = v
                for i in node_f.inputs:
                    if i in e and last_use.get(i) == k and i not in keep:
                        del e[i]
    out_consts = {k: v for k, v in consts.items() if not k.endswith("/filter@q")}
    return replace(fg, nodes=nodes_q, consts=out_consts), corrections
