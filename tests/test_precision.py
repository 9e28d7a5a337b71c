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


def test_int16_refused_naming_the_ops_without_a_16x8_kernel() -> None:
    """--activations int16 on a model with an op picoq has no 16x8 kernel for: one error naming
    it; auto falls back to int8 and says why."""
    import onnx
    from onnx import helper

    from support.onnx_models import model

    m = model(
        [helper.make_node("LeakyRelu", ["input"], ["y"], alpha=0.1)],
        {"input": [1, 8]},
        {"y": [1, 8]},
    )
    onnx.checker.check_model(m)
    calib = np.random.default_rng(0).normal(size=(16, 8)).astype(np.float32)
    with pytest.raises(ConversionError, match="LEAKY_RELU x1: no int16"):
        convert(m, calibration=calib, progress=False, activations="int16")
    reports: list[str] = []
    data = convert(m, calibration=calib, progress=False, activations="auto", report=reports.append)
    assert read_model(data).tensors[read_model(data).inputs[0]].dtype == "int8"
    assert "no int16 kernel" in reports[0]


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
