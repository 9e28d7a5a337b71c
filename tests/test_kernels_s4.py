"""int4 weights (s4: int8 activations, packed int4 filters) against tflite-micro, byte for byte.

One-op models come from tests/support/tflite_builder.py (``RandomLayers(weights="int4")``:
symmetric [-7, 7] weights written as TFLite's packed INT4 tensor); the MLPerf Tiny models are
rewritten to int4 weights by tests/support/tflite_variants.py. TFLM unpacks INT4 filters and
runs its int8 reference kernels: the oracle is TFLM itself. Odd element counts put the last
weight alone in a byte, the case a packing-order or indexing bug shows on first.
"""

from __future__ import annotations

import numpy as np
import pytest

from picoq.converter import convert
from picoq.runtime import Interpreter

from conftest import mlperf_path
from support.fast_check import run_all
from support.tflite_builder import RandomLayers, TFLiteGraph
from support.tflite_variants import derive_variant
from support.tflm_oracle import TFLMRunner, edge_inputs

N_CASES = 12
MLPERF_TINY = ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8"]
N_MODEL_INPUTS = 100


def int8_inputs(rng: np.random.Generator, shape) -> np.ndarray:
    """Random int8 values of ``shape``, the extremes among them."""
    return edge_inputs(rng, shape, np.int8)


def check_against_tflm(tfl: bytes, inputs: list[np.ndarray]) -> Interpreter:
    """picoq's output == tflite-micro's, byte for byte, on every op s4; the fast kernels (the
    int8 ones on the filter unpacked at prepare) on every ISA == the reference kernels."""
    want = TFLMRunner(tfl, arena_size=1 << 20).run(inputs)[0]
    picoq = convert(tfl)
    it = Interpreter(picoq, kernels="reference")
    assert {op.variant for op in it.model.ops} == {"s4"}
    got = it.run(inputs[0])
    np.testing.assert_array_equal(got, want, err_msg="picoq disagrees with tflite-micro")
    assert np.unique(got).size > 1  # a constant output would compare none of the arithmetic
    assert all(k.startswith("fast-") for k in run_all(picoq, inputs))
    return it


def _graph(rng: np.random.Generator, shape) -> tuple[TFLiteGraph, RandomLayers, object]:
    g = TFLiteGraph()
    layers = RandomLayers(g, rng, weights="int4")
    zp = int(rng.integers(-20, 20))
    return g, layers, layers.input("x", shape, float(rng.uniform(0.01, 0.05)), zp)


@pytest.mark.parametrize("seed", range(N_CASES))
def test_conv2d(seed: int) -> None:
    rng = np.random.default_rng(4000 + seed)
    cin, cout = int(rng.integers(1, 8)), int(rng.integers(1, 10))
    k = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    dil = int(rng.integers(1, 3))
    span = [dil * (kk - 1) + 1 for kk in k]
    shape = (1 + seed % 2, int(rng.integers(span[0], 10)), int(rng.integers(span[1], 10)), cin)
    g, layers, x = _graph(rng, shape)
    padding = str(rng.choice(["SAME", "VALID"]))
    stride = int(rng.integers(1, 3))
    act = str(rng.choice(["NONE", "RELU", "RELU6"]))
    y = layers.conv2d(
        x, cout, k, stride=stride, dilation=dil, padding=padding, activation=act, bias=seed % 4 != 3
    )
    g.output(y)
    check_against_tflm(g.build(), [int8_inputs(rng, shape)])


def test_grouped_conv2d() -> None:
    """Two groups: output channels 0..2 read input channels 0..1, 3..5 read 2..3 (filter
    [6, 3, 3, 2]: 108 values)."""
    rng = np.random.default_rng(9)
    g = TFLiteGraph()
    x = g.input("x", (1, 5, 5, 4), 0.02, 3)
    w = g.const_int4("w", rng.integers(-7, 8, (6, 3, 3, 2)), rng.uniform(0.005, 0.02, 6).tolist())
    b = g.const_int32("b", rng.integers(-300, 300, 6), [0.02 * s for s in w.scales])
    g.output(g.conv2d(x, w, b, 0.01, -4))
    check_against_tflm(g.build(), [int8_inputs(rng, (1, 5, 5, 4))])


@pytest.mark.parametrize("seed", range(N_CASES))
def test_depthwise_conv2d(seed: int) -> None:
    rng = np.random.default_rng(4100 + seed)
    cin, mult = int(rng.integers(1, 6)), int(rng.integers(1, 4))
    shape = (1, int(rng.integers(5, 9)), int(rng.integers(5, 9)), cin)
    g, layers, x = _graph(rng, shape)
    k = int(rng.choice([1, 3]))
    dil = int(rng.integers(1, 3))
    y = layers.depthwise_conv2d(
        x, k, depth_multiplier=mult, dilation=dil, padding=str(rng.choice(["SAME", "VALID"]))
    )
    g.output(y)
    check_against_tflm(g.build(), [int8_inputs(rng, shape)])


@pytest.mark.parametrize("seed", range(N_CASES))
def test_fully_connected(seed: int) -> None:
    rng = np.random.default_rng(4200 + seed)
    rows, depth, units = int(rng.integers(1, 4)), int(rng.integers(1, 70)), int(rng.integers(2, 40))
    g, layers, x = _graph(rng, (rows, depth))
    act = str(rng.choice(["NONE", "RELU"]))
    g.output(layers.fully_connected(x, units, activation=act, bias=seed % 3 != 2))
    check_against_tflm(g.build(), [int8_inputs(rng, (rows, depth))])


def _fc_model(as_int8: bool) -> bytes:
    """A per-channel FC with [-7, 7] weights, stored as INT4 or (``as_int8``) as INT8."""
    rng = np.random.default_rng(42)  # the same draws for both: only the weights' storage differs
    g, layers, x = _graph(rng, (3, 29))
    if as_int8:
        layers._weights_const = lambda name, w, s, axis: g.const_int8(name, w, s, quantized_dimension=axis)
    g.output(layers.fully_connected(x, 11, per_channel=True))
    return g.build()


def test_per_channel_fully_connected_equals_its_int8_twin() -> None:
    """TFLM refuses per-channel int4 FULLY_CONNECTED (fully_connected_common.cc); picoq runs it,
    and its bytes equal those of the same model with the [-7, 7] weights stored as int8, whose
    kernel matches TFLM."""
    x = int8_inputs(np.random.default_rng(1), (3, 29))
    ours = Interpreter(convert(_fc_model(False)), kernels="reference")
    twin = Interpreter(convert(_fc_model(True)), kernels="reference")
    assert [op.variant for op in ours.model.ops] == ["s4"] and [op.variant for op in twin.model.ops] == ["s8"]
    np.testing.assert_array_equal(ours.run(x), twin.run(x))


def test_odd_element_counts_are_packed_like_tflite() -> None:
    """Filters of 45 (3x3x1, 5 channels), 15 (1x1x5, 3 channels) and 21 (FC 3x7) values: each
    ends with a nibble alone in its byte."""
    rng = np.random.default_rng(7)
    g, layers, x = _graph(rng, (1, 6, 6, 1))
    g.output(layers.conv2d(layers.conv2d(x, 5, (3, 3)), 3, (1, 1)))
    it = check_against_tflm(g.build(), [int8_inputs(rng, (1, 6, 6, 1))])
    g, layers, x = _graph(rng, (2, 7))
    g.output(layers.fully_connected(x, 3))
    it2 = check_against_tflm(g.build(), [int8_inputs(rng, (2, 7))])
    sizes = [t.size for m in (it.model, it2.model) for t in m.tensors if t.dtype == "int4"]
    assert sorted(sizes) == [15, 21, 45]
    assert all(
        t.nbytes == (t.size + 1) // 2 for m in (it.model, it2.model) for t in m.tensors if t.dtype == "int4"
    )


def _model_bytes(m) -> tuple[int, int]:
    """(weights' bytes, all constants' bytes) of a converted model."""
    consts = [t for t in m.tensors if t.is_const]
    return sum(t.nbytes for t in consts if t.dtype in ("int8", "int4")), sum(t.nbytes for t in consts)


@pytest.mark.parametrize("name", MLPERF_TINY)
def test_mlperf_tiny_int4_bit_exact_with_tflite_micro(name: str) -> None:
    """The int4-weight variant of each MLPerf Tiny model: picoq (its fast kernels, and the
    reference ones on a few inputs) == tflite-micro on 100 inputs, and the packed weights take
    about half the int8 model's flash."""
    src = mlperf_path(name).read_bytes()
    tfl = derive_variant(src, weights="int4")
    ours = Interpreter(convert(tfl))
    ref = Interpreter(convert(tfl), kernels="reference")
    s4 = [k for op, k in zip(ours.model.ops, ours.op_kernels, strict=True) if op.variant == "s4"]
    assert s4 and all(k.startswith("fast-") for k in s4), s4
    oracle = TFLMRunner(tfl)
    rng = np.random.default_rng(sum(name.encode()))
    shape = ours.input_details[0]["shape"]
    outputs = []
    for _ in range(N_MODEL_INPUTS):
        x = rng.integers(-128, 128, size=shape, dtype=np.int8)
        (want,) = oracle.run([x])
        got = ours.run(x)
        np.testing.assert_array_equal(got, want, err_msg=f"{name}: picoq disagrees with tflite-micro")
        if len(outputs) < 5:
            np.testing.assert_array_equal(ref.run(x), want, err_msg=f"{name}: reference kernels disagree")
        outputs.append(got.tobytes())
    assert len(set(outputs)) > 1
    w4, _ = _model_bytes(ours.model)
    w8, _ = _model_bytes(Interpreter(convert(src)).model)
    assert w4 <= 0.55 * w8, f"{name}: int4 weights {w4} B vs int8 {w8} B"


def test_derive_variant_keeps_the_real_weights_and_biases() -> None:
    """Each int4 weight is its int8 value's real number to within half a new step, each channel
    spans [-7, 7], and each bias keeps its real value to within half a step at the new scale."""
    src = mlperf_path("kws_ref_model").read_bytes()
    old, new = (
        Interpreter(convert(src)).model,
        Interpreter(convert(derive_variant(src, weights="int4"))).model,
    )
    n_int4 = 0
    for a, b in zip(old.ops, new.ops, strict=True):
        if b.variant != "s4":
            continue
        n_int4 += 1
        wa, wb = old.tensors[a.inputs[1]], new.tensors[b.inputs[1]]
        axis = wb.quant_axis if wb.scales.size > 1 else None
        shape = [-1 if k == axis else 1 for k in range(len(wb.shape))]
        real_a = old.const_array(wa) * wa.scales.astype(np.float64).reshape(shape)
        real_b = new.const_array(wb) * wb.scales.astype(np.float64).reshape(shape)
        assert np.all(np.abs(real_a - real_b) <= 0.5001 * wb.scales.reshape(shape))
        assert np.abs(new.const_array(wb)).max() == 7
        xs = new.tensors[b.inputs[0]].scales[0]
        ba, bb = old.const_array(old.tensors[a.inputs[2]]), new.const_array(new.tensors[b.inputs[2]])
        step_a, step_b = xs * wa.scales.astype(np.float64), xs * wb.scales.astype(np.float64)
        assert np.all(np.abs(ba * step_a - bb * step_b) <= 0.5001 * step_b)
    assert n_int4 == 10  # kws: a CONV_2D, four DEPTHWISE + 1x1 CONV_2D pairs and the FC


def test_derive_variant_16x8_runs_like_tflite_micro() -> None:
    """The 16x8 rewrite (int16 activations over the int8 ones' real ranges, int64 biases):
    ad01's FULLY_CONNECTED stack runs picoq's s16 kernel, byte for byte with tflite-micro."""
    tfl = derive_variant(mlperf_path("ad01_int8").read_bytes(), activations="int16")
    ours, oracle = Interpreter(convert(tfl)), TFLMRunner(tfl)
    assert {op.variant for op in ours.model.ops} == {"s16"}
    rng = np.random.default_rng(16)
    for _ in range(20):
        x = rng.integers(-32768, 32768, ours.input_details[0]["shape"], dtype=np.int16)
        np.testing.assert_array_equal(ours.run(x), oracle.run([x])[0])


def test_int4_buffer_of_the_wrong_size_is_a_named_problem() -> None:
    """An INT4 buffer must hold ceil(n / 2) bytes: one short (or the unpacked n) is refused,
    naming the tensor, not read past its end."""
    for cut in (-1, 45):
        g = TFLiteGraph()
        layers = RandomLayers(g, np.random.default_rng(0), weights="int4")
        g.output(layers.conv2d(layers.input("x", (1, 4, 4, 1), 0.02, 0), 5, (3, 3), name="c"))
        w = next(t for t in g.tensors if t.int4)
        raw = g._buffers[w.buffer]
        g._buffers[w.buffer] = raw[:cut] if cut < 0 else bytes(cut)
        with pytest.raises(ValueError, match=r"'c/filter': buffer holds \d+ bytes, .* packed INT4 needs 23"):
            convert(g.build())
