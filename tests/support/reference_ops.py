"""numpy int64 oracles for the int8 kernels picoq must match bit for bit (TFLM reference kernels).

Why: picoq's C kernels are tested against these, so each function takes the *integer*
parameters a C kernel receives (multiplier, shift, offsets, activation bounds), never float
scales; the parameter helpers at the bottom turn float scales into those integers exactly as
TFLM's Prepare functions do, so a test can go from a model's scales to expected bytes.
Everything is computed in int64 (no silent int32 wraparound) and vectorised over the tensor,
looping only over filter taps.

Conventions follow TFLM (``kernels/internal/reference/integer_ops/*.h``, INT8_SPEC.md section 2):

- ``input_offset`` is ``-input_zero_point`` (TFLM adds it: ``acc += w * (x + input_offset)``);
  ``output_offset`` is ``+output_zero_point``.
- NHWC activations; conv filter ``[Cout, kh, kw, Cin/groups]``; depthwise filter
  ``[1, kh, kw, Cin*depth_multiplier]`` with output channel ``c*m + k`` reading input channel
  ``c``; fully-connected weights ``[units, depth]``.
- ``pad`` is TFLM's ``padding_values``: the padding *before* the first row/column. Taps outside
  the image are skipped, which equals padding with the input zero point.
- Accumulators are int32 in TFLM. These oracles raise ``OverflowError`` if a final accumulator
  leaves int32 instead of modelling the wraparound (undefined behaviour in C); a test that
  hits it has built an unrealistic layer.
- Requantization is the default double rounding (``mbqm_np``); see bigint_fixedpoint.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from .bigint_fixedpoint import (
    quantize_multiplier,
    quantize_multiplier_greater_than_one,
    quantize_multiplier_smaller_than_one_exp,
)

__all__ = [
    "activation_range",
    "add",
    "add_params",
    "avg_pool2d",
    "compute_padding",
    "concatenation",
    "conv2d",
    "conv_params",
    "depthwise_conv2d",
    "exp_on_negative_values_np",
    "fc_per_tensor_multiplier",
    "fully_connected",
    "get_reciprocal_np",
    "hard_swish",
    "hard_swish_params",
    "leaky_relu",
    "leaky_relu_params",
    "logistic",
    "logistic_params",
    "max_pool2d",
    "mbqm_np",
    "mean",
    "mean_multiplier",
    "mul",
    "mul_params",
    "one_minus_x_over_one_plus_x_for_x_in_0_1_np",
    "one_over_one_plus_x_for_x_in_0_1_np",
    "pad",
    "rdpot_np",
    "requant_params",
    "same_padding",
    "softmax",
    "softmax_params",
    "srdhm_np",
    "tanh",
    "tanh_params",
    "transpose",
]

I32_MIN = -(2**31)
I32_MAX = 2**31 - 1

IntPair = int | Sequence[int]
HW = tuple[int, int]


# *** fixed-point primitives on int64 arrays ***


def _as_i64(a: object) -> np.ndarray:
    return np.asarray(a, dtype=np.int64)


def _require_int32(name: str, a: np.ndarray) -> None:
    """Raise if any element of ``a`` is outside int32 (where the C code would wrap or be UB)."""
    if a.size and (a.min() < I32_MIN or a.max() > I32_MAX):
        raise OverflowError(f"{name} leaves int32 (range [{a.min()}, {a.max()}])")


def _wrap_int32_np(a: np.ndarray) -> np.ndarray:
    """Two's-complement reduction to int32 (int64 in, int64 out)."""
    return ((a - I32_MIN) & 0xFFFFFFFF) + I32_MIN


def srdhm_np(a: object, b: object) -> np.ndarray:
    """Vectorised SaturatingRoundingDoublingHighMul: ``floor((a*b + 2^30) / 2^31)``, saturated.

    ``|a*b| <= 2^62`` fits int64, and ``>>`` on int64 is a floor division. The only result above
    int32 is ``INT32_MIN^2`` (giving 2^31), which gemmlowp saturates to INT32_MAX: the clip does
    exactly that and nothing else.
    """
    a, b = _as_i64(a), _as_i64(b)
    _require_int32("srdhm operand a", a)
    _require_int32("srdhm operand b", b)
    return np.minimum((a * b + (1 << 30)) >> 31, I32_MAX)


def rdpot_np(x: object, exponent: object) -> np.ndarray:
    """Vectorised RoundingDivideByPOT: ``x / 2^e`` to nearest, halves away from zero, 0 <= e <= 31."""
    x, e = _as_i64(x), _as_i64(exponent)
    _require_int32("rdpot operand", x)
    if e.size and (e.min() < 0 or e.max() > 31):
        raise ValueError("rdpot exponent outside [0, 31]")
    half = np.left_shift(np.int64(1), e) >> 1  # 0 when e == 0
    magnitude = (np.abs(x) + half) >> e
    return np.where(x < 0, -magnitude, magnitude)


def _sat_shift_left_np(x: np.ndarray, exponent: int) -> np.ndarray:
    """gemmlowp SaturatingRoundingMultiplyByPOT with a positive exponent: ``clip(x * 2^e)``."""
    return np.clip(x << exponent, I32_MIN, I32_MAX)


def _add32(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """int32 addition that gemmlowp/TFLM perform unsaturated; assert it never wraps here."""
    s = a + b
    _require_int32("fixed-point sum", s)
    return s


def mbqm_np(acc: object, multiplier: object, shift: object) -> np.ndarray:
    """Vectorised MultiplyByQuantizedMultiplier (double rounding), same semantics as ``bigint_fixedpoint.mbqm``.

    ``acc`` must hold int32 values (an int32 accumulator in TFLM); ``multiplier`` and ``shift``
    broadcast against it (per-channel arrays broadcast along the last axis). ``acc * 2^left`` wraps
    to int32 like TFLM's ``x * (1 << left)``.
    """
    acc, m, s = _as_i64(acc), _as_i64(multiplier), _as_i64(shift)
    _require_int32("accumulator", acc)
    if s.size and (s.min() < -31 or s.max() > 31):
        raise ValueError("shift outside [-31, 31]")
    left = np.maximum(s, 0)
    right = np.maximum(-s, 0)
    return rdpot_np(srdhm_np(_wrap_int32_np(acc << left), m), right)


# *** shared helpers ***


def _pair(v: IntPair, what: str) -> tuple[int, int]:
    if isinstance(v, int | np.integer):
        return int(v), int(v)
    a, b = v
    if not all(isinstance(t, int | np.integer) for t in (a, b)):
        raise TypeError(f"{what} must be ints, got {v!r}")
    return int(a), int(b)


def _out_size(in_size: int, k: int, stride: int, dilation: int, pad: int) -> int:
    """Symmetric-padding output size; SAME with odd total padding needs ``out_hw`` instead."""
    eff = (k - 1) * dilation + 1
    return (in_size + 2 * pad - eff) // stride + 1


def _spatial(
    in_hw: HW,
    k_hw: HW,
    stride: IntPair,
    dilation: IntPair,
    pad: IntPair,
    out_hw: IntPair | None,
) -> tuple[HW, HW, HW, HW]:
    """Normalise (stride, dilation, pad, output size) to pairs; the output size as documented in conv2d."""
    (sh, sw), (dh, dw), (ph, pw) = _pair(stride, "stride"), _pair(dilation, "dilation"), _pair(pad, "pad")
    if min(sh, sw, dh, dw) < 1 or min(ph, pw) < 0:
        raise ValueError(f"bad stride {stride}, dilation {dilation} or pad {pad}")
    if out_hw is None:
        oh = _out_size(in_hw[0], k_hw[0], sh, dh, ph)
        ow = _out_size(in_hw[1], k_hw[1], sw, dw, pw)
    else:
        oh, ow = _pair(out_hw, "out_hw")
    if oh < 1 or ow < 1:
        raise ValueError(f"empty output {oh}x{ow}")
    return (sh, sw), (dh, dw), (ph, pw), (oh, ow)


def _padded(xs: np.ndarray, k_hw: HW, stride: HW, dilation: HW, pad: HW, out_hw: HW) -> np.ndarray:
    """Zero-pad NHWC ``xs`` (already offset, so zero == the input zero point) to cover every tap."""
    _, h, w, _ = xs.shape
    need_h = (out_hw[0] - 1) * stride[0] + (k_hw[0] - 1) * dilation[0] + 1
    need_w = (out_hw[1] - 1) * stride[1] + (k_hw[1] - 1) * dilation[1] + 1
    after_h = max(0, need_h - pad[0] - h)
    after_w = max(0, need_w - pad[1] - w)
    return np.pad(xs, ((0, 0), (pad[0], after_h), (pad[1], after_w), (0, 0)))


def _tap(xp: np.ndarray, ky: int, kx: int, stride: HW, dilation: HW, out_hw: HW) -> np.ndarray:
    """The [N, OH, OW, C] slab that filter tap (ky, kx) reads, from the padded input."""
    y0, x0 = ky * dilation[0], kx * dilation[1]
    return xp[
        :,
        y0 : y0 + (out_hw[0] - 1) * stride[0] + 1 : stride[0],
        x0 : x0 + (out_hw[1] - 1) * stride[1] + 1 : stride[1],
        :,
    ]


def _requantize(
    acc: np.ndarray, mult: object, shift: object, output_offset: int, act_min: int, act_max: int
) -> np.ndarray:
    """``clamp(mbqm(acc) + output_offset, act_min, act_max)`` as int8 (TFLM's conv/FC epilogue)."""
    if not -128 <= act_min <= act_max <= 127:
        raise ValueError(f"activation range [{act_min}, {act_max}] is not inside int8")
    out = mbqm_np(acc, mult, shift) + output_offset
    return np.clip(out, act_min, act_max).astype(np.int8)


def _per_channel(v: object, channels: int, what: str) -> np.ndarray:
    a = _as_i64(v)
    if a.ndim == 0:
        return np.full(channels, a, dtype=np.int64)
    if a.shape != (channels,):
        raise ValueError(f"{what} must be a scalar or have shape ({channels},), got {a.shape}")
    return a


def _finish_acc(acc: np.ndarray, bias: object | None, channels: int) -> np.ndarray:
    if bias is not None:
        acc = acc + _per_channel(bias, channels, "bias")
    _require_int32("accumulator", acc)
    return acc


# *** kernels ***


def conv2d(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    mult: object,
    shift: object,
    stride: IntPair = 1,
    dilation: IntPair = 1,
    pad: IntPair = 0,
    input_offset: int = 0,
    output_offset: int = 0,
    act_min: int = -128,
    act_max: int = 127,
    *,
    out_hw: IntPair | None = None,
    return_acc: bool = False,
) -> np.ndarray:
    """TFLM ``reference_integer_ops::ConvPerChannel`` (int8, grouped when ``Cin % w.shape[3] == 0``).

    x [N,H,W,Cin] int8; w [Cout,kh,kw,Cin/groups] int8; bias [Cout] int32 or None; ``mult`` and
    ``shift`` scalars or [Cout]. ``pad`` = (top, left) padding; the output size is ``out_hw`` or,
    if None, the symmetric-padding size (pass ``out_hw`` for SAME with odd total padding, see
    ``same_padding``). ``return_acc=True`` returns the int32 accumulators (bias included) instead
    of the int8 output, so the integer arithmetic can be checked separately from requantization.
    """
    x, w = _as_i64(x), _as_i64(w)
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"conv2d wants 4-D x and w, got {x.shape} and {w.shape}")
    n, h, wd, cin = x.shape
    cout, kh, kw, cin_g = w.shape
    if cin % cin_g or cout % (cin // cin_g):
        raise ValueError(f"conv2d: Cin={cin}, filter depth {cin_g}, Cout={cout} do not form groups")
    groups = cin // cin_g
    cout_g = cout // groups
    stride, dilation, pad, out = _spatial((h, wd), (kh, kw), stride, dilation, pad, out_hw)

    xp = _padded(x + input_offset, (kh, kw), stride, dilation, pad, out)
    # w as [kh, kw, G, Cin_g, Cout_g]: output channel o = g*Cout_g + j reads input g*Cin_g + i.
    wg = w.reshape(groups, cout_g, kh, kw, cin_g).transpose(2, 3, 0, 4, 1)
    acc = np.zeros((n, out[0], out[1], groups, cout_g), dtype=np.int64)
    for ky in range(kh):
        for kx in range(kw):
            t = _tap(xp, ky, kx, stride, dilation, out).reshape(n, out[0], out[1], groups, cin_g)
            acc += np.einsum("nhwgi,gio->nhwgo", t, wg[ky, kx])
    acc = _finish_acc(acc.reshape(n, out[0], out[1], cout), bias, cout)
    if return_acc:
        return acc.astype(np.int32)
    mult, shift = _per_channel(mult, cout, "mult"), _per_channel(shift, cout, "shift")
    return _requantize(acc, mult, shift, output_offset, act_min, act_max)


def depthwise_conv2d(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    mult: object,
    shift: object,
    stride: IntPair = 1,
    dilation: IntPair = 1,
    pad: IntPair = 0,
    input_offset: int = 0,
    output_offset: int = 0,
    act_min: int = -128,
    act_max: int = 127,
    depth_multiplier: int = 1,
    *,
    out_hw: IntPair | None = None,
    return_acc: bool = False,
) -> np.ndarray:
    """TFLM ``reference_integer_ops::DepthwiseConvPerChannel`` (int8).

    w [1,kh,kw,Cin*depth_multiplier]; output channel ``c*m + k`` convolves input channel ``c``
    with filter column ``c*m + k``. Other arguments as in ``conv2d``.
    """
    x, w = _as_i64(x), _as_i64(w)
    if x.ndim != 4 or w.ndim != 4 or w.shape[0] != 1:
        raise ValueError(f"depthwise_conv2d wants x [N,H,W,C] and w [1,kh,kw,C*m], got {x.shape}, {w.shape}")
    n, h, wd, cin = x.shape
    _, kh, kw, cout = w.shape
    if cout != cin * depth_multiplier:
        raise ValueError(f"depthwise_conv2d: filter has {cout} channels, want {cin}*{depth_multiplier}")
    stride, dilation, pad, out = _spatial((h, wd), (kh, kw), stride, dilation, pad, out_hw)

    # Repeat each input channel m times so output channel c*m+k lines up with input channel c.
    xs = np.repeat(x + input_offset, depth_multiplier, axis=3)
    xp = _padded(xs, (kh, kw), stride, dilation, pad, out)
    acc = np.zeros((n, out[0], out[1], cout), dtype=np.int64)
    for ky in range(kh):
        for kx in range(kw):
            acc += _tap(xp, ky, kx, stride, dilation, out) * w[0, ky, kx]
    acc = _finish_acc(acc, bias, cout)
    if return_acc:
        return acc.astype(np.int32)
    mult, shift = _per_channel(mult, cout, "mult"), _per_channel(shift, cout, "shift")
    return _requantize(acc, mult, shift, output_offset, act_min, act_max)


def fully_connected(
    x2d: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    mult: object,
    shift: object,
    input_offset: int = 0,
    filter_offset: int = 0,
    output_offset: int = 0,
    act_min: int = -128,
    act_max: int = 127,
    *,
    return_acc: bool = False,
) -> np.ndarray:
    """TFLM ``reference_integer_ops::FullyConnected`` / ``FullyConnectedPerChannel`` (int8).

    x2d [batches, depth]; w [units, depth]; ``acc = sum((w + filter_offset) * (x + input_offset))
    + bias``. A scalar ``mult``/``shift`` is the per-tensor kernel, [units] arrays the per-channel
    one (which has no filter offset in TFLM; it is 0 for int8 weights anyway).
    """
    x2d, w = _as_i64(x2d), _as_i64(w)
    if x2d.ndim != 2 or w.ndim != 2 or x2d.shape[1] != w.shape[1]:
        raise ValueError(f"fully_connected: x {x2d.shape} and w {w.shape} do not match")
    units = w.shape[0]
    acc = _finish_acc((x2d + input_offset) @ (w + filter_offset).T, bias, units)
    if return_acc:
        return acc.astype(np.int32)
    mult, shift = _per_channel(mult, units, "mult"), _per_channel(shift, units, "shift")
    return _requantize(acc, mult, shift, output_offset, act_min, act_max)


_ADD_KEYS = (
    "input1_offset",
    "input2_offset",
    "output_offset",
    "left_shift",
    "input1_multiplier",
    "input1_shift",
    "input2_multiplier",
    "input2_shift",
    "output_multiplier",
    "output_shift",
    "act_min",
    "act_max",
)


def add(a: np.ndarray, b: np.ndarray, params: dict[str, int]) -> np.ndarray:
    """TFLM ``reference_integer_ops::AddFunc`` over numpy-broadcast int8 operands.

    ``v_i = mbqm((q_i + input_i_offset) * 2^left_shift, M_i, s_i)``, then
    ``clamp(mbqm(v1 + v2, M_o, s_o) + output_offset)``. TFLM uses the SmallerThanOneExp variant
    (no left shift inside the multiply), which equals ``mbqm`` for the shifts <= 0 that
    ``add_params`` produces; positive shifts are rejected.
    """
    missing = [k for k in _ADD_KEYS if k not in params]
    if missing:
        raise KeyError(f"add params missing {missing}")
    p = {k: int(params[k]) for k in _ADD_KEYS}
    for k in ("input1_shift", "input2_shift", "output_shift"):
        if p[k] > 0:
            raise ValueError(f"{k}={p[k]}: TFLM's add uses SmallerThanOneExp multipliers (shift <= 0)")
    a, b = np.broadcast_arrays(_as_i64(a), _as_i64(b))
    s1 = (a + p["input1_offset"]) << p["left_shift"]
    s2 = (b + p["input2_offset"]) << p["left_shift"]
    v = _add32(
        mbqm_np(s1, p["input1_multiplier"], p["input1_shift"]),
        mbqm_np(s2, p["input2_multiplier"], p["input2_shift"]),
    )
    out = mbqm_np(v, p["output_multiplier"], p["output_shift"]) + p["output_offset"]
    return np.clip(out, p["act_min"], p["act_max"]).astype(np.int8)


def avg_pool2d(
    x: np.ndarray,
    filter: IntPair,
    stride: IntPair,
    pad: IntPair = 0,
    act_min: int = -128,
    act_max: int = 127,
    out_hw: IntPair | None = None,
) -> np.ndarray:
    """TFLM ``reference_integer_ops::AveragePool`` (int8): mean over the taps inside the image.

    ``n`` = number of in-image taps; ``acc > 0 ? (acc + n/2) / n : (acc - n/2) / n`` with C
    truncating division, i.e. the mean rounded half away from zero. No zero point is involved
    (input and output share it). A window with no in-image tap makes TFLM fail; we raise.
    """
    x = _as_i64(x)
    if x.ndim != 4:
        raise ValueError(f"avg_pool2d wants NHWC, got {x.shape}")
    n, h, wd, c = x.shape
    fh, fw = _pair(filter, "filter")
    stride, dilation, pad, out = _spatial((h, wd), (fh, fw), stride, 1, pad, out_hw)
    xp = _padded(x, (fh, fw), stride, dilation, pad, out)
    inside = _padded(np.ones((1, h, wd, 1), dtype=np.int64), (fh, fw), stride, dilation, pad, out)
    acc = np.zeros((n, out[0], out[1], c), dtype=np.int64)
    count = np.zeros((1, out[0], out[1], 1), dtype=np.int64)
    for ky in range(fh):
        for kx in range(fw):
            acc += _tap(xp, ky, kx, stride, dilation, out)
            count += _tap(inside, ky, kx, stride, dilation, out)
    if count.min() == 0:
        raise ValueError("avg_pool2d: a window lies entirely in the padding (TFLM returns an error)")
    q = (np.abs(acc) + count // 2) // count
    q = np.where(acc < 0, -q, q)
    if not -128 <= act_min <= act_max <= 127:
        raise ValueError(f"activation range [{act_min}, {act_max}] is not inside int8")
    return np.clip(q, act_min, act_max).astype(np.int8)


# *** softmax (gemmlowp fixed point) ***

# Fixed-point formats used by TFLM's int8 softmax (reference/softmax.h).
_SCALED_DIFF_INT_BITS = 5  # input to exp: Q5.26
_ACCUM_INT_BITS = 12  # sum of exps: Q12.19

# gemmlowp's constants, as raw Q0.31 (Q2.29 for the Newton-Raphson pair) integers.
_EXP_MINUS_ONE_EIGHTH = 1895147668  # exp(-1/8)
_ONE_THIRD = 715827883  # 1/3
_EXP_BARREL = {  # exponent k -> exp(-2^k)
    -2: 1672461947,
    -1: 1302514674,
    0: 790015084,
    1: 290630308,
    2: 39332535,
    3: 720401,
    4: 242,
}
_F2_48_OVER_17 = 1515870810
_F2_NEG_32_OVER_17 = -1010580540


def _exp_on_interval_neg_quarter_to_0(a: np.ndarray) -> np.ndarray:
    """exp(a) for Q0.31 ``a`` in [-1/4, 0): 4th-order Taylor series around -1/8, gemmlowp's steps."""
    x = _add32(a, np.int64(1 << 28))  # a + 1/8
    x2 = srdhm_np(x, x)
    x3 = srdhm_np(x2, x)
    x4 = srdhm_np(x2, x2)
    x4_over_4 = rdpot_np(x4, 2)
    poly = rdpot_np(_add32(srdhm_np(_add32(x4_over_4, x3), _ONE_THIRD), x2), 1)  # x4/24 + x3/6 + x2/2
    return _add32(np.int64(_EXP_MINUS_ONE_EIGHTH), srdhm_np(_EXP_MINUS_ONE_EIGHTH, _add32(x, poly)))


def exp_on_negative_values_np(a: object, integer_bits: int = _SCALED_DIFF_INT_BITS) -> np.ndarray:
    """gemmlowp ``exp_on_negative_values``: raw Q(ib).(31-ib) input <= 0 -> raw Q0.31 exp(a).

    Split ``a`` into a multiple of 1/4 and a remainder in [-1/4, 0); the remainder goes through
    the Taylor step, the multiple through a barrel of exp(-2^k) multiplications, one per set bit.
    ``a == 0`` returns Q0.31 "one" (INT32_MAX).
    """
    a = _as_i64(a)
    _require_int32("exp input", a)
    if a.size and a.max() > 0:
        raise ValueError("exp_on_negative_values needs inputs <= 0")
    frac_bits = 31 - integer_bits
    quarter = np.int64(1 << (frac_bits - 2))
    a_mod_quarter_minus_quarter = (a & (quarter - 1)) - quarter
    result = _exp_on_interval_neg_quarter_to_0(_sat_shift_left_np(a_mod_quarter_minus_quarter, integer_bits))
    remainder = a_mod_quarter_minus_quarter - a
    for k, multiplier in _EXP_BARREL.items():
        if integer_bits > k:
            bit = (remainder >> (frac_bits + k)) & 1
            result = np.where(bit == 1, srdhm_np(result, multiplier), result)
    if integer_bits > 5:  # inputs below -32 flush to 0
        result = np.where(a < -(1 << (frac_bits + 5)), 0, result)
    return np.where(a == 0, np.int64(I32_MAX), result)


def one_over_one_plus_x_for_x_in_0_1_np(a: object) -> np.ndarray:
    """gemmlowp ``one_over_one_plus_x_for_x_in_0_1``: raw Q0.31 ``a`` in [0,1) -> Q0.31 1/(1+a).

    Newton-Raphson on the half denominator d = (1+a)/2 in Q2.29: start 48/17 - 32/17 d, then
    three iterations ``x += x (1 - d x)``; the result 1/d is halved back to Q0.31 with saturation.
    """
    a = _as_i64(a)
    _require_int32("reciprocal input", a)
    # RoundingHalfSum(a, One) with One = INT32_MAX: (a + One + sign) / 2 in C (truncating).
    s = a + I32_MAX
    half_denominator = np.where(s >= 0, (s + 1) // 2, -((-s + 1) // 2))
    one_f2 = np.int64(1 << 29)
    x = _add32(np.int64(_F2_48_OVER_17), srdhm_np(half_denominator, _F2_NEG_32_OVER_17))
    for _ in range(3):
        one_minus_dx = _add32(one_f2, -srdhm_np(half_denominator, x))
        x = _add32(x, _sat_shift_left_np(srdhm_np(x, one_minus_dx), 2))  # Q4.27 product -> Q2.29
    return _sat_shift_left_np(x, 1)  # x/2 read as Q1.30 -> Q0.31


def get_reciprocal_np(x: object, x_integer_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLM ``GetReciprocal``: positive raw Q(ib) ``x`` -> (Q0.31 scale, num_bits_over_unit).

    ``x = (1 + f) * 2^(ib - headroom)`` with ``headroom`` = leading zeros of x as uint32; returns
    ``1/(1+f)`` in Q0.31 and ``ib - headroom``, so ``1/x = scale * 2^-(num_bits_over_unit)``.
    """
    x = _as_i64(x)
    if x.size and (x.min() <= 0 or x.max() > I32_MAX):
        raise ValueError("get_reciprocal needs 0 < x <= INT32_MAX")
    bit_length = np.frexp(x.astype(np.float64))[1].astype(np.int64)  # exact for x < 2^53
    headroom = 32 - bit_length
    shifted_minus_one = (x << headroom) - (1 << 31)
    return one_over_one_plus_x_for_x_in_0_1_np(shifted_minus_one), x_integer_bits - headroom


def softmax(x: np.ndarray, input_multiplier: int, input_left_shift: int, diff_min: int) -> np.ndarray:
    """TFLM int8 ``reference_ops::Softmax`` over the last axis (output scale 1/256, zp -128).

    For ``d = q - max(row) >= diff_min``: ``e = exp(srdhm(d * 2^left_shift, M))`` (Q5.26 in,
    Q0.31 out), the row sum of ``rdpot(e, 12)`` in Q12.19, its reciprocal via ``get_reciprocal``,
    and ``out = rdpot(srdhm(recip, e), num_bits_over_unit + 23) - 128`` clamped to int8.
    Elements with ``d < diff_min`` output -128 and are left out of the sum.
    """
    x = _as_i64(x)
    if x.ndim < 1 or x.shape[-1] < 1:
        raise ValueError(f"softmax wants at least one element on the last axis, got {x.shape}")
    if not 0 <= input_left_shift <= 31:
        raise ValueError(f"input_left_shift {input_left_shift} outside [0, 31]")
    diff = x - x.max(axis=-1, keepdims=True)
    used = diff >= diff_min
    # Skipped elements never reach the multiply in TFLM; feed them 0 so nothing can overflow.
    shifted = np.where(used, diff, 0) << input_left_shift
    _require_int32("softmax input_diff * 2^left_shift", shifted)
    exp = exp_on_negative_values_np(srdhm_np(shifted, input_multiplier), _SCALED_DIFF_INT_BITS)
    # Rescale<12>: Q0.31 -> Q12.19 is a rounding shift right by 12.
    sum_of_exps = np.where(used, rdpot_np(exp, _ACCUM_INT_BITS), 0).sum(axis=-1, keepdims=True)
    _require_int32("sum of exps", sum_of_exps)
    scale, num_bits_over_unit = get_reciprocal_np(sum_of_exps, _ACCUM_INT_BITS)
    exponent = num_bits_over_unit + 31 - 8
    if exponent.min() < 0 or exponent.max() > 31:
        raise ValueError("softmax: TFLITE_CHECK(0 <= exponent <= 31) fails (row too long?)")
    out = rdpot_np(srdhm_np(scale, exp), exponent) - 128
    return np.where(used, np.clip(out, -128, 127), -128).astype(np.int8)


# *** parameters from float scales, as TFLM's Prepare computes them ***


def _f32(v: float) -> float:
    """The value a float32 flatbuffer field / C ``float`` holds, as an exact Python float."""
    return float(np.float32(v))


def conv_params(
    in_scale: float, w_scales: Sequence[float] | float, out_scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (multiplier, shift) int32 arrays, as TFLM PopulateConvolutionQuantizationParams.

    ``(double)in_s * (double)w_s[c] / (double)out_s`` (every scale is a float32 in the model),
    then QuantizeMultiplier. Also what per-channel FULLY_CONNECTED uses. A single weight scale
    gives a 1-element array (TFLM broadcasts it to every channel).
    """
    ws = np.atleast_1d(np.asarray(w_scales, dtype=np.float64))
    pairs = [quantize_multiplier(_f32(in_scale) * _f32(s) / _f32(out_scale)) for s in ws]
    return np.array([p[0] for p in pairs], dtype=np.int32), np.array([p[1] for p in pairs], dtype=np.int32)


def fc_per_tensor_multiplier(
    in_scale: float, w_scale: float, out_scale: float, *, float32_product: bool = False
) -> tuple[int, int]:
    """Per-tensor FULLY_CONNECTED (multiplier, shift): TFLM GetQuantizedConvolutionMultipler.

    TFLite/TFLM sources up to 2025 compute ``static_cast<double>(in_s * w_s)``: the product of
    two floats is rounded to **float32** before the double division by ``out_s``
    (``float32_product=True``); M then differs from ``conv_params`` by tens of ulps. The
    ``tflite_micro`` package that is picoq's oracle (0.dev20261023) does *not* behave so: on 192
    of 192 scale triples where the two give different outputs it matched the all-double
    product (``test_tflm_fc_per_tensor_multiplier_uses_double_product``), presumably after
    TFLM issue #3271 ("Fouble" casts). Hence the default ``False``: the double product, which is
    exactly ``conv_params`` with one weight scale.
    """
    if float32_product:
        product = float(np.float32(in_scale) * np.float32(w_scale))
    else:
        product = _f32(in_scale) * _f32(w_scale)
    return quantize_multiplier(product / _f32(out_scale))


def add_params(
    s1: float, zp1: int, s2: float, zp2: int, s_out: float, zp_out: int, act: str = "NONE"
) -> dict[str, int]:
    """ADD int8 parameters exactly as TFLM ``CalculateOpDataAdd`` (left_shift 20).

    ``twice_max = 2 * max(s1, s2)``; input multipliers ``s_i / twice_max`` and output multiplier
    ``twice_max / (2^20 * s_out)``, each through QuantizeMultiplierSmallerThanOneExp (which TFLM
    CHECKs to be < 1, so a very small output scale is rejected here too).
    """
    s1, s2, s_out = _f32(s1), _f32(s2), _f32(s_out)
    left_shift = 20
    twice_max = 2 * max(s1, s2)
    m1, sh1 = quantize_multiplier_smaller_than_one_exp(s1 / twice_max)
    m2, sh2 = quantize_multiplier_smaller_than_one_exp(s2 / twice_max)
    mo, sho = quantize_multiplier_smaller_than_one_exp(twice_max / ((1 << left_shift) * s_out))
    act_min, act_max = activation_range(act, s_out, zp_out)
    return {
        "input1_offset": -int(zp1),
        "input2_offset": -int(zp2),
        "output_offset": int(zp_out),
        "left_shift": left_shift,
        "input1_multiplier": m1,
        "input1_shift": sh1,
        "input2_multiplier": m2,
        "input2_shift": sh2,
        "output_multiplier": mo,
        "output_shift": sho,
        "act_min": act_min,
        "act_max": act_max,
    }


def softmax_params(beta: float, in_scale: float) -> tuple[int, int, int]:
    """(input_multiplier, input_left_shift, diff_min) as TFLM CalculateSoftmaxParams for int8.

    PreprocessSoftmaxScaling: ``min(beta * s * 2^(31-5), 2^31 - 1)`` in double (beta and s are
    float32 in the model), then QuantizeMultiplierGreaterThanOne (TFLM CHECKs > 1).
    ``diff_min = -CalculateInputRadius(5, left_shift)`` with total_signed_bits 31:
    ``-floor((2^5 - 1) * 2^(31-5) / 2^left_shift)``.
    """
    real = min(_f32(beta) * _f32(in_scale) * float(1 << (31 - _SCALED_DIFF_INT_BITS)), float((1 << 31) - 1))
    multiplier, left_shift = quantize_multiplier_greater_than_one(real)
    radius = (((1 << _SCALED_DIFF_INT_BITS) - 1) << (31 - _SCALED_DIFF_INT_BITS)) >> left_shift
    return multiplier, left_shift, -radius


def _round_half_away_f(v: float) -> int:
    """C ``std::round`` of a (float32-valued) double: exact, since |v| + 0.5 needs < 53 bits here."""
    r = np.floor(abs(v) + 0.5)
    return int(r) if v >= 0 else -int(r)


_ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")


def activation_range(act: str, scale: float, zp: int) -> tuple[int, int]:
    """Fused-activation clamp bounds, as TFLite CalculateActivationRangeQuantized for int8.

    Each bound is ``zp + round(f / scale)`` with the division and the round-half-away in float32
    (``TfLiteRound(f / scale)`` on floats), intersected with [-128, 127]. RELU has no upper bound
    other than 127; any other activation (NONE, TANH, ...) gives the full int8 range.
    """
    if act not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {_ACTIVATIONS}, got {act!r}")
    scale32 = np.float32(scale)

    def q(f: float) -> int:
        r = _round_half_away_f(float(np.float32(f) / scale32))
        if not -(2**31) <= r <= 2**31 - 1:  # TFLM's Quantize() ENSUREs this
            raise ValueError(f"activation bound {f}/{scale} overflows int32")
        return int(zp) + r

    if act == "RELU":
        return max(-128, q(0.0)), 127
    if act == "RELU6":
        return max(-128, q(0.0)), min(127, q(6.0))
    if act == "RELU_N1_TO_1":
        return max(-128, q(-1.0)), min(127, q(1.0))
    return -128, 127


def compute_padding(padding: str, in_size: int, k: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """(output size, padding before) like TFLite ComputeOutSize + ComputePaddingWithOffset.

    SAME: ``out = ceil(in / stride)``; VALID: ``out = (in + stride - eff) // stride``. The total
    padding ``(out-1)*stride + eff - in`` (floored at 0) is split with the odd unit *after*.
    """
    eff = (k - 1) * dilation + 1
    if padding == "SAME":
        out = (in_size + stride - 1) // stride
    elif padding == "VALID":
        out = (in_size + stride - eff) // stride
    else:
        raise ValueError(f"padding must be SAME or VALID, got {padding!r}")
    total = max(0, (out - 1) * stride + eff - in_size)
    return out, total // 2


def same_padding(in_size: int, k: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """(output size, padding before) for SAME padding, as TFLM ComputePaddingHeightWidth."""
    return compute_padding("SAME", in_size, k, stride, dilation)


# *** more int8 ops: pooling, elementwise, reductions, data movement, activations ***
#
# Written from TFLM's reference kernels (tensorflow/lite/kernels/internal/reference/*.h and
# reference/integer_ops/*.h, Prepare maths in tensorflow/lite/micro/kernels/*_common.cc) and
# gemmlowp fixedpoint.h; each docstring names its source.


def max_pool2d(
    x: np.ndarray,
    filter: IntPair,
    stride: IntPair,
    pad: IntPair = 0,
    act_min: int = -128,
    act_max: int = 127,
    out_hw: IntPair | None = None,
) -> np.ndarray:
    """TFLM ``reference_integer_ops::MaxPool`` (int8): the max over the taps inside the image,
    starting from -128, then clamped to [act_min, act_max]. Padding never wins (it is skipped)."""
    x = _as_i64(x)
    if x.ndim != 4:
        raise ValueError(f"max_pool2d wants NHWC, got {x.shape}")
    n, h, wd, c = x.shape
    fh, fw = _pair(filter, "filter")
    stride, dilation, pad, out = _spatial((h, wd), (fh, fw), stride, 1, pad, out_hw)
    lowest = np.int64(-(1 << 40))  # below any int8: padding taps never win
    xp = _padded(x - lowest, (fh, fw), stride, dilation, pad, out) + lowest
    best = np.full((n, out[0], out[1], c), -128, dtype=np.int64)
    for ky in range(fh):
        for kx in range(fw):
            best = np.maximum(best, _tap(xp, ky, kx, stride, dilation, out))
    if not -128 <= act_min <= act_max <= 127:
        raise ValueError(f"activation range [{act_min}, {act_max}] is not inside int8")
    return np.clip(best, act_min, act_max).astype(np.int8)


def mul_params(
    s1: float, zp1: int, s2: float, zp2: int, s_out: float, zp_out: int, act: str = "NONE"
) -> dict[str, int]:
    """MUL int8 parameters as TFLM ``CalculateOpDataMul``: one multiplier for
    ``(double)s1 * (double)s2 / (double)s_out`` through QuantizeMultiplier."""
    m, shift = quantize_multiplier(_f32(s1) * _f32(s2) / _f32(s_out))
    act_min, act_max = activation_range(act, s_out, zp_out)
    return {
        "input1_offset": -int(zp1),
        "input2_offset": -int(zp2),
        "output_offset": int(zp_out),
        "output_multiplier": m,
        "output_shift": shift,
        "act_min": act_min,
        "act_max": act_max,
    }


def mul(a: np.ndarray, b: np.ndarray, params: dict[str, int]) -> np.ndarray:
    """TFLM ``reference_integer_ops::MulElementwise`` / ``BroadcastMul*DSlow`` (int8) over
    numpy-broadcast operands: ``clamp(out_off + mbqm((a + off1) * (b + off2), M, s))``."""
    p = {k: int(v) for k, v in params.items()}
    a, b = np.broadcast_arrays(_as_i64(a), _as_i64(b))
    prod = (a + p["input1_offset"]) * (b + p["input2_offset"])
    out = mbqm_np(prod, p["output_multiplier"], p["output_shift"]) + p["output_offset"]
    return np.clip(out, p["act_min"], p["act_max"]).astype(np.int8)


def batch_matmul(
    a: np.ndarray,
    b: np.ndarray,
    s_a: float,
    zp_a: int,
    s_b: float,
    zp_b: int,
    s_out: float,
    zp_out: int,
    adj_x: bool = False,
    adj_y: bool = False,
) -> np.ndarray:
    """TFLM ``BATCH_MATMUL`` int8 (batch_matmul.cc EvalInt8 -> reference_ops::BatchMatMul): the
    multiplier QuantizeMultiplier((double)s_a * (double)s_b / s_out), one int32 accumulator of
    ``(a - zp_a) * (b - zp_b)`` over the reduction dim per output, no fused activation."""
    m, shift = quantize_multiplier(_f32(s_a) * _f32(s_b) / _f32(s_out))
    x, y = _as_i64(a) - int(zp_a), _as_i64(b) - int(zp_b)
    if adj_x:
        x = np.swapaxes(x, -1, -2)
    if adj_y:
        y = np.swapaxes(y, -1, -2)
    acc = _wrap_int32_np(np.matmul(x, y))
    return np.clip(mbqm_np(acc, m, shift) + int(zp_out), -128, 127).astype(np.int8)


def mean_multiplier(in_scale: float, out_scale: float, count: int) -> tuple[int, int]:
    """The (multiplier, shift) TFLM's int8 MEAN applies to a sum of ``count`` values.

    Prepare: QuantizeMultiplier((double)s_in / (double)s_out) (reduce_common.cc). Eval
    (reference_ops::QuantizedMeanOrSum, reduce.h) folds 1/count in:
    ``k = min(floor(log2(count)), 32, 31 + shift)``, ``M' = (M << k) // count`` (int64, positive),
    ``shift' = shift - k``.
    """
    m, shift = quantize_multiplier(_f32(in_scale) / _f32(out_scale))
    if count < 1:
        raise ValueError("mean over an empty axis")
    k = min(count.bit_length() - 1, 32, 31 + shift)
    return (m << k) // count, shift - k


def mean(
    x: np.ndarray,
    axes: Sequence[int],
    keep_dims: bool,
    input_zero_point: int,
    output_zero_point: int,
    multiplier: int,
    shift: int,
) -> np.ndarray:
    """TFLM int8 MEAN (``reference_ops::QuantizedMeanOrSum`` with compute_sum false).

    ``multiplier``/``shift`` already hold 1/count (``mean_multiplier``). Per output:
    ``sum = sum(x)`` (int32), ``clamp(mbqm(sum - zp_in * count, M', s') + zp_out)``.
    """
    x = _as_i64(x)
    rank = x.ndim
    ax = tuple(sorted({a + rank if a < 0 else a for a in axes}))
    count = int(np.prod([x.shape[a] for a in ax], dtype=np.int64))
    s = x.sum(axis=ax, keepdims=keep_dims)
    _require_int32("mean sum", s)
    shifted = s - int(input_zero_point) * count
    _require_int32("mean shifted sum", shifted)
    out = mbqm_np(shifted, multiplier, shift) + int(output_zero_point)
    return np.clip(out, -128, 127).astype(np.int8)


def requant_params(in_scale: float, out_scale: float) -> tuple[int, int]:
    """(multiplier, shift) = QuantizeMultiplier((double)s_in / (double)s_out): picoq's rescale of a
    CONCATENATION input to the output's scale (1.0 gives (2^30, 1), an exact identity)."""
    return quantize_multiplier(_f32(in_scale) / _f32(out_scale))


def concatenation(
    xs: Sequence[np.ndarray],
    axis: int,
    in_zero_points: Sequence[int],
    requant: Sequence[tuple[int, int]],
    output_zero_point: int,
) -> np.ndarray:
    """CONCATENATION along ``axis``; input i becomes ``clamp(mbqm(x - zp_i, M_i, s_i) + zp_out)``.

    With equal scales and zero points that is an exact copy (TFLM's reference Concatenation, which
    requires it). Different scales follow TFLite's ConcatenationWithScaling,
    ``round((x - zp_in) * s_in / s_out) + zp_out``, with the float product replaced by the
    fixed-point multiplier of ``requant_params`` (picoq's choice; TFLM has no such path).
    """
    parts = []
    for x, zp, (m, s) in zip(xs, in_zero_points, requant, strict=True):
        v = mbqm_np(_as_i64(x) - int(zp), m, s) + int(output_zero_point)
        parts.append(np.clip(v, -128, 127))
    return np.concatenate(parts, axis=axis).astype(np.int8)


def pad(x: np.ndarray, paddings: Sequence[Sequence[int]], pad_value: int) -> np.ndarray:
    """TFLM ``reference_ops::Pad`` (int8): constant padding with ``pad_value`` (PAD: the output
    zero point; PADV2: the given constant), ``paddings`` as [[before, after], ...] per axis."""
    return np.pad(_as_i64(x), [(int(a), int(b)) for a, b in paddings], constant_values=pad_value).astype(
        np.int8
    )


def transpose(x: np.ndarray, perm: Sequence[int]) -> np.ndarray:
    """TFLM ``reference_ops::Transpose``: output axis i is input axis perm[i]."""
    return np.ascontiguousarray(np.transpose(np.asarray(x), perm))


def _q4_params(in_scale: float) -> tuple[int, int, int]:
    """(input_multiplier, input_left_shift, input_range_radius) of TFLM's int8 LOGISTIC and TANH.

    ``frexp((double)s_in * 2^27)`` and ``TfLiteRound(q * 2^31)``, with no 2^31 fix-up (not
    QuantizeMultiplier); radius = CalculateInputRadius(4, shift, 31) =
    ``floor(15 * 2^27 / 2^shift)`` (exact: a power-of-two division).
    """
    real = Fraction(_f32(in_scale)) * 2**27
    shift = math.frexp(float(real))[1]
    m = math.floor(real / Fraction(2) ** shift * 2**31 + Fraction(1, 2))  # q in [0.5, 1): half away
    if not 0 <= shift <= 30 or m > I32_MAX:
        raise ValueError(f"input scale {in_scale} gives ({m}, {shift}), outside picoq's range")
    return m, shift, (15 << 27) >> shift


logistic_params = _q4_params
tanh_params = _q4_params


def one_minus_x_over_one_plus_x_for_x_in_0_1_np(a: object) -> np.ndarray:
    """gemmlowp ``one_minus_x_over_one_plus_x_for_x_in_0_1``: Q0.31 ``a`` -> Q0.31 (1-a)/(1+a).

    Same Newton-Raphson as ``one_over_one_plus_x_for_x_in_0_1_np`` for x = 1/d, d = (1+a)/2 in
    Q2.29; the result is ``x - 1`` (Q2.29) rescaled to Q0.31 with a saturating shift by 2.
    """
    a = _as_i64(a)
    s = a + I32_MAX
    half_denominator = np.where(s >= 0, (s + 1) // 2, -((-s + 1) // 2))
    one_f2 = np.int64(1 << 29)
    x = _add32(np.int64(_F2_48_OVER_17), srdhm_np(half_denominator, _F2_NEG_32_OVER_17))
    for _ in range(3):
        one_minus_dx = _add32(one_f2, -srdhm_np(half_denominator, x))
        x = _add32(x, _sat_shift_left_np(srdhm_np(x, one_minus_dx), 2))
    return _sat_shift_left_np(_add32(x, -one_f2), 2)


def _check_radius_params(input_multiplier: int, input_left_shift: int) -> None:
    if not 0 <= input_left_shift <= 30 or not 0 <= input_multiplier <= I32_MAX:
        raise ValueError(f"bad multiplier/shift ({input_multiplier}, {input_left_shift})")


def logistic(
    x: np.ndarray,
    input_zero_point: int,
    input_range_radius: int,
    input_multiplier: int,
    input_left_shift: int,
) -> np.ndarray:
    """TFLM ``reference_integer_ops::Logistic`` (int8; output scale 1/256, zp -128).

    ``d = x - zp``; ``d <= -radius`` gives -128, ``d >= radius`` 127; otherwise
    ``a = mbqm(d, M, shift)`` (Q4.27) and gemmlowp ``logistic``: for a > 0,
    ``1 / (1 + exp(-a))`` = one_over_one_plus_x(exp_on_negative_values<4>(-a)); for a < 0,
    ``One - that(|a|)``; a == 0 gives 1/2. Then ``rdpot(., 23) - 128``, clamped.
    """
    _check_radius_params(input_multiplier, input_left_shift)
    d = _as_i64(x) - int(input_zero_point)
    inside = (d > -input_range_radius) & (d < input_range_radius)
    a = mbqm_np(np.where(inside, d, 0), input_multiplier, input_left_shift)
    pos = one_over_one_plus_x_for_x_in_0_1_np(exp_on_negative_values_np(-np.abs(a), 4))
    q0 = np.where(a == 0, np.int64(1 << 30), np.where(a > 0, pos, I32_MAX - pos))
    out = np.clip(rdpot_np(q0, 23) - 128, -128, 127)
    out = np.where(d <= -input_range_radius, -128, np.where(d >= input_range_radius, 127, out))
    return out.astype(np.int8)


def tanh(
    x: np.ndarray,
    input_zero_point: int,
    input_range_radius: int,
    input_multiplier: int,
    input_left_shift: int,
) -> np.ndarray:
    """TFLM ``reference_integer_ops::Tanh`` (int8; output scale 1/128, zp 0).

    As ``logistic`` up to the Q4.27 ``a``; gemmlowp ``tanh``: ``t = (1 - e) / (1 + e)`` with
    ``e = exp_on_negative_values<5>(-2|a|)`` (ExactMulByPot<1>: the same raw read as Q5.26),
    negated for a < 0, 0 for a == 0. Then ``rdpot(., 24)`` clamped to int8.
    """
    _check_radius_params(input_multiplier, input_left_shift)
    d = _as_i64(x) - int(input_zero_point)
    inside = (d > -input_range_radius) & (d < input_range_radius)
    a = mbqm_np(np.where(inside, d, 0), input_multiplier, input_left_shift)
    t = one_minus_x_over_one_plus_x_for_x_in_0_1_np(exp_on_negative_values_np(-np.abs(a), 5))
    q0 = np.where(a == 0, 0, np.where(a < 0, -t, t))
    out = np.clip(rdpot_np(q0, 24), -128, 127)
    out = np.where(d <= -input_range_radius, -128, np.where(d >= input_range_radius, 127, out))
    return out.astype(np.int8)


def _wrap16(a: np.ndarray) -> np.ndarray:
    return ((a + 32768) & 0xFFFF) - 32768


def _srdhm16(a: np.ndarray, b: object) -> np.ndarray:
    """gemmlowp SaturatingRoundingDoublingHighMul<int16>: (a*b + nudge) / 2^15 truncated,
    nudge 2^14 (or 1 - 2^14 for a negative product); (-32768)^2 saturates to 32767."""
    a, b = _as_i64(a), _as_i64(b)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 14, 1 - (1 << 14))
    t = ab + nudge
    q = np.where(t >= 0, t >> 15, -((-t) >> 15))  # C division truncates toward zero
    return np.where((a == -32768) & (b == -32768), 32767, q)


def _sdhm16(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """reference_ops::SaturatingDoublingHighMul (int16): a*b / 2^15 truncated toward zero."""
    ab = _as_i64(a) * _as_i64(b)
    q = np.where(ab >= 0, ab >> 15, -((-ab) >> 15))
    return np.where((a == -32768) & (b == -32768), 32767, q)


def _sat_shl16(a: np.ndarray, amount: int) -> np.ndarray:
    return np.clip(_as_i64(a) * (1 << amount), -32768, 32767)


def _rdpot16(x: np.ndarray, exponent: int) -> np.ndarray:
    if not 0 <= exponent <= 15:
        raise ValueError(f"int16 rdpot exponent {exponent} outside [0, 15]")
    return rdpot_np(x, exponent)


def _downscale_to_int16(m: int) -> int:
    """TFLite DownScaleInt32ToInt16Multiplier: ``(m + 2^15) >> 16``, saturating at 32767."""
    if m >= I32_MAX - (1 << 15):
        return 32767
    return (m + (1 << 15)) >> 16


def hard_swish_params(in_scale: float, in_zp: int, out_scale: float, out_zp: int) -> dict[str, int]:
    """HardSwishPrepare (TFLM hard_swish_common.cc): QuantizeMultiplier, then
    DownScaleInt32ToInt16Multiplier (``(m + 2^15) >> 16``).

    ``hires = s_in / 128`` (exact); output multiplier ``hires / s_out``, reluish multiplier
    ``hires / (3/32768)``, divided in double. Older TFLM sources divide in float32 and widen; the
    ``tflite_micro`` package picoq is checked against divides in double (measured:
    ``test_hard_swish_output_multiplier_is_divided_in_double``). For the reluish multiplier the
    two never gave a different int16 multiplier in 2 million random scales.
    """
    hires = _f32(in_scale) / 128.0
    m_out, e_out = quantize_multiplier(hires / _f32(out_scale))
    m_rel, e_rel = quantize_multiplier(hires / (3.0 / 32768.0))
    if e_out > 0:
        raise ValueError("TFLM ENSUREs output_multiplier_exponent <= 0")
    return {
        "input_offset": -int(in_zp),
        "output_offset": int(out_zp),
        "reluish_multiplier": _downscale_to_int16(m_rel),
        "reluish_shift": e_rel,
        "output_multiplier": _downscale_to_int16(m_out),
        "output_shift": e_out,
    }


def hard_swish(x: np.ndarray, params: dict[str, int]) -> np.ndarray:
    """TFLite ``reference_ops::HardSwish`` (quantized int8), all in int16 fixed point.

    ``v = x - zp_in``, ``hires = v * 2^7``; ``pre = srdhm16(hires, out_mult)``; the "reluish"
    value rescales hires so +-3.0 maps to +-32768 (saturating left shift by e-1, srdhm16, the last
    saturating shift by 1; or a rounding right shift for e < 0), then ``(r + 2^15) >> 1`` in
    [0, 1]; ``out = rdpot16(sdhm16(r, pre), -out_shift)``, ``+ zp_out`` in int16 (wrapping), then
    clamped to int8.
    """
    p = {k: int(v) for k, v in params.items()}
    v = _as_i64(x) + p["input_offset"]
    hires = v * (1 << 7)
    pre = _srdhm16(hires, p["output_multiplier"])
    r = hires
    e = p["reluish_shift"]
    if e > 0:
        r = _sat_shl16(r, e - 1)
    r = _srdhm16(r, p["reluish_multiplier"])
    if e > 0:
        r = _sat_shl16(r, 1)
    if e < 0:
        r = _rdpot16(r, -e)
    r = (r + (1 << 15)) >> 1
    out = _rdpot16(_sdhm16(r, pre), -p["output_shift"])
    out = _wrap16(out + p["output_offset"])
    return np.clip(out, -128, 127).astype(np.int8)


def leaky_relu_params(
    in_scale: float, in_zp: int, alpha: float, out_scale: float, out_zp: int
) -> dict[str, int]:
    """CalculateOpDataLeakyRelu (TFLM leaky_relu_common.cc): QuantizeMultiplier of
    ``s_in * alpha / s_out`` and ``s_in / s_out`` on the float32 values, in double.

    Older TFLM sources compute both in float32 and then widen (``static_cast<double>(in_s * alpha
    / out_s)``); the ``tflite_micro`` package picoq is checked against computes in double (measured:
    alpha 1.5, in_s 0.0265, out_s 0.0257 gives multiplier 1089532086, not the float32 1089532160,
    and 20 output bytes differ). A negative alpha gives a negative multiplier, which TFLM's
    double-rounding multiply accepts.
    """
    ma, sa = quantize_multiplier(_f32(in_scale) * _f32(alpha) / _f32(out_scale))
    mi, si = quantize_multiplier(_f32(in_scale) / _f32(out_scale))
    return {
        "input_offset": -int(in_zp),
        "output_offset": int(out_zp),
        "identity_multiplier": mi,
        "identity_shift": si,
        "alpha_multiplier": ma,
        "alpha_shift": sa,
    }


def prelu_params(
    in_scale: float, in_zp: int, alpha_scale: float, alpha_zp: int, out_scale: float, out_zp: int
) -> dict[str, int]:
    """CalculatePreluParams (TFLM prelu_common.cc): QuantizeMultiplier of ``s_in / s_out`` and of
    ``s_in * s_alpha / s_out`` on the float32 scales, in double."""
    mi, si = quantize_multiplier(_f32(in_scale) / _f32(out_scale))
    ma, sa = quantize_multiplier(_f32(in_scale) * _f32(alpha_scale) / _f32(out_scale))
    return {
        "input_offset": -int(in_zp),
        "alpha_offset": -int(alpha_zp),
        "output_offset": int(out_zp),
        "identity_multiplier": mi,
        "identity_shift": si,
        "alpha_multiplier": ma,
        "alpha_shift": sa,
    }


def prelu(x: np.ndarray, alpha: np.ndarray, params: dict[str, int]) -> np.ndarray:
    """TFLite ``reference_ops::BroadcastPrelu4DSlow`` (int8): ``v = x - zp_in``,
    ``a = alpha - zp_alpha`` (numpy broadcast); ``zp_out + mbqm(v, identity)`` for v >= 0,
    ``zp_out + mbqm(v * a, alpha)`` otherwise; clamped."""
    p = {k: int(v) for k, v in params.items()}
    v = _as_i64(x) + p["input_offset"]
    a = np.broadcast_to(_as_i64(alpha) + p["alpha_offset"], v.shape)
    pos = mbqm_np(v, p["identity_multiplier"], p["identity_shift"])
    neg = mbqm_np(v * a, p["alpha_multiplier"], p["alpha_shift"])
    return np.clip(np.where(v >= 0, pos, neg) + p["output_offset"], -128, 127).astype(np.int8)


def leaky_relu(x: np.ndarray, params: dict[str, int]) -> np.ndarray:
    """TFLite ``reference_ops::QuantizeLeakyRelu`` (int8): ``v = x - zp_in``;
    ``zp_out + mbqm(v, identity)`` for v >= 0, ``zp_out + mbqm(v, alpha)`` otherwise; clamped."""
    p = {k: int(v) for k, v in params.items()}
    v = _as_i64(x) + p["input_offset"]
    pos = mbqm_np(v, p["identity_multiplier"], p["identity_shift"])
    neg = mbqm_np(v, p["alpha_multiplier"], p["alpha_shift"])
    out = np.where(v >= 0, pos, neg) + p["output_offset"]
    return np.clip(out, -128, 127).astype(np.int8)


def resize_nearest(
    x: np.ndarray, out_h: int, out_w: int, align_corners: bool, half_pixel: bool
) -> np.ndarray:
    """TFLite ``reference_ops::ResizeNearestNeighbor`` (NHWC): each output pixel copies the input
    pixel GetNearestNeighbor names, computed per coordinate in float32 scalars as TFLite does."""

    def nearest(v: int, in_size: int, out_size: int) -> int:
        if align_corners and out_size > 1:
            scale = np.float32(in_size - 1) / np.float32(out_size - 1)
        else:
            scale = np.float32(in_size) / np.float32(out_size)
        pos = (np.float32(v) + np.float32(0.5 if half_pixel else 0.0)) * scale
        k = (
            int(np.sign(pos) * np.floor(np.abs(pos) + np.float32(0.5)))
            if align_corners
            else int(np.floor(pos))
        )
        k = min(k, in_size - 1)
        return max(k, 0) if half_pixel else k

    rows = [nearest(v, x.shape[1], out_h) for v in range(out_h)]
    cols = [nearest(v, x.shape[2], out_w) for v in range(out_w)]
    return x[:, rows][:, :, cols]


# --- ops14: RESIZE_BILINEAR, TRANSPOSE_CONV ---


def _c_div(a: int, b: int) -> int:
    """C's integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def resize_bilinear(
    x: np.ndarray, out_h: int, out_w: int, align_corners: bool, half_pixel: bool
) -> np.ndarray:
    """TFLite ``reference_ops::ResizeBilinearInteger`` (NHWC, int8), pixel by pixel with Python
    integers and C's division, built without TFLITE_SINGLE_ROUNDING as tflite-micro's package is."""
    n, in_h, in_w, depth = x.shape

    def scale10(in_size: int, out_size: int) -> int:
        if align_corners and out_size > 1:
            return _c_div((1 << 10) * (in_size - 1) + _c_div(out_size - 1, 2), out_size - 1)
        return _c_div((1 << 10) * in_size + _c_div(out_size, 2), out_size)

    def interp(v: int, scale: int, in_size: int) -> tuple[int, int, int]:
        pos = v * scale + _c_div(scale, 2) - (1 << 9) if half_pixel else v * scale
        return pos, max(_c_div(pos, 1 << 10), 0), min(_c_div(pos + (1 << 10) - 1, 1 << 10), in_size - 1)

    sh, sw = scale10(in_h, out_h), scale10(in_w, out_w)
    out = np.zeros((n, out_h, out_w, depth), np.int8)
    xi = x.astype(np.int64)
    for yy in range(out_h):
        iy, y0, y1 = interp(yy, sh, in_h)
        for xx in range(out_w):
            ix, x0, x1 = interp(xx, sw, in_w)
            dy, dx = iy - (1 << 10) * y0, ix - (1 << 10) * x0
            s = (
                xi[:, y0, x0] * ((1 << 10) - dy) * ((1 << 10) - dx)
                + xi[:, y1, x0] * dy * ((1 << 10) - dx)
                + xi[:, y0, x1] * ((1 << 10) - dy) * dx
                + xi[:, y1, x1] * dy * dx
            )
            for b in range(n):
                for c in range(depth):
                    v = int(s[b, c])
                    out[b, yy, xx, c] = _c_div(v + ((1 << 19) if v > 0 else -(1 << 19)), 1 << 20)
    return out


def transpose_conv_padding(out_size: int, kernel: int, stride: int, padding: str) -> int:
    """TFLM's TRANSPOSE_CONV padding: ComputePaddingHeightWidth with the *output* as the
    window's input (transpose_conv.cc CalculateOpData), its odd offset dropped."""
    n = (out_size + stride - 1) // stride if padding == "SAME" else (out_size + stride - kernel) // stride
    return max((n - 1) * stride + kernel - out_size, 0) // 2


def transpose_conv(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    mult: object,
    shift: object,
    stride: tuple[int, int],
    pad: tuple[int, int],
    out_hw: tuple[int, int],
    input_offset: int = 0,
    output_offset: int = 0,
    act_min: int = -128,
    act_max: int = 127,
    *,
    return_acc: bool = False,
) -> np.ndarray:
    """TFLM ``reference_integer_ops::TransposeConv`` (int8): every input pixel scattered into an
    int32 image of the output (x [N,H,W,Cin], w [Cout,kh,kw,Cin]), then bias and requantization."""
    n, h, wd, _ = x.shape
    cout, kh, kw, _ = w.shape
    oh, ow = out_hw
    acc = np.zeros((n, oh, ow, cout), np.int64)
    xv = x.astype(np.int64) + input_offset
    wv = w.astype(np.int64)
    for iy in range(h):
        for ix in range(wd):
            for fy in range(kh):
                oy = iy * stride[0] - pad[0] + fy
                for fx in range(kw):
                    ox = ix * stride[1] - pad[1] + fx
                    if 0 <= oy < oh and 0 <= ox < ow:
                        acc[:, oy, ox, :] += xv[:, iy, ix, :] @ wv[:, fy, fx, :].T
    if bias is not None:
        acc += bias.astype(np.int64)
    acc = ((acc + 2**31) % 2**32 - 2**31).astype(np.int64)  # TFLM's int32 scratch
    if return_acc:
        return acc
    out = mbqm_np(acc, np.broadcast_to(mult, (cout,)), np.broadcast_to(shift, (cout,))) + output_offset
    return np.clip(out, act_min, act_max).astype(np.int8)
