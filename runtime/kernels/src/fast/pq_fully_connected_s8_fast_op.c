/*
 * FULLY_CONNECTED's fast hooks (pq_fast_ops.h): filter_offset 0 only (weights
 * plus an offset may leave int8), one GEMM whose rows are the batches. State:
 * the plan, the packed weights, the folded biases, the four per-channel arrays.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"
#include "pq_fast_split.h"

typedef struct {
    pq_gemm_s8_plan g;
    int32_t batches;
} fc_state;

static int fc_geometry(const pq_node *node, const pq_tensor *t, int isa, fc_state *s) {
    const pq_fc_params *p = (const pq_fc_params *)node->params;
    const pq_tensor *w = &t[node->io[1]];
    if (p->filter_offset != 0) return 0;
    memset(s, 0, sizeof *s);
    s->g.n = w->dims[0];
    s->g.k = w->dims[1];
    s->batches = t[node->io[0]].count / s->g.k;
    isa = pq_gemm_isa(isa, PQ_FEED_DIRECT, s->g.n, s->g.k, s->batches);
    s->g.isa = isa;
    s->g.np = pq_gemm_s8_np(isa, s->g.n);
    s->g.kp = pq_gemm_s8_kp(isa, s->g.k);
    return 1;
}

static fc_state *fc_layout(pq_bump *b, const fc_state *geo) {
    fc_state *s = (fc_state *)pq_bump_take(b, sizeof *s);
    int8_t *w = (int8_t *)pq_bump_take(b, pq_gemm_s8_packed_size(geo->g.isa, geo->g.n, geo->g.k));
    int32_t *bias = (int32_t *)pq_bump_take(b, (size_t)geo->g.np * sizeof(int32_t));
    int32_t *arr = (int32_t *)pq_bump_take(b, 4u * (size_t)geo->g.np * sizeof(int32_t));
    if (s == NULL) return NULL;
    *s = *geo;
    s->g.w = w;
    s->g.rq.bias = bias;
    s->g.rq.mult = arr;
    return s;
}

static int fc_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes, size_t *scratch_bytes) {
    fc_state geo;
    pq_bump b = {NULL, 0};
    if (!fc_geometry(node, t, isa, &geo)) return 0;
    fc_layout(&b, &geo);
    *state_bytes = b.used;
    *scratch_bytes = pq_gemm_s8_scratch_size(geo.g.isa, geo.g.k);
    return 1;
}

static pq_status fc_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    const pq_fc_params *p = (const pq_fc_params *)node->params;
    const int32_t *bias_in = node->io[2] < 0 ? NULL : (const int32_t *)t[node->io[2]].data;
    fc_state geo, *s;
    pq_gemm_s8_plan *g;
    pq_bump b = {(uint8_t *)state, 0};
    if (!fc_geometry(node, t, isa, &geo)) return PQ_ERR_PARAM;
    s = fc_layout(&b, &geo);
    g = &s->g;
    pq_gemm_s8_pack(g->isa, g->n, g->k, PQ_IN(node, t, 1), (int8_t *)g->w);
    g->pair16 = pq_gemm_s8_pair16((size_t)g->n * (size_t)g->k, PQ_IN(node, t, 1));
    pq_gemm_s8_fold_bias(g->isa, g->n, g->np, g->k, PQ_IN(node, t, 1), bias_in, p->input_offset,
                         (int32_t *)g->rq.bias);
    pq_fast_requant(&g->rq, (int32_t *)g->rq.mult, g->n, g->np, (const int32_t *)t[node->io[3]].data,
                    (const int32_t *)t[node->io[4]].data, p->per_channel, p->output_offset, p->act_min, p->act_max);
    node->fast = s;
    return PQ_OK;
}

static void fc_split(pq_node *node, const pq_tensor *t, int isa, int32_t num_threads, int64_t min_parallel_ns) {
    const fc_state *s = (const fc_state *)node->fast;
    pq_split_shape sh;
    (void)t;
    sh.m = s->batches;
    sh.macs = (int64_t)s->batches * s->g.n * s->g.k;
    sh.dw = 0;
    sh.rows = s->batches;
    sh.unit = PQ_SPLIT_GEMM_ROWS;
    sh.cols = s->g.n;
    pq_fast_split_choose(node, &sh, isa, num_threads, min_parallel_ns);
}

static pq_status fc_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    const fc_state *s = (const fc_state *)node->fast;
    if (n_parts <= 1) return pq_fully_connected_s8_fast(&s->g, s->batches, PQ_IN(node, t, 0), PQ_OUT(node, t), scratch);
    return pq_fully_connected_s8_fast_part(&s->g, s->batches, PQ_IN(node, t, 0), PQ_OUT(node, t), scratch,
                                           node->split, node->col_unit, part, n_parts);
}

static const char *fc_name(const pq_node *node) {
    const fc_state *s = (const fc_state *)node->fast;
    return pq_isa_traits_get(s->g.isa)->amx_tiles ? "fast-fc-amx" : "fast-fc";
}

const pq_fast_op pq_fully_connected_s8_fast_op = {fc_plan, fc_prepare, fc_eval, fc_split, fc_name};
