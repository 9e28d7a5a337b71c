/*
 * FULLY_CONNECTED 16x8 for Cortex-M cores with the DSP extension: the arithmetic of
 * pq_fully_connected_s16 (ref/pq_fully_connected_s16.c), byte for byte, for a filter
 * offset of 0 (symmetric int8 weights, as TFLite quantizes them; export-c calls the
 * portable kernel otherwise). Each batch row is an int16 column read in place: two
 * filter rows per pass of pq_dsp16_gemv, no scratch.
 */
#include <stdint.h>

#include "pq_dsp16.h"

#if PQ_DSP

pq_status pq_fully_connected_s16_dsp(const pq_fc_params *p, const int32_t *mult, const int32_t *shift,
                                     int32_t batches, int32_t accum_depth, int32_t out_depth,
                                     const int16_t *in, const int8_t *filter, const int64_t *bias, int16_t *out)
{
    pq_dsp16_gemm g;
    int32_t b;
    if (p->filter_offset != 0) {
        return PQ_ERR_PARAM;
    }
    g.mult = mult;
    g.shift = shift;
    g.bias32 = NULL; /* the 16x8 FC's bias is int64 (validated) */
    g.bias64 = bias;
    g.per_channel = p->per_channel;
    g.act_min = p->act_min;
    g.act_max = p->act_max;
    g.k = accum_depth;
    g.clamp_kind = pq_dsp16_clamp_kind(p->act_min, p->act_max);
    g.out_stride = 0;
    g.first_row = 0;
    g.ch = NULL; /* no scratch: each row's requantization computed as it comes */
    for (b = 0; b < batches; ++b) {
        pq_dsp16_gemv(&g, filter, out_depth, in + b * accum_depth, out + b * out_depth);
    }
    return PQ_OK;
}

#else
typedef int pq_fully_connected_s16_dsp_unused; /* ISO C: a translation unit is not empty */
#endif /* PQ_DSP */
