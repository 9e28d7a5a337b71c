/*
 * AVERAGE_POOL_2D, 16x8 (int16 activations, zero point 0).
 *
 * Matches TFLite Micro tensorflow/lite/kernels/internal/reference/integer_ops/pooling.h,
 * reference_integer_ops::AveragePool (int16 overload), as called by tensorflow/lite/micro/kernels/
 * pooling.cc for kTfLiteInt16: the int8 kernel's body (pq_pool_ref.h) on int16 values.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_kernels.h"
#include "pq_op.h"
#include "pq_pool_ref.h"

pq_status pq_avg_pool2d_s16(const pq_pool_params *p, const pq_dims *in_dims, const int16_t *in,
                            const pq_dims *out_dims, int16_t *out)
{
    return pq_pool2d_ref(p, in_dims, in, out_dims, out, 1, 0);
}

pq_status pq_avg_pool2d_s16_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *y = pq_node_output(node, t);
    const pq_dims in_dims = pq_tensor_dims4(x), out_dims = pq_tensor_dims4(y);
    return pq_avg_pool2d_s16((const pq_pool_params *)node->params, &in_dims, (const int16_t *)x->data, &out_dims,
                             (int16_t *)y->data);
}
