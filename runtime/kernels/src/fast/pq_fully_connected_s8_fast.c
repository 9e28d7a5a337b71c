/*
 * FULLY_CONNECTED as int8 GEMM (same bytes as pq_fully_connected_s8 when
 * filter_offset is 0, the only case the loader sends here): each batch row
 * of the input is a GEMM row, used in place.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"

pq_status pq_fully_connected_s8_fast(const pq_gemm_s8_plan *plan, int32_t batches, const int8_t *in, int8_t *out,
                                     void *scratch)
{
    pq_gemm_s8(plan, batches, in, plan->k, out, plan->n, scratch);
    return PQ_OK;
}
