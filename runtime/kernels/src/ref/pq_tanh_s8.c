/*
 * TANH, int8 in, int8 out (output scale 1/128, zero point 0).
 *
 * Matches TFLite Micro tensorflow/lite/kernels/internal/reference/integer_ops/tanh.h,
 * reference_integer_ops::Tanh (int8), as called by tensorflow/lite/micro/kernels/tanh.cc
 * with its CalculateArithmeticOpData parameters (the same as LOGISTIC's:
 * frexp(input_scale * 2^27), radius floor(15 * 2^27 / 2^shift)). Per element,
 * d = x + input_offset:
 *     d <= -radius -> -128;  d >= radius -> 127;
 *     else clamp(RDPOT(tanh(MBQM(d, multiplier, shift) as Q4.27), 24)).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_gemmlowp.h"
#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_tanh_s8(const pq_logistic_params *p, int32_t size, const int8_t *in, int8_t *out)
{
    int32_t i;
    if (p->input_left_shift < 0 || p->input_left_shift > 30 || p->input_range_radius < 0) {
        return PQ_ERR_PARAM;
    }
    for (i = 0; i < size; ++i) {
        const int32_t d = (int32_t)in[i] + p->input_offset;
        if (d <= -p->input_range_radius) {
            out[i] = -128;
        } else if (d >= p->input_range_radius) {
            out[i] = 127;
        } else {
            const int32_t in_q4 = pq_mbqm(d, p->input_multiplier, p->input_left_shift);
            const int32_t out_q0 = pq_gl_tanh_q4(in_q4);
            out[i] = (int8_t)pq_clamp(pq_rdpot(out_q0, 31 - 7), -128, 127);
        }
    }
    return PQ_OK;
}

pq_status pq_tanh_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *y = pq_node_output(node, t);
    return pq_tanh_s8((const pq_logistic_params *)node->params, x->count, (const int8_t *)x->data, (int8_t *)y->data);
}
