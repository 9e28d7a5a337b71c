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
    pq_sigmoid16_scale s;
    int32_t i;
    if (pq_sigmoid16_scale_of(p, &s) != PQ_OK) return PQ_ERR_PARAM;
    for (i = 0; i < size; ++i) {
        const int32_t v = pq_sigmoid16_input(&s, in[i]);
        const uint32_t a = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
        const uint32_t uh = a >> 8;
        uint32_t r;
        if (uh >= 255) {
            r = 0xFFFFu << 8; /* saturated */
        } else {
            const uint32_t ua = pq_sigmoid16_entry(table, uh), ub = pq_sigmoid16_entry(table, uh + 1);
            r = (ua << 8) + (a & 0xFFu) * (ub - ua);
        }
        r = v >= 0 ? r - (1u << 23) + (1u << 7) : 0u - r + (1u << 23) + (1u << 7) - 1u;
        out[i] = pq_low16((uint32_t)(pq_wrap_i32(r) >> 8));
    }
    return PQ_OK;
}

pq_status pq_tanh_s16_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *tab = pq_node_input(node, t, 1), *y = pq_node_output(node, t);
    return pq_tanh_s16((const pq_logistic_params *)node->params, x->count, (const int16_t *)tab->data,
                       (const int16_t *)x->data, (int16_t *)y->data);
}
