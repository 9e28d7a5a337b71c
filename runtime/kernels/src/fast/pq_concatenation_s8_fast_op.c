/*
 * CONCATENATION's fast hooks (pq_fast_ops.h): portable C on every isa, no scratch. State: the
 * plan (pq_concat_fast_plan), then a 256-byte table per input that needs requantizing, filled
 * at prepare by the reference kernel itself run on the 256 int8 values with that input's
 * requant row, so the table gives the reference's bytes by construction.
 *
 * The requant rows are a constant tensor of the file, bound in `plan` too: which inputs need a
 * table decides the state's size.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"

/* The plan of the node's tensors, checked as the validator does (an input's dims must be the
 * output's but on the axis; the requant table int32[inputs, 3]). */
static pq_status concat_plan(const pq_node *node, const pq_tensor *t, pq_concat_fast_plan *plan) {
    const pq_concat_params *p = (const pq_concat_params *)node->params;
    const pq_tensor *y = &t[node->io[node->n_inputs]], *rq;
    const int32_t n = (int32_t)node->n_inputs - 1; /* data inputs; the last input is the requant table */
    int32_t axis_sizes[PQ_MAX_CONCAT_INPUTS];
    int32_t outer = 1, inner = 1, k, d;
    if (n < 1 || n > PQ_MAX_CONCAT_INPUTS || p->axis < 0 || p->axis >= (int32_t)y->rank) return PQ_ERR_PARAM;
    rq = &t[node->io[n]];
    if (rq->data == NULL || rq->dtype != 2 || rq->rank != 2 || rq->dims[0] != n || rq->dims[1] != 3) {
        return PQ_ERR_PARAM;
    }
    for (k = 0; k < n; ++k) {
        const pq_tensor *x = &t[node->io[k]];
        if (x->rank != y->rank) return PQ_ERR_PARAM;
        for (d = 0; d < (int32_t)y->rank; ++d) {
            if (d != p->axis && x->dims[d] != y->dims[d]) return PQ_ERR_PARAM;
        }
        axis_sizes[k] = x->dims[p->axis];
    }
    for (d = 0; d < (int32_t)y->rank; ++d) {
        if (d < p->axis) outer *= y->dims[d];
        if (d > p->axis) inner *= y->dims[d];
    }
    if (pq_concatenation_s8_fast_plan(n, axis_sizes, (const int32_t *)rq->data, p->output_offset, outer, inner,
                                      plan) != PQ_OK) {
        return PQ_ERR_PARAM;
    }
    return (int64_t)plan->outer * plan->out_row == y->count ? PQ_OK : PQ_ERR_PARAM;
}

static int concat_fast_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes,
                            size_t *scratch_bytes) {
    pq_concat_fast_plan plan;
    const pq_status st = concat_plan(node, t, &plan);
    (void)isa;
    return pq_fast_plan_sized(st, sizeof plan + 256u * (size_t)plan.n_tables, state_bytes, scratch_bytes);
}

static pq_status concat_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    pq_concat_fast_plan *plan = (pq_concat_fast_plan *)state;
    uint8_t *tables = (uint8_t *)state + sizeof *plan;
    const pq_concat_params *p = (const pq_concat_params *)node->params;
    const int32_t *requant;
    int8_t every[256];
    const int8_t *every_p = every;
    const int32_t n256 = 256;
    int32_t k;
    (void)isa;
    if (concat_plan(node, t, plan) != PQ_OK) return PQ_ERR_PARAM;
    requant = (const int32_t *)t[node->io[plan->n_inputs]].data;
    for (k = 0; k < 256; ++k) every[k] = (int8_t)(uint8_t)k; /* byte k holds the input whose bits are k */
    for (k = 0; k < plan->n_inputs; ++k) {
        if (plan->table[k] >= 0) {
            /* One input of 256 elements, one row: the reference's arithmetic on every value. */
            pq_status st = pq_concatenation_s8(1, &every_p, &n256, requant + 3 * k, p->output_offset, 1, 1,
                                               (int8_t *)(tables + 256u * (size_t)plan->table[k]));
            if (st != PQ_OK) return st;
        }
    }
    node->fast = state;
    return PQ_OK;
}

static pq_status concat_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    const pq_concat_fast_plan *plan = (const pq_concat_fast_plan *)node->fast;
    const int8_t *inputs[PQ_MAX_CONCAT_INPUTS];
    int32_t k;
    (void)scratch;
    (void)part;
    (void)n_parts;
    for (k = 0; k < plan->n_inputs; ++k) inputs[k] = PQ_IN(node, t, k);
    return pq_concatenation_s8_fast(plan, (const uint8_t *)node->fast + sizeof *plan, inputs, PQ_OUT(node, t));
}

static const char *concat_name(const pq_node *node) {
    (void)node;
    return "fast-concat";
}

const pq_fast_op pq_concatenation_s8_fast_op = {concat_fast_plan, concat_prepare, concat_eval, NULL, concat_name};
