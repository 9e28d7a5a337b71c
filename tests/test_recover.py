"""Accuracy recovery in the converter: cross-layer equalization (converter/equalize.py) and
empirical bias correction (converter/bias_correction.py), and their convert / CLI options.

Oracles: the converter's float simulation (float_run) of the model before the rewrite, and
onnxruntime running the float ONNX model."""

from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np
import onnx
from onnx import helper

from picoq.converter import convert, float_run
from picoq.converter.bias_correction import correct_biases, quantized_weights
from picoq.converter.calibrate import load_samples
from picoq.converter.equalize import _in_range, _out_range, equalize, equalize_if_better, find_pairs
from picoq.converter.float_ops import sqnr_db as sqnr
from picoq.converter.onnx_convert import prepare
from picoq.converter.precision import Precision

from support.onnx_models import convert_and_run, model, ort_run


def spread_dw_model(seed: int = 0) -> onnx.ModelProto:
    """A depthwise-heavy net whose channels' weight ranges span three decades, as BatchNorm
    folding leaves trained nets: conv 3x3 -> dw 3x3 -> pw 1x1 -> dw 3x3 -> pw 1x1, ReLU between,
    on a 4x12x12 input. Per-tensor weight scales crush the small channels."""
    rng = np.random.default_rng(seed)
    c = 16

    def spread(n: int) -> np.ndarray:
        return (10.0 ** rng.uniform(-2.0, 1.0, n)).astype(np.float32)

    def w(*shape: int, gain: np.ndarray | None = None) -> np.ndarray:
        v = rng.normal(0, 1.0 / np.sqrt(np.prod(shape[1:])), shape).astype(np.float32)
        return v * gain.reshape(-1, *(1,) * (len(shape) - 1)) if gain is not None else v

    def b(n: int, gain: np.ndarray | None = None) -> np.ndarray:
        v = rng.normal(0, 0.1, n).astype(np.float32)
        return v * gain if gain is not None else v

    g1, g2, g3, g4 = spread(c), spread(c), spread(c), spread(c)
    inits = {
        "w1": w(c, 4, 3, 3, gain=g1), "b1": b(c, g1),
        "w2": w(c, 1, 3, 3, gain=g2 / g1), "b2": b(c, g2),
        "w3": w(c, c, 1, 1, gain=g3) / g2.reshape(1, -1, 1, 1), "b3": b(c, g3),
        "w4": w(c, 1, 3, 3, gain=g4 / g3), "b4": b(c, g4),
        "w5": w(8, c, 1, 1) / g4.reshape(1, -1, 1, 1), "b5": b(8),
    }  # fmt: skip
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], group=c),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Conv", ["r2", "w3", "b3"], ["c3"]),
        helper.make_node("Relu", ["c3"], ["r3"]),
        helper.make_node("Conv", ["r3", "w4", "b4"], ["c4"], pads=[1, 1, 1, 1], group=c),
        helper.make_node("Relu", ["c4"], ["r4"]),
        helper.make_node("Conv", ["r4", "w5", "b5"], ["y"]),
    ]
    return model(nodes, {"x": ["N", 4, 12, 12]}, {"y": None}, inits)


def _data(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 4, 12, 12)).astype(np.float32)


def _ranges_ratio(fg, pair) -> float:
    """The largest ratio between A's output channel range and B's input channel range."""
    r1, r2 = _out_range(fg, pair.a), _in_range(fg, pair.b)
    return float(np.max(np.maximum(r1 / r2, r2 / r1)))


# *** cross-layer equalization ***


def test_equalization_keeps_the_float_model_and_equalizes_ranges() -> None:
    fg = prepare(spread_dw_model())
    pairs, skipped = find_pairs(fg)
    assert len(pairs) == 4 and not skipped  # conv->dw, dw->pw, pw->dw, dw->pw, all through ReLU
    before = [_ranges_ratio(fg, p) for p in pairs]
    eq = copy.deepcopy(fg)
    report = equalize(eq)
    assert len(report.pairs) == 4
    x = _data(8, 1)
    want = float_run.run(fg, {"x": x})["y"]
    got = float_run.run(eq, {"x": x})["y"]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * float(np.abs(want).max()))
    eq_pairs, _ = find_pairs(eq)
    after = [_ranges_ratio(eq, p) for p in eq_pairs]
    assert min(before) > 5.0  # the model's channel ranges disagree by far before
    assert max(after) < 1.01, after  # and match after: r1_i / s_i == r2_i * s_i
    # the depthwise layer's channels now span far less than three decades
    w2 = eq.consts[eq_pairs[1].a.inputs[1]]
    spread = np.abs(w2.reshape(w2.shape[0], -1)).max(axis=1)
    assert spread.max() / spread.min() < 0.1 * (lambda r: r.max() / r.min())(_out_range(fg, pairs[1].a))


def test_equalization_skips_relu6_and_sigmoid_pairs() -> None:
    """Only ReLU or nothing between the two layers keeps the float model unchanged: a ReLU6
    (clip at 6) or a sigmoid between them is not rescaled."""
    m = spread_dw_model()
    for n in m.graph.node:
        if n.output[0] == "r1":  # ReLU6: Clip(0, 6)
            n.op_type = "Clip"
            n.input.extend(["lo", "hi"])
        if n.output[0] == "r3":
            n.op_type = "Sigmoid"
    m.graph.initializer.extend(
        [onnx.numpy_helper.from_array(np.array(v, np.float32), k) for k, v in (("lo", 0.0), ("hi", 6.0))]
    )
    fg = prepare(m)
    pairs, skipped = find_pairs(fg)
    names = [(p.a.inputs[1], p.b.inputs[1]) for p in pairs]
    # w1 -> w2 crosses the ReLU6, w3 -> w4 the sigmoid (not a weighted pair at all)
    assert names == [("w2", "w3"), ("w4", "w5")], names
    assert len(skipped) == 1 and "clamp (0.0, 6.0)" in skipped[0]
    eq = copy.deepcopy(fg)
    equalize(eq)
    x = _data(4, 2)
    np.testing.assert_allclose(
        float_run.run(eq, {"x": x})["y"], float_run.run(fg, {"x": x})["y"], rtol=1e-4, atol=1e-5
    )


def test_per_tensor_depthwise_model_gains_sqnr_with_equalize() -> None:
    m = spread_dw_model()
    calib, x = _data(64, 3), _data(16, 4)
    want = ort_run(m, {"x": x})[0]
    notes: list[str] = []
    _, plain = convert_and_run(m, calib, x, per_tensor=True)
    _, eq = convert_and_run(m, calib, x, per_tensor=True, equalize=True, report=notes.append)
    gain = sqnr(want, eq[0]) - sqnr(want, plain[0])
    assert gain > 6.0, (sqnr(want, plain[0]), sqnr(want, eq[0]), notes)
    assert "equalized 4 layer pair(s)" in notes[0] and "(kept)" in notes[0]


def test_equalization_is_dropped_where_it_lowers_the_int8_sqnr() -> None:
    """DS-CNN (MLPerf Tiny KWS, random weights): equal channel ranges lower its per-tensor int8
    SQNR, so convert(equalize=True) writes the same file as without, and says so."""
    from support.make_onnx_models import MODELS, input_shape

    m = MODELS["ds_cnn"]()
    calib = np.random.default_rng(0).normal(size=(32, *input_shape(m)[1:])).astype(np.float32)
    notes: list[str] = []
    plain = convert(m, calibration=calib, progress=False, per_tensor=True)
    eq = convert(m, calibration=calib, progress=False, per_tensor=True, equalize=True, report=notes.append)
    assert eq == plain
    assert "not kept" in notes[0]
    fg = prepare(m)
    g, report = equalize_if_better(fg, lambda g: 5.0 if g is fg else 10.0)  # a score that prefers it
    assert g is not fg and report.kept and report.sqnr_db == (5.0, 10.0)
    g, report = equalize_if_better(fg, lambda g: 5.0 if g is fg else 5.3)  # within the margin: noise
    assert g is fg and not report.kept


# *** bias correction ***


def biased_conv_model() -> onnx.ModelProto:
    """One padded 3x3 conv whose per-tensor int8 rounding errs the same way on every weight:
    the largest weight is 1.0 (the scale is 1/127) and every other is (k + 0.4) / 127, rounded
    down by 0.4 steps. Its input has a positive mean, so the mean output error is too."""
    rng = np.random.default_rng(5)
    k = rng.integers(-60, 60, size=(6, 3, 3, 3))
    w = ((k + 0.4) / 127.0).astype(np.float32)  # round half away: every error is -0.4 / 127
    w[0, 0, 1, 1] = 1.0
    b = rng.normal(0, 0.1, 6).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])
    return model([node], {"x": ["N", 3, 5, 5]}, {"y": None}, {"w": w, "b": b})


def _biased_data(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 3, 5, 5)) + np.array([2.0, 1.0, 0.5]).reshape(1, 3, 1, 1)).astype(np.float32)


def test_bias_correction_zeroes_the_mean_output_error() -> None:
    fg = prepare(biased_conv_model())
    calib = _biased_data(64, 6)
    samples = load_samples(calib, fg)
    conv = fg.nodes[0]
    wq = quantized_weights(conv, fg.consts[conv.inputs[1]], Precision(), per_channel=False)
    fixed, corrections = correct_biases(fg, fg, Precision(), False, samples)

    def mean_error(g) -> np.ndarray:
        """Mean over the calibration data of (quantized-weight output - float output), per channel."""
        node = g.nodes[0]
        q = copy.deepcopy(g)
        q.consts[node.inputs[1]] = wq.astype(np.float32)
        y = float_run.run(fg, {"x": calib})["y"].astype(np.float64)
        return (float_run.run(q, {"x": calib})["y"] - y).mean(axis=(0, 2, 3))

    before, after = mean_error(fg), mean_error(fixed)
    assert set(corrections) == {conv.name}
    assert np.abs(before).min() > 0.05, before  # every channel's rounding errs one way
    assert np.abs(after).max() < 1e-3 * np.abs(before).max(), (before, after)  # padding counted right


def test_bias_correction_includes_the_errors_of_earlier_layers() -> None:
    """Two biased convs with a ReLU between: the second layer's mean error in the quantized
    model (its own rounding plus what the first layer's rounding left in its input) is zeroed."""
    one = biased_conv_model()
    w2 = onnx.numpy_helper.to_array(one.graph.initializer[0])[:, :3].repeat(2, axis=1)  # 6 -> 6 channels
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b"], ["y"], pads=[1, 1, 1, 1]),
    ]
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in one.graph.initializer} | {"w2": w2}
    fg = prepare(model(nodes, {"x": ["N", 3, 5, 5]}, {"y": None}, inits))
    calib = _biased_data(64, 10)
    fixed, corrections = correct_biases(fg, fg, Precision(), False, load_samples(calib, fg))
    assert len(corrections) == 2

    def mean_error(g) -> np.ndarray:
        q = copy.deepcopy(g)
        for n in q.nodes:
            q.consts[n.inputs[1]] = quantized_weights(n, q.consts[n.inputs[1]], Precision(), False).astype(
                np.float32
            )
        y = float_run.run(fg, {"x": calib})["y"].astype(np.float64)
        return (float_run.run(q, {"x": calib})["y"] - y).mean(axis=(0, 2, 3))

    before, after = mean_error(fg), mean_error(fixed)
    assert np.abs(before).max() > 0.1, before  # (one channel's errors happen to cancel)
    assert np.abs(after).max() < 1e-3 * np.abs(before).max(), (before, after)


def test_bias_correction_raises_sqnr_of_a_biased_layer() -> None:
    m = biased_conv_model()
    calib, x = _biased_data(64, 6), _biased_data(16, 7)
    want = ort_run(m, {"x": x})[0]
    _, plain = convert_and_run(m, calib, x, per_tensor=True)
    _, fixed = convert_and_run(m, calib, x, per_tensor=True, bias_correction=True)
    assert sqnr(want, fixed[0]) > sqnr(want, plain[0]) + 6.0, (sqnr(want, plain[0]), sqnr(want, fixed[0]))


def test_bias_correction_uses_the_int4_weights() -> None:
    """With int4 weights the correction is against the int4 values the lowering stores."""
    fg = prepare(biased_conv_model())
    samples = load_samples(_biased_data(32, 8), fg)
    conv = fg.nodes[0]
    scales = np.array([1.0 / 7.0], np.float32)
    p = Precision(int4={conv.name: scales})
    _, c4 = correct_biases(fg, fg, p, False, samples)
    _, c8 = correct_biases(fg, fg, Precision(), False, samples)
    w = fg.consts[conv.inputs[1]].astype(np.float64)
    dw4 = quantized_weights(conv, w, p, False) - w
    assert np.abs(dw4).max() > 0.05 > np.abs(quantized_weights(conv, w, Precision(), False) - w).max()
    assert np.abs(c4[conv.name] - c8[conv.name]).max() > 0.1


# *** the command line ***


def test_cli_flags_run(tmp_path) -> None:
    src = tmp_path / "m.onnx"
    src.write_bytes(spread_dw_model().SerializeToString())
    np.save(tmp_path / "calib.npy", _data(32, 9))
    out = tmp_path / "m.picoq"
    r = subprocess.run(
        [sys.executable, "-m", "picoq.converter.cli", "convert", str(src), "-o", str(out), "--calib",
         str(tmp_path / "calib.npy"), "--per-tensor", "--equalize", "--bias-correction"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "equalized 4 layer pair(s)" in r.stdout and "bias correction: 5 layer(s)" in r.stdout
    assert out.stat().st_size > 0
    r = subprocess.run(
        [sys.executable, "-m", "picoq.converter.cli", "convert", "--help"], capture_output=True, text=True
    )
    assert "--bias-correction" in r.stdout and "--equalize" in r.stdout


def test_tflite_refuses_the_float_rewrites() -> None:
    import pytest

    from picoq.converter import ConversionError

    from support.make_fixtures import build_tiny_convnet

    tflite = build_tiny_convnet()
    assert convert(tflite)  # converts without them
    for option in ("bias_correction", "equalize"):
        with pytest.raises(ConversionError, match="rewrite float ONNX models"):
            convert(tflite, **{option: True})
