"""The .picoq file format, version 1: constants, reader and validator (one place).

docs/FORMAT.md describes every byte; this module is its executable form. The
converter's writer imports the record layouts from here, so reader and writer
cannot drift apart. Everything is little-endian. The reader never trusts a
count, offset or shape: each is checked before anything indexes with it, so a
hostile file raises ModelFormatError instead of making a kernel read or write
out of bounds.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

MAGIC = b"\x89PICOQ\r\n"
VERSION_MAJOR = 1
VERSION_MINOR = 1  # 1.1 added the optional SCRA section (scratch in the arena plan)
ALIGN = 16
SCRATCH_ALIGN = 64  # scratch offsets, and the arena's base address: SIMD loads of whole cache lines
MAX_DIMS = 6
MAX_PARAMS = 16
MAX_CONCAT_INPUTS = 64  # data inputs of one CONCATENATION
# Caps a valid model stays far below; a file beyond them is hostile or corrupt.
MAX_SECTIONS = 64
MAX_TENSORS = 1 << 16
MAX_OPS = 1 << 16
MAX_NAME_BYTES = 1024
MAX_DIM = 1 << 24
MAX_ELEMENTS = (1 << 31) - 1  # int32 indexing in the kernels (and on the MCU)
DEFAULT_MAX_ARENA = 256 << 20  # the arena a reader agrees to allocate unless told otherwise
MIN_NORMAL_F32 = float(np.finfo(np.float32).tiny)

# Header: magic, version major/minor, crc32 of bytes [16, file_size), file size,
# section count, flags (reserved, 0).
HEADER = struct.Struct("<8sHHIQII")
HEADER_CRC_START = 16
SECTION = struct.Struct("<4sIII")  # tag, offset, size, reserved

MODEL_DTYPE = np.dtype(
    [
        ("arena_size", "<u4"),
        ("n_inputs", "<u4"),
        ("n_outputs", "<u4"),
        ("name_off", "<u4"),
        ("name_len", "<u4"),
        ("reserved", "<u4", (3,)),
    ]
)
TENSOR_DTYPE = np.dtype(
    [
        ("dtype", "u1"),
        ("rank", "u1"),
        ("kind", "u1"),
        ("quant", "u1"),
        ("name_off", "<u4"),
        ("name_len", "<u4"),
        ("dims", "<i4", (MAX_DIMS,)),
        ("data_offset", "<u4"),
        ("data_size", "<u4"),
        ("scale", "<f4"),
        ("zero_point", "<i4"),
        ("quant_axis", "<i4"),
        ("qparams_offset", "<u4"),
        ("reserved", "<u4"),
    ]
)
OP_DTYPE = np.dtype(
    [
        ("opcode", "<u2"),
        ("version", "<u2"),
        ("n_inputs", "<u2"),
        ("n_outputs", "<u2"),
        ("io_index", "<u4"),
        ("reserved", "<u4"),
        ("params", "<i4", (MAX_PARAMS,)),
    ]
)
# SCRA (version 1.1, optional): one record per op, in OPS_ order. The op's working memory in
# the arena, live only while the op runs; size 0 (and offset 0) when it needs none.
SCRATCH_DTYPE = np.dtype([("offset", "<u4"), ("size", "<u4")])
assert MODEL_DTYPE.itemsize == 32 and TENSOR_DTYPE.itemsize == 64 and OP_DTYPE.itemsize == 80
assert SCRATCH_DTYPE.itemsize == 8

SECTION_TAGS = (b"MODL", b"TENS", b"OPS_", b"OPIO", b"GRIO", b"STRS", b"DATA")  # required
SCRATCH_TAG = b"SCRA"  # optional; other unknown tags are ignored

# Tensor dtypes: code -> (name, itemsize).
DTYPE_INT8, DTYPE_INT32 = 1, 2
DTYPES = {DTYPE_INT8: ("int8", 1), DTYPE_INT32: ("int32", 4)}
KIND_ARENA, KIND_CONST = 0, 1
QUANT_NONE, QUANT_PER_TENSOR, QUANT_PER_CHANNEL = 0, 1, 2


@dataclass(frozen=True)
class OpSpec:
    """What an op code means: name, arity, how many params, which inputs may be absent (-1).

    `max_inputs` > 0 makes the op variadic: it takes n_inputs to max_inputs inputs.
    """

    code: int
    name: str
    n_inputs: int
    n_params: int
    optional_inputs: tuple[int, ...] = ()
    param_names: tuple[str, ...] = field(default=())
    max_inputs: int = 0


CONV_PARAMS = (
    "stride_h",
    "stride_w",
    "dilation_h",
    "dilation_w",
    "pad_h",
    "pad_w",
    "input_offset",
    "output_offset",
    "act_min",
    "act_max",
)
OPS = {
    spec.code: spec
    for spec in (
        # inputs: x, filter, bias (optional), multipliers, shifts
        OpSpec(1, "CONV_2D", 5, 10, (2,), CONV_PARAMS),
        OpSpec(2, "DEPTHWISE_CONV_2D", 5, 11, (2,), (*CONV_PARAMS, "depth_multiplier")),
        OpSpec(
            3,
            "FULLY_CONNECTED",
            5,
            6,
            (2,),
            ("input_offset", "filter_offset", "output_offset", "act_min", "act_max", "per_channel"),
        ),
        OpSpec(
            4,
            "ADD",
            2,
            12,
            (),
            (
                "input1_offset",
                "input2_offset",
                "output_offset",
                "left_shift",
                "input1_multiplier",
                "input1_shift",
                "input2_multiplier",
                "input2_shift",
                "output_multiplier",
                "output_shift",
                "act_min",
                "act_max",
            ),
        ),
        OpSpec(
            5,
            "AVERAGE_POOL_2D",
            1,
            8,
            (),
            ("stride_h", "stride_w", "filter_h", "filter_w", "pad_h", "pad_w", "act_min", "act_max"),
        ),
        OpSpec(6, "SOFTMAX", 1, 3, (), ("input_multiplier", "input_left_shift", "diff_min")),
        OpSpec(7, "RESHAPE", 1, 0, ()),
        OpSpec(
            8,
            "MAX_POOL_2D",
            1,
            8,
            (),
            ("stride_h", "stride_w", "filter_h", "filter_w", "pad_h", "pad_w", "act_min", "act_max"),
        ),
        OpSpec(
            9,
            "MUL",
            2,
            7,
            (),
            (
                "input1_offset",
                "input2_offset",
                "output_offset",
                "output_multiplier",
                "output_shift",
                "act_min",
                "act_max",
            ),
        ),
        OpSpec(
            10,
            "MEAN",
            1,
            6,
            (),
            ("axis_mask", "keep_dims", "input_offset", "output_offset", "multiplier", "shift"),
        ),
        # inputs: x_0 .. x_{k-1}, then a constant int32 [k, 3] table of (multiplier, shift,
        # input_offset) rows, one per input
        OpSpec(11, "CONCATENATION", 2, 2, (), ("axis", "output_offset"), max_inputs=MAX_CONCAT_INPUTS + 1),
        OpSpec(
            12,
            "PAD",
            1,
            1 + 2 * MAX_DIMS,
            (),
            ("pad_value", *(f"{w}_{d}" for d in range(MAX_DIMS) for w in ("before", "after"))),
        ),
        OpSpec(
            13,
            "LOGISTIC",
            1,
            4,
            (),
            ("input_offset", "input_range_radius", "input_multiplier", "input_left_shift"),
        ),
        OpSpec(
            14,
            "TANH",
            1,
            4,
            (),
            ("input_offset", "input_range_radius", "input_multiplier", "input_left_shift"),
        ),
        OpSpec(
            15,
            "HARD_SWISH",
            1,
            6,
            (),
            (
                "input_offset",
                "output_offset",
                "reluish_multiplier",
                "reluish_shift",
                "output_multiplier",
                "output_shift",
            ),
        ),
        OpSpec(
            16,
            "LEAKY_RELU",
            1,
            6,
            (),
            (
                "input_offset",
                "output_offset",
                "identity_multiplier",
                "identity_shift",
                "alpha_multiplier",
                "alpha_shift",
            ),
        ),
        OpSpec(17, "TRANSPOSE", 1, MAX_DIMS, (), tuple(f"perm_{d}" for d in range(MAX_DIMS))),
    )
}
OPCODE_BY_NAME = {spec.name: code for code, spec in OPS.items()}


class ModelFormatError(ValueError):
    """A .picoq file is malformed: names the field, the byte offset and the value."""

    def __init__(self, field: str, offset: int | None, value: object, why: str):
        self.field, self.offset, self.value = field, offset, value
        where = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"bad .picoq file: {field}{where} = {value!r}: {why}")


def align_up(n: int, a: int = ALIGN) -> int:
    return (n + a - 1) // a * a


def crc32(buf, start: int, end: int) -> int:
    return zlib.crc32(memoryview(buf)[start:end]) & 0xFFFFFFFF


@dataclass
class TensorInfo:
    """A decoded tensor record (shapes as tuples; quantization as numpy arrays)."""

    index: int
    name: str
    dtype: str
    shape: tuple[int, ...]
    kind: int
    offset: int  # arena offset, or absolute file offset for constants
    nbytes: int
    scales: np.ndarray  # float32, 1 value per tensor or per channel; empty if not quantized
    zero_points: np.ndarray  # int32, same length as scales
    quant_axis: int

    @property
    def is_const(self) -> bool:
        return self.kind == KIND_CONST

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


@dataclass
class OpInfo:
    index: int
    opcode: int
    name: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    params: dict[str, int]


@dataclass
class ModelFile:
    """A validated .picoq model. Constant data stays in `buf` (bytes or mmap): nothing is copied."""

    buf: object
    name: str
    arena_size: int
    tensors: list[TensorInfo]
    ops: list[OpInfo]
    inputs: list[int]
    outputs: list[int]
    file_size: int
    # Per op (offset, size) of its scratch in the arena, from SCRA; None when the file has no
    # SCRA section (version 1.0): the runtime then allocates the fast kernels' scratch itself.
    scratch: list[tuple[int, int]] | None = None
    version_minor: int = 0

    def const_array(self, t: TensorInfo) -> np.ndarray:
        """A zero-copy, read-only numpy view of a constant tensor's data."""
        arr = np.frombuffer(self.buf, dtype=t.dtype, count=t.size, offset=t.offset)
        return arr.reshape(t.shape)

    @property
    def const_bytes(self) -> int:
        return sum(t.nbytes for t in self.tensors if t.is_const)

    @property
    def activation_bytes(self) -> int:
        """Arena bytes the tensors span (16-aligned): all the reference kernels need. The rest of
        arena_size, if any, is scratch the fast kernels use (SCRA) that did not fit in gaps."""
        return align_up(max((t.offset + t.nbytes for t in self.tensors if not t.is_const), default=0))

    @property
    def scratch_bytes(self) -> int:
        """The largest scratch any one op has in the arena (0 without SCRA)."""
        return max((size for _, size in self.scratch or ()), default=0)


def _section_table(buf, file_size: int, n_sections: int) -> dict[bytes, tuple[int, int, int]]:
    table_end = HEADER.size + n_sections * SECTION.size
    if n_sections > MAX_SECTIONS or table_end > file_size:
        raise ModelFormatError("header.section_count", 24, n_sections, "section table does not fit the file")
    sections: dict[bytes, tuple[int, int, int]] = {}
    spans = []
    for i in range(n_sections):
        at = HEADER.size + i * SECTION.size
        tag, off, size, reserved = SECTION.unpack_from(buf, at)
        if reserved:
            raise ModelFormatError(f"section[{i}].reserved", at + 12, reserved, "reserved, must be 0")
        if tag in sections:
            raise ModelFormatError(f"section[{i}].tag", at, tag, "duplicate section")
        # off > size - ... form: no wraparound whatever the values (checklist: offsets past EOF).
        if off % ALIGN or off < table_end or off > file_size or size > file_size - off:
            raise ModelFormatError(
                f"section {tag!r}.offset", at + 4, (off, size), f"must be {ALIGN}-aligned and inside the file"
            )
        sections[tag] = (off, size, at)
        spans.append((off, off + size, tag))
    spans.sort()
    for (_, end_a, tag_a), (start_b, _, tag_b) in zip(spans, spans[1:]):
        if start_b < end_a:
            raise ModelFormatError(f"section {tag_b!r}.offset", None, start_b, f"overlaps section {tag_a!r}")
    for tag in SECTION_TAGS:
        if tag not in sections:
            raise ModelFormatError("section table", HEADER.size, tag, "required section missing")
    return sections


def _records(buf, sections, tag: bytes, dtype: np.dtype, cap: int) -> np.ndarray:
    off, size, at = sections[tag]
    if size % dtype.itemsize:
        raise ModelFormatError(f"section {tag!r}.size", at + 8, size, f"not a multiple of {dtype.itemsize}")
    if size // dtype.itemsize > cap:
        raise ModelFormatError(f"section {tag!r}.size", at + 8, size, f"more than {cap} records")
    recs = np.frombuffer(buf, dtype=dtype, count=size // dtype.itemsize, offset=off)
    if "reserved" in dtype.names and np.any(recs["reserved"]):
        i = int(np.nonzero(np.any(recs["reserved"].reshape(len(recs), -1), axis=1))[0][0])
        raise ModelFormatError(
            f"{tag.decode()}[{i}].reserved", off + i * dtype.itemsize, "non-zero", "must be 0"
        )
    return recs


def _string(buf, sections, off: int, length: int, field_name: str, at: int) -> str:
    s_off, s_size, _ = sections[b"STRS"]
    if length > MAX_NAME_BYTES:
        raise ModelFormatError(field_name, at, length, f"name longer than {MAX_NAME_BYTES} bytes")
    if off > s_size or length > s_size - off:
        raise ModelFormatError(field_name, at, (off, length), "string runs past the STRS section")
    try:
        return bytes(buf[s_off + off : s_off + off + length]).decode("utf-8")
    except UnicodeDecodeError as e:
        raise ModelFormatError(field_name, at, (off, length), "not UTF-8") from e


def read_model(buf, verify_checksum: bool = True, max_arena_bytes: int = DEFAULT_MAX_ARENA) -> ModelFile:
    """Parse and validate a .picoq buffer (bytes, bytearray, memoryview or mmap).

    `max_arena_bytes` is the activation memory the caller agrees to provide: a file
    asking for more is refused before anything is allocated.
    """
    file_size_actual = len(buf)
    if file_size_actual < HEADER.size:
        raise ModelFormatError("file", 0, file_size_actual, f"too short for the {HEADER.size}-byte header")
    magic, vmaj, vmin, crc, file_size, n_sections, flags = HEADER.unpack_from(buf, 0)
    if magic != MAGIC:
        raise ModelFormatError("header.magic", 0, magic, "not a .picoq file")
    if vmaj != VERSION_MAJOR:
        swapped = " (byte-swapped: a big-endian writer?)" if vmaj == VERSION_MAJOR << 8 else ""
        raise ModelFormatError(
            "header.version_major", 8, vmaj, f"this picoq reads version {VERSION_MAJOR}{swapped}"
        )
    if file_size != file_size_actual:
        raise ModelFormatError(
            "header.file_size", 16, file_size, f"file is {file_size_actual} bytes (truncated?)"
        )
    if flags != 0:
        raise ModelFormatError("header.flags", 28, flags, "reserved, must be 0")
    if verify_checksum:
        actual = crc32(buf, HEADER_CRC_START, file_size)
        if actual != crc:
            raise ModelFormatError("header.crc32", 12, crc, f"checksum mismatch (computed {actual:#010x})")
    sections = _section_table(buf, file_size, n_sections)

    modl = _records(buf, sections, b"MODL", MODEL_DTYPE, cap=1)
    if len(modl) != 1:
        raise ModelFormatError(
            "section MODL.size", sections[b"MODL"][2] + 8, len(modl), "needs exactly 1 record"
        )
    m = modl[0]
    modl_off = sections[b"MODL"][0]
    name = _string(buf, sections, int(m["name_off"]), int(m["name_len"]), "model.name", modl_off + 12)
    arena_size = int(m["arena_size"])
    if arena_size % ALIGN or arena_size > max_arena_bytes:
        raise ModelFormatError(
            "model.arena_size",
            modl_off,
            arena_size,
            f"not {ALIGN}-aligned or above the {max_arena_bytes}-byte cap",
        )

    grio_off, grio_size, grio_at = sections[b"GRIO"]
    n_in, n_out = int(m["n_inputs"]), int(m["n_outputs"])
    if n_in < 1 or n_out < 1 or (n_in + n_out) * 4 != grio_size:
        raise ModelFormatError(
            "model.n_inputs/n_outputs", modl_off + 4, (n_in, n_out), "does not match GRIO size"
        )
    grio = np.frombuffer(buf, dtype="<i4", count=n_in + n_out, offset=grio_off)

    data_off, data_size, _ = sections[b"DATA"]
    trecs = _records(buf, sections, b"TENS", TENSOR_DTYPE, cap=MAX_TENSORS)
    tens_off = sections[b"TENS"][0]
    tensors = [
        _read_tensor(
            buf, sections, i, trecs[i], tens_off + i * TENSOR_DTYPE.itemsize, arena_size, data_off, data_size
        )
        for i in range(len(trecs))
    ]

    opio_off, opio_size, opio_at = sections[b"OPIO"]
    if opio_size % 4:
        raise ModelFormatError("section OPIO.size", opio_at + 8, opio_size, "not a multiple of 4")
    opio = np.frombuffer(buf, dtype="<i4", count=opio_size // 4, offset=opio_off)
    orecs = _records(buf, sections, b"OPS_", OP_DTYPE, cap=MAX_OPS)
    ops_off = sections[b"OPS_"][0]
    ops = [
        _read_op(i, orecs[i], ops_off + i * OP_DTYPE.itemsize, opio, len(tensors)) for i in range(len(orecs))
    ]
    scratch = _read_scratch(buf, sections, len(ops), arena_size)

    inputs = [
        _tensor_index(int(v), len(tensors), "graph.inputs", grio_off + 4 * i)
        for i, v in enumerate(grio[:n_in])
    ]
    outputs = [
        _tensor_index(int(v), len(tensors), "graph.outputs", grio_off + 4 * (n_in + i))
        for i, v in enumerate(grio[n_in:])
    ]
    model = ModelFile(buf, name, arena_size, tensors, ops, inputs, outputs, file_size, scratch, vmin)
    scra = sections.get(SCRATCH_TAG)
    _validate_graph(model, ops_off, scra[0] if scra else 0)
    from .shapes import check_op_contract  # local import: shapes imports this module

    for op in model.ops:
        check_op_contract(model, op, ops_off + op.index * OP_DTYPE.itemsize)
    return model


def _tensor_index(v: int, n: int, field_name: str, at: int) -> int:
    if not 0 <= v < n:
        raise ModelFormatError(field_name, at, v, f"tensor index out of range [0, {n})")
    return v


def _read_tensor(buf, sections, i, r, at, arena_size, data_off, data_size) -> TensorInfo:
    f = f"tensor[{i}]"
    name = _string(buf, sections, int(r["name_off"]), int(r["name_len"]), f + ".name", at + 4)
    code, rank, kind, quant = int(r["dtype"]), int(r["rank"]), int(r["kind"]), int(r["quant"])
    if code not in DTYPES:
        raise ModelFormatError(f + ".dtype", at, code, f"unknown dtype (known: {sorted(DTYPES)})")
    dtype, itemsize = DTYPES[code]
    if rank > MAX_DIMS:
        raise ModelFormatError(f + ".rank", at + 1, rank, f"more than {MAX_DIMS} dimensions")
    dims = tuple(int(d) for d in r["dims"][:rank])
    if any(d < 1 or d > MAX_DIM for d in dims) or any(int(d) for d in r["dims"][rank:]):
        raise ModelFormatError(
            f + ".dims", at + 12, dims, f"dimensions must be in [1, {MAX_DIM}], unused ones 0"
        )
    count = 1
    for d in dims:  # Python ints: no overflow; the cap keeps int32 indexing safe in C
        count *= d
    if count > MAX_ELEMENTS:
        raise ModelFormatError(f + ".dims", at + 12, dims, f"more than {MAX_ELEMENTS} elements")
    nbytes = int(r["data_size"])
    if count * itemsize != nbytes or nbytes > 0x7FFFFFFF:
        raise ModelFormatError(
            f + ".data_size", at + 40, nbytes, f"shape {dims} of {dtype} needs {count * itemsize}"
        )
    off = int(r["data_offset"])
    if kind == KIND_ARENA:
        if off % ALIGN or off > arena_size or nbytes > arena_size - off:
            raise ModelFormatError(
                f + ".data_offset", at + 36, off, f"not aligned or past the arena ({arena_size} B)"
            )
        absolute = off
    elif kind == KIND_CONST:
        if off % ALIGN or off > data_size or nbytes > data_size - off:
            raise ModelFormatError(f + ".data_offset", at + 36, off, "not aligned or past the DATA section")
        absolute = data_off + off
    else:
        raise ModelFormatError(f + ".kind", at + 2, kind, "must be 0 (arena) or 1 (constant)")

    axis = int(r["quant_axis"])
    if quant == QUANT_NONE:
        scales = np.zeros(0, np.float32)
        zps = np.zeros(0, np.int32)
    elif quant == QUANT_PER_TENSOR:
        scales = np.array([r["scale"]], np.float32)
        zps = np.array([r["zero_point"]], np.int32)
    elif quant == QUANT_PER_CHANNEL:
        if not 0 <= axis < rank:
            raise ModelFormatError(f + ".quant_axis", at + 52, axis, f"not an axis of a rank-{rank} tensor")
        n = dims[axis]
        qoff = int(r["qparams_offset"])
        if qoff % 4 or qoff > data_size or 8 * n > data_size - qoff:
            raise ModelFormatError(
                f + ".qparams_offset", at + 56, qoff, "per-channel parameters outside DATA"
            )
        scales = np.frombuffer(buf, "<f4", n, data_off + qoff).astype(np.float32)
        zps = np.frombuffer(buf, "<i4", n, data_off + qoff + 4 * n).astype(np.int32)
    else:
        raise ModelFormatError(f + ".quant", at + 3, quant, "must be 0, 1 or 2")
    if scales.size and not (np.all(np.isfinite(scales)) and np.all(scales >= MIN_NORMAL_F32)):
        raise ModelFormatError(
            f + ".scale", at + 44, scales.tolist()[:4], "scales must be finite, > 0 and not subnormal"
        )
    if dtype == "int8" and zps.size and (zps.min() < -128 or zps.max() > 127):
        raise ModelFormatError(
            f + ".zero_point", at + 48, zps.tolist()[:4], "int8 zero point outside [-128, 127]"
        )
    return TensorInfo(i, name, dtype, dims, kind, absolute, nbytes, scales, zps, axis)


def _read_op(i, r, at, opio, n_tensors) -> OpInfo:
    code = int(r["opcode"])
    spec = OPS.get(code)
    if spec is None:
        raise ModelFormatError(f"op[{i}].opcode", at, code, f"unknown op code (known: {sorted(OPS)})")
    if int(r["version"]) != 1:
        raise ModelFormatError(
            f"op[{i}] {spec.name}.version", at + 2, int(r["version"]), "this picoq runs version 1"
        )
    if np.any(r["params"][spec.n_params :]):
        raise ModelFormatError(
            f"op[{i}] {spec.name}.params", at + 16, r["params"].tolist(), "unused params must be 0"
        )
    n_in, n_out, io = int(r["n_inputs"]), int(r["n_outputs"]), int(r["io_index"])
    max_in = spec.max_inputs or spec.n_inputs
    if not spec.n_inputs <= n_in <= max_in or n_out != 1:
        arity = spec.n_inputs if max_in == spec.n_inputs else f"{spec.n_inputs}..{max_in}"
        raise ModelFormatError(
            f"op[{i}] {spec.name}.n_inputs/n_outputs", at + 4, (n_in, n_out), f"expects ({arity}, 1)"
        )
    if io > len(opio) or n_in + n_out > len(opio) - io:
        raise ModelFormatError(f"op[{i}].io_index", at + 8, io, "tensor list runs past the OPIO section")
    idx = [int(v) for v in opio[io : io + n_in + n_out]]
    for k, v in enumerate(idx):
        if v == -1 and k in spec.optional_inputs:
            continue
        _tensor_index(v, n_tensors, f"op[{i}] {spec.name}.tensor[{k}]", at + 8)
    params = {name: int(v) for name, v in zip(spec.param_names, r["params"][: spec.n_params])}
    return OpInfo(i, code, spec.name, tuple(idx[:n_in]), tuple(idx[n_in:]), params)


def _read_scratch(buf, sections, n_ops: int, arena_size: int) -> list[tuple[int, int]] | None:
    """SCRA records: exactly one per op; each 64-aligned and inside the arena (the overlap with
    live tensors is checked with the arena plan, once lifetimes are known)."""
    if SCRATCH_TAG not in sections:
        return None
    off, size, at = sections[SCRATCH_TAG]
    if size != n_ops * SCRATCH_DTYPE.itemsize:
        raise ModelFormatError(
            f"section {SCRATCH_TAG!r}.size", at + 8, size, f"must hold one 8-byte record per op ({n_ops})"
        )
    recs = np.frombuffer(buf, dtype=SCRATCH_DTYPE, count=n_ops, offset=off)
    out = []
    for i, (o, n) in enumerate(zip(recs["offset"].tolist(), recs["size"].tolist())):
        where = off + i * SCRATCH_DTYPE.itemsize
        if n == 0 and o != 0:
            raise ModelFormatError(f"scratch[{i}].offset", where, o, "must be 0 when the size is 0")
        # o > arena - n form: no wraparound whatever the values.
        if o % SCRATCH_ALIGN or o > arena_size or n > arena_size - o:
            raise ModelFormatError(
                f"scratch[{i}].offset",
                where,
                (o, n),
                f"not {SCRATCH_ALIGN}-aligned or past the arena ({arena_size} B)",
            )
        out.append((o, n))
    return out


def _validate_graph(model: ModelFile, ops_off: int, scra_off: int = 0) -> None:
    """Data flow: every arena tensor an op reads was written before; nothing is written twice
    or written when constant; every graph output is produced (or is an input)."""
    produced = set(model.inputs)
    for t in model.inputs:
        if model.tensors[t].is_const:
            raise ModelFormatError("graph.inputs", None, t, "a graph input cannot be a constant")
    for op in model.ops:
        at = ops_off + op.index * OP_DTYPE.itemsize
        for t in op.inputs:
            if t == -1:
                continue
            if not model.tensors[t].is_const and t not in produced:
                raise ModelFormatError(
                    f"op[{op.index}] {op.name}.inputs", at, t, "tensor read before it is produced"
                )
        for t in op.outputs:
            if model.tensors[t].is_const:
                raise ModelFormatError(
                    f"op[{op.index}] {op.name}.outputs", at, t, "op writes a constant tensor"
                )
            if t in produced:
                raise ModelFormatError(f"op[{op.index}] {op.name}.outputs", at, t, "tensor produced twice")
            if t in op.inputs:
                raise ModelFormatError(
                    f"op[{op.index}] {op.name}.outputs", at, t, "tensor is input and output"
                )
            produced.add(t)
    for t in model.outputs:
        if t not in produced:
            raise ModelFormatError("graph.outputs", None, t, "output tensor is never produced")
    for what, idxs in (("graph.inputs", model.inputs), ("graph.outputs", model.outputs)):
        if len(set(idxs)) != len(idxs):
            raise ModelFormatError(what, None, idxs, "a tensor is listed twice")
    names = [t.name for t in model.tensors]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ModelFormatError("tensor.name", None, dup, "duplicate tensor name")
    _validate_arena_plan(model, scra_off)


def _validate_arena_plan(model: ModelFile, scra_off: int = 0) -> None:
    """Tensors alive at the same time must not share arena bytes (else a kernel would read
    what another just overwrote); only a RESHAPE's output may alias its input, exactly."""
    n = len(model.ops)
    first: dict[int, int] = {t: -1 for t in model.inputs}
    last: dict[int, int] = {t: -1 for t in model.inputs}
    alias: dict[int, int] = {}
    for i, op in enumerate(model.ops):
        for t in (*op.inputs, *op.outputs):
            if t >= 0 and not model.tensors[t].is_const:
                first.setdefault(t, i)
                last[t] = i
        if op.name == "RESHAPE":
            x, y = model.tensors[op.inputs[0]], model.tensors[op.outputs[0]]
            if x.offset == y.offset and not x.is_const:
                alias[y.index] = alias.get(x.index, x.index)
    for t in model.outputs:
        last[t] = n
    root = {t: alias.get(t, t) for t in first}
    # Merge aliased tensors into one span of bytes and life.
    spans: dict[int, list[int]] = {}
    for t, r in root.items():
        tt = model.tensors[t]
        s = spans.setdefault(r, [first[t], last[t], tt.offset, tt.offset + tt.nbytes])
        s[0], s[1] = min(s[0], first[t]), max(s[1], last[t])
        s[3] = max(s[3], tt.offset + tt.nbytes)
    items = sorted(spans.items(), key=lambda kv: kv[1][2])
    for a in range(len(items)):
        ta, (fa, la, oa, ea) = items[a]
        for b in range(a + 1, len(items)):
            tb, (fb, lb, ob, eb) = items[b]
            if ob >= ea:
                break  # sorted by offset: no later span overlaps ta's bytes
            if fa <= lb and fb <= la:
                raise ModelFormatError(
                    f"tensor[{tb}].data_offset",
                    None,
                    ob,
                    f"arena bytes overlap tensor {ta} ({model.tensors[ta].name!r}) while both are live",
                )
    if model.scratch is not None:
        _validate_scratch_plan(model, spans, scra_off)


def _validate_scratch_plan(model: ModelFile, spans: dict[int, list[int]], scra_off: int) -> None:
    """An op's scratch is a buffer live only while the op runs: it must not share bytes with
    any tensor live at that op (its inputs and output among them), else the kernel would
    overwrite data still needed. Two ops' scratch may share bytes: never live together."""
    for i, (so, sn) in enumerate(model.scratch or ()):
        if not sn:
            continue
        for t, (f, last, o, e) in spans.items():
            if f <= i <= last and o < so + sn and so < e:
                raise ModelFormatError(
                    f"scratch[{i}].offset",
                    scra_off + i * SCRATCH_DTYPE.itemsize,
                    (so, sn),
                    f"overlaps tensor {t} ({model.tensors[t].name!r}), live during op {i}",
                )
