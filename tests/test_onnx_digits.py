"""A CNN trained here on scikit-learn's digits, exported to ONNX, converted with 100 calibration images.

Its int8 test accuracy must be within 0.5 points of float, and not below ONNX Runtime's
quantize_static (per-channel, QDQ, MinMax) of the same model and calibration data by more
than one test sample.
"""

from __future__ import annotations

import numpy as np
import onnx  # noqa: E402
import pytest

import digits_cnn  # noqa: E402
from support.onnx_models import convert_and_run, ort_run  # noqa: E402


@pytest.fixture(scope="module")
def trained():
    data = digits_cnn.load_digits_split()
    return data, digits_cnn.to_onnx(digits_cnn.train(data))


def ort_quantize_static(m: onnx.ModelProto, calib: np.ndarray, tmp_path) -> onnx.ModelProto:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{"input": calib[i : i + 1]} for i in range(len(calib))])

        def get_next(self):
            return next(self.items, None)

    src, dst = tmp_path / "float.onnx", tmp_path / "int8.onnx"
    onnx.save(m, src)
    quantize_static(
        str(src),
        str(dst),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
    )
    return onnx.load(dst)


def test_digits_cnn_int8_accuracy(trained, tmp_path, record_property):
    data, m = trained
    calib = data.x_train[:100]
    n = len(data.y_test)
    float_acc = digits_cnn.accuracy(ort_run(m, {"input": data.x_test})[0], data.y_test)
    _, (logits,) = convert_and_run(m, calib, data.x_test)
    picoq_acc = digits_cnn.accuracy(logits, data.y_test)
    ort_acc = digits_cnn.accuracy(
        ort_run(ort_quantize_static(m, calib, tmp_path), {"input": data.x_test})[0], data.y_test
    )
    for k, v in (("float", float_acc), ("picoq_int8", picoq_acc), ("ort_int8", ort_acc)):
        record_property(f"{k}_accuracy", round(v, 4))
    assert float_acc > 0.95  # the model learned something
    assert picoq_acc >= float_acc - 0.005
    assert round(picoq_acc * n) >= round(ort_acc * n) - 1


@pytest.mark.parametrize("options", [{"method": "percentile"}, {"method": "mse"}, {"per_tensor": True}])
def test_digits_cnn_other_calibration_options(trained, options):
    data, m = trained
    float_acc = digits_cnn.accuracy(ort_run(m, {"input": data.x_test})[0], data.y_test)
    _, (logits,) = convert_and_run(m, data.x_train[:100], data.x_test, **options)
    assert digits_cnn.accuracy(logits, data.y_test) >= float_acc - 0.01
