"""Grouped and dilated ConvTranspose (converter/conv_transpose_ext.py), 1-D ConvTranspose
(lift_1d.py) and Upsample mode=linear (resize.py): decoders, segmentation heads and GAN
generators exported by torch.onnx.export.

Oracles: onnxruntime in float (the rewritten float graph must equal it to float rounding; the
int8 model must be as accurate as onnxruntime's own quantize_static), tflite-micro for what
its RESIZE_BILINEAR does with both coordinate flags false, and the block-diagonal form against
the split form (the int8 bytes of the two exact forms must be equal)."""

from __future__ import annotations

import io

import numpy as np
import onnx
import pytest
import torch  # the `torch` extra; CI installs it (README test command)
from onnx import helper

import picoq.converter.conv_transpose_ext as ext
from picoq.converter import convert
from picoq.converter.float_ops import sqnr_db
from picoq.converter.float_run import run
from picoq.converter.graph import ConversionError
from picoq.converter.onnx_convert import prepare
from picoq.converter.resize import onnx_bilinear_table, tflite_bilinear_table
from picoq.runtime import Interpreter

from support.onnx_models import model, op_names, ort_quantize_static, ort_run, rand
from support.tflite_builder import TFLiteGraph
from support.tflm_oracle import TFLMRunner

nn = torch.nn


def _export(net: nn.Module, shape: tuple[int, ...]) -> onnx.ModelProto:
    buf = io.BytesIO()
    torch.onnx.export(
        net.eval(), torch.zeros(1, *shape), buf, dynamo=False, input_names=["input"],
        dynamic_axes={"input": {0: "n"}},
    )  # fmt: skip
    return onnx.load_from_string(buf.getvalue())


def _float_graph_error(m: onnx.ModelProto, x: np.ndarray) -> float:
    """Largest |converter's float graph (after every rewrite) - onnxruntime|, relative to the
    output's largest magnitude."""
    fg = prepare(m)
    name = m.graph.input[0].name
    ours = run(fg, {name: x})[fg.outputs[0]]
    want = ort_run(m, {name: x})[0]
    assert ours.shape == want.shape
    return float(np.abs(ours - want).max() / np.abs(want).max())


# *** torch models: accuracy against onnxruntime's own int8 quantization ***


def _decoder(tconv: nn.Module, cin: int, one_d: bool = False) -> nn.Module:
    conv = nn.Conv1d(4, cin, 3, padding=1) if one_d else nn.Conv2d(3, cin, 3, padding=1)
    return nn.Sequential(conv, nn.ReLU(), tconv)


def _dcgan_block() -> nn.Module:
    """A GAN generator's block: grouped ConvTranspose2d without bias, BatchNorm2d, ReLU."""
    m = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(8, 8, 4, stride=2, padding=1, groups=4, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
    )
    with torch.no_grad():
        m[3].running_mean.uniform_(-0.3, 0.3)
        m[3].running_var.uniform_(0.5, 2.0)
        m[3].weight.uniform_(0.6, 1.4)
        m[3].bias.uniform_(-0.2, 0.2)
    return m


# name -> (module builder, input shape without batch, picoq ops from the ConvTranspose on)
TORCH_CASES = {
    "groups2_stride2_output_padding": (
        lambda: _decoder(nn.ConvTranspose2d(8, 6, 3, stride=2, padding=1, output_padding=1, groups=2), 8),
        (3, 6, 7),
        ["TRANSPOSE_CONV"],
    ),
    "groups_eq_channels_few": (  # depthwise-style, 4 channels: the block form is the smallest
        lambda: _decoder(nn.ConvTranspose2d(4, 4, 4, stride=2, padding=1, groups=4), 4),
        (3, 6, 7),
        ["TRANSPOSE_CONV"],
    ),
    "groups_eq_channels": (  # 16 channels: zeros inserted, DEPTHWISE_CONV_2D
        lambda: _decoder(nn.ConvTranspose2d(16, 16, 4, stride=2, padding=1, groups=16), 16),
        (3, 6, 7),
        ["PAD", "DEPTHWISE_CONV_2D"],
    ),
    "groups_eq_channels_multiplier2": (
        lambda: _decoder(nn.ConvTranspose2d(32, 64, 5, stride=2, padding=2, output_padding=1, groups=32), 32),
        (3, 5, 6),
        ["PAD", "DEPTHWISE_CONV_2D"],
    ),
    "groups_eq_channels_stride1": (  # no zeros to insert
        lambda: _decoder(nn.ConvTranspose2d(32, 32, 3, padding=1, groups=32), 32),
        (3, 5, 6),
        ["DEPTHWISE_CONV_2D"],
    ),
    "groups4_split": (  # 4 groups of 8 channels, 3x3: the split form is the smallest
        lambda: _decoder(nn.ConvTranspose2d(32, 32, 3, stride=2, padding=1, output_padding=1, groups=4), 32),
        (3, 5, 6),
        ["SLICE", "TRANSPOSE_CONV"] * 4 + ["CONCATENATION"],
    ),
    "dilation2_stride2_output_padding": (
        lambda: _decoder(nn.ConvTranspose2d(8, 4, 3, stride=2, padding=2, dilation=2, output_padding=1), 8),
        (3, 6, 7),
        ["TRANSPOSE_CONV"],
    ),
    "dilation_groups_asymmetric": (
        lambda: _decoder(
            nn.ConvTranspose2d(8, 6, (3, 2), stride=(2, 3), padding=(2, 1), dilation=(2, 3), groups=2), 8
        ),
        (3, 5, 6),
        ["TRANSPOSE_CONV"],
    ),
    "conv_transpose1d_groups_dilation": (
        lambda: _decoder(
            nn.ConvTranspose1d(8, 4, 5, stride=2, padding=2, output_padding=1, groups=2, dilation=2), 8, True
        ),
        (4, 20),
        ["TRANSPOSE_CONV"],
    ),
    "dcgan_groups_batchnorm_relu": (_dcgan_block, (3, 6, 7), ["TRANSPOSE_CONV"]),
}


@pytest.fixture(scope="module", params=sorted(TORCH_CASES))
def torch_case(request):
    build, shape, ops = TORCH_CASES[request.param]
    torch.manual_seed(0)
    return request.param, _export(build(), shape), shape, ops


def test_torch_float_graph_equals_onnxruntime(torch_case):
    """The rewritten float graph (dilated kernel, block-diagonal or split groups, folded
    BatchNorm) computes what onnxruntime computes, to float rounding."""
    _, m, shape, _ = torch_case
    x = np.random.default_rng(1).normal(size=(4, *shape)).astype(np.float32)
    assert _float_graph_error(m, x) < 1e-5


def test_torch_int8_accuracy_at_least_onnxruntime_quantize_static(torch_case, tmp_path):
    name, m, shape, ops = torch_case
    rng = np.random.default_rng(2)
    calib = rng.normal(size=(64, *shape)).astype(np.float32)
    x = rng.normal(size=(16, *shape)).astype(np.float32)
    it = Interpreter(convert(m, calibration=calib, progress=False))
    names = op_names(it)
    first = names.index(ops[0], 2)  # after the input's TRANSPOSE and the first CONV_2D
    assert [n for n in names[first:] if n not in ("TRANSPOSE", "RESHAPE")] == ops, names
    want = ort_run(m, {"input": x})[0]
    got = it.run(x)
    assert got.shape == want.shape
    ours = sqnr_db(want, got)
    try:
        peer = ort_quantize_static(m, calib, tmp_path)
    except ValueError:  # onnxruntime 1.32's per-channel bias of a grouped ConvTranspose takes
        # Cout / group weight scales for Cout biases (a broadcast error): its per-tensor form
        peer = ort_quantize_static(m, calib, tmp_path, per_channel=False)
    theirs = sqnr_db(want, ort_run(peer, {"input": x})[0])
    print(f"{name}: picoq {ours:.2f} dB, onnxruntime quantize_static {theirs:.2f} dB")
    assert ours >= theirs - 0.5 and ours >= 30, (ours, theirs)


# *** hand-built ONNX: the padding arithmetic of every form against onnxruntime ***


def _tconv_model(w_shape, opset: int = 13, bias: bool = True, in_hw=(5, 6), **attrs) -> onnx.ModelProto:
    rng = np.random.default_rng(7)
    group = attrs.get("group", 1)
    cin, m = w_shape[0], w_shape[1] * group
    inits = {"w": rand(rng, *w_shape)}
    if bias:
        inits["b"] = rand(rng, m)
    node = helper.make_node("ConvTranspose", ["x", "w", *(["b"] if bias else [])], ["y"], **attrs)
    return model([node], {"x": ["N", cin, *in_hw]}, {"y": None}, inits, opset=opset)


GEOMETRY = {
    "dil2_asymmetric_pads": ((4, 3, 3, 3), {"dilations": [2, 2], "strides": [2, 3], "pads": [0, 1, 2, 1]}),
    "dil23_output_shape_odd": (
        (4, 3, 3, 2),
        {"dilations": [2, 3], "strides": [2, 2], "output_shape": [12, 13]},
    ),
    "dil2_same_upper": (
        (4, 3, 3, 3),
        {"dilations": [2, 2], "strides": [3, 2], "auto_pad": "SAME_UPPER", "output_shape": [17, 12]},
    ),
    "dil2_same_lower": ((4, 3, 3, 3), {"dilations": [2, 2], "strides": [2, 2], "auto_pad": "SAME_LOWER"}),
    "dil3_output_padding_pads": (
        (4, 3, 2, 3),
        {"dilations": [3, 1], "strides": [2, 2], "pads": [1, 0, 0, 2], "output_padding": [1, 1]},
    ),
    "group2_dil2_pads": (
        (4, 3, 3, 3),
        {"group": 2, "dilations": [2, 2], "strides": [2, 2], "pads": [1, 0, 0, 1], "output_padding": [1, 0]},
    ),
    "group4_output_shape": ((8, 2, 3, 3), {"group": 4, "strides": [2, 2], "output_shape": [10, 12]}),
    "depthwise_multiplier2_same_upper": (
        (6, 2, 4, 4),
        {"group": 6, "strides": [2, 2], "auto_pad": "SAME_UPPER"},
    ),
    # 66 groups of 2 -> 1 channels, 7x7: split, and 66 inputs are more than one CONCATENATION takes
    "group66_split_concat_tree": ((132, 1, 7, 7), {"group": 66, "strides": [2, 2], "pads": [3, 3, 3, 3]}),
    # depthwise forms: zeros inserted, then DEPTHWISE_CONV_2D, and where that cannot be: block / split
    "dw24_dil2_asymmetric_output_padding": (
        (24, 2, 3, 3),
        {"group": 24, "strides": [2, 2], "dilations": [2, 2], "pads": [0, 1, 2, 1], "output_padding": [1, 0]},
    ),
    "dw24_stride3_output_shape": ((24, 1, 4, 4), {"group": 24, "strides": [3, 3], "output_shape": [15, 17]}),
    "dw24_strides_differ": ((24, 1, 4, 4), {"group": 24, "strides": [2, 3], "pads": [1, 1, 1, 1]}),
    "dw24_pad_beyond_kernel": ((24, 1, 3, 3), {"group": 24, "strides": [2, 2], "pads": [3, 0, 1, 0]}),
    "dw24_kernel_below_stride": ((24, 1, 1, 1), {"group": 24, "strides": [2, 2]}),
}


@pytest.mark.parametrize("case", sorted(GEOMETRY))
def test_geometry_float_graph_equals_onnxruntime(case):
    w_shape, attrs = GEOMETRY[case]
    m = _tconv_model(w_shape, **attrs)
    x = np.random.default_rng(3).normal(size=(2, w_shape[0], 5, 6)).astype(np.float32)
    assert _float_graph_error(m, x) < 1e-5


@pytest.mark.parametrize("case", ["dil2_asymmetric_pads", "group2_dil2_pads", "group66_split_concat_tree"])
def test_geometry_int8_matches_onnxruntime(case):
    w_shape, attrs = GEOMETRY[case]
    m = _tconv_model(w_shape, **attrs)
    rng = np.random.default_rng(4)
    calib = rng.normal(size=(32, w_shape[0], 5, 6)).astype(np.float32)
    x = rng.normal(size=(4, w_shape[0], 5, 6)).astype(np.float32)
    it = Interpreter(convert(m, calibration=calib, progress=False))
    if case == "group66_split_concat_tree":  # two CONCATENATIONs of 33, then one of those two
        assert op_names(it).count("TRANSPOSE_CONV") == 66
        assert op_names(it).count("CONCATENATION") == 3
    else:
        assert op_names(it).count("TRANSPOSE_CONV") == 1
    assert sqnr_db(ort_run(m, {"x": x})[0], it.run(x)) >= 30


FORM_OPS = {"block": "TRANSPOSE_CONV", "split": "SLICE", "depthwise": "DEPTHWISE_CONV_2D"}


@pytest.mark.parametrize(
    ("case", "forms"),
    [
        ("group2_dil2_pads", ("block", "split")),
        ("depthwise_multiplier2_same_upper", ("block", "split", "depthwise")),
        ("dw24_dil2_asymmetric_output_padding", ("block", "split", "depthwise")),
        ("dw24_stride3_output_shape", ("block", "split", "depthwise")),
    ],
)
def test_every_form_gives_the_same_bytes(case, forms, monkeypatch):
    """The forms are exact in int8 too: with per-channel weight scales the block's zeros add
    nothing, each split group's TRANSPOSE_CONV writes the Concat's (shared) output parameters,
    and the inserted zeros are the input's zero point, which DEPTHWISE_CONV_2D's input offset
    cancels. So the int8 outputs are byte for byte equal."""
    w_shape, attrs = GEOMETRY[case]
    m = _tconv_model(w_shape, **attrs)
    rng = np.random.default_rng(5)
    calib = rng.normal(size=(32, w_shape[0], 5, 6)).astype(np.float32)
    x = rng.normal(size=(4, w_shape[0], 5, 6)).astype(np.float32)
    got = {}
    for form in forms:
        monkeypatch.setattr(ext, "group_form", lambda *a, form=form: form)
        it = Interpreter(convert(m, calibration=calib, progress=False))
        assert FORM_OPS[form] in op_names(it), (form, op_names(it))
        assert form == "block" or "TRANSPOSE_CONV" not in op_names(it) or form == "split"
        got[form] = it.run(x)
    for form in forms[1:]:
        np.testing.assert_array_equal(got[forms[0]], got[form], err_msg=form)


def _form_sizes(m: onnx.ModelProto, calib: np.ndarray, forms, monkeypatch) -> dict[str, int]:
    sizes = {}
    for form in forms:
        monkeypatch.setattr(ext, "group_form", lambda *a, form=form: form)
        sizes[form] = len(convert(m, calibration=calib, progress=False))
    return sizes


def test_record_bytes_match_the_file(monkeypatch):
    """GROUP_RECORD_BYTES and DEPTHWISE_RECORD_BYTES are what the file spends beyond the
    weights, within 25%: group_form's estimates choose the smallest file."""
    cin, cout, k = 16, 16, 16  # depthwise, 4x4
    m = _tconv_model((cin, 1, 4, 4), group=16, strides=[2, 2], pads=[1, 1, 1, 1])
    calib = np.random.default_rng(6).normal(size=(8, cin, 5, 6)).astype(np.float32)
    size = _form_sizes(m, calib, ("block", "split", "depthwise"), monkeypatch)
    per_group = (size["split"] - size["block"] + cin * cout * k - cin * cout * k // 16) / 16
    depthwise = size["depthwise"] - size["block"] + cin * cout * k - cout * k
    assert 0.75 * per_group <= ext.GROUP_RECORD_BYTES <= 1.25 * per_group, per_group
    assert 0.75 * depthwise <= ext.DEPTHWISE_RECORD_BYTES <= 1.25 * depthwise, depthwise
    chosen = ext.group_form(cin, cout, k, 16, True)
    assert size[chosen] == min(size.values()), (chosen, size)


# *** Upsample mode=linear (opsets 7 to 9) ***


def _upsample_model(scales, opset: int, mode: str = "linear", hw=(5, 6)) -> onnx.ModelProto:
    out_hw = [int(np.floor(d * s)) for d, s in zip(hw, scales[2:])]
    if opset >= 9:
        node = helper.make_node("Upsample", ["c", "sc"], ["y"], mode=mode)
        inits = {"sc": np.array(scales, np.float32)}
    else:
        node = helper.make_node("Upsample", ["c"], ["y"], mode=mode, scales=[float(s) for s in scales])
        inits = {}
    rng = np.random.default_rng(8)
    inits |= {"w": rand(rng, 4, 3, 3, 3), "b": rand(rng, 4)}
    conv = helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1])
    return model([conv, node], {"x": ["N", 3, *hw]}, {"y": ["N", 4, *out_hw]}, inits, opset=opset)


@pytest.mark.parametrize(
    ("scales", "opset"),
    [([1, 1, 2, 2], 9), ([1, 1, 2, 3], 9), ([1, 1, 3, 1], 7), ([1, 1, 1.5, 2.5], 9), ([1, 1, 4, 4], 8)],
)
def test_upsample_linear_matches_onnxruntime(scales, opset):
    m = _upsample_model(scales, opset)
    rng = np.random.default_rng(9)
    calib = rng.normal(size=(32, 3, 5, 6)).astype(np.float32)
    x = rng.normal(size=(4, 3, 5, 6)).astype(np.float32)
    assert _float_graph_error(m, x) < 2e-3  # the kernel's 10-bit weights, rounded
    it = Interpreter(convert(m, calibration=calib, progress=False))
    assert "RESIZE_BILINEAR" in op_names(it)
    assert sqnr_db(ort_run(m, {"x": x})[0], it.run(x)) >= 30


def test_torch_opset9_upsample_bilinear_matches_onnxruntime(tmp_path):
    """torch.onnx.export at opset 9 writes nn.Upsample(mode="bilinear") as Upsample mode=linear
    (asymmetric coordinates: not torch's own half-pixel result, torch warns; onnxruntime's is the
    model's meaning)."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2, mode="bilinear")
    )
    buf = io.BytesIO()
    torch.onnx.export(
        net.eval(), torch.zeros(1, 3, 5, 6), buf, dynamo=False, opset_version=9, input_names=["input"]
    )
    m = onnx.load_from_string(buf.getvalue())
    assert [n.op_type for n in m.graph.node if n.op_type == "Upsample"] == ["Upsample"]
    rng = np.random.default_rng(14)
    calib = rng.normal(size=(64, 3, 5, 6)).astype(np.float32)
    x = rng.normal(size=(4, 1, 3, 5, 6)).astype(np.float32)  # the export's batch is 1
    assert _float_graph_error(m, x[0]) < 1e-6  # scale 2: the 10-bit weights are exact
    it = Interpreter(convert(m, calibration=calib, progress=False))
    assert "RESIZE_BILINEAR" in op_names(it)
    want = np.concatenate([ort_run(m, {"input": xi})[0] for xi in x])
    ours = sqnr_db(want, np.concatenate([it.run(xi) for xi in x]))
    # per-tensor: onnxruntime's per-channel form writes DequantizeLinear's axis, which opset 9
    # lacks; its per-tensor model measures far below picoq here (7.7 dB), so 30 dB is the bar
    peer = ort_quantize_static(m, calib, tmp_path, per_channel=False)
    theirs = sqnr_db(want, np.concatenate([ort_run(peer, {"input": xi})[0] for xi in x]))
    print(f"opset-9 Upsample: picoq {ours:.2f} dB, onnxruntime quantize_static {theirs:.2f} dB")
    assert ours >= theirs - 0.5 and ours >= 30, (ours, theirs)


def test_upsample_bilinear_is_linear():
    """mode="bilinear" (Upsample-1's name; onnxruntime refuses it) converts as "linear"."""
    rng = np.random.default_rng(10)
    calib = rng.normal(size=(16, 3, 5, 6)).astype(np.float32)
    x = rng.normal(size=(2, 3, 5, 6)).astype(np.float32)
    outs = [
        Interpreter(convert(_upsample_model([1, 1, 2, 3], 9, mode), calibration=calib, progress=False)).run(x)
        for mode in ("linear", "bilinear")
    ]
    np.testing.assert_array_equal(*outs)


def _tflm_resize(data: np.ndarray, size, align: bool, half: bool) -> np.ndarray:
    g = TFLiteGraph()
    x = g.input("x", data.shape, 0.05, 0)
    g.output(g.resize_bilinear(x, size, align_corners=align, half_pixel_centers=half))
    return TFLMRunner(g.build(), arena_size=1 << 18).run([data])[0]


def _with_tables(data: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """RESIZE_BILINEAR's integer arithmetic (docs/FORMAT.md) with the given tables, NHWC."""
    x = data.astype(np.int64)
    y0, y1, wy = (rows[:, k][:, None] for k in range(3))
    x0, x1, wx = (cols[:, k][None, :] for k in range(3))
    s = (
        x[:, y0, x0] * ((1024 - wy) * (1024 - wx))[..., None]
        + x[:, y1, x0] * (wy * (1024 - wx))[..., None]
        + x[:, y0, x1] * ((1024 - wy) * wx)[..., None]
        + x[:, y1, x1] * (wy * wx)[..., None]
    )
    half = np.where(s >= 0, 1 << 19, -(1 << 19))
    q = np.abs(s + half) // (1 << 20) * np.sign(s + half)  # C's division: toward zero
    return q.astype(np.int8)


@pytest.mark.parametrize("scale", [2, 3, 4, 5, 8])
def test_tflm_resize_bilinear_without_flags_is_upsample_linear_for_power_of_two_scales(scale):
    """tflite-micro's RESIZE_BILINEAR with align_corners and half_pixel_centers false uses
    asymmetric coordinates with a 10-bit scale rounded from in / out: Upsample linear's exactly
    when 1024 / scale is an integer (2, 4, 8 here). For 3 and 5 TFLM drifts from ONNX by up to
    (out - 1) * |1024 / s - round(1024 / s)| / 1024 of a pixel; picoq gives its RESIZE_BILINEAR
    ONNX's own coordinates (onnx_bilinear_table), so it need not refuse those scales."""
    h, w = 6, 7
    data = np.random.default_rng(11).integers(-128, 128, (1, h, w, 3)).astype(np.int8)
    tflm = _tflm_resize(data, (h * scale, w * scale), False, False)
    # the arithmetic checked against the oracle: TFLM's own tables reproduce TFLM's output
    ttables = [tflite_bilinear_table(n, n * scale, False, False) for n in (h, w)]
    np.testing.assert_array_equal(_with_tables(data, *ttables), tflm)
    otables = [onnx_bilinear_table(n, n * scale, "asymmetric", float(scale)) for n in (h, w)]
    assert np.array_equal(_with_tables(data, *otables), tflm) == (1024 % scale == 0)


# *** what stays refused, named in the one error ***


def test_cubic_resize_is_named_with_the_other_problems():
    rng = np.random.default_rng(12)
    nodes = [
        helper.make_node("Resize", ["x", "", "sc"], ["a"], mode="cubic"),
        helper.make_node("Resize", ["x", "", "sc"], ["b"], mode="linear", antialias=1),
        helper.make_node("Add", ["a", "b"], ["y"]),
    ]
    m = model(nodes, {"x": ["N", 2, 4, 4]}, {"y": None}, {"sc": np.array([1, 1, 2, 2], np.float32)}, opset=18)
    with pytest.raises(ConversionError) as e:
        convert(m, calibration=rng.normal(size=(4, 2, 4, 4)).astype(np.float32), progress=False)
    text = str(e.value)
    assert "(Resize): not supported by picoq: mode=cubic (nearest and linear are)" in text
    assert "Resize mode=linear with antialias=1: not supported" in text


def test_upsample_linear_with_scales_on_channels_is_refused_by_name():
    m = _upsample_model([1, 2, 2, 2], 9)
    m.graph.output[0].type.tensor_type.shape.dim[1].dim_value = 8
    with pytest.raises(ConversionError, match="Upsample mode=linear with not a 2-D spatial upsampling"):
        convert(
            m,
            calibration=np.random.default_rng(13).normal(size=(4, 3, 5, 6)).astype(np.float32),
            progress=False,
        )
