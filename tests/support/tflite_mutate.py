"""Mutations of .tflite flatbuffers for fuzzing the converter: structure-aware where cheap.

A valid file is walked once with the `tflite` bindings to find where its fields live: every
table field the vtables point at (options, codes, indices, types), the elements and length
words of the vectors the converter reads (shapes, operator inputs and outputs, graph inputs
and outputs, scales, zero points, buffer data), so that most mutants change one meaningful
number (a tensor index, a dimension, an op code, an options field, a buffer reference)
rather than a weight byte. A minority are byte flips and truncations anywhere.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import numpy as np
import tflite

from picoq.converter.tflite_import import SUPPORTED

INTS = [0, 1, -1, 2, 3, 4, 7, 8, 16, 127, 128, -128, 255, 256, 1 << 15, 1 << 16, (1 << 31) - 1, -(1 << 31)]
SUPPORTED_CODES = [getattr(tflite.BuiltinOperator, name) for name in SUPPORTED]
FLOATS = [0.0, -0.0, -1.0, 1e-45, 1e-39, 1e38, float("inf"), float("-inf"), float("nan"), 1.0]


def _u16(buf: bytes, at: int) -> int:
    return int.from_bytes(buf[at : at + 2], "little")


def _table_fields(tab) -> list[int]:
    """Absolute positions of the fields present in one table (read from its vtable)."""
    buf, pos = tab.Bytes, tab.Pos
    vt = pos - int.from_bytes(buf[pos : pos + 4], "little", signed=True)
    return [pos + o for slot in range(4, _u16(buf, vt), 2) if (o := _u16(buf, vt + slot))]


def _vector(tab, slot: int, width: int) -> tuple[int, list[int]]:
    """(position of the length word, positions of the elements) of a vector field, or (-1, [])."""
    o = tab.Offset(slot)
    if not o:
        return -1, []
    start = tab.Vector(o)
    n = tab.VectorLen(o)
    return start - 4, [start + k * width for k in range(n)]


class Sites:
    """Where the interesting numbers of one valid .tflite live."""

    def __init__(self, data: bytes):
        m = tflite.Model.GetRootAsModel(data, 0)
        self.fields: list[int] = _table_fields(m._tab)  # any table field: 1 or 4 bytes rewritten
        self.indices: list[int] = []  # int32 tensor indices (operator and graph inputs/outputs)
        self.dims: list[int] = []  # int32 tensor dimensions
        self.lengths: list[int] = []  # uint32 vector length words
        self.scales: list[int] = []  # float32 quantization scales
        self.zero_points: list[int] = []  # int64 zero points
        self.codes: list[int] = []  # int32 builtin_code fields
        self.n_tensors = 0
        for k in range(m.OperatorCodesLength()):
            code = m.OperatorCodes(k)._tab
            self.fields += _table_fields(code)
            if code.Offset(10):
                self.codes.append(code.Pos + code.Offset(10))
        for k in range(m.BuffersLength()):
            b = m.Buffers(k)
            self.fields += _table_fields(b._tab)
            self._add_vector(b._tab, 4, 1, None)
        for s in range(m.SubgraphsLength()):
            sg = m.Subgraphs(s)
            self.fields += _table_fields(sg._tab)
            self.n_tensors = max(self.n_tensors, sg.TensorsLength())
            for slot in (6, 8):  # inputs, outputs
                self._add_vector(sg._tab, slot, 4, self.indices)
            for t in range(sg.TensorsLength()):
                ten = sg.Tensors(t)
                self.fields += _table_fields(ten._tab)
                self._add_vector(ten._tab, 4, 4, self.dims)
                q = ten.Quantization()
                if q is not None:
                    self.fields += _table_fields(q._tab)
                    self._add_vector(q._tab, 8, 4, self.scales)
                    self._add_vector(q._tab, 10, 8, self.zero_points)
            for k in range(sg.OperatorsLength()):
                op = sg.Operators(k)
                self.fields += _table_fields(op._tab)
                self._add_vector(op._tab, 6, 4, self.indices)  # inputs
                self._add_vector(op._tab, 8, 4, self.indices)  # outputs
                opts = op.BuiltinOptions()
                if opts is not None:
                    self.fields += _table_fields(opts)

    def _add_vector(self, tab, slot: int, width: int, into: list[int] | None) -> None:
        length, elems = _vector(tab, slot, width)
        if length >= 0:
            self.lengths.append(length)
            if into is not None:
                into += elems


def _put(buf: bytearray, at: int, fmt: str, value) -> None:
    size = struct.calcsize(fmt)
    if 0 <= at and at + size <= len(buf):
        struct.pack_into(fmt, buf, at, value)


def mutate(data: bytes, sites: Sites, rng: np.random.Generator) -> bytes:
    """One mutant: one to three structural changes, or (one time in five) raw byte damage."""
    buf = bytearray(data)
    if rng.random() < 0.2:
        kind = rng.integers(3)
        if kind == 0:  # truncation
            return bytes(buf[: int(rng.integers(0, len(buf)))])
        for _ in range(int(rng.integers(1, 9))):
            at = int(rng.integers(len(buf)))
            buf[at] = int(rng.integers(256)) if kind == 1 else buf[at] ^ (1 << int(rng.integers(8)))
        return bytes(buf)
    n = sites.n_tensors
    index_values = [-1, -2, 0, n - 1, n, n + 1, 1 << 20, (1 << 31) - 1, -(1 << 31)]
    for _ in range(int(rng.integers(1, 4))):
        what = rng.integers(8)
        pick = lambda xs: xs[int(rng.integers(len(xs)))] if xs else -1  # noqa: E731
        if what == 0:  # any field: a 1-byte or 4-byte interesting value
            at = pick(sites.fields)
            if rng.random() < 0.5:
                _put(buf, at, "<b", int(np.clip(pick(INTS), -128, 127)))
            else:
                _put(buf, at, "<i", pick(INTS))
        elif what == 1:  # a tensor index
            _put(buf, pick(sites.indices), "<i", pick(index_values + [int(rng.integers(max(n, 1)))]))
        elif what == 2:  # a dimension
            _put(
                buf, pick(sites.dims), "<i", pick([0, -1, 1, 2, 3, 1000, 1 << 16, (1 << 31) - 1, -(1 << 31)])
            )
        elif what == 3:  # a vector's length
            at = pick(sites.lengths)
            if at >= 0:
                old = int.from_bytes(buf[at : at + 4], "little")
                _put(
                    buf, at, "<I", pick([0, 1, old - 1, old + 1, old * 2, 1 << 20, (1 << 32) - 1]) % (1 << 32)
                )
        elif what == 4:  # a scale
            _put(buf, pick(sites.scales), "<f", pick(FLOATS))
        elif what == 5:  # a zero point
            _put(buf, pick(sites.zero_points), "<q", pick(INTS + [1 << 40, -(1 << 63)]))
        elif what == 6:  # another operator: one the converter imports, mostly
            known = list(SUPPORTED_CODES) + [int(rng.integers(0, 210))]
            _put(buf, pick(sites.codes), "<i", pick(known))
        else:  # two fields swap their 4 bytes
            a, b = pick(sites.fields), pick(sites.fields)
            if a >= 0 and b >= 0 and a + 4 <= len(buf) and b + 4 <= len(buf):
                buf[a : a + 4], buf[b : b + 4] = buf[b : b + 4], buf[a : a + 4]
    return bytes(buf)


def mutants(data: bytes, n: int, rng: np.random.Generator) -> Iterator[bytes]:
    """`n` mutants of one valid .tflite file."""
    sites = Sites(data)
    for _ in range(n):
        yield mutate(data, sites, rng)
