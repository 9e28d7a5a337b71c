/*
 * FULLY_CONNECTED 16x8's fast hooks (pq_fast_ops.h): the weights widened to int16 with the
 * filter offset added at prepare, then per row its vectorised dot products against every unit
 * in one call (pq_s16_fast.h, exact: the reference's int64 sums, kept in scratch), the bias and
 * pq_mbqm64, as the reference kernel. Weights are stored [units][depth] for the per-unit dot
 * products, or, at a depth of at most PQ_S16_CHUNK, by input pairs (pq_s16_cols_pack) for
 * pq_s16_cols_fn, whose int32 sums are exact there and which is several times faster on the
 * short rows of recurrent cells.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"
#include "pq_fast_isa.h"
#include "pq_fast_vec.h"
#include "pq_fixedpoint.h"
#include "pq_s16_fast.h"

typedef struct {
    int32_t rows, depth, units;
    pq_s16_dots_fn dots; /* NULL: by columns */
    pq_s16_cols_fn cols;
    pq_s16_cols8_fn cols8; /* by columns over w8 (else NULL) */
    const int16_t *w; /* weight + filter_offset: [units][depth], or pq_s16_cols_pack's pairs */
    const int8_t *w8; /* pq_s16_cols8_pack's pairs, for cols8 */
    const pq_s16_rq *rq; /* per unit, or one: the requantization's constants (pq_s16_fast.h) */
    /* By columns on AVX2 (else NULL): per unit, m15, bias * m15 + round and the total shift,
     * for pq_s16_requant_cols_avx2. */
    const int32_t *m15;
    const int64_t *bm, *total;
    int32_t rq512; /* the requantization by columns on AVX-512 (pq_s16_requant_cols_avx512) */
} fc16_state;

/* Per unit the constants of pq_s16_requant_cols_avx2, or 0 when a shift is outside [0, 63]. */
static int fill_cols_rq(const pq_s16_rq *rq, int32_t n_rq, const int64_t *bias, int32_t units, int32_t *m15,
                        int64_t *bm, int64_t *total) {
    int32_t u;
    for (u = 0; u < units; ++u) {
        const pq_s16_rq *q = &rq[n_rq > 1 ? u : 0];
        if (q->total < 0 || q->total > 63) return 0;
        m15[u] = (int32_t)q->m15;
        bm[u] = pq_wrap_i64((bias != NULL ? (uint64_t)bias[u] : 0u) * (uint64_t)q->m15 + q->round);
        total[u] = q->total;
    }
    return 1;
}

/* The state laid out by b (base NULL: sizes only; else filled, *out pointing at it). */
static pq_status fc16_layout(const pq_node *node, const pq_tensor *t, int isa, pq_bump *b, void **out) {
    const pq_tensor *w = &t[node->io[1]];
    fc16_state *s = (fc16_state *)pq_bump_take(b, sizeof *s);
    fc16_state g;
    int16_t *wk;
    pq_s16_rq *rq;
    int32_t n_rq;
    const int32_t offset = ((const pq_fc_params *)node->params)->filter_offset;
    g.units = w->dims[0];
    g.depth = w->dims[1];
    if (g.depth <= 0) return PQ_ERR_PARAM;
    g.rows = t[node->io[0]].count / g.depth;
    g.cols = pq_s16_cols_for(isa);
    g.dots = g.depth <= PQ_S16_CHUNK ? NULL : pq_s16_dots_for(isa);
    g.cols8 = g.dots == NULL && offset == 0 ? pq_s16_cols8_for(isa) : NULL;
    g.w8 = NULL;
    wk = NULL;
    /* by columns: the pairs layout, one zero pair half more for an odd depth */
    if (g.cols8 != NULL) {
        g.w8 = (const int8_t *)pq_bump_take(b, (size_t)g.units * (size_t)((g.depth + 1) / 2 * 2));
    } else {
        wk = (int16_t *)pq_bump_take(b, (size_t)g.units * (size_t)((g.depth + 1) / 2 * 2) * sizeof(int16_t));
    }
    n_rq = ((const pq_fc_params *)node->params)->per_channel ? g.units : 1;
    rq = (pq_s16_rq *)pq_bump_take(b, (size_t)n_rq * sizeof(pq_s16_rq));
    g.m15 = NULL;
    g.bm = g.total = NULL;
    g.rq512 = pq_vec_avx2(isa) == 2;
    if (g.dots == NULL && pq_vec_avx2(isa)) {
        g.m15 = (const int32_t *)pq_bump_take(b, (size_t)g.units * sizeof(int32_t));
        g.bm = (const int64_t *)pq_bump_take(b, (size_t)g.units * sizeof(int64_t));
        g.total = (const int64_t *)pq_bump_take(b, (size_t)g.units * sizeof(int64_t));
    }
    if (s != NULL) {
        pq_s16_rq_fill(rq, (const int32_t *)t[node->io[3]].data, (const int32_t *)t[node->io[4]].data, n_rq);
        g.rq = rq;
        if (g.m15 != NULL && !fill_cols_rq(rq, n_rq, node->io[2] >= 0 ? (const int64_t *)t[node->io[2]].data : NULL,
                                          g.units, (int32_t *)g.m15, (int64_t *)g.bm, (int64_t *)g.total)) {
            g.m15 = NULL; /* the scalar requantization, as the other paths */
        }
        if (g.cols8 != NULL) {
            pq_s16_cols8_pack((const int8_t *)w->data, g.depth, g.units, (int8_t *)g.w8);
        } else if (g.dots != NULL) {
            pq_s16_widen((const int8_t *)w->data, offset, g.units * g.depth, wk);
        } else {
            pq_s16_cols_pack((const int8_t *)w->data, offset, g.depth, g.units, wk);
        }
        g.w = wk;
        *s = g;
        *out = s;
    }
    return PQ_OK;
}

static int fc16_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes,
                       size_t *scratch_bytes) {
    const size_t units = t[node->io[1]].dims[0] > 0 ? (size_t)t[node->io[1]].dims[0] : 0u; /* scratch: a row's sums */
    return pq_s16_plan(node, t, isa, fc16_layout, units * sizeof(int64_t), state_bytes, scratch_bytes);
}

static pq_status fc16_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    return pq_s16_prepare(node, t, isa, state, fc16_layout);
}

static pq_status fc16_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    const fc16_state *s = (const fc16_state *)node->fast;
    const pq_fc_params *p = (const pq_fc_params *)node->params;
    const int64_t *bias = node->io[2] >= 0 ? (const int64_t *)t[node->io[2]].data : NULL;
    const int16_t *x = (const int16_t *)t[node->io[0]].data;
    int16_t *out = (int16_t *)t[node->io[node->n_inputs]].data;
    int64_t *sums = (int64_t *)scratch;
    int32_t *acc = (int32_t *)scratch; /* by columns: the same scratch, int32 sums */
    int32_t r, o;
    (void)part;
    (void)n_parts;
    for (r = 0; r < s->rows; ++r, x += s->depth, out += s->units) {
        o = 0;
        if (s->dots != NULL) {
            s->dots(x, s->w, s->depth, s->units, sums);
        } else {
            if (s->cols8 != NULL) s->cols8(x, s->w8, s->depth, s->units, acc);
            else s->cols(x, s->w, s->depth, s->units, acc);
#if PQ_HAVE_X86_SIMD
            if (s->m15 != NULL && s->rq512) {
                pq_s16_requant_cols_avx512(acc, s->m15, s->bm, s->total, s->units, p->act_min, p->act_max, out);
                o = s->units;
            } else if (s->m15 != NULL) {
                o = pq_s16_requant_cols_avx2(acc, s->m15, s->bm, s->total, s->units, p->act_min, p->act_max, out);
            }
#endif
        }
        for (; o < s->units; ++o) {
            const int32_t c = p->per_channel ? o : 0;
            uint64_t u = s->dots != NULL ? (uint64_t)sums[o] : (uint64_t)(int64_t)acc[o];
            if (bias != NULL) u += (uint64_t)bias[o];
            out[o] = (int16_t)pq_clamp(pq_s16_rq_apply(u, &s->rq[c]), p->act_min, p->act_max);
        }
    }
    return PQ_OK;
}

static const char *fc16_name(const pq_node *node) {
    (void)node;
    return "fast-fc-s16";
}

const pq_fast_op pq_fully_connected_s16_fast_op = {fc16_plan, fc16_prepare, fc16_eval, NULL, fc16_name};
