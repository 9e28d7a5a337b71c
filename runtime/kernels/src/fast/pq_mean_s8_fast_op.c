/*
 * MEAN's fast hooks (pq_fast_ops.h): the mean over one block of adjacent axes (global
 * average pooling over H and W, keep_dims or not; a mean over the last axes), as
 * vectorised sums (pq_mean_s8_fast.c); other axis sets stay on the reference kernel.
 * State: the plan; scratch: one int32 sum per value of the inner dims.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"

static int mean_shapes(const pq_node *node, const pq_tensor *t, int isa, pq_mean_fast_plan *plan) {
    const pq_tensor *x = &t[node->io[0]], *y = &t[node->io[1]];
    if (node->n_inputs != 1 || !pq_mean_s8_fast_plan(isa, x->rank, x->dims, (const pq_mean_params *)node->params, plan)) {
        return 0;
    }
    return (int64_t)plan->outer * plan->inner == y->count && (int64_t)plan->outer * plan->count * plan->inner == x->count;
}

static int mean_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes, size_t *scratch_bytes) {
    pq_mean_fast_plan plan;
    if (!mean_shapes(node, t, isa, &plan)) return 0;
    *state_bytes = sizeof(pq_mean_fast_plan);
    *scratch_bytes = ((size_t)plan.inner * sizeof(int32_t) + 63u) / 64u * 64u;
    return 1;
}

static pq_status mean_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    pq_mean_fast_plan *plan = (pq_mean_fast_plan *)state;
    if (!mean_shapes(node, t, isa, plan)) return PQ_ERR_PARAM;
    node->fast = plan;
    return PQ_OK;
}

static pq_status mean_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    (void)part;
    (void)n_parts;
    return pq_mean_s8_fast((const pq_mean_fast_plan *)node->fast, (const pq_mean_params *)node->params,
                           PQ_IN(node, t, 0), PQ_OUT(node, t), (int32_t *)scratch);
}

static const char *mean_name(const pq_node *node) {
    (void)node;
    return "fast-mean";
}

const pq_fast_op pq_mean_s8_fast_op = {mean_plan, mean_prepare, mean_eval, NULL, mean_name};
