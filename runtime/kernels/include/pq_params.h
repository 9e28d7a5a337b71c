/*
 * Each op's parameter block: the int32 values an op record of the .picoq file
 * carries (docs/FORMAT.md, OPS_ params[16]), in file order, and at the same
 * time the C struct its kernels take. A kernel is bound by pointing at the op
 * record, never by copying fields (the file is little-endian and 16-byte
 * aligned; pq_interp_prepare checks both).
 *
 * One list per block, PQ_<BLOCK>_PARAMS(F), calling F(name) once per value:
 * the struct, the names Python and error messages use, and the value count
 * all come from it. Three blocks hold arrays (PAD's before/after pairs,
 * TRANSPOSE's permutation, SLICE's begins): their structs are written out, and static
 * assertions hold them to their lists.
 */
#ifndef PQ_PARAMS_H
#define PQ_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#define PQ_MAX_DIMS 6
#define PQ_MAX_PARAMS 16 /* int32 slots of an op record; the unused ones are 0 */
#define PQ_MAX_CONCAT_INPUTS 64 /* data inputs of one CONCATENATION (then its requant table) */

#define PQ_STATIC_ASSERT(cond, tag) typedef char pq_static_assert_##tag[(cond) ? 1 : -1]

/* ---- the lists (file order) ---- */
#define PQ_CONV2D_PARAMS(F)                                                                              \
    F(stride_h) F(stride_w) F(dilation_h) F(dilation_w) F(pad_h) F(pad_w) F(input_offset) F(output_offset) \
    F(act_min) F(act_max)
#define PQ_DWCONV_PARAMS(F) PQ_CONV2D_PARAMS(F) F(depth_multiplier)
#define PQ_FC_PARAMS(F) F(input_offset) F(filter_offset) F(output_offset) F(act_min) F(act_max) F(per_channel)
#define PQ_ADD_PARAMS(F)                                                                                    \
    F(input1_offset) F(input2_offset) F(output_offset) F(left_shift) F(input1_multiplier) F(input1_shift) \
    F(input2_multiplier) F(input2_shift) F(output_multiplier) F(output_shift) F(act_min) F(act_max)
#define PQ_POOL_PARAMS(F) F(stride_h) F(stride_w) F(filter_h) F(filter_w) F(pad_h) F(pad_w) F(act_min) F(act_max)
#define PQ_SOFTMAX_PARAMS(F) F(input_multiplier) F(input_left_shift) F(diff_min)
#define PQ_NO_PARAMS(F)
#define PQ_MUL_PARAMS(F)                                                                           \
    F(input1_offset) F(input2_offset) F(output_offset) F(output_multiplier) F(output_shift) F(act_min) \
    F(act_max)
#define PQ_MEAN_PARAMS(F) F(axis_mask) F(keep_dims) F(input_offset) F(output_offset) F(multiplier) F(shift)
#define PQ_CONCAT_PARAMS(F) F(axis) F(output_offset)
#define PQ_PAD_PARAMS(F)                                                                                     \
    F(pad_value) F(before_0) F(after_0) F(before_1) F(after_1) F(before_2) F(after_2) F(before_3) F(after_3) \
    F(before_4) F(after_4) F(before_5) F(after_5)
#define PQ_LOGISTIC_PARAMS(F) F(input_offset) F(input_range_radius) F(input_multiplier) F(input_left_shift)
#define PQ_HARD_SWISH_PARAMS(F) \
    F(input_offset) F(output_offset) F(reluish_multiplier) F(reluish_shift) F(output_multiplier) F(output_shift)
#define PQ_LEAKY_RELU_PARAMS(F) \
    F(input_offset) F(output_offset) F(identity_multiplier) F(identity_shift) F(alpha_multiplier) F(alpha_shift)
#define PQ_TRANSPOSE_PARAMS(F) F(perm_0) F(perm_1) F(perm_2) F(perm_3) F(perm_4) F(perm_5)
#define PQ_SLICE_PARAMS(F) F(begin_0) F(begin_1) F(begin_2) F(begin_3) F(begin_4) F(begin_5)
#define PQ_BATCH_MATMUL_PARAMS(F) \
    F(adj_x) F(adj_y) F(lhs_offset) F(rhs_offset) F(output_offset) F(output_multiplier) F(output_shift)
#define PQ_GATHER_PARAMS(F) F(axis) F(batch_dims)
#define PQ_PRELU_PARAMS(F)                                                                                \
    F(input_offset) F(alpha_offset) F(output_offset) F(identity_multiplier) F(identity_shift) F(alpha_multiplier) \
        F(alpha_shift)
#define PQ_LAYER_NORM_PARAMS(F) F(output_offset) F(shift) F(eps_multiplier) F(eps_shift)
#define PQ_QUANTIZE_PARAMS(F) F(input_offset) F(output_offset) F(multiplier) F(shift)

/* ---- helpers on a list ---- */
#define PQ_PARAM_FIELD_(name) int32_t name;
#define PQ_PARAM_COUNT_(name) +1
#define PQ_PARAM_NAME_(name) #name,
/* Number of values in a list: PQ_PARAM_COUNT(PQ_FC_PARAMS) == 6. */
#define PQ_PARAM_COUNT(LIST) (0 LIST(PQ_PARAM_COUNT_))

/* ---- the structs ---- */
/* CONV_2D and DEPTHWISE_CONV_2D (CONV_2D's record leaves depth_multiplier 0). */
typedef struct {
    PQ_DWCONV_PARAMS(PQ_PARAM_FIELD_)
} pq_conv_params;
/* FULLY_CONNECTED: out[b, o] = requant(sum_d (w[o, d] + filter_offset) * (x[b, d] + input_offset) + bias[o]);
 * per_channel 1: mult/shift hold out_depth entries, 0: one entry for all. */
typedef struct {
    PQ_FC_PARAMS(PQ_PARAM_FIELD_)
} pq_fc_params;
/* ADD (int8): TFLite's two-stage rescale with left_shift = 20. */
typedef struct {
    PQ_ADD_PARAMS(PQ_PARAM_FIELD_)
} pq_add_params;
/* AVERAGE_POOL_2D and MAX_POOL_2D. */
typedef struct {
    PQ_POOL_PARAMS(PQ_PARAM_FIELD_)
} pq_pool_params;
/* SOFTMAX (int8 in, int8 out with scale 1/256 and zero point -128): input_multiplier is
 * beta * input_scale * 2^26 as a Q31 multiplier; inputs diff_min below the row max give -128. */
typedef struct {
    PQ_SOFTMAX_PARAMS(PQ_PARAM_FIELD_)
} pq_softmax_params;
/* MUL (int8): clamp(output_offset + MBQM((a + input1_offset) * (b + input2_offset), M, s)). */
typedef struct {
    PQ_MUL_PARAMS(PQ_PARAM_FIELD_)
} pq_mul_params;
/* MEAN (int8) over the dims whose bit is set in axis_mask: clamp(output_offset +
 * MBQM(sum + count * input_offset, multiplier, shift)); the multiplier has 1/count folded
 * in, as TFLM's QuantizedMeanOrSum does (it may be below 2^30). keep_dims only shapes the output. */
typedef struct {
    PQ_MEAN_PARAMS(PQ_PARAM_FIELD_)
} pq_mean_params;
/* CONCATENATION: the output's axis and zero point (each input's rescale is a constant table). */
typedef struct {
    PQ_CONCAT_PARAMS(PQ_PARAM_FIELD_)
} pq_concat_params;
/* LOGISTIC and TANH (int8): TFLM's gemmlowp fixed point on a Q4.27 input. input_multiplier is
 * round(frexp(input_scale * 2^27) * 2^31), input_left_shift frexp's exponent in [0, 30];
 * |x + input_offset| >= input_range_radius saturates. */
typedef struct {
    PQ_LOGISTIC_PARAMS(PQ_PARAM_FIELD_)
} pq_logistic_params;
/* HARD_SWISH (int8): TFLite's int16 fixed-point HardSwishParams (Q15 multipliers). */
typedef struct {
    PQ_HARD_SWISH_PARAMS(PQ_PARAM_FIELD_)
} pq_hard_swish_params;
/* LEAKY_RELU (int8): one multiplier for x >= zero point, one (alpha, negative when alpha is) below. */
typedef struct {
    PQ_LEAKY_RELU_PARAMS(PQ_PARAM_FIELD_)
} pq_leaky_relu_params;
/* PRELU (int8): x >= zero point scales by identity; below, (x - zp) * (alpha - alpha_zp) by alpha. */
typedef struct {
    PQ_PRELU_PARAMS(PQ_PARAM_FIELD_)
} pq_prelu_params;
/* PAD (int8): constant padding; pads[d][0] before and pads[d][1] after dim d. */
typedef struct {
    int32_t pad_value;
    int32_t pads[PQ_MAX_DIMS][2];
} pq_pad_params;
/* TRANSPOSE: output dim i is input dim perm[i]. */
typedef struct {
    int32_t perm[PQ_MAX_DIMS];
} pq_transpose_params;
/* SLICE: the output (whose shape is the slice's size) starts at begin[d] in dim d of the input. */
typedef struct {
    int32_t begin[PQ_MAX_DIMS];
} pq_slice_params;
/* BATCH_MATMUL (int8, both operands activations): out[b, i, j] = clamp(output_offset +
 * MBQM(sum_k (lhs[b, i, k] + lhs_offset) * (rhs[b, k, j] + rhs_offset), M, shift)), the
 * accumulator wrapping in int32; adj_x / adj_y: the operand is stored with its last two dims
 * swapped. No fused activation (TFLite's op has none): the clamp is [-128, 127]. */
typedef struct {
    PQ_BATCH_MATMUL_PARAMS(PQ_PARAM_FIELD_)
} pq_batch_matmul_params;
/* GATHER: the slices of x along `axis` that the (constant int32) indices name; the first
 * batch_dims dims of x and of the indices are shared batch dims. */
typedef struct {
    PQ_GATHER_PARAMS(PQ_PARAM_FIELD_)
} pq_gather_params;
/* LAYER_NORM (int8, picoq's own op): rows of the last axis, at most PQ_LAYER_NORM_MAX_ROW long,
 * normalised in integers (src/ref/pq_layer_norm_s8.c, docs/FORMAT.md); gamma and beta are
 * int32 constants in output LSBs * 2^shift (shift in [0, 31]); eps_multiplier * 2^eps_shift
 * (eps_multiplier >= 0, eps_shift in [0, 29]) is eps in the kernel's variance units. */
#define PQ_LAYER_NORM_MAX_ROW 32768
typedef struct {
    PQ_LAYER_NORM_PARAMS(PQ_PARAM_FIELD_)
} pq_layer_norm_params;
/* QUANTIZE between integer dtypes (TFLM's Requantize): clamp(MBQM(x + input_offset, multiplier,
 * shift) + output_offset) to the output dtype; input_offset is -zero_point of the input. */
typedef struct {
    PQ_QUANTIZE_PARAMS(PQ_PARAM_FIELD_)
} pq_quantize_params;
/* RESHAPE has no parameters. */
typedef struct {
    int32_t unused_;
} pq_no_params;

/* Every block is int32 values, packed, in list order, and fits an op record. */
#define PQ_PARAMS_FIT_(type, LIST, tag)                                                          \
    PQ_STATIC_ASSERT(sizeof(type) == 4 * PQ_PARAM_COUNT(LIST) && PQ_PARAM_COUNT(LIST) <= PQ_MAX_PARAMS, \
                     tag)
PQ_PARAMS_FIT_(pq_conv_params, PQ_DWCONV_PARAMS, conv_params);
PQ_PARAMS_FIT_(pq_fc_params, PQ_FC_PARAMS, fc_params);
PQ_PARAMS_FIT_(pq_add_params, PQ_ADD_PARAMS, add_params);
PQ_PARAMS_FIT_(pq_pool_params, PQ_POOL_PARAMS, pool_params);
PQ_PARAMS_FIT_(pq_softmax_params, PQ_SOFTMAX_PARAMS, softmax_params);
PQ_PARAMS_FIT_(pq_mul_params, PQ_MUL_PARAMS, mul_params);
PQ_PARAMS_FIT_(pq_mean_params, PQ_MEAN_PARAMS, mean_params);
PQ_PARAMS_FIT_(pq_concat_params, PQ_CONCAT_PARAMS, concat_params);
PQ_PARAMS_FIT_(pq_logistic_params, PQ_LOGISTIC_PARAMS, logistic_params);
PQ_PARAMS_FIT_(pq_hard_swish_params, PQ_HARD_SWISH_PARAMS, hard_swish_params);
PQ_PARAMS_FIT_(pq_leaky_relu_params, PQ_LEAKY_RELU_PARAMS, leaky_relu_params);
PQ_PARAMS_FIT_(pq_pad_params, PQ_PAD_PARAMS, pad_params);
PQ_PARAMS_FIT_(pq_transpose_params, PQ_TRANSPOSE_PARAMS, transpose_params);
PQ_PARAMS_FIT_(pq_slice_params, PQ_SLICE_PARAMS, slice_params);
PQ_PARAMS_FIT_(pq_batch_matmul_params, PQ_BATCH_MATMUL_PARAMS, batch_matmul_params);
PQ_PARAMS_FIT_(pq_gather_params, PQ_GATHER_PARAMS, gather_params);
PQ_PARAMS_FIT_(pq_prelu_params, PQ_PRELU_PARAMS, prelu_params);
PQ_PARAMS_FIT_(pq_layer_norm_params, PQ_LAYER_NORM_PARAMS, layer_norm_params);
PQ_PARAMS_FIT_(pq_quantize_params, PQ_QUANTIZE_PARAMS, quantize_params);
PQ_STATIC_ASSERT(offsetof(pq_pad_params, pads) == 4 && offsetof(pq_pad_params, pads[1][1]) == 16, pad_layout);
PQ_STATIC_ASSERT(offsetof(pq_conv_params, depth_multiplier) == 4 * PQ_PARAM_COUNT(PQ_CONV2D_PARAMS),
                 conv_prefix);
#undef PQ_PARAMS_FIT_

#endif /* PQ_PARAMS_H */
