/*
 * DEPTHWISE_CONV_2D with packed int4 weights for Cortex-M cores with the DSP
 * extension: the arithmetic of pq_depthwise_conv2d_s4 (ref/pq_depthwise_conv2d_s4.c),
 * byte for byte, for a depth multiplier of 1 (export-c calls the portable kernel
 * otherwise), the filter read in place as nibbles.
 *
 * The structure of pq_depthwise_conv2d_s8_dsp: channels four at a time, one word of
 * input and 4 nibbles of filter per tap, widened to int16 pairs, SMLABB / SMLATT
 * accumulating each channel on its own; only the taps inside the image are visited.
 * The 4 nibbles of a tap are element (tap * C + c) on: a halfword, or with an odd C
 * every other tap starts in a high nibble and takes a third byte. They spread to
 * the lanes (e2, e0) and (e3, e1) and are sign-extended there with one SSUB16 each.
 * Channels past the last multiple of 4 go one at a time.
 */
#include <stdint.h>

#include "pq_dsp_s4.h"

#if PQ_DSP

typedef struct {
    const int32_t *mult, *bias;
    const int8_t *shift;
    int32_t out_offset, act_min, act_max;
} dw_out;

static int8_t finish(const dw_out *o, int32_t c, int32_t acc)
{
    if (o->bias != NULL) {
        acc = (int32_t)((uint32_t)acc + (uint32_t)o->bias[c]);
    }
    return pq_dsp_out(acc, o->mult[c], o->shift[c], o->out_offset, o->act_min, o->act_max);
}

/* Channels c..c+3: the parameters read once into locals (an int8 store may alias them
 * as far as the compiler knows), the four bytes stored as one word. A call of its own:
 * inlined, it competes with the tap loop for registers. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void finish4(const dw_out *o, int32_t c, const int32_t acc[4], int8_t *po)
{
    const int32_t *mult = o->mult + c;
    const int8_t *shift = o->shift + c;
    const int32_t out_offset = o->out_offset, lo = o->act_min, hi = o->act_max;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
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

/* The 4 int4 weights from element e, sign-extended in the lanes lo = (e2, e0) and
 * hi = (e3, e1), the lane order of SXTAB16 on the input word. */
PQ_INLINE void weights4(const uint8_t *filter, int32_t e, int32_t *lo, int32_t *hi)
{
    const uint8_t *p = filter + ((uint32_t)e >> 1);
    uint16_t h;
    uint32_t v;
    memcpy(&h, p, 2); /* LDRH takes any address */
    v = h;
    if (e & 1) {
        v = ((v >> 4) | ((uint32_t)p[2] << 12)) & 0xFFFFu; /* not p[2]'s high nibble */
    }
    v ^= 0x8888u;  /* u = e + 8 in [0, 15] */
    v |= v << 8;   /* byte 2 = byte 1: nibbles e2 (bits 16-19) and e3 (bits 20-23) */
    *lo = __ssub16((int32_t)(v & PQ_S4_LANES), 0x00080008);
    *hi = __ssub16((int32_t)((v >> 4) & PQ_S4_LANES), 0x00080008);
}

/* The fast path (an even channel count, no horizontal dilation, windows of at most
 * PQ_DW16_MAX_TAPS): every tap's 4 nibbles are one halfword, taps ch / 2 bytes apart,
 * inputs ch bytes apart. The nibbles go to the top of bytes 0 and 2 of a word, where
 * SXTB16 sign-extends them as 16 * e: 5 instructions for 4 weights, and the sums are
 * 16 times the reference's, shifted back at the end. Exact while they fit: a tap adds at
 * most 16 * 8 * 383 (|x + offset| <= 383) = 49024, and 32768 taps of it stay below
 * 2^31, so neither this sum nor the reference's 32-bit one wraps. */
#define PQ_DW16_MAX_TAPS 32768
#define PQ_DW16_HI 0x00F000F0u

/* acc[0..3] += 16 * the n >= 1 taps of one filter row for 4 channels (see above).
 * Assembly where PQ_DSP_ASM (pq_dsp.h), 17 instructions a tap. */
PQ_INLINE void dw_row16(const int8_t *px, const uint8_t *pw, int32_t n, int32_t ws, int32_t off2, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
#if PQ_DSP_ASM
    const uint32_t mask = PQ_DW16_HI;
    uint32_t x, w, t, u;
    __asm__ volatile(
        "1:\n\t"
        "ldr %[x], [%[px]]\n\t"
        "add %[px], %[px], %[ws], lsl #1\n\t" /* inputs ch = 2 * ws bytes apart */
        "ldrh %[w], [%[pw]]\n\t"
        "add %[pw], %[pw], %[ws]\n\t"
        "orr %[w], %[w], %[w], lsl #8\n\t"
        "sxtab16 %[t], %[off2], %[x]\n\t"
        "and %[u], %[mask], %[w], lsl #4\n\t"
        "sxtb16 %[u], %[u]\n\t"
        "smlabb %[a0], %[t], %[u], %[a0]\n\t"
        "smlatt %[a2], %[t], %[u], %[a2]\n\t"
        "sxtab16 %[x], %[off2], %[x], ror #8\n\t"
        "and %[w], %[w], %[mask]\n\t"
        "sxtb16 %[w], %[w]\n\t"
        "smlabb %[a1], %[x], %[w], %[a1]\n\t"
        "smlatt %[a3], %[x], %[w], %[a3]\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [px] "+r"(px), [pw] "+r"(pw), [n] "+r"(n),
          [x] "=&r"(x), [w] "=&r"(w), [t] "=&r"(t), [u] "=&r"(u)
        : [ws] "r"(ws), [off2] "r"(off2), [mask] "r"(mask)
        : "cc", "memory");
#else
    for (; n > 0; --n, px += 2 * ws, pw += ws) {
        const uint32_t x = pq_dsp_ld4(px);
        const int32_t xl = __sxtab16(off2, x), xh = pq_dsp_sxtab16_ror8(off2, x);
        uint16_t h;
        uint32_t u;
        int32_t wl, wh;
        memcpy(&h, pw, 2);
        u = (uint32_t)h | ((uint32_t)h << 8);
        wl = __sxtb16((u << 4) & PQ_DW16_HI); /* (16 * e2, 16 * e0) */
        wh = __sxtb16(u & PQ_DW16_HI);        /* (16 * e3, 16 * e1) */
        a0 = __smlabb(xl, wl, a0);
        a2 = __smlatt(xl, wl, a2);
        a1 = __smlabb(xh, wh, a1);
        a3 = __smlatt(xh, wh, a3);
    }
#endif
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* acc[0..3] = 16 * a whole 3x3 window of 4 channels on the fast path: input rows `row`
 * bytes apart, taps 2 * ws apart, filter taps ws apart. Assembly where PQ_DSP_ASM
 * (register-offset loads, 13 instructions a tap, no loop). */
PQ_INLINE void dw16_3x3(const int8_t *px, const uint8_t *pw, int32_t ws, int32_t row, int32_t off2, int32_t acc[4])
{
#if PQ_DSP_ASM
    const uint32_t mask = PQ_DW16_HI;
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    uint32_t x, w, t, u;
#define PQ_DW16_TAP(xo, wo)                        \
    "ldr %[x], [%[px]" xo "]\n\t"                  \
    "ldrh %[w], [%[pw]" wo "]\n\t"                 \
    "orr %[w], %[w], %[w], lsl #8\n\t"             \
    "sxtab16 %[t], %[off2], %[x]\n\t"              \
    "and %[u], %[mask], %[w], lsl #4\n\t"          \
    "sxtb16 %[u], %[u]\n\t"                        \
    "smlabb %[a0], %[t], %[u], %[a0]\n\t"          \
    "smlatt %[a2], %[t], %[u], %[a2]\n\t"          \
    "sxtab16 %[x], %[off2], %[x], ror #8\n\t"      \
    "and %[w], %[w], %[mask]\n\t"                  \
    "sxtb16 %[w], %[w]\n\t"                        \
    "smlabb %[a1], %[x], %[w], %[a1]\n\t"          \
    "smlatt %[a3], %[x], %[w], %[a3]\n\t"
#define PQ_DW16_ROW                                \
    PQ_DW16_TAP("", "")                            \
    PQ_DW16_TAP(", %[ws], lsl #1", ", %[ws]")      \
    PQ_DW16_TAP(", %[ws], lsl #2", ", %[ws], lsl #1")
#define PQ_DW16_NEXT                               \
    "add %[px], %[px], %[row]\n\t"                 \
    "add %[pw], %[pw], %[ws]\n\t"                  \
    "add %[pw], %[pw], %[ws], lsl #1\n\t"
    __asm__ volatile(PQ_DW16_ROW PQ_DW16_NEXT PQ_DW16_ROW PQ_DW16_NEXT PQ_DW16_ROW
                     : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [px] "+r"(px), [pw] "+r"(pw),
                       [x] "=&r"(x), [w] "=&r"(w), [t] "=&r"(t), [u] "=&r"(u)
                     : [ws] "r"(ws), [row] "r"(row), [off2] "r"(off2), [mask] "r"(mask)
                     : "memory");
#undef PQ_DW16_NEXT
#undef PQ_DW16_ROW
#undef PQ_DW16_TAP
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
#else
    int32_t ky;
    acc[0] = acc[1] = acc[2] = acc[3] = 0;
    for (ky = 0; ky < 3; ++ky, px += row, pw += 3 * ws) {
        dw_row16(px, pw, 3, ws, off2, acc);
    }
#endif
}

pq_status pq_depthwise_conv2d_s4_dsp(const pq_conv_params *p, const int32_t *mult, const int8_t *shift,
                                     const pq_dims *in_dims, const int8_t *in, const pq_dims *filter_dims,
                                     const uint8_t *filter, const int32_t *bias, const pq_dims *out_dims,
                                     int8_t *out)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, ch = in_dims->c;
    const int32_t f_h = filter_dims->h, f_w = filter_dims->w;
    const int32_t out_h = out_dims->h, out_w = out_dims->w;
    const int32_t dh = p->dilation_h, dw = p->dilation_w;
    const int32_t off = p->input_offset, off2 = pq_dsp_pair(off);
    const int32_t ch4 = ch & ~3;
    const int32_t row = in_w * ch; /* bytes of an input row */
    const int32_t fast = (ch & 1) == 0 && dw == 1 && f_h * f_w <= PQ_DW16_MAX_TAPS;
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
                int8_t *po = out + ((b * out_h + oy) * out_w + ox) * ch;
                const int8_t *px0;
                int32_t full3x3; /* the whole 3x3 window inside, dilation 1 (dw is 1 on the fast path) */
                if (ky0 >= ky1 || kx0 >= kx1) {
                    /* No tap inside: every accumulator is just the bias. */
                    for (c = 0; c < ch; ++c) {
                        po[c] = finish(&o, c, 0);
                    }
                    continue;
                }
                /* index from the first valid tap: (y0, x0) may lie before the buffer */
                px0 = in_b + ((y0 + ky0 * dh) * in_w + (x0 + kx0 * dw)) * ch;
                full3x3 = f_h == 3 && f_w == 3 && dh == 1 && ky0 == 0 && kx0 == 0 && ky1 == 3 && kx1 == 3;
                for (c = 0; fast && c < ch4; c += 4) {
                    int32_t acc[4], ky; /* not "= {0}": gcc -Os zeroes that with a memset call */
                    const int8_t *py = px0 + c;
                    /* an even ch: the tap's first weight is at a byte boundary */
                    const uint8_t *pw = filter + (((ky0 * f_w + kx0) * ch + c) >> 1);
                    if (full3x3) {
                        dw16_3x3(py, pw, ch >> 1, row, off2, acc);
                    } else {
                        acc[0] = acc[1] = acc[2] = acc[3] = 0;
                        for (ky = ky0; ky < ky1; ++ky, py += dh * row, pw += (f_w * ch) >> 1) {
                            dw_row16(py, pw, kx1 - kx0, ch >> 1, off2, acc);
                        }
                    }
                    acc[0] >>= 4; /* exact: the sums are multiples of 16 that did not wrap */
                    acc[1] >>= 4;
                    acc[2] >>= 4;
                    acc[3] >>= 4;
                    finish4(&o, c, acc, po);
                }
                for (c = fast ? ch4 : 0; c < ch4; c += 4) {
                    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, ky, kx;
                    const int8_t *py = px0 + c;
                    for (ky = ky0; ky < ky1; ++ky, py += dh * row) {
                        const int8_t *px = py;
                        int32_t e = (ky * f_w + kx0) * ch + c; /* the tap's first weight */
                        for (kx = kx0; kx < kx1; ++kx, px += dw * ch, e += ch) {
                            const uint32_t x = pq_dsp_ld4(px);
                            const int32_t xl = __sxtab16(off2, x), xh = pq_dsp_sxtab16_ror8(off2, x);
                            int32_t wl, wh;
                            weights4(filter, e, &wl, &wh);
                            a0 = __smlabb(xl, wl, a0);
                            a2 = __smlatt(xl, wl, a2);
                            a1 = __smlabb(xh, wh, a1);
                            a3 = __smlatt(xh, wh, a3);
                        }
                    }
                    {
                        const int32_t acc[4] = {a0, a1, a2, a3};
                        finish4(&o, c, acc, po);
                    }
                }
                for (; c < ch; ++c) { /* the channels past the last multiple of 4 */
                    const int8_t *py = px0 + c;
                    uint32_t acc = 0;
                    int32_t ky, kx;
                    for (ky = ky0; ky < ky1; ++ky, py += dh * row) {
                        for (kx = kx0; kx < kx1; ++kx) {
                            acc += (uint32_t)pq_int4_at(filter, (ky * f_w + kx) * ch + c) *
                                   ((uint32_t)py[(kx - kx0) * dw * ch] + (uint32_t)off);
                        }
                    }
                    po[c] = finish(&o, c, (int32_t)acc);
                }
            }
        }
    }
    return PQ_OK;
}

#else
typedef int pq_depthwise_conv2d_s4_dsp_unused; /* ISO C: a translation unit is not empty */
#endif /* PQ_DSP */
