/*
 * TFLite's reference_ops::Requantize on one value (the QUANTIZE kernels, pq_quantize_s8.c and
 * pq_quantize_s16.c): MBQM(x - input zero point, multiplier, shift) + output zero point,
 * clamped to the output dtype [lo, hi]. pq_mbqm wraps as TFLM's int32 does, so a hostile
 * shift cannot make C overflow.
 */
#ifndef PQ_REQUANTIZE_H
#define PQ_REQUANTIZE_H

#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_kernels.h"

PQ_INLINE int32_t pq_requantize(const pq_quantize_params *p, int32_t x, int32_t lo, int32_t hi)
{
    const uint32_t v = (uint32_t)pq_mbqm(x + p->input_offset, p->multiplier, p->shift) + (uint32_t)p->output_offset;
    return pq_clamp(pq_wrap_i32(v), lo, hi);
}

#endif /* PQ_REQUANTIZE_H */
