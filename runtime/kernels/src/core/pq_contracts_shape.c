/*
 * Contracts of the ops that change a shape: MEAN, CONCATENATION, PAD,
 * TRANSPOSE, SLICE, GATHER, RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR (pq_contract.h).
 */
#include "pq_contract.h"

/* Input x and output y of `dtype` (int8, or int16 for a 16x8 variant); x of rank >= 1, y of
 * x's rank when same_rank. */
static int unary_dt(const pq_contract_ctx *o, pqv_tensor *x, pqv_tensor *y, int same_rank, uint32_t dtype) {
    const pqv_ctx *c = o->c;
    TRY(pqv_op_tensor(o, op_input(c, o->i, 0), PQ_MODEL_E_OP_INPUT_DTYPE, NO_SUB, dtype, -1, x));
    TRY(pqv_op_tensor(o, op_output(c, o->i), PQ_MODEL_E_OP_OUTPUT_DTYPE, NO_SUB, dtype,
                      same_rank ? (int)x->rank : -1, y));
    if (x->rank < 1) return pqv_fail_op(o, PQ_MODEL_E_OP_INPUT_SHAPE, NO_SUB, x->rank, "needs rank >= 1");
    return PQ_MODEL_OK;
}

static int unary(const pq_contract_ctx *o, pqv_tensor *x, pqv_tensor *y, int same_rank) {
    return unary_dt(o, x, y, same_rank, DT_INT8);
}

/* Params first..PQ_MAX_DIMS-1 (those beyond the tensor's rank) are 0. */
static int unused_zero(const pq_contract_ctx *o, uint32_t first, uint32_t end) {
    uint32_t k;
    for (k = first; k < end; k++) {
        int32_t v = op_param(o->c, o->i, k);
        if (v != 0) return pqv_fail_param(o, k, v, "beyond the tensor's rank: must be 0");
    }
    return PQ_MODEL_OK;
}

static const pqv_rule MEAN_RULES[] = {{2, RG_IN_ZP}, {3, RG_INT8}, {4, RG_NONNEG}, {5, RG_SHIFT30}};
static const pqv_rule MEAN16_RULES[] = {{2, RG_ZERO}, {3, RG_ZERO}, {4, RG_NONNEG}, {5, RG_SHIFT30}};

/* Params: axis_mask, keep_dims, input_offset, output_offset, multiplier, shift. */
static int mean(const pq_contract_ctx *o, uint32_t dt) {
    pqv_tensor x, y;
    int32_t mask, keep, shift;
    uint32_t d, n = 0;
    uint64_t count = 1;
    /* |sum + count * input_offset| <= levels * count: 256 int8 values, 65536 int16 ones */
    const uint64_t levels = dt == DT_INT16 ? 65536u : 256u;
    TRY(unary_dt(o, &x, &y, 0, dt));
    TRY(pqv_param_range(o, 0, 0, (1L << x.rank) - 1, &mask));
    TRY(pqv_param_range(o, 1, 0, 1, &keep));
    for (d = 0; d < x.rank; d++) { /* y: x with the reduced dims 1 (keep_dims) or left out */
        int32_t want = x.dims[d];
        if ((uint32_t)mask >> d & 1u) {
            count *= (uint32_t)x.dims[d]; /* <= x.size < 2^31 */
            if (!keep) continue;
            want = 1;
        }
        if (n >= y.rank || y.dims[n] != want) {
            return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.rank,
                               "not the mean of the input over the axes");
        }
        n++;
    }
    if (n != y.rank) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.rank, "not the mean of the input over the axes");
    }
    TRY(dt == DT_INT16 ? PARAM_RULES(o, MEAN16_RULES) : PARAM_RULES(o, MEAN_RULES));
    /* The sum, scaled by 2^shift before the multiply: levels * count < 2^31 first, so the
     * shifted product (shift <= 30) fits 64 bits. */
    shift = op_param(o->c, o->i, 5);
    if (levels * count >= (1ull << 31) || ((levels * count) << (shift > 0 ? shift : 0)) >= (1ull << 31)) {
        return pqv_fail_param(o, 5, shift, "a sum of count values scaled by 2^shift could leave int32");
    }
    return PQ_MODEL_OK;
}

int pq_contract_mean(const pq_contract_ctx *o) { return mean(o, DT_INT8); }

/* 16x8: int16 input and output, offsets 0. */
int pq_contract_mean_s16(const pq_contract_ctx *o) { return mean(o, DT_INT16); }

static const pqv_rule CONCAT_RULES[] = {{1, RG_INT8}};
static const pqv_rule REQUANT_RULES[] = {{0, RG_Q31}, {1, RG_SHIFT22}, {2, RG_IN_ZP}};
/* 16x8: offsets 0, a row's shift <= 15 (|x| <= 2^15) */
static const pqv_rule CONCAT16_RULES[] = {{1, RG_ZERO}};
static const pqv_rule REQUANT16_RULES[] = {{0, RG_Q31}, {1, RG_SHIFT15}, {2, RG_ZERO}};
static const int REQUANT_CODES[] = {PQ_MODEL_E_OP_REQUANT_MULTIPLIER, PQ_MODEL_E_OP_REQUANT_SHIFT,
                                    PQ_MODEL_E_OP_REQUANT_INPUT_OFFSET};

/* Inputs x_0 .. x_{k-1}, then a constant int32 [k, 3] table of (multiplier, shift,
 * input_offset). Params: axis, output_offset. A failing x_k or row k has sub = k. */
static int concatenation(const pq_contract_ctx *o, uint32_t dt) {
    const pqv_ctx *c = o->c;
    const pqv_rule *row_rules = dt == DT_INT16 ? REQUANT16_RULES : REQUANT_RULES;
    pqv_tensor x, y, t;
    uint32_t k, d, n_x = op_n_in(c, o->i) - 1;
    int32_t axis;
    uint64_t total = 0;
    TRY(pqv_op_tensor(o, op_output(c, o->i), PQ_MODEL_E_OP_OUTPUT_DTYPE, NO_SUB, dt, -1, &y));
    if (y.rank < 1) return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.rank, "needs rank >= 1");
    TRY(pqv_param_range(o, 0, 0, (int64_t)y.rank - 1, &axis));
    for (k = 0; k < n_x; k++) {
        TRY(pqv_op_tensor(o, op_input(c, o->i, k), PQ_MODEL_E_OP_INPUT_DTYPE, (int32_t)k, dt, (int)y.rank, &x));
        for (d = 0; d < y.rank; d++) {
            if (d != (uint32_t)axis && x.dims[d] != y.dims[d]) {
                return pqv_fail_op(o, PQ_MODEL_E_OP_INPUT_SHAPE, (int32_t)k, x.dims[d],
                                   "must match the output except on the axis");
            }
        }
        total += (uint32_t)x.dims[axis];
    }
    if (total != (uint32_t)y.dims[axis]) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.dims[axis], "the axis must be the inputs' sum");
    }
    TRY(pqv_op_tensor(o, op_input(c, o->i, n_x), PQ_MODEL_E_OP_REQUANT_DTYPE, NO_SUB, DT_INT32, 2, &t));
    if (!t.is_const || (uint32_t)t.dims[0] != n_x || t.dims[1] != 3) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_REQUANT, NO_SUB, t.dims[0], "must be a constant int32[inputs, 3]");
    }
    for (k = 0; k < n_x; k++) {
        TRY(pqv_check_rules(o, c->b + t.offset + 12u * k, row_rules, N_RULES(REQUANT_RULES), (int32_t)k,
                            REQUANT_CODES));
    }
    return dt == DT_INT16 ? PARAM_RULES(o, CONCAT16_RULES) : PARAM_RULES(o, CONCAT_RULES);
}

int pq_contract_concatenation(const pq_contract_ctx *o) { return concatenation(o, DT_INT8); }

/* 16x8: int16 inputs and output, offsets 0 (an identity row is then a copy, TFLM's int16 kernel). */
int pq_contract_concatenation_s16(const pq_contract_ctx *o) { return concatenation(o, DT_INT16); }

static const pqv_rule PAD_RULES[] = {{0, RG_INT8}};

/* Params: pad_value, then before_d, after_d for d = 0..5 (0 beyond the rank). */
static int pad(const pq_contract_ctx *o, uint32_t dtype) {
    pqv_tensor x, y;
    uint32_t d;
    int32_t before, after;
    TRY(unary_dt(o, &x, &y, 1, dtype));
    if (dtype == DT_INT16) { /* the int16 zero point, the one pad value of 16x8 */
        TRY(pqv_param_range(o, 0, 0, 0, NULL));
    } else {
        TRY(PARAM_RULES(o, PAD_RULES));
    }
    for (d = 0; d < x.rank; d++) {
        TRY(pqv_param_range(o, 1 + 2 * d, 0, y.dims[d], &before));
        TRY(pqv_param_range(o, 2 + 2 * d, 0, y.dims[d], &after));
        if ((int64_t)before + x.dims[d] + after != y.dims[d]) {
            return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.dims[d], "must be before + input + after");
        }
    }
    return unused_zero(o, 1 + 2 * x.rank, 1 + 2 * PQ_MODEL_MAX_DIMS);
}

int pq_contract_pad(const pq_contract_ctx *o) { return pad(o, DT_INT8); }

/* 16x8: int16 in and out, pad value 0 (the int16 zero point). */
int pq_contract_pad_s16(const pq_contract_ctx *o) { return pad(o, DT_INT16); }

/* Params: perm_0 .. perm_5 (0 beyond the rank). */
static int transpose(const pq_contract_ctx *o, uint32_t dtype) {
    pqv_tensor x, y;
    uint32_t d, seen = 0;
    int32_t perm[PQ_MODEL_MAX_DIMS];
    TRY(unary_dt(o, &x, &y, 1, dtype));
    for (d = 0; d < x.rank; d++) TRY(pqv_param_range(o, d, 0, (int64_t)x.rank - 1, &perm[d]));
    for (d = 0; d < x.rank; d++) {
        if (seen >> perm[d] & 1u) {
            return pqv_fail_op(o, PQ_MODEL_E_OP_PARAMS_PERM, NO_SUB, perm[d], "not a permutation of the axes");
        }
        seen |= 1u << perm[d];
    }
    for (d = 0; d < x.rank; d++) {
        if (y.dims[d] != x.dims[perm[d]]) {
            return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.dims[d], "must be the input permuted by perm");
        }
    }
    /* int16: a moved last axis costs the kernel one more (byte) axis, so rank 6 only in place */
    if (dtype == DT_INT16 && x.rank == PQ_MODEL_MAX_DIMS && perm[x.rank - 1] != (int32_t)x.rank - 1) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_INPUT_SHAPE, NO_SUB, x.rank,
                           "an int16 transpose of rank 6 must keep the last axis in place");
    }
    return unused_zero(o, x.rank, PQ_MODEL_MAX_DIMS);
}

int pq_contract_transpose(const pq_contract_ctx *o) { return transpose(o, DT_INT8); }

/* 16x8: int16 in and out. */
int pq_contract_transpose_s16(const pq_contract_ctx *o) { return transpose(o, DT_INT16); }

/* Params: begin_0 .. begin_5 (0 beyond the rank). The output's shape is the slice's size: each
 * dim's box [begin, begin + size) lies inside the input's. */
static int slice(const pq_contract_ctx *o, uint32_t dtype) {
    pqv_tensor x, y;
    uint32_t d;
    int32_t begin;
    TRY(unary_dt(o, &x, &y, 1, dtype));
    for (d = 0; d < x.rank; d++) {
        if (y.dims[d] > x.dims[d]) {
            return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.dims[d], "a slice larger than the input");
        }
        TRY(pqv_param_range(o, d, 0, (int64_t)x.dims[d] - y.dims[d], &begin));
    }
    return unused_zero(o, x.rank, PQ_MODEL_MAX_DIMS);
}

int pq_contract_slice(const pq_contract_ctx *o) { return slice(o, DT_INT8); }

/* 16x8: int16 in and out. */
int pq_contract_slice_s16(const pq_contract_ctx *o) { return slice(o, DT_INT16); }

/* Inputs: x (int8, rank >= 1), the indices (a constant int32 tensor, rank 0..6). Params: axis,
 * batch_dims, both normalized (>= 0): batch_dims <= min(indices rank, axis), axis < x's rank,
 * x and the indices share their first batch_dims dims. The output is x's dims before axis, the
 * indices' dims from batch_dims on, x's dims after axis (TFLM's GatherPrepare); every index lies
 * in [0, x.dims[axis]) (the kernel checks again at run time). */
int pq_contract_gather(const pq_contract_ctx *o) {
    const pqv_ctx *c = o->c;
    pqv_tensor x, ix, y;
    int32_t axis, batch_dims;
    uint32_t d, n = 0, k;
    TRY(unary(o, &x, &y, 0));
    TRY(pqv_op_tensor(o, op_input(c, o->i, 1), PQ_MODEL_E_OP_INPUT2_DTYPE, NO_SUB, DT_INT32, -1, &ix));
    if (!ix.is_const) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_INPUT2_SHAPE, NO_SUB, op_input(c, o->i, 1), "the indices must be constant");
    }
    TRY(pqv_param_range(o, 1, 0, ix.rank < x.rank - 1 ? ix.rank : x.rank - 1, &batch_dims));
    TRY(pqv_param_range(o, 0, batch_dims, (int64_t)x.rank - 1, &axis));
    for (d = 0; d < (uint32_t)batch_dims; d++) {
        if (ix.dims[d] != x.dims[d]) {
            return pqv_fail_op(o, PQ_MODEL_E_OP_INPUT2_SHAPE, NO_SUB, ix.dims[d], "a batch dim unlike the input's");
        }
    }
    if (y.rank != x.rank + ix.rank - 1 - (uint32_t)batch_dims) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.rank, "not the rank of the gather");
    }
    for (d = 0; d < x.rank; d++) {
        if (d == (uint32_t)axis) {
            for (k = (uint32_t)batch_dims; k < ix.rank; k++) {
                if (y.dims[n++] != ix.dims[k]) {
                    return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.dims[n - 1], "not the gather's shape");
                }
            }
        } else if (y.dims[n++] != x.dims[d]) {
            return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.dims[n - 1], "not the gather's shape");
        }
    }
    for (k = 0; k < ix.size; k++) {
        int32_t v = rdi32(c->b + ix.offset + 4u * k);
        if (v < 0 || v >= x.dims[axis]) {
            return pqv_fail_op(o, PQ_MODEL_E_OP_INPUT2_SHAPE, NO_SUB, v, "an index outside [0, the axis' size)");
        }
    }
    return PQ_MODEL_OK;
}

/* One index table of RESIZE_NEAREST_NEIGHBOR (input k = 1: rows, 2: cols): a constant int32
 * vector of `n` values, each in [0, limit). */
static int resize_index_table(const pq_contract_ctx *o, uint32_t k, int32_t n, int32_t limit) {
    const pqv_ctx *c = o->c;
    pqv_tensor ix;
    int32_t j;
    TRY(pqv_op_tensor(o, op_input(c, o->i, k), PQ_MODEL_E_OP_INPUT2_DTYPE, (int32_t)k, DT_INT32, 1, &ix));
    if (!ix.is_const || ix.dims[0] != n) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_INPUT2_SHAPE, (int32_t)k, ix.dims[0],
                           "must be a constant with one index per output row (1) or column (2)");
    }
    for (j = 0; j < n; j++) {
        const int32_t v = rdi32(c->b + ix.offset + 4u * (uint32_t)j);
        if (v < 0 || v >= limit) {
            return pqv_fail_op(o, PQ_MODEL_E_OP_INPUT2_SHAPE, (int32_t)k, v, "an index outside the input");
        }
    }
    return PQ_MODEL_OK;
}

/* Inputs x int8 [N, H, W, C], rows int32 [OH], cols int32 [OW] (constants, indices into H and
 * W); y int8 [N, OH, OW, C]. No params. */
int pq_contract_resize_nearest(const pq_contract_ctx *o) {
    const pqv_ctx *c = o->c;
    pqv_tensor x, y;
    TRY(pqv_op_tensor(o, op_input(c, o->i, 0), PQ_MODEL_E_OP_INPUT_DTYPE, NO_SUB, DT_INT8, 4, &x));
    TRY(pqv_op_tensor(o, op_output(c, o->i), PQ_MODEL_E_OP_OUTPUT_DTYPE, NO_SUB, DT_INT8, 4, &y));
    if (y.dims[0] != x.dims[0] || y.dims[3] != x.dims[3]) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.dims[3], "batch and channels must be the input's");
    }
    TRY(resize_index_table(o, 1, y.dims[1], x.dims[1]));
    return resize_index_table(o, 2, y.dims[2], x.dims[2]);
}

/* --- ops14: RESIZE_BILINEAR --- */

/* One interpolation table of RESIZE_BILINEAR (input k = 1: rows, 2: cols): a constant int32
 * [n, 3] of (low index, high index, weight), indices in [0, limit), weights in [-512, 1023]:
 * what TFLM's ComputeInterpolationValuesInteger produces (below 0 only where both indices are
 * 0), and what keeps the kernel's int32 sum from overflowing. */
static int bilinear_table(const pq_contract_ctx *o, uint32_t k, int32_t n, int32_t limit) {
    const pqv_ctx *c = o->c;
    pqv_tensor ix;
    int32_t j;
    TRY(pqv_op_tensor(o, op_input(c, o->i, k), PQ_MODEL_E_OP_INPUT2_DTYPE, (int32_t)k, DT_INT32, 2, &ix));
    if (!ix.is_const || ix.dims[0] != n || ix.dims[1] != 3) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_INPUT2_SHAPE, (int32_t)k, ix.dims[0],
                           "must be a constant [n, 3], one row per output row (1) or column (2)");
    }
    for (j = 0; j < 3 * n; j++) {
        const int32_t v = rdi32(c->b + ix.offset + 4u * (uint32_t)j);
        if (j % 3 < 2 && (v < 0 || v >= limit)) {
            return pqv_fail_op(o, PQ_MODEL_E_OP_INPUT2_SHAPE, (int32_t)k, v, "an index outside the input");
        }
        if (j % 3 == 2 && (v < -512 || v > 1023)) {
            return pqv_fail_op(o, PQ_MODEL_E_OP_INPUT2_SHAPE, (int32_t)k, v, "a weight outside [-512, 1023]");
        }
    }
    return PQ_MODEL_OK;
}

/* Inputs x int8 [N, H, W, C], rows int32 [OH, 3], cols int32 [OW, 3] (constants); y int8
 * [N, OH, OW, C]. No params. */
int pq_contract_resize_bilinear(const pq_contract_ctx *o) {
    const pqv_ctx *c = o->c;
    pqv_tensor x, y;
    TRY(pqv_op_tensor(o, op_input(c, o->i, 0), PQ_MODEL_E_OP_INPUT_DTYPE, NO_SUB, DT_INT8, 4, &x));
    TRY(pqv_op_tensor(o, op_output(c, o->i), PQ_MODEL_E_OP_OUTPUT_DTYPE, NO_SUB, DT_INT8, 4, &y));
    if (y.dims[0] != x.dims[0] || y.dims[3] != x.dims[3]) {
        return pqv_fail_op(o, PQ_MODEL_E_OP_OUTPUT_SHAPE, NO_SUB, y.dims[3], "batch and channels must be the input's");
    }
    TRY(bilinear_table(o, 1, y.dims[1], x.dims[1]));
    return bilinear_table(o, 2, y.dims[2], x.dims[2]);
}
/* --- end ops14 --- */
