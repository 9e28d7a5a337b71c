/*
 * CONV_2D, 16x8: int16 activations (zero point 0), int8 per-channel weights, int64 or int32
 * bias.
 *
 * Matches TFLite Micro's reference_integer_ops::ConvPerChannel<AccumScalar> (the int16
 * overload), as tensorflow/lite/micro/kernels/conv.cc calls it: with an int32 bias TFLM
 * instantiates AccumScalar = int32_t, so the sum wraps in 32 bits and the requantization is
 * the int8 kernels' pq_mbqm; with an int64 bias or none (measured: tflite_micro
 * 0.dev20261023 sums a bias-less 16x8 conv in int64) the accumulator is int64 and the
 * requantization the int64 MultiplyByQuantizedMultiplier (pq_mbqm64). No input or output
 * offset: TFLM's 16x8 kernel has none, and the validator holds both at 0.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_conv2d_s16(const pq_conv_params *p, const int32_t *mult, const int32_t *shift,
                        const pq_dims *in_dims, const int16_t *in, const pq_dims *filter_dims,
                        const int8_t *filter, const int32_t *bias32, const int64_t *bias64,
                        const pq_dims *out_dims, int16_t *out)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t f_h = filter_dims->h, f_w = filter_dims->w, f_c = filter_dims->c;
    const int32_t out_h = out_dims->h, out_w = out_dims->w, out_c = out_dims->c;
    int32_t groups, filters_per_group;
    int32_t b, oy, ox, oc, fy, fx, ic;

    /* The divisions below must not divide by zero; the validator checked the rest. */
    if (f_c <= 0 || (groups = in_c / f_c) <= 0 || (filters_per_group = out_c / groups) <= 0) {
        return PQ_ERR_PARAM;
    }
    for (b = 0; b < in_dims->n; ++b) {
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t in_y_origin = oy * p->stride_h - p->pad_h;
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t in_x_origin = ox * p->stride_w - p->pad_w;
                for (oc = 0; oc < out_c; ++oc) {
                    const int32_t in_c_base = (oc / filters_per_group) * f_c;
                    /* One uint64 sum serves both accumulators: its low 32 bits are TFLM's
                     * wrapping int32 sum, all of it the int64 one (|w * x| <= 2^22, so a
                     * real sum stays far inside int64; uint64 keeps hostile sizes defined). */
                    uint64_t acc = 0;
                    int32_t v;
                    for (fy = 0; fy < f_h; ++fy) {
                        const int32_t in_y = in_y_origin + p->dilation_h * fy;
                        for (fx = 0; fx < f_w; ++fx) {
                            const int32_t in_x = in_x_origin + p->dilation_w * fx;
                            const int16_t *x_row;
                            const int8_t *w_row;
                            /* Taps outside the image are skipped (zero padding, as TFLM). */
                            if (in_y < 0 || in_y >= in_h || in_x < 0 || in_x >= in_w) {
                                continue;
                            }
                            x_row = in + ((b * in_h + in_y) * in_w + in_x) * in_c + in_c_base;
                            w_row = filter + ((oc * f_h + fy) * f_w + fx) * f_c;
                            for (ic = 0; ic < f_c; ++ic) {
                                acc += (uint64_t)(int64_t)((int32_t)w_row[ic] * (int32_t)x_row[ic]);
                            }
                        }
                    }
                    if (bias32 != NULL) {
                        v = pq_mbqm(pq_wrap_i32((uint32_t)acc + (uint32_t)bias32[oc]), mult[oc], shift[oc]);
                    } else {
                        if (bias64 != NULL) acc += (uint64_t)bias64[oc];
                        v = pq_mbqm64(pq_wrap_i64(acc), mult[oc], shift[oc]);
                    }
                    out[((b * out_h + oy) * out_w + ox) * out_c + oc] = (int16_t)pq_clamp(v, p->act_min, p->act_max);
                }
            }
        }
    }
    return PQ_OK;
}

pq_status pq_conv2d_s16_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_conv_operands a = pq_conv_operands_of(node, t);
    /* the validator allows an int32 or an int64 bias */
    const int narrow = a.bias_tensor != NULL && a.bias_tensor->dtype == PQ_DT_INT32;
    return pq_conv2d_s16(a.p, a.mult, (const int32_t *)a.shift, &a.in, (const int16_t *)a.x, &a.filter, (const int8_t *)a.w,
                         narrow ? (const int32_t *)a.bias : NULL, narrow ? NULL : (const int64_t *)a.bias, &a.out,
                         (int16_t *)a.y);
}
