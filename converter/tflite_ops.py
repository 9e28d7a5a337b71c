"""Build picoq ops from TFLite operators: one builder per operator, looked up in BUILDERS.

Multipliers, shifts, padding and clamps are computed the way TFLite Micro computes them
in each kernel's Prepare, so the integer results match TFLM byte for byte. A builder
reports what it cannot import in `r.problems` and returns without adding an op.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from picoq.runtime.format import MAX_CONCAT_INPUTS, OPCODE_BY_NAME, OPS, op_variant

from . import lut16
from . import quantize as q
from .graph import Op, Tensor
from .resize import tflite_bilinear_table, tflite_nearest_index
from .strided import Step, strided_steps
from .tflite_reader import TfliteReader

_ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}


@dataclass
class TfliteOp:
    """One operator being imported: its tflite tensors, its first input already a graph tensor."""

    r: TfliteReader
    op: Any  # the tflite.Operator
    name: str
    ins: list[int]  # tflite tensor indices
    out_tfl: int  # its first output (tflite tensor index)
    x: int  # its first input (graph tensor index)
    where: str  # how problems name the op
    n_problems: int  # len(r.problems) before this op

    @property
    def xt(self) -> Tensor:
        return self.r.graph.tensors[self.x]

    def output(self) -> int:
        return self.r.activation(self.out_tfl, self.where)

    def failed(self) -> bool:
        return len(self.r.problems) > self.n_problems


# *** operands ***


def _ensure(cond: bool, problems: list[str], msg: str) -> bool:
    if not cond:
        problems.append(msg)
    return cond


def _weights(r: TfliteReader, i: int, where: str, axis: int) -> tuple[int, np.ndarray] | None:
    """A symmetric INT8 or INT4 weight tensor as a graph constant (int4: picoq's s4 variant,
    packed again on write), plus its scales (per channel or 1)."""
    name = r.tname(i)
    data = r.const_data(i)
    qp = r.quant(i)
    ok = _ensure(r.ttype(i) in _WEIGHT_DTYPE, r.problems, f"{where}: weights {name!r} must be INT8 or INT4")
    ok &= _ensure(data is not None, r.problems, f"{where}: weights {name!r} must be a constant")
    ok &= _ensure(qp is not None, r.problems, f"{where}: weights {name!r} are not quantized")
    if not ok:
        return None
    scales, zps, qdim = qp
    if data.ndim <= axis or data.size == 0:
        r.problems.append(f"{where}: weights {name!r} have shape {data.shape}")
        return None
    if scales.size > 1 and qdim != axis:
        r.problems.append(f"{where}: weights {name!r} are quantized on axis {qdim}, picoq needs axis {axis}")
        return None
    if np.any(zps != 0):
        r.problems.append(f"{where}: weights {name!r} have non-zero zero points (weights are symmetric)")
        return None
    if scales.size > 1 and scales.size != data.shape[axis]:
        r.problems.append(
            f"{where}: weights {name!r} have {scales.size} scales for {data.shape[axis]} channels"
        )
        return None
    zeros = np.zeros(scales.size, np.int32)
    idx = r.graph.add_const(name, data.astype(np.int8), scales, zeros, axis, _WEIGHT_DTYPE[r.ttype(i)])
    return idx, scales


# TFLite weight tensor types -> picoq dtype (TFLite's INT4 is packed like picoq's)
_WEIGHT_DTYPE = {9: "int8", 17: "int4"}


def _bias(r: TfliteReader, i: int, where: str, channels: int, dtype: str = "int32") -> int:
    """The bias: INT32 for int8 activations, INT64 for 16x8 (TFLite's types for each)."""
    if i < 0:
        return -1
    name = r.tname(i)
    data = r.const_data(i)
    code = 2 if dtype == "int32" else 4
    if not _ensure(
        r.ttype(i) == code and data is not None,
        r.problems,
        f"{where}: bias {name!r} must be a constant {dtype.upper()}",
    ):
        return -1
    if not _ensure(
        data.size == channels, r.problems, f"{where}: bias {name!r} has {data.size} values, needs {channels}"
    ):
        return -1
    # No scale stored: a bias's scale is in_scale * w_scale[c] by the int8 spec.
    return r.graph.add_const(name, data.astype(dtype).reshape(channels))


# The bias dtype that goes with the activations' (TFLite: int32 for int8, int64 for 16x8).
_BIAS_DTYPE = {"int8": "int32", "int16": "int64"}


def _conv_bias_dtype(r: TfliteReader, i: int, act: str, depthwise: bool) -> str:
    """A conv's bias dtype: TFLM's 16x8 CONV_2D takes an INT32 bias as well as an INT64 one (int32
    sums and requantization then); its DEPTHWISE_CONV_2D reads any bias as INT64, so only that
    is accepted. Without a bias, 16x8 sums are int64 ("int64" here sets the shift limit)."""
    if act == "int16" and not depthwise and i >= 0 and r.ttype(i) == 2:
        return "int32"
    return _BIAS_DTYPE[act]


def _same_dtype(r: TfliteReader, where: str, *ts: Tensor) -> bool:
    """An op's activations share one dtype (int8, or int16 for 16x8); a mix needs a QUANTIZE."""
    kinds = {t.dtype for t in ts}
    return _ensure(len(kinds) == 1, r.problems, f"{where}: mixes {' and '.join(sorted(kinds))} activations")


def _requant_consts(
    r: TfliteReader, prefix: str, mult: np.ndarray, shift: np.ndarray, filter_dtype: str = "int8"
) -> tuple[int, int]:
    return (
        r.graph.add_const(prefix + "/multiplier", np.asarray(mult, np.int32)),
        r.graph.add_const(prefix + "/shift", np.asarray(shift, q.shift_dtype(filter_dtype))),
    )


def _padding(r, where, padding, in_hw, k_hw, strides, dilations, out_hw) -> tuple[int, int] | None:
    pads = []
    for in_size, k, s, d, out in zip(in_hw, k_hw, strides, dilations, out_hw):
        if padding == 0:  # SAME
            expect, pad = q.same_padding(in_size, k, s, d)
        else:  # VALID
            expect, pad = q.valid_out(in_size, k, s, d), 0
        if expect != out:
            r.problems.append(f"{where}: output size {out} but the padding/stride/filter give {expect}")
            return None
        pads.append(pad)
    return pads[0], pads[1]


def _activation(r, where, code: int) -> str:
    act = _ACTIVATIONS.get(code, str(code))
    if act not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
        r.problems.append(f"{where}: fused activation {act} is not supported")
        return "NONE"
    return act


def _int_operand(r: TfliteReader, i: int, where: str, what: str) -> np.ndarray | None:
    """A constant INT32/INT64 operand (axes, paddings, permutation) as int64 values."""
    data = r.const_data(i) if i >= 0 else None
    if data is None or r.ttype(i) not in (2, 4):
        r.problems.append(f"{where}: {what} must be a constant INT32 or INT64 tensor")
        return None
    return np.asarray(data, np.int64)


def _params_or_problem(r: TfliteReader, where: str, fn, *args):
    """Run a quantize.py parameter function; a scale it cannot represent becomes a problem."""
    try:
        return fn(*args)
    except ValueError as e:
        r.problems.append(f"{where}: {e}")
        return None


def _same_quant(r: TfliteReader, where: str, a: Tensor, b: Tensor) -> None:
    """Data-movement ops keep quantization (TFLite int8 spec; TFLM pools allow |ds| <= 1e-6)."""
    if abs(a.scale - b.scale) > 1e-6 or a.zero_point != b.zero_point:
        r.problems.append(
            f"{where}: output quantization ({b.scale}, {b.zero_point}) differs from the input's"
            f" ({a.scale}, {a.zero_point})"
        )


# *** one builder per operator ***


def _conv(c: TfliteOp) -> None:
    r, op, name, ins, where = c.r, c.op, c.name, c.ins, c.where
    x, xt = c.x, c.xt
    y_shape = r.shape(c.out_tfl)
    depthwise = name == "DEPTHWISE_CONV_2D"
    o = r.options(op, "DepthwiseConv2DOptions" if depthwise else "Conv2DOptions", where)
    if len(ins) < 2 or o is None:
        r.problems.append(f"{where}: needs a filter and options")
        return
    w = _weights(r, ins[1], where, axis=3 if depthwise else 0)
    if w is None or len(xt.shape) != 4 or len(y_shape) != 4:
        _ensure(w is None, r.problems, f"{where}: input and output must be 4-D NHWC")
        return
    w_idx, w_scales = w
    wt = r.graph.tensors[w_idx]
    if len(wt.shape) != 4:
        r.problems.append(f"{where}: filter must be 4-D, got {wt.shape}")
        return
    channels = wt.shape[3] if depthwise else wt.shape[0]
    y = c.output()
    yt = r.graph.tensors[y]
    strides = (o.StrideH(), o.StrideW())
    dil = (o.DilationHFactor(), o.DilationWFactor())
    if min(*strides, *dil) < 1:
        r.problems.append(f"{where}: strides {strides} and dilations {dil} must be >= 1")
        return
    pads = _padding(r, where, o.Padding(), xt.shape[1:3], wt.shape[1:3], strides, dil, yt.shape[1:3])
    if pads is None:
        return
    if not _same_dtype(r, where, xt, yt):
        return
    b_in = ins[2] if len(ins) > 2 else -1
    bias_dtype = _conv_bias_dtype(r, b_in, xt.dtype, depthwise)
    bias = _bias(r, b_in, where, channels, bias_dtype)
    requant = _params_or_problem(
        r, where, q.conv_multipliers, xt.scale, np.broadcast_to(w_scales, (channels,)), yt.scale
    )
    if requant is None or not _ensure(
        bias_dtype != "int64" or requant[1].max() <= 7,
        r.problems,
        f"{where}: a 16x8 requantization scale of 128 or more (TFLM's int64 requantization caps its shift at 7)",
    ):
        return
    m_idx, s_idx = _requant_consts(r, yt.name, *requant, wt.dtype)
    lo, hi = q.activation_range(
        _activation(r, where, o.FusedActivationFunction()), yt.scale, yt.zero_point, yt.dtype
    )
    params = {
        **q.window_params(strides, pads, dil),
        "input_offset": -xt.zero_point,
        "output_offset": yt.zero_point,
        "act_min": lo,
        "act_max": hi,
    }
    if depthwise:
        in_c = xt.shape[3]
        if channels % in_c:
            r.problems.append(
                f"{where}: {channels} output channels is not a multiple of {in_c} input channels"
            )
            return
        params["depth_multiplier"] = channels // in_c
    r.graph.ops.append(Op(name, [x, w_idx, bias, m_idx, s_idx], [y], params, where))


def _fully_connected(c: TfliteOp) -> None:
    r, op, name, ins, where = c.r, c.op, c.name, c.ins, c.where
    x, xt = c.x, c.xt
    o = r.options(op, "FullyConnectedOptions", where)
    if len(ins) < 2:
        r.problems.append(f"{where}: needs a filter")
        return
    if o is not None and o.WeightsFormat() != 0:
        r.problems.append(f"{where}: shuffled weights format is not supported")
        return
    w = _weights(r, ins[1], where, axis=0)
    if w is None:
        return
    w_idx, w_scales = w
    wt = r.graph.tensors[w_idx]
    if len(wt.shape) != 2:
        r.problems.append(f"{where}: filter must be 2-D, got {wt.shape}")
        return
    out_depth = wt.shape[0]
    y = c.output()
    yt = r.graph.tensors[y]
    # One (multiplier, shift) for per-tensor weights, one per output channel otherwise; both
    # in double, which is what tflite-micro computes (measured: the float32 product
    # in_s*w_s of TFLite's GetQuantizedConvolutionMultipler gives 3 wrong bytes in 200
    # inputs of MLPerf Tiny AD, double gives 0 in 600).
    requant = _params_or_problem(r, where, q.conv_multipliers, xt.scale, w_scales, yt.scale)
    if requant is None:
        return
    if not _same_dtype(r, where, xt, yt):
        return
    bias = _bias(r, ins[2] if len(ins) > 2 else -1, where, out_depth, _BIAS_DTYPE[xt.dtype])
    m_idx, s_idx = _requant_consts(r, yt.name, *requant, wt.dtype)
    act = _activation(r, where, o.FusedActivationFunction() if o is not None else 0)
    lo, hi = q.activation_range(act, yt.scale, yt.zero_point, yt.dtype)
    params = {
        "input_offset": -xt.zero_point,
        "filter_offset": 0,
        "output_offset": yt.zero_point,
        "act_min": lo,
        "act_max": hi,
        "per_channel": int(w_scales.size > 1),
    }
    r.graph.ops.append(Op(name, [x, w_idx, bias, m_idx, s_idx], [y], params, where))


def _binary_operands(c: TfliteOp, options: str) -> tuple[Any, int, int] | None:
    """(options, second input, output) of ADD or MUL, or None with the problem noted."""
    r = c.r
    o = r.options(c.op, options, c.where)
    if len(c.ins) != 2:
        r.problems.append(f"{c.where}: needs two inputs")
        return None
    b = r.activation(c.ins[1], c.where)
    if c.failed():
        return None
    return o, b, c.output()


def _binary(c: TfliteOp, options: str, quant: Callable[..., dict[str, int]]) -> None:
    """ADD or MUL: `quant` (q.add_params, q.mul_params) of the three tensors' quantization, the
    fused activation's clamp; int8 or 16x8, one dtype for all three."""
    r, where = c.r, c.where
    operands = _binary_operands(c, options)
    if operands is None:
        return
    o, b, y = operands
    xt, bt, yt = c.xt, r.graph.tensors[b], r.graph.tensors[y]
    if not _same_dtype(r, where, xt, bt, yt):
        return
    quant_of = (xt.scale, xt.zero_point, bt.scale, bt.zero_point, yt.scale, yt.zero_point, yt.dtype)
    params = _params_or_problem(r, where, quant, *quant_of)
    if params is None:
        return
    act = _activation(r, where, o.FusedActivationFunction() if o is not None else 0)
    params["act_min"], params["act_max"] = q.activation_range(act, yt.scale, yt.zero_point, yt.dtype)
    r.graph.ops.append(Op(c.name, [c.x, b], [y], params, where))


def _add(c: TfliteOp) -> None:
    _binary(c, "AddOptions", q.add_params)


def _pool(c: TfliteOp) -> None:
    r, op, name, where = c.r, c.op, c.name, c.where
    x, xt = c.x, c.xt
    y_shape = r.shape(c.out_tfl)
    o = r.options(op, "Pool2DOptions", where)
    if o is None or len(xt.shape) != 4 or len(y_shape) != 4:
        r.problems.append(f"{where}: needs options and 4-D NHWC tensors")
        return
    y = c.output()
    yt = r.graph.tensors[y]
    if not _same_dtype(r, where, xt, yt):
        return
    _same_quant(r, where, xt, yt)
    k_hw = (o.FilterHeight(), o.FilterWidth())
    strides = (o.StrideH(), o.StrideW())
    if min(*k_hw, *strides) < 1:
        r.problems.append(f"{where}: filter {k_hw} and strides {strides} must be >= 1")
        return
    pads = _padding(r, where, o.Padding(), xt.shape[1:3], k_hw, strides, (1, 1), yt.shape[1:3])
    if pads is None:
        return
    lo, hi = q.activation_range(
        _activation(r, where, o.FusedActivationFunction()), yt.scale, yt.zero_point, yt.dtype
    )
    params = {
        "stride_h": strides[0],
        "stride_w": strides[1],
        "filter_h": k_hw[0],
        "filter_w": k_hw[1],
        "pad_h": pads[0],
        "pad_w": pads[1],
        "act_min": lo,
        "act_max": hi,
    }
    r.graph.ops.append(Op(name, [x], [y], params, where))


def _reshape(c: TfliteOp) -> None:
    r, name, where = c.r, c.name, c.where
    x, xt = c.x, c.xt
    y = c.output()
    yt = r.graph.tensors[y]
    if not _same_dtype(r, where, xt, yt):
        return
    _same_quant(r, where, xt, yt)
    if int(np.prod(yt.shape)) != int(np.prod(xt.shape)):
        r.problems.append(f"{where}: reshape of {xt.shape} to {yt.shape} changes the element count")
        return
    if xt.is_const:  # fold: a reshaped constant is a constant
        yt.data = xt.data.reshape(yt.shape)
        return
    r.graph.ops.append(Op(name, [x], [y], {}, where))


def _softmax(c: TfliteOp) -> None:
    r, op, name, where = c.r, c.op, c.name, c.where
    x, xt = c.x, c.xt
    o = r.options(op, "SoftmaxOptions", where)
    y = c.output()
    yt = r.graph.tensors[y]
    if xt.dtype == "int16" or yt.dtype == "int16":
        _softmax16(c, y, o.Beta() if o is not None else 1.0)
        return
    if abs(yt.scale - 1.0 / 256) > 1e-9 or yt.zero_point != -128:
        r.problems.append(
            f"{where}: int8 softmax output must have scale 1/256 and zero point -128,"
            f" got {yt.scale} and {yt.zero_point}"
        )
        return
    beta = o.Beta() if o is not None else 1.0
    params = _params_or_problem(r, where, q.softmax_params, beta, xt.scale)
    if params is not None:
        r.graph.ops.append(Op(name, [x], [y], params, where))


def _mul(c: TfliteOp) -> None:
    _binary(c, "MulOptions", q.mul_params)


def _prelu(c: TfliteOp) -> None:
    """PRELU: alpha a constant int8 tensor broadcasting to x (per channel, typically)."""
    r, name, where = c.r, c.name, c.where
    x, xt = c.x, c.xt
    if len(c.ins) != 2:
        r.problems.append(f"{where}: needs two inputs")
        return
    a = r.activation(c.ins[1], where)
    if c.failed():
        return
    at = r.graph.tensors[a]
    y = c.output()
    yt = r.graph.tensors[y]
    if not at.is_const:
        r.problems.append(f"{where}: alpha must be a constant")
        return
    if len(at.shape) > len(xt.shape) or any(
        da not in (1, dx) for da, dx in zip(reversed(at.shape), reversed(xt.shape))
    ):
        r.problems.append(f"{where}: alpha {at.shape} does not broadcast to the input {xt.shape}")
        return
    if yt.shape != xt.shape:
        r.problems.append(f"{where}: output shape {yt.shape} is not the input's {xt.shape}")
        return
    params = _params_or_problem(
        r, where, q.prelu_params, xt.scale, xt.zero_point, at.scale, at.zero_point, yt.scale, yt.zero_point
    )
    if params is not None:
        r.graph.ops.append(Op(name, [x, a], [y], params, where))


def _resize_nearest(c: TfliteOp) -> None:
    """RESIZE_NEAREST_NEIGHBOR (NHWC, a constant size operand): the index tables of TFLite's
    float32 rule (resize.py), so picoq's kernel copies the same pixels with no float."""
    r, where = c.r, c.where
    x, xt = c.x, c.xt
    size = _int_operand(r, c.ins[1] if len(c.ins) > 1 else -1, where, "the size operand")
    if size is None:
        return
    o = r.options(c.op, "ResizeNearestNeighborOptions", where)
    align, half = (bool(o.AlignCorners()), bool(o.HalfPixelCenters())) if o else (False, False)
    y = c.output()
    yt = r.graph.tensors[y]
    _same_quant(r, where, xt, yt)
    if (
        len(xt.shape) != 4
        or size.size != 2
        or yt.shape != (xt.shape[0], *map(int, size.ravel()), xt.shape[3])
    ):
        r.problems.append(f"{where}: needs a 4-D input and an output of the size operand's height and width")
        return
    rows = tflite_nearest_index(xt.shape[1], yt.shape[1], align, half)
    cols = tflite_nearest_index(xt.shape[2], yt.shape[2], align, half)
    ri = r.graph.add_const(f"{yt.name}/rows", rows)
    ci = r.graph.add_const(f"{yt.name}/cols", cols)
    r.graph.ops.append(Op("RESIZE_NEAREST_NEIGHBOR", [x, ri, ci], [y], {}, where))


def _resize_bilinear(c: TfliteOp) -> None:
    """RESIZE_BILINEAR (NHWC, a constant size operand): TFLM's integer interpolation, its
    10-bit positions computed here per output row and column (resize.py), so the kernel only
    mixes four pixels; input and output quantization must be equal (TFLM requires it)."""
    r, where = c.r, c.where
    x, xt = c.x, c.xt
    size = _int_operand(r, c.ins[1] if len(c.ins) > 1 else -1, where, "the size operand")
    if size is None:
        return
    o = r.options(c.op, "ResizeBilinearOptions", where)
    align, half = (bool(o.AlignCorners()), bool(o.HalfPixelCenters())) if o else (False, False)
    y = c.output()
    yt = r.graph.tensors[y]
    _same_quant(r, where, xt, yt)
    if (
        len(xt.shape) != 4
        or size.size != 2
        or yt.shape != (xt.shape[0], *map(int, size.ravel()), xt.shape[3])
    ):
        r.problems.append(f"{where}: needs a 4-D input and an output of the size operand's height and width")
        return
    if align and half:
        r.problems.append(f"{where}: align_corners and half_pixel_centers together (TFLite refuses them)")
        return
    rows = tflite_bilinear_table(xt.shape[1], yt.shape[1], align, half)
    cols = tflite_bilinear_table(xt.shape[2], yt.shape[2], align, half)
    if rows is None or cols is None:
        r.problems.append(f"{where}: an upsampling so large TFLite's 10-bit positions leave the input")
        return
    ri = r.graph.add_const(f"{yt.name}/rows", rows)
    ci = r.graph.add_const(f"{yt.name}/cols", cols)
    r.graph.ops.append(Op("RESIZE_BILINEAR", [x, ri, ci], [y], {}, where))


def _transpose_conv(c: TfliteOp) -> None:
    """TRANSPOSE_CONV (inputs output_shape, weights OHWI, input, bias): CONV_2D's operands and
    params with TFLM's padding, computed from the output's size as its Prepare does."""
    r, op, ins, where = c.r, c.op, c.ins, c.where
    x, xt = c.x, c.xt
    o = r.options(op, "TransposeConvOptions", where)
    if len(ins) < 3 or o is None:
        r.problems.append(f"{where}: needs output_shape, weights, input and options")
        return
    if xt.dtype != "int8":
        r.problems.append(f"{where}: only int8 activations (no 16x8 TRANSPOSE_CONV kernel)")
        return
    w = _weights(r, ins[1], where, axis=0)
    y = c.output()
    yt = r.graph.tensors[y]
    if w is None or len(xt.shape) != 4 or len(yt.shape) != 4:
        _ensure(w is None, r.problems, f"{where}: input and output must be 4-D NHWC")
        return
    w_idx, w_scales = w
    wt = r.graph.tensors[w_idx]
    if wt.dtype != "int8" or len(wt.shape) != 4 or wt.shape[3] != xt.shape[3]:
        r.problems.append(f"{where}: filter must be int8 [Cout, kh, kw, {xt.shape[3]}], got {wt.shape}")
        return
    channels = wt.shape[0]
    strides = (o.StrideH(), o.StrideW())
    if min(strides) < 1:
        r.problems.append(f"{where}: strides {strides} must be >= 1")
        return
    if _activation(r, where, o.FusedActivationFunction()) != "NONE":
        r.problems.append(f"{where}: a fused activation on TRANSPOSE_CONV (TFLM ignores it)")
        return
    pads = []
    for in_size, k, s, out in zip(xt.shape[1:3], wt.shape[1:3], strides, yt.shape[1:3]):
        # TFLM: ComputePaddingHeightWidth over the output (transpose_conv.cc CalculateOpData)
        n = (out + s - 1) // s if o.Padding() == 0 else (out + s - k) // s
        if n != in_size:
            r.problems.append(
                f"{where}: output size {out} does not give back the input's {in_size} (padding, stride)"
            )
            return
        pads.append(max((n - 1) * s + k - out, 0) // 2)
    bias = _bias(r, ins[3] if len(ins) > 3 else -1, where, channels)
    requant = _params_or_problem(
        r, where, q.conv_multipliers, xt.scale, np.broadcast_to(w_scales, (channels,)), yt.scale
    )
    if requant is None:
        return
    m_idx, s_idx = _requant_consts(r, yt.name, *requant)
    params = {
        **q.window_params(strides, pads),
        "input_offset": -xt.zero_point,
        "output_offset": yt.zero_point,
        "act_min": -128,
        "act_max": 127,
    }
    r.graph.ops.append(Op("TRANSPOSE_CONV", [x, w_idx, bias, m_idx, s_idx], [y], params, where))


def _mean(c: TfliteOp) -> None:
    r, op, name, ins, where = c.r, c.op, c.name, c.ins, c.where
    x, xt = c.x, c.xt
    rank = len(xt.shape)
    o = r.options(op, "ReducerOptions", where)
    axes = _int_operand(r, ins[1] if len(ins) > 1 else -1, where, "the axis operand")
    if axes is None:
        return
    if rank < 1 or np.any((axes < -rank) | (axes >= rank)):
        r.problems.append(f"{where}: axes {axes.tolist()} out of range for rank {rank}")
        return
    reduced = sorted({int(a) % rank for a in axes.ravel()})
    keep = bool(o.KeepDims()) if o is not None else False
    y = c.output()
    yt = r.graph.tensors[y]
    if not _same_dtype(r, where, xt, yt):
        return
    want = tuple(1 if d in reduced else n for d, n in enumerate(xt.shape))
    if not keep:
        want = tuple(n for d, n in enumerate(xt.shape) if d not in reduced)
    if yt.shape != want:
        r.problems.append(f"{where}: output shape {yt.shape}, the mean over axes {reduced} gives {want}")
        return
    count = int(np.prod([xt.shape[d] for d in reduced], dtype=np.int64))
    params = _params_or_problem(
        r, where, q.mean_params, xt.scale, xt.zero_point, yt.scale, yt.zero_point, count, yt.dtype
    )
    if params is None:
        return
    params["axis_mask"] = sum(1 << d for d in reduced)
    params["keep_dims"] = int(keep)
    r.graph.ops.append(Op(name, [x], [y], params, where))


def _concatenation(c: TfliteOp) -> None:
    r, op, name, ins, where = c.r, c.op, c.name, c.ins, c.where
    x = c.x
    o = r.options(op, "ConcatenationOptions", where)
    if o is None:
        r.problems.append(f"{where}: needs ConcatenationOptions")
        return
    if o.FusedActivationFunction() != 0:
        r.problems.append(f"{where}: a fused activation on CONCATENATION is not supported (nor by TFLM)")
        return
    xs = [x] + [r.activation(i, where) for i in ins[1:]]
    if len(xs) > MAX_CONCAT_INPUTS:
        r.problems.append(f"{where}: {len(xs)} inputs, picoq concatenates at most {MAX_CONCAT_INPUTS}")
        return
    if c.failed():
        return
    y = c.output()
    yt = r.graph.tensors[y]
    out_rank = len(yt.shape)
    axis = o.Axis() + out_rank if o.Axis() < 0 else o.Axis()
    shapes = [r.graph.tensors[t].shape for t in xs]
    if not 0 <= axis < out_rank or any(
        len(s) != out_rank or any(a != b for d, (a, b) in enumerate(zip(s, yt.shape)) if d != axis)
        for s in shapes
    ):
        r.problems.append(f"{where}: inputs {shapes} do not concatenate to {yt.shape} on axis {o.Axis()}")
        return
    if sum(s[axis] for s in shapes) != yt.shape[axis]:
        r.problems.append(f"{where}: inputs {shapes} do not concatenate to {yt.shape} on axis {axis}")
        return
    if not _same_dtype(r, where, yt, *(r.graph.tensors[t] for t in xs)):
        return
    if yt.dtype == "int16" and any(r.graph.tensors[t].scale != yt.scale for t in xs):
        # TFLM's int16 kernel copies raw values whatever their scales: picoq does not guess.
        r.problems.append(
            f"{where}: int16 inputs must share the output's scale (TFLM copies int16 values as they are)"
        )
        return
    rows = []
    for t in xs:
        tt = r.graph.tensors[t]
        try:
            rows.append(q.concat_requant_row(tt.scale, tt.zero_point, yt.scale))
        except ValueError as e:
            r.problems.append(f"{where}: input {tt.name!r}: {e}")
            return
    table = r.graph.add_const(yt.name + "/requant", np.array(rows, np.int32).reshape(len(xs), 3))
    r.graph.ops.append(Op(name, [*xs, table], [y], {"axis": axis, "output_offset": yt.zero_point}, where))


def _pad(c: TfliteOp) -> None:
    r, name, ins, where = c.r, c.name, c.ins, c.where
    x, xt = c.x, c.xt
    rank = len(xt.shape)
    pads = _int_operand(r, ins[1] if len(ins) > 1 else -1, where, "the paddings operand")
    if pads is None:
        return
    if not 1 <= rank <= 6 or pads.shape != (rank, 2) or pads.min() < 0:
        r.problems.append(f"{where}: paddings {pads.tolist()} must be [{rank}, 2] and >= 0 (rank <= 6)")
        return
    y = c.output()
    yt = r.graph.tensors[y]
    _same_quant(r, where, xt, yt)
    if yt.shape != tuple(int(d + a + b) for d, (a, b) in zip(xt.shape, pads)):
        r.problems.append(f"{where}: output shape {yt.shape} is not {xt.shape} padded by {pads.tolist()}")
        return
    value = yt.zero_point
    if name == "PADV2" and len(ins) > 2 and ins[2] >= 0:
        c = r.const_data(ins[2])
        cq = r.quant(ins[2])
        if c is None or r.ttype(ins[2]) != 9 or c.size != 1:
            r.problems.append(f"{where}: the constant operand must be one constant INT8 value")
            return
        if cq is None or cq[0].size != 1 or float(cq[0][0]) != yt.scale or int(cq[1][0]) != yt.zero_point:
            r.problems.append(f"{where}: the constant operand must share the output's quantization")
            return
        value = int(c.ravel()[0])
    params = {"pad_value": value}
    for d in range(6):
        a, b = (int(v) for v in pads[d]) if d < rank else (0, 0)
        params[f"before_{d}"], params[f"after_{d}"] = a, b
    r.graph.ops.append(Op("PAD", [x], [y], params, where))


def _logistic(c: TfliteOp) -> None:
    r, name, where = c.r, c.name, c.where
    x, xt = c.x, c.xt
    y = c.output()
    yt = r.graph.tensors[y]
    if xt.dtype == "int16" or yt.dtype == "int16":
        _sigmoid16(c, y)
        return
    want_scale, want_zp = (1.0 / 256, -128) if name == "LOGISTIC" else (1.0 / 128, 0)
    if abs(yt.scale - want_scale) > 1e-9 or yt.zero_point != want_zp:
        r.problems.append(
            f"{where}: int8 {name} output must have scale {want_scale} and zero point {want_zp},"
            f" got {yt.scale} and {yt.zero_point}"
        )
        return
    if xt.shape != yt.shape:
        r.problems.append(f"{where}: output shape {yt.shape} differs from the input's {xt.shape}")
        return
    params = _params_or_problem(r, where, q.logistic_params, xt.scale, xt.zero_point)
    if params is not None:
        r.graph.ops.append(Op(name, [x], [y], params, where))


# *** 16x8 LUT activations and QUANTIZE: tables and parameters from lut16.py ***


def _int16_io(c: TfliteOp, y: int) -> bool:
    """int16 in and out (TFLM's int16 SOFTMAX, LOGISTIC and TANH take no int8 side), one shape."""
    r, xt, yt = c.r, c.xt, c.r.graph.tensors[y]
    if not _ensure(
        xt.dtype == yt.dtype == "int16", r.problems, f"{c.where}: int16 {c.name} needs int16 input and output"
    ):
        return False
    return _ensure(
        xt.shape == yt.shape,
        r.problems,
        f"{c.where}: output shape {yt.shape} differs from the input's {xt.shape}",
    )


def _softmax16(c: TfliteOp, y: int, beta: float) -> None:
    r, where, yt = c.r, c.where, c.r.graph.tensors[y]
    if not _int16_io(c, y):
        return
    if abs(yt.scale * 32768 - 1.0) > 1e-3 or yt.zero_point != 0:  # TFLM: within 0.1% of 1/32768
        r.problems.append(
            f"{where}: int16 softmax output must have scale 1/32768 and zero point 0, got {yt.scale}"
        )
        return
    params = _params_or_problem(r, where, lut16.softmax16_params, beta, c.xt.scale)
    if params is None:
        return
    exp_lut, recip_lut = lut16.softmax16_tables()
    e = r.graph.add_const(f"{yt.name}/exp_lut", exp_lut)
    rl = r.graph.add_const(f"{yt.name}/one_over_one_plus_x_lut", recip_lut)
    r.graph.ops.append(Op(c.name, [c.x, e, rl], [y], params, where))


def _sigmoid16(c: TfliteOp, y: int) -> None:
    r, where, yt = c.r, c.where, c.r.graph.tensors[y]
    if not _int16_io(c, y):
        return
    params = _params_or_problem(r, where, lut16.sigmoid16_params, c.xt.scale, yt.scale, c.name == "TANH")
    if params is not None:
        table = r.graph.add_const(f"{yt.name}/sigmoid_table", lut16.sigmoid16_table())
        r.graph.ops.append(Op(c.name, [c.x, table], [y], params, where))


def _quantize(c: TfliteOp) -> None:
    """QUANTIZE between int8 and int16 (a float one at a graph input is the boundary, dropped by
    tflite_import): TFLM's Requantize."""
    r, where, xt = c.r, c.where, c.xt
    y = c.output()
    yt = r.graph.tensors[y]
    if c.failed() or not _ensure(
        xt.shape == yt.shape,
        r.problems,
        f"{where}: output shape {yt.shape} differs from the input's {xt.shape}",
    ):
        return
    params = _params_or_problem(
        r, where, lut16.requantize_params, xt.scale, xt.zero_point, yt.scale, yt.zero_point
    )
    if params is not None:
        r.graph.ops.append(Op("QUANTIZE", [c.x], [y], params, where))


def _same_shape_output(c: TfliteOp) -> int | None:
    """The output tensor of an elementwise op, or None (a problem noted) if its shape differs."""
    y = c.output()
    yt, xt = c.r.graph.tensors[y], c.xt
    if xt.shape != yt.shape:
        c.r.problems.append(f"{c.where}: output shape {yt.shape} differs from the input's {xt.shape}")
        return None
    return y


def _hard_swish(c: TfliteOp) -> None:
    r, name, where = c.r, c.name, c.where
    x, xt = c.x, c.xt
    y = _same_shape_output(c)
    if y is None:
        return
    yt = r.graph.tensors[y]
    params = _params_or_problem(
        r, where, q.hard_swish_params, xt.scale, xt.zero_point, yt.scale, yt.zero_point
    )
    if params is not None:
        r.graph.ops.append(Op(name, [x], [y], params, where))


def _leaky_relu(c: TfliteOp) -> None:
    r, op, name, where = c.r, c.op, c.name, c.where
    x, xt = c.x, c.xt
    y = _same_shape_output(c)
    if y is None:
        return
    yt = r.graph.tensors[y]
    o = r.options(op, "LeakyReluOptions", where)
    alpha = o.Alpha() if o is not None else 0.0  # TFLite leaves alpha 0 without options
    params = _params_or_problem(
        r, where, q.leaky_relu_params, xt.scale, xt.zero_point, alpha, yt.scale, yt.zero_point
    )
    if params is not None:
        r.graph.ops.append(Op(name, [x], [y], params, where))


def _transpose(c: TfliteOp) -> None:
    r, name, ins, where = c.r, c.name, c.ins, c.where
    x, xt = c.x, c.xt
    rank = len(xt.shape)
    perm = _int_operand(r, ins[1] if len(ins) > 1 else -1, where, "the permutation operand")
    if perm is None:
        return
    perm = [int(p) + rank if p < 0 else int(p) for p in perm.ravel()]
    if not 1 <= rank <= 6 or sorted(perm) != list(range(rank)):
        r.problems.append(f"{where}: {perm} is not a permutation of {rank} axes (rank <= 6)")
        return
    y = c.output()
    yt = r.graph.tensors[y]
    _same_quant(r, where, xt, yt)
    if yt.shape != tuple(xt.shape[p] for p in perm):
        r.problems.append(f"{where}: output shape {yt.shape} is not {xt.shape} permuted by {perm}")
        return
    params = {f"perm_{d}": perm[d] if d < rank else 0 for d in range(6)}
    r.graph.ops.append(Op(name, [x], [y], params, where))


def _slice(c: TfliteOp) -> None:
    """SLICE (int32 or int64 begin and size operands; a size of -1 runs to the end)."""
    r, where = c.r, c.where
    x, xt = c.x, c.xt
    rank = len(xt.shape)
    begin = _int_operand(r, c.ins[1] if len(c.ins) > 1 else -1, where, "the begin operand")
    size = _int_operand(r, c.ins[2] if len(c.ins) > 2 else -1, where, "the size operand")
    if begin is None or size is None:
        return
    begin, size = [int(v) for v in begin.ravel()], [int(v) for v in size.ravel()]
    size = [d - b if s == -1 else s for d, b, s in zip(xt.shape, begin, size)]
    if not (1 <= rank <= 6 and len(begin) == len(size) == rank) or any(
        b < 0 or s < 1 or b + s > d for d, b, s in zip(xt.shape, begin, size)
    ):
        r.problems.append(f"{where}: begin {begin} and size {size} must lie inside the input {xt.shape}")
        return
    y = c.output()
    yt = r.graph.tensors[y]
    _same_quant(r, where, xt, yt)
    if yt.shape != tuple(size):
        r.problems.append(f"{where}: output shape {yt.shape} is not the slice's size {tuple(size)}")
        return
    r.graph.ops.append(
        Op("SLICE", [x], [y], {f"begin_{d}": begin[d] if d < rank else 0 for d in range(6)}, where)
    )


def _strided_slice(c: TfliteOp) -> None:
    """STRIDED_SLICE with constant begin, end and positive strides, as TFLite's reference reads
    them (begin_mask / end_mask: from the start / to the end; shrink_axis_mask: one index, the
    axis dropped; offset: end counts from begin), through strided.py's chain of picoq ops. TFLM
    takes no ellipsis or new-axis mask either."""
    r, where = c.r, c.where
    x, xt = c.x, c.xt
    shape, rank = xt.shape, len(xt.shape)
    ops = [
        _int_operand(r, c.ins[i] if len(c.ins) > i else -1, where, f"the {what} operand")
        for i, what in ((1, "begin"), (2, "end"), (3, "strides"))
    ]
    if any(v is None for v in ops):
        return
    begin, end, strides = ([int(v) for v in a.ravel()] for a in ops)
    o = r.options(c.op, "StridedSliceOptions", where)
    masks = (
        [o.BeginMask(), o.EndMask(), o.ShrinkAxisMask(), o.EllipsisMask(), o.NewAxisMask()] if o else [0] * 5
    )
    offset = bool(o.Offset()) if o else False
    if masks[3] or masks[4]:
        r.problems.append(f"{where}: ellipsis and new-axis masks are not supported")
        return
    if not (1 <= rank <= 6 and len(begin) == len(end) == len(strides) == rank):
        r.problems.append(f"{where}: begin, end and strides must have one value per input dim ({rank})")
        return
    if min(strides) < 1:
        r.problems.append(f"{where}: strides {strides}: only positive strides are supported")
        return
    taken, out_shape = [], []
    for d in range(rank):
        bit = 1 << d
        start = None if masks[0] & bit else begin[d]
        stop = None if masks[1] & bit else (begin[d] + end[d] if offset else end[d])
        if masks[2] & bit:  # one index; TFLite normalises a negative begin first
            start = begin[d] + shape[d] if begin[d] < 0 else begin[d]
            stop, strides[d] = start + 1, 1
        taken.append(range(*slice(start, stop, strides[d]).indices(shape[d])))
        if not masks[2] & bit:
            out_shape.append(len(taken[-1]))
    if any(len(t) == 0 for t in taken):
        r.problems.append(f"{where}: the slice takes no element of the input {shape}")
        return
    y = c.output()
    yt = r.graph.tensors[y]
    _same_quant(r, where, xt, yt)
    if yt.shape != tuple(out_shape):
        r.problems.append(f"{where}: output shape {yt.shape} is not the slice's {tuple(out_shape)}")
        return
    count = [len(t) for t in taken]
    chain = strided_steps(shape, [t.start for t in taken], [t.step for t in taken], count, xt.zero_point)
    if chain is None:
        r.problems.append(f"{where}: strides on too many axes of a rank-{rank} tensor")
        return
    if chain[-1].kernel != "RESHAPE" and chain[-1].shape != yt.shape:  # shrunk axes: one more RESHAPE
        chain.append(Step("RESHAPE", yt.shape, {}))
    cur = x
    for k, s in enumerate(chain):
        out = y
        if k < len(chain) - 1:
            out = r.graph.add(
                Tensor(f"{yt.name}/{k}", s.shape, "int8", xt.scales.copy(), xt.zero_points.copy())
            )
        r.graph.ops.append(Op(s.kernel, [cur], [out], s.params, where))
        cur = out


def _batch_matmul(c: TfliteOp) -> None:
    """BATCH_MATMUL int8 x int8 (either operand may be constant), rank 2..5, adj_x / adj_y."""
    r, where = c.r, c.where
    operands = _binary_operands(c, "BatchMatMulOptions")
    if operands is None:
        return
    o, b, y = operands
    at, bt, yt = c.xt, r.graph.tensors[b], r.graph.tensors[y]
    adj_x, adj_y = (int(o.AdjX()), int(o.AdjY())) if o is not None else (0, 0)
    if not (2 <= len(at.shape) <= 5 and 2 <= len(bt.shape) <= 5):
        r.problems.append(f"{where}: operands of rank {len(at.shape)} and {len(bt.shape)} (2..5 supported)")
        return
    want = matmul_shape(at.shape, bt.shape, adj_x, adj_y)
    if want != yt.shape:
        r.problems.append(
            f"{where}: output shape {yt.shape}, the product of {at.shape} and {bt.shape} is {want}"
        )
        return
    params = _params_or_problem(
        r,
        where,
        q.batch_matmul_params,
        at.scale,
        at.zero_point,
        bt.scale,
        bt.zero_point,
        yt.scale,
        yt.zero_point,
    )
    if params is not None:
        r.graph.ops.append(
            Op("BATCH_MATMUL", [c.x, b], [y], {"adj_x": adj_x, "adj_y": adj_y, **params}, where)
        )


def matmul_shape(a: tuple[int, ...], b: tuple[int, ...], adj_x: int, adj_y: int) -> tuple[int, ...] | None:
    """The output shape of BATCH_MATMUL (batch dims broadcast, aligned right), or None."""
    m, k = (a[-1], a[-2]) if adj_x else (a[-2], a[-1])
    kb, n = (b[-1], b[-2]) if adj_y else (b[-2], b[-1])
    rank = max(len(a), len(b))
    pa, pb = (1,) * (rank - len(a)) + a, (1,) * (rank - len(b)) + b
    batch = [max(u, v) for u, v in zip(pa[:-2], pb[:-2])]
    if k != kb or any(u != v and 1 not in (u, v) for u, v in zip(pa[:-2], pb[:-2])):
        return None
    return (*batch, m, n)


def _gather(c: TfliteOp) -> None:
    """GATHER of int8 values with constant INT32 indices (what TFLM takes), axis and batch_dims."""
    r, where = c.r, c.where
    xt = c.xt
    o = r.options(c.op, "GatherOptions", where)
    i = c.ins[1] if len(c.ins) > 1 else -1
    idx = r.const_data(i) if i >= 0 else None
    if idx is None or r.ttype(i) != 2:
        r.problems.append(f"{where}: the indices must be a constant INT32 tensor")
        return
    rank, irank = len(xt.shape), idx.ndim
    axis, batch_dims = (o.Axis(), o.BatchDims()) if o is not None else (0, 0)
    axis += rank if axis < 0 else 0
    if batch_dims < 0:  # tflite-micro's GATHER takes it un-normalized in places (measured): refused
        r.problems.append(f"{where}: a negative batch_dims ({batch_dims}) is not supported")
        return
    if (
        not (0 <= batch_dims <= min(axis, irank) and axis < rank)
        or xt.shape[:batch_dims] != idx.shape[:batch_dims]
    ):
        r.problems.append(
            f"{where}: axis {axis} and batch_dims {batch_dims} do not fit {xt.shape} and {idx.shape}"
        )
        return
    if idx.size and (idx.min() < 0 or idx.max() >= xt.shape[axis]):
        r.problems.append(f"{where}: indices outside [0, {xt.shape[axis]})")
        return
    y = c.output()
    yt = r.graph.tensors[y]
    _same_quant(r, where, xt, yt)
    want = (*xt.shape[:axis], *idx.shape[batch_dims:], *xt.shape[axis + 1 :])
    if yt.shape != want:
        r.problems.append(f"{where}: output shape {yt.shape} is not the gather's {want}")
        return
    ii = r.graph.add_const(r.tname(i), np.asarray(idx, np.int32).reshape(idx.shape or (1,)))
    params = {"axis": axis, "batch_dims": batch_dims}
    if idx.ndim:
        r.graph.ops.append(Op("GATHER", [c.x, ii], [y], params, where))
        return
    # a scalar index (picoq constants have rank >= 1): gather one row, then drop the axis
    row = r.graph.add(replace(yt, name=f"{yt.name}/row", shape=(*xt.shape[:axis], 1, *xt.shape[axis + 1 :])))
    r.graph.ops.append(Op("GATHER", [c.x, ii], [row], params, where))
    r.graph.ops.append(Op("RESHAPE", [row], [y], {}, where))


BUILDERS: dict[str, Callable[[TfliteOp], None]] = {
    "CONV_2D": _conv,
    "DEPTHWISE_CONV_2D": _conv,
    "FULLY_CONNECTED": _fully_connected,
    "ADD": _add,
    "AVERAGE_POOL_2D": _pool,
    "RESHAPE": _reshape,
    "SOFTMAX": _softmax,
    "MAX_POOL_2D": _pool,
    "MUL": _mul,
    "MEAN": _mean,
    "CONCATENATION": _concatenation,
    "PAD": _pad,
    "PADV2": _pad,
    "LOGISTIC": _logistic,
    "TANH": _logistic,
    "HARD_SWISH": _hard_swish,
    "LEAKY_RELU": _leaky_relu,
    "TRANSPOSE": _transpose,
    "SLICE": _slice,
    "BATCH_MATMUL": _batch_matmul,
    "GATHER": _gather,
    "STRIDED_SLICE": _strided_slice,
    "PRELU": _prelu,
    "RESIZE_NEAREST_NEIGHBOR": _resize_nearest,
    "RESIZE_BILINEAR": _resize_bilinear,  # ops14
    "TRANSPOSE_CONV": _transpose_conv,  # ops14
    "QUANTIZE": _quantize,
}


def import_op(r: TfliteReader, k: int, name: str) -> None:
    """Add operator `k` (a BUILDERS key) to r.graph, or note in r.problems why it cannot be."""
    op = r.sg.Operators(k)
    ins, outs = r.op_io(k)
    where = f"op {k} {name}"
    n_problems = len(r.problems)
    # Inputs TFLite lets a model omit (index -1): the bias of conv and FC, PADV2's pad value.
    optional = {2} if name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "PADV2") else set()
    first = 0
    if name == "TRANSPOSE_CONV":  # ops14: (output_shape, weights, input, bias): input 2 is the activation
        optional, first = {3}, 2
    omitted = [j for j, t in enumerate(ins) if t < 0 and j not in optional]
    if not outs or not ins or omitted or min(outs) < 0:
        r.problems.append(
            f"{where}: missing input or output tensors (omitted: inputs {omitted}, outputs {outs})"
        )
        return
    x = r.activation(ins[first] if len(ins) > first else -1, where)
    # Output tensor created after the inputs, so that indices follow data flow.
    if len(r.problems) > n_problems or 0 in r.graph.tensors[x].shape:  # empty: reported where it was made
        return
    n_ops = len(r.graph.ops)
    BUILDERS[name](TfliteOp(r, op, name, ins, outs[0], x, where, n_problems))
    _refuse_missing_variants(r, where, n_ops)


def _refuse_missing_variants(r: TfliteReader, where: str, first: int) -> None:
    """The ops just added whose dtypes have no picoq kernel (an int16 op that has only its int8
    one) become a problem instead of a file the validator would refuse."""
    missing = []
    for op in r.graph.ops[first:]:
        variant = op_variant(r.graph.tensors[t].dtype for t in [*op.inputs, *op.outputs] if t >= 0)
        if variant not in OPS[OPCODE_BY_NAME[op.name]].variants:
            kind = {"s16": "int16 activations (16x8)", "s4": "int4 weights"}[variant]
            missing.append(f"{where}: picoq has no {op.name} kernel for {kind}")
    if missing:
        r.problems.extend(dict.fromkeys(missing))
        del r.graph.ops[first:]
