/*
 * im2col rows for the fast CONV_2D (internal). Row r is output pixel m0 + r
 * (pixels in NHWC order), holding the f_h * f_w * f_c inputs its filter taps
 * read, in the filter's (fy, fx, ic) order, or the zero point `pad` for taps
 * outside the image.
 *
 * Written once, instantiated per ISA with that ISA's byte copy and fill (the
 * function pointers are constants at each instantiation, so they inline).
 * With one group and no horizontal dilation, the taps of a filter row that
 * lie inside the image are one run of consecutive input bytes: one copy per
 * filter row, and a fill each side on border pixels; else tap by tap.
 */
#ifndef PQ_IM2COL_H
#define PQ_IM2COL_H

#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"

typedef void (*pq_copy_fn)(int8_t *dst, const int8_t *src, int32_t n);
typedef void (*pq_fill_fn)(int8_t *dst, int8_t v, int32_t n);

#if defined(__GNUC__)
#define PQ_IM2COL_INLINE static inline __attribute__((always_inline))
#else
#define PQ_IM2COL_INLINE static inline
#endif

PQ_IM2COL_INLINE void pq_im2col_rows(const pq_conv2d_fast_plan *plan, const int8_t *in, int32_t m0, int32_t rows,
                                     int32_t c_base, int8_t pad, int8_t *dst, pq_copy_fn copy, pq_fill_fn fill)
{
    /* Everything in locals: the int8 stores below may alias any memory as
     * far as the compiler knows, so fields read through `plan` would be
     * reloaded after every store. */
    const int32_t in_h = plan->in_dims.h, in_w = plan->in_dims.w, in_c = plan->in_dims.c;
    const int32_t f_h = plan->filter_dims.h, f_w = plan->filter_dims.w, f_c = plan->filter_dims.c;
    const int32_t out_h = plan->out_dims.h, out_w = plan->out_dims.w;
    const int32_t stride_h = plan->p.stride_h, stride_w = plan->p.stride_w;
    const int32_t dil_h = plan->p.dilation_h, dil_w = plan->p.dilation_w;
    const int32_t pad_h = plan->p.pad_h, pad_w = plan->p.pad_w;
    const int32_t row_len = f_w * f_c;
    const ptrdiff_t in_row = (ptrdiff_t)in_w * in_c;
    const ptrdiff_t step_y = (ptrdiff_t)dil_h * in_row;
    const size_t img_size = (size_t)in_h * (size_t)in_w * (size_t)in_c;
    const int32_t span_w = (f_w - 1) * dil_w; /* x extent of the filter - 1 */
    /* Taps of a filter row are adjacent pixels: one group, no dilation. */
    const int contiguous = f_c == in_c && dil_w == 1;
    int32_t ox = m0 % out_w;
    int32_t oy = (m0 / out_w) % out_h;
    int32_t b = m0 / out_w / out_h;
    int32_t r, fy, fx;
    for (r = 0; r < rows; ++r) {
        const int32_t y0 = oy * stride_h - pad_h;
        const int32_t x0 = ox * stride_w - pad_w;
        const int8_t *img = in + (size_t)b * img_size + (size_t)c_base;
        /* Offsets, not pointers: a pointer outside the image would be undefined. */
        ptrdiff_t off = (ptrdiff_t)y0 * in_row + (ptrdiff_t)x0 * in_c;
        int32_t iy = y0;
        if (contiguous && x0 >= 0 && x0 + span_w < in_w) {
            /* Every tap column inside the image: one copy per filter row. */
            for (fy = 0; fy < f_h; ++fy, iy += dil_h, off += step_y, dst += row_len) {
                if (iy < 0 || iy >= in_h) {
                    fill(dst, pad, row_len);
                } else {
                    copy(dst, img + off, row_len);
                }
            }
        } else if (contiguous) {
            /* A border pixel's filter row is lt taps left of the image, mid taps
             * inside (one run of consecutive input bytes) and rt taps right of it:
             * one fill, one copy, one fill per filter row, not one call per tap. */
            int32_t lt = x0 < 0 ? (-x0 < f_w ? -x0 : f_w) : 0;
            int32_t rt = x0 + span_w >= in_w ? (x0 + span_w - in_w + 1 < f_w ? x0 + span_w - in_w + 1 : f_w) : 0;
            int32_t mid = f_w - lt - rt;
            if (mid <= 0) {
                lt = f_w;
                rt = 0;
                mid = 0;
            }
            for (fy = 0; fy < f_h; ++fy, iy += dil_h, off += step_y, dst += row_len) {
                if (iy < 0 || iy >= in_h || mid == 0) {
                    fill(dst, pad, row_len);
                } else {
                    if (lt > 0) {
                        fill(dst, pad, lt * f_c);
                    }
                    copy(dst + lt * f_c, img + off + (ptrdiff_t)lt * in_c, mid * f_c);
                    if (rt > 0) {
                        fill(dst + (lt + mid) * f_c, pad, rt * f_c);
                    }
                }
            }
        } else {
            for (fy = 0; fy < f_h; ++fy, iy += dil_h, off += step_y) {
                for (fx = 0; fx < f_w; ++fx, dst += f_c) {
                    const int32_t ix = x0 + fx * dil_w;
                    if (iy < 0 || iy >= in_h || ix < 0 || ix >= in_w) {
                        fill(dst, pad, f_c);
                    } else {
                        copy(dst, img + off + (ptrdiff_t)fx * dil_w * in_c, f_c);
                    }
                }
            }
        }
        if (++ox == out_w) {
            ox = 0;
            if (++oy == out_h) {
                oy = 0;
                ++b;
            }
        }
    }
}

#endif /* PQ_IM2COL_H */
