/*
 * pq_model_validate: the header, the section table, the records (MODL, TENS,
 * OPS_, GRIO) and the entry point; the data flow and the arena plan are in
 * pq_model_graph.c, the op contracts in pq_contracts_*.c (see pq_model.h and
 * docs/FORMAT.md).
 *
 * Integer-only: a scale is judged on its IEEE-754 bits. Every offset is
 * compared as `off > size || len > size - off` (no wraparound) and every
 * product of untrusted values is formed in 64 bits after its factors were
 * capped. No scratch memory: sets (tensors produced so far, alias groups of
 * the arena plan) are recomputed by rescanning the records, unless the caller
 * lends a workspace (pq_model_validate_ws: pq_model_index.c's tables).
 */
#include "pq_contract.h"

#define MAX_SECTIONS 64u
#define MODEL_SIZE 32u
#define MAX_TENSORS 65536u
#define MAX_OPS 65536u
#define MAX_NAME_BYTES 1024u
#define MAX_DIM (1L << 24)
#define MAX_ELEMENTS 0x7FFFFFFFu
#define HEADER_SIZE PQV_HEADER_SIZE
#define SECTION_SIZE PQV_SECTION_SIZE
#define ALIGN PQV_ALIGN
#define TENSOR_SIZE PQV_TENSOR_SIZE
#define OP_SIZE PQV_OP_SIZE

const uint8_t pqv_tags[N_REQUIRED][4] = {{'M', 'O', 'D', 'L'}, {'T', 'E', 'N', 'S'}, {'O', 'P', 'S', '_'},
                                         {'O', 'P', 'I', 'O'}, {'G', 'R', 'I', 'O'}, {'S', 'T', 'R', 'S'},
                                         {'D', 'A', 'T', 'A'}};
const uint8_t pqv_tag_scra[4] = {'S', 'C', 'R', 'A'}; /* optional (format 1.1) */
static const uint8_t MAGIC[8] = {0x89, 'P', 'I', 'C', 'O', 'Q', '\r', '\n'};

enum { Q_NONE = 0, Q_PER_TENSOR = 1, Q_PER_CHANNEL = 2 };

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

int pqv_fail_at(const pqv_ctx *c, int code, uint32_t index, int32_t sub, uint32_t offset, int64_t value,
                const char *why) {
    if (c->err) {
        c->err->code = code;
        c->err->field = pq_model_field_name(code);
#ifdef PQ_MODEL_NO_FIELD_NAMES
        (void)why;
        c->err->why = "";
#else
        c->err->why = why;
#endif
        c->err->param = NULL;
        c->err->index = index == NO_INDEX ? -1 : (int32_t)index;
        c->err->sub = sub;
        c->err->offset = offset == NO_OFFSET ? -1 : (int64_t)offset;
        c->err->value = value;
    }
    return code;
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

/* ---- header and section table (read_model, _section_table) ---- */
static int check_header(pqv_ctx *c, uint32_t flags) {
    const uint8_t *b = c->b;
    uint32_t i;
    if (c->len < HEADER_SIZE) {
        return pqv_fail(c, PQ_MODEL_E_FILE, NO_INDEX, 0, c->len, "too short for the 32-byte header");
    }
    for (i = 0; i < 8; i++) {
        if (b[i] != MAGIC[i]) {
            return pqv_fail(c, PQ_MODEL_E_HEADER_MAGIC, NO_INDEX, 0, to_i64(rd64(b)), "not a .picoq file");
        }
    }
    if (rd16(b + 8) != 1) return pqv_fail(c, PQ_MODEL_E_HEADER_VERSION_MAJOR, NO_INDEX, 8, rd16(b + 8),
                        rd16(b + 8) == 0x100 ? "this picoq reads version 1 (byte-swapped: a big-endian writer?)"
                                             : "this picoq reads version 1");
    if (rd64(b + 16) != c->len) {
        return pqv_fail(c, PQ_MODEL_E_HEADER_FILE_SIZE, NO_INDEX, 16, to_i64(rd64(b + 16)),
                        "not the buffer's length (truncated?)");
    }
    if (rd32(b + 28) != 0) {
        return pqv_fail(c, PQ_MODEL_E_HEADER_FLAGS, NO_INDEX, 28, rd32(b + 28), "reserved, must be 0");
    }
    if (!(flags & PQ_MODEL_SKIP_CRC) && pq_model_crc32(0, b + 16, c->len - 16) != rd32(b + 12)) {
        return pqv_fail(c, PQ_MODEL_E_HEADER_CRC32, NO_INDEX, 12, rd32(b + 12), "checksum mismatch");
    }
    return PQ_MODEL_OK;
}

static int check_sections(pqv_ctx *c) {
    const uint8_t *b = c->b;
    uint32_t n = rd32(b + 24), table_end, i, j, k, found = 0; /* bit k: pqv_tags[k] seen */
    if (n > MAX_SECTIONS || HEADER_SIZE + SECTION_SIZE * n > c->len) {
        return pqv_fail(c, PQ_MODEL_E_HEADER_SECTION_COUNT, NO_INDEX, 24, n, "section table does not fit the file");
    }
    table_end = HEADER_SIZE + SECTION_SIZE * n;
    for (i = 0; i < n; i++) {
        uint32_t at = HEADER_SIZE + SECTION_SIZE * i;
        uint32_t off = rd32(b + at + 4), size = rd32(b + at + 8), reserved = rd32(b + at + 12);
        if (reserved != 0) return pqv_fail(c, PQ_MODEL_E_SECTION_RESERVED, i, at + 12, reserved, "reserved, must be 0");
        for (j = 0; j < i; j++) {
            if (same4(b + HEADER_SIZE + SECTION_SIZE * j, b + at)) {
                return pqv_fail(c, PQ_MODEL_E_SECTION_TAG, i, at, rd32(b + at), "duplicate section");
            }
        }
        if (off % ALIGN || off < table_end || off > c->len || size > c->len - off) {
            return pqv_fail(c, PQ_MODEL_E_SECTION_OFFSET, i, at + 4, off, "must be 16-aligned and inside the file");
        }
        for (k = 0; k < N_REQUIRED; k++) {
            if (same4(b + at, pqv_tags[k])) {
                found |= 1u << k;
                c->off[k] = off;
                c->size[k] = size;
                c->at[k] = at;
            }
        }
        if (same4(b + at, pqv_tag_scra)) { /* other unknown tags are ignored */
            c->has_scra = 1;
            c->scra_off = off;
            c->scra_size = size;
            c->scra_at = at;
        }
    }
    /* Sorted by (offset, end, tag), a span must not start
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
            if (a_first && ob < enda) {
                return pqv_fail(c, PQ_MODEL_E_SECTION_OVERLAP, j, NO_OFFSET, ob, "overlaps another section");
            }
        }
    }
    for (k = 0; k < N_REQUIRED; k++) {
        if (!(found >> k & 1u)) {
            return pqv_fail(c, PQ_MODEL_E_SECTION_MISSING, NO_INDEX, HEADER_SIZE, rd32(pqv_tags[k]),
                            "required section missing");
        }
    }
    return PQ_MODEL_OK;
}

/* A record section: size a multiple of the record size, count within the cap, the
 * reserved bytes [res_at, res_at + res_len) of every record zero. */
static int check_records(pqv_ctx *c, int s, uint32_t itemsize, uint32_t cap, uint32_t res_at, uint32_t res_len,
                         int res_code, uint32_t *count) {
    uint32_t size = c->size[s], n, r, k, sec_index = (c->at[s] - HEADER_SIZE) / SECTION_SIZE;
    if (size % itemsize) {
        return pqv_fail(c, PQ_MODEL_E_SECTION_SIZE, sec_index, c->at[s] + 8, size, "not a multiple of the record size");
    }
    n = size / itemsize;
    if (n > cap) {
        return pqv_fail(c, PQ_MODEL_E_SECTION_SIZE, sec_index, c->at[s] + 8, size, "more records than the cap");
    }
    for (r = 0; r < n; r++) {
        const uint8_t *rec = c->b + c->off[s] + itemsize * r;
        for (k = 0; k < res_len; k++) {
            if (rec[res_at + k] != 0) {
                return pqv_fail(c, res_code, r, c->off[s] + itemsize * r, rd32(rec + res_at + (k & ~3u)),
                                "reserved, must be 0");
            }
        }
    }
    *count = n;
    return PQ_MODEL_OK;
}

/* A name inside STRS, at most MAX_NAME_BYTES, valid UTF-8. */
static int check_string(const pqv_ctx *c, uint32_t off, uint32_t length, int code, uint32_t index, uint32_t at) {
    uint32_t s_size = c->size[S_STRS];
    if (length > MAX_NAME_BYTES) return pqv_fail(c, code, index, at, length, "name longer than 1024 bytes");
    if (off > s_size || length > s_size - off) {
        return pqv_fail(c, code, index, at, off, "string runs past the STRS section");
    }
    if (!utf8_ok(c->b + c->off[S_STRS] + off, length)) return pqv_fail(c, code, index, at, off, "not UTF-8");
    return PQ_MODEL_OK;
}

/* A float32 scale is finite, > 0 and normal: sign 0, exponent in [1, 254]. */
static int scale_ok(uint32_t bits) { return (bits >> 23) >= 1u && (bits >> 23) <= 254u; }

/* A zero point the tensor's dtype can hold (int32 and int64 tensors' are not checked: no
 * kernel reads them). */
static int zero_point_ok(const pqv_ctx *c, uint32_t code, int32_t zp, uint32_t i, uint32_t at) {
    if (code == DT_INT8 && (zp < -128 || zp > 127)) {
        return pqv_fail(c, PQ_MODEL_E_TENSOR_ZERO_POINT, i, at, zp, "int8 zero point outside [-128, 127]");
    }
    if (code == DT_INT16 && (zp < -32768 || zp > 32767)) {
        return pqv_fail(c, PQ_MODEL_E_TENSOR_ZERO_POINT, i, at, zp, "int16 zero point outside [-32768, 32767]");
    }
    if (code == DT_INT4 && (zp < -8 || zp > 7)) {
        return pqv_fail(c, PQ_MODEL_E_TENSOR_ZERO_POINT, i, at, zp, "int4 zero point outside [-8, 7]");
    }
    return PQ_MODEL_OK;
}

/* ---- tensor records ---- */
static int check_tensor(pqv_ctx *c, uint32_t i) {
    const uint8_t *r = tensor_rec(c, i);
    uint32_t at = c->off[S_TENS] + TENSOR_SIZE * i;
    uint32_t code = r[0], rank = r[1], kind = r[2], quant = r[3], itemsize, d, nbytes, off, limit;
    uint64_t count = 1;
    int32_t dims[PQ_MODEL_MAX_DIMS];
    TRY(check_string(c, rd32(r + 4), rd32(r + 8), PQ_MODEL_E_TENSOR_NAME, i, at + 4));
    if (code < DT_INT8 || code > DT_INT4) {
        return pqv_fail(c, PQ_MODEL_E_TENSOR_DTYPE, i, at, code,
                        "unknown dtype (known: 1 int8, 2 int32, 3 int16, 4 int64, 5 int4)");
    }
    /* bytes per element; int4 packs two per byte (the byte count rounds up, below) */
    itemsize = code == DT_INT8 || code == DT_INT4 ? 1u : code == DT_INT16 ? 2u : code == DT_INT32 ? 4u : 8u;
    if (rank > PQ_MODEL_MAX_DIMS) return pqv_fail(c, PQ_MODEL_E_TENSOR_RANK, i, at + 1, rank, "more than 6 dimensions");
    for (d = 0; d < PQ_MODEL_MAX_DIMS; d++) {
        dims[d] = rdi32(r + 12 + 4 * d);
        if (d < rank ? (dims[d] < 1 || dims[d] > MAX_DIM) : dims[d] != 0) {
            return pqv_fail(c, PQ_MODEL_E_TENSOR_DIMS, i, at + 12, dims[d],
                            "dimensions must be in [1, 2^24], unused ones 0");
        }
    }
    for (d = 0; d < rank; d++) { /* count <= 2^31 - 1 and dims <= 2^24 before each product: no overflow */
        count *= (uint64_t)dims[d];
        if (count > MAX_ELEMENTS) {
            return pqv_fail(c, PQ_MODEL_E_TENSOR_DIMS, i, at + 12, to_i64(count), "more than 2^31 - 1 elements");
        }
    }
    nbytes = rd32(r + 40);
    if ((code == DT_INT4 ? (count + 1) / 2 : count * itemsize) != nbytes || nbytes > 0x7FFFFFFFu) {
        return pqv_fail(c, PQ_MODEL_E_TENSOR_DATA_SIZE, i, at + 40, nbytes, "not the byte size of the shape and dtype");
    }
    off = rd32(r + 36);
    if (kind == KIND_ARENA || kind == KIND_CONST) {
        limit = kind == KIND_ARENA ? c->arena : c->size[S_DATA];
        if (off % ALIGN || off > limit || nbytes > limit - off) {
            return pqv_fail(c, PQ_MODEL_E_TENSOR_DATA_OFFSET, i, at + 36, off,
                            kind == KIND_ARENA ? "not 16-aligned or past the arena"
                                               : "not 16-aligned or past the DATA section");
        }
    } else {
        return pqv_fail(c, PQ_MODEL_E_TENSOR_KIND, i, at + 2, kind, "must be 0 (arena) or 1 (constant)");
    }
    if (quant == Q_PER_TENSOR) {
        int32_t zp = rdi32(r + 48);
        if (!scale_ok(rd32(r + 44))) {
            return pqv_fail(c, PQ_MODEL_E_TENSOR_SCALE, i, at + 44, rd32(r + 44),
                            "scales must be finite, > 0 and not subnormal");
        }
        TRY(zero_point_ok(c, code, zp, i, at + 48));
    } else if (quant == Q_PER_CHANNEL) {
        int32_t axis = rdi32(r + 52);
        uint32_t qoff = rd32(r + 56), n, k, data_size = c->size[S_DATA];
        const uint8_t *q;
        if (axis < 0 || (uint32_t)axis >= rank) {
            return pqv_fail(c, PQ_MODEL_E_TENSOR_QUANT_AXIS, i, at + 52, axis, "not an axis of the tensor");
        }
        n = (uint32_t)dims[axis];
        if (qoff % 4 || qoff > data_size || 8ull * n > data_size - qoff) {
            return pqv_fail(c, PQ_MODEL_E_TENSOR_QPARAMS_OFFSET, i, at + 56, qoff,
                            "per-channel parameters outside DATA");
        }
        q = c->b + c->off[S_DATA] + qoff;
        for (k = 0; k < n; k++) {
            if (!scale_ok(rd32(q + 4 * k))) {
                return pqv_fail(c, PQ_MODEL_E_TENSOR_SCALE, i, at + 44, rd32(q + 4 * k),
                                "scales must be finite, > 0 and not subnormal");
            }
        }
        for (k = 0; k < n; k++) TRY(zero_point_ok(c, code, rdi32(q + 4 * n + 4 * k), i, at + 48));
    } else if (quant != Q_NONE) {
        return pqv_fail(c, PQ_MODEL_E_TENSOR_QUANT, i, at + 3, quant, "must be 0, 1 or 2");
    }
    return PQ_MODEL_OK;
}

/* ---- op records: arity, optional input and param count from the registry ---- */
static int check_op(pqv_ctx *c, uint32_t i) {
    const uint8_t *r = op_rec(c, i);
    uint32_t at = op_at(c, i), k, n_in, n_out, io;
    const pq_op_info *spec = pq_op_find(rd16(r));
    if (spec == NULL) return pqv_fail(c, PQ_MODEL_E_OP_OPCODE, i, at, rd16(r), "unknown op code");
    if (rd16(r + 2) != 1) {
        return pqv_fail(c, PQ_MODEL_E_OP_VERSION, i, at + 2, rd16(r + 2), "this picoq runs version 1");
    }
    for (k = spec->n_params; k < PQ_MAX_PARAMS; k++) {
        if (rd32(r + 16 + 4 * k) != 0) {
            return pqv_fail(c, PQ_MODEL_E_OP_PARAMS, i, at + 16, rdi32(r + 16 + 4 * k), "unused params must be 0");
        }
    }
    n_in = rd16(r + 4);
    n_out = rd16(r + 6);
    if (n_in < spec->n_inputs || n_in > (spec->max_inputs ? spec->max_inputs : spec->n_inputs) || n_out != 1) {
        return pqv_fail(c, PQ_MODEL_E_OP_N_INPUTS_OUTPUTS, i, at + 4, n_in,
                        "wrong number of inputs or outputs for the op");
    }
    io = rd32(r + 8);
    if (io > c->n_opio || n_in + n_out > c->n_opio - io) {
        return pqv_fail(c, PQ_MODEL_E_OP_IO_INDEX, i, at + 8, io, "tensor list runs past the OPIO section");
    }
    for (k = 0; k < n_in + n_out; k++) {
        int32_t v = opio(c, io + k);
        if (v == -1 && (int32_t)k == spec->optional_input) continue;
        if (v < 0 || (uint32_t)v >= c->n_tensors) {
            return pqv_fail_at(c, PQ_MODEL_E_OP_TENSOR, i, (int32_t)k, at + 8, v, "tensor index out of range");
        }
    }
    return PQ_MODEL_OK;
}

/* ---- the entry points ---- */
int pq_model_validate(const uint8_t *buf, uint32_t len, uint32_t max_arena, pq_model_error *err) {
    return pq_model_validate_flags(buf, len, max_arena, 0u, err);
}

int pq_model_validate_flags(const uint8_t *buf, uint32_t len, uint32_t max_arena, uint32_t flags,
                            pq_model_error *err) {
    return pq_model_validate_ws(buf, len, max_arena, flags, NULL, 0, err);
}

/* The tensor count the TENS section table entry declares (capped), else the most the
 * buffer's length allows: read with bounds checks only, the buffer is not validated yet. */
size_t pq_model_validate_ws_bytes(const uint8_t *buf, uint32_t len) {
    uint32_t n = len / TENSOR_SIZE, k, n_sec;
    if (buf != NULL && len >= HEADER_SIZE) {
        n_sec = rd32(buf + 24);
        for (k = 0; k < n_sec && k < MAX_SECTIONS && HEADER_SIZE + SECTION_SIZE * (k + 1) <= len; k++) {
            const uint8_t *e = buf + HEADER_SIZE + SECTION_SIZE * k;
            if (same4(e, pqv_tags[S_TENS]) && rd32(e + 8) / TENSOR_SIZE < n) {
                n = rd32(e + 8) / TENSOR_SIZE;
                break;
            }
        }
    }
    return pqv_index_bytes(n < MAX_TENSORS ? n : MAX_TENSORS);
}

int pq_model_validate_ws(const uint8_t *buf, uint32_t len, uint32_t max_arena, uint32_t flags, void *ws,
                         size_t ws_bytes, pq_model_error *err) {
    pqv_ctx c;
    pqv_index ix;
    const uint8_t *m;
    uint32_t i, n_modl, modl_off;
    uint64_t n_io;
    c.b = buf;
    c.len = len;
    c.max_arena = max_arena;
    c.err = err;
    c.has_scra = 0;
    c.scra_off = c.scra_size = c.scra_at = 0;
    c.ix = NULL;
    if (err) {
        err->code = PQ_MODEL_OK;
        err->field = pq_model_field_name(PQ_MODEL_OK);
        err->why = "";
        err->param = NULL;
        err->index = -1;
        err->sub = -1;
        err->offset = -1;
        err->value = 0;
    }
    if (buf == NULL && len != 0) return pqv_fail(&c, PQ_MODEL_E_FILE, NO_INDEX, 0, 0, "no buffer");
    TRY(check_header(&c, flags));
    TRY(check_sections(&c));

    TRY(check_records(&c, S_MODL, MODEL_SIZE, 1, 20, 12, PQ_MODEL_E_MODL_RESERVED, &n_modl));
    if (n_modl != 1) {
        return pqv_fail(&c, PQ_MODEL_E_SECTION_SIZE, (c.at[S_MODL] - HEADER_SIZE) / SECTION_SIZE,
                        c.at[S_MODL] + 8, n_modl, "needs exactly 1 record");
    }
    modl_off = c.off[S_MODL];
    m = buf + modl_off;
    TRY(check_string(&c, rd32(m + 12), rd32(m + 16), PQ_MODEL_E_MODEL_NAME, NO_INDEX, modl_off + 12));
    c.arena = rd32(m);
    if (c.arena % ALIGN || c.arena > max_arena) {
        return pqv_fail(&c, PQ_MODEL_E_MODEL_ARENA_SIZE, NO_INDEX, modl_off, c.arena,
                        "not 16-aligned or above the arena cap");
    }
    c.n_in = rd32(m + 4);
    c.n_out = rd32(m + 8);
    n_io = ((uint64_t)c.n_in + c.n_out) * 4u;
    if (c.n_in < 1 || c.n_out < 1 || n_io != c.size[S_GRIO]) {
        return pqv_fail(&c, PQ_MODEL_E_MODEL_N_INPUTS_OUTPUTS, NO_INDEX, modl_off + 4, c.n_in,
                        "does not match GRIO size");
    }

    TRY(check_records(&c, S_TENS, TENSOR_SIZE, MAX_TENSORS, 60, 4, PQ_MODEL_E_TENS_RESERVED, &c.n_tensors));
    for (i = 0; i < c.n_tensors; i++) TRY(check_tensor(&c, i));
#ifndef PQ_MODEL_NO_WORKSPACE
    if (ws != NULL && ws_bytes >= pqv_index_bytes(c.n_tensors)) { /* else rescan, the same verdict */
        pqv_index_carve(&ix, ws, c.n_tensors);
        c.ix = &ix;
    }
#else
    (void)ws;
    (void)ws_bytes;
    (void)ix;
#endif

    if (c.size[S_OPIO] % 4) {
        return pqv_fail(&c, PQ_MODEL_E_SECTION_SIZE, (c.at[S_OPIO] - HEADER_SIZE) / SECTION_SIZE, c.at[S_OPIO] + 8,
                    c.size[S_OPIO], "not a multiple of 4");
    }
    c.n_opio = c.size[S_OPIO] / 4;
    TRY(check_records(&c, S_OPS, OP_SIZE, MAX_OPS, 12, 4, PQ_MODEL_E_OPS_RESERVED, &c.n_ops));
    for (i = 0; i < c.n_ops; i++) TRY(check_op(&c, i));
    TRY(pqv_check_scratch_records(&c));

    for (i = 0; i < c.n_in + c.n_out; i++) {
        int32_t v = grio(&c, i);
        if (v < 0 || (uint32_t)v >= c.n_tensors) {
            int out = i >= c.n_in;
            return pqv_fail(&c, out ? PQ_MODEL_E_GRAPH_OUTPUTS : PQ_MODEL_E_GRAPH_INPUTS, out ? i - c.n_in : i,
                        c.off[S_GRIO] + 4u * i, v, "tensor index out of range");
        }
    }
    TRY(pqv_check_graph(&c));
    for (i = 0; i < c.n_ops; i++) TRY(pqv_check_contract(&c, i));
    return PQ_MODEL_OK;
}

