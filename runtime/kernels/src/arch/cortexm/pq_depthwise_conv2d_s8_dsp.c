/*
 * DEPTHWISE_CONV_2D for Cortex-M cores with the DSP extension: the arithmetic of
 * pq_depthwise_conv2d_s8 (ref/pq_depthwise_conv2d_s8.c), byte for byte, for a
 * depth multiplier of 1 (export-c calls the portable kernel otherwise).
 *
 * Channels go four at a time: one word of input and one of filter per tap,
 * widened to int16 pairs (SXTAB16 adds the input offset), and SMLABB / SMLATT
 * accumulate each channel on its own. Only the taps inside the image are visited
 * (their window is computed once per pixel), which equals the reference's
 * skipping them; a 3x3 window that is wholly inside, the common case, runs
 * unrolled. Channels past the last multiple of 4 go one at a time.
 */
#include <stdint.h>

#include "pq_dsp.h"

#if PQ_DSP

typedef struct {
    const int32_t *mult, *shift, *bias;
    int32_t out_offset, act_min, act_max;
} dw_out;

static int8_t finish(const dw_out *o, int32_t c, int32_t acc)
{
    if (o->bias != NULL) {
        acc = (int32_t)((uint32_t)acc + (uint32_t)o->bias[c]);
    }
    return pq_dsp_out(acc, o->mult[c], o->shift[c], o->out_offset, o->act_min, o->act_max);
}

/* Channels c..c+3: the parameters read once into locals (an int8 store may alias
 * them as far as the compiler knows), the four bytes stored as one word. A call of
 * its own: inlined, it competes with the tap loop for registers and spills. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void finish4(const dw_out *o, int32_t c, int32_t a0, int32_t a1, int32_t a2, int32_t a3, int8_t *po)
{
    const int32_t *mult = o->mult + c, *shift = o->shift + c;
    const int32_t out_offset = o->out_offset, lo = o->act_min, hi = o->act_max;
    uint32_t word;
    if (o->bias != NULL) {
        const int32_t *b = o->bias + c;
        a0 = (int32_t)((uint32_t)a0 + (uint32_t)b[0]);
        a1 = (int32_t)((uint32_t)a1 + (uint32_t)b[1]);
        a2 = (int32_t)((uint32_t)a2 + (uint32_t)b[2]);
        a3 = (int32_t)((uint32_t)a3 + (uint32_t)b[3]);
    }
    if (lo == -128 && hi == 127) {
        word = (uint8_t)pq_dsp_out_full(a0, mult[0], shift[0], out_offset);
        word |= (uint32_t)(uint8_t)pq_dsp_out_full(a1, mult[1], shift[1], out_offset) << 8;
        word |= (uint32_t)(uint8_t)pq_dsp_out_full(a2, mult[2], shift[2], out_offset) << 16;
        word |= (uint32_t)(uint8_t)pq_dsp_out_full(a3, mult[3], shift[3], out_offset) << 24;
    } else {
        word = (uint8_t)pq_dsp_out(a0, mult[0], shift[0], out_offset, lo, hi);
        word |= (uint32_t)(uint8_t)pq_dsp_out(a1, mult[1], shift[1], out_offset, lo, hi) << 8;
        word |= (uint32_t)(uint8_t)pq_dsp_out(a2, mult[2], shift[2], out_offset, lo, hi) << 16;
        word |= (uint32_t)(uint8_t)pq_dsp_out(a3, mult[3], shift[3], out_offset, lo, hi) << 24;
    }
    memcpy(po + c, &word, 4);
}

/* acc[0..3] += taps of 4 channels: x word and w word. */
#define PQ_DW_TAP(xw, ww)                                             \
    do {                                                              \
        const uint32_t x_ = (xw), w_ = (ww);                          \
        const int32_t xl_ = __sxtab16(off2, x_);                      \
        const int32_t xh_ = pq_dsp_sxtab16_ror8(off2, x_);            \
        const int32_t wl_ = __sxtb16(w_), wh_ = pq_dsp_sxtb16_ror8(w_); \
        a0 = __smlabb(xl_, wl_, a0);                                  \
        a2 = __smlatt(xl_, wl_, a2);                                  \
        a1 = __smlabb(xh_, wh_, a1);                                  \
        a3 = __smlatt(xh_, wh_, a3);                                  \
    } while (0)

/* acc[0..3] += a whole 3x3 window of 4 channels: rows `row` bytes apart, taps ch
 * bytes apart, filter taps ch apart. Assembly where PQ_DSP_ASM (register-offset loads,
 * 10 instructions a tap; the intrinsics take 14 at -Os). */
PQ_INLINE void dw_3x3(const int8_t *px, const int8_t *pw, int32_t ch, int32_t row, int32_t off2, int32_t acc[4])
{
#if PQ_DSP_ASM
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, x, xl, w, wl;
    const int32_t ch2 = 2 * ch;
#define PQ_DW_ASM_TAP(xo, wo)                          \
    "ldr %[x], [%[px]" xo "]\n\t"                      \
    "ldr %[w], [%[pw]" wo "]\n\t"                      \
    "sxtab16 %[xl], %[off2], %[x]\n\t"                 \
    "sxtab16 %[x], %[off2], %[x], ror #8\n\t"          \
    "sxtb16 %[wl], %[w]\n\t"                           \
    "sxtb16 %[w], %[w], ror #8\n\t"                    \
    "smlabb %[a0], %[xl], %[wl], %[a0]\n\t"            \
    "smlatt %[a2], %[xl], %[wl], %[a2]\n\t"            \
    "smlabb %[a1], %[x], %[w], %[a1]\n\t"              \
    "smlatt %[a3], %[x], %[w], %[a3]\n\t"
#define PQ_DW_ASM_ROW                                  \
    PQ_DW_ASM_TAP("", "")                              \
    PQ_DW_ASM_TAP(", %[ch]", ", %[ch]")                \
    PQ_DW_ASM_TAP(", %[ch2]", ", %[ch2]")
    __asm__ volatile(PQ_DW_ASM_ROW
                     "add %[px], %[px], %[row]\n\t"
                     "add %[pw], %[pw], %[ch]\n\t"
                     "add %[pw], %[pw], %[ch2]\n\t" PQ_DW_ASM_ROW
                     "add %[px], %[px], %[row]\n\t"
                     "add %[pw], %[pw], %[ch]\n\t"
                     "add %[pw], %[pw], %[ch2]\n\t" PQ_DW_ASM_ROW
                     : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [px] "+r"(px), [pw] "+r"(pw),
                       [x] "=&r"(x), [xl] "=&r"(xl), [w] "=&r"(w), [wl] "=&r"(wl)
                     : [ch] "r"(ch), [ch2] "r"(ch2), [row] "r"(row), [off2] "r"(off2)
                     : "memory");
#undef PQ_DW_ASM_ROW
#undef PQ_DW_ASM_TAP
#else
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, ky;
    for (ky = 0; ky < 3; ++ky, px += row, pw += 3 * ch) {
        PQ_DW_TAP(pq_dsp_ld4(px), pq_dsp_ld4(pw));
        PQ_DW_TAP(pq_dsp_ld4(px + ch), pq_dsp_ld4(pw + ch));
        PQ_DW_TAP(pq_dsp_ld4(px + 2 * ch), pq_dsp_ld4(pw + 2 * ch));
    }
#endif
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* acc[0..3] += n >= 1 taps of one filter row for 4 channels: input words xs bytes
 * apart, filter words ws bytes apart. Assembly where PQ_DSP_ASM (pq_dsp.h): with
 * intrinsics gcc 12 -Os spills, 33 instructions a tap instead of 14. */
PQ_INLINE void dw_row(const int8_t *px, const int8_t *pw, int32_t n, int32_t xs, int32_t ws, int32_t off2,
                      int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
#if PQ_DSP_ASM
    int32_t x, xl, w, wl;
    __asm__ volatile(
        "1:\n\t"
        "ldr %[x], [%[px]]\n\t"
        "add %[px], %[px], %[xs]\n\t"
        "ldr %[w], [%[pw]]\n\t"
        "add %[pw], %[pw], %[ws]\n\t"
        "sxtab16 %[xl], %[off2], %[x]\n\t"
        "sxtab16 %[x], %[off2], %[x], ror #8\n\t"
        "sxtb16 %[wl], %[w]\n\t"
        "sxtb16 %[w], %[w], ror #8\n\t"
        "smlabb %[a0], %[xl], %[wl], %[a0]\n\t"
        "smlatt %[a2], %[xl], %[wl], %[a2]\n\t"
        "smlabb %[a1], %[x], %[w], %[a1]\n\t"
        "smlatt %[a3], %[x], %[w], %[a3]\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [px] "+r"(px), [pw] "+r"(pw), [n] "+r"(n),
          [x] "=&r"(x), [xl] "=&r"(xl), [w] "=&r"(w), [wl] "=&r"(wl)
        : [xs] "r"(xs), [ws] "r"(ws), [off2] "r"(off2)
        : "cc", "memory");
#else
    for (; n > 0; --n, px += xs, pw += ws) {
        PQ_DW_TAP(pq_dsp_ld4(px), pq_dsp_ld4(pw));
    }
#endif
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

pq_status pq_depthwise_conv2d_s8_dsp(const pq_conv_params *p, const int32_t *mult, const int32_t *shift,
                                     const pq_dims *in_dims, const int8_t *in,
                                     const pq_dims *filter_dims, const int8_t *filter,
                                     const int32_t *bias,
                                     const pq_dims *out_dims, int8_t *out)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, ch = in_dims->c;
    const int32_t f_h = filter_dims->h, f_w = filter_dims->w;
    const int32_t out_h = out_dims->h, out_w = out_dims->w;
    const int32_t dh = p->dilation_h, dw = p->dilation_w;
    const int32_t off = p->input_offset, off2 = pq_dsp_pair(off);
    const int32_t ch4 = ch & ~3;
    const int32_t row = in_w * ch; /* bytes of an input row */
    dw_out o;
    int32_t b, oy, ox, c;

    if (p->depth_multiplier != 1 || out_dims->c != ch || filter_dims->c != ch) {
        return PQ_ERR_PARAM;
    }
    o.mult = mult;
    o.shift = shift;
    o.bias = bias;
    o.out_offset = p->output_offset;
    o.act_min = p->act_min;
    o.act_max = p->act_max;

    for (b = 0; b < in_dims->n; ++b) {
        const int8_t *in_b = in + b * in_h * row;
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            /* Filter rows [ky0, ky1) land inside the image: ky * dh + y0 in [0, in_h). */
            const int32_t ky0 = y0 >= 0 ? 0 : (-y0 + dh - 1) / dh;
            const int32_t ky1_raw = in_h - y0 <= 0 ? 0 : (in_h - y0 + dh - 1) / dh;
            const int32_t ky1 = ky1_raw < f_h ? ky1_raw : f_h;
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                const int32_t kx0 = x0 >= 0 ? 0 : (-x0 + dw - 1) / dw;
                const int32_t kx1_raw = in_w - x0 <= 0 ? 0 : (in_w - x0 + dw - 1) / dw;
                const int32_t kx1 = kx1_raw < f_w ? kx1_raw : f_w;
                /* in_b + (y0 * in_w + x0) * ch may point before the buffer: index from
                 * the first valid tap instead. */
                const int8_t *px0 = in_b + ((y0 + ky0 * dh) * in_w + (x0 + kx0 * dw)) * ch;
                const int8_t *pw0 = filter + (ky0 * f_w + kx0) * ch;
                const int32_t full3x3 = f_h == 3 && f_w == 3 && dh == 1 && dw == 1 && ky0 == 0 && kx0 == 0 &&
                                        ky1 == 3 && kx1 == 3;
                int8_t *po = out + ((b * out_h + oy) * out_w + ox) * ch;
                if (ky0 >= ky1 || kx0 >= kx1) {
                    /* No tap inside: every accumulator is just the bias. */
                    for (c = 0; c < ch; ++c) {
                        po[c] = finish(&o, c, 0);
                    }
                    continue;
                }
                for (c = 0; c < ch4; c += 4) {
                    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                    const int8_t *px = px0 + c, *pw = pw0 + c;
                    if (full3x3) {
                        int32_t acc[4];
                        dw_3x3(px, pw, ch, row, off2, acc);
                        a0 = acc[0];
                        a1 = acc[1];
                        a2 = acc[2];
                        a3 = acc[3];
                        finish4(&o, c, a0, a1, a2, a3, po);
                    } else {
                        int32_t acc[4] = {0, 0, 0, 0}, ky;
                        for (ky = ky0; ky < ky1; ++ky, px += dh * row, pw += f_w * ch) {
                            dw_row(px, pw, kx1 - kx0, dw * ch, ch, off2, acc);
                        }
                        finish4(&o, c, acc[0], acc[1], acc[2], acc[3], po);
                    }
                }
                for (; c < ch; ++c) { /* the channels past the last multiple of 4 */
                    const int8_t *px = px0 + c, *pw = pw0 + c;
                    int32_t acc = 0, ky, kx;
                    for (ky = ky0; ky < ky1; ++ky, px += dh * row, pw += f_w * ch) {
                        for (kx = kx0; kx < kx1; ++kx) {
                            acc += pw[(kx - kx0) * ch] * (px[(kx - kx0) * dw * ch] + off);
                        }
                    }
                    po[c] = finish(&o, c, acc);
                }
            }
        }
    }
    return PQ_OK;
}

#else
typedef int pq_depthwise_conv2d_s8_dsp_unused; /* ISO C: a translation unit is not empty */
#endif /* PQ_DSP */
