"""The data-movement ops' fast kernels give the reference kernels' bytes, on every instruction set.

CONCATENATION, PAD, TRANSPOSE and RESHAPE (src/fast/pq_{concatenation,pad,transpose}_s8_fast.c,
pq_reshape_s8_fast_op.c) as tests/test_fast_kernels.py checks the others: one-op int8 .tflite
models built with tests/support/tflite_builder.py, converted, run with the reference kernels
and with the fast kernels on every ISA supported_isas() reports, byte for byte, with the fast
kernel asserted in op_kernels so no case passes by falling back. Cases are random: ranks 1 to 6,
size-1 dims, every axis and permutation, zero-size and one-sided pads, PADV2 constants, up to
64 concatenated inputs with their own scales and zero points or the output's (copied), and
every int8 value among the inputs of a requantized one.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from picoq.converter import convert
from picoq.converter.compare import graph_from_model
from picoq.converter.plan import plan_arena
from picoq.converter.writer import to_bytes
from picoq.runtime import Interpreter, read_model

from support.fast_check import run_all
from support.models import in_qparams
from support.tflite_builder import TFLiteGraph


def _shape(rng, rank: int, hi: int = 7) -> tuple[int, ...]:
    """Dims of 1 (merged away by the kernels) as often as not."""
    return tuple(int(rng.choice([1, int(rng.integers(1, hi + 1))])) for _ in range(rank))


def _inputs(rng, shapes: list[tuple[int, ...]], n: int = 2) -> list[list[np.ndarray]]:
    """n sets of random inputs; the first holds every int8 value where it fits."""
    sets = [[rng.integers(-128, 128, s, dtype=np.int8) for s in shapes] for _ in range(n)]
    for x in sets[0]:
        x.flat[:] = np.resize(rng.permutation(np.arange(-128, 128, dtype=np.int8)), x.size)
    return sets


@pytest.mark.parametrize("seed", range(30))
def test_concatenation_fast_equals_reference(seed: int) -> None:
    """Inputs on the output's quantization (memcpy) mixed with requantized ones (tables), any
    axis (negative too), 2 to 12 inputs, and 64 (the format's most) every 10th case."""
    rng = np.random.default_rng(70_000 + seed)
    rank = int(rng.integers(1, 6))
    axis = int(rng.integers(-rank, rank))
    n = 64 if seed % 10 == 9 else int(rng.integers(2, 13))
    base = _shape(rng, rank, 6 if n < 20 else 3)
    out_s, out_zp = in_qparams(rng)
    mode = seed % 3  # all on the output's quantization, all requantized, mixed
    g = TFLiteGraph()
    xs, shapes = [], []
    for k in range(n):
        shape = list(base)
        shape[axis] = int(rng.integers(1, 5))
        s, zp = (out_s, out_zp) if mode == 0 or (mode == 2 and rng.integers(0, 2)) else in_qparams(rng)
        xs.append(g.input(f"x{k}", shape, s, zp))
        shapes.append(tuple(shape))
    g.output(g.concatenation(xs, axis, out_s, out_zp))
    assert run_all(convert(g.build()), _inputs(rng, shapes)) == ["fast-concat"]


@pytest.mark.parametrize("seed", range(30))
def test_pad_fast_equals_reference(seed: int) -> None:
    """Ranks 1 to 6, pads of 0 to 3 on each side of each dim (all zero sometimes), PAD (the zero
    point) and PADV2 (a constant)."""
    rng = np.random.default_rng(80_000 + seed)
    rank = int(rng.integers(1, 7))
    shape = _shape(rng, rank)
    pads = rng.integers(0, 4, (rank, 2)) * rng.integers(0, 2, (rank, 2))
    if seed % 7 == 0:
        pads[:] = 0
    s, zp = in_qparams(rng)
    g = TFLiteGraph()
    x = g.input("x", shape, s, zp)
    g.output(g.pad(x, pads.tolist(), constant=None if seed % 2 else int(rng.integers(-128, 128))))
    assert run_all(convert(g.build()), _inputs(rng, [shape])) == ["fast-pad"]


# Real models' permutations: NHWC <-> NCHW, ShuffleNet's channel shuffle, a 2-D transpose.
NAMED = [
    ((1, 64, 32, 32), (0, 2, 3, 1)),
    ((2, 9, 7, 24), (0, 3, 1, 2)),
    ((1, 28, 28, 2, 58), (0, 1, 2, 4, 3)),
    ((1, 14, 14, 4, 29), (0, 1, 2, 4, 3)),
    ((3, 5, 3, 19), (0, 1, 3, 2)),
    ((37, 70), (1, 0)),
    ((1, 100, 1, 3), (0, 3, 2, 1)),
]


@pytest.mark.parametrize("seed", range(40 + len(NAMED)))
def test_transpose_fast_equals_reference(seed: int) -> None:
    """The permutations models use, then random ones of rank 1 to 6 (every plan mode: one copy,
    contiguous runs, 2-D tiles under an odometer; tiles past the 32-byte side)."""
    rng = np.random.default_rng(90_000 + seed)
    if seed < len(NAMED):
        shape, perm = NAMED[seed]
    else:
        rank = int(rng.integers(1, 7))
        shape = _shape(rng, rank, 40 if rank <= 2 else (12 if rank <= 4 else 5))
        perm = tuple(int(p) for p in rng.permutation(rank))
    s, zp = in_qparams(rng)
    g = TFLiteGraph()
    g.output(g.transpose(g.input("x", shape, s, zp), perm))
    assert run_all(convert(g.build()), _inputs(rng, [shape])) == ["fast-transpose"]


def test_transpose_every_permutation_of_rank_4() -> None:
    """All 24 permutations of one shape without size-1 dims, in one model."""
    rng = np.random.default_rng(5)
    shape = (3, 5, 2, 7)
    g = TFLiteGraph()
    x = g.input("x", shape, 0.1, 0)
    g.output(*(g.transpose(x, p) for p in itertools.permutations(range(4))))
    assert (
        run_all(convert(g.build()), [rng.integers(-128, 128, shape, dtype=np.int8)])
        == ["fast-transpose"] * 24
    )


def _reshape_model(shape: tuple[int, ...], new_shape: tuple[int, ...]) -> bytes:
    g = TFLiteGraph()
    x = g.input("x", shape, 0.05, -3)
    g.output(g.max_pool2d(g.reshape(g.max_pool2d(x, 1, 1), new_shape), 1, 1))
    return convert(g.build())


def test_reshape_is_an_alias_of_its_input() -> None:
    """The converter's plan gives a RESHAPE's output its input's bytes: nothing moves."""
    rng = np.random.default_rng(6)
    model = _reshape_model((1, 7, 7, 256), (1, 49, 16, 16))
    xs = [rng.integers(-128, 128, (1, 7, 7, 256), dtype=np.int8) for _ in range(2)]
    assert run_all(model, xs) == ["fast-maxpool", "alias", "fast-maxpool"]


def test_reshape_copies_when_the_file_plans_other_bytes() -> None:
    """A file (planned elsewhere) that puts the output in its own bytes: one copy."""
    rng = np.random.default_rng(7)
    g = graph_from_model(read_model(_reshape_model((2, 3, 5, 4), (1, 6, 5, 4))))
    plan_arena(g)
    (reshape,) = (op for op in g.ops if op.name == "RESHAPE")
    y = g.tensors[reshape.outputs[0]]
    assert y.offset == g.tensors[reshape.inputs[0]].offset
    y.offset = (g.arena_size + 15) // 16 * 16
    g.arena_size = (y.offset + y.nbytes + 15) // 16 * 16
    model = to_bytes(g)
    assert Interpreter(model).model.tensors[reshape.outputs[0]].offset == y.offset
    xs = [rng.integers(-128, 128, (2, 3, 5, 4), dtype=np.int8) for _ in range(2)]
    assert run_all(model, xs) == ["fast-maxpool", "fast-copy", "fast-maxpool"]
