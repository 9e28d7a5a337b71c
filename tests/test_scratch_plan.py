"""Scratch in the arena plan (format 1.1, SCRA): the fast kernels' working memory is planned
offline into the arena beside the activations, and the file states the whole RAM the runtime
needs.

Checked here:
- the reader refuses each bad SCRA variant with a ModelFormatError naming the record;
- the planner's scratch never shares bytes with a tensor live during its op (an independent
  lifetime computation, over the MLPerf Tiny models and the repo's ONNX and fixture models),
  is big enough for every ISA's kernels, sits at the lowest 64-aligned place it fits, and
  moves no tensor;
- the fast kernels run in that scratch on every ISA here (nothing allocated beside the
  arena), byte-identical to the reference kernels even when the arena holds garbage;
- a 1.0 file (no SCRA) and a too-small planned scratch still load and run the same, on a
  separate buffer.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess

import numpy as np
import pytest

import picoq.runtime._interp as interp
from picoq.converter import load, to_bytes
from picoq.converter.cli import model_summary
from picoq.converter.plan import plan_arena
from picoq.runtime import Interpreter, ModelFile, ModelFormatError, read_model, supported_isas
from picoq.runtime import format as fmt

from conftest import MLPERF_INT8, SHARED_MODELS
from support.fileedit import resealed, section
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


def _convert(source, scratch: bool = True, **options) -> bytes:
    """convert(), with the choice of a 1.0 plan (no SCRA) that convert() does not offer."""
    graph = load(source, **options)
    graph.remove_unused_tensors()
    plan_arena(graph, scratch=scratch)
    return to_bytes(graph)


def _onnx(name: str, scratch: bool = True) -> bytes:
    m = ONNX[name]()
    calib = np.random.default_rng(0).standard_normal((8, *input_shape(m)[1:])).astype(np.float32)
    return _convert(m, scratch, calibration=calib, progress=False)


def _models() -> dict[str, bytes]:
    out = {name: _convert(build()) for name, build in FIXTURES.items()}
    out |= {f"onnx_{name}": _onnx(name) for name in ONNX}
    out["onnx_digits"] = _convert(_digits_onnx_path(), calibration=_digits_calibration(), progress=False)
    for name in MLPERF_INT8:
        path = SHARED_MODELS / f"{name}.tflite"
        if path.is_file():
            out[name] = _convert(path.read_bytes())
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


# ---------------------------------------------------------------- the planner


def test_planned_scratch_never_overlaps_live_tensors(models) -> None:
    """Over every model: op i's scratch is 64-aligned, inside the arena, as big as the largest
    any ISA's kernels need, shares no byte with a tensor live during op i, and sits at the
    lowest 64-aligned offset where it fits (so the arena grows only when gaps are too small)."""
    assert {*FIXTURES, *(f"onnx_{n}" for n in ONNX), "onnx_digits"} <= set(models)
    if SHARED_MODELS.is_dir():
        assert set(MLPERF_INT8) <= set(models)
    planned_ops = 0
    for name, data in models.items():
        m = read_model(data)
        assert m.version_minor == 1 and m.scratch is not None and len(m.scratch) == len(m.ops), name
        needs = interp.fast_scratch_sizes(m)
        for i, (off, size) in enumerate(m.scratch):
            assert size == max(needs[i]), (name, i)  # every ISA's need, no more
            if not size:
                assert off == 0
                continue
            planned_ops += 1
            assert off % 64 == 0 and off + size <= m.arena_size, (name, i, off, size)
            busy = [
                (m.tensors[t].offset, m.tensors[t].offset + m.tensors[t].nbytes) for t in live_tensors(m, i)
            ]
            for b0, b1 in busy:
                assert not _overlaps(off, off + size, b0, b1), (name, i, (off, size), (b0, b1))
            for lower in range(0, off, 64):  # first fit: every lower aligned start collides
                assert any(_overlaps(lower, lower + size, b0, b1) for b0, b1 in busy), (name, i, lower)
        ends = [off + size for off, size in m.scratch]
        assert m.arena_size == max(m.activation_bytes, *(fmt.align_up(e) for e in ends)), name
    assert planned_ops > 20


def test_tensors_do_not_move_for_scratch(models) -> None:
    """The 1.1 plan is the 1.0 plan plus scratch: same tensor offsets, so the activations'
    extent (what firmware allocates) is unchanged."""

    def arena_offsets(m: ModelFile) -> list[int]:
        return [t.offset for t in m.tensors if not t.is_const]

    for name, build in FIXTURES.items():
        old, new = read_model(_convert(build(), scratch=False)), read_model(models[name])
        assert arena_offsets(old) == arena_offsets(new), name
        assert old.arena_size == old.activation_bytes == new.activation_bytes <= new.arena_size
    old, new = read_model(_onnx("ds_cnn", scratch=False)), read_model(models["onnx_ds_cnn"])
    assert arena_offsets(old) == arena_offsets(new)


def test_sizes_cover_every_isa_the_build_knows() -> None:
    """fast_scratch_sizes answers for every pq_isa id (ISA_NAMES), whether or not this CPU
    runs it; the ops without a fast kernel need nothing."""
    m = read_model(_convert(build_tiny_convnet()))
    sizes = interp.fast_scratch_sizes(m)
    assert all(len(row) == len(interp.ISA_NAMES) for row in sizes)
    for op, row in zip(m.ops, sizes):
        if op.name in ("RESHAPE", "SOFTMAX"):
            assert row == (0,) * len(interp.ISA_NAMES)
    conv0 = sizes[0]
    assert all(v > 0 and v % 64 == 0 for v in conv0), conv0


SIZE_FUNCTIONS = (
    "pq_gemm_s8_np",
    "pq_gemm_s8_kp",
    "pq_gemm_s8_packed_size",
    "pq_gemm_s8_scratch_size",
    "pq_conv2d_s8_fast_scratch_size",
    "pq_dwconv_s8_cp",
    "pq_dwconv_s8_fast_scratch_size",
    "pq_padded_hw",
)


@pytest.mark.skipif(
    os.environ.get("PICOQ_NATIVE") == "1", reason="-march=native build: every function may use AVX"
)
def test_size_functions_hold_no_avx_instructions() -> None:
    """The converter runs the sizing code for every ISA, on whatever CPU it has: the functions
    it calls must be plain x86-64 (SSE2 at most), never AVX2 / AVX-512 code."""
    objdump = shutil.which("objdump")
    if objdump is None or not interp.__file__.endswith(".so") or "x86_64" not in os.uname().machine:
        pytest.skip("needs objdump and an x86-64 build")
    text = subprocess.run(
        [objdump, "-d", "--no-show-raw-insn", interp.__file__], capture_output=True, text=True
    )
    bodies = dict(re.findall(r"\n[0-9a-f]+ <(\w+)>:\n(.*?)(?=\n\n)", text.stdout, flags=re.S))
    for fn in SIZE_FUNCTIONS:
        assert fn in bodies, fn
        assert not re.search(r"%[yz]mm|\bk[0-7]\b", bodies[fn]), (fn, bodies[fn][:400])


# ---------------------------------------------------------------- the runtime


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
            if isa != "portable":
                assert "arena" in it.op_scratch, (name, isa)
            for x, w in zip(xs, want):
                for got, exp in zip(_run(it, x, poison=rng), w):
                    np.testing.assert_array_equal(got, exp, err_msg=f"{name} on {isa}")


def test_each_isa_allocates_only_the_arena_it_uses(models) -> None:
    """An interpreter's arena holds the tensors and the planned scratch its own ISA uses (the
    file's arena_size is sized for the hungriest ISA); the reference kernels need the tensors
    only, and a Core refuses an arena the tensors do not fit in."""
    for name, data in models.items():
        m = read_model(data)
        sizes = interp.fast_scratch_sizes(m)
        assert Interpreter(data, kernels="reference").arena_size == fmt.align_up(m.activation_bytes, 64)
        for isa in ISAS:
            it = Interpreter(data, isa=isa)
            col = interp.ISA_NAMES.index(isa)
            ends = [off + need[col] for (off, _), need in zip(m.scratch, sizes) if need[col]]
            assert it.arena_size == fmt.align_up(max([m.activation_bytes, *ends]), 64) <= m.arena_size, (
                name,
                isa,
            )
        with pytest.raises(ValueError, match="tensors need"):
            interp.Core(m, np.frombuffer(m.buf, np.uint8), np.zeros(m.activation_bytes - 16, np.uint8))


def test_version_1_0_file_loads_and_runs_identically() -> None:
    """A file without SCRA (format 1.0, what picoq wrote before 1.1) still loads: each fast
    kernel then gets the one separate buffer, sized for the chosen ISA, and the outputs are
    the 1.1 file's and the reference kernels'."""
    for build in (build_tiny_resnet, build_tiny_convnet):
        old, new = _convert(build(), scratch=False), _convert(build())
        assert struct.unpack_from("<HH", old, 8) == (1, 0) and struct.unpack_from("<HH", new, 8) == (1, 1)
        m_old = read_model(old)
        assert m_old.scratch is None and b"SCRA" not in old[: fmt.HEADER.size + 8 * fmt.SECTION.size]
        needs = interp.fast_scratch_sizes(m_old)
        rng = np.random.default_rng(3)
        ref = Interpreter(old, kernels="reference")
        xs = [_inputs(ref, rng) for _ in range(3)]
        for isa in ISAS:
            a, b = Interpreter(old, isa=isa), Interpreter(new, isa=isa)
            k = interp.ISA_NAMES.index(isa)
            assert a.scratch_bytes == max(row[k] for row in needs)
            assert a.op_scratch == ["separate" if row[k] else None for row in needs]
            for x in xs:
                want = _run(ref, x)
                for got_a, got_b, exp in zip(_run(a, x), _run(b, x, poison=rng), want):
                    np.testing.assert_array_equal(got_a, exp)
                    np.testing.assert_array_equal(got_b, exp)


def test_too_small_planned_scratch_falls_back_to_a_separate_buffer() -> None:
    """An ISA needing more than the file planned (a later one) gets the separate buffer for
    that op only; the others keep their arena bytes."""
    data = bytearray(_convert(build_tiny_resnet()))
    m = read_model(bytes(data))
    i = max(range(len(m.ops)), key=lambda j: m.scratch[j][1])
    off, size = m.scratch[i]
    scra = section(bytes(data), b"SCRA")[0]
    struct.pack_into("<II", data, scra + 8 * i, off, 64)  # still valid, just small
    small = resealed(data)
    rng = np.random.default_rng(5)
    ref = Interpreter(small, kernels="reference")
    for isa in ISAS:
        it = Interpreter(small, isa=isa)
        need = interp.fast_scratch_sizes(read_model(small))[i][interp.ISA_NAMES.index(isa)]
        if need <= 64:
            continue
        assert it.op_scratch[i] == "separate" and it.scratch_bytes == need
        assert it.op_scratch.count("separate") == 1
        x = _inputs(it, rng)
        np.testing.assert_array_equal(_run(it, x, poison=rng)[0], _run(ref, x)[0])


def test_misaligned_arena_falls_back() -> None:
    """A caller-provided arena off the 64-byte grid cannot hold the planned scratch: Core
    then allocates it separately rather than hand SIMD code misaligned memory."""
    data = _convert(build_tiny_resnet())
    m = read_model(data)
    raw = np.zeros(m.arena_size + 128, np.uint8)
    start = (-raw.ctypes.data) % 64 + 16
    core = interp.Core(m, np.frombuffer(m.buf, np.uint8), raw[start : start + m.arena_size], "fast", ISAS[-1])
    assert core.scratch_bytes > 0 and "arena" not in core.op_scratch


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
    data = _convert(build_tiny_resnet())
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
    data = _convert(build_tiny_resnet())
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
    m = read_model(_convert(build_tiny_resnet()))
    info = model_summary(m)
    assert info["arena_bytes"] == m.arena_size > info["activation_bytes"] == m.activation_bytes
    assert info["max_scratch_bytes"] == max(s for _, s in m.scratch)
    assert [(o["scratch"]["arena_offset"], o["scratch"]["bytes"]) for o in info["ops"]] == m.scratch
    old = model_summary(read_model(_convert(build_tiny_resnet(), scratch=False)))
    assert old["arena_bytes"] == old["activation_bytes"] and all(o["scratch"] is None for o in old["ops"])
