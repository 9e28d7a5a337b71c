/*
 * ADD of two same-shape int8 tensors for Cortex-M cores with the DSP extension:
 * the arithmetic of pq_add_s8 (ref/pq_add_s8.c), byte for byte, as one flat loop
 * (export-c calls the portable kernel for a broadcast). Per element:
 *   s_i = MBQM((x_i + offset_i) * 2^left_shift, M_i, shift_i)
 *   out = clamp(MBQM(s_1 + s_2, M_o, shift_o) + output_offset)
 * with the 32-bit requantization of pq_dsp.h; the input shifts are right shifts
 * (validated), so their left-shift step is skipped.
 */
#include <stdint.h>

#include "pq_dsp.h"

#if PQ_DSP

pq_status pq_add_s8_dsp(const pq_add_params *p, int32_t size, const int8_t *in1, const int8_t *in2, int8_t *out)
{
    const int32_t ls = p->left_shift;
    const int32_t m1 = p->input1_multiplier, s1 = p->input1_shift;
    const int32_t m2 = p->input2_multiplier, s2 = p->input2_shift;
    const int32_t mo = p->output_multiplier, so = p->output_shift;
    const int32_t off1 = p->input1_offset, off2 = p->input2_offset;
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t a = (int32_t)((uint32_t)(in1[i] + off1) << ls);
        const int32_t b = (int32_t)((uint32_t)(in2[i] + off2) << ls);
        const int32_t sum = (int32_t)((uint32_t)pq_dsp_requant(a, m1, s1) + (uint32_t)pq_dsp_requant(b, m2, s2));
        out[i] = pq_dsp_out(sum, mo, so, p->output_offset, p->act_min, p->act_max);
    }
    return PQ_OK;
}

#else
typedef int pq_add_s8_dsp_unused; /* ISO C: a translation unit is not empty */
#endif /* PQ_DSP */
