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
#include "pq_kernels.h"
#include "pq_op.h"
#include "pq_softmax.h"

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
        int32_t shifted_scale, exponent;

        for (c = 0; c < depth; ++c) {
            if (x[c] > max_in_row) {
                max_in_row = x[c];
            }
        }

        for (c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max_in_row;
            if (diff >= diff_min) {
                const int32_t e = pq_sm_exp(diff, multiplier, left_shift);
                /* Rescale<12> from Q0: exponent -12, RoundingDivideByPOT. */
                sum_of_exps += (uint32_t)pq_rdpot(e, PQ_SM_ACCUM_INT_BITS);
            }
        }

        if (pq_sm_row_scale(sum_of_exps, &shifted_scale, &exponent) != PQ_OK) {
            return PQ_ERR_PARAM;
        }

        for (c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max_in_row;
            if (diff >= diff_min) {
                const int32_t e = pq_sm_exp(diff, multiplier, left_shift);
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
