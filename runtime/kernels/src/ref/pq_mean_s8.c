/*
 * MEAN, int8, over any set of axes (keep_dims or not: the same bytes).
 *
 * Matches TFLite Micro tensorflow/lite/kernels/internal/reference/reduce.h,
 * reference_ops::QuantizedMeanOrSum with compute_sum = false, reached from
 * tensorflow/lite/micro/kernels/reduce_common.cc (EvalIntegerMean). Prepare
 * computes QuantizeMultiplier((double)in_scale / (double)out_scale); Eval folds
 * 1/count into it:
 *     k = min(floor(log2(count)), 32, 31 + shift)
 *     multiplier = (int64)(multiplier << k) / count,  shift -= k
 * which picoq's converter does offline (the count is static), so the kernel
 * receives the folded pair. Per output:
 *     out = clamp(MBQM(sum + count * input_offset, multiplier, shift) + output_offset)
 * TFLM accumulates into an int32 scratch array in input order; here each output
 * sums its own inputs (integer addition: same result, no scratch).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_kernels.h"
#include "pq_mean_ref.h"
#include "pq_op.h"

pq_status pq_mean_s8(const pq_mean_params *p, int32_t rank, const int32_t *in_shape,
                     int32_t axis_mask, const int8_t *in, int8_t *out)
{
    return pq_mean_ref(p, rank, in_shape, axis_mask, in, out, 0);
}

pq_status pq_mean_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_mean_params *p = (const pq_mean_params *)node->params;
    const pq_tensor *x = pq_node_input(node, t, 0), *y = pq_node_output(node, t);
    return pq_mean_s8(p, x->rank, x->dims, p->axis_mask, (const int8_t *)x->data, (int8_t *)y->data);
}
