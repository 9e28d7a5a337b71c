/*
 * SOFTMAX, int16 in (zero point 0), int16 out (scale 1/32768, zero point 0).
 *
 * Matches TFLite Micro's reference_ops::SoftmaxInt16 with the tables of SoftmaxPrepare
 * (softmax_common.cc), which the converter computes and stores as two constant int16[513]
 * inputs: exp on [-10, 0] and 1/(1 + x) on [0, 1], both read through TFLM's LUTLookup (the top
 * 9 bits index, the low 7 interpolate). Per row:
 *   e[c]  = exp_lut(clamp16(MBQM(x[c] - max, input_multiplier, input_left_shift) + 32767))
 *   sum   = sum of e[c] (Q16.15), h = clz(sum)
 *   recip = recip_lut(clamp16(round(sum << (h - 1), 14) - 3 * 2^15))
 *   y[c]  = clamp(round(e[c] * recip >> (31 - h)), 0, 32767)
 * Like TFLM, the exps are cached in the output row (each read of x[c] precedes the write of
 * y[c], so an in-place row is fine).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_kernels.h"
#include "pq_op.h"
#include "pq_softmax16.h"

pq_status pq_softmax_s16(const pq_softmax_params *p, int32_t outer, int32_t depth, const int16_t *exp_lut,
                         const int16_t *recip_lut, const int16_t *in, int16_t *out)
{
    int32_t i, c;
    if (p->input_left_shift < -31 || p->input_left_shift > 30) return PQ_ERR_PARAM;
    for (i = 0; i < outer; ++i) {
        const int16_t *x = in + (size_t)i * (size_t)depth;
        int16_t *y = out + (size_t)i * (size_t)depth;
        int32_t max_in_row = -32768, sum, recip, right;
        uint32_t sum_u = 0; /* TFLM's int32 sum, wrapping */
        int64_t round;
        for (c = 0; c < depth; ++c) {
            if (x[c] > max_in_row) max_in_row = x[c];
        }
        for (c = 0; c < depth; ++c) {
            const int32_t scaled = pq_mbqm((int32_t)x[c] - max_in_row, p->input_multiplier, p->input_left_shift);
            /* scaled <= 0 for a multiplier >= 0; the clamp keeps a hostile one in range too */
            const int32_t sym = scaled > 0 ? 32767 : pq_clamp(scaled + 32767, -32768, 32767);
            y[c] = pq_softmax16_lut(sym, exp_lut);
            sum_u += (uint32_t)(int32_t)y[c];
        }
        sum = pq_wrap_i32(sum_u);
        /* TFLM shifts by h - 1 and 31 - h - 1: undefined for h = 0 (a negative sum), h = 32
         * (zero) and h = 31 (one). A converter's table makes the row max's exp 32767, so none
         * of them happens short of 2^31 summed values; a file's own tables may, and the row is
         * then 0s (a valid file must run: no error at invoke). */
        if (sum <= 1) {
            for (c = 0; c < depth; ++c) y[c] = 0;
            continue;
        }
        recip = pq_softmax16_recip(sum, recip_lut, &right);
        round = (int64_t)1 << (right - 1);
        for (c = 0; c < depth; ++c) {
            const int64_t r = ((int64_t)y[c] * (int64_t)recip + round) >> right;
            y[c] = (int16_t)(r < 0 ? 0 : r > 32767 ? 32767 : r);
        }
    }
    return PQ_OK;
}

pq_status pq_softmax_s16_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *y = pq_node_output(node, t);
    const pq_tensor *e = pq_node_input(node, t, 1), *r = pq_node_input(node, t, 2);
    const int32_t depth = x->dims[x->rank - 1];
    return pq_softmax_s16((const pq_softmax_params *)node->params, x->count / depth, depth, (const int16_t *)e->data,
                          (const int16_t *)r->data, (const int16_t *)x->data, (int16_t *)y->data);
}
