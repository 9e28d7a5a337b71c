/*
 * The zero-point-padded image of CONV_2D's in-place feeds and of the SIMD
 * depthwise kernels, on every ISA: one walker (border rows, then per input
 * row its left border, the row, its right border) over the ISA's row copy and
 * fill (pq_pad_format: int8 as they are, widened to int16, flipped to
 * x ^ 0x80), called per row, so the copies stay vectorised in their own
 * target-attributed functions.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"
#include "pq_isa_traits.h"

void pq_padded_hw(const pq_conv_params *p, const pq_dims *in, const pq_dims *filter, const pq_dims *out,
                  int32_t *hp, int32_t *wp)
{
    const int32_t need_h = (out->h - 1) * p->stride_h + (filter->h - 1) * p->dilation_h + 1;
    const int32_t need_w = (out->w - 1) * p->stride_w + (filter->w - 1) * p->dilation_w + 1;
    const int32_t have_h = p->pad_h + in->h;
    const int32_t have_w = p->pad_w + in->w;
    *hp = need_h > have_h ? need_h : have_h;
    *wp = need_w > have_w ? need_w : have_w;
}

int pq_padded_copy_ok(const pq_conv_params *p, const pq_dims *in, const pq_dims *filter, const pq_dims *out)
{
    /* In 64 bits: the validator caps each dilated extent at 2^24, the product is not capped. */
    const int64_t need_h = (int64_t)(out->h - 1) * p->stride_h + (int64_t)(filter->h - 1) * p->dilation_h + 1;
    const int64_t need_w = (int64_t)(out->w - 1) * p->stride_w + (int64_t)(filter->w - 1) * p->dilation_w + 1;
    const int64_t have_h = (int64_t)p->pad_h + in->h, have_w = (int64_t)p->pad_w + in->w;
    const int64_t hp = need_h > have_h ? need_h : have_h, wp = need_w > have_w ? need_w : have_w;
    return hp * wp <= 4 * ((int64_t)in->h + 2 * filter->h) * ((int64_t)in->w + 2 * filter->w);
}

void pq_pad_image(const pq_pad_format *f, const int8_t *img, int32_t h, int32_t w, int32_t c, int32_t top,
                  int32_t left, int32_t hp, int32_t wp, int8_t zp, void *dst)
{
    const pq_pad_copy_fn copy = f->copy;
    const pq_pad_fill_fn fill = f->fill;
    const size_t elem = (size_t)f->elem;
    const size_t row = (size_t)w * (size_t)c;
    const size_t prow = (size_t)wp * (size_t)c;
    const size_t lpad = (size_t)left * (size_t)c;
    uint8_t *d = (uint8_t *)dst;
    int32_t y;
    for (y = 0; y < hp; ++y, d += prow * elem) {
        const int32_t iy = y - top;
        if (iy < 0 || iy >= h) {
            fill(d, zp, prow);
            continue;
        }
        if (lpad != 0) {
            fill(d, zp, lpad);
        }
        copy(d + lpad * elem, img + (size_t)iy * row, row);
        if (prow != lpad + row) {
            fill(d + (lpad + row) * elem, zp, prow - lpad - row);
        }
    }
}

/* Portable rows; compilers vectorise the loops. */
void pq_pad_copy_s8(void *dst, const int8_t *src, size_t n)
{
    int8_t *d = (int8_t *)dst;
    size_t i;
    for (i = 0; i < n; ++i) {
        d[i] = src[i];
    }
}

void pq_pad_fill_s8(void *dst, int8_t zp, size_t n)
{
    int8_t *d = (int8_t *)dst;
    size_t i;
    for (i = 0; i < n; ++i) {
        d[i] = zp;
    }
}

void pq_pad_fill_s16(void *dst, int8_t zp, size_t n)
{
    int16_t *d = (int16_t *)dst;
    size_t i;
    for (i = 0; i < n; ++i) {
        d[i] = zp;
    }
}
