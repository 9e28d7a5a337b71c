/*
 * SOFTMAX 16x8's fast hooks (pq_fast_ops.h): the reference kernel's steps (pq_softmax_s16.c,
 * TFLM's SoftmaxInt16) with its 64-bit arithmetic in loops the compiler vectorises
 * (PQ_VEC_BUILDS: AVX2 and AVX-512 builds on x86), per row:
 *   1. the maximum;
 *   2. each value's table argument clamp(MBQM(x - max) + 32767) into the output row, in the
 *      vectorisable MBQM (pq_mbqm_vec: exact for a multiplier >= 0 and |x - max| * 2^left
 *      inside int32, so the plan takes left shifts <= 15 only; |x - max| <= 65535);
 *   3. the exp table read at each (scalar: a 513-entry LUTLookup), summed in wrapping uint32;
 *   4. the reference's reciprocal of the sum (pq_softmax16_recip, once per row);
 *   5. each output clamp((e * recip + 2^(right-1)) >> right).
 * A row whose sum is <= 1 (only a file's own tables can make one) is 0s, as the reference's.
 * State: the parameters and the shape; no scratch (the exps are kept in the output row, as the
 * reference keeps them).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"
#include "pq_fast_vec.h"
#include "pq_softmax16.h"

typedef struct {
    int32_t outer, depth, multiplier, left, right, level; /* level: pq_vec_avx2's build */
} softmax16_plan;

static int softmax16_plan_of(const pq_node *node, const pq_tensor *t, int isa, softmax16_plan *pl) {
    const pq_softmax_params *p = (const pq_softmax_params *)node->params;
    const pq_tensor *x = &t[node->io[0]], *y;
    if (node->n_inputs != 3) return 0;
    y = &t[node->io[3]]; /* inputs: x, the exp table, the reciprocal table */
    if (x->rank < 1 || x->count != y->count) return 0;
    if (p->input_multiplier < 0 || p->input_left_shift < -31 || p->input_left_shift > 15) return 0;
    pl->depth = x->dims[x->rank - 1];
    if (pl->depth < 1 || x->count % pl->depth != 0) return 0;
    pl->outer = x->count / pl->depth;
    pl->multiplier = p->input_multiplier;
    pl->left = p->input_left_shift > 0 ? p->input_left_shift : 0;
    pl->right = p->input_left_shift > 0 ? 0 : -p->input_left_shift;
    pl->level = pq_vec_avx2(isa);
    return 1;
}

/* Step 2 of one row: the exp table's argument of each value, into y. */
PQ_INLINE pq_status softmax16_args(const softmax16_plan *pl, const int16_t *x, int32_t max_in_row, int16_t *y) {
    const int32_t m = pl->multiplier, left = pl->left, right = pl->right;
    int32_t c;
    for (c = 0; c < pl->depth; ++c) {
        const int32_t scaled = pq_mbqm_vec((int32_t)x[c] - max_in_row, m, left, right); /* <= 0 */
        y[c] = (int16_t)pq_clamp(scaled + 32767, -32768, 32767);
    }
    return PQ_OK;
}

/* Step 5 of one row: e * recip (|.| <= 2^30) plus the rounding, shifted, clamped to [0, 32767]. */
PQ_INLINE pq_status softmax16_scale(const softmax16_plan *pl, int32_t recip, int32_t right, int16_t *y) {
    const int64_t round = (int64_t)1 << (right - 1);
    int32_t c;
    for (c = 0; c < pl->depth; ++c) {
        const int64_t r = ((int64_t)y[c] * recip + round) >> right;
        y[c] = (int16_t)(r < 0 ? 0 : r > 32767 ? 32767 : r);
    }
    return PQ_OK;
}

PQ_VEC_BUILDS(softmax16_args, (const softmax16_plan *pl, const int16_t *x, int32_t max_in_row, int16_t *y),
              (pl, x, max_in_row, y))
PQ_VEC_BUILDS(softmax16_scale, (const softmax16_plan *pl, int32_t recip, int32_t right, int16_t *y),
              (pl, recip, right, y))

static int softmax16_fast_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes,
                               size_t *scratch_bytes) {
    softmax16_plan pl;
    return pq_fast_plan_sized(softmax16_plan_of(node, t, isa, &pl) ? PQ_OK : PQ_ERR_PARAM, sizeof pl, state_bytes,
                              scratch_bytes);
}

static pq_status softmax16_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    return pq_fast_prepared(node, softmax16_plan_of(node, t, isa, (softmax16_plan *)state) ? PQ_OK : PQ_ERR_PARAM,
                            state);
}

static pq_status softmax16_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part,
                                int32_t n_parts) {
    const softmax16_plan *pl = (const softmax16_plan *)node->fast;
    const int16_t *in = (const int16_t *)PQ_IN(node, t, 0), *exp_lut = (const int16_t *)t[node->io[1]].data;
    const int16_t *recip_lut = (const int16_t *)t[node->io[2]].data;
    int16_t *out = (int16_t *)PQ_OUT(node, t);
    int32_t i, c;
    (void)scratch;
    (void)part;
    (void)n_parts;
    for (i = 0; i < pl->outer; ++i) {
        const int16_t *x = in + (size_t)i * (size_t)pl->depth;
        int16_t *y = out + (size_t)i * (size_t)pl->depth;
        int32_t max_in_row = -32768, recip, right;
        uint32_t sum = 0; /* TFLM's int32 sum, wrapping */
        for (c = 0; c < pl->depth; ++c) max_in_row = x[c] > max_in_row ? x[c] : max_in_row;
        (void)PQ_VEC_CALL(pl->level, softmax16_args, (pl, x, max_in_row, y));
        for (c = 0; c < pl->depth; ++c) {
            y[c] = pq_softmax16_lut(y[c], exp_lut);
            sum += (uint32_t)(int32_t)y[c];
        }
        if (pq_wrap_i32(sum) <= 1) {
            for (c = 0; c < pl->depth; ++c) y[c] = 0;
            continue;
        }
        recip = pq_softmax16_recip(pq_wrap_i32(sum), recip_lut, &right);
        (void)PQ_VEC_CALL(pl->level, softmax16_scale, (pl, recip, right, y));
    }
    return PQ_OK;
}

static const char *softmax16_name(const pq_node *node) {
    (void)node;
    return "fast-softmax";
}

const pq_fast_op pq_softmax_s16_fast_op = {softmax16_fast_plan, softmax16_prepare, softmax16_eval, NULL,
                                           softmax16_name};
