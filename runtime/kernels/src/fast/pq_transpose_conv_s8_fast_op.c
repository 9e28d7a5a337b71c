/*
 * TRANSPOSE_CONV's fast hooks (pq_fast_ops.h): the reference kernel's gather, so the op runs
 * under the fast interpreter with the reference's bytes by construction and, like it, with no
 * scratch. A packed or GEMM form is future work: no model picoq targets spends measurable
 * time in transposed convolutions yet.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"
#include "pq_kernels.h"

typedef struct {
    int32_t unused; /* the hooks need a state block to point node->fast at */
} tc_state;

static int tc_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes, size_t *scratch_bytes) {
    (void)node;
    (void)t;
    (void)isa;
    *state_bytes = sizeof(tc_state);
    *scratch_bytes = 0;
    return 1;
}

static pq_status tc_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    (void)t;
    (void)isa;
    node->fast = state;
    return PQ_OK;
}

static pq_status tc_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    const pq_conv_operands a = pq_conv_operands_of(node, t);
    (void)scratch;
    (void)part;
    (void)n_parts;
    return pq_transpose_conv_s8(a.p, a.mult, (const int32_t *)a.shift, &a.in, (const int8_t *)a.x, &a.filter,
                                (const int8_t *)a.w, (const int32_t *)a.bias, &a.out, (int8_t *)a.y);
}

static const char *tc_name(const pq_node *node) {
    (void)node;
    return "fast-transpose-conv";
}

const pq_fast_op pq_transpose_conv_s8_fast_op = {tc_plan, tc_prepare, tc_eval, NULL, tc_name};
