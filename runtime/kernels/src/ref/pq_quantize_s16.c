/*
 * QUANTIZE with an int16 side: int8 -> int16, int16 -> int8, int16 -> int16 (and int8 -> int8,
 * which the s8 kernel runs). The same Requantize as pq_quantize_s8.c; the dtypes come from the
 * tensors, the clamp from the output's.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_kernels.h"
#include "pq_op.h"
#include "pq_requantize.h"

pq_status pq_quantize_s16(const pq_quantize_params *p, int32_t size, const void *in, int in_is_int16, void *out,
                          int out_is_int16)
{
    const int32_t lo = out_is_int16 ? -32768 : -128, hi = out_is_int16 ? 32767 : 127;
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t x = in_is_int16 ? ((const int16_t *)in)[i] : ((const int8_t *)in)[i];
        const int32_t v = pq_requantize(p, x, lo, hi);
        if (out_is_int16) {
            ((int16_t *)out)[i] = (int16_t)v;
        } else {
            ((int8_t *)out)[i] = (int8_t)v;
        }
    }
    return PQ_OK;
}

pq_status pq_quantize_s16_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *y = pq_node_output(node, t);
    return pq_quantize_s16((const pq_quantize_params *)node->params, x->count, x->data, x->dtype == PQ_DT_INT16,
                           y->data, y->dtype == PQ_DT_INT16);
}
