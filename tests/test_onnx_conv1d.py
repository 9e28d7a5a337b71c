"""1-D convolution stacks (keyword spotting on MFCC frames, sensor models): torch's Conv1d,
BatchNorm1d, MaxPool1d and AvgPool1d convert, run as 2-D kernels with nothing between the convs,
and are as accurate as onnxruntime's own int8 quantization of the same model."""

from __future__ import annotations

import io

import numpy as np
import onnx
import pytest
import torch  # the `torch` extra; CI installs it (README test command)

from picoq.converter import convert
from picoq.converter.float_ops import sqnr_db
from picoq.runtime import Interpreter

from support.onnx_models import op_names, ort_quantize_static, ort_run

nn = torch.nn


def kws_1d() -> nn.Module:
    """MFCC frames (10 coefficients x 49 frames) -> 12 keywords: strided, depthwise, pointwise and
    dilated 1-D convs, both 1-D pools, global pooling."""
    torch.manual_seed(0)
    m = nn.Sequential(
        nn.Conv1d(10, 32, 5, stride=2, padding=2),
        nn.BatchNorm1d(32),
        nn.ReLU(),
        nn.Conv1d(32, 32, 3, padding=1, groups=32, bias=False),
        nn.BatchNorm1d(32),
        nn.ReLU(),
        nn.Conv1d(32, 48, 1),
        nn.BatchNorm1d(48),
        nn.ReLU6(),
        nn.MaxPool1d(2),
        nn.Conv1d(48, 48, 3, dilation=2, padding=2),
        nn.BatchNorm1d(48),
        nn.ReLU(),
        nn.AvgPool1d(2),
        nn.AdaptiveAvgPool1d(1),
        nn.Flatten(),
        nn.Linear(48, 12),
    ).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        for bn in (x for x in m.modules() if isinstance(x, nn.BatchNorm1d)):
            bn.running_mean.uniform_(-0.3, 0.3)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.6, 1.4)
    return m


@pytest.fixture(scope="module")
def exported() -> onnx.ModelProto:
    buf = io.BytesIO()
    torch.onnx.export(
        kws_1d(),
        torch.zeros(1, 10, 49),
        buf,
        dynamo=False,
        input_names=["input"],
        dynamic_axes={"input": {0: "n"}},
    )
    return onnx.load_from_string(buf.getvalue())


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
