/*
 * ADD's fast hooks (pq_fast_ops.h): same shapes only (broadcasting stays on
 * the reference kernel), on the isa's non-GEMM kernel. State: the isa and the
 * element count.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"

typedef struct {
    int32_t isa, n;
} add_state;

/* The element count when both inputs have the output's shape (leading 1s added), else -1. */
static int32_t same_shape_count(const pq_node *node, const pq_tensor *t) {
    const pq_tensor *y = &t[node->io[node->n_inputs]];
    int k, d;
    for (k = 0; k < 2; ++k) {
        const pq_tensor *x = &t[node->io[k]];
        const int lead = (int)y->rank - (int)x->rank;
        for (d = 0; d < (int)y->rank; ++d) {
            if ((d < lead ? 1 : x->dims[d - lead]) != y->dims[d]) return -1;
        }
    }
    return y->count;
}

static int add_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes, size_t *scratch_bytes) {
    (void)isa;
    if (same_shape_count(node, t) < 0) return 0;
    *state_bytes = sizeof(add_state);
    *scratch_bytes = 0;
    return 1;
}

static pq_status add_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    add_state *s = (add_state *)state;
    s->n = same_shape_count(node, t);
    if (s->n < 0) return PQ_ERR_PARAM;
    s->isa = pq_isa_traits_get(isa)->kernel_isa;
    node->fast = s;
    return PQ_OK;
}

static pq_status add_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    const add_state *s = (const add_state *)node->fast;
    (void)scratch;
    (void)part;
    (void)n_parts;
    return pq_add_s8_fast(s->isa, (const pq_add_params *)node->params, s->n, PQ_IN(node, t, 0), PQ_IN(node, t, 1),
                          PQ_OUT(node, t));
}

static const char *add_name(const pq_node *node) {
    (void)node;
    return "fast-add";
}

const pq_fast_op pq_add_s8_fast_op = {add_plan, add_prepare, add_eval, NULL, add_name};
