/*
 * Parts of the fast CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED kernels
 * for several threads (pq_fast_split.h): each part restricts the op's plan to
 * a slice of the output and calls the unchanged kernel on it.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_split.h"
#include "pq_isa_traits.h"

void pq_split_range(int32_t total, int32_t unit, int32_t part, int32_t parts, int32_t *lo, int32_t *hi)
{
    /* Counted from the end, so that the larger parts come first: the calling thread claims
     * part 0 at once, a worker starts a little later. */
    const int64_t blocks = ((int64_t)total + unit - 1) / unit;
    const int64_t b0 = (blocks - blocks * (parts - part) / parts) * unit;
    const int64_t b1 = (blocks - blocks * (parts - part - 1) / parts) * unit;
    *lo = (int32_t)(b0 < total ? b0 : total);
    *hi = (int32_t)(b1 < total ? b1 : total);
}

void pq_gemm_s8_plan_cols(const pq_gemm_s8_plan *plan, int32_t c0, int32_t c1, pq_gemm_s8_plan *sub)
{
    /* Every packed layout (pq_gemm_s8.c) stores blocks of channels one after
     * another, kp values per channel (int16 for AVX2, bytes otherwise), so
     * channel c0, a block boundary, starts c0 * kp values in. */
    const size_t elem = (size_t)pq_isa_traits_get(plan->isa)->w_elem;
    *sub = *plan;
    sub->n = c1 - c0;
    sub->np = pq_gemm_s8_np(plan->isa, sub->n);
    sub->w = plan->w + (size_t)c0 * (size_t)plan->kp * elem;
    sub->rq.bias += c0;
    sub->rq.mult += c0;
    sub->rq.lshift += c0;
    sub->rq.rshift += c0;
    sub->rq.rmask += c0;
}

/* Output rows [y0, y1) of one image as a convolution of their own: the input
 * rows their taps reach (from *iy0, *in_h of them) and the part of the top
 * padding above them; the kernels then pad (or skip) exactly as for the whole
 * image. Rows whose taps all lie in the padding get an empty input. */
static void pq_conv_window(const pq_conv_params *p, const pq_dims *in, const pq_dims *filter, int32_t y0, int32_t y1,
                           int32_t *iy0, int32_t *in_h, int32_t *pad_h)
{
    const int32_t top = y0 * p->stride_h - p->pad_h;
    const int32_t end = (y1 - 1) * p->stride_h - p->pad_h + (filter->h - 1) * p->dilation_h + 1;
    const int32_t lo = top > 0 ? top : 0;
    const int32_t hi = end < in->h ? end : in->h;
    if (hi <= lo) {
        *iy0 = 0;
        *in_h = 0;
        *pad_h = 0;
        return;
    }
    *iy0 = lo;
    *in_h = hi - lo;
    *pad_h = lo - top;
}

/* Image b and its rows [y0, y1) that global rows [r0, r1) cover (rows counted over the batch). */
static int pq_next_image(int32_t out_h, int32_t r0, int32_t r1, int32_t b, int32_t *y0, int32_t *y1)
{
    const int32_t first = b * out_h;
    if (first >= r1 || first + out_h <= r0) {
        return 0;
    }
    *y0 = r0 > first ? r0 - first : 0;
    *y1 = r1 < first + out_h ? r1 - first : out_h;
    return 1;
}

int32_t pq_conv2d_s8_fast_split_rows(const pq_conv2d_fast_plan *plan, int32_t *unit)
{
    if (plan->direct == PQ_FEED_DIRECT) {
        *unit = PQ_SPLIT_GEMM_ROWS;
        return plan->out_dims.n * plan->out_dims.h * plan->out_dims.w;
    }
    *unit = 1;
    return plan->out_dims.n * plan->out_dims.h;
}

pq_status pq_conv2d_s8_fast_part(const pq_conv2d_fast_plan *plan, const int8_t *in, int8_t *out, void *scratch,
                                 int32_t split, int32_t col_unit, int32_t part, int32_t parts)
{
    const size_t in_row = (size_t)plan->in_dims.w * (size_t)plan->in_dims.c;
    const size_t out_row = (size_t)plan->out_dims.w * (size_t)plan->out_dims.c;
    pq_conv2d_fast_plan sub = *plan;
    int32_t lo, hi, rows, unit, b, y0, y1, iy0;
    pq_status st;
    if (split == PQ_SPLIT_COLS) {
        pq_split_range(plan->gemm.n, pq_gemm_s8_np(plan->gemm.isa, col_unit), part, parts, &lo, &hi);
        if (lo >= hi) {
            return PQ_OK;
        }
        pq_gemm_s8_plan_cols(&plan->gemm, lo, hi, &sub.gemm);
        return pq_conv2d_s8_fast(&sub, in, out + lo, scratch);
    }
    rows = pq_conv2d_s8_fast_split_rows(plan, &unit); /* sets unit: not inside the call below */
    pq_split_range(rows, unit, part, parts, &lo, &hi);
    if (lo >= hi) {
        return PQ_OK;
    }
    if (plan->direct == PQ_FEED_DIRECT) {
        /* A 1x1, stride 1, unpadded convolution: pixels [lo, hi) as one row. */
        sub.in_dims.n = sub.out_dims.n = 1;
        sub.in_dims.h = sub.out_dims.h = 1;
        sub.in_dims.w = sub.out_dims.w = hi - lo;
        return pq_conv2d_s8_fast(&sub, in + (size_t)lo * (size_t)plan->in_dims.c,
                                 out + (size_t)lo * (size_t)plan->out_dims.c, scratch);
    }
    sub.in_dims.n = sub.out_dims.n = 1;
    for (b = lo / plan->out_dims.h; b < plan->out_dims.n; ++b) {
        if (!pq_next_image(plan->out_dims.h, lo, hi, b, &y0, &y1)) {
            break;
        }
        pq_conv_window(&plan->p, &plan->in_dims, &plan->filter_dims, y0, y1, &iy0, &sub.in_dims.h, &sub.p.pad_h);
        sub.out_dims.h = y1 - y0;
        st = pq_conv2d_s8_fast(&sub, in + ((size_t)b * (size_t)plan->in_dims.h + (size_t)iy0) * in_row,
                               out + ((size_t)b * (size_t)plan->out_dims.h + (size_t)y0) * out_row, scratch);
        if (st != PQ_OK) {
            return st;
        }
    }
    return PQ_OK;
}

int32_t pq_dwconv_s8_fast_split_rows(const pq_dwconv_fast_plan *plan, int32_t *unit)
{
    *unit = 1;
    return plan->out_dims.n * plan->out_dims.h;
}

pq_status pq_depthwise_conv2d_s8_fast_part(const pq_dwconv_fast_plan *plan, const int8_t *in, int8_t *out,
                                           void *scratch, int32_t part, int32_t parts)
{
    const size_t in_row = (size_t)plan->in_dims.w * (size_t)(plan->in_dims.c / plan->mult); /* the input's */
    const size_t out_row = (size_t)plan->out_dims.w * (size_t)plan->out_dims.c;
    pq_dwconv_fast_plan sub = *plan;
    int32_t lo, hi, rows, unit, b, y0, y1, iy0;
    pq_status st;
    rows = pq_dwconv_s8_fast_split_rows(plan, &unit);
    pq_split_range(rows, unit, part, parts, &lo, &hi);
    sub.in_dims.n = sub.out_dims.n = 1;
    for (b = lo / plan->out_dims.h; lo < hi && b < plan->out_dims.n; ++b) {
        if (!pq_next_image(plan->out_dims.h, lo, hi, b, &y0, &y1)) {
            break;
        }
        pq_conv_window(&plan->p, &plan->in_dims, &plan->filter_dims, y0, y1, &iy0, &sub.in_dims.h, &sub.p.pad_h);
        sub.out_dims.h = y1 - y0;
        st = pq_depthwise_conv2d_s8_fast(&sub, in + ((size_t)b * (size_t)plan->in_dims.h + (size_t)iy0) * in_row,
                                         out + ((size_t)b * (size_t)plan->out_dims.h + (size_t)y0) * out_row,
                                         scratch);
        if (st != PQ_OK) {
            return st;
        }
    }
    return PQ_OK;
}

pq_status pq_fully_connected_s8_fast_part(const pq_gemm_s8_plan *plan, int32_t batches, const int8_t *in, int8_t *out,
                                          void *scratch, int32_t split, int32_t col_unit, int32_t part,
                                          int32_t parts)
{
    int32_t lo, hi;
    if (split == PQ_SPLIT_COLS) {
        pq_gemm_s8_plan sub;
        pq_split_range(plan->n, pq_gemm_s8_np(plan->isa, col_unit), part, parts, &lo, &hi);
        if (lo < hi) {
            pq_gemm_s8_plan_cols(plan, lo, hi, &sub);
            pq_gemm_s8(&sub, batches, in, plan->k, out + lo, plan->n, scratch);
        }
        return PQ_OK;
    }
    pq_split_range(batches, PQ_SPLIT_GEMM_ROWS, part, parts, &lo, &hi);
    if (lo < hi) {
        pq_gemm_s8(plan, hi - lo, in + (size_t)lo * (size_t)plan->k, plan->k, out + (size_t)lo * (size_t)plan->n,
                   plan->n, scratch);
    }
    return PQ_OK;
}
