"""The 16x8 activations' tables and parameters, computed as TFLite Micro's Prepare computes them.

TFLM's int16 SOFTMAX fills two 513-entry tables at Prepare with float32 math (``gen_lut`` in
tensorflow/lite/kernels/internal/common.h, called from softmax_common.cc): exp on [-10, 0] and
1 / (1 + x) on [0, 1]. Its int16 LOGISTIC and TANH interpolate in one fixed 256-entry table of
sigmoid(i / 24) in Q0.16 (its values are TFLM's constants, see _SIGMOID16). picoq's kernels are integer-only, so the converter computes all three
here (float32 steps in numpy float32, rounding half away from zero as ``TfLiteRound``) and
stores them as constant int16 inputs of the op.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .quantize import quantize_multiplier

_F = np.float32
LUT16_SIZE = 513  # 512 steps indexed by the top 9 bits of an int16, and the last value
SIGMOID16_SIZE = 256


def _round(v: np.float32) -> np.float32:
    """TfLiteRound on a float: std::round, half away from zero (exact through float64)."""
    d = float(v)
    return _F(math.copysign(math.floor(abs(d) + 0.5), d))


def _exp(v: np.float32) -> np.float32:
    # std::exp(float) is glibc's expf, correctly rounded in practice: the float64 exp rounded once.
    return _F(math.exp(float(v)))


def _one_over_one_plus(v: np.float32) -> np.float32:
    return _F(1.0) / (_F(1.0) + v)


def gen_lut16(
    func: Callable[[np.float32], np.float32], in_min: float, in_max: float, out_min: float, out_max: float
) -> np.ndarray:
    """gen_lut<float, int16_t, int16_t>: 512 samples of func on [in_min, in_max], each biased by
    half the error linear interpolation makes at the step's midpoint, then func(in_max)."""
    lo, hi = _F(in_min), _F(in_max)
    step = (hi - lo) / _F(512)
    half_step = step / _F(2)
    scaling_inv = _F(65536) / (_F(out_max) - _F(out_min))
    lut = np.empty(LUT16_SIZE, np.int16)
    for i in range(512):
        at = lo + _F(i) * step
        val, val_mid, val_next = func(at), func(at + half_step), func(lo + _F(i + 1) * step)
        sample = _round(val * scaling_inv)
        mid_interp = _round((val_next * scaling_inv + _round(val * scaling_inv)) / _F(2))
        mid_err = mid_interp - _round(val_mid * scaling_inv)
        bias = _round(mid_err / _F(2))
        lut[i] = int(min(max(sample - bias, _F(-32768)), _F(32767)))
    lut[512] = int(min(max(_round(func(hi) * scaling_inv), _F(-32768)), _F(32767)))
    return lut


def softmax16_tables() -> tuple[np.ndarray, np.ndarray]:
    """SoftmaxPrepare's exp table (inputs [-10, 0]) and 1/(1+x) table (inputs [0, 1])."""
    return gen_lut16(_exp, -10.0, 0.0, -1.0, 1.0), gen_lut16(_one_over_one_plus, 0.0, 1.0, -1.0, 1.0)


def softmax16_params(beta: float, in_scale: float) -> dict[str, int]:
    """CalculateSoftmaxParams for int16: QuantizeMultiplier((double)s_in * beta / (10 / 65535)),
    which maps an input difference of -65535 scaled units to exp's -10."""
    m, shift = quantize_multiplier(float(_F(in_scale)) * float(_F(beta)) / (10.0 / 65535.0))
    return {"input_multiplier": m, "input_left_shift": shift, "diff_min": 0}


# TFLM's sigmoid_table_uint16 (tensorflow/lite/kernels/internal/common.h): "sigmoid(i/24) at 0.16
# format", but not round(65536 * sigmoid(i / 24)): 17 of its first 33 entries are one above that,
# so the values are TFLM's own, and the 65,536-input tests against tflite-micro check each of them.
_SIGMOID16 = (
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794,
    41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443,
    48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169, 53581, 53983, 54374,
    54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433, 57724, 58007, 58280, 58544,
    58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110, 61279,
    61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990,
    63090, 63186, 63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030,
    64090, 64148, 64204, 64257, 64308, 64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652,
    64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019,
    65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234,
    65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360,
    65367, 65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476,
    65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498, 65500, 65501,
    65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513, 65514, 65515, 65516,
    65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
    65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529,
    65529, 65530, 65530, 65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532,
    65532, 65532, 65532, 65533, 65533, 65533, 65533, 65533, 65533, 65533, 65533, 65534, 65534,
    65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535,
)  # fmt: skip


def sigmoid16_table() -> np.ndarray:
    """The 256-entry uint16 sigmoid table of TFLM's int16 LOGISTIC and TANH, as int16 bits."""
    return np.array(_SIGMOID16, np.uint16).view(np.int16)


def _checked_log2(x: float) -> tuple[bool, int]:
    """CheckedLog2(float): log2 in float32, rounded; exact when within 1e-3 of an integer."""
    x_log2 = _F(math.log(float(_F(x)))) * (_F(1.0) / _F(math.log(2.0)))
    rounded = _round(x_log2)
    return bool(abs(x_log2 - rounded) < _F(1e-3)), int(rounded)


def sigmoid16_params(in_scale: float, out_scale: float, tanh: bool) -> dict[str, int]:
    """LOGISTIC / TANH int16 Prepare (logistic_common.cc, tanh_common.cc): a power-of-two input
    scale of 2^-12 (TANH also 2^-11) is multiplier 0; any other is scale * 3 * 4096 doubled up
    to (16383.5, 32767] with the shift counting the doublings, truncated to an int."""
    ok, out_log2 = _checked_log2(out_scale)
    if not ok or out_log2 != -15:
        raise ValueError(
            f"int16 {'TANH' if tanh else 'LOGISTIC'} output scale must be 2^-15, got {out_scale}"
        )
    pot, in_log2 = _checked_log2(in_scale)
    shift = 12 + in_log2
    if pot and (shift == 0 or (tanh and shift == 1)):
        mult = 0
    else:
        real, shift = float(_F(in_scale)) * 4096.0 * 3.0, 0
        while real <= 32767.0 / 2.0 and shift <= 30:
            shift += 1
            real *= 2.0
        mult = int(real)
        if mult > 32767:
            raise ValueError(f"input scale {in_scale} is above what int16 LOGISTIC/TANH take (2.67)")
    return {"input_offset": 0, "input_range_radius": 0, "input_multiplier": mult, "input_left_shift": shift}


def requantize_params(in_scale: float, in_zp: int, out_scale: float, out_zp: int) -> dict[str, int]:
    """QUANTIZE between integer dtypes: QuantizeMultiplier((double)s_in / (double)s_out)."""
    m, shift = quantize_multiplier(float(_F(in_scale)) / float(_F(out_scale)))
    return {"input_offset": -int(in_zp), "output_offset": int(out_zp), "multiplier": m, "shift": shift}
