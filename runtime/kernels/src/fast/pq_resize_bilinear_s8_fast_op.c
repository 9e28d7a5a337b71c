/*
 * RESIZE_BILINEAR's fast hooks (pq_fast_ops.h): the reference kernel's loop itself, so the op
 * runs under the fast interpreter with the reference's bytes by construction. It already
 * hoists the row and column tables out of the channel loop; nothing wider is worth it yet
 * (no model picoq targets spends measurable time here).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"
#include "pq_kernels.h"

typedef struct {
    int32_t unused; /* the hooks need a state block to point node->fast at */
} rb_state;

static int rb_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes, size_t *scratch_bytes) {
    (void)node;
    (void)t;
    (void)isa;
    *state_bytes = sizeof(rb_state);
    *scratch_bytes = 0;
    return 1;
}

static pq_status rb_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    (void)t;
    (void)isa;
    node->fast = state;
    return PQ_OK;
}

static pq_status rb_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    const pq_tensor *x = &t[node->io[0]], *y = &t[node->io[3]];
    (void)scratch;
    (void)part;
    (void)n_parts;
    return pq_resize_bilinear_s8(x->dims[0], x->dims[1], x->dims[2], x->dims[3], y->dims[1], y->dims[2],
                                 (const int32_t *)t[node->io[1]].data, (const int32_t *)t[node->io[2]].data,
                                 (const int8_t *)x->data, (int8_t *)y->data);
}

static const char *rb_name(const pq_node *node) {
    (void)node;
    return "fast-resize-bilinear";
}

const pq_fast_op pq_resize_bilinear_s8_fast_op = {rb_plan, rb_prepare, rb_eval, NULL, rb_name};
