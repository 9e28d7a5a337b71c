/*
 * CONV_2D for Cortex-M cores with the DSP extension: the arithmetic of
 * pq_conv2d_s8 (ref/pq_conv2d_s8.c), byte for byte.
 *
 * Output pixels go two at a time. Each pixel's receptive field becomes a column of
 * K = f_h * f_w * f_c values in the filter's (fy, fx, c) order, widened to int16
 * with the input offset added (SXTAB16), in the pair layout of pq_dsp_gemm_2cols; then
 * every pair of filter rows meets the two columns there. A 1x1 unpadded conv widens
 * its two input pixels straight into the scratch. Any other conv stages them first as
 * int8 (im2col), with the input zero point for taps outside the image so that
 * x + input_offset is 0 there exactly as the reference skips them, and widens in
 * place. The scratch is as much as CMSIS-NN's im2col asks for.
 */
#include <stdint.h>

#include "pq_dsp.h"

#if PQ_DSP

/* Where logical value d of a column lives in the staging area: columns a and b
 * alternate in 4-byte chunks (a0-a3 b0-b3 a4-a7 ...), which is what lets widen()
 * expand them in place (see there). Column b is the same map from base + 4. */
PQ_INLINE int8_t *chunk(int8_t *base, int32_t d)
{
    return base + ((d & ~3) << 1) + (d & 3);
}

/* Write n values into column values [d, d + n): from src, or `fill` when src is NULL.
 * Bytes up to a chunk boundary, whole chunks as words (LDR takes any address; chunks
 * are 8 bytes apart), then the bytes left. */
static void put_run(int8_t *base, int32_t d, const int8_t *src, int8_t fill, int32_t n)
{
    int8_t *q = chunk(base, d);
    const int32_t head = (4 - (d & 3)) & 3;
    int32_t i;
    if (n <= 0) {
        return;
    }
    if (head > 0) {
        const int32_t m = head < n ? head : n;
        for (i = 0; i < m; ++i) {
            q[i] = src != NULL ? src[i] : fill;
        }
        if (m == n) {
            return;
        }
        q += m + 4; /* past column b's chunk */
        src = src != NULL ? src + m : NULL;
        n -= m;
    }
    if (src != NULL) {
        for (; n >= 4; n -= 4, src += 4, q += 8) {
            const uint32_t v = pq_dsp_ld4(src);
            memcpy(q, &v, 4);
        }
        for (i = 0; i < n; ++i) {
            q[i] = src[i];
        }
    } else {
        const uint32_t fill4 = (uint8_t)fill * 0x01010101u;
        for (; n >= 4; n -= 4, q += 8) {
            memcpy(q, &fill4, 4);
        }
        for (i = 0; i < n; ++i) {
            q[i] = fill;
        }
    }
}

/* Column of output pixel (oy, ox), group channels [c0, c0 + f_c), at `base`. */
static void im2col(const pq_conv_params *p, const pq_dims *in_dims, const int8_t *in_b,
                   const pq_dims *filter_dims, int32_t c0, int32_t oy, int32_t ox, int8_t *base)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t f_h = filter_dims->h, f_w = filter_dims->w, f_c = filter_dims->c;
    const int8_t zero = (int8_t)(-p->input_offset); /* x + input_offset == 0 */
    const int32_t y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;
    /* A filter row is one contiguous run of input when taps are adjacent and
     * every channel of the input belongs to the one group. */
    const int32_t rows_contiguous = p->dilation_w == 1 && f_c == in_c;
    const int32_t row_len = f_w * f_c;
    int32_t fy, fx, d = 0;
    for (fy = 0; fy < f_h; ++fy, d += row_len) {
        const int32_t y = y0 + fy * p->dilation_h;
        if (y < 0 || y >= in_h) {
            put_run(base, d, NULL, zero, row_len);
        } else if (rows_contiguous) {
            /* Taps [lo, hi) of this row are inside the image. */
            const int32_t lo = x0 < 0 ? (-x0 < f_w ? -x0 : f_w) : 0;
            const int32_t hi = x0 + f_w > in_w ? (in_w - x0 > lo ? in_w - x0 : lo) : f_w;
            put_run(base, d, NULL, zero, lo * f_c);
            put_run(base, d + lo * f_c, in_b + (y * in_w + x0 + lo) * in_c, zero, (hi - lo) * f_c);
            put_run(base, d + hi * f_c, NULL, zero, (f_w - hi) * f_c);
        } else {
            for (fx = 0; fx < f_w; ++fx) {
                const int32_t x = x0 + fx * p->dilation_w;
                const int32_t inside = x >= 0 && x < in_w;
                put_run(base, d + fx * f_c, inside ? in_b + (y * in_w + x) * in_c + c0 : NULL, zero, f_c);
            }
        }
    }
    /* The partial last group: values that widen to 0. */
    put_run(base, d, NULL, zero, ((d + 3) & ~3) - d);
}

/* Widen the staged int8 chunks (at cols + 8 * groups bytes) into the int16 layout of
 * pq_dsp_gemm_2cols, front to back, in place: group j reads its 8 staged bytes at
 * 8 * groups + 8j and writes 16 bytes at 16j, which ends at or before the next
 * group's staged bytes (16j + 16 <= 8 * groups + 8j + 8 while j < groups). */
static void widen(int32_t *cols, int32_t groups, int32_t off2)
{
    const int8_t *staged = (const int8_t *)cols + 8 * groups;
    int32_t j;
    for (j = 0; j < groups; ++j, staged += 8, cols += 4) {
        const uint32_t a = pq_dsp_ld4(staged), b = pq_dsp_ld4(staged + 4);
        cols[0] = __sxtab16(off2, a);
        cols[1] = pq_dsp_sxtab16_ror8(off2, a);
        cols[2] = __sxtab16(off2, b);
        cols[3] = pq_dsp_sxtab16_ror8(off2, b);
    }
}

/* A 1x1 unpadded conv's columns are input pixels as they are: widen k values of
 * pixels a and b straight into the pair layout, no staging. The last partial group
 * reads only the values that exist and pads with values that widen to 0. */
static void widen_direct(int32_t *cols, const int8_t *a, const int8_t *b, int32_t k, int32_t off2, int8_t zero)
{
    int32_t j;
    for (j = k >> 2; j > 0; --j, a += 4, b += 4, cols += 4) {
        const uint32_t va = pq_dsp_ld4(a), vb = pq_dsp_ld4(b);
        cols[0] = __sxtab16(off2, va);
        cols[1] = pq_dsp_sxtab16_ror8(off2, va);
        cols[2] = __sxtab16(off2, vb);
        cols[3] = pq_dsp_sxtab16_ror8(off2, vb);
    }
    if (k & 3) {
        int8_t ta[4] = {zero, zero, zero, zero}, tb[4] = {zero, zero, zero, zero};
        uint32_t va, vb;
        for (j = 0; j < (k & 3); ++j) {
            ta[j] = a[j];
            tb[j] = b[j];
        }
        memcpy(&va, ta, 4);
        memcpy(&vb, tb, 4);
        cols[0] = __sxtab16(off2, va);
        cols[1] = pq_dsp_sxtab16_ror8(off2, va);
        cols[2] = __sxtab16(off2, vb);
        cols[3] = pq_dsp_sxtab16_ror8(off2, vb);
    }
}

pq_status pq_conv2d_s8_dsp(const pq_conv_params *p, const int32_t *mult, const int32_t *shift,
                           const pq_dims *in_dims, const int8_t *in,
                           const pq_dims *filter_dims, const int8_t *filter,
                           const int32_t *bias,
                           const pq_dims *out_dims, int8_t *out,
                           void *scratch, int32_t scratch_bytes)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t f_c = filter_dims->c;
    const int32_t k = filter_dims->h * filter_dims->w * f_c;
    const int32_t groups4 = (k + 3) >> 2;
    const int32_t out_w = out_dims->w, out_c = out_dims->c;
    const int32_t pixels = out_dims->h * out_w;
    int32_t *cols = (int32_t *)scratch;
    int8_t *staged = (int8_t *)scratch + 8 * groups4;
    /* 1x1, unpadded: every column is an input pixel (the output size keeps it inside). */
    const int32_t direct = filter_dims->h == 1 && filter_dims->w == 1 && p->pad_h == 0 && p->pad_w == 0;
    const int32_t off2 = pq_dsp_pair(p->input_offset);
    const int8_t zero = (int8_t)(-p->input_offset);
    pq_dsp_gemm rq;
    int32_t groups, per_group, b, pix, g;

    /* The scratch: PQ_CONV2D_S8_DSP_SCRATCH bytes (= PQ_DSP_PAIR_BYTES(k)), 4-aligned. */
    if (f_c <= 0 || in_c % f_c != 0 || p->input_offset < -127 || p->input_offset > 128 || scratch == NULL ||
        ((uintptr_t)scratch & 3) != 0 ||
        scratch_bytes < PQ_CONV2D_S8_DSP_SCRATCH(filter_dims->h, filter_dims->w, f_c)) {
        return PQ_ERR_PARAM;
    }
    groups = in_c / f_c;
    per_group = out_c / groups;
    if (per_group <= 0) {
        return PQ_ERR_PARAM;
    }
    rq.mult = mult;
    rq.shift = shift;
    rq.bias = bias;
    rq.per_channel = 1;
    rq.in_offset = p->input_offset;
    rq.out_offset = p->output_offset;
    rq.act_min = p->act_min;
    rq.act_max = p->act_max;
    rq.k = k;

    for (b = 0; b < in_dims->n; ++b) {
        const int8_t *in_b = in + b * in_h * in_w * in_c;
        int8_t *out_b = out + b * pixels * out_c;
        for (pix = 0; pix < pixels; pix += 2) {
            /* An odd last pixel goes as both columns, its outputs written twice. */
            const int32_t pix1 = pix + 1 < pixels ? pix + 1 : pix;
            rq.out_stride = (pix1 - pix) * out_c;
            for (g = 0; g < groups; ++g) {
                if (direct) {
                    const int32_t ia = (pix / out_w) * p->stride_h * in_w + (pix % out_w) * p->stride_w;
                    const int32_t ib = (pix1 / out_w) * p->stride_h * in_w + (pix1 % out_w) * p->stride_w;
                    widen_direct(cols, in_b + ia * in_c + g * f_c, in_b + ib * in_c + g * f_c, k, off2, zero);
                } else {
                    im2col(p, in_dims, in_b, filter_dims, g * f_c, pix / out_w, pix % out_w, staged);
                    im2col(p, in_dims, in_b, filter_dims, g * f_c, pix1 / out_w, pix1 % out_w, staged + 4);
                    widen(cols, groups4, off2);
                }
                rq.first_row = g * per_group;
                pq_dsp_gemm_2cols(&rq, filter, per_group, cols, out_b + pix * out_c);
            }
        }
    }
    return PQ_OK;
}

#else
typedef int pq_conv2d_s8_dsp_unused; /* ISO C: a translation unit is not empty */
#endif /* PQ_DSP */
