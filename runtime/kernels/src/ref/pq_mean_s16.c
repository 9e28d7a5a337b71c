/*
 * MEAN, 16x8 (int16 activations, zero point 0), over any set of axes.
 *
 * Matches TFLite Micro tensorflow/lite/micro/kernels/reduce_common.cc for kTfLiteInt16:
 * EvalIntegerMean<int16_t> -> reference_ops::QuantizedMeanOrSum<int16_t, int32_t>, the int8
 * kernel's arithmetic (pq_mean_ref.h) on int16 values, clamped to int16. The converter folds
 * 1/count into the multiplier as for int8.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_kernels.h"
#include "pq_mean_ref.h"
#include "pq_op.h"

pq_status pq_mean_s16(const pq_mean_params *p, int32_t rank, const int32_t *in_shape, int32_t axis_mask,
                      const int16_t *in, int16_t *out)
{
    return pq_mean_ref(p, rank, in_shape, axis_mask, in, out, 1);
}

pq_status pq_mean_s16_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_mean_params *p = (const pq_mean_params *)node->params;
    const pq_tensor *x = pq_node_input(node, t, 0), *y = pq_node_output(node, t);
    return pq_mean_s16(p, x->rank, x->dims, p->axis_mask, (const int16_t *)x->data, (int16_t *)y->data);
}
