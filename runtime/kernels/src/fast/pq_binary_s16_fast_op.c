/*
 * ADD and MUL 16x8's fast hooks (pq_fast_ops.h). The broadcast is collapsed to its dims of
 * extent > 1 (pq_broadcast_collapse), the innermost one a plain loop over contiguous rows
 * (both inputs whole, or one of them a repeated value), an odometer over the outer ones. Each
 * element is the reference kernel's expression (pq_arith.h) in the vectorisable form of
 * pq_fast_vec.h (pq_mbqm_vec: exact for multipliers >= 0 and right shifts, which the validator
 * and the plan guarantee), and the row loops are built twice (PQ_VEC_BUILDS): plain C, and with
 * AVX2 enabled on x86, where GCC vectorises them. A file whose output multiplier shifts left
 * (TFLM refuses those for ADD) keeps the reference kernel. State: the plan.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_broadcast.h"
#include "pq_fast_bind.h"
#include "pq_fast_vec.h"

typedef struct {
    int32_t n;                 /* collapsed dims (0: one element) */
    int32_t rows, inner;       /* rows of `inner` output elements */
    int32_t whole1, whole2;    /* whether each input runs along the row (else one value a row) */
    int32_t ext[PQ_MAX_DIMS];  /* innermost first */
    int32_t s1[PQ_MAX_DIMS], s2[PQ_MAX_DIMS]; /* each input's element step along each dim */
    int32_t avx2;              /* run the AVX2 build of the row loops (pq_vec_avx2) */
} pq_binary16_plan;

/* The node's plan, 0 when its shapes do not broadcast (the validator refuses those). */
static inline int pq_binary16_plan_of(const pq_node *node, const pq_tensor *t, int isa, pq_binary16_plan *pl)
{
    const pq_tensor *a = &t[node->io[0]], *b = &t[node->io[1]], *y = &t[node->io[2]];
    int32_t sa[PQ_MAX_DIMS], sb[PQ_MAX_DIMS], w1[PQ_MAX_DIMS], w2[PQ_MAX_DIMS];
    int32_t k, p1 = 1, p2 = 1;
    if (node->n_inputs != 2 || y->rank < 1 || a->rank > y->rank || b->rank > y->rank) return 0;
    pq_broadcast_shapes(a, b, y->rank, sa, sb);
    pl->n = pq_broadcast_collapse(y->rank, sa, sb, y->dims, pl->ext, w1, w2);
    if (pl->n < 0) return 0;
    for (k = 0; k < pl->n; ++k) {
        pl->s1[k] = w1[k] ? p1 : 0;
        pl->s2[k] = w2[k] ? p2 : 0;
        if (w1[k]) p1 *= pl->ext[k];
        if (w2[k]) p2 *= pl->ext[k];
    }
    pl->inner = pl->n > 0 ? pl->ext[0] : 1;
    pl->whole1 = pl->n > 0 ? w1[0] : 1;
    pl->whole2 = pl->n > 0 ? w2[0] : 1;
    pl->rows = pl->inner > 0 ? y->count / pl->inner : 0;
    pl->avx2 = pq_vec_avx2(isa);
    return (int64_t)pl->rows * pl->inner == y->count;
}

/* pq_add_elem for int16 values, offsets 0 and left_shift <= 15 (the validator's, so no shift
 * wraps) and every shift <= 0 (the input ones by the validator, the output one by the plan). */
PQ_INLINE int32_t pq_add16_vec(const pq_add_params *p, int32_t a, int32_t b)
{
    const int32_t s1 = pq_mbqm_vec((a + p->input1_offset) * (1 << p->left_shift), p->input1_multiplier, 0,
                                   -p->input1_shift);
    const int32_t s2 = pq_mbqm_vec((b + p->input2_offset) * (1 << p->left_shift), p->input2_multiplier, 0,
                                   -p->input2_shift);
    const int32_t sum = pq_wrap_i32((uint32_t)s1 + (uint32_t)s2);
    const int32_t raw =
        pq_wrap_i32((uint32_t)pq_mbqm_vec(sum, p->output_multiplier, 0, -p->output_shift) + (uint32_t)p->output_offset);
    return pq_clamp(raw, p->act_min, p->act_max);
}

/* The parameters of pq_add16_x15, the usual int16 ADD (TFLM's Prepare sets left_shift 15): each
 * input multiplier split into its high and low 16 bits. */
typedef struct {
    pq_add_params p;
    int32_t mh1, ml1, mh2, ml2;
} pq_add16_x15_params;

/* pq_add16_vec at left_shift 15: the same integers, the input scalings without 64-bit products. */
PQ_INLINE int32_t pq_add16_x15(const pq_add16_x15_params *q, int32_t a, int32_t b)
{
    const pq_add_params *p = &q->p;
    const int32_t s1 = pq_rdpot(pq_srdhm_x15(a, q->mh1, q->ml1), -p->input1_shift);
    const int32_t s2 = pq_rdpot(pq_srdhm_x15(b, q->mh2, q->ml2), -p->input2_shift);
    const int32_t sum = pq_wrap_i32((uint32_t)s1 + (uint32_t)s2);
    const int32_t raw =
        pq_wrap_i32((uint32_t)pq_mbqm_vec(sum, p->output_multiplier, 0, -p->output_shift) + (uint32_t)p->output_offset);
    return pq_clamp(raw, p->act_min, p->act_max);
}

/* pq_mul_elem for int16 values, offsets 0 (|a * b| <= 2^30) and a shift <= 0 (the validator's). */
PQ_INLINE int32_t pq_mul16_vec(const pq_mul_params *p, int32_t a, int32_t b)
{
    const int32_t raw = pq_wrap_i32(
        (uint32_t)pq_mbqm_vec((a + p->input1_offset) * (b + p->input2_offset), p->output_multiplier, 0, -p->output_shift) +
        (uint32_t)p->output_offset);
    return pq_clamp(raw, p->act_min, p->act_max);
}

/* The body of a row-loop function (pl, params, a, b, y in scope): `one` is the element
 * function, the parameters copied to a local so they stay in registers across the stores. */
#define PQ_BINARY16_ROWS(one, params_t)                                                                 \
    do {                                                                                                \
        const params_t prm = *params;                                                                   \
        int32_t idx[PQ_MAX_DIMS] = {0};                                                                 \
        int32_t off1 = 0, off2 = 0, r, j, k;                                                            \
        const int32_t n = pl->inner;                                                                    \
        for (r = 0; r < pl->rows; ++r) {                                                                \
            const int16_t *pa = a + off1, *pb = b + off2;                                               \
            int16_t *py = y + (int64_t)r * n;                                                           \
            if (pl->whole1 && pl->whole2) {                                                             \
                for (j = 0; j < n; ++j) py[j] = (int16_t)one(&prm, pa[j], pb[j]);                       \
            } else if (pl->whole1) {                                                                    \
                const int32_t vb = pb[0];                                                               \
                for (j = 0; j < n; ++j) py[j] = (int16_t)one(&prm, pa[j], vb);                          \
            } else {                                                                                    \
                const int32_t va = pa[0];                                                               \
                for (j = 0; j < n; ++j) py[j] = (int16_t)one(&prm, va, pb[j]);                          \
            }                                                                                           \
            for (k = 1; k < pl->n; ++k) { /* the next row: odometer over the outer dims */             \
                if (++idx[k] < pl->ext[k]) {                                                            \
                    off1 += pl->s1[k];                                                                  \
                    off2 += pl->s2[k];                                                                  \
                    break;                                                                              \
                }                                                                                       \
                off1 -= pl->s1[k] * (pl->ext[k] - 1);                                                   \
                off2 -= pl->s2[k] * (pl->ext[k] - 1);                                                   \
                idx[k] = 0;                                                                             \
            }                                                                                           \
        }                                                                                               \
        return PQ_OK;                                                                                   \
    } while (0)

PQ_INLINE pq_status add16_rows(const pq_binary16_plan *pl, const pq_add_params *params, const int16_t *a,
                               const int16_t *b, int16_t *y) {
    PQ_BINARY16_ROWS(pq_add16_vec, pq_add_params);
}

PQ_INLINE pq_status add16_x15_rows(const pq_binary16_plan *pl, const pq_add16_x15_params *params, const int16_t *a,
                                   const int16_t *b, int16_t *y) {
    PQ_BINARY16_ROWS(pq_add16_x15, pq_add16_x15_params);
}

PQ_INLINE pq_status mul16_rows(const pq_binary16_plan *pl, const pq_mul_params *params, const int16_t *a,
                               const int16_t *b, int16_t *y) {
    PQ_BINARY16_ROWS(pq_mul16_vec, pq_mul_params);
}

PQ_VEC_BUILDS(add16_rows,
              (const pq_binary16_plan *pl, const pq_add_params *params, const int16_t *a, const int16_t *b, int16_t *y),
              (pl, params, a, b, y))
PQ_VEC_BUILDS(add16_x15_rows,
              (const pq_binary16_plan *pl, const pq_add16_x15_params *params, const int16_t *a, const int16_t *b,
               int16_t *y),
              (pl, params, a, b, y))
PQ_VEC_BUILDS(mul16_rows,
              (const pq_binary16_plan *pl, const pq_mul_params *params, const int16_t *a, const int16_t *b, int16_t *y),
              (pl, params, a, b, y))

/* The plan when the node's output multiplier shifts right only, else 0. */
static int binary16_ok(const pq_node *node, const pq_tensor *t, int isa, pq_binary16_plan *pl) {
    const int32_t shift = node->opcode == PQ_OP_MUL ? ((const pq_mul_params *)node->params)->output_shift
                                                : ((const pq_add_params *)node->params)->output_shift;
    return shift <= 0 && pq_binary16_plan_of(node, t, isa, pl);
}

static int binary16_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes,
                         size_t *scratch_bytes) {
    pq_binary16_plan pl;
    return pq_fast_plan_sized(binary16_ok(node, t, isa, &pl) ? PQ_OK : PQ_ERR_PARAM, sizeof pl, state_bytes,
                              scratch_bytes);
}

static pq_status binary16_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    return pq_fast_prepared(node, binary16_ok(node, t, isa, (pq_binary16_plan *)state) ? PQ_OK : PQ_ERR_PARAM, state);
}

static pq_status binary16_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part,
                               int32_t n_parts) {
    const pq_binary16_plan *pl = (const pq_binary16_plan *)node->fast;
    const int16_t *a = (const int16_t *)PQ_IN(node, t, 0), *b = (const int16_t *)PQ_IN(node, t, 1);
    int16_t *y = (int16_t *)PQ_OUT(node, t);
    (void)scratch;
    (void)part;
    (void)n_parts;
    if (node->opcode == PQ_OP_MUL) {
        return PQ_VEC_CALL(pl->avx2, mul16_rows, (pl, (const pq_mul_params *)node->params, a, b, y));
    }
    {
        const pq_add_params *p = (const pq_add_params *)node->params;
        pq_add16_x15_params q;
        if (p->left_shift != 15) return PQ_VEC_CALL(pl->avx2, add16_rows, (pl, p, a, b, y));
        q.p = *p;
        q.mh1 = p->input1_multiplier >> 16, q.ml1 = p->input1_multiplier & 0xFFFF;
        q.mh2 = p->input2_multiplier >> 16, q.ml2 = p->input2_multiplier & 0xFFFF;
        return PQ_VEC_CALL(pl->avx2, add16_x15_rows, (pl, &q, a, b, y));
    }
}

static const char *binary16_name(const pq_node *node) {
    return node->opcode == PQ_OP_MUL ? "fast-mul-s16" : "fast-add-s16";
}

const pq_fast_op pq_add_s16_fast_op = {binary16_plan, binary16_prepare, binary16_eval, NULL, binary16_name};
const pq_fast_op pq_mul_s16_fast_op = {binary16_plan, binary16_prepare, binary16_eval, NULL, binary16_name};
