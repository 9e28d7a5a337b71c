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
#include "pq_op.h"

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

/* Both inputs' shapes aligned right to the output's rank, 1 where an input has no dim. */
static void add_shapes(const pq_tensor *a, const pq_tensor *b, int32_t rank, int32_t *sa, int32_t *sb)
{
    int32_t d;
    for (d = 0; d < rank; ++d) {
        const int32_t da = d - (rank - (int32_t)a->rank), db = d - (rank - (int32_t)b->rank);
        sa[d] = da < 0 ? 1 : a->dims[da];
        sb[d] = db < 0 ? 1 : b->dims[db];
    }
}

pq_status pq_add_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *a = pq_node_input(node, t, 0), *b = pq_node_input(node, t, 1), *y = pq_node_output(node, t);
    int32_t sa[PQ_MAX_DIMS], sb[PQ_MAX_DIMS];
    add_shapes(a, b, y->rank, sa, sb);
    return pq_add_s8((const pq_add_params *)node->params, y->rank, sa, (const int8_t *)a->data, sb,
                     (const int8_t *)b->data, y->dims, (int8_t *)y->data);
}
