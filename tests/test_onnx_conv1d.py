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
