/*
 * CONV_2D, int8 activations, packed int4 weights (pq_variants.def s4).
 *
 * TFLite Micro's conv.cc unpacks an INT4 filter into an int8 scratch buffer
 * (tensor_utils::UnpackDenseInt4IntoInt8) and runs reference_integer_ops::ConvPerChannel on
 * it; this kernel does the same arithmetic (pq_conv2d_s8's) reading each weight's nibble in
 * place, so RAM holds no unpacked filter.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_conv2d_s4(const pq_conv_params *p, const int32_t *mult, const int8_t *shift,
                       const pq_dims *in_dims, const int8_t *in, const pq_dims *filter_dims,
                       const uint8_t *filter, const int32_t *bias, const pq_dims *out_dims, int8_t *out)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t f_h = filter_dims->h, f_w = filter_dims->w, f_c = filter_dims->c;
    const int32_t out_h = out_dims->h, out_w = out_dims->w, out_c = out_dims->c;
    int32_t groups, filters_per_group, b, oy, ox, oc, fy, fx, ic;

    /* The divisions below must not divide by zero; the rest was validated at load time. */
    if (f_c <= 0 || (groups = in_c / f_c) <= 0 || (filters_per_group = out_c / groups) <= 0) {
        return PQ_ERR_PARAM;
    }
    for (b = 0; b < in_dims->n; ++b) {
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t in_y_origin = oy * p->stride_h - p->pad_h;
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t in_x_origin = ox * p->stride_w - p->pad_w;
                for (oc = 0; oc < out_c; ++oc) {
                    const int32_t in_c_base = (oc / filters_per_group) * f_c; /* the group's channels */
                    uint32_t acc = 0;
                    int32_t v;
                    for (fy = 0; fy < f_h; ++fy) {
                        const int32_t in_y = in_y_origin + p->dilation_h * fy;
                        for (fx = 0; fx < f_w; ++fx) {
                            const int32_t in_x = in_x_origin + p->dilation_w * fx;
                            int32_t in_base, f_base;
                            /* taps outside the image: padding with the input zero point (TFLM) */
                            if (in_y < 0 || in_y >= in_h || in_x < 0 || in_x >= in_w) continue;
                            in_base = ((b * in_h + in_y) * in_w + in_x) * in_c + in_c_base;
                            f_base = ((oc * f_h + fy) * f_w + fx) * f_c; /* element index, not byte */
                            for (ic = 0; ic < f_c; ++ic) {
                                /* wrapping 32-bit sum (pq_wrap_i32), as the int8 kernel */
                                acc += (uint32_t)pq_int4_at(filter, f_base + ic) *
                                       ((uint32_t)in[in_base + ic] + (uint32_t)p->input_offset);
                            }
                        }
                    }
                    if (bias != NULL) acc += (uint32_t)bias[oc];
                    v = pq_mbqm(pq_wrap_i32(acc), mult[oc], shift[oc]);
                    v = pq_wrap_i32((uint32_t)v + (uint32_t)p->output_offset);
                    out[((b * out_h + oy) * out_w + ox) * out_c + oc] = (int8_t)pq_clamp(v, p->act_min, p->act_max);
                }
            }
        }
    }
    return PQ_OK;
}

pq_status pq_conv2d_s4_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_conv_operands a = pq_conv_operands_of(node, t);
    return pq_conv2d_s4(a.p, a.mult, (const int8_t *)a.shift, &a.in, (const int8_t *)a.x, &a.filter, (const uint8_t *)a.w,
                        (const int32_t *)a.bias, &a.out, (int8_t *)a.y);
}
