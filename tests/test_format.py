"""The .picoq file: layout promises (docs/FORMAT.md) and the reader's refusals of broken files.

Issue-level fuzzing comes later; here each check the reader makes on the
header, section table and records is triggered once and must name its field.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from picoq.converter import convert
from picoq.runtime import Interpreter, ModelFormatError, read_model
from picoq.runtime import format as fmt

from support.fileedit import resealed as _reseal
from support.fileedit import section as _section
from support.make_fixtures import build_tiny_convnet, build_tiny_resnet


@pytest.fixture(scope="module")
def data() -> bytes:
    return convert(build_tiny_resnet())


def test_header_and_alignment(data) -> None:
    assert data[:8] == fmt.MAGIC
    magic, vmaj, vmin, crc, size, nsec, flags = fmt.HEADER.unpack_from(data, 0)
    assert (vmaj, size, flags) == (1, len(data), 0) and len(data) % 16 == 0
    m = read_model(data)
    for t in m.tensors:
        if t.is_const:
            assert t.offset % 16 == 0, f"constant {t.name} not 16-byte aligned"
        else:
            assert t.offset % 16 == 0 and t.offset + t.nbytes <= m.arena_size


def test_constants_are_used_in_place(data) -> None:
    m = read_model(data)
    w = next(t for t in m.tensors if t.is_const and t.dtype == "int8")
    arr = m.const_array(w)
    assert not arr.flags.owndata and not arr.flags.writeable  # a view into the file buffer
    assert arr.tobytes() == data[w.offset : w.offset + w.nbytes]


def test_conversion_is_deterministic() -> None:
    tfl = build_tiny_convnet()
    assert convert(tfl) == convert(tfl)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.__setitem__(slice(0, 8), b"NOTPICOQ"), "header.magic"),
        (lambda b: struct.pack_into("<H", b, 8, 2), "header.version_major"),
        (lambda b: b.__setitem__(len(b) - 1, b[len(b) - 1] ^ 0xFF), "header.crc32"),
        (lambda b: struct.pack_into("<I", b, 28, 1), "header.flags"),
    ],
)
def test_header_faults_are_named(data, mutate, field) -> None:
    buf = bytearray(data)
    mutate(buf)
    with pytest.raises(ModelFormatError, match=field.replace(".", r"\.")) as e:
        read_model(bytes(buf))
    assert e.value.field == field


def test_truncated_file(data) -> None:
    for cut in (0, 10, len(data) // 2, len(data) - 16):
        with pytest.raises(ModelFormatError):
            read_model(data[:cut])


def test_tensor_offset_outside_arena_is_refused(data) -> None:
    buf = bytearray(data)
    off, _, _ = _section(buf, b"TENS")
    m = read_model(data)
    i = next(t.index for t in m.tensors if not t.is_const)
    struct.pack_into("<I", buf, off + i * 64 + 36, m.arena_size)  # data_offset past the arena
    with pytest.raises(ModelFormatError, match=rf"tensor\[{i}\]\.data_offset"):
        read_model(_reseal(buf))


def test_tensor_index_out_of_range_is_refused(data) -> None:
    buf = bytearray(data)
    off, _, _ = _section(buf, b"OPIO")
    struct.pack_into("<i", buf, off, 10_000)
    with pytest.raises(ModelFormatError, match="tensor index out of range"):
        read_model(_reseal(buf))


def test_wrong_output_shape_is_refused(data) -> None:
    """TFLM trusts output shapes from the file; picoq recomputes and compares them."""
    buf = bytearray(data)
    m = read_model(data)
    conv = next(o for o in m.ops if o.name == "CONV_2D")
    y = m.tensors[conv.outputs[0]]
    off, _, _ = _section(buf, b"TENS")
    struct.pack_into("<i", buf, off + y.index * 64 + 12 + 4, y.shape[1] + 5)  # taller output
    struct.pack_into("<I", buf, off + y.index * 64 + 40, (y.size // y.shape[1]) * (y.shape[1] + 5))
    with pytest.raises(ModelFormatError):
        read_model(_reseal(buf))


def test_bad_op_parameter_is_refused(data) -> None:
    buf = bytearray(data)
    m = read_model(data)
    conv = next(o for o in m.ops if o.name == "CONV_2D")
    off, _, _ = _section(buf, b"OPS_")
    struct.pack_into("<i", buf, off + conv.index * 80 + 16, 0)  # stride_h = 0
    with pytest.raises(ModelFormatError, match="stride_h"):
        read_model(_reseal(buf))


def test_unknown_opcode_is_refused(data) -> None:
    buf = bytearray(data)
    off, _, _ = _section(buf, b"OPS_")
    struct.pack_into("<H", buf, off, 999)
    with pytest.raises(ModelFormatError, match="opcode"):
        read_model(_reseal(buf))


def test_reader_error_is_a_value_error(data) -> None:
    with pytest.raises(ValueError):
        Interpreter(b"\0" * 64)


def test_reshape_is_aliased_in_the_arena() -> None:
    m = read_model(convert(build_tiny_convnet()))
    reshapes = [o for o in m.ops if o.name == "RESHAPE"]
    assert reshapes
    for o in reshapes:
        assert m.tensors[o.inputs[0]].offset == m.tensors[o.outputs[0]].offset


def test_live_tensors_never_share_bytes() -> None:
    """An op's inputs and output, and anything still needed later, occupy disjoint arena bytes."""
    m = read_model(convert(build_tiny_resnet()))
    last_use = {}
    for i, o in enumerate(m.ops):
        for t in o.inputs:
            if t >= 0:
                last_use[t] = i
    for t in m.outputs:
        last_use[t] = len(m.ops)
    for i, o in enumerate(m.ops):
        y = m.tensors[o.outputs[0]]
        if o.name == "RESHAPE":
            continue
        live = [t for t, end in last_use.items() if end >= i and not m.tensors[t].is_const and t != y.index]
        for t in live:
            born = next((k for k, op in enumerate(m.ops) if t in op.outputs), -1)
            if born > i:
                continue
            a = m.tensors[t]
            assert a.offset + a.nbytes <= y.offset or y.offset + y.nbytes <= a.offset, (
                o.name,
                a.name,
                y.name,
            )
    assert np.all([t.offset >= 0 for t in m.tensors if not t.is_const])


def test_format_md_op_table_is_the_registry() -> None:
    """docs/FORMAT.md's op table names every op code of the registry (pq_ops.def, read through
    format.OPS) and no other, and lists each op's parameters in the registry's order."""
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "FORMAT.md").read_text()
    rows = {
        int(code): (name, params)
        for code, name, params in re.findall(r"^\| (\d+) \| ([A-Z_0-9]+) \| [^|]+ \| ([^|]+) \|$", doc, re.M)
    }
    assert {code: name for code, (name, _) in rows.items()} == {code: s.name for code, s in fmt.OPS.items()}
    for code, (_, params) in rows.items():
        words = re.findall(r"[a-z][a-z0-9_]*", params)
        named = list(dict.fromkeys(n for n in words if n in fmt.OPS[code].param_names))
        # Every parameter the row spells out appears (first) in the registry's order.
        order = [fmt.OPS[code].param_names.index(n) for n in named]
        assert order == sorted(order), (fmt.OPS[code].name, named)
