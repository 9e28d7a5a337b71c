/*
 * MAX_POOL_2D's fast hooks (pq_fast_ops.h): portable C on every isa, no state, no scratch.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"

static int pool_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes, size_t *scratch_bytes) {
    (void)node;
    (void)t;
    (void)isa;
    *state_bytes = 0;
    *scratch_bytes = 0;
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
    (void)scratch;
    (void)part;
    (void)n_parts;
    return pq_max_pool2d_s8_fast((const pq_pool_params *)node->params, &in, PQ_IN(node, t, 0), &out,
                                 PQ_OUT(node, t));
}

static const char *pool_name(const pq_node *node) {
    (void)node;
    return "fast-maxpool";
}

const pq_fast_op pq_max_pool2d_s8_fast_op = {pool_plan, pool_prepare, pool_eval, NULL, pool_name};
