"""Hostile .tflite files through `convert`: a ConversionError naming the problem, nothing else.

The mutation run feeds structure-aware mutants (tests/support/tflite_mutate.py: tensor
indices, dimensions, vector lengths, op codes, options fields, scales, zero points, plus byte
damage) to the converter in a capped worker (tests/support/convert_fuzz.py): every mutant
must convert or raise ConversionError, within 10 s, leaving no file behind when it fails.
`PICOQ_CONVERT_MUTANTS=100000` scales it up (the long run); the regression tests below hold
what earlier runs found, each rebuilt from a valid model so that anyone can rerun it.
"""

from __future__ import annotations

import dataclasses
import os
import struct
import time
from pathlib import Path

import numpy as np
import pytest
import tflite

from picoq.converter import ConversionError, convert
from picoq.runtime import read_model

from conftest import mlperf_path
from support.convert_fuzz import fuzz_convert
from support.make_fixtures import build_tiny_convnet, build_tiny_mlp, build_tiny_resnet, tiny_mlp, tiny_resnet
from support.models import build_chain
from support.tflite_builder import TFLiteGraph
from support.tflite_mutate import Sites, mutants

MUTANTS = int(os.environ.get("PICOQ_CONVERT_MUTANTS", "700"))
SOURCES = {
    "tiny_convnet": build_tiny_convnet,
    "tiny_resnet": build_tiny_resnet,
    "tiny_mlp": build_tiny_mlp,
    "op_chain": lambda: build_chain()[0],  # every element-wise and data-movement op
    "ad01": lambda: mlperf_path("ad01_int8").read_bytes(),
}


@pytest.mark.parametrize("name", list(SOURCES))
def test_mutants_convert_or_raise_conversion_error(name: str, tmp_path: Path) -> None:
    rep = fuzz_convert(mutants(SOURCES[name](), MUTANTS, np.random.default_rng(7)), save=tmp_path / "found")
    print(name, rep.summary())  # the long run's figures, with pytest -s
    assert not rep.failures, rep.summary()
    assert rep.counts["converted"] > 0 and rep.counts["ConversionError"] > MUTANTS // 2, rep.counts


# *** regressions: one per kind of finding, rebuilt from a valid model ***


def _refused(data: bytes, *fragments: str) -> str:
    with pytest.raises(ConversionError) as e:
        convert(data, progress=False)
    for f in fragments:
        assert f in str(e.value), str(e.value)
    return str(e.value)


def _field(data: bytes, table, slot: int) -> int:
    """Byte position of one field of a flatbuffers table object from the `tflite` bindings."""
    o = table._tab.Offset(slot)
    assert o, slot
    return table._tab.Pos + o


def _patched(data: bytes, at: int, fmt: str, value) -> bytes:
    buf = bytearray(data)
    struct.pack_into(fmt, buf, at, value)
    return bytes(buf)


def _subgraph(data: bytes):
    return tflite.Model.GetRootAsModel(data, 0).Subgraphs(0)


def test_vtable_outside_the_file() -> None:
    """A tensor table whose vtable offset points 16 MB away (was a struct.error inside the bindings)."""
    data = build_tiny_mlp()
    t = _subgraph(data).Tensors(1)
    bad = _patched(data, t._tab.Pos, "<i", -(1 << 24))
    _refused(bad, "not a readable .tflite file: corrupt flatbuffer", "vtable", "past the end")


def test_vector_length_past_the_end() -> None:
    """The operators vector claims 2^20 entries (was `bad number for type uint32` from the bindings)."""
    data = build_tiny_mlp()
    sg = _subgraph(data)
    start = sg._tab.Vector(sg._tab.Offset(10))
    _refused(
        _patched(data, start - 4, "<I", 1 << 20), "corrupt flatbuffer", "SubGraph 0 operators", "past the end"
    )


def test_shared_tables_and_long_vtables_are_checked_in_linear_time() -> None:
    """Every tensor offset pointing at one table whose vtable claims to be as long as the file
    allows: refused promptly. The
    verifier checks a shared table once and reads only the slots it knows; this small file
    shows the path works, the bound itself is in the code (it is what keeps a large hostile
    file from costing tables x vtable slots)."""
    data = bytearray(build_tiny_mlp())
    sg = _subgraph(bytes(data))
    start, n = sg._tab.Vector(sg._tab.Offset(4)), sg.TensorsLength()
    first = sg.Tensors(0)._tab.Pos
    for k in range(n):
        struct.pack_into("<I", data, start + 4 * k, first - (start + 4 * k))
    vt = first - struct.unpack_from("<i", data, first)[0]
    struct.pack_into("<H", data, vt, min(0xFFFE, (len(data) - vt) // 2 * 2))
    t0 = time.perf_counter()
    with pytest.raises(ConversionError):
        convert(bytes(data), progress=False)
    assert time.perf_counter() - t0 < 5


def test_truncated_file() -> None:
    data = build_tiny_convnet()
    for cut in (8, 40, len(data) // 2, len(data) - 16):
        _refused(data[:cut], "not a readable .tflite file")


@pytest.mark.parametrize("value", [17, 1 << 20, -(1 << 31)])
def test_operator_input_index_out_of_range(value: int) -> None:
    """An op input naming a tensor that does not exist (was read as garbage through Tensors(i))."""
    data = build_tiny_mlp()
    op = _subgraph(data).Operators(0)
    at = op._tab.Vector(op._tab.Offset(6))
    _refused(_patched(data, at, "<i", value), "op 0: inputs name tensors", "the model has")


def test_omitted_required_input() -> None:
    """-1 (TFLite's "omitted") is allowed for a bias only; as a filter it was Tensors(-1)."""
    data = build_tiny_mlp()
    op = _subgraph(data).Operators(0)
    at = op._tab.Vector(op._tab.Offset(6)) + 4  # input 1: the filter
    _refused(_patched(data, at, "<i", -1), "missing input or output tensors")


def test_buffer_index_out_of_range() -> None:
    data = build_tiny_mlp()
    t = _subgraph(data).Tensors(1)
    _refused(_patched(data, _field(data, t, 8), "<I", 999), "buffer 999 of")


def test_opcode_index_out_of_range() -> None:
    data = build_tiny_convnet()
    sg = _subgraph(data)
    k = next(k for k in range(sg.OperatorsLength()) if sg.Operators(k).OpcodeIndex())  # a field present
    _refused(_patched(data, _field(data, sg.Operators(k), 4), "<I", 77), f"op {k}: operator code 77 of")


def test_options_of_another_type() -> None:
    """An op whose options union says Pool2DOptions: reading them as FullyConnectedOptions gave garbage."""
    data = build_tiny_mlp()
    op = _subgraph(data).Operators(0)
    bad = _patched(data, _field(data, op, 10), "<B", tflite.BuiltinOptions.Pool2DOptions)
    _refused(bad, "options are of type", "not FullyConnectedOptions")


@pytest.mark.parametrize("dim", [-1, 1 << 30])
def test_impossible_dimension(dim: int) -> None:
    """A negative dimension, or one making the tensor hold 2^31 or more elements (was an
    OverflowError in the writer)."""
    data = build_tiny_convnet()
    t = _subgraph(data).Tensors(0)
    at = t._tab.Vector(t._tab.Offset(4)) + 4
    _refused(_patched(data, at, "<i", dim), "tensor 0: shape", "over 2^31 elements")


def test_buffer_size_not_a_multiple_of_the_element_size() -> None:
    """A bias buffer one byte short (was numpy's ValueError from frombuffer)."""
    g = tiny_mlp()
    bias = next(t for t in g.tensors if t.dtype == np.int32)
    g._buffers[bias.buffer] = g._buffers[bias.buffer][:-1]
    _refused(g.build(), f"tensor {bias.name!r}: buffer holds", "bytes")


def test_zero_size_activation() -> None:
    """An activation with a 0 dimension (was a ZeroDivisionError in the depthwise channel check)."""
    data = build_tiny_convnet()
    t = _subgraph(data).Tensors(0)
    at = t._tab.Vector(t._tab.Offset(4)) + 12  # channels of the input
    _refused(_patched(data, at, "<i", 0), "with no elements")


def test_unrepresentable_requantization_scale() -> None:
    """An output scale making the FC multiplier about 1e27 (was quantize.py's ValueError)."""
    g = tiny_mlp()
    out = g.outputs[0]
    src = next(t for t in g.tensors if not t.is_const and t is not out and t.index != g.inputs[0].index)
    g.tensors[src.index] = dataclasses.replace(src, scales=(1e-30,))
    _refused(g.build(), "multiplier")


def test_constant_graph_input() -> None:
    """A graph input that is a constant (was a KeyError in the arena planner)."""
    g = tiny_mlp()
    w = next(t for t in g.tensors if t.is_const and t.dtype == np.int8)
    g.inputs[0] = w
    _refused(g.build(), f"graph input {w.name!r} is a constant")


def test_constant_graph_output() -> None:
    """A graph output that is the constant operand of an ADD (was a KeyError in the arena planner)."""
    g = tiny_resnet()
    w = next(t for t in g.tensors if t.is_const and t.dtype == np.int8 and t.shape[:3] == (1, 1, 1))
    g.outputs[0] = w
    _refused(g.build(), f"graph output {w.name!r} is a constant")


def test_output_shape_the_op_cannot_produce() -> None:
    """A FULLY_CONNECTED output of the wrong width: refused by the runtime's validator, which the
    writer runs on every file, and reported as a ConversionError naming the source op (was a
    ModelFormatError)."""
    g = TFLiteGraph()
    x = g.input("x", (1, 4), 0.1, 0)
    w = g.const_int8("w", np.ones((3, 4), np.int8), [0.01])
    y = g.fully_connected(x, w, None, out_scale=0.05, out_zp=0)
    g.tensors[y.index] = dataclasses.replace(y, shape=(1, 2))
    g.output(g.tensors[y.index])
    _refused(g.build(), "op 0 FULLY_CONNECTED", "output.shape")


def test_long_tensor_names_are_cut_not_refused() -> None:
    """A valid model whose tensor name is longer than a .picoq name may be: it converts, the name
    cut to the format's 1,024 bytes (was a ModelFormatError from the writer's self-check)."""
    g = tiny_mlp()
    x = g.inputs[0]
    g.tensors[x.index] = dataclasses.replace(x, name="é" * 700)  # 1,400 bytes of UTF-8
    g.inputs[0] = g.tensors[x.index]
    m = read_model(convert(g.build(), progress=False))
    assert m.tensors[m.inputs[0]].name == "é" * 512


def test_failed_conversion_leaves_the_output_alone(tmp_path: Path) -> None:
    """A refused file writes nothing: no new file, no temporary, an old file untouched."""
    data = build_tiny_mlp()
    bad = data[: len(data) // 2]
    out = tmp_path / "model.picoq"
    with pytest.raises(ConversionError):
        convert(bad, out, progress=False)
    assert list(tmp_path.iterdir()) == []
    out.write_bytes(b"old")
    with pytest.raises(ConversionError):
        convert(bad, out, progress=False)
    assert list(tmp_path.iterdir()) == [out] and out.read_bytes() == b"old"


def test_the_mutator_reaches_the_structure() -> None:
    """The mutator finds the fields it claims to (so the mutation run is not all byte noise)."""
    s = Sites(build_tiny_convnet())
    assert s.n_tensors > 10 and len(s.indices) >= 2 * 7 and len(s.dims) > 30
    assert len(s.scales) >= 8 and len(s.zero_points) >= 8 and len(s.fields) > 100
