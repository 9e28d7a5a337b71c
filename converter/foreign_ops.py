"""ONNX ops picoq has no float function for, run by onnx's reference evaluator.

Only for what the converter learns before refusing or folding them: a foreign node whose
inputs are all constant folds to a constant whatever its op type (a transformer's `Mod` of
two constants), and one on activations still gets its output shapes, so the checks of every
node after it run in the same pass and one error lists every problem of the model.

A foreign node is never lowered: picoq has no kernel for it. What cannot be run safely
(custom domains, subgraphs, random ops, outputs that would be too large) raises ForeignOpError
and its outputs stay unknown.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .onnx_check import MAX_ELEMENTS

PROTO = "_onnx"  # Node.attrs key: the ONNX NodeProto of a foreign node
OPSET = "_opset"
_GRAPH_ATTRS = (5, 10)  # AttributeProto.GRAPH, GRAPHS
_RANDOM = {
    "RandomNormal",
    "RandomNormalLike",
    "RandomUniform",
    "RandomUniformLike",
    "Multinomial",
    "Bernoulli",
}


class ForeignOpError(Exception):
    """The node cannot be run here; its outputs stay unknown."""


def _expected_elements(proto: Any, inputs: list[np.ndarray | None]) -> int | None:
    """Output elements of the ops whose output size a small input sets (None: not one of them)."""
    op, x = proto.op_type, inputs[0] if inputs else None
    if x is None:
        return None
    if op in ("Resize", "Upsample"):
        sizes = inputs[3] if len(inputs) > 3 else None
        scales = inputs[2] if op == "Resize" and len(inputs) > 2 else inputs[1] if len(inputs) > 1 else None
        if sizes is not None and sizes.size:
            return math.prod(int(v) for v in sizes.reshape(-1))
        if scales is not None and scales.size == x.ndim:
            return math.prod(max(1, int(d * float(s))) for d, s in zip(x.shape, scales.reshape(-1)))
    if op == "Tile" and len(inputs) > 1 and inputs[1] is not None:
        return x.size * math.prod(max(0, int(v)) for v in inputs[1].reshape(-1))
    return None


def run_foreign(node: Any, *inputs: np.ndarray | None) -> list[np.ndarray]:
    """The outputs of a foreign node (a fgraph.Node holding its NodeProto) on `inputs`."""
    proto = node.attrs[PROTO]
    if proto.domain not in ("", "ai.onnx"):
        raise ForeignOpError(f"custom domain {proto.domain!r}")
    if proto.op_type in _RANDOM or any(a.type in _GRAPH_ATTRS for a in proto.attribute):
        raise ForeignOpError("random or control-flow op")
    if not all(v is None or (isinstance(v, np.ndarray) and v.size <= MAX_ELEMENTS) for v in inputs):
        raise ForeignOpError("input too large")
    expected = _expected_elements(proto, list(inputs))
    if expected is not None and not 0 <= expected <= MAX_ELEMENTS:
        raise ForeignOpError("output too large")
    if proto.op_type == "Upsample" and _attr(proto, "mode", b"nearest") in (b"linear", b"bilinear"):
        return [_upsample_linear(proto, list(inputs))]  # ops14: onnx's evaluator has no such mode
    from onnx import TensorProto, helper
    from onnx.reference import ReferenceEvaluator

    feeds = {name: v for name, v in zip(proto.input, inputs) if name and v is not None}
    try:
        # A one-node model rather than the bare node: ops defined as ONNX functions (Gelu,
        # Mish, ...) are expanded only with their inputs' types and the opset known.
        values = [
            helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), None)
            for k, v in feeds.items()
        ]
        results = [helper.make_tensor_value_info(o, TensorProto.UNDEFINED, None) for o in proto.output if o]
        graph = helper.make_graph([proto], "foreign", values, results)
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", int(node.attrs.get(OPSET, 13)))]
        )
        with np.errstate(all="ignore"):
            outs = ReferenceEvaluator(model).run(None, feeds)
    except Exception as e:  # unknown op types, bad attributes, inconsistent inputs, MemoryError
        raise ForeignOpError(str(e) or type(e).__name__) from e
    if len(outs) < len([o for o in proto.output if o]) or not all(
        isinstance(v, np.ndarray) and v.size <= MAX_ELEMENTS for v in outs
    ):
        raise ForeignOpError("outputs are not tensors picoq can hold")
    return [v.astype(np.float32) if v.dtype in (np.float16, np.float64) else v for v in outs]


# --- ops14: Upsample mode=linear ---


def _attr(proto: Any, name: str, default: Any) -> Any:
    a = next((a for a in proto.attribute if a.name == name), None)
    return default if a is None else a.s if a.type == 3 else list(a.floats)  # 3: STRING


def _upsample_linear(proto: Any, inputs: list[np.ndarray | None]) -> np.ndarray:
    """Upsample (opsets 7 to 9) mode linear, as onnxruntime computes it: each axis of size n
    becomes floor(n * scale), output coordinate o reads input coordinate o / scale (asymmetric),
    clamped to n - 1, interpolated linearly between its two neighbours. Float64 inside."""
    x = inputs[0]
    scales = _attr(proto, "scales", None)
    if scales is None:
        if len(inputs) < 2 or inputs[1] is None:
            raise ForeignOpError("Upsample without scales")
        scales = inputs[1].reshape(-1).tolist()
    if x is None or len(scales) != x.ndim or not all(math.isfinite(s) and s > 0 for s in scales):
        raise ForeignOpError(f"Upsample scales {scales}")
    out_shape = [int(math.floor(n * s)) for n, s in zip(x.shape, scales)]
    if min(out_shape, default=1) < 1 or math.prod(out_shape) > MAX_ELEMENTS:
        raise ForeignOpError("Upsample output empty or too large")
    y = x.astype(np.float64)
    for axis, (n, s, m) in enumerate(zip(x.shape, scales, out_shape)):
        pos = np.minimum(np.arange(m, dtype=np.float64) / s, n - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, n - 1)
        shape = [1] * x.ndim
        shape[axis] = m
        frac = (pos - lo).reshape(shape)
        y = np.take(y, lo, axis=axis) * (1 - frac) + np.take(y, hi, axis=axis) * frac
    return y.astype(np.float32)
