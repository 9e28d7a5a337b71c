/*
 * The validator's private header (src/core/pq_model_*.c, src/core/pq_contracts_*.c):
 * the format's constants, the validation context, the little-endian readers, and
 * the helpers the op contracts share. Not part of the public API (pq_model.h is).
 *
 * An op contract (the `contract` column of pq_ops.def) checks one op's tensors and
 * parameters once the records, the data flow and the arena plan passed:
 *
 *     int pq_contract_<name>(const pq_contract_ctx *o);
 *
 * returning PQ_MODEL_OK or the code pqv_fail / pqv_fail_param stored in the error.
 * A new op adds its contract in one of the pq_contracts_*.c files and no error
 * code: a parameter out of range is PQ_MODEL_E_OP_PARAM with the parameter's index
 * (its name comes from the registry).
 */
#ifndef PQ_CONTRACT_H
#define PQ_CONTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "pq_model.h"
#include "pq_op.h"

/* ---- constants of the format (docs/FORMAT.md; runtime/format.py names them too) ---- */
#define PQV_HEADER_SIZE 32u
#define PQV_SECTION_SIZE 16u
#define PQV_ALIGN 16u
#define PQV_TENSOR_SIZE 64u
#define PQV_OP_SIZE 80u
#define PQV_SCRATCH_SIZE 8u /* SCRA record: u32 offset, u32 size */
#define PQV_Q31_MIN (1L << 30)

enum { S_MODL, S_TENS, S_OPS, S_OPIO, S_GRIO, S_STRS, S_DATA, N_REQUIRED };
enum { DT_INT8 = PQ_DT_INT8, DT_INT32 = PQ_DT_INT32, DT_INT16 = PQ_DT_INT16, DT_INT64 = PQ_DT_INT64, DT_INT4 = PQ_DT_INT4 };
enum { KIND_ARENA = 0, KIND_CONST = 1 };

extern const uint8_t pqv_tags[N_REQUIRED][4];
extern const uint8_t pqv_tag_scra[4];

/* ---- little-endian loads, any alignment ---- */
static inline uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }
static inline uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32); }
static inline int32_t to_i32(uint32_t u) { /* two's complement without implementation-defined casts */
    return u <= 0x7FFFFFFFu ? (int32_t)u : (int32_t)(u - 0x80000000u) - 0x7FFFFFFF - 1;
}
static inline int64_t to_i64(uint64_t u) {
    return u <= 0x7FFFFFFFFFFFFFFFu ? (int64_t)u : (int64_t)(u - 0x8000000000000000u) - 0x7FFFFFFFFFFFFFFF - 1;
}
static inline int32_t rdi32(const uint8_t *p) { return to_i32(rd32(p)); }
static inline int same4(const uint8_t *a, const uint8_t *b) {
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

/* ---- the optional workspace (pq_model_validate_ws; pq_model_index.c) ----
 * Per-tensor facts the graph checks would otherwise rescan the records for, each array
 * n_tensors long (head: n_tensors + 1). Filled in two steps: pqv_index_flow once the records
 * passed (before the data flow is checked), pqv_index_alias once the data flow passed. */
typedef struct {
    int32_t *producer;    /* the first op writing t, or -1 */
    int32_t *first_touch; /* the first and last op naming t (an input or the output), or -1 */
    int32_t *last_touch;
    int32_t *root;        /* alias_root(t), once pqv_index_alias ran */
    int32_t *head, *list; /* list[head[r] .. head[r + 1]): the t != r of root r, by index */
    int32_t *order;       /* names, then the live arena tensors, sorted (see pqv_index_*); n_order used */
    int32_t *max_last;    /* order[p]'s offset's entries up to p: the latest last use */
    uint8_t *io;          /* PQV_IO_* bits */
    uint32_t n_order;
} pqv_index;
enum { PQV_IO_IN = 1, PQV_IO_OUT = 2, PQV_IO_SEEN_IN = 4, PQV_IO_SEEN_OUT = 8 };
/* The context's tables, or NULL. Firmware that never lends a workspace may define
 * PQ_MODEL_NO_WORKSPACE: the workspace branches are then dead code (about 2 KB of Cortex-M4
 * flash at -Os) and pq_model_validate_ws always rescans. */
#ifdef PQ_MODEL_NO_WORKSPACE
#define PQV_IX(c) ((pqv_index *)NULL)
#else
#define PQV_IX(c) ((c)->ix)
#endif

/* ---- validation context ---- */
typedef struct {
    const uint8_t *b;
    uint32_t len;
    uint32_t max_arena;
    pq_model_error *err;
    uint32_t off[N_REQUIRED], size[N_REQUIRED], at[N_REQUIRED]; /* at: the section table entry */
    uint32_t arena, n_in, n_out, n_tensors, n_ops, n_opio;
    int has_scra; /* the optional SCRA section, when present: */
    uint32_t scra_off, scra_size, scra_at;
    pqv_index *ix; /* the workspace's tables, or NULL: rescan the records */
} pqv_ctx;

#define NO_INDEX 0xFFFFFFFFu  /* a field of no record (err->index = -1) */
#define NO_OFFSET 0xFFFFFFFFu /* a field without a byte offset of its own (err->offset = -1) */
#define NO_SUB (-1)

/* Store the refusal in c->err (when set) and return `code`. `sub` is the second index
 * (an op's tensor slot, CONCATENATION input or requant row), or NO_SUB. */
int pqv_fail_at(const pqv_ctx *c, int code, uint32_t index, int32_t sub, uint32_t offset, int64_t value,
                const char *why);
static inline int pqv_fail(const pqv_ctx *c, int code, uint32_t index, uint32_t offset, int64_t value,
                           const char *why) {
    return pqv_fail_at(c, code, index, NO_SUB, offset, value, why);
}
#define TRY(expr)                           \
    do {                                    \
        int rc_ = (expr);                   \
        if (rc_ != PQ_MODEL_OK) return rc_; \
    } while (0)

/* Record accessors (only called once the record's section was bounds-checked). */
static inline const uint8_t *tensor_rec(const pqv_ctx *c, uint32_t t) {
    return c->b + c->off[S_TENS] + PQV_TENSOR_SIZE * t;
}
static inline uint32_t op_at(const pqv_ctx *c, uint32_t i) { return c->off[S_OPS] + PQV_OP_SIZE * i; }
static inline const uint8_t *op_rec(const pqv_ctx *c, uint32_t i) { return c->b + op_at(c, i); }
static inline int32_t opio(const pqv_ctx *c, uint32_t k) { return rdi32(c->b + c->off[S_OPIO] + 4u * k); }
static inline int32_t grio(const pqv_ctx *c, uint32_t k) { return rdi32(c->b + c->off[S_GRIO] + 4u * k); }
static inline uint32_t op_code(const pqv_ctx *c, uint32_t i) { return rd16(op_rec(c, i)); }
static inline uint32_t op_n_in(const pqv_ctx *c, uint32_t i) { return rd16(op_rec(c, i) + 4); }
static inline int32_t op_input(const pqv_ctx *c, uint32_t i, uint32_t k) {
    return opio(c, rd32(op_rec(c, i) + 8) + k);
}
static inline int32_t op_output(const pqv_ctx *c, uint32_t i) { return op_input(c, i, op_n_in(c, i)); }
static inline int32_t op_param(const pqv_ctx *c, uint32_t i, uint32_t k) {
    return rdi32(op_rec(c, i) + 16 + 4u * k);
}
static inline uint32_t t_kind(const pqv_ctx *c, int32_t t) { return tensor_rec(c, (uint32_t)t)[2]; }
static inline uint32_t t_offset(const pqv_ctx *c, int32_t t) { return rd32(tensor_rec(c, (uint32_t)t) + 36); }
static inline uint32_t t_nbytes(const pqv_ctx *c, int32_t t) { return rd32(tensor_rec(c, (uint32_t)t) + 40); }

/* The phases of pq_model_validate beyond the records (pq_model_graph.c). */
int pqv_check_scratch_records(const pqv_ctx *c);
int pqv_check_graph(const pqv_ctx *c);
int pqv_check_contract(const pqv_ctx *c, uint32_t i);

/* The workspace (pq_model_index.c). pqv_index_bytes: what n tensors need (alignment slack
 * included); pqv_index_carve points ix's arrays into ws (ws_bytes >= pqv_index_bytes(n)). */
size_t pqv_index_bytes(uint32_t n_tensors);
void pqv_index_carve(pqv_index *ix, void *ws, uint32_t n_tensors);
/* Once the records passed: io flags, producer, first and last touch. */
void pqv_index_flow(const pqv_ctx *c);
/* The first k (in index order) whose graph input (out = 0) or output (out = 1) slot repeats an
 * earlier one, or -1. */
int32_t pqv_index_dup_io(const pqv_ctx *c, int out);
/* The first tensor k whose name an earlier tensor has, or -1 (sorts ix->order by name). */
int32_t pqv_index_dup_name(const pqv_ctx *c);
/* lifetime() from the tables: the first and last op touching t (-1 for a graph input, n_ops
 * for a graph output); 0 when t is neither a graph input nor touched by an op. */
int pqv_index_life(const pqv_ctx *c, int32_t t, int64_t *first, int64_t *last);
/* Once the data flow passed: root (from parent, below), head / list, and ix->order the arena
 * tensors with a lifetime by (offset, first use, index), with max_last. `parent(c, j)` is the
 * tensor op j's output aliases, or -1. */
void pqv_index_alias(const pqv_ctx *c, int32_t (*parent)(const pqv_ctx *c, uint32_t j));
/* The first position p >= from in ix->order whose tensor's offset is >= o (> o: upper). */
uint32_t pqv_index_bound(const pqv_ctx *c, uint32_t from, uint32_t o, int upper);

/* ---- what the op contracts share (pq_contracts_common.c) ---- */
typedef struct {
    const pqv_ctx *c;
    uint32_t i, at; /* the op's index and the byte offset of its record */
} pq_contract_ctx;

/* A validated tensor's shape. */
typedef struct {
    uint32_t dtype, rank, is_const, offset; /* offset: arena, or absolute in the file for constants */
    int32_t dims[PQ_MODEL_MAX_DIMS];       /* validated: in [1, 2^24] */
    uint32_t size;                          /* validated: < 2^31 */
} pqv_tensor;

/* Parameter k of the op is out of range: PQ_MODEL_E_OP_PARAM naming it. */
int pqv_fail_param(const pq_contract_ctx *o, uint32_t k, int64_t value, const char *why);
/* Op-level refusal with a second index (NO_SUB for none). */
int pqv_fail_op(const pq_contract_ctx *o, int code, int32_t sub, int64_t value, const char *why);
/* Parameter k in [lo, hi] (stored in *out when out is set). */
int pqv_param_range(const pq_contract_ctx *o, uint32_t k, int64_t lo, int64_t hi, int32_t *out);
/* act_min, act_max (params k_min, k_min + 1): int8 values, min <= max. */
int pqv_param_act(const pq_contract_ctx *o, uint32_t k_min);
/* The same for an output of `dtype` (DT_INT8 or DT_INT16). */
int pqv_param_act_dt(const pq_contract_ctx *o, uint32_t k_min, uint32_t dtype);

/* The ranges values are held to: strides, offsets, shifts, multipliers. */
enum {
    RG_OFFSET,
    RG_POSITIVE16,
    RG_ADD_LSHIFT,
    RG_RSHIFT,
    RG_SOFTMAX_SHIFT,
    RG_NONPOS,
    RG_IN_ZP,
    RG_INT8,
    RG_SHIFT14,
    RG_SHIFT22,
    RG_SHIFT30,
    RG_LSHIFT30,
    RG_Q15,
    RG_RELUISH_SHIFT,
    RG_Q15_SHIFT,
    RG_NONNEG,
    RG_ZERO,       /* offsets of the 16x8 variants (int16 zero points are 0) */
    RG_LSHIFT15,
    RG_SHIFT15,
    RG_Q31,        /* and 0 */
    RG_Q31_SIGNED, /* and 0, and [-2^31, -2^30] */
    N_RANGES
};
/* A rule: value k of an int32 array (an op's params or a requant row) in range RG_*. */
typedef struct {
    uint8_t k, range;
} pqv_rule;
#define N_RULES(r) (sizeof(r) / sizeof((r)[0]))
/* Each rule on vals[k]. row < 0: vals are the op's params (a failure is PQ_MODEL_E_OP_PARAM
 * naming param k); else requant row `row` of a CONCATENATION, failing as codes[k]. */
int pqv_check_rules(const pq_contract_ctx *o, const uint8_t *vals, const pqv_rule *r, uint32_t n, int32_t row,
                    const int *codes);
#define PARAM_RULES(o, r) pqv_check_rules((o), op_rec((o)->c, (o)->i) + 16, (r), N_RULES(r), -1, NULL)

/* Read tensor t; check its dtype, and its rank when rank >= 0. `code_dtype + 1` is the
 * matching .shape code; `sub` goes with the failure (a CONCATENATION input's number). */
int pqv_op_tensor(const pq_contract_ctx *o, int32_t t, int code_dtype, int32_t sub, uint32_t dtype, int rank,
                  pqv_tensor *ti);
/* int8 input and output of equal shape, of rank >= min_rank. */
int pqv_same_shape(const pq_contract_ctx *o, uint32_t min_rank);
/* The same with the input of in_dtype and the output of out_dtype. */
int pqv_same_shape_dt(const pq_contract_ctx *o, uint32_t min_rank, uint32_t in_dtype, uint32_t out_dtype);
/* The op has exactly n inputs (ops whose variants differ in arity: SOFTMAX, LOGISTIC, TANH). */
int pqv_n_inputs(const pq_contract_ctx *o, uint32_t n);
/* Padding before < dilated kernel, >= 1 output, padding after in (-stride, eff - 1]. */
int pqv_conv_out_size_ok(int64_t in, int64_t k, int64_t stride, int64_t dilation, int64_t pad, int64_t out);
/* bias (optional) int32 of `channels` values; multipliers and shifts constant int32[n_mult],
 * multipliers 0 or in [2^30, 2^31), shifts in [-31, 30]. */
int pqv_quant_arrays(const pq_contract_ctx *o, uint32_t channels, uint32_t n_mult);
/* The same with the bias of `bias_dtype` (DT_INT64 for 16x8), shifts of `shift_dtype` (DT_INT32,
 * or DT_INT8 for the int4-weight ops, whose point is flash) in [-31, max_shift]. */
int pqv_quant_arrays_dt(const pq_contract_ctx *o, uint32_t channels, uint32_t n_mult, uint32_t bias_dtype,
                        uint32_t shift_dtype, int32_t max_shift);
/* An input's dim d once right-aligned to `rank` dims and padded with 1s. */
static inline int32_t pqv_broadcast_dim(const pqv_tensor *t, uint32_t rank, uint32_t d) {
    return d >= rank - t->rank ? t->dims[d - (rank - t->rank)] : 1;
}

/* Every op's contract, declared from the registry. */
#define PQ_OP(code, NAME, name, n_in, max_in, opt, params_t, PARAMS, contract, fast) \
    int contract(const pq_contract_ctx *o);
#include "pq_ops.def"
#undef PQ_OP
#define PQ_VARIANT(NAME, name, variant, contract, fast) int contract(const pq_contract_ctx *o);
#include "pq_variants.def"
#undef PQ_VARIANT

#endif /* PQ_CONTRACT_H */
