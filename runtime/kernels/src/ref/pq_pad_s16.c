/*
 * PAD, 16x8 (int16 activations, zero point 0): the int8 kernel on the bytes. The pad value
 * of an int16 PAD is its output zero point, 0 in TFLite's 16x8 scheme (the contract holds
 * it there), and 0 is 0 in both bytes; so padding int16 values is padding bytes with a last
 * dim twice as long and its padding doubled. TFLM's reference_ops::Pad<int16_t> writes the
 * same values.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_pad_s16_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *y = pq_node_output(node, t);
    const int32_t last = x->rank - 1;
    int32_t in_bytes[PQ_MAX_DIMS];
    pq_pad_params p = *(const pq_pad_params *)node->params;
    int32_t d;
    if (x->rank < 1 || x->rank > PQ_MAX_DIMS || p.pad_value != 0) return PQ_ERR_PARAM;
    for (d = 0; d <= last; ++d) in_bytes[d] = x->dims[d];
    in_bytes[last] *= 2;
    p.pads[last][0] *= 2;
    p.pads[last][1] *= 2;
    return pq_pad_s8(&p, x->rank, in_bytes, (const int8_t *)x->data, (int8_t *)y->data);
}
