"""SLICEs that take one contiguous run of their input (an LSTM's gates, a row of a sequence)
share their input's arena bytes: the plan puts the output on the run's own bytes, the fast hook
and the exported C then move nothing, and the validator allows exactly that overlap.

Oracles: numpy slicing of the input for the values, the plan's offsets for where they sit, and
hand-edited files for what the validator refuses."""

from __future__ import annotations

import numpy as np
import pytest
from test_validator import Patch

from picoq.converter import convert, load
from picoq.converter.graph import Graph
from picoq.converter.plan import _plan, plan_arena
from picoq.runtime import Interpreter, ModelFormatError, read_model

from support.fast_check import run_all
from support.tflite_builder import TFLiteGraph

# (begin, size) on a [4, 64] input; what the plan does with each box, and why
BOXES = {
    "row": ([1, 0], [1, 64]),  # a whole row: one run at 64 values
    "part of a row": ([2, 16], [1, 32]),  # one run at 144 values (16-aligned in both dtypes)
    "misaligned run": ([0, 3], [1, 16]),  # one run, but at 3 values: not 16-aligned
    "two rows' heads": ([0, 0], [2, 8]),  # not one run
}
ALIASED = {"row": 64, "part of a row": 2 * 64 + 16}  # the run's first value


def _model(dtype) -> tuple[bytes, list[str]]:
    g = TFLiteGraph(activations=dtype)
    x = g.input("x", (4, 64), 0.05, 0 if dtype == np.int16 else 3)
    for name, (begin, size) in BOXES.items():
        g.output(g.slice(x, begin, size, name=name))
    return convert(g.build()), list(BOXES)


def _inputs(rng: np.random.Generator, dtype) -> list[np.ndarray]:
    info = np.iinfo(dtype)
    return [rng.integers(info.min, info.max + 1, (4, 64), dtype=dtype) for _ in range(3)]


@pytest.mark.parametrize("dtype", [np.int8, np.int16])
def test_a_contiguous_aligned_box_shares_its_inputs_bytes(dtype) -> None:
    data, names = _model(dtype)
    m = read_model(data)
    x = next(t for t in m.tensors if t.name == "x")
    elem = np.dtype(dtype).itemsize
    for name in names:
        t = next(t for t in m.tensors if t.name == name)
        if name in ALIASED:
            assert t.offset == x.offset + ALIASED[name] * elem, name
        else:  # its own bytes, outside the input's
            assert t.offset >= x.offset + x.nbytes or t.offset + t.nbytes <= x.offset, name
    kernels = run_all(data, _inputs(np.random.default_rng(1), dtype))
    assert kernels == ["alias" if n in ALIASED else "fast-slice" for n in names]


@pytest.mark.parametrize("kernels", ["reference", "fast"])
@pytest.mark.parametrize("dtype", [np.int8, np.int16])
def test_every_box_holds_the_numpy_slice(dtype, kernels: str) -> None:
    data, names = _model(dtype)
    it = Interpreter(data, kernels=kernels)
    for v in _inputs(np.random.default_rng(2), dtype):
        outs = it.run(v)
        for name, got in zip(names, outs, strict=True):
            begin, size = BOXES[name]
            want = v[begin[0] : begin[0] + size[0], begin[1] : begin[1] + size[1]]
            np.testing.assert_array_equal(got, want, err_msg=name)


def test_slices_of_reshapes_of_slices_chain_into_one_group() -> None:
    """[8, 32] -> row 5 -> [4, 8] -> its rows 2..3: two runs deep, on the input's bytes."""
    g = TFLiteGraph()
    x = g.input("x", (8, 32), 0.05, 3)
    row = g.slice(x, [5, 0], [1, 32], name="row")
    grid = g.reshape(row, (4, 8), name="grid")
    g.output(g.slice(grid, [2, 0], [2, 8], name="tail"))
    data = convert(g.build())
    m = read_model(data)
    off = {t.name: t.offset for t in m.tensors if not t.is_const}
    assert off["row"] == off["grid"] == off["x"] + 5 * 32 and off["tail"] == off["row"] + 16
    v = np.random.default_rng(3).integers(-128, 128, (8, 32), dtype=np.int8)
    for kernels in ("reference", "fast"):
        np.testing.assert_array_equal(Interpreter(data, kernels=kernels).run(v), v[5].reshape(4, 8)[2:])
    assert run_all(data, [v]) == ["alias", "alias", "alias"]


@pytest.mark.parametrize("dtype", [np.int8, np.int16])
def test_the_validator_refuses_a_box_off_its_run(dtype) -> None:
    """Inside its input's bytes but not at its run (16 bytes on), or a box that is not one run
    moved inside its input: both overlap a live tensor, refused before any kernel runs."""
    data, _ = _model(dtype)
    for name, delta in (("row", 16), ("row", -16), ("two rows' heads", None)):
        p = Patch(data)
        x = p.m.tensors[p.tidx("x")]
        p.tens(
            name, "data_offset", x.offset + 16 if delta is None else p.m.tensors[p.tidx(name)].offset + delta
        )
        with pytest.raises(ModelFormatError, match="overlap"):
            read_model(p.data())


def test_the_validator_refuses_a_run_past_its_begin() -> None:
    """The run's offset comes from the op's begins, which the op's contract checks only after
    the plan: begins (0, 64) of a [4, 64] input would put the box's run exactly where row 1's
    output sits, but the box is outside the input, so it is no alias: an overlap."""
    data, _ = _model(np.int8)
    p = Patch(data)
    p.param(0, "begin_0", 0)  # op 0 is the "row" SLICE
    p.param(0, "begin_1", 64)
    with pytest.raises(ModelFormatError, match="overlap"):
        read_model(p.data())


def test_aliasing_never_grows_the_arena() -> None:
    """A small slice read late keeps its large input live: the plan then keeps the copy."""
    g = TFLiteGraph()
    x = g.input("x", (1, 1024), 0.05, 3)
    head = g.slice(x, [0, 0], [1, 16], name="head")
    a = g.add(x, x, 0.1, 0, name="a")
    b = g.add(a, a, 0.2, 0, name="b")
    c = g.add(b, b, 0.4, 0, name="c")
    g.output(g.concatenation([g.slice(c, [0, 0], [1, 16]), head], 1, name="out"))
    graph: Graph = load(g.build())
    plain, _ = _plan(graph, slices=False)
    aliased, _ = _plan(graph, slices=True)
    assert aliased > plain  # x would live to the end beside a, b, c
    assert plan_arena(graph) == plain
