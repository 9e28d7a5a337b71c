/*
 * The per-element arithmetic of ADD and MUL, shared by their int8 and 16x8 reference kernels:
 * TFLite Micro runs the same expressions for both dtypes (reference add.h AddElementwise /
 * BroadcastAdd6DSlow, integer_ops/mul.h MulElementwise / BroadcastMul4DSlow); only ADD's
 * left_shift (20 for int8, 15 for int16, a parameter here) and the output type differ.
 * Each returns the clamped result, which the caller narrows to its output type.
 */
#ifndef PQ_ARITH_H
#define PQ_ARITH_H

#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_params.h"

/* AddElementwise. MultiplyByQuantizedMultiplierSmallerThanOneExp(x, M, s) = RDPOT(SRDHM(x, M), -s)
 * equals pq_mbqm(x, M, s) for s <= 0, which QuantizeMultiplierSmallerThanOneExp guarantees (it
 * TFLITE_CHECKs left_shift <= 0). Wrapping arithmetic: a hostile file cannot make C overflow. */
static inline int32_t pq_add_elem(const pq_add_params *p, int32_t a, int32_t b)
{
    const uint32_t scale = (uint32_t)1 << p->left_shift;
    const int32_t in1 = pq_wrap_i32((uint32_t)p->input1_offset + (uint32_t)a);
    const int32_t in2 = pq_wrap_i32((uint32_t)p->input2_offset + (uint32_t)b);
    /* TFLM: input_val * (1 << left_shift) */
    const int32_t shifted1 = pq_wrap_i32((uint32_t)in1 * scale);
    const int32_t shifted2 = pq_wrap_i32((uint32_t)in2 * scale);
    const int32_t scaled1 = pq_mbqm(shifted1, p->input1_multiplier, p->input1_shift);
    const int32_t scaled2 = pq_mbqm(shifted2, p->input2_multiplier, p->input2_shift);
    const int32_t raw_sum = pq_wrap_i32((uint32_t)scaled1 + (uint32_t)scaled2);
    const int32_t raw_out =
        pq_wrap_i32((uint32_t)pq_mbqm(raw_sum, p->output_multiplier, p->output_shift) + (uint32_t)p->output_offset);
    return pq_clamp(raw_out, p->act_min, p->act_max);
}

/* MulElementwise: clamp(output_offset + MBQM((a + o1) * (b + o2), M, s)). The validator holds
 * the offsets to [-255, 255] for int8 (|product| <= 2^17) and to 0 for int16 (|product| <= 2^30). */
static inline int32_t pq_mul_elem(const pq_mul_params *p, int32_t a, int32_t b)
{
    const int32_t in1 = a + p->input1_offset;
    const int32_t in2 = b + p->input2_offset;
    const int32_t raw =
        pq_wrap_i32((uint32_t)pq_mbqm(in1 * in2, p->output_multiplier, p->output_shift) + (uint32_t)p->output_offset);
    return pq_clamp(raw, p->act_min, p->act_max);
}

#endif /* PQ_ARITH_H */
