/*
 * DEPTHWISE_CONV_2D, 16x8: int16 activations (zero point 0), int8 per-channel weights, int64
 * bias.
 *
 * Matches TFLite Micro's reference_integer_ops::DepthwiseConvPerChannel (the int16
 * overload), as tensorflow/lite/micro/kernels/depthwise_conv.cc calls it: an int64
 * accumulator, the int64 bias, the int64 MultiplyByQuantizedMultiplier (pq_mbqm64), the
 * clamp. Unlike CONV_2D, TFLM has no int32-bias 16x8 depthwise (it reads any bias as int64),
 * so the validator admits only int64. No input or output offset (held at 0).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_depthwise_conv2d_s16(const pq_conv_params *p, const int32_t *mult, const int32_t *shift,
                                  const pq_dims *in_dims, const int16_t *in, const pq_dims *filter_dims,
                                  const int8_t *filter, const int64_t *bias, const pq_dims *out_dims,
                                  int16_t *out)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t f_h = filter_dims->h, f_w = filter_dims->w;
    const int32_t out_h = out_dims->h, out_w = out_dims->w, out_c = out_dims->c; /* in_c * multiplier */
    const int32_t depth_multiplier = p->depth_multiplier;
    int32_t b, oy, ox, ic, m, fy, fx;

    for (b = 0; b < in_dims->n; ++b) {
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t in_y_origin = oy * p->stride_h - p->pad_h;
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t in_x_origin = ox * p->stride_w - p->pad_w;
                for (ic = 0; ic < in_c; ++ic) {
                    for (m = 0; m < depth_multiplier; ++m) {
                        /* Input channel ic feeds depth_multiplier consecutive outputs. */
                        const int32_t oc = m + ic * depth_multiplier;
                        uint64_t acc = 0; /* see pq_conv2d_s16 */
                        for (fy = 0; fy < f_h; ++fy) {
                            const int32_t in_y = in_y_origin + p->dilation_h * fy;
                            for (fx = 0; fx < f_w; ++fx) {
                                const int32_t in_x = in_x_origin + p->dilation_w * fx;
                                if (in_y < 0 || in_y >= in_h || in_x < 0 || in_x >= in_w) {
                                    continue; /* zero padding, as TFLM */
                                }
                                /* Filter is [1, kh, kw, out_c]. */
                                acc += (uint64_t)(int64_t)((int32_t)filter[(fy * f_w + fx) * out_c + oc] *
                                                           (int32_t)in[((b * in_h + in_y) * in_w + in_x) * in_c + ic]);
                            }
                        }
                        if (bias != NULL) acc += (uint64_t)bias[oc];
                        out[((b * out_h + oy) * out_w + ox) * out_c + oc] = (int16_t)pq_clamp(
                            pq_mbqm64(pq_wrap_i64(acc), mult[oc], shift[oc]), p->act_min, p->act_max);
                    }
                }
            }
        }
    }
    return PQ_OK;
}

pq_status pq_depthwise_conv2d_s16_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_conv_operands a = pq_conv_operands_of(node, t);
    return pq_depthwise_conv2d_s16(a.p, a.mult, (const int32_t *)a.shift, &a.in, (const int16_t *)a.x, &a.filter, (const int8_t *)a.w,
                                   (const int64_t *)a.bias, &a.out, (int16_t *)a.y);
}
