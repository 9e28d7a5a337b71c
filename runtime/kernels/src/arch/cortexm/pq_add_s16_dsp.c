/*
 * ADD of two same-shape int16 tensors (16x8) for Cortex-M cores with the DSP extension:
 * the arithmetic of pq_add_s16 (ref/pq_add_s16.c), byte for byte, as one flat loop
 * (export-c calls the portable kernel for a broadcast). Per element, as pq_add_elem:
 *   s_i = MBQM((x_i + offset_i) * 2^left_shift, M_i, shift_i)
 *   out = clamp(MBQM(s_1 + s_2, M_o, shift_o) + output_offset)
 * with the 32-bit requantization of pq_dsp.h (one SMLAL and the rounding shift) instead of
 * the reference's saturating doubling multiply; the input shifts are right shifts and the
 * multipliers 0 or in [2^30, 2^31) (validated), as pq_dsp_requant requires.
 */
#include <stdint.h>

#include "pq_dsp16.h"

#if PQ_DSP

pq_status pq_add_s16_dsp(const pq_add_params *p, int32_t size, const int16_t *in1, const int16_t *in2, int16_t *out)
{
    const int32_t ls = p->left_shift;
    const int32_t m1 = p->input1_multiplier, s1 = p->input1_shift;
    const int32_t m2 = p->input2_multiplier, s2 = p->input2_shift;
    const int32_t mo = p->output_multiplier, so = p->output_shift;
    const uint32_t off1 = (uint32_t)p->input1_offset, off2 = (uint32_t)p->input2_offset;
    const uint32_t off_o = (uint32_t)p->output_offset;
    const int32_t lo = p->act_min, hi = p->act_max;
    int32_t i;
    for (i = 0; i < size; ++i) {
        /* the reference's wrapping arithmetic, step for step */
        const int32_t a = (int32_t)(((uint32_t)in1[i] + off1) << ls);
        const int32_t b = (int32_t)(((uint32_t)in2[i] + off2) << ls);
        const int32_t sum = (int32_t)((uint32_t)pq_dsp_requant(a, m1, s1) + (uint32_t)pq_dsp_requant(b, m2, s2));
        out[i] = pq_dsp16_clamp((int32_t)((uint32_t)pq_dsp_requant(sum, mo, so) + off_o), lo, hi);
    }
    return PQ_OK;
}

#else
typedef int pq_add_s16_dsp_unused; /* ISO C: a translation unit is not empty */
#endif /* PQ_DSP */
