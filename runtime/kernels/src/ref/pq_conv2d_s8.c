/*
 * CONV_2D, int8 activations and weights, per-channel requantization.
 *
 * Matches TFLite Micro tensorflow/lite/kernels/internal/reference/integer_ops/conv.h,
 * reference_integer_ops::ConvPerChannel (int8 overload), as called by
 * tensorflow/lite/micro/kernels/conv.cc, default double-rounding build.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_conv2d_s8(const pq_conv_params *p, const int32_t *mult, const int32_t *shift,
                       const pq_dims *in_dims, const int8_t *in,
                       const pq_dims *filter_dims, const int8_t *filter,
                       const int32_t *bias,
                       const pq_dims *out_dims, int8_t *out)
{
    const int32_t batches = in_dims->n;
    const int32_t in_h = in_dims->h;
    const int32_t in_w = in_dims->w;
    const int32_t in_c = in_dims->c;
    const int32_t f_h = filter_dims->h;
    const int32_t f_w = filter_dims->w;
    const int32_t f_c = filter_dims->c; /* input channels seen by one filter */
    const int32_t out_h = out_dims->h;
    const int32_t out_w = out_dims->w;
    const int32_t out_c = out_dims->c;
    int32_t groups, filters_per_group;
    int32_t b, oy, ox, oc, fy, fx, ic;

    /* The only guards: the two divisions below must not divide by zero.
     * Everything else was validated at load time. */
    if (f_c <= 0) {
        return PQ_ERR_PARAM;
    }
    groups = in_c / f_c;
    if (groups <= 0) {
        return PQ_ERR_PARAM;
    }
    filters_per_group = out_c / groups;
    if (filters_per_group <= 0) {
        return PQ_ERR_PARAM;
    }

    for (b = 0; b < batches; ++b) {
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t in_y_origin = oy * p->stride_h - p->pad_h;
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t in_x_origin = ox * p->stride_w - p->pad_w;
                for (oc = 0; oc < out_c; ++oc) {
                    /* Grouped conv: output channel oc reads the f_c input
                     * channels of its group. groups == 1 is ordinary conv. */
                    const int32_t group = oc / filters_per_group;
                    const int32_t in_c_base = group * f_c;
                    uint32_t acc = 0;
                    int32_t v;

                    for (fy = 0; fy < f_h; ++fy) {
                        const int32_t in_y = in_y_origin + p->dilation_h * fy;
                        for (fx = 0; fx < f_w; ++fx) {
                            const int32_t in_x = in_x_origin + p->dilation_w * fx;
                            int32_t in_base, f_base;
                            /* Taps outside the image are skipped, which equals
                             * padding with the input zero point (TFLM). */
                            if (in_y < 0 || in_y >= in_h || in_x < 0 || in_x >= in_w) {
                                continue;
                            }
                            /* Offset(shape, i0, i1, i2, i3) of TFLM, nested so
                             * that every partial product is < the tensor size. */
                            in_base = ((b * in_h + in_y) * in_w + in_x) * in_c + in_c_base;
                            f_base = ((oc * f_h + fy) * f_w + fx) * f_c;
                            for (ic = 0; ic < f_c; ++ic) {
                                const int32_t x = in[in_base + ic];
                                const int32_t w = filter[f_base + ic];
                                /* acc += w * (x + input_offset), in wrapping
                                 * 32-bit arithmetic (see pq_wrap_i32). */
                                acc += (uint32_t)w * ((uint32_t)x + (uint32_t)p->input_offset);
                            }
                        }
                    }
                    if (bias != NULL) {
                        acc += (uint32_t)bias[oc];
                    }
                    v = pq_mbqm(pq_wrap_i32(acc), mult[oc], shift[oc]);
                    v = pq_wrap_i32((uint32_t)v + (uint32_t)p->output_offset);
                    v = pq_clamp(v, p->act_min, p->act_max);
                    out[((b * out_h + oy) * out_w + ox) * out_c + oc] = (int8_t)v;
                }
            }
        }
    }
    return PQ_OK;
}

pq_status pq_conv2d_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_conv_operands a = pq_conv_operands_of(node, t);
    return pq_conv2d_s8(a.p, a.mult, (const int32_t *)a.shift, &a.in, (const int8_t *)a.x, &a.filter, (const int8_t *)a.w,
                        (const int32_t *)a.bias, &a.out, (int8_t *)a.y);
}
