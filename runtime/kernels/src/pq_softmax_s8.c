/*
 * SOFTMAX, int8 in, int8 out (output scale 1/256, zero point -128).
 *
 * Matches TFLite Micro tensorflow/lite/kernels/internal/reference/softmax.h,
 * reference_ops::Softmax<int8_t, int8_t> (as called by
 * tensorflow/lite/micro/kernels/softmax.cc), which uses gemmlowp fixed point
 * (google/gemmlowp fixedpoint/fixedpoint.h, scalar int32 path) and
 * tflite::GetReciprocal from tensorflow/lite/kernels/internal/common.h.
 *
 * Fixed-point formats, named as gemmlowp does (Qm = m integer bits, 31-m
 * fractional bits, in an int32):
 *   scaled input differences  Q5   (kScaledDiffIntegerBits = 5)
 *   exp() results             Q0
 *   sum of exps               Q12  (kAccumulationIntegerBits = 12)
 *   Newton-Raphson iterate    Q2
 * gemmlowp's plain '+' and '-' on FixedPoint are non-saturating int32
 * operations that wrap in practice; here they go through uint32_t so that C
 * signed overflow (undefined) never happens, with the same bits.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_kernels.h"

#define PQ_SM_SCALED_DIFF_INT_BITS 5
#define PQ_SM_ACCUM_INT_BITS 12

/* uint32 -> int32 by two's-complement wrap, without implementation-defined
 * conversion. */
static int32_t sm_u32_to_i32(uint32_t u)
{
    return u <= 0x7FFFFFFFu ? (int32_t)u : -(int32_t)(~u) - 1;
}

/* gemmlowp Add / Sub on int32: wrapping. */
static int32_t sm_add(int32_t a, int32_t b)
{
    return sm_u32_to_i32((uint32_t)a + (uint32_t)b);
}

static int32_t sm_sub(int32_t a, int32_t b)
{
    return sm_u32_to_i32((uint32_t)a - (uint32_t)b);
}

/* gemmlowp SaturatingRoundingMultiplyByPOT<exponent> for 0 < exponent < 31:
 * saturating left shift. Values above threshold go to INT32_MAX, below
 * -threshold to INT32_MIN; the shift itself is only done when it cannot
 * overflow (gemmlowp computes it first and then discards it). */
static int32_t sm_sat_shl(int32_t x, int exponent)
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

/* gemmlowp RoundingHalfSum (int32): (a + b) / 2 rounded half away from zero,
 * computed in int64 with C's truncating division. */
static int32_t sm_rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + (int64_t)b;
    const int64_t sign = sum >= 0 ? 1 : -1;
    return (int32_t)((sum + sign) / 2);
}

/* Portable count of leading zeros of a 32-bit value; 32 for 0, as
 * tflite::CountLeadingZeros returns std::numeric_limits<uint32_t>::digits. */
static int sm_clz32(uint32_t x)
{
    int n = 0;
    if (x == 0) {
        return 32;
    }
#if defined(__GNUC__) && defined(__SIZEOF_INT__) && __SIZEOF_INT__ == 4
    n = __builtin_clz((unsigned int)x);
#else
    while ((x & 0x80000000u) == 0) {
        x <<= 1;
        ++n;
    }
#endif
    return n;
}

/* gemmlowp exp_on_interval_between_negative_one_quarter_and_0_excl:
 * exp(a) for a in [-1/4, 0), a and result in Q0. Taylor expansion to 4th
 * order around -1/8. */
static int32_t sm_exp_on_interval_neg_quarter_0(int32_t a)
{
    const int32_t constant_term = 1895147668;   /* exp(-1/8) in Q0 */
    const int32_t constant_1_over_3 = 715827883; /* 1/3 in Q0 */
    const int32_t x = sm_add(a, (int32_t)1 << 28); /* x = a + 1/8 */
    const int32_t x2 = pq_srdhm(x, x);
    const int32_t x3 = pq_srdhm(x2, x);
    const int32_t x4 = pq_srdhm(x2, x2);
    const int32_t x4_over_4 = pq_rdpot(x4, 2);
    /* (x^4/4 + x^3) / 3 + x^2, then halved: x^4/24 + x^3/6 + x^2/2 */
    const int32_t poly = pq_rdpot(
        sm_add(pq_srdhm(sm_add(x4_over_4, x3), constant_1_over_3), x2), 1);
    /* exp(-1/8) * (1 + x + poly); AddSaturatingIf16Bit is a plain add for int32. */
    return sm_add(constant_term, pq_srdhm(constant_term, sm_add(x, poly)));
}

/* gemmlowp exp_on_negative_values<int32_t, 5>: exp(a) for a <= 0, a in Q5,
 * result in Q0. */
static int32_t sm_exp_on_negative_values(int32_t a)
{
    const int frac_bits = 31 - PQ_SM_SCALED_DIFF_INT_BITS;       /* 26 */
    const int32_t one_quarter = (int32_t)1 << (frac_bits - 2);   /* 1/4 in Q5 */
    const int32_t mask = one_quarter - 1;
    /* a = (a mod 1/4) - 1/4 + (multiple of 1/4); the first part goes to the
     * Taylor polynomial, the rest is applied bit by bit below. */
    const int32_t a_mod_quarter_minus_one_quarter = sm_sub(a & mask, one_quarter);
    /* Rescale<0> from Q5: exponent +5, saturating left shift (never
     * saturates here: the value is in [-2^24, 0)). */
    int32_t result = sm_exp_on_interval_neg_quarter_0(
        sm_sat_shl(a_mod_quarter_minus_one_quarter, PQ_SM_SCALED_DIFF_INT_BITS));
    const int32_t remainder = sm_sub(a_mod_quarter_minus_one_quarter, a);

    /* Barrel shifter: for each set bit 2^k (k = -2..4) of -a's multiple of
     * 1/4, multiply by exp(-2^k) in Q0. All seven apply since 5 > k. */
    if (remainder & ((int32_t)1 << (frac_bits - 2))) {
        result = pq_srdhm(result, 1672461947); /* exp(-1/4) */
    }
    if (remainder & ((int32_t)1 << (frac_bits - 1))) {
        result = pq_srdhm(result, 1302514674); /* exp(-1/2) */
    }
    if (remainder & ((int32_t)1 << (frac_bits + 0))) {
        result = pq_srdhm(result, 790015084); /* exp(-1) */
    }
    if (remainder & ((int32_t)1 << (frac_bits + 1))) {
        result = pq_srdhm(result, 290630308); /* exp(-2) */
    }
    if (remainder & ((int32_t)1 << (frac_bits + 2))) {
        result = pq_srdhm(result, 39332535); /* exp(-4) */
    }
    if (remainder & ((int32_t)1 << (frac_bits + 3))) {
        result = pq_srdhm(result, 720401); /* exp(-8) */
    }
    if (remainder & ((int32_t)1 << (frac_bits + 4))) {
        result = pq_srdhm(result, 242); /* exp(-16) */
    }
    /* gemmlowp's clamp to 0 below -32 applies only for more than 5 integer
     * bits: not here. */

    /* exp(0) = 1, i.e. FixedPoint<int32, 0>::One() = INT32_MAX. */
    if (a == 0) {
        result = INT32_MAX;
    }
    return result;
}

/* gemmlowp one_over_one_plus_x_for_x_in_0_1: 1 / (1 + a) for a in [0, 1),
 * a and result in Q0. Newton-Raphson division on half the denominator, in Q2. */
static int32_t sm_one_over_one_plus_x_for_x_in_0_1(int32_t a)
{
    const int32_t constant_48_over_17 = 1515870810;      /* Q2 */
    const int32_t constant_neg_32_over_17 = -1010580540; /* Q2 */
    const int32_t one_q2 = (int32_t)1 << 29;             /* F2::One() */
    /* (a + 1) / 2 in Q0; F0::One() is INT32_MAX. */
    const int32_t half_denominator = sm_rounding_half_sum(a, INT32_MAX);
    /* Q0 * Q2 -> Q2: a plain SRDHM on raw values. */
    int32_t x = sm_add(constant_48_over_17, pq_srdhm(half_denominator, constant_neg_32_over_17));
    int i;
    for (i = 0; i < 3; ++i) {
        const int32_t half_denominator_times_x = pq_srdhm(half_denominator, x); /* Q2 */
        const int32_t one_minus_half_denominator_times_x = sm_sub(one_q2, half_denominator_times_x);
        /* Q2 * Q2 = Q4, Rescale<2>: saturating left shift by 2. */
        x = sm_add(x, sm_sat_shl(pq_srdhm(x, one_minus_half_denominator_times_x), 2));
    }
    /* ExactMulByPot<-1> reinterprets Q2 as Q1 (same raw); Rescale<0> from Q1
     * is a saturating left shift by 1. */
    return sm_sat_shl(x, 1);
}

/* tflite::GetReciprocal(x, x_integer_digits, &num_bits_over_unit): x > 0 in
 * Q(x_integer_digits); returns 1/x as a Q0 value scaled by 2^-num_bits_over_unit. */
static int32_t sm_get_reciprocal(int32_t x, int x_integer_digits, int *num_bits_over_unit)
{
    const int headroom_plus_one = sm_clz32((uint32_t)x);
    /* Shift x so its leading one lands on bit 31, then subtract 1.0 (2^31
     * as uint32): the result is x / 2^bits - 1 in [0, 1), in Q0. A shift by
     * 32 (x == 0, never the case: the row max alone contributes 2^19) would
     * be undefined; use 0, which is what x << n gives for x == 0. */
    const uint32_t shifted = headroom_plus_one < 32 ? (uint32_t)x << headroom_plus_one : 0u;
    const int32_t shifted_sum_minus_one = sm_u32_to_i32(shifted - ((uint32_t)1 << 31));
    *num_bits_over_unit = x_integer_digits - headroom_plus_one;
    return sm_one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);
}

/* tflite::MultiplyByQuantizedMultiplierGreaterThanOne (double rounding):
 * SRDHM(x * 2^left_shift, M). The result is a Q5 value <= 0. */
static int32_t sm_scale_diff(int32_t diff, int32_t multiplier, int left_shift)
{
    /* diff * (1 << left_shift) as TFLM writes it, in wrapping arithmetic; for
     * diff >= diff_min it never wraps (|diff| * 2^shift <= 31 * 2^26). */
    const int32_t shifted = sm_u32_to_i32((uint32_t)diff * ((uint32_t)1 << left_shift));
    return pq_srdhm(shifted, multiplier);
}

pq_status pq_softmax_s8(const pq_softmax_params *p, int32_t outer, int32_t depth,
                        const int8_t *in, int8_t *out)
{
    const int32_t multiplier = p->input_multiplier;
    const int left_shift = (int)p->input_left_shift;
    const int32_t diff_min = p->diff_min;
    int32_t i, c;

    /* QuantizeMultiplierGreaterThanOne gives a shift in [0, 31]; anything
     * else would make the shift below undefined. */
    if (left_shift < 0 || left_shift > 31) {
        return PQ_ERR_PARAM;
    }
    if (depth <= 0) {
        return PQ_OK;
    }

    for (i = 0; i < outer; ++i) {
        /* i * depth < outer * depth = tensor size: no overflow. */
        const int8_t *x = in + i * depth;
        int8_t *y = out + i * depth;
        int32_t max_in_row = -128;
        uint32_t sum_of_exps = 0; /* Q12, wrapping like gemmlowp's '+' */
        int32_t shifted_scale;
        int num_bits_over_unit;
        int exponent;

        for (c = 0; c < depth; ++c) {
            if (x[c] > max_in_row) {
                max_in_row = x[c];
            }
        }

        for (c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max_in_row;
            if (diff >= diff_min) {
                const int32_t e = sm_exp_on_negative_values(sm_scale_diff(diff, multiplier, left_shift));
                /* Rescale<12> from Q0: exponent -12, RoundingDivideByPOT. */
                sum_of_exps += (uint32_t)pq_rdpot(e, PQ_SM_ACCUM_INT_BITS);
            }
        }

        shifted_scale = sm_get_reciprocal(sm_u32_to_i32(sum_of_exps), PQ_SM_ACCUM_INT_BITS,
                                          &num_bits_over_unit);
        /* 31 - 8: the output is an 8-bit type. */
        exponent = num_bits_over_unit + 31 - 8;
        /* TFLM TFLITE_CHECKs this range (aborting the op); it holds whenever
         * the sum of exps is in [1, 2^28), i.e. for any depth < 512. */
        if (exponent < 0 || exponent > 31) {
            return PQ_ERR_PARAM;
        }

        for (c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max_in_row;
            if (diff >= diff_min) {
                const int32_t e = sm_exp_on_negative_values(sm_scale_diff(diff, multiplier, left_shift));
                /* Q0 * Q0 -> Q0, then scale back by 2^exponent. exponent >= 3
                 * (clz <= 32), so |unsat| < 2^29 and '- 128' cannot overflow;
                 * for a sane sum it is in [0, 256]. */
                const int32_t unsat = pq_rdpot(pq_srdhm(shifted_scale, e), exponent);
                y[c] = (int8_t)pq_clamp(unsat - 128, -128, 127);
            } else {
                y[c] = -128;
            }
        }
    }
    return PQ_OK;
}
