/*
 * LOOKUP_TABLE, int8: y = table[x + 128] for a constant table of 256 int8 values.
 *
 * Any element-wise function of one int8 tensor (GELU, SiLU, Mish, ELU, erf, exp, softplus, a
 * chain of them, ...) is a table once the input and output quantizations are fixed: the
 * converter evaluates the float function on the 256 input values and quantizes the results,
 * so the kernel does no arithmetic. Indexed from the input -128 as TFLite's LUTLookup
 * (tensorflow/lite/kernels/internal/common.h) indexes its int8 tables.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_lookup_table_s8(const int8_t *table, int32_t size, const int8_t *in, int8_t *out)
{
    int32_t i;
    for (i = 0; i < size; ++i) out[i] = table[128 + (int32_t)in[i]];
    return PQ_OK;
}

pq_status pq_lookup_table_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *table = pq_node_input(node, t, 1);
    const pq_tensor *y = pq_node_output(node, t);
    return pq_lookup_table_s8((const int8_t *)table->data, x->count, (const int8_t *)x->data, (int8_t *)y->data);
}
