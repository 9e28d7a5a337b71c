/*
 * DEPTHWISE_CONV_2D (depth multiplier 1), aarch64 Advanced SIMD; the same
 * kernel serves PQ_ISA_NEON and PQ_ISA_NEON_DOT (sdot sums 4 neighbouring
 * bytes of one lane, i.e. 4 taps of one channel, which would need the taps
 * interleaved per channel first; the widening multiply-add needs no shuffle).
 *
 * Each image is first copied into scratch (pq_pad_image over the row copy
 * below), sign-extended to int16 and padded with the input zero point (whose product with the folded bias term is
 * exactly 0, pq_fast.h), so every output pixel's taps lie inside the copy:
 * any stride, dilation and padding, no bounds checks in the inner loop.
 * Then per block of 16 channels (8 for a last block of 8) and output pixel:
 * each tap's 16 int16 inputs meet the tap's 16 int16 weights in smlal /
 * smlal2, exact int32 products (|x * w| <= 2^14) accumulated from the bias in
 * 4 int32 vectors, wrapping modulo 2^32 like the reference. A 3x3 filter
 * gets its own instantiation over 8 channels at a time: the 9 taps unroll
 * and the 9 weight vectors stay in registers along the channels' rows. Loads run up to 7 int16
 * past the last real channel, against zero weights, inside the copy's slack.
 * Channels are in their natural order (pq_dwconv_s8_order is the identity).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"

#if PQ_HAVE_NEON
#include <arm_neon.h>

#include "pq_requant_neon.h"

/* A padded image's row (pq_pad_image): n bytes sign-extended to int16. */
void pq_pad_copy_widen_neon(void *dst, const int8_t *src, size_t n)
{
    int16_t *d = (int16_t *)dst;
    size_t i;
    for (i = 0; i + 16 <= n; i += 16) {
        const int8x16_t v = vld1q_s8(src + i);
        vst1q_s16(d + i, vmovl_s8(vget_low_s8(v)));
        vst1q_s16(d + i + 8, vmovl_high_s8(v));
    }
    for (; i < n; ++i) {
        d[i] = src[i];
    }
}

/* acc[2v], acc[2v + 1] += x * w over 8 channels (low and high halves). */
PQ_NAI void pq_mac8(int32x4_t *acc, int16x8_t x, int16x8_t w)
{
    acc[0] = vmlal_s16(acc[0], vget_low_s16(x), vget_low_s16(w));
    acc[1] = vmlal_high_s16(acc[1], x, w);
}

/* 8 * nv channels from blk (a multiple of 8), over the whole image. nine:
 * the filter is 3x3 (taps unrolled, weights in registers). nv, nine constant
 * at each call. Packed blocks are 16 channels wide (8 for a last block of 8):
 * channels blk.. lie at offset blk % 16 of their block, tap stride pbw. */
PQ_NAI void pq_dw_block(const pq_dwconv_fast_plan *plan, const pq_rqc *qc, const int16_t *img, int32_t wp,
                        int8_t *out, int32_t blk, const int nine, const int nv)
{
    const int32_t c = plan->in_dims.c;
    const int32_t f_h = plan->filter_dims.h, f_w = plan->filter_dims.w;
    const int32_t out_h = plan->out_dims.h, out_w = plan->out_dims.w;
    const int32_t taps = f_h * f_w;
    const ptrdiff_t s_y = (ptrdiff_t)plan->p.stride_h * wp * c, s_x = (ptrdiff_t)plan->p.stride_w * c;
    const ptrdiff_t d_y = (ptrdiff_t)plan->p.dilation_h * wp * c, d_x = (ptrdiff_t)plan->p.dilation_w * c;
    const int32_t bw = 8 * nv;
    const int32_t blk16 = blk / 16 * 16;
    const int32_t pbw = plan->cp - blk16 >= 16 ? 16 : 8;
    const int16_t *wb = (const int16_t *)(const void *)plan->w + (size_t)blk16 * (size_t)taps + (size_t)(blk - blk16);
    const int32_t count = c - blk < bw ? c - blk : bw;
    int16x8_t w9[9][2];
    ptrdiff_t off9[9];
    pq_rq4 q[4];
    int32_t oy, ox, fy, fx, t, v;
    PQ_NUNROLL
    for (v = 0; v < 2 * nv; ++v) {
        q[v] = pq_rq4_load(&plan->rq, blk + 4 * v);
    }
    if (nine) {
        PQ_NUNROLL
        for (t = 0; t < 9; ++t) {
            off9[t] = (t / 3) * d_y + (t % 3) * d_x;
            PQ_NUNROLL
            for (v = 0; v < nv; ++v) {
                w9[t][v] = vld1q_s16(wb + t * pbw + 8 * v);
            }
        }
    }
    for (oy = 0; oy < out_h; ++oy) {
        const int16_t *px = img + (ptrdiff_t)oy * s_y + blk;
        int8_t *dst = out + (size_t)oy * (size_t)out_w * (size_t)c + (size_t)blk;
        for (ox = 0; ox < out_w; ++ox, px += s_x, dst += c) {
            int32x4_t acc[4];
            int8x16_t r;
            PQ_NUNROLL
            for (v = 0; v < 2 * nv; ++v) {
                acc[v] = q[v].bias;
            }
            if (nine) {
                PQ_NUNROLL
                for (t = 0; t < 9; ++t) {
                    PQ_NUNROLL
                    for (v = 0; v < nv; ++v) {
                        pq_mac8(acc + 2 * v, vld1q_s16(px + off9[t] + 8 * v), w9[t][v]);
                    }
                }
            } else {
                const int16_t *wt = wb;
                for (fy = 0; fy < f_h; ++fy) {
                    const int16_t *xr = px + fy * d_y;
                    for (fx = 0; fx < f_w; ++fx, xr += d_x, wt += pbw) {
                        PQ_NUNROLL
                        for (v = 0; v < nv; ++v) {
                            pq_mac8(acc + 2 * v, vld1q_s16(xr + 8 * v), vld1q_s16(wt + 8 * v));
                        }
                    }
                }
            }
            PQ_NUNROLL
            for (v = 0; v < 2 * nv; ++v) {
                acc[v] = pq_rq4_apply(&q[v], qc, acc[v]);
            }
            if (nv == 2) {
                r = pq_narrow16(acc[0], acc[1], acc[2], acc[3]);
            } else {
                r = pq_narrow16(acc[0], acc[1], acc[0], acc[1]);
            }
            pq_store_s8(dst, r, count);
        }
    }
}

void pq_dwconv_s8_neon(const pq_dwconv_fast_plan *plan, const void *padded, int32_t wp, int8_t *out)
{
    const int16_t *img = (const int16_t *)padded;
    const pq_rqc qc = pq_rqc_load(&plan->rq);
    const int nine = plan->filter_dims.h == 3 && plan->filter_dims.w == 3;
    int32_t blk;
    if (nine) {
        /* 8 channels at a time: 9 weight, 2 accumulator and 8 constant
         * registers fit the 32 without spills (16 channels would need 44). */
        for (blk = 0; blk < plan->cp; blk += 8) {
            pq_dw_block(plan, &qc, img, wp, out, blk, 1, 1);
        }
        return;
    }
    for (blk = 0; blk < plan->cp; blk += 16) {
        const int full = plan->cp - blk >= 16;
        if (full) {
            pq_dw_block(plan, &qc, img, wp, out, blk, 0, 2);
        } else {
            pq_dw_block(plan, &qc, img, wp, out, blk, 0, 1);
        }
    }
}

#else
/* ISO C forbids an empty translation unit. */
typedef int pq_depthwise_conv2d_s8_neon_unused;
#endif
