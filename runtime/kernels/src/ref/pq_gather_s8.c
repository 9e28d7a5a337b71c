/*
 * GATHER, int8 values, int32 indices: copies of whole slices of x along `axis`.
 *
 * Matches TFLite Micro tensorflow/lite/micro/kernels/gather.cc (Gather<int8_t, int32_t>): x as
 * [batch, outer, axis_size, inner], the output as [batch, outer, n_index, inner], output row
 * (b, o, c) the input row (b, o, idx[b * n_index + c]). A copy, so any copy is exact. Every
 * index is checked before it is used, as TFLM does at Eval: the validator proves constant
 * indices in range, and this check keeps the kernel safe whatever it is handed.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_gather_s8(int32_t batch, int32_t outer, int32_t axis_size, int32_t inner, int32_t n_index,
                       const int32_t *idx, const int8_t *in, int8_t *out)
{
    int32_t b, o, c;
    const size_t row = (size_t)inner;
    for (b = 0; b < batch; ++b) {
        const int32_t *ib = idx + (size_t)b * (size_t)n_index;
        for (c = 0; c < n_index; ++c) {
            if (ib[c] < 0 || ib[c] >= axis_size) return PQ_ERR_PARAM;
        }
        for (o = 0; o < outer; ++o) {
            const int8_t *src = in + ((size_t)b * (size_t)outer + (size_t)o) * (size_t)axis_size * row;
            for (c = 0; c < n_index; ++c) {
                memcpy(out, src + (size_t)ib[c] * row, row);
                out += row;
            }
        }
    }
    return PQ_OK;
}

pq_status pq_gather_geometry(const pq_gather_params *p, int32_t x_rank, const int32_t *x_dims, int32_t idx_rank,
                             const int32_t *idx_dims, int32_t *sizes)
{
    int32_t d, k;
    if (p->batch_dims < 0 || p->axis < p->batch_dims || p->axis >= x_rank || p->batch_dims > idx_rank) {
        return PQ_ERR_PARAM;
    }
    for (d = 0; d < p->batch_dims; ++d) {
        if (x_dims[d] != idx_dims[d]) return PQ_ERR_PARAM; /* the indices' batches are x's */
    }
    for (k = 0; k < 5; ++k) sizes[k] = 1;
    for (d = 0; d < x_rank; ++d) {
        k = d < p->batch_dims ? 0 : (d < p->axis ? 1 : (d == p->axis ? 2 : 3));
        sizes[k] *= x_dims[d];
    }
    for (d = p->batch_dims; d < idx_rank; ++d) sizes[4] *= idx_dims[d];
    return PQ_OK;
}

pq_status pq_gather_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *i = pq_node_input(node, t, 1), *y = pq_node_output(node, t);
    int32_t s[5];
    if (pq_gather_geometry((const pq_gather_params *)node->params, x->rank, x->dims, i->rank, i->dims, s) != PQ_OK) {
        return PQ_ERR_PARAM;
    }
    return pq_gather_s8(s[0], s[1], s[2], s[3], s[4], (const int32_t *)i->data, (const int8_t *)x->data,
                        (int8_t *)y->data);
}
