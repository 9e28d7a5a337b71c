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

#include "pq_broadcast.h"
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
    PQ_BROADCAST_BINARY(pq_add_one, p, rank, in1_shape, in1, in2_shape, in2, out_shape, out);
}

pq_status pq_add_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *a = pq_node_input(node, t, 0), *b = pq_node_input(node, t, 1), *y = pq_node_output(node, t);
    int32_t sa[PQ_MAX_DIMS], sb[PQ_MAX_DIMS];
    pq_broadcast_shapes(a, b, y->rank, sa, sb);
    return pq_add_s8((const pq_add_params *)node->params, y->rank, sa, (const int8_t *)a->data, sb,
                     (const int8_t *)b->data, y->dims, (int8_t *)y->data);
}
