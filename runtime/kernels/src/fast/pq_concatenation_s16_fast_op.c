/*
 * CONCATENATION 16x8's fast hooks (pq_fast_ops.h): portable C on every isa. What TFLM runs for
 * int16 is a copy, and the converter imports nothing else (every requant row the identity,
 * (2^30, 1, 0) with output offset 0): one memcpy per input per outer slice. A file with another
 * row keeps the reference kernel. State: the plan, the byte count of each input's chunk.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pq_fast_bind.h"

typedef struct {
    int32_t n, outer;
    int32_t chunk[PQ_MAX_CONCAT_INPUTS]; /* bytes of input k per outer slice */
} concat16_layout;

static int concat16_plan_of(const pq_node *node, const pq_tensor *t, concat16_layout *pl) {
    const pq_concat_params *p = (const pq_concat_params *)node->params;
    const int32_t n = (int32_t)node->n_inputs - 1; /* data inputs; the last input is the requant table */
    const pq_tensor *y = &t[node->io[node->n_inputs]], *rq;
    const int32_t *row;
    int64_t inner = 1, total = 0;
    int32_t k, d;
    if (n < 1 || n > PQ_MAX_CONCAT_INPUTS || p->axis < 0 || p->axis >= (int32_t)y->rank || p->output_offset != 0) {
        return 0;
    }
    rq = &t[node->io[n]];
    if (rq->data == NULL || rq->dtype != PQ_DT_INT32 || rq->rank != 2 || rq->dims[0] != n || rq->dims[1] != 3) return 0;
    row = (const int32_t *)rq->data;
    for (k = 0; k < n; ++k) {
        if (row[3 * k] != (1 << 30) || row[3 * k + 1] != 1 || row[3 * k + 2] != 0) return 0;
    }
    pl->n = n;
    pl->outer = 1;
    for (d = 0; d < (int32_t)y->rank; ++d) {
        if (d < p->axis) pl->outer *= y->dims[d];
        if (d > p->axis) inner *= y->dims[d];
    }
    for (k = 0; k < n; ++k) {
        const pq_tensor *x = &t[node->io[k]];
        if (x->rank != y->rank) return 0;
        for (d = 0; d < (int32_t)y->rank; ++d) {
            if (d != p->axis && x->dims[d] != y->dims[d]) return 0;
        }
        pl->chunk[k] = (int32_t)(2 * inner * x->dims[p->axis]);
        total += pl->chunk[k];
    }
    return total * pl->outer == 2 * (int64_t)y->count;
}

static int concat16_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes,
                         size_t *scratch_bytes) {
    concat16_layout pl;
    (void)isa;
    return pq_fast_plan_sized(concat16_plan_of(node, t, &pl) ? PQ_OK : PQ_ERR_PARAM, sizeof pl, state_bytes,
                              scratch_bytes);
}

static pq_status concat16_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    (void)isa;
    return pq_fast_prepared(node, concat16_plan_of(node, t, (concat16_layout *)state) ? PQ_OK : PQ_ERR_PARAM, state);
}

static pq_status concat16_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part,
                               int32_t n_parts) {
    const concat16_layout *pl = (const concat16_layout *)node->fast;
    uint8_t *dst = (uint8_t *)PQ_OUT(node, t);
    int32_t o, k;
    (void)scratch;
    (void)part;
    (void)n_parts;
    for (o = 0; o < pl->outer; ++o) {
        for (k = 0; k < pl->n; ++k) {
            memcpy(dst, (const uint8_t *)PQ_IN(node, t, k) + (int64_t)o * pl->chunk[k], (size_t)pl->chunk[k]);
            dst += pl->chunk[k];
        }
    }
    return PQ_OK;
}

static const char *concat16_name(const pq_node *node) {
    (void)node;
    return "fast-concat-s16";
}

const pq_fast_op pq_concatenation_s16_fast_op = {concat16_plan, concat16_prepare, concat16_eval, NULL,
                                                 concat16_name};
