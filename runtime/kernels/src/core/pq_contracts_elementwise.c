/*
 * Contracts of the element-wise ops: ADD, MUL, SOFTMAX, RESHAPE, LOGISTIC, TANH,
 * HARD_SWISH, LEAKY_RELU, PRELU, LOOKUP_TABLE and LAYER_NORM (pq_contract.h).
 */
#include "pq_contract.h"

/* Each input, right-aligned and padded with 1s, broadcasts to y (ADD: a failing input
 * is reported as its own shape), and y is exactly the broadcast of the two. */
static int broadcast(const pq_contract_ctx *o, const pqv_tensor *a, const pqv_tensor *b, const pqv_tensor *y,
                     int per_input) {
    const pqv_tensor *in[2];
    uint32_t d, j, rank = y->rank;
    in[0] = a;
    in[1] = b;
    for (j = 0; per_input && j < 2; j++) {
        for (d = rank - in[j]->rank; d < rank; d++) {
            int32_t din = pqv_broadcast_dim(in[j], rank, d);
            if (din != 1 && din != y->dims[d]) {
                return pqv_fail_op(o, PQ_MODEL_E_OP_INPUT1_SHAPE + 2 * (int)j, NO_SUB, din,
                                   "does not broadcast to the output");
            }
        }
    }
    for (d = 0; d < rank; d++) {
        int32_t da = pqv_broadcast_dim(a, rank, d), db = pqv_broadcast_dim(b, rank, d), dy = y->dims[d];
        if ((da != 1 && da != dy) || (db != 1 && db != dy) || (da > db ? da : db) != dy) {
            return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, dy, "is not the broadcast of the inputs");
        }
    }
    return PQ_MODEL_OK;
}

/* inputs a, b and output y of dtype dt; the output's rank at least the inputs' (and >= min_rank). */
static int binary_dt(const pq_contract_ctx *o, pqv_tensor *a, pqv_tensor *b, pqv_tensor *y, uint32_t min_rank,
                     uint32_t dt) {
    const pqv_ctx *c = o->c;
    TRY(pqv_op_tensor(o, op_input(c, o->i, 0), PQ_MODEL_E_OP_INPUT1_DTYPE, NO_SUB, dt, -1, a));
    TRY(pqv_op_tensor(o, op_input(c, o->i, 1), PQ_MODEL_E_OP_INPUT2_DTYPE, NO_SUB, dt, -1, b));
    TRY(pqv_op_tensor(o, op_output(c, o->i), PQ_MODEL_E_OP_OUTPUT_DTYPE, NO_SUB, dt, -1, y));
    if (y->rank < min_rank || a->rank > y->rank || b->rank > y->rank) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y->rank, "output rank below an input's");
    }
    return PQ_MODEL_OK;
}

static int binary(const pq_contract_ctx *o, pqv_tensor *a, pqv_tensor *b, pqv_tensor *y, uint32_t min_rank) {
    return binary_dt(o, a, b, y, min_rank, DT_INT8);
}

static const pqv_rule ADD_RULES[] = {{0, RG_OFFSET}, {1, RG_OFFSET}, {2, RG_OFFSET}, {3, RG_ADD_LSHIFT},
                                     {4, RG_Q31},    {5, RG_RSHIFT}, {6, RG_Q31},    {7, RG_RSHIFT},
                                     {8, RG_Q31},    {9, RG_SHIFT30}};

/* Params: input1_offset, input2_offset, output_offset, left_shift, input1_multiplier,
 * input1_shift, input2_multiplier, input2_shift, output_multiplier, output_shift,
 * act_min, act_max. */
/* 16x8 (TFLM's int16 ADD): offsets 0, left_shift <= 15 (15 from TFLM's Prepare). */
static const pqv_rule ADD16_RULES[] = {{0, RG_ZERO}, {1, RG_ZERO}, {2, RG_ZERO}, {3, RG_LSHIFT15},
                                       {4, RG_Q31},  {5, RG_RSHIFT}, {6, RG_Q31}, {7, RG_RSHIFT},
                                       {8, RG_Q31},  {9, RG_SHIFT30}};

static int add(const pq_contract_ctx *o, uint32_t dt) {
    pqv_tensor a, b, y;
    TRY(binary_dt(o, &a, &b, &y, 0, dt));
    TRY(broadcast(o, &a, &b, &y, 1));
    TRY(dt == DT_INT16 ? PARAM_RULES(o, ADD16_RULES) : PARAM_RULES(o, ADD_RULES));
    return pqv_param_act_dt(o, 10, dt);
}

int pq_contract_add(const pq_contract_ctx *o) { return add(o, DT_INT8); }
int pq_contract_add_s16(const pq_contract_ctx *o) { return add(o, DT_INT16); }

static const pqv_rule MUL_RULES[] = {{0, RG_IN_ZP}, {1, RG_IN_ZP}, {2, RG_INT8}, {3, RG_Q31}, {4, RG_SHIFT14}};
/* 16x8: offsets 0 and no left shift (|a * b| <= 2^30 already). */
static const pqv_rule MUL16_RULES[] = {{0, RG_ZERO}, {1, RG_ZERO}, {2, RG_ZERO}, {3, RG_Q31}, {4, RG_RSHIFT}};

/* Params: input1_offset, input2_offset, output_offset, output_multiplier, output_shift
 * (<= 14), act_min, act_max. */
static int mul(const pq_contract_ctx *o, uint32_t dt) {
    pqv_tensor a, b, y;
    TRY(binary_dt(o, &a, &b, &y, 1, dt));
    TRY(broadcast(o, &a, &b, &y, 0));
    TRY(dt == DT_INT16 ? PARAM_RULES(o, MUL16_RULES) : PARAM_RULES(o, MUL_RULES));
    return pqv_param_act_dt(o, 5, dt);
}

int pq_contract_mul(const pq_contract_ctx *o) { return mul(o, DT_INT8); }
int pq_contract_mul_s16(const pq_contract_ctx *o) { return mul(o, DT_INT16); }

static const pqv_rule SOFTMAX_RULES[] = {{0, RG_Q31}, {1, RG_SOFTMAX_SHIFT}, {2, RG_NONPOS}};

/* Same shape, rank >= 1. Params: input_multiplier, input_left_shift, diff_min. */
int pq_contract_softmax(const pq_contract_ctx *o) {
    TRY(pqv_n_inputs(o, 1)); /* the tables are the s16 variant's */
    TRY(pqv_same_shape(o, 1));
    return PARAM_RULES(o, SOFTMAX_RULES);
}

/* Same element count (same bytes, new shape). */
static int reshape(const pq_contract_ctx *o, uint32_t dt) {
    const pqv_ctx *c = o->c;
    pqv_tensor x, y;
    TRY(pqv_op_tensor(o, op_input(c, o->i, 0), PQ_MODEL_E_OP_INPUT_DTYPE, NO_SUB, dt, -1, &x));
    TRY(pqv_op_tensor(o, op_output(c, o->i), PQ_MODEL_E_OP_OUTPUT_DTYPE, NO_SUB, dt, -1, &y));
    if (x.size != y.size) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.size,
                           "holds another number of values than the input");
    }
    return PQ_MODEL_OK;
}

int pq_contract_reshape(const pq_contract_ctx *o) { return reshape(o, DT_INT8); }
int pq_contract_reshape_s16(const pq_contract_ctx *o) { return reshape(o, DT_INT16); }

static const pqv_rule LOGISTIC_RULES[] = {{0, RG_IN_ZP}, {2, RG_Q31}, {3, RG_LSHIFT30}};

/* LOGISTIC and TANH. Params: input_offset, input_range_radius, input_multiplier, input_left_shift. */
int pq_contract_logistic(const pq_contract_ctx *o) {
    int32_t radius;
    TRY(pqv_n_inputs(o, 1)); /* the table is the s16 variant's */
    TRY(pqv_same_shape(o, 0));
    TRY(PARAM_RULES(o, LOGISTIC_RULES));
    /* CalculateInputRadius(4, shift, 31): 15 * 2^27 fits int32; shift in [0, 30] by now */
    radius = (int32_t)((15L << 27) >> op_param(o->c, o->i, 3));
    if (op_param(o->c, o->i, 1) != radius) {
        return pqv_fail_param(o, 1, op_param(o->c, o->i, 1), "must be (15 << 27) >> input_left_shift");
    }
    return PQ_MODEL_OK;
}

static const pqv_rule HARD_SWISH_RULES[] = {{0, RG_IN_ZP},         {1, RG_INT8}, {2, RG_Q15},
                                            {4, RG_Q15},           {3, RG_RELUISH_SHIFT}, {5, RG_Q15_SHIFT}};

/* Params: input_offset, output_offset, reluish_multiplier, reluish_shift, output_multiplier, output_shift. */
int pq_contract_hard_swish(const pq_contract_ctx *o) {
    TRY(pqv_same_shape(o, 0));
    return PARAM_RULES(o, HARD_SWISH_RULES);
}

static const pqv_rule LEAKY_RELU_RULES[] = {{0, RG_IN_ZP}, {1, RG_INT8},     {2, RG_Q31},
                                            {4, RG_Q31_SIGNED}, {3, RG_SHIFT22}, {5, RG_SHIFT22}};

/* Params: input_offset, output_offset, identity_multiplier, identity_shift, alpha_multiplier
 * (negative for a negative alpha), alpha_shift. */
int pq_contract_leaky_relu(const pq_contract_ctx *o) {
    TRY(pqv_same_shape(o, 0));
    return PARAM_RULES(o, LEAKY_RELU_RULES);
}

static const pqv_rule PRELU_RULES[] = {{0, RG_IN_ZP}, {1, RG_IN_ZP},    {2, RG_INT8},
                                       {3, RG_Q31},   {4, RG_SHIFT22}, {5, RG_Q31}, {6, RG_SHIFT14}};

/* Inputs x and alpha (int8, constant, broadcasting to x); y has x's shape. Params: input_offset,
 * alpha_offset, output_offset, identity_multiplier, identity_shift (<= 22: |v| <= 255),
 * alpha_multiplier, alpha_shift (<= 14: |v * a| <= 255^2). */
int pq_contract_prelu(const pq_contract_ctx *o) {
    pqv_tensor x, a, y;
    uint32_t d;
    TRY(binary(o, &x, &a, &y, 1));
    if (!a.is_const) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_INPUT2_SHAPE, NO_SUB, op_input(o->c, o->i, 1), "alpha must be constant");
    }
    if (x.rank != y.rank) return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.rank, "must equal the input shape");
    for (d = 0; d < y.rank; d++) {
        if (x.dims[d] != y.dims[d]) {
            return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.dims[d], "must equal the input shape");
        }
    }
    TRY(broadcast(o, &x, &a, &y, 1));
    return PARAM_RULES(o, PRELU_RULES);
}

/* Inputs: x, and the table: a constant int8 vector of 256 values (the kernel indexes it with
 * every int8 value + 128). No params. */
int pq_contract_lookup_table(const pq_contract_ctx *o) {
    const pqv_ctx *c = o->c;
    pqv_tensor table;
    TRY(pqv_same_shape(o, 0));
    TRY(pqv_op_tensor(o, op_input(c, o->i, 1), PQ_MODEL_E_OP_INPUT2_DTYPE, NO_SUB, DT_INT8, 1, &table));
    if (!table.is_const) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_INPUT2_SHAPE, NO_SUB, op_input(c, o->i, 1), "the table must be constant");
    }
    if (table.dims[0] != 256) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_INPUT2_SHAPE, NO_SUB, table.dims[0], "the table must hold 256 values");
    }
    return PQ_MODEL_OK;
}

/* gamma or beta of a LAYER_NORM: a constant int32 vector of one value per column. */
static int layer_norm_vector(const pq_contract_ctx *o, uint32_t k, int code_dtype, int32_t n) {
    const pqv_ctx *c = o->c;
    pqv_tensor v;
    TRY(pqv_op_tensor(o, op_input(c, o->i, k), code_dtype, NO_SUB, DT_INT32, 1, &v));
    if (!v.is_const || v.dims[0] != n) {
        return pqv_fail_op(o, code_dtype + 1, NO_SUB, v.dims[0],
                           "gamma and beta must be constant int32[last dim]");
    }
    return PQ_MODEL_OK;
}

static const pqv_rule LAYER_NORM_RULES[] = {{0, RG_INT8}, {1, RG_SOFTMAX_SHIFT}, {2, RG_NONNEG}};

/* Inputs: x, gamma, beta; same shape in and out, rank >= 1, rows (the last dim) of at most
 * PQ_LAYER_NORM_MAX_ROW values: the kernel's int64 bounds hold for any int32 gamma and beta
 * up to that length (pq_layer_norm_s8.c). Params: output_offset, shift in [0, 31],
 * eps_multiplier >= 0, eps_shift in [0, 29]. */
int pq_contract_layer_norm(const pq_contract_ctx *o) {
    pqv_tensor x;
    int32_t n;
    TRY(pqv_same_shape(o, 1));
    TRY(pqv_op_tensor(o, op_input(o->c, o->i, 0), PQ_MODEL_E_OP_INPUT_DTYPE, NO_SUB, DT_INT8, -1, &x));
    n = x.dims[x.rank - 1];
    if (n > PQ_LAYER_NORM_MAX_ROW) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_INPUT_SHAPE, NO_SUB, n, "rows longer than 32768 values");
    }
    TRY(layer_norm_vector(o, 1, PQ_MODEL_E_OP_INPUT2_DTYPE, n));
    TRY(layer_norm_vector(o, 2, PQ_MODEL_E_OP_BIAS_DTYPE, n));
    TRY(PARAM_RULES(o, LAYER_NORM_RULES));
    return pqv_param_range(o, 3, 0, 29, NULL);
}
