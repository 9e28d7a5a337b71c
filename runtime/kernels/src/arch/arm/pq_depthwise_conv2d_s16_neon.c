/*
 * DEPTHWISE_CONV_2D 16x8, one output pixel in aarch64 Advanced SIMD (pq_s16_fast.h): for each
 * 8 channels, the taps inside the image (their input pixels and weights, listed by the caller)
 * accumulate in two int32x4 registers (smlal / smlal2) and are stored once. The portable path
 * instead adds each tap into the int32 sums in memory (a load, an add and a store per tap),
 * after zeroing them.
 *
 * Exactness: a product of an int8 weight and an int16 input is at most 2^22 in magnitude, and
 * the op takes this path for at most PQ_S16_DW_MAX_TAPS (511) taps, so each int32 lane holds
 * the reference's int64 sum exactly. The last c % 8 channels run 4 wide, then scalar: nothing
 * past a pixel's channels is read.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_isa.h"
#include "pq_s16_fast.h"

#if PQ_HAVE_NEON
#include <arm_neon.h>

void pq_s16_dw_pixel_neon(int32_t *acc, const int16_t *const *px, const int16_t *const *w, int32_t taps, int32_t c)
{
    int32_t i = 0, t;
    for (; i + 8 <= c; i += 8) {
        int32x4_t lo = vdupq_n_s32(0), hi = vdupq_n_s32(0);
        for (t = 0; t < taps; ++t) {
            const int16x8_t x = vld1q_s16(px[t] + i), y = vld1q_s16(w[t] + i);
            lo = vmlal_s16(lo, vget_low_s16(x), vget_low_s16(y));
            hi = vmlal_high_s16(hi, x, y);
        }
        vst1q_s32(acc + i, lo);
        vst1q_s32(acc + i + 4, hi);
    }
    if (i + 4 <= c) {
        int32x4_t lo = vdupq_n_s32(0);
        for (t = 0; t < taps; ++t) lo = vmlal_s16(lo, vld1_s16(px[t] + i), vld1_s16(w[t] + i));
        vst1q_s32(acc + i, lo);
        i += 4;
    }
    for (; i < c; ++i) {
        int32_t s = 0;
        for (t = 0; t < taps; ++t) s += (int32_t)px[t][i] * (int32_t)w[t][i];
        acc[i] = s;
    }
}

#endif /* PQ_HAVE_NEON */
