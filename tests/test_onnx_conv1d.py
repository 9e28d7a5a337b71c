"""1-D convolution stacks (keyword spotting on MFCC frames, sensor models): torch's Conv1d,
BatchNorm1d, MaxPool1d and AvgPool1d convert, run as 2-D kernels with nothing between the convs,
and are as accurate as onnxruntime's own int8 quantization of the same model."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from picoq.converter import convert
from picoq.converter.float_ops import sqnr_db
from picoq.runtime import Interpreter

from support.onnx_models import op_names, ort_quantize_static, ort_run
from support.torch_seq import kws_1d_onnx


@pytest.fixture(scope="module")
def exported() -> onnx.ModelProto:
    return kws_1d_onnx()


def test_conv1d_stack_runs_as_2d_kernels_with_nothing_between(exported):
    rng = np.random.default_rng(0)
    it = Interpreter(
        convert(exported, calibration=rng.normal(size=(32, 10, 49)).astype(np.float32), progress=False)
    )
    ops = op_names(it)
    convs = [
        i
        for i, op in enumerate(ops)
        if op in ("CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D")
    ]
    assert len(convs) == 6, ops
    assert convs == list(range(convs[0], convs[0] + 6)), ops  # BatchNorm, ReLU, reshapes all folded away


def test_conv1d_accuracy_at_least_onnxruntime_quantize_static(exported, tmp_path):
    rng = np.random.default_rng(1)
    calib = rng.normal(size=(64, 10, 49)).astype(np.float32)
    x = rng.normal(size=(32, 10, 49)).astype(np.float32)
    want = ort_run(exported, {"input": x})[0]
    got = Interpreter(convert(exported, calibration=calib, progress=False)).run(x)
    ort_q = ort_run(ort_quantize_static(exported, calib, tmp_path), {"input": x})[0]
    ours, theirs = sqnr_db(want, got), sqnr_db(want, ort_q)
    assert ours >= theirs - 0.5, (ours, theirs)
    assert ours > 30


# --- unseen-model sweep (benchmarks/unseen_sequence.py) regressions ---------------------------


@pytest.mark.parametrize(
    ("shape", "pads", "mode", "opset"),
    [
        ((1, 3, 10), [0, 0, 1, 0, 0, 1], "reflect", 13),  # Conv1d(padding_mode="reflect")
        ((1, 3, 10), [0, 0, 3, 0, 0, 2], "reflect", 13),
        ((1, 3, 10), [0, 0, 2, 0, 0, 4], "edge", 13),  # padding_mode="replicate"
        ((1, 2, 5, 6), [0, 0, 2, 1, 0, 0, 1, 3], "reflect", 13),  # two axes
        ((1, 2, 5, 6), [0, 0, 1, 2, 0, 0, 2, 1], "edge", 17),
    ],
)
def test_reflect_and_edge_pads_copy_the_int8_input_exactly(shape, pads, mode, opset):
    """Pad reflect / edge (no PAD kernel mode) runs as one-wide SLICEs concatenated around the
    input, at the input's quantization: the int8 output is exactly numpy's pad of picoq's own
    quantized input (oracle: np.pad, whose "reflect" / "edge" are ONNX's)."""
    from onnx import helper

    from support.onnx_models import model

    node = helper.make_node("Pad", ["x", "pads"], ["y"], mode=mode)
    m = model([node], {"x": list(shape)}, {"y": None}, {"pads": np.array(pads, np.int64)}, opset)
    rng = np.random.default_rng(0)
    it = Interpreter(convert(m, calibration=rng.normal(size=(20, *shape)).astype(np.float32), progress=False))
    assert "PAD" not in op_names(it) and "CONCATENATION" in op_names(it)
    tin = it.model.tensors[it.model.inputs[0]]
    x = rng.normal(size=(8, *shape)).astype(np.float32)
    qx = np.clip(np.round(x / tin.scales[0]) + tin.zero_points[0], -128, 127)
    r = len(shape)
    width = [(0, 0)] + [(pads[i], pads[i + r]) for i in range(r)]
    want = (np.pad(qx, width, mode=mode) - tin.zero_points[0]) * tin.scales[0]
    got = np.stack([it.run(v) for v in x])
    np.testing.assert_array_equal(got, want.astype(np.float32))
    np.testing.assert_allclose(ort_run(m, {"x": x[0]})[0], np.pad(x[0], width[1:], mode=mode))


@pytest.mark.parametrize("alpha", [0.01, 0.1, 0.25, -0.3])
def test_leaky_relu_is_exactly_rounded(alpha):
    """LeakyRelu (and a one-slope PReLU) in int8: each output is the float function of the
    dequantized input rounded once to the output's quantization (oracle: numpy on picoq's own
    scales). TFLM's LEAKY_RELU rounds twice on the alpha side and biased the negative outputs
    by a quarter step, which a conv stack's pooling accumulated (-1.7 dB against ORT QDQ)."""
    from onnx import helper

    from support.onnx_models import model

    m = model([helper.make_node("LeakyRelu", ["x"], ["y"], alpha=alpha)], {"x": [1, 256]}, {"y": [1, 256]})
    rng = np.random.default_rng(0)
    it = Interpreter(convert(m, calibration=rng.normal(size=(50, 1, 256)).astype(np.float32), progress=False))
    tin, tout = it.model.tensors[it.model.inputs[0]], it.model.tensors[it.model.outputs[0]]
    xq = np.arange(-128, 128).reshape(1, 256)
    xf = ((xq - tin.zero_points[0]) * tin.scales[0]).astype(np.float32)
    yf = np.where(xf >= 0, xf, xf * np.float32(alpha)).astype(np.float64)
    # round half away from zero, as picoq and TFLM round
    want = np.clip(
        np.sign(yf / tout.scales[0]) * np.floor(np.abs(yf / tout.scales[0]) + 0.5) + tout.zero_points[0],
        -128,
        127,
    )
    np.testing.assert_array_equal(it.run(xq.astype(np.int8)).astype(np.int64), want.astype(np.int64))
