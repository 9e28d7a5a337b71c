"""What picoq knows about each ONNX op type: one OnnxRule row per op, in RULES.

A row names the op's float32 reference (float_ops.py), the rewrite of its legacy attribute
forms, how the passes may treat it, how its output is quantized, and the picoq kernel and
lowering method (lower_ops.py, lower_movement.py) that run it in int8. onnx_import, passes,
float_run and quantize_graph read these rows instead of keeping op lists of their own, so
supporting a new op means its float function, its lowering method and one row here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import float_ops as f
from . import recurrent
from .conv_transpose import conv_transpose
from .fgraph import FloatGraph, Node
from .foreign_ops import run_foreign
from .lower_movement import MovementOps
from .lower_ops import ComputeOps
from .resize import resize_bilinear, resize_nearest
from .tables import run_table

FloatFn = Callable[..., list[np.ndarray]]  # (node, *input arrays) -> output arrays
LowerFn = Callable[[Any, Node], None]  # (quantize_graph.Lowering, node) -> None; appends picoq ops
NormalizeFn = Callable[[Node, FloatGraph], None]

ROLES = ("model", "fold", "internal", "quantized", "foreign")
QUANTS = ("own", "same", "same_all", "same_if_clamped", "same_if_pooled")


@dataclass(frozen=True)
class OnnxRule:
    """One ONNX op type.

    role: "model" an op picoq imports (listed in the unsupported-op hint); "fold" shape
        arithmetic imported only to fold to constants; "internal" made by the passes (pq.*);
        "quantized" an op of an already-quantized model, refused; "foreign" any other op type
        (rule_of): run by onnx's reference evaluator to fold or to learn shapes, never lowered.
    quant: "own" the output gets its calibrated range; "same" it shares its first input's
        quantization (data movement); "same_all" it shares every activation input's (Concat);
        "same_if_clamped" "same" only with a fused clamp (GlobalAveragePool: unclamped it runs
        as MEAN, with its own range); "same_if_pooled" "same" only where the node runs as
        AVERAGE_POOL_2D (AveragePool: else a DEPTHWISE_CONV_2D with its own range,
        lower_ops.avg_pool_is_depthwise). fixed_qparams, when set, overrides the range.
    not_lowered: the end of "not supported ..." for an op that reaches the lowering without a kernel.
    """

    op_type: str
    run: FloatFn | None = None
    role: str = "model"
    kernel: str | None = None  # the picoq kernel it lowers to (the main one, if several)
    lower: LowerFn | None = None
    quant: str = "own"
    fixed_qparams: tuple[float, int] | None = None  # (scale, zero point) of the output
    clampable: bool = False  # its kernel applies a clamp (act_min/act_max): a Relu/Clip after it fuses
    elementwise: bool = False  # per element: it may move before a Transpose (passes.hoist_elementwise)
    normalize: NormalizeFn | None = None  # rewrites legacy attribute forms at import
    not_lowered: str = "here"

    def __post_init__(self) -> None:
        assert self.role in ROLES and self.quant in QUANTS, self
        assert (self.kernel is None) == (self.lower is None), f"{self.op_type}: a kernel needs a lowering"
        assert (self.run is None) == (self.role == "quantized"), f"{self.op_type}: needs a float function"


# *** legacy attribute forms, rewritten into the current opset's inputs ***


def _const_input(graph: FloatGraph, node: Node, value, dtype) -> str:
    name = graph.fresh(f"{node.name}/{len(node.inputs)}")
    graph.consts[name] = np.asarray(value, dtype)
    return name


def _clip_min_max_inputs(node: Node, graph: FloatGraph) -> None:
    a = node.attrs
    if "min" in a or "max" in a:
        lo = _const_input(graph, node, a.pop("min", -np.inf), np.float32)
        node.inputs = [node.inputs[0], lo]
        node.inputs.append(_const_input(graph, node, a.pop("max", np.inf), np.float32))


def _axes_input(node: Node, graph: FloatGraph) -> None:
    if "axes" in node.attrs:
        node.inputs = [node.inputs[0], _const_input(graph, node, node.attrs.pop("axes"), np.int64)]


def _pads_inputs(node: Node, graph: FloatGraph) -> None:
    a = node.attrs
    if "pads" in a:
        node.inputs = [node.inputs[0], _const_input(graph, node, a.pop("pads"), np.int64)]
        node.inputs.append(_const_input(graph, node, [a.pop("value", 0.0)], np.float32))


def _note_opset(node: Node, graph: FloatGraph) -> None:
    node.attrs["_opset"] = graph.opset  # Softmax's axis default and meaning changed in opset 13


# *** the table ***

_C, _M = ComputeOps, MovementOps
_Q8 = (1.0 / 256, -128)  # SOFTMAX and LOGISTIC outputs (TFLite int8 spec)

RULES: dict[str, OnnxRule] = {
    r.op_type: r
    for r in (
        # imported, in the order the unsupported-op hint lists them
        OnnxRule("Conv", f.conv, kernel="CONV_2D", lower=_C.lower_conv, clampable=True),
        OnnxRule(  # ops14
            "ConvTranspose",
            conv_transpose,
            kernel="TRANSPOSE_CONV",
            lower=_C.lower_conv_transpose,
            clampable=True,
        ),
        OnnxRule(
            "Gemm",
            f.gemm,
            not_lowered="with a non-constant B, transA, a non-2-D input or a C other than a bias row",
        ),
        # with constant 2-D weights it became pq.Dense (passes.canonicalize); of two activations
        # (attention): BATCH_MATMUL
        OnnxRule("MatMul", f.matmul, kernel="BATCH_MATMUL", lower=_C.lower_matmul),
        OnnxRule("BatchNormalization", f.batch_norm, not_lowered="with non-constant statistics"),
        OnnxRule("Relu", f.relu, elementwise=True),
        OnnxRule("Clip", f.clip, elementwise=True, normalize=_clip_min_max_inputs),
        OnnxRule("LeakyRelu", f.leaky_relu, kernel="LEAKY_RELU", lower=_C.lower_leaky_relu, elementwise=True),
        OnnxRule("HardSwish", f.hard_swish, kernel="HARD_SWISH", lower=_C.lower_hard_swish, elementwise=True),
        OnnxRule("PRelu", f.prelu, kernel="PRELU", lower=_C.lower_prelu),
        OnnxRule("HardSigmoid", f.hard_sigmoid),
        OnnxRule(
            "Sigmoid",
            f.sigmoid,
            kernel="LOGISTIC",
            lower=_C.lower_sigmoid,
            fixed_qparams=_Q8,
            elementwise=True,
        ),
        OnnxRule(
            "Tanh", f.tanh, kernel="TANH", lower=_C.lower_tanh, fixed_qparams=(1.0 / 128, 0), elementwise=True
        ),
        OnnxRule("Add", f.add, kernel="ADD", lower=_C.lower_add, clampable=True),
        OnnxRule("Sub", f.sub),
        OnnxRule("Mul", f.mul, kernel="MUL", lower=_C.lower_mul, clampable=True),
        OnnxRule("Div", f.div, not_lowered="by an activation"),
        OnnxRule(
            "AveragePool",
            f.average_pool,
            kernel="AVERAGE_POOL_2D",
            lower=_C.lower_average_pool,
            quant="same_if_pooled",
            clampable=True,
        ),
        OnnxRule(
            "MaxPool", f.max_pool, kernel="MAX_POOL_2D", lower=_C.lower_max_pool, quant="same", clampable=True
        ),
        OnnxRule(
            "GlobalAveragePool",
            f.global_average_pool,
            kernel="AVERAGE_POOL_2D",
            lower=_C.lower_global_average_pool,
            quant="same_if_clamped",
            clampable=True,
        ),
        OnnxRule(
            "ReduceMean", f.reduce_mean, kernel="MEAN", lower=_C.lower_reduce_mean, normalize=_axes_input
        ),
        # MEAN's kernel without the 1/count (lower_reduce_mean); axes an input from opset 13
        OnnxRule("ReduceSum", f.reduce_sum, kernel="MEAN", lower=_C.lower_reduce_mean, normalize=_axes_input),
        # over axes adjacent in storage: MAX_POOL_2D on a [1, outer, reduced, inner] view
        OnnxRule(
            "ReduceMax",
            f.reduce_max,
            kernel="MAX_POOL_2D",
            lower=_C.lower_reduce_max,
            quant="same",
            clampable=True,
            normalize=_axes_input,
        ),
        OnnxRule("Flatten", f.flatten, kernel="RESHAPE", lower=_M.lower_reshape, quant="same"),
        OnnxRule("Reshape", f.reshape, kernel="RESHAPE", lower=_M.lower_reshape, quant="same"),
        OnnxRule(
            "Squeeze",
            f.squeeze,
            kernel="RESHAPE",
            lower=_M.lower_reshape,
            quant="same",
            normalize=_axes_input,
        ),
        OnnxRule(
            "Unsqueeze",
            f.unsqueeze,
            kernel="RESHAPE",
            lower=_M.lower_reshape,
            quant="same",
            normalize=_axes_input,
        ),
        # a Transpose only relabels the layout; RESHAPE or TRANSPOSE ops come where a kernel needs another
        OnnxRule("Transpose", f.transpose, kernel="RESHAPE", lower=_M.lower_transpose, quant="same"),
        OnnxRule("Concat", f.concat, kernel="CONCATENATION", lower=_M.lower_concat, quant="same_all"),
        OnnxRule("Pad", f.pad, kernel="PAD", lower=_M.lower_pad, quant="same", normalize=_pads_inputs),
        # on activations (ShuffleNet's channel split, crops): SLICE, steps of 1
        OnnxRule("Slice", f.slice_, kernel="SLICE", lower=_M.lower_slice, quant="same"),
        # on activations with constant indices: SLICE (a run of indices) or GATHER
        OnnxRule("Gather", f.gather, kernel="GATHER", lower=_M.lower_gather, quant="same"),
        OnnxRule(
            "DepthToSpace", f.depth_to_space, kernel="TRANSPOSE", lower=_M.lower_depth_space, quant="same"
        ),
        OnnxRule(
            "SpaceToDepth", f.space_to_depth, kernel="TRANSPOSE", lower=_M.lower_depth_space, quant="same"
        ),
        OnnxRule(
            "Softmax",
            f.softmax,
            kernel="SOFTMAX",
            lower=_C.lower_softmax,
            fixed_qparams=_Q8,
            normalize=_note_opset,
        ),
        # over the trailing axes [axis:] (the decomposed ReduceMean/Sub/Pow/... form fuses into it, norms.py)
        OnnxRule("LayerNormalization", f.layer_norm, kernel="LAYER_NORM", lower=_C.lower_layer_norm),
        # unrolled over their time steps into Gemm / Slice / Sigmoid / Tanh / Mul / Add (recurrent.py)
        OnnxRule("LSTM", recurrent.lstm, not_lowered="(recurrent.py unrolls it)"),
        OnnxRule("GRU", recurrent.gru, not_lowered="(recurrent.py unrolls it)"),
        OnnxRule("Identity", f.identity),
        OnnxRule("Dropout", f.dropout),
        OnnxRule("Constant", f.constant),
        # shape arithmetic: supported when it folds to a constant
        OnnxRule("Shape", f.shape_of, role="fold"),
        OnnxRule("Cast", f.cast, role="fold"),
        OnnxRule("ConstantOfShape", f.constant_of_shape, role="fold"),
        OnnxRule("Neg", f.neg, role="fold"),
        OnnxRule("Sqrt", f.sqrt, role="fold"),
        OnnxRule("Range", f.range_, role="fold"),
        OnnxRule("Expand", f.expand, role="fold"),
        # internal ops (fgraph.py)
        OnnxRule(
            "pq.Dense",
            f.dense,
            role="internal",
            kernel="FULLY_CONNECTED",
            lower=_C.lower_dense,
            clampable=True,
        ),
        OnnxRule(
            "pq.Affine",
            f.affine,
            role="internal",
            kernel="DEPTHWISE_CONV_2D",
            lower=_C.lower_affine,
            clampable=True,
            elementwise=True,
        ),
        OnnxRule(
            "pq.ResizeNearest",
            resize_nearest,
            role="internal",
            kernel="RESIZE_NEAREST_NEIGHBOR",
            lower=_M.lower_resize_nearest,
            quant="same",
        ),
        OnnxRule(  # ops14
            "pq.ResizeBilinear",
            resize_bilinear,
            role="internal",
            kernel="RESIZE_BILINEAR",
            lower=_M.lower_resize_bilinear,
            quant="same",
        ),
        OnnxRule(
            "pq.Table",
            run_table,
            role="internal",
            kernel="LOOKUP_TABLE",
            lower=_C.lower_table,
        ),
        # already quantized models: convert their float version instead
        *(
            OnnxRule(op, role="quantized")
            for op in (
                "QuantizeLinear",
                "DequantizeLinear",
                "QLinearConv",
                "QLinearMatMul",
                "ConvInteger",
                "MatMulInteger",
            )
        ),
    )
}

SUPPORTED = tuple(op for op, rule in RULES.items() if rule.role == "model")
UNSUPPORTED_HINT = (
    "picoq imports float ONNX models built from: "
    + ", ".join(SUPPORTED)
    + "; element-wise functions of one tensor and chains of them (Erf, Exp, Gelu, Mish, Elu, Softplus,"
    " x * sigmoid(x), ...) as one table; and any op whose inputs are all constant (it folds)."
    " Re-export the model without the listed ops, or replace them with supported ones."
)


def rule_of(op: str) -> OnnxRule:
    """The row of `op`; an op type picoq does not know gets a "foreign" row (foreign_ops.py)."""
    rule = RULES.get(op)
    if rule is None:
        rule = _FOREIGN.get(op)
        if rule is None:
            rule = _FOREIGN[op] = OnnxRule(op, run_foreign, role="foreign", not_lowered="by picoq")
    return rule


_FOREIGN: dict[str, OnnxRule] = {}
