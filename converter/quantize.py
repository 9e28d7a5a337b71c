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


def quantize_value(f: float, scale: float, zero_point: int) -> int:
    """zp + TfLiteRound(f / scale), with the division in float32 as TFLite does it."""
    return zero_point + round_half_away(float(np.float32(f) / np.float32(scale)))


def activation_range(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for int8 outputs."""
    lo, hi = INT8_MIN, INT8_MAX
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


def add_params(s1: float, zp1: int, s2: float, zp2: int, s_out: float, zp_out: int) -> dict[str, int]:
    """int8 ADD (add_common.cc): both inputs rescaled to 2*max(s1, s2) with 20 bits of headroom."""
    left_shift = 20
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
