"""The validator's workspace (pq_model_validate_ws, kernels/src/core/pq_model_index.c) changes
how fast a file is judged, never the judgment: with and without it, pq_model_validate gives the
same error tuple (code, field, why, param, index, sub, offset, value) for every file.

Oracle: the rescanning path (workspace=False, what firmware runs, unchanged), over
1. every handcrafted bad file of test_validator.CASES;
2. mutants of real converted models, SLICE / RESHAPE aliases and an unrolled LSTM included:
   picoq_mutate's random ones, test_validator's ContractMutator, and GraphMutator's, aimed at
   what the workspace tabulates (names, graph IO, producers, lifetimes, alias groups, arena
   offsets, scratch); every graph-level refusal code must occur among them;
3. through the C library directly: a workspace one byte short (the rescanning fallback) or at
   an odd address, and pq_model_validate_ws_bytes on garbage.
"""

from __future__ import annotations

import ctypes
import re
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from test_validator import CASES, REPO_MODELS, SRCS, STRICT, CError, ContractMutator, Patch, _build_lib, _gcc

from picoq.converter import convert
from picoq.runtime import format as fmt
from picoq.runtime import kernels_dir
from picoq.runtime._interp import validate_model

from support.picoq_mutate import Mutator
from support.tflite_builder import TFLiteGraph

MAX_ARENA = fmt.DEFAULT_MAX_ARENA
MUTANTS = 150  # per (model, mutator)

# The refusals of pq_model_graph.c, whose helpers the workspace memoises: each must be what
# some mutant below is refused with (OP_WRITES_INPUT cannot fire first; test_validator says why).
GRAPH_CODES = {
    "GRAPH_INPUT_CONST",
    "GRAPH_OUTPUT_UNPRODUCED",
    "GRAPH_INPUT_DUPLICATE",
    "GRAPH_OUTPUT_DUPLICATE",
    "OP_READ_BEFORE_WRITE",
    "OP_WRITES_CONST",
    "OP_WRITES_TWICE",
    "TENSOR_NAME_DUPLICATE",
    "TENSOR_ARENA_OVERLAP",
    "SCRATCH_OVERLAP",
}


def _code_names() -> dict[int, str]:
    text = (Path(kernels_dir()) / "include" / "pq_model.h").read_text()
    return {k + 1: name for k, name in enumerate(re.findall(r'X\((\w+), "[^"]+"\)', text))}


CODE_NAMES = _code_names()


def both(data: bytes, max_arena: int = MAX_ARENA, check_crc: bool = True):
    """The verdict with the workspace and without; they must be equal."""
    return (
        validate_model(data, max_arena, check_crc, workspace=True),
        validate_model(data, max_arena, check_crc, workspace=False),
    )


# ---------------------------------------------------------------- models


def unrolled() -> bytes:
    """A sequence read row by row through SLICE aliases (RESHAPEd on the way) and summed step
    by step: the planner reuses the same arena bytes every step, as in an unrolled RNN."""
    g = TFLiteGraph(description="picoq test unrolled")
    x = g.input("x", (12, 32), 0.05, 3)
    h = g.slice(x, [0, 0], [1, 32], name="row0")
    for t in range(1, 12):
        row = g.reshape(g.slice(x, [t, 0], [1, 32], name=f"row{t}"), (1, 32), name=f"flat{t}")
        h = g.add(h, row, 0.1 + 0.01 * t, 0, name=f"h{t}")
    g.output(g.logistic(h, name="out"))
    return convert(g.build())


def lstm() -> bytes:
    """A torch LSTM over 6 steps, exported to ONNX and converted: its gates are SLICE aliases."""
    from support.torch_rnn import torch_rnn

    cal = np.random.default_rng(0).standard_normal((8, 1, 6, 4)).astype(np.float32)
    return convert(torch_rnn("LSTM", 4, 8, 6, batch_first=True), calibration=cal, progress=False)


@pytest.fixture(scope="module")
def models() -> dict[str, bytes]:
    out = {name: build() for name, build in REPO_MODELS.items()}
    out["unrolled"] = unrolled()
    out["lstm"] = lstm()
    return out


# ---------------------------------------------------------------- mutants


class GraphMutator:
    """Mutants aimed at what the workspace tabulates: a name copied onto another tensor, a
    graph IO slot repeating another, an op's input or output rewired to another tensor, an
    arena tensor moved onto (or next to) another's bytes or its alias input's, a SLICE's begin
    moved, a scratch record moved onto a tensor. Resealed, so they pass the records."""

    def __init__(self, data: bytes, rng: np.random.Generator):
        self.p = Patch(data)
        self.rng = rng
        m = self.p.m
        self.arena = [t.index for t in m.tensors if not t.is_const]
        self.aliases = [o.index for o in m.ops if o.opcode in (7, 19)]  # RESHAPE, SLICE

    def _one(self, p: Patch) -> str:
        rng, m = self.rng, p.m
        pick = lambda seq: seq[int(rng.integers(len(seq)))]  # noqa: E731
        kind = str(rng.choice(["name", "grio", "output", "input", "offset", "alias", "begin", "scratch"]))
        if kind == "name":
            a, b = (int(v) for v in rng.integers(len(m.tensors), size=2))
            for field in ("name_off", "name_len"):
                p.put(p.trec(b) + p.TENS[field][0], "<I", p.get(p.trec(a) + p.TENS[field][0], "<I"))
        elif kind == "grio":
            n = len(m.inputs) + len(m.outputs)
            k, j = (int(v) for v in rng.integers(n, size=2))
            p.put(p.sec[b"GRIO"][0] + 4 * k, "<i", p.get(p.sec[b"GRIO"][0] + 4 * j, "<i"))
            if k < len(m.inputs) and j < len(m.inputs) and rng.random() < 0.5:  # reads of k's go to j's
                for op in m.ops:
                    for s, t in enumerate(op.inputs):
                        if t == m.inputs[k]:
                            p.slot(op.index, s, m.inputs[j])
        elif kind in ("output", "input"):
            op = pick(m.ops)
            k = len(op.inputs) if kind == "output" else int(rng.integers(len(op.inputs)))
            p.slot(op.index, k, pick(self.arena) if rng.random() < 0.8 else int(rng.integers(len(m.tensors))))
        elif kind == "offset":
            t, u = pick(self.arena), m.tensors[pick(self.arena)]
            p.tens(t, "data_offset", max(0, u.offset + 16 * int(rng.integers(-2, 3))))
        elif kind == "alias" and self.aliases:
            op = m.ops[pick(self.aliases)]
            x, y = m.tensors[op.inputs[0]], op.outputs[0]
            p.tens(y, "data_offset", max(0, x.offset + 16 * int(rng.integers(-1, 3))))
        elif kind == "begin" and self.aliases:
            op = m.ops[pick(self.aliases)]
            if op.opcode == 19:
                k = int(rng.integers(1, 1 + len(m.tensors[op.inputs[0]].shape)))
                p.put(p.orec(op.index) + 16 + 4 * k, "<i", int(rng.integers(-1, 4)))
        elif kind == "scratch" and m.scratch is not None:
            op, t = int(rng.integers(len(m.ops))), m.tensors[pick(self.arena)]
            p.scra(op, t.offset // 64 * 64, 64 * int(rng.integers(1, 4)))
        return kind

    def mutate(self) -> tuple[bytes, str]:
        p = self.p.fork()
        what = ",".join(sorted({self._one(p) for _ in range(int(self.rng.integers(1, 4)))}))
        return p.data(), what


MUTATORS = {"random": Mutator, "contract": ContractMutator, "graph": GraphMutator}
MODEL_NAMES = [*REPO_MODELS, "unrolled", "lstm"]


# ---------------------------------------------------------------- 1. handcrafted files


@pytest.mark.parametrize(("model", "case", "edit", "field"), CASES, ids=[c[1] for c in CASES])
def test_handcrafted_cases_same_verdict(models, model, case, edit, field) -> None:
    p = Patch(models[model])
    out = edit(p)
    data = out if isinstance(out, bytes) else p.data()
    ws, rescan = both(data, p.max_arena)
    assert ws == rescan
    assert (ws is None) == (field is None), ws  # the case's own expectation still holds


# ---------------------------------------------------------------- 2. mutants


def test_mutants_same_verdict(models) -> None:
    codes: Counter = Counter()
    differ = []
    for name in MODEL_NAMES:
        for k, (mutator, cls) in enumerate(MUTATORS.items()):
            mut = cls(models[name], np.random.default_rng(1000 + 10 * MODEL_NAMES.index(name) + k))
            for i in range(MUTANTS):
                data, what = mut.mutate()
                ws, rescan = both(data, check_crc=mutator != "random" or i % 2 == 0)
                if ws != rescan:
                    differ.append((name, mutator, i, what, ws, rescan))
                codes[CODE_NAMES[ws[0]] if ws else "ok"] += 1
    print(dict(codes))
    assert not differ, differ[:5]
    assert GRAPH_CODES <= set(codes), sorted(GRAPH_CODES - set(codes))
    assert codes["ok"] > 0


def test_valid_models_same_verdict(models) -> None:
    for name, data in models.items():
        assert both(data) == (None, None), name


def _swap_tensors(p: Patch, a: int, b: int) -> None:
    """Exchange tensor records a and b, and every OPIO / GRIO reference to them: the same
    graph with the two tensors' indices swapped."""
    ta, tb = p.trec(a), p.trec(b)
    p.buf[ta : ta + 64], p.buf[tb : tb + 64] = p.buf[tb : tb + 64], p.buf[ta : ta + 64]
    for tag in (b"OPIO", b"GRIO"):
        off, size, _ = p.sec[tag]
        for at in range(off, off + size, 4):
            v = p.get(at, "<i")
            p.put(at, "<i", b if v == a else a if v == b else v)


@pytest.mark.parametrize("swap", [False, True])
def test_alias_group_members_in_index_order(swap: bool) -> None:
    """An alias group's span grows as its members are met in index order (group_span): a
    member that starts past the span so far is left out of the group's lifetime when it comes
    before the member that widens the span. Here x [1, 16] (was [1, 64]: RESHAPE's contract,
    which runs later, refuses the size) is RESHAPEd to grid [4, 16] at x's offset, whose row 2
    a SLICE takes at x + 32; `out` is moved to x + 48. With row's index below grid's, row's
    life (which meets out's) is not in the group's, so no overlap; else the overlap. The
    workspace path must do the same."""
    g = TFLiteGraph(description="picoq test group order")
    x = g.input("x", (1, 64), 0.05, 3)
    row = g.slice(g.reshape(x, (4, 16), name="grid"), [2, 0], [1, 16], name="row")
    g.output(g.logistic(row, name="out"))
    p = Patch(convert(g.build()))
    x0 = p.m.tensors[p.tidx("x")].offset
    assert [p.m.tensors[p.tidx(n)].offset - x0 for n in ("grid", "row")] == [0, 32]
    assert p.tidx("grid") < p.tidx("row")
    p.retype_raw("x", 1, (1, 16))
    p.tens("x", "data_size", 16)
    p.tens("out", "data_offset", x0 + 48)
    if swap:
        _swap_tensors(p, p.tidx("grid"), p.tidx("row"))
    ws, rescan = both(p.data())
    assert ws == rescan
    assert (CODE_NAMES[rescan[0]] == "TENSOR_ARENA_OVERLAP") != swap, rescan


# ---------------------------------------------------------------- 3. the C entry point


class WsLib:
    def __init__(self, path):
        lib = ctypes.CDLL(str(path))
        lib.pq_model_validate_ws.argtypes = [
            ctypes.c_char_p,
            ctypes.c_uint32,
            ctypes.c_uint32,
            ctypes.c_uint32,
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.POINTER(CError),
        ]
        lib.pq_model_validate_ws_bytes.argtypes = [ctypes.c_char_p, ctypes.c_uint32]
        lib.pq_model_validate_ws_bytes.restype = ctypes.c_size_t
        self.lib = lib

    def ws_bytes(self, data: bytes) -> int:
        return self.lib.pq_model_validate_ws_bytes(data, len(data))

    def validate(self, data: bytes, ws_bytes: int | None, shift: int = 0) -> tuple:
        """The error with a workspace of ws_bytes at `shift` bytes past an aligned address
        (None: no workspace)."""
        err = CError()
        buf = ctypes.create_string_buffer((ws_bytes or 0) + 8)
        at = None if ws_bytes is None else ctypes.addressof(buf) + shift
        rc = self.lib.pq_model_validate_ws(
            data, len(data), MAX_ARENA, 0, at, ws_bytes or 0, ctypes.byref(err)
        )
        assert rc == err.code
        return (err.code, err.field, err.why, err.param, err.index, err.sub, err.offset, err.value)


@pytest.fixture(scope="module")
def wslib(tmp_path_factory) -> WsLib:
    return WsLib(_build_lib(tmp_path_factory.mktemp("pq_ws") / "libpqws.so", [], SRCS))


def test_short_or_odd_workspace_same_verdict(wslib, models) -> None:
    """One byte short: the rescanning fallback; at an odd address: the tables are aligned
    inside it. Over valid files and a few graph-level refusals."""
    rng = np.random.default_rng(7)
    files = list(models.values())
    for data in list(files):
        mut = GraphMutator(data, rng)
        files += [mut.mutate()[0] for _ in range(5)]
    for data in files:
        n = wslib.ws_bytes(data)
        want = wslib.validate(data, None)
        for size, shift in ((n, 0), (n, 1), (n, 3), (n - 1, 0), (0, 0)):
            assert wslib.validate(data, size, shift) == want, (size, shift)


def test_no_workspace_build_rescans(tmp_path, models) -> None:
    """-DPQ_MODEL_NO_WORKSPACE (firmware's flash saving) compiles the workspace out: the graph
    checks reference none of pq_model_index.c, a lent workspace is ignored, the verdicts are the
    same."""
    core = Path(kernels_dir()) / "src" / "core"
    for flags in ([], ["-DPQ_MODEL_NO_WORKSPACE"]):
        obj = tmp_path / "graph.o"
        cmd = [_gcc(), *STRICT, "-O2", *flags, "-c", str(core / "pq_model_graph.c"), "-o", str(obj)]
        subprocess.run(cmd, check=True)
        nm = subprocess.run(["nm", str(obj)], capture_output=True, text=True, check=True).stdout
        assert ("pqv_index_flow" in nm) == (not flags), nm
    lib = WsLib(_build_lib(tmp_path / "libpqnows.so", ["-DPQ_MODEL_NO_WORKSPACE"], SRCS))
    rng = np.random.default_rng(8)
    for data in models.values():
        mut = GraphMutator(data, rng)
        for m in [data] + [mut.mutate()[0] for _ in range(3)]:
            want = lib.validate(m, None)
            assert lib.validate(m, lib.ws_bytes(m)) == want
            assert want[0] == (both(m)[0] or (0,))[0]


def test_ws_bytes_is_33_a_tensor(wslib, models) -> None:
    """TENS's declared count (33 bytes each, + 7), else the length's bound; garbage is fine."""
    for data in models.values():
        n_tensors = len(Patch(data).m.tensors)
        assert wslib.ws_bytes(data) == 33 * n_tensors + 7
    assert wslib.ws_bytes(b"") == 7 and wslib.ws_bytes(b"\0" * 6400) == 33 * 100 + 7
    data = bytearray(models["tiny_mlp"])
    at = Patch(bytes(data)).sec[b"TENS"][2]
    data[at : at + 4] = b"XXXX"  # no TENS entry: the length's bound
    assert wslib.ws_bytes(bytes(data)) == 33 * (len(data) // 64) + 7
