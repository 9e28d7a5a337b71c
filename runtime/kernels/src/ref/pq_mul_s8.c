/*
 * MUL, int8, with numpy-style broadcasting.
 *
 * Matches TFLite Micro tensorflow/lite/kernels/internal/reference/integer_ops/mul.h:
 * MulElementwise (equal shapes) or BroadcastMul6DSlow / BroadcastMul4DSlow
 * (broadcast), as called by tensorflow/lite/micro/kernels/mul_common.cc
 * (EvalMulQuantizedReference), default double-rounding build. The multiplier is
 * QuantizeMultiplier((double)s1 * (double)s2 / (double)s_out) (CalculateOpDataMul).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_kernels.h"
#include "pq_op.h"

static int8_t pq_mul_one(const pq_mul_params *p, int32_t a, int32_t b)
{
    /* Offsets are in [-255, 255] (load-time check): |product| <= 2^17. */
    const int32_t in1 = a + p->input1_offset;
    const int32_t in2 = b + p->input2_offset;
    const int32_t raw = pq_wrap_i32(
        (uint32_t)pq_mbqm(in1 * in2, p->output_multiplier, p->output_shift) +
        (uint32_t)p->output_offset);
    return (int8_t)pq_clamp(raw, p->act_min, p->act_max);
}

pq_status pq_mul_s8(const pq_mul_params *p, int32_t rank,
                    const int32_t *in1_shape, const int8_t *in1,
                    const int32_t *in2_shape, const int8_t *in2,
                    const int32_t *out_shape, int8_t *out)
{
    int32_t stride1[PQ_MAX_DIMS];
    int32_t stride2[PQ_MAX_DIMS];
    int32_t idx[PQ_MAX_DIMS];
    int32_t total = 1;
    int32_t s1 = 1, s2 = 1;
    int32_t off1 = 0, off2 = 0;
    int same = 1;
    int32_t d, i;

    if (rank < 1 || rank > PQ_MAX_DIMS) {
        return PQ_ERR_PARAM;
    }
    for (d = 0; d < rank; ++d) {
        if (out_shape[d] < 0 ||
            (in1_shape[d] != out_shape[d] && in1_shape[d] != 1) ||
            (in2_shape[d] != out_shape[d] && in2_shape[d] != 1)) {
            return PQ_ERR_PARAM;
        }
        if (in1_shape[d] != out_shape[d] || in2_shape[d] != out_shape[d]) {
            same = 0;
        }
    }
    for (d = 0; d < rank; ++d) {
        if (out_shape[d] == 0) {
            return PQ_OK;
        }
        total *= out_shape[d];
    }

    if (same) {
        /* TFLM reference_integer_ops::Mul: a flat loop. */
        for (i = 0; i < total; ++i) {
            out[i] = pq_mul_one(p, in1[i], in2[i]);
        }
        return PQ_OK;
    }

    /* Element strides, 0 along a broadcast dimension; an odometer over the
     * output keeps off1/off2 = sum idx[d] * stride[d] (see pq_add_s8.c). */
    for (d = rank - 1; d >= 0; --d) {
        stride1[d] = in1_shape[d] == 1 ? 0 : s1;
        stride2[d] = in2_shape[d] == 1 ? 0 : s2;
        s1 *= in1_shape[d];
        s2 *= in2_shape[d];
        idx[d] = 0;
    }
    for (i = 0; i < total; ++i) {
        out[i] = pq_mul_one(p, in1[off1], in2[off2]);
        for (d = rank - 1; d >= 0; --d) {
            if (idx[d] + 1 < out_shape[d]) {
                ++idx[d];
                off1 += stride1[d];
                off2 += stride2[d];
                break;
            }
            off1 -= stride1[d] * idx[d];
            off2 -= stride2[d] * idx[d];
            idx[d] = 0;
        }
    }
    return PQ_OK;
}

/* Both inputs' shapes aligned right to the output's rank, 1 where an input has no dim. */
static void mul_shapes(const pq_tensor *a, const pq_tensor *b, int32_t rank, int32_t *sa, int32_t *sb)
{
    int32_t d;
    for (d = 0; d < rank; ++d) {
        const int32_t da = d - (rank - (int32_t)a->rank), db = d - (rank - (int32_t)b->rank);
        sa[d] = da < 0 ? 1 : a->dims[da];
        sb[d] = db < 0 ? 1 : b->dims[db];
    }
}

pq_status pq_mul_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *a = pq_node_input(node, t, 0), *b = pq_node_input(node, t, 1), *y = pq_node_output(node, t);
    int32_t sa[PQ_MAX_DIMS], sb[PQ_MAX_DIMS];
    mul_shapes(a, b, y->rank, sa, sb);
    return pq_mul_s8((const pq_mul_params *)node->params, y->rank, sa, (const int8_t *)a->data, sb,
                     (const int8_t *)b->data, y->dims, (int8_t *)y->data);
}
