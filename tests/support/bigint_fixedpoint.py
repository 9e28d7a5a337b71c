"""Exact Python-int oracles for TFLM's fixed-point requantization primitives (default double rounding).

Why this module exists: every picoq kernel ends in ``MultiplyByQuantizedMultiplier``, and a
one-unit disagreement there is a bit-exactness failure. These functions are written from the
*mathematical* definitions (a real number, then one explicitly named rounding rule), using
unbounded Python ints and ``fractions.Fraction``, not by transcribing gemmlowp's C. The tests
(``test_reference_ops.py``) then check them both against ``Fraction`` arithmetic and against a
literal transcription of the C, so an error in either reading shows up as a disagreement.

Facts taken from the sources (shared/INT8_SPEC.md section 2, gemmlowp ``fixedpoint.h``,
TFLM ``kernels/internal/common.cc`` and ``quantization_util.cc``):

- ``SaturatingRoundingDoublingHighMul(a, b)`` is ``a*b / 2^31`` rounded to nearest with ties
  toward +inf; the single overflow case ``INT32_MIN * INT32_MIN`` saturates to ``INT32_MAX``.
- ``RoundingDivideByPOT(x, e)`` is ``x / 2^e`` rounded to nearest with ties away from zero.
- ``MultiplyByQuantizedMultiplier(x, M, s)`` (double rounding, the default build because
  ``TFLITE_SINGLE_ROUNDING`` is defined nowhere) is
  ``RDPOT(SRDHM(x * 2^max(s,0), M), max(-s,0))``. The ``x * 2^left`` product is computed as
  ``x * (1 << left)`` in **int32**; on overflow that is undefined behaviour in C, and what the
  compilers TFLM is built with actually produce is two's-complement wraparound, so ``mbqm``
  wraps (see ``wrap_int32``). Real models never get there: left shifts only occur for
  multipliers > 1 and then the accumulator is tiny.
- ``QuantizeMultiplier(real)``: ``frexp``, ``round(q * 2^31)`` with ties away from zero, the
  ``2^31 -> 2^30, shift+1`` fix-up, ``shift < -31 -> (0, 0)`` and ``0 -> (0, 0)``.
"""

from __future__ import annotations

import math
from fractions import Fraction

__all__ = [
    "INT32_MAX",
    "INT32_MIN",
    "mbqm",
    "quantize_multiplier",
    "quantize_multiplier_greater_than_one",
    "quantize_multiplier_smaller_than_one_exp",
    "rdpot",
    "round_half_away",
    "srdhm",
    "wrap_int32",
]

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def _check_int32(name: str, v: int) -> None:
    """Reject values a C ``int32_t`` parameter could not hold: an oracle must not guess."""
    if not isinstance(v, int) or isinstance(v, bool):
        raise TypeError(f"{name} must be an int, got {type(v).__name__}")
    if not INT32_MIN <= v <= INT32_MAX:
        raise ValueError(f"{name}={v} is outside int32")


def wrap_int32(v: int) -> int:
    """Two's-complement reduction of ``v`` to int32 (what an overflowing int32 multiply yields)."""
    return (v - INT32_MIN) % 2**32 + INT32_MIN


def round_half_away(v: Fraction | int) -> int:
    """Nearest integer to ``v``; exact halves go away from zero (C ``std::round``)."""
    v = Fraction(v)
    magnitude = abs(v)
    n = math.floor(magnitude)
    if magnitude - n >= Fraction(1, 2):
        n += 1
    return n if v >= 0 else -n


def srdhm(a: int, b: int) -> int:
    """gemmlowp SaturatingRoundingDoublingHighMul: ``round(a*b / 2^31)``, ties toward +inf.

    ``floor(t + 1/2)`` is "nearest, halves up" for any rational ``t``; with ``t = a*b/2^31`` that
    is ``floor((a*b + 2^30) / 2^31)``, which Python's ``>>`` (a floor division) computes exactly.
    The only product whose rounded value leaves int32 is ``(-2^31)^2 / 2^31 = 2^31``; gemmlowp
    saturates it to ``INT32_MAX``.
    """
    _check_int32("a", a)
    _check_int32("b", b)
    if a == b == INT32_MIN:
        return INT32_MAX
    return (a * b + 2**30) >> 31


def rdpot(x: int, exponent: int) -> int:
    """gemmlowp RoundingDivideByPOT: ``x / 2^exponent`` to nearest, halves away from zero.

    gemmlowp asserts ``0 <= exponent <= 31``; so do we.
    """
    _check_int32("x", x)
    if not 0 <= exponent <= 31:
        raise ValueError(f"exponent {exponent} outside [0, 31]")
    return round_half_away(Fraction(x, 2**exponent))


def mbqm(x: int, multiplier: int, shift: int) -> int:
    """TFLM MultiplyByQuantizedMultiplier, double rounding: ``rdpot(srdhm(x*2^l, M), r)``.

    ``l = max(shift, 0)``, ``r = max(-shift, 0)``. ``x * 2^l`` is reduced to int32 with
    two's-complement wraparound, because TFLM computes it as ``x * (1 << l)`` in int32 (signed
    overflow: undefined in C, wraparound in practice). ``shift`` is limited to [-31, 31]: below
    -31 RDPOT's assert fires, above 31 ``1 << l`` is not an int32 at all.
    """
    _check_int32("x", x)
    _check_int32("multiplier", multiplier)
    if not -31 <= shift <= 31:
        raise ValueError(f"shift {shift} outside [-31, 31]")
    left, right = max(shift, 0), max(-shift, 0)
    return rdpot(srdhm(wrap_int32(x * 2**left), multiplier), right)


def _binary_exponent(v: Fraction) -> int:
    """The ``e`` with ``2^(e-1) <= |v| < 2^e`` (the exponent C's ``frexp`` returns), for v != 0."""
    a = abs(v)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    # 2^(nb-1)/2^db < a < 2^nb/2^(db-1): e is nb-db or nb-db+1; settle it exactly.
    if a >= Fraction(2) ** e:
        e += 1
    elif a < Fraction(2) ** (e - 1):
        e -= 1
    return e


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLM QuantizeMultiplier: ``real ~= m * 2^(shift-31)`` with ``m`` an int32 in [2^30, 2^31).

    Steps, all exact on the double ``real``: ``real = q * 2^shift`` with ``0.5 <= |q| < 1``
    (frexp); ``m = round_half_away(q * 2^31)``; if that rounding reached ``2^31``, use
    ``2^30`` and ``shift + 1``; if ``shift < -31`` the multiplier is flushed to ``(0, 0)``, as is
    ``real == 0``. Negative reals are quantized symmetrically (TFLM does not forbid them in the
    double-rounding build); note that ``-2^31`` is then reachable and is *not* fixed up, as in TFLM.
    """
    if not math.isfinite(real):
        raise ValueError(f"multiplier must be finite, got {real}")
    if real == 0:
        return 0, 0
    exact = Fraction(real)  # the double's exact value
    shift = _binary_exponent(exact)
    q_fixed = round_half_away(exact * Fraction(2) ** (31 - shift))
    if q_fixed == 2**31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q_fixed, shift


def quantize_multiplier_smaller_than_one_exp(real: float) -> tuple[int, int]:
    """TFLM QuantizeMultiplierSmallerThanOneExp: CHECKs ``0 < real < 1`` and a shift <= 0."""
    if not 0 < real < 1:
        raise ValueError(f"TFLM requires 0 < multiplier < 1, got {real}")
    m, shift = quantize_multiplier(real)
    if shift > 0:  # only reachable when rounding carries 1-2^-54 up to 1
        raise ValueError(f"multiplier {real} rounds to a positive shift")
    return m, shift


def quantize_multiplier_greater_than_one(real: float) -> tuple[int, int]:
    """TFLM QuantizeMultiplierGreaterThanOne: CHECKs ``real > 1``; the shift is then >= 1."""
    if not real > 1:
        raise ValueError(f"TFLM requires multiplier > 1, got {real}")
    return quantize_multiplier(real)
