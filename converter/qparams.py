"""Float ranges and float weights -> int8 quantization parameters (the TFLite int8 spec).

Activations: asymmetric int8, per tensor, with the range widened to hold 0.0 and the
zero point an integer, so 0.0 is exactly representable. Weights: symmetric int8 in
[-127, 127], zero point 0, per output channel (or one scale). Biases: int32 at scale
input_scale * weight_scale[c]. Scales are float32 values, as the file stores them.
"""

from __future__ import annotations

import numpy as np

MIN_SCALE = 1e-30  # a normal float32: the .picoq reader refuses subnormal scales


def round_half_away(x: np.ndarray) -> np.ndarray:
    """TFLite's rounding (std::round): ties away from zero."""
    x = np.asarray(x, np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def activation_qparams(lo: float, hi: float) -> tuple[float, int]:
    """(scale, zero_point) covering [lo, hi] widened to include 0, with 0.0 exact."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"activation range [{lo}, {hi}] is not finite")
    if hi - lo < 1e-12:  # a constant-zero tensor: any scale represents it; pick [0, 1]
        hi = 1.0
    scale = float(np.float32((hi - lo) / 255.0))
    scale = max(scale, MIN_SCALE)
    zp = int(round_half_away(-128.0 - lo / scale))
    return scale, int(np.clip(zp, -128, 127))


def quantize_activation(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    q = round_half_away(np.asarray(x, np.float64) / np.float32(scale)) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


def const_qparams(c: np.ndarray) -> tuple[float, int]:
    """A constant used as an int8 activation operand: its own exact range."""
    c = np.asarray(c, np.float64)
    return activation_qparams(float(c.min(initial=0.0)), float(c.max(initial=0.0)))


def weight_scales(w: np.ndarray, axis: int | None) -> np.ndarray:
    """Symmetric scales max|w|/127 along `axis` (None: one scale for the tensor)."""
    a = np.abs(np.asarray(w, np.float64))
    if axis is None:
        m = np.array([a.max(initial=0.0)])
    else:
        m = np.moveaxis(a, axis, 0).reshape(a.shape[axis], -1).max(axis=1, initial=0.0)
    s = np.where(m > 0, m / 127.0, 1.0)
    return np.maximum(s, MIN_SCALE).astype(np.float32)


def quantize_weights(w: np.ndarray, scales: np.ndarray, axis: int | None) -> np.ndarray:
    w = np.asarray(w, np.float64)
    shape = [1] * w.ndim
    if axis is not None and scales.size > 1:
        shape[axis] = -1
    q = round_half_away(w / scales.astype(np.float64).reshape(shape))
    return np.clip(q, -127, 127).astype(np.int8)


def quantize_bias(b: np.ndarray, in_scale: float, w_scales: np.ndarray) -> np.ndarray:
    s = np.float64(np.float32(in_scale)) * w_scales.astype(np.float64)
    q = round_half_away(np.asarray(b, np.float64) / s)
    return np.clip(q, -(2**31), 2**31 - 1).astype(np.int32)


def clamp_range(clamp: tuple[float, float] | None, scale: float, zero_point: int) -> tuple[int, int]:
    """act_min/act_max of a fused clamp, as TFLite's CalculateActivationRangeQuantized does for
    ReLU/ReLU6 (zp + round(v / scale)), for any [lo, hi]."""
    if clamp is None:
        return -128, 127
    lo, hi = clamp

    def level(v: float, unbounded: int) -> int:
        if not np.isfinite(v):
            return unbounded
        with np.errstate(over="ignore"):
            r = np.float32(v) / np.float32(scale)
        if not np.isfinite(r):  # a bound far outside the int8 range (a tiny scale): saturate
            return 127 if r > 0 else -128
        return zero_point + int(round_half_away(r))

    qlo, qhi = level(lo, -128), level(hi, 127)
    qlo, qhi = max(-128, min(127, qlo)), max(-128, min(127, qhi))
    return qlo, max(qlo, qhi)
