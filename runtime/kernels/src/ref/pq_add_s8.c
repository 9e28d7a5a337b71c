/*
 * ADD, int8, with numpy-style broadcasting.
 *
 * Matches TFLite Micro tensorflow/lite/kernels/internal/reference/integer_ops/add.h:
 * AddFunc per element, reached through reference_integer_ops::Add (equal shapes)
 * or BroadcastAdd6DSlow (broadcast), as called by tensorflow/lite/micro/kernels/add.cc,
 * default double-rounding build. The element arithmetic does not depend on the
 * path taken, only which input elements pair up.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_kernels.h"

/* tflite::reference_integer_ops::AddFunc. MultiplyByQuantizedMultiplier-
 * SmallerThanOneExp(x, M, s) = RDPOT(SRDHM(x, M), -s) equals pq_mbqm(x, M, s)
 * for s <= 0, which QuantizeMultiplierSmallerThanOneExp guarantees (it
 * TFLITE_CHECKs left_shift <= 0). */
static int8_t pq_add_one(const pq_add_params *p, int32_t a, int32_t b)
{
    const uint32_t scale = (uint32_t)1 << p->left_shift; /* 1 << 20 for int8 */
    const int32_t in1 = pq_wrap_i32((uint32_t)p->input1_offset + (uint32_t)a);
    const int32_t in2 = pq_wrap_i32((uint32_t)p->input2_offset + (uint32_t)b);
    /* TFLM: input_val * (1 << left_shift) */
    const int32_t shifted1 = pq_wrap_i32((uint32_t)in1 * scale);
    const int32_t shifted2 = pq_wrap_i32((uint32_t)in2 * scale);
    const int32_t scaled1 = pq_mbqm(shifted1, p->input1_multiplier, p->input1_shift);
    const int32_t scaled2 = pq_mbqm(shifted2, p->input2_multiplier, p->input2_shift);
    const int32_t raw_sum = pq_wrap_i32((uint32_t)scaled1 + (uint32_t)scaled2);
    const int32_t raw_out = pq_wrap_i32(
        (uint32_t)pq_mbqm(raw_sum, p->output_multiplier, p->output_shift) +
        (uint32_t)p->output_offset);
    return (int8_t)pq_clamp(raw_out, p->act_min, p->act_max);
}

pq_status pq_add_s8(const pq_add_params *p, int32_t rank,
                    const int32_t *in1_shape, const int8_t *in1,
                    const int32_t *in2_shape, const int8_t *in2,
                    const int32_t *out_shape, int8_t *out)
{
    /* Per-dimension element strides of each input, 0 where that input has
     * extent 1 (it is broadcast along that dimension). Fixed-size arrays: no
     * malloc, no VLA. */
    int32_t stride1[PQ_MAX_DIMS];
    int32_t stride2[PQ_MAX_DIMS];
    int32_t idx[PQ_MAX_DIMS];
    int32_t total = 1;
    int32_t s1 = 1, s2 = 1;
    int32_t off1 = 0, off2 = 0;
    int same = 1;
    int32_t d, i;

    /* Guards that keep the indexing below inside the buffers; shapes were
     * validated at load time, so these never fire on a valid model. */
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
            return PQ_OK; /* empty output: nothing to do */
        }
        total *= out_shape[d];
    }

    if (same) {
        /* Fast path (TFLM reference_integer_ops::Add): no broadcast, flat loop. */
        for (i = 0; i < total; ++i) {
            out[i] = pq_add_one(p, in1[i], in2[i]);
        }
        return PQ_OK;
    }

    /* Row-major strides, innermost dimension last. Each stride is at most the
     * input's element count, so nothing here overflows. */
    for (d = rank - 1; d >= 0; --d) {
        stride1[d] = in1_shape[d] == 1 ? 0 : s1;
        stride2[d] = in2_shape[d] == 1 ? 0 : s2;
        s1 *= in1_shape[d];
        s2 *= in2_shape[d];
        idx[d] = 0;
    }

    /* Walk the output in row-major order with an odometer over idx[],
     * updating the two input offsets incrementally. off1 stays equal to
     * sum_d idx[d] * stride1[d] (and likewise off2), which is always a valid
     * element index of the input, so it cannot overflow. */
    for (i = 0; i < total; ++i) {
        out[i] = pq_add_one(p, in1[off1], in2[off2]);
        for (d = rank - 1; d >= 0; --d) {
            if (idx[d] + 1 < out_shape[d]) {
                ++idx[d];
                off1 += stride1[d];
                off2 += stride2[d];
                break;
            }
            /* This dimension wraps to 0: undo its contribution, carry on to
             * the next outer one. */
            off1 -= stride1[d] * idx[d];
            off2 -= stride2[d] * idx[d];
            idx[d] = 0;
        }
    }
    return PQ_OK;
}
