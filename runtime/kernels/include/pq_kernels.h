/*
 * picoq integer kernels: the one C API shared by the Python interpreter and by
 * generated firmware.
 *
 * Rules for every kernel (see docs/FORMAT.md and INT8_SPEC):
 *   - C99, freestanding: <stdint.h> and <stddef.h> only; no malloc, no float.
 *   - Tensors are dense, row-major, NHWC for images.
 *   - Arithmetic is TFLite Micro's reference arithmetic, byte for byte
 *     (default double-rounding requantization).
 *   - Per-channel requantization everywhere: `mult[c]`, `shift[c]` hold one
 *     Q31 multiplier and one shift (positive = left) per output channel; a
 *     per-tensor layer simply repeats the same pair.
 *   - Kernels trust their arguments; shapes and parameters are validated once,
 *     at load time (runtime/format.py) or at export time.
 */
#ifndef PQ_KERNELS_H
#define PQ_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "pq_params.h"

#ifdef __cplusplus
extern "C" {
#endif


typedef enum {
    PQ_OK = 0,
    PQ_ERR_PARAM = 1 /* a parameter a kernel cannot honour (e.g. empty pool window) */
} pq_status;

/* A 4-D NHWC shape (for filters: [out_c, kh, kw, in_c], depthwise [1, kh, kw, out_c]). */
typedef struct {
    int32_t n, h, w, c;
} pq_dims;

pq_status pq_conv2d_s8(const pq_conv_params *p, const int32_t *mult, const int32_t *shift,
                       const pq_dims *in_dims, const int8_t *in,
                       const pq_dims *filter_dims, const int8_t *filter,
                       const int32_t *bias, /* may be NULL */
                       const pq_dims *out_dims, int8_t *out);

pq_status pq_depthwise_conv2d_s8(const pq_conv_params *p, const int32_t *mult, const int32_t *shift,
                                 const pq_dims *in_dims, const int8_t *in,
                                 const pq_dims *filter_dims, const int8_t *filter,
                                 const int32_t *bias, /* may be NULL */
                                 const pq_dims *out_dims, int8_t *out);

pq_status pq_fully_connected_s8(const pq_fc_params *p, const int32_t *mult, const int32_t *shift,
                                int32_t batches, int32_t accum_depth, int32_t out_depth,
                                const int8_t *in, const int8_t *filter,
                                const int32_t *bias, /* may be NULL */
                                int8_t *out);

/* 16x8 (pq_variants.def s16): int16 activations with zero point 0, int8 weights, int64 bias. */
pq_status pq_fully_connected_s16(const pq_fc_params *p, const int32_t *mult, const int32_t *shift,
                                 int32_t batches, int32_t accum_depth, int32_t out_depth, const int16_t *in,
                                 const int8_t *filter, const int64_t *bias, /* may be NULL */
                                 int16_t *out);

/* 16x8 CONV_2D: bias32 set, TFLM's int32 accumulation; else (bias64 or no bias) its int64 one. */
pq_status pq_conv2d_s16(const pq_conv_params *p, const int32_t *mult, const int32_t *shift,
                        const pq_dims *in_dims, const int16_t *in, const pq_dims *filter_dims,
                        const int8_t *filter, const int32_t *bias32, const int64_t *bias64, /* NULL or one */
                        const pq_dims *out_dims, int16_t *out);

/* 16x8 DEPTHWISE_CONV_2D: int64 accumulation, int64 bias. */
pq_status pq_depthwise_conv2d_s16(const pq_conv_params *p, const int32_t *mult, const int32_t *shift,
                                  const pq_dims *in_dims, const int16_t *in, const pq_dims *filter_dims,
                                  const int8_t *filter, const int64_t *bias, /* may be NULL */
                                  const pq_dims *out_dims, int16_t *out);
/* ---- int4 weights (pq_variants.def s4): int8 activations, filters packed two values per
 * byte as TFLite's INT4 stores them (element 2k in the low nibble, 2k + 1 in the high one).
 * The kernels read the nibbles in place: the filter stays in flash, no unpacked copy. Their
 * shifts are int8 (the s4 contracts), to save flash where flash is the point. ---- */

/* Element i (>= 0) of a packed int4 run, sign-extended. */
static inline int32_t pq_int4_at(const uint8_t *packed, int32_t i)
{
    const uint32_t byte = packed[(uint32_t)i >> 1];
    const uint32_t nibble = (i & 1) ? byte >> 4 : byte & 0x0Fu;
    return (int32_t)(nibble ^ 8u) - 8;
}

pq_status pq_conv2d_s4(const pq_conv_params *p, const int32_t *mult, const int8_t *shift,
                       const pq_dims *in_dims, const int8_t *in, const pq_dims *filter_dims,
                       const uint8_t *filter, const int32_t *bias, /* may be NULL */
                       const pq_dims *out_dims, int8_t *out);

pq_status pq_depthwise_conv2d_s4(const pq_conv_params *p, const int32_t *mult, const int8_t *shift,
                                 const pq_dims *in_dims, const int8_t *in, const pq_dims *filter_dims,
                                 const uint8_t *filter, const int32_t *bias, /* may be NULL */
                                 const pq_dims *out_dims, int8_t *out);

pq_status pq_fully_connected_s4(const pq_fc_params *p, const int32_t *mult, const int8_t *shift,
                                int32_t batches, int32_t accum_depth, int32_t out_depth, const int8_t *in,
                                const uint8_t *filter, const int32_t *bias, /* may be NULL */
                                int8_t *out);
/* ---- end int4 ---- */
/* --- s16elem: the 16x8 variants of the element-wise, pooling and shape ops (int16 values,
 * zero point 0), arguments as for their int8 kernels. CONCATENATION and RESHAPE s16 have
 * only their interpreter entries (pq_op.h). --- */
pq_status pq_add_s16(const pq_add_params *p, int32_t rank, const int32_t *in1_shape, const int16_t *in1,
                     const int32_t *in2_shape, const int16_t *in2, const int32_t *out_shape, int16_t *out);
pq_status pq_mul_s16(const pq_mul_params *p, int32_t rank, const int32_t *in1_shape, const int16_t *in1,
                     const int32_t *in2_shape, const int16_t *in2, const int32_t *out_shape, int16_t *out);
pq_status pq_avg_pool2d_s16(const pq_pool_params *p, const pq_dims *in_dims, const int16_t *in,
                            const pq_dims *out_dims, int16_t *out);
pq_status pq_max_pool2d_s16(const pq_pool_params *p, const pq_dims *in_dims, const int16_t *in,
                            const pq_dims *out_dims, int16_t *out);
pq_status pq_mean_s16(const pq_mean_params *p, int32_t rank, const int32_t *in_shape, int32_t axis_mask,
                      const int16_t *in, int16_t *out);

/* Shapes have `rank` entries (1..PQ_MAX_DIMS), aligned to the right and of
 * equal rank; an input dimension of 1 broadcasts against the output's. */
pq_status pq_add_s8(const pq_add_params *p, int32_t rank,
                    const int32_t *in1_shape, const int8_t *in1,
                    const int32_t *in2_shape, const int8_t *in2,
                    const int32_t *out_shape, int8_t *out);

pq_status pq_avg_pool2d_s8(const pq_pool_params *p, const pq_dims *in_dims, const int8_t *in,
                           const pq_dims *out_dims, int8_t *out);

/* Softmax over the last axis: `outer` rows of `depth` values. */
pq_status pq_softmax_s8(const pq_softmax_params *p, int32_t outer, int32_t depth,
                        const int8_t *in, int8_t *out);

/* --- MAX_POOL_2D, MUL, MEAN, CONCATENATION, PAD, LOGISTIC, TANH, HARD_SWISH,
 * LEAKY_RELU, TRANSPOSE (op codes 8..17 of docs/FORMAT.md) --- */

pq_status pq_max_pool2d_s8(const pq_pool_params *p, const pq_dims *in_dims, const int8_t *in,
                           const pq_dims *out_dims, int8_t *out);

/* Shapes as for pq_add_s8. */
pq_status pq_mul_s8(const pq_mul_params *p, int32_t rank,
                    const int32_t *in1_shape, const int8_t *in1,
                    const int32_t *in2_shape, const int8_t *in2,
                    const int32_t *out_shape, int8_t *out);

/* Mean over the dims whose bit is set in axis_mask (bit d = dim d of in_shape);
 * the output holds the kept dims in order (keep_dims only changes the shape). */
pq_status pq_mean_s8(const pq_mean_params *p, int32_t rank, const int32_t *in_shape,
                     int32_t axis_mask, const int8_t *in, int8_t *out);

/* Concatenation of n_inputs tensors viewed as [outer, axis_sizes[i], inner]; row i
 * of requant[n_inputs][3] = (multiplier, shift, input_offset) rescales input i to
 * the output: clamp(output_offset + MBQM(x + input_offset, multiplier, shift)). */
pq_status pq_concatenation_s8(int32_t n_inputs, const int8_t *const *inputs,
                              const int32_t *axis_sizes, const int32_t *requant,
                              int32_t output_offset, int32_t outer, int32_t inner,
                              int8_t *out);

pq_status pq_pad_s8(const pq_pad_params *p, int32_t rank, const int32_t *in_shape,
                    const int8_t *in, int8_t *out);

/* Elementwise over `size` values. */
pq_status pq_logistic_s8(const pq_logistic_params *p, int32_t size, const int8_t *in, int8_t *out);
pq_status pq_tanh_s8(const pq_logistic_params *p, int32_t size, const int8_t *in, int8_t *out);
pq_status pq_hard_swish_s8(const pq_hard_swish_params *p, int32_t size, const int8_t *in, int8_t *out);
pq_status pq_leaky_relu_s8(const pq_leaky_relu_params *p, int32_t size, const int8_t *in, int8_t *out);
/* PRELU: alpha (alpha_shape, aligned right to rank) broadcasts against the input; the output
 * has the input's shape. */
pq_status pq_prelu_s8(const pq_prelu_params *p, int32_t rank, const int32_t *in_shape, const int8_t *in,
                      const int32_t *alpha_shape, const int8_t *alpha, int8_t *out);
/* LOOKUP_TABLE: out[i] = table[128 + in[i]], table of 256 values. */
pq_status pq_lookup_table_s8(const int8_t *table, int32_t size, const int8_t *in, int8_t *out);

/* RESIZE_NEAREST_NEIGHBOR (NHWC): out[b, y, x] = in[b, rows[y], cols[x]], rows and cols in range. */
pq_status pq_resize_nearest_s8(int32_t batches, int32_t in_h, int32_t in_w, int32_t depth, int32_t out_h,
                               int32_t out_w, const int32_t *rows, const int32_t *cols, const int8_t *in, int8_t *out);

/* RESHAPE: `size` bytes moved unless in and out are the same bytes. */
pq_status pq_reshape_s8(int32_t size, const int8_t *in, int8_t *out);

/* SLICE: the box of out_shape starting at begin[d] in each dim of the input. */
pq_status pq_slice_s8(const pq_slice_params *p, int32_t rank, const int32_t *in_shape, const int32_t *out_shape,
                      const int8_t *in, int8_t *out);

/* BATCH_MATMUL: shapes of `rank` (2..5) entries aligned right (the output's rank; an input's
 * missing leading dims are 1); batch dims broadcast, the last two are each operand's matrix
 * (swapped when adj_x / adj_y). */
pq_status pq_batch_matmul_s8(const pq_batch_matmul_params *p, int32_t rank, const int32_t *lhs_shape,
                             const int8_t *lhs, const int32_t *rhs_shape, const int8_t *rhs,
                             const int32_t *out_shape, int8_t *out);

/* GATHER as [batch, outer, axis_size, inner] -> [batch, outer, n_index, inner]: row
 * idx[b * n_index + c] of each (b, outer) block; PQ_ERR_PARAM for an index outside
 * [0, axis_size) (checked at run time too: never read outside x). */
pq_status pq_gather_s8(int32_t batch, int32_t outer, int32_t axis_size, int32_t inner, int32_t n_index,
                       const int32_t *idx, const int8_t *in, int8_t *out);
/* GATHER's five sizes (batch, outer, axis_size, inner, n_index) from the params and the shapes
 * of x and of the indices; PQ_ERR_PARAM when they do not fit each other. */
pq_status pq_gather_geometry(const pq_gather_params *p, int32_t x_rank, const int32_t *x_dims, int32_t idx_rank,
                             const int32_t *idx_dims, int32_t *sizes);
/* LAYER_NORM: `rows` rows of n values (1 <= n <= PQ_LAYER_NORM_MAX_ROW), each normalised and
 * scaled by the int32 constants gamma[n], beta[n] (pq_layer_norm_s8.c; its steps: pq_layer_norm.h). */
pq_status pq_layer_norm_s8(const pq_layer_norm_params *p, int32_t rows, int32_t n, const int32_t *gamma,
                           const int32_t *beta, const int8_t *in, int8_t *out);

/* Output dim i is input dim perm[i]. */
pq_status pq_transpose_s8(int32_t rank, const int32_t *in_shape, const int32_t *perm,
                          const int8_t *in, int8_t *out);

/* --- 16x8 LUT activations and QUANTIZE (s16lut; TFLM's int16 arithmetic) --- */
/* SOFTMAX int16 -> int16 (output scale 1/32768): exp_lut and recip_lut are the 513-entry
 * tables TFLM's SoftmaxPrepare fills (exp on [-10, 0], 1/(1+x) on [0, 1]); the converter
 * computes them. A row whose sum of exps no converter's table gives (below 2) is all 0s. */
pq_status pq_softmax_s16(const pq_softmax_params *p, int32_t outer, int32_t depth, const int16_t *exp_lut,
                         const int16_t *recip_lut, const int16_t *in, int16_t *out);
/* LOGISTIC / TANH int16 -> int16 (output scale 2^-15): TFLM's interpolation in the 256-entry
 * sigmoid table (uint16 values, stored as int16 bits). */
pq_status pq_logistic_s16(const pq_logistic_params *p, int32_t size, const int16_t *table, const int16_t *in,
                          int16_t *out);
pq_status pq_tanh_s16(const pq_logistic_params *p, int32_t size, const int16_t *table, const int16_t *in,
                      int16_t *out);
/* QUANTIZE (TFLM's Requantize): int8 -> int8, and (s16) any of int8/int16 -> int8/int16. */
pq_status pq_quantize_s8(const pq_quantize_params *p, int32_t size, const int8_t *in, int8_t *out);
pq_status pq_quantize_s16(const pq_quantize_params *p, int32_t size, const void *in, int in_is_int16, void *out,
                          int out_is_int16);

#ifdef __cplusplus
}
#endif

#endif /* PQ_KERNELS_H */
