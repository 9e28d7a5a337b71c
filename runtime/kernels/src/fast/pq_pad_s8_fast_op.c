/*
 * PAD's fast hooks (pq_fast_ops.h): portable C on every isa, no scratch. State: the plan
 * (pq_pad_fast_plan), built from the reference kernel's own arguments. The 16x8 PAD
 * (pq_variants.def s16) runs the same byte plan with the last dim and its padding doubled, as
 * its reference kernel does: its pad value is 0 (the contract's), 0 in both bytes.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"

/* The plan of the node's tensors over bytes (an int16 value: 2 bytes of the last dim); the
 * output must be the padded input (the validator's check). */
static pq_status pad_plan(const pq_node *node, const pq_tensor *t, pq_pad_fast_plan *plan) {
    const pq_tensor *x = &t[node->io[0]], *y = &t[node->io[1]];
    const int32_t elem = x->dtype == PQ_DT_INT16 ? 2 : 1, last = (int32_t)x->rank - 1;
    pq_pad_params p = *(const pq_pad_params *)node->params;
    int32_t d, in_bytes[PQ_MAX_DIMS];
    if (node->n_inputs != 1 || x->rank != y->rank || x->rank < 1 || x->rank > PQ_MAX_DIMS) return PQ_ERR_PARAM;
    if (x->dtype != y->dtype || (elem == 2 && p.pad_value != 0)) return PQ_ERR_PARAM;
    for (d = 0; d <= last; ++d) {
        if ((int64_t)p.pads[d][0] + x->dims[d] + p.pads[d][1] != y->dims[d]) return PQ_ERR_PARAM;
        in_bytes[d] = x->dims[d];
    }
    in_bytes[last] *= elem; /* dims and pads <= 2^24 (the validator): no overflow */
    p.pads[last][0] *= elem;
    p.pads[last][1] *= elem;
    return pq_pad_s8_fast_plan(&p, (int32_t)x->rank, in_bytes, plan) == PQ_OK ? PQ_OK : PQ_ERR_PARAM;
}

static int pad_fast_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes,
                         size_t *scratch_bytes) {
    pq_pad_fast_plan plan;
    (void)isa;
    return pq_fast_plan_sized(pad_plan(node, t, &plan), sizeof plan, state_bytes, scratch_bytes);
}

static pq_status pad_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    (void)isa;
    return pq_fast_prepared(node, pad_plan(node, t, (pq_pad_fast_plan *)state), state);
}

static pq_status pad_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    (void)scratch;
    (void)part;
    (void)n_parts;
    return pq_pad_s8_fast((const pq_pad_fast_plan *)node->fast, PQ_IN(node, t, 0), PQ_OUT(node, t));
}

static const char *pad_name(const pq_node *node) {
    (void)node;
    return "fast-pad";
}

const pq_fast_op pq_pad_s8_fast_op = {pad_fast_plan, pad_prepare, pad_eval, NULL, pad_name};
const pq_fast_op pq_pad_s16_fast_op = {pad_fast_plan, pad_prepare, pad_eval, NULL, pad_name};
