/*
 * SLICE, int8, rank 1..6: the output is the box of its own shape that starts at begin[d] in
 * each dim of the input, copied (TFLite's SLICE; its strided form is not needed for the
 * channel splits and crops models do on activations). Matches TFLite Micro
 * tensorflow/lite/micro/kernels/slice.cc, reference_ops::Slice: a copy, so any copy is exact.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_slice_s8(const pq_slice_params *p, int32_t rank, const int32_t *in_shape, const int32_t *out_shape,
                      const int8_t *in, int8_t *out)
{
    int32_t in_stride[PQ_MAX_DIMS], idx[PQ_MAX_DIMS];
    int32_t d, rows = 1, last, stride = 1;
    int32_t r;
    if (rank < 1 || rank > PQ_MAX_DIMS) return PQ_ERR_PARAM;
    for (d = rank - 1; d >= 0; --d) {
        if (out_shape[d] < 1 || p->begin[d] < 0 || p->begin[d] > in_shape[d] - out_shape[d]) return PQ_ERR_PARAM;
        in_stride[d] = stride;
        stride *= in_shape[d];
        idx[d] = 0;
    }
    last = rank - 1;
    for (d = 0; d < last; ++d) rows *= out_shape[d];
    /* One output row (the innermost dim, contiguous in both) at a time; idx[0..last-1] is its
     * position in the output. */
    for (r = 0; r < rows; ++r) {
        size_t src = (size_t)p->begin[last];
        for (d = 0; d < last; ++d) src += (size_t)(idx[d] + p->begin[d]) * (size_t)in_stride[d];
        /* the planner may give a box that is one contiguous run of the input the run's own
         * bytes (converter/plan.py): then there is nothing to move */
        if (out != in + src) memcpy(out, in + src, (size_t)out_shape[last]);
        out += out_shape[last];
        for (d = last - 1; d >= 0; --d) {
            if (++idx[d] < out_shape[d]) break;
            idx[d] = 0;
        }
    }
    return PQ_OK;
}

pq_status pq_slice_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *y = pq_node_output(node, t);
    return pq_slice_s8((const pq_slice_params *)node->params, x->rank, x->dims, y->dims, (const int8_t *)x->data,
                       (int8_t *)y->data);
}
