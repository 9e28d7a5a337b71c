/*
 * GATHER's fast hooks (pq_fast_ops.h): the reference's row copies with the geometry computed
 * once, and rows of one byte (a gather along x's last dim) as a byte loop instead of a memcpy
 * each. The indices are constant (the contract), so prepare checks every one is inside the
 * axis once; an index out of range leaves the op to the reference kernel, which refuses it.
 * Any copy is exact.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pq_fast_bind.h"

typedef struct {
    int32_t batch, outer, axis_size, inner, n_index;
} gather_state;

static int gather_geometry(const pq_node *node, const pq_tensor *t, gather_state *s) {
    const pq_tensor *x = &t[node->io[0]], *i = &t[node->io[1]];
    int32_t z[5];
    if (pq_gather_geometry((const pq_gather_params *)node->params, x->rank, x->dims, i->rank, i->dims, z) != PQ_OK) {
        return 0;
    }
    s->batch = z[0];
    s->outer = z[1];
    s->axis_size = z[2];
    s->inner = z[3];
    s->n_index = z[4];
    return 1;
}

static int gather_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes,
                       size_t *scratch_bytes) {
    gather_state s;
    (void)isa;
    return pq_fast_plan_sized(gather_geometry(node, t, &s) ? PQ_OK : PQ_ERR_PARAM, sizeof s, state_bytes,
                              scratch_bytes);
}

static pq_status gather_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    gather_state *s = (gather_state *)state;
    const int32_t *idx = (const int32_t *)t[node->io[1]].data;
    int32_t k, n;
    (void)isa;
    if (!gather_geometry(node, t, s) || !t[node->io[1]].is_const) return PQ_ERR_PARAM;
    n = s->batch * s->n_index; /* the indices' count */
    for (k = 0; k < n; ++k) {
        if (idx[k] < 0 || idx[k] >= s->axis_size) return PQ_ERR_PARAM;
    }
    node->fast = s;
    return PQ_OK;
}

static pq_status gather_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part,
                             int32_t n_parts) {
    const gather_state *s = (const gather_state *)node->fast;
    const int32_t *idx = (const int32_t *)t[node->io[1]].data;
    const int8_t *in = PQ_IN(node, t, 0);
    int8_t *out = PQ_OUT(node, t);
    int32_t b, o, c;
    (void)scratch;
    (void)part;
    (void)n_parts;
    if (s->inner != 1) {
        return pq_gather_s8(s->batch, s->outer, s->axis_size, s->inner, s->n_index, idx, in, out);
    }
    for (b = 0; b < s->batch; ++b) {
        const int32_t *ib = idx + (size_t)b * (size_t)s->n_index;
        for (o = 0; o < s->outer; ++o, in += s->axis_size) {
            for (c = 0; c < s->n_index; ++c) *out++ = in[ib[c]];
        }
    }
    return PQ_OK;
}

static const char *gather_name(const pq_node *node) {
    (void)node;
    return "fast-gather";
}

const pq_fast_op pq_gather_s8_fast_op = {gather_plan, gather_prepare, gather_eval, NULL, gather_name};
