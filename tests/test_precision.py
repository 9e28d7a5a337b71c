"""Precision beyond int8 for float models: 16x8 activations, int4 weights, the budget chooser.

The accuracy oracle is onnxruntime running the float model; every SQNR is measured on inputs
the calibration never saw. The architecture models are tests/support/make_onnx_models.py
(MLPerf Tiny shapes, random weights, BatchNorm), as in test_onnx_mlperf.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from picoq.converter import ConversionError, convert
from picoq.converter.float_ops import sqnr_db
from picoq.runtime import Interpreter, read_model

from support.make_onnx_models import MODELS, input_shape
from support.onnx_models import ort_run
from support.tflite_builder import RandomLayers, TFLiteGraph


def _data(m, n_calib: int, n_test: int = 32, seed: int = 0):
    shape = input_shape(m)
    rng = np.random.default_rng(seed)
    calib = rng.normal(size=(n_calib, *shape[1:])).astype(np.float32)
    x = rng.normal(size=(n_test, *shape[1:])).astype(np.float32)
    return calib, x, ort_run(m, {"input": x})[0]


def _sqnr(data: bytes, x: np.ndarray, want: np.ndarray) -> float:
    return sqnr_db(want, Interpreter(data).run(x))


def test_int16_activations_gain_6db_on_the_fc_autoencoder() -> None:
    """AD's 16x8 model: every op runs its s16 kernel, and the output SQNR gains >= 6 dB over
    int8 (weights rounded with the calibration data: at 16x8 they are the error left)."""
    m = MODELS["fc_autoencoder"]()
    calib, x, want = _data(m, 768)
    int8 = convert(m, calibration=calib, progress=False)
    reports: list[str] = []
    int16 = convert(m, calibration=calib, progress=False, activations="int16", report=reports.append)
    ops = read_model(int16).ops
    assert {op.variant for op in ops} == {"s16"}
    assert "activations: int16" in reports[0]
    gain = _sqnr(int16, x, want) - _sqnr(int8, x, want)
    assert gain >= 6.0, gain


def test_int16_with_nearest_rounding_is_still_better_than_int8() -> None:
    m = MODELS["fc_autoencoder"]()
    calib, x, want = _data(m, 64)
    int8 = _sqnr(convert(m, calibration=calib, progress=False), x, want)
    int16 = _sqnr(
        convert(m, calibration=calib, progress=False, activations="int16", rounding="nearest"), x, want
    )
    assert int16 > int8 + 3.0, (int8, int16)


def test_int16_keeps_int8_islands_where_no_16x8_kernel_exists() -> None:
    """LeakyRelu has no 16x8 kernel: in a 16x8 model it runs int8 between QUANTIZE ops, the
    report names it, and the output still tracks the float model."""
    from onnx import helper

    from support.onnx_models import model

    rng = np.random.default_rng(0)
    w = rng.normal(0, 0.3, (8, 8)).astype(np.float32)
    m = model(
        [
            helper.make_node("MatMul", ["input", "w"], ["a"]),
            helper.make_node("LeakyRelu", ["a"], ["b"], alpha=0.1),
            helper.make_node("MatMul", ["b", "w"], ["y"]),
        ],
        {"input": [1, 8]},
        {"y": [1, 8]},
        {"w": w},
    )
    calib = rng.normal(size=(64, 1, 8)).astype(np.float32)
    reports: list[str] = []
    data = convert(m, calibration=calib, progress=False, activations="int16", report=reports.append)
    mf = read_model(data)
    assert [(op.name, op.variant) for op in mf.ops] == [
        ("FULLY_CONNECTED", "s16"),
        ("QUANTIZE", "s16"),
        ("LOOKUP_TABLE", "s8"),  # LeakyRelu in int8 (lower_leaky_relu)
        ("QUANTIZE", "s16"),
        ("FULLY_CONNECTED", "s16"),
    ]
    assert "LOOKUP_TABLE x1" in reports[0]
    x = rng.normal(size=(1, 8)).astype(np.float32)
    want = ort_run(m, {"input": x})[0]
    int8 = convert(m, calibration=calib, progress=False)
    assert sqnr_db(want, Interpreter(data).run(x)) > sqnr_db(want, Interpreter(int8).run(x))


def test_budget_errors_are_conversion_errors() -> None:
    m = MODELS["fc_autoencoder"]()
    calib, _, _ = _data(m, 16)
    with pytest.raises(ConversionError, match="flash budget"):
        convert(m, calibration=calib, progress=False, weights="auto")
    with pytest.raises(ConversionError, match="RAM budget"):
        convert(m, calibration=calib, progress=False, ram_budget=64)
    with pytest.raises(ConversionError, match="weights must be one of"):
        convert(m, calibration=calib, progress=False, weights="int2")


def test_tflite_refuses_precision_options() -> None:
    g = TFLiteGraph()
    layers = RandomLayers(g, np.random.default_rng(0))
    g.output(layers.fully_connected(layers.input("x", (1, 8), 0.05, 0), 4))
    with pytest.raises(ConversionError, match="keeps its own"):
        convert(g.build(), weights="int4")


@pytest.mark.parametrize(
    ("text", "size"),
    [("40000", 40000), ("40KB", 40960), ("40 KiB", 40960), ("1.5MB", 1572864), ("64k", 65536)],
)
def test_cli_sizes(text: str, size: int) -> None:
    from picoq.converter.cli import _size

    assert _size(text) == size


def test_cli_size_refuses_nonsense() -> None:
    import argparse

    from picoq.converter.cli import _size

    for bad in ("", "KB", "40 parsecs", "-5KB"):
        with pytest.raises(argparse.ArgumentTypeError):
            _size(bad)


# *** int4 weights ***


def test_int4_weights_halve_the_weights_and_gptq_beats_nearest() -> None:
    """int4 everywhere (DS-CNN): every conv / FC runs its s4 kernel, the filters take half the
    int8 bytes, and the calibrated rounding (GPTQ) gains >= 3 dB over rounding to nearest."""
    m = MODELS["ds_cnn"]()
    calib, x, want = _data(m, 200, n_test=20)
    int8 = read_model(convert(m, calibration=calib, progress=False))
    near = convert(m, calibration=calib, progress=False, weights="int4", rounding="nearest")
    gptq = convert(m, calibration=calib, progress=False, weights="int4")
    mf = read_model(gptq)
    weighted = [op for op in mf.ops if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")]
    assert weighted and all(op.variant == "s4" for op in weighted)

    def filter_bytes(model) -> int:
        return sum(
            model.tensors[op.inputs[1]].nbytes for op in model.ops if op.name in {w.name for w in weighted}
        )

    assert filter_bytes(mf) <= 0.51 * filter_bytes(int8)
    assert _sqnr(gptq, x, want) >= _sqnr(near, x, want) + 3.0


def test_flash_budget_chooses_int4_layers_and_keeps_digits_accuracy() -> None:
    """--weights auto at 65% of the int8 model's constants (the digits CNN trained here): the
    constants fit, the report names each layer's choice and the Pareto front, and the test
    accuracy loses at most 1 point."""
    import digits_cnn

    data = digits_cnn.load_digits_split()
    m = digits_cnn.to_onnx(digits_cnn.train(data))
    calib = data.x_train[:1000]
    int8 = convert(m, calibration=calib, progress=False)
    budget = int(0.65 * read_model(int8).const_bytes)
    reports: list[str] = []
    mix = convert(
        m, calibration=calib, progress=False, weights="auto", flash_budget=budget, report=reports.append
    )
    assert read_model(mix).const_bytes <= budget
    assert "int4" in reports[0] and "Pareto front" in reports[0]
    acc8 = digits_cnn.accuracy(Interpreter(int8).run(data.x_test), data.y_test)
    acc_mix = digits_cnn.accuracy(Interpreter(mix).run(data.x_test), data.y_test)
    assert acc_mix >= acc8 - 0.01, (acc8, acc_mix)


def test_int16_gains_6db_on_the_digits_cnn() -> None:
    import digits_cnn

    data = digits_cnn.load_digits_split()
    m = digits_cnn.to_onnx(digits_cnn.train(data))
    calib, x = data.x_train[:500], data.x_test
    want = ort_run(m, {"input": x})[0]
    int8 = convert(m, calibration=calib, progress=False)
    int16 = convert(m, calibration=calib, progress=False, activations="int16")
    assert _sqnr(int16, x, want) >= _sqnr(int8, x, want) + 6.0


def test_flash_budget_below_all_int4_is_a_named_error() -> None:
    m = MODELS["fc_autoencoder"]()
    calib, _, _ = _data(m, 16)
    with pytest.raises(ConversionError, match="even with every layer's weights int4"):
        convert(m, calibration=calib, progress=False, weights="auto", flash_budget=10_000, rounding="nearest")


def test_least_noise_cover_is_the_brute_force_optimum() -> None:
    """The knapsack behind --weights auto: on random layer sets, the set it picks saves the bytes
    asked for with the least total noise that any subset reaches (checked by enumeration)."""
    from itertools import combinations

    from picoq.converter.precision import _least_noise_cover

    rng = np.random.default_rng(7)
    for _ in range(300):
        names = [f"l{k}" for k in range(int(rng.integers(1, 8)))]
        noise = {n: float(rng.exponential()) for n in names}
        saved = {n: 16 * int(rng.integers(1, 120)) for n in names}
        need = int(rng.integers(0, sum(saved.values()) + 64))
        subsets = [c for k in range(len(names) + 1) for c in combinations(names, k)]
        covering = [c for c in subsets if sum(saved[n] for n in c) >= need]
        got = _least_noise_cover(names, noise, saved, need)
        if not covering:
            assert got is None
            continue
        assert got is not None and sum(saved[n] for n in got) >= need
        assert sum(noise[n] for n in got) == pytest.approx(min(sum(noise[n] for n in c) for c in covering))


def test_int4_layers_of_a_16x8_model_are_int8_islands_with_int8_shifts() -> None:
    """TFLM and CMSIS-NN have no 16x4 kernels: with int16 activations, int4 layers run their s4
    kernel on int8 activations (QUANTIZE at the borders) and the rest stays 16x8. Each s4 op
    keeps its shifts as int8, 3 bytes less per channel than int32."""
    m = MODELS["ds_cnn"]()
    calib, x, want = _data(m, 64, n_test=16)
    data = convert(m, calibration=calib, progress=False, weights="int4", activations="int16")
    mf = read_model(data)
    s4 = [op for op in mf.ops if op.variant == "s4"]
    assert len(s4) == 10  # DS-CNN's conv, 4 x (depthwise, pointwise), FC
    assert {mf.tensors[op.inputs[4]].dtype for op in s4} == {"int8"}
    assert any(op.variant == "s16" for op in mf.ops) and any(op.name == "QUANTIZE" for op in mf.ops)
    int8_int4 = convert(m, calibration=calib, progress=False, weights="int4")
    assert abs(_sqnr(data, x, want) - _sqnr(int8_int4, x, want)) < 3.0


def test_gptq_dampening_is_chosen_on_held_out_batches() -> None:
    """InputStats keeps the odd-numbered batches' sums apart: the two halves' hessians average
    back to the whole one, and a layer whose rounding is fitted on one half is judged on the
    other (a damp from GPTQ_DAMPS). The chosen rounding errs no more on the held-out half than
    the paper's fixed 0.01, and less than rounding to nearest."""
    from picoq.converter import low_bit
    from picoq.converter.fgraph import Node

    rng = np.random.default_rng(4)
    node = Node("pq.Dense", ["x", "w"], ["y"], {}, "fc")
    mix = rng.normal(size=(24, 24)) * np.linspace(0.1, 2.0, 24)  # correlated, uneven inputs

    class Graph:
        consts = {"w": rng.normal(size=(16, 24)).astype(np.float32)}

    stats = low_bit.InputStats(Graph(), [node])
    batches = [(rng.normal(size=(30, 24)) @ mix).astype(np.float32) for _ in range(7)]
    for b in batches:
        stats.observe("x", b)
    even, odd = stats.halves(node)
    full = np.concatenate(batches).astype(np.float64)
    np.testing.assert_allclose(stats.hessian(node)[0], full.T @ full / len(full), rtol=1e-6)
    np.testing.assert_allclose((even[0] * 120 + odd[0] * 90) / 210, stats.hessian(node)[0], rtol=1e-6)
    w = Graph.consts["w"]
    rows = low_bit.weight_rows(node, w).astype(np.float64)

    def held_out(q, s) -> float:
        return low_bit._held_out_error(rows, q.reshape(rows.shape), s, odd, 1)

    chosen = low_bit.rounded_weights(node, w, stats.hessian(node), "gptq", halves=(even, odd))
    fixed = low_bit.rounded_weights(node, w, stats.hessian(node), "gptq")
    near = low_bit.rounded_weights(node, w, None, "nearest")
    assert held_out(*chosen) <= held_out(*fixed) * 1.05
    assert held_out(*chosen) < held_out(*near)
