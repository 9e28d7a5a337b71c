/*
 * Contracts of the windowed ops: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED,
 * BATCH_MATMUL, AVERAGE_POOL_2D and MAX_POOL_2D (pq_contract.h).
 */
#include "pq_contract.h"

#define MAX_DILATED (1L << 24) /* MAX_DIM: the largest extent of a tensor */

static const pqv_rule CONV_RULES[] = {{6, RG_OFFSET}, {7, RG_OFFSET}};

/* The 16x8 requantization arrays. TFLM's 16x8 CONV_2D takes an int64 bias or none (int64
 * sums, the int64 requantization: shifts <= 7) or an int32 one (int32 sums, the int8 kernels'
 * requantization); its DEPTHWISE_CONV_2D only the former. */
static int conv_quant_arrays_s16(const pq_contract_ctx *o, uint32_t channels, int depthwise) {
    const int32_t b = op_input(o->c, o->i, 2);
    const int wide = depthwise || b == -1 || tensor_rec(o->c, (uint32_t)b)[0] != DT_INT32;
    return pqv_quant_arrays_dt(o, channels, channels, wide ? DT_INT64 : DT_INT32, DT_INT32, wide ? 7 : 30);
}

/* The int4-weight ops store their shifts as int8 (values in [-31, 30]): their point is flash,
 * and with 4-bit filters the per-channel arrays are a third of a small layer's bytes. */
static uint32_t quant_shift_dtype(uint32_t filter_dtype) { return filter_dtype == DT_INT4 ? DT_INT8 : DT_INT32; }

/* Params: stride_h, stride_w, dilation_h, dilation_w, pad_h, pad_w, input_offset,
 * output_offset, act_min, act_max[, depth_multiplier]. Inputs: x, filter, bias
 * (optional), multipliers, shifts. `act`: the activations' dtype, DT_INT8 or DT_INT16
 * (16x8: no offsets, see conv_quant_arrays_s16 for the bias); `filter_dtype` DT_INT8 or
 * DT_INT4 (packed, int8 activations). */
static int contract_conv(const pq_contract_ctx *o, int depthwise, uint32_t act, uint32_t filter_dtype) {
    const pqv_ctx *c = o->c;
    pqv_tensor x, w, y;
    int32_t n, ih, iw, ic, kh, kw;
    int64_t oc;
    int32_t p[4];
    uint32_t k;
    TRY(pqv_op_tensor(o, op_input(c, o->i, 0), PQ_MODEL_E_OP_INPUT_DTYPE, NO_SUB, act, 4, &x));
    TRY(pqv_op_tensor(o, op_input(c, o->i, 1), PQ_MODEL_E_OP_FILTER_DTYPE, NO_SUB, filter_dtype, 4, &w));
    TRY(pqv_op_tensor(o, op_output(c, o->i), PQ_MODEL_E_OP_OUTPUT_DTYPE, NO_SUB, act, 4, &y));
    if (!w.is_const) return pqv_fail_op(o, PQ_MODEL_E_OP_FILTER, NO_SUB, op_input(c, o->i, 1), "must be constant");
    for (k = 0; k < 4; k++) TRY(pqv_param_range(o, k, 1, 1L << 16, &p[k])); /* strides, dilations */
    TRY(PARAM_RULES(o, CONV_RULES));
    if (act == DT_INT16) { /* TFLM's 16x8 convolutions have no input or output offset */
        TRY(pqv_param_range(o, 6, 0, 0, NULL));
        TRY(pqv_param_range(o, 7, 0, 0, NULL));
    }
    TRY(pqv_param_act_dt(o, 8, act));
    n = x.dims[0];
    ih = x.dims[1];
    iw = x.dims[2];
    ic = x.dims[3];
    kh = w.dims[1];
    kw = w.dims[2];
    if (depthwise) {
        int32_t dm;
        TRY(pqv_param_range(o, 10, 1, 1L << 16, &dm));
        oc = w.dims[3];
        if (w.dims[0] != 1 || oc != (int64_t)ic * dm) {
            return pqv_fail_op(o, PQ_MODEL_E_OP_FILTER_SHAPE, NO_SUB, oc,
                               "must be [1, kh, kw, in_channels * depth_multiplier]");
        }
    } else {
        uint32_t fic = (uint32_t)w.dims[3], uic = (uint32_t)ic;
        oc = w.dims[0];
        if (uic % fic || (uint32_t)oc % (uic / fic)) {
            return pqv_fail_op(o, PQ_MODEL_E_OP_FILTER_SHAPE, NO_SUB, fic, "input channels not divisible into groups");
        }
    }
    if (y.dims[0] != n || y.dims[3] != oc) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.dims[3],
                           "batch and channels must match the input and filter");
    }
    /* The kernels (TFLM's among them) form in_y = origin + dilation * fy in int32: a dilated
     * filter spanning at most 2^24 rows and columns keeps every such index below 2^26. */
    if ((int64_t)(kh - 1) * p[2] + 1 > MAX_DILATED) {
        return pqv_fail_param(o, 2, p[2], "the dilated filter spans more than 2^24 rows");
    }
    if ((int64_t)(kw - 1) * p[3] + 1 > MAX_DILATED) {
        return pqv_fail_param(o, 3, p[3], "the dilated filter spans more than 2^24 columns");
    }
    if (!pqv_conv_out_size_ok(ih, kh, p[0], p[2], op_param(c, o->i, 4), y.dims[1]) ||
        !pqv_conv_out_size_ok(iw, kw, p[1], p[3], op_param(c, o->i, 5), y.dims[2])) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.dims[1],
                           "inconsistent with input, filter, stride, padding");
    }
    if (act == DT_INT16) return conv_quant_arrays_s16(o, (uint32_t)oc, depthwise);
    return pqv_quant_arrays_dt(o, (uint32_t)oc, (uint32_t)oc, DT_INT32, quant_shift_dtype(filter_dtype), 30);
}

int pq_contract_conv2d(const pq_contract_ctx *o) { return contract_conv(o, 0, DT_INT8, DT_INT8); }
int pq_contract_depthwise_conv2d(const pq_contract_ctx *o) { return contract_conv(o, 1, DT_INT8, DT_INT8); }

/* 16x8: int16 input and output (offsets 0), int8 filter (conv_quant_arrays_s16 for the bias). */
int pq_contract_conv2d_s16(const pq_contract_ctx *o) { return contract_conv(o, 0, DT_INT16, DT_INT8); }
int pq_contract_depthwise_conv2d_s16(const pq_contract_ctx *o) { return contract_conv(o, 1, DT_INT16, DT_INT8); }

/* int4 weights (s4): the same with a packed int4 filter (its data_size ceil(n / 2) checked with
 * the tensor; the kernels index elements, never beyond n). */
int pq_contract_conv2d_s4(const pq_contract_ctx *o) { return contract_conv(o, 0, DT_INT8, DT_INT4); }
int pq_contract_depthwise_conv2d_s4(const pq_contract_ctx *o) { return contract_conv(o, 1, DT_INT8, DT_INT4); }

static const pqv_rule FC_RULES[] = {{0, RG_OFFSET}, {1, RG_OFFSET}, {2, RG_OFFSET}};

/* Params: input_offset, filter_offset, output_offset, act_min, act_max, per_channel. */
static int fully_connected(const pq_contract_ctx *o, uint32_t act, uint32_t filter_dtype) {
    const pqv_ctx *c = o->c;
    pqv_tensor x, w, y;
    uint32_t out_depth, accum, rows;
    int32_t per_channel;
    TRY(pqv_op_tensor(o, op_input(c, o->i, 0), PQ_MODEL_E_OP_INPUT_DTYPE, NO_SUB, act, -1, &x));
    TRY(pqv_op_tensor(o, op_input(c, o->i, 1), PQ_MODEL_E_OP_FILTER_DTYPE, NO_SUB, filter_dtype, 2, &w));
    TRY(pqv_op_tensor(o, op_output(c, o->i), PQ_MODEL_E_OP_OUTPUT_DTYPE, NO_SUB, act, -1, &y));
    if (!w.is_const) return pqv_fail_op(o, PQ_MODEL_E_OP_FILTER, NO_SUB, op_input(c, o->i, 1), "must be constant");
    out_depth = (uint32_t)w.dims[0];
    accum = (uint32_t)w.dims[1];
    if (x.size % accum) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_INPUT_SHAPE, NO_SUB, x.size, "size not a multiple of the filter depth");
    }
    rows = x.size / accum;
    if (y.size != (uint64_t)rows * out_depth || y.rank == 0 || (uint32_t)y.dims[y.rank - 1] != out_depth) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.size,
                           "must hold rows x out_depth values, out_depth last");
    }
    TRY(PARAM_RULES(o, FC_RULES));
    if (act == DT_INT16) { /* TFLM's 16x8 FC has no input or output offset */
        TRY(pqv_param_range(o, 0, 0, 0, NULL));
        TRY(pqv_param_range(o, 2, 0, 0, NULL));
    }
    if (filter_dtype == DT_INT4) TRY(pqv_param_range(o, 1, 0, 0, NULL)); /* symmetric int4 weights */
    TRY(pqv_param_act_dt(o, 3, act));
    TRY(pqv_param_range(o, 5, 0, 1, &per_channel));
    if (act == DT_INT16) return pqv_quant_arrays_dt(o, out_depth, per_channel ? out_depth : 1, DT_INT64, DT_INT32, 7);
    return pqv_quant_arrays_dt(o, out_depth, per_channel ? out_depth : 1, DT_INT32, quant_shift_dtype(filter_dtype),
                               30);
}

int pq_contract_fully_connected(const pq_contract_ctx *o) { return fully_connected(o, DT_INT8, DT_INT8); }

/* 16x8: int16 input and output (offsets 0), int8 filter, int64 bias, shifts <= 7. */
int pq_contract_fully_connected_s16(const pq_contract_ctx *o) { return fully_connected(o, DT_INT16, DT_INT8); }

/* int4 weights (s4): a packed int4 filter with filter_offset 0. */
int pq_contract_fully_connected_s4(const pq_contract_ctx *o) { return fully_connected(o, DT_INT8, DT_INT4); }



static const pqv_rule BATCH_MATMUL_RULES[] = {{2, RG_IN_ZP}, {3, RG_IN_ZP}, {4, RG_INT8}, {5, RG_Q31}, {6, RG_SHIFT30}};

/* Inputs lhs, rhs: int8 of rank 2..5 (TFLM's range). Params: adj_x, adj_y (0 or 1),
 * lhs_offset, rhs_offset, output_offset, output_multiplier, output_shift. The output has the
 * larger rank: the broadcast of the batch dims (aligned right, 1 repeats), then lhs's rows and
 * rhs's columns; the operands' reduction dims agree. */
int pq_contract_batch_matmul(const pq_contract_ctx *o) {
    const pqv_ctx *c = o->c;
    pqv_tensor a, b, y;
    int32_t adj_x, adj_y;
    uint32_t d, r;
    TRY(pqv_op_tensor(o, op_input(c, o->i, 0), PQ_MODEL_E_OP_INPUT1_DTYPE, NO_SUB, DT_INT8, -1, &a));
    TRY(pqv_op_tensor(o, op_input(c, o->i, 1), PQ_MODEL_E_OP_INPUT2_DTYPE, NO_SUB, DT_INT8, -1, &b));
    TRY(pqv_op_tensor(o, op_output(c, o->i), PQ_MODEL_E_OP_OUTPUT_DTYPE, NO_SUB, DT_INT8, -1, &y));
    if (a.rank < 2 || a.rank > 5) return pqv_fail_op(o, PQ_MODEL_E_OP_INPUT1_SHAPE, NO_SUB, a.rank, "rank outside 2..5");
    if (b.rank < 2 || b.rank > 5) return pqv_fail_op(o, PQ_MODEL_E_OP_INPUT2_SHAPE, NO_SUB, b.rank, "rank outside 2..5");
    r = a.rank > b.rank ? a.rank : b.rank;
    if (y.rank != r) return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.rank, "not the larger input rank");
    TRY(pqv_param_range(o, 0, 0, 1, &adj_x));
    TRY(pqv_param_range(o, 1, 0, 1, &adj_y));
    TRY(PARAM_RULES(o, BATCH_MATMUL_RULES));
    if (a.dims[a.rank - 1 - (uint32_t)adj_x] != b.dims[b.rank - 2 + (uint32_t)adj_y]) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_INPUT2_SHAPE, NO_SUB, b.dims[b.rank - 2 + (uint32_t)adj_y],
                           "its reduction dim is not lhs's");
    }
    for (d = 0; d + 2 < r; d++) {
        int32_t da = pqv_broadcast_dim(&a, r, d), db = pqv_broadcast_dim(&b, r, d);
        if (da != db && da != 1 && db != 1) {
            return pqv_fail_op(o, PQ_MODEL_E_OP_INPUT2_SHAPE, NO_SUB, db, "batch dims that do not broadcast");
        }
        if (y.dims[d] != (da > db ? da : db)) {
            return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.dims[d], "not the broadcast batch dims");
        }
    }
    if (y.dims[r - 2] != a.dims[a.rank - 2 + (uint32_t)adj_x] || y.dims[r - 1] != b.dims[b.rank - 1 - (uint32_t)adj_y]) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.dims[r - 1], "not lhs's rows by rhs's columns");
    }
    return PQ_MODEL_OK;
}

static const pqv_rule POOL_RULES[] = {{0, RG_POSITIVE16}, {1, RG_POSITIVE16}, {2, RG_POSITIVE16}, {3, RG_POSITIVE16}};

/* AVERAGE_POOL_2D and MAX_POOL_2D. Params: stride_h, stride_w, filter_h, filter_w,
 * pad_h, pad_w, act_min, act_max. */
static int pool2d(const pq_contract_ctx *o, uint32_t dt) {
    const pqv_ctx *c = o->c;
    pqv_tensor x, y;
    TRY(pqv_op_tensor(o, op_input(c, o->i, 0), PQ_MODEL_E_OP_INPUT_DTYPE, NO_SUB, dt, 4, &x));
    TRY(pqv_op_tensor(o, op_output(c, o->i), PQ_MODEL_E_OP_OUTPUT_DTYPE, NO_SUB, dt, 4, &y));
    TRY(PARAM_RULES(o, POOL_RULES));
    TRY(pqv_param_act_dt(o, 6, dt));
    if (y.dims[0] != x.dims[0] || y.dims[3] != x.dims[3]) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.dims[3], "batch and channels must match the input");
    }
    /* (in, window, stride, dilation 1, pad, out); the rules bounded window and stride */
    if (!pqv_conv_out_size_ok(x.dims[1], op_param(c, o->i, 2), op_param(c, o->i, 0), 1, op_param(c, o->i, 4),
                              y.dims[1]) ||
        !pqv_conv_out_size_ok(x.dims[2], op_param(c, o->i, 3), op_param(c, o->i, 1), 1, op_param(c, o->i, 5),
                              y.dims[2])) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.dims[1],
                           "inconsistent with input, window, stride, padding");
    }
    return PQ_MODEL_OK;
}

int pq_contract_pool2d(const pq_contract_ctx *o) { return pool2d(o, DT_INT8); }

/* 16x8: int16 input and output, an int16 clamp. */
int pq_contract_pool2d_s16(const pq_contract_ctx *o) { return pool2d(o, DT_INT16); }
