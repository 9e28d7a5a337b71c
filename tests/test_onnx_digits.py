"""A CNN trained here on scikit-learn's digits, exported to ONNX, converted with 100 calibration images.

Its int8 test accuracy must be within 0.5 points of float, and not below ONNX Runtime's
quantize_static (per-channel, QDQ, MinMax) of the same model and calibration data by more
than one test sample.
"""

from __future__ import annotations

import pytest

import digits_cnn  # noqa: E402
from support.onnx_models import convert_and_run, ort_quantize_static, ort_run  # noqa: E402


@pytest.fixture(scope="module")
def trained():
    data = digits_cnn.load_digits_split()
    return data, digits_cnn.to_onnx(digits_cnn.train(data))


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
