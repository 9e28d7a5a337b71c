/*
 * RESHAPE: the same bytes under another shape. The converter's memory plan
 * normally gives input and output the same arena bytes, and then there is
 * nothing to do; otherwise the bytes are moved (memmove: the two may overlap).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_reshape_s8(int32_t size, const int8_t *in, int8_t *out)
{
    if (size < 0) return PQ_ERR_PARAM;
    if ((const void *)in != (const void *)out) memmove(out, in, (size_t)size);
    return PQ_OK;
}

pq_status pq_reshape_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *y = pq_node_output(node, t);
    return pq_reshape_s8(x->count, (const int8_t *)x->data, (int8_t *)y->data);
}
