"""16x8 ADD, MUL, AVERAGE_POOL_2D, MAX_POOL_2D, MEAN, RESHAPE and CONCATENATION against
tflite-micro, byte for byte.

Each case is a one-op 16x8 .tflite (tests/support/tflite_builder.py with
``activations=np.int16``: symmetric int16 tensors, zero point 0) with random shapes,
broadcasts, windows, axes and scales, fed int16 values over the whole range
(``int16_inputs``: the extremes among them), converted by picoq and run on picoq's reference
kernels and on tflite-micro (``check_against_tflm``): TFLM itself is the oracle. The fast
kernels of these variants are then checked against the reference kernels on every isa of the
machine (``run_all``), each case asserting which kernel ran.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_kernels_s16 import check_against_tflm, int16_inputs

from picoq.converter import convert
from picoq.runtime import Interpreter

from support.fast_check import run_all
from support.tflite_builder import RandomLayers, TFLiteGraph

N_CASES = 16
ACTIVATIONS = ["NONE", "NONE", "RELU", "RELU6", "RELU_N1_TO_1"]


def _scale(rng: np.random.Generator) -> float:
    """A symmetric int16 scale: a real range of about 0.03 .. 300 over 32767 steps."""
    return float(np.float32(10 ** rng.uniform(-6, -2)))


def _shape(rng: np.random.Generator, rank: int, hi: int = 9) -> tuple[int, ...]:
    return tuple(int(d) for d in rng.integers(1, hi, rank))


def _broadcast_pair(rng: np.random.Generator) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two shapes that broadcast (rank <= 4, TFLM's broadcast kernels): some dims 1 on one side,
    the second possibly of lower rank."""
    out = _shape(rng, int(rng.integers(1, 5)))
    a = tuple(1 if rng.random() < 0.3 else d for d in out)
    b = tuple(1 if rng.random() < 0.3 else d for d in out)
    return a, b[int(rng.integers(0, len(b))) :] if rng.random() < 0.3 else b


def _graph() -> TFLiteGraph:
    return TFLiteGraph(activations=np.int16)


def _run(g: TFLiteGraph, rng: np.random.Generator, *shapes: tuple[int, ...]) -> np.ndarray:
    return check_against_tflm(g.build(), [int16_inputs(rng, s) for s in shapes])


@pytest.mark.parametrize("seed", range(N_CASES))
def test_add(seed: int) -> None:
    rng = np.random.default_rng(16100 + seed)
    sa, sb = _broadcast_pair(rng)
    s1 = _scale(rng)
    s2 = float(np.float32(s1 * 10 ** rng.uniform(-1, 1)))
    g = _graph()
    a, b = g.input("a", sa, s1, 0), g.input("b", sb, s2, 0)
    out_scale = float(np.float32(max(s1, s2) * rng.uniform(0.3, 2.5)))
    g.output(g.add(a, b, out_scale, 0, activation=str(rng.choice(ACTIVATIONS))))
    _run(g, rng, sa, sb)


@pytest.mark.parametrize("seed", range(4))
def test_add_const(seed: int) -> None:
    """ADD of an activation and an int16 constant operand (RandomLayers.add_const)."""
    rng = np.random.default_rng(16150 + seed)
    shape = _shape(rng, 4)
    g = _graph()
    layers = RandomLayers(g, rng)
    g.output(layers.add_const(layers.input("x", shape, _scale(rng), 0)))
    _run(g, rng, shape)


@pytest.mark.parametrize("seed", range(N_CASES))
def test_mul(seed: int) -> None:
    rng = np.random.default_rng(16200 + seed)
    sa, sb = _broadcast_pair(rng)
    s1, s2 = _scale(rng), _scale(rng)
    g = _graph()
    a, b = g.input("a", sa, s1, 0), g.input("b", sb, s2, 0)
    # the product's real range is about (32767 s1)(32767 s2): an output scale k times its step
    out_scale = float(np.float32(s1 * s2 * 32767 * 10 ** rng.uniform(-1.5, 0.3)))
    g.output(g.mul(a, b, out_scale, 0, activation=str(rng.choice(ACTIVATIONS))))
    _run(g, rng, sa, sb)


def _pool_case(rng: np.random.Generator) -> tuple[tuple[int, ...], dict]:
    shape = (int(rng.integers(1, 3)), *_shape(rng, 2, 10), int(rng.integers(1, 5)))
    filt = (int(rng.integers(1, min(shape[1], 4) + 1)), int(rng.integers(1, min(shape[2], 4) + 1)))
    kw = {
        "filter": filt,
        "stride": (int(rng.integers(1, 4)), int(rng.integers(1, 4))),
        "padding": str(rng.choice(["SAME", "VALID"])),
        "activation": str(rng.choice(ACTIVATIONS)),
    }
    return shape, kw


@pytest.mark.parametrize("seed", range(N_CASES))
@pytest.mark.parametrize("op", ["average_pool2d", "max_pool2d"])
def test_pool(op: str, seed: int) -> None:
    rng = np.random.default_rng(16300 + seed)
    shape, kw = _pool_case(rng)
    g = _graph()
    x = g.input("x", shape, _scale(rng), 0)
    g.output(getattr(g, op)(x, **kw))
    _run(g, rng, shape)


@pytest.mark.parametrize("seed", range(N_CASES))
def test_mean(seed: int) -> None:
    rng = np.random.default_rng(16400 + seed)
    rank = int(rng.integers(1, 5))
    shape = _shape(rng, rank, 8)
    axes = [int(a) for a in rng.choice(rank, int(rng.integers(1, rank + 1)), replace=False)]
    axes = [a - rank if rng.random() < 0.3 else a for a in axes]  # TFLite allows negative axes
    s_in = _scale(rng)
    # the same scale (global average pooling's usual case) or another one
    s_out = s_in if seed % 3 == 0 else float(np.float32(s_in * 10 ** rng.uniform(-1, 0.5)))
    g = _graph()
    x = g.input("x", shape, s_in, 0)
    g.output(g.mean(x, axes, s_out, 0, keep_dims=bool(rng.integers(0, 2))))
    _run(g, rng, shape)


@pytest.mark.parametrize("seed", range(4))
def test_reshape(seed: int) -> None:
    rng = np.random.default_rng(16500 + seed)
    shape = _shape(rng, 4)
    new = list(rng.permutation(shape))
    g = _graph()
    x = g.input("x", shape, _scale(rng), 0)
    # a reshape between two ops (a graph input's reshape alone may alias the input bytes)
    y = g.reshape(g.max_pool2d(x, 1, 1), [*new[:-1], -1])
    g.output(g.max_pool2d(g.reshape(y, shape), 1, 1))
    _run(g, rng, shape)


@pytest.mark.parametrize("seed", range(N_CASES))
def test_concatenation(seed: int) -> None:
    rng = np.random.default_rng(16600 + seed)
    rank = int(rng.integers(1, 5))  # TFLM concatenates tensors of rank <= 4
    base = _shape(rng, rank)
    axis = int(rng.integers(0, rank))
    shapes = [tuple(int(rng.integers(1, 5)) if d == axis else n for d, n in enumerate(base))]
    shapes += [
        tuple(int(rng.integers(1, 5)) if d == axis else n for d, n in enumerate(base))
        for _ in range(int(rng.integers(1, 4)))
    ]
    scale = _scale(rng)
    g = _graph()
    xs = [g.input(f"x{k}", s, scale, 0) for k, s in enumerate(shapes)]
    g.output(g.concatenation(xs, axis - rank if rng.random() < 0.3 else axis))
    _run(g, rng, *shapes)


def test_concatenation_of_other_scales_is_named() -> None:
    """TFLM's int16 CONCATENATION copies raw values whatever their scales (it keeps none): picoq
    refuses inputs off the output's scale rather than copy or requantize them."""
    g = _graph()
    a, b = g.input("a", (1, 4), 0.01, 0), g.input("b", (1, 4), 0.02, 0)
    g.output(g.concatenation([a, b], 1, 0.02, 0))
    with pytest.raises(ValueError, match="must share the output's scale"):
        convert(g.build())


def test_ops_are_s16_variants() -> None:
    """Each op runs its 16x8 kernel, not the int8 one reading int16 bytes."""
    g = _graph()
    x = g.input("x", (1, 4, 4, 2), 0.001, 0)
    y = g.add(x, g.max_pool2d(x, 1, 1), 0.002, 0)
    y = g.mul(g.average_pool2d(y, 2, 2), g.average_pool2d(x, 2, 2), 0.01, 0)
    y = g.concatenation([g.reshape(y, (1, 8)), g.mean(y, [1, 2], 0.01, 0, keep_dims=False)], 1)
    g.output(y)
    m = Interpreter(convert(g.build())).model
    assert {op.name: op.kernel for op in m.ops} == {
        "ADD": "pq_add_s16",
        "MAX_POOL_2D": "pq_max_pool2d_s16",
        "AVERAGE_POOL_2D": "pq_avg_pool2d_s16",
        "MUL": "pq_mul_s16",
        "RESHAPE": "pq_reshape_s16",
        "MEAN": "pq_mean_s16",
        "CONCATENATION": "pq_concatenation_s16",
    }


# *** fast kernels: kernels="fast" on every isa gives the reference kernels' bytes ***


def _fast(g: TFLiteGraph, rng: np.random.Generator, *shapes: tuple[int, ...]) -> list[str]:
    """The fast kernels' names after run_all checked them byte for byte on 3 random inputs."""
    xs = [[int16_inputs(rng, s) for s in shapes] for _ in range(3)]
    return run_all(convert(g.build()), [x if len(x) > 1 else x[0] for x in xs])


BROADCASTS = [
    ((1, 9, 9, 40), (1, 1, 1, 40)),  # squeeze-excitation
    ((3, 5, 7, 33), (33,)),  # a bias vector, rank 1
    ((1, 1, 1, 5), (2, 3, 4, 5)),  # the small input first
    ((2, 1, 4, 1), (1, 3, 1, 5)),  # each broadcast along alternate dims
    ((2, 450), (2, 1)),  # one value per row
    ((4, 1, 6), (4, 7, 6)),  # along the middle dim
    ((1,), (1,)),
]


def test_add_input_scaling_without_64_bit_products_is_exact(tmp_path) -> None:
    """pq_srdhm_x15 (the fast int16 ADD's input scaling) equals pq_srdhm_vec(x * 2^15, m) for
    every int16 x, at 15 edge multipliers and 200 random ones: an error of one there would
    seldom reach an output byte (the ADD keeps 15 bits more than its output), so the identity
    is checked where it is computed."""
    import shutil
    import subprocess
    from pathlib import Path

    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc, "a C compiler is needed (the extension build needed one too)"
    root = Path(__file__).resolve().parents[1]
    exe = tmp_path / "srdhm_x15_check"
    build = subprocess.run(
        [cc, "-O2", "-std=c99", "-Wall", "-Werror", "-I", str(root / "runtime/kernels/include"),
         str(root / "tests/c/srdhm_x15_check.c"), "-o", str(exe)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    ms = np.random.default_rng(17).integers(0, 2**31, 200)
    r = subprocess.run([str(exe), *map(str, ms)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f"OK {65536 * 215}", r.stdout


@pytest.mark.parametrize("seed", range(6))
def test_add_fast_at_the_int16_extremes(seed: int) -> None:
    """The fast ADD scales its int16 inputs without 64-bit products at TFLM's left shift of 15
    (x * mh + ((x * ml + 2^15) >> 16)): every input at -32768, 32767 or the values next to
    them and to 0, 60 scale pairs (multipliers with all sorts of low 16 bits)."""
    rng = np.random.default_rng(16900 + seed)
    edges = np.array([-32768, -32767, -1, 0, 1, 32766, 32767], np.int16)
    for _ in range(10):
        s1, s2 = _scale(rng), _scale(rng)
        g = _graph()
        a, b = g.input("a", (7, 7), s1, 0), g.input("b", (7, 7), s2, 0)
        g.output(g.add(a, b, float(np.float32(max(s1, s2) * rng.uniform(1.0, 3.0))), 0))
        xs = [[np.repeat(edges, 7).reshape(7, 7), np.tile(edges, 7).reshape(7, 7)]]
        assert run_all(convert(g.build()), xs) == ["fast-add-s16"]


@pytest.mark.parametrize("op", ["add", "mul"])
@pytest.mark.parametrize("case", range(len(BROADCASTS) + 4))
def test_binary_fast_equals_reference(op: str, case: int) -> None:
    rng = np.random.default_rng(16700 + case)
    sa, sb = BROADCASTS[case] if case < len(BROADCASTS) else _broadcast_pair(rng)
    s1, s2 = _scale(rng), _scale(rng)
    g = _graph()
    a, b = g.input("a", sa, s1, 0), g.input("b", sb, s2, 0)
    out = max(s1, s2) * 1.5 if op == "add" else s1 * s2 * 32767 * 0.3
    g.output(getattr(g, op)(a, b, float(np.float32(out)), 0, activation=str(rng.choice(ACTIVATIONS))))
    assert _fast(g, rng, sa, sb) == [f"fast-{op}-s16"]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("op", ["average_pool2d", "max_pool2d"])
def test_pool_fast_equals_reference(op: str, seed: int) -> None:
    rng = np.random.default_rng(16800 + seed)
    shape, kw = _pool_case(rng)
    shape = (*shape[:3], int(rng.integers(1, 40)))  # channel rows off the vector widths
    g = _graph()
    g.output(getattr(g, op)(g.input("x", shape, _scale(rng), 0), **kw))
    assert _fast(g, rng, shape) == ["fast-avgpool-s16" if op == "average_pool2d" else "fast-maxpool-s16"]


@pytest.mark.parametrize(
    "shape,axes,kernel",
    [
        ((2, 7, 9, 24), [1, 2], "fast-mean-s16"),  # global average pooling
        ((3, 50), [-1], "fast-mean-s16"),
        ((5, 1, 6, 4), [0, 2], "fast-mean-s16"),  # a kept dim of extent 1 between: still one block
        ((4, 6, 5), [0], "fast-mean-s16"),
        ((4, 6, 5), [0, 1, 2], "fast-mean-s16"),
        ((4, 6, 5), [0, 2], "reference"),  # a kept dim inside: the reference kernel
    ],
)
def test_mean_fast_equals_reference(shape: tuple[int, ...], axes: list[int], kernel: str) -> None:
    rng = np.random.default_rng(sum(shape))
    s_in = _scale(rng)
    g = _graph()
    g.output(g.mean(g.input("x", shape, s_in, 0), axes, float(np.float32(s_in * 0.7)), 0, keep_dims=False))
    assert _fast(g, rng, shape) == [kernel]


@pytest.mark.parametrize("seed", range(4))
def test_concatenation_and_reshape_fast_equal_reference(seed: int) -> None:
    rng = np.random.default_rng(16900 + seed)
    shapes = [(2, 3, int(rng.integers(1, 6)), 5) for _ in range(3)]
    g = _graph()
    xs = [g.input(f"x{k}", s, 0.001, 0) for k, s in enumerate(shapes)]
    y = g.concatenation([g.max_pool2d(x, 1, 1) for x in xs], 2)
    g.output(g.reshape(y, (6, -1)))
    kernels = _fast(g, rng, *shapes)
    assert kernels[3:] == ["fast-concat-s16", "alias"]


def test_add_with_a_left_shifting_output_keeps_the_reference() -> None:
    """An output scale below max(s1, s2) / 16384 makes ADD's output multiplier shift left (TFLM
    itself refuses it in Prepare): the fast plan leaves such a file to the reference kernel."""
    rng = np.random.default_rng(7)
    g = _graph()
    a, b = g.input("a", (2, 30), 0.01, 0), g.input("b", (2, 30), 0.02, 0)
    g.output(g.add(a, b, 0.02 / 50000, 0))
    assert _fast(g, rng, (2, 30), (2, 30)) == ["reference"]
