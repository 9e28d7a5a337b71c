"""ONNX import: what converts, and the one error that lists every problem and says what to do."""

from __future__ import annotations

import numpy as np
import onnx  # noqa: E402
import pytest
from onnx import TensorProto, helper  # noqa: E402

from picoq.converter import ConversionError, convert  # noqa: E402
from picoq.runtime import Interpreter  # noqa: E402

from support.onnx_models import model, rand  # noqa: E402

R = np.random.default_rng(0)
W = rand(R, 8, 4, 3, 3)


def node(op, ins, outs=("y",), name=None, **attrs):
    return helper.make_node(op, list(ins), list(outs), name=name or f"{op.lower()}_{outs[0]}", **attrs)


def calib(shape=(4, 6, 6), n=8):
    return np.random.default_rng(1).normal(size=(n, *shape)).astype(np.float32)


def test_every_unsupported_node_is_named_in_one_error():
    m = model(
        [
            node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
            node("Resize", ["c", "", "sc"], ["r"], name="upsample", mode="cubic"),
            node("CumSum", ["r", "ax"], ["y"], name="running_sum"),
        ],
        {"x": ["N", 4, 6, 6]},
        {"y": [None, 8, 12, 12]},
        {"w": W, "sc": np.array([1, 1, 2, 2], np.float32), "ax": np.array(3, np.int64)},
    )
    with pytest.raises(ConversionError) as e:
        convert(m, calibration=calib())
    msg = str(e.value)
    assert (
        "'upsample' (Resize): not supported by picoq" in msg
        and "'running_sum' (CumSum): not supported" in msg
    )
    assert len(e.value.problems) == 2
    assert "picoq imports float ONNX models built from" in msg


def test_dynamic_non_batch_dimensions_and_unsupported_ops_in_one_error():
    m = model(
        [node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), node("CumSum", ["c", "ax"], name="act")],
        {"x": ["N", 4, "height", "width"]},
        {"y": ["N", 8, "height", "width"]},
        {"w": W, "ax": np.array(1, np.int64)},
        opset=20,
    )
    with pytest.raises(ConversionError) as e:
        convert(m, calibration=calib())
    msg = str(e.value)
    assert "dimension 2 is dynamic ('height')" in msg and "dimension 3 is dynamic ('width')" in msg
    assert "'act' (CumSum): not supported by picoq" in msg
    assert "export with a fixed size" in msg


def test_non_float_and_quantized_models_are_refused():
    x = helper.make_tensor_value_info("x", TensorProto.INT8, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    g = helper.make_graph(
        [node("DequantizeLinear", ["x", "s"], ["y"], name="dq")],
        "q",
        [x],
        [y],
        [onnx.numpy_helper.from_array(np.array(0.1, np.float32), "s")],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    with pytest.raises(ConversionError) as e:
        convert(m, calibration=np.zeros((1, 4), np.float32))
    msg = str(e.value)
    assert "graph input 'x' is INT8" in msg
    assert "'dq' (DequantizeLinear): the model is already quantized" in msg


def test_a_symbolic_batch_is_fixed_to_one_and_run_loops_over_a_batch():
    m = model([node("Conv", ["x", "w"], pads=[1, 1, 1, 1])], {"x": ["batch", 4, 6, 6]}, {"y": None}, {"w": W})
    it = Interpreter(convert(m, calibration=calib(), progress=False))
    assert it.input_details[0]["shape"] == (1, 4, 6, 6)
    assert it.run(calib(n=5)).shape == (5, 8, 6, 6)


def test_float_model_without_calibration_says_what_to_pass():
    m = model([node("Relu", ["x"])], {"x": ["N", 4]}, {"y": None})
    with pytest.raises(ConversionError, match="needs calibration data"):
        convert(m)


def test_ops_picoq_cannot_lower_are_named():
    m = model(
        [
            node("Div", ["a", "b"], name="ratio"),
            node("Pad", ["a", "p"], ["z"], name="mirror", mode="reflect"),
        ],
        {"a": ["N", 4, 4], "b": ["N", 4, 4]},
        {"y": None, "z": None},
        # reflect padding runs as slices (pad_modes.py); not with a negative pad (a crop)
        {"p": np.array([0, -1, 1, 0, 1, 1], np.int64)},
    )
    with pytest.raises(ConversionError) as e:
        convert(m, calibration={"a": calib((4, 4)), "b": calib((4, 4))})
    msg = str(e.value)
    assert "'ratio' (Div): not supported by an activation" in msg
    assert "'mirror' (Pad): only constant padding" in msg


def test_unreadable_model_bytes():
    with pytest.raises(ConversionError, match="not a readable ONNX model"):
        convert(b"\x08\x07garbage-not-a-protobuf\xff\xff", calibration=calib())


def test_convert_from_a_path_with_a_calibration_folder(tmp_path):
    m = model([node("Conv", ["x", "w"], pads=[1, 1, 1, 1])], {"x": ["N", 4, 6, 6]}, {"y": None}, {"w": W})
    onnx.save(m, tmp_path / "m.onnx")
    (tmp_path / "calib").mkdir()
    for i in range(3):
        np.save(tmp_path / "calib" / f"{i}.npy", calib(n=2))
    data = convert(tmp_path / "m.onnx", tmp_path / "m.picoq", calibration=tmp_path / "calib", progress=False)
    assert (tmp_path / "m.picoq").read_bytes() == data


def test_multi_input_model():
    m = model(
        [node("Add", ["a", "b"], ["s"]), node("Relu", ["s"])],
        {"a": ["N", 4, 6, 6], "b": ["N", 4, 6, 6]},
        {"y": None},
    )
    a, b = calib(), calib() * 2
    it = Interpreter(convert(m, calibration={"a": a, "b": b}, progress=False))
    y = it.run({"a": a, "b": b})
    want = np.maximum(a + b, 0)
    assert np.abs(y - want).max() < 3 * it.output_details[0]["scale"]


def test_conv3d_and_non_finite_activations_are_reported():
    m = model(
        [node("Conv", ["x", "w"], name="conv3d")],
        {"x": ["N", 2, 4, 4, 4]},
        {"y": None},
        {"w": rand(R, 4, 2, 3, 3, 3)},
    )
    with pytest.raises(ConversionError, match="'conv3d' \\(Conv\\): only 2-D convolutions"):
        convert(m, calibration=calib((2, 4, 4, 4)))  # 1-D ones are lifted to 2-D: test_onnx_conv1d.py
    m = model(
        [node("MaxPool", ["x"], name="pool", kernel_shape=[2, 2], pads=[2, 2, 2, 2])],
        {"x": ["N", 4, 6, 6]},
        {"y": None},
    )
    with pytest.raises(ConversionError, match="tensor 'y' takes non-finite values"):
        convert(m, calibration=calib(), progress=False)


# --- visionsweep: constants past the activation cap ---
def test_a_weight_past_the_activation_cap_converts():
    """A constant's data is in the file, so it may exceed the 2^24 elements an activation may
    hold (RegNetY-128GF's largest 1x1 conv: 54.6M weights); a claimed size past 2^26 is still
    refused before anything is decoded."""
    rng = np.random.default_rng(3)
    w = rng.normal(0, 0.02, (4097, 4096)).astype(np.float32)  # 2^24 + 4096 elements
    m = model([node("MatMul", ["x", "w"])], {"x": ["N", 4097]}, {"y": None}, {"w": w})
    x = rng.normal(size=(8, 4097)).astype(np.float32)
    got = Interpreter(convert(m, calibration=x, progress=False)).run(x)
    want = x @ w
    assert 10 * np.log10(np.sum(want**2) / np.sum((got - want) ** 2)) >= 30
    huge = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[(1 << 26) + 1], float_data=[1.0])
    m.graph.initializer[0].CopyFrom(huge)
    with pytest.raises(ConversionError, match=r"\(67108865 elements\): more than picoq's 67108864"):
        convert(m, calibration=x)


# --- end visionsweep ---
