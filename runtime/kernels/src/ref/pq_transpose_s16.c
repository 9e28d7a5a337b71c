/*
 * TRANSPOSE, 16x8 (int16 activations): the int8 kernel on the bytes, each int16 value an
 * axis of 2 bytes that stays last. When the permutation keeps the last axis in place that
 * axis simply holds twice the bytes; otherwise the 2 bytes become one more axis, so int16
 * transposes go to rank 5 (TFLM's limit too; the contract holds it). A pure move, as TFLM's
 * reference_ops::Transpose<int16_t> is.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_transpose_s16_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *y = pq_node_output(node, t);
    const int32_t *perm = ((const pq_transpose_params *)node->params)->perm;
    const int32_t rank = x->rank;
    int32_t shape[PQ_MAX_DIMS], bperm[PQ_MAX_DIMS];
    int32_t d;
    if (rank < 1 || rank > PQ_MAX_DIMS) return PQ_ERR_PARAM;
    for (d = 0; d < rank; ++d) {
        shape[d] = x->dims[d];
        bperm[d] = perm[d];
    }
    if (perm[rank - 1] == rank - 1) {
        shape[rank - 1] *= 2;
        return pq_transpose_s8(rank, shape, bperm, (const int8_t *)x->data, (int8_t *)y->data);
    }
    if (rank == PQ_MAX_DIMS) return PQ_ERR_PARAM;
    shape[rank] = 2;
    bperm[rank] = rank;
    return pq_transpose_s8(rank + 1, shape, bperm, (const int8_t *)x->data, (int8_t *)y->data);
}
