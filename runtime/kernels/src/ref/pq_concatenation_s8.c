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

#include "pq_concat_ref.h"
#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_concatenation_s8(int32_t n_inputs, const int8_t *const *inputs,
                              const int32_t *axis_sizes, const int32_t *requant,
                              int32_t output_offset, int32_t outer, int32_t inner,
                              int8_t *out)
{
    const void *in[PQ_MAX_CONCAT_INPUTS];
    int32_t i;
    if (n_inputs < 0 || n_inputs > PQ_MAX_CONCAT_INPUTS) return PQ_ERR_PARAM;
    for (i = 0; i < n_inputs; ++i) in[i] = inputs[i];
    return pq_concatenation_ref(n_inputs, in, axis_sizes, requant, output_offset, outer, inner, out, 0);
}

pq_status pq_concatenation_s8_eval(const pq_node *node, const pq_tensor *t) { return pq_concatenation_eval_ref(node, t, 0); }
