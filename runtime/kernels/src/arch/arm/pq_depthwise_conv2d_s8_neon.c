/*
 * DEPTHWISE_CONV_2D (depth multiplier 1), aarch64 Advanced SIMD; the same
 * kernel serves PQ_ISA_NEON and PQ_ISA_NEON_DOT, except 3x3 filters on
 * NEON_DOT (plan->op_isa), whose sdot path below interleaves each output
 * row's 3 input rows per channel first (sdot sums 4 neighbouring bytes of
 * one lane: here one channel's 3 taps of a filter column; under qemu at
 * cortex-a76, 11% fewer instructions than the widening multiplies over
 * VWW's depthwise layers and 15% over KWS's, the interleaving included).
 *
 * Each image is first copied into scratch (pq_pad_image over int8 rows),
 * padded with the input zero point (whose product with the folded bias term
 * is exactly 0, pq_fast.h), so every output pixel's taps lie inside the copy:
 * any stride, dilation and padding, no bounds checks in the inner loop.
 * Then per block of 16 channels (8 for a last block of 8) and output pixel:
 * int8 inputs meet int8 weights in smull / smlal, two taps per int16 product
 * vector when plan->pair16 says their sum cannot leave int16 (it can only
 * for two -128 weights in one channel: 2 * 128 * 128 = 2^15), then saddw
 * adds the int16 sums into 4 int32 vectors started from the bias, wrapping
 * modulo 2^32 like the reference. A 3x3 filter gets its own instantiation:
 * taps unrolled, two output pixels per pass against the same 9 weight
 * vectors, sharing the input columns they both read when the stride equals
 * the dilation. Loads run up to 7 bytes past the last real channel,
 * against zero weights, inside the copy's slack.
 *
 * Requantization: with every right shift >= 1 (plan->rshift_min; real
 * models' scales are < 1/2), |RDPOT(SRDHM(x, M), r)| <= 2^30, so adding the
 * output offset cannot wrap, and a saturating narrow to int16, the offset
 * added with saturation, a saturating narrow to int8 and the int8 clamp give
 * the reference's bytes (every step is monotone and exact inside int8). The
 * half-away rounding fix-up of pq_mbqm4 (pq_requant_neon.h) becomes one
 * ssra, x + (x >> 31): it must not act when r = 0 (excluded here), and
 * x - 1 cannot wrap since SRDHM by a multiplier >= 0 never gives INT32_MIN.
 * Otherwise pq_rq4_apply, lane-exact for any shift.
 * Channels are in their natural order (pq_dwconv_s8_order is the identity).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"

#if PQ_HAVE_NEON
#include <arm_neon.h>

#include "pq_requant_neon.h"

/* int8 weights, blocks of 16 channels (8 for a last block of 8) as [taps][16], zeros past c:
 * a block's 9 weight vectors of a 3x3 filter then sit at constant offsets (ldp pairs). */
void pq_dwconv_s8_pack_neon8(int32_t taps, int32_t c, int32_t cp, const int8_t *filter, int8_t *packed)
{
    const size_t n = (size_t)taps * (size_t)cp;
    size_t i;
    for (i = 0; i < n; ++i) {
        const size_t blk = i / (16u * (size_t)taps) * 16u, r = i - blk * (size_t)taps;
        const size_t bw = (size_t)cp - blk < 16u ? (size_t)cp - blk : 16u;
        const size_t ch = blk + r % bw;
        packed[i] = ch < (size_t)c ? filter[r / bw * (size_t)c + ch] : 0;
    }
}

/* 8 * nv int8 values (nv = 1: the upper half zero, which ldr d gives for free). */
PQ_NAI int8x16_t pq_dw_ld(const int8_t *p, int nv)
{
    return nv == 2 ? vld1q_s8(p) : vcombine_s8(vld1_s8(p), vcreate_s8(0));
}

/* acc += widen(int16 products p): low 8 channels into acc[0..1], high into acc[2..3]. */
PQ_NAI void pq_dw_addw(int32x4_t *acc, int16x8_t lo, int16x8_t hi, int nv)
{
    acc[0] = vaddw_s16(acc[0], vget_low_s16(lo));
    acc[1] = vaddw_high_s16(acc[1], lo);
    if (nv == 2) {
        acc[2] = vaddw_s16(acc[2], vget_low_s16(hi));
        acc[3] = vaddw_high_s16(acc[3], hi);
    }
}

/* acc += a * wa + b * wb (two taps; the int16 sum is exact under plan->pair16). */
PQ_NAI void pq_dw_two(int32x4_t *acc, int8x16_t a, int8x16_t wa, int8x16_t b, int8x16_t wb, int nv)
{
    const int16x8_t lo = vmlal_s8(vmull_s8(vget_low_s8(a), vget_low_s8(wa)), vget_low_s8(b), vget_low_s8(wb));
    const int16x8_t hi = nv == 2 ? vmlal_high_s8(vmull_high_s8(a, wa), b, wb) : lo;
    pq_dw_addw(acc, lo, hi, nv);
}

/* acc += a * wa (one tap). */
PQ_NAI void pq_dw_one(int32x4_t *acc, int8x16_t a, int8x16_t wa, int nv)
{
    const int16x8_t lo = vmull_s8(vget_low_s8(a), vget_low_s8(wa));
    const int16x8_t hi = nv == 2 ? vmull_high_s8(a, wa) : lo;
    pq_dw_addw(acc, lo, hi, nv);
}

/* A 3x3 filter's weights. 16 channels: loaded per pixel pair (the output stores may alias
 * them); held in registers, GCC keeps their low halves apart too and spills. 8 channels: once. */
PQ_NAI void pq_dw_ld9(int8x16_t *w9, const int8_t *wb, int nv)
{
    int t;
    PQ_NUNROLL
    for (t = 0; t < 9; ++t) {
        w9[t] = pq_dw_ld(wb + t * 8 * nv, nv);
    }
}

/* One block's per-channel constants, on the stack: the int8 stores cannot alias them. */
typedef struct {
    int32_t bias[16], mult[16], nrshift[16];
    const pq_requant *rq;
    int32_t c0;
    int16x8_t offset;
    int8x16_t act_min, act_max;
} pq_dw_consts;

PQ_NAI void pq_dw_init(int32x4_t *acc, const pq_dw_consts *k, int nv)
{
    int v;
    PQ_NUNROLL
    for (v = 0; v < 2 * nv; ++v) {
        acc[v] = vld1q_s32(k->bias + 4 * v);
    }
}

/* Fast path: the offset and clamp of scaled accumulators (RDPOT(SRDHM(.)) values) through
 * saturating narrows. */
PQ_NAI int8x16_t pq_dw_narrow(const int32x4_t *acc, const pq_dw_consts *k, int nv)
{
    const int16x8_t h0 = vqaddq_s16(vqmovn_high_s32(vqmovn_s32(acc[0]), acc[1]), k->offset);
    int8x16_t r;
    if (nv == 2) {
        const int16x8_t h1 = vqaddq_s16(vqmovn_high_s32(vqmovn_s32(acc[2]), acc[3]), k->offset);
        r = vqmovn_high_s16(vqmovn_s16(h0), h1);
    } else {
        r = vcombine_s8(vqmovn_s16(h0), vcreate_s8(0));
    }
    return vminq_s8(vmaxq_s8(r, k->act_min), k->act_max);
}

/* Fast path: RDPOT(SRDHM(x, m), -nr) for a right shift -nr >= 1. */
PQ_NAI int32x4_t pq_dw_scale(int32x4_t x, int32x4_t m, int32x4_t nr)
{
    x = vqrdmulhq_s32(x, m);
    return vrshlq_s32(vsraq_n_s32(x, x, 31), nr);
}

/* The accumulators (bias included) of 8 * nv channels to int8, clamped. */
PQ_NAI int8x16_t pq_dw_requant(int32x4_t *acc, const pq_dw_consts *k, const pq_rqc *qc, int nv, int fast)
{
    int v;
    if (fast) {
        PQ_NUNROLL
        for (v = 0; v < 2 * nv; ++v) {
            acc[v] = pq_dw_scale(acc[v], vld1q_s32(k->mult + 4 * v), vld1q_s32(k->nrshift + 4 * v));
        }
        return pq_dw_narrow(acc, k, nv);
    }
    PQ_NUNROLL
    for (v = 0; v < 2 * nv; ++v) {
        const pq_rq4 q = pq_rq4_load(k->rq, k->c0 + 4 * v);
        acc[v] = pq_rq4_apply(&q, qc, acc[v]);
    }
    return nv == 2 ? pq_narrow16(acc[0], acc[1], acc[2], acc[3]) : pq_narrow16(acc[0], acc[1], acc[0], acc[1]);
}

/* Two pixels' accumulators: on the fast path each constant vector is loaded once for both. */
PQ_NAI void pq_dw_requant2(int32x4_t *a0, int32x4_t *a1, const pq_dw_consts *k, const pq_rqc *qc, int nv,
                           int fast, int8x16_t *r0, int8x16_t *r1)
{
    int v;
    if (!fast) {
        *r0 = pq_dw_requant(a0, k, qc, nv, 0);
        *r1 = pq_dw_requant(a1, k, qc, nv, 0);
        return;
    }
    PQ_NUNROLL
    for (v = 0; v < 2 * nv; ++v) {
        const int32x4_t m = vld1q_s32(k->mult + 4 * v), nr = vld1q_s32(k->nrshift + 4 * v);
        a0[v] = pq_dw_scale(a0[v], m, nr);
        a1[v] = pq_dw_scale(a1[v], m, nr);
    }
    *r0 = pq_dw_narrow(a0, k, nv);
    *r1 = pq_dw_narrow(a1, k, nv);
}

/* 8 * nv channels from blk (a multiple of 8), over the whole image. nine: the filter is 3x3
 * with pairable taps (unrolled); share: the stride equals the dilation
 * (neighbouring pixels share 2 of their 3 columns); fast: the requantization above. */
PQ_NAI void pq_dw_block(const pq_dwconv_fast_plan *plan, const pq_rqc *qc, const int8_t *img, int32_t wp,
                        int8_t *out, int32_t blk, const int nine, const int nv, const int share, const int fast,
                        const int full)
{
    const int32_t c = plan->in_dims.c;
    const int32_t f_h = plan->filter_dims.h, f_w = plan->filter_dims.w;
    const int32_t out_h = plan->out_dims.h, out_w = plan->out_dims.w;
    const ptrdiff_t s_y = (ptrdiff_t)plan->p.stride_h * wp * c, s_x = (ptrdiff_t)plan->p.stride_w * c;
    const ptrdiff_t d_y = (ptrdiff_t)plan->p.dilation_h * wp * c, d_x = (ptrdiff_t)plan->p.dilation_w * c;
    const int32_t bw = 8 * nv;
    const int8_t *wb = plan->w + (size_t)blk * (size_t)(f_h * f_w);
    const int32_t count = full || c - blk >= bw ? bw : c - blk;
    const int pair = plan->pair16;
    pq_dw_consts k;
    int8x16_t w9[9];
    int32_t oy, ox, fy, fx, t, i;
    for (i = 0; i < bw; ++i) {
        k.bias[i] = plan->rq.bias[blk + i];
        k.mult[i] = plan->rq.mult[blk + i];
        k.nrshift[i] = -plan->rq.rshift[blk + i];
    }
    k.rq = &plan->rq;
    k.c0 = blk;
    k.offset = vdupq_n_s16((int16_t)plan->rq.output_offset);
    k.act_min = vdupq_n_s8((int8_t)plan->rq.act_min);
    k.act_max = vdupq_n_s8((int8_t)plan->rq.act_max);
    if (nine && nv == 1) {
        pq_dw_ld9(w9, wb, nv);
    }
    for (oy = 0; oy < out_h; ++oy) {
        const int8_t *px = img + (ptrdiff_t)oy * s_y + blk;
        int8_t *dst = out + (size_t)oy * (size_t)out_w * (size_t)c + (size_t)blk;
        ox = 0;
        if (nine) {
            /* Two pixels at a time: 18 inputs (12 loads when shared) against the 9 weights. */
            for (; ox + 2 <= out_w; ox += 2, px += 2 * s_x, dst += 2 * c) {
                int32x4_t a0[4], a1[4];
                int8x16_t x0[9], x1[9], r0, r1;
                if (nv == 2) {
                    pq_dw_ld9(w9, wb, nv);
                }
                PQ_NUNROLL
                for (fy = 0; fy < 3; ++fy) {
                    const int8_t *r = px + fy * d_y;
                    PQ_NUNROLL
                    for (fx = 0; fx < 3; ++fx) {
                        x0[3 * fy + fx] = pq_dw_ld(r + fx * d_x, nv);
                    }
                    PQ_NUNROLL
                    for (fx = 0; fx < 3; ++fx) {
                        /* shared: the second pixel's first two columns are the first's last two */
                        x1[3 * fy + fx] = share ? (fx < 2 ? x0[3 * fy + fx + 1] : pq_dw_ld(r + 3 * d_x, nv))
                                                : pq_dw_ld(r + s_x + fx * d_x, nv);
                    }
                }
                pq_dw_init(a0, &k, nv);
                pq_dw_init(a1, &k, nv);
                PQ_NUNROLL
                for (t = 0; t < 8; t += 2) {
                    pq_dw_two(a0, x0[t], w9[t], x0[t + 1], w9[t + 1], nv);
                    pq_dw_two(a1, x1[t], w9[t], x1[t + 1], w9[t + 1], nv);
                }
                pq_dw_one(a0, x0[8], w9[8], nv);
                pq_dw_one(a1, x1[8], w9[8], nv);
                pq_dw_requant2(a0, a1, &k, qc, nv, fast, &r0, &r1);
                pq_store_s8(dst, r0, count);
                pq_store_s8(dst + c, r1, count);
            }
        }
        for (; ox < out_w; ++ox, px += s_x, dst += c) {
            int32x4_t acc[4];
            pq_dw_init(acc, &k, nv);
            if (nine) {
                if (nv == 2) {
                    pq_dw_ld9(w9, wb, nv);
                }
                PQ_NUNROLL
                for (t = 0; t < 8; t += 2) {
                    pq_dw_two(acc, pq_dw_ld(px + (t / 3) * d_y + (t % 3) * d_x, nv), w9[t],
                              pq_dw_ld(px + ((t + 1) / 3) * d_y + ((t + 1) % 3) * d_x, nv), w9[t + 1], nv);
                }
                pq_dw_one(acc, pq_dw_ld(px + 2 * d_y + 2 * d_x, nv), w9[8], nv);
            } else {
                /* Any filter: taps in pairs (2i, 2i + 1) when pair16 allows, else one by one. */
                const int8_t *wt = wb;
                int8x16_t xp = vdupq_n_s8(0), wq = vdupq_n_s8(0);
                int held = 0;
                for (fy = 0; fy < f_h; ++fy) {
                    const int8_t *xr = px + fy * d_y;
                    for (fx = 0; fx < f_w; ++fx, xr += d_x, wt += bw) {
                        const int8x16_t xv = pq_dw_ld(xr, nv), wv = pq_dw_ld(wt, nv);
                        if (!pair) {
                            pq_dw_one(acc, xv, wv, nv);
                        } else if (held) {
                            pq_dw_two(acc, xp, wq, xv, wv, nv);
                            held = 0;
                        } else {
                            xp = xv;
                            wq = wv;
                            held = 1;
                        }
                    }
                }
                if (held) {
                    pq_dw_one(acc, xp, wq, nv);
                }
            }
            pq_store_s8(dst, pq_dw_requant(acc, &k, qc, nv, fast), count);
        }
    }
}

/* One block width's instantiations. */
PQ_NAI void pq_dw_blocks(const pq_dwconv_fast_plan *plan, const pq_rqc *qc, const int8_t *img, int32_t wp,
                         int8_t *out, int32_t blk, const int nv)
{
    const int nine = plan->filter_dims.h == 3 && plan->filter_dims.w == 3 && plan->pair16;
    const int share = plan->p.stride_w == plan->p.dilation_w;
    const int fast = plan->rshift_min >= 1;
    const int full = plan->in_dims.c - blk >= 8 * nv; /* constant store width */
    if (nine && share && fast && full) {
        pq_dw_block(plan, qc, img, wp, out, blk, 1, nv, 1, 1, 1);
    } else if (nine && fast && full) {
        pq_dw_block(plan, qc, img, wp, out, blk, 1, nv, 0, 1, 1);
    } else if (nine) {
        pq_dw_block(plan, qc, img, wp, out, blk, 1, nv, 0, fast, 0);
    } else if (fast) {
        pq_dw_block(plan, qc, img, wp, out, blk, 0, nv, 0, 1, 0);
    } else {
        pq_dw_block(plan, qc, img, wp, out, blk, 0, nv, 0, 0, 0);
    }
}

#if PQ_HAVE_NEON_DOT
#if defined(__ARM_FEATURE_DOTPROD)
#define PQ_DW_T_DOT
#else
#define PQ_DW_T_DOT __attribute__((target("arch=armv8.2-a+dotprod")))
#endif

/* sdot (PQ_ISA_NEON_DOT, 3x3 filters): per output row and block, each padded column's 3 input
 * rows are stored channel-interleaved, [channel][4] bytes (the rows, then a zero: one st4), so
 * each 32-bit lane of a 16-byte load holds one channel's 3 taps of that column, and one sdot
 * against the weights laid out the same way (the 4th a zero weight) adds them into that
 * channel's int32 accumulator: 3 sdot per 4 channels and pixel instead of 9 widening multiplies
 * and their widening adds, exact for any weights (no pair16 condition), wrapping like the
 * reference. Any stride and dilation: pixel ox, filter column fx reads column
 * ox * stride_w + fx * dilation_w of the interleaved row. */

/* Bytes of interleaved row per padded column: 16 channels x 4 rows. */
#define PQ_DW_DOT_COL 64

/* A block's weights to wbuf, [fx][g][16]: group g of filter column fx holds channels 4g .. 4g + 3's
 * (w[0][fx], w[1][fx], w[2][fx], 0). */
PQ_NAI void pq_dw_dot_weights(int8_t *wbuf, const int8_t *wb, const int nv)
{
    const int8x16_t z = vdupq_n_s8(0);
    int fx;
    PQ_NUNROLL
    for (fx = 0; fx < 3; ++fx) {
        const int8x16_t t0 = pq_dw_ld(wb + fx * 8 * nv, nv), t1 = pq_dw_ld(wb + (3 + fx) * 8 * nv, nv);
        const int8x16_t t2 = pq_dw_ld(wb + (6 + fx) * 8 * nv, nv);
        const int16x8_t a0 = vreinterpretq_s16_s8(vzip1q_s8(t0, t1)), b0 = vreinterpretq_s16_s8(vzip1q_s8(t2, z));
        int8_t *w = wbuf + fx * 16 * 2 * nv;
        vst1q_s8(w, vreinterpretq_s8_s16(vzip1q_s16(a0, b0)));
        vst1q_s8(w + 16, vreinterpretq_s8_s16(vzip2q_s16(a0, b0)));
        if (nv == 2) {
            const int16x8_t a1 = vreinterpretq_s16_s8(vzip2q_s8(t0, t1)), b1 = vreinterpretq_s16_s8(vzip2q_s8(t2, z));
            vst1q_s8(w + 32, vreinterpretq_s8_s16(vzip1q_s16(a1, b1)));
            vst1q_s8(w + 48, vreinterpretq_s8_s16(vzip2q_s16(a1, b1)));
        }
    }
}

/* Columns [0, cols) of the 3 rows from r0 (row step dy, column step c) interleaved into buf
 * (8 channels: the upper 8 lanes zero, the column's last 32 bytes unused). */
PQ_NAI void pq_dw_dot_interleave(int8_t *buf, const int8_t *r0, ptrdiff_t dy, ptrdiff_t c, int32_t cols,
                                 const int nv)
{
    int8x16x4_t v;
    int32_t x;
    v.val[3] = vdupq_n_s8(0);
    for (x = 0; x < cols; ++x, r0 += c, buf += PQ_DW_DOT_COL) {
        v.val[0] = pq_dw_ld(r0, nv);
        v.val[1] = pq_dw_ld(r0 + dy, nv);
        v.val[2] = pq_dw_ld(r0 + 2 * dy, nv);
        vst4q_s8(buf, v);
    }
}

/* 16 * 2 * nv bytes in 2 * nv registers, one ld1 (ld1 of 4 registers: GCC keeps them out of the
 * way of the weights, where single loads made it spill). */
PQ_NAI int8x16x4_t pq_dw_dot_ld(const int8_t *p, const int nv)
{
    int8x16x4_t r;
    if (nv == 2) {
        r = vld1q_s8_x4(p);
    } else {
        const int8x16x2_t h = vld1q_s8_x2(p);
        r.val[0] = h.val[0];
        r.val[1] = h.val[1];
        r.val[2] = r.val[3] = vdupq_n_s8(0); /* unused */
    }
    return r;
}

/* a0 += pixel p0's 3 filter columns (column stride d_x bytes), and with `two` a1 += p1's, each
 * weight load serving both. */
PQ_NAI PQ_DW_T_DOT void pq_dw_dot_cols(int32x4_t *a0, int32x4_t *a1, const int8_t *p0, const int8_t *p1,
                                       ptrdiff_t d_x, const int8_t *wbuf, const int nv, const int two)
{
    int fx, g;
    PQ_NUNROLL
    for (fx = 0; fx < 3; ++fx) {
        const int8x16x4_t w = pq_dw_dot_ld(wbuf + fx * 32 * nv, nv), x0 = pq_dw_dot_ld(p0 + fx * d_x, nv);
        const int8x16x4_t x1 = two ? pq_dw_dot_ld(p1 + fx * d_x, nv) : x0;
        PQ_NUNROLL
        for (g = 0; g < 2 * nv; ++g) {
            a0[g] = vdotq_s32(a0[g], x0.val[g], w.val[g]);
            if (two) {
                a1[g] = vdotq_s32(a1[g], x1.val[g], w.val[g]);
            }
        }
    }
}

/* Fast path: one pixel's accumulators of 8 * nv channels to int8, the constant vectors loaded
 * from memory the output stores may alias (the plan, the negated shifts in scratch), so GCC
 * reloads them per pixel rather than hold 2 x 4 of them in registers. */
PQ_NAI int8x16_t pq_dw_dot_out(int32x4_t *a, const int32_t *mult, const int32_t *nrshift, const pq_rqc *qc,
                               const int nv)
{
    int g;
    PQ_NUNROLL
    for (g = 0; g < 2 * nv; ++g) {
        a[g] = pq_dw_scale(a[g], vld1q_s32(mult + 4 * g), vld1q_s32(nrshift + 4 * g));
    }
    return nv == 2 ? pq_narrow16_offset_clamp(qc, a[0], a[1], a[2], a[3])
                   : pq_narrow16_offset_clamp(qc, a[0], a[1], a[0], a[1]);
}

/* 8 * nv channels from blk over the whole image: consts holds the block's 16 negated right
 * shifts, then its interleaved weights (192 bytes), then the interleaved rows (work the output
 * stores may alias: GCC reloads these per pass rather than hold them in registers). Two pixels
 * per pass. */
PQ_NAI PQ_DW_T_DOT void pq_dw_block_dot(const pq_dwconv_fast_plan *plan, const pq_rqc *qc, const int8_t *img,
                                        int32_t wp, int8_t *out, int32_t blk, int32_t *consts, const int nv,
                                        const int fast, const int full)
{
    const int32_t c = plan->in_dims.c;
    const int32_t out_h = plan->out_dims.h, out_w = plan->out_dims.w;
    const ptrdiff_t s_y = (ptrdiff_t)plan->p.stride_h * wp * c, d_y = (ptrdiff_t)plan->p.dilation_h * wp * c;
    const ptrdiff_t s_x = (ptrdiff_t)plan->p.stride_w * PQ_DW_DOT_COL;
    const ptrdiff_t d_x = (ptrdiff_t)plan->p.dilation_w * PQ_DW_DOT_COL;
    const int32_t cols = (out_w - 1) * plan->p.stride_w + 2 * plan->p.dilation_w + 1;
    const int32_t bw = 8 * nv;
    const int32_t count = full || c - blk >= bw ? bw : c - blk;
    const int32_t *bias = plan->rq.bias + blk, *mult = plan->rq.mult + blk;
    int8_t *wbuf = (int8_t *)(consts + 16), *buf = wbuf + 3 * PQ_DW_DOT_COL;
    pq_dw_consts k;
    int32_t oy, ox, i, g;
    for (i = 0; i < bw; ++i) {
        consts[i] = -plan->rq.rshift[blk + i];
    }
    k.rq = &plan->rq; /* the exact path's constants (pq_dw_requant) */
    k.c0 = blk;
    pq_dw_dot_weights(wbuf, plan->w + (size_t)blk * 9u, nv);
    for (oy = 0; oy < out_h; ++oy) {
        const int8_t *col = buf;
        int8_t *dst = out + (size_t)oy * (size_t)out_w * (size_t)c + (size_t)blk;
        pq_dw_dot_interleave(buf, img + (ptrdiff_t)oy * s_y + blk, d_y, c, cols, nv);
        /* Two pixels per pass, no store under a condition (GCC would split the pass there and
         * spill across the branch); a last odd pixel alone. */
        for (ox = 0; ox + 2 <= out_w; ox += 2, col += 2 * s_x, dst += 2 * c) {
            int32x4_t a0[4], a1[4];
            PQ_NUNROLL
            for (g = 0; g < 2 * nv; ++g) {
                a0[g] = a1[g] = vld1q_s32(bias + 4 * g);
            }
            pq_dw_dot_cols(a0, a1, col, col + s_x, d_x, wbuf, nv, 1);
            if (fast) {
                pq_store_s8(dst, pq_dw_dot_out(a0, mult, consts, qc, nv), count);
                pq_store_s8(dst + c, pq_dw_dot_out(a1, mult, consts, qc, nv), count);
            } else {
                pq_store_s8(dst, pq_dw_requant(a0, &k, qc, nv, 0), count);
                pq_store_s8(dst + c, pq_dw_requant(a1, &k, qc, nv, 0), count);
            }
        }
        if (ox < out_w) {
            int32x4_t a0[4];
            PQ_NUNROLL
            for (g = 0; g < 2 * nv; ++g) {
                a0[g] = vld1q_s32(bias + 4 * g);
            }
            pq_dw_dot_cols(a0, a0, col, col, d_x, wbuf, nv, 0);
            pq_store_s8(dst, fast ? pq_dw_dot_out(a0, mult, consts, qc, nv) : pq_dw_requant(a0, &k, qc, nv, 0),
                        count);
        }
    }
}

PQ_NAI PQ_DW_T_DOT void pq_dw_blocks_dot(const pq_dwconv_fast_plan *plan, const pq_rqc *qc, const int8_t *img,
                                         int32_t wp, int8_t *out, int32_t blk, int32_t *consts, const int nv)
{
    const int fast = plan->rshift_min >= 1;
    const int full = plan->in_dims.c - blk >= 8 * nv;
    if (fast && full) {
        pq_dw_block_dot(plan, qc, img, wp, out, blk, consts, nv, 1, 1);
    } else {
        pq_dw_block_dot(plan, qc, img, wp, out, blk, consts, nv, fast, 0);
    }
}

/* The whole image with sdot; work: PQ_DW_DOT_COL bytes per padded column and 4 more (a block's
 * negated right shifts and interleaved weights, then the interleaved rows). */
static PQ_DW_T_DOT void pq_dwconv_s8_neon_dot3x3(const pq_dwconv_fast_plan *plan, const int8_t *img, int32_t wp,
                                                 int8_t *out, void *work)
{
    const pq_rqc qc = pq_rqc_load(&plan->rq);
    int32_t *consts = (int32_t *)work;
    int32_t blk;
    for (blk = 0; blk < plan->cp; blk += 16) {
        if (plan->cp - blk >= 16) {
            pq_dw_blocks_dot(plan, &qc, img, wp, out, blk, consts, 2);
        } else {
            pq_dw_blocks_dot(plan, &qc, img, wp, out, blk, consts, 1);
        }
    }
}
#endif

void pq_dwconv_s8_neon(const pq_dwconv_fast_plan *plan, const void *padded, int32_t wp, int8_t *out)
{
    const int8_t *img = (const int8_t *)padded;
    const pq_rqc qc = pq_rqc_load(&plan->rq);
    int32_t blk;
#if PQ_HAVE_NEON_DOT
    if (plan->op_isa == PQ_ISA_NEON_DOT && plan->filter_dims.h == 3 && plan->filter_dims.w == 3) {
        pq_dwconv_s8_neon_dot3x3(plan, img, wp, out, (void *)((int8_t *)padded + pq_dwconv_s8_padded_bytes(plan)));
        return;
    }
#endif
    for (blk = 0; blk < plan->cp; blk += 16) {
        if (plan->cp - blk >= 16) {
            pq_dw_blocks(plan, &qc, img, wp, out, blk, 2);
        } else {
            pq_dw_blocks(plan, &qc, img, wp, out, blk, 1);
        }
    }
}

#else
/* ISO C forbids an empty translation unit. */
typedef int pq_depthwise_conv2d_s8_neon_unused;
#endif
