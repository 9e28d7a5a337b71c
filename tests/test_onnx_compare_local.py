"""`picoq compare`'s local SQNR: each op run alone on the float model's own inputs names the
layer that causes an error, where the cumulative SQNR names the late layers inheriting it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from picoq.converter import convert
from picoq.converter.compare import (
    LayerError,
    cause_first,
    compare,
    expose_all,
    format_table,
    graph_from_model,
    worst_first,
)
from picoq.converter.compare_plot import figure_inches, plot, short_names
from picoq.converter.plan import plan_arena
from picoq.converter.writer import to_bytes
from picoq.runtime import Interpreter, read_model

from support.make_onnx_models import Builder  # noqa: E402

CONVS = ("CONV_2D", "DEPTHWISE_CONV_2D")


def mobilenet_v2_like(seed: int = 5):
    """A stem conv and five inverted-residual blocks (1x1 expand, 3x3 depthwise, 1x1
    project, residual Add where shapes allow) at 32x32x3: 16 convolutions, BatchNorm, ReLU6."""
    b = Builder("mobilenet_v2_like", "nchw", seed)
    x, cin = b.conv("input", 3, 16, 3, stride=2, act="relu6"), 16
    for cout, stride, t in [(16, 1, 2), (24, 2, 3), (24, 1, 3), (32, 2, 3), (32, 1, 3)]:
        y = b.conv(x, cin, cin * t, 1, act="relu6")
        y = b.conv(y, cin * t, cin * t, 3, stride=stride, group=cin * t, act="relu6")
        y = b.conv(y, cin * t, cout, 1, act=None)
        x = b.node("Add", [x, y], "residual") if stride == 1 and cin == cout else y
        cin = cout
    x = b.node("GlobalAveragePool", [x], "gap")
    y = b.node("Softmax", [b.dense(b.flatten(x, cin), cin, 10)], "softmax", axis=-1)
    return b.model(b.input_shape(3, 32, 32), y, (1, 10))


def images(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 3, 32, 32)).astype(np.float32)


@pytest.fixture(scope="module")
def mnv2():
    m = mobilenet_v2_like()
    return m, convert(m, calibration=images(32, 0), progress=False)


def perturbed(data: bytes, conv_number: int) -> tuple[bytes, str]:
    """The model with 3 % of the int8 weights of its `conv_number`-th convolution
    sign-flipped at random (that layer's output then at 10-16 dB SQNR, the others' own at
    37 dB or more), and the tensor that convolution writes."""
    g = graph_from_model(read_model(data))
    op = [o for o in g.ops if o.name in CONVS][conv_number]
    w = g.tensors[op.inputs[1]]
    flip = np.random.default_rng(conv_number).random(w.data.shape) < 0.03
    w.data = np.where(flip, -np.maximum(w.data, -127), w.data).astype(np.int8)
    plan_arena(g)
    return to_bytes(g), g.tensors[op.outputs[0]].name


@pytest.mark.parametrize("kernels", ["reference", "fast"])
def test_one_op_run_alone_matches_the_whole_run(mnv2, kernels):
    """set_tensor + invoke_ops(k) recomputes op k's output exactly from its inputs."""
    debug, _ = expose_all(mnv2[1])
    it = Interpreter(debug, kernels=kernels)
    x = np.random.default_rng(3).integers(-128, 128, it.input_details[0]["shape"]).astype(np.int8)
    it.run(x)
    m = it.model
    whole = {t.index: it.get_tensor(t.index) for t in m.tensors if not t.is_const}
    whole[m.inputs[0]] = x  # the only tensor whose bytes a later one reuses: all else is an output
    rng = np.random.default_rng(1)
    for op in m.ops:
        for t in whole:  # everything but the op's inputs clobbered
            if t not in op.inputs:
                it.set_tensor(t, rng.integers(-128, 128, whole[t].shape).astype(whole[t].dtype))
        for t in op.inputs:
            if not m.tensors[t].is_const:
                it.set_tensor(t, whole[t])
        it.invoke_ops(op.index)
        np.testing.assert_array_equal(it.get_tensor(op.outputs[0]), whole[op.outputs[0]], err_msg=op.name)


def test_single_op_api_refuses_what_it_cannot_do(mnv2):
    it = Interpreter(mnv2[1])
    const = next(t for t in it.model.tensors if t.is_const)
    act = it.model.ops[0].outputs[0]
    with pytest.raises(ValueError, match="constant"):
        it.set_tensor(const.index, np.zeros(const.shape, np.int8))
    with pytest.raises(ValueError, match="expected int8"):
        it.set_tensor(act, np.zeros((1, 2), np.int8))
    with pytest.raises(IndexError):
        it.get_tensor(len(it.model.tensors))
    with pytest.raises(IndexError):
        it.invoke_ops(len(it.model.ops))
    with pytest.raises(IndexError):
        it.invoke_ops(2, 1)


def test_local_matches_cumulative_where_nothing_is_inherited(mnv2):
    m, data = mnv2
    rows = compare(m, data, images(4, 1))
    first_conv = next(r for r in rows if r.op == "CONV_2D")
    inp = next(r for r in rows if r.op == "input")
    assert inp.local_sqnr_db == inp.sqnr_db
    # the stem conv's inputs are the (quantized) model input either way: the same numbers
    assert first_conv.local_sqnr_db == pytest.approx(
        first_conv.sqnr_db, rel=1e-6
    )  # float32 vs 64 dequantization
    for r in rows:
        assert math.isfinite(r.local_sqnr_db) and r.local_sqnr_db > 20, r  # every op has a local SQNR
    # errors accumulate: the late layers' cumulative SQNR is below their own
    assert sum(r.local_sqnr_db > r.sqnr_db for r in rows) > len(rows) // 2


@pytest.mark.parametrize("conv_number", [4, 8, 11])
def test_compare_names_the_layer_that_causes_an_injected_error(mnv2, conv_number):
    """The done-when test of issue 14: one layer's weights broken, that layer comes first."""
    m, data = mnv2
    bad, culprit = perturbed(data, conv_number)
    rows = compare(m, bad, images(4, 1))
    first = cause_first(rows)[0]
    assert first.tensor == culprit, format_table(rows, limit=5)
    assert first.local_sqnr_db < 20 < min(r.local_sqnr_db for r in rows if r.tensor != culprit)
    # the cumulative SQNR alone points at a layer after it, which merely inherited the error
    worst = worst_first(rows)[0]
    assert worst.tensor != culprit and worst.order > first.order


def _row(k: int, name: str) -> LayerError:
    return LayerError(name, name, "CONV_2D", (1, 8, 8, 16), 0.05, 40 - k / 10, 0.1, k, 45.0 - k % 7, 0.05)


def torch_names(n: int) -> list[str]:
    """Names as torch.onnx.export writes them for torchvision's MobileNetV2."""
    names = ["input"]
    for k in range(n - 1):
        block, layer = divmod(k, 6)
        names.append(
            f"/features/features.{block}/conv/conv.{layer // 2}/conv.{layer // 2}.{layer % 2}/Conv_output_0"
        )
    return names


def test_short_names_are_short_unique_and_readable():
    names = torch_names(300)
    short = short_names(names)
    assert len(set(short)) == len(names)
    assert max(map(len, short)) <= 28
    assert short[1] == "features.0/conv.0.0/Conv"
    assert short_names(["a/x", "a/x_output_0"]) == ["a/x", "a/x_output_0"]  # never merged


def test_plot_of_a_300_tensor_model_is_readable_and_sized(tmp_path):
    import matplotlib  # noqa: F401  (a test dependency: the plot is under test, never skipped)

    rows = [_row(k, name) for k, name in enumerate(torch_names(300))]
    rows[5].local_sqnr_db = math.nan  # a layer without a local SQNR is drawn without its dot
    rows[6].sqnr_db = math.inf
    plot(rows, tmp_path / "e.png")
    png = (tmp_path / "e.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    w_in, h_in, panels = figure_inches(300)
    assert panels == 3 and height == round(h_in * 100)
    assert 3 * 300 < width <= 2000 and height <= 1600  # not the former 960 x 8,000+ strip
    assert (height - 150) / 100 >= 12  # each of a panel's 100 rows gets 12+ pixels: labels apart
    assert figure_inches(10)[1] < figure_inches(100)[1]  # height follows the rows up to a panel
    assert figure_inches(100)[1] == figure_inches(300)[1] < figure_inches(300)[0]  # then panels
