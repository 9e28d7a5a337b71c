"""Float ONNX models with the MLPerf Tiny architectures (tests/support/make_onnx_models.py) convert and run.

Random weights, non-trivial BatchNorm, 100 random calibration inputs; the int8 output must
reach 25 dB SQNR against onnxruntime's float output on 20 other random inputs, in both the
NCHW (PyTorch) and the NHWC-with-transposes (Keras via tf2onnx) export styles.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from picoq.converter.float_ops import sqnr_db  # noqa: E402

from support.make_onnx_models import MODELS, input_shape  # noqa: E402
from support.onnx_models import convert_and_run, op_names, ort_run  # noqa: E402

MIN_SQNR_DB = 25.0


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_mlperf_architecture_converts_and_runs(name, layout, record_property):
    m = MODELS[name](layout)
    shape = input_shape(m)
    rng = np.random.default_rng(0)
    calib = rng.normal(size=(100, *shape[1:])).astype(np.float32)
    x = rng.normal(size=(20, *shape[1:])).astype(np.float32)
    t0 = time.perf_counter()
    it, (got,) = convert_and_run(m, calib, x)
    seconds = time.perf_counter() - t0
    (want,) = ort_run(m, {"input": x})
    sqnr = sqnr_db(want, got)
    record_property("sqnr_db", round(sqnr, 2))
    record_property("convert_and_run_s", round(seconds, 2))
    assert sqnr >= MIN_SQNR_DB
    assert it.input_details[0]["shape"] == shape  # the source layout at the boundary
    if layout == "nhwc":  # every Transpose of the tf2onnx graph is absorbed into the layout
        assert "TRANSPOSE" not in op_names(it)
