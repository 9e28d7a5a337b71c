/*
 * CONCATENATION as block moves (same bytes as pq_concatenation_s8). Each output row (one
 * index of the dims before the axis) is every input's block in turn; an input on the output's
 * quantization (the reference's exact-identity test, the same test here) is a memcpy of its
 * block, any other a lookup in its 256-byte table, which the caller builds by running the
 * reference arithmetic on the 256 int8 values, so equal by construction. With the axis first
 * (or every dim before it 1) each input is one memcpy. Portable C for every ISA.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pq_fast.h"

pq_status pq_concatenation_s8_fast_plan(int32_t n_inputs, const int32_t *axis_sizes, const int32_t *requant,
                                        int32_t output_offset, int32_t outer, int32_t inner,
                                        pq_concat_fast_plan *plan)
{
    int64_t out_row = 0;
    int32_t i;
    if (n_inputs < 1 || n_inputs > PQ_MAX_CONCAT_INPUTS || outer < 0 || inner < 0) return PQ_ERR_PARAM;
    memset(plan, 0, sizeof *plan);
    for (i = 0; i < n_inputs; ++i) {
        const int32_t *rq = requant + 3 * i;
        if (axis_sizes[i] < 0) return PQ_ERR_PARAM;
        out_row += (int64_t)axis_sizes[i] * inner;
        if (out_row > INT32_MAX) return PQ_ERR_PARAM; /* no output is that large */
        plan->chunk[i] = axis_sizes[i] * inner;
        /* The reference's test for a plain copy, verbatim. */
        if (rq[0] == ((int32_t)1 << 30) && rq[1] == 1 && rq[2] == -output_offset) {
            plan->table[i] = -1;
        } else {
            plan->table[i] = plan->n_tables++;
        }
    }
    plan->n_inputs = n_inputs;
    plan->outer = outer;
    plan->out_row = (int32_t)out_row;
    return PQ_OK;
}

pq_status pq_concatenation_s8_fast(const pq_concat_fast_plan *plan, const uint8_t *tables,
                                   const int8_t *const *inputs, int8_t *out)
{
    int32_t o, i;
    for (o = 0; o < plan->outer; ++o) {
        int8_t *dst = out + (size_t)o * (size_t)plan->out_row;
        for (i = 0; i < plan->n_inputs; ++i) {
            const size_t chunk = (size_t)plan->chunk[i];
            const int8_t *src = inputs[i] + (size_t)o * chunk;
            if (plan->table[i] < 0) {
                memcpy(dst, src, chunk);
            } else {
                const uint8_t *table = tables + 256u * (size_t)plan->table[i];
                const uint8_t *s = (const uint8_t *)src;
                uint8_t *d = (uint8_t *)dst;
                size_t j;
                for (j = 0; j < chunk; ++j) d[j] = table[s[j]];
            }
            dst += chunk;
        }
    }
    return PQ_OK;
}
