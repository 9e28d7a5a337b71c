/*
 * BATCH_MATMUL's fast hooks (pq_fast_ops.h): each batch's product on the int8 GEMM
 * (pq_gemm_s8), the right operand packed per call since it is an activation.
 *
 * The GEMM computes requant(sum_k a[m, k] * w[n, k] + bias[n]) with the left operand's offset
 * folded into bias (pq_gemm_s8_fold_bias). The reference's sum_k (a + lo) * (w + ro) also has
 * ro * sum_k a[m, k], a term per row: with ro == 0 one GEMM call takes every row; else each
 * row is a call of its own with that row's term added to the biases. All in wrapping 32-bit
 * arithmetic, as the reference, so the bytes are the reference's. An operand stored transposed
 * (adj_x, or rhs without adj_y: the GEMM wants rhs's columns as rows) is transposed into
 * scratch first. A batch whose operand is the previous batch's (broadcast) reuses its copy.
 * State: the geometry and the requantization arrays; scratch: the copies, the packed rhs, the
 * biases and the GEMM's own.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pq_broadcast.h"
#include "pq_fast_bind.h"
#include "pq_fixedpoint.h"

/* Byte offsets of the scratch pieces (64-byte aligned). */
typedef struct {
    size_t a, w, packed;   /* lhs rows (adj_x), rhs columns as rows (!adj_y), packed rhs */
    size_t bias, row_bias; /* int32[np] each */
    size_t gemm, total;
} bmm_scratch;

typedef struct {
    pq_gemm_s8_plan g; /* n = N, k = K; w and rq.bias point into scratch at eval */
    pq_batch_matmul_params p;
    int32_t m, per_row, nb;
    int32_t lb[PQ_MAX_DIMS], rb[PQ_MAX_DIMS], ob[PQ_MAX_DIMS]; /* batch dims (one 1 for matrices) */
    bmm_scratch x;
} bmm_state;

static size_t take(size_t *used, size_t n) {
    size_t at = *used;
    *used += (n + 63u) / 64u * 64u;
    return at;
}

static void bmm_scratch_layout(bmm_state *s) {
    const pq_gemm_s8_plan *g = &s->g;
    size_t used = 0;
    s->x.a = take(&used, s->p.adj_x ? (size_t)s->m * (size_t)g->k : 0);
    s->x.w = take(&used, s->p.adj_y ? 0 : (size_t)g->n * (size_t)g->k);
    s->x.packed = take(&used, pq_gemm_s8_packed_size(g->isa, g->n, g->k));
    s->x.bias = take(&used, (size_t)g->np * sizeof(int32_t));
    s->x.row_bias = take(&used, s->per_row ? (size_t)g->np * sizeof(int32_t) : 0);
    s->x.gemm = take(&used, pq_gemm_s8_scratch_size(g->isa, g->k));
    s->x.total = used;
}

static int bmm_geometry(const pq_node *node, const pq_tensor *t, int isa, bmm_state *s) {
    const pq_batch_matmul_params *p = (const pq_batch_matmul_params *)node->params;
    const pq_tensor *x = &t[node->io[0]], *y = &t[node->io[1]], *o = &t[node->io[2]];
    int32_t ls[PQ_MAX_DIMS], rs[PQ_MAX_DIMS], r = o->rank, d, n, k;
    if (r < 2 || r > 5 || (uint32_t)p->adj_x > 1u || (uint32_t)p->adj_y > 1u) return 0;
    memset(s, 0, sizeof *s);
    pq_broadcast_shapes(x, y, r, ls, rs);
    s->p = *p;
    s->m = ls[r - 2 + p->adj_x];
    k = ls[r - 1 - p->adj_x];
    n = rs[r - 1 - p->adj_y];
    if (rs[r - 2 + p->adj_y] != k || o->dims[r - 2] != s->m || o->dims[r - 1] != n) return 0;
    s->per_row = p->rhs_offset != 0;
    s->nb = r > 2 ? r - 2 : 1;
    for (d = 0; d < s->nb; ++d) {
        s->lb[d] = r > 2 ? ls[d] : 1;
        s->rb[d] = r > 2 ? rs[d] : 1;
        s->ob[d] = r > 2 ? o->dims[d] : 1;
    }
    isa = pq_gemm_isa(isa, PQ_FEED_DIRECT, n, k, s->per_row ? 1 : s->m);
    s->g.isa = isa;
    s->g.n = n;
    s->g.k = k;
    s->g.np = pq_gemm_s8_np(isa, n);
    s->g.kp = pq_gemm_s8_kp(isa, k);
    bmm_scratch_layout(s);
    return 1;
}

static bmm_state *bmm_layout(pq_bump *b, const bmm_state *geo) {
    bmm_state *s = (bmm_state *)pq_bump_take(b, sizeof *s);
    int32_t *arr = (int32_t *)pq_bump_take(b, 4u * (size_t)geo->g.np * sizeof(int32_t));
    if (s == NULL) return NULL;
    *s = *geo;
    s->g.rq.mult = arr;
    return s;
}

static int bmm_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes, size_t *scratch_bytes) {
    bmm_state geo;
    pq_bump b = {NULL, 0};
    if (!bmm_geometry(node, t, isa, &geo)) return 0;
    bmm_layout(&b, &geo);
    *state_bytes = b.used;
    *scratch_bytes = geo.x.total;
    return 1;
}

static pq_status bmm_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    bmm_state geo, *s;
    pq_bump b = {(uint8_t *)state, 0};
    if (!bmm_geometry(node, t, isa, &geo)) return PQ_ERR_PARAM;
    s = bmm_layout(&b, &geo);
    pq_fast_requant(&s->g.rq, (int32_t *)s->g.rq.mult, s->g.n, s->g.np, &s->p.output_multiplier,
                    &s->p.output_shift, 0, s->p.output_offset, -128, 127);
    node->fast = s;
    return PQ_OK;
}

/* dst[c * rows + r] = src[r * cols + c]: the rows x cols matrix transposed. */
static void transpose_into(int8_t *dst, const int8_t *src, int32_t rows, int32_t cols) {
    int32_t r, c;
    for (r = 0; r < rows; ++r) {
        for (c = 0; c < cols; ++c) dst[(size_t)c * (size_t)rows + (size_t)r] = src[(size_t)r * (size_t)cols + (size_t)c];
    }
}

/* rhs's matrix as the GEMM's weights: packed, with biases K * lo * ro + lo * sum_k w[n, k] (the
 * isa's input flip folded in by pq_gemm_s8_fold_bias). */
static void bmm_pack_rhs(const bmm_state *s, uint8_t *scratch, pq_gemm_s8_plan *g, const int8_t *rhs) {
    const int32_t n = g->n, k = g->k;
    const uint32_t both = (uint32_t)k * (uint32_t)s->p.lhs_offset * (uint32_t)s->p.rhs_offset;
    int32_t *bias = (int32_t *)(scratch + s->x.bias);
    const int8_t *w = rhs;
    int32_t c;
    if (!s->p.adj_y) {
        transpose_into((int8_t *)(scratch + s->x.w), rhs, k, n);
        w = (const int8_t *)(scratch + s->x.w);
    }
    pq_gemm_s8_pack(g->isa, n, k, w, (int8_t *)(scratch + s->x.packed));
    g->pair16 = pq_gemm_s8_pair16((size_t)n * (size_t)k, w);
    pq_gemm_s8_fold_bias(g->isa, n, g->np, k, w, NULL, s->p.lhs_offset, bias);
    for (c = 0; c < n; ++c) bias[c] = pq_wrap_i32((uint32_t)bias[c] + both);
}

static pq_status bmm_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    const bmm_state *s = (const bmm_state *)node->fast;
    uint8_t *sc = (uint8_t *)scratch;
    const int8_t *lhs = PQ_IN(node, t, 0), *rhs = PQ_IN(node, t, 1);
    int8_t *out = PQ_OUT(node, t);
    const int32_t m = s->m, n = s->g.n, k = s->g.k;
    const size_t mk = (size_t)m * (size_t)k, kn = (size_t)k * (size_t)n;
    int32_t *bias = (int32_t *)(sc + s->x.bias), *row_bias = (int32_t *)(sc + s->x.row_bias);
    pq_gemm_s8_plan g = s->g;
    pq_broadcast br;
    int32_t bi, i, c, kk, last_a = -1, last_w = -1;
    const int8_t *a = NULL;
    (void)part;
    (void)n_parts;
    g.w = (const int8_t *)(sc + s->x.packed);
    g.rq.bias = s->per_row ? row_bias : bias;
    if (pq_broadcast_init(&br, s->nb, s->lb, s->rb, s->ob) != PQ_OK) return PQ_ERR_PARAM;
    for (bi = 0; bi < br.total; ++bi, out += (size_t)m * (size_t)n) {
        if (br.off2 != last_w) {
            bmm_pack_rhs(s, sc, &g, rhs + (size_t)br.off2 * kn);
            last_w = br.off2;
        }
        if (br.off1 != last_a) {
            a = lhs + (size_t)br.off1 * mk;
            if (s->p.adj_x) {
                transpose_into((int8_t *)(sc + s->x.a), a, k, m);
                a = (const int8_t *)(sc + s->x.a);
            }
            last_a = br.off1;
        }
        if (!s->per_row) {
            pq_gemm_s8(&g, m, a, k, out, n, sc + s->x.gemm);
        } else {
            /* ro * sum_k a[i, k] joins row i's biases */
            for (i = 0; i < m; ++i) {
                const int8_t *row = a + (size_t)i * (size_t)k;
                uint32_t sum = 0, term;
                for (kk = 0; kk < k; ++kk) sum += (uint32_t)(int32_t)row[kk];
                term = sum * (uint32_t)s->p.rhs_offset;
                for (c = 0; c < g.np; ++c) row_bias[c] = pq_wrap_i32((uint32_t)bias[c] + term);
                pq_gemm_s8(&g, 1, row, k, out + (size_t)i * (size_t)n, n, sc + s->x.gemm);
            }
        }
        pq_broadcast_next(&br);
    }
    return PQ_OK;
}

static const char *bmm_name(const pq_node *node) {
    (void)node;
    return "fast-batch-matmul";
}

const pq_fast_op pq_batch_matmul_s8_fast_op = {bmm_plan, bmm_prepare, bmm_eval, NULL, bmm_name};
