/*
 * RESHAPE, int16: the int8 kernel's byte move (pq_reshape_s8.c) over two bytes a value.
 * TFLite Micro's reshape.cc copies the bytes of any type alike.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_reshape_s16_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *y = pq_node_output(node, t);
    if (x->count > INT32_MAX / 2) return PQ_ERR_PARAM;
    return pq_reshape_s8(2 * x->count, (const int8_t *)x->data, (int8_t *)y->data);
}
