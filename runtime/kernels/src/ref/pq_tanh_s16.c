/*
 * TANH, int16 in (zero point 0), int16 out (scale 2^-15, zero point 0).
 *
 * Matches TFLite Micro's reference_integer_ops::Tanh for int16: tanh(x) = 2 sigmoid(2x) - 1 on
 * the same sigmoid table as LOGISTIC (pq_sigmoid16.h), so the index is |x| >> 8 and the
 * fraction 8 bits; the result, recentred by -2^23 and rounded, is shifted back by 8
 * (arithmetically: TFLM's result is an int32). uint32 arithmetic, then the int32 it denotes.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_kernels.h"
#include "pq_op.h"
#include "pq_sigmoid16.h"

pq_status pq_tanh_s16(const pq_logistic_params *p, int32_t size, const int16_t *table, const int16_t *in,
                      int16_t *out)
{
    return pq_sigmoid16_run(p, size, table, in, out, 1);
}

pq_status pq_tanh_s16_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *tab = pq_node_input(node, t, 1), *y = pq_node_output(node, t);
    return pq_tanh_s16((const pq_logistic_params *)node->params, x->count, (const int16_t *)tab->data,
                       (const int16_t *)x->data, (int16_t *)y->data);
}
