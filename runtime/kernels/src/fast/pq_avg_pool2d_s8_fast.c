/*
 * AVERAGE_POOL_2D with the channel loop innermost (same bytes as
 * pq_avg_pool2d_s8): each window pixel adds its `depth` consecutive bytes to
 * `depth` running sums in scratch, a loop compilers vectorise; then each sum
 * is rounded and divided exactly as the reference does. Portable C for every
 * ISA. Sums are uint32 (wrapping, as the reference's).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fixedpoint.h"

pq_status pq_avg_pool2d_s8_fast(const pq_pool_params *p, const pq_dims *in_dims, const int8_t *in,
                                const pq_dims *out_dims, int8_t *out, uint32_t *sum)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, depth = in_dims->c;
    const int32_t out_h = out_dims->h, out_w = out_dims->w;
    const int32_t act_min = p->act_min, act_max = p->act_max;
    int32_t b, oy, ox, c, y, x;
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
                for (c = 0; c < depth; ++c) {
                    sum[c] = 0;
                }
                for (y = y_lo; y < y_hi; ++y) {
                    for (x = x_lo; x < x_hi; ++x) {
                        const int8_t *px =
                            in + (((size_t)b * (size_t)in_h + (size_t)y) * (size_t)in_w + (size_t)x) * (size_t)depth;
                        for (c = 0; c < depth; ++c) {
                            sum[c] += (uint32_t)(int32_t)px[c];
                        }
                    }
                }
                for (c = 0; c < depth; ++c) {
                    /* Round half away from zero, then truncating division: the reference's expression. */
                    int32_t acc = pq_wrap_i32(sum[c]);
                    if (acc > 0) {
                        acc = pq_wrap_i32((uint32_t)acc + (uint32_t)(count / 2)) / count;
                    } else {
                        acc = pq_wrap_i32((uint32_t)acc - (uint32_t)(count / 2)) / count;
                    }
                    o[c] = (int8_t)pq_clamp(acc, act_min, act_max);
                }
            }
        }
    }
    return PQ_OK;
}
