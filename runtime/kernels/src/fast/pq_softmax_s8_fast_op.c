/*
 * SOFTMAX's fast hooks (pq_fast_ops.h): the last axis, on every isa (pq_softmax_s8_fast.c).
 * State: the plan with its two 256-entry exp tables, built at prepare from the reference's
 * arithmetic; scratch: one int32 exp per value of a row.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"

static int softmax_shapes(const pq_node *node, const pq_tensor *t, int isa, pq_softmax_fast_plan *plan) {
    const pq_tensor *x = &t[node->io[0]], *y = &t[node->io[1]];
    int32_t depth;
    if (node->n_inputs != 1 || x->rank < 1 || x->count != y->count) return 0;
    depth = x->dims[x->rank - 1];
    if (depth < 1 || x->count % depth != 0) return 0;
    return pq_softmax_s8_fast_plan(isa, x->count / depth, depth, (const pq_softmax_params *)node->params, plan);
}

static int softmax_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes,
                        size_t *scratch_bytes) {
    pq_softmax_fast_plan plan;
    if (!softmax_shapes(node, t, isa, &plan)) return 0;
    *state_bytes = sizeof(pq_softmax_fast_plan);
    *scratch_bytes = ((size_t)plan.depth * sizeof(int32_t) + 63u) / 64u * 64u;
    return 1;
}

static pq_status softmax_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    pq_softmax_fast_plan *plan = (pq_softmax_fast_plan *)state;
    if (!softmax_shapes(node, t, isa, plan)) return PQ_ERR_PARAM;
    node->fast = plan;
    return PQ_OK;
}

static pq_status softmax_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part,
                              int32_t n_parts) {
    (void)part;
    (void)n_parts;
    return pq_softmax_s8_fast((const pq_softmax_fast_plan *)node->fast, PQ_IN(node, t, 0), PQ_OUT(node, t),
                              (int32_t *)scratch);
}

static const char *softmax_name(const pq_node *node) {
    (void)node;
    return "fast-softmax";
}

const pq_fast_op pq_softmax_s8_fast_op = {softmax_plan, softmax_prepare, softmax_eval, NULL, softmax_name};
