/*
 * MUL with broadcasting, as contiguous rows the compiler vectorises (same bytes as
 * pq_mul_s8). The broadcast is reduced to rows of the output's innermost dims along
 * which both inputs are whole (same shape, squeeze-excitation's per-channel gate over
 * an NHWC map) or one is whole and the other a single element (a scalar, a per-pixel
 * gate); an odometer over the few remaining dims moves each input's row. Per element,
 * as pq_mul_s8's pq_mul_one:
 *     out = clamp(MBQM((a + input1_offset) * (b + input2_offset), M, shift) + output_offset)
 * with the branch-free MBQM of pq_fast_vec.h, exact where pq_mul_s8_fast_params_ok holds.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_broadcast.h"
#include "pq_fast.h"
#include "pq_fast_vec.h"

int pq_mul_s8_fast_params_ok(const pq_mul_params *p)
{
    /* |(a + o1) * (b + o2)| <= (128 + |o1|)(128 + |o2|), times 2^left, must stay in int32
     * (the validator's ranges give 2^16 * 2^14); pq_srdhm_vec wants M >= 0. */
    const int64_t m1 = 128 + (p->input1_offset < 0 ? -(int64_t)p->input1_offset : p->input1_offset);
    const int64_t m2 = 128 + (p->input2_offset < 0 ? -(int64_t)p->input2_offset : p->input2_offset);
    if (m1 > 65536 || m2 > 65536 || p->output_shift > 30 || p->output_shift < -31 || p->output_multiplier < 0 ||
        p->output_offset < -128 || p->output_offset > 127) {
        return 0;
    }
    return ((m1 * m2) << (p->output_shift > 0 ? p->output_shift : 0)) < ((int64_t)1 << 31);
}

int pq_mul_s8_fast_plan(int isa, int32_t rank, const int32_t *in1_shape, const int32_t *in2_shape,
                        const int32_t *out_shape, pq_mul_fast_plan *plan)
{
    /* Dims of extent > 1, innermost first, each with whether each input is whole along it. */
    int32_t ext[PQ_MAX_DIMS], whole1[PQ_MAX_DIMS], whole2[PQ_MAX_DIMS];
    const int32_t n = pq_broadcast_collapse(rank, in1_shape, in2_shape, out_shape, ext, whole1, whole2);
    int32_t k, s1 = 1, s2 = 1;
    if (n < 0) return 0;
    plan->avx2 = pq_vec_avx2(isa);
    plan->swap = n > 0 && !whole1[0];
    if (plan->swap) {
        for (k = 0; k < n; ++k) {
            const int32_t w = whole1[k];
            whole1[k] = whole2[k];
            whole2[k] = w;
        }
    }
    /* The row: dim 0 (in1 whole along it), or one element when every extent is 1. */
    plan->inner = n > 0 ? ext[0] : 1;
    plan->b_scalar = n > 0 && !whole2[0];
    if (n > 0) {
        s1 = ext[0];
        s2 = whole2[0] ? ext[0] : 1;
    }
    plan->n_outer = n > 1 ? n - 1 : 0;
    for (k = 1; k < n; ++k) {
        const int32_t o = n - 1 - k; /* outermost first */
        plan->dims[o] = ext[k];
        plan->stride1[o] = whole1[k] ? s1 : 0;
        plan->stride2[o] = whole2[k] ? s2 : 0;
        s1 *= whole1[k] ? ext[k] : 1;
        s2 *= whole2[k] ? ext[k] : 1;
    }
    return 1;
}

/* One row: `n` elements of a times `n` of b, or times b[0] when b_scalar (o2 folded in). */
PQ_INLINE void mul_row(const pq_mul_params *p, int32_t o1, int32_t o2, int32_t left, int32_t right, int32_t n,
                       const int8_t *a, const int8_t *b, int b_scalar, int8_t *y)
{
    const int32_t m = p->output_multiplier, oo = p->output_offset, lo = p->act_min, hi = p->act_max;
    int32_t i;
    if (b_scalar) {
        const int32_t kb = b[0] + o2;
        for (i = 0; i < n; ++i) {
            y[i] = (int8_t)pq_clamp(pq_mbqm_vec((a[i] + o1) * kb, m, left, right) + oo, lo, hi);
        }
    } else {
        for (i = 0; i < n; ++i) {
            y[i] = (int8_t)pq_clamp(pq_mbqm_vec((a[i] + o1) * (b[i] + o2), m, left, right) + oo, lo, hi);
        }
    }
}

PQ_INLINE pq_status mul_rows(const pq_mul_fast_plan *pl, const pq_mul_params *p, const int8_t *in1,
                             const int8_t *in2, int8_t *out)
{
    const int32_t o1 = pl->swap ? p->input2_offset : p->input1_offset;
    const int32_t o2 = pl->swap ? p->input1_offset : p->input2_offset;
    const int32_t left = p->output_shift > 0 ? p->output_shift : 0;
    const int32_t right = p->output_shift > 0 ? 0 : -p->output_shift;
    int32_t idx[PQ_MAX_DIMS] = {0};
    int32_t rows = 1, r, d;
    size_t off1 = 0, off2 = 0;
    for (d = 0; d < pl->n_outer; ++d) rows *= pl->dims[d];
    for (r = 0; r < rows; ++r) {
        mul_row(p, o1, o2, left, right, pl->inner, in1 + off1, in2 + off2, pl->b_scalar,
                out + (size_t)r * (size_t)pl->inner);
        for (d = pl->n_outer - 1; d >= 0; --d) {
            if (++idx[d] < pl->dims[d]) {
                off1 += (size_t)pl->stride1[d];
                off2 += (size_t)pl->stride2[d];
                break;
            }
            off1 -= (size_t)pl->stride1[d] * (size_t)(pl->dims[d] - 1);
            off2 -= (size_t)pl->stride2[d] * (size_t)(pl->dims[d] - 1);
            idx[d] = 0;
        }
    }
    return PQ_OK;
}

PQ_VEC_BUILDS(mul_rows,
              (const pq_mul_fast_plan *pl, const pq_mul_params *p, const int8_t *in1, const int8_t *in2, int8_t *out),
              (pl, p, in1, in2, out))

pq_status pq_mul_s8_fast(const pq_mul_fast_plan *plan, const pq_mul_params *p, const int8_t *in1, const int8_t *in2,
                         int8_t *out)
{
    const int8_t *a = plan->swap ? in2 : in1, *b = plan->swap ? in1 : in2;
    if (!pq_mul_s8_fast_params_ok(p)) return PQ_ERR_PARAM;
    return PQ_VEC_CALL(plan->avx2, mul_rows, (plan, p, a, b, out));
}
