/*
 * pq_model_validate: THE .picoq validator. runtime/format.py's read_model calls it
 * (through the extension) before decoding a file, and firmware that receives a
 * model at run time (over the air, from an SD card) instead of compiling one in
 * with `picoq export-c` calls it directly. After a buffer passes, the kernels
 * (pq_kernels.h) can be called on it with the tensors' offsets and shapes as they
 * are: every offset, size, shape and kernel parameter has been bounds- and
 * range-checked (docs/FORMAT.md, "Validation", lists the rules).
 *
 * C99, <stdint.h> and <stddef.h> only: no malloc, no float, no recursion, no
 * libc. The buffer may sit at any address (every multi-byte field is
 * assembled byte by byte). It needs no scratch memory: the data-flow and
 * arena checks rescan the records instead, in time roughly quadratic (the
 * arena plan's, cubic) in the number of tensors and ops: 0.2 ms on x86 for
 * MLPerf KWS besides the CRC, but 1.4 s for an LSTM unrolled over 100 steps
 * (1,405 ops, 2,014 tensors). The buffer's length caps the record counts (64
 * bytes a tensor, 80 an op); a loader that wants a tighter time bound refuses
 * large files before calling, or lends a workspace:
 *
 * pq_model_validate_ws takes a caller's buffer of pq_model_validate_ws_bytes()
 * bytes (about 33 per tensor; the Python runtime always lends one) in which it
 * tabulates each tensor's producer, lifetime and alias group once, and sorts the
 * names (by hash) and the arena tensors (by offset, then first use): the checks
 * are then O(n log n) in the records, plus, for the arena plan, per alias group
 * a binary search for each distinct offset inside its bytes and a visit of the
 * tensors whose lives meet the group's, and for the scratch plan the ops of the
 * group's life: 0.6 ms for the LSTM above, 7.6 ms over 1,000 steps (14,019 ops),
 * CRC aside. Many large, short-lived tensors at staggered offsets could still
 * make the arena plan quadratic in their number. The verdict, every field of the
 * error included, is the one pq_model_validate gives.
 *
 * Format 1.1's optional SCRA section (each op's scratch in the arena) is
 * checked too: one record per op, 64-byte aligned, inside the arena, never
 * overlapping a tensor live during its op.
 *
 * Op codes: those of the registry (pq_ops.def), each with its contract (the
 * registry's `contract` column, src/core/pq_contracts_*.c); any other code is
 * refused as PQ_MODEL_E_OP_OPCODE. Arity, optional input and parameter count
 * come from pq_op_find(), so the validator links with src/core/pq_ops.c and the
 * reference kernels' _eval entries it points at (src/ref/).
 *
 * Sources: src/core/pq_model_validate.c (header, sections, records, entry),
 * pq_model_graph.c (data flow, arena and scratch plan), pq_model_access.c
 * (accessors), pq_contracts_*.c (the op contracts); include/pq_contract.h is
 * their private header.
 */
#ifndef PQ_MODEL_H
#define PQ_MODEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PQ_MODEL_MAX_DIMS 6
/* The arena cap runtime/format.py applies unless told otherwise (256 MiB). */
#define PQ_MODEL_DEFAULT_MAX_ARENA (256u << 20)

/*
 * Every way a file can be refused: X(code suffix, field name). The field name
 * is ModelFormatError.field (runtime/format.py) with record indices, op names
 * and section tags left out: pq_model_error's `index` carries the record index
 * ("tensor[3].dims" is tensor.dims, index 3), `sub` the second one (an op's
 * tensor slot "op[2] CONV_2D.tensor[4]", a CONCATENATION's data input
 * "op[8] CONCATENATION.input3.shape" or requant row "...requant[1].shift"), and
 * `param` the name of the parameter a PQ_MODEL_E_OP_PARAM refusal is about
 * ("op[2] CONV_2D.params.stride_h" is op.params, param "stride_h", sub 0): the
 * names come from the registry, so an op adds no code here.
 */
#define PQ_MODEL_FIELDS(X)                                          \
    X(FILE, "file")                                                 \
    X(HEADER_MAGIC, "header.magic")                                 \
    X(HEADER_VERSION_MAJOR, "header.version_major")                 \
    X(HEADER_FILE_SIZE, "header.file_size")                         \
    X(HEADER_FLAGS, "header.flags")                                 \
    X(HEADER_CRC32, "header.crc32")                                 \
    X(HEADER_SECTION_COUNT, "header.section_count")                 \
    X(SECTION_RESERVED, "section.reserved")                         \
    X(SECTION_TAG, "section.tag")                                   \
    X(SECTION_OFFSET, "section.offset")                             \
    X(SECTION_OVERLAP, "section.offset")                            \
    X(SECTION_MISSING, "section table")                             \
    X(SECTION_SIZE, "section.size")                                 \
    X(MODL_RESERVED, "MODL.reserved")                               \
    X(MODEL_NAME, "model.name")                                     \
    X(MODEL_ARENA_SIZE, "model.arena_size")                         \
    X(MODEL_N_INPUTS_OUTPUTS, "model.n_inputs/n_outputs")           \
    X(TENS_RESERVED, "TENS.reserved")                               \
    X(TENSOR_NAME, "tensor.name")                                   \
    X(TENSOR_DTYPE, "tensor.dtype")                                 \
    X(TENSOR_RANK, "tensor.rank")                                   \
    X(TENSOR_DIMS, "tensor.dims")                                   \
    X(TENSOR_DATA_SIZE, "tensor.data_size")                         \
    X(TENSOR_DATA_OFFSET, "tensor.data_offset")                     \
    X(TENSOR_KIND, "tensor.kind")                                   \
    X(TENSOR_QUANT_AXIS, "tensor.quant_axis")                       \
    X(TENSOR_QPARAMS_OFFSET, "tensor.qparams_offset")               \
    X(TENSOR_QUANT, "tensor.quant")                                 \
    X(TENSOR_SCALE, "tensor.scale")                                 \
    X(TENSOR_ZERO_POINT, "tensor.zero_point")                       \
    X(OPS_RESERVED, "OPS_.reserved")                                \
    X(OP_OPCODE, "op.opcode")                                       \
    X(OP_VERSION, "op.version")                                     \
    X(OP_PARAMS, "op.params")                                       \
    X(OP_N_INPUTS_OUTPUTS, "op.n_inputs/n_outputs")                 \
    X(OP_IO_INDEX, "op.io_index")                                   \
    X(OP_TENSOR, "op.tensor")                                       \
    X(GRAPH_INPUTS, "graph.inputs")                                 \
    X(GRAPH_OUTPUTS, "graph.outputs")                               \
    X(GRAPH_INPUT_CONST, "graph.inputs")                            \
    X(GRAPH_OUTPUT_UNPRODUCED, "graph.outputs")                     \
    X(GRAPH_INPUT_DUPLICATE, "graph.inputs")                        \
    X(GRAPH_OUTPUT_DUPLICATE, "graph.outputs")                      \
    X(OP_READ_BEFORE_WRITE, "op.inputs")                            \
    X(OP_WRITES_CONST, "op.outputs")                                \
    X(OP_WRITES_TWICE, "op.outputs")                                \
    X(OP_WRITES_INPUT, "op.outputs")                                \
    X(TENSOR_NAME_DUPLICATE, "tensor.name")                         \
    X(TENSOR_ARENA_OVERLAP, "tensor.data_offset")                   \
    X(OP_INPUT_DTYPE, "op.input.dtype")                             \
    X(OP_INPUT_SHAPE, "op.input.shape")                             \
    X(OP_INPUT1_DTYPE, "op.input1.dtype")                           \
    X(OP_INPUT1_SHAPE, "op.input1.shape")                           \
    X(OP_INPUT2_DTYPE, "op.input2.dtype")                           \
    X(OP_INPUT2_SHAPE, "op.input2.shape")                           \
    X(OP_FILTER, "op.filter")                                       \
    X(OP_FILTER_DTYPE, "op.filter.dtype")                           \
    X(OP_FILTER_SHAPE, "op.filter.shape")                           \
    X(OP_BIAS_DTYPE, "op.bias.dtype")                               \
    X(OP_BIAS_SHAPE, "op.bias.shape")                               \
    X(OP_MULTIPLIERS, "op.multipliers")                             \
    X(OP_MULTIPLIERS_DTYPE, "op.multipliers.dtype")                 \
    X(OP_MULTIPLIERS_SHAPE, "op.multipliers.shape")                 \
    X(OP_SHIFTS, "op.shifts")                                       \
    X(OP_SHIFTS_DTYPE, "op.shifts.dtype")                           \
    X(OP_SHIFTS_SHAPE, "op.shifts.shape")                           \
    X(OP_OUTPUT_DTYPE, "op.output.dtype")                           \
    X(OP_OUTPUT_SHAPE, "op.output.shape")                           \
    X(SCRATCH_OFFSET, "scratch.offset")                             \
    X(SCRATCH_OVERLAP, "scratch.offset")                            \
    X(OP_REQUANT, "op.requant")                                     \
    X(OP_REQUANT_DTYPE, "op.requant.dtype")                         \
    X(OP_REQUANT_SHAPE, "op.requant.shape")                         \
    X(OP_REQUANT_MULTIPLIER, "op.requant.multiplier")               \
    X(OP_REQUANT_SHIFT, "op.requant.shift")                         \
    X(OP_REQUANT_INPUT_OFFSET, "op.requant.input_offset")           \
    X(OP_PARAM, "op.params")                                        \
    X(OP_PARAMS_PERM, "op.params.perm")                             \
    X(OP_DTYPES, "op.dtypes")

/* PQ_MODEL_E_FILE = 1, ...: the codes are stable within a format version. */
#define PQ_MODEL_ENUM_(code, name) PQ_MODEL_E_##code,
typedef enum {
    PQ_MODEL_OK = 0,
    PQ_MODEL_FIELDS(PQ_MODEL_ENUM_)
    PQ_MODEL_N_CODES
} pq_model_code;
#undef PQ_MODEL_ENUM_

/* Why a file was refused (all fields set on failure; code 0 on success). */
typedef struct {
    int code;           /* a pq_model_code; PQ_MODEL_OK when the file is valid */
    const char *field;  /* static string naming the field, e.g. "tensor.data_offset" */
    const char *why;    /* static human-readable reason, e.g. "checksum mismatch"; "" on success */
    const char *param;  /* PQ_MODEL_E_OP_PARAM: the parameter's name ("stride_h"); else NULL */
    int32_t index;      /* record index: tensor, op, section entry or GRIO slot; -1 if none */
    int32_t sub;        /* second index: op tensor slot, parameter, CONCATENATION input or
                           requant row; -1 if none */
    int64_t offset;     /* byte offset of the field in the file; -1 if it has none */
    int64_t value;      /* the offending value (the first one when several are involved;
                           u64 and tags as their little-endian bits) */
} pq_model_error;

/*
 * Validate a .picoq buffer of `len` bytes, refusing one whose arena is larger
 * than `max_arena` bytes (the memory the caller is ready to provide). Returns
 * PQ_MODEL_OK (0) when the buffer is valid, else the pq_model_code also stored
 * in err->code. `err` may be NULL. Never reads outside [buf, buf + len).
 */
int pq_model_validate(const uint8_t *buf, uint32_t len, uint32_t max_arena, pq_model_error *err);

/* pq_model_validate with options: PQ_MODEL_SKIP_CRC leaves the header's checksum
 * unchecked (the caller verified it, e.g. with a faster CRC, or chose not to). */
#define PQ_MODEL_SKIP_CRC 1u
int pq_model_validate_flags(const uint8_t *buf, uint32_t len, uint32_t max_arena, uint32_t flags,
                            pq_model_error *err);

/* pq_model_validate_flags with a workspace: `ws` (any alignment) of `ws_bytes` bytes, which the
 * validator overwrites with per-tensor tables, so that the graph checks need no rescanning
 * (see the top of this file). The result and every field of *err are what
 * pq_model_validate_flags gives. With ws NULL, or ws_bytes below what the file's tensor count
 * needs, it rescans as pq_model_validate_flags does. */
int pq_model_validate_ws(const uint8_t *buf, uint32_t len, uint32_t max_arena, uint32_t flags, void *ws,
                         size_t ws_bytes, pq_model_error *err);
/* The workspace pq_model_validate_ws needs for this buffer: 33 bytes a tensor (as many as the
 * TENS section table entry says, else len / 64; at most 65,536), plus 7. Reads only the header
 * and section table, with bounds checks (the buffer need not be valid). */
size_t pq_model_validate_ws_bytes(const uint8_t *buf, uint32_t len);

/* The static field name of a code ("?" for an unknown one). */
const char *pq_model_field_name(int code);

/* zlib-compatible CRC-32, chainable: crc = pq_model_crc32(0, p, n), then
 * pq_model_crc32(crc, more, m). The header's checksum covers bytes [16, len). */
uint32_t pq_model_crc32(uint32_t crc, const uint8_t *p, uint32_t n);

/*
 * Accessors for a buffer that pq_model_validate accepted: they trust it (no
 * length argument), so never call them on one it has not.
 */
typedef struct {
    uint8_t dtype;      /* 1 = int8, 2 = int32 */
    uint8_t rank;
    uint8_t kind;       /* 0 = activation in the arena, 1 = constant in the file */
    uint8_t quant;      /* 0 none, 1 per-tensor, 2 per-channel */
    int32_t dims[PQ_MODEL_MAX_DIMS]; /* `rank` entries, the rest 0 */
    uint32_t offset;    /* kind 0: offset in the arena; kind 1: offset from the start of the file */
    uint32_t nbytes;
    uint32_t scale_bits; /* per-tensor scale as IEEE-754 binary32 bits (quant 1) */
    int32_t zero_point;  /* per-tensor zero point (quant 1) */
    const uint8_t *name; /* UTF-8, not NUL-terminated, name_len bytes, inside the buffer */
    uint32_t name_len;
} pq_model_tensor;

uint32_t pq_model_arena_size(const uint8_t *buf);
uint32_t pq_model_num_inputs(const uint8_t *buf);
uint32_t pq_model_num_outputs(const uint8_t *buf);
uint32_t pq_model_num_tensors(const uint8_t *buf);
uint32_t pq_model_num_ops(const uint8_t *buf);
/* Tensor index of graph input / output i, or -1 when i is out of range. */
int32_t pq_model_input(const uint8_t *buf, uint32_t i);
int32_t pq_model_output(const uint8_t *buf, uint32_t i);
/* Fill *out with tensor `index`; returns 0, or -1 when index is out of range. */
int pq_model_tensor_info(const uint8_t *buf, uint32_t index, pq_model_tensor *out);
/* Op `op`'s scratch in the arena (SCRA, format 1.1): sets *offset and *size, both 0
 * when the op needs none or the file has no SCRA section (1.0); returns 0, or -1 when
 * op is out of range. Only the fast kernels use scratch; the reference ones need none. */
int pq_model_scratch(const uint8_t *buf, uint32_t op, uint32_t *offset, uint32_t *size);
/* The first byte of the section tagged `tag` (4 ASCII bytes, e.g. "OPIO"), or NULL when the
 * file has none (every required section is present in a validated file). */
const uint8_t *pq_model_section(const uint8_t *buf, const char *tag);

#ifdef __cplusplus
}
#endif

#endif /* PQ_MODEL_H */
