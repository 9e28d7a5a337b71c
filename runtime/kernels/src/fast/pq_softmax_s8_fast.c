/*
 * SOFTMAX, int8 in and out, over the last dim (same bytes as pq_softmax_s8). Per row:
 *   1. the maximum (a vectorised reduction);
 *   2. each value's exp read from the plan's table by d = max - x (the reference's
 *      pq_sm_exp of -d, tabulated at prepare: the same values by construction, 0 for
 *      the differences below diff_min, which the reference skips), kept in scratch,
 *      and its Q12 rounding summed in wrapping uint32 as the reference sums;
 *   3. the reference's reciprocal of the sum (pq_sm_row_scale, once per row);
 *   4. each output clamp(RDPOT(SRDHM(scale, exp), exponent) - 128), a vectorised loop.
 *      A skipped value's exp 0 gives -128, as the reference writes for it.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_vec.h"
#include "pq_softmax.h"

int pq_softmax_s8_fast_plan(int isa, int32_t outer, int32_t depth, const pq_softmax_params *p,
                            pq_softmax_fast_plan *plan)
{
    int32_t d;
    if (outer < 0 || depth < 1 || p->input_left_shift < 0 || p->input_left_shift > 31) return 0;
    plan->avx2 = pq_vec_avx2(isa);
    plan->outer = outer;
    plan->depth = depth;
    for (d = 0; d < 256; ++d) {
        const int32_t e = -d >= p->diff_min ? pq_sm_exp(-d, p->input_multiplier, (int)p->input_left_shift) : 0;
        /* Step 4's pq_srdhm_vec is pq_srdhm unless both operands are INT32_MIN. */
        if (e == INT32_MIN) return 0;
        plan->exps[d] = e;
        plan->exps_q12[d] = pq_rdpot(e, PQ_SM_ACCUM_INT_BITS);
    }
    return 1;
}

PQ_INLINE pq_status softmax_rows(const pq_softmax_fast_plan *pl, const int8_t *in, int8_t *out, int32_t *exps)
{
    const int32_t depth = pl->depth;
    int32_t i, c;
    for (i = 0; i < pl->outer; ++i) {
        const int8_t *x = in + (size_t)i * (size_t)depth;
        int8_t *y = out + (size_t)i * (size_t)depth;
        int32_t max_in_row = -128, scale, exponent;
        uint32_t sum = 0;
        for (c = 0; c < depth; ++c) max_in_row = x[c] > max_in_row ? x[c] : max_in_row;
        for (c = 0; c < depth; ++c) {
            const int32_t d = max_in_row - x[c]; /* in [0, 255] */
            exps[c] = pl->exps[d];
            sum += (uint32_t)pl->exps_q12[d];
        }
        if (pq_sm_row_scale(sum, &scale, &exponent) != PQ_OK) return PQ_ERR_PARAM;
        for (c = 0; c < depth; ++c) {
            y[c] = (int8_t)pq_clamp(pq_rdpot(pq_srdhm_vec(scale, exps[c]), exponent) - 128, -128, 127);
        }
    }
    return PQ_OK;
}

PQ_VEC_BUILDS(softmax_rows, (const pq_softmax_fast_plan *pl, const int8_t *in, int8_t *out, int32_t *exps),
              (pl, in, out, exps))

pq_status pq_softmax_s8_fast(const pq_softmax_fast_plan *plan, const int8_t *in, int8_t *out, int32_t *exps)
{
    return PQ_VEC_CALL(plan->avx2, softmax_rows, (plan, in, out, exps));
}
