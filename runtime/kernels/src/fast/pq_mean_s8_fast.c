/*
 * MEAN over a block of adjacent dims, as loops the compiler vectorises (same bytes as
 * pq_mean_s8). The input is [outer, count, inner]: global average pooling of NHWC
 * (axes H, W) has inner = C, and each of the count pixels adds its C consecutive bytes
 * to C int32 sums in scratch; a mean over the last axes (inner = 1) sums each
 * contiguous run. Then each sum is requantized as the reference does:
 *     out = clamp(MBQM(sum + count * input_offset, multiplier, shift) + output_offset)
 * Sums stay far inside int32 (count < 2^23), so int32 addition gives the reference's
 * wrapping uint32 sums.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_vec.h"

int pq_mean_s8_fast_plan(int isa, int32_t rank, const int32_t *shape, const pq_mean_params *p,
                         pq_mean_fast_plan *plan)
{
    /* The dims of extent > 1 read outermost first must be kept*, reduced*, kept*. */
    int32_t d, phase = 0, ioff_mag;
    int64_t outer = 1, count = 1, inner = 1;
    if (rank < 1 || rank > PQ_MAX_DIMS || (p->axis_mask & ~((1 << rank) - 1)) != 0) return 0;
    for (d = 0; d < rank; ++d) {
        const int reduced = (p->axis_mask >> d) & 1;
        if (shape[d] < 1) return 0;
        if (shape[d] == 1) continue;
        if (reduced) {
            if (phase == 2) return 0; /* a second reduced block */
            phase = 1;
            count *= shape[d];
        } else if (phase == 0) {
            outer *= shape[d];
        } else {
            phase = 2;
            inner *= shape[d];
        }
    }
    /* |sum + count * input_offset| <= (128 + |input_offset|) * count, times 2^shift, inside
     * int32 (the validator's bound with |input_offset| <= 128); pq_srdhm_vec wants M >= 0. */
    ioff_mag = p->input_offset < 0 ? -p->input_offset : p->input_offset;
    if (outer * count * inner > INT32_MAX || count >= ((int64_t)1 << 23) || p->input_offset < -255 ||
        p->input_offset > 255 || p->multiplier < 0 || p->shift > 30 || p->shift < -31 || p->output_offset < -128 ||
        p->output_offset > 127 ||
        (((128 + ioff_mag) * count) << (p->shift > 0 ? p->shift : 0)) >= ((int64_t)1 << 31)) {
        return 0;
    }
    plan->avx2 = pq_vec_avx2(isa);
    plan->outer = (int32_t)outer;
    plan->count = (int32_t)count;
    plan->inner = (int32_t)inner;
    return 1;
}

PQ_INLINE int8_t mean_requant(const pq_mean_params *p, int32_t sum, int32_t bias, int32_t left, int32_t right)
{
    return (int8_t)pq_clamp(pq_mbqm_vec(sum + bias, p->multiplier, left, right) + p->output_offset, -128, 127);
}

PQ_INLINE pq_status mean_loops(const pq_mean_fast_plan *pl, const pq_mean_params *p, const int8_t *in,
                               int8_t *out, int32_t *sum)
{
    const int32_t count = pl->count, inner = pl->inner;
    const int32_t bias = count * p->input_offset; /* TFLM: sum - input_zero_point * count */
    const int32_t left = p->shift > 0 ? p->shift : 0, right = p->shift > 0 ? 0 : -p->shift;
    int32_t o, r, i;
    for (o = 0; o < pl->outer; ++o) {
        const int8_t *x = in + (size_t)o * (size_t)count * (size_t)inner;
        int8_t *y = out + (size_t)o * (size_t)inner;
        if (inner == 1) {
            int32_t s = 0;
            for (r = 0; r < count; ++r) s += x[r];
            y[0] = mean_requant(p, s, bias, left, right);
            continue;
        }
        for (i = 0; i < inner; ++i) sum[i] = x[i];
        for (r = 1; r < count; ++r) {
            const int8_t *px = x + (size_t)r * (size_t)inner;
            for (i = 0; i < inner; ++i) sum[i] += px[i];
        }
        for (i = 0; i < inner; ++i) y[i] = mean_requant(p, sum[i], bias, left, right);
    }
    return PQ_OK;
}

PQ_VEC_BUILDS(mean_loops,
              (const pq_mean_fast_plan *pl, const pq_mean_params *p, const int8_t *in, int8_t *out, int32_t *sum),
              (pl, p, in, out, sum))

pq_status pq_mean_s8_fast(const pq_mean_fast_plan *plan, const pq_mean_params *p, const int8_t *in, int8_t *out,
                          int32_t *sum)
{
    return PQ_VEC_CALL(plan->avx2, mean_loops, (plan, p, in, out, sum));
}
