/*
 * FULLY_CONNECTED, 16x8: int16 activations (zero point 0), int8 weights, int64 bias.
 *
 * Matches TFLite Micro's reference_integer_ops::FullyConnected<int64_t> (per tensor, with
 * weights_offset) and FullyConnectedPerChannel<int64_t> (p->per_channel): an int64
 * accumulator of (w + filter_offset) * x, the bias, pq_mbqm64 (TFLM's int64
 * MultiplyByQuantizedMultiplier), the clamp. No input or output offset: TFLM's 16x8 kernels
 * have none, and the validator holds both at 0.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_fully_connected_s16(const pq_fc_params *p, const int32_t *mult, const int32_t *shift,
                                 int32_t batches, int32_t accum_depth, int32_t out_depth, const int16_t *in,
                                 const int8_t *filter, const int64_t *bias, int16_t *out)
{
    int32_t b, o, d;
    for (b = 0; b < batches; ++b) {
        const int16_t *x_row = in + b * accum_depth;
        for (o = 0; o < out_depth; ++o) {
            const int8_t *w_row = filter + o * accum_depth;
            const int32_t c = p->per_channel ? o : 0;
            /* |(w + offset) * x| < 2^8 * 2^15 and depth < 2^24: a real sum stays far inside int64;
             * uint64 keeps a hostile bias from overflowing C. */
            uint64_t acc = 0;
            for (d = 0; d < accum_depth; ++d) {
                acc += (uint64_t)(int64_t)(((int32_t)w_row[d] + p->filter_offset) * (int32_t)x_row[d]);
            }
            if (bias != NULL) acc += (uint64_t)bias[o];
            out[b * out_depth + o] =
                (int16_t)pq_clamp(pq_mbqm64(pq_wrap_i64(acc), mult[c], shift[c]), p->act_min, p->act_max);
        }
    }
    return PQ_OK;
}

pq_status pq_fully_connected_s16_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *w = pq_node_input(node, t, 1);
    const pq_tensor *b = pq_node_input(node, t, 2), *y = pq_node_output(node, t);
    const int32_t out_depth = w->dims[0], accum = w->dims[1];
    return pq_fully_connected_s16((const pq_fc_params *)node->params, (const int32_t *)t[node->io[3]].data,
                                  (const int32_t *)t[node->io[4]].data, x->count / accum, accum, out_depth,
                                  (const int16_t *)x->data, (const int8_t *)w->data,
                                  b ? (const int64_t *)b->data : NULL, (int16_t *)y->data);
}
