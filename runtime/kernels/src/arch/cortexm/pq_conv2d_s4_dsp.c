/*
 * CONV_2D with packed int4 weights for Cortex-M cores with the DSP extension: the
 * arithmetic of pq_conv2d_s4 (ref/pq_conv2d_s4.c), byte for byte, the filter read in
 * place as nibbles (no unpacked copy in RAM).
 *
 * The structure of pq_conv2d_s8_dsp: output pixels two at a time, each one's receptive
 * field a column of K = f_h * f_w * f_c values in the filter's (fy, fx, c) order, staged
 * as int8 (im2col, the input zero point for taps outside the image so that x + offset
 * is 0 there, as the reference skips them) and widened in place to int16 with the input
 * offset added. The widened layout is the one pq_dsp_gemm_s4_2cols wants: per 8 values,
 * the pairs (x4, x0), (x5, x1), (x6, x2), (x7, x3), which is the order 8 nibbles of a
 * filter word unpack to (pq_dsp_s4.h), columns a and b interleaved pair by pair. Widening also sums
 * each column (the nibble offset's correction).
 */
#include <stdint.h>

#include "pq_dsp_s4.h"

#if PQ_DSP

/* Where value d of column a is staged: columns a and b alternate in 8-byte chunks
 * (a0-a7 b0-b7 a8-a15 ...), which lets widen() expand them in place. Column b is the
 * same map from base + 8. */
PQ_INLINE int8_t *chunk(int8_t *base, int32_t d)
{
    return base + ((d & ~7) << 1) + (d & 7);
}

/* Write n values into column values [d, d + n): from src, or `fill` when src is NULL.
 * Whole chunks go as two words (LDR and STR take any address). */
static void put_run(int8_t *base, int32_t d, const int8_t *src, int8_t fill, int32_t n)
{
    int8_t *q = chunk(base, d);
    const uint32_t fill4 = (uint8_t)fill * 0x01010101u;
    int32_t i;
    while (n > 0) {
        /* up to the end of this chunk, then on to the next chunk of the same column */
        const int32_t room = 8 - (d & 7), m = room < n ? room : n;
        if (m == 8) {
            const uint32_t lo = src != NULL ? pq_dsp_ld4(src) : fill4;
            const uint32_t hi = src != NULL ? pq_dsp_ld4(src + 4) : fill4;
            memcpy(q, &lo, 4);
            memcpy(q + 4, &hi, 4);
            src = src != NULL ? src + 8 : NULL;
        } else if (src != NULL) {
            for (i = 0; i < m; ++i) {
                q[i] = src[i];
            }
            src += m;
        } else {
            for (i = 0; i < m; ++i) {
                q[i] = fill;
            }
        }
        d += m;
        n -= m;
        q += m + 8; /* past column b's chunk (only used when n > 0: then m == room) */
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
    /* A filter row is one contiguous run of input when taps are adjacent and every
     * channel of the input belongs to the one group. */
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
    put_run(base, d, NULL, zero, ((d + 7) & ~7) - d);
}

/* 8 staged int8 values at s, offset pair off2 added, as pq_s4_mac8's pairs at c[0],
 * c[2], c[4], c[6] (the other column's interleave); returns sum + their sum. */
PQ_INLINE int32_t widen8(const int8_t *s, int32_t off2, int32_t sum, int32_t *c)
{
    const uint32_t a = pq_dsp_ld4(s), b = pq_dsp_ld4(s + 4);
    const uint32_t la = (uint32_t)__sxtab16(off2, a), ha = (uint32_t)pq_dsp_sxtab16_ror8(off2, a);
    const uint32_t lb = (uint32_t)__sxtab16(off2, b), hb = (uint32_t)pq_dsp_sxtab16_ror8(off2, b);
    /* lanes of at most |x + offset| <= 383: four summed pairs fit int16 lanes */
    const int32_t s4 = __sadd16(__sadd16((int32_t)la, (int32_t)ha), __sadd16((int32_t)lb, (int32_t)hb));
    c[0] = (int32_t)((la & 0xFFFFu) | (lb << 16));
    c[2] = (int32_t)((ha & 0xFFFFu) | (hb << 16));
    c[4] = (int32_t)((lb & 0xFFFF0000u) | (la >> 16));
    c[6] = (int32_t)((hb & 0xFFFF0000u) | (ha >> 16));
    return __smlad(s4, 0x00010001, sum);
}

/* Widen the staged chunks (at cols + 16 * groups bytes) front to back, in place: group
 * j reads its 16 staged bytes at 16 * groups + 16j before writing 32 bytes at 32j,
 * which end at or before the next group's staged bytes (32j + 32 <= 16 * groups + 16j
 * + 16 while j < groups). */
static void widen(int32_t *cols, int32_t groups, int32_t off2, int32_t sums[2])
{
    const int8_t *staged = (const int8_t *)cols + 16 * groups;
    int32_t j, sa = 0, sb = 0;
    for (j = 0; j < groups; ++j, staged += 16, cols += 8) {
        int8_t t[16];
        memcpy(t, staged, 16); /* before the stores below overwrite it (last group) */
        sa = widen8(t, off2, sa, cols);
        sb = widen8(t + 8, off2, sb, cols + 1);
    }
    sums[0] = sa;
    sums[1] = sb;
}

/* A 1x1 unpadded conv's columns are input pixels as they are: widen k values of pixels
 * a and b straight into the pair layout, no staging. The last partial group reads only
 * the values that exist, padded with values that widen to 0. */
static void widen_direct(int32_t *cols, const int8_t *a, const int8_t *b, int32_t k, int32_t off2, int8_t zero,
                         int32_t sums[2])
{
    int32_t j, sa = 0, sb = 0;
    for (j = k >> 3; j > 0; --j, a += 8, b += 8, cols += 8) {
        sa = widen8(a, off2, sa, cols);
        sb = widen8(b, off2, sb, cols + 1);
    }
    if (k & 7) {
        /* built in words, not byte arrays: gcc -Os turns those loops into memset and
         * memmove calls */
        const uint32_t fill4 = (uint8_t)zero * 0x01010101u;
        uint32_t ta[2] = {fill4, fill4}, tb[2] = {fill4, fill4};
        for (j = 0; j < (k & 7); ++j) {
            const uint32_t clear = ~(0xFFu << (8 * (j & 3)));
            ta[j >> 2] = (ta[j >> 2] & clear) | ((uint32_t)(uint8_t)a[j] << (8 * (j & 3)));
            tb[j >> 2] = (tb[j >> 2] & clear) | ((uint32_t)(uint8_t)b[j] << (8 * (j & 3)));
        }
        sa = widen8((const int8_t *)ta, off2, sa, cols);
        sb = widen8((const int8_t *)tb, off2, sb, cols + 1);
    }
    sums[0] = sa;
    sums[1] = sb;
}

pq_status pq_conv2d_s4_dsp(const pq_conv_params *p, const int32_t *mult, const int8_t *shift,
                           const pq_dims *in_dims, const int8_t *in, const pq_dims *filter_dims,
                           const uint8_t *filter, const int32_t *bias, const pq_dims *out_dims, int8_t *out,
                           void *scratch, int32_t scratch_bytes)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t f_c = filter_dims->c;
    const int32_t k = filter_dims->h * filter_dims->w * f_c;
    const int32_t groups8 = (k + 7) >> 3;
    const int32_t out_w = out_dims->w, out_c = out_dims->c;
    const int32_t pixels = out_dims->h * out_w;
    int32_t *cols = (int32_t *)scratch;
    int8_t *staged = (int8_t *)scratch + 16 * groups8;
    const int32_t off2 = pq_dsp_pair(p->input_offset);
    const int8_t zero = (int8_t)(-p->input_offset);
    /* 1x1, unpadded: every column is an input pixel (the output size keeps it inside). */
    const int32_t direct = filter_dims->h == 1 && filter_dims->w == 1 && p->pad_h == 0 && p->pad_w == 0;
    pq_dsp_gemm_s4 rq;
    int32_t groups, per_group, b, pix, g, sums[2];

    /* The scratch: PQ_CONV2D_S4_DSP_SCRATCH bytes (= PQ_DSP_S4_PAIR_BYTES(k)), 4-aligned. */
    if (f_c <= 0 || in_c % f_c != 0 || p->input_offset < -127 || p->input_offset > 128 || scratch == NULL ||
        ((uintptr_t)scratch & 3) != 0 ||
        scratch_bytes < PQ_CONV2D_S4_DSP_SCRATCH(filter_dims->h, filter_dims->w, f_c)) {
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
                    widen_direct(cols, in_b + ia * in_c + g * f_c, in_b + ib * in_c + g * f_c, k, off2, zero, sums);
                } else {
                    im2col(p, in_dims, in_b, filter_dims, g * f_c, pix / out_w, pix % out_w, staged);
                    im2col(p, in_dims, in_b, filter_dims, g * f_c, pix1 / out_w, pix1 % out_w, staged + 8);
                    widen(cols, groups8, off2, sums);
                }
                rq.first_row = g * per_group;
                pq_dsp_gemm_s4_2cols(&rq, filter, per_group, cols, sums[0], sums[1], out_b + pix * out_c);
            }
        }
    }
    return PQ_OK;
}

#else
typedef int pq_conv2d_s4_dsp_unused; /* ISO C: a translation unit is not empty */
#endif /* PQ_DSP */
