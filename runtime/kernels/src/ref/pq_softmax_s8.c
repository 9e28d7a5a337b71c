/*
 * SOFTMAX, int8 in, int8 out (output scale 1/256, zero point -128).
 *
 * Matches TFLite Micro tensorflow/lite/kernels/internal/reference/softmax.h,
 * reference_ops::Softmax<int8_t, int8_t> (as called by
 * tensorflow/lite/micro/kernels/softmax.cc), which uses gemmlowp fixed point
 * (google/gemmlowp fixedpoint/fixedpoint.h, scalar int32 path) and
 * tflite::GetReciprocal from tensorflow/lite/kernels/internal/common.h.
 *
 * Fixed-point formats, named as gemmlowp does (Qm = m integer bits, 31-m
 * fractional bits, in an int32):
 *   scaled input differences  Q5   (kScaledDiffIntegerBits = 5)
 *   exp() results             Q0
 *   sum of exps               Q12  (kAccumulationIntegerBits = 12)
 *   Newton-Raphson iterate    Q2
 * gemmlowp's plain '+' and '-' on FixedPoint are non-saturating int32
 * operations that wrap in practice; here they go through uint32_t so that C
 * signed overflow (undefined) never happens, with the same bits.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_gemmlowp.h" /* gemmlowp exp, 1/(1+x), wrapping add: shared with logistic/tanh */
#include "pq_kernels.h"
#include "pq_op.h"

#define PQ_SM_SCALED_DIFF_INT_BITS 5
#define PQ_SM_ACCUM_INT_BITS 12

/* Portable count of leading zeros of a 32-bit value; 32 for 0, as
 * tflite::CountLeadingZeros returns std::numeric_limits<uint32_t>::digits. */
static int sm_clz32(uint32_t x)
{
    int n = 0;
    if (x == 0) {
        return 32;
    }
#if defined(__GNUC__) && defined(__SIZEOF_INT__) && __SIZEOF_INT__ == 4
    n = __builtin_clz((unsigned int)x);
#else
    while ((x & 0x80000000u) == 0) {
        x <<= 1;
        ++n;
    }
#endif
    return n;
}

/* tflite::GetReciprocal(x, x_integer_digits, &num_bits_over_unit): x > 0 in
 * Q(x_integer_digits); returns 1/x as a Q0 value scaled by 2^-num_bits_over_unit. */
static int32_t sm_get_reciprocal(int32_t x, int x_integer_digits, int *num_bits_over_unit)
{
    const int headroom_plus_one = sm_clz32((uint32_t)x);
    /* Shift x so its leading one lands on bit 31, then subtract 1.0 (2^31
     * as uint32): the result is x / 2^bits - 1 in [0, 1), in Q0. A shift by
     * 32 (x == 0, never the case: the row max alone contributes 2^19) would
     * be undefined; use 0, which is what x << n gives for x == 0. */
    const uint32_t shifted = headroom_plus_one < 32 ? (uint32_t)x << headroom_plus_one : 0u;
    const int32_t shifted_sum_minus_one = pq_wrap_i32(shifted - ((uint32_t)1 << 31));
    *num_bits_over_unit = x_integer_digits - headroom_plus_one;
    return pq_gl_one_over_one_plus_x(shifted_sum_minus_one);
}

/* tflite::MultiplyByQuantizedMultiplierGreaterThanOne (double rounding):
 * SRDHM(x * 2^left_shift, M). The result is a Q5 value <= 0. */
static int32_t sm_scale_diff(int32_t diff, int32_t multiplier, int left_shift)
{
    /* diff * (1 << left_shift) as TFLM writes it, in wrapping arithmetic; for
     * diff >= diff_min it never wraps (|diff| * 2^shift <= 31 * 2^26). */
    const int32_t shifted = pq_wrap_i32((uint32_t)diff * ((uint32_t)1 << left_shift));
    return pq_srdhm(shifted, multiplier);
}

pq_status pq_softmax_s8(const pq_softmax_params *p, int32_t outer, int32_t depth,
                        const int8_t *in, int8_t *out)
{
    const int32_t multiplier = p->input_multiplier;
    const int left_shift = (int)p->input_left_shift;
    const int32_t diff_min = p->diff_min;
    int32_t i, c;

    /* QuantizeMultiplierGreaterThanOne gives a shift in [0, 31]; anything
     * else would make the shift below undefined. */
    if (left_shift < 0 || left_shift > 31) {
        return PQ_ERR_PARAM;
    }
    if (depth <= 0) {
        return PQ_OK;
    }

    for (i = 0; i < outer; ++i) {
        /* i * depth < outer * depth = tensor size: no overflow. */
        const int8_t *x = in + i * depth;
        int8_t *y = out + i * depth;
        int32_t max_in_row = -128;
        uint32_t sum_of_exps = 0; /* Q12, wrapping like gemmlowp's '+' */
        int32_t shifted_scale;
        int num_bits_over_unit;
        int exponent;

        for (c = 0; c < depth; ++c) {
            if (x[c] > max_in_row) {
                max_in_row = x[c];
            }
        }

        for (c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max_in_row;
            if (diff >= diff_min) {
                const int32_t e = pq_gl_exp_on_negative_values(sm_scale_diff(diff, multiplier, left_shift),
                                                               PQ_SM_SCALED_DIFF_INT_BITS);
                /* Rescale<12> from Q0: exponent -12, RoundingDivideByPOT. */
                sum_of_exps += (uint32_t)pq_rdpot(e, PQ_SM_ACCUM_INT_BITS);
            }
        }

        shifted_scale = sm_get_reciprocal(pq_wrap_i32(sum_of_exps), PQ_SM_ACCUM_INT_BITS,
                                          &num_bits_over_unit);
        /* 31 - 8: the output is an 8-bit type. */
        exponent = num_bits_over_unit + 31 - 8;
        /* TFLM TFLITE_CHECKs this range (aborting the op); it holds whenever
         * the sum of exps is in [1, 2^28), i.e. for any depth < 512. */
        if (exponent < 0 || exponent > 31) {
            return PQ_ERR_PARAM;
        }

        for (c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max_in_row;
            if (diff >= diff_min) {
                const int32_t e = pq_gl_exp_on_negative_values(sm_scale_diff(diff, multiplier, left_shift),
                                                               PQ_SM_SCALED_DIFF_INT_BITS);
                /* Q0 * Q0 -> Q0, then scale back by 2^exponent. exponent >= 3
                 * (clz <= 32), so |unsat| < 2^29 and '- 128' cannot overflow;
                 * for a sane sum it is in [0, 256]. */
                const int32_t unsat = pq_rdpot(pq_srdhm(shifted_scale, e), exponent);
                y[c] = (int8_t)pq_clamp(unsat - 128, -128, 127);
            } else {
                y[c] = -128;
            }
        }
    }
    return PQ_OK;
}

pq_status pq_softmax_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *y = pq_node_output(node, t);
    const int32_t depth = x->dims[x->rank - 1];
    return pq_softmax_s8((const pq_softmax_params *)node->params, x->count / depth, depth, (const int8_t *)x->data,
                         (int8_t *)y->data);
}
