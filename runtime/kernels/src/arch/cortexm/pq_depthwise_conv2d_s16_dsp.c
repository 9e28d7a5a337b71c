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
    int32_t x_px, o_px;   /* from one output pixel to the next along a row: input, output values */
} taps;

/* The requantization's operands, read per channel. */
typedef struct {
    const int32_t *mult, *shift;
    const int64_t *bias; /* may be NULL */
    int32_t act_min, act_max;
} dw_rq;

/* Channel c's requantization (the reference's int64 path, the bias folded in). */
PQ_INLINE pq_dsp16_ch dw_ch(const dw_rq *q, int32_t c)
{
    return pq_dsp16_ch_of(q->mult[c], q->shift[c], q->bias != NULL ? &q->bias[c] : NULL);
}

/* A block of 4 channels' requantizations and the clamp. */
typedef struct {
    pq_dsp16_ch ch[4];
    int32_t act_min, act_max, clamp_kind;
} dw_block;

/* n >= 1 taps of 4 channels into the int32 sums a0-a3: inputs from xp (4 int16), weights
 * from wp (4 int8), then xs bytes and ws bytes on; xp and wp advance. */
#if PQ_DSP_ASM
/* 12 instructions a tap (gcc at -Os spills the intrinsics' version). */
#define DW_TAPS4(n)                                                                                           \
    do {                                                                                                      \
        int32_t i_ = (n), x01_, x23_, wv_, wl_;                                                               \
        __asm__ volatile("1:\n\t"                                                                             \
                         "ldr %[x01], [%[xp]]\n\t"                                                            \
                         "ldr %[x23], [%[xp], #4]\n\t"                                                        \
                         "add %[xp], %[xp], %[xs]\n\t"                                                        \
                         "ldr %[wv], [%[wp]]\n\t"                                                             \
                         "add %[wp], %[wp], %[ws]\n\t"                                                        \
                         "sxtb16 %[wl], %[wv]\n\t"                                                            \
                         "sxtb16 %[wv], %[wv], ror #8\n\t"                                                    \
                         "smlabb %[a0], %[x01], %[wl], %[a0]\n\t"                                             \
                         "smlatb %[a1], %[x01], %[wv], %[a1]\n\t"                                             \
                         "smlabt %[a2], %[x23], %[wl], %[a2]\n\t"                                             \
                         "smlatt %[a3], %[x23], %[wv], %[a3]\n\t"                                             \
                         "subs %[i], %[i], #1\n\t"                                                            \
                         "bne 1b\n\t"                                                                         \
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xp] "+r"(xp),         \
                           [wp] "+r"(wp), [i] "+r"(i_), [x01] "=&r"(x01_), [x23] "=&r"(x23_), [wv] "=&r"(wv_), \
                           [wl] "=&r"(wl_)                                                                    \
                         : [xs] "r"(xs), [ws] "r"(ws)                                                         \
                         : "cc", "memory");                                                                   \
    } while (0)
#else
#define DW_TAPS4(n)                                                                                           \
    do {                                                                                                      \
        int32_t i_;                                                                                           \
        for (i_ = (n); i_ > 0; --i_, xp = (const int16_t *)((const int8_t *)xp + xs), wp += ws) {             \
            const uint32_t x01_ = pq_dsp16_ld2(xp), x23_ = pq_dsp16_ld2(xp + 2), wv_ = pq_dsp_ld4(wp);       \
            const int32_t wl_ = __sxtb16(wv_), wh_ = pq_dsp_sxtb16_ror8(wv_); /* (w2, w0), (w3, w1) */       \
            a0 = __smlabb((int32_t)x01_, wl_, a0);                            /* x0 * w0 */                   \
            a1 = __smlatb((int32_t)x01_, wh_, a1);                            /* x1 * w1 */                   \
            a2 = __smlabt((int32_t)x23_, wl_, a2);                            /* x2 * w2 */                   \
            a3 = __smlatt((int32_t)x23_, wh_, a3);                            /* x3 * w3 */                   \
        }                                                                                                     \
    } while (0)
#endif

#define ADD64(total, part) ((total) += (uint64_t)(int64_t)(part))

/* Channels c..c + 3 of n_px output pixels of one row (multiplier 1) with the same taps:
 * x and w at channel c of the first pixel's first tap inside, o its outputs; k the
 * channels' requantizations and the clamp. A call of its own: the compiler
 * then keeps its loop's registers to itself. The taps are copied to locals: the loop's
 * "memory" clobber would reload every field through the pointer. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void block4(const taps *t, const int16_t *x, const int8_t *w, const dw_block *k, int16_t *o, int32_t n_px)
{
    const pq_dsp16_ch *ch = k->ch;
    const int32_t act_min = k->act_min, act_max = k->act_max;
    const int32_t rows = t->rows, cols = t->cols, x_row = t->x_row, w_row = t->w_row;
    const int32_t xs = 2 * t->x_col, ws = t->w_col;
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, fy;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    if (rows * cols <= PQ_DSP16_CHUNK_VALUES) { /* one int32 chunk (every real model) */
        const int32_t x_px = t->x_px, o_px = t->o_px;
        /* n_px pixels of one output row with the same taps (the caller's run), then done */
        for (;;) {
            const int16_t *xr = x;
            const int8_t *wr = w;
            a0 = a1 = a2 = a3 = 0;
            for (fy = rows; fy > 0; --fy, xr += x_row, wr += w_row) {
                const int16_t *xp = xr;
                const int8_t *wp = wr;
                DW_TAPS4(cols);
            }
            /* |a| <= 511 * 2^22 < 2^31: the sums as they are, one SMLAL each */
            a0 = pq_dsp16_apply32(a0, &ch[0]);
            a1 = pq_dsp16_apply32(a1, &ch[1]);
            a2 = pq_dsp16_apply32(a2, &ch[2]);
            a3 = pq_dsp16_apply32(a3, &ch[3]);
            if (k->clamp_kind == PQ_DSP16_CLAMP_RELU) {
                o[0] = (int16_t)__usat(a0, 15), o[1] = (int16_t)__usat(a1, 15);
                o[2] = (int16_t)__usat(a2, 15), o[3] = (int16_t)__usat(a3, 15);
            } else if (k->clamp_kind == PQ_DSP16_CLAMP_FULL) {
                o[0] = (int16_t)__ssat(a0, 16), o[1] = (int16_t)__ssat(a1, 16);
                o[2] = (int16_t)__ssat(a2, 16), o[3] = (int16_t)__ssat(a3, 16);
            } else {
                o[0] = pq_dsp16_clamp(a0, act_min, act_max), o[1] = pq_dsp16_clamp(a1, act_min, act_max);
                o[2] = pq_dsp16_clamp(a2, act_min, act_max), o[3] = pq_dsp16_clamp(a3, act_min, act_max);
            }
            if (--n_px == 0) {
                return;
            }
            x += x_px;
            o += o_px;
        }
    } else { /* one pixel (no run of a window this large): chunks of at most
              * PQ_DSP16_CHUNK_VALUES taps, each into the 64-bit sums */
        int32_t budget = PQ_DSP16_CHUNK_VALUES, left, m;
        for (fy = 0; fy < rows; ++fy) {
            const int16_t *xp = x + fy * x_row;
            const int8_t *wp = w + fy * w_row;
            for (left = cols; left > 0; left -= m) {
                m = left < budget ? left : budget;
                DW_TAPS4(m);
                budget -= m;
                if (budget == 0) {
                    ADD64(s0, a0), ADD64(s1, a1), ADD64(s2, a2), ADD64(s3, a3);
                    a0 = a1 = a2 = a3 = 0;
                    budget = PQ_DSP16_CHUNK_VALUES;
                }
            }
        }
    }
    ADD64(s0, a0), ADD64(s1, a1), ADD64(s2, a2), ADD64(s3, a3);
    o[0] = pq_dsp16_clamp(pq_dsp16_apply(s0, &ch[0]), act_min, act_max);
    o[1] = pq_dsp16_clamp(pq_dsp16_apply(s1, &ch[1]), act_min, act_max);
    o[2] = pq_dsp16_clamp(pq_dsp16_apply(s2, &ch[2]), act_min, act_max);
    o[3] = pq_dsp16_clamp(pq_dsp16_apply(s3, &ch[3]), act_min, act_max);
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
    dw_rq rq;
    taps t;
    int32_t b, oy, ox, c, step, n_px;

    rq.mult = mult;
    rq.shift = shift;
    rq.bias = bias; /* the 16x8 depthwise bias is int64 (validated) */
    rq.act_min = p->act_min;
    rq.act_max = p->act_max;
    t.x_col = dil_w * in_c;
    t.x_row = dil_h * in_w * in_c;
    t.w_col = out_c;
    t.w_row = f_w * out_c;
    t.x_px = p->stride_w * in_c;
    t.o_px = out_c;
    /* Channel blocks outermost: a block's requantization is computed once, not once a pixel.
     * Blocks of 4 with multiplier 1, then single channels (every channel otherwise). */
    for (c = 0; c < out_c; c += step) {
        dw_block k;
        int32_t j;
        step = dm == 1 && c + 4 <= out_c ? 4 : 1;
        for (j = 0; j < step; ++j) {
            k.ch[j] = dw_ch(&rq, c + j);
        }
        k.act_min = rq.act_min;
        k.act_max = rq.act_max;
        k.clamp_kind = pq_dsp16_clamp_kind(rq.act_min, rq.act_max);
        for (b = 0; b < in_dims->n; ++b) {
            for (oy = 0; oy < out_h; ++oy) {
                const int32_t y0 = oy * p->stride_h - p->pad_h;
                int32_t fy_lo, fy_hi;
                tap_range(y0, dil_h, f_h, in_h, &fy_lo, &fy_hi);
                for (ox = 0; ox < out_w; ox += n_px) {
                    const int32_t x0 = ox * p->stride_w - p->pad_w;
                    int16_t *o = out + ((b * out_h + oy) * out_w + ox) * out_c + c;
                    const int16_t *x = in;
                    const int8_t *w = filter;
                    int32_t fx_lo, fx_hi;
                    tap_range(x0, dil_w, f_w, in_w, &fx_lo, &fx_hi);
                    t.rows = fy_hi - fy_lo;
                    t.cols = fx_hi - fx_lo;
                    n_px = 1;
                    if (t.rows > 0 && t.cols > 0) { /* else no tap is inside: sums of 0, x and w unread */
                        x = in + ((b * in_h + y0 + dil_h * fy_lo) * in_w + x0 + dil_w * fx_lo) * in_c;
                        w = filter + (fy_lo * f_w + fx_lo) * out_c;
                        if (step == 4 && fx_lo == 0 && fx_hi == f_w && t.rows * t.cols <= PQ_DSP16_CHUNK_VALUES) {
                            /* Every window of this row inside the image horizontally from here on,
                             * up to the last with ox * stride_w - pad_w + (f_w - 1) * dil_w < in_w,
                             * has the same taps: one call for the run. */
                            const int32_t last = (in_w - 1 - (f_w - 1) * dil_w + p->pad_w) / p->stride_w;
                            n_px = (last + 1 < out_w ? last + 1 : out_w) - ox;
                        }
                    } else {
                        t.rows = 0;
                    }
                    if (step == 4) {
                        block4(&t, x + c, w + c, &k, o, n_px);
                    } else { /* input channel c / dm feeds output channel c */
                        *o = pq_dsp16_clamp(pq_dsp16_apply(one(&t, x + c / dm, w + c), &k.ch[0]), rq.act_min,
                                            rq.act_max);
                    }
                }
            }
        }
    }
    return PQ_OK;
}

#else
typedef int pq_depthwise_conv2d_s16_dsp_unused; /* ISO C: a translation unit is not empty */
#endif /* PQ_DSP */
