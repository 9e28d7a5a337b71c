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

/* Channels c..c+3, the four bytes stored as one word. A call of its own: inlined, it
 * competes with the tap loop for registers. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void finish4(const dw_out *o, int32_t c, const int32_t acc[4], int8_t *po)
{
    uint32_t word = 0;
    int32_t i;
    for (i = 3; i >= 0; --i) {
        word = (word << 8) | (uint8_t)finish(o, c + i, acc[i]);
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
                if (ky0 >= ky1 || kx0 >= kx1) {
                    /* No tap inside: every accumulator is just the bias. */
                    for (c = 0; c < ch; ++c) {
                        po[c] = finish(&o, c, 0);
                    }
                    continue;
                }
                /* index from the first valid tap: (y0, x0) may lie before the buffer */
                px0 = in_b + ((y0 + ky0 * dh) * in_w + (x0 + kx0 * dw)) * ch;
                for (c = 0; c < ch4; c += 4) {
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
