/*
 * What the 16x8 SOFTMAX's reference and fast kernels share (src/ref/pq_softmax_s16.c,
 * src/fast/pq_softmax_s16_fast_op.c): TFLite Micro's LUTLookup over a 513-entry table, and the
 * row's reciprocal from its sum of exps (reference_ops::SoftmaxInt16).
 */
#ifndef PQ_SOFTMAX16_H
#define PQ_SOFTMAX16_H

#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_kernels.h"
#include "pq_sigmoid16.h"

#define PQ_SOFTMAX16_LUT 513 /* entries of each table input */

/* TFLM's LUTLookup(int16_t, const int16_t *): the top 9 bits index, the low 7 interpolate;
 * int16 slope and sum, as its int16_t casts. value in [-32768, 32767]: index in [0, 511]. */
PQ_INLINE int16_t pq_softmax16_lut(int32_t value, const int16_t *lut)
{
    const int32_t index = 256 + (value >> 7), offset = value & 0x7F;
    const int32_t slope = pq_low16((uint32_t)((int32_t)lut[index + 1] - (int32_t)lut[index]));
    const int32_t delta = (slope * offset + 64) >> 7;
    return pq_low16((uint32_t)((int32_t)lut[index] + delta));
}

/* The row's reciprocal for a sum of exps > 1 (Q16.15): recip_lut at the sum normalised to
 * [1, 2), and the right shift (31 - clz(sum)) that scales e * recip back to Q0.15. */
PQ_INLINE int32_t pq_softmax16_recip(int32_t sum, const int16_t *recip_lut, int32_t *right)
{
    uint32_t v = (uint32_t)sum;
    int32_t h = 0, shifted;
    while (!(v & 0x80000000u)) { /* sum > 1: stops below 31 */
        v <<= 1;
        ++h;
    }
    shifted = (int32_t)((((int64_t)sum << (h - 1)) + (1 << 13)) >> 14);
    *right = 31 - h;
    return pq_softmax16_lut(pq_clamp(shifted - ((1 << 15) + (1 << 16)), -32768, 32767), recip_lut);
}

#endif /* PQ_SOFTMAX16_H */
