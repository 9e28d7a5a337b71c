/*
 * ADD's fast hooks (pq_fast_ops.h): every broadcast the reference takes, as
 * chunks of rows for the isa's same-shape loop (pq_add_s8_fast.c). State: the plan.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"

/* The plan of the node's shapes, 0 when they do not broadcast. */
static int add_shapes(const pq_node *node, const pq_tensor *t, int isa, pq_add_fast_plan *plan) {
    const pq_tensor *a = &t[node->io[0]], *b = &t[node->io[1]], *y = &t[node->io[2]];
    int32_t sa[PQ_MAX_DIMS], sb[PQ_MAX_DIMS];
    if (node->n_inputs != 2 || a->rank > y->rank || b->rank > y->rank) return 0;
    pq_broadcast_shapes(a, b, y->rank, sa, sb);
    return pq_add_s8_fast_plan(isa, y->rank, sa, sb, y->dims, (const pq_add_params *)node->params, plan);
}

static int add_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes, size_t *scratch_bytes) {
    pq_add_fast_plan plan;
    if (!add_shapes(node, t, isa, &plan)) return 0;
    *state_bytes = sizeof plan;
    *scratch_bytes = pq_add_s8_fast_scratch_size(&plan);
    return 1;
}

static pq_status add_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    pq_add_fast_plan *plan = (pq_add_fast_plan *)state;
    if (!add_shapes(node, t, isa, plan)) return PQ_ERR_PARAM;
    node->fast = plan;
    return PQ_OK;
}

static pq_status add_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    (void)part;
    (void)n_parts;
    return pq_add_s8_fast_run((const pq_add_fast_plan *)node->fast, PQ_IN(node, t, 0), PQ_IN(node, t, 1),
                              PQ_OUT(node, t), scratch);
}

static const char *add_name(const pq_node *node) {
    (void)node;
    return "fast-add";
}

const pq_fast_op pq_add_s8_fast_op = {add_plan, add_prepare, add_eval, NULL, add_name};
