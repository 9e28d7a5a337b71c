/*
 * picoq's portable kernel API (pq_kernels.h) implemented on ARM's CMSIS-NN kernels, so that
 * firmware exported by `picoq export-c` runs CMSIS-NN as a peer to compare against.
 *
 * Build: with the model's export folder, this file, the CMSIS-NN sources that
 * benchmarks/cmsis_nn.py lists, -DPQ_PORTABLE_KERNELS (so the model calls the portable
 * names) and without the picoq kernel files this shim replaces (cmsis_nn.py: "replaces").
 * CMSIS-NN itself comes from a checkout the user points to; it is never part of picoq.
 *
 * Mapping (picoq -> CMSIS-NN):
 *   CONV_2D            -> arm_convolve_wrapper_s8 (grouped conv and dilation included)
 *   DEPTHWISE_CONV_2D  -> arm_depthwise_conv_wrapper_s8 (any channel multiplier, dilation, batch)
 *   FULLY_CONNECTED    -> arm_fully_connected_s8 (per-tensor quantization, filter_offset passed)
 *   ADD                -> arm_elementwise_add_s8 when no input broadcasts
 *   AVERAGE_POOL_2D    -> arm_avgpool_s8
 *   MAX_POOL_2D        -> arm_max_pool_s8
 *   SOFTMAX            -> arm_softmax_s8
 * Both sides use TFLite's conventions: offsets are minus the zero points, Q31 multipliers
 * with a shift that is positive to the left, double-rounding requantization (CMSIS-NN's
 * default, CMSIS_NN_USE_SINGLE_ROUNDING must stay undefined), activation clamps in int8.
 *
 * Fallbacks (picoq's own reference code, renamed pq_cmsis_ref_*, counted in
 * pq_cmsis_fallbacks[]): ADD with broadcasting, per-channel FULLY_CONNECTED (this CMSIS-NN
 * subset leaves out arm_fully_connected_per_channel_s8), and any op whose parameters fall
 * outside what CMSIS-NN documents (offsets out of range, softmax shift outside [0, 31]).
 *
 * Scratch: one static buffer of PQ_CMSIS_SCRATCH bytes (set it at compile time, e.g. from
 * cmsis_nn.scratch_bytes()); each op checks CMSIS-NN's get_buffer_size against it and
 * returns PQ_ERR_PARAM when it is too small. pq_cmsis_scratch_peak records the largest need.
 */
#include <stddef.h>
#include <stdint.h>

#include "arm_nnfunctions.h"
#include "pq_kernels.h"
#include "pq_op.h"

/* picoq's reference kernels, compiled here under other names for the fallbacks. */
#define pq_conv2d_s8 pq_cmsis_ref_conv2d_s8
#define pq_conv2d_s8_eval pq_cmsis_ref_conv2d_s8_eval
#define pq_depthwise_conv2d_s8 pq_cmsis_ref_depthwise_conv2d_s8
#define pq_depthwise_conv2d_s8_eval pq_cmsis_ref_depthwise_conv2d_s8_eval
#define pq_fully_connected_s8 pq_cmsis_ref_fully_connected_s8
#define pq_fully_connected_s8_eval pq_cmsis_ref_fully_connected_s8_eval
#define pq_add_s8 pq_cmsis_ref_add_s8
#define pq_add_s8_eval pq_cmsis_ref_add_s8_eval
#define pq_avg_pool2d_s8 pq_cmsis_ref_avg_pool2d_s8
#define pq_avg_pool2d_s8_eval pq_cmsis_ref_avg_pool2d_s8_eval
#define pq_max_pool2d_s8 pq_cmsis_ref_max_pool2d_s8
#define pq_max_pool2d_s8_eval pq_cmsis_ref_max_pool2d_s8_eval
#define pq_softmax_s8 pq_cmsis_ref_softmax_s8
#define pq_softmax_s8_eval pq_cmsis_ref_softmax_s8_eval
#include "pq_add_s8.c"
#include "pq_avg_pool2d_s8.c"
#include "pq_conv2d_s8.c"
#include "pq_depthwise_conv2d_s8.c"
#include "pq_fully_connected_s8.c"
#include "pq_max_pool2d_s8.c"
#include "pq_softmax_s8.c"
#undef pq_conv2d_s8
#undef pq_conv2d_s8_eval
#undef pq_depthwise_conv2d_s8
#undef pq_depthwise_conv2d_s8_eval
#undef pq_fully_connected_s8
#undef pq_fully_connected_s8_eval
#undef pq_add_s8
#undef pq_add_s8_eval
#undef pq_avg_pool2d_s8
#undef pq_avg_pool2d_s8_eval
#undef pq_max_pool2d_s8
#undef pq_max_pool2d_s8_eval
#undef pq_softmax_s8
#undef pq_softmax_s8_eval

#ifndef PQ_CMSIS_SCRATCH
#define PQ_CMSIS_SCRATCH 4096
#endif

/* Which ops ran on picoq's reference code instead of CMSIS-NN (index: pq_cmsis_kind). */
enum pq_cmsis_kind {
    PQ_CMSIS_CONV = 0,
    PQ_CMSIS_DWCONV,
    PQ_CMSIS_FC,
    PQ_CMSIS_ADD,
    PQ_CMSIS_AVGPOOL,
    PQ_CMSIS_MAXPOOL,
    PQ_CMSIS_SOFTMAX,
    PQ_CMSIS_KINDS
};
uint32_t pq_cmsis_fallbacks[PQ_CMSIS_KINDS];
int32_t pq_cmsis_scratch_peak;

static int32_t pq_cmsis_scratch[(PQ_CMSIS_SCRATCH + 3) / 4];

/* A context over the static scratch, or 0 when `need` bytes do not fit. */
static int pq_cmsis_ctx(int32_t need, cmsis_nn_context *ctx)
{
    if (need > pq_cmsis_scratch_peak) {
        pq_cmsis_scratch_peak = need;
    }
    if (need < 0 || need > (int32_t)sizeof(pq_cmsis_scratch)) {
        return 0;
    }
    ctx->buf = pq_cmsis_scratch;
    ctx->size = need;
    return 1;
}

static cmsis_nn_dims pq_cmsis_dims(const pq_dims *d)
{
    cmsis_nn_dims r;
    r.n = d->n;
    r.h = d->h;
    r.w = d->w;
    r.c = d->c;
    return r;
}

static pq_status pq_cmsis_status(arm_cmsis_nn_status s)
{
    return s == ARM_CMSIS_NN_SUCCESS ? PQ_OK : PQ_ERR_PARAM;
}

/* CMSIS-NN documents input offsets in [-127, 128] and output offsets in [-128, 127]. */
static int pq_cmsis_offsets_ok(int32_t input_offset, int32_t output_offset)
{
    return input_offset >= -127 && input_offset <= 128 && output_offset >= -128 && output_offset <= 127;
}

static int pq_cmsis_clamp_ok(int32_t act_min, int32_t act_max)
{
    return act_min >= -128 && act_max <= 127 && act_min <= act_max;
}

pq_status pq_conv2d_s8(const pq_conv_params *p, const int32_t *mult, const int32_t *shift,
                       const pq_dims *in_dims, const int8_t *in,
                       const pq_dims *filter_dims, const int8_t *filter,
                       const int32_t *bias,
                       const pq_dims *out_dims, int8_t *out)
{
    cmsis_nn_conv_params cp;
    cmsis_nn_per_channel_quant_params qp;
    cmsis_nn_context ctx;
    const cmsis_nn_dims id = pq_cmsis_dims(in_dims), fd = pq_cmsis_dims(filter_dims), od = pq_cmsis_dims(out_dims);
    cmsis_nn_dims bd = {1, 1, 1, 0};

    if (!pq_cmsis_offsets_ok(p->input_offset, p->output_offset) || !pq_cmsis_clamp_ok(p->act_min, p->act_max) ||
        filter_dims->c <= 0 || in_dims->c % filter_dims->c != 0 || p->stride_h <= 0 || p->stride_w <= 0) {
        pq_cmsis_fallbacks[PQ_CMSIS_CONV]++;
        return pq_cmsis_ref_conv2d_s8(p, mult, shift, in_dims, in, filter_dims, filter, bias, out_dims, out);
    }
    bd.c = out_dims->c;
    cp.input_offset = p->input_offset;
    cp.output_offset = p->output_offset;
    cp.stride.h = p->stride_h;
    cp.stride.w = p->stride_w;
    cp.padding.h = p->pad_h;
    cp.padding.w = p->pad_w;
    cp.dilation.h = p->dilation_h;
    cp.dilation.w = p->dilation_w;
    cp.activation.min = p->act_min;
    cp.activation.max = p->act_max;
    qp.multiplier = (int32_t *)mult;
    qp.shift = (int32_t *)shift;
    if (!pq_cmsis_ctx(arm_convolve_wrapper_s8_get_buffer_size(&cp, &id, &fd, &od), &ctx)) {
        return PQ_ERR_PARAM;
    }
    return pq_cmsis_status(arm_convolve_wrapper_s8(&ctx, &cp, &qp, &id, in, &fd, filter, &bd, bias, &od, out));
}

pq_status pq_depthwise_conv2d_s8(const pq_conv_params *p, const int32_t *mult, const int32_t *shift,
                                 const pq_dims *in_dims, const int8_t *in,
                                 const pq_dims *filter_dims, const int8_t *filter,
                                 const int32_t *bias,
                                 const pq_dims *out_dims, int8_t *out)
{
    cmsis_nn_dw_conv_params dp;
    cmsis_nn_per_channel_quant_params qp;
    cmsis_nn_context ctx;
    const cmsis_nn_dims id = pq_cmsis_dims(in_dims), fd = pq_cmsis_dims(filter_dims), od = pq_cmsis_dims(out_dims);
    cmsis_nn_dims bd = {1, 1, 1, 0};

    if (!pq_cmsis_offsets_ok(p->input_offset, p->output_offset) || !pq_cmsis_clamp_ok(p->act_min, p->act_max) ||
        p->depth_multiplier <= 0 || out_dims->c != in_dims->c * p->depth_multiplier || p->stride_h <= 0 ||
        p->stride_w <= 0) {
        pq_cmsis_fallbacks[PQ_CMSIS_DWCONV]++;
        return pq_cmsis_ref_depthwise_conv2d_s8(p, mult, shift, in_dims, in, filter_dims, filter, bias, out_dims,
                                                out);
    }
    bd.c = out_dims->c;
    dp.input_offset = p->input_offset;
    dp.output_offset = p->output_offset;
    dp.ch_mult = p->depth_multiplier;
    dp.stride.h = p->stride_h;
    dp.stride.w = p->stride_w;
    dp.padding.h = p->pad_h;
    dp.padding.w = p->pad_w;
    dp.dilation.h = p->dilation_h;
    dp.dilation.w = p->dilation_w;
    dp.activation.min = p->act_min;
    dp.activation.max = p->act_max;
    qp.multiplier = (int32_t *)mult;
    qp.shift = (int32_t *)shift;
    if (!pq_cmsis_ctx(arm_depthwise_conv_wrapper_s8_get_buffer_size(&dp, &id, &fd, &od), &ctx)) {
        return PQ_ERR_PARAM;
    }
    return pq_cmsis_status(
        arm_depthwise_conv_wrapper_s8(&ctx, &dp, &qp, &id, in, &fd, filter, &bd, bias, &od, out));
}

pq_status pq_fully_connected_s8(const pq_fc_params *p, const int32_t *mult, const int32_t *shift,
                                int32_t batches, int32_t accum_depth, int32_t out_depth,
                                const int8_t *in, const int8_t *filter,
                                const int32_t *bias,
                                int8_t *out)
{
    cmsis_nn_fc_params fp;
    cmsis_nn_per_tensor_quant_params qp;
    cmsis_nn_context ctx;
    cmsis_nn_dims id = {0, 1, 1, 0}, fd = {0, 1, 1, 0}, bd = {1, 1, 1, 0}, od = {0, 1, 1, 0};

    /* Per-channel FC would need arm_fully_connected_per_channel_s8 (not in this subset);
     * CMSIS-NN's filter offset is an int16 in its SIMD path: keep it to int8's range. */
    if (p->per_channel || !pq_cmsis_offsets_ok(p->input_offset, p->output_offset) ||
        !pq_cmsis_clamp_ok(p->act_min, p->act_max) || p->filter_offset < -128 || p->filter_offset > 128) {
        pq_cmsis_fallbacks[PQ_CMSIS_FC]++;
        return pq_cmsis_ref_fully_connected_s8(p, mult, shift, batches, accum_depth, out_depth, in, filter, bias,
                                               out);
    }
    id.n = batches;
    id.c = accum_depth;
    fd.n = accum_depth;
    fd.c = out_depth;
    bd.c = out_depth;
    od.n = batches;
    od.c = out_depth;
    fp.input_offset = p->input_offset;
    fp.filter_offset = p->filter_offset;
    fp.output_offset = p->output_offset;
    fp.activation.min = p->act_min;
    fp.activation.max = p->act_max;
    qp.multiplier = mult[0];
    qp.shift = shift[0];
    if (!pq_cmsis_ctx(arm_fully_connected_s8_get_buffer_size(&fd), &ctx)) {
        return PQ_ERR_PARAM;
    }
    return pq_cmsis_status(arm_fully_connected_s8(&ctx, &fp, &qp, &id, in, &fd, filter, &bd, bias, &od, out));
}

pq_status pq_add_s8(const pq_add_params *p, int32_t rank,
                    const int32_t *in1_shape, const int8_t *in1,
                    const int32_t *in2_shape, const int8_t *in2,
                    const int32_t *out_shape, int8_t *out)
{
    int32_t d, size = 1, same = 1;

    for (d = 0; d < rank; ++d) {
        if (in1_shape[d] != out_shape[d] || in2_shape[d] != out_shape[d]) {
            same = 0;
        }
        size *= out_shape[d];
    }
    /* Broadcasting is not CMSIS-NN's (TFLM's CMSIS-NN ADD falls back to its reference too);
     * CMSIS-NN's SIMD path also needs left_shift >= 16 to shift out its 16-bit lanes. */
    if (!same || !pq_cmsis_offsets_ok(p->input1_offset, p->output_offset) ||
        !pq_cmsis_offsets_ok(p->input2_offset, p->output_offset) || !pq_cmsis_clamp_ok(p->act_min, p->act_max) ||
        p->left_shift < 16 || p->left_shift > 30 || p->input1_shift > 0 || p->input2_shift > 0) {
        pq_cmsis_fallbacks[PQ_CMSIS_ADD]++;
        return pq_cmsis_ref_add_s8(p, rank, in1_shape, in1, in2_shape, in2, out_shape, out);
    }
    return pq_cmsis_status(arm_elementwise_add_s8(in1,
                                                  in2,
                                                  p->input1_offset,
                                                  p->input1_multiplier,
                                                  p->input1_shift,
                                                  p->input2_offset,
                                                  p->input2_multiplier,
                                                  p->input2_shift,
                                                  p->left_shift,
                                                  out,
                                                  p->output_offset,
                                                  p->output_multiplier,
                                                  p->output_shift,
                                                  p->act_min,
                                                  p->act_max,
                                                  size));
}

static void pq_cmsis_pool(const pq_pool_params *p, cmsis_nn_pool_params *pp, cmsis_nn_dims *fd)
{
    pp->stride.h = p->stride_h;
    pp->stride.w = p->stride_w;
    pp->padding.h = p->pad_h;
    pp->padding.w = p->pad_w;
    pp->activation.min = p->act_min;
    pp->activation.max = p->act_max;
    fd->n = 1;
    fd->h = p->filter_h;
    fd->w = p->filter_w;
    fd->c = 1;
}

pq_status pq_avg_pool2d_s8(const pq_pool_params *p, const pq_dims *in_dims, const int8_t *in,
                           const pq_dims *out_dims, int8_t *out)
{
    cmsis_nn_pool_params pp;
    cmsis_nn_context ctx;
    cmsis_nn_dims fd;
    const cmsis_nn_dims id = pq_cmsis_dims(in_dims), od = pq_cmsis_dims(out_dims);

    if (!pq_cmsis_clamp_ok(p->act_min, p->act_max) || in_dims->n < 1) {
        pq_cmsis_fallbacks[PQ_CMSIS_AVGPOOL]++;
        return pq_cmsis_ref_avg_pool2d_s8(p, in_dims, in, out_dims, out);
    }
    pq_cmsis_pool(p, &pp, &fd);
    if (!pq_cmsis_ctx(arm_avgpool_s8_get_buffer_size(out_dims->w, in_dims->c), &ctx)) {
        return PQ_ERR_PARAM;
    }
    return pq_cmsis_status(arm_avgpool_s8(&ctx, &pp, &id, in, &fd, &od, out));
}

pq_status pq_max_pool2d_s8(const pq_pool_params *p, const pq_dims *in_dims, const int8_t *in,
                           const pq_dims *out_dims, int8_t *out)
{
    cmsis_nn_pool_params pp;
    cmsis_nn_context ctx;
    cmsis_nn_dims fd;
    const cmsis_nn_dims id = pq_cmsis_dims(in_dims), od = pq_cmsis_dims(out_dims);

    if (!pq_cmsis_clamp_ok(p->act_min, p->act_max) || in_dims->n < 1) {
        pq_cmsis_fallbacks[PQ_CMSIS_MAXPOOL]++;
        return pq_cmsis_ref_max_pool2d_s8(p, in_dims, in, out_dims, out);
    }
    pq_cmsis_pool(p, &pp, &fd);
    ctx.buf = NULL;
    ctx.size = 0;
    return pq_cmsis_status(arm_max_pool_s8(&ctx, &pp, &id, in, &fd, &od, out));
}

pq_status pq_softmax_s8(const pq_softmax_params *p, int32_t outer, int32_t depth,
                        const int8_t *in, int8_t *out)
{
    if (p->input_left_shift < 0 || p->input_left_shift > 31 || depth <= 0) {
        pq_cmsis_fallbacks[PQ_CMSIS_SOFTMAX]++;
        return pq_cmsis_ref_softmax_s8(p, outer, depth, in, out);
    }
    arm_softmax_s8(in, outer, depth, p->input_multiplier, p->input_left_shift, p->diff_min, out);
    return PQ_OK;
}
