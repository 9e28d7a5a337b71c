/*
 * CONV_2D on aarch64 without im2col (PQ_FEED_TAPS / PQ_FEED_ROWS, both NEON
 * ISAs), as pq_conv2d_s8_fast.c does for x86: each image is copied once into
 * scratch with a border of input zero points (whose product with the folded
 * bias term is exactly 0), then the GEMM kernels read every output pixel's
 * taps in place, at row origin + tap offset. The loader picks these feeds
 * only when each run of k values is a multiple of 16 bytes (or, for ROWS,
 * padded to one with at most 1/8 zero weights), the chunk the NEON kernels
 * load, so no chunk straddles two runs; a padded run reads up to 15 bytes
 * past it, into the next pixel or the 64 bytes of slack after the copy.
 * The im2col it replaces cost as many instructions as the sdot GEMM itself on
 * a 16-channel 3x3 convolution (its per-pixel bookkeeping, not its copies).
 *
 * Scratch: the padded image (pq_conv2d_s8_fast.c's pq_padded_bytes with one
 * byte per value), then the tap offsets.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"

#if PQ_HAVE_NEON
#include <arm_neon.h>

/* One image (h x w x c) into an (hp x wp x c) buffer at row offset top and
 * column offset left, the border filled with zp. */
static void pq_pad_s8_neon(const int8_t *img, int32_t h, int32_t w, int32_t c, int32_t top, int32_t left,
                           int32_t hp, int32_t wp, int8_t zp, int8_t *dst)
{
    const size_t row = (size_t)w * (size_t)c;
    const size_t prow = (size_t)wp * (size_t)c;
    const size_t lpad = (size_t)left * (size_t)c;
    int32_t y;
    size_t i;
    for (y = 0; y < hp; ++y, dst += prow) {
        const int32_t iy = y - top;
        const int8_t *src;
        if (iy < 0 || iy >= h) {
            for (i = 0; i < prow; ++i) {
                dst[i] = zp;
            }
            continue;
        }
        src = img + (size_t)iy * row;
        for (i = 0; i < lpad; ++i) {
            dst[i] = zp;
        }
        for (i = 0; i + 16 <= row; i += 16) {
            vst1q_s8(dst + lpad + i, vld1q_s8(src + i));
        }
        for (; i < row; ++i) {
            dst[lpad + i] = src[i];
        }
        for (i = lpad + row; i < prow; ++i) {
            dst[i] = zp;
        }
    }
}

void pq_conv2d_s8_neon_in_place(const pq_conv2d_fast_plan *plan, const int8_t *in, int8_t *out, void *scratch)
{
    /* Locals, not plan fields: the int8 stores below could alias them. */
    const int dot = plan->gemm.isa == PQ_ISA_NEON_DOT;
    const int32_t in_h = plan->in_dims.h, in_w = plan->in_dims.w, in_c = plan->in_dims.c;
    const int32_t f_h = plan->filter_dims.h, f_w = plan->filter_dims.w, f_c = plan->filter_dims.c;
    const int32_t out_h = plan->out_dims.h, out_w = plan->out_dims.w, out_c = plan->out_dims.c;
    const int32_t stride_h = plan->p.stride_h, stride_w = plan->p.stride_w;
    const int32_t dil_h = plan->p.dilation_h, dil_w = plan->p.dilation_w;
    const int8_t zp = (int8_t)(-plan->p.input_offset);
    const int32_t taps = plan->taps, kt = plan->kt;
    const int32_t pix = out_h * out_w;
    int8_t *img = (int8_t *)scratch;
    const int8_t *origin[PQ_GEMM_MR_NEON];
    ptrdiff_t *tap_off;
    int32_t hp, wp, b, g, m0, r, fy, fx, t = 0;
    pq_padded_hw(&plan->p, &plan->in_dims, &plan->filter_dims, &plan->out_dims, &hp, &wp);
    tap_off = (ptrdiff_t *)(void *)(img + ((size_t)hp * (size_t)wp * (size_t)in_c + 64u + 63u) / 64u * 64u);
    for (fy = 0; fy < f_h; ++fy) {
        if (plan->direct == PQ_FEED_ROWS) {
            tap_off[t++] = (ptrdiff_t)fy * dil_h * wp * in_c;
            continue;
        }
        for (fx = 0; fx < f_w; ++fx) {
            tap_off[t++] = ((ptrdiff_t)fy * dil_h * wp + (ptrdiff_t)fx * dil_w) * in_c;
        }
    }
    for (b = 0; b < plan->in_dims.n; ++b) {
        const int8_t *in_b = in + (size_t)b * (size_t)in_h * (size_t)in_w * (size_t)in_c;
        int8_t *out_b = out + (size_t)b * (size_t)pix * (size_t)out_c;
        pq_pad_s8_neon(in_b, in_h, in_w, in_c, plan->p.pad_h, plan->p.pad_w, hp, wp, zp, img);
        for (g = 0; g < plan->groups; ++g) {
            const pq_gemm_s8_plan gp = pq_conv2d_group_plan(plan, g);
            int32_t ox = 0, oy = 0;
            for (m0 = 0; m0 < pix; m0 += PQ_GEMM_MR_NEON) {
                const int32_t rows = pix - m0 < PQ_GEMM_MR_NEON ? pix - m0 : PQ_GEMM_MR_NEON;
                int8_t *o = out_b + (size_t)m0 * (size_t)out_c + (size_t)g * (size_t)gp.n;
                for (r = 0; r < PQ_GEMM_MR_NEON; ++r) {
                    if (r < rows) {
                        /* Padded coordinates: output pixel (oy, ox) starts at (oy * s_h, ox * s_w). */
                        origin[r] = img + ((ptrdiff_t)oy * stride_h * wp + (ptrdiff_t)ox * stride_w) * in_c +
                                    (ptrdiff_t)g * f_c;
                        if (++ox == out_w) {
                            ox = 0;
                            ++oy;
                        }
                    } else {
                        origin[r] = origin[rows - 1]; /* read, computed, never stored */
                    }
                }
#if PQ_HAVE_NEON_DOT
                if (dot) {
                    pq_gemm_s8_neon_dot_block(&gp, rows, origin, tap_off, taps, kt, o, out_c);
                    continue;
                }
#endif
                (void)dot;
                pq_gemm_s8_neon_block(&gp, rows, origin, tap_off, taps, kt, o, out_c);
            }
        }
    }
}

#else
/* ISO C forbids an empty translation unit. */
typedef int pq_conv2d_s8_neon_unused;
#endif
