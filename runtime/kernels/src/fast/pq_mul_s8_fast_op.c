/*
 * MUL's fast hooks (pq_fast_ops.h): every broadcast the validator allows (same shapes,
 * per-channel and per-pixel gates, scalars), as rows (pq_mul_s8_fast.c); parameters
 * whose int32 steps could leave range stay on the reference kernel. State: the plan.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"

/* The plan of the node's shapes, 0 when the fast loops cannot take it. */
static int mul_shapes(const pq_node *node, const pq_tensor *t, int isa, pq_mul_fast_plan *plan) {
    const pq_tensor *a = &t[node->io[0]], *b = &t[node->io[1]], *y = &t[node->io[2]];
    int32_t sa[PQ_MAX_DIMS], sb[PQ_MAX_DIMS];
    if (node->n_inputs != 2 || a->rank > y->rank || b->rank > y->rank) return 0;
    if (!pq_mul_s8_fast_params_ok((const pq_mul_params *)node->params)) return 0;
    pq_broadcast_shapes(a, b, y->rank, sa, sb);
    return pq_mul_s8_fast_plan(isa, y->rank, sa, sb, y->dims, plan);
}

static int mul_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes, size_t *scratch_bytes) {
    pq_mul_fast_plan plan;
    if (!mul_shapes(node, t, isa, &plan)) return 0;
    *state_bytes = sizeof(pq_mul_fast_plan);
    *scratch_bytes = 0;
    return 1;
}

static pq_status mul_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    pq_mul_fast_plan *plan = (pq_mul_fast_plan *)state;
    if (!mul_shapes(node, t, isa, plan)) return PQ_ERR_PARAM;
    node->fast = plan;
    return PQ_OK;
}

static pq_status mul_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    (void)scratch;
    (void)part;
    (void)n_parts;
    return pq_mul_s8_fast((const pq_mul_fast_plan *)node->fast, (const pq_mul_params *)node->params, PQ_IN(node, t, 0),
                          PQ_IN(node, t, 1), PQ_OUT(node, t));
}

static const char *mul_name(const pq_node *node) {
    (void)node;
    return "fast-mul";
}

const pq_fast_op pq_mul_s8_fast_op = {mul_plan, mul_prepare, mul_eval, NULL, mul_name};
