"""Tests of the test oracles themselves (support/bigint_fixedpoint.py, support/reference_ops.py).

Why: picoq's kernels are judged by these oracles, so an oracle bug would pass wrong kernels.
Every check here compares an oracle with evidence that does not share its code:

- exact ``Fraction`` definitions ("nearest, ties up/away") and literal transcriptions of the
  gemmlowp/TFLM C (truncating division, masks) for the fixed-point primitives;
- the scalar bigint oracle for the vectorised numpy primitives;
- one kernel against another that computes the same thing another way (1x1 conv == FC,
  depthwise == grouped conv), float64 ``einsum`` accumulators, float references with error
  bounds derived from the rounding steps;
- and, when the ``tflite_micro`` package is installed, TFLM itself: single-op models built with
  tflite_builder.py, plus a "bias probe" that feeds chosen int32 accumulators straight into
  TFLM's requantization.
"""

from __future__ import annotations

import math
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from support import bigint_fixedpoint as bf
from support import reference_ops as ro

I32_MIN, I32_MAX = bf.INT32_MIN, bf.INT32_MAX
HALF = Fraction(1, 2)

int32s = st.one_of(
    st.integers(I32_MIN, I32_MAX),
    st.sampled_from([I32_MIN, I32_MIN + 1, -(2**30), -2, -1, 0, 1, 2, 2**30, I32_MAX - 1, I32_MAX]),
)
multipliers = st.one_of(st.integers(2**30, I32_MAX), int32s)  # QuantizeMultiplier gives [2^30, 2^31)


# *** independent definitions ***


def nearest(v: Fraction, ties: str) -> int:
    """Nearest integer to ``v``; at an exact half, ``ties="up"`` takes the larger, ``"away"`` the larger magnitude."""
    lo = math.floor(v)
    rem = v - lo
    if rem < HALF:
        return lo
    if rem > HALF:
        return lo + 1
    if ties == "up":
        return lo + 1
    return lo + 1 if v > 0 else lo


def c_div(a: int, b: int) -> int:
    """C integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def c_srdhm(a: int, b: int) -> int:
    """gemmlowp SaturatingRoundingDoublingHighMul<int32>, transcribed."""
    overflow = a == b == I32_MIN
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    return I32_MAX if overflow else c_div(ab + nudge, 1 << 31)


def c_rdpot(x: int, exponent: int) -> int:
    """gemmlowp RoundingDivideByPOT, transcribed (Python's & and >> on ints act as on two's complement)."""
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def c_mbqm(x: int, m: int, shift: int) -> int:
    """TFLM MultiplyByQuantizedMultiplier (common.cc, double rounding), transcribed with int32 wraparound."""
    left = shift if shift > 0 else 0
    right = 0 if shift > 0 else -shift
    return c_rdpot(c_srdhm(bf.wrap_int32(x * bf.wrap_int32(1 << left)), m), right)


def single_rounding(x: int, m: int, shift: int) -> int:
    """TFLITE_SINGLE_ROUNDING's MultiplyByQuantizedMultiplier (not the default; used to tell them apart)."""
    total = 31 - shift
    return (x * m + (1 << (total - 1))) >> total


def frexp_quantize_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier redone with math.frexp and exact float steps (no Fraction)."""
    if real == 0:
        return 0, 0
    q, shift = math.frexp(real)
    v = abs(q) * 2.0**31  # exact: a power-of-two scaling of a double
    lo = math.floor(v)
    r = lo + 1 if v - lo >= 0.5 else lo  # v - floor(v) is exact
    r = r if q > 0 else -r
    if r == 2**31:
        r, shift = 2**30, shift + 1
    if shift < -31:
        return 0, 0
    return r, shift


# *** bigint primitives ***


@st.composite
def srdhm_ties(draw: st.DrawFn) -> tuple[int, int]:
    """Operands whose product is an odd multiple of 2^30, i.e. exactly halfway between results."""
    j = draw(st.integers(0, 30))
    odd = draw(st.integers(-(2 ** (30 - j)), 2 ** (30 - j) - 1)) * 2 + 1
    sign = draw(st.sampled_from([1, -1]))
    return odd * 2**j, sign * 2 ** (30 - j)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.tuples(int32s, int32s), srdhm_ties()))
@example((I32_MIN, I32_MIN))
@example((I32_MIN, I32_MAX))
@example((1, 2**30))  # +0.5 -> 1
@example((-1, 2**30))  # -0.5 -> 0
def test_srdhm_is_round_half_up_of_exact_product(ab: tuple[int, int]) -> None:
    a, b = ab
    expected = I32_MAX if a == b == I32_MIN else nearest(Fraction(a * b, 2**31), "up")
    assert bf.srdhm(a, b) == expected
    assert bf.srdhm(a, b) == c_srdhm(a, b)
    assert I32_MIN <= bf.srdhm(a, b) <= I32_MAX


@st.composite
def rdpot_ties(draw: st.DrawFn) -> tuple[int, int]:
    e = draw(st.integers(1, 31))
    k = draw(st.integers(-(2 ** (31 - e)), 2 ** (31 - e) - 1))
    return (2 * k + 1) * 2 ** (e - 1), e


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.tuples(int32s, st.integers(0, 31)), rdpot_ties()))
@example((-3, 1))
@example((3, 1))
@example((I32_MIN, 31))
@example((I32_MAX, 31))
def test_rdpot_is_round_half_away_of_exact_quotient(xe: tuple[int, int]) -> None:
    x, e = xe
    assume(I32_MIN <= x <= I32_MAX)
    assert bf.rdpot(x, e) == nearest(Fraction(x, 2**e), "away")
    assert bf.rdpot(x, e) == c_rdpot(x, e)


def test_rdpot_pinned_values() -> None:
    """INT8_SPEC: ties round away from zero (-1.5 -> -2)."""
    assert [bf.rdpot(v, 1) for v in (-3, -1, 1, 3)] == [-2, -1, 1, 2]
    assert bf.rdpot(12345, 0) == 12345


@settings(max_examples=600, deadline=None)
@given(int32s, multipliers, st.integers(-31, 31))
@example(-2, 2**30, -1)
@example(2**30, 2**30, 2)  # x * 4 wraps to 0 in int32
@example(I32_MIN, I32_MIN, 0)
@example(I32_MAX, I32_MAX, 31)
def test_mbqm_matches_c_transcription(x: int, m: int, shift: int) -> None:
    assert bf.mbqm(x, m, shift) == c_mbqm(x, m, shift)


@settings(max_examples=400, deadline=None)
@given(st.integers(-(2**24), 2**24), st.integers(2**30, I32_MAX), st.integers(-31, 0))
def test_mbqm_is_within_double_rounding_error_of_exact(x: int, m: int, shift: int) -> None:
    """Two roundings: |mbqm - x*m*2^(shift-31)| <= 1/2 + 2^-(right+1), and never more."""
    exact = Fraction(x * m, 2 ** (31 - shift))
    assert abs(bf.mbqm(x, m, shift) - exact) <= HALF + Fraction(1, 2 ** (-shift + 1))


def test_mbqm_is_double_not_single_rounding() -> None:
    """The two differ on negative exact ties and just below positive ties (INT8_SPEC section 2)."""
    assert (bf.mbqm(-2, 2**30, -1), single_rounding(-2, 2**30, -1)) == (-1, 0)  # -0.5
    # 85126.636 / 2: srdhm rounds to 85127, then 42563.5 rounds away to 42564.
    assert (bf.mbqm(153418, 1191568522, -1), single_rounding(153418, 1191568522, -1)) == (42564, 42563)


def test_mbqm_left_shift_wraps_like_int32() -> None:
    assert bf.mbqm(2**30, 2**30, 2) == 0  # 2^32 wraps to 0
    assert bf.mbqm(2**29 + 1, 2**30, 2) == bf.srdhm(bf.wrap_int32(2**31 + 4), 2**30)


def test_bigint_rejects_out_of_range() -> None:
    with pytest.raises(ValueError):
        bf.srdhm(2**31, 1)
    with pytest.raises(ValueError):
        bf.rdpot(1, 32)
    with pytest.raises(ValueError):
        bf.mbqm(1, 2**30, -32)


# *** QuantizeMultiplier ***

positive_reals = st.floats(min_value=2.0**-40, max_value=2.0**40, allow_nan=False, allow_infinity=False)


@settings(max_examples=500, deadline=None)
@given(st.one_of(positive_reals, positive_reals.map(lambda v: -v)))
@example(1.0)
@example(0.5)
@example(1 - 2.0**-40)  # rounds up to 2^31: fix-up to (2^30, shift + 1)
@example((2**31 + 1) / 2**32)  # q * 2^31 = 2^30 + 0.5 exactly
@example(-(2**31 + 1) / 2**32)
@example(2.0**-32)  # shift -31, kept
@example(2.0**-33)  # shift -32, flushed
def test_quantize_multiplier(real: float) -> None:
    m, shift = bf.quantize_multiplier(real)
    assert (m, shift) == frexp_quantize_multiplier(real)
    if m == 0:
        assert shift == 0 and abs(real) < 2.0**-32
        return
    if real > 0:
        assert 2**30 <= m < 2**31
    # Round trip: m * 2^(shift-31) is within half a unit of m, i.e. 2^-31 relative.
    assert abs(Fraction(m) * Fraction(2) ** (shift - 31) - Fraction(real)) <= Fraction(abs(real)) / 2**31


def test_quantize_multiplier_pinned() -> None:
    assert bf.quantize_multiplier(0.0) == (0, 0)
    assert bf.quantize_multiplier(1 - 2.0**-40) == (2**30, 1)
    assert bf.quantize_multiplier((2**31 + 1) / 2**32) == (2**30 + 1, 0)
    assert bf.quantize_multiplier(-(2**31 + 1) / 2**32) == (-(2**30) - 1, 0)
    assert bf.quantize_multiplier(2.0**-32) == (2**30, -31)
    assert bf.quantize_multiplier(2.0**-33) == (0, 0)
    with pytest.raises(ValueError):
        bf.quantize_multiplier(math.nan)
    with pytest.raises(ValueError):
        bf.quantize_multiplier_smaller_than_one_exp(1.0)
    with pytest.raises(ValueError):
        bf.quantize_multiplier_greater_than_one(1.0)
    assert bf.quantize_multiplier_greater_than_one(3.0) == (3 * 2**29, 2)


# *** numpy primitives vs bigint ***


def _random_int32(rng: np.random.Generator, n: int) -> np.ndarray:
    """int32 values spread over all magnitudes, plus the extremes."""
    bits = rng.integers(0, 32, n)
    v = rng.integers(0, 2**31, n) >> (31 - bits)
    v = np.where(rng.random(n) < 0.5, -v, v)
    edges = np.array([I32_MIN, I32_MIN + 1, -1, 0, 1, I32_MAX - 1, I32_MAX], dtype=np.int64)
    return np.concatenate([v, edges])


def test_srdhm_np_and_rdpot_np_match_bigint() -> None:
    rng = np.random.default_rng(1)
    a, b = _random_int32(rng, 3000), _random_int32(rng, 3000)
    rng.shuffle(b)
    got = ro.srdhm_np(a, b)
    assert got.tolist() == [bf.srdhm(int(p), int(q)) for p, q in zip(a, b, strict=True)]
    e = rng.integers(0, 32, a.size)
    got = ro.rdpot_np(a, e)
    assert got.tolist() == [bf.rdpot(int(p), int(q)) for p, q in zip(a, e, strict=True)]
    ties = (2 * rng.integers(-(2**20), 2**20, 500) + 1) << (e[:500] % 10)
    e_t = e[:500] % 10 + 1
    assert ro.rdpot_np(ties, e_t).tolist() == [
        bf.rdpot(int(p), int(q)) for p, q in zip(ties, e_t, strict=True)
    ]


def test_srdhm_np_saturates_on_all_edge_pairs() -> None:
    edges = np.array([I32_MIN, I32_MIN + 1, -(2**30), -1, 0, 1, 2**30, I32_MAX])
    a, b = np.meshgrid(edges, edges)
    assert ro.srdhm_np(a, b).tolist() == [
        [bf.srdhm(int(p), int(q)) for p, q in zip(r, t, strict=True)] for r, t in zip(a, b, strict=True)
    ]
    assert ro.srdhm_np(I32_MIN, I32_MIN) == I32_MAX


def test_mbqm_np_matches_bigint() -> None:
    rng = np.random.default_rng(2)
    x = _random_int32(rng, 4000)
    m = np.where(rng.random(x.size) < 0.8, rng.integers(2**30, 2**31, x.size), _random_int32(rng, x.size - 7))
    m[:7] = [I32_MIN, I32_MAX, 2**30, 0, -1, 1, I32_MIN]
    shift = rng.integers(-31, 32, x.size)
    got = ro.mbqm_np(x, m, shift)
    want = [bf.mbqm(int(a), int(b), int(c)) for a, b, c in zip(x, m, shift, strict=True)]
    assert got.tolist() == want
    # Broadcasting per-channel arrays along the last axis, as the kernels use it.
    acc = rng.integers(-(2**20), 2**20, (5, 3))
    mc, sc = np.array([2**30, 1500000000, 2**31 - 1]), np.array([-3, -9, 1])
    want2 = [[bf.mbqm(int(acc[i, j]), int(mc[j]), int(sc[j])) for j in range(3)] for i in range(5)]
    assert ro.mbqm_np(acc, mc, sc).tolist() == want2


def test_mbqm_np_rejects_accumulators_outside_int32() -> None:
    with pytest.raises(OverflowError):
        ro.mbqm_np(np.array([2**31]), 2**30, 0)


# *** conv / depthwise / fully connected ***


@st.composite
def conv_cases(draw: st.DrawFn) -> SimpleNamespace:
    """A small grouped conv with random geometry; SAME or VALID sizes as TFLM computes them."""
    n = draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    groups, cin_g, cout_g = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(st.sampled_from(["SAME", "VALID"]))
    oh, ph = ro.compute_padding(padding, h, kh, sh, dh)
    ow, pw = ro.compute_padding(padding, w, kw, sw, dw)
    assume(oh >= 1 and ow >= 1)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    cin, cout = groups * cin_g, groups * cout_g
    return SimpleNamespace(
        x=rng.integers(-128, 128, (n, h, w, cin), dtype=np.int64).astype(np.int8),
        w=rng.integers(-127, 128, (cout, kh, kw, cin_g), dtype=np.int64).astype(np.int8),
        bias=rng.integers(-5000, 5000, cout).astype(np.int32),
        stride=(sh, sw),
        dilation=(dh, dw),
        pad=(ph, pw),
        out_hw=(oh, ow),
        input_offset=int(rng.integers(-127, 129)),
        groups=groups,
        rng=rng,
    )


def naive_conv_acc_f64(c: SimpleNamespace) -> np.ndarray:
    """Accumulators by the definition, in float64: loop over outputs and taps, skip taps outside the image."""
    x = c.x.astype(np.float64) + c.input_offset
    w = c.w.astype(np.float64)
    n, h, wd, cin = x.shape
    cout, kh, kw, cin_g = w.shape
    g = c.groups
    wg = w.reshape(g, cout // g, kh, kw, cin_g)
    acc = np.zeros((n, *c.out_hw, cout))
    for oy in range(c.out_hw[0]):
        for ox in range(c.out_hw[1]):
            for ky in range(kh):
                for kx in range(kw):
                    iy = oy * c.stride[0] - c.pad[0] + ky * c.dilation[0]
                    ix = ox * c.stride[1] - c.pad[1] + kx * c.dilation[1]
                    if 0 <= iy < h and 0 <= ix < wd:
                        xs = x[:, iy, ix, :].reshape(n, g, cin_g)
                        acc[:, oy, ox, :] += np.einsum("ngi,goi->ngo", xs, wg[:, :, ky, kx, :]).reshape(
                            n, cout
                        )
    return acc + c.bias


@settings(max_examples=60, deadline=None)
@given(conv_cases())
def test_conv2d_accumulators_match_float64_einsum(c: SimpleNamespace) -> None:
    acc = ro.conv2d(
        c.x,
        c.w,
        c.bias,
        2**30,
        0,
        c.stride,
        c.dilation,
        c.pad,
        c.input_offset,
        out_hw=c.out_hw,
        return_acc=True,
    )
    assert acc.dtype == np.int32
    np.testing.assert_array_equal(acc.astype(np.float64), naive_conv_acc_f64(c))


@settings(max_examples=40, deadline=None)
@given(conv_cases())
def test_conv2d_output_is_rounded_scaled_accumulator(c: SimpleNamespace) -> None:
    """Requantized output within 1 of clamp(round(acc * M * 2^(shift-31)) + zp), per channel."""
    cout = c.w.shape[0]
    mult = c.rng.integers(2**30, 2**31, cout)
    shift = c.rng.integers(-14, -6, cout)
    zp = int(c.rng.integers(-20, 20))
    lo, hi = -100, 110
    out = ro.conv2d(
        c.x,
        c.w,
        c.bias,
        mult,
        shift,
        c.stride,
        c.dilation,
        c.pad,
        c.input_offset,
        zp,
        lo,
        hi,
        out_hw=c.out_hw,
    )
    real = mult / 2.0 ** (31 - shift)
    want = np.clip(np.round(naive_conv_acc_f64(c) * real) + zp, lo, hi)
    assert out.dtype == np.int8
    assert np.abs(out - want).max() <= 1


@settings(max_examples=40, deadline=None)
@given(conv_cases())
def test_conv2d_1x1_equals_fully_connected(c: SimpleNamespace) -> None:
    w = c.w[:, :1, :1, :]
    x = c.x
    if c.groups > 1:  # FC has no groups: use a dense filter over all channels
        w = c.rng.integers(-127, 128, (c.w.shape[0], 1, 1, x.shape[3])).astype(np.int8)
    mult = c.rng.integers(2**30, 2**31, w.shape[0])
    shift = c.rng.integers(-12, -6, w.shape[0])
    conv = ro.conv2d(x, w, c.bias, mult, shift, 1, 1, 0, c.input_offset, 7, -128, 127)
    fc = ro.fully_connected(
        x.reshape(-1, x.shape[3]), w.reshape(w.shape[0], -1), c.bias, mult, shift, c.input_offset, 0, 7
    )
    np.testing.assert_array_equal(conv.reshape(fc.shape), fc)


@settings(max_examples=40, deadline=None)
@given(conv_cases(), st.integers(1, 3))
def test_depthwise_equals_grouped_conv_with_one_group_per_channel(c: SimpleNamespace, m: int) -> None:
    """Depthwise (multiplier m) is a grouped conv with groups = C and m filters per group."""
    cin = c.x.shape[3]
    kh, kw = c.w.shape[1:3]
    w_dw = c.rng.integers(-127, 128, (1, kh, kw, cin * m)).astype(np.int8)
    bias = c.rng.integers(-5000, 5000, cin * m)
    mult = c.rng.integers(2**30, 2**31, cin * m)
    shift = c.rng.integers(-12, -6, cin * m)
    args = (c.stride, c.dilation, c.pad, c.input_offset, -3, -120, 120)
    dw = ro.depthwise_conv2d(c.x, w_dw, bias, mult, shift, *args, m, out_hw=c.out_hw)
    conv = ro.conv2d(c.x, w_dw.transpose(3, 1, 2, 0), bias, mult, shift, *args, out_hw=c.out_hw)
    np.testing.assert_array_equal(dw, conv)


def test_fully_connected_filter_offset_and_per_tensor() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, (4, 10))
    w = rng.integers(-127, 128, (6, 10))
    acc = ro.fully_connected(x, w, None, 2**30, 0, 5, -2, return_acc=True)
    np.testing.assert_array_equal(
        acc, ((x + 5).astype(np.float64) @ (w - 2).T.astype(np.float64)).astype(np.int64)
    )
    per_tensor = ro.fully_connected(x, w, None, 1234567890, -9, 5, 0, -4)
    per_channel = ro.fully_connected(x, w, None, np.full(6, 1234567890), np.full(6, -9), 5, 0, -4)
    np.testing.assert_array_equal(per_tensor, per_channel)


def test_conv2d_is_fast_enough_and_checks_overflow() -> None:
    rng = np.random.default_rng(4)
    x = rng.integers(-128, 128, (1, 32, 32, 16)).astype(np.int8)
    w = rng.integers(-127, 128, (16, 3, 3, 16)).astype(np.int8)
    out = ro.conv2d(x, w, None, 2**30, -10, 1, 1, 1, 3, 0)  # 32x32x16 -> 32x32x16, well under a second
    assert out.shape == (1, 32, 32, 16)
    big = np.full((1, 4, 4, 1), 127, np.int8)
    with pytest.raises(OverflowError):
        ro.conv2d(big, np.full((1, 1, 1, 1), 127, np.int8), np.array([2**31 - 10]), 2**30, 0)


# *** add ***


def _add_scalar_bigint(a: int, b: int, p: dict[str, int]) -> int:
    """ADD for one element with the bigint oracle (a different code path from reference_ops.add)."""
    v1 = bf.mbqm((a + p["input1_offset"]) * 2 ** p["left_shift"], p["input1_multiplier"], p["input1_shift"])
    v2 = bf.mbqm((b + p["input2_offset"]) * 2 ** p["left_shift"], p["input2_multiplier"], p["input2_shift"])
    out = bf.mbqm(v1 + v2, p["output_multiplier"], p["output_shift"]) + p["output_offset"]
    return min(max(out, p["act_min"]), p["act_max"])


@settings(max_examples=60, deadline=None)
@given(
    st.floats(0.005, 0.5),
    st.floats(0.005, 0.5),
    st.floats(0.01, 1.0),
    st.tuples(st.integers(-128, 127), st.integers(-128, 127), st.integers(-128, 127)),
    st.sampled_from(["NONE", "RELU", "RELU6"]),
    st.integers(0, 2**32 - 1),
)
def test_add_matches_scalar_bigint_and_float(
    s1: float, s2: float, so: float, zps: tuple[int, int, int], act: str, seed: int
) -> None:
    z1, z2, zo = zps
    p = ro.add_params(s1, z1, s2, z2, so, zo, act)
    rng = np.random.default_rng(seed)
    a = rng.integers(-128, 128, (2, 3, 4)).astype(np.int8)
    b = rng.integers(-128, 128, (3, 1)).astype(np.int8)  # broadcasts along the last axis
    out = ro.add(a, b, p)
    assert out.shape == (2, 3, 4) and out.dtype == np.int8
    ab, bb = np.broadcast_arrays(a, b)
    want = [_add_scalar_bigint(int(u), int(v), p) for u, v in zip(ab.ravel(), bb.ravel(), strict=True)]
    assert out.ravel().tolist() == want
    f32 = np.float32
    real = float(f32(s1)) * (ab.astype(np.float64) - z1) + float(f32(s2)) * (bb.astype(np.float64) - z2)
    ref = np.clip(np.round(real / float(f32(so))) + zo, p["act_min"], p["act_max"])
    assert np.abs(out - ref).max() <= 1


# *** average pool ***


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 9),
    st.integers(1, 9),
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(0, 2**32 - 1),
)
def test_avg_pool_valid_windows_equal_rounded_mean(
    h: int, w: int, fh: int, fw: int, sh: int, sw: int, seed: int
) -> None:
    assume(fh <= h and fw <= w)
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (2, h, w, 3)).astype(np.int8)
    out = ro.avg_pool2d(x, (fh, fw), (sh, sw), 0, -128, 127)
    windows = np.lib.stride_tricks.sliding_window_view(x.astype(np.float64), (fh, fw), axis=(1, 2))[
        :, ::sh, ::sw
    ]
    mean = windows.mean(axis=(-2, -1))
    want = np.sign(mean) * np.floor(np.abs(mean) + 0.5)  # half away from zero
    np.testing.assert_array_equal(out, want)


def test_avg_pool_same_padding_counts_only_in_image_taps() -> None:
    rng = np.random.default_rng(5)
    x = rng.integers(-128, 128, (1, 7, 6, 2)).astype(np.int8)
    (oh, ph), (ow, pw) = ro.compute_padding("SAME", 7, 3, 2), ro.compute_padding("SAME", 6, 4, 2)
    out = ro.avg_pool2d(x, (3, 4), 2, (ph, pw), -50, 60, (oh, ow))
    for oy in range(oh):
        for ox in range(ow):
            y0, x0 = oy * 2 - ph, ox * 2 - pw
            win = x[0, max(y0, 0) : y0 + 3, max(x0, 0) : x0 + 4].astype(np.float64)
            mean = win.reshape(-1, 2).mean(axis=0)
            want = np.clip(np.sign(mean) * np.floor(np.abs(mean) + 0.5), -50, 60)
            np.testing.assert_array_equal(out[0, oy, ox], want)
    with pytest.raises(ValueError):
        ro.avg_pool2d(x, 2, 1, 3, out_hw=(9, 8))  # first window entirely in the padding


# *** softmax ***


def test_gemmlowp_constants_are_rounded_reals() -> None:
    """gemmlowp's CHECKED_FIXEDPOINT_CONSTANT asserts raw == round(value * 2^fractional_bits)."""

    def q(value: float, frac_bits: int) -> int:
        return round(value * 2**frac_bits)

    assert ro._EXP_MINUS_ONE_EIGHTH == q(math.exp(-1 / 8), 31)
    assert ro._ONE_THIRD == q(1 / 3, 31)
    assert {k: q(math.exp(-(2.0**k)), 31) for k in ro._EXP_BARREL} == ro._EXP_BARREL
    assert (ro._F2_48_OVER_17, ro._F2_NEG_32_OVER_17) == (q(48 / 17, 29), q(-32 / 17, 29))


# Scalar transcriptions of gemmlowp fixedpoint.h / TFLM common.h (int32 FixedPoint<int32_t, N>).


def _c_add(a: int, b: int) -> int:
    s = a + b
    assert I32_MIN <= s <= I32_MAX, "int32 overflow (undefined in C)"
    return s


def _c_sat_mul_pot(x: int, exponent: int) -> int:
    """SaturatingRoundingMultiplyByPOT<exponent> on int32."""
    if exponent == 0:
        return x
    if exponent < 0:
        return c_rdpot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    if x > threshold:
        return I32_MAX
    if x < -threshold:
        return I32_MIN
    return x * (1 << exponent)


def _c_rescale(x: int, src_int_bits: int, dst_int_bits: int) -> int:
    return _c_sat_mul_pot(x, src_int_bits - dst_int_bits)


def gemmlowp_exp_on_interval(a: int) -> int:
    """exp_on_interval_between_negative_one_quarter_and_0_excl (F0 in, F0 out)."""
    constant_term, constant_1_over_3 = 1895147668, 715827883
    x = _c_add(a, 1 << 28)  # F::ConstantPOT<-3>()
    x2 = c_srdhm(x, x)
    x3 = c_srdhm(x2, x)
    x4 = c_srdhm(x2, x2)
    x4_over_4 = _c_sat_mul_pot(x4, -2)
    t = _c_sat_mul_pot(_c_add(c_srdhm(_c_add(x4_over_4, x3), constant_1_over_3), x2), -1)
    return _c_add(constant_term, c_srdhm(constant_term, _c_add(x, t)))


def gemmlowp_exp_on_negative_values(a: int, int_bits: int = 5) -> int:
    frac_bits = 31 - int_bits
    one_quarter = 1 << (frac_bits - 2)
    mask = one_quarter - 1
    a_mod_quarter_minus_one_quarter = _c_add(a & mask, -one_quarter)
    result = gemmlowp_exp_on_interval(_c_rescale(a_mod_quarter_minus_one_quarter, int_bits, 0))
    remainder = _c_add(a_mod_quarter_minus_one_quarter, -a)
    barrel = [
        (-2, 1672461947),
        (-1, 1302514674),
        (0, 790015084),
        (1, 290630308),
        (2, 39332535),
        (3, 720401),
        (4, 242),
    ]
    for exponent, multiplier in barrel:
        if int_bits > exponent and remainder & (1 << (frac_bits + exponent)):
            result = c_srdhm(result, multiplier)
    if int_bits > 5 and a < -(1 << (36 - int_bits)):
        result = 0
    return I32_MAX if a == 0 else result


def gemmlowp_one_over_one_plus_x(a: int) -> int:
    """one_over_one_plus_x_for_x_in_0_1 (F0 in, F0 out; Newton-Raphson in F2)."""
    s = a + I32_MAX  # RoundingHalfSum(a, F0::One()), int64 inside
    half_denominator = c_div(s + (1 if s >= 0 else -1), 2)
    x = _c_add(1515870810, c_srdhm(half_denominator, -1010580540))
    for _ in range(3):
        half_denominator_times_x = c_srdhm(half_denominator, x)
        one_minus = _c_add(1 << 29, -half_denominator_times_x)  # F2::One() - ...
        x = _c_add(x, _c_rescale(c_srdhm(x, one_minus), 4, 2))
    return _c_rescale(x, 1, 0)  # Rescale<0>(ExactMulByPot<-1>(x))


def tflm_get_reciprocal(x: int, x_integer_digits: int) -> tuple[int, int]:
    headroom_plus_one = 32 - x.bit_length()  # CountLeadingZeros(uint32)
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    shifted_sum_minus_one = ((x << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31)
    return gemmlowp_one_over_one_plus_x(shifted_sum_minus_one), num_bits_over_unit


def test_fixed_point_exp_and_reciprocal_match_gemmlowp_transcription() -> None:
    rng = np.random.default_rng(9)
    a = np.concatenate([-rng.integers(0, 31 * 2**26, 3000), [0, -1, -(2**24), -(2**24) - 1, -31 * 2**26]])
    assert ro.exp_on_negative_values_np(a).tolist() == [gemmlowp_exp_on_negative_values(int(v)) for v in a]
    f = np.concatenate([rng.integers(0, 2**31, 3000), [0, 1, 2**30, I32_MAX]])
    assert ro.one_over_one_plus_x_for_x_in_0_1_np(f).tolist() == [
        gemmlowp_one_over_one_plus_x(int(v)) for v in f
    ]
    sums = np.concatenate([rng.integers(2**19, 2**27, 1000), [2**19, 2**20 - 1, 2**26]])
    scale, nbits = ro.get_reciprocal_np(sums, 12)
    want = [tflm_get_reciprocal(int(v), 12) for v in sums]
    assert list(zip(scale.tolist(), nbits.tolist(), strict=True)) == want


def test_exp_on_negative_values_is_accurate() -> None:
    a = -np.arange(0, 31 * 2**26, 4099, dtype=np.int64)  # Q5.26 inputs in (-31, 0]
    got = ro.exp_on_negative_values_np(a) / 2.0**31
    np.testing.assert_allclose(got, np.exp(a / 2.0**26), rtol=0, atol=3e-7)
    assert ro.exp_on_negative_values_np(np.array([0]))[0] == I32_MAX


def test_one_over_one_plus_x_and_reciprocal_are_accurate() -> None:
    f = np.arange(0, 2**31, 65537, dtype=np.int64)
    got = ro.one_over_one_plus_x_for_x_in_0_1_np(f) / 2.0**31
    np.testing.assert_allclose(got, 1 / (1 + f / 2.0**31), rtol=2.0**-26)
    s = np.array([2**19, 3 * 2**19, 2**30 + 12345, 777777])  # Q12.19 sums
    scale, nbits = ro.get_reciprocal_np(s, 12)
    np.testing.assert_allclose(scale / 2.0**31 / 2.0**nbits, 1 / (s / 2.0**19), rtol=2.0**-26)


@settings(max_examples=60, deadline=None)
@given(st.floats(0.002, 0.5), st.sampled_from([0.5, 1.0, 1.7]), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_softmax_close_to_float_and_sums_to_one(scale: float, beta: float, depth: int, seed: int) -> None:
    mult, shift, diff_min = ro.softmax_params(beta, scale)
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (4, depth)).astype(np.int8)
    q = ro.softmax(x, mult, shift, diff_min)
    assert q.dtype == np.int8 and q.shape == x.shape
    z = (
        float(np.float32(beta))
        * float(np.float32(scale))
        * (x.astype(np.float64) - x.max(axis=1, keepdims=True))
    )
    ref = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    got = (q.astype(np.float64) + 128) / 256
    assert np.abs(got - ref).max() <= 2 / 256
    # Each output is within about one LSB of its share, so the row sums to 1 within depth LSBs.
    assert np.all(np.abs(got.sum(axis=1) - 1) <= (depth + 1) / 256)


def test_softmax_pinned_rows() -> None:
    # beta * s * 2^26 = 2^29: (2^30, left shift 30), radius floor(31 * 2^26 / 2^30) = 1.
    mult, shift, diff_min = ro.softmax_params(1.0, 8.0)
    assert (mult, shift, diff_min) == (2**30, 30, -1)
    x = np.array([[100, 99, -128, 100], [5, 5, 5, 5]], dtype=np.int8)
    q = ro.softmax(x, mult, shift, diff_min)
    # Two maxima share ~1 (exp(-8) = 3e-4 is negligible): 128/256 each -> 0; -128 is below diff_min.
    assert q[0].tolist() == [0, -128, -128, 0]
    assert q[1].tolist() == [-64] * 4  # 1/4 = 64/256


# *** parameter helpers ***


def test_activation_range_rounds_half_away_in_float32() -> None:
    assert ro.activation_range("NONE", 0.1, 3) == (-128, 127)
    assert ro.activation_range("RELU", 0.1, -128) == (-128, 127)
    assert ro.activation_range("RELU", 0.1, 20) == (20, 127)
    assert ro.activation_range("RELU6", 6 / 255, -128) == (-128, 127)
    assert ro.activation_range("RELU6", 0.05, -10) == (-10, 110)
    assert ro.activation_range("RELU6", 12.0, 0) == (0, 1)  # 6/12 = 0.5 -> 1 (half-even would give 0)
    assert ro.activation_range("RELU_N1_TO_1", 2.0, 0) == (-1, 1)  # -0.5 -> -1, 0.5 -> 1
    # float32 division: 6 / 2.4000001f is 2.4999999... in double but exactly 2.5 in float32.
    assert ro.activation_range("RELU6", float(np.float32(2.4)), 0) == (0, 3)


def test_same_padding_matches_tflite_definition() -> None:
    assert ro.same_padding(32, 3, 1) == (32, 1)
    assert ro.same_padding(32, 2, 2) == (16, 0)
    assert ro.same_padding(5, 4, 1) == (5, 1)  # total 3: 1 before, 2 after
    assert ro.same_padding(7, 3, 2, 2) == (4, 2)
    assert ro.compute_padding("VALID", 7, 3, 2, 2) == (2, 0)
    for size in range(1, 20):
        for k in range(1, 6):
            for s in range(1, 4):
                for d in range(1, 3):
                    out, before = ro.same_padding(size, k, s, d)
                    total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
                    assert out == -(-size // s) and before == total // 2


def test_softmax_params_pinned() -> None:
    # beta * s * 2^26 = 2^22 exactly: m = 2^30, left shift 23, radius floor(31 * 2^26 / 2^23) = 248.
    assert ro.softmax_params(1.0, 1 / 16) == (2**30, 23, -248)
    # beta * s * 2^26 is capped at 2^31 - 1 = (2^31 - 1) / 2^31 * 2^31: m = 2^31 - 1, shift 31, radius 0.
    assert ro.softmax_params(1.0, 100.0) == (2**31 - 1, 31, 0)
    with pytest.raises(ValueError):
        ro.softmax_params(1.0, 2.0**-30)  # multiplier below 1: TFLM CHECK fails


def test_conv_and_fc_multiplier_helpers() -> None:
    m, s = ro.conv_params(0.05, [0.01, 0.02], 0.1)
    for w_s, (mi, si) in zip([0.01, 0.02], zip(m, s, strict=True), strict=True):
        exact = (
            Fraction(float(np.float32(0.05)))
            * Fraction(float(np.float32(w_s)))
            / Fraction(float(np.float32(0.1)))
        )
        assert abs(Fraction(int(mi)) * Fraction(2) ** (int(si) - 31) - exact) <= exact / 2**30
    # Default FC product: the all-double one (== conv_params); float32_product reproduces older TFLM sources.
    rng = np.random.default_rng(6)
    differs = 0
    for _ in range(200):
        i, w, o = (float(v) for v in rng.uniform(0.001, 0.1, 3))
        assert ro.fc_per_tensor_multiplier(i, w, o) == tuple(int(v[0]) for v in ro.conv_params(i, [w], o))
        differs += ro.fc_per_tensor_multiplier(i, w, o, float32_product=True) != ro.fc_per_tensor_multiplier(
            i, w, o
        )
    assert differs > 100


def test_add_params_structure() -> None:
    p = ro.add_params(0.1, -3, 0.05, 7, 0.2, -1, "RELU")
    assert (p["input1_offset"], p["input2_offset"], p["output_offset"], p["left_shift"]) == (3, -7, -1, 20)
    assert (p["act_min"], p["act_max"]) == (-1, 127)
    assert (p["input1_multiplier"], p["input1_shift"]) == (2**30, 0)  # 0.1 / 0.2 = 0.5
    with pytest.raises(ValueError):
        ro.add_params(0.1, 0, 0.1, 0, 1e-9, 0)  # output multiplier >= 1: TFLM CHECK fails


# *** TFLM itself (tflite-micro is a test dependency) ***


@pytest.fixture(scope="module")
def tflm() -> SimpleNamespace:
    from support import tflite_builder, tflm_oracle

    return SimpleNamespace(
        Graph=tflite_builder.TFLiteGraph, bias_scales=tflite_builder.bias_scales, run=tflm_oracle.run_tflm
    )


def _f32(v: float) -> float:
    return float(np.float32(v))


@pytest.mark.parametrize("seed", range(8))
def test_tflm_conv_depthwise_pool(tflm: SimpleNamespace, seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    h, w, c, co = (int(v) for v in rng.integers(4, 12, 2).tolist() + rng.integers(1, 6, 2).tolist())
    k, s, d = int(rng.integers(1, 4)), int(rng.integers(1, 3)), int(rng.integers(1, 3))
    padding = ["SAME", "VALID"][seed % 2]
    if (k - 1) * d + 1 > min(h, w):  # keep the VALID window inside the image
        d = 1
    act = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"][seed % 4]
    in_s, in_zp = _f32(rng.uniform(0.01, 0.05)), int(rng.integers(-20, 20))
    out_s, out_zp = _f32(rng.uniform(0.02, 0.2)), int(rng.integers(-30, 30))
    oh, ph = ro.compute_padding(padding, h, k, s, d)
    ow, pw = ro.compute_padding(padding, w, k, s, d)
    assert min(oh, ow) >= 1
    x = rng.integers(-128, 128, (1, h, w, c)).astype(np.int8)
    lo, hi = ro.activation_range(act, out_s, out_zp)

    wc = rng.integers(-127, 128, (co, k, k, c)).astype(np.int8)
    wc_s = rng.uniform(0.002, 0.02, co)
    m = int(rng.integers(1, 3))
    wd = rng.integers(-127, 128, (1, k, k, c * m)).astype(np.int8)
    wd_s = rng.uniform(0.002, 0.02, c * m)
    g = tflm.Graph()
    xt = g.input("x", x.shape, in_s, in_zp)
    wct = g.const_int8("wc", wc, scales=wc_s, quantized_dimension=0)
    bc = rng.integers(-3000, 3000, co).astype(np.int32)
    yc = g.conv2d(
        xt,
        wct,
        g.const_int32("bc", bc, scales=tflm.bias_scales(xt, wct)),
        out_s,
        out_zp,
        stride=s,
        dilation=d,
        padding=padding,
        activation=act,
    )
    wdt = g.const_int8("wd", wd, scales=wd_s, quantized_dimension=3)
    bd = rng.integers(-3000, 3000, c * m).astype(np.int32)
    yd = g.depthwise_conv2d(
        xt,
        wdt,
        g.const_int32("bd", bd, scales=tflm.bias_scales(xt, wdt)),
        out_s,
        out_zp,
        depth_multiplier=m,
        stride=s,
        dilation=d,
        padding=padding,
        activation=act,
    )
    yp = g.average_pool2d(xt, (k + 1, k), (s, s + 1), padding=padding, activation=act)
    g.output(yc, yd, yp)
    got_c, got_d, got_p = tflm.run(g.build(), [x])

    mc, sc = ro.conv_params(in_s, wc_s, out_s)
    common = (s, d, (ph, pw), -in_zp, out_zp, lo, hi)
    np.testing.assert_array_equal(got_c, ro.conv2d(x, wc, bc, mc, sc, *common, out_hw=(oh, ow)))
    md, sd = ro.conv_params(in_s, wd_s, out_s)
    np.testing.assert_array_equal(got_d, ro.depthwise_conv2d(x, wd, bd, md, sd, *common, m, out_hw=(oh, ow)))
    poh, pph = ro.compute_padding(padding, h, k + 1, s)
    pow_, ppw = ro.compute_padding(padding, w, k, s + 1)
    plo, phi = ro.activation_range(act, in_s, in_zp)
    np.testing.assert_array_equal(
        got_p, ro.avg_pool2d(x, (k + 1, k), (s, s + 1), (pph, ppw), plo, phi, (poh, pow_))
    )


@pytest.mark.parametrize("seed", range(6))
def test_tflm_fully_connected_and_add(tflm: SimpleNamespace, seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    batches, depth, units = 3, int(rng.integers(5, 60)), int(rng.integers(2, 20))
    in_s, in_zp = _f32(rng.uniform(0.01, 0.1)), int(rng.integers(-50, 50))
    out_s, out_zp = _f32(rng.uniform(0.05, 0.5)), int(rng.integers(-50, 50))
    per_channel = seed % 2 == 1
    w_s = rng.uniform(0.001, 0.02, units if per_channel else 1)
    w = rng.integers(-127, 128, (units, depth)).astype(np.int8)
    x = rng.integers(-128, 128, (batches, depth)).astype(np.int8)
    g = tflm.Graph()
    xt = g.input("x", x.shape, in_s, in_zp)
    wt = g.const_int8("w", w, scales=w_s, quantized_dimension=0)
    b = rng.integers(-3000, 3000, units).astype(np.int32)
    g.output(
        g.fully_connected(
            xt, wt, g.const_int32("b", b, scales=tflm.bias_scales(xt, wt)), out_s, out_zp, activation="RELU"
        )
    )
    (got,) = tflm.run(g.build(), [x])
    if per_channel:
        m, s = ro.conv_params(in_s, w_s, out_s)
    else:
        m, s = ro.fc_per_tensor_multiplier(in_s, float(w_s[0]), out_s)
    lo, hi = ro.activation_range("RELU", out_s, out_zp)
    np.testing.assert_array_equal(got, ro.fully_connected(x, w, b, m, s, -in_zp, 0, out_zp, lo, hi))

    s1, s2, so = (_f32(v) for v in rng.uniform(0.01, 0.2, 3))
    z1, z2, zo = (int(v) for v in rng.integers(-60, 60, 3))
    a = rng.integers(-128, 128, (1, 4, 5, 3)).astype(np.int8)
    bb = rng.integers(-128, 128, (1, 1, 5, 1)).astype(np.int8)
    g = tflm.Graph()
    at, bt = g.input("a", a.shape, s1, z1), g.input("b", bb.shape, s2, z2)
    g.output(g.add(at, bt, so, zo, activation="RELU6"))
    (got,) = tflm.run(g.build(), [a, bb])
    np.testing.assert_array_equal(got, ro.add(a, bb, ro.add_params(s1, z1, s2, z2, so, zo, "RELU6")))


@pytest.mark.parametrize(
    ("beta", "scale", "shape"),
    [
        (1.0, 0.1, (3, 37)),
        (1.0, 0.0390625, (2, 10)),
        (0.7, 0.25, (2, 3, 16)),
        (2.0, 1 / 16, (1, 64)),
        (1.0, 0.003, (4, 12)),
        (1.0, 0.02, (2, 256)),
        (0.3, 0.05, (2, 300)),
        (1.0, 0.0078125, (2, 256)),
    ],
)
def test_tflm_softmax(tflm: SimpleNamespace, beta: float, scale: float, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(int(scale * 1e6) + len(shape))
    x = rng.integers(-128, 128, shape).astype(np.int8)
    x[0, ..., :3] = x.max()  # ties at the maximum
    if shape[-1] >= 256:  # one row holding every difference 0 .. -255 from the maximum
        x.reshape(-1, shape[-1])[-1, :256] = np.arange(127, -129, -1)
    g = tflm.Graph()
    g.output(g.softmax(g.input("x", shape, scale, 5), beta))
    (got,) = tflm.run(g.build(), [x])
    np.testing.assert_array_equal(got, ro.softmax(x, *ro.softmax_params(beta, scale)))


def _bias_probe(
    tflm: SimpleNamespace,
    accs: np.ndarray,
    in_s: float,
    w_s: float,
    out_s: float,
    out_zp: int = 0,
    act: str = "NONE",
    per_channel: bool = False,
) -> np.ndarray:
    """TFLM's FULLY_CONNECTED with depth 1, w = 1 and x = its zero point: output u is clamp(MBQM(bias[u]) + zp)."""
    units, in_zp = len(accs), 3
    g = tflm.Graph()
    xt = g.input("x", (1, 1), in_s, in_zp)
    wt = g.const_int8("w", np.ones((units, 1), np.int8), scales=[w_s] * (units if per_channel else 1))
    bt = g.const_int32("b", np.asarray(accs, dtype=np.int32), scales=tflm.bias_scales(xt, wt))
    g.output(g.fully_connected(xt, wt, bt, out_s, out_zp, activation=act))
    return tflm.run(g.build(), [np.array([[in_zp]], np.int8)])[0][0]


def test_tflm_requantizes_with_double_rounding(tflm: SimpleNamespace) -> None:
    """Accumulators on exact ties and near-ties go through TFLM's own MultiplyByQuantizedMultiplier."""
    accs = np.array([-6, -2, -1, 1, 2, 6, -3, 3])  # real multiplier 0.25: -1.5, -0.5, ... exact ties
    np.testing.assert_array_equal(_bias_probe(tflm, accs, 0.5, 0.5, 1.0), ro.mbqm_np(accs, 2**30, -1))
    rng = np.random.default_rng(7)
    distinguishing = 0
    for _ in range(4):
        in_s, w_s, out_s = (_f32(v) for v in (rng.uniform(0.2, 1), rng.uniform(0.2, 1), rng.uniform(2, 20)))
        m, s = ro.fc_per_tensor_multiplier(in_s, w_s, out_s)
        real = m / 2.0 ** (31 - s)
        near_ties = np.round((rng.integers(-120, 120, 60) + 0.5) / real).astype(np.int64)
        accs = np.concatenate([near_ties + d for d in (-1, 0, 1)])
        want = np.clip(ro.mbqm_np(accs, m, s), -128, 127)
        np.testing.assert_array_equal(_bias_probe(tflm, accs, in_s, w_s, out_s), want)
        distinguishing += int(
            (want != np.array([single_rounding(int(a), m, s) for a in accs]).clip(-128, 127)).sum()
        )
    assert distinguishing > 0  # the probe did include accumulators where single rounding would differ


def test_tflm_fc_per_tensor_multiplier_uses_double_product(tflm: SimpleNamespace) -> None:
    """Pins which product the installed TFLM uses; see fc_per_tensor_multiplier's docstring."""
    rng = np.random.default_rng(8)
    checked = 0
    while checked < 3:
        in_s, w_s, out_s = (
            _f32(v) for v in (rng.uniform(0.005, 0.02), rng.uniform(0.0005, 0.002), rng.uniform(0.05, 0.2))
        )
        m_d, s_d = ro.fc_per_tensor_multiplier(in_s, w_s, out_s)
        m_f, s_f = ro.fc_per_tensor_multiplier(in_s, w_s, out_s, float32_product=True)
        lim = int(120 * out_s / (in_s * w_s))
        acc = np.arange(-lim, lim)
        idx = np.nonzero(ro.mbqm_np(acc, m_d, s_d) != ro.mbqm_np(acc, m_f, s_f))[0]
        if idx.size == 0:
            continue
        probe = acc[idx[:8]]
        for per_channel in (False, True):
            got = _bias_probe(tflm, probe, in_s, w_s, out_s, per_channel=per_channel)
            np.testing.assert_array_equal(got, ro.mbqm_np(probe, m_d, s_d))
        checked += 1


def test_tflm_activation_bounds_divide_in_float32(tflm: SimpleNamespace) -> None:
    """6 / 2.4000001f is 2.4999999 in double but 2.5 in float32, which rounds away to 3."""
    for scale, act in ((float(np.float32(2.4)), "RELU6"), (2.0, "RELU_N1_TO_1"), (12.0, "RELU6")):
        lo, hi = ro.activation_range(act, scale, 0)
        got = _bias_probe(tflm, np.array([-100000, 100000]), 1.0, 1.0, scale, 0, act)
        assert got.tolist() == [lo, hi]
