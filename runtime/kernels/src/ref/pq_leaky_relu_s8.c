/*
 * LEAKY_RELU, int8: x > 0 ? x : alpha * x.
 *
 * Matches TFLite tensorflow/lite/kernels/internal/reference/leaky_relu.h,
 * reference_ops::QuantizeLeakyRelu<int8_t>, as called by
 * tensorflow/lite/micro/kernels/leaky_relu.cc with the parameters of
 * leaky_relu_common.cc (CalculateOpDataLeakyRelu): QuantizeMultiplier of
 * input_scale / output_scale (identity) and input_scale * alpha / output_scale
 * (alpha; negative when alpha is). Per element, v = x + input_offset:
 *     clamp(output_offset + MBQM(v, v >= 0 ? identity : alpha))
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_leaky_relu_s8(const pq_leaky_relu_params *p, int32_t size, const int8_t *in, int8_t *out)
{
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t v = (int32_t)in[i] + p->input_offset;
        const int32_t r = v >= 0 ? pq_mbqm(v, p->identity_multiplier, p->identity_shift)
                                 : pq_mbqm(v, p->alpha_multiplier, p->alpha_shift);
        out[i] = (int8_t)pq_clamp(r + p->output_offset, -128, 127);
    }
    return PQ_OK;
}

pq_status pq_leaky_relu_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *y = pq_node_output(node, t);
    return pq_leaky_relu_s8((const pq_leaky_relu_params *)node->params, x->count, (const int8_t *)x->data, (int8_t *)y->data);
}
