/*
 * TRANSPOSE's fast hooks (pq_fast_ops.h): portable C on every isa, no scratch. State: the plan
 * (pq_transpose_fast_plan), built from the reference kernel's own arguments; every permutation
 * of rank 1..6 has one.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"

/* The plan of the node's tensors; the output must be the permuted input (the validator's check). */
static pq_status transpose_plan(const pq_node *node, const pq_tensor *t, pq_transpose_fast_plan *plan) {
    const int32_t *perm = ((const pq_transpose_params *)node->params)->perm;
    const pq_tensor *x = &t[node->io[0]], *y = &t[node->io[1]];
    int32_t d;
    if (node->n_inputs != 1 || x->rank != y->rank) return PQ_ERR_PARAM;
    if (pq_transpose_s8_fast_plan((int32_t)x->rank, x->dims, perm, plan) != PQ_OK) return PQ_ERR_PARAM;
    for (d = 0; d < (int32_t)x->rank; ++d) {
        if (y->dims[d] != x->dims[perm[d]]) return PQ_ERR_PARAM; /* perm[d] checked by the plan */
    }
    return PQ_OK;
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
