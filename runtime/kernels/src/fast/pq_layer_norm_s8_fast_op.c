/*
 * LAYER_NORM's fast hooks (pq_fast_ops.h), on every isa: the reference kernel on the operands
 * bound at prepare. Its per-value step is two 64-bit products; a table of the normalised
 * value per int8 value of a row, or int32 row sums, measured no faster on x86-64 (a 96- and a
 * 768-value row, ConvNeXt-tiny's), so the fast path is the reference arithmetic itself and
 * its bytes are the reference's by construction. State: rows, row length, gamma and beta.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"

typedef struct {
    int32_t rows, n;
    const int32_t *gamma, *beta;
} layer_norm_state;

static int layer_norm_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes,
                           size_t *scratch_bytes) {
    const pq_tensor *x = &t[node->io[0]];
    (void)isa;
    if (node->n_inputs != 3 || x->rank < 1 || x->dims[x->rank - 1] > PQ_LAYER_NORM_MAX_ROW) return 0;
    *state_bytes = sizeof(layer_norm_state);
    *scratch_bytes = 0;
    return 1;
}

static pq_status layer_norm_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    layer_norm_state *s = (layer_norm_state *)state;
    const pq_tensor *x = &t[node->io[0]];
    (void)isa;
    s->n = x->dims[x->rank - 1];
    s->rows = x->count / s->n;
    s->gamma = (const int32_t *)t[node->io[1]].data;
    s->beta = (const int32_t *)t[node->io[2]].data;
    node->fast = s;
    return PQ_OK;
}

static pq_status layer_norm_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part,
                                 int32_t n_parts) {
    const layer_norm_state *s = (const layer_norm_state *)node->fast;
    (void)scratch;
    (void)part;
    (void)n_parts;
    return pq_layer_norm_s8((const pq_layer_norm_params *)node->params, s->rows, s->n, s->gamma, s->beta,
                            PQ_IN(node, t, 0), PQ_OUT(node, t));
}

static const char *layer_norm_name(const pq_node *node) {
    (void)node;
    return "fast-layer-norm";
}

const pq_fast_op pq_layer_norm_s8_fast_op = {layer_norm_plan, layer_norm_prepare, layer_norm_eval, NULL,
                                             layer_norm_name};
