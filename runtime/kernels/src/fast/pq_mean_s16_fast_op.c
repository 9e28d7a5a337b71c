/*
 * MEAN 16x8's fast hooks (pq_fast_ops.h): portable C on every isa, for reductions over one
 * block of adjacent dims (global average pooling's axes 1, 2 of NHWC; a last axis; ...): the
 * input is then [outer, reduced, inner], and each outer slice sums its `reduced` rows of
 * `inner` contiguous values into int32 sums in scratch (a loop GCC vectorises), which then
 * take the reference's requantization (pq_mean_ref.h). Wrapping uint32 addition is the
 * reference's sum in any order: the same bytes. Other axis sets keep the reference kernel.
 * The loops are built plain and with AVX2 on x86 (PQ_VEC_BUILDS). State: the plan.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_elem.h"
#include "pq_fast_bind.h"
#include "pq_fast_vec.h"
#include "pq_fixedpoint.h"

typedef struct {
    int32_t outer, reduced, inner;
    int32_t avx2; /* run the AVX2 build of the loops (pq_vec_avx2) */
} mean16_layout;

/* The plan, 0 when the reduced dims (ignoring those of extent 1) are not one block. */
static int mean16_plan_of(const pq_node *node, const pq_tensor *t, int isa, mean16_layout *pl) {
    const pq_mean_params *p = (const pq_mean_params *)node->params;
    const pq_tensor *x = &t[node->io[0]];
    int32_t d, first = -1, last = -1;
    if (node->n_inputs != 1 || x->rank < 1 || x->rank > PQ_MAX_DIMS || (p->axis_mask & ~((1 << x->rank) - 1))) {
        return 0;
    }
    for (d = 0; d < (int32_t)x->rank; ++d) {
        if (x->dims[d] < 1) return 0;
        if ((p->axis_mask >> d & 1) && x->dims[d] > 1) {
            if (first < 0) first = d;
            last = d;
        }
    }
    pl->outer = pl->reduced = pl->inner = 1;
    pl->avx2 = pq_vec_avx2(isa);
    for (d = 0; d < (int32_t)x->rank; ++d) {
        const int reduced = (p->axis_mask >> d & 1) != 0;
        if (first >= 0 && d > first && d < last && !reduced && x->dims[d] > 1) return 0; /* a kept dim inside */
        if (reduced) {
            pl->reduced *= x->dims[d];
        } else if (first < 0 || d < first) {
            pl->outer *= x->dims[d];
        } else {
            pl->inner *= x->dims[d];
        }
    }
    return 1;
}

static int mean16_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes, size_t *scratch_bytes) {
    mean16_layout pl;
    if (!mean16_plan_of(node, t, isa, &pl)) return 0;
    *state_bytes = sizeof pl;
    *scratch_bytes = sizeof(uint32_t) * (size_t)pl.inner;
    return 1;
}

static pq_status mean16_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    return pq_fast_prepared(node, mean16_plan_of(node, t, isa, (mean16_layout *)state) ? PQ_OK : PQ_ERR_PARAM, state);
}

PQ_INLINE pq_status mean16_loops(const mean16_layout *pl, const pq_mean_params *p, const int16_t *x, int16_t *y,
                                 uint32_t *sum) {
    const int32_t inner = pl->inner, count = pl->reduced;
    int32_t o, r, i;
    for (o = 0; o < pl->outer; ++o) {
        const int16_t *slice = x + (int64_t)o * count * inner;
        for (i = 0; i < inner; ++i) sum[i] = 0;
        for (r = 0; r < count; ++r) {
            const int16_t *row = slice + (int64_t)r * inner;
            for (i = 0; i < inner; ++i) sum[i] += (uint32_t)(int32_t)row[i];
        }
        for (i = 0; i < inner; ++i) {
            /* the reference's expression: TFLM's temp_sum - input_zero_point * count, requantized */
            const int32_t shifted = pq_wrap_i32(sum[i] + (uint32_t)count * (uint32_t)p->input_offset);
            y[(int64_t)o * inner + i] = (int16_t)pq_clamp(pq_mbqm(shifted, p->multiplier, p->shift) + p->output_offset,
                                                          pq_elem_min(1), pq_elem_max(1));
        }
    }
    return PQ_OK;
}

PQ_VEC_BUILDS(mean16_loops,
              (const mean16_layout *pl, const pq_mean_params *p, const int16_t *x, int16_t *y, uint32_t *sum),
              (pl, p, x, y, sum))

static pq_status mean16_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    const mean16_layout *pl = (const mean16_layout *)node->fast;
    (void)part;
    (void)n_parts;
    return PQ_VEC_CALL(pl->avx2, mean16_loops,
                       (pl, (const pq_mean_params *)node->params, (const int16_t *)PQ_IN(node, t, 0),
                        (int16_t *)PQ_OUT(node, t), (uint32_t *)scratch));
}

static const char *mean16_name(const pq_node *node) {
    (void)node;
    return "fast-mean-s16";
}

const pq_fast_op pq_mean_s16_fast_op = {mean16_plan, mean16_prepare, mean16_eval, NULL, mean16_name};
