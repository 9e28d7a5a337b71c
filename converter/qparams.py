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


INT_RANGE = {"int8": (-128, 127), "int16": (-32768, 32767)}


def activation_qparams(lo: float, hi: float, dtype: str = "int8") -> tuple[float, int]:
    """(scale, zero_point) covering [lo, hi] widened to include 0, with 0.0 exact: asymmetric
    int8, or symmetric int16 with zero point 0 (TFLite's 16x8 scheme)."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"activation range [{lo}, {hi}] is not finite")
    if not hi - lo > 255.0 * MIN_SCALE:  # a constant-zero tensor: any scale represents it; pick [0, 1]
        # (an absolute floor such as 1e-12 would take the real signal of a network whose
        # activations shrink layer after layer, e.g. a randomly initialised EfficientNet at
        # 1e-14, for a constant, and zero it)
        hi = 1.0
    if dtype == "int16":
        return max(float(np.float32(max(-lo, hi) / 32767.0)), MIN_SCALE), 0
    scale = float(np.float32((hi - lo) / 255.0))
    scale = max(scale, MIN_SCALE)
    zp = int(round_half_away(-128.0 - lo / scale))
    return scale, int(np.clip(zp, -128, 127))


def quantize_activation(x: np.ndarray, scale: float, zero_point: int, dtype: str = "int8") -> np.ndarray:
    q = round_half_away(np.asarray(x, np.float64) / np.float32(scale)) + zero_point
    return np.clip(q, *INT_RANGE[dtype]).astype(dtype)


def const_qparams(c: np.ndarray, dtype: str = "int8") -> tuple[float, int]:
    """A constant used as an activation operand: its own exact range."""
    c = np.asarray(c, np.float64)
    return activation_qparams(float(c.min(initial=0.0)), float(c.max(initial=0.0)), dtype)


def weight_scales(w: np.ndarray, axis: int | None) -> np.ndarray:
    """Symmetric scales max|w|/127 along `axis` (None: one scale for the tensor)."""
    a = np.abs(np.asarray(w, np.float64))
    if axis is None:
        m = np.array([a.max(initial=0.0)])
    else:
        m = np.moveaxis(a, axis, 0).reshape(a.shape[axis], -1).max(axis=1, initial=0.0)
    s = np.where(m > 0, m / 127.0, 1.0)
    return np.maximum(s, MIN_SCALE).astype(np.float32)


def quantize_weights(w: np.ndarray, scales: np.ndarray, axis: int | None, qmax: int = 127) -> np.ndarray:
    """Symmetric values in [-qmax, qmax] (127: int8; 7: int4, int8 values the writer packs)."""
    w = np.asarray(w, np.float64)
    shape = [1] * w.ndim
    if axis is not None and scales.size > 1:
        shape[axis] = -1
    q = round_half_away(w / scales.astype(np.float64).reshape(shape))
    return np.clip(q, -qmax, qmax).astype(np.int8)


# The largest |bias| an int32 bias may hold: half of int32, leaving the other half to the
# accumulated products it is added to.
BIAS_LIMIT = 2.0**30


def fit_bias(b: np.ndarray | None, in_scale: float, w_scales: np.ndarray) -> np.ndarray:
    """Weight scales widened where an int32 bias at in_scale * w_scale would pass BIAS_LIMIT,
    as TFLite's quantizer does: a bias that large next to the products means the input's
    contribution is tiny against the bias (activations that vanish, e.g. a randomly initialised
    GoogLeNet's last layers at 1e-12 before a bias of 0.01); clipping the bias instead would
    zero the output. w_scales has one entry per channel of b, or one for all."""
    if b is None:
        return w_scales
    ab = np.abs(np.asarray(b, np.float64))
    need = ab / (np.float64(np.float32(in_scale)) * BIAS_LIMIT)
    if w_scales.size == 1:
        need = need.max(initial=0.0)
    if not np.any(need > w_scales):
        return w_scales
    # float32 rounding down could leave the bias a hair past the limit: one ulp up
    return np.where(
        need > w_scales, np.nextafter(need.astype(np.float32), np.float32(np.inf)), w_scales
    ).astype(np.float32)


def quantize_bias(b: np.ndarray, in_scale: float, w_scales: np.ndarray, dtype: str = "int32") -> np.ndarray:
    """The bias at scale in_scale * w_scale[c]: int32, or int64 for 16x8 layers."""
    s = np.float64(np.float32(in_scale)) * w_scales.astype(np.float64)
    q = round_half_away(np.asarray(b, np.float64) / s)
    info = np.iinfo(dtype)
    return np.clip(q, max(info.min, -(2**53)), min(info.max, 2**53)).astype(dtype)


def clamp_range(
    clamp: tuple[float, float] | None, scale: float, zero_point: int, dtype: str = "int8"
) -> tuple[int, int]:
    """act_min/act_max of a fused clamp, as TFLite's CalculateActivationRangeQuantized does for
    ReLU/ReLU6 (zp + round(v / scale)), for any [lo, hi]."""
    bottom, top = INT_RANGE[dtype]
    if clamp is None:
        return bottom, top
    lo, hi = clamp

    def level(v: float, unbounded: int) -> int:
        if not np.isfinite(v):
            return unbounded
        with np.errstate(over="ignore"):
            r = np.float32(v) / np.float32(scale)
        if not np.isfinite(r):  # a bound far outside the range (a tiny scale): saturate
            return top if r > 0 else bottom
        return zero_point + int(round_half_away(r))

    qlo, qhi = level(lo, bottom), level(hi, top)
    qlo, qhi = max(bottom, min(top, qlo)), max(bottom, min(top, qhi))
    return qlo, max(qlo, qhi)
