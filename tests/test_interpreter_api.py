"""picoq.runtime.Interpreter as a user calls it: details, int8 and float IO, batches, errors."""

from __future__ import annotations

import numpy as np
import pytest

from picoq.converter import convert
from picoq.runtime import Interpreter

from support.make_fixtures import build_tiny_convnet, build_tiny_mlp, build_tiny_resnet
from support.tflm_oracle import TFLMRunner


@pytest.fixture(scope="module")
def convnet() -> tuple[bytes, bytes]:
    tfl = build_tiny_convnet()
    return tfl, convert(tfl)


@pytest.mark.parametrize("build", [build_tiny_convnet, build_tiny_resnet, build_tiny_mlp])
def test_fixture_models_bit_exact(build) -> None:
    tfl = build()
    it = Interpreter(convert(tfl))
    oracle = TFLMRunner(tfl)
    rng = np.random.default_rng(7)
    for _ in range(20):
        x = rng.integers(-128, 128, size=it.input_details[0]["shape"], dtype=np.int8)
        np.testing.assert_array_equal(it.run(x), oracle.run([x])[0])


def test_details_describe_io(convnet) -> None:
    tfl, data = convnet
    it = Interpreter(data)
    oracle = TFLMRunner(tfl)
    (d,) = it.input_details
    assert d["dtype"] == np.int8 and d["shape"] == tuple(oracle.input_details[0]["shape"])
    q = oracle.input_details[0]["quantization_parameters"]
    assert d["scale"] == pytest.approx(float(q["scales"][0])) and d["zero_point"] == int(q["zero_points"][0])
    (o,) = it.output_details
    assert o["scale"] == pytest.approx(1 / 256) and o["zero_point"] == -128  # softmax output


def test_path_and_bytes_load_the_same(convnet, tmp_path) -> None:
    _, data = convnet
    path = tmp_path / "m.picoq"
    path.write_bytes(data)
    x = np.random.default_rng(1).integers(
        -128, 128, Interpreter(data).input_details[0]["shape"], dtype=np.int8
    )
    np.testing.assert_array_equal(Interpreter(str(path)).run(x), Interpreter(data).run(x))
    np.testing.assert_array_equal(Interpreter(path).run(x), Interpreter(bytearray(data)).run(x))


def test_misaligned_buffer_is_copied_not_misread(convnet) -> None:
    _, data = convnet
    x = np.random.default_rng(2).integers(
        -128, 128, Interpreter(data).input_details[0]["shape"], dtype=np.int8
    )
    backing = bytearray(len(data) + 1)
    backing[1:] = data
    np.testing.assert_array_equal(Interpreter(memoryview(backing)[1:]).run(x), Interpreter(data).run(x))


def test_float_input_is_quantized_and_output_dequantized(convnet) -> None:
    _, data = convnet
    it = Interpreter(data)
    d, o = it.input_details[0], it.output_details[0]
    rng = np.random.default_rng(3)
    xq = rng.integers(-128, 128, d["shape"], dtype=np.int8)
    xf = ((xq.astype(np.float32) - d["zero_point"]) * d["scale"]).astype(np.float32)
    yq = it.run(xq)
    yf = it.run(xf)
    assert yf.dtype == np.float32
    np.testing.assert_array_equal(yf, (yq.astype(np.float32) - o["zero_point"]) * np.float32(o["scale"]))


def test_float_quantization_rounds_half_away_and_saturates(convnet) -> None:
    _, data = convnet
    it = Interpreter(data)
    d = it.input_details[0]
    s, zp = d["scale"], d["zero_point"]
    x = np.zeros(d["shape"], np.float32)
    flat = x.reshape(-1)
    flat[:4] = np.array([2.5 * s, -2.5 * s, 1e9, -np.inf], np.float32)
    q = it._quantize(0, x).reshape(-1)
    assert q[0] == np.clip(zp + 3, -128, 127) and q[1] == np.clip(zp - 3, -128, 127)
    assert q[2] == 127 and q[3] == -128


def test_nan_input_is_refused(convnet) -> None:
    it = Interpreter(convnet[1])
    x = np.zeros(it.input_details[0]["shape"], np.float32)
    x.reshape(-1)[5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        it.run(x)


def test_batch_runs_item_by_item(convnet) -> None:
    it = Interpreter(convnet[1])
    shape = it.input_details[0]["shape"]
    rng = np.random.default_rng(4)
    xs = rng.integers(-128, 128, (5, *shape[1:]), dtype=np.int8)
    ys = it.run(xs)
    assert ys.shape[0] == 5
    for i in range(5):
        np.testing.assert_array_equal(ys[i : i + 1], it.run(xs[i : i + 1]))


def test_wrong_shape_and_dtype_name_expected_and_given(convnet) -> None:
    it = Interpreter(convnet[1])
    shape = it.input_details[0]["shape"]
    with pytest.raises(ValueError, match=r"expected shape .* got \(3, 3\)"):
        it.run(np.zeros((3, 3), np.int8))
    with pytest.raises(ValueError, match=r"expected dtype int8 .* got int32"):
        it.run(np.zeros(shape, np.int32))
    with pytest.raises(ValueError, match="1 input"):
        it.run([np.zeros(shape, np.int8)] * 2)
    with pytest.raises(ValueError, match="missing"):
        it.run({"nope": np.zeros(shape, np.int8)})


def test_dict_input_by_name(convnet) -> None:
    it = Interpreter(convnet[1])
    d = it.input_details[0]
    x = np.random.default_rng(5).integers(-128, 128, d["shape"], dtype=np.int8)
    np.testing.assert_array_equal(it.run({d["name"]: x}), it.run(x))


def test_low_level_set_invoke_get(convnet) -> None:
    it = Interpreter(convnet[1])
    x = np.random.default_rng(6).integers(-128, 128, it.input_details[0]["shape"], dtype=np.int8)
    it.set_input(0, x)
    it.invoke()
    np.testing.assert_array_equal(it.get_output(0), it.run(x))
