/*
 * The 16x8 fast kernels' dot products and multiply-accumulates (pq_s16_fast.h) in aarch64
 * Advanced SIMD: smlal / smlal2 multiply 4 int16 pairs into 4 int32 lanes each.
 *
 * Exactness: every product is at most 383 * 32768 < 2^23.6 in magnitude (pq_s16_fast.h), so an
 * int32 lane holds PQ_S16_CHUNK (128) of them. A run of 8 values puts one product in each lane
 * of two accumulators (low and high halves), so after BLOCK = 8 * PQ_S16_CHUNK values the lanes
 * are flushed into int64 (saddlp / sadalp) and restart: the total is the exact integer sum of
 * the products, the reference's int64 sum, hence the same bytes. Values past the last multiple
 * of 8 run as one 4-wide step and then scalar, so nothing past a row is read.
 *
 * pq_s16_dots_neon takes one row against 4 filter rows at a time (a CONV_2D output pixel or a
 * FULLY_CONNECTED row against its output channels): each 8 row values are loaded once for 4
 * channels: 5 loads and 8 smlal per 32 products (GCC 12 -O3: 16 instructions with the loop's),
 * against 8 loads and 8 smlal with a call and a reduction per channel. pq_s16_dots2_neon takes
 * two rows (two CONV_2D output pixels) against 4 filter rows: each 8 filter values are loaded
 * once for both pixels: 6 loads and 16 smlal per 64 products.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_isa.h"
#include "pq_s16_fast.h"

#if PQ_HAVE_NEON
#include <arm_neon.h>

#define BLOCK (8 * PQ_S16_CHUNK)

/* Values of this block: up to BLOCK, whole runs of 8 (the caller finishes the rest). */
static inline int32_t block_end(int32_t i, int32_t n)
{
    const int32_t left = (n - i) & ~7;
    return i + (left < BLOCK ? left : BLOCK);
}

/* The same for pq_s16_dots2_neon, whose accumulators take both halves of each 8 values (one
 * int32x4 per row and channel, 16 of the 32 registers for 2 rows x 4 channels): 2 products per
 * lane per 8 values, so blocks of 4 * PQ_S16_CHUNK values keep a lane at PQ_S16_CHUNK. */
#define BLOCK2 (4 * PQ_S16_CHUNK)
static inline int32_t block_end2(int32_t i, int32_t n)
{
    const int32_t left = (n - i) & ~7;
    return i + (left < BLOCK2 ? left : BLOCK2);
}

/* The int64 sum of the 8 lanes of lo and hi (each within int32: no lane sum overflows). */
static inline int64x2_t flush(int64x2_t t, int32x4_t lo, int32x4_t hi)
{
    return vpadalq_s32(vpadalq_s32(t, lo), hi);
}

/* a[i .. n) . b[i .. n) for n - i < 8: one 4-wide step (its int32 lanes hold 1 product) and scalar. */
static inline int64_t tail(const int16_t *a, const int16_t *b, int32_t i, int32_t n)
{
    int64_t s = 0;
    if (n - i >= 4) {
        s = vaddlvq_s32(vmull_s16(vld1_s16(a + i), vld1_s16(b + i)));
        i += 4;
    }
    for (; i < n; ++i) s += (int32_t)a[i] * (int32_t)b[i];
    return s;
}

int64_t pq_s16_dot_neon(const int16_t *a, const int16_t *b, int32_t n)
{
    int64x2_t t = vdupq_n_s64(0);
    int32_t i = 0;
    while (n - i >= 8) {
        const int32_t end = block_end(i, n);
        int32x4_t lo = vdupq_n_s32(0), hi = vdupq_n_s32(0);
        for (; i < end; i += 8) {
            const int16x8_t x = vld1q_s16(a + i), y = vld1q_s16(b + i);
            lo = vmlal_s16(lo, vget_low_s16(x), vget_low_s16(y));
            hi = vmlal_high_s16(hi, x, y);
        }
        t = flush(t, lo, hi);
    }
    return vaddvq_s64(t) + tail(a, b, i, n);
}

/* out[0 .. 4) = a . w_j for the 4 rows w_j = w + j * k. */
static void dot4(const int16_t *a, const int16_t *w, int32_t k, int64_t *out)
{
    const int16_t *w0 = w, *w1 = w + k, *w2 = w1 + k, *w3 = w2 + k;
    int64x2_t t0 = vdupq_n_s64(0), t1 = t0, t2 = t0, t3 = t0;
    int32_t i = 0;
    while (k - i >= 8) {
        const int32_t end = block_end(i, k);
        int32x4_t l0 = vdupq_n_s32(0), h0 = l0, l1 = l0, h1 = l0, l2 = l0, h2 = l0, l3 = l0, h3 = l0;
        for (; i < end; i += 8) {
            const int16x8_t x = vld1q_s16(a + i);
            const int16x4_t xl = vget_low_s16(x);
            const int16x8_t y0 = vld1q_s16(w0 + i), y1 = vld1q_s16(w1 + i);
            const int16x8_t y2 = vld1q_s16(w2 + i), y3 = vld1q_s16(w3 + i);
            l0 = vmlal_s16(l0, xl, vget_low_s16(y0));
            h0 = vmlal_high_s16(h0, x, y0);
            l1 = vmlal_s16(l1, xl, vget_low_s16(y1));
            h1 = vmlal_high_s16(h1, x, y1);
            l2 = vmlal_s16(l2, xl, vget_low_s16(y2));
            h2 = vmlal_high_s16(h2, x, y2);
            l3 = vmlal_s16(l3, xl, vget_low_s16(y3));
            h3 = vmlal_high_s16(h3, x, y3);
        }
        t0 = flush(t0, l0, h0);
        t1 = flush(t1, l1, h1);
        t2 = flush(t2, l2, h2);
        t3 = flush(t3, l3, h3);
    }
    /* channel pairs side by side: (0, 1) and (2, 3) in one add each */
    vst1q_s64(out, vpaddq_s64(t0, t1));
    vst1q_s64(out + 2, vpaddq_s64(t2, t3));
    if (i < k) {
        out[0] += tail(a, w0, i, k);
        out[1] += tail(a, w1, i, k);
        out[2] += tail(a, w2, i, k);
        out[3] += tail(a, w3, i, k);
    }
}

void pq_s16_dots_neon(const int16_t *a, const int16_t *w, int32_t k, int32_t n, int64_t *out)
{
    int32_t j = 0;
    for (; j + 4 <= n; j += 4) dot4(a, w + (size_t)j * (size_t)k, k, out + j);
    for (; j < n; ++j) out[j] = pq_s16_dot_neon(a, w + (size_t)j * (size_t)k, k);
}

/* out0[0 .. 4) = a0 . w_j and out1[0 .. 4) = a1 . w_j for the 4 rows w_j = w + j * k. */
static void dot2x4(const int16_t *a0, const int16_t *a1, const int16_t *w, int32_t k, int64_t *out0, int64_t *out1)
{
    const int16_t *w0 = w, *w1 = w + k, *w2 = w1 + k, *w3 = w2 + k;
    int64x2_t p0 = vdupq_n_s64(0), p1 = p0, p2 = p0, p3 = p0, q0 = p0, q1 = p0, q2 = p0, q3 = p0;
    int32_t i = 0;
    while (k - i >= 8) {
        const int32_t end = block_end2(i, k);
        int32x4_t a00 = vdupq_n_s32(0), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        for (; i < end; i += 8) {
            const int16x8_t x0 = vld1q_s16(a0 + i), x1 = vld1q_s16(a1 + i);
            const int16x4_t x0l = vget_low_s16(x0), x1l = vget_low_s16(x1);
            const int16x8_t y0 = vld1q_s16(w0 + i), y1 = vld1q_s16(w1 + i);
            const int16x8_t y2 = vld1q_s16(w2 + i), y3 = vld1q_s16(w3 + i);
            a00 = vmlal_high_s16(vmlal_s16(a00, x0l, vget_low_s16(y0)), x0, y0);
            a01 = vmlal_high_s16(vmlal_s16(a01, x0l, vget_low_s16(y1)), x0, y1);
            a02 = vmlal_high_s16(vmlal_s16(a02, x0l, vget_low_s16(y2)), x0, y2);
            a03 = vmlal_high_s16(vmlal_s16(a03, x0l, vget_low_s16(y3)), x0, y3);
            a10 = vmlal_high_s16(vmlal_s16(a10, x1l, vget_low_s16(y0)), x1, y0);
            a11 = vmlal_high_s16(vmlal_s16(a11, x1l, vget_low_s16(y1)), x1, y1);
            a12 = vmlal_high_s16(vmlal_s16(a12, x1l, vget_low_s16(y2)), x1, y2);
            a13 = vmlal_high_s16(vmlal_s16(a13, x1l, vget_low_s16(y3)), x1, y3);
        }
        p0 = vpadalq_s32(p0, a00), p1 = vpadalq_s32(p1, a01), p2 = vpadalq_s32(p2, a02), p3 = vpadalq_s32(p3, a03);
        q0 = vpadalq_s32(q0, a10), q1 = vpadalq_s32(q1, a11), q2 = vpadalq_s32(q2, a12), q3 = vpadalq_s32(q3, a13);
    }
    vst1q_s64(out0, vpaddq_s64(p0, p1));
    vst1q_s64(out0 + 2, vpaddq_s64(p2, p3));
    vst1q_s64(out1, vpaddq_s64(q0, q1));
    vst1q_s64(out1 + 2, vpaddq_s64(q2, q3));
    if (i < k) {
        int32_t j;
        for (j = 0; j < 4; ++j) {
            out0[j] += tail(a0, w + (size_t)j * (size_t)k, i, k);
            out1[j] += tail(a1, w + (size_t)j * (size_t)k, i, k);
        }
    }
}

void pq_s16_dots2_neon(const int16_t *a0, const int16_t *a1, const int16_t *w, int32_t k, int32_t n, int64_t *out0,
                       int64_t *out1)
{
    int32_t j = 0;
    for (; j + 4 <= n; j += 4) dot2x4(a0, a1, w + (size_t)j * (size_t)k, k, out0 + j, out1 + j);
    for (; j < n; ++j) {
        out0[j] = pq_s16_dot_neon(a0, w + (size_t)j * (size_t)k, k);
        out1[j] = pq_s16_dot_neon(a1, w + (size_t)j * (size_t)k, k);
    }
}

void pq_s16_mac_neon(int32_t *acc, const int16_t *w, const int16_t *x, int32_t n)
{
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const int16x8_t a = vld1q_s16(w + i), b = vld1q_s16(x + i);
        vst1q_s32(acc + i, vmlal_s16(vld1q_s32(acc + i), vget_low_s16(a), vget_low_s16(b)));
        vst1q_s32(acc + i + 4, vmlal_high_s16(vld1q_s32(acc + i + 4), a, b));
    }
    if (i + 4 <= n) {
        vst1q_s32(acc + i, vmlal_s16(vld1q_s32(acc + i), vld1_s16(w + i), vld1_s16(x + i)));
        i += 4;
    }
    for (; i < n; ++i) acc[i] += (int32_t)w[i] * (int32_t)x[i];
}

#endif /* PQ_HAVE_NEON */
