/*
 * LAYER_NORM's fast hooks (pq_fast_ops.h), on every isa: each row's sum and sum of squares in
 * int32 lanes the compiler vectorises (a row holds at most 2^15 values, so |sum| < 2^22 and
 * the sum of squares < 2^29), then the reference's per-row arithmetic (pq_layer_norm_row_s8):
 * the same integers, so the same bytes. State: rows, row length, gamma and beta.
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
    const pq_layer_norm_params *p = (const pq_layer_norm_params *)node->params;
    const int8_t *x = PQ_IN(node, t, 0);
    int8_t *y = PQ_OUT(node, t);
    const int32_t n = s->n;
    int32_t r, c;
    (void)scratch;
    (void)part;
    (void)n_parts;
    for (r = 0; r < s->rows; ++r) {
        const int8_t *row = x + (size_t)r * n;
        int32_t sum = 0, sq = 0;
        pq_status st;
        for (c = 0; c < n; ++c) {
            sum += row[c];
            sq += (int32_t)row[c] * row[c];
        }
        st = pq_layer_norm_row_s8(p, n, sum, sq, s->gamma, s->beta, row, y + (size_t)r * n);
        if (st != PQ_OK) return st;
    }
    return PQ_OK;
}

static const char *layer_norm_name(const pq_node *node) {
    (void)node;
    return "fast-layer-norm";
}

const pq_fast_op pq_layer_norm_s8_fast_op = {layer_norm_plan, layer_norm_prepare, layer_norm_eval, NULL,
                                             layer_norm_name};
