/*
 * Contracts of the 16x8 LUT activations (SOFTMAX, LOGISTIC, TANH s16: their tables are
 * constant int16 inputs the converter computes) and of QUANTIZE (s8 and s16). pq_contract.h.
 */
#include "pq_contract.h"

#define SOFTMAX16_LUT 513  /* TFLM's kInt16LUTArraySize: 512 steps and the last value */
#define SIGMOID16_TABLE 256

int pqv_n_inputs(const pq_contract_ctx *o, uint32_t n) {
    uint32_t got = op_n_in(o->c, o->i);
    if (got != n) return pqv_fail_op(o, PQ_MODEL_E_OP_N_INPUTS_OUTPUTS, NO_SUB, got, "wrong number of inputs for the op's dtypes");
    return PQ_MODEL_OK;
}

/* Input k (1 or 2): a constant int16 vector of n values. Failures name input2 with the slot k. */
static int int16_table(const pq_contract_ctx *o, uint32_t k, int32_t n) {
    pqv_tensor t;
    int32_t idx = op_input(o->c, o->i, k);
    TRY(pqv_op_tensor(o, idx, PQ_MODEL_E_OP_INPUT2_DTYPE, (int32_t)k, DT_INT16, 1, &t));
    if (!t.is_const) return pqv_fail_op(o, PQ_MODEL_E_OP_INPUT2_SHAPE, (int32_t)k, idx, "the table must be constant");
    if (t.dims[0] != n) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_INPUT2_SHAPE, (int32_t)k, t.dims[0],
                           n == SOFTMAX16_LUT ? "the table must hold 513 values" : "the table must hold 256 values");
    }
    return PQ_MODEL_OK;
}

static const pqv_rule SOFTMAX16_RULES[] = {{0, RG_Q31}, {1, RG_SHIFT30}};

/* int16 x and y of one shape (rank >= 1), the exp and 1/(1+x) tables. Params: input_multiplier
 * and input_left_shift (QuantizeMultiplier of input_scale * beta * 65535 / 10), diff_min 0. */
int pq_contract_softmax_s16(const pq_contract_ctx *o) {
    TRY(pqv_n_inputs(o, 3));
    TRY(pqv_same_shape_dt(o, 1, DT_INT16, DT_INT16));
    TRY(int16_table(o, 1, SOFTMAX16_LUT));
    TRY(int16_table(o, 2, SOFTMAX16_LUT));
    TRY(PARAM_RULES(o, SOFTMAX16_RULES));
    return pqv_param_range(o, 2, 0, 0, NULL);
}

/* LOGISTIC and TANH s16: int16 x and y of one shape, the sigmoid table. Params: input_offset 0
 * and input_range_radius 0 (unused), input_multiplier in [0, 32767] (TFLM's DCHECK), and
 * input_left_shift in [0, 31], at most 13 with multiplier 0 (power of two: 3 << shift). */
int pq_contract_logistic_s16(const pq_contract_ctx *o) {
    int32_t mult;
    TRY(pqv_n_inputs(o, 2));
    TRY(pqv_same_shape_dt(o, 0, DT_INT16, DT_INT16));
    TRY(int16_table(o, 1, SIGMOID16_TABLE));
    TRY(pqv_param_range(o, 0, 0, 0, NULL));
    TRY(pqv_param_range(o, 1, 0, 0, NULL));
    TRY(pqv_param_range(o, 2, 0, 32767, &mult));
    return pqv_param_range(o, 3, 0, mult == 0 ? 13 : 31, NULL);
}

static const pqv_rule QUANTIZE_RULES[] = {{2, RG_Q31}, {3, RG_SHIFT30}};

/* x and y of one shape, of dtype in_dt / out_dt. Params: input_offset (-zero point of x),
 * output_offset (y's zero point), multiplier and shift (pq_mbqm's ranges). */
static int quantize(const pq_contract_ctx *o, uint32_t in_dt, uint32_t out_dt) {
    const int32_t in_top = in_dt == DT_INT16 ? 32767 : 127, out_top = out_dt == DT_INT16 ? 32767 : 127;
    TRY(pqv_same_shape_dt(o, 0, in_dt, out_dt));
    TRY(pqv_param_range(o, 0, -in_top, in_top + 1, NULL));
    TRY(pqv_param_range(o, 1, -out_top - 1, out_top, NULL));
    return PARAM_RULES(o, QUANTIZE_RULES);
}

int pq_contract_quantize(const pq_contract_ctx *o) { return quantize(o, DT_INT8, DT_INT8); }

/* The s16 variant: either side int8 or int16 (one of them int16, or the op would be s8). */
int pq_contract_quantize_s16(const pq_contract_ctx *o) {
    const pqv_ctx *c = o->c;
    uint32_t in_dt = tensor_rec(c, (uint32_t)op_input(c, o->i, 0))[0];
    uint32_t out_dt = tensor_rec(c, (uint32_t)op_output(c, o->i))[0];
    return quantize(o, in_dt == DT_INT16 ? DT_INT16 : DT_INT8, out_dt == DT_INT16 ? DT_INT16 : DT_INT8);
}
