"""Scratch: the fast kernels' working memory lies in the arena after the activations.

The file plans activations only (the converter writes format 1.0); the runtime places its
own instruction set's scratch after them at load (pq_interp_plan: arena = activations,
64-aligned, + the largest op scratch on the chosen kernels), so no op's scratch can overlap
a tensor. Files written before (format 1.1, a SCRA section planning scratch per op) still
load: SCRA is validated, then ignored.

Checked here:
- the converter writes 1.0 files, whose arena is the activations';
- the runtime's arena is the activations plus its ISA's scratch, the scratch above every
  tensor; an arena smaller than planned or off the 64-byte grid is refused;
- the fast kernels run in that scratch on every ISA here (nothing allocated beside the
  arena), byte-identical to the reference kernels even when the arena holds garbage;
- an old 1.1 file loads and runs identically to its 1.0 twin;
- the reader still refuses each bad SCRA variant with a ModelFormatError naming the record.
"""

from __future__ import annotations

import os
import struct

import numpy as np
import pytest

import picoq.runtime._interp as interp
from picoq.converter import load, to_bytes
from picoq.converter.cli import model_summary
from picoq.converter.plan import plan_arena
from picoq.runtime import Interpreter, ModelFile, ModelFormatError, read_model, supported_isas
from picoq.runtime import format as fmt

from conftest import mlperf_present
from support.fileedit import resealed, section
from support.legacy_scra import to_bytes_1_1
from support.make_fixtures import build_tiny_convnet, build_tiny_mlp, build_tiny_resnet
from support.make_onnx_models import ds_cnn, fc_autoencoder, input_shape, mobilenet_v1_025, resnet8

ISAS = supported_isas()
FIXTURES = {"tiny_convnet": build_tiny_convnet, "tiny_resnet": build_tiny_resnet, "tiny_mlp": build_tiny_mlp}
ONNX = {
    "ds_cnn": ds_cnn,
    "resnet8": resnet8,
    "mobilenet_v1_025": mobilenet_v1_025,
    "fc_autoencoder": fc_autoencoder,
}


def _convert(source, legacy: bool = False, **options) -> bytes:
    """convert(), or (legacy) the same graph as an old 1.1 file with a SCRA section."""
    graph = load(source, **options)
    graph.remove_unused_tensors()
    if legacy:
        return to_bytes_1_1(graph)
    plan_arena(graph)
    return to_bytes(graph)


def _onnx(name: str) -> bytes:
    m = ONNX[name]()
    calib = np.random.default_rng(0).standard_normal((8, *input_shape(m)[1:])).astype(np.float32)
    return _convert(m, calibration=calib, progress=False)


def _models() -> dict[str, bytes]:
    out = {name: _convert(build()) for name, build in FIXTURES.items()}
    out |= {f"onnx_{name}": _onnx(name) for name in ONNX}
    out["onnx_digits"] = _convert(_digits_onnx_path(), calibration=_digits_calibration(), progress=False)
    out |= {name: _convert(path.read_bytes()) for name, path in mlperf_present().items()}
    return out


def _digits_onnx_path() -> str:
    """The digits CNN that ships with picoq (picoq demo)."""
    import picoq.converter

    return os.path.join(os.path.dirname(picoq.converter.__file__), "demo_assets", "digits_cnn.onnx")


def _digits_calibration() -> np.ndarray:
    with np.load(_digits_onnx_path().replace("digits_cnn.onnx", "digits_sample.npz")) as z:
        return z["calib"][:32]


@pytest.fixture(scope="module")
def models() -> dict[str, bytes]:
    return _models()


# ---------------------------------------------------------------- an independent liveness oracle


def live_tensors(m: ModelFile, i: int) -> list[int]:
    """Arena tensors whose bytes must survive op i: read or written by an op at or before i
    and by one at or after it (graph inputs count as written before op 0, graph outputs as
    read after the last op); a RESHAPE output at its input's offset shares that life."""
    n = len(m.ops)
    uses: dict[int, list[int]] = {t: [-1] for t in m.inputs}
    for j, op in enumerate(m.ops):
        for t in (*op.inputs, *op.outputs):
            if t >= 0 and not m.tensors[t].is_const:
                uses.setdefault(t, []).append(j)
    for t in m.outputs:
        uses.setdefault(t, []).append(n)
    group = {t: t for t in uses}
    for op in m.ops:  # execution order: an input's group is settled before its RESHAPE output
        if op.name == "RESHAPE" and m.tensors[op.inputs[0]].offset == m.tensors[op.outputs[0]].offset:
            group[op.outputs[0]] = group[op.inputs[0]]
    span: dict[int, list[int]] = {}
    for t, js in uses.items():
        s = span.setdefault(group[t], [min(js), max(js)])
        s[0], s[1] = min(s[0], *js), max(s[1], *js)
    return [t for t in uses if span[group[t]][0] <= i <= span[group[t]][1]]


def _overlaps(a0: int, a1: int, b0: int, b1: int) -> bool:
    return a0 < b1 and b0 < a1


# ---------------------------------------------------------------- the converter and the runtime


def test_converter_writes_1_0_files_planning_activations_only(models) -> None:
    assert {*FIXTURES, *(f"onnx_{n}" for n in ONNX), "onnx_digits"} <= set(models)
    for name, data in models.items():
        m = read_model(data)
        assert struct.unpack_from("<HH", data, 8) == (1, 0) and m.scratch is None, name
        assert b"SCRA" not in data[: fmt.HEADER.size + 16 * fmt.SECTION.size], name
        assert m.arena_size == m.activation_bytes, name


def _inputs(it: Interpreter, rng: np.random.Generator) -> list[np.ndarray]:
    return [rng.integers(-128, 128, d["shape"], dtype=np.int8) for d in it.input_details]


def _run(
    it: Interpreter, xs: list[np.ndarray], poison: np.random.Generator | None = None
) -> list[np.ndarray]:
    if poison is not None:  # every arena byte, scratch and dead tensors included, garbage
        it._arena[:] = poison.integers(0, 256, it._arena.size, dtype=np.uint8)
    for k, x in enumerate(xs):
        it.set_input(k, x)
    it.invoke()
    return [it.get_output(k) for k in range(len(it.output_details))]


def test_arena_is_activations_then_this_isas_scratch(models) -> None:
    """An interpreter's arena: the activations, then (fast kernels needing scratch) the
    largest op scratch on its own ISA from the next 64-byte boundary, above every tensor, so
    no op's scratch overlaps a live tensor; the reference kernels need the activations only."""
    for name, data in models.items():
        m = read_model(data)
        tensor_end = max((t.offset + t.nbytes for t in m.tensors if not t.is_const), default=0)
        assert Interpreter(data, kernels="reference").arena_size == fmt.align_up(m.activation_bytes, 16)
        for isa in ISAS:
            it = Interpreter(data, isa=isa)
            sizes = interp.plan_sizes(m, "fast", isa)
            assert it.arena_size == sizes["arena_bytes"] == interp.arena_bytes_for(m, "fast", isa), (
                name,
                isa,
            )
            if sizes["scratch_bytes"]:
                scratch_at = fmt.align_up(sizes["activation_bytes"], 64)
                assert scratch_at >= tensor_end and it.arena_size == scratch_at + sizes["scratch_bytes"], name
            else:
                assert it.arena_size == sizes["activation_bytes"], (name, isa)


def test_core_refuses_a_small_or_misaligned_arena() -> None:
    data = _convert(build_tiny_resnet())
    m = read_model(data)
    need = interp.arena_bytes_for(m, "fast", ISAS[-1])
    raw = np.zeros(need + 128, np.uint8)
    start = (-raw.ctypes.data) % 64
    with pytest.raises(ValueError, match="the model needs"):
        interp.Core(m, np.frombuffer(m.buf, np.uint8), raw[start : start + need - 16], "fast", ISAS[-1])
    with pytest.raises(ValueError, match="64-byte boundary"):
        interp.Core(m, np.frombuffer(m.buf, np.uint8), raw[start + 16 : start + 16 + need], "fast", ISAS[-1])
    interp.Core(m, np.frombuffer(m.buf, np.uint8), raw[start : start + need], "fast", ISAS[-1]).invoke()


def test_fast_kernels_run_in_arena_scratch_on_every_isa(models) -> None:
    """Every op's scratch is the arena's (nothing allocated beside it) on every ISA here, and
    the outputs equal the reference kernels' even when the arena starts out as garbage."""
    rng = np.random.default_rng(7)
    for name, data in models.items():
        ref = Interpreter(data, kernels="reference")
        xs = [_inputs(ref, rng) for _ in range(3)]
        want = [_run(ref, x) for x in xs]
        for isa in ISAS:
            it = Interpreter(data, isa=isa)
            assert it.scratch_bytes == 0 and set(it.op_scratch) <= {None, "arena"}, (name, isa, it.op_scratch)
            # Portable kernels read rows in place, and so does AVX2's FULLY_CONNECTED on int8
            # weights (tiny_mlp is three of those); the other ISAs' kernels take arena scratch.
            if isa != "portable" and set(it.op_kernels) != {"fast-fc-i8"}:
                assert "arena" in it.op_scratch, (name, isa)
            for x, w in zip(xs, want):
                for got, exp in zip(_run(it, x, poison=rng), w):
                    np.testing.assert_array_equal(got, exp, err_msg=f"{name} on {isa}")


def test_version_1_1_file_loads_and_runs_identically() -> None:
    """An old file with SCRA (format 1.1) loads: its scratch plan is validated, then ignored
    (the runtime places its own), and the outputs are the 1.0 file's and the reference's."""
    for build in (build_tiny_resnet, build_tiny_convnet):
        old, new = _convert(build(), legacy=True), _convert(build())
        assert struct.unpack_from("<HH", old, 8) == (1, 1) and struct.unpack_from("<HH", new, 8) == (1, 0)
        m_old = read_model(old)
        assert m_old.scratch is not None and any(size for _, size in m_old.scratch)
        rng = np.random.default_rng(3)
        ref = Interpreter(new, kernels="reference")
        xs = [_inputs(ref, rng) for _ in range(3)]
        for isa in ISAS:
            a, b = Interpreter(old, isa=isa), Interpreter(new, isa=isa)
            assert a.arena_size == b.arena_size and a.op_kernels == b.op_kernels
            for x in xs:
                want = _run(ref, x)
                for got_a, got_b, exp in zip(_run(a, x, poison=rng), _run(b, x, poison=rng), want):
                    np.testing.assert_array_equal(got_a, exp)
                    np.testing.assert_array_equal(got_b, exp)


# ---------------------------------------------------------------- the reader


def _edit_record(i: int, off: int | None = None, size: int | None = None):
    def edit(buf: bytearray, m: ModelFile) -> None:
        scra = section(bytes(buf), b"SCRA")[0]
        o, s = m.scratch[i]
        struct.pack_into("<II", buf, scra + 8 * i, o if off is None else off, s if size is None else size)

    return edit


def _on_live_tensor(which: str):
    """Op 0's scratch onto its input ("input"), its output ("output"); op 3's onto a tensor
    that is live during op 3 without being one of its operands ("bystander")."""

    def edit(buf: bytearray, m: ModelFile) -> None:
        if which == "bystander":
            i = 3  # tiny_resnet: block/conv_b waits for op 4's ADD while op 3 (shortcut conv) runs
            t = m.tensors[next(x.index for x in m.tensors if x.name == "block/conv_b")]
            assert t.index not in (*m.ops[i].inputs, *m.ops[i].outputs)
        else:
            i = 0
            op = m.ops[i]
            t = m.tensors[op.inputs[0] if which == "input" else op.outputs[0]]
        start = t.offset // 64 * 64
        _edit_record(i, start, t.offset + t.nbytes - start)(buf, m)

    return edit


def _section_size(delta: int):
    def edit(buf: bytearray, m: ModelFile) -> None:
        _, size, at = section(bytes(buf), b"SCRA")
        struct.pack_into("<I", buf, at + 8, size + delta)

    return edit


BAD = [
    ("misaligned", _edit_record(0, off=64 + 16), "scratch[0].offset"),
    ("out-of-arena", lambda b, m: _edit_record(0, off=m.arena_size, size=64)(b, m), "scratch[0].offset"),
    (
        "end-out-of-arena",
        lambda b, m: _edit_record(0, size=m.arena_size - m.scratch[0][0] + 1)(b, m),
        "scratch[0].offset",
    ),
    ("offset-wraparound", _edit_record(0, off=0xFFFFFFC0, size=0x80), "scratch[0].offset"),
    ("size-wraparound", _edit_record(0, off=64, size=0xFFFFFFFF), "scratch[0].offset"),
    ("size-0-offset-not-0", _edit_record(4, off=64, size=0), "scratch[4].offset"),
    ("overlaps-input", _on_live_tensor("input"), "scratch[0].offset"),
    ("overlaps-output", _on_live_tensor("output"), "scratch[0].offset"),
    ("overlaps-live-bystander", _on_live_tensor("bystander"), "scratch[3].offset"),
    ("section-one-record-short", _section_size(-8), "section b'SCRA'.size"),
    ("section-not-whole-records", _section_size(-4), "section b'SCRA'.size"),
    ("section-empty", lambda b, m: _section_size(-8 * len(m.ops))(b, m), "section b'SCRA'.size"),
]


@pytest.mark.parametrize(("case", "edit", "field"), BAD, ids=[c[0] for c in BAD])
def test_reader_refuses_bad_scratch(case, edit, field) -> None:
    data = _convert(build_tiny_resnet(), legacy=True)
    m = read_model(data)
    assert m.ops[4].name == "ADD" and m.scratch[4] == (0, 0) and m.scratch[0][1] > 0
    buf = bytearray(data)
    edit(buf, m)
    with pytest.raises(ModelFormatError) as e:
        read_model(resealed(buf))
    assert e.value.field == field, str(e.value)
    scra_off, _, scra_at = section(data, b"SCRA")
    if field.startswith("scratch["):  # the record's own bytes, and its values
        i = int(field[8 : field.index("]")])
        assert e.value.offset == scra_off + 8 * i
        assert str(struct.unpack_from("<I", buf, scra_off + 8 * i)[0]) in str(e.value.value)
    else:
        assert e.value.offset == scra_at + 8


def test_scratch_may_reuse_dead_tensors_and_other_ops_scratch() -> None:
    """What the reader accepts: scratch over a tensor that is dead during the op, and two
    ops' scratch on the same bytes (never live together)."""
    data = _convert(build_tiny_resnet(), legacy=True)
    m = read_model(data)
    buf = bytearray(data)
    conv_a = next(t for t in m.tensors if t.name == "block/conv_a")  # dead after op 2
    pool_op = next(o.index for o in m.ops if o.name == "AVERAGE_POOL_2D")
    fc_op = next(o.index for o in m.ops if o.name == "FULLY_CONNECTED")
    on_conv_a = fmt.align_up(conv_a.offset, 64)  # inside conv_a's bytes
    assert pool_op < fc_op and all(t in live_tensors(m, pool_op) for t in m.ops[pool_op].inputs)
    assert conv_a.index not in live_tensors(m, pool_op) + live_tensors(m, fc_op)
    _edit_record(pool_op, off=on_conv_a)(buf, m)
    _edit_record(fc_op, off=on_conv_a)(buf, m)  # the same bytes as the pool's scratch
    m2 = read_model(resealed(buf))
    assert m2.scratch[pool_op][0] == m2.scratch[fc_op][0] == on_conv_a


def test_inspect_reports_activations_scratch_and_total() -> None:
    m = read_model(_convert(build_tiny_resnet(), legacy=True))
    info = model_summary(m)
    assert info["arena_bytes"] == m.arena_size > info["activation_bytes"] == m.activation_bytes
    assert info["max_scratch_bytes"] == max(s for _, s in m.scratch)
    assert [(o["scratch"]["arena_offset"], o["scratch"]["bytes"]) for o in info["ops"]] == m.scratch
    old = model_summary(read_model(_convert(build_tiny_resnet())))
    assert old["arena_bytes"] == old["activation_bytes"] and all(o["scratch"] is None for o in old["ops"])
