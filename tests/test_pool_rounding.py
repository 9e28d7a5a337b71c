"""Average pools round once and without bias.

A global average pool (ONNX GlobalAveragePool / ReduceMean, lowered to MEAN) rounds each mean
once. TFLM's parameter fold (quantize.mean_params, kept for .tflite files, whose bytes must be
TFLM's) leaves a right shift of a bit or two after the rounding doubling high multiply when the
input and output scales are close, so the sum is rounded twice; for the models picoq quantizes
itself the multiplier is held unnormalised at shift 0 (quantize.mean_params_once).

A windowed ONNX AveragePool whose divisor is the whole window runs as a DEPTHWISE_CONV_2D of
weights 1/count with its own output range (lower_ops.avg_pool_is_depthwise): TFLM's
AVERAGE_POOL_2D rounds each raw int8 sum half away from raw 0, not from the zero point, which
after a ReLU biases the means down.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

from picoq.converter import convert
from picoq.converter import quantize as q
from picoq.converter.float_ops import sqnr_db
from picoq.runtime import Interpreter

from support.bigint_fixedpoint import mbqm
from support.onnx_models import model, ort_run


def _pool_model():
    return model([helper.make_node("GlobalAveragePool", ["x"], ["y"])], {"x": ["N", 16, 2, 2]}, {"y": None})


def _exact_and_ours(seed: int):
    """(sum * s_in / (s_out * count) + zp_out, picoq's int8 output, TFLM-fold output) per value."""
    rng = np.random.default_rng(seed)
    calib = np.maximum(rng.normal(size=(64, 16, 2, 2)), 0).astype(np.float32)  # post-ReLU features
    x = np.maximum(rng.normal(size=(64, 16, 2, 2)), 0).astype(np.float32)
    it = Interpreter(convert(_pool_model(), calibration=calib, progress=False))
    (op,) = [o for o in it.model.ops if o.name == "MEAN"]
    xt, yt = it.model.tensors[op.inputs[0]], it.model.tensors[op.outputs[0]]
    sx, zx, sy, zy = float(xt.scales[0]), int(xt.zero_points[0]), float(yt.scales[0]), int(yt.zero_points[0])
    xq = np.clip(np.round(x / np.float32(sx)) + zx, -128, 127).astype(np.int8)
    got = np.stack([it.run(xi[None]) for xi in xq]).reshape(64, 16).astype(np.int64)  # int8 in: raw out
    sums = (xq.astype(np.int64) - zx).reshape(64, 16, 4).sum(axis=2)
    exact = np.clip(sums * (np.float64(np.float32(sx)) / np.float64(np.float32(sy)) / 4) + zy, -128, 127)
    p = q.mean_params(sx, zx, sy, zy, 4)
    folded = np.clip(
        np.array([[mbqm(int(s), p["multiplier"], p["shift"]) for s in row] for row in sums]) + zy, -128, 127
    )
    return exact, got, folded, op.name


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_global_average_pool_rounds_once(seed: int) -> None:
    exact, got, folded, _ = _exact_and_ours(seed)
    assert np.abs(got - exact).max() <= 0.5 + 1e-6  # the nearest int8 value, every time
    assert ((got - exact) ** 2).mean() <= ((folded - exact) ** 2).mean() + 1e-12


@pytest.mark.parametrize("seed", [1, 4])
def test_tflm_fold_rounds_twice_at_these_scales(seed: int) -> None:
    """Where the calibrated scales leave TFLM's fold a right shift after its rounding high
    multiply (seeds 1 and 4 here), its means miss by up to 3/4 of a step and their rounding
    noise is 1.5x a single rounding's: what the lowering no longer does."""
    exact, got, folded, _ = _exact_and_ours(seed)
    assert np.abs(folded - exact).max() > 0.7
    assert ((folded - exact) ** 2).mean() > 1.5 * ((got - exact) ** 2).mean()


def test_mean_params_once() -> None:
    p = q.mean_params_once(0.0244, -128, 0.0193, -128, 4)
    assert p["shift"] == 0
    real = float(np.float32(0.0244)) / float(np.float32(0.0193)) / 4
    assert abs(p["multiplier"] - real * 2**31) <= 0.5
    # a multiplier past 1 (the output scale finer than a 1/count of the input's) keeps TFLM's form,
    # as does one below 2^-8 (a mean of thousands of values)
    assert q.mean_params_once(1.0, 0, 0.1, 0, 4) == q.mean_params(1.0, 0, 0.1, 0, 4)
    assert q.mean_params_once(0.01, 0, 0.01, 0, 4096) == q.mean_params(0.01, 0, 0.01, 0, 4096)


def _avg_pool_model(pads: list[int] | None = None, count_include_pad: int = 0, ceil: bool = False):
    attrs = {"kernel_shape": [3, 3] if ceil else [2, 2], "strides": [2, 2]}
    if pads:
        attrs.update(pads=pads, count_include_pad=count_include_pad)
    if ceil:  # 6 wide, 3-windows every 2: a last window over the edge, divided by its 2 columns
        attrs.update(ceil_mode=1)
    return model([helper.make_node("AveragePool", ["x"], ["y"], **attrs)], {"x": ["N", 8, 6, 6]}, {"y": None})


def test_average_pool_after_relu_is_unbiased() -> None:
    """Non-negative inputs (a ReLU's output: zero point -128, raw values mostly below 0). Against
    the exact mean of the int8 inputs, picoq's means are off by less than 0.03 of a step on
    average; TFLM's AVERAGE_POOL_2D arithmetic on the same bytes is 0.1 of a step low."""
    rng = np.random.default_rng(0)
    calib = np.abs(rng.normal(size=(64, 8, 6, 6))).astype(np.float32)
    x = np.abs(rng.normal(size=(64, 8, 6, 6))).astype(np.float32)
    it = Interpreter(convert(_avg_pool_model(), calibration=calib, progress=False))
    assert [op.name for op in it.model.ops if op.name != "TRANSPOSE"] == ["DEPTHWISE_CONV_2D"]
    xt, yt = it.model.tensors[it.model.inputs[0]], it.model.tensors[it.model.outputs[0]]
    sx, zx, sy, zy = float(xt.scales[0]), int(xt.zero_points[0]), float(yt.scales[0]), int(yt.zero_points[0])
    xq = np.clip(np.round(x / np.float32(sx)) + zx, -128, 127).astype(np.int8)
    yq = np.concatenate([it.run(xi[None]) for xi in xq]).astype(np.int64)
    raw = xq.astype(np.int64).reshape(64, 8, 3, 2, 3, 2)
    exact = (raw - zx).mean(axis=(3, 5)) * np.float32(sx)  # the mean of the int8 inputs, in float
    ours = (yq - zy) * np.float32(sy)
    assert abs((ours - exact).mean()) < 0.03 * sy
    sums = raw.sum(axis=(3, 5))  # TFLM: raw sums, half away from raw 0, at the input's scale
    tflm = np.where(sums > 0, (sums + 2) // 4, -((-sums + 2) // 4))
    assert ((tflm - zx) * np.float32(sx) - exact).mean() < -0.1 * sx


def test_average_pool_whose_divisor_shrinks_at_the_border_stays_a_pool() -> None:
    """Padding that does not count (count_include_pad=0), or ceil_mode's last window over the
    edge: the divisor shrinks at the border, which a depthwise conv cannot do: AVERAGE_POOL_2D,
    at its input's quantization. Counted padding is a depthwise conv's zero padding. Each as
    onnxruntime computes it, to int8 resolution."""
    calib = np.abs(np.random.default_rng(0).normal(size=(16, 8, 6, 6))).astype(np.float32)
    cases = (
        ([1, 1, 1, 1], 0, False, "AVERAGE_POOL_2D"),
        ([1, 1, 1, 1], 1, False, "DEPTHWISE_CONV_2D"),
        (None, 0, True, "AVERAGE_POOL_2D"),
    )
    for pads, counted, ceil, kernel in cases:
        m = _avg_pool_model(pads, counted, ceil)
        it = Interpreter(convert(m, calibration=calib, progress=False))
        assert kernel in [op.name for op in it.model.ops]
        want = ort_run(m, {"x": calib[:4]})[0]
        got = np.concatenate([it.run(c[None]) for c in calib[:4]])
        assert sqnr_db(want, got) > 35.0
