/*
 * CONV_2D 16x8 for Cortex-M cores with the DSP extension: the arithmetic of
 * pq_conv2d_s16 (ref/pq_conv2d_s16.c), byte for byte, with either bias (an int32 bias:
 * TFLM's wrapping int32 sum; an int64 one or none: the int64 sum).
 *
 * Output pixels go two at a time, as in pq_conv2d_s8_dsp. Each pixel's receptive field
 * becomes a column of K = f_h * f_w * f_c int16 values in the filter's (fy, fx, c) order,
 * put in SMLAD lane order (pq_dsp16.h) once per pixel pair, so that every pair of filter
 * rows meets the two columns with no further shuffling. A 1x1 unpadded conv packs its two
 * input pixels straight into the scratch. Any other conv copies them first (im2col), with
 * 0 for taps outside the image (the 16x8 input has no offset, so a 0 product is exactly
 * the reference's skipped tap), and packs in place: the staged group j (a0-a3 b0-b3, 16
 * bytes) becomes the packed group j at the same 16 bytes. With an int64 bias or none,
 * each channel's requantization (pq_dsp16_ch, the bias folded in) is computed once a call
 * into the scratch after the columns.
 */
#include <stdint.h>

#include "pq_dsp16.h"

#if PQ_DSP

/* Where value d of column a is staged (int16 index); column b's is 4 further. */
PQ_INLINE int16_t *chunk(int16_t *base, int32_t d)
{
    return base + ((d & ~3) << 1) + (d & 3);
}

/* Write n values into column values [d, d + n): from src, or 0 when src is NULL.
 * Values up to a group boundary, whole groups as two words, then the values left. */
static void put_run(int16_t *base, int32_t d, const int16_t *src, int32_t n)
{
    int16_t *q = chunk(base, d);
    const int32_t head = (4 - (d & 3)) & 3;
    int32_t i;
    if (n <= 0) {
        return;
    }
    if (head > 0) {
        const int32_t m = head < n ? head : n;
        for (i = 0; i < m; ++i) {
            q[i] = src != NULL ? src[i] : 0;
        }
        if (m == n) {
            return;
        }
        q += m + 4; /* past column b's values of the group */
        src = src != NULL ? src + m : NULL;
        n -= m;
    }
    if (src != NULL) {
        for (; n >= 4; n -= 4, src += 4, q += 8) {
            const uint32_t v0 = pq_dsp16_ld2(src), v1 = pq_dsp16_ld2(src + 2);
            memcpy(q, &v0, 4);
            memcpy(q + 2, &v1, 4);
        }
        for (i = 0; i < n; ++i) {
            q[i] = src[i];
        }
    } else {
        for (; n >= 4; n -= 4, q += 8) {
            memset(q, 0, 8);
        }
        for (i = 0; i < n; ++i) {
            q[i] = 0;
        }
    }
}

/* Column of output pixel (oy, ox), group channels [c0, c0 + f_c), staged at `base`. */
static void im2col(const pq_conv_params *p, const pq_dims *in_dims, const int16_t *in_b,
                   const pq_dims *filter_dims, int32_t c0, int32_t oy, int32_t ox, int16_t *base)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t f_h = filter_dims->h, f_w = filter_dims->w, f_c = filter_dims->c;
    const int32_t y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;
    /* A filter row is one contiguous run of input when taps are adjacent and every
     * channel of the input belongs to the one group. */
    const int32_t rows_contiguous = p->dilation_w == 1 && f_c == in_c;
    const int32_t row_len = f_w * f_c;
    int32_t fy, fx, d = 0;
    for (fy = 0; fy < f_h; ++fy, d += row_len) {
        const int32_t y = y0 + fy * p->dilation_h;
        if (y < 0 || y >= in_h) {
            put_run(base, d, NULL, row_len);
        } else if (rows_contiguous) {
            /* Taps [lo, hi) of this row are inside the image. */
            const int32_t lo = x0 < 0 ? (-x0 < f_w ? -x0 : f_w) : 0;
            const int32_t hi = x0 + f_w > in_w ? (in_w - x0 > lo ? in_w - x0 : lo) : f_w;
            put_run(base, d, NULL, lo * f_c);
            put_run(base, d + lo * f_c, in_b + (y * in_w + x0 + lo) * in_c, (hi - lo) * f_c);
            put_run(base, d + hi * f_c, NULL, (f_w - hi) * f_c);
        } else {
            for (fx = 0; fx < f_w; ++fx) {
                const int32_t x = x0 + fx * p->dilation_w;
                const int32_t inside = x >= 0 && x < in_w;
                put_run(base, d + fx * f_c, inside ? in_b + (y * in_w + x) * in_c + c0 : NULL, f_c);
            }
        }
    }
    /* The partial last group: zeros. */
    put_run(base, d, NULL, ((d + 3) & ~3) - d);
}

/* Staged groups (a01 a23 b01 b23 as words) to lane order, in place. memcpy because the
 * staging wrote int16 values: the words are read as bytes, whatever the compiler assumes. */
static void pack(int32_t *cols, int32_t groups)
{
    int32_t j;
    for (j = 0; j < groups; ++j, cols += 4) {
        uint32_t v[4];
        int32_t w[4];
        memcpy(v, cols, 16);
        w[0] = pq_dsp16_lo(v[0], v[1]);
        w[1] = pq_dsp16_hi(v[0], v[1]);
        w[2] = pq_dsp16_lo(v[2], v[3]);
        w[3] = pq_dsp16_hi(v[2], v[3]);
        memcpy(cols, w, 16);
    }
}

/* The values [i, i + n) of a, n in 1..3, as the words (x1, x0), (x3, x2), zero-padded. */
PQ_INLINE void tail_words(const int16_t *a, int32_t n, uint32_t *x01, uint32_t *x23)
{
    *x01 = (uint16_t)a[0] | (n > 1 ? (uint32_t)(uint16_t)a[1] << 16 : 0u);
    *x23 = n > 2 ? (uint16_t)a[2] : 0u;
}

/* A 1x1 unpadded conv's columns are input pixels as they are: pack k values of pixels
 * a and b straight into lane order, reading only the values that exist. */
static void pack_direct(int32_t *cols, const int16_t *a, const int16_t *b, int32_t k)
{
    int32_t j;
    uint32_t a01, a23, b01, b23;
    for (j = k >> 2; j > 0; --j, a += 4, b += 4, cols += 4) {
        a01 = pq_dsp16_ld2(a);
        a23 = pq_dsp16_ld2(a + 2);
        b01 = pq_dsp16_ld2(b);
        b23 = pq_dsp16_ld2(b + 2);
        cols[0] = pq_dsp16_lo(a01, a23);
        cols[1] = pq_dsp16_hi(a01, a23);
        cols[2] = pq_dsp16_lo(b01, b23);
        cols[3] = pq_dsp16_hi(b01, b23);
    }
    if (k & 3) {
        tail_words(a, k & 3, &a01, &a23);
        tail_words(b, k & 3, &b01, &b23);
        cols[0] = pq_dsp16_lo(a01, a23);
        cols[1] = pq_dsp16_hi(a01, a23);
        cols[2] = pq_dsp16_lo(b01, b23);
        cols[3] = pq_dsp16_hi(b01, b23);
    }
}

pq_status pq_conv2d_s16_dsp(const pq_conv_params *p, const int32_t *mult, const int32_t *shift,
                            const pq_dims *in_dims, const int16_t *in, const pq_dims *filter_dims,
                            const int8_t *filter, const int32_t *bias32, const int64_t *bias64,
                            const pq_dims *out_dims, int16_t *out, void *scratch, int32_t scratch_bytes)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t f_c = filter_dims->c;
    const int32_t k = filter_dims->h * filter_dims->w * f_c;
    const int32_t groups4 = (k + 3) >> 2;
    const int32_t out_w = out_dims->w, out_c = out_dims->c;
    const int32_t pixels = out_dims->h * out_w;
    int32_t *cols = (int32_t *)scratch;
    /* 1x1, unpadded: every column is an input pixel (the output size keeps it inside). */
    const int32_t direct = filter_dims->h == 1 && filter_dims->w == 1 && p->pad_h == 0 && p->pad_w == 0;
    pq_dsp16_gemm rq;
    int32_t groups, per_group, b, pix, g;

    /* The reference's own refusals, then the scratch: PQ_CONV2D_S16_DSP_SCRATCH bytes, 4-aligned. */
    if (f_c <= 0 || in_c % f_c != 0 || scratch == NULL || ((uintptr_t)scratch & 3) != 0 ||
        scratch_bytes < PQ_CONV2D_S16_DSP_SCRATCH(filter_dims->h, filter_dims->w, f_c, out_c)) {
        return PQ_ERR_PARAM;
    }
    groups = in_c / f_c;
    per_group = out_c / groups;
    if (per_group <= 0) {
        return PQ_ERR_PARAM;
    }
    rq.mult = mult;
    rq.shift = shift;
    rq.bias32 = bias32;
    rq.bias64 = bias64;
    rq.per_channel = 1;
    rq.act_min = p->act_min;
    rq.act_max = p->act_max;
    rq.k = k;
    rq.clamp_kind = pq_dsp16_clamp_kind(p->act_min, p->act_max);
    rq.ch = NULL;
    if (bias32 == NULL) { /* the int64 path: each channel's requantization once, after the columns */
        pq_dsp16_ch *ch = (pq_dsp16_ch *)((int8_t *)scratch + PQ_DSP_PAIR_BYTES(k));
        int32_t c;
        for (c = 0; c < out_c; ++c) {
            ch[c] = pq_dsp16_ch_of(mult[c], shift[c], bias64 != NULL ? &bias64[c] : NULL);
        }
        rq.ch = ch;
    }

    for (b = 0; b < in_dims->n; ++b) {
        const int16_t *in_b = in + b * in_h * in_w * in_c;
        int16_t *out_b = out + b * pixels * out_c;
        for (pix = 0; pix < pixels; pix += 2) {
            /* An odd last pixel goes as both columns, its outputs written twice. */
            const int32_t pix1 = pix + 1 < pixels ? pix + 1 : pix;
            rq.out_stride = (pix1 - pix) * out_c;
            for (g = 0; g < groups; ++g) {
                if (direct) {
                    const int32_t ia = (pix / out_w) * p->stride_h * in_w + (pix % out_w) * p->stride_w;
                    const int32_t ib = (pix1 / out_w) * p->stride_h * in_w + (pix1 % out_w) * p->stride_w;
                    pack_direct(cols, in_b + ia * in_c + g * f_c, in_b + ib * in_c + g * f_c, k);
                } else {
                    im2col(p, in_dims, in_b, filter_dims, g * f_c, pix / out_w, pix % out_w, (int16_t *)cols);
                    im2col(p, in_dims, in_b, filter_dims, g * f_c, pix1 / out_w, pix1 % out_w,
                           (int16_t *)cols + 4);
                    pack(cols, groups4);
                }
                rq.first_row = g * per_group;
                pq_dsp16_gemm_2cols(&rq, filter, per_group, cols, out_b + pix * out_c);
            }
        }
    }
    return PQ_OK;
}

#else
typedef int pq_conv2d_s16_dsp_unused; /* ISO C: a translation unit is not empty */
#endif /* PQ_DSP */
