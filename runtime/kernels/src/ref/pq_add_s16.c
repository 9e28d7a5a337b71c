/*
 * ADD, 16x8 (int16 activations, zero point 0), with numpy-style broadcasting.
 *
 * Matches TFLite Micro tensorflow/lite/micro/kernels/add.cc for kTfLiteInt16: reference_ops::
 * Add(..., pot_scale = false), i.e. AddGeneralParamScale -> AddElementwise (equal shapes), or
 * BroadcastAdd6DSlow's small-integer overload (broadcast). Both run the int8 expression
 * (pq_arith.h) with left_shift 15 instead of 20 (add_common.cc CalculateOpDataAdd), so a
 * full-range int16 value shifted left stays inside int32. TFLM never takes reference add.h's
 * power-of-two int16 path (pot_scale = true) from this kernel.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_arith.h"
#include "pq_broadcast.h"
#include "pq_kernels.h"
#include "pq_op.h"

static int16_t pq_add_one16(const pq_add_params *p, int32_t a, int32_t b) { return (int16_t)pq_add_elem(p, a, b); }

pq_status pq_add_s16(const pq_add_params *p, int32_t rank, const int32_t *in1_shape, const int16_t *in1,
                     const int32_t *in2_shape, const int16_t *in2, const int32_t *out_shape, int16_t *out)
{
    PQ_BROADCAST_BINARY(pq_add_one16, p, rank, in1_shape, in1, in2_shape, in2, out_shape, out);
}

pq_status pq_add_s16_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *a = pq_node_input(node, t, 0), *b = pq_node_input(node, t, 1), *y = pq_node_output(node, t);
    int32_t sa[PQ_MAX_DIMS], sb[PQ_MAX_DIMS];
    pq_broadcast_shapes(a, b, y->rank, sa, sb);
    return pq_add_s16((const pq_add_params *)node->params, y->rank, sa, (const int16_t *)a->data, sb,
                      (const int16_t *)b->data, y->dims, (int16_t *)y->data);
}
