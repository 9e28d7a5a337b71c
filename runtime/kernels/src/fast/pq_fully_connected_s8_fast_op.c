/*
 * FULLY_CONNECTED's fast hooks (pq_fast_ops.h): filter_offset 0 only (weights
 * plus an offset may leave int8), one GEMM whose rows are the batches. State:
 * the plan, the packed weights, the folded biases, the four per-channel arrays.
 * On AVX2, a few batches with no weight -128 run the int8-weight kernel of
 * pq_fully_connected_s8_avx2.c instead of the int16 GEMM (its own packing,
 * same bias folding and requantization constants).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"
#include "pq_fast_isa.h"
#include "pq_fast_split.h"

/* Batches up to which the AVX2 int8-weight kernel runs: it streams the weights once per 2 rows,
 * the GEMM once per 4. */
#define FC_I8_MAX_BATCHES 4

typedef struct {
    pq_gemm_s8_plan g;
    int32_t batches;
    int32_t i8; /* pq_fc_s8_i8_avx2's plan: g.w in its layout, np and kp rounded to 8 and 4 */
} fc_state;

/* Whether the AVX2 int8-weight kernel takes this GEMM. An int4 filter (the s4 hooks plan on
 * it, pq_s4_fast_op.c) holds no -128. */
static int fc_i8(int isa, int32_t batches, int32_t n, int32_t k, const pq_tensor *w) {
#if PQ_HAVE_X86_SIMD
    return isa == PQ_ISA_AVX2 && batches <= FC_I8_MAX_BATCHES &&
           (w->dtype == PQ_DT_INT4 || pq_gemm_s8_pair16((size_t)n * (size_t)k, (const int8_t *)w->data));
#else
    (void)isa, (void)batches, (void)n, (void)k, (void)w;
    return 0;
#endif
}

static size_t fc_packed_size(const fc_state *s) {
    if (s->i8) return ((size_t)s->g.np * (size_t)s->g.kp + 63u) / 64u * 64u;
    return pq_gemm_s8_packed_size(s->g.isa, s->g.n, s->g.k);
}

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
    s->i8 = fc_i8(isa, s->batches, s->g.n, s->g.k, w);
    s->g.np = s->i8 ? (s->g.n + 7) / 8 * 8 : pq_gemm_s8_np(isa, s->g.n);
    s->g.kp = s->i8 ? (s->g.k + 3) / 4 * 4 : pq_gemm_s8_kp(isa, s->g.k);
    return 1;
}

static fc_state *fc_layout(pq_bump *b, const fc_state *geo) {
    fc_state *s = (fc_state *)pq_bump_take(b, sizeof *s);
    int8_t *w = (int8_t *)pq_bump_take(b, fc_packed_size(geo));
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
    *scratch_bytes = geo.i8 ? 0 : pq_gemm_s8_scratch_size(geo.g.isa, geo.g.k);
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
#if PQ_HAVE_X86_SIMD
    if (s->i8) pq_fc_s8_pack_i8_avx2(g->n, g->k, g->np, g->kp, PQ_IN(node, t, 1), (int8_t *)g->w);
#endif
    if (!s->i8) pq_gemm_s8_pack(g->isa, g->n, g->k, PQ_IN(node, t, 1), (int8_t *)g->w);
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

/* Part `part` of `parts` on the int8-weight kernel: output channels or batches, as
 * pq_fully_connected_s8_fast_part divides them. */
static void fc_i8_part(const fc_state *s, const int8_t *in, int8_t *out, int32_t split, int32_t col_unit,
                       int32_t part, int32_t parts) {
#if PQ_HAVE_X86_SIMD
    const pq_gemm_s8_plan *g = &s->g;
    int32_t lo = 0, hi = s->batches;
    if (split == PQ_SPLIT_COLS) {
        pq_split_range(g->n, (col_unit + 7) / 8 * 8, part, parts, &lo, &hi);
        if (lo < hi) pq_fc_s8_i8_avx2(g, s->batches, in, g->k, out, g->n, lo, hi);
        return;
    }
    if (split == PQ_SPLIT_ROWS) pq_split_range(s->batches, PQ_SPLIT_GEMM_ROWS, part, parts, &lo, &hi);
    if (lo < hi) {
        pq_fc_s8_i8_avx2(g, hi - lo, in + (size_t)lo * (size_t)g->k, g->k, out + (size_t)lo * (size_t)g->n, g->n, 0,
                         g->n);
    }
#else
    (void)s, (void)in, (void)out, (void)split, (void)col_unit, (void)part, (void)parts;
#endif
}

static pq_status fc_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    const fc_state *s = (const fc_state *)node->fast;
    if (s->i8) {
        fc_i8_part(s, PQ_IN(node, t, 0), PQ_OUT(node, t), n_parts <= 1 ? PQ_SPLIT_NONE : node->split, node->col_unit,
                   part, n_parts);
        return PQ_OK;
    }
    if (n_parts <= 1) return pq_fully_connected_s8_fast(&s->g, s->batches, PQ_IN(node, t, 0), PQ_OUT(node, t), scratch);
    return pq_fully_connected_s8_fast_part(&s->g, s->batches, PQ_IN(node, t, 0), PQ_OUT(node, t), scratch,
                                           node->split, node->col_unit, part, n_parts);
}

static const char *fc_name(const pq_node *node) {
    const fc_state *s = (const fc_state *)node->fast;
    if (s->i8) return "fast-fc-i8";
    return pq_isa_traits_get(s->g.isa)->amx_tiles ? "fast-fc-amx" : "fast-fc";
}

const pq_fast_op pq_fully_connected_s8_fast_op = {fc_plan, fc_prepare, fc_eval, fc_split, fc_name};
