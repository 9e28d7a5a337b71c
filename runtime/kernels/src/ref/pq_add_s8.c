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

#include "pq_arith.h"
#include "pq_broadcast.h"
#include "pq_kernels.h"
#include "pq_op.h"

/* tflite::reference_integer_ops::AddFunc (pq_arith.h), narrowed to int8. */
static int8_t pq_add_one(const pq_add_params *p, int32_t a, int32_t b) { return (int8_t)pq_add_elem(p, a, b); }

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
