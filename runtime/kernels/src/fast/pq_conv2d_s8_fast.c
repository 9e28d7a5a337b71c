/*
 * CONV_2D as int8 GEMM (same bytes as pq_conv2d_s8).
 *
 * Row m of the GEMM is one output pixel, column n one output channel of the
 * group, and the k values are the filter taps in the filter's own order
 * (fy, fx, ic). How the rows are fed (plan->direct):
 *   DIRECT   1x1, stride 1, no padding, one group: the NHWC input already is
 *            the row-major (pixels x channels) matrix.
 *   STRIDED  1x1 with a stride, no padding, one group: one GEMM per output
 *            row, whose pixels are stride_w * in_c bytes apart in the input.
 *   TAPS     AVX-512 VNNI or AMX / AVX2 / NEON, each tap reads a multiple of
 *            4 / 2 / 16 channels (the ISA's granule): the input is copied
 *            once into a zero-point-padded image in scratch (pq_pad_image in
 *            the ISA's conv_pad format; AVX-512: bytes flipped to x ^ 0x80;
 *            AVX2: widened to int16; NEON: as they are) and the ISA's
 *            gemm_block kernel (pq_isa_traits.h) reads each tap in place at
 *            row origin + tap offset (no bounds checks, no im2col; AMX copies
 *            each block of 32 rows' runs into a tile panel).
 *   ROWS     as TAPS for one group and no horizontal dilation (including the
 *            first layers' 1 or 3 channels), with one run per filter row:
 *            f_w * f_c consecutive values padded to a multiple of 4 / 2 / 16
 *            against zero weights (the padded image has 64 bytes of slack at
 *            its end for the few values read past the last run; NEON only
 *            when the padding adds at most 1/8).
 *   IM2ROW   NEON, one group, no horizontal dilation, where ROWS would pad
 *            too much (the first layers' 3 channels): the padded image as for
 *            ROWS, then `chunk_rows` rows at a time gathered into scratch by
 *            the ISA's im2row, each row the f_h filter rows' runs one after
 *            another, k padded with zero weights to 16 (a gather of whole
 *            16-byte moves, no bounds checks, and no tail loads in the GEMM).
 *   IM2COL   anything else: `chunk_rows` rows at a time are gathered into
 *            scratch.
 * Taps outside the image read the input zero point, whose product with the
 * folded bias term is exactly 0 (pq_fast.h).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"
#include "pq_im2col.h"
#include "pq_isa_traits.h"

static size_t pq_up64(size_t v)
{
    return (v + 63u) / 64u * 64u;
}

static size_t pq_conv_k(const pq_conv2d_fast_plan *plan)
{
    return (size_t)plan->filter_dims.h * (size_t)plan->filter_dims.w * (size_t)plan->filter_dims.c;
}

void pq_gemm_s8_pad_runs(int32_t n, int32_t runs, int32_t len, int32_t padded, const int8_t *w, int8_t *out)
{
    int32_t c, r, i;
    for (c = 0; c < n; ++c) {
        for (r = 0; r < runs; ++r) {
            for (i = 0; i < padded; ++i) {
                *out++ = i < len ? w[((size_t)c * (size_t)runs + (size_t)r) * (size_t)len + (size_t)i] : 0;
            }
        }
    }
}

/* Bytes per value of the padded image (the GEMM ISA's conv_pad: int16 for AVX2, bytes otherwise). */
static size_t pq_padded_elem(const pq_conv2d_fast_plan *plan)
{
    return (size_t)pq_isa_traits_get(plan->gemm.isa)->conv_pad.elem;
}

static size_t pq_padded_bytes(const pq_conv2d_fast_plan *plan)
{
    int32_t hp, wp;
    pq_padded_hw(&plan->p, &plan->in_dims, &plan->filter_dims, &plan->out_dims, &hp, &wp);
    return pq_up64((size_t)hp * (size_t)wp * (size_t)plan->in_dims.c * pq_padded_elem(plan) + 64u);
}

/* IM2ROW: the rows' buffer, 16 bytes of slack for the last row's stores past k. */
static size_t pq_im2row_bytes(const pq_conv2d_fast_plan *plan)
{
    return pq_up64((size_t)plan->chunk_rows * (size_t)plan->gemm.k + 16u);
}

size_t pq_conv2d_s8_fast_scratch_size(const pq_conv2d_fast_plan *plan)
{
    const size_t k = pq_conv_k(plan);
    if (plan->direct == PQ_FEED_IM2ROW) {
        return pq_padded_bytes(plan) + pq_im2row_bytes(plan) + pq_gemm_s8_scratch_size(plan->gemm.isa, plan->gemm.k);
    }
    if (plan->direct == PQ_FEED_TAPS || plan->direct == PQ_FEED_ROWS) {
        /* AMX adds its tile panel (block_work) after the padded image and the tap offsets. */
        return pq_padded_bytes(plan) + pq_up64((size_t)plan->taps * sizeof(ptrdiff_t)) +
               (pq_isa_traits_get(plan->gemm.isa)->block_work ? pq_gemm_s8_scratch_size(plan->gemm.isa, plan->gemm.k)
                                                              : 0u);
    }
    return pq_up64(plan->direct == PQ_FEED_IM2COL ? (size_t)plan->chunk_rows * k : 0u) +
           pq_gemm_s8_scratch_size(plan->gemm.isa, (int32_t)k);
}

/* Portable byte copies; compilers turn long ones into memcpy / memset. */
static void pq_copy_portable(int8_t *dst, const int8_t *src, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        dst[i] = src[i];
    }
}

static void pq_fill_portable(int8_t *dst, int8_t v, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        dst[i] = v;
    }
}

void pq_im2col_s8_portable(const pq_conv2d_fast_plan *plan, const int8_t *in, int32_t m0, int32_t rows,
                           int32_t c_base, int8_t pad, int8_t *dst)
{
    pq_im2col_rows(plan, in, m0, rows, c_base, pad, dst, pq_copy_portable, pq_fill_portable);
}

/* The group's GEMM: group g's packed weights and per-channel constants lie at
 * fixed strides after group 0's. */
pq_gemm_s8_plan pq_conv2d_group_plan(const pq_conv2d_fast_plan *plan, int32_t g)
{
    pq_gemm_s8_plan gp = plan->gemm;
    const int32_t off = g * plan->ch_group_stride;
    gp.w += (size_t)g * plan->w_group_stride;
    gp.rq.bias += off;
    gp.rq.mult += off;
    gp.rq.lshift += off;
    gp.rq.rshift += off;
    gp.rq.rmask += off;
    return gp;
}

/* The TAPS / ROWS feeds of every SIMD ISA (granule != 0): blocks of the ISA's
 * mr rows read in place from its conv_pad image. */
static void pq_conv_in_place(const pq_conv2d_fast_plan *plan, const int8_t *in, int8_t *out, void *scratch)
{
    /* Locals, not plan fields: the stores below could alias them. */
    const pq_isa_traits *tr = pq_isa_traits_get(plan->gemm.isa);
    const pq_gemm_block_fn block = tr->gemm_block;
    void (*const block_begin)(const pq_gemm_s8_plan *, void *) = tr->block_begin;
    void (*const block_end)(void) = tr->block_end;
    const int32_t mr = tr->mr;
    const ptrdiff_t esz = (ptrdiff_t)pq_padded_elem(plan);
    const int32_t in_h = plan->in_dims.h, in_w = plan->in_dims.w, in_c = plan->in_dims.c;
    const int32_t f_h = plan->filter_dims.h, f_w = plan->filter_dims.w, f_c = plan->filter_dims.c;
    const int32_t out_h = plan->out_dims.h, out_w = plan->out_dims.w, out_c = plan->out_dims.c;
    const int32_t stride_h = plan->p.stride_h, stride_w = plan->p.stride_w;
    const int32_t dil_h = plan->p.dilation_h, dil_w = plan->p.dilation_w;
    const int8_t zp = (int8_t)(-plan->p.input_offset);
    const int32_t taps = plan->taps, kt = plan->kt;
    const int32_t pix = out_h * out_w;
    const ptrdiff_t step_x = (ptrdiff_t)stride_w * in_c * esz;
    int8_t *img = (int8_t *)scratch;
    ptrdiff_t *tap_off = (ptrdiff_t *)(void *)(img + pq_padded_bytes(plan));
    void *work = (void *)(img + pq_padded_bytes(plan) + pq_up64((size_t)taps * sizeof(ptrdiff_t)));
    const int8_t *origin[PQ_GEMM_MR_MAX];
    int32_t hp, wp, b, g, m0, r, n, i, fy, fx, t = 0;
    ptrdiff_t step_y;
    pq_padded_hw(&plan->p, &plan->in_dims, &plan->filter_dims, &plan->out_dims, &hp, &wp);
    step_y = (ptrdiff_t)stride_h * wp * in_c * esz;
    for (fy = 0; fy < f_h; ++fy) {
        if (plan->direct == PQ_FEED_ROWS) {
            tap_off[t++] = (ptrdiff_t)fy * dil_h * wp * in_c * esz;
            continue;
        }
        for (fx = 0; fx < f_w; ++fx) {
            tap_off[t++] = ((ptrdiff_t)fy * dil_h * wp + (ptrdiff_t)fx * dil_w) * in_c * esz;
        }
    }
    for (b = 0; b < plan->in_dims.n; ++b) {
        const int8_t *in_b = in + (size_t)b * (size_t)in_h * (size_t)in_w * (size_t)in_c;
        int8_t *out_b = out + (size_t)b * (size_t)pix * (size_t)out_c;
        pq_pad_image(&tr->conv_pad, in_b, in_h, in_w, in_c, plan->p.pad_h, plan->p.pad_w, hp, wp, zp, img);
        if (block_begin != NULL) {
            block_begin(&plan->gemm, work);
        }
        for (g = 0; g < plan->groups; ++g) {
            const pq_gemm_s8_plan gp = pq_conv2d_group_plan(plan, g);
            /* Padded coordinates: output pixel (oy, ox) starts at (oy * s_h, ox * s_w), walked
             * as byte offsets (an offset past the last row is never a pointer). */
            ptrdiff_t row_off = (ptrdiff_t)g * f_c * esz, off = row_off;
            int32_t ox = 0;
            for (m0 = 0; m0 < pix; m0 += mr) {
                const int32_t rows = pix - m0 < mr ? pix - m0 : mr;
                int8_t *o = out_b + (size_t)m0 * (size_t)out_c + (size_t)g * (size_t)gp.n;
                /* Runs of the block's pixels within one output row: step_x apart (two at a
                 * time: one paired store). */
                for (r = 0; r < rows; r += n) {
                    const int8_t *src = img + off;
                    n = out_w - ox < rows - r ? out_w - ox : rows - r;
                    for (i = 0; i + 2 <= n; i += 2) {
                        origin[r + i] = src;
                        origin[r + i + 1] = src + step_x;
                        src += 2 * step_x;
                    }
                    if (i < n) {
                        origin[r + i] = src;
                    }
                    off += (ptrdiff_t)n * step_x;
                    ox += n;
                    if (ox == out_w) {
                        ox = 0;
                        row_off += step_y;
                        off = row_off;
                    }
                }
                for (; r < mr; ++r) {
                    origin[r] = origin[rows - 1]; /* read, computed, never stored */
                }
                block(&gp, rows, origin, tap_off, taps, kt, o, out_c, work);
            }
        }
        if (block_end != NULL) {
            block_end();
        }
    }
}

/* The IM2ROW feed: per image, the padded copy, then chunks of rows gathered from it (one
 * im2row call per stretch of an output row) and multiplied. */
static void pq_conv_im2row(const pq_conv2d_fast_plan *plan, const int8_t *in, int8_t *out, void *scratch)
{
    const pq_isa_traits *tr = pq_isa_traits_get(plan->gemm.isa);
    const pq_im2row_fn im2row = tr->im2row;
    const int32_t in_h = plan->in_dims.h, in_w = plan->in_dims.w, in_c = plan->in_dims.c;
    const int32_t out_h = plan->out_dims.h, out_w = plan->out_dims.w, out_c = plan->out_dims.c;
    const int32_t pix = out_h * out_w, k = plan->gemm.k, chunk = plan->chunk_rows;
    const int32_t runs = plan->taps, len = plan->kt;
    const int8_t zp = (int8_t)(-plan->p.input_offset);
    int8_t *img = (int8_t *)scratch;
    int8_t *rows_buf = img + pq_padded_bytes(plan);
    void *gemm_scratch = (void *)(rows_buf + pq_im2row_bytes(plan));
    int32_t hp, wp, b, m0, r, n, ox, oy;
    ptrdiff_t step, run_step, row_step;
    pq_padded_hw(&plan->p, &plan->in_dims, &plan->filter_dims, &plan->out_dims, &hp, &wp);
    step = (ptrdiff_t)plan->p.stride_w * in_c;
    row_step = (ptrdiff_t)plan->p.stride_h * wp * in_c;
    run_step = (ptrdiff_t)plan->p.dilation_h * wp * in_c;
    for (b = 0; b < plan->in_dims.n; ++b) {
        const int8_t *in_b = in + (size_t)b * (size_t)in_h * (size_t)in_w * (size_t)in_c;
        int8_t *out_b = out + (size_t)b * (size_t)pix * (size_t)out_c;
        pq_pad_image(&tr->conv_pad, in_b, in_h, in_w, in_c, plan->p.pad_h, plan->p.pad_w, hp, wp, zp, img);
        ox = 0;
        oy = 0;
        for (m0 = 0; m0 < pix; m0 += chunk) {
            const int32_t rows = pix - m0 < chunk ? pix - m0 : chunk;
            for (r = 0; r < rows; r += n) {
                n = out_w - ox < rows - r ? out_w - ox : rows - r;
                im2row(img + oy * row_step + ox * step, step, n, run_step, runs, len, k, rows_buf + (size_t)r * (size_t)k);
                ox += n;
                if (ox == out_w) {
                    ox = 0;
                    ++oy;
                }
            }
            pq_gemm_s8(&plan->gemm, rows, rows_buf, k, out_b + (size_t)m0 * (size_t)out_c, out_c, gemm_scratch);
        }
    }
}

pq_status pq_conv2d_s8_fast(const pq_conv2d_fast_plan *plan, const int8_t *in, int8_t *out, void *scratch)
{
    const int32_t out_h = plan->out_dims.h, out_w = plan->out_dims.w, out_c = plan->out_dims.c;
    const int32_t in_c = plan->in_dims.c;
    const int32_t batches = plan->in_dims.n;
    const int32_t k = (int32_t)pq_conv_k(plan);
    const int32_t m = batches * out_h * out_w;
    /* The zero point as an int8: -input_offset, in [-128, 127] (the loader
     * uses this kernel only then). */
    const int8_t pad = (int8_t)(-plan->p.input_offset);
    const pq_im2col_fn im2col = pq_isa_traits_get(plan->gemm.isa)->im2col;
    int8_t *cols = (int8_t *)scratch;
    void *gemm_scratch =
        (void *)(cols + pq_up64(plan->direct == PQ_FEED_IM2COL ? (size_t)plan->chunk_rows * (size_t)k : 0u));
    int32_t g, m0, b, oy;

    switch (plan->direct) {
    case PQ_FEED_DIRECT:
        pq_gemm_s8(&plan->gemm, m, in, in_c, out, out_c, gemm_scratch);
        return PQ_OK;
    case PQ_FEED_STRIDED:
        for (b = 0; b < batches; ++b) {
            for (oy = 0; oy < out_h; ++oy) {
                const size_t iy = (size_t)(oy * plan->p.stride_h);
                const int8_t *a =
                    in + ((size_t)b * (size_t)plan->in_dims.h + iy) * (size_t)plan->in_dims.w * (size_t)in_c;
                int8_t *o = out + ((size_t)b * (size_t)out_h + (size_t)oy) * (size_t)out_w * (size_t)out_c;
                pq_gemm_s8(&plan->gemm, out_w, a, plan->p.stride_w * in_c, o, out_c, gemm_scratch);
            }
        }
        return PQ_OK;
    case PQ_FEED_TAPS:
    case PQ_FEED_ROWS:
        pq_conv_in_place(plan, in, out, scratch);
        return PQ_OK;
    case PQ_FEED_IM2ROW:
        pq_conv_im2row(plan, in, out, scratch);
        return PQ_OK;
    default:
        break;
    }
    for (g = 0; g < plan->groups; ++g) {
        const pq_gemm_s8_plan gp = pq_conv2d_group_plan(plan, g);
        for (m0 = 0; m0 < m; m0 += plan->chunk_rows) {
            const int32_t rows = m - m0 < plan->chunk_rows ? m - m0 : plan->chunk_rows;
            im2col(plan, in, m0, rows, g * plan->filter_dims.c, pad, cols);
            pq_gemm_s8(&gp, rows, cols, k, out + (size_t)m0 * (size_t)out_c + (size_t)g * (size_t)gp.n, out_c,
                       gemm_scratch);
        }
    }
    return PQ_OK;
}
