/*
 * SLICE, 16x8 (int16 activations): the int8 kernel on the bytes. An int16 row is twice as
 * many bytes, so the slice of int16 values [begin, begin + size) of the last dim is the
 * slice of bytes [2 begin, 2 (begin + size)) of a last dim twice as long; the other dims
 * are unchanged. A copy, as TFLM's reference_ops::Slice<int16_t> is.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_slice_s16_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *y = pq_node_output(node, t);
    const int32_t last = x->rank - 1;
    int32_t in_bytes[PQ_MAX_DIMS], out_bytes[PQ_MAX_DIMS];
    pq_slice_params p = *(const pq_slice_params *)node->params;
    int32_t d;
    if (x->rank < 1 || x->rank > PQ_MAX_DIMS) return PQ_ERR_PARAM;
    for (d = 0; d <= last; ++d) {
        in_bytes[d] = x->dims[d];
        out_bytes[d] = y->dims[d];
    }
    in_bytes[last] *= 2; /* dims <= 2^24 (the validator): no overflow */
    out_bytes[last] *= 2;
    p.begin[last] *= 2;
    return pq_slice_s8(&p, x->rank, in_bytes, out_bytes, (const int8_t *)x->data, (int8_t *)y->data);
}
