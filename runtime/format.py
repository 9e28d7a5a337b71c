"""The .picoq file format, version 1: constants, record layouts, the op table and the reader.

docs/FORMAT.md describes every byte; this module is its Python form. The
converter's writer imports the record layouts from here, so reader and writer
cannot drift apart. Everything is little-endian.

There is one validator, the C one (kernels/src/core/pq_model_validate.c, the
same code firmware runs): read_model hands it the buffer first, and a file it
refuses raises ModelFormatError naming the field, the byte offset and the value.
Only a file it accepted is decoded, so the decoder here trusts every count,
offset and shape. The op table (OPS) is the C registry's (kernels/include/pq_ops.def).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

from ._interp import VALIDATOR_CODES, op_table, validate_model

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

# Tensor dtypes: code -> (name, itemsize). int4 packs two values per byte (itemsize 1 is
# that of its unpacked int8 view; its data_size is ceil(n / 2)).
DTYPE_INT8, DTYPE_INT32, DTYPE_INT16, DTYPE_INT64, DTYPE_INT4 = 1, 2, 3, 4, 5
DTYPES = {
    DTYPE_INT8: ("int8", 1),
    DTYPE_INT32: ("int32", 4),
    DTYPE_INT16: ("int16", 2),
    DTYPE_INT64: ("int64", 8),
    DTYPE_INT4: ("int4", 1),
}
DTYPE_CODE = {name: code for code, (name, _) in DTYPES.items()}


def dtype_nbytes(dtype: str, count: int) -> int:
    """Bytes `count` values of `dtype` take in a file (int4: two per byte)."""
    return (count + 1) // 2 if dtype == "int4" else count * DTYPES[DTYPE_CODE[dtype]][1]


def pack_int4(values: np.ndarray) -> bytes:
    """Values in [-8, 7], flattened, two per byte: element 2k in the low nibble (TFLite's INT4
    and CMSIS-NN's s4 packing); an odd count leaves the last high nibble 0."""
    v = np.asarray(values, np.int8).reshape(-1)
    if v.size and (v.min() < -8 or v.max() > 7):
        raise ValueError("int4 values must lie in [-8, 7]")
    nib = (v.astype(np.uint8) & 0x0F).astype(np.uint8)
    if nib.size % 2:
        nib = np.append(nib, np.uint8(0))
    return (nib[0::2] | (nib[1::2] << 4)).astype(np.uint8).tobytes()


def unpack_int4(buf, count: int, offset: int = 0) -> np.ndarray:
    """The `count` int8 values of a packed int4 run (pack_int4's layout)."""
    b = np.frombuffer(buf, np.uint8, (count + 1) // 2, offset)
    nib = np.empty(b.size * 2, np.uint8)
    nib[0::2], nib[1::2] = b & 0x0F, b >> 4
    return ((nib[:count].astype(np.int16) ^ 8) - 8).astype(np.int8)


# An op's dtype variant, from its tensors' dtypes (pq_variant_of in pq_op.h decides the same).
def op_variant(dtypes) -> str:
    """'s16' when a tensor is int16, else 's4' when one is int4, else 's8'."""
    dtypes = set(dtypes)
    return "s16" if "int16" in dtypes else "s4" if "int4" in dtypes else "s8"


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
    kernel: str = ""  # the reference kernel's C function, e.g. "pq_conv2d_s8"
    params_type: str = ""  # its parameter struct, which is the op record's params
    # dtype variant ("s8", "s16", "s4") -> its reference kernel's C function (pq_variants.def)
    variants: dict[str, str] = field(default_factory=dict)


# The op registry (kernels/include/pq_ops.def), read through the extension: one line there
# is one op here.
OPS = {
    code: OpSpec(
        code,
        name,
        n_in,
        len(params),
        (opt,) if opt >= 0 else (),
        params,
        max_in,
        variants["s8"],
        ptype,
        variants,
    )
    for code, name, n_in, max_in, opt, params, variants, ptype in op_table()
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
    variant: str = "s8"  # the dtype variant that runs it (op_variant of its tensors)

    @property
    def kernel(self) -> str:
        """The reference kernel's C function for this op's dtypes."""
        return OPS[self.opcode].variants[self.variant]


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
        if t.dtype == "int4":  # unpacked: a copy, int8 values in [-8, 7]
            return unpack_int4(self.buf, t.size, t.offset).reshape(t.shape)
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


def read_model(buf, verify_checksum: bool = True, max_arena_bytes: int = DEFAULT_MAX_ARENA) -> ModelFile:
    """Validate (the C validator) and decode a .picoq buffer (bytes, bytearray, memoryview or mmap).

    `max_arena_bytes` is the activation memory the caller agrees to provide: a file
    asking for more is refused before anything is allocated.
    """
    mv = memoryview(buf).cast("B")
    n = mv.nbytes
    if n > 0xFFFFFFFF:  # the format's offsets are u32: no valid file is this large
        raise ModelFormatError("header.file_size", 16, n, "larger than 4 GiB")
    # zlib's CRC is several times faster than the C validator's table-light one: when it
    # matches, the validator skips its own (when it does not, the validator finds the
    # mismatch in its usual order, after the header fields before it).
    check_crc = verify_checksum and not (
        n >= HEADER.size
        and zlib.crc32(memoryview(buf)[HEADER_CRC_START:]) == struct.unpack_from("<I", buf, 12)[0]
    )
    refusal = validate_model(mv, max(0, min(max_arena_bytes, 0xFFFFFFFF)), check_crc)
    if refusal is not None:
        raise _refusal_error(mv, *refusal)
    return _decode(buf, mv)


def _refusal_error(buf, code, field_, why, param, index, sub, offset, value) -> ModelFormatError:
    """The C validator's refusal as ModelFormatError: its field name (pq_model.h, e.g.
    "tensor.dims", "op.params") with the record index, op name, section tag, parameter
    name and second index put back ("tensor[3].dims", "op[2] CONV_2D.params.stride_h")."""
    head, _, rest = field_.partition(".")
    name = field_
    if head == "header" and rest in ("magic",):
        value = bytes(buf[:8])
    elif head == "header" and rest == "file_size" and value < 0:
        value += 1 << 64  # a u64 field
    elif head == "section" and rest in ("reserved", "tag"):
        name = f"section[{index}].{rest}"
        value = value.to_bytes(4, "little") if rest == "tag" else value
    elif head == "section" and rest in ("offset", "size"):
        tag, _, size, _ = SECTION.unpack_from(buf, HEADER.size + SECTION.size * index)
        plain = rest == "size" and (tag == b"OPIO" or (tag == b"MODL" and size == 0))
        name = f"section {tag.decode() if plain else repr(tag)}.{rest}"
    elif field_ == "section table":
        value = value.to_bytes(4, "little")
    elif rest == "reserved":  # MODL, TENS, OPS_ records
        name = f"{head}[{index}].reserved"
    elif head in ("tensor", "scratch") and code != VALIDATOR_CODES["TENSOR_NAME_DUPLICATE"]:
        name = f"{head}[{index}].{rest}"
    elif head == "op" and rest in ("opcode", "io_index"):
        name = f"op[{index}].{rest}"
    elif head == "op":
        ops_off = _section_offsets(buf)[b"OPS_"][0]
        op_name = OPS[struct.unpack_from("<H", buf, ops_off + OP_DTYPE.itemsize * index)[0]].name
        if code == VALIDATOR_CODES["OP_PARAM"]:
            rest = f"params.{param}"
        elif rest == "tensor":
            rest = f"tensor[{sub}]"
        elif rest.startswith("input.") and op_name == "CONCATENATION" and sub >= 0:
            rest = f"input{sub}.{rest[6:]}"
        elif rest.startswith("requant.") and sub >= 0:
            rest = f"requant[{sub}].{rest[8:]}"
        name = f"op[{index}] {op_name}.{rest}"
    return ModelFormatError(name, offset if offset >= 0 else None, value, why)


def _section_offsets(buf) -> dict[bytes, tuple[int, int]]:
    """Tag -> (offset, size) of a buffer's sections (trusted: validated or at least read)."""
    n = struct.unpack_from("<I", buf, 24)[0]
    out = {}
    for tag, off, size, _ in SECTION.iter_unpack(
        memoryview(buf)[HEADER.size : HEADER.size + SECTION.size * n]
    ):
        out[tag] = (off, size)
    return out


TENSOR_RECORD = struct.Struct("<BBBBII6iIIfiiII")  # TENSOR_DTYPE, for struct.iter_unpack
OP_RECORD = struct.Struct("<HHHHII16i")  # OP_DTYPE
assert TENSOR_RECORD.size == TENSOR_DTYPE.itemsize and OP_RECORD.size == OP_DTYPE.itemsize


def _decode(buf, mv: memoryview) -> ModelFile:
    """Decode a buffer pq_model_validate accepted (mv: its bytes): no check is repeated here."""
    vmin, file_size = struct.unpack_from("<H", mv, 10)[0], struct.unpack_from("<Q", mv, 16)[0]
    sec = _section_offsets(mv)
    strs = sec[b"STRS"][0]
    data_off = sec[b"DATA"][0]

    def string(off: int, length: int) -> str:
        return str(mv[strs + off : strs + off + length], "utf-8")

    arena_size, n_in, n_out, name_off, name_len = struct.unpack_from("<5I", mv, sec[b"MODL"][0])
    grio = struct.unpack_from(f"<{n_in + n_out}i", mv, sec[b"GRIO"][0])
    no_scales, no_zps = np.zeros(0, np.float32), np.zeros(0, np.int32)
    tensors = []
    off, size = sec[b"TENS"]
    for i, r in enumerate(TENSOR_RECORD.iter_unpack(mv[off : off + size])):
        code, rank, kind, quant, t_name_off, t_name_len = r[:6]
        dims = r[6 : 6 + rank]
        t_off, nbytes, scale, zp, axis, qoff = r[12:18]
        if quant == QUANT_PER_TENSOR:
            scales, zps = np.array([scale], np.float32), np.array([zp], np.int32)
        elif quant == QUANT_PER_CHANNEL:
            c = dims[axis]
            scales = np.frombuffer(mv, "<f4", c, data_off + qoff).astype(np.float32)
            zps = np.frombuffer(mv, "<i4", c, data_off + qoff + 4 * c).astype(np.int32)
        else:
            scales, zps = no_scales, no_zps
        absolute = data_off + t_off if kind == KIND_CONST else t_off
        tensors.append(
            TensorInfo(
                i,
                string(t_name_off, t_name_len),
                DTYPES[code][0],
                dims,
                kind,
                absolute,
                nbytes,
                scales,
                zps,
                axis,
            )
        )
    opio_off = sec[b"OPIO"][0]
    ops = []
    off, size = sec[b"OPS_"]
    for i, r in enumerate(OP_RECORD.iter_unpack(mv[off : off + size])):
        spec = OPS[r[0]]
        n_op_in, io = r[2], r[4]
        idx = struct.unpack_from(f"<{n_op_in + r[3]}i", mv, opio_off + 4 * io)
        params = dict(zip(spec.param_names, r[6 : 6 + spec.n_params]))
        variant = op_variant(tensors[t].dtype for t in idx if t >= 0)
        ops.append(OpInfo(i, spec.code, spec.name, idx[:n_op_in], idx[n_op_in:], params, variant))
    scratch = None
    if SCRATCH_TAG in sec:
        off, size = sec[SCRATCH_TAG]
        scratch = list(struct.iter_unpack("<II", mv[off : off + size]))
    return ModelFile(
        buf,
        string(name_off, name_len),
        arena_size,
        tensors,
        ops,
        list(grio[:n_in]),
        list(grio[n_in:]),
        file_size,
        scratch,
        vmin,
    )
