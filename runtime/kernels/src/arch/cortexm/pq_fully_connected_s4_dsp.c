/*
 * FULLY_CONNECTED with packed int4 weights for Cortex-M cores with the DSP extension:
 * the arithmetic of pq_fully_connected_s4 (ref/pq_fully_connected_s4.c), byte for byte.
 * The filter offset is 0 (the s4 contract: TFLite's int4 weights are symmetric; refused
 * otherwise). Each batch row is a column read in place, two filter rows per pass of
 * pq_dsp_gemv_s4, the filter read as packed nibbles: no scratch, no unpacked copy.
 */
#include <stdint.h>

#include "pq_dsp_s4.h"

#if PQ_DSP

pq_status pq_fully_connected_s4_dsp(const pq_fc_params *p, const int32_t *mult, const int8_t *shift,
                                    int32_t batches, int32_t accum_depth, int32_t out_depth, const int8_t *in,
                                    const uint8_t *filter, const int32_t *bias, int8_t *out)
{
    pq_dsp_gemm_s4 g;
    int32_t b;
    if (p->filter_offset != 0) {
        return PQ_ERR_PARAM;
    }
    g.mult = mult;
    g.shift = shift;
    g.bias = bias;
    g.per_channel = p->per_channel;
    g.in_offset = p->input_offset;
    g.out_offset = p->output_offset;
    g.act_min = p->act_min;
    g.act_max = p->act_max;
    g.k = accum_depth;
    g.out_stride = 0;
    g.first_row = 0;
    for (b = 0; b < batches; ++b) {
        pq_dsp_gemv_s4(&g, filter, out_depth, in + b * accum_depth, out + b * out_depth);
    }
    return PQ_OK;
}

#else
typedef int pq_fully_connected_s4_dsp_unused; /* ISO C: a translation unit is not empty */
#endif /* PQ_DSP */
