/*
 * The reference pooling loops, shared by the int8 kernels and their 16x8 variants: TFLite
 * Micro's reference_integer_ops::AveragePool and MaxPool (integer_ops/pooling.h) are one
 * template for int8 and int16 (an int32 sum, TFLM's rounding division, the clamp; a max
 * starting from the type's lowest value), so picoq runs one body with the element width
 * (pq_elem.h) a constant of each kernel.
 */
#ifndef PQ_POOL_REF_H
#define PQ_POOL_REF_H

#include <stdint.h>

#include "pq_elem.h"
#include "pq_fixedpoint.h"
#include "pq_kernels.h"
#include "pq_pool_window.h"

static inline pq_status pq_avg_pool2d_ref(const pq_pool_params *p, const pq_dims *in_dims, const void *in,
                                          const pq_dims *out_dims, void *out, int wide)
{
    const int32_t batches = in_dims->n, in_h = in_dims->h, in_w = in_dims->w, depth = in_dims->c;
    const int32_t out_h = out_dims->h, out_w = out_dims->w;
    int32_t b, oy, ox, c, fy, fx;

    for (b = 0; b < batches; ++b) {
        for (oy = 0; oy < out_h; ++oy) {
            for (ox = 0; ox < out_w; ++ox) {
                const pq_pool_window win = pq_pool_window_at(p, in_h, in_w, oy, ox);
                for (c = 0; c < depth; ++c) {
                    uint32_t sum = 0; /* TFLM's int32 sum, wrapping instead of overflowing */
                    int32_t count = 0;
                    int32_t acc;
                    for (fy = win.fy_start; fy < win.fy_end; ++fy) {
                        const int32_t in_y = win.y0 + fy;
                        for (fx = win.fx_start; fx < win.fx_end; ++fx) {
                            const int32_t in_x = win.x0 + fx;
                            sum += (uint32_t)pq_elem_load(in, ((b * in_h + in_y) * in_w + in_x) * depth + c, wide);
                            ++count;
                        }
                    }
                    /* TFLM returns false (kTfLiteError) on an empty window;
                     * outputs already written stay written, as there. */
                    if (count == 0) {
                        return PQ_ERR_PARAM;
                    }
                    acc = pq_wrap_i32(sum);
                    /* Round half away from zero; C99 '/' truncates toward
                     * zero exactly like C++, so this is TFLM's expression. */
                    if (acc > 0) {
                        acc = pq_wrap_i32((uint32_t)acc + (uint32_t)(count / 2)) / count;
                    } else {
                        acc = pq_wrap_i32((uint32_t)acc - (uint32_t)(count / 2)) / count;
                    }
                    pq_elem_store(out, ((b * out_h + oy) * out_w + ox) * depth + c,
                                  pq_clamp(acc, p->act_min, p->act_max), wide);
                }
            }
        }
    }
    return PQ_OK;
}

/* Taps outside the image are skipped. */
static inline pq_status pq_max_pool2d_ref(const pq_pool_params *p, const pq_dims *in_dims, const void *in,
                                          const pq_dims *out_dims, void *out, int wide)
{
    const int32_t batches = in_dims->n, in_h = in_dims->h, in_w = in_dims->w, depth = in_dims->c;
    const int32_t out_h = out_dims->h, out_w = out_dims->w;
    int32_t b, oy, ox, c, fy, fx;

    for (b = 0; b < batches; ++b) {
        for (oy = 0; oy < out_h; ++oy) {
            for (ox = 0; ox < out_w; ++ox) {
                const pq_pool_window win = pq_pool_window_at(p, in_h, in_w, oy, ox);
                for (c = 0; c < depth; ++c) {
                    /* TFLM starts from numeric_limits<T>::lowest(): an empty
                     * window (refused at load) would give it before the clamp. */
                    int32_t max = pq_elem_min(wide);
                    for (fy = win.fy_start; fy < win.fy_end; ++fy) {
                        const int32_t in_y = win.y0 + fy;
                        for (fx = win.fx_start; fx < win.fx_end; ++fx) {
                            const int32_t in_x = win.x0 + fx;
                            const int32_t v = pq_elem_load(in, ((b * in_h + in_y) * in_w + in_x) * depth + c, wide);
                            if (v > max) {
                                max = v;
                            }
                        }
                    }
                    pq_elem_store(out, ((b * out_h + oy) * out_w + ox) * depth + c,
                                  pq_clamp(max, p->act_min, p->act_max), wide);
                }
            }
        }
    }
    return PQ_OK;
}

#endif /* PQ_POOL_REF_H */
