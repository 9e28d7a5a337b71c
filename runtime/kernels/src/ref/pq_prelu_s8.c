/*
 * PRELU, int8: x >= 0 ? x : alpha * x, alpha an int8 tensor broadcast against x (one slope
 * per channel, as PyTorch's nn.PReLU and Keras' PReLU make, or any numpy broadcast).
 *
 * Matches TFLite tensorflow/lite/kernels/internal/reference/prelu.h, BroadcastPrelu4DSlow
 * (int8), as called by tensorflow/lite/micro/kernels/prelu.cc with the parameters of
 * prelu_common.cc (CalculatePreluParams): QuantizeMultiplier of input_scale / output_scale
 * (identity) and input_scale * alpha_scale / output_scale (alpha). Per element,
 * v = x + input_offset, a = alpha + alpha_offset:
 *     clamp(output_offset + (v >= 0 ? MBQM(v, identity) : MBQM(v * a, alpha)))
 * |v * a| <= 255 * 255 and alpha_shift <= 14 (load-time check): the product and its left
 * shift fit int32.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_broadcast.h"
#include "pq_fixedpoint.h"
#include "pq_kernels.h"
#include "pq_op.h"

static int8_t pq_prelu_one(const pq_prelu_params *p, int32_t x, int32_t alpha)
{
    const int32_t v = x + p->input_offset;
    const int32_t r = v >= 0 ? pq_mbqm(v, p->identity_multiplier, p->identity_shift)
                             : pq_mbqm(v * (alpha + p->alpha_offset), p->alpha_multiplier, p->alpha_shift);
    return (int8_t)pq_clamp(r + p->output_offset, -128, 127);
}

pq_status pq_prelu_s8(const pq_prelu_params *p, int32_t rank, const int32_t *in_shape, const int8_t *in,
                      const int32_t *alpha_shape, const int8_t *alpha, int8_t *out)
{
    /* The output has the input's shape: alpha broadcasts to it. */
    PQ_BROADCAST_BINARY(pq_prelu_one, p, rank, in_shape, in, alpha_shape, alpha, in_shape, out);
}

pq_status pq_prelu_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *a = pq_node_input(node, t, 1), *y = pq_node_output(node, t);
    int32_t sx[PQ_MAX_DIMS], sa[PQ_MAX_DIMS];
    pq_broadcast_shapes(x, a, y->rank, sx, sa);
    return pq_prelu_s8((const pq_prelu_params *)node->params, y->rank, sx, (const int8_t *)x->data, sa,
                       (const int8_t *)a->data, (int8_t *)y->data);
}
