"""Check a .tflite flatbuffer's structure before the `tflite` bindings read it.

The Python flatbuffers bindings trust the buffer: a bad offset or vector length makes them
read past the end (struct.error), build impossible numbers or hand back garbage. TFLite's own
loader runs the flatbuffers Verifier first; this is its counterpart for the part of the
schema the converter reads: every table, vtable, vector and string it will touch lies inside
the buffer, and every tensor, buffer and operator-code index points at something that exists.
Whatever passes can be read with the bindings without a low-level exception.
"""

from __future__ import annotations

import struct

from .graph import ConversionError

# The schema slice the converter reads: table -> {vtable slot: (field, kind)}. A kind is a scalar
# size in bytes, "str", ("vec", element bytes), ("table", name) or ("tables", name). Slots are
# schema.fbs field ids: slot = 4 + 2 * id.
SCHEMA: dict[str, dict[int, tuple[str, object]]] = {
    "Model": {
        4: ("version", 4),
        6: ("operator_codes", ("tables", "OperatorCode")),
        8: ("subgraphs", ("tables", "SubGraph")),
        10: ("description", "str"),
        12: ("buffers", ("tables", "Buffer")),
    },
    "OperatorCode": {
        4: ("deprecated_builtin_code", 1),
        6: ("custom_code", "str"),
        8: ("version", 4),
        10: ("builtin_code", 4),
    },
    "SubGraph": {
        4: ("tensors", ("tables", "Tensor")),
        6: ("inputs", ("vec", 4)),
        8: ("outputs", ("vec", 4)),
        10: ("operators", ("tables", "Operator")),
        12: ("name", "str"),
    },
    "Tensor": {
        4: ("shape", ("vec", 4)),
        6: ("type", 1),
        8: ("buffer", 4),
        10: ("name", "str"),
        12: ("quantization", ("table", "QuantizationParameters")),
    },
    "QuantizationParameters": {
        8: ("scale", ("vec", 4)),
        10: ("zero_point", ("vec", 8)),
        16: ("quantized_dimension", 4),
    },
    "Operator": {
        4: ("opcode_index", 4),
        6: ("inputs", ("vec", 4)),
        8: ("outputs", ("vec", 4)),
        10: ("builtin_options_type", 1),
        12: ("builtin_options", ("table", "Options")),
    },
    "Options": {},  # a builtin options table: its scalar fields (every one at most 4 bytes) are checked
    "Buffer": {4: ("data", ("vec", 1)), 6: ("offset", 8), 8: ("size", 8)},
}
MAX_DEPTH = 8  # Model > SubGraph > Operator > Options: nothing the converter reads is deeper
MAX_OPTION_FIELDS = 64  # builtin options tables have fewer; a longer vtable's tail is never read


class _Corrupt(Exception):
    pass


class _Checker:
    def __init__(self, buf: bytes):
        self.buf = buf
        self.n = len(buf)
        self.seen: set[tuple[int, str]] = (
            set()
        )  # tables checked: a hostile file may point many offsets at one

    def need(self, at: int, size: int, what: str) -> None:
        if at < 0 or size < 0 or at + size > self.n:
            raise _Corrupt(f"{what} at byte {at} ({size} bytes) runs past the end of the {self.n}-byte file")

    def u32(self, at: int, what: str) -> int:
        self.need(at, 4, what)
        return struct.unpack_from("<I", self.buf, at)[0]

    def deref(self, at: int, what: str) -> int:
        """Follow the uoffset stored at `at`."""
        return at + self.u32(at, what)

    def vector(self, at: int, width: int, what: str) -> tuple[int, int]:
        """(start of elements, length) of the vector whose uoffset is at `at`."""
        start = self.deref(at, what)
        n = self.u32(start, f"{what} length")
        self.need(start + 4, n * width, f"{what} ({n} elements)")
        return start + 4, n

    def table(self, pos: int, name: str, what: str, depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            raise _Corrupt(f"{what}: tables nested deeper than {MAX_DEPTH}")
        if (pos, name) in self.seen:
            return
        self.seen.add((pos, name))
        self.need(pos, 4, what)
        vt = pos - struct.unpack_from("<i", self.buf, pos)[0]
        self.need(vt, 4, f"{what} vtable")
        vsize, tsize = struct.unpack_from("<HH", self.buf, vt)
        if vsize < 4 or vsize % 2:
            raise _Corrupt(f"{what}: vtable size {vsize} is not an even number >= 4")
        self.need(vt, vsize, f"{what} vtable")
        self.need(pos, tsize, what)
        # Only the slots the converter can read: the work is linear in the file however long a
        # (hostile) vtable claims to be.
        last = 4 + 2 * MAX_OPTION_FIELDS if name == "Options" else max(SCHEMA[name]) + 2
        for slot in range(4, min(vsize, last), 2):
            o = struct.unpack_from("<H", self.buf, vt + slot)[0]
            if not o:
                continue
            entry = SCHEMA[name].get(slot, (f"field {slot // 2 - 2}", 4) if name == "Options" else None)
            if entry is None:
                continue  # a field the converter never reads
            field, kind = f"{what} {entry[0]}", entry[1]
            at = pos + o
            if isinstance(kind, int):
                self.need(at, kind, field)
            elif kind == "str":
                self.vector(at, 1, field)
            elif kind[0] == "vec":
                self.vector(at, kind[1], field)
            elif kind[0] == "table":
                self.table(self.deref(at, field), kind[1], field, depth + 1)
            else:
                start, count = self.vector(at, 4, field)
                for k in range(count):
                    self.table(self.deref(start + 4 * k, field), kind[1], f"{kind[1]} {k}", depth + 1)


def verify_structure(buf: bytes) -> None:
    """Raise ConversionError if the flatbuffer's structure is out of bounds anywhere the converter reads."""
    try:
        c = _Checker(buf)
        c.table(c.deref(0, "root offset"), "Model", "Model")
    except _Corrupt as e:
        raise ConversionError([f"not a readable .tflite file: corrupt flatbuffer, {e}"]) from None


MAX_ELEMENTS = (1 << 31) - 1  # a tensor the .picoq format can hold (byte counts are uint32)


def check_contents(model, sg) -> list[str]:
    """Every index the first subgraph holds points at something that exists (operator inputs and
    outputs and graph inputs and outputs at tensors, -1 marking an omitted optional input; tensor
    buffers at buffers; operators at operator codes), and every tensor shape is a possible one."""
    problems: list[str] = []
    n_tensors, n_buffers, n_codes = sg.TensorsLength(), model.BuffersLength(), model.OperatorCodesLength()

    def bad(idx, allow_omitted: bool) -> list[int]:
        return [int(i) for i in idx if not (0 <= i < n_tensors or (allow_omitted and i == -1))]

    for name, vec, n in (
        ("input", sg.InputsAsNumpy, sg.InputsLength()),
        ("output", sg.OutputsAsNumpy, sg.OutputsLength()),
    ):
        if n and (b := bad(vec(), False)):
            problems.append(f"graph {name}s name tensors {b[:4]}, the model has {n_tensors}")
    for t in range(n_tensors):
        ten = sg.Tensors(t)
        if not 0 <= ten.Buffer() < max(n_buffers, 1):
            problems.append(f"tensor {t}: buffer {ten.Buffer()} of {n_buffers}")
        shape = [int(d) for d in ten.ShapeAsNumpy()] if ten.ShapeLength() else []
        size = 1
        for d in shape:
            size *= max(d, 0)
        if len(shape) > 8 or min(shape, default=0) < 0 or size > MAX_ELEMENTS:
            problems.append(
                f"tensor {t}: shape {shape[:9]} (negative, more than 8 dimensions or over 2^31 elements)"
            )
    for k in range(sg.OperatorsLength()):
        op = sg.Operators(k)
        if op.OpcodeIndex() >= n_codes:
            problems.append(f"op {k}: operator code {op.OpcodeIndex()} of {n_codes}")
        for name, vec, n in (
            ("inputs", op.InputsAsNumpy, op.InputsLength()),
            ("outputs", op.OutputsAsNumpy, op.OutputsLength()),
        ):
            if n and (b := bad(vec(), name == "inputs")):
                problems.append(f"op {k}: {name} name tensors {b[:4]}, the model has {n_tensors}")
    return problems
