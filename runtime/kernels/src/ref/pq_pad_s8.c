/*
 * PAD and PADV2, int8, constant padding, rank 1..6.
 *
 * Matches TFLite Micro tensorflow/lite/kernels/internal/reference/pad.h,
 * reference_ops::Pad (PadImpl), as called by tensorflow/lite/micro/kernels/pad.cc:
 * every output element outside the input's box is pad_value (PAD: the output
 * zero point; PADV2: its int8 constant operand), the rest is the input, moved.
 * TFLM stops at rank 5 (PadKernelMaxDimensionCount); picoq goes to 6.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_pad_s8(const pq_pad_params *p, int32_t rank, const int32_t *in_shape,
                    const int8_t *in, int8_t *out)
{
    int32_t out_shape[PQ_MAX_DIMS];
    int32_t idx[PQ_MAX_DIMS];
    int32_t in_stride[PQ_MAX_DIMS];
    const int8_t pad = (int8_t)p->pad_value;
    int32_t rows = 1;
    int32_t stride = 1;
    int32_t last, row_len, in_len, before, after;
    int32_t d, r, j;
    int8_t *dst = out;

    if (rank < 1 || rank > PQ_MAX_DIMS || p->pad_value < -128 || p->pad_value > 127) {
        return PQ_ERR_PARAM;
    }
    for (d = rank - 1; d >= 0; --d) {
        if (in_shape[d] < 1 || p->pads[d][0] < 0 || p->pads[d][1] < 0) {
            return PQ_ERR_PARAM;
        }
        out_shape[d] = p->pads[d][0] + in_shape[d] + p->pads[d][1];
        in_stride[d] = stride;
        stride *= in_shape[d];
        idx[d] = 0;
    }
    last = rank - 1;
    for (d = 0; d < last; ++d) {
        rows *= out_shape[d];
    }
    before = p->pads[last][0];
    after = p->pads[last][1];
    in_len = in_shape[last];
    row_len = out_shape[last];

    /* One output row (the innermost dim) at a time; idx[0..last-1] is its
     * position in the output. */
    for (r = 0; r < rows; ++r) {
        int inside = 1;
        int32_t src_off = 0;
        for (d = 0; d < last; ++d) {
            const int32_t i = idx[d] - p->pads[d][0];
            if (i < 0 || i >= in_shape[d]) {
                inside = 0;
                break;
            }
            src_off += i * in_stride[d];
        }
        if (inside) {
            const int8_t *src = in + src_off;
            for (j = 0; j < before; ++j) {
                *dst++ = pad;
            }
            for (j = 0; j < in_len; ++j) {
                *dst++ = src[j];
            }
            for (j = 0; j < after; ++j) {
                *dst++ = pad;
            }
        } else {
            for (j = 0; j < row_len; ++j) {
                *dst++ = pad;
            }
        }
        for (d = last - 1; d >= 0; --d) {
            if (idx[d] + 1 < out_shape[d]) {
                ++idx[d];
                break;
            }
            idx[d] = 0;
        }
    }
    return PQ_OK;
}

pq_status pq_pad_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *y = pq_node_output(node, t);
    return pq_pad_s8((const pq_pad_params *)node->params, x->rank, x->dims, (const int8_t *)x->data,
                     (int8_t *)y->data);
}
