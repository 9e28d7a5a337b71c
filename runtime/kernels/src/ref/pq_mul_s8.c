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
