/*
 * MUL, 16x8 (int16 activations, zero point 0), with numpy-style broadcasting.
 *
 * Matches TFLite Micro tensorflow/lite/micro/kernels/mul_common.cc (EvalMulQuantizedReference)
 * for kTfLiteInt16: the templated reference_integer_ops::Mul / BroadcastMul4DSlow, the int8
 * expression (pq_arith.h) with every offset 0 (TFLM ensures the zero points are 0) and the
 * multiplier QuantizeMultiplier((double)s1 * (double)s2 / (double)s_out). Not integer_ops/mul.h's
 * int16 -> int8 fixed-point overload, which only LSTM kernels call. |a * b| <= 2^30: the
 * validator holds the shift <= 0 so the product never leaves int32.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_arith.h"
#include "pq_broadcast.h"
#include "pq_kernels.h"
#include "pq_op.h"

static int16_t pq_mul_one16(const pq_mul_params *p, int32_t a, int32_t b) { return (int16_t)pq_mul_elem(p, a, b); }

pq_status pq_mul_s16(const pq_mul_params *p, int32_t rank, const int32_t *in1_shape, const int16_t *in1,
                     const int32_t *in2_shape, const int16_t *in2, const int32_t *out_shape, int16_t *out)
{
    PQ_BROADCAST_BINARY(pq_mul_one16, p, rank, in1_shape, in1, in2_shape, in2, out_shape, out);
}

pq_status pq_mul_s16_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *a = pq_node_input(node, t, 0), *b = pq_node_input(node, t, 1), *y = pq_node_output(node, t);
    int32_t sa[PQ_MAX_DIMS], sb[PQ_MAX_DIMS];
    pq_broadcast_shapes(a, b, y->rank, sa, sb);
    return pq_mul_s16((const pq_mul_params *)node->params, y->rank, sa, (const int16_t *)a->data, sb,
                      (const int16_t *)b->data, y->dims, (int16_t *)y->data);
}
