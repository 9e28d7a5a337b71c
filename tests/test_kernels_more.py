"""The second batch of int8 kernels against the numpy reference and tflite-micro, byte for byte.

MAX_POOL_2D, MUL, MEAN, CONCATENATION, PAD, LOGISTIC, TANH, HARD_SWISH, LEAKY_RELU and
TRANSPOSE, as in test_kernels.py: every case builds a one-op int8 .tflite
(tests/support/tflite_builder.py), converts and runs it with picoq, and compares it with
(1) tests/support/reference_ops.py fed with integer parameters computed here from the float
scales and (2) tflite-micro running the same file.

Where tflite-micro lacks a variant the case is checked against the numpy reference
only (the test name says ``numpy_only``): CONCATENATION of inputs with different
scales or zero points (TFLM refuses them in Prepare), TRANSPOSE and PAD of rank 6
(TFLM stops at rank 5), and MEAN over more than two distinct axes or of rank 6 (TFLM's
scratch arrays hold 2 reduced axes and 5 dimensions).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from picoq.converter import convert
from picoq.runtime import Interpreter

from support import reference_ops as ref
from support.models import build_chain
from support.tflite_builder import TFLiteGraph
from support.tflm_oracle import TFLMRunner

ACTS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]
N_CASES = 40


def _qparams(rng) -> tuple[float, int]:
    return float(rng.uniform(0.005, 0.1)), int(rng.integers(-60, 60))


def _spread_quant(real: np.ndarray) -> tuple[float, int]:
    """An output (scale, zero point) that spreads ``real`` over most of int8."""
    lo, hi = float(np.min(real)), float(np.max(real))
    scale = max(hi - lo, 1e-3) / 230.0
    zp = int(np.clip(round(-128 - lo / scale) + 10, -128, 127))
    return scale, zp


def _check(tfl: bytes, inputs: list[np.ndarray], expected: np.ndarray, *, tflm: bool = True) -> np.ndarray:
    """picoq == numpy reference (== tflite-micro when ``tflm``), byte for byte."""
    if tflm:
        # TFLM's default arena (10x the file) is too small for activation-heavy one-op models.
        arena = 65536 + 4 * (sum(x.nbytes for x in inputs) + expected.nbytes)
        got_tflm = TFLMRunner(tfl, arena_size=arena).run(inputs)[0]
        np.testing.assert_array_equal(
            expected, got_tflm, err_msg="numpy reference disagrees with tflite-micro"
        )
    got = Interpreter(convert(tfl)).run(inputs if len(inputs) > 1 else inputs[0])
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected, err_msg="picoq disagrees with the numpy reference")
    return got


def _full_range(rng, shape) -> np.ndarray:
    """Random int8 values of ``shape`` that include every int8 value once when there is room."""
    x = rng.integers(-128, 128, shape, dtype=np.int8)
    flat = x.reshape(-1)
    n = min(flat.size, 256)
    flat[:n] = rng.permutation(np.arange(-128, 128, dtype=np.int8))[:n]
    return x


# *** MAX_POOL_2D ***


@pytest.mark.parametrize("seed", range(N_CASES))
def test_max_pool2d(seed: int) -> None:
    rng = np.random.default_rng(7000 + seed)
    h, w = (int(v) for v in rng.integers(1, 12, 2))
    kh, kw = (int(v) for v in rng.integers(1, 6, 2))
    s = tuple(int(v) for v in rng.choice([1, 1, 2, 3, 4], 2))
    padding = str(rng.choice(["SAME", "VALID"]))
    if padding == "VALID":
        kh, kw = min(kh, h), min(kw, w)
    n, c = int(rng.choice([1, 1, 2])), int(rng.integers(1, 9))
    in_s, in_zp = _qparams(rng)
    x = rng.integers(-128, 128, (n, h, w, c), dtype=np.int8)
    out_hw, pad = zip(*(ref.compute_padding(padding, i, k, st) for i, k, st in zip((h, w), (kh, kw), s)))
    act = str(rng.choice(ACTS))
    lo, hi = ref.activation_range(act, in_s, in_zp)
    expected = ref.max_pool2d(x, (kh, kw), s, pad, lo, hi, out_hw)

    g = TFLiteGraph()
    xt = g.input("x", x.shape, in_s, in_zp)
    g.output(g.max_pool2d(xt, (kh, kw), s, padding=padding, activation=act))
    _check(g.build(), [x], expected)


# *** MUL ***


def _broadcast_shapes(rng, max_rank: int):
    rank = int(rng.integers(1, max_rank + 1))
    out = [int(v) for v in rng.integers(1, 5, rank)]
    a = [d if rng.integers(0, 3) else 1 for d in out]
    b = [d if rng.integers(0, 3) else 1 for d in out]
    for i in range(rank):
        if a[i] == 1 and b[i] == 1:
            a[i] = out[i]
    if rng.integers(0, 4) == 0:  # lower-rank operand: numpy aligns shapes on the right
        b = b[int(rng.integers(0, rank)) :] or [1]
    return tuple(a), tuple(b)


@pytest.mark.parametrize("seed", range(N_CASES))
def test_mul(seed: int) -> None:
    rng = np.random.default_rng(8000 + seed)
    sa, sb = _broadcast_shapes(rng, 6) if seed % 4 else ((1, 5, 3, 7),) * 2
    if seed % 8 == 1:
        sa, sb = sb, sa
    (s1, z1), (s2, z2) = _qparams(rng), _qparams(rng)
    a = rng.integers(-128, 128, sa, dtype=np.int8)
    b = rng.integers(-128, 128, sb, dtype=np.int8)
    real = (a.astype(np.float64) - z1) * s1 * ((b.astype(np.float64) - z2) * s2)
    s_out, z_out = _spread_quant(real)
    if seed % 5 == 0:  # an output multiplier above 1: a left shift in the requantization
        s_out = s1 * s2 * float(rng.uniform(0.3, 0.9))
    act = str(rng.choice(ACTS))
    params = ref.mul_params(s1, z1, s2, z2, s_out, z_out, act)
    if seed % 5 == 0:
        assert params["output_shift"] > 0
    expected = ref.mul(a, b, params)

    g = TFLiteGraph()
    at, bt = g.input("a", a.shape, s1, z1), g.input("b", b.shape, s2, z2)
    g.output(g.mul(at, bt, s_out, z_out, activation=act))
    _check(g.build(), [a, b], expected)


def test_mul_by_constant() -> None:
    rng = np.random.default_rng(8999)
    a = rng.integers(-128, 128, (1, 4, 4, 6), dtype=np.int8)
    c = rng.integers(-128, 128, (6,), dtype=np.int8)
    params = ref.mul_params(0.05, 3, 0.01, -2, 0.02, 5)
    g = TFLiteGraph()
    at = g.input("a", a.shape, 0.05, 3)
    ct = g.const_int8("c", c, [0.01], [-2])
    g.output(g.mul(at, ct, 0.02, 5))
    _check(g.build(), [a], ref.mul(a, c, params))


# *** MEAN ***


def _mean_case(rng, max_rank: int, max_axes: int):
    rank = int(rng.integers(1, max_rank + 1))
    shape = tuple(int(v) for v in rng.integers(1, 7, rank))
    k = int(rng.integers(1, min(rank, max_axes) + 1))
    axes = [int(a) for a in rng.choice(rank, k, replace=False)]
    axes = [a - rank if rng.integers(0, 3) == 0 else a for a in axes]  # negative axes
    if rng.integers(0, 4) == 0:
        axes.append(axes[0])  # a repeated axis counts once
    return shape, axes


def _mean_run(rng, shape, axes, *, tflm: bool) -> None:
    x = rng.integers(-128, 128, shape, dtype=np.int8)
    in_s, in_zp = _qparams(rng)
    if rng.integers(0, 3) == 0:  # same quantization as the input: the common pooling case
        out_s, out_zp = in_s, in_zp
    else:
        out_s, out_zp = in_s * float(rng.uniform(0.05, 1.5)), int(rng.integers(-100, 100))
    keep = bool(rng.integers(0, 2))
    rank = len(shape)
    count = int(np.prod([shape[a] for a in {a % rank for a in axes}]))
    m, s = ref.mean_multiplier(in_s, out_s, count)
    expected = ref.mean(x, axes, keep, in_zp, out_zp, m, s)

    g = TFLiteGraph()
    xt = g.input("x", x.shape, in_s, in_zp)
    g.output(g.mean(xt, axes, out_s, out_zp, keep_dims=keep))
    _check(g.build(), [x], expected, tflm=tflm)


@pytest.mark.parametrize("seed", range(N_CASES))
def test_mean(seed: int) -> None:
    rng = np.random.default_rng(9000 + seed)
    if seed % 4 == 0:  # global average pooling: NHWC over H and W
        shape, axes = (int(rng.integers(1, 3)), *(int(v) for v in rng.integers(1, 12, 3))), [1, 2]
    else:
        shape, axes = _mean_case(rng, 5, 2)
    _mean_run(rng, shape, axes, tflm=True)


@pytest.mark.parametrize("seed", range(N_CASES))
def test_mean_numpy_only(seed: int) -> None:
    """More than two reduced axes and rank 6: beyond TFLM's fixed scratch arrays."""
    rng = np.random.default_rng(9500 + seed)
    shape, axes = _mean_case(rng, 6, 6)
    if seed % 3 == 0:
        shape, axes = (1, 3, 4, 5), [0, 1, 2, 3]  # everything: one value
    _mean_run(rng, shape, axes, tflm=False)


def test_mean_multiplier_folds_count_like_tflm() -> None:
    # count = 2^k: M is unchanged and the shift drops by k; the clamp at 31 + shift.
    assert ref.mean_multiplier(0.5, 0.5, 16) == (1 << 30, 1 - 4)
    m, s = ref.mean_multiplier(2.0**-31, 1.0, 3)  # shift -30 leaves room for one bit only
    assert s == -31 and m == ((1 << 30) << 1) // 3


# *** CONCATENATION ***


def _concat_case(rng, max_rank: int):
    rank = int(rng.integers(1, max_rank + 1))
    base = [int(v) for v in rng.integers(1, 5, rank)]
    axis = int(rng.integers(-rank, rank))
    k = int(rng.integers(1, 6))
    shapes = []
    for _ in range(k):
        s = list(base)
        s[axis] = int(rng.integers(1, 5))
        shapes.append(tuple(s))
    return shapes, axis


@pytest.mark.parametrize("seed", range(N_CASES))
def test_concatenation(seed: int) -> None:
    rng = np.random.default_rng(10000 + seed)
    shapes, axis = _concat_case(rng, 6)
    in_s, in_zp = _qparams(rng)
    xs = [rng.integers(-128, 128, s, dtype=np.int8) for s in shapes]
    m, sh = ref.requant_params(in_s, in_s)
    assert (m, sh) == (1 << 30, 1)  # the identity: a plain copy
    expected = ref.concatenation(xs, axis, [in_zp] * len(xs), [(m, sh)] * len(xs), in_zp)
    np.testing.assert_array_equal(expected, np.concatenate(xs, axis=axis))

    g = TFLiteGraph()
    ts = [g.input(f"x{i}", x.shape, in_s, in_zp) for i, x in enumerate(xs)]
    g.output(g.concatenation(ts, axis))
    _check(g.build(), xs, expected)


@pytest.mark.parametrize("seed", range(N_CASES))
def test_concatenation_requantized_numpy_only(seed: int) -> None:
    """Inputs with their own scales and zero points (TFLM refuses these)."""
    rng = np.random.default_rng(10500 + seed)
    shapes, axis = _concat_case(rng, 5)
    qs = [_qparams(rng) for _ in shapes]
    if seed % 4 == 0:  # one input already on the output quantization: copied as is
        qs[0] = (0.05, 7)
    out_s, out_zp = 0.05, 7
    if seed % 3 == 0:
        out_s = float(rng.uniform(0.001, 0.02))  # multipliers > 1 and saturation
    xs = [rng.integers(-128, 128, s, dtype=np.int8) for s in shapes]
    rq = [ref.requant_params(s, out_s) for s, _ in qs]
    expected = ref.concatenation(xs, axis, [z for _, z in qs], rq, out_zp)
    # The fixed-point rescale is within one unit of TFLite's float ConcatenationWithScaling.
    approx = np.concatenate(
        [
            np.clip(np.round((x.astype(np.float64) - z) * s / out_s) + out_zp, -128, 127)
            for x, (s, z) in zip(xs, qs)
        ],
        axis=axis,
    )
    assert np.max(np.abs(approx - expected)) <= 1

    g = TFLiteGraph()
    ts = [g.input(f"x{i}", x.shape, s, z) for i, (x, (s, z)) in enumerate(zip(xs, qs))]
    g.output(g.concatenation(ts, axis, out_s, out_zp))
    _check(g.build(), xs, expected, tflm=False)


def test_concatenation_with_a_constant() -> None:
    rng = np.random.default_rng(10999)
    x = rng.integers(-128, 128, (1, 3, 4, 2), dtype=np.int8)
    c = rng.integers(-128, 128, (1, 3, 4, 3), dtype=np.int8)
    g = TFLiteGraph()
    xt = g.input("x", x.shape, 0.05, 3)
    ct = g.const_int8("c", c, [0.05], [3])
    g.output(g.concatenation([ct, xt], 3))
    _check(g.build(), [x], np.concatenate([c, x], axis=3))


# *** PAD ***


def _pad_run(rng, rank: int, *, tflm: bool) -> None:
    shape = tuple(int(v) for v in rng.integers(1, 6, rank))
    pads = [[int(v) for v in rng.integers(0, 4, 2)] for _ in range(rank)]
    if rng.integers(0, 4) == 0:
        pads[int(rng.integers(0, rank))] = [0, 0]
    in_s, in_zp = _qparams(rng)
    x = rng.integers(-128, 128, shape, dtype=np.int8)
    constant = int(rng.integers(-128, 128)) if rng.integers(0, 3) == 0 else None
    expected = ref.pad(x, pads, in_zp if constant is None else constant)

    g = TFLiteGraph()
    xt = g.input("x", x.shape, in_s, in_zp)
    g.output(g.pad(xt, pads, constant=constant))
    _check(g.build(), [x], expected, tflm=tflm)


@pytest.mark.parametrize("seed", range(N_CASES))
def test_pad(seed: int) -> None:
    rng = np.random.default_rng(11000 + seed)
    _pad_run(rng, 1 + seed % 5, tflm=True)


@pytest.mark.parametrize("seed", range(10))
def test_pad_rank6_numpy_only(seed: int) -> None:
    _pad_run(np.random.default_rng(11500 + seed), 6, tflm=False)


# *** LOGISTIC, TANH ***

_ACT_SCALES = [0.002, 0.01, 0.02, 0.03125, 0.05, 0.0625, 0.1, 0.2, 0.5, 1.0]


def _transcendental_case(rng, seed: int):
    in_s = _ACT_SCALES[seed % len(_ACT_SCALES)] if seed < len(_ACT_SCALES) else float(rng.uniform(0.003, 0.3))
    in_zp = int(rng.integers(-128, 128))
    rank = int(rng.integers(1, 5))
    shape = tuple(int(v) for v in rng.integers(1, 9, rank))
    shape = (*shape[:-1], shape[-1] + 256)  # room for every int8 value
    return in_s, in_zp, _full_range(rng, shape)


@pytest.mark.parametrize("seed", range(N_CASES))
def test_logistic(seed: int) -> None:
    rng = np.random.default_rng(12000 + seed)
    in_s, in_zp, x = _transcendental_case(rng, seed)
    m, shift, radius = ref.logistic_params(in_s)
    expected = ref.logistic(x, in_zp, radius, m, shift)
    g = TFLiteGraph()
    g.output(g.logistic(g.input("x", x.shape, in_s, in_zp)))
    got = _check(g.build(), [x], expected)
    assert len(np.unique(got)) > 2


@pytest.mark.parametrize("seed", range(N_CASES))
def test_tanh(seed: int) -> None:
    rng = np.random.default_rng(13000 + seed)
    in_s, in_zp, x = _transcendental_case(rng, seed)
    m, shift, radius = ref.tanh_params(in_s)
    expected = ref.tanh(x, in_zp, radius, m, shift)
    g = TFLiteGraph()
    g.output(g.tanh(g.input("x", x.shape, in_s, in_zp)))
    got = _check(g.build(), [x], expected)
    assert len(np.unique(got)) > 2


def test_logistic_and_tanh_are_close_to_the_functions() -> None:
    x = np.arange(-128, 128, dtype=np.int8)
    in_s, in_zp = 0.05, 10
    real = (x.astype(np.float64) - in_zp) * in_s
    sig = (ref.logistic(x, in_zp, *_radius_first(ref.logistic_params(in_s))).astype(np.float64) + 128) / 256
    th = ref.tanh(x, in_zp, *_radius_first(ref.tanh_params(in_s))).astype(np.float64) / 128
    assert np.max(np.abs(sig - 1 / (1 + np.exp(-real)))) <= 1 / 256 + 1e-9
    assert np.max(np.abs(th - np.tanh(real))) <= 1 / 128 + 1e-9


def _radius_first(p: tuple[int, int, int]) -> tuple[int, int, int]:
    m, shift, radius = p
    return radius, m, shift


# *** HARD_SWISH ***


@pytest.mark.parametrize("seed", range(N_CASES))
def test_hard_swish(seed: int) -> None:
    rng = np.random.default_rng(14000 + seed)
    in_s = float(rng.choice([0.005, 0.01, 0.02, 0.05, 0.1])) * float(rng.uniform(0.8, 1.25))
    in_zp = int(rng.integers(-100, 100))
    rank = int(rng.integers(1, 5))
    shape = (*(int(v) for v in rng.integers(1, 6, rank - 1)), int(rng.integers(256, 300)))
    x = _full_range(rng, shape)
    real = (x.astype(np.float64) - in_zp) * in_s
    hs = real * np.clip(real + 3, 0, 6) / 6
    out_s, out_zp = _spread_quant(hs)
    if seed % 6 == 0:  # an output multiplier in [0.5, 1): no right shift at the end
        out_s = in_s / 128 * float(rng.uniform(1.05, 1.9))
    params = ref.hard_swish_params(in_s, in_zp, out_s, out_zp)
    if seed % 6 == 0:
        assert params["output_shift"] == 0
    expected = ref.hard_swish(x, params)
    g = TFLiteGraph()
    g.output(g.hard_swish(g.input("x", x.shape, in_s, in_zp), out_s, out_zp))
    got = _check(g.build(), [x], expected)
    if seed % 6:
        # Within a few output steps of the real function (the int16 arithmetic is approximate).
        err = np.abs((got.astype(np.float64) - out_zp) * out_s - hs)
        assert np.max(err) <= 3 * out_s + 0.02 * np.max(np.abs(hs))


def test_hard_swish_output_multiplier_is_divided_in_double() -> None:
    """A scale pair where float32 and double division give different int16 multipliers
    (found by search); tflite-micro matches the double one."""
    in_s, in_zp, out_s, out_zp = 0.16149428486824036, 22, 0.10232707858085632, -27
    x = np.arange(-128, 128, dtype=np.int8)
    params = ref.hard_swish_params(in_s, in_zp, out_s, out_zp)
    hires = np.float32(in_s) * np.float32(1 / 128)
    m32, _ = ref.quantize_multiplier(float(hires / np.float32(out_s)))
    assert ref._downscale_to_int16(m32) != params["output_multiplier"]
    g = TFLiteGraph()
    g.output(g.hard_swish(g.input("x", x.shape, in_s, in_zp), out_s, out_zp))
    _check(g.build(), [x], ref.hard_swish(x, params))


# *** LEAKY_RELU ***


@pytest.mark.parametrize("seed", range(N_CASES))
def test_leaky_relu(seed: int) -> None:
    rng = np.random.default_rng(15000 + seed)
    alpha = float(rng.choice([0.01, 0.1, 0.2, 0.3, 0.5, 0.9, 1.5, 0.0, -0.5]))
    in_s, in_zp = _qparams(rng)
    rank = int(rng.integers(1, 5))
    shape = (*(int(v) for v in rng.integers(1, 5, rank - 1)), int(rng.integers(256, 280)))
    x = _full_range(rng, shape)
    real = (x.astype(np.float64) - in_zp) * in_s
    out_s, out_zp = _spread_quant(np.where(real > 0, real, np.float32(alpha) * real))
    if seed % 7 == 0:
        out_s, out_zp = in_s, in_zp  # the identity branch is then exact
    params = ref.leaky_relu_params(in_s, in_zp, alpha, out_s, out_zp)
    expected = ref.leaky_relu(x, params)
    if seed % 7 == 0:
        np.testing.assert_array_equal(expected[x >= in_zp], x[x >= in_zp])
    g = TFLiteGraph()
    g.output(g.leaky_relu(g.input("x", x.shape, in_s, in_zp), alpha, out_s, out_zp))
    _check(g.build(), [x], expected)


# *** PRELU ***


@pytest.mark.parametrize("seed", range(N_CASES))
def test_prelu(seed: int) -> None:
    """Alpha per channel (the common case), per element, of one value, or broadcast along
    inner dims; slopes of both signs and above 1; rank 1..4 (TFLM's BroadcastPrelu4DSlow)."""
    rng = np.random.default_rng(15500 + seed)
    rank = int(rng.integers(1, 5))
    shape = tuple(int(v) for v in rng.integers(1, 6, rank))
    kind = ("channel", "element", "one", "random")[seed % 4]
    if kind == "channel":
        a_shape = shape[-1:]
    elif kind == "element":
        a_shape = shape
    elif kind == "one":
        a_shape = (1,)
    else:  # any broadcast, aligned right, rank up to x's
        a_shape = tuple(
            d if rng.random() < 0.5 else 1 for d in shape[rank - int(rng.integers(1, rank + 1)) :]
        )
    in_s, in_zp = _qparams(rng)
    slopes = rng.uniform(-0.5, 1.5, a_shape)
    a_s = float(max(np.abs(slopes).max(), 0.05) / 100.0)
    a_zp = int(rng.integers(-20, 20))
    alpha = np.clip(np.round(slopes / a_s) + a_zp, -128, 127).astype(np.int8)
    x = _full_range(rng, shape)
    real_x = (x.astype(np.float64) - in_zp) * in_s
    real_a = (alpha.astype(np.float64) - a_zp) * a_s
    out_s, out_zp = _spread_quant(np.where(real_x >= 0, real_x, real_x * real_a))
    params = ref.prelu_params(in_s, in_zp, a_s, a_zp, out_s, out_zp)
    expected = ref.prelu(x, alpha, params)
    g = TFLiteGraph()
    g.output(g.prelu(g.input("x", shape, in_s, in_zp), alpha, a_s, a_zp, out_s, out_zp))
    _check(g.build(), [x], expected)


# *** RESIZE_NEAREST_NEIGHBOR ***


@pytest.mark.parametrize("seed", range(N_CASES))
def test_resize_nearest(seed: int) -> None:
    """Up, down and mixed sizes, every align_corners / half_pixel_centers combination TFLite's
    converter writes (not both)."""
    rng = np.random.default_rng(16500 + seed)
    n, h, w, ch = (int(v) for v in (rng.integers(1, 3), *rng.integers(1, 9, 2), rng.integers(1, 6)))
    out_h, out_w = (int(v) for v in rng.integers(1, 17, 2))
    align, half = [(False, False), (True, False), (False, True)][seed % 3]
    g = TFLiteGraph()
    x = g.input("x", (n, h, w, ch), *_qparams(rng))
    g.output(g.resize_nearest(x, (out_h, out_w), align_corners=align, half_pixel_centers=half))
    data = rng.integers(-128, 128, (n, h, w, ch), dtype=np.int8)
    _check(g.build(), [data], ref.resize_nearest(data, out_h, out_w, align, half))


# *** ops14: RESIZE_BILINEAR ***


@pytest.mark.parametrize("seed", range(N_CASES))
def test_resize_bilinear(seed: int) -> None:
    """Up, down and mixed sizes, every align_corners / half_pixel_centers combination TFLite
    allows (not both): TFLM's 10-bit integer interpolation, byte for byte."""
    rng = np.random.default_rng(26000 + seed)
    n, h, w, ch = (int(v) for v in (rng.integers(1, 3), *rng.integers(1, 9, 2), rng.integers(1, 6)))
    out_h, out_w = (int(v) for v in rng.integers(1, 17, 2))
    align, half = [(False, False), (True, False), (False, True)][seed % 3]
    g = TFLiteGraph()
    x = g.input("x", (n, h, w, ch), *_qparams(rng))
    g.output(g.resize_bilinear(x, (out_h, out_w), align_corners=align, half_pixel_centers=half))
    data = _full_range(rng, (n, h, w, ch))
    _check(g.build(), [data], ref.resize_bilinear(data, out_h, out_w, align, half))


def test_resize_bilinear_refuses_what_tflm_would_read_past() -> None:
    """1 -> 2048 rows: TFLM's rounded 10-bit scale is 1 and its last low index is 1, past the
    one input row; the converter names it instead of writing a file."""
    g = TFLiteGraph()
    g.output(g.resize_bilinear(g.input("x", (1, 1, 2, 1), 0.05, 0), (2048, 2)))
    with pytest.raises(Exception, match="10-bit positions leave the input"):
        convert(g.build())


# *** ops14: TRANSPOSE_CONV ***


@pytest.mark.parametrize("seed", range(N_CASES))
def test_transpose_conv(seed: int) -> None:
    """Strides 1-3, SAME and VALID, every output size TFLite's output_shape allows for them
    (TF's output_padding), with and without a bias: TFLM's scatter, byte for byte."""
    rng = np.random.default_rng(27000 + seed)
    n = int(rng.choice([1, 1, 2]))
    h, w = (int(v) for v in rng.integers(1, 7, 2))
    kh, kw = (int(v) for v in rng.integers(1, 5, 2))
    sh, sw = (int(v) for v in rng.choice([1, 2, 3], 2))
    padding = str(rng.choice(["SAME", "VALID"]))
    cin, cout = (int(v) for v in rng.integers(1, 6, 2))

    def out_size(i: int, k: int, s: int) -> int:  # any size whose window count gives i back
        if padding == "SAME":
            return (i - 1) * s + 1 + int(rng.integers(0, s))
        return (i - 1) * s + k + int(rng.integers(0, s))

    oh, ow = out_size(h, kh, sh), out_size(w, kw, sw)
    in_s, in_zp = _qparams(rng)
    wq = rng.integers(-127, 128, (cout, kh, kw, cin), dtype=np.int8)
    w_s = rng.uniform(0.002, 0.02, cout).astype(np.float32)
    bias = rng.integers(-5000, 5000, cout).astype(np.int32) if rng.integers(0, 4) else None
    x = _full_range(rng, (n, h, w, cin))
    pad = (ref.transpose_conv_padding(oh, kh, sh, padding), ref.transpose_conv_padding(ow, kw, sw, padding))
    acc = ref.transpose_conv(x, wq, bias, 1, 0, (sh, sw), pad, (oh, ow), -in_zp, return_acc=True)
    out_s, out_zp = _spread_quant(acc * in_s * w_s.astype(np.float64))
    mult, shift = ref.conv_params(in_s, w_s, out_s)
    expected = ref.transpose_conv(x, wq, bias, mult, shift, (sh, sw), pad, (oh, ow), -in_zp, out_zp)
    g = TFLiteGraph()
    xt = g.input("x", x.shape, in_s, in_zp)
    wt = g.const_int8("w", wq, w_s, quantized_dimension=0)
    bt = None if bias is None else g.const_int32("b", bias, np.float32(in_s) * w_s)
    g.output(g.transpose_conv(xt, wt, bt, out_s, out_zp, (oh, ow), stride=(sh, sw), padding=padding))
    got = _check(g.build(), [x], expected)
    assert len(np.unique(got)) > 1 or np.ptp(acc) == 0  # the output scale spreads the sums


# *** TRANSPOSE ***

_PERMS = [p for r in range(1, 5) for p in itertools.permutations(range(r))]


@pytest.mark.parametrize("perm", _PERMS, ids=lambda p: "".join(map(str, p)))
def test_transpose_every_permutation_up_to_rank4(perm: tuple[int, ...]) -> None:
    rng = np.random.default_rng(16000 + len(perm) * 100 + sum(p * 10**i for i, p in enumerate(perm)))
    shape = tuple(int(v) for v in rng.integers(1, 6, len(perm)))
    x = rng.integers(-128, 128, shape, dtype=np.int8)
    g = TFLiteGraph()
    g.output(g.transpose(g.input("x", x.shape, 0.05, 3), perm))
    _check(g.build(), [x], ref.transpose(x, perm))


@pytest.mark.parametrize("seed", range(20))
def test_transpose_rank5(seed: int) -> None:
    rng = np.random.default_rng(16500 + seed)
    perm = [int(v) for v in rng.permutation(5)]
    x = rng.integers(-128, 128, tuple(int(v) for v in rng.integers(1, 5, 5)), dtype=np.int8)
    g = TFLiteGraph()
    g.output(g.transpose(g.input("x", x.shape, 0.05, 3), perm))
    _check(g.build(), [x], ref.transpose(x, perm))


@pytest.mark.parametrize("seed", range(10))
def test_transpose_rank6_numpy_only(seed: int) -> None:
    rng = np.random.default_rng(16800 + seed)
    perm = [int(v) for v in rng.permutation(6)]
    x = rng.integers(-128, 128, tuple(int(v) for v in rng.integers(1, 4, 6)), dtype=np.int8)
    g = TFLiteGraph()
    g.output(g.transpose(g.input("x", x.shape, 0.05, 3), perm))
    _check(g.build(), [x], ref.transpose(x, perm), tflm=False)


# *** all ten in one model: chained bytes, and the loader under mutation ***


def _chain_reference(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    lo, _ = ref.activation_range("RELU", 0.05, 3)
    out_hw, pad = zip(*(ref.compute_padding("SAME", 6, 2, 1) for _ in range(2)))
    a = ref.max_pool2d(x, 2, 1, pad, lo, 127, out_hw)
    b = ref.mul(a, c, ref.mul_params(0.05, 3, 0.02, -1, 0.03, 0))
    p = ref.pad(b, [[0, 0], [1, 1], [0, 2], [0, 0]], 0)
    t = ref.transpose(p, [0, 3, 1, 2])
    lr = ref.leaky_relu(t, ref.leaky_relu_params(0.03, 0, 0.1, 0.02, -5))
    h = ref.hard_swish(lr, ref.hard_swish_params(0.02, -5, 0.02, -20))
    m, s, radius = ref.logistic_params(0.02)
    sig = ref.logistic(h, -20, radius, m, s)
    m, s, radius = ref.tanh_params(0.02)
    th = ref.tanh(lr, -5, radius, m, s)
    rq = [ref.requant_params(1 / 256, 1 / 128), ref.requant_params(1 / 128, 1 / 128)]
    cat = ref.concatenation([sig, th], 1, [-128, 0], rq, 0)
    mm, ms = ref.mean_multiplier(1 / 128, 0.01, 64)
    return ref.mean(cat, [2, 3], False, 0, 0, mm, ms)


def test_all_ops_chained() -> None:
    tfl, consts = build_chain()
    it = Interpreter(convert(tfl))
    rng = np.random.default_rng(17000)
    for _ in range(20):
        x = rng.integers(-128, 128, (1, 6, 6, 4), dtype=np.int8)
        expected = _chain_reference(x, consts["c"])
        np.testing.assert_array_equal(it.run(x), expected)
    assert [op.name for op in it.model.ops] == [
        "MAX_POOL_2D",
        "MUL",
        "PAD",
        "TRANSPOSE",
        "LEAKY_RELU",
        "HARD_SWISH",
        "LOGISTIC",
        "TANH",
        "CONCATENATION",
        "MEAN",
    ]


def test_loader_fuzz_on_the_new_ops() -> None:
    """Every mutant is refused with ModelFormatError or runs (no kernel error, no crash)."""
    from support.picoq_mutate import fuzz

    out = fuzz(convert(build_chain()[0]), 2000, seed=5)
    assert out["rejected"] > 500 and out["ran"] > 0, out


# *** the loader's contract for the new ops, and the importer's refusals ***


def _patched(data: bytes, op_name: str, param: str, value: int) -> bytes:
    """`data` with one op parameter changed (checksum resealed)."""
    from picoq.runtime import format as fmt
    from picoq.runtime import read_model

    from support.picoq_mutate import reseal, sections

    m = read_model(data)
    op = next(o for o in m.ops if o.name == op_name)
    spec = fmt.OPS[op.opcode]
    at = (
        sections(data)[b"OPS_"][0] + op.index * fmt.OP_DTYPE.itemsize + 16 + 4 * spec.param_names.index(param)
    )
    buf = bytearray(data)
    buf[at : at + 4] = int(value).to_bytes(4, "little", signed=True)
    reseal(buf)
    return bytes(buf)


@pytest.mark.parametrize(
    ("op_name", "param", "value"),
    [
        ("MUL", "output_shift", 15),  # (a + o1)(b + o2) * 2^15 could leave int32
        ("MUL", "input1_offset", 129),
        ("PAD", "after_2", 3),  # output shape no longer follows
        ("PAD", "before_5", 1),  # beyond the rank
        ("PAD", "pad_value", 128),
        ("TRANSPOSE", "perm_1", 0),  # not a permutation
        ("TRANSPOSE", "perm_4", 1),  # beyond the rank
        ("LEAKY_RELU", "alpha_shift", 23),
        ("LEAKY_RELU", "identity_multiplier", 12345),
        ("HARD_SWISH", "output_shift", 1),
        ("HARD_SWISH", "reluish_multiplier", 40000),
        ("LOGISTIC", "input_range_radius", 1 << 30),  # would let d * 2^shift overflow
        ("TANH", "input_left_shift", 31),
        ("CONCATENATION", "axis", 2),
        ("MEAN", "axis_mask", 16),
        ("MEAN", "keep_dims", 1),  # the stored output shape is the keep_dims=False one
        ("MEAN", "shift", 30),  # 256 * 64 * 2^30 leaves int32
        ("MAX_POOL_2D", "filter_h", 0),
    ],
)
def test_loader_refuses_bad_parameters(op_name: str, param: str, value: int) -> None:
    from picoq.runtime import ModelFormatError

    data = convert(build_chain()[0])
    Interpreter(data)  # the original loads
    with pytest.raises(ModelFormatError, match=op_name):
        Interpreter(_patched(data, op_name, param, value))


def test_loader_refuses_a_bad_concatenation_table() -> None:
    from picoq.runtime import ModelFormatError, read_model

    from support.picoq_mutate import reseal

    data = convert(build_chain()[0])
    m = read_model(data)
    op = next(o for o in m.ops if o.name == "CONCATENATION")
    table = m.tensors[op.inputs[-1]]
    for col, value in ((1, 23), (0, 5), (2, -128)):  # shift, multiplier, input offset
        buf = bytearray(data)
        at = table.offset + 4 * col
        buf[at : at + 4] = value.to_bytes(4, "little", signed=True)
        reseal(buf)
        with pytest.raises(ModelFormatError, match="requant"):
            read_model(bytes(buf))


def test_import_refusals() -> None:
    from picoq.converter import ConversionError

    g = TFLiteGraph()
    a = g.input("a", (1, 4), 0.05, 0)
    b = g.input("b", (1, 4), 0.05, 0)
    g.output(g.concatenation([a, b], 1, activation="RELU"))
    with pytest.raises(ConversionError, match="fused activation on CONCATENATION"):
        convert(g.build())

    g = TFLiteGraph()
    x = g.input("x", (1, 4), 0.05, 0)
    y = g.logistic(x)
    object.__setattr__(y, "scales", (0.01,))  # not the int8 spec's 1/256
    g.output(y)
    with pytest.raises(ConversionError, match="LOGISTIC output must have scale"):
        convert(g.build())

    g = TFLiteGraph()
    a = g.input("a", (1, 4), 0.5, 0)
    b = g.input("b", (1, 4), 0.5, 0)
    g.output(g.mul(a, b, 1e-5, 0))  # multiplier 25000: beyond picoq's shift cap of 14
    with pytest.raises(ConversionError, match="MUL"):
        convert(g.build())


@pytest.mark.parametrize("seed", range(N_CASES))
def test_slice(seed: int) -> None:
    """SLICE (a copy): rank 1..5 (TFLM's limit), random boxes, a size of -1 in some."""
    rng = np.random.default_rng(4000 + seed)
    rank = int(rng.integers(1, 6))
    shape = tuple(int(d) for d in rng.integers(1, 7, rank))
    begin = [int(rng.integers(0, d)) for d in shape]
    size = [int(rng.integers(1, d - b + 1)) if rng.random() < 0.8 else -1 for d, b in zip(shape, begin)]
    g = TFLiteGraph()
    x = g.input("x", shape, *_qparams(rng))
    g.output(g.slice(x, begin, size))
    data = rng.integers(-128, 128, shape, dtype=np.int8)
    box = tuple(slice(b, d if s == -1 else b + s) for d, b, s in zip(shape, begin, size))
    _check(g.build(), [data], data[box])  # the numpy reference of a slice is the slice


@pytest.mark.parametrize("seed", range(N_CASES))
def test_strided_slice(seed: int) -> None:
    """STRIDED_SLICE (positive strides; picoq runs it as RESHAPE / PAD / SLICE ops): rank 1..5,
    random bounds, some negative, masks and offset in some cases. TFLM takes rank 4 at most:
    rank 5 is checked against numpy alone."""
    rng = np.random.default_rng(4500 + seed)
    rank = int(rng.integers(1, 6))
    shape = tuple(int(d) for d in rng.integers(1, 8, rank))
    begin, end, strides, sl = [], [], [], []
    masks = {"begin_mask": 0, "end_mask": 0, "shrink_axis_mask": 0}
    offset = bool(rng.random() < 0.2)
    for d, n in enumerate(shape):
        k = int(rng.choice([1, 2, 3, 4]))
        b = int(rng.integers(0, n))
        e = int(rng.integers(b + 1, n + 1))
        if rng.random() < 0.3:  # counted from the end
            b, e = b - n, e - n if e < n else e
        begin.append(b)
        end.append(e - b if offset else e)
        strides.append(k)
        mask = rng.choice(["begin", "end", "shrink", "none", "none", "none"])
        if mask != "none":
            masks[f"{mask}_mask" if mask != "shrink" else "shrink_axis_mask"] |= 1 << d
        if mask == "shrink":
            sl.append(b)
        else:
            sl.append(slice(None if mask == "begin" else b, None if mask == "end" else e, k))
    g = TFLiteGraph()
    x = g.input("x", shape, *_qparams(rng))
    g.output(g.strided_slice(x, begin, end, strides, offset=offset, **masks))
    data = rng.integers(-128, 128, shape, dtype=np.int8)
    _check(g.build(), [data], np.asarray(data[tuple(sl)]), tflm=rank <= 4)  # numpy's slicing of the bounds


def test_strided_slice_refusals() -> None:
    from picoq.converter import ConversionError

    g = TFLiteGraph()
    x = g.input("x", (1, 6, 6, 4), 0.05, 0)
    g.output(g.strided_slice(x, [0, 5, 0, 0], [1, 0, 6, 4], [1, -1, 1, 1]))
    with pytest.raises(ConversionError, match="only positive strides"):
        convert(g.build())


@pytest.mark.parametrize("seed", range(N_CASES))
def test_batch_matmul(seed: int) -> None:
    """BATCH_MATMUL of two int8 inputs: rank 2..5 (TFLM's range), batch dims broadcast both ways,
    adj_x / adj_y, zero points on both operands, output scales from tight to loose."""
    rng = np.random.default_rng(4100 + seed)
    rank_a, rank_b = (int(v) for v in rng.integers(2, 6, 2))
    batch = [int(d) for d in rng.integers(1, 4, max(rank_a, rank_b) - 2)]
    # each operand keeps a suffix of the batch dims, some of them 1 (broadcast)
    bat_a = [1 if rng.random() < 0.3 else d for d in batch[len(batch) - (rank_a - 2) :]]
    bat_b = [1 if rng.random() < 0.3 else d for d in batch[len(batch) - (rank_b - 2) :]]
    m, k, n = (int(v) for v in rng.integers(1, 9, 3))
    adj_x, adj_y = bool(rng.random() < 0.5), bool(rng.random() < 0.5)
    (sa, za), (sb, zb) = _qparams(rng), _qparams(rng)
    g = TFLiteGraph()
    a = g.input("a", (*bat_a, *((k, m) if adj_x else (m, k))), sa, za)
    b = g.input("b", (*bat_b, *((n, k) if adj_y else (k, n))), sb, zb)
    da = rng.integers(-128, 128, a.shape, dtype=np.int8)
    db = rng.integers(-128, 128, b.shape, dtype=np.int8)
    real = (
        np.matmul(
            np.swapaxes(da - za, -1, -2) if adj_x else da - za,
            np.swapaxes(db - zb, -1, -2) if adj_y else db - zb,
        ).astype(np.float64)
        * sa
        * sb
    )
    so, zo = _spread_quant(real * float(rng.uniform(0.6, 1.4)))
    g.output(g.batch_matmul(a, b, so, zo, adj_x=adj_x, adj_y=adj_y))
    expected = ref.batch_matmul(da, db, sa, za, sb, zb, so, zo, adj_x, adj_y)
    _check(g.build(), [da, db], expected)


@pytest.mark.parametrize("seed", range(N_CASES))
def test_gather(seed: int) -> None:
    """GATHER with constant int32 indices: rank 1..5 values, indices of rank 0..2 beyond the
    batch dims (repeats, any order), any axis (negative too), batch_dims 0..2."""
    rng = np.random.default_rng(4200 + seed)
    rank = int(rng.integers(1, 6))
    shape = tuple(int(d) for d in rng.integers(1, 6, rank))
    batch_dims = int(rng.integers(0, min(rank - 1, 2) + 1))
    axis = int(rng.integers(batch_dims, rank))
    idx_shape = (*shape[:batch_dims], *(int(d) for d in rng.integers(1, 4, int(rng.integers(0, 3)))))
    idx = rng.integers(0, shape[axis], idx_shape).astype(np.int32)
    g = TFLiteGraph()
    x = g.input("x", shape, *_qparams(rng))
    g.output(g.gather(x, idx, axis=axis - rank if rng.random() < 0.3 else axis, batch_dims=batch_dims))
    data = rng.integers(-128, 128, shape, dtype=np.int8)
    # numpy: along `axis`, each batch's own indices (np.take per batch element)
    lead = int(np.prod(shape[:batch_dims], dtype=np.int64))
    xs = data.reshape(lead, *shape[batch_dims:])
    ids = idx.reshape(lead, *idx.shape[batch_dims:])
    out = np.stack([np.take(xs[i], ids[i], axis=axis - batch_dims) for i in range(lead)])
    _check(g.build(), [data], out.reshape((*shape[:axis], *idx.shape[batch_dims:], *shape[axis + 1 :])))
