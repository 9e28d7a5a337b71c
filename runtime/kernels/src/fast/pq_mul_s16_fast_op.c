/*
 * MUL 16x8's fast hooks (pq_fast_ops.h): pq_binary_s16_fast.h's row walk over every
 * broadcast, the reference's element arithmetic in pq_fast_vec.h's form; the row loops in
 * plain C, or built with AVX2 on x86 (PQ_VEC_BUILDS). A right-shifting output multiplier only
 * (a file with another keeps the reference kernel). State: the plan.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_binary_s16_fast.h"

PQ_INLINE pq_status mul16_rows(const pq_binary16_plan *pl, const pq_mul_params *params, const int16_t *a, const int16_t *b,
                               int16_t *y) {
    PQ_BINARY16_ROWS(pq_mul16_vec, pq_mul_params);
}

PQ_VEC_BUILDS(mul16_rows,
              (const pq_binary16_plan *pl, const pq_mul_params *params, const int16_t *a, const int16_t *b, int16_t *y),
              (pl, params, a, b, y))

static int mul16_ok(const pq_node *node, const pq_tensor *t, int isa, pq_binary16_plan *pl) {
    const pq_mul_params *p = (const pq_mul_params *)node->params;
    return p->output_shift <= 0 && pq_binary16_plan_of(node, t, isa, pl);
}

static int mul16_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes, size_t *scratch_bytes) {
    pq_binary16_plan pl;
    return pq_fast_plan_sized(mul16_ok(node, t, isa, &pl) ? PQ_OK : PQ_ERR_PARAM, sizeof pl, state_bytes,
                              scratch_bytes);
}

static pq_status mul16_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    return pq_fast_prepared(node, mul16_ok(node, t, isa, (pq_binary16_plan *)state) ? PQ_OK : PQ_ERR_PARAM, state);
}

static pq_status mul16_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    const pq_binary16_plan *pl = (const pq_binary16_plan *)node->fast;
    (void)scratch;
    (void)part;
    (void)n_parts;
    return PQ_VEC_CALL(pl->avx2, mul16_rows,
                       (pl, (const pq_mul_params *)node->params, (const int16_t *)PQ_IN(node, t, 0),
                        (const int16_t *)PQ_IN(node, t, 1), (int16_t *)PQ_OUT(node, t)));
}

static const char *mul16_name(const pq_node *node) {
    (void)node;
    return "fast-mul-s16";
}

const pq_fast_op pq_mul_s16_fast_op = {mul16_plan, mul16_prepare, mul16_eval, NULL, mul16_name};
