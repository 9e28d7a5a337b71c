/*
 * gemmlowp's fixed-point transcendental functions on int32 (scalar path), as
 * TFLite Micro's int8 LOGISTIC and TANH use them: google/gemmlowp
 * fixedpoint/fixedpoint.h, exp_on_negative_values, one_over_one_plus_x_for_x_in_0_1,
 * one_minus_x_over_one_plus_x_for_x_in_0_1, logistic and tanh.
 *
 * A value "in Qm" is gemmlowp's FixedPoint<int32_t, m>: m integer bits, 31 - m
 * fractional bits. gemmlowp's '+' and '-' on FixedPoint are plain int32
 * operations that wrap; here they go through uint32_t (same bits, no undefined
 * signed overflow). No float anywhere.
 */
#ifndef PQ_GEMMLOWP_H
#define PQ_GEMMLOWP_H

#include <stdint.h>

#include "pq_fixedpoint.h"

/* gemmlowp's FixedPoint '+' and '-': int32 arithmetic that wraps (pq_wrap_i32). */
PQ_INLINE int32_t pq_gl_add(int32_t a, int32_t b)
{
    return pq_wrap_i32((uint32_t)a + (uint32_t)b);
}

PQ_INLINE int32_t pq_gl_sub(int32_t a, int32_t b)
{
    return pq_wrap_i32((uint32_t)a - (uint32_t)b);
}

/* SaturatingRoundingMultiplyByPOT<exponent> for 0 < exponent < 31: a left
 * shift saturating at the int32 limits. */
PQ_INLINE int32_t pq_gl_sat_shl(int32_t x, int exponent)
{
    const int32_t threshold = (int32_t)(((uint32_t)1 << (31 - exponent)) - 1u);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return x * (int32_t)((uint32_t)1 << exponent);
}

/* RoundingHalfSum (int32): (a + b) / 2, rounded half away from zero. */
PQ_INLINE int32_t pq_gl_rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + (int64_t)b;
    const int64_t sign = sum >= 0 ? 1 : -1;
    return (int32_t)((sum + sign) / 2);
}

/* exp_on_interval_between_negative_one_quarter_and_0_excl: a in [-1/4, 0), Q0 -> Q0.
 * Taylor expansion to 4th order around -1/8. */
PQ_INLINE int32_t pq_gl_exp_on_interval(int32_t a)
{
    const int32_t constant_term = 1895147668;    /* exp(-1/8) */
    const int32_t constant_1_over_3 = 715827883;  /* 1/3 */
    const int32_t x = pq_gl_add(a, (int32_t)1 << 28); /* a + 1/8 */
    const int32_t x2 = pq_srdhm(x, x);
    const int32_t x3 = pq_srdhm(x2, x);
    const int32_t x4 = pq_srdhm(x2, x2);
    const int32_t x4_over_4 = pq_rdpot(x4, 2);
    const int32_t poly = pq_rdpot(
        pq_gl_add(pq_srdhm(pq_gl_add(x4_over_4, x3), constant_1_over_3), x2), 1);
    /* AddSaturatingIf16Bit is a plain add for int32. */
    return pq_gl_add(constant_term, pq_srdhm(constant_term, pq_gl_add(x, poly)));
}

/* exp_on_negative_values<int32_t, integer_bits>: a <= 0 in Q(integer_bits) -> exp(a)
 * in Q0, for integer_bits in [1, 5] (gemmlowp's clamp below -32 only applies
 * above 5 integer bits). */
PQ_INLINE int32_t pq_gl_exp_on_negative_values(int32_t a, int integer_bits)
{
    static const int32_t barrel[7] = {
        1672461947, /* exp(-1/4) */
        1302514674, /* exp(-1/2) */
        790015084,  /* exp(-1)   */
        290630308,  /* exp(-2)   */
        39332535,   /* exp(-4)   */
        720401,     /* exp(-8)   */
        242,        /* exp(-16)  */
    };
    const int frac_bits = 31 - integer_bits;
    const int32_t one_quarter = (int32_t)1 << (frac_bits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_one_quarter = pq_gl_sub(a & mask, one_quarter);
    /* Rescale<0> from Q(integer_bits): saturating left shift (never saturates). */
    int32_t result = pq_gl_exp_on_interval(
        pq_gl_sat_shl(a_mod_quarter_minus_one_quarter, integer_bits));
    const int32_t remainder = pq_gl_sub(a_mod_quarter_minus_one_quarter, a);
    int k;
    /* Barrel shifter: exponent k = -2 .. 4, applied while integer_bits > k. */
    for (k = -2; k <= 4 && integer_bits > k; ++k) {
        if (remainder & (int32_t)((uint32_t)1 << (frac_bits + k))) {
            result = pq_srdhm(result, barrel[k + 2]);
        }
    }
    if (a == 0) {
        result = INT32_MAX; /* FixedPoint<int32_t, 0>::One() */
    }
    return result;
}

/* Newton-Raphson for 1 / half_denominator in Q2 (three iterations), shared by
 * the two functions below. */
PQ_INLINE int32_t pq_gl_newton_reciprocal_q2(int32_t half_denominator)
{
    const int32_t constant_48_over_17 = 1515870810;      /* Q2 */
    const int32_t constant_neg_32_over_17 = -1010580540; /* Q2 */
    const int32_t one_q2 = (int32_t)1 << 29;             /* F2::One() */
    int32_t x = pq_gl_add(constant_48_over_17, pq_srdhm(half_denominator, constant_neg_32_over_17));
    int i;
    for (i = 0; i < 3; ++i) {
        const int32_t half_denominator_times_x = pq_srdhm(half_denominator, x);
        const int32_t one_minus = pq_gl_sub(one_q2, half_denominator_times_x);
        /* Q2 * Q2 = Q4; Rescale<2>: saturating left shift by 2. */
        x = pq_gl_add(x, pq_gl_sat_shl(pq_srdhm(x, one_minus), 2));
    }
    return x;
}

/* one_over_one_plus_x_for_x_in_0_1: a in [0, 1) Q0 -> 1 / (1 + a) in Q0. */
PQ_INLINE int32_t pq_gl_one_over_one_plus_x(int32_t a)
{
    const int32_t x = pq_gl_newton_reciprocal_q2(pq_gl_rounding_half_sum(a, INT32_MAX));
    /* ExactMulByPot<-1> reads Q2 as Q1; Rescale<0>: saturating shift by 1. */
    return pq_gl_sat_shl(x, 1);
}

/* one_minus_x_over_one_plus_x_for_x_in_0_1: a in [0, 1) Q0 -> (1 - a) / (1 + a) in Q0. */
PQ_INLINE int32_t pq_gl_one_minus_x_over_one_plus_x(int32_t a)
{
    const int32_t x = pq_gl_newton_reciprocal_q2(pq_gl_rounding_half_sum(a, INT32_MAX));
    /* x - F2::One(), then Rescale<0> from Q2: saturating shift by 2. */
    return pq_gl_sat_shl(pq_gl_sub(x, (int32_t)1 << 29), 2);
}

/* gemmlowp logistic(FixedPoint<int32_t, 4>): Q4 -> Q0. */
PQ_INLINE int32_t pq_gl_logistic_q4(int32_t a)
{
    /* abs_input: a if a > 0, else -a (Neg wraps; |a| < 2^31 here). */
    const int32_t abs_input = a > 0 ? a : pq_gl_sub(0, a);
    const int32_t if_positive =
        pq_gl_one_over_one_plus_x(pq_gl_exp_on_negative_values(pq_gl_sub(0, abs_input), 4));
    if (a == 0) {
        return (int32_t)1 << 30; /* one half */
    }
    return a > 0 ? if_positive : pq_gl_sub(INT32_MAX, if_positive);
}

/* gemmlowp tanh(FixedPoint<int32_t, 4>): Q4 -> Q0. */
PQ_INLINE int32_t pq_gl_tanh_q4(int32_t a)
{
    /* n = a if a < 0, else -a; ExactMulByPot<1>(n) is the same raw in Q5. */
    const int32_t n = a < 0 ? a : pq_gl_sub(0, a);
    const int32_t t = pq_gl_one_minus_x_over_one_plus_x(pq_gl_exp_on_negative_values(n, 5));
    if (a == 0) {
        return 0;
    }
    return a < 0 ? pq_gl_sub(0, t) : t;
}

#endif /* PQ_GEMMLOWP_H */
