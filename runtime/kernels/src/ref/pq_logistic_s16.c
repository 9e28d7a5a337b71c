/*
 * LOGISTIC, int16 in (zero point 0), int16 out (scale 2^-15, zero point 0).
 *
 * Matches TFLite Micro's reference_integer_ops::Logistic for int16 (the parameters of
 * logistic_common.cc): the input rescaled to the sigmoid table's units (pq_sigmoid16.h), its
 * magnitude split into a table index (>> 9) and a 9-bit fraction for linear interpolation, the
 * negative side mirrored as 1 - sigmoid(|x|), and the Q0.25 result rounded back to 16 bits.
 * Everything runs in uint32 as TFLM's does; the table is a constant input (the converter's).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_kernels.h"
#include "pq_op.h"
#include "pq_sigmoid16.h"

pq_status pq_logistic_s16(const pq_logistic_params *p, int32_t size, const int16_t *table, const int16_t *in,
                          int16_t *out)
{
    return pq_sigmoid16_run(p, size, table, in, out, 0);
}

pq_status pq_logistic_s16_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *tab = pq_node_input(node, t, 1), *y = pq_node_output(node, t);
    return pq_logistic_s16((const pq_logistic_params *)node->params, x->count, (const int16_t *)tab->data,
                           (const int16_t *)x->data, (int16_t *)y->data);
}
