"""TFLite import: what converts, what is refused, and how the refusal reads."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import tflite

from picoq.converter import ConversionError, convert
from picoq.runtime import Interpreter

from support.tflite_builder import RandomLayers, TFLiteGraph
from support.tflm_oracle import TFLMRunner

OP = tflite.BuiltinOperator


def _small_graph() -> tuple[TFLiteGraph, RandomLayers]:
    g = TFLiteGraph()
    return g, RandomLayers(g, np.random.default_rng(0))


def test_every_unsupported_op_is_named_at_once() -> None:
    g, r = _small_graph()
    x = r.input("x", (1, 8, 8, 4), scale=0.05, zero_point=0)
    y = r.conv2d(x, 8, 3)
    # Three ops picoq does not import, each with its own output tensor.
    a = g._like("absolute", (1, 8, 8, 8), y)
    g._add_op(OP.ABS, 1, [y], [a])
    b = g._like("exp", (1, 8, 8, 8), y)
    g._add_op(OP.EXP, 1, [a], [b])
    c = g._like("cos", (1, 8, 8, 8), y)
    g._add_op(OP.COS, 1, [b], [c])
    g.output(c)
    with pytest.raises(ConversionError) as e:
        convert(g.build())
    msg = str(e.value)
    assert len(e.value.problems) == 3
    for name in ("ABS", "EXP", "COS", "'absolute'", "'exp'", "'cos'"):
        assert name in msg


def test_float_model_is_refused_with_the_tensor_named() -> None:
    g = TFLiteGraph()
    x = g._add_tensor("x", (1, 4), np.float32)
    g.inputs.append(x)
    w = g.const("w", np.ones((2, 4), np.float32))
    y = g._add_tensor("y", (1, 2), np.float32)
    g._add_op(OP.FULLY_CONNECTED, 1, [x, w, None], [y])
    g.output(y)
    with pytest.raises(ConversionError, match=r"'x' is FLOAT32, not INT8"):
        convert(g.build())


def test_corrupt_tflite_is_a_conversion_error() -> None:
    with pytest.raises(ConversionError, match="not a readable .tflite"):
        convert(b"\x10\x00\x00\x00TFL3" + b"\xff" * 40)


def test_float_interface_quantize_dequantize_are_moved_to_the_boundary() -> None:
    """TF's converter, by default, wraps an int8 model in QUANTIZE / DEQUANTIZE for float IO."""
    g, r = _small_graph()
    core_in = r.input("q_in", (1, 6, 6, 3), scale=0.02, zero_point=-1)
    g.inputs.clear()
    fin = g._add_tensor("float_in", core_in.shape, np.float32)
    g.inputs.append(fin)
    g._add_op(OP.QUANTIZE, 1, [fin], [core_in])
    y = r.conv2d(core_in, 4, 3, activation="RELU")
    fout = g._add_tensor("float_out", y.shape, np.float32)
    g._add_op(OP.DEQUANTIZE, 1, [y], [fout])
    g.output(fout)
    tfl = g.build()

    it = Interpreter(convert(tfl))
    assert it.input_details[0]["dtype"] == np.int8  # the int8 side is the model's interface
    oracle = TFLMRunner(tfl)
    rng = np.random.default_rng(1)
    for _ in range(10):
        x = rng.normal(0, 1, core_in.shape).astype(np.float32)
        (want,) = oracle.run([x])
        np.testing.assert_allclose(it.run(x), want, rtol=1e-6, atol=1e-7)


def test_inconsistent_output_shape_in_tflite_is_refused() -> None:
    g, r = _small_graph()
    x = r.input("x", (1, 8, 8, 2), scale=0.05, zero_point=0)
    y = r.conv2d(x, 4, 3, stride=2)
    y = dataclasses.replace(y, shape=(1, 5, 4, 4))  # SAME stride 2 of 8 is 4, not 5
    g.tensors[y.index] = y
    g.output(y)
    with pytest.raises(ConversionError, match="output size 5"):
        convert(g.build())


@pytest.mark.parametrize("bad_scale", [float("nan"), float("inf"), 0.0, 1e-40])
def test_unusable_scale_in_source_is_a_conversion_error(bad_scale: float) -> None:
    g, r = _small_graph()
    x = r.input("x", (1, 6, 6, 2), scale=0.05, zero_point=0)
    y = r.conv2d(x, 3, 3)
    g.tensors[y.index] = dataclasses.replace(y, scales=(bad_scale,))  # the output's scale
    g.output(g.tensors[y.index])
    with pytest.raises(ConversionError, match="scales must be finite, positive and normal"):
        convert(g.build())
