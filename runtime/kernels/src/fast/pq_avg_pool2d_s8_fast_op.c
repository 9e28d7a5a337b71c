/*
 * AVERAGE_POOL_2D's fast hooks (pq_fast_ops.h): portable C on every isa, the
 * input's channels as uint32 running sums in scratch; no state.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"

static int pool_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes, size_t *scratch_bytes) {
    (void)isa;
    *state_bytes = 0;
    *scratch_bytes = ((size_t)t[node->io[0]].dims[3] * 4u + 63u) / 64u * 64u;
    return 1;
}

static pq_status pool_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    (void)node;
    (void)t;
    (void)isa;
    (void)state;
    return PQ_OK;
}

static pq_status pool_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    const pq_dims in = pq_tensor_dims4(&t[node->io[0]]), out = pq_tensor_dims4(&t[node->io[1]]);
    (void)part;
    (void)n_parts;
    return pq_avg_pool2d_s8_fast((const pq_pool_params *)node->params, &in, PQ_IN(node, t, 0), &out, PQ_OUT(node, t),
                                 (uint32_t *)scratch);
}

static const char *pool_name(const pq_node *node) {
    (void)node;
    return "fast-avgpool";
}

const pq_fast_op pq_avg_pool2d_s8_fast_op = {pool_plan, pool_prepare, pool_eval, NULL, pool_name};
