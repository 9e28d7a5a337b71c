/*
 * DEPTHWISE_CONV_2D 16x8 for Cortex-M cores with the DSP extension: the arithmetic of
 * pq_depthwise_conv2d_s16 (ref/pq_depthwise_conv2d_s16.c), byte for byte.
 *
 * Depthwise products never share a sum across channels, so SMLAD's pair sum does not
 * apply; the win is over the reference's per-tap index arithmetic and bounds tests. For
 * each output pixel the taps inside the image are found once (a rectangle of the dilated
 * window), and with a depth multiplier of 1 four channels go together: per tap, two loads
 * bring 4 int16 inputs, one load and two SXTB16 the 4 int8 weights, and SMLABB, SMLATB,
 * SMLABT, SMLATT multiply each channel in its own lane. Channels left over (and every
 * channel of a depth multiplier above 1) take one multiply-accumulate per tap. Sums run in
 * int32 for at most PQ_DSP16_CHUNK_VALUES taps (exact, see pq_dsp16.h), then go into the
 * int64 sums of the reference.
 */
#include <stdint.h>

#include "pq_dsp16.h"

#if PQ_DSP

/* Taps [lo, hi) of a window axis fall inside [0, in): origin + d * f in range. */
static void tap_range(int32_t origin, int32_t d, int32_t k, int32_t in, int32_t *lo, int32_t *hi)
{
    int32_t l = origin < 0 ? (-origin + d - 1) / d : 0;
    int32_t h = in - origin <= 0 ? 0 : (in - origin + d - 1) / d;
    h = h < k ? h : k;
    *lo = l < h ? l : h;
    *hi = h;
}

/* Where one output pixel's taps are: the first tap inside (channel 0) of input and filter,
 * the steps between columns and rows of taps, the rectangle's size. */
typedef struct {
    int32_t rows, cols;
    int32_t x_col, x_row; /* int16 values */
    int32_t w_col, w_row; /* int8 values */
} taps;

#define ADD64(total, part) ((total) += (uint64_t)(int64_t)(part))

/* The 64-bit sums of 4 channels (inputs from x, weights from w, both at channel 0 of the
 * block, multiplier 1). */
static void block4(const taps *t, const int16_t *x, const int8_t *w, uint64_t s[4])
{
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, budget = PQ_DSP16_CHUNK_VALUES, fy, left, m;
    for (fy = 0; fy < t->rows; ++fy) {
        const int16_t *xp = x + fy * t->x_row;
        const int8_t *wp = w + fy * t->w_row;
        for (left = t->cols; left > 0; left -= m) {
            int32_t i;
            m = left < budget ? left : budget;
#if PQ_DSP_ASM
            /* The loop below in 12 instructions (gcc at -Os spills the intrinsics' version). */
            {
                const int32_t x_step = 2 * t->x_col, w_step = t->w_col;
                int32_t x01, x23, wv, wl;
                i = m;
                __asm__ volatile(
                    "1:\n\t"
                    "ldr %[x01], [%[xp]]\n\t"
                    "ldr %[x23], [%[xp], #4]\n\t"
                    "add %[xp], %[xp], %[xs]\n\t"
                    "ldr %[wv], [%[wp]]\n\t"
                    "add %[wp], %[wp], %[ws]\n\t"
                    "sxtb16 %[wl], %[wv]\n\t"
                    "sxtb16 %[wv], %[wv], ror #8\n\t"
                    "smlabb %[a0], %[x01], %[wl], %[a0]\n\t"
                    "smlatb %[a1], %[x01], %[wv], %[a1]\n\t"
                    "smlabt %[a2], %[x23], %[wl], %[a2]\n\t"
                    "smlatt %[a3], %[x23], %[wv], %[a3]\n\t"
                    "subs %[i], %[i], #1\n\t"
                    "bne 1b\n\t"
                    : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xp] "+r"(xp), [wp] "+r"(wp),
                      [i] "+r"(i), [x01] "=&r"(x01), [x23] "=&r"(x23), [wv] "=&r"(wv), [wl] "=&r"(wl)
                    : [xs] "r"(x_step), [ws] "r"(w_step)
                    : "cc", "memory");
            }
#else
            for (i = m; i > 0; --i, xp += t->x_col, wp += t->w_col) {
                const uint32_t x01 = pq_dsp16_ld2(xp), x23 = pq_dsp16_ld2(xp + 2), wv = pq_dsp_ld4(wp);
                const int32_t wl = __sxtb16(wv), wh = pq_dsp_sxtb16_ror8(wv); /* (w2, w0), (w3, w1) */
                a0 = __smlabb((int32_t)x01, wl, a0);                          /* x0 * w0 */
                a1 = __smlatb((int32_t)x01, wh, a1);                          /* x1 * w1 */
                a2 = __smlabt((int32_t)x23, wl, a2);                          /* x2 * w2 */
                a3 = __smlatt((int32_t)x23, wh, a3);                          /* x3 * w3 */
            }
#endif
            budget -= m;
            if (budget == 0) { /* a full chunk: into the 64-bit sums before int32 could overflow */
                ADD64(s[0], a0), ADD64(s[1], a1), ADD64(s[2], a2), ADD64(s[3], a3);
                a0 = a1 = a2 = a3 = 0;
                budget = PQ_DSP16_CHUNK_VALUES;
            }
        }
    }
    ADD64(s[0], a0), ADD64(s[1], a1), ADD64(s[2], a2), ADD64(s[3], a3);
}

/* The 64-bit sum of one channel: input x, weights w, one multiply-accumulate a tap. */
static uint64_t one(const taps *t, const int16_t *x, const int8_t *w)
{
    uint64_t s = 0;
    int32_t a = 0, budget = PQ_DSP16_CHUNK_VALUES, fy, left, m;
    for (fy = 0; fy < t->rows; ++fy) {
        const int16_t *xp = x + fy * t->x_row;
        const int8_t *wp = w + fy * t->w_row;
        for (left = t->cols; left > 0; left -= m) {
            int32_t i;
            m = left < budget ? left : budget;
            for (i = m; i > 0; --i, xp += t->x_col, wp += t->w_col) {
                a = __smlabb((int32_t)*xp, (int32_t)*wp, a);
            }
            budget -= m;
            if (budget == 0) {
                ADD64(s, a);
                a = 0;
                budget = PQ_DSP16_CHUNK_VALUES;
            }
        }
    }
    return ADD64(s, a);
}

pq_status pq_depthwise_conv2d_s16_dsp(const pq_conv_params *p, const int32_t *mult, const int32_t *shift,
                                      const pq_dims *in_dims, const int16_t *in, const pq_dims *filter_dims,
                                      const int8_t *filter, const int64_t *bias, const pq_dims *out_dims,
                                      int16_t *out)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t f_h = filter_dims->h, f_w = filter_dims->w;
    const int32_t out_h = out_dims->h, out_w = out_dims->w, out_c = out_dims->c; /* in_c * multiplier */
    const int32_t dm = p->depth_multiplier, dil_h = p->dilation_h, dil_w = p->dilation_w;
    pq_dsp16_gemm rq;
    taps t;
    int32_t b, oy, ox, c;

    rq.mult = mult;
    rq.shift = shift;
    rq.bias32 = NULL; /* the 16x8 depthwise bias is int64 (validated) */
    rq.bias64 = bias;
    rq.per_channel = 1;
    rq.act_min = p->act_min;
    rq.act_max = p->act_max;
    t.x_col = dil_w * in_c;
    t.x_row = dil_h * in_w * in_c;
    t.w_col = out_c;
    t.w_row = f_w * out_c;
    for (b = 0; b < in_dims->n; ++b) {
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            int32_t fy_lo, fy_hi;
            tap_range(y0, dil_h, f_h, in_h, &fy_lo, &fy_hi);
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                int16_t *o = out + ((b * out_h + oy) * out_w + ox) * out_c;
                const int16_t *x = in;
                const int8_t *w = filter;
                int32_t fx_lo, fx_hi;
                tap_range(x0, dil_w, f_w, in_w, &fx_lo, &fx_hi);
                t.rows = fy_hi - fy_lo;
                t.cols = fx_hi - fx_lo;
                if (t.rows > 0 && t.cols > 0) { /* else no tap is inside: sums of 0, x and w unread */
                    x = in + ((b * in_h + y0 + dil_h * fy_lo) * in_w + x0 + dil_w * fx_lo) * in_c;
                    w = filter + (fy_lo * f_w + fx_lo) * out_c;
                } else {
                    t.rows = 0;
                }
                c = 0;
                if (dm == 1) {
                    for (; c + 4 <= out_c; c += 4) {
                        uint64_t s[4] = {0, 0, 0, 0};
                        block4(&t, x + c, w + c, s);
                        o[c] = pq_dsp16_out(&rq, c, s[0]);
                        o[c + 1] = pq_dsp16_out(&rq, c + 1, s[1]);
                        o[c + 2] = pq_dsp16_out(&rq, c + 2, s[2]);
                        o[c + 3] = pq_dsp16_out(&rq, c + 3, s[3]);
                    }
                }
                /* Input channel c / dm feeds output channel c. */
                for (; c < out_c; ++c) {
                    o[c] = pq_dsp16_out(&rq, c, one(&t, x + c / dm, w + c));
                }
            }
        }
    }
    return PQ_OK;
}

#else
typedef int pq_depthwise_conv2d_s16_dsp_unused; /* ISO C: a translation unit is not empty */
#endif /* PQ_DSP */
