/*
 * SLICE's fast hooks (pq_fast_ops.h): the reference kernel (one memcpy per innermost row of the
 * box) on the shapes with dims merged at prepare. A dim the box spans whole merges into the
 * dim outside it (a crop of H in NHWC: one copy per image row band instead of one per pixel,
 * dims of extent 1 vanish). Any copy is exact. The 16x8 SLICE (pq_variants.def s16) runs the
 * same byte copies on the innermost merged dim's extent and begin doubled: an int16 box is
 * the byte box of twice its width. When the box is one contiguous run of the input and the
 * memory plan put the output on that run's own bytes (converter/plan.py; the validator allows
 * exactly that overlap, pq_model_graph.c), there is nothing to move: "alias".
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"

typedef struct {
    pq_slice_params p; /* begins of the merged dims */
    int32_t rank, in_shape[PQ_MAX_DIMS], out_shape[PQ_MAX_DIMS];
    int32_t aliased; /* the output is the run's own bytes */
} slice_state;

static int slice_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes, size_t *scratch_bytes) {
    (void)node;
    (void)t;
    (void)isa;
    *state_bytes = sizeof(slice_state);
    *scratch_bytes = 0;
    return 1;
}

static pq_status slice_prepare_bytes(pq_node *node, const pq_tensor *t, void *state, int32_t elem_bytes) {
    slice_state *s = (slice_state *)state;
    const pq_tensor *x = &t[node->io[0]], *y = &t[node->io[1]];
    const pq_slice_params *p = (const pq_slice_params *)node->params;
    int32_t d, n = 0;
    if (x->rank < 1 || x->rank > PQ_MAX_DIMS || y->rank != x->rank) return PQ_ERR_PARAM;
    for (d = 0; d < x->rank; ++d) {
        const int32_t in = x->dims[d], out = y->dims[d], b = p->begin[d];
        if (n > 0 && out == in) {
            /* the box spans this dim whole (begin 0 by the contract): it merges into the dim
             * outside, whose box rows then run contiguously through it */
            s->in_shape[n - 1] *= in;
            s->out_shape[n - 1] *= in;
            s->p.begin[n - 1] *= in;
            continue;
        }
        s->in_shape[n] = in;
        s->out_shape[n] = out;
        s->p.begin[n] = b;
        ++n;
    }
    s->in_shape[n - 1] *= elem_bytes; /* n >= 1: the first dim always opens one */
    s->out_shape[n - 1] *= elem_bytes;
    s->p.begin[n - 1] *= elem_bytes;
    for (d = n; d < PQ_MAX_DIMS; ++d) s->p.begin[d] = 0;
    s->rank = n;
    /* One contiguous run when every merged dim but the last has extent 1 in the box; it starts
     * at the box's first byte, the begins times the merged strides. */
    s->aliased = 1;
    for (d = 0; d + 1 < n; ++d) s->aliased &= s->out_shape[d] == 1;
    if (s->aliased) {
        size_t start = (size_t)s->p.begin[n - 1];
        size_t stride = (size_t)s->in_shape[n - 1];
        for (d = n - 2; d >= 0; --d) {
            start += (size_t)s->p.begin[d] * stride;
            stride *= (size_t)s->in_shape[d];
        }
        s->aliased = (const int8_t *)x->data + start == (const int8_t *)y->data;
    }
    node->fast = s;
    return PQ_OK;
}

static pq_status slice_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    (void)isa;
    return slice_prepare_bytes(node, t, state, 1);
}

static pq_status slice_s16_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    (void)isa;
    return slice_prepare_bytes(node, t, state, 2);
}

static pq_status slice_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    const slice_state *s = (const slice_state *)node->fast;
    (void)scratch;
    (void)part;
    (void)n_parts;
    if (s->aliased) return PQ_OK;
    return pq_slice_s8(&s->p, s->rank, s->in_shape, s->out_shape, PQ_IN(node, t, 0), PQ_OUT(node, t));
}

static const char *slice_name(const pq_node *node) {
    return ((const slice_state *)node->fast)->aliased ? "alias" : "fast-slice";
}

const pq_fast_op pq_slice_s8_fast_op = {slice_plan, slice_prepare, slice_eval, NULL, slice_name};
const pq_fast_op pq_slice_s16_fast_op = {slice_plan, slice_s16_prepare, slice_eval, NULL, slice_name};
