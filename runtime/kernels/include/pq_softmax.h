/*
 * SOFTMAX's fixed-point steps (TFLite Micro reference_ops::Softmax<int8_t, int8_t>, see
 * src/ref/pq_softmax_s8.c), shared by the reference kernel and the fast one
 * (src/fast/pq_softmax_s8_fast.c), which tabulates pq_sm_exp over the 256 possible
 * differences from the row's maximum: the same function, so the same values.
 */
#ifndef PQ_SOFTMAX_H
#define PQ_SOFTMAX_H

#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_gemmlowp.h" /* gemmlowp exp, 1/(1+x), wrapping add: shared with logistic/tanh */
#include "pq_kernels.h"

#define PQ_SM_SCALED_DIFF_INT_BITS 5
#define PQ_SM_ACCUM_INT_BITS 12

/* Portable count of leading zeros of a 32-bit value; 32 for 0, as
 * tflite::CountLeadingZeros returns std::numeric_limits<uint32_t>::digits. */
static inline int pq_sm_clz32(uint32_t x)
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

/* tflite::GetReciprocal(x, x_integer_digits, &num_bits_over_unit): x > 0 in
 * Q(x_integer_digits); returns 1/x as a Q0 value scaled by 2^-num_bits_over_unit. */
static inline int32_t pq_sm_get_reciprocal(int32_t x, int x_integer_digits, int *num_bits_over_unit)
{
    const int headroom_plus_one = pq_sm_clz32((uint32_t)x);
    /* Shift x so its leading one lands on bit 31, then subtract 1.0 (2^31
     * as uint32): the result is x / 2^bits - 1 in [0, 1), in Q0. A shift by
     * 32 (x == 0, never the case: the row max alone contributes 2^19) would
     * be undefined; use 0, which is what x << n gives for x == 0. */
    const uint32_t shifted = headroom_plus_one < 32 ? (uint32_t)x << headroom_plus_one : 0u;
    const int32_t shifted_sum_minus_one = pq_wrap_i32(shifted - ((uint32_t)1 << 31));
    *num_bits_over_unit = x_integer_digits - headroom_plus_one;
    return pq_gl_one_over_one_plus_x(shifted_sum_minus_one);
}

/* tflite::MultiplyByQuantizedMultiplierGreaterThanOne (double rounding):
 * SRDHM(x * 2^left_shift, M). The result is a Q5 value <= 0. */
static inline int32_t pq_sm_scale_diff(int32_t diff, int32_t multiplier, int left_shift)
{
    /* diff * (1 << left_shift) as TFLM writes it, in wrapping arithmetic; for
     * diff >= diff_min it never wraps (|diff| * 2^shift <= 31 * 2^26). */
    const int32_t shifted = pq_wrap_i32((uint32_t)diff * ((uint32_t)1 << left_shift));
    return pq_srdhm(shifted, multiplier);
}

/* exp(diff * input_scale * beta) of a difference diff = x - max <= 0 from the row's maximum, in
 * Q0 (the value the reference accumulates and scales each output by). */
static inline int32_t pq_sm_exp(int32_t diff, int32_t multiplier, int left_shift)
{
    return pq_gl_exp_on_negative_values(pq_sm_scale_diff(diff, multiplier, left_shift), PQ_SM_SCALED_DIFF_INT_BITS);
}

/* A row's sum of exps (Q12) -> the Q0 reciprocal each exp is multiplied by and the exponent
 * the product is then divided by (2^exponent). PQ_ERR_PARAM where TFLM's TFLITE_CHECK fails. */
static inline pq_status pq_sm_row_scale(uint32_t sum_of_exps, int32_t *shifted_scale, int32_t *exponent)
{
    int num_bits_over_unit;
    *shifted_scale = pq_sm_get_reciprocal(pq_wrap_i32(sum_of_exps), PQ_SM_ACCUM_INT_BITS, &num_bits_over_unit);
    /* 31 - 8: the output is an 8-bit type. */
    *exponent = num_bits_over_unit + 31 - 8;
    /* TFLM TFLITE_CHECKs this range (aborting the op); it holds whenever
     * the sum of exps is in [1, 2^28), i.e. for any depth < 512. */
    return *exponent < 0 || *exponent > 31 ? PQ_ERR_PARAM : PQ_OK;
}

#endif /* PQ_SOFTMAX_H */
