"""The fixed-point core (C, as compiled into the extension) and QuantizeMultiplier (converter)
against exact big-integer arithmetic (tests/support/bigint_fixedpoint.py), with hypothesis."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from picoq.converter import quantize
from picoq.runtime import _interp

from support import bigint_fixedpoint as big

I32 = st.integers(-(2**31), 2**31 - 1)
MULT = st.integers(0, 2**31 - 1)  # QuantizeMultiplier never yields a negative multiplier


def _one(fn, *args: int) -> int:
    return int(fn(*(np.array([a], np.int64).astype(np.int32) for a in args))[0])


@settings(max_examples=3000)
@given(I32, I32)
@example(-(2**31), -(2**31))  # the one saturating case
@example(2**30, 1)
@example(-(2**30), 1)  # exact negative tie
def test_srdhm(a: int, b: int) -> None:
    assert _one(_interp.srdhm, a, b) == big.srdhm(a, b)


@settings(max_examples=3000)
@given(I32, st.integers(0, 31))
@example(-3, 1)  # -1.5 -> -2 (away from zero)
@example(3, 1)
@example(-(2**31), 31)
def test_rdpot(x: int, e: int) -> None:
    assert _one(_interp.rdpot, x, e) == big.rdpot(x, e)


@settings(max_examples=5000)
@given(I32, MULT, st.integers(-31, 30))
def test_mbqm_matches_exact_double_rounding(x: int, m: int, shift: int) -> None:
    # TFLM computes x * 2^left in int32; only accumulators that fit are meaningful there.
    if shift > 0:
        x = max(min(x, (2**31 - 1) >> shift), -(2**31) >> shift)
    assert _one(_interp.mbqm, x, m, shift) == big.mbqm(x, m, shift)


@settings(max_examples=3000)
@given(st.floats(min_value=0.0, max_value=2.0**29, allow_nan=False, allow_infinity=False))
@example(0.5)
@example(1.0 - 2.0**-40)  # rounds up to 2^31: the fix-up path
@example(2.0**-40)  # shift below -31: flushed to zero
def test_quantize_multiplier(real: float) -> None:
    assert quantize.quantize_multiplier(real) == big.quantize_multiplier(real)


def test_multiplier_beyond_shift_30_is_refused_except_for_softmax() -> None:
    real = 2.0**31 - 1  # frexp exponent 31
    assert big.quantize_multiplier(real)[1] == 31
    try:
        quantize.quantize_multiplier(real)
    except ValueError as e:
        assert "shift <= 30" in str(e)
    else:
        raise AssertionError("a shift of 31 must be refused where pq_mbqm applies it")
    assert quantize.quantize_multiplier(real, max_shift=31) == big.quantize_multiplier(real)


def test_round_half_away_is_not_bankers() -> None:
    assert [quantize.round_half_away(v) for v in (0.5, 1.5, 2.5, -0.5, -2.5)] == [1, 2, 3, -1, -3]
