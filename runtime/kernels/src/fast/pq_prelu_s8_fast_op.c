/*
 * PRELU's fast hooks (pq_fast_ops.h): with its alpha constant, each output byte depends on the
 * input byte and on which alpha value it meets, so `prepare` runs the reference kernel on all
 * 256 input values once per alpha value and `eval` is a lookup in that value's table. The
 * outputs are the reference kernel's bytes by construction.
 *
 * Taken when the dims where alpha varies are one run of x's dims (per channel channels-last:
 * [C]; channels-first: [C, 1, 1]; per element; one slope): x is then [outer, A, inner] with
 * alpha value j for every x[o, j, i]. At most PRELU_MAX_TABLES values (256 bytes of state each).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pq_fast_bind.h"

#define PRELU_MAX_TABLES 2048

typedef struct {
    int32_t outer, n_alpha, inner;
    int32_t pad_; /* the tables start 16-byte aligned */
    uint8_t tables[];
} prelu_state;

/* x as [outer, n_alpha, inner]; 0 when the dims where alpha varies are not one run of x's
 * (dims of extent 1 in x neither break a run nor count). */
static int prelu_shape(const pq_node *node, const pq_tensor *t, int32_t *outer, int32_t *n_alpha, int32_t *inner) {
    const pq_tensor *x = &t[node->io[0]], *a = &t[node->io[1]];
    const int32_t lead = x->rank - a->rank;
    int32_t d, first = -1, last = -1, ended = 0;
    if (lead < 0 || !a->is_const) return 0;
    for (d = 0; d < x->rank; ++d) {
        const int32_t ad = d >= lead ? a->dims[d - lead] : 1, xd = x->dims[d];
        if (xd == 1) continue;
        if (ad == 1) {
            ended = first >= 0;
            continue;
        }
        if (ad != xd || ended) return 0;
        if (first < 0) first = d;
        last = d;
    }
    *outer = *n_alpha = *inner = 1;
    for (d = 0; d < x->rank; ++d) {
        int32_t *part = first < 0 || d > last ? inner : d < first ? outer : n_alpha;
        *part *= x->dims[d];
    }
    return *n_alpha == a->count;
}

static int prelu_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes, size_t *scratch_bytes) {
    int32_t outer, n_alpha, inner;
    (void)isa;
    if (!prelu_shape(node, t, &outer, &n_alpha, &inner) || n_alpha > PRELU_MAX_TABLES) return 0;
    *state_bytes = sizeof(prelu_state) + (size_t)n_alpha * 256u;
    *scratch_bytes = 0;
    return 1;
}

static pq_status prelu_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    prelu_state *s = (prelu_state *)state;
    pq_tensor alpha = t[node->io[1]];
    int32_t j;
    (void)isa;
    if (!prelu_shape(node, t, &s->outer, &s->n_alpha, &s->inner)) return PQ_ERR_PARAM;
    /* alpha as one value: the reference kernel's broadcast over the 256 inputs */
    alpha.rank = 1;
    alpha.count = alpha.dims[0] = 1;
    for (j = 0; j < s->n_alpha; ++j) {
        pq_status st;
        alpha.data = (int8_t *)t[node->io[1]].data + j;
        st = pq_fast_tabulate(node, t, &alpha, s->tables + (size_t)j * 256u);
        if (st != PQ_OK) return st;
    }
    node->fast = s;
    return PQ_OK;
}

static pq_status prelu_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    const prelu_state *s = (const prelu_state *)node->fast;
    const uint8_t *x = (const uint8_t *)PQ_IN(node, t, 0);
    uint8_t *y = (uint8_t *)PQ_OUT(node, t);
    int32_t o, j, i;
    (void)scratch;
    (void)part;
    (void)n_parts;
    for (o = 0; o < s->outer; ++o) {
        for (j = 0; j < s->n_alpha; ++j) {
            const uint8_t *tab = s->tables + (size_t)j * 256u;
            for (i = 0; i < s->inner; ++i) y[i] = tab[x[i]];
            x += s->inner;
            y += s->inner;
        }
    }
    return PQ_OK;
}

static const char *prelu_name(const pq_node *node) {
    (void)node;
    return "fast-prelu";
}

const pq_fast_op pq_prelu_s8_fast_op = {prelu_plan, prelu_prepare, prelu_eval, NULL, prelu_name};
