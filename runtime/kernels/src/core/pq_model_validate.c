/*
 * pq_model_validate: runtime/format.py's read_model and runtime/shapes.py's
 * check_op_contract in C, for all 17 op codes (see pq_model.h and
 * docs/FORMAT.md).
 *
 * Each block below names the Python function it mirrors and checks the same
 * conditions in the same order, so both refuse a file for the same first
 * reason. Integer-only: a scale is judged on its IEEE-754 bits. Every offset is
 * compared as `off > size || len > size - off` (no wraparound) and every
 * product of untrusted values is formed in 64 bits after its factors were
 * capped. No scratch memory: sets (tensors produced so far, alias groups of
 * the arena plan) are recomputed by rescanning the records.
 */
#include "pq_model.h"

/* ---- constants of the format (runtime/format.py) ---- */
#define HEADER_SIZE 32u
#define SECTION_SIZE 16u
#define ALIGN 16u
#define MAX_SECTIONS 64u
#define MODEL_SIZE 32u
#define TENSOR_SIZE 64u
#define OP_SIZE 80u
#define MAX_TENSORS 65536u
#define MAX_OPS 65536u
#define MAX_NAME_BYTES 1024u
#define MAX_DIM (1L << 24)
#define MAX_ELEMENTS 0x7FFFFFFFu
#define MAX_PARAMS 16u
#define Q31_MIN (1L << 30)
#define SCRATCH_SIZE 8u   /* SCRA record: u32 offset, u32 size */
#define SCRATCH_ALIGN 64u

enum { S_MODL, S_TENS, S_OPS, S_OPIO, S_GRIO, S_STRS, S_DATA, N_REQUIRED };
static const uint8_t TAGS[N_REQUIRED][4] = {
    {'M', 'O', 'D', 'L'}, {'T', 'E', 'N', 'S'}, {'O', 'P', 'S', '_'}, {'O', 'P', 'I', 'O'},
    {'G', 'R', 'I', 'O'}, {'S', 'T', 'R', 'S'}, {'D', 'A', 'T', 'A'}};
static const uint8_t MAGIC[8] = {0x89, 'P', 'I', 'C', 'O', 'Q', '\r', '\n'};
static const uint8_t TAG_SCRA[4] = {'S', 'C', 'R', 'A'}; /* optional (format 1.1) */

enum { DT_INT8 = 1, DT_INT32 = 2 };
enum { KIND_ARENA = 0, KIND_CONST = 1 };
enum { Q_NONE = 0, Q_PER_TENSOR = 1, Q_PER_CHANNEL = 2 };

/* ---- op table (runtime/format.py OPS) ----
 * To add an op: a row here (code, arity, param count, optional input or -1,
 * most inputs when variadic), its contract in check_contract() below, and the
 * same in runtime/format.py OPS and runtime/shapes.py. Any code not in this
 * table is refused.
 */
enum {
    OP_CONV_2D = 1,
    OP_DEPTHWISE_CONV_2D = 2,
    OP_FULLY_CONNECTED = 3,
    OP_ADD = 4,
    OP_AVERAGE_POOL_2D = 5,
    OP_SOFTMAX = 6,
    OP_RESHAPE = 7,
    OP_MAX_POOL_2D = 8,
    OP_MUL = 9,
    OP_MEAN = 10,
    OP_CONCATENATION = 11,
    OP_PAD = 12,
    OP_LOGISTIC = 13,
    OP_TANH = 14,
    OP_HARD_SWISH = 15,
    OP_LEAKY_RELU = 16,
    OP_TRANSPOSE = 17
};
#define MAX_CONCAT_INPUTS 64u /* data inputs of one CONCATENATION (then its requant table) */
typedef struct {
    uint16_t code;
    uint8_t n_inputs;
    uint8_t n_params;
    int8_t optional_input; /* the one input that may be -1 (absent), or -1 for none */
    uint8_t max_inputs;    /* > 0: variadic, n_inputs..max_inputs inputs */
} op_spec;
static const op_spec OPS[] = {
    {OP_CONV_2D, 5, 10, 2, 0},         {OP_DEPTHWISE_CONV_2D, 5, 11, 2, 0}, {OP_FULLY_CONNECTED, 5, 6, 2, 0},
    {OP_ADD, 2, 12, -1, 0},            {OP_AVERAGE_POOL_2D, 1, 8, -1, 0},   {OP_SOFTMAX, 1, 3, -1, 0},
    {OP_RESHAPE, 1, 0, -1, 0},         {OP_MAX_POOL_2D, 1, 8, -1, 0},       {OP_MUL, 2, 7, -1, 0},
    {OP_MEAN, 1, 6, -1, 0},            {OP_CONCATENATION, 2, 2, -1, MAX_CONCAT_INPUTS + 1},
    {OP_PAD, 1, 1 + 2 * PQ_MODEL_MAX_DIMS, -1, 0},
    {OP_LOGISTIC, 1, 4, -1, 0},        {OP_TANH, 1, 4, -1, 0},              {OP_HARD_SWISH, 1, 6, -1, 0},
    {OP_LEAKY_RELU, 1, 6, -1, 0},      {OP_TRANSPOSE, 1, PQ_MODEL_MAX_DIMS, -1, 0},
};
#define N_OPS_KNOWN (sizeof(OPS) / sizeof(OPS[0]))

static const op_spec *op_spec_of(uint32_t code) {
    uint32_t i;
    for (i = 0; i < N_OPS_KNOWN; i++) {
        if (OPS[i].code == code) return &OPS[i];
    }
    return NULL;
}

/* ---- field names ---- */
#ifdef PQ_MODEL_NO_FIELD_NAMES /* saves the strings' flash; err->code still says it all */
#define PQ_MODEL_NAME_(code, name) "",
#else
#define PQ_MODEL_NAME_(code, name) name,
#endif
static const char *const FIELD_NAMES[PQ_MODEL_N_CODES] = {"ok", PQ_MODEL_FIELDS(PQ_MODEL_NAME_)};
#undef PQ_MODEL_NAME_

const char *pq_model_field_name(int code) {
    return (code >= 0 && code < (int)PQ_MODEL_N_CODES) ? FIELD_NAMES[code] : "?";
}

/* ---- little-endian loads, any alignment ---- */
static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }
static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32); }
static int32_t to_i32(uint32_t u) { /* two's complement without implementation-defined casts */
    return u <= 0x7FFFFFFFu ? (int32_t)u : (int32_t)(u - 0x80000000u) - 0x7FFFFFFF - 1;
}
static int64_t to_i64(uint64_t u) {
    return u <= 0x7FFFFFFFFFFFFFFFu ? (int64_t)u : (int64_t)(u - 0x8000000000000000u) - 0x7FFFFFFFFFFFFFFF - 1;
}
static int32_t rdi32(const uint8_t *p) { return to_i32(rd32(p)); }
static int same4(const uint8_t *a, const uint8_t *b) {
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

/* ---- CRC-32 (zlib's: reflected polynomial 0xEDB88320), 16-entry table ---- */
static const uint32_t CRC_NIBBLE[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u, 0x4DB26158u, 0x5005713Cu,
    0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu, 0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu};

uint32_t pq_model_crc32(uint32_t crc, const uint8_t *p, uint32_t n) {
    uint32_t i;
    crc = ~crc;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ CRC_NIBBLE[crc & 15u];
        crc = (crc >> 4) ^ CRC_NIBBLE[crc & 15u];
    }
    return ~crc;
}

/* ---- strict UTF-8, as Python's bytes.decode("utf-8"): no overlongs, no
 * surrogates (ED A0..BF), nothing above U+10FFFF, no truncated sequence ---- */
static int utf8_ok(const uint8_t *s, uint32_t n) {
    uint32_t i = 0;
    while (i < n) {
        uint32_t b = s[i], need, k;
        uint32_t lo = 0x80, hi = 0xBF;
        if (b < 0x80) {
            i++;
            continue;
        }
        if (b >= 0xC2 && b <= 0xDF) {
            need = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
            need = 2;
            if (b == 0xE0) lo = 0xA0;
            if (b == 0xED) hi = 0x9F;
        } else if (b >= 0xF0 && b <= 0xF4) {
            need = 3;
            if (b == 0xF0) lo = 0x90;
            if (b == 0xF4) hi = 0x8F;
        } else {
            return 0;
        }
        if (need > n - i - 1) return 0;
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (k = 2; k <= need; k++) {
            if ((s[i + k] & 0xC0u) != 0x80u) return 0;
        }
        i += need + 1;
    }
    return 1;
}

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
} ctx;

#define NO_INDEX 0xFFFFFFFFu  /* a field of no record (err->index = -1) */
#define NO_OFFSET 0xFFFFFFFFu /* a field without a byte offset of its own (err->offset = -1) */
static int fail(const ctx *c, int code, uint32_t index, uint32_t offset, int64_t value) {
    if (c->err) {
        c->err->code = code;
        c->err->field = pq_model_field_name(code);
        c->err->index = index == NO_INDEX ? -1 : (int32_t)index;
        c->err->offset = offset == NO_OFFSET ? -1 : (int64_t)offset;
        c->err->value = value;
    }
    return code;
}
#define TRY(expr)                      \
    do {                               \
        int rc_ = (expr);              \
        if (rc_ != PQ_MODEL_OK) return rc_; \
    } while (0)

/* Record accessors (only called once the record's section was bounds-checked). */
static const uint8_t *tensor_rec(const ctx *c, uint32_t t) { return c->b + c->off[S_TENS] + TENSOR_SIZE * t; }
static const uint8_t *op_rec(const ctx *c, uint32_t i) { return c->b + c->off[S_OPS] + OP_SIZE * i; }
static uint32_t op_at(const ctx *c, uint32_t i) { return c->off[S_OPS] + OP_SIZE * i; }
static int32_t opio(const ctx *c, uint32_t k) { return rdi32(c->b + c->off[S_OPIO] + 4u * k); }
static int32_t grio(const ctx *c, uint32_t k) { return rdi32(c->b + c->off[S_GRIO] + 4u * k); }
static uint32_t op_code(const ctx *c, uint32_t i) { return rd16(op_rec(c, i)); }
static uint32_t op_n_in(const ctx *c, uint32_t i) { return rd16(op_rec(c, i) + 4); }
static int32_t op_input(const ctx *c, uint32_t i, uint32_t k) { return opio(c, rd32(op_rec(c, i) + 8) + k); }
static int32_t op_output(const ctx *c, uint32_t i) { return op_input(c, i, op_n_in(c, i)); }
static int32_t op_param(const ctx *c, uint32_t i, uint32_t k) { return rdi32(op_rec(c, i) + 16 + 4u * k); }
static uint32_t t_kind(const ctx *c, int32_t t) { return tensor_rec(c, (uint32_t)t)[2]; }
static uint32_t t_offset(const ctx *c, int32_t t) { return rd32(tensor_rec(c, (uint32_t)t) + 36); }
static uint32_t t_nbytes(const ctx *c, int32_t t) { return rd32(tensor_rec(c, (uint32_t)t) + 40); }

/* A validated tensor's shape. */
typedef struct {
    uint32_t dtype, rank, is_const, offset; /* offset: arena, or absolute in the file for constants */
    int32_t dims[PQ_MODEL_MAX_DIMS];       /* validated: in [1, 2^24] */
    uint32_t size;                          /* validated: < 2^31 */
} tinfo;

static void tensor_get(const ctx *c, int32_t t, tinfo *ti) {
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

/* ---- header and section table (read_model, _section_table) ---- */
static int check_header(ctx *c) {
    const uint8_t *b = c->b;
    uint32_t i;
    if (c->len < HEADER_SIZE) return fail(c, PQ_MODEL_E_FILE, NO_INDEX, 0, c->len);
    for (i = 0; i < 8; i++) {
        if (b[i] != MAGIC[i]) return fail(c, PQ_MODEL_E_HEADER_MAGIC, NO_INDEX, 0, to_i64(rd64(b)));
    }
    if (rd16(b + 8) != 1) return fail(c, PQ_MODEL_E_HEADER_VERSION_MAJOR, NO_INDEX, 8, rd16(b + 8));
    if (rd64(b + 16) != c->len) return fail(c, PQ_MODEL_E_HEADER_FILE_SIZE, NO_INDEX, 16, to_i64(rd64(b + 16)));
    if (rd32(b + 28) != 0) return fail(c, PQ_MODEL_E_HEADER_FLAGS, NO_INDEX, 28, rd32(b + 28));
    if (pq_model_crc32(0, b + 16, c->len - 16) != rd32(b + 12)) {
        return fail(c, PQ_MODEL_E_HEADER_CRC32, NO_INDEX, 12, rd32(b + 12));
    }
    return PQ_MODEL_OK;
}

static int check_sections(ctx *c) {
    const uint8_t *b = c->b;
    uint32_t n = rd32(b + 24), table_end, i, j, k, found = 0; /* bit k: TAGS[k] seen */
    if (n > MAX_SECTIONS || HEADER_SIZE + SECTION_SIZE * n > c->len) {
        return fail(c, PQ_MODEL_E_HEADER_SECTION_COUNT, NO_INDEX, 24, n);
    }
    table_end = HEADER_SIZE + SECTION_SIZE * n;
    for (i = 0; i < n; i++) {
        uint32_t at = HEADER_SIZE + SECTION_SIZE * i;
        uint32_t off = rd32(b + at + 4), size = rd32(b + at + 8), reserved = rd32(b + at + 12);
        if (reserved != 0) return fail(c, PQ_MODEL_E_SECTION_RESERVED, i, at + 12, reserved);
        for (j = 0; j < i; j++) {
            if (same4(b + HEADER_SIZE + SECTION_SIZE * j, b + at)) {
                return fail(c, PQ_MODEL_E_SECTION_TAG, i, at, rd32(b + at));
            }
        }
        if (off % ALIGN || off < table_end || off > c->len || size > c->len - off) {
            return fail(c, PQ_MODEL_E_SECTION_OFFSET, i, at + 4, off);
        }
        for (k = 0; k < N_REQUIRED; k++) {
            if (same4(b + at, TAGS[k])) {
                found |= 1u << k;
                c->off[k] = off;
                c->size[k] = size;
                c->at[k] = at;
            }
        }
        if (same4(b + at, TAG_SCRA)) { /* other unknown tags are ignored, as in Python */
            c->has_scra = 1;
            c->scra_off = off;
            c->scra_size = size;
            c->scra_at = at;
        }
    }
    /* Python sorts the spans by (offset, end, tag) and refuses when one starts
     * before the previous one ends: the same as any pair (a, b) with key(a) <
     * key(b) and start(b) < end(a). Tags are distinct by now, so keys are. */
    for (i = 0; i < n; i++) {
        const uint8_t *ea = b + HEADER_SIZE + SECTION_SIZE * i;
        uint32_t oa = rd32(ea + 4), enda = oa + rd32(ea + 8);
        for (j = 0; j < n; j++) {
            const uint8_t *eb = b + HEADER_SIZE + SECTION_SIZE * j;
            uint32_t ob = rd32(eb + 4), endb = ob + rd32(eb + 8);
            int a_first = 0;
            if (i == j) continue;
            if (oa != ob) {
                a_first = oa < ob;
            } else if (enda != endb) {
                a_first = enda < endb;
            } else {
                for (k = 0; k < 4 && ea[k] == eb[k]; k++) {
                }
                a_first = k < 4 && ea[k] < eb[k];
            }
            if (a_first && ob < enda) return fail(c, PQ_MODEL_E_SECTION_OVERLAP, j, NO_OFFSET, ob);
        }
    }
    for (k = 0; k < N_REQUIRED; k++) {
        if (!(found >> k & 1u)) return fail(c, PQ_MODEL_E_SECTION_MISSING, NO_INDEX, HEADER_SIZE, rd32(TAGS[k]));
    }
    return PQ_MODEL_OK;
}

/* _records: size a multiple of the record size, count within the cap, the
 * reserved bytes [res_at, res_at + res_len) of every record zero. */
static int check_records(ctx *c, int s, uint32_t itemsize, uint32_t cap, uint32_t res_at, uint32_t res_len,
                         int res_code, uint32_t *count) {
    uint32_t size = c->size[s], n, r, k, sec_index = (c->at[s] - HEADER_SIZE) / SECTION_SIZE;
    if (size % itemsize) return fail(c, PQ_MODEL_E_SECTION_SIZE, sec_index, c->at[s] + 8, size);
    n = size / itemsize;
    if (n > cap) return fail(c, PQ_MODEL_E_SECTION_SIZE, sec_index, c->at[s] + 8, size);
    for (r = 0; r < n; r++) {
        const uint8_t *rec = c->b + c->off[s] + itemsize * r;
        for (k = 0; k < res_len; k++) {
            if (rec[res_at + k] != 0) {
                return fail(c, res_code, r, c->off[s] + itemsize * r, rd32(rec + res_at + (k & ~3u)));
            }
        }
    }
    *count = n;
    return PQ_MODEL_OK;
}

/* _string: a name inside STRS, at most MAX_NAME_BYTES, valid UTF-8. */
static int check_string(const ctx *c, uint32_t off, uint32_t length, int code, uint32_t index, uint32_t at) {
    uint32_t s_size = c->size[S_STRS];
    if (length > MAX_NAME_BYTES) return fail(c, code, index, at, length);
    if (off > s_size || length > s_size - off) return fail(c, code, index, at, off);
    if (!utf8_ok(c->b + c->off[S_STRS] + off, length)) return fail(c, code, index, at, off);
    return PQ_MODEL_OK;
}

/* A float32 scale is finite, > 0 and normal: sign 0, exponent in [1, 254]. */
static int scale_ok(uint32_t bits) { return (bits >> 23) >= 1u && (bits >> 23) <= 254u; }

/* ---- tensor records (_read_tensor) ---- */
static int check_tensor(ctx *c, uint32_t i) {
    const uint8_t *r = tensor_rec(c, i);
    uint32_t at = c->off[S_TENS] + TENSOR_SIZE * i;
    uint32_t code = r[0], rank = r[1], kind = r[2], quant = r[3], itemsize, d, nbytes, off, limit;
    uint64_t count = 1;
    int32_t dims[PQ_MODEL_MAX_DIMS];
    TRY(check_string(c, rd32(r + 4), rd32(r + 8), PQ_MODEL_E_TENSOR_NAME, i, at + 4));
    if (code != DT_INT8 && code != DT_INT32) return fail(c, PQ_MODEL_E_TENSOR_DTYPE, i, at, code);
    itemsize = code == DT_INT8 ? 1u : 4u;
    if (rank > PQ_MODEL_MAX_DIMS) return fail(c, PQ_MODEL_E_TENSOR_RANK, i, at + 1, rank);
    for (d = 0; d < PQ_MODEL_MAX_DIMS; d++) {
        dims[d] = rdi32(r + 12 + 4 * d);
        if (d < rank ? (dims[d] < 1 || dims[d] > MAX_DIM) : dims[d] != 0) {
            return fail(c, PQ_MODEL_E_TENSOR_DIMS, i, at + 12, dims[d]);
        }
    }
    for (d = 0; d < rank; d++) { /* count <= 2^31 - 1 and dims <= 2^24 before each product: no overflow */
        count *= (uint64_t)dims[d];
        if (count > MAX_ELEMENTS) return fail(c, PQ_MODEL_E_TENSOR_DIMS, i, at + 12, to_i64(count));
    }
    nbytes = rd32(r + 40);
    if (count * itemsize != nbytes || nbytes > 0x7FFFFFFFu) {
        return fail(c, PQ_MODEL_E_TENSOR_DATA_SIZE, i, at + 40, nbytes);
    }
    off = rd32(r + 36);
    if (kind == KIND_ARENA || kind == KIND_CONST) {
        limit = kind == KIND_ARENA ? c->arena : c->size[S_DATA];
        if (off % ALIGN || off > limit || nbytes > limit - off) {
            return fail(c, PQ_MODEL_E_TENSOR_DATA_OFFSET, i, at + 36, off);
        }
    } else {
        return fail(c, PQ_MODEL_E_TENSOR_KIND, i, at + 2, kind);
    }
    if (quant == Q_PER_TENSOR) {
        int32_t zp = rdi32(r + 48);
        if (!scale_ok(rd32(r + 44))) return fail(c, PQ_MODEL_E_TENSOR_SCALE, i, at + 44, rd32(r + 44));
        if (code == DT_INT8 && (zp < -128 || zp > 127)) return fail(c, PQ_MODEL_E_TENSOR_ZERO_POINT, i, at + 48, zp);
    } else if (quant == Q_PER_CHANNEL) {
        int32_t axis = rdi32(r + 52);
        uint32_t qoff = rd32(r + 56), n, k, data_size = c->size[S_DATA];
        const uint8_t *q;
        if (axis < 0 || (uint32_t)axis >= rank) return fail(c, PQ_MODEL_E_TENSOR_QUANT_AXIS, i, at + 52, axis);
        n = (uint32_t)dims[axis];
        if (qoff % 4 || qoff > data_size || 8ull * n > data_size - qoff) {
            return fail(c, PQ_MODEL_E_TENSOR_QPARAMS_OFFSET, i, at + 56, qoff);
        }
        q = c->b + c->off[S_DATA] + qoff;
        for (k = 0; k < n; k++) {
            if (!scale_ok(rd32(q + 4 * k))) return fail(c, PQ_MODEL_E_TENSOR_SCALE, i, at + 44, rd32(q + 4 * k));
        }
        for (k = 0; code == DT_INT8 && k < n; k++) {
            int32_t zp = rdi32(q + 4 * n + 4 * k);
            if (zp < -128 || zp > 127) return fail(c, PQ_MODEL_E_TENSOR_ZERO_POINT, i, at + 48, zp);
        }
    } else if (quant != Q_NONE) {
        return fail(c, PQ_MODEL_E_TENSOR_QUANT, i, at + 3, quant);
    }
    return PQ_MODEL_OK;
}

/* ---- op records (_read_op) ---- */
static int check_op(ctx *c, uint32_t i) {
    const uint8_t *r = op_rec(c, i);
    uint32_t at = op_at(c, i), k, n_in, n_out, io;
    const op_spec *spec = op_spec_of(rd16(r));
    if (spec == NULL) return fail(c, PQ_MODEL_E_OP_OPCODE, i, at, rd16(r));
    if (rd16(r + 2) != 1) return fail(c, PQ_MODEL_E_OP_VERSION, i, at + 2, rd16(r + 2));
    for (k = spec->n_params; k < MAX_PARAMS; k++) {
        if (rd32(r + 16 + 4 * k) != 0) return fail(c, PQ_MODEL_E_OP_PARAMS, i, at + 16, rdi32(r + 16 + 4 * k));
    }
    n_in = rd16(r + 4);
    n_out = rd16(r + 6);
    if (n_in < spec->n_inputs || n_in > (spec->max_inputs ? spec->max_inputs : spec->n_inputs) || n_out != 1) {
        return fail(c, PQ_MODEL_E_OP_N_INPUTS_OUTPUTS, i, at + 4, n_in);
    }
    io = rd32(r + 8);
    if (io > c->n_opio || n_in + n_out > c->n_opio - io) return fail(c, PQ_MODEL_E_OP_IO_INDEX, i, at + 8, io);
    for (k = 0; k < n_in + n_out; k++) {
        int32_t v = opio(c, io + k);
        if (v == -1 && (int32_t)k == spec->optional_input) continue;
        if (v < 0 || (uint32_t)v >= c->n_tensors) return fail(c, PQ_MODEL_E_OP_TENSOR, i, at + 8, v);
    }
    return PQ_MODEL_OK;
}

/* ---- data flow (_validate_graph), by rescanning instead of sets ---- */
static int is_graph_input(const ctx *c, int32_t t) {
    uint32_t k;
    for (k = 0; k < c->n_in; k++) {
        if (grio(c, k) == t) return 1;
    }
    return 0;
}
static int is_graph_output(const ctx *c, int32_t t) {
    uint32_t k;
    for (k = 0; k < c->n_out; k++) {
        if (grio(c, c->n_in + k) == t) return 1;
    }
    return 0;
}
/* Is t in Python's `produced` set before op i runs: a graph input or an output of an earlier op. */
static int produced_before(const ctx *c, int32_t t, uint32_t i) {
    uint32_t j;
    if (is_graph_input(c, t)) return 1;
    for (j = 0; j < i; j++) {
        if (op_output(c, j) == t) return 1;
    }
    return 0;
}

/* Python's first[t] / last[t] for an arena tensor: 0 when t is not in `first`
 * (neither a graph input nor touched by an op). */
static int lifetime(const ctx *c, int32_t t, int64_t *first, int64_t *last) {
    int used = is_graph_input(c, t);
    uint32_t i, k;
    *first = -1;
    *last = -1;
    for (i = 0; i < c->n_ops; i++) {
        uint32_t n = op_n_in(c, i) + 1;
        for (k = 0; k < n; k++) {
            if (op_input(c, i, k) == t) {
                if (!used) *first = i;
                used = 1;
                *last = i;
                break;
            }
        }
    }
    if (used && is_graph_output(c, t)) *last = c->n_ops;
    return used;
}

/* The tensor whose arena bytes t shares: follow RESHAPE outputs that sit at
 * their input's offset back to the first such input (Python's alias map). The
 * data flow is valid by now, so each step goes to an earlier op. */
static int32_t alias_root(const ctx *c, int32_t t) {
    uint32_t steps, j;
    for (steps = 0; steps <= c->n_ops; steps++) {
        int32_t x;
        for (j = 0; j < c->n_ops && op_output(c, j) != t; j++) {
        }
        if (j == c->n_ops || op_code(c, j) != OP_RESHAPE) return t;
        x = op_input(c, j, 0);
        if (t_kind(c, x) != KIND_ARENA || t_offset(c, x) != t_offset(c, t)) return t;
        t = x;
    }
    return t;
}

/* _validate_arena_plan: Python merges each alias group into one span (their
 * common offset, the largest end, the hull of their lifetimes) and refuses two
 * spans that share bytes while both are live. Here, for each group root r (in
 * place of sorting), every tensor s of another group that starts inside r's
 * bytes and is live during r's span is a conflict: a group's lifetime is the
 * union of its members' (each RESHAPE output starts at an op where its input
 * is live), and all members share the start offset, so this finds exactly the
 * pairs Python's sorted sweep finds. */
/* The span of the alias group whose root is r: returns 0 when r is no group root (a
 * constant, never used, or aliasing another tensor); else its bytes [*o, *end) and
 * the hull [*fr, *lr] of its members' lifetimes. */
static int group_span(const ctx *c, int32_t r, uint32_t *o, int64_t *end, int64_t *fr, int64_t *lr) {
    int32_t t, n = (int32_t)c->n_tensors;
    int64_t f, l;
    if (t_kind(c, r) != KIND_ARENA || !lifetime(c, r, fr, lr) || alias_root(c, r) != r) return 0;
    *o = t_offset(c, r);
    *end = (int64_t)*o + t_nbytes(c, r);
    for (t = 0; t < n; t++) { /* the group: same offset, same root */
        if (t == r || t_kind(c, t) != KIND_ARENA || t_offset(c, t) != *o) continue;
        if (!lifetime(c, t, &f, &l) || alias_root(c, t) != r) continue;
        if (f < *fr) *fr = f;
        if (l > *lr) *lr = l;
        if ((int64_t)*o + t_nbytes(c, t) > *end) *end = (int64_t)*o + t_nbytes(c, t);
    }
    return 1;
}

static int check_arena_plan(const ctx *c) {
    int32_t r, t, n = (int32_t)c->n_tensors;
    for (r = 0; r < n; r++) {
        int64_t f, l, fr, lr, end;
        uint32_t o;
        if (!group_span(c, r, &o, &end, &fr, &lr)) continue;
        for (t = 0; t < n; t++) { /* other groups starting inside [o, end) and live in [fr, lr] */
            if (t_kind(c, t) != KIND_ARENA || t_offset(c, t) < o || (int64_t)t_offset(c, t) >= end) continue;
            if (!lifetime(c, t, &f, &l) || f > lr || fr > l) continue;
            if (alias_root(c, t) == r) continue;
            return fail(c, PQ_MODEL_E_TENSOR_ARENA_OVERLAP, (uint32_t)alias_root(c, t), NO_OFFSET, t_offset(c, t));
        }
    }
    return PQ_MODEL_OK;
}

/* _read_scratch: SCRA holds one record per op; size 0 has offset 0; each offset is
 * 64-aligned and the bytes lie inside the arena (compared without wraparound). */
static int check_scratch_records(const ctx *c) {
    uint32_t i;
    if (!c->has_scra) return PQ_MODEL_OK;
    if ((uint64_t)c->n_ops * SCRATCH_SIZE != c->scra_size) {
        return fail(c, PQ_MODEL_E_SECTION_SIZE, (c->scra_at - HEADER_SIZE) / SECTION_SIZE, c->scra_at + 8,
                    c->scra_size);
    }
    for (i = 0; i < c->n_ops; i++) {
        uint32_t at = c->scra_off + SCRATCH_SIZE * i, off = rd32(c->b + at), size = rd32(c->b + at + 4);
        if (size == 0 && off != 0) return fail(c, PQ_MODEL_E_SCRATCH_OFFSET, i, at, off);
        if (off % SCRATCH_ALIGN || off > c->arena || size > c->arena - off) {
            return fail(c, PQ_MODEL_E_SCRATCH_OFFSET, i, at, off);
        }
    }
    return PQ_MODEL_OK;
}

/* _validate_scratch_plan: op i's scratch shares no byte with a tensor group live during
 * op i (its lifetime hull contains i). Scratch of different ops may overlap. */
static int check_scratch_plan(const ctx *c) {
    int32_t r, n = (int32_t)c->n_tensors;
    uint32_t i;
    if (!c->has_scra) return PQ_MODEL_OK;
    for (r = 0; r < n; r++) {
        int64_t fr, lr, end;
        uint32_t o;
        if (!group_span(c, r, &o, &end, &fr, &lr)) continue;
        for (i = 0; i < c->n_ops; i++) {
            uint32_t at = c->scra_off + SCRATCH_SIZE * i, so = rd32(c->b + at), sn = rd32(c->b + at + 4);
            if (sn == 0 || (int64_t)i < fr || (int64_t)i > lr) continue;
            if ((int64_t)o < (int64_t)so + sn && (int64_t)so < end) {
                return fail(c, PQ_MODEL_E_SCRATCH_OVERLAP, i, at, so);
            }
        }
    }
    return PQ_MODEL_OK;
}

static int names_equal(const ctx *c, uint32_t a, uint32_t b) {
    const uint8_t *ra = tensor_rec(c, a), *rb = tensor_rec(c, b);
    uint32_t n = rd32(ra + 8), k;
    const uint8_t *sa = c->b + c->off[S_STRS] + rd32(ra + 4), *sb = c->b + c->off[S_STRS] + rd32(rb + 4);
    if (rd32(rb + 8) != n) return 0;
    for (k = 0; k < n && sa[k] == sb[k]; k++) {
    }
    return k == n;
}

static int check_graph(const ctx *c) {
    uint32_t i, k, j;
    for (k = 0; k < c->n_in; k++) {
        int32_t t = grio(c, k);
        if (t_kind(c, t) == KIND_CONST) return fail(c, PQ_MODEL_E_GRAPH_INPUT_CONST, k, NO_OFFSET, t);
    }
    for (i = 0; i < c->n_ops; i++) {
        uint32_t at = op_at(c, i), n_in = op_n_in(c, i);
        int32_t y = op_output(c, i);
        for (k = 0; k < n_in; k++) {
            int32_t t = op_input(c, i, k);
            if (t == -1) continue;
            if (t_kind(c, t) != KIND_CONST && !produced_before(c, t, i)) {
                return fail(c, PQ_MODEL_E_OP_READ_BEFORE_WRITE, i, at, t);
            }
        }
        if (t_kind(c, y) == KIND_CONST) return fail(c, PQ_MODEL_E_OP_WRITES_CONST, i, at, y);
        if (produced_before(c, y, i)) return fail(c, PQ_MODEL_E_OP_WRITES_TWICE, i, at, y);
        for (k = 0; k < n_in; k++) {
            if (op_input(c, i, k) == y) return fail(c, PQ_MODEL_E_OP_WRITES_INPUT, i, at, y);
        }
    }
    for (k = 0; k < c->n_out; k++) {
        int32_t t = grio(c, c->n_in + k);
        if (!produced_before(c, t, c->n_ops)) return fail(c, PQ_MODEL_E_GRAPH_OUTPUT_UNPRODUCED, k, NO_OFFSET, t);
    }
    for (k = 0; k < c->n_in; k++) {
        for (j = 0; j < k; j++) {
            if (grio(c, j) == grio(c, k)) return fail(c, PQ_MODEL_E_GRAPH_INPUT_DUPLICATE, k, NO_OFFSET, grio(c, k));
        }
    }
    for (k = 0; k < c->n_out; k++) {
        for (j = 0; j < k; j++) {
            if (grio(c, c->n_in + j) == grio(c, c->n_in + k)) {
                return fail(c, PQ_MODEL_E_GRAPH_OUTPUT_DUPLICATE, k, NO_OFFSET, grio(c, c->n_in + k));
            }
        }
    }
    for (k = 0; k < c->n_tensors; k++) {
        for (j = 0; j < k; j++) {
            if (names_equal(c, j, k)) return fail(c, PQ_MODEL_E_TENSOR_NAME_DUPLICATE, k, NO_OFFSET, rd32(tensor_rec(c, k) + 4));
        }
    }
    TRY(check_arena_plan(c));
    return check_scratch_plan(c);
}

/* ---- each op's contract (runtime/shapes.py) ---- */
typedef struct {
    const ctx *c;
    uint32_t i, at;
} opctx;

static int param_range(const opctx *o, uint32_t k, int code, int64_t lo, int64_t hi, int32_t *out) {
    int32_t v = op_param(o->c, o->i, k);
    if (v < lo || v > hi) return fail(o->c, code, o->i, o->at, v);
    if (out) *out = v;
    return PQ_MODEL_OK;
}
static int param_act(const opctx *o, uint32_t k_min) {
    int32_t lo, hi;
    TRY(param_range(o, k_min, PQ_MODEL_E_P_ACT_MIN, -128, 127, &lo));
    TRY(param_range(o, k_min + 1, PQ_MODEL_E_P_ACT_MAX, -128, 127, &hi));
    if (lo > hi) return fail(o->c, PQ_MODEL_E_P_ACT_MIN, o->i, o->at, lo);
    return PQ_MODEL_OK;
}
/* The range checks ops share are rules: (param index, error code, range),
 * applied in order. For op codes 8..17, offsets are zero points of int8
 * tensors (input offsets -zp in [-127, 128], output offsets zp in [-128, 127])
 * and every left shift is capped so the value it scales stays inside int32. */
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
    RG_Q31,        /* and 0 */
    RG_Q31_SIGNED, /* and 0, and [-2^31, -2^30] */
    N_RANGES
};
static const int32_t RANGES[N_RANGES][2] = {
    [RG_OFFSET] = {-255, 255},              /* offsets of op codes 1..7 */
    [RG_POSITIVE16] = {1, 1L << 16},        /* strides, dilations, windows */
    [RG_ADD_LSHIFT] = {0, 20},              /* ADD left_shift */
    [RG_RSHIFT] = {-31, 0},                 /* ADD input shifts: right shifts only */
    [RG_SOFTMAX_SHIFT] = {0, 31},           /* SOFTMAX input_left_shift */
    [RG_NONPOS] = {-0x7FFFFFFF - 1, 0},     /* SOFTMAX diff_min */
    [RG_IN_ZP] = {-127, 128},               /* -zero_point of an int8 tensor */
    [RG_INT8] = {-128, 127},                /* a zero point, a pad value, a clamp */
    [RG_SHIFT14] = {-31, 14},               /* MUL: |(a + o1) * (b + o2)| <= 2^16 */
    [RG_SHIFT22] = {-31, 22},               /* a shift of x + offset, |x + offset| <= 255 */
    [RG_SHIFT30] = {-31, 30},               /* Q31 shifts; MEAN's is capped further below */
    [RG_LSHIFT30] = {0, 30},                /* LOGISTIC / TANH input_left_shift */
    [RG_Q15] = {0, 32767},                  /* HARD_SWISH int16 multipliers */
    [RG_RELUISH_SHIFT] = {-15, 30},         /* HARD_SWISH reluish_shift */
    [RG_Q15_SHIFT] = {-15, 0},              /* HARD_SWISH output_shift */
    [RG_NONNEG] = {0, 0x7FFFFFFF},          /* MEAN multiplier: 1/count folded in */
    [RG_Q31] = {Q31_MIN, 0x7FFFFFFF},       /* QuantizeMultiplier's output, or 0 */
    [RG_Q31_SIGNED] = {Q31_MIN, 0x7FFFFFFF} /* LEAKY_RELU alpha: 0 or |m| in [2^30, 2^31] */
};
typedef struct {
    uint8_t k, code, range; /* value k of the array, the code it fails with, RG_* */
} rule;
typedef char rule_code_fits_u8[PQ_MODEL_N_CODES <= 256 ? 1 : -1];
#define N_RULES(r) (sizeof(r) / sizeof((r)[0]))

/* Each rule on vals[k] (int32 little-endian array: an op's params or a requant row). */
static int check_rules(const opctx *o, const uint8_t *vals, const rule *r, uint32_t n) {
    for (; n > 0; n--, r++) {
        int32_t v = rdi32(vals + 4u * r->k);
        int ok = v >= RANGES[r->range][0] && v <= RANGES[r->range][1];
        if (r->range >= RG_Q31) ok = ok || v == 0 || (r->range == RG_Q31_SIGNED && v <= -Q31_MIN);
        if (!ok) return fail(o->c, r->code, o->i, o->at, v);
    }
    return PQ_MODEL_OK;
}
#define PARAM_RULES(o, r) check_rules((o), op_rec((o)->c, (o)->i) + 16, (r), N_RULES(r))

/* _tensor: dtype, and rank when rank >= 0. `code_dtype + 1` is the matching .shape code. */
static int op_tensor(const opctx *o, int32_t t, int code_dtype, uint32_t dtype, int rank, tinfo *ti) {
    tensor_get(o->c, t, ti);
    if (ti->dtype != dtype) return fail(o->c, code_dtype, o->i, o->at, ti->dtype);
    if (rank >= 0 && ti->rank != (uint32_t)rank) return fail(o->c, code_dtype + 1, o->i, o->at, ti->rank);
    return PQ_MODEL_OK;
}

/* _same_shape: int8 input and output of equal shape, of rank >= min_rank. */
static int same_shape(const opctx *o, uint32_t min_rank) {
    const ctx *c = o->c;
    tinfo x, y;
    uint32_t d;
    TRY(op_tensor(o, op_input(c, o->i, 0), PQ_MODEL_E_OP_INPUT_DTYPE, DT_INT8, -1, &x));
    TRY(op_tensor(o, op_output(c, o->i), PQ_MODEL_E_OP_OUTPUT_DTYPE, DT_INT8, -1, &y));
    if (x.rank != y.rank) return fail(c, PQ_MODEL_E_OP_OUTPUT_SHAPE, o->i, o->at, y.rank);
    for (d = 0; d < x.rank; d++) {
        if (x.dims[d] != y.dims[d]) return fail(c, PQ_MODEL_E_OP_OUTPUT_SHAPE, o->i, o->at, y.dims[d]);
    }
    if (x.rank < min_rank) return fail(c, PQ_MODEL_E_OP_OUTPUT_SHAPE, o->i, o->at, y.rank);
    return PQ_MODEL_OK;
}

/* conv_out_size_ok: padding before < dilated kernel, >= 1 output, padding
 * after in (-stride, eff - 1]. Inputs are capped (dims 2^24, strides and
 * dilations 2^16, pad int32), so int64 cannot overflow. */
static int conv_out_size_ok(int64_t in, int64_t k, int64_t stride, int64_t dilation, int64_t pad, int64_t out) {
    int64_t eff = (k - 1) * dilation + 1, pad_after;
    if (!(pad >= 0 && pad < eff && out >= 1)) return 0;
    pad_after = (out - 1) * stride + eff - in - pad;
    return -stride < pad_after && pad_after <= eff - 1;
}

/* _quant_arrays: bias (optional) int32 of `channels` values; multipliers and
 * shifts constant int32[n_mult], multipliers 0 or in [2^30, 2^31), shifts in [-31, 30]. */
static int quant_arrays(const opctx *o, uint32_t channels, uint32_t n_mult) {
    const ctx *c = o->c;
    int32_t b = op_input(c, o->i, 2), m = op_input(c, o->i, 3), s = op_input(c, o->i, 4);
    tinfo bt, mt, st;
    uint32_t k;
    if (b != -1) {
        TRY(op_tensor(o, b, PQ_MODEL_E_OP_BIAS_DTYPE, DT_INT32, -1, &bt));
        if (bt.size != channels) return fail(c, PQ_MODEL_E_OP_BIAS_SHAPE, o->i, o->at, bt.size);
    }
    TRY(op_tensor(o, m, PQ_MODEL_E_OP_MULTIPLIERS_DTYPE, DT_INT32, 1, &mt));
    if (!mt.is_const || mt.size != n_mult) return fail(c, PQ_MODEL_E_OP_MULTIPLIERS, o->i, o->at, mt.size);
    TRY(op_tensor(o, s, PQ_MODEL_E_OP_SHIFTS_DTYPE, DT_INT32, 1, &st));
    if (!st.is_const || st.size != n_mult) return fail(c, PQ_MODEL_E_OP_SHIFTS, o->i, o->at, st.size);
    for (k = 0; k < n_mult; k++) {
        int32_t v = rdi32(c->b + mt.offset + 4 * k);
        if (v != 0 && v < Q31_MIN) return fail(c, PQ_MODEL_E_OP_MULTIPLIERS, o->i, o->at, v);
    }
    for (k = 0; k < n_mult; k++) {
        int32_t v = rdi32(c->b + st.offset + 4 * k);
        if (v < -31 || v > 30) return fail(c, PQ_MODEL_E_OP_SHIFTS, o->i, o->at, v);
    }
    return PQ_MODEL_OK;
}

static const rule CONV_RULES[] = {{6, PQ_MODEL_E_P_INPUT_OFFSET, RG_OFFSET},
                                  {7, PQ_MODEL_E_P_OUTPUT_OFFSET, RG_OFFSET}};

/* _check_conv. Params: stride_h, stride_w, dilation_h, dilation_w, pad_h,
 * pad_w, input_offset, output_offset, act_min, act_max[, depth_multiplier]. */
static int contract_conv(const opctx *o, int depthwise) {
    const ctx *c = o->c;
    tinfo x, w, y;
    int32_t n, ih, iw, ic, kh, kw;
    int64_t oc;
    int32_t p[4];
    uint32_t k;
    TRY(op_tensor(o, op_input(c, o->i, 0), PQ_MODEL_E_OP_INPUT_DTYPE, DT_INT8, 4, &x));
    TRY(op_tensor(o, op_input(c, o->i, 1), PQ_MODEL_E_OP_FILTER_DTYPE, DT_INT8, 4, &w));
    TRY(op_tensor(o, op_output(c, o->i), PQ_MODEL_E_OP_OUTPUT_DTYPE, DT_INT8, 4, &y));
    if (!w.is_const) return fail(c, PQ_MODEL_E_OP_FILTER, o->i, o->at, op_input(c, o->i, 1));
    for (k = 0; k < 4; k++) { /* stride_h, stride_w, dilation_h, dilation_w: consecutive codes */
        TRY(param_range(o, k, PQ_MODEL_E_P_STRIDE_H + (int)k, 1, 1L << 16, &p[k]));
    }
    TRY(PARAM_RULES(o, CONV_RULES));
    TRY(param_act(o, 8));
    n = x.dims[0];
    ih = x.dims[1];
    iw = x.dims[2];
    ic = x.dims[3];
    kh = w.dims[1];
    kw = w.dims[2];
    if (depthwise) {
        int32_t dm;
        TRY(param_range(o, 10, PQ_MODEL_E_P_DEPTH_MULTIPLIER, 1, 1L << 16, &dm));
        oc = w.dims[3];
        if (w.dims[0] != 1 || oc != (int64_t)ic * dm) return fail(c, PQ_MODEL_E_OP_FILTER_SHAPE, o->i, o->at, oc);
    } else {
        uint32_t fic = (uint32_t)w.dims[3], uic = (uint32_t)ic;
        oc = w.dims[0];
        if (uic % fic || (uint32_t)oc % (uic / fic)) return fail(c, PQ_MODEL_E_OP_FILTER_SHAPE, o->i, o->at, fic);
    }
    if (y.dims[0] != n || y.dims[3] != oc) return fail(c, PQ_MODEL_E_OP_OUTPUT_SHAPE, o->i, o->at, y.dims[3]);
    if (!conv_out_size_ok(ih, kh, p[0], p[2], op_param(c, o->i, 4), y.dims[1]) ||
        !conv_out_size_ok(iw, kw, p[1], p[3], op_param(c, o->i, 5), y.dims[2])) {
        return fail(c, PQ_MODEL_E_OP_OUTPUT_SHAPE, o->i, o->at, y.dims[1]);
    }
    return quant_arrays(o, (uint32_t)oc, (uint32_t)oc);
}

static const rule FC_RULES[] = {{0, PQ_MODEL_E_P_INPUT_OFFSET, RG_OFFSET},
                                {1, PQ_MODEL_E_P_FILTER_OFFSET, RG_OFFSET},
                                {2, PQ_MODEL_E_P_OUTPUT_OFFSET, RG_OFFSET}};

/* _check_fc. Params: input_offset, filter_offset, output_offset, act_min, act_max, per_channel. */
static int contract_fc(const opctx *o) {
    const ctx *c = o->c;
    tinfo x, w, y;
    uint32_t out_depth, accum, rows;
    int32_t per_channel;
    TRY(op_tensor(o, op_input(c, o->i, 0), PQ_MODEL_E_OP_INPUT_DTYPE, DT_INT8, -1, &x));
    TRY(op_tensor(o, op_input(c, o->i, 1), PQ_MODEL_E_OP_FILTER_DTYPE, DT_INT8, 2, &w));
    TRY(op_tensor(o, op_output(c, o->i), PQ_MODEL_E_OP_OUTPUT_DTYPE, DT_INT8, -1, &y));
    if (!w.is_const) return fail(c, PQ_MODEL_E_OP_FILTER, o->i, o->at, op_input(c, o->i, 1));
    out_depth = (uint32_t)w.dims[0];
    accum = (uint32_t)w.dims[1];
    if (x.size % accum) return fail(c, PQ_MODEL_E_OP_INPUT_SHAPE, o->i, o->at, x.size);
    rows = x.size / accum;
    /* (Python would raise IndexError on y.shape[-1] for a rank-0 output of the
     * right size; a rank-0 output is refused here.) */
    if (y.size != (uint64_t)rows * out_depth || y.rank == 0 || (uint32_t)y.dims[y.rank - 1] != out_depth) {
        return fail(c, PQ_MODEL_E_OP_OUTPUT_SHAPE, o->i, o->at, y.size);
    }
    TRY(PARAM_RULES(o, FC_RULES));
    TRY(param_act(o, 3));
    TRY(param_range(o, 5, PQ_MODEL_E_P_PER_CHANNEL, 0, 1, &per_channel));
    return quant_arrays(o, out_depth, per_channel ? out_depth : 1);
}

static const rule ADD_RULES[] = {
    {0, PQ_MODEL_E_P_INPUT1_OFFSET, RG_OFFSET},      {1, PQ_MODEL_E_P_INPUT2_OFFSET, RG_OFFSET},
    {2, PQ_MODEL_E_P_OUTPUT_OFFSET, RG_OFFSET},      {3, PQ_MODEL_E_P_LEFT_SHIFT, RG_ADD_LSHIFT},
    {4, PQ_MODEL_E_P_INPUT1_MULTIPLIER, RG_Q31},     {5, PQ_MODEL_E_P_INPUT1_SHIFT, RG_RSHIFT},
    {6, PQ_MODEL_E_P_INPUT2_MULTIPLIER, RG_Q31},     {7, PQ_MODEL_E_P_INPUT2_SHIFT, RG_RSHIFT},
    {8, PQ_MODEL_E_P_OUTPUT_MULTIPLIER, RG_Q31},     {9, PQ_MODEL_E_P_OUTPUT_SHIFT, RG_SHIFT30}};

/* _check_add. Params: input1_offset, input2_offset, output_offset, left_shift,
 * input1_multiplier, input1_shift, input2_multiplier, input2_shift,
 * output_multiplier, output_shift, act_min, act_max. */
static int contract_add(const opctx *o) {
    const ctx *c = o->c;
    tinfo a, b, y;
    const tinfo *in[2];
    uint32_t d, j, rank;
    TRY(op_tensor(o, op_input(c, o->i, 0), PQ_MODEL_E_OP_INPUT1_DTYPE, DT_INT8, -1, &a));
    TRY(op_tensor(o, op_input(c, o->i, 1), PQ_MODEL_E_OP_INPUT2_DTYPE, DT_INT8, -1, &b));
    TRY(op_tensor(o, op_output(c, o->i), PQ_MODEL_E_OP_OUTPUT_DTYPE, DT_INT8, -1, &y));
    rank = y.rank;
    if (a.rank > rank || b.rank > rank) return fail(c, PQ_MODEL_E_OP_OUTPUT_SHAPE, o->i, o->at, rank);
    in[0] = &a;
    in[1] = &b;
    for (j = 0; j < 2; j++) { /* each input, right-aligned and padded with 1s, broadcasts to y */
        const tinfo *t = in[j];
        for (d = rank - t->rank; d < rank; d++) {
            int32_t din = t->dims[d - (rank - t->rank)];
            if (din != 1 && din != y.dims[d]) {
                return fail(c, PQ_MODEL_E_OP_INPUT1_SHAPE + 2 * (int)j, o->i, o->at, din);
            }
        }
    }
    for (d = 0; d < rank; d++) { /* and y is exactly the broadcast of the two */
        int32_t pa = d >= rank - a.rank ? a.dims[d - (rank - a.rank)] : 1;
        int32_t pb = d >= rank - b.rank ? b.dims[d - (rank - b.rank)] : 1;
        if ((pa > pb ? pa : pb) != y.dims[d]) return fail(c, PQ_MODEL_E_OP_OUTPUT_SHAPE, o->i, o->at, y.dims[d]);
    }
    TRY(PARAM_RULES(o, ADD_RULES));
    return param_act(o, 10);
}

static const rule POOL_RULES[] = {{0, PQ_MODEL_E_P_STRIDE_H, RG_POSITIVE16},
                                  {1, PQ_MODEL_E_P_STRIDE_W, RG_POSITIVE16},
                                  {2, PQ_MODEL_E_P_FILTER_H, RG_POSITIVE16},
                                  {3, PQ_MODEL_E_P_FILTER_W, RG_POSITIVE16}};

/* _check_pool (AVERAGE_POOL_2D and MAX_POOL_2D). Params: stride_h, stride_w,
 * filter_h, filter_w, pad_h, pad_w, act_min, act_max. */
static int contract_pool(const opctx *o) {
    const ctx *c = o->c;
    tinfo x, y;
    TRY(op_tensor(o, op_input(c, o->i, 0), PQ_MODEL_E_OP_INPUT_DTYPE, DT_INT8, 4, &x));
    TRY(op_tensor(o, op_output(c, o->i), PQ_MODEL_E_OP_OUTPUT_DTYPE, DT_INT8, 4, &y));
    TRY(PARAM_RULES(o, POOL_RULES));
    TRY(param_act(o, 6));
    if (y.dims[0] != x.dims[0] || y.dims[3] != x.dims[3]) {
        return fail(c, PQ_MODEL_E_OP_OUTPUT_SHAPE, o->i, o->at, y.dims[3]);
    }
    /* (in, window, stride, dilation 1, pad, out); the rules bounded window and stride */
    if (!conv_out_size_ok(x.dims[1], op_param(c, o->i, 2), op_param(c, o->i, 0), 1, op_param(c, o->i, 4),
                          y.dims[1]) ||
        !conv_out_size_ok(x.dims[2], op_param(c, o->i, 3), op_param(c, o->i, 1), 1, op_param(c, o->i, 5),
                          y.dims[2])) {
        return fail(c, PQ_MODEL_E_OP_OUTPUT_SHAPE, o->i, o->at, y.dims[1]);
    }
    return PQ_MODEL_OK;
}

static const rule SOFTMAX_RULES[] = {{0, PQ_MODEL_E_P_INPUT_MULTIPLIER, RG_Q31},
                                     {1, PQ_MODEL_E_P_INPUT_LEFT_SHIFT, RG_SOFTMAX_SHIFT},
                                     {2, PQ_MODEL_E_P_DIFF_MIN, RG_NONPOS}};

/* _check_softmax: same shape, rank >= 1. Params: input_multiplier, input_left_shift, diff_min. */
static int contract_softmax(const opctx *o) {
    TRY(same_shape(o, 1));
    return PARAM_RULES(o, SOFTMAX_RULES);
}

/* _check_reshape: same element count (same bytes, new shape). */
static int contract_reshape(const opctx *o) {
    const ctx *c = o->c;
    tinfo x, y;
    TRY(op_tensor(o, op_input(c, o->i, 0), PQ_MODEL_E_OP_INPUT_DTYPE, DT_INT8, -1, &x));
    TRY(op_tensor(o, op_output(c, o->i), PQ_MODEL_E_OP_OUTPUT_DTYPE, DT_INT8, -1, &y));
    if (x.size != y.size) return fail(c, PQ_MODEL_E_OP_OUTPUT_SHAPE, o->i, o->at, y.size);
    return PQ_MODEL_OK;
}

/* ---- op codes 8..17 (shapes.py after _check_reshape) ---- */
static const rule MUL_RULES[] = {{0, PQ_MODEL_E_P_INPUT1_OFFSET, RG_IN_ZP},
                                 {1, PQ_MODEL_E_P_INPUT2_OFFSET, RG_IN_ZP},
                                 {2, PQ_MODEL_E_P_OUTPUT_OFFSET, RG_INT8},
                                 {3, PQ_MODEL_E_P_OUTPUT_MULTIPLIER, RG_Q31},
                                 {4, PQ_MODEL_E_P_OUTPUT_SHIFT, RG_SHIFT14}};
static const rule MEAN_RULES[] = {{2, PQ_MODEL_E_P_INPUT_OFFSET, RG_IN_ZP},
                                  {3, PQ_MODEL_E_P_OUTPUT_OFFSET, RG_INT8},
                                  {4, PQ_MODEL_E_P_MULTIPLIER, RG_NONNEG},
                                  {5, PQ_MODEL_E_P_SHIFT, RG_SHIFT30}};
static const rule CONCAT_RULES[] = {{1, PQ_MODEL_E_P_OUTPUT_OFFSET, RG_INT8}};
static const rule REQUANT_RULES[] = {{0, PQ_MODEL_E_OP_REQUANT_MULTIPLIER, RG_Q31},
                                     {1, PQ_MODEL_E_OP_REQUANT_SHIFT, RG_SHIFT22},
                                     {2, PQ_MODEL_E_OP_REQUANT_INPUT_OFFSET, RG_IN_ZP}};
static const rule PAD_RULES[] = {{0, PQ_MODEL_E_P_PAD_VALUE, RG_INT8}};
static const rule LOGISTIC_RULES[] = {{0, PQ_MODEL_E_P_INPUT_OFFSET, RG_IN_ZP},
                                      {2, PQ_MODEL_E_P_INPUT_MULTIPLIER, RG_Q31},
                                      {3, PQ_MODEL_E_P_INPUT_LEFT_SHIFT, RG_LSHIFT30}};
static const rule HARD_SWISH_RULES[] = {{0, PQ_MODEL_E_P_INPUT_OFFSET, RG_IN_ZP},
                                        {1, PQ_MODEL_E_P_OUTPUT_OFFSET, RG_INT8},
                                        {2, PQ_MODEL_E_P_RELUISH_MULTIPLIER, RG_Q15},
                                        {4, PQ_MODEL_E_P_OUTPUT_MULTIPLIER, RG_Q15},
                                        {3, PQ_MODEL_E_P_RELUISH_SHIFT, RG_RELUISH_SHIFT},
                                        {5, PQ_MODEL_E_P_OUTPUT_SHIFT, RG_Q15_SHIFT}};
static const rule LEAKY_RELU_RULES[] = {{0, PQ_MODEL_E_P_INPUT_OFFSET, RG_IN_ZP},
                                        {1, PQ_MODEL_E_P_OUTPUT_OFFSET, RG_INT8},
                                        {2, PQ_MODEL_E_P_IDENTITY_MULTIPLIER, RG_Q31},
                                        {4, PQ_MODEL_E_P_ALPHA_MULTIPLIER, RG_Q31_SIGNED},
                                        {3, PQ_MODEL_E_P_IDENTITY_SHIFT, RG_SHIFT22},
                                        {5, PQ_MODEL_E_P_ALPHA_SHIFT, RG_SHIFT22}};

/* An input's dim d once right-aligned to `rank` dims and padded with 1s. */
static int32_t broadcast_dim(const tinfo *t, uint32_t rank, uint32_t d) {
    return d >= rank - t->rank ? t->dims[d - (rank - t->rank)] : 1;
}

/* _check_mul. Params: input1_offset, input2_offset, output_offset,
 * output_multiplier, output_shift (<= 14), act_min, act_max. */
static int contract_mul(const opctx *o) {
    const ctx *c = o->c;
    tinfo a, b, y;
    uint32_t d;
    TRY(op_tensor(o, op_input(c, o->i, 0), PQ_MODEL_E_OP_INPUT1_DTYPE, DT_INT8, -1, &a));
    TRY(op_tensor(o, op_input(c, o->i, 1), PQ_MODEL_E_OP_INPUT2_DTYPE, DT_INT8, -1, &b));
    TRY(op_tensor(o, op_output(c, o->i), PQ_MODEL_E_OP_OUTPUT_DTYPE, DT_INT8, -1, &y));
    if (y.rank < 1 || a.rank > y.rank || b.rank > y.rank) {
        return fail(c, PQ_MODEL_E_OP_OUTPUT_SHAPE, o->i, o->at, y.rank);
    }
    for (d = 0; d < y.rank; d++) { /* y is exactly the broadcast of a and b */
        int32_t da = broadcast_dim(&a, y.rank, d), db = broadcast_dim(&b, y.rank, d), dy = y.dims[d];
        if ((da != 1 && da != dy) || (db != 1 && db != dy) || (da > db ? da : db) != dy) {
            return fail(c, PQ_MODEL_E_OP_OUTPUT_SHAPE, o->i, o->at, dy);
        }
    }
    TRY(PARAM_RULES(o, MUL_RULES));
    return param_act(o, 5);
}

/* _check_mean. Params: axis_mask, keep_dims, input_offset, output_offset, multiplier, shift. */
static int contract_mean(const opctx *o) {
    const ctx *c = o->c;
    tinfo x, y;
    int32_t mask, keep, shift;
    uint32_t d, n = 0;
    uint64_t count = 1;
    TRY(op_tensor(o, op_input(c, o->i, 0), PQ_MODEL_E_OP_INPUT_DTYPE, DT_INT8, -1, &x));
    TRY(op_tensor(o, op_output(c, o->i), PQ_MODEL_E_OP_OUTPUT_DTYPE, DT_INT8, -1, &y));
    if (x.rank < 1) return fail(c, PQ_MODEL_E_OP_INPUT_SHAPE, o->i, o->at, x.rank);
    TRY(param_range(o, 0, PQ_MODEL_E_P_AXIS_MASK, 0, (1L << x.rank) - 1, &mask));
    TRY(param_range(o, 1, PQ_MODEL_E_P_KEEP_DIMS, 0, 1, &keep));
    for (d = 0; d < x.rank; d++) { /* y: x with the reduced dims 1 (keep_dims) or left out */
        int32_t want = x.dims[d];
        if ((uint32_t)mask >> d & 1u) {
            count *= (uint32_t)x.dims[d]; /* <= x.size < 2^31 */
            if (!keep) continue;
            want = 1;
        }
        if (n >= y.rank || y.dims[n] != want) return fail(c, PQ_MODEL_E_OP_OUTPUT_SHAPE, o->i, o->at, y.rank);
        n++;
    }
    if (n != y.rank) return fail(c, PQ_MODEL_E_OP_OUTPUT_SHAPE, o->i, o->at, y.rank);
    TRY(PARAM_RULES(o, MEAN_RULES));
    /* |sum + count * input_offset| <= 256 * count, scaled by 2^shift before the multiply:
     * 256 * count < 2^31 first, so the shifted product (shift <= 30) fits 64 bits. */
    shift = op_param(c, o->i, 5);
    if (count >= (1u << 23) || ((256u * count) << (shift > 0 ? shift : 0)) >= (1ull << 31)) {
        return fail(c, PQ_MODEL_E_P_SHIFT, o->i, o->at, shift);
    }
    return PQ_MODEL_OK;
}

/* _check_concatenation. Inputs x_0 .. x_{k-1}, then a constant int32 [k, 3]
 * table of (multiplier, shift, input_offset). Params: axis, output_offset. A
 * failing x_k is reported as op.input.* (Python: op.input{k}.*). */
static int contract_concatenation(const opctx *o) {
    const ctx *c = o->c;
    tinfo x, y, t;
    uint32_t k, d, n_x = op_n_in(c, o->i) - 1;
    int32_t axis;
    uint64_t total = 0;
    TRY(op_tensor(o, op_output(c, o->i), PQ_MODEL_E_OP_OUTPUT_DTYPE, DT_INT8, -1, &y));
    if (y.rank < 1) return fail(c, PQ_MODEL_E_OP_OUTPUT_SHAPE, o->i, o->at, y.rank);
    TRY(param_range(o, 0, PQ_MODEL_E_P_AXIS, 0, (int64_t)y.rank - 1, &axis));
    for (k = 0; k < n_x; k++) {
        TRY(op_tensor(o, op_input(c, o->i, k), PQ_MODEL_E_OP_INPUT_DTYPE, DT_INT8, (int)y.rank, &x));
        for (d = 0; d < y.rank; d++) {
            if (d != (uint32_t)axis && x.dims[d] != y.dims[d]) {
                return fail(c, PQ_MODEL_E_OP_INPUT_SHAPE, o->i, o->at, x.dims[d]);
            }
        }
        total += (uint32_t)x.dims[axis];
    }
    if (total != (uint32_t)y.dims[axis]) return fail(c, PQ_MODEL_E_OP_OUTPUT_SHAPE, o->i, o->at, y.dims[axis]);
    TRY(op_tensor(o, op_input(c, o->i, n_x), PQ_MODEL_E_OP_REQUANT_DTYPE, DT_INT32, 2, &t));
    if (!t.is_const || (uint32_t)t.dims[0] != n_x || t.dims[1] != 3) {
        return fail(c, PQ_MODEL_E_OP_REQUANT, o->i, o->at, t.dims[0]);
    }
    for (k = 0; k < n_x; k++) TRY(check_rules(o, c->b + t.offset + 12u * k, REQUANT_RULES, N_RULES(REQUANT_RULES)));
    return PARAM_RULES(o, CONCAT_RULES);
}

/* _check_pad. Params: pad_value, then before_d, after_d for d = 0..5 (0 beyond the rank). */
static int contract_pad(const opctx *o) {
    const ctx *c = o->c;
    tinfo x, y;
    uint32_t d;
    int32_t before, after;
    TRY(op_tensor(o, op_input(c, o->i, 0), PQ_MODEL_E_OP_INPUT_DTYPE, DT_INT8, -1, &x));
    TRY(op_tensor(o, op_output(c, o->i), PQ_MODEL_E_OP_OUTPUT_DTYPE, DT_INT8, (int)x.rank, &y));
    if (x.rank < 1) return fail(c, PQ_MODEL_E_OP_INPUT_SHAPE, o->i, o->at, x.rank);
    TRY(PARAM_RULES(o, PAD_RULES));
    for (d = 0; d < x.rank; d++) {
        TRY(param_range(o, 1 + 2 * d, PQ_MODEL_E_P_BEFORE_0 + 2 * (int)d, 0, y.dims[d], &before));
        TRY(param_range(o, 2 + 2 * d, PQ_MODEL_E_P_AFTER_0 + 2 * (int)d, 0, y.dims[d], &after));
        if ((int64_t)before + x.dims[d] + after != y.dims[d]) {
            return fail(c, PQ_MODEL_E_OP_OUTPUT_SHAPE, o->i, o->at, y.dims[d]);
        }
    }
    for (d = 1 + 2 * x.rank; d < 1 + 2 * PQ_MODEL_MAX_DIMS; d++) { /* before_d, after_d beyond the rank */
        int32_t v = op_param(c, o->i, d);
        if (v != 0) return fail(c, PQ_MODEL_E_P_BEFORE_0 + (int)d - 1, o->i, o->at, v);
    }
    return PQ_MODEL_OK;
}

/* _check_logistic (LOGISTIC and TANH). Params: input_offset,
 * input_range_radius, input_multiplier, input_left_shift. */
static int contract_logistic(const opctx *o) {
    int32_t radius;
    TRY(same_shape(o, 0));
    TRY(PARAM_RULES(o, LOGISTIC_RULES));
    /* CalculateInputRadius(4, shift, 31): 15 * 2^27 fits int32; shift in [0, 30] by now */
    radius = (int32_t)((15L << 27) >> op_param(o->c, o->i, 3));
    if (op_param(o->c, o->i, 1) != radius) {
        return fail(o->c, PQ_MODEL_E_P_INPUT_RANGE_RADIUS, o->i, o->at, op_param(o->c, o->i, 1));
    }
    return PQ_MODEL_OK;
}

/* _check_transpose. Params: perm_0 .. perm_5 (0 beyond the rank). */
static int contract_transpose(const opctx *o) {
    const ctx *c = o->c;
    tinfo x, y;
    uint32_t d, seen = 0;
    int32_t perm[PQ_MODEL_MAX_DIMS];
    TRY(op_tensor(o, op_input(c, o->i, 0), PQ_MODEL_E_OP_INPUT_DTYPE, DT_INT8, -1, &x));
    TRY(op_tensor(o, op_output(c, o->i), PQ_MODEL_E_OP_OUTPUT_DTYPE, DT_INT8, (int)x.rank, &y));
    if (x.rank < 1) return fail(c, PQ_MODEL_E_OP_INPUT_SHAPE, o->i, o->at, x.rank);
    for (d = 0; d < x.rank; d++) {
        TRY(param_range(o, d, PQ_MODEL_E_P_PERM_0 + (int)d, 0, (int64_t)x.rank - 1, &perm[d]));
    }
    for (d = 0; d < x.rank; d++) {
        if (seen >> perm[d] & 1u) return fail(c, PQ_MODEL_E_P_PERM, o->i, o->at, perm[d]); /* repeated axis */
        seen |= 1u << perm[d];
    }
    for (d = 0; d < x.rank; d++) {
        if (y.dims[d] != x.dims[perm[d]]) return fail(c, PQ_MODEL_E_OP_OUTPUT_SHAPE, o->i, o->at, y.dims[d]);
    }
    for (d = x.rank; d < PQ_MODEL_MAX_DIMS; d++) {
        int32_t v = op_param(c, o->i, d);
        if (v != 0) return fail(c, PQ_MODEL_E_P_PERM_0 + (int)d, o->i, o->at, v);
    }
    return PQ_MODEL_OK;
}

static int check_contract(const ctx *c, uint32_t i) {
    opctx o;
    o.c = c;
    o.i = i;
    o.at = op_at(c, i);
    switch (op_code(c, i)) {
    case OP_CONV_2D: return contract_conv(&o, 0);
    case OP_DEPTHWISE_CONV_2D: return contract_conv(&o, 1);
    case OP_FULLY_CONNECTED: return contract_fc(&o);
    case OP_ADD: return contract_add(&o);
    case OP_AVERAGE_POOL_2D: return contract_pool(&o);
    case OP_SOFTMAX: return contract_softmax(&o);
    case OP_RESHAPE: return contract_reshape(&o);
    case OP_MAX_POOL_2D: return contract_pool(&o);
    case OP_MUL: return contract_mul(&o);
    case OP_MEAN: return contract_mean(&o);
    case OP_CONCATENATION: return contract_concatenation(&o);
    case OP_PAD: return contract_pad(&o);
    case OP_LOGISTIC: /* fall through */
    case OP_TANH: return contract_logistic(&o);
    case OP_HARD_SWISH: TRY(same_shape(&o, 0)); return PARAM_RULES(&o, HARD_SWISH_RULES);
    case OP_LEAKY_RELU: TRY(same_shape(&o, 0)); return PARAM_RULES(&o, LEAKY_RELU_RULES);
    case OP_TRANSPOSE: return contract_transpose(&o);
    default: return fail(c, PQ_MODEL_E_OP_OPCODE, i, o.at, op_code(c, i)); /* unreachable: check_op */
    }
}

/* ---- read_model ---- */
int pq_model_validate(const uint8_t *buf, uint32_t len, uint32_t max_arena, pq_model_error *err) {
    ctx c;
    const uint8_t *m;
    uint32_t i, n_modl, modl_off;
    uint64_t n_io;
    c.b = buf;
    c.len = len;
    c.max_arena = max_arena;
    c.err = err;
    c.has_scra = 0;
    c.scra_off = c.scra_size = c.scra_at = 0;
    if (err) {
        err->code = PQ_MODEL_OK;
        err->field = pq_model_field_name(PQ_MODEL_OK);
        err->index = -1;
        err->offset = -1;
        err->value = 0;
    }
    if (buf == NULL && len != 0) return fail(&c, PQ_MODEL_E_FILE, NO_INDEX, 0, 0);
    TRY(check_header(&c));
    TRY(check_sections(&c));

    TRY(check_records(&c, S_MODL, MODEL_SIZE, 1, 20, 12, PQ_MODEL_E_MODL_RESERVED, &n_modl));
    if (n_modl != 1) {
        return fail(&c, PQ_MODEL_E_SECTION_SIZE, (c.at[S_MODL] - HEADER_SIZE) / SECTION_SIZE, c.at[S_MODL] + 8, n_modl);
    }
    modl_off = c.off[S_MODL];
    m = buf + modl_off;
    TRY(check_string(&c, rd32(m + 12), rd32(m + 16), PQ_MODEL_E_MODEL_NAME, NO_INDEX, modl_off + 12));
    c.arena = rd32(m);
    if (c.arena % ALIGN || c.arena > max_arena) return fail(&c, PQ_MODEL_E_MODEL_ARENA_SIZE, NO_INDEX, modl_off, c.arena);
    c.n_in = rd32(m + 4);
    c.n_out = rd32(m + 8);
    n_io = ((uint64_t)c.n_in + c.n_out) * 4u;
    if (c.n_in < 1 || c.n_out < 1 || n_io != c.size[S_GRIO]) {
        return fail(&c, PQ_MODEL_E_MODEL_N_INPUTS_OUTPUTS, NO_INDEX, modl_off + 4, c.n_in);
    }

    TRY(check_records(&c, S_TENS, TENSOR_SIZE, MAX_TENSORS, 60, 4, PQ_MODEL_E_TENS_RESERVED, &c.n_tensors));
    for (i = 0; i < c.n_tensors; i++) TRY(check_tensor(&c, i));

    if (c.size[S_OPIO] % 4) {
        return fail(&c, PQ_MODEL_E_SECTION_SIZE, (c.at[S_OPIO] - HEADER_SIZE) / SECTION_SIZE, c.at[S_OPIO] + 8,
                    c.size[S_OPIO]);
    }
    c.n_opio = c.size[S_OPIO] / 4;
    TRY(check_records(&c, S_OPS, OP_SIZE, MAX_OPS, 12, 4, PQ_MODEL_E_OPS_RESERVED, &c.n_ops));
    for (i = 0; i < c.n_ops; i++) TRY(check_op(&c, i));
    TRY(check_scratch_records(&c));

    for (i = 0; i < c.n_in + c.n_out; i++) {
        int32_t v = grio(&c, i);
        if (v < 0 || (uint32_t)v >= c.n_tensors) {
            int out = i >= c.n_in;
            return fail(&c, out ? PQ_MODEL_E_GRAPH_OUTPUTS : PQ_MODEL_E_GRAPH_INPUTS, out ? i - c.n_in : i,
                        c.off[S_GRIO] + 4u * i, v);
        }
    }
    TRY(check_graph(&c));
    for (i = 0; i < c.n_ops; i++) TRY(check_contract(&c, i));
    return PQ_MODEL_OK;
}

/* ---- accessors for a validated buffer ---- */
static const uint8_t *section_tagged(const uint8_t *buf, const uint8_t *tag) {
    uint32_t n = rd32(buf + 24), i;
    for (i = 0; i < n; i++) {
        const uint8_t *e = buf + HEADER_SIZE + SECTION_SIZE * i;
        if (same4(e, tag)) return e;
    }
    return NULL;
}
static const uint8_t *section_of(const uint8_t *buf, int s) { return section_tagged(buf, TAGS[s]); }
static const uint8_t *section_data(const uint8_t *buf, int s) {
    const uint8_t *e = section_of(buf, s);
    return e ? buf + rd32(e + 4) : NULL;
}

uint32_t pq_model_arena_size(const uint8_t *buf) {
    const uint8_t *m = section_data(buf, S_MODL);
    return m ? rd32(m) : 0;
}
uint32_t pq_model_num_inputs(const uint8_t *buf) {
    const uint8_t *m = section_data(buf, S_MODL);
    return m ? rd32(m + 4) : 0;
}
uint32_t pq_model_num_outputs(const uint8_t *buf) {
    const uint8_t *m = section_data(buf, S_MODL);
    return m ? rd32(m + 8) : 0;
}
uint32_t pq_model_num_tensors(const uint8_t *buf) {
    const uint8_t *e = section_of(buf, S_TENS);
    return e ? rd32(e + 8) / TENSOR_SIZE : 0;
}
uint32_t pq_model_num_ops(const uint8_t *buf) {
    const uint8_t *e = section_of(buf, S_OPS);
    return e ? rd32(e + 8) / OP_SIZE : 0;
}
int32_t pq_model_input(const uint8_t *buf, uint32_t i) {
    const uint8_t *g = section_data(buf, S_GRIO);
    return (g && i < pq_model_num_inputs(buf)) ? rdi32(g + 4u * i) : -1;
}
int32_t pq_model_output(const uint8_t *buf, uint32_t i) {
    const uint8_t *g = section_data(buf, S_GRIO);
    return (g && i < pq_model_num_outputs(buf)) ? rdi32(g + 4u * (pq_model_num_inputs(buf) + i)) : -1;
}
int pq_model_tensor_info(const uint8_t *buf, uint32_t index, pq_model_tensor *out) {
    const uint8_t *t = section_data(buf, S_TENS), *r, *data = section_data(buf, S_DATA);
    const uint8_t *strs = section_data(buf, S_STRS);
    uint32_t d;
    if (t == NULL || data == NULL || strs == NULL || index >= pq_model_num_tensors(buf)) return -1;
    r = t + TENSOR_SIZE * index;
    out->dtype = r[0];
    out->rank = r[1];
    out->kind = r[2];
    out->quant = r[3];
    for (d = 0; d < PQ_MODEL_MAX_DIMS; d++) out->dims[d] = rdi32(r + 12 + 4 * d);
    out->offset = rd32(r + 36) + (r[2] == KIND_CONST ? (uint32_t)(data - buf) : 0u);
    out->nbytes = rd32(r + 40);
    out->scale_bits = rd32(r + 44);
    out->zero_point = rdi32(r + 48);
    out->name = strs + rd32(r + 4);
    out->name_len = rd32(r + 8);
    return 0;
}
int pq_model_scratch(const uint8_t *buf, uint32_t op, uint32_t *offset, uint32_t *size) {
    const uint8_t *e = section_tagged(buf, TAG_SCRA);
    if (op >= pq_model_num_ops(buf)) return -1;
    *offset = e ? rd32(buf + rd32(e + 4) + SCRATCH_SIZE * op) : 0u;
    *size = e ? rd32(buf + rd32(e + 4) + SCRATCH_SIZE * op + 4) : 0u;
    return 0;
}
