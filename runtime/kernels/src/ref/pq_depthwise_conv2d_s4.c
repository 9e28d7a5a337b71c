/*
 * DEPTHWISE_CONV_2D, int8 activations, packed int4 weights (pq_variants.def s4).
 *
 * TFLite Micro's depthwise_conv.cc unpacks an INT4 filter into int8 scratch and runs
 * reference_integer_ops::DepthwiseConvPerChannel; this kernel does that arithmetic
 * (pq_depthwise_conv2d_s8's) reading each weight's nibble in place: no unpacked filter in RAM.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_depthwise_conv2d_s4(const pq_conv_params *p, const int32_t *mult, const int8_t *shift,
                                 const pq_dims *in_dims, const int8_t *in, const pq_dims *filter_dims,
                                 const uint8_t *filter, const int32_t *bias, const pq_dims *out_dims,
                                 int8_t *out)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t f_h = filter_dims->h, f_w = filter_dims->w;
    const int32_t out_h = out_dims->h, out_w = out_dims->w;
    const int32_t out_c = out_dims->c; /* == in_c * depth_multiplier == filter_dims->c */
    int32_t b, oy, ox, ic, m, fy, fx;

    for (b = 0; b < in_dims->n; ++b) {
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t in_y_origin = oy * p->stride_h - p->pad_h;
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t in_x_origin = ox * p->stride_w - p->pad_w;
                for (ic = 0; ic < in_c; ++ic) {
                    for (m = 0; m < p->depth_multiplier; ++m) {
                        const int32_t oc = m + ic * p->depth_multiplier;
                        uint32_t acc = 0;
                        int32_t v;
                        for (fy = 0; fy < f_h; ++fy) {
                            const int32_t in_y = in_y_origin + p->dilation_h * fy;
                            for (fx = 0; fx < f_w; ++fx) {
                                const int32_t in_x = in_x_origin + p->dilation_w * fx;
                                /* taps outside the image: padding with the input zero point */
                                if (in_y < 0 || in_y >= in_h || in_x < 0 || in_x >= in_w) continue;
                                /* filter [1, kh, kw, out_c]: element index, not byte */
                                acc += (uint32_t)pq_int4_at(filter, (fy * f_w + fx) * out_c + oc) *
                                       ((uint32_t)in[((b * in_h + in_y) * in_w + in_x) * in_c + ic] +
                                        (uint32_t)p->input_offset);
                            }
                        }
                        if (bias != NULL) acc += (uint32_t)bias[oc];
                        v = pq_mbqm(pq_wrap_i32(acc), mult[oc], shift[oc]);
                        v = pq_wrap_i32((uint32_t)v + (uint32_t)p->output_offset);
                        out[((b * out_h + oy) * out_w + ox) * out_c + oc] =
                            (int8_t)pq_clamp(v, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
    return PQ_OK;
}

pq_status pq_depthwise_conv2d_s4_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_conv_operands a = pq_conv_operands_of(node, t);
    return pq_depthwise_conv2d_s4(a.p, a.mult, (const int8_t *)a.shift, &a.in, (const int8_t *)a.x, &a.filter, (const uint8_t *)a.w,
                                  (const int32_t *)a.bias, &a.out, (int8_t *)a.y);
}
