/*
 * TRANSPOSE, int8, any permutation of rank 1..6.
 *
 * Matches TFLite Micro tensorflow/lite/kernels/internal/reference/transpose.h,
 * reference_ops::Transpose (TransposeImpl), as called by
 * tensorflow/lite/micro/kernels/transpose.cc: output dim i is input dim perm[i].
 * A pure data move (output quantization = input's). TFLM stops at rank 5;
 * picoq goes to 6.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_transpose_s8(int32_t rank, const int32_t *in_shape, const int32_t *perm,
                          const int8_t *in, int8_t *out)
{
    int32_t in_stride[PQ_MAX_DIMS];
    int32_t out_shape[PQ_MAX_DIMS];
    int32_t step[PQ_MAX_DIMS]; /* input stride of output dim d */
    int32_t idx[PQ_MAX_DIMS];
    int32_t seen = 0;
    int32_t stride = 1, total = 1;
    int32_t off = 0;
    int32_t d, i;

    if (rank < 1 || rank > PQ_MAX_DIMS) {
        return PQ_ERR_PARAM;
    }
    for (d = rank - 1; d >= 0; --d) {
        if (in_shape[d] < 1) {
            return PQ_ERR_PARAM;
        }
        in_stride[d] = stride;
        stride *= in_shape[d];
    }
    for (d = 0; d < rank; ++d) {
        if (perm[d] < 0 || perm[d] >= rank || (seen & (1 << perm[d]))) {
            return PQ_ERR_PARAM; /* not a permutation */
        }
        seen |= 1 << perm[d];
        out_shape[d] = in_shape[perm[d]];
        step[d] = in_stride[perm[d]];
        idx[d] = 0;
        total *= out_shape[d];
    }
    /* Output in row-major order; off = sum idx[d] * step[d], kept by an odometer. */
    for (i = 0; i < total; ++i) {
        out[i] = in[off];
        for (d = rank - 1; d >= 0; --d) {
            if (idx[d] + 1 < out_shape[d]) {
                ++idx[d];
                off += step[d];
                break;
            }
            off -= step[d] * idx[d];
            idx[d] = 0;
        }
    }
    return PQ_OK;
}

pq_status pq_transpose_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *y = pq_node_output(node, t);
    return pq_transpose_s8(x->rank, x->dims, ((const pq_transpose_params *)node->params)->perm,
                           (const int8_t *)x->data, (int8_t *)y->data);
}
