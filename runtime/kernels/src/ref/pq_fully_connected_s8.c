/*
 * FULLY_CONNECTED, int8 activations and weights.
 *
 * Matches TFLite Micro tensorflow/lite/kernels/internal/reference/integer_ops/fully_connected.h:
 * reference_integer_ops::FullyConnected (per-tensor, with weights_offset) and
 * FullyConnectedPerChannel (weights_offset == 0 there), default double-rounding
 * build. A per-tensor layer (p->per_channel == 0) passes one (mult, shift) pair,
 * used for every output channel, so flash holds 8 bytes instead of 8 per channel.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_fully_connected_s8(const pq_fc_params *p, const int32_t *mult, const int32_t *shift,
                                int32_t batches, int32_t accum_depth, int32_t out_depth,
                                const int8_t *in, const int8_t *filter,
                                const int32_t *bias,
                                int8_t *out)
{
    int32_t b, o, d;

    for (b = 0; b < batches; ++b) {
        /* b * accum_depth < batches * accum_depth = input size: no overflow. */
        const int8_t *x_row = in + b * accum_depth;
        for (o = 0; o < out_depth; ++o) {
            const int8_t *w_row = filter + o * accum_depth;
            uint32_t acc = 0;
            int32_t v;
            for (d = 0; d < accum_depth; ++d) {
                const int32_t x = x_row[d];
                const int32_t w = w_row[d];
                /* acc += (w + filter_offset) * (x + input_offset), in wrapping
                 * 32-bit arithmetic (see pq_wrap_i32). */
                acc += ((uint32_t)w + (uint32_t)p->filter_offset) *
                       ((uint32_t)x + (uint32_t)p->input_offset);
            }
            if (bias != NULL) {
                acc += (uint32_t)bias[o];
            }
            const int32_t c = p->per_channel ? o : 0;
            v = pq_mbqm(pq_wrap_i32(acc), mult[c], shift[c]);
            v = pq_wrap_i32((uint32_t)v + (uint32_t)p->output_offset);
            v = pq_clamp(v, p->act_min, p->act_max);
            out[b * out_depth + o] = (int8_t)v;
        }
    }
    return PQ_OK;
}

pq_status pq_fully_connected_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *w = pq_node_input(node, t, 1);
    const pq_tensor *b = pq_node_input(node, t, 2), *y = pq_node_output(node, t);
    const int32_t out_depth = w->dims[0], accum = w->dims[1];
    return pq_fully_connected_s8((const pq_fc_params *)node->params, (const int32_t *)t[node->io[3]].data,
                                 (const int32_t *)t[node->io[4]].data, x->count / accum, accum, out_depth,
                                 (const int8_t *)x->data, (const int8_t *)w->data,
                                 b ? (const int32_t *)b->data : NULL, (int8_t *)y->data);
}
