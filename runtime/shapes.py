"""Each kernel's shape and parameter contract, checked at load before any kernel runs.

The C kernels trust their arguments (as TFLite Micro's do); this module is what
makes that safe. For every op it checks tensor dtypes, ranks and the output
shape recomputed from the inputs and parameters, the per-channel arrays'
lengths, and the ranges of every integer parameter the arithmetic depends on.
The converter calls the same functions on what it is about to write.
"""

from __future__ import annotations

from .format import ModelFile, ModelFormatError, OpInfo, TensorInfo

INT8_MIN, INT8_MAX = -128, 127
Q31_MIN = 1 << 30  # QuantizeMultiplier's output range is [2^30, 2^31), or 0


def conv_out_size_ok(in_size: int, k: int, stride: int, dilation: int, pad: int, out: int) -> bool:
    """Padding before is less than the dilated kernel, padding after at most that, >= 1 output."""
    eff = (k - 1) * dilation + 1
    if not (0 <= pad < eff and out >= 1):
        return False
    # Padding after the last row, implied by the output size, must lie in [0, eff - 1].
    pad_after = (out - 1) * stride + eff - in_size - pad
    return -stride < pad_after <= eff - 1


def _fail(op: OpInfo, at: int, what: str, value, why: str):
    raise ModelFormatError(f"op[{op.index}] {op.name}.{what}", at, value, why)


def _tensor(model: ModelFile, op: OpInfo, at: int, idx: int, what: str, dtype: str, rank: int | None):
    t = model.tensors[idx]
    if t.dtype != dtype:
        _fail(op, at, what + ".dtype", t.dtype, f"must be {dtype}")
    if rank is not None and len(t.shape) != rank:
        _fail(op, at, what + ".shape", t.shape, f"must have rank {rank}")
    return t


def _range(op: OpInfo, at: int, name: str, lo: int, hi: int) -> int:
    v = op.params[name]
    if not lo <= v <= hi:
        _fail(op, at, "params." + name, v, f"outside [{lo}, {hi}]")
    return v


def _multiplier(op: OpInfo, at: int, name: str) -> None:
    v = op.params[name]
    if v != 0 and not Q31_MIN <= v <= 0x7FFFFFFF:
        _fail(op, at, "params." + name, v, "a Q31 multiplier is 0 or in [2^30, 2^31)")


def _act(op: OpInfo, at: int) -> None:
    lo = _range(op, at, "act_min", INT8_MIN, INT8_MAX)
    hi = _range(op, at, "act_max", INT8_MIN, INT8_MAX)
    if lo > hi:
        _fail(op, at, "params.act_min", (lo, hi), "act_min > act_max")


def _quant_arrays(model: ModelFile, op: OpInfo, at: int, channels: int, n_mult: int | None = None) -> None:
    """bias (optional) int32[C]; multipliers int32[n_mult] >= 0; shifts int32[n_mult] in [-31, 30]
    (n_mult is C, or 1 for a per-tensor FULLY_CONNECTED)."""
    n_mult = channels if n_mult is None else n_mult
    _, _, b, m, s = op.inputs
    if b != -1:
        bt = _tensor(model, op, at, b, "bias", "int32", None)
        if bt.size != channels:
            _fail(op, at, "bias.shape", bt.shape, f"needs {channels} values")
    for idx, what in ((m, "multipliers"), (s, "shifts")):
        t = _tensor(model, op, at, idx, what, "int32", 1)
        if not t.is_const or t.size != n_mult:
            _fail(op, at, what, t.shape, f"must be a constant int32[{n_mult}]")
    mult, shift = model.const_array(model.tensors[m]), model.const_array(model.tensors[s])
    bad = (mult != 0) & (mult < Q31_MIN)
    if bad.any():
        _fail(op, at, "multipliers", int(mult[bad][0]), "a Q31 multiplier is 0 or in [2^30, 2^31)")
    if shift.min() < -31 or shift.max() > 30:
        _fail(op, at, "shifts", (int(shift.min()), int(shift.max())), "outside [-31, 30]")


def _offsets(op: OpInfo, at: int, *names: str) -> None:
    for name in names:
        _range(op, at, name, -255, 255)


def _check_conv(model: ModelFile, op: OpInfo, at: int, depthwise: bool) -> None:
    x = _tensor(model, op, at, op.inputs[0], "input", "int8", 4)
    w = _tensor(model, op, at, op.inputs[1], "filter", "int8", 4)
    y = _tensor(model, op, at, op.outputs[0], "output", "int8", 4)
    if not w.is_const:
        _fail(op, at, "filter", w.index, "must be constant")
    for name in ("stride_h", "stride_w", "dilation_h", "dilation_w"):
        _range(op, at, name, 1, 1 << 16)
    _offsets(op, at, "input_offset", "output_offset")
    _act(op, at)
    n, ih, iw, ic = x.shape
    if depthwise:
        one, kh, kw, oc = w.shape
        dm = _range(op, at, "depth_multiplier", 1, 1 << 16)
        if one != 1 or oc != ic * dm:
            _fail(op, at, "filter.shape", w.shape, f"must be [1, kh, kw, {ic}*{dm}]")
    else:
        oc, kh, kw, fic = w.shape
        if ic % fic or oc % (ic // fic):
            _fail(op, at, "filter.shape", w.shape, f"input channels {ic} not divisible into groups of {fic}")
    p = op.params
    if y.shape[0] != n or y.shape[3] != oc:
        _fail(op, at, "output.shape", y.shape, f"batch and channels must be ({n}, {oc})")
    for i, k, s, d, pad, o in (
        (ih, kh, p["stride_h"], p["dilation_h"], p["pad_h"], y.shape[1]),
        (iw, kw, p["stride_w"], p["dilation_w"], p["pad_w"], y.shape[2]),
    ):
        if not conv_out_size_ok(i, k, s, d, pad, o):
            _fail(
                op, at, "output.shape", y.shape, f"inconsistent with input {x.shape}, filter, stride, padding"
            )
    _quant_arrays(model, op, at, oc)


def _check_fc(model: ModelFile, op: OpInfo, at: int) -> None:
    x = _tensor(model, op, at, op.inputs[0], "input", "int8", None)
    w = _tensor(model, op, at, op.inputs[1], "filter", "int8", 2)
    y = _tensor(model, op, at, op.outputs[0], "output", "int8", None)
    if not w.is_const:
        _fail(op, at, "filter", w.index, "must be constant")
    out_depth, accum = w.shape
    if x.size % accum:
        _fail(op, at, "input.shape", x.shape, f"size not a multiple of the filter depth {accum}")
    if not y.shape or y.size != (x.size // accum) * out_depth or y.shape[-1] != out_depth:
        _fail(op, at, "output.shape", y.shape, f"must hold {x.size // accum} x {out_depth} values")
    _offsets(op, at, "input_offset", "filter_offset", "output_offset")
    _act(op, at)
    per_channel = _range(op, at, "per_channel", 0, 1)
    _quant_arrays(model, op, at, out_depth, out_depth if per_channel else 1)


def _check_add(model: ModelFile, op: OpInfo, at: int) -> None:
    a = _tensor(model, op, at, op.inputs[0], "input1", "int8", None)
    b = _tensor(model, op, at, op.inputs[1], "input2", "int8", None)
    y = _tensor(model, op, at, op.outputs[0], "output", "int8", None)
    rank = len(y.shape)
    if len(a.shape) > rank or len(b.shape) > rank:
        _fail(op, at, "output.shape", y.shape, "output rank below an input's")
    for t, what in ((a, "input1"), (b, "input2")):
        padded = (1,) * (rank - len(t.shape)) + t.shape
        for d_in, d_out in zip(padded, y.shape):
            if d_in not in (1, d_out):
                _fail(op, at, what + ".shape", t.shape, f"does not broadcast to the output {y.shape}")
    for d in range(rank):
        pa = ((1,) * (rank - len(a.shape)) + a.shape)[d]
        pb = ((1,) * (rank - len(b.shape)) + b.shape)[d]
        if max(pa, pb) != y.shape[d]:
            _fail(op, at, "output.shape", y.shape, f"is not the broadcast of {a.shape} and {b.shape}")
    _offsets(op, at, "input1_offset", "input2_offset", "output_offset")
    _range(op, at, "left_shift", 0, 20)
    for name in ("input1", "input2", "output"):
        _multiplier(op, at, name + "_multiplier")
        _range(op, at, name + "_shift", -31, 0 if name != "output" else 30)
    _act(op, at)


def _check_pool(model: ModelFile, op: OpInfo, at: int) -> None:
    x = _tensor(model, op, at, op.inputs[0], "input", "int8", 4)
    y = _tensor(model, op, at, op.outputs[0], "output", "int8", 4)
    p = op.params
    for name in ("stride_h", "stride_w", "filter_h", "filter_w"):
        _range(op, at, name, 1, 1 << 16)
    _act(op, at)
    if y.shape[0] != x.shape[0] or y.shape[3] != x.shape[3]:
        _fail(op, at, "output.shape", y.shape, f"batch and channels must match the input {x.shape}")
    if not conv_out_size_ok(x.shape[1], p["filter_h"], p["stride_h"], 1, p["pad_h"], y.shape[1]) or not (
        conv_out_size_ok(x.shape[2], p["filter_w"], p["stride_w"], 1, p["pad_w"], y.shape[2])
    ):
        _fail(op, at, "output.shape", y.shape, f"inconsistent with input {x.shape}, window, stride, padding")


def _check_softmax(model: ModelFile, op: OpInfo, at: int) -> None:
    x = _tensor(model, op, at, op.inputs[0], "input", "int8", None)
    y = _tensor(model, op, at, op.outputs[0], "output", "int8", None)
    if x.shape != y.shape or not x.shape:
        _fail(op, at, "output.shape", y.shape, f"must equal the input shape {x.shape}")
    _multiplier(op, at, "input_multiplier")
    _range(op, at, "input_left_shift", 0, 31)
    _range(op, at, "diff_min", -(1 << 31), 0)


def _check_reshape(model: ModelFile, op: OpInfo, at: int) -> None:
    x: TensorInfo = _tensor(model, op, at, op.inputs[0], "input", "int8", None)
    y = _tensor(model, op, at, op.outputs[0], "output", "int8", None)
    if x.size != y.size:
        _fail(op, at, "output.shape", y.shape, f"holds {y.size} values, the input {x.shape} {x.size}")


# *** op codes 8..17: MAX_POOL_2D (shares _check_pool), MUL, MEAN, CONCATENATION, PAD,
# LOGISTIC, TANH, HARD_SWISH, LEAKY_RELU, TRANSPOSE ***
#
# Offsets are zero points of int8 tensors here (input offsets -zp in [-127, 128], output
# offsets zp in [-128, 127]), and each left shift is capped so the value it scales cannot
# leave int32: no signed overflow in the kernels, whatever the file says.


def _zero_point_offsets(op: OpInfo, at: int, inputs: tuple[str, ...], outputs: tuple[str, ...]) -> None:
    for name in inputs:
        _range(op, at, name, -INT8_MAX, -INT8_MIN)
    for name in outputs:
        _range(op, at, name, INT8_MIN, INT8_MAX)


def _same_shape(model: ModelFile, op: OpInfo, at: int) -> tuple[TensorInfo, TensorInfo]:
    x = _tensor(model, op, at, op.inputs[0], "input", "int8", None)
    y = _tensor(model, op, at, op.outputs[0], "output", "int8", None)
    if x.shape != y.shape:
        _fail(op, at, "output.shape", y.shape, f"must equal the input shape {x.shape}")
    return x, y


def _unused_zero(op: OpInfo, at: int, names: list[str]) -> None:
    for name in names:
        if op.params[name]:
            _fail(op, at, "params." + name, op.params[name], "beyond the tensor's rank: must be 0")


def _check_mul(model: ModelFile, op: OpInfo, at: int) -> None:
    a = _tensor(model, op, at, op.inputs[0], "input1", "int8", None)
    b = _tensor(model, op, at, op.inputs[1], "input2", "int8", None)
    y = _tensor(model, op, at, op.outputs[0], "output", "int8", None)
    rank = len(y.shape)
    if not 1 <= rank or len(a.shape) > rank or len(b.shape) > rank:
        _fail(op, at, "output.shape", y.shape, "output rank below an input's")
    pa = (1,) * (rank - len(a.shape)) + a.shape
    pb = (1,) * (rank - len(b.shape)) + b.shape
    for da, db, dy in zip(pa, pb, y.shape):
        if da not in (1, dy) or db not in (1, dy) or max(da, db) != dy:
            _fail(op, at, "output.shape", y.shape, f"is not the broadcast of {a.shape} and {b.shape}")
    _zero_point_offsets(op, at, ("input1_offset", "input2_offset"), ("output_offset",))
    _multiplier(op, at, "output_multiplier")
    # |(a + o1) * (b + o2)| <= 2^16, so a left shift up to 14 stays inside int32.
    _range(op, at, "output_shift", -31, 14)
    _act(op, at)


def _check_mean(model: ModelFile, op: OpInfo, at: int) -> None:
    x = _tensor(model, op, at, op.inputs[0], "input", "int8", None)
    y = _tensor(model, op, at, op.outputs[0], "output", "int8", None)
    rank = len(x.shape)
    if rank < 1:
        _fail(op, at, "input.shape", x.shape, "needs rank >= 1")
    mask = _range(op, at, "axis_mask", 0, (1 << rank) - 1)
    keep = _range(op, at, "keep_dims", 0, 1)
    reduced = [d for d in range(rank) if mask >> d & 1]
    if keep:
        want = tuple(1 if d in reduced else n for d, n in enumerate(x.shape))
    else:
        want = tuple(n for d, n in enumerate(x.shape) if d not in reduced)
    if y.shape != want:
        _fail(op, at, "output.shape", y.shape, f"mean of {x.shape} over axes {reduced} is {want}")
    _zero_point_offsets(op, at, ("input_offset",), ("output_offset",))
    # The multiplier has 1/count folded in (TFLM's QuantizedMeanOrSum): below 2^30 is fine.
    _range(op, at, "multiplier", 0, 0x7FFFFFFF)
    shift = _range(op, at, "shift", -31, 30)
    count = 1
    for d in reduced:
        count *= x.shape[d]
    # |sum + count * input_offset| <= 256 * count, then scaled by 2^shift before the multiply.
    if (256 * count) << max(shift, 0) >= 1 << 31:
        _fail(op, at, "params.shift", shift, f"a sum of {count} values scaled by 2^shift could leave int32")


def _check_concatenation(model: ModelFile, op: OpInfo, at: int) -> None:
    *xs, table = op.inputs
    y = _tensor(model, op, at, op.outputs[0], "output", "int8", None)
    rank = len(y.shape)
    if rank < 1:
        _fail(op, at, "output.shape", y.shape, "needs rank >= 1")
    axis = _range(op, at, "axis", 0, rank - 1)
    total = 0
    for k, idx in enumerate(xs):
        x = _tensor(model, op, at, idx, f"input{k}", "int8", rank)
        if any(dx != dy for d, (dx, dy) in enumerate(zip(x.shape, y.shape)) if d != axis):
            _fail(
                op, at, f"input{k}.shape", x.shape, f"must match the output {y.shape} except on axis {axis}"
            )
        total += x.shape[axis]
    if total != y.shape[axis]:
        _fail(op, at, "output.shape", y.shape, f"axis {axis} must be the inputs' sum, {total}")
    t = _tensor(model, op, at, table, "requant", "int32", 2)
    if not t.is_const or t.shape != (len(xs), 3):
        _fail(op, at, "requant", t.shape, f"must be a constant int32[{len(xs)}, 3]")
    rows = model.const_array(t)
    for k, (m, s, off) in enumerate(rows.tolist()):
        if m != 0 and not Q31_MIN <= m <= 0x7FFFFFFF:
            _fail(op, at, f"requant[{k}].multiplier", m, "a Q31 multiplier is 0 or in [2^30, 2^31)")
        if not -31 <= s <= 22:  # |x + offset| <= 255: a left shift up to 22 stays inside int32
            _fail(op, at, f"requant[{k}].shift", s, "outside [-31, 22]")
        if not -INT8_MAX <= off <= -INT8_MIN:
            _fail(op, at, f"requant[{k}].input_offset", off, "outside [-127, 128]")
    _zero_point_offsets(op, at, (), ("output_offset",))


def _check_pad(model: ModelFile, op: OpInfo, at: int) -> None:
    x = _tensor(model, op, at, op.inputs[0], "input", "int8", None)
    rank = len(x.shape)
    y = _tensor(model, op, at, op.outputs[0], "output", "int8", rank)
    if rank < 1:
        _fail(op, at, "input.shape", x.shape, "needs rank >= 1")
    _range(op, at, "pad_value", INT8_MIN, INT8_MAX)
    for d in range(rank):
        before = _range(op, at, f"before_{d}", 0, y.shape[d])
        after = _range(op, at, f"after_{d}", 0, y.shape[d])
        if before + x.shape[d] + after != y.shape[d]:
            _fail(op, at, "output.shape", y.shape, f"dim {d} must be {before} + {x.shape[d]} + {after}")
    _unused_zero(op, at, [f"{w}_{d}" for d in range(rank, len(op.params) // 2) for w in ("before", "after")])


def _check_logistic(model: ModelFile, op: OpInfo, at: int) -> None:
    """LOGISTIC and TANH: TFLM's Q4.27 input scaling; the radius follows from the shift."""
    _same_shape(model, op, at)
    _zero_point_offsets(op, at, ("input_offset",), ())
    _multiplier(op, at, "input_multiplier")
    shift = _range(op, at, "input_left_shift", 0, 30)
    radius = (15 << 27) >> shift  # CalculateInputRadius(4, shift, 31): inputs below it cannot overflow
    if op.params["input_range_radius"] != radius:
        _fail(op, at, "params.input_range_radius", op.params["input_range_radius"], f"must be {radius}")


def _check_hard_swish(model: ModelFile, op: OpInfo, at: int) -> None:
    _same_shape(model, op, at)
    _zero_point_offsets(op, at, ("input_offset",), ("output_offset",))
    _range(op, at, "reluish_multiplier", 0, 32767)
    _range(op, at, "output_multiplier", 0, 32767)
    _range(op, at, "reluish_shift", -15, 30)
    _range(op, at, "output_shift", -15, 0)


def _check_leaky_relu(model: ModelFile, op: OpInfo, at: int) -> None:
    _same_shape(model, op, at)
    _zero_point_offsets(op, at, ("input_offset",), ("output_offset",))
    _multiplier(op, at, "identity_multiplier")
    m = op.params["alpha_multiplier"]  # negative for a negative alpha
    if m != 0 and not Q31_MIN <= abs(m) <= 1 << 31:
        _fail(op, at, "params.alpha_multiplier", m, "a Q31 multiplier is 0 or in +-[2^30, 2^31]")
    for name in ("identity_shift", "alpha_shift"):  # |x + offset| <= 255
        _range(op, at, name, -31, 22)


def _check_transpose(model: ModelFile, op: OpInfo, at: int) -> None:
    x = _tensor(model, op, at, op.inputs[0], "input", "int8", None)
    rank = len(x.shape)
    y = _tensor(model, op, at, op.outputs[0], "output", "int8", rank)
    if rank < 1:
        _fail(op, at, "input.shape", x.shape, "needs rank >= 1")
    perm = [_range(op, at, f"perm_{d}", 0, rank - 1) for d in range(rank)]
    if sorted(perm) != list(range(rank)):
        _fail(op, at, "params.perm", perm, f"not a permutation of {rank} axes")
    if y.shape != tuple(x.shape[p] for p in perm):
        _fail(op, at, "output.shape", y.shape, f"must be the input {x.shape} permuted by {perm}")
    _unused_zero(op, at, [f"perm_{d}" for d in range(rank, len(op.params))])


_CHECKS = {
    "CONV_2D": lambda m, o, a: _check_conv(m, o, a, depthwise=False),
    "DEPTHWISE_CONV_2D": lambda m, o, a: _check_conv(m, o, a, depthwise=True),
    "FULLY_CONNECTED": _check_fc,
    "ADD": _check_add,
    "AVERAGE_POOL_2D": _check_pool,
    "SOFTMAX": _check_softmax,
    "RESHAPE": _check_reshape,
    "MAX_POOL_2D": _check_pool,
    "MUL": _check_mul,
    "MEAN": _check_mean,
    "CONCATENATION": _check_concatenation,
    "PAD": _check_pad,
    "LOGISTIC": _check_logistic,
    "TANH": _check_logistic,
    "HARD_SWISH": _check_hard_swish,
    "LEAKY_RELU": _check_leaky_relu,
    "TRANSPOSE": _check_transpose,
}


def check_op_contract(model: ModelFile, op: OpInfo, at: int) -> None:
    """Raise ModelFormatError unless `op` can run safely and meaningfully on its tensors."""
    _CHECKS[op.name](model, op, at)
