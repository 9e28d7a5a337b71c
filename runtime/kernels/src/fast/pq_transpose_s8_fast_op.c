/*
 * TRANSPOSE's fast hooks (pq_fast_ops.h): portable C on every isa, no scratch. State: the plan
 * (pq_transpose_fast_plan), built from the reference kernel's own arguments; every permutation
 * of rank 1..6 has one. The 16x8 TRANSPOSE (pq_variants.def s16) plans the bytes as its
 * reference kernel moves them: each int16 value one more axis of 2 bytes that stays last
 * (merged into the last axis when the permutation keeps that in place).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"

/* The plan of the node's tensors; the output must be the permuted input (the validator's check). */
static pq_status transpose_plan(const pq_node *node, const pq_tensor *t, pq_transpose_fast_plan *plan) {
    const int32_t *perm = ((const pq_transpose_params *)node->params)->perm;
    const pq_tensor *x = &t[node->io[0]], *y = &t[node->io[1]];
    const int32_t rank = (int32_t)x->rank;
    int32_t d, shape[PQ_MAX_DIMS], bperm[PQ_MAX_DIMS];
    if (node->n_inputs != 1 || x->rank != y->rank || rank < 1 || rank > PQ_MAX_DIMS) return PQ_ERR_PARAM;
    if (pq_transpose_s8_fast_plan(rank, x->dims, perm, plan) != PQ_OK) return PQ_ERR_PARAM; /* checks perm */
    for (d = 0; d < rank; ++d) {
        if (y->dims[d] != x->dims[perm[d]]) return PQ_ERR_PARAM;
        shape[d] = x->dims[d];
        bperm[d] = perm[d];
    }
    if (x->dtype != PQ_DT_INT16) return x->dtype == y->dtype ? PQ_OK : PQ_ERR_PARAM;
    if (y->dtype != PQ_DT_INT16) return PQ_ERR_PARAM;
    if (perm[rank - 1] == rank - 1) {
        shape[rank - 1] *= 2; /* dims <= 2^24 (the validator): no overflow */
        return pq_transpose_s8_fast_plan(rank, shape, bperm, plan) == PQ_OK ? PQ_OK : PQ_ERR_PARAM;
    }
    if (rank == PQ_MAX_DIMS) return PQ_ERR_PARAM; /* the contract's limit */
    shape[rank] = 2;
    bperm[rank] = rank;
    return pq_transpose_s8_fast_plan(rank + 1, shape, bperm, plan) == PQ_OK ? PQ_OK : PQ_ERR_PARAM;
}

static int transpose_fast_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes,
                               size_t *scratch_bytes) {
    pq_transpose_fast_plan plan;
    (void)isa;
    return pq_fast_plan_sized(transpose_plan(node, t, &plan), sizeof plan, state_bytes, scratch_bytes);
}

static pq_status transpose_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    (void)isa;
    return pq_fast_prepared(node, transpose_plan(node, t, (pq_transpose_fast_plan *)state), state);
}

static pq_status transpose_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part,
                                int32_t n_parts) {
    (void)scratch;
    (void)part;
    (void)n_parts;
    return pq_transpose_s8_fast((const pq_transpose_fast_plan *)node->fast, PQ_IN(node, t, 0), PQ_OUT(node, t));
}

static const char *transpose_name(const pq_node *node) {
    (void)node;
    return "fast-transpose";
}

const pq_fast_op pq_transpose_s8_fast_op = {transpose_fast_plan, transpose_prepare, transpose_eval, NULL,
                                            transpose_name};
const pq_fast_op pq_transpose_s16_fast_op = {transpose_fast_plan, transpose_prepare, transpose_eval, NULL,
                                             transpose_name};
