"""Each kernel against two oracles, on random shapes and parameters, byte for byte.

For every case a one-op int8 .tflite is built (tests/support/tflite_builder.py), converted
by picoq and run. The expected output comes from (1) a plain numpy int64
implementation written in the tests (tests/support/reference_ops.py), fed with integer
parameters computed in the tests from the float scales, not by the converter, and
(2) tflite-micro running the same .tflite. Cases cover SAME/VALID padding,
strides larger than the kernel, dilation, kernels larger than the image, odd
channel counts, grouped convolution, depth multipliers, per-tensor and
per-channel weights, broadcasting, fused activations and softmax's beta.
"""

from __future__ import annotations

import numpy as np
import pytest

from picoq.converter import convert
from picoq.runtime import Interpreter

from support import reference_ops as ref
from support.tflite_builder import TFLiteGraph
from support.tflm_oracle import TFLMRunner

ACTS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]
N_CASES = 100


def _qparams(rng) -> tuple[float, int]:
    return float(rng.uniform(0.005, 0.1)), int(rng.integers(-60, 60))


def _weights(rng, shape, axis: int | None):
    w = rng.integers(-127, 128, size=shape, dtype=np.int8)
    n = 1 if axis is None else shape[axis]
    scales = rng.uniform(0.002, 0.02, n).astype(np.float32)
    return w, scales


def _out_scale(acc: np.ndarray, in_s: float, w_s: np.ndarray, axis_last: bool = True) -> tuple[float, int]:
    """An output scale that spreads the real outputs over most of int8 (no saturation, no collapse)."""
    real = acc.astype(np.float64) * in_s * np.asarray(w_s, np.float64)
    lo, hi = float(real.min()), float(real.max())
    span = max(hi - lo, 1e-6)
    scale = span / 230.0
    zp = int(np.clip(round(-128 - lo / scale) + 10, -128, 127))
    return scale, zp


def _run_three(tfl: bytes, x: np.ndarray, expected: np.ndarray) -> np.ndarray:
    got = Interpreter(convert(tfl)).run(x)
    (tflm,) = TFLMRunner(tfl).run([x])
    np.testing.assert_array_equal(expected, tflm, err_msg="numpy reference disagrees with tflite-micro")
    np.testing.assert_array_equal(got, expected, err_msg="picoq disagrees with the numpy reference")
    return got


def _spatial_case(rng):
    """Random image, kernel, stride, dilation and padding, edge cases weighted in."""
    h, w = (int(v) for v in rng.integers(1, 12, 2))
    kh, kw = (int(v) for v in rng.integers(1, 6, 2))
    sh, sw = (int(v) for v in rng.choice([1, 1, 2, 3, 4], 2))
    dh, dw = (int(v) for v in rng.choice([1, 1, 2, 3], 2))
    padding = str(rng.choice(["SAME", "VALID"]))
    if padding == "VALID":  # the dilated kernel must fit
        kh = min(kh, (h - 1) // dh + 1)
        kw = min(kw, (w - 1) // dw + 1)
    return (h, w), (kh, kw), (sh, sw), (dh, dw), padding


def _pads(padding, hw, khw, s, d):
    out, pad = zip(*(ref.compute_padding(padding, i, k, st, dl) for i, k, st, dl in zip(hw, khw, s, d)))
    return out, pad


@pytest.mark.parametrize("seed", range(N_CASES))
def test_conv2d(seed: int) -> None:
    rng = np.random.default_rng(seed)
    (h, w), (kh, kw), s, d, padding = _spatial_case(rng)
    groups = int(rng.choice([1, 1, 1, 2, 3]))
    cin_g = int(rng.integers(1, 6))
    cin, cout = cin_g * groups, groups * int(rng.integers(1, 5))
    n = int(rng.choice([1, 1, 2]))
    in_s, in_zp = _qparams(rng)
    per_channel = bool(rng.integers(0, 2))
    wq, w_s = _weights(rng, (cout, kh, kw, cin_g), 0 if per_channel else None)
    bias = rng.integers(-5000, 5000, cout).astype(np.int32) if rng.integers(0, 4) else None
    x = rng.integers(-128, 128, (n, h, w, cin), dtype=np.int8)
    out_hw, pad = _pads(padding, (h, w), (kh, kw), s, d)
    w_full = np.broadcast_to(w_s, (cout,))
    acc = ref.conv2d(x, wq, bias, 1, 0, s, d, pad, -in_zp, out_hw=out_hw, return_acc=True)
    out_s, out_zp = _out_scale(acc, in_s, w_full)
    act = str(rng.choice(ACTS))
    mult, shift = ref.conv_params(in_s, w_full, out_s)
    lo, hi = ref.activation_range(act, out_s, out_zp)
    expected = ref.conv2d(x, wq, bias, mult, shift, s, d, pad, -in_zp, out_zp, lo, hi, out_hw=out_hw)

    g = TFLiteGraph()
    xt = g.input("x", x.shape, in_s, in_zp)
    wt = g.const_int8("w", wq, w_s, quantized_dimension=0)
    bt = None if bias is None else g.const_int32("b", bias, np.float32(in_s) * w_full)
    g.output(g.conv2d(xt, wt, bt, out_s, out_zp, stride=s, dilation=d, padding=padding, activation=act))
    got = _run_three(g.build(), x, expected)
    if act == "NONE" and np.ptp(acc) > 0:  # the output scale spreads the accumulators: no collapse
        assert len(np.unique(got)) > 1


@pytest.mark.parametrize("seed", range(N_CASES))
def test_depthwise_conv2d(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    (h, w), (kh, kw), s, d, padding = _spatial_case(rng)
    cin, m = int(rng.integers(1, 9)), int(rng.choice([1, 1, 2, 3]))
    cout = cin * m
    in_s, in_zp = _qparams(rng)
    per_channel = bool(rng.integers(0, 4))
    wq, w_s = _weights(rng, (1, kh, kw, cout), 3 if per_channel else None)
    bias = rng.integers(-5000, 5000, cout).astype(np.int32)
    x = rng.integers(-128, 128, (1, h, w, cin), dtype=np.int8)
    out_hw, pad = _pads(padding, (h, w), (kh, kw), s, d)
    w_full = np.broadcast_to(w_s, (cout,))
    acc = ref.depthwise_conv2d(
        x, wq, bias, 1, 0, s, d, pad, -in_zp, depth_multiplier=m, out_hw=out_hw, return_acc=True
    )
    out_s, out_zp = _out_scale(acc, in_s, w_full)
    act = str(rng.choice(ACTS))
    mult, shift = ref.conv_params(in_s, w_full, out_s)
    lo, hi = ref.activation_range(act, out_s, out_zp)
    expected = ref.depthwise_conv2d(
        x, wq, bias, mult, shift, s, d, pad, -in_zp, out_zp, lo, hi, m, out_hw=out_hw
    )

    g = TFLiteGraph()
    xt = g.input("x", x.shape, in_s, in_zp)
    wt = g.const_int8("w", wq, w_s, quantized_dimension=3)
    bt = g.const_int32("b", bias, np.float32(in_s) * w_full)
    y = g.depthwise_conv2d(
        xt, wt, bt, out_s, out_zp, depth_multiplier=m, stride=s, dilation=d, padding=padding, activation=act
    )
    g.output(y)
    _run_three(g.build(), x, expected)


@pytest.mark.parametrize("seed", range(N_CASES))
def test_fully_connected(seed: int) -> None:
    rng = np.random.default_rng(2000 + seed)
    batches, depth, cout = int(rng.choice([1, 1, 3])), int(rng.integers(1, 80)), int(rng.integers(1, 40))
    in_s, in_zp = _qparams(rng)
    per_channel = bool(rng.integers(0, 2))
    wq, w_s = _weights(rng, (cout, depth), 0 if per_channel else None)
    bias = rng.integers(-20000, 20000, cout).astype(np.int32) if rng.integers(0, 4) else None
    x = rng.integers(-128, 128, (batches, depth), dtype=np.int8)
    w_full = np.broadcast_to(w_s, (cout,))
    acc = ref.fully_connected(x, wq, bias, 1, 0, -in_zp, return_acc=True)
    out_s, out_zp = _out_scale(acc, in_s, w_full)
    act = str(rng.choice(ACTS))
    mult, shift = ref.conv_params(in_s, w_full, out_s)
    lo, hi = ref.activation_range(act, out_s, out_zp)
    expected = ref.fully_connected(x, wq, bias, mult, shift, -in_zp, 0, out_zp, lo, hi)

    g = TFLiteGraph()
    xt = g.input("x", x.shape, in_s, in_zp)
    wt = g.const_int8("w", wq, w_s, quantized_dimension=0)
    bt = None if bias is None else g.const_int32("b", bias, np.float32(in_s) * w_full)
    g.output(g.fully_connected(xt, wt, bt, out_s, out_zp, activation=act))
    _run_three(g.build(), x, expected)


def _broadcast_shapes(rng):
    rank = int(rng.integers(1, 5))
    out = [int(v) for v in rng.integers(1, 6, rank)]
    a = [d if rng.integers(0, 3) else 1 for d in out]
    b = [d if rng.integers(0, 3) else 1 for d in out]
    for i in range(rank):  # the output is the broadcast of the two
        if a[i] == 1 and b[i] == 1:
            a[i] = out[i]
    return tuple(a), tuple(b)


@pytest.mark.parametrize("seed", range(N_CASES))
def test_add(seed: int) -> None:
    rng = np.random.default_rng(3000 + seed)
    sa, sb = _broadcast_shapes(rng) if seed % 2 else ((1, 4, 5, 3),) * 2
    (s1, z1), (s2, z2) = _qparams(rng), _qparams(rng)
    a = rng.integers(-128, 128, sa, dtype=np.int8)
    b = rng.integers(-128, 128, sb, dtype=np.int8)
    real = (a.astype(np.float64) - z1) * s1 + (b.astype(np.float64) - z2) * s2
    s_out = float(max(real.max() - real.min(), 1e-3) / 230)
    z_out = int(np.clip(round(-128 - real.min() / s_out) + 10, -128, 127))
    act = str(rng.choice(ACTS))
    params = ref.add_params(s1, z1, s2, z2, s_out, z_out, act)
    expected = ref.add(a, b, params)

    g = TFLiteGraph()
    at = g.input("a", a.shape, s1, z1)
    bt = g.input("b", b.shape, s2, z2)
    g.output(g.add(at, bt, s_out, z_out, activation=act))
    tfl = g.build()
    got = Interpreter(convert(tfl)).run([a, b])
    (tflm,) = TFLMRunner(tfl).run([a, b])
    np.testing.assert_array_equal(expected, tflm)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("seed", range(N_CASES))
def test_average_pool2d(seed: int) -> None:
    rng = np.random.default_rng(4000 + seed)
    (h, w), (kh, kw), s, _, padding = _spatial_case(rng)
    if padding == "VALID":
        kh, kw = min(kh, h), min(kw, w)
    c = int(rng.integers(1, 9))
    in_s, in_zp = _qparams(rng)
    x = rng.integers(-128, 128, (1, h, w, c), dtype=np.int8)
    out_hw, pad = _pads(padding, (h, w), (kh, kw), s, (1, 1))
    act = str(rng.choice(ACTS))
    lo, hi = ref.activation_range(act, in_s, in_zp)
    expected = ref.avg_pool2d(x, (kh, kw), s, pad, lo, hi, out_hw)

    g = TFLiteGraph()
    xt = g.input("x", x.shape, in_s, in_zp)
    g.output(g.average_pool2d(xt, (kh, kw), s, padding=padding, activation=act))
    _run_three(g.build(), x, expected)


@pytest.mark.parametrize("seed", range(N_CASES))
def test_softmax(seed: int) -> None:
    rng = np.random.default_rng(5000 + seed)
    rows, depth = int(rng.integers(1, 5)), int(rng.choice([1, 2, 10, 33, 100, 300]))
    in_s = float(rng.choice([0.01, 0.05, 0.1, 0.25, 0.5]))
    in_zp = int(rng.integers(-20, 20))
    beta = float(rng.choice([1.0, 1.0, 0.5, 2.0]))
    x = rng.integers(-128, 128, (rows, depth), dtype=np.int8)
    if seed % 5 == 0:
        x[:, : depth // 2] = x[:, :1]  # ties, and a row maximum repeated
    m, ls, diff_min = ref.softmax_params(beta, in_s)
    expected = ref.softmax(x, m, ls, diff_min)

    g = TFLiteGraph()
    xt = g.input("x", x.shape, in_s, in_zp)
    g.output(g.softmax(xt, beta=beta))
    _run_three(g.build(), x, expected)


def test_reshape_keeps_bytes() -> None:
    rng = np.random.default_rng(6)
    x = rng.integers(-128, 128, (1, 3, 4, 5), dtype=np.int8)
    g = TFLiteGraph()
    xt = g.input("x", x.shape, 0.1, 3)
    g.output(g.reshape(xt, (1, 60)))
    _run_three(g.build(), x, x.reshape(1, 60))
