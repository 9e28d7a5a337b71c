/*
 * FULLY_CONNECTED, int8 activations, packed int4 weights (pq_variants.def s4).
 *
 * TFLite Micro's fully_connected.cc unpacks an INT4 filter into int8 scratch and runs
 * reference_integer_ops::FullyConnected / FullyConnectedPerChannel; this kernel does that
 * arithmetic (pq_fully_connected_s8's) reading each weight's nibble in place. The filter
 * offset is 0 (the validator holds it there: TFLite's int4 weights are symmetric).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_fully_connected_s4(const pq_fc_params *p, const int32_t *mult, const int8_t *shift,
                                int32_t batches, int32_t accum_depth, int32_t out_depth, const int8_t *in,
                                const uint8_t *filter, const int32_t *bias, int8_t *out)
{
    int32_t b, o, d;
    for (b = 0; b < batches; ++b) {
        const int8_t *x_row = in + b * accum_depth;
        for (o = 0; o < out_depth; ++o) {
            const int32_t w_row = o * accum_depth; /* element index of the row, not byte */
            const int32_t c = p->per_channel ? o : 0;
            uint32_t acc = 0;
            int32_t v;
            for (d = 0; d < accum_depth; ++d) {
                /* wrapping 32-bit sum (pq_wrap_i32), as the int8 kernel */
                acc += (uint32_t)pq_int4_at(filter, w_row + d) * ((uint32_t)x_row[d] + (uint32_t)p->input_offset);
            }
            if (bias != NULL) acc += (uint32_t)bias[o];
            v = pq_mbqm(pq_wrap_i32(acc), mult[c], shift[c]);
            v = pq_wrap_i32((uint32_t)v + (uint32_t)p->output_offset);
            out[b * out_depth + o] = (int8_t)pq_clamp(v, p->act_min, p->act_max);
        }
    }
    return PQ_OK;
}

pq_status pq_fully_connected_s4_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *w = pq_node_input(node, t, 1);
    const pq_tensor *b = pq_node_input(node, t, 2), *y = pq_node_output(node, t);
    const int32_t out_depth = w->dims[0], accum = w->dims[1];
    return pq_fully_connected_s4((const pq_fc_params *)node->params, (const int32_t *)t[node->io[3]].data,
                                 (const int8_t *)t[node->io[4]].data, x->count / accum, accum, out_depth,
                                 (const int8_t *)x->data, (const uint8_t *)w->data,
                                 b ? (const int32_t *)b->data : NULL, (int8_t *)y->data);
}
