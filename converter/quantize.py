"""Float scales -> the integer parameters the kernels use, computed exactly as TFLite Micro does.

Every function here runs offline (in the converter); the kernels only ever see
the int32 multipliers, shifts, offsets and clamps produced here. Rounding
follows TFLite: round half away from zero (std::round), not Python's
half-to-even.
"""

from __future__ import annotations

import math

import numpy as np

INT8_MIN, INT8_MAX = -128, 127


def round_half_away(x: float) -> int:
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def quantize_multiplier(real: float, max_shift: int = 30) -> tuple[int, int]:
    """tflite::QuantizeMultiplier: real = m * 2^(shift - 31), m a Q31 int32 in [2^30, 2^31).

    Kernels apply shift with pq_mbqm, which takes shifts up to 30; softmax applies its own
    left shift and, like TFLM's double-rounding build, accepts 31 (max_shift=31).
    """
    if real == 0.0:
        return 0, 0
    if not math.isfinite(real) or real < 0:
        raise ValueError(f"multiplier must be finite and >= 0, got {real}")
    q, shift = math.frexp(real)
    q_fixed = round_half_away(q * (1 << 31))  # exact: scaling a double by 2^31
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > max_shift:
        raise ValueError(f"multiplier {real} is too large for a Q31 multiplier with shift <= {max_shift}")
    return q_fixed, shift


def quantize_multiplier_greater_than_one(real: float) -> tuple[int, int]:
    """tflite::QuantizeMultiplierGreaterThanOne: returns (m, left_shift >= 0)."""
    if real <= 1.0:
        raise ValueError(f"multiplier must be > 1, got {real}")
    return quantize_multiplier(real, max_shift=31)


def conv_multipliers(
    in_scale: float, w_scales: np.ndarray, out_scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (or per-tensor, broadcast) conv/depthwise/per-channel FC: all in double."""
    pairs = [
        quantize_multiplier(float(np.float32(in_scale)) * float(ws) / float(np.float32(out_scale)))
        for ws in np.asarray(w_scales, np.float32)
    ]
    return np.array([p[0] for p in pairs], np.int32), np.array([p[1] for p in pairs], np.int32)


def shift_dtype(filter_dtype: str) -> type:
    """The dtype of a conv/FC's shift array: int8 beside an int4 filter (the s4 contracts), whose
    point is flash; int32 otherwise. Shifts are in [-31, 30] either way."""
    return np.int8 if filter_dtype == "int4" else np.int32


def quantize_value(f: float, scale: float, zero_point: int) -> int:
    """zp + TfLiteRound(f / scale), with the division in float32 as TFLite does it."""
    return zero_point + round_half_away(float(np.float32(f) / np.float32(scale)))


def activation_range(activation: str, scale: float, zero_point: int, dtype: str = "int8") -> tuple[int, int]:
    """CalculateActivationRangeQuantized for int8 (or int16) outputs."""
    lo, hi = (INT8_MIN, INT8_MAX) if dtype == "int8" else (-32768, 32767)
    if activation == "NONE":
        return lo, hi
    if activation == "RELU":
        return max(lo, quantize_value(0.0, scale, zero_point)), hi
    if activation == "RELU6":
        return max(lo, quantize_value(0.0, scale, zero_point)), min(
            hi, quantize_value(6.0, scale, zero_point)
        )
    if activation == "RELU_N1_TO_1":
        return max(lo, quantize_value(-1.0, scale, zero_point)), min(
            hi, quantize_value(1.0, scale, zero_point)
        )
    raise ValueError(f"unsupported fused activation {activation}")


def add_params(
    s1: float, zp1: int, s2: float, zp2: int, s_out: float, zp_out: int, dtype: str = "int8"
) -> dict[str, int]:
    """ADD (add_common.cc): both inputs rescaled to 2*max(s1, s2) with 20 bits of headroom for
    int8, 15 for int16 (16x8: a full-range int16 value << 15 still fits int32)."""
    left_shift = 15 if dtype == "int16" else 20
    twice_max = 2.0 * float(max(np.float32(s1), np.float32(s2)))
    m1, sh1 = quantize_multiplier(float(np.float32(s1)) / twice_max)
    m2, sh2 = quantize_multiplier(float(np.float32(s2)) / twice_max)
    mo, sho = quantize_multiplier(twice_max / ((1 << left_shift) * float(np.float32(s_out))))
    return {
        "input1_offset": -zp1,
        "input2_offset": -zp2,
        "output_offset": zp_out,
        "left_shift": left_shift,
        "input1_multiplier": m1,
        "input1_shift": sh1,
        "input2_multiplier": m2,
        "input2_shift": sh2,
        "output_multiplier": mo,
        "output_shift": sho,
    }


def softmax_params(beta: float, in_scale: float) -> dict[str, int]:
    """PreprocessSoftmaxScaling + CalculateInputRadius with 5 integer bits (softmax_common.cc)."""
    integer_bits = 5
    real = min(
        float(beta) * float(np.float32(in_scale)) * float(1 << (31 - integer_bits)), float((1 << 31) - 1)
    )
    m, left_shift = quantize_multiplier_greater_than_one(real)
    max_input_rescaled = (
        1.0 * ((1 << integer_bits) - 1) * float(1 << (31 - integer_bits)) / float(1 << left_shift)
    )
    radius = math.floor(max_input_rescaled)
    return {"input_multiplier": m, "input_left_shift": left_shift, "diff_min": -radius}


def same_padding(in_size: int, k: int, stride: int, dilation: int) -> tuple[int, int]:
    """(out, pad_before) of TFLite's SAME padding (ComputePaddingWithOffset)."""
    eff = (k - 1) * dilation + 1
    out = (in_size + stride - 1) // stride
    total = max((out - 1) * stride + eff - in_size, 0)
    return out, total // 2


def valid_out(in_size: int, k: int, stride: int, dilation: int) -> int:
    eff = (k - 1) * dilation + 1
    return (in_size + stride - eff) // stride


# *** op codes 8..17: parameters as TFLite Micro's Prepare computes them ***
#
# Each returns the params dict of the op's record (docs/FORMAT.md) except fused-activation
# clamps, and raises ValueError for scales whose integer parameters picoq refuses (the
# ranges the validator's op contracts enforce so no kernel can overflow int32).


def _f32(v: float) -> float:
    """The value of a float32 scale as a double (TFLite stores scales as float32)."""
    return float(np.float32(v))


def _signed_multiplier(real: float, max_shift: int) -> tuple[int, int]:
    """tflite::QuantizeMultiplier for any sign: a negative real gives a multiplier in
    [-2^31, -2^30] (TFLite's 2^31 fix-up only ever fires on the positive side)."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    m = round_half_away(q * (1 << 31))
    if m == 1 << 31:
        m //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > max_shift:
        raise ValueError(f"multiplier {real} needs a shift above {max_shift}")
    return m, shift


def mul_params(
    s1: float, zp1: int, s2: float, zp2: int, s_out: float, zp_out: int, dtype: str = "int8"
) -> dict[str, int]:
    """MUL (mul_common.cc CalculateOpDataMul): QuantizeMultiplier((double)s1*s2/s_out).

    picoq caps the shift at 14: the product of two offset int8 values is at most 2^16; at 0 for
    int16 (16x8), whose product of two values reaches 2^30 already.
    """
    m, shift = quantize_multiplier(_f32(s1) * _f32(s2) / _f32(s_out), max_shift=0 if dtype == "int16" else 14)
    return {
        "input1_offset": -int(zp1),
        "input2_offset": -int(zp2),
        "output_offset": int(zp_out),
        "output_multiplier": m,
        "output_shift": shift,
    }


def batch_matmul_params(
    s_lhs: float, zp_lhs: int, s_rhs: float, zp_rhs: int, s_out: float, zp_out: int
) -> dict[str, int]:
    """BATCH_MATMUL int8 (batch_matmul.cc Prepare): QuantizeMultiplier of
    GetQuantizedConvolutionMultipler's (double)s_lhs * (double)s_rhs / s_out; no fused
    activation (the kernel clamps to int8). adj_x / adj_y are the caller's."""
    m, shift = quantize_multiplier(_f32(s_lhs) * _f32(s_rhs) / _f32(s_out))
    return {
        "lhs_offset": -int(zp_lhs),
        "rhs_offset": -int(zp_rhs),
        "output_offset": int(zp_out),
        "output_multiplier": m,
        "output_shift": shift,
    }


def window_params(
    strides: tuple[int, int] = (1, 1), pads: tuple[int, int] = (0, 0), dil: tuple[int, int] = (1, 1)
) -> dict[str, int]:
    """The window geometry of CONV_2D, DEPTHWISE_CONV_2D and TRANSPOSE_CONV params: strides,
    dilations and the padding before (top, left)."""
    return {
        "stride_h": int(strides[0]),
        "stride_w": int(strides[1]),
        "dilation_h": int(dil[0]),
        "dilation_w": int(dil[1]),
        "pad_h": int(pads[0]),
        "pad_w": int(pads[1]),
    }


def mean_params(
    in_scale: float, in_zp: int, out_scale: float, out_zp: int, count: int, dtype: str = "int8"
) -> dict[str, int]:
    """MEAN over `count` values: reduce_common.cc Prepare, QuantizeMultiplier((double)s_in/s_out),
    then reduce.h QuantizedMeanOrSum folds 1/count in at Eval, which picoq does here:
    k = min(floor(log2 count), 32, 31 + shift); M' = (M << k) // count; shift' = shift - k.
    (axis_mask and keep_dims are the caller's.)"""
    if count < 1:
        raise ValueError("mean over zero elements")
    m, shift = quantize_multiplier(_f32(in_scale) / _f32(out_scale))
    k = min(count.bit_length() - 1, 32, 31 + shift)
    m, shift = (m << k) // count, shift - k
    levels = 65536 if dtype == "int16" else 256  # |sum| <= levels * count
    if (levels * count) << max(shift, 0) >= 1 << 31:
        raise ValueError(
            f"mean of {count} values with output/input scale ratio {out_scale / in_scale} overflows"
        )
    return {"input_offset": -int(in_zp), "output_offset": int(out_zp), "multiplier": m, "shift": shift}


def mean_params_once(
    in_scale: float, in_zp: int, out_scale: float, out_zp: int, count: int, dtype: str = "int8"
) -> dict[str, int]:
    """MEAN's parameters for a model picoq quantizes itself (an ONNX one): the kernel's own
    arithmetic, MBQM of the sum, with the multiplier s_in / (s_out * count) held unnormalised at
    shift 0 when it is below 1 (the kernel takes any multiplier >= 0). TFLM's fold (mean_params)
    leaves a right shift of a bit or two after the rounding doubling high multiply when the
    scales are close: two roundings, the first at only 2-4 times the output's resolution, which
    added a quarter to the pooled features' rounding noise (ResNet-18: -0.4 dB against
    onnxruntime at its global average pool, the layers before it within 0.1 dB). At shift 0 the
    sum is rounded once. A multiplier below 2^23 (a mean of thousands of values onto a finer
    scale) keeps TFLM's form, whose relative precision is then the better one."""
    params = mean_params(in_scale, in_zp, out_scale, out_zp, count, dtype)  # and its overflow check
    real = _f32(in_scale) / _f32(out_scale) / count
    m = round_half_away(real * (1 << 31)) if real < 1.0 else 0
    if (1 << 23) <= m < (1 << 31) and params["shift"] <= 0:  # the sum alone fits int32 already
        params.update(multiplier=int(m), shift=0)
    return params


def concat_requant_row(in_scale: float, in_zp: int, out_scale: float) -> tuple[int, int, int]:
    """One CONCATENATION input's (multiplier, shift, input_offset):
    QuantizeMultiplier((double)s_in / (double)s_out), shift capped at 22 (|x - zp| <= 255).
    Equal scales give (2^30, 1): an exact copy up to the zero-point change."""
    m, shift = quantize_multiplier(_f32(in_scale) / _f32(out_scale), max_shift=22)
    return m, shift, -int(in_zp)


def logistic_params(in_scale: float, in_zp: int) -> dict[str, int]:
    """LOGISTIC and TANH int8 (logistic_common.cc, tanh.cc): frexp((double)s_in * 2^27), then
    multiplier = TfLiteRound(q * 2^31) without QuantizeMultiplier's 2^31 fix-up, and
    radius = CalculateInputRadius(4, shift, 31) = floor(15 * 2^27 / 2^shift)."""
    q, shift = math.frexp(_f32(in_scale) * float(1 << 27))  # exact: scaling by a power of two
    m = round_half_away(q * (1 << 31))
    if m >= 1 << 31 or not 0 <= shift <= 30:
        raise ValueError(f"input scale {in_scale} is outside what int8 LOGISTIC/TANH support")
    return {
        "input_offset": -int(in_zp),
        "input_range_radius": (15 << 27) >> shift,
        "input_multiplier": m,
        "input_left_shift": shift,
    }


def _downscale_int16(m: int) -> int:
    """DownScaleInt32ToInt16Multiplier: round a Q31 multiplier to Q15, saturating at 32767."""
    return 32767 if m >= 0x7FFFFFFF - (1 << 15) else (m + (1 << 15)) >> 16


def hard_swish_params(in_scale: float, in_zp: int, out_scale: float, out_zp: int) -> dict[str, int]:
    """HARD_SWISH (hard_swish_common.cc): hires = s_in / 128; QuantizeMultiplier of
    hires / s_out and of hires / (3/32768), in double (what tflite-micro computes, measured),
    each cut to an int16 multiplier by DownScaleInt32ToInt16Multiplier."""
    hires = _f32(in_scale) / 128.0
    m_out, e_out = quantize_multiplier(hires / _f32(out_scale))
    m_rel, e_rel = quantize_multiplier(hires / (3.0 / 32768.0))
    if not -15 <= e_out <= 0 or not -15 <= e_rel <= 30:
        raise ValueError(f"HARD_SWISH scales {in_scale} -> {out_scale} are outside what picoq supports")
    return {
        "input_offset": -int(in_zp),
        "output_offset": int(out_zp),
        "reluish_multiplier": _downscale_int16(m_rel),
        "reluish_shift": e_rel,
        "output_multiplier": _downscale_int16(m_out),
        "output_shift": e_out,
    }


def prelu_params(
    in_scale: float, in_zp: int, alpha_scale: float, alpha_zp: int, out_scale: float, out_zp: int
) -> dict[str, int]:
    """PRELU (prelu_common.cc CalculatePreluParams): QuantizeMultiplier of s_in/s_out (identity)
    and of s_in*s_alpha/s_out (alpha), in double; shifts capped at 22 (|x - zp| <= 255) and 14
    (|(x - zp) * (alpha - alpha_zp)| <= 255^2)."""
    mi, si = quantize_multiplier(_f32(in_scale) / _f32(out_scale), max_shift=22)
    ma, sa = quantize_multiplier(_f32(in_scale) * _f32(alpha_scale) / _f32(out_scale), max_shift=14)
    return {
        "input_offset": -int(in_zp),
        "alpha_offset": -int(alpha_zp),
        "output_offset": int(out_zp),
        "identity_multiplier": mi,
        "identity_shift": si,
        "alpha_multiplier": ma,
        "alpha_shift": sa,
    }


def leaky_relu_params(
    in_scale: float, in_zp: int, alpha: float, out_scale: float, out_zp: int
) -> dict[str, int]:
    """LEAKY_RELU (leaky_relu_common.cc): QuantizeMultiplier of s_in/s_out (identity) and of
    s_in*alpha/s_out (alpha; negative for a negative alpha), in double (what tflite-micro
    computes, measured); shifts capped at 22 (|x - zp| <= 255)."""
    mi, si = quantize_multiplier(_f32(in_scale) / _f32(out_scale), max_shift=22)
    ma, sa = _signed_multiplier(_f32(in_scale) * _f32(alpha) / _f32(out_scale), max_shift=22)
    return {
        "input_offset": -int(in_zp),
        "output_offset": int(out_zp),
        "identity_multiplier": mi,
        "identity_shift": si,
        "alpha_multiplier": ma,
        "alpha_shift": sa,
    }


LAYER_NORM_MAX_ROW = 1 << 15  # PQ_LAYER_NORM_MAX_ROW: the kernel's int64 bounds hold up to it


def layer_norm_params(
    in_scale: float, out_scale: float, out_zp: int, gamma: np.ndarray, beta: np.ndarray, eps: float
) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """LAYER_NORM's params and its int32 gamma and beta (picoq's own op, docs/FORMAT.md
    "LAYER_NORM arithmetic") for rows of n = gamma.size values.

    The kernel's normalised value is z = (x - mean) / sqrt(var + eps) of the int8 values, so
    y = zp + (gamma / s_out) * z + beta / s_out. gamma and beta go in output LSBs * 2^shift, the
    largest shift <= 31 that keeps both in int32, rounded to nearest; beta first clamped to
    +-(|gamma / s_out| * sqrt(n) + 256) LSBs, beyond which the output saturates anyway
    (|z| < sqrt(n)), so a huge beta cannot cost gamma its precision. eps, in the kernel's
    variance units (n^2 * 2^16 per input LSB^2), is eps_multiplier * 2^eps_shift: the nearest
    integer below 2^31, else the nearest multiple of the least power of 2 that fits."""
    n = gamma.size
    if not 0 <= eps < math.inf:
        raise ValueError(f"epsilon {eps} is not a non-negative number (LAYER_NORM)")
    if not 1 <= n <= LAYER_NORM_MAX_ROW:
        raise ValueError(f"rows of {n} values (LAYER_NORM normalises at most {LAYER_NORM_MAX_ROW})")
    g = gamma.astype(np.float64).reshape(-1) / out_scale
    reach = np.abs(g) * np.sqrt(n) + 256.0
    b = np.clip(beta.astype(np.float64).reshape(-1) / out_scale, -reach, reach)
    top = float(max(np.abs(g).max(), np.abs(b).max()))
    shift = 31 if top == 0 else min(31, math.floor(math.log2((2**31 - 1) / top)))
    while top * 2.0**shift >= 2**31 - 0.5:  # log2's rounding
        shift -= 1
    if shift < 0:
        raise ValueError(f"gamma or beta of {top:.3g} output LSBs does not fit LAYER_NORM's int32 constants")
    eps_units = n * n * float(eps) / (float(in_scale) ** 2) * 2.0**16
    eps_shift = 0
    while round(eps_units / 2.0**eps_shift) > 2**31 - 1:
        eps_shift += 1
    if eps_shift > 29:
        raise ValueError(f"epsilon {eps} is too large for the input scale {in_scale} (LAYER_NORM)")
    params = {
        "output_offset": int(out_zp),
        "shift": shift,
        "eps_multiplier": int(round(eps_units / 2.0**eps_shift)),
        "eps_shift": eps_shift,
    }
    gamma_q, beta_q = (np.round(v * 2.0**shift).astype(np.int32) for v in (g, b))
    return params, gamma_q, beta_q
