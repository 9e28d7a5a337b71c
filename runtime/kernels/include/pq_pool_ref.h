/*
 * The reference pooling loops, shared by the int8 kernels and their 16x8 variants: TFLite
 * Micro's reference_integer_ops::AveragePool and MaxPool (integer_ops/pooling.h) are one
 * template for int8 and int16 (an int32 sum, TFLM's rounding division, the clamp; a max
 * starting from the type's lowest value), so picoq runs one body with the element width
 * (pq_elem.h) and the op constants of each kernel.
 */
#ifndef PQ_POOL_REF_H
#define PQ_POOL_REF_H

#include <stdint.h>

#include "pq_elem.h"
#include "pq_fixedpoint.h"
#include "pq_kernels.h"
#include "pq_pool_window.h"

/* `max` (a constant at each call site): MaxPool, else AveragePool. Taps outside the image are
 * skipped (padding never counts). */
static inline pq_status pq_pool2d_ref(const pq_pool_params *p, const pq_dims *in_dims, const void *in,
                                      const pq_dims *out_dims, void *out, int wide, int max)
{
    const int32_t batches = in_dims->n, in_h = in_dims->h, in_w = in_dims->w, depth = in_dims->c;
    const int32_t out_h = out_dims->h, out_w = out_dims->w;
    int32_t b, oy, ox, c, fy, fx;

    for (b = 0; b < batches; ++b) {
        for (oy = 0; oy < out_h; ++oy) {
            for (ox = 0; ox < out_w; ++ox) {
                const pq_pool_window win = pq_pool_window_at(p, in_h, in_w, oy, ox);
                for (c = 0; c < depth; ++c) {
                    /* MaxPool starts from numeric_limits<T>::lowest(): an empty window (refused at
                     * load) would give it before the clamp. AveragePool sums in int32 (wrapping
                     * here instead of overflowing). */
                    int32_t top = pq_elem_min(wide), count = 0, v;
                    uint32_t sum = 0;
                    for (fy = win.fy_start; fy < win.fy_end; ++fy) {
                        const int32_t in_y = win.y0 + fy;
                        for (fx = win.fx_start; fx < win.fx_end; ++fx) {
                            const int32_t in_x = win.x0 + fx;
                            v = pq_elem_load(in, ((b * in_h + in_y) * in_w + in_x) * depth + c, wide);
                            if (max) {
                                top = v > top ? v : top;
                            } else {
                                sum += (uint32_t)v;
                                ++count;
                            }
                        }
                    }
                    if (max) {
                        v = top;
                    } else {
                        /* TFLM returns false (kTfLiteError) on an empty window;
                         * outputs already written stay written, as there. */
                        if (count == 0) {
                            return PQ_ERR_PARAM;
                        }
                        v = pq_pool_average(sum, count);
                    }
                    pq_elem_store(out, ((b * out_h + oy) * out_w + ox) * depth + c, pq_clamp(v, p->act_min, p->act_max),
                                  wide);
                }
            }
        }
    }
    return PQ_OK;
}

#endif /* PQ_POOL_REF_H */
