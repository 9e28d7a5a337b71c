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

#include "pq_kernels.h"
#include "pq_op.h"
#include "pq_pool_ref.h"

pq_status pq_max_pool2d_s8(const pq_pool_params *p, const pq_dims *in_dims, const int8_t *in,
                           const pq_dims *out_dims, int8_t *out)
{
    return pq_pool2d_ref(p, in_dims, in, out_dims, out, 0, 1);
}

pq_status pq_max_pool2d_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *y = pq_node_output(node, t);
    const pq_dims in_dims = pq_tensor_dims4(x), out_dims = pq_tensor_dims4(y);
    return pq_max_pool2d_s8((const pq_pool_params *)node->params, &in_dims, (const int8_t *)x->data, &out_dims,
                            (int8_t *)y->data);
}
