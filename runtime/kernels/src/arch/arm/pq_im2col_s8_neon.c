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

/* PQ_FEED_IM2ROW (pq_im2row_fn): from a padded image no tap needs a bounds check, so each run is
 * whole 16-byte moves, each store overwriting the previous one's bytes past its run with the
 * right ones (stores stay in program order: they overlap). A 3x3x3 filter (the first layer of
 * the MobileNets and ResNets) is 3 loads and 3 stores per row, where pq_im2col_rows cost
 * about 140 instructions (per-pixel border logic, 9-byte copies as 8-byte pairs) and the GEMM
 * then loaded each row's 27-byte tail through a table lookup. */
void pq_im2row_s8_neon(const int8_t *src, ptrdiff_t step, int32_t count, ptrdiff_t run_step, int32_t runs, int32_t len,
                       int32_t k, int8_t *dst)
{
    const int32_t chunks = (len + 15) / 16;
    /* The runs' stores reach (runs - 1) * len + 16 * chunks; zeros cover the rest up to k (any
     * bytes would do against the zero weights, these are defined). */
    const int gap = (runs - 1) * len + 16 * chunks < k;
    int32_t i, t, j;
    if (runs == 3 && chunks == 1 && !gap) {
        for (i = 0; i < count; ++i, src += step, dst += k) {
            const int8x16_t a = vld1q_s8(src), b = vld1q_s8(src + run_step), c = vld1q_s8(src + 2 * run_step);
            vst1q_s8(dst, a);
            vst1q_s8(dst + len, b);
            vst1q_s8(dst + 2 * len, c);
        }
        return;
    }
    for (i = 0; i < count; ++i, src += step, dst += k) {
        const int8_t *s = src;
        int8_t *d = dst;
        if (gap) {
            vst1q_s8(dst + k - 16, vdupq_n_s8(0));
        }
        if (chunks == 1) { /* short filter rows (KWS's 10x4x1): one move per run */
            for (t = 0; t < runs; ++t, s += run_step, d += len) {
                vst1q_s8(d, vld1q_s8(s));
            }
            continue;
        }
        for (t = 0; t < runs; ++t, s += run_step, d += len) {
            for (j = 0; j < chunks; ++j) {
                vst1q_s8(d + 16 * j, vld1q_s8(s + 16 * j));
            }
        }
    }
}

#else
/* ISO C forbids an empty translation unit. */
typedef int pq_im2col_s8_neon_unused;
#endif
