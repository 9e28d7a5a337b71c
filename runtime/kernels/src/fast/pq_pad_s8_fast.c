/*
 * PAD (constant) as block fills and copies (same bytes as pq_pad_s8: every output byte outside
 * the input's box is the pad value, every other the input's byte at the same place).
 *
 * A dim without padding is merged into the dim before it (its padding counted in the merged
 * dim's elements), so NHWC padded on H and W is [N, H, W*C] with W's padding times C. Then
 * level d of the output is: the padding before (before[d] whole sub-blocks: one memset), each
 * input sub-block (the next level; at the last level one memcpy of the input row), the padding
 * after (one memset). Recursion depth is the merged rank, at most PQ_MAX_DIMS.
 * Portable C for every ISA.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pq_fast.h"

pq_status pq_pad_s8_fast_plan(const pq_pad_params *p, int32_t rank, const int32_t *in_shape,
                              pq_pad_fast_plan *plan)
{
    int64_t in_stride = 1, out_stride = 1;
    int32_t r = 0, d;
    if (rank < 1 || rank > PQ_MAX_DIMS || p->pad_value < -128 || p->pad_value > 127) return PQ_ERR_PARAM;
    memset(plan, 0, sizeof *plan);
    plan->pad_value = p->pad_value;
    for (d = 0; d < rank; ++d) {
        if (in_shape[d] < 1 || p->pads[d][0] < 0 || p->pads[d][1] < 0) return PQ_ERR_PARAM;
        if (r > 0 && p->pads[d][0] == 0 && p->pads[d][1] == 0) {
            /* No padding on d: merge it into the last kept dim, whose elements become d's. */
            const int64_t merged = (int64_t)plan->in_shape[r - 1] * in_shape[d];
            const int64_t b = (int64_t)plan->before[r - 1] * in_shape[d], a = (int64_t)plan->after[r - 1] * in_shape[d];
            if (b + merged + a > INT32_MAX) return PQ_ERR_PARAM; /* no output is that large */
            plan->in_shape[r - 1] = (int32_t)merged;
            plan->before[r - 1] = (int32_t)b;
            plan->after[r - 1] = (int32_t)a;
        } else {
            plan->in_shape[r] = in_shape[d];
            plan->before[r] = p->pads[d][0];
            plan->after[r] = p->pads[d][1];
            ++r;
        }
    }
    plan->rank = r;
    for (d = r - 1; d >= 0; --d) {
        plan->in_stride[d] = (int32_t)in_stride;
        plan->out_stride[d] = (int32_t)out_stride;
        in_stride *= plan->in_shape[d];
        out_stride *= (int64_t)plan->before[d] + plan->in_shape[d] + plan->after[d];
        if (out_stride > INT32_MAX) return PQ_ERR_PARAM;
    }
    return PQ_OK;
}

/* Level d of the output at `out`, from the input block at `in`. */
static void pad_level(const pq_pad_fast_plan *plan, int32_t d, const int8_t *in, int8_t *out)
{
    const size_t os = (size_t)plan->out_stride[d], n = (size_t)plan->in_shape[d];
    const int pad = (int)(uint8_t)(int8_t)plan->pad_value;
    memset(out, pad, (size_t)plan->before[d] * os);
    out += (size_t)plan->before[d] * os;
    if (d == plan->rank - 1) {
        memcpy(out, in, n); /* os == 1 */
    } else {
        const size_t is = (size_t)plan->in_stride[d];
        size_t i;
        for (i = 0; i < n; ++i) pad_level(plan, d + 1, in + i * is, out + i * os);
    }
    memset(out + n * os, pad, (size_t)plan->after[d] * os);
}

pq_status pq_pad_s8_fast(const pq_pad_fast_plan *plan, const int8_t *in, int8_t *out)
{
    pad_level(plan, 0, in, out);
    return PQ_OK;
}
