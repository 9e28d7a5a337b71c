/*
 * What the op contracts (pq_contracts_*.c) share: refusing with an op's field,
 * parameter ranges and rules, tensor dtype/rank checks, the conv output-size rule
 * and the per-channel quantization arrays.
 */
#include "pq_contract.h"

int pqv_fail_param(const pq_contract_ctx *o, uint32_t k, int64_t value, const char *why) {
    const pq_op_info *info = pq_op_find(op_code(o->c, o->i)); /* known: check_op passed */
    int code = pqv_fail_at(o->c, PQ_MODEL_E_OP_PARAM, o->i, (int32_t)k, o->at, value, why);
    if (o->c->err) o->c->err->param = (info && k < info->n_params) ? info->param_names[k] : "?";
    return code;
}

int pqv_fail_op(const pq_contract_ctx *o, int code, int32_t sub, int64_t value, const char *why) {
    return pqv_fail_at(o->c, code, o->i, sub, o->at, value, why);
}

int pqv_param_range(const pq_contract_ctx *o, uint32_t k, int64_t lo, int64_t hi, int32_t *out) {
    int32_t v = op_param(o->c, o->i, k);
    if (out) *out = v; /* set even on failure: callers' -O2 sees it initialized */
    if (v < lo || v > hi) return pqv_fail_param(o, k, v, "outside the parameter's range");
    return PQ_MODEL_OK;
}

int pqv_param_act_dt(const pq_contract_ctx *o, uint32_t k_min, uint32_t dtype) {
    const int32_t top = dtype == DT_INT16 ? 32767 : 127;
    int32_t lo, hi;
    TRY(pqv_param_range(o, k_min, -top - 1, top, &lo));
    TRY(pqv_param_range(o, k_min + 1, -top - 1, top, &hi));
    if (lo > hi) return pqv_fail_param(o, k_min, lo, "act_min > act_max");
    return PQ_MODEL_OK;
}

int pqv_param_act(const pq_contract_ctx *o, uint32_t k_min) { return pqv_param_act_dt(o, k_min, DT_INT8); }

/* For op codes 8..17, offsets are zero points of int8 tensors (input offsets -zp in
 * [-127, 128], output offsets zp in [-128, 127]) and every left shift is capped so the
 * value it scales stays inside int32. */
static const struct {
    int32_t lo, hi;
    const char *why;
} RANGES[N_RANGES] = {
    [RG_OFFSET] = {-255, 255, "outside [-255, 255]"},                /* offsets of op codes 1..7 */
    [RG_POSITIVE16] = {1, 1L << 16, "outside [1, 65536]"},           /* strides, dilations, windows */
    [RG_ADD_LSHIFT] = {0, 20, "outside [0, 20]"},                    /* ADD left_shift */
    [RG_RSHIFT] = {-31, 0, "outside [-31, 0]"},                      /* ADD input shifts: right shifts only */
    [RG_SOFTMAX_SHIFT] = {0, 31, "outside [0, 31]"},                 /* SOFTMAX input_left_shift */
    [RG_NONPOS] = {-0x7FFFFFFF - 1, 0, "outside [-2^31, 0]"},        /* SOFTMAX diff_min */
    [RG_IN_ZP] = {-127, 128, "outside [-127, 128]"},                 /* -zero_point of an int8 tensor */
    [RG_INT8] = {-128, 127, "outside [-128, 127]"},                  /* a zero point, a pad value, a clamp */
    [RG_SHIFT14] = {-31, 14, "outside [-31, 14]"},                   /* MUL: |(a + o1) * (b + o2)| <= 2^16 */
    [RG_SHIFT22] = {-31, 22, "outside [-31, 22]"},                   /* a shift of x + offset, |x + offset| <= 255 */
    [RG_SHIFT30] = {-31, 30, "outside [-31, 30]"},                   /* Q31 shifts; MEAN's is capped further */
    [RG_LSHIFT30] = {0, 30, "outside [0, 30]"},                      /* LOGISTIC / TANH input_left_shift */
    [RG_Q15] = {0, 32767, "outside [0, 32767]"},                     /* HARD_SWISH int16 multipliers */
    [RG_RELUISH_SHIFT] = {-15, 30, "outside [-15, 30]"},             /* HARD_SWISH reluish_shift */
    [RG_Q15_SHIFT] = {-15, 0, "outside [-15, 0]"},                   /* HARD_SWISH output_shift */
    [RG_NONNEG] = {0, 0x7FFFFFFF, "must be >= 0"},                   /* MEAN multiplier: 1/count folded in */
    [RG_ZERO] = {0, 0, "must be 0 (int16 zero points are 0)"},       /* offsets of the 16x8 variants */
    [RG_LSHIFT15] = {0, 15, "outside [0, 15]"},                      /* 16x8 ADD left_shift: |x| << 15 <= 2^30 */
    [RG_SHIFT15] = {-31, 15, "outside [-31, 15]"},                   /* a shift of an int16 x: |x| << 15 <= 2^30 */
    [RG_Q31] = {PQV_Q31_MIN, 0x7FFFFFFF, "a Q31 multiplier is 0 or in [2^30, 2^31)"},
    [RG_Q31_SIGNED] = {PQV_Q31_MIN, 0x7FFFFFFF, "a Q31 multiplier is 0 or in +-[2^30, 2^31]"}};

int pqv_check_rules(const pq_contract_ctx *o, const uint8_t *vals, const pqv_rule *r, uint32_t n, int32_t row,
                    const int *codes) {
    for (; n > 0; n--, r++) {
        int32_t v = rdi32(vals + 4u * r->k);
        int ok = v >= RANGES[r->range].lo && v <= RANGES[r->range].hi;
        if (r->range >= RG_Q31) ok = ok || v == 0 || (r->range == RG_Q31_SIGNED && v <= -PQV_Q31_MIN);
        if (ok) continue;
        if (row < 0) return pqv_fail_param(o, r->k, v, RANGES[r->range].why);
        return pqv_fail_op(o, codes[r->k], row, v, RANGES[r->range].why);
    }
    return PQ_MODEL_OK;
}

static void tensor_get(const pqv_ctx *c, int32_t t, pqv_tensor *ti) {
    const uint8_t *r = tensor_rec(c, (uint32_t)t);
    uint32_t d;
    ti->dtype = r[0];
    ti->rank = r[1];
    ti->is_const = r[2] == KIND_CONST;
    ti->offset = rd32(r + 36) + (ti->is_const ? c->off[S_DATA] : 0u);
    ti->size = 1;
    for (d = 0; d < PQ_MODEL_MAX_DIMS; d++) {
        ti->dims[d] = rdi32(r + 12 + 4 * d);
        if (d < ti->rank) ti->size *= (uint32_t)ti->dims[d];
    }
}

int pqv_op_tensor(const pq_contract_ctx *o, int32_t t, int code_dtype, int32_t sub, uint32_t dtype, int rank,
                  pqv_tensor *ti) {
    tensor_get(o->c, t, ti);
    if (ti->dtype != dtype) {
        static const char *const MUST[] = {"", "must be int8", "must be int32", "must be int16", "must be int64",
                                           "must be int4"};
        return pqv_fail_op(o, code_dtype, sub, ti->dtype, dtype <= DT_INT4 ? MUST[dtype] : "wrong dtype");
    }
    if (rank >= 0 && ti->rank != (uint32_t)rank) return pqv_fail_op(o, code_dtype + 1, sub, ti->rank, "wrong rank");
    return PQ_MODEL_OK;
}

int pqv_same_shape(const pq_contract_ctx *o, uint32_t min_rank) {
    return pqv_same_shape_dt(o, min_rank, DT_INT8, DT_INT8);
}

int pqv_same_shape_dt(const pq_contract_ctx *o, uint32_t min_rank, uint32_t in_dtype, uint32_t out_dtype) {
    const pqv_ctx *c = o->c;
    pqv_tensor x, y;
    uint32_t d;
    TRY(pqv_op_tensor(o, op_input(c, o->i, 0), PQ_MODEL_E_OP_INPUT_DTYPE, NO_SUB, in_dtype, -1, &x));
    TRY(pqv_op_tensor(o, op_output(c, o->i), PQ_MODEL_E_OP_OUTPUT_DTYPE, NO_SUB, out_dtype, -1, &y));
    if (x.rank != y.rank) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.rank, "must equal the input shape");
    }
    for (d = 0; d < x.rank; d++) {
        if (x.dims[d] != y.dims[d]) {
            return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.dims[d], "must equal the input shape");
        }
    }
    if (x.rank < min_rank) return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.rank, "needs rank >= 1");
    return PQ_MODEL_OK;
}

/* Inputs are capped (dims 2^24, strides and dilations 2^16, pad int32), so int64 cannot overflow. */
int pqv_conv_out_size_ok(int64_t in, int64_t k, int64_t stride, int64_t dilation, int64_t pad, int64_t out) {
    int64_t eff = (k - 1) * dilation + 1, pad_after;
    if (!(pad >= 0 && pad < eff && out >= 1)) return 0;
    pad_after = (out - 1) * stride + eff - in - pad;
    return -stride < pad_after && pad_after <= eff - 1;
}

int pqv_quant_arrays(const pq_contract_ctx *o, uint32_t channels, uint32_t n_mult) {
    return pqv_quant_arrays_dt(o, channels, n_mult, DT_INT32, DT_INT32, 30);
}

int pqv_quant_arrays_dt(const pq_contract_ctx *o, uint32_t channels, uint32_t n_mult, uint32_t bias_dtype,
                        uint32_t shift_dtype, int32_t max_shift) {
    const pqv_ctx *c = o->c;
    int32_t b = op_input(c, o->i, 2), m = op_input(c, o->i, 3), s = op_input(c, o->i, 4);
    pqv_tensor bt, mt, st;
    uint32_t k;
    if (b != -1) {
        TRY(pqv_op_tensor(o, b, PQ_MODEL_E_OP_BIAS_DTYPE, NO_SUB, bias_dtype, -1, &bt));
        if (bt.size != channels) {
            return pqv_fail_op(o, PQ_MODEL_E_OP_BIAS_SHAPE, NO_SUB, bt.size, "needs one value per output channel");
        }
    }
    TRY(pqv_op_tensor(o, m, PQ_MODEL_E_OP_MULTIPLIERS_DTYPE, NO_SUB, DT_INT32, 1, &mt));
    if (!mt.is_const || mt.size != n_mult) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_MULTIPLIERS, NO_SUB, mt.size,
                           "must be a constant int32[channels] (or [1])");
    }
    TRY(pqv_op_tensor(o, s, PQ_MODEL_E_OP_SHIFTS_DTYPE, NO_SUB, shift_dtype, 1, &st));
    if (!st.is_const || st.size != n_mult) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_SHIFTS, NO_SUB, st.size,
                           shift_dtype == DT_INT8 ? "must be a constant int8[channels] (or [1])"
                                                  : "must be a constant int32[channels] (or [1])");
    }
    for (k = 0; k < n_mult; k++) {
        int32_t v = rdi32(c->b + mt.offset + 4 * k);
        if (v != 0 && v < PQV_Q31_MIN) {
            return pqv_fail_op(o, PQ_MODEL_E_OP_MULTIPLIERS, NO_SUB, v, "a Q31 multiplier is 0 or in [2^30, 2^31)");
        }
    }
    for (k = 0; k < n_mult; k++) {
        const uint8_t *at = c->b + st.offset;
        int32_t v = shift_dtype == DT_INT8 ? (int32_t)(int8_t)at[k] : rdi32(at + 4 * k);
        if (v < -31 || v > max_shift) {
            return pqv_fail_op(o, PQ_MODEL_E_OP_SHIFTS, NO_SUB, v,
                               max_shift == 30 ? "outside [-31, 30]" : "outside [-31, 7] (the 16x8 requantization)");
        }
    }
    return PQ_MODEL_OK;
}
