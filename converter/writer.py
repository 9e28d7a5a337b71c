"""Serialise a planned Graph into a .picoq buffer (docs/FORMAT.md), and write files atomically.

Record layouts come from picoq.runtime.format, the single definition shared
with the reader. After writing, `to_bytes` reads the buffer back through the
runtime's validator, so the converter can never emit a file the runtime
rejects.
"""

from __future__ import annotations

import os
import re
import tempfile

import numpy as np

from picoq.runtime import format as fmt

from .graph import ConversionError, Graph


class _Blob:
    """An append-only byte area whose entries start on ALIGN boundaries."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, data: bytes, align: int = fmt.ALIGN) -> int:
        pad = (-self.size) % align
        if pad:
            self.parts.append(b"\0" * pad)
            self.size += pad
        off = self.size
        self.parts.append(data)
        self.size += len(data)
        return off

    def bytes(self) -> bytes:
        return b"".join(self.parts)


class _Strings(_Blob):
    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[str, tuple[int, int]] = {}

    def ref(self, s: str) -> tuple[int, int]:
        if s not in self.seen:
            # Names are for people; a source name past the format's limit (TF's fused names
            # can be long) keeps its first MAX_NAME_BYTES bytes, cut on a character boundary.
            raw = s.encode("utf-8")[: fmt.MAX_NAME_BYTES].decode("utf-8", "ignore").encode("utf-8")
            self.seen[s] = (self.add(raw, 1), len(raw))
        return self.seen[s]


def to_bytes(graph: Graph) -> bytes:
    if graph.arena_size <= 0 and any(not t.is_const for t in graph.tensors):
        raise ValueError("plan the arena (converter.plan.plan_arena) before writing")
    too_big = [t.name for t in graph.tensors if t.nbytes >= 1 << 32]
    if too_big or graph.arena_size >= 1 << 32:
        raise ConversionError(
            [f"tensor {n!r} holds 4 GiB or more" for n in too_big[:8]]
            + (
                [f"the activations need {graph.arena_size} bytes of arena"]
                if graph.arena_size >= 1 << 32
                else []
            ),
            hint="A .picoq file addresses tensors and its arena with 32-bit offsets.",
        )
    strings, data = _Strings(), _Blob()

    tens = np.zeros(len(graph.tensors), fmt.TENSOR_DTYPE)
    for i, t in enumerate(graph.tensors):
        r = tens[i]
        r["dtype"] = fmt.DTYPE_CODE[t.dtype]
        r["rank"] = len(t.shape)
        r["dims"][: len(t.shape)] = t.shape
        r["name_off"], r["name_len"] = strings.ref(t.name)
        r["data_size"] = t.nbytes
        if t.is_const:
            r["kind"] = fmt.KIND_CONST
            if t.dtype == "int4":  # two per byte (format.pack_int4)
                r["data_offset"] = data.add(fmt.pack_int4(t.data))
            else:
                arr = np.ascontiguousarray(t.data, dtype=np.dtype(t.dtype).newbyteorder("<"))
                r["data_offset"] = data.add(arr.tobytes())
        else:
            r["kind"] = fmt.KIND_ARENA
            r["data_offset"] = t.offset
        if t.scales is None:
            r["quant"] = fmt.QUANT_NONE
        elif t.scales.size == 1 and (t.zero_points is None or t.zero_points.size == 1):
            r["quant"] = fmt.QUANT_PER_TENSOR
            r["scale"] = t.scales[0]
            r["zero_point"] = 0 if t.zero_points is None else t.zero_points[0]
        else:
            zps = np.zeros(t.scales.size, np.int32) if t.zero_points is None else t.zero_points
            r["quant"] = fmt.QUANT_PER_CHANNEL
            r["quant_axis"] = t.quant_axis
            r["qparams_offset"] = data.add(
                np.asarray(t.scales, "<f4").tobytes() + np.asarray(zps, "<i4").tobytes()
            )

    ops = np.zeros(len(graph.ops), fmt.OP_DTYPE)
    opio: list[int] = []
    for i, op in enumerate(graph.ops):
        code = fmt.OPCODE_BY_NAME[op.name]
        spec = fmt.OPS[code]
        r = ops[i]
        r["opcode"], r["version"] = code, 1
        r["n_inputs"], r["n_outputs"] = len(op.inputs), len(op.outputs)
        r["io_index"] = len(opio)
        opio += [*op.inputs, *op.outputs]
        missing = [p for p in spec.param_names if p not in op.params]
        if missing:
            raise ValueError(f"{op.name} ({op.source}) lacks parameters {missing}")
        r["params"][: spec.n_params] = [op.params[p] for p in spec.param_names]

    model = np.zeros(1, fmt.MODEL_DTYPE)
    model["arena_size"] = graph.arena_size
    model["n_inputs"], model["n_outputs"] = len(graph.inputs), len(graph.outputs)
    model["name_off"], model["name_len"] = strings.ref(graph.name)

    payloads = {
        b"MODL": model.tobytes(),
        b"TENS": tens.tobytes(),
        b"OPS_": ops.tobytes(),
        b"OPIO": np.asarray(opio, "<i4").tobytes(),
        b"GRIO": np.asarray([*graph.inputs, *graph.outputs], "<i4").tobytes(),
        b"STRS": strings.bytes(),
    }
    minor = 0  # the converter writes 1.0 files
    if graph.scratch is not None:  # legacy 1.1 files, for the tests that old files still load
        if len(graph.scratch) != len(graph.ops):
            raise ValueError(f"scratch plan has {len(graph.scratch)} entries for {len(graph.ops)} ops")
        payloads[fmt.SCRATCH_TAG] = np.array(graph.scratch, fmt.SCRATCH_DTYPE).tobytes()
        minor = fmt.VERSION_MINOR
    payloads[b"DATA"] = data.bytes()  # last: the bulk, and its alignment follows from the section's
    body = _Blob()
    table_end = fmt.HEADER.size + len(payloads) * fmt.SECTION.size
    body.add(b"\0" * table_end, 1)
    table = []
    for tag, payload in payloads.items():
        off = body.add(payload)
        table.append(fmt.SECTION.pack(tag, off, len(payload), 0))
    raw = bytearray(body.bytes())
    raw += b"\0" * ((-len(raw)) % fmt.ALIGN)
    raw[fmt.HEADER.size : table_end] = b"".join(table)
    fmt.HEADER.pack_into(raw, 0, fmt.MAGIC, fmt.VERSION_MAJOR, minor, 0, len(raw), len(payloads), 0)
    crc = fmt.crc32(raw, fmt.HEADER_CRC_START, len(raw))
    fmt.HEADER.pack_into(raw, 0, fmt.MAGIC, fmt.VERSION_MAJOR, minor, crc, len(raw), len(payloads), 0)
    out = bytes(raw)
    _self_check(out, graph)
    return out


def _self_check(out: bytes, graph: Graph) -> None:
    """Run the runtime's own validator (the one place op contracts live): never emit a file it
    would reject. A refusal means the source model is inconsistent in a way the importer did
    not check (an output shape that is not what the op computes, say); it names the source op."""
    try:
        fmt.read_model(out)
    except fmt.ModelFormatError as e:
        m = re.match(r"(op|tensor)\[(\d+)\]", e.field)
        what = ""
        if m and m[1] == "op" and int(m[2]) < len(graph.ops):
            what = f"{graph.ops[int(m[2])].source}: "
        elif m and int(m[2]) < len(graph.tensors):
            what = f"tensor {graph.tensors[int(m[2])].name!r}: "
        raise ConversionError(
            [f"{what}{e}"], hint="The source model is inconsistent; picoq cannot run it."
        ) from e


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: never a half-written model."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".picoq-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
