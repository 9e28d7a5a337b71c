"""16x8 kernels (int16 activations, int8 weights) against tflite-micro, byte for byte.

Every case builds a one-op (or small) 16x8 .tflite with tests/support/tflite_builder.py
(``TFLiteGraph(activations=np.int16)``: symmetric int16 activations, zero point 0, int64
biases), converts it with picoq and runs it on picoq's reference kernels and on tflite-micro:
the oracle is TFLM itself. Inputs span the whole int16 range, so the int64 accumulators and
the Q15-rounded requantization (pq_mbqm64) are exercised at their extremes.
"""

from __future__ import annotations

import numpy as np
import pytest

from picoq.converter import convert
from picoq.runtime import Interpreter

from support.tflite_builder import RandomLayers, TFLiteGraph
from support.tflm_oracle import TFLMRunner, edge_inputs

N_CASES = 30


def int16_inputs(rng: np.random.Generator, shape) -> np.ndarray:
    """Random int16 values of ``shape``, the extremes (-32768, -1, 0, 32767) among them."""
    return edge_inputs(rng, shape, np.int16)


def check_against_tflm(tfl: bytes, inputs: list[np.ndarray]) -> np.ndarray:
    """picoq's output == tflite-micro's, byte for byte; returns it."""
    arena = 65536 + 8 * sum(x.nbytes for x in inputs)
    want = TFLMRunner(tfl, arena_size=arena).run(inputs)[0]
    it = Interpreter(convert(tfl), kernels="reference")
    got = it.run(inputs if len(inputs) > 1 else inputs[0])
    assert got.dtype == np.int16 and got.shape == want.shape
    np.testing.assert_array_equal(got, want, err_msg="picoq disagrees with tflite-micro")
    return got


def _not_degenerate(y: np.ndarray) -> None:
    """A case whose output is one saturated value would compare nothing of the arithmetic."""
    assert np.unique(y).size > min(4, y.size // 2), np.unique(y)


@pytest.mark.parametrize("seed", range(N_CASES))
def test_fully_connected(seed: int) -> None:
    rng = np.random.default_rng(16000 + seed)
    rows, depth, units = int(rng.integers(1, 4)), int(rng.integers(1, 70)), int(rng.integers(1, 40))
    g = TFLiteGraph(activations=np.int16)
    layers = RandomLayers(g, rng)
    x = layers.input("x", (rows, depth), float(rng.uniform(1e-4, 1e-2)), 0)
    act = str(rng.choice(["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]))
    y = layers.fully_connected(x, units, activation=act, bias=bool(rng.integers(0, 4)))
    g.output(y)
    out = check_against_tflm(g.build(), [int16_inputs(rng, (rows, depth))])
    if act == "NONE" and out.size >= 8:
        _not_degenerate(out)


def test_fully_connected_model_is_the_s16_variant() -> None:
    """The op runs the 16x8 kernel (not the int8 one reading int16 bytes), with an int64 bias."""
    rng = np.random.default_rng(5)
    g = TFLiteGraph(activations=np.int16)
    layers = RandomLayers(g, rng)
    g.output(layers.fully_connected(layers.input("x", (1, 16), 0.001, 0), 8))
    m = Interpreter(convert(g.build())).model
    (op,) = m.ops
    assert (op.variant, op.kernel) == ("s16", "pq_fully_connected_s16")
    assert [m.tensors[t].dtype for t in op.inputs[:3]] == ["int16", "int8", "int64"]


def test_int16_op_without_a_16x8_kernel_is_named() -> None:
    """An int16 op picoq has no 16x8 kernel for is one named conversion problem, not a file the
    loader refuses."""
    g = TFLiteGraph(activations=np.int16)
    x = g.input("x", (1, 4, 4, 2), 0.01, 0)
    g.output(g.hard_swish(x, 0.01, 0))  # TFLite has no int16 HARD_SWISH either
    with pytest.raises(ValueError, match="no HARD_SWISH kernel for int16"):
        convert(g.build())


# *** data movement: TRANSPOSE, PAD, SLICE (the int8 kernels on the bytes) ***


def _shape(rng: np.random.Generator, rank: int) -> tuple[int, ...]:
    return tuple(int(d) for d in rng.integers(1, 6, rank))


@pytest.mark.parametrize("seed", range(12))
def test_transpose(seed: int) -> None:
    rng = np.random.default_rng(16100 + seed)
    rank = int(rng.integers(1, 6))  # TFLM's TRANSPOSE stops at rank 5
    shape = _shape(rng, rank)
    perm = [int(p) for p in rng.permutation(rank)]
    g = TFLiteGraph(activations=np.int16)
    g.output(g.transpose(g.input("x", shape, 0.01, 0), perm))
    check_against_tflm(g.build(), [int16_inputs(rng, shape)])


@pytest.mark.parametrize("seed", range(12))
def test_pad(seed: int) -> None:
    rng = np.random.default_rng(16200 + seed)
    rank = int(rng.integers(1, 6))
    shape = _shape(rng, rank)
    pads = [[int(a), int(b)] for a, b in rng.integers(0, 3, (rank, 2))]
    g = TFLiteGraph(activations=np.int16)
    g.output(g.pad(g.input("x", shape, 0.01, 0), pads))
    check_against_tflm(g.build(), [int16_inputs(rng, shape)])


@pytest.mark.parametrize("seed", range(12))
def test_slice(seed: int) -> None:
    rng = np.random.default_rng(16300 + seed)
    rank = int(rng.integers(1, 6))
    shape = _shape(rng, rank)
    begin = [int(rng.integers(0, d)) for d in shape]
    size = [int(rng.integers(1, d - b + 1)) for d, b in zip(shape, begin)]
    g = TFLiteGraph(activations=np.int16)
    g.output(g.slice(g.input("x", shape, 0.01, 0), begin, size))
    check_against_tflm(g.build(), [int16_inputs(rng, shape)])


# *** the 16x8 variants of the MLPerf Tiny models ***


@pytest.mark.parametrize("name", ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8"])
def test_mlperf_tiny_16x8_bit_exact_with_tflite_micro(name: str) -> None:
    """The 16x8 variant of each MLPerf Tiny model (tests/support/tflite_variants.py: int16
    activations covering each int8 tensor's range, int64 biases): every op runs its s16 kernel,
    fast and reference both == tflite-micro on full-range int16 inputs."""
    from conftest import mlperf_path
    from support.tflite_variants import derive_variant

    tfl = derive_variant(mlperf_path(name).read_bytes(), activations="int16")
    data = convert(tfl)
    fast, ref = Interpreter(data), Interpreter(data, kernels="reference")
    assert {op.variant for op in fast.model.ops} == {"s16"}
    oracle = TFLMRunner(tfl, arena_size=4_000_000)
    rng = np.random.default_rng(sum(name.encode()))
    shape = fast.input_details[0]["shape"]
    outputs = set()
    for k in range(12):
        x = int16_inputs(rng, shape)
        (want,) = oracle.run([x])
        np.testing.assert_array_equal(fast.run(x), want, err_msg=f"{name}: picoq disagrees with tflite-micro")
        if k < 3:
            np.testing.assert_array_equal(ref.run(x), want, err_msg=f"{name}: reference kernels disagree")
        outputs.add(want.tobytes())
    assert len(outputs) > 1
