/*
 * im2col rows (pq_im2col.h) with NEON copies, for both aarch64 ISAs: 16-byte
 * moves, the last one overlapping the previous (it rewrites bytes of the same
 * run with the same values), 8- and 4-byte pairs for short runs, so a run of
 * n bytes costs about n / 16 load-store pairs and nothing outside
 * [src, src + n) is read or outside [dst, dst + n) written. The portable
 * byte loops cost about 1.5 instructions per byte here (GCC 12 -O3 does not
 * turn them into memcpy), as much as the sdot GEMM that follows on a
 * 16-channel 3x3 convolution.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"
#include "pq_im2col.h"

#if PQ_HAVE_NEON
#include <arm_neon.h>

#include "pq_requant_neon.h"

PQ_NAI void pq_copy_neon(int8_t *dst, const int8_t *src, int32_t n)
{
    int32_t i;
    if (n >= 16) {
        for (i = 0; i + 16 <= n; i += 16) {
            vst1q_s8(dst + i, vld1q_s8(src + i));
        }
        if (i < n) {
            vst1q_s8(dst + n - 16, vld1q_s8(src + n - 16));
        }
    } else if (n >= 8) {
        const int8x8_t head = vld1_s8(src), tail = vld1_s8(src + n - 8);
        vst1_s8(dst, head);
        vst1_s8(dst + n - 8, tail);
    } else if (n >= 4) {
        uint32_t head, tail;
        __builtin_memcpy(&head, src, 4);
        __builtin_memcpy(&tail, src + n - 4, 4);
        __builtin_memcpy(dst, &head, 4);
        __builtin_memcpy(dst + n - 4, &tail, 4);
    } else {
        for (i = 0; i < n; ++i) {
            dst[i] = src[i];
        }
    }
}

PQ_NAI void pq_fill_neon(int8_t *dst, int8_t v, int32_t n)
{
    const int8x16_t vv = vdupq_n_s8(v);
    int32_t i;
    if (n >= 16) {
        for (i = 0; i + 16 <= n; i += 16) {
            vst1q_s8(dst + i, vv);
        }
        if (i < n) {
            vst1q_s8(dst + n - 16, vv);
        }
    } else if (n >= 8) {
        vst1_s8(dst, vget_low_s8(vv));
        vst1_s8(dst + n - 8, vget_low_s8(vv));
    } else {
        for (i = 0; i < n; ++i) {
            dst[i] = v;
        }
    }
}

void pq_im2col_s8_neon(const pq_conv2d_fast_plan *plan, const int8_t *in, int32_t m0, int32_t rows, int32_t c_base,
                       int8_t pad, int8_t *dst)
{
    pq_im2col_rows(plan, in, m0, rows, c_base, pad, dst, pq_copy_neon, pq_fill_neon);
}

#else
/* ISO C forbids an empty translation unit. */
typedef int pq_im2col_s8_neon_unused;
#endif
