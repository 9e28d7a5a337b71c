/*
 * RESHAPE's fast hooks (pq_fast_ops.h). A reshape is the same bytes under another shape, and
 * the converter's memory plan gives its output its input's arena bytes (converter/plan.py; the
 * validator allows exactly that overlap, pq_model_graph.c), so usually there is nothing to do:
 * "alias". Otherwise (a constant input, or a file planned elsewhere) the bytes are copied with
 * one memcpy, "fast-copy": the validator guarantees two different tensors of one op do not
 * share bytes, so they cannot partly overlap (the reference uses memmove anyway).
 * Which case a node is is known at prepare, when the data pointers are bound. State: whether
 * the bytes are aliased, and the byte count. The same hooks serve RESHAPE 16x8 (two bytes a value).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pq_fast_bind.h"

typedef struct {
    int32_t aliased, n;
} reshape_state;

static int reshape_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes,
                        size_t *scratch_bytes) {
    (void)isa;
    if (node->n_inputs != 1 || t[node->io[0]].count != t[node->io[1]].count) return 0;
    *state_bytes = sizeof(reshape_state);
    *scratch_bytes = 0;
    return 1;
}

static pq_status reshape_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    reshape_state *s = (reshape_state *)state;
    (void)isa;
    if (node->n_inputs != 1 || t[node->io[0]].count != t[node->io[1]].count) return PQ_ERR_PARAM;
    s->n = t[node->io[0]].count * (t[node->io[0]].dtype == PQ_DT_INT16 ? 2 : 1);
    s->aliased = t[node->io[0]].data == t[node->io[1]].data;
    node->fast = s;
    return PQ_OK;
}

static pq_status reshape_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part,
                              int32_t n_parts) {
    const reshape_state *s = (const reshape_state *)node->fast;
    (void)scratch;
    (void)part;
    (void)n_parts;
    if (!s->aliased) memcpy(PQ_OUT(node, t), PQ_IN(node, t, 0), (size_t)s->n);
    return PQ_OK;
}

static const char *reshape_name(const pq_node *node) {
    return ((const reshape_state *)node->fast)->aliased ? "alias" : "fast-copy";
}

const pq_fast_op pq_reshape_s8_fast_op = {reshape_plan, reshape_prepare, reshape_eval, NULL, reshape_name};
const pq_fast_op pq_reshape_s16_fast_op = {reshape_plan, reshape_prepare, reshape_eval, NULL, reshape_name};
