/*
 * Per-channel requantization constants for the fast kernels, and the portable
 * requantization of a row of accumulators.
 *
 * The SIMD kernels evaluate MultiplyByQuantizedMultiplier lane by lane with
 * the same two roundings (SaturatingRoundingDoublingHighMul, then
 * RoundingDivideByPOT); the split of `shift` into a left and a right part and
 * RoundingDivideByPOT's remainder mask are computed here once, at load time.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fixedpoint.h"

void pq_requant_expand(int32_t n, int32_t np, const int32_t *mult, const int32_t *shift, int32_t per_channel,
                       int32_t *out_mult, int32_t *out_lshift, int32_t *out_rshift, int32_t *out_rmask)
{
    int32_t c;
    for (c = 0; c < np; ++c) {
        /* Padding channels repeat the last real one: any valid constants do,
         * their results are never stored. */
        const int32_t src = per_channel ? (c < n ? c : n - 1) : 0;
        const int32_t s = shift[src];
        const int32_t right = s > 0 ? 0 : -s;
        out_mult[c] = mult[src];
        out_lshift[c] = s > 0 ? s : 0;
        out_rshift[c] = right;
        /* right <= 31 (validated), so the mask fits: (2^31 - 1) at most. */
        out_rmask[c] = (int32_t)(((uint32_t)1 << right) - 1u);
    }
}

void pq_requant_flags(pq_requant *q, int32_t np)
{
    int32_t c;
    q->any_lshift = 0;
    q->all_rshift = q->output_offset >= -128 && q->output_offset <= 127;
    for (c = 0; c < np; ++c) {
        if (q->lshift[c] != 0) {
            q->any_lshift = 1;
        }
        if (q->rshift[c] < 1) {
            q->all_rshift = 0;
        }
    }
}

void pq_requant_row_s8(const pq_requant *q, int32_t c0, int32_t n, const int32_t *acc, int8_t *out)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        const int32_t c = c0 + i;
        const int32_t x = pq_wrap_i32((uint32_t)acc[i] + (uint32_t)q->bias[c]);
        /* lshift - rshift is the stored shift: exactly the reference's pq_mbqm. */
        int32_t v = pq_mbqm(x, q->mult[c], q->lshift[c] - q->rshift[c]);
        v = pq_wrap_i32((uint32_t)v + (uint32_t)q->output_offset);
        out[i] = (int8_t)pq_clamp(v, q->act_min, q->act_max);
    }
}
