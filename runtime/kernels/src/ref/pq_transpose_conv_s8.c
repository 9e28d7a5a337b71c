/*
 * TRANSPOSE_CONV, int8 activations and weights (filter [out_c, kh, kw, in_c], TFLite's OHWI),
 * per-channel requantization.
 *
 * Matches TFLite Micro reference_integer_ops::TransposeConv (int8 overload), as called by
 * tensorflow/lite/micro/kernels/transpose_conv.cc. TFLM scatters every input pixel into an
 * int32 scratch image of the output; here each output value gathers the same products instead
 * (input row iy reaches output row oy through filter row fy when oy = iy * stride - pad + fy).
 * The sums are the same set of int32 products, added in wrapping 32-bit arithmetic where
 * order does not change the result, so the bytes are TFLM's with no scratch buffer: the op
 * needs no arena beyond its tensors, which is what a microcontroller's RAM budget wants.
 * dilation_h and dilation_w are 1 (the contract): TFLite's transposed convolution has none.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_kernels.h"
#include "pq_op.h"

/* The input coordinate whose pixel reaches output coordinate `o` through filter tap `f`, or
 * -1 when none does (between two strided input pixels, or outside the input). */
static int32_t source(int32_t o, int32_t f, int32_t pad, int32_t stride, int32_t in_size)
{
    const int32_t t = o + pad - f; /* < 2^25: o, pad and f below 2^24 (contract) */
    if (t < 0 || t % stride != 0 || t / stride >= in_size) {
        return -1;
    }
    return t / stride;
}

pq_status pq_transpose_conv_s8(const pq_conv_params *p, const int32_t *mult, const int32_t *shift,
                               const pq_dims *in_dims, const int8_t *in, const pq_dims *filter_dims,
                               const int8_t *filter, const int32_t *bias, const pq_dims *out_dims, int8_t *out)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t f_h = filter_dims->h, f_w = filter_dims->w;
    const int32_t out_h = out_dims->h, out_w = out_dims->w, out_c = out_dims->c;
    int32_t b, oy, ox, oc, fy, fx, ic;
    if (p->stride_h <= 0 || p->stride_w <= 0) {
        return PQ_ERR_PARAM; /* the divisions below; the contract already refuses it */
    }
    for (b = 0; b < in_dims->n; ++b) {
        for (oy = 0; oy < out_h; ++oy) {
            for (ox = 0; ox < out_w; ++ox) {
                for (oc = 0; oc < out_c; ++oc) {
                    uint32_t acc = 0;
                    int32_t v;
                    for (fy = 0; fy < f_h; ++fy) {
                        const int32_t iy = source(oy, fy, p->pad_h, p->stride_h, in_h);
                        if (iy < 0) {
                            continue;
                        }
                        for (fx = 0; fx < f_w; ++fx) {
                            const int32_t ix = source(ox, fx, p->pad_w, p->stride_w, in_w);
                            const int8_t *xp, *wp;
                            if (ix < 0) {
                                continue;
                            }
                            xp = in + (((size_t)b * (size_t)in_h + (size_t)iy) * (size_t)in_w + (size_t)ix) * (size_t)in_c;
                            wp = filter + (((size_t)oc * (size_t)f_h + (size_t)fy) * (size_t)f_w + (size_t)fx) * (size_t)in_c;
                            for (ic = 0; ic < in_c; ++ic) {
                                /* TFLM's (input_value + input_offset) * filter_value, wrapping */
                                acc += (uint32_t)(int32_t)wp[ic] * ((uint32_t)(int32_t)xp[ic] + (uint32_t)p->input_offset);
                            }
                        }
                    }
                    if (bias != NULL) {
                        acc += (uint32_t)bias[oc];
                    }
                    v = pq_mbqm(pq_wrap_i32(acc), mult[oc], shift[oc]);
                    v = pq_wrap_i32((uint32_t)v + (uint32_t)p->output_offset);
                    v = pq_clamp(v, p->act_min, p->act_max);
                    *out++ = (int8_t)v;
                }
            }
        }
    }
    return PQ_OK;
}

pq_status pq_transpose_conv_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_conv_operands a = pq_conv_operands_of(node, t);
    return pq_transpose_conv_s8(a.p, a.mult, (const int32_t *)a.shift, &a.in, (const int8_t *)a.x, &a.filter,
                                (const int8_t *)a.w, (const int32_t *)a.bias, &a.out, (int8_t *)a.y);
}
