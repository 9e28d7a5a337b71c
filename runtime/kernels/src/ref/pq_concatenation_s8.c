/*
 * CONCATENATION, int8, along any axis; inputs may have their own quantization.
 *
 * With every input on the output's scale and zero point this is TFLite Micro's
 * tensorflow/lite/kernels/internal/reference/concatenation.h, reference_ops::
 * Concatenation (a copy), as called by tensorflow/lite/micro/kernels/
 * concatenation.cc, which refuses any other quantization. picoq also accepts
 * inputs with their own (scale, zero point), as TFLite's reference_ops::
 * ConcatenationWithScaling does with float arithmetic,
 *     out = round((x - zp_in) * s_in / s_out) + zp_out,
 * but in fixed point: requant row i = (M, s, input_offset) from
 * QuantizeMultiplier((double)s_in / (double)s_out), and
 *     out = clamp(MBQM(x + input_offset, M, s) + output_offset, -128, 127).
 * Equal quantization gives M = 2^30, s = 1, input_offset = -output_offset: an
 * exact identity, done as a plain copy.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_concatenation_s8(int32_t n_inputs, const int8_t *const *inputs,
                              const int32_t *axis_sizes, const int32_t *requant,
                              int32_t output_offset, int32_t outer, int32_t inner,
                              int8_t *out)
{
    int32_t out_row = 0;
    int32_t i, o, j;

    for (i = 0; i < n_inputs; ++i) {
        if (axis_sizes[i] < 0) {
            return PQ_ERR_PARAM;
        }
        out_row += axis_sizes[i] * inner; /* <= output size: no overflow */
    }
    for (o = 0; o < outer; ++o) {
        int8_t *dst = out + o * out_row;
        for (i = 0; i < n_inputs; ++i) {
            const int32_t chunk = axis_sizes[i] * inner;
            const int8_t *src = inputs[i] + o * chunk;
            const int32_t multiplier = requant[3 * i];
            const int32_t shift = requant[3 * i + 1];
            const int32_t input_offset = requant[3 * i + 2];
            if (multiplier == ((int32_t)1 << 30) && shift == 1 && input_offset == -output_offset) {
                for (j = 0; j < chunk; ++j) {
                    dst[j] = src[j];
                }
            } else {
                for (j = 0; j < chunk; ++j) {
                    /* input_offset in [-255, 255]: no overflow. */
                    const int32_t v = pq_mbqm((int32_t)src[j] + input_offset, multiplier, shift);
                    dst[j] = (int8_t)pq_clamp(v + output_offset, -128, 127);
                }
            }
            dst += chunk;
        }
    }
    return PQ_OK;
}

pq_status pq_concatenation_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_concat_params *p = (const pq_concat_params *)node->params;
    const pq_tensor *y = pq_node_output(node, t);
    const int32_t n = (int32_t)node->n_inputs - 1; /* data inputs; the last input is the requant table */
    const int8_t *inputs[PQ_MAX_CONCAT_INPUTS];
    int32_t axis_sizes[PQ_MAX_CONCAT_INPUTS];
    int32_t outer = 1, inner = 1, k;
    for (k = 0; k < n; ++k) {
        inputs[k] = (const int8_t *)t[node->io[k]].data;
        axis_sizes[k] = t[node->io[k]].dims[p->axis];
    }
    for (k = 0; k < (int32_t)y->rank; ++k) {
        if (k < p->axis) outer *= y->dims[k];
        if (k > p->axis) inner *= y->dims[k];
    }
    return pq_concatenation_s8(n, inputs, axis_sizes, (const int32_t *)t[node->io[n]].data, p->output_offset,
                               outer, inner, (int8_t *)y->data);
}
