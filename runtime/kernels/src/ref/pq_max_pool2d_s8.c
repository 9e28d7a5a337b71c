/*
 * MAX_POOL_2D, int8.
 *
 * Matches TFLite Micro tensorflow/lite/kernels/internal/reference/integer_ops/pooling.h,
 * reference_integer_ops::MaxPool (int8 overload), as called by
 * tensorflow/lite/micro/kernels/pooling.cc. Input and output share scale and zero
 * point, so raw int8 values are compared; taps outside the image are skipped.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_kernels.h"
#include "pq_op.h"
#include "pq_pool_window.h"

pq_status pq_max_pool2d_s8(const pq_pool_params *p, const pq_dims *in_dims, const int8_t *in,
                           const pq_dims *out_dims, int8_t *out)
{
    const int32_t batches = in_dims->n;
    const int32_t in_h = in_dims->h;
    const int32_t in_w = in_dims->w;
    const int32_t depth = in_dims->c;
    const int32_t out_h = out_dims->h;
    const int32_t out_w = out_dims->w;
    int32_t b, oy, ox, c, fy, fx;

    for (b = 0; b < batches; ++b) {
        for (oy = 0; oy < out_h; ++oy) {
            for (ox = 0; ox < out_w; ++ox) {
                const pq_pool_window win = pq_pool_window_at(p, in_h, in_w, oy, ox);
                for (c = 0; c < depth; ++c) {
                    /* TFLM starts from numeric_limits<int8_t>::lowest(): an empty
                     * window (refused at load) would give -128 before the clamp. */
                    int32_t max = -128;
                    for (fy = win.fy_start; fy < win.fy_end; ++fy) {
                        const int32_t in_y = win.y0 + fy;
                        for (fx = win.fx_start; fx < win.fx_end; ++fx) {
                            const int32_t in_x = win.x0 + fx;
                            const int32_t v = in[((b * in_h + in_y) * in_w + in_x) * depth + c];
                            if (v > max) {
                                max = v;
                            }
                        }
                    }
                    out[((b * out_h + oy) * out_w + ox) * depth + c] =
                        (int8_t)pq_clamp(max, p->act_min, p->act_max);
                }
            }
        }
    }
    return PQ_OK;
}

pq_status pq_max_pool2d_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *y = pq_node_output(node, t);
    const pq_dims in_dims = pq_tensor_dims4(x), out_dims = pq_tensor_dims4(y);
    return pq_max_pool2d_s8((const pq_pool_params *)node->params, &in_dims, (const int8_t *)x->data, &out_dims,
                            (int8_t *)y->data);
}
