/*
 * AVERAGE_POOL_2D with the channel loop innermost (same bytes as
 * pq_avg_pool2d_s8): per block of 16 channels, each window pixel adds its 16
 * consecutive bytes to 16 running sums held in registers, a loop compilers
 * vectorise, stored to scratch once per window; then each sum
 * is rounded and divided exactly as the reference does. Portable C for every
 * ISA. Sums are uint32 (wrapping, as the reference's).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fixedpoint.h"

/* Channels per pass: their sums stay in registers over the whole window. */
#define PQ_POOL_CB 16

/* The window's sums of PQ_POOL_CB channels from win (rows of `row` bytes, pixels `step` bytes
 * apart), in a local array the compiler holds in vector registers. */
static void pq_pool_sum_block(const int8_t *win, int32_t rows, int32_t cols, size_t row, size_t step,
                              uint32_t *sum)
{
    uint32_t acc[PQ_POOL_CB] = {0};
    int32_t y, x, c;
    for (y = 0; y < rows; ++y) {
        const int8_t *px = win + (size_t)y * row;
        for (x = 0; x < cols; ++x, px += step) {
            for (c = 0; c < PQ_POOL_CB; ++c) {
                acc[c] += (uint32_t)(int32_t)px[c];
            }
        }
    }
    for (c = 0; c < PQ_POOL_CB; ++c) {
        sum[c] = acc[c];
    }
}

/* The same for the last n < PQ_POOL_CB channels, summed in place. */
static void pq_pool_sum_tail(const int8_t *win, int32_t rows, int32_t cols, size_t row, size_t step, int32_t n,
                             uint32_t *sum)
{
    int32_t y, x, c;
    for (c = 0; c < n; ++c) {
        sum[c] = 0;
    }
    for (y = 0; y < rows; ++y) {
        const int8_t *px = win + (size_t)y * row;
        for (x = 0; x < cols; ++x, px += step) {
            for (c = 0; c < n; ++c) {
                sum[c] += (uint32_t)(int32_t)px[c];
            }
        }
    }
}

pq_status pq_avg_pool2d_s8_fast(const pq_pool_params *p, const pq_dims *in_dims, const int8_t *in,
                                const pq_dims *out_dims, int8_t *out, uint32_t *sum)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, depth = in_dims->c;
    const int32_t out_h = out_dims->h, out_w = out_dims->w;
    const int32_t act_min = p->act_min, act_max = p->act_max;
    int32_t b, oy, ox, c;
    for (b = 0; b < in_dims->n; ++b) {
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            const int32_t y_lo = y0 < 0 ? 0 : y0;
            const int32_t y_hi = y0 + p->filter_h < in_h ? y0 + p->filter_h : in_h;
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                const int32_t x_lo = x0 < 0 ? 0 : x0;
                const int32_t x_hi = x0 + p->filter_w < in_w ? x0 + p->filter_w : in_w;
                const int32_t count = (y_hi - y_lo) * (x_hi - x_lo);
                int8_t *o = out + (((size_t)b * (size_t)out_h + (size_t)oy) * (size_t)out_w + (size_t)ox) * (size_t)depth;
                if (y_hi <= y_lo || x_hi <= x_lo) {
                    return PQ_ERR_PARAM; /* empty window: the reference fails here too */
                }
                for (c = 0; c < depth; c += PQ_POOL_CB) {
                    const int8_t *win =
                        in + (((size_t)b * (size_t)in_h + (size_t)y_lo) * (size_t)in_w + (size_t)x_lo) * (size_t)depth +
                        (size_t)c;
                    if (depth - c >= PQ_POOL_CB) {
                        pq_pool_sum_block(win, y_hi - y_lo, x_hi - x_lo, (size_t)in_w * (size_t)depth,
                                          (size_t)depth, sum + c);
                    } else {
                        pq_pool_sum_tail(win, y_hi - y_lo, x_hi - x_lo, (size_t)in_w * (size_t)depth,
                                         (size_t)depth, depth - c, sum + c);
                    }
                }
                for (c = 0; c < depth; ++c) {
                    /* the reference's rounding division */
                    o[c] = (int8_t)pq_clamp(pq_pool_average(sum[c], count), act_min, act_max);
                }
            }
        }
    }
    return PQ_OK;
}
