"""Tests that tflite_builder writes models which TFLite runtimes read and run as intended.

Why: the builder stands in for the TF converter when making picoq's fixtures; a wrong shape,
scale or option would make every bit-exactness test built on it test the wrong thing. The
evidence: LiteRT's reference kernels (which recompute output shapes in Prepare) agree with
TFLM op by op, tflite's own parser reads back what was written, and activations are neither
saturated nor constant.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tflite
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from support.make_fixtures import (
    FIXTURES,
    build_tiny_convnet,
    build_tiny_mlp,
    build_tiny_resnet,
    tiny_convnet,
)
from support.tflite_builder import (
    SOFTMAX_OUT_SCALE,
    RandomLayers,
    Tensor,
    TFLiteGraph,
    conv_output_size,
    range_quant,
    symmetric_int8_weights,
)
from support.tflm_oracle import ArenaUsage, LiteRTRefRunner, TFLMRunner, run_tflm, tflm_arena_usage

SHARED_MODELS = Path(__file__).resolve().parents[2] / "shared" / "models" / "mlperf_tiny"
N_INPUTS = 8
FC = tflite.BuiltinOperator.FULLY_CONNECTED

# *** helpers ***


def random_inputs(rng: np.random.Generator, graph: TFLiteGraph) -> list[np.ndarray]:
    return [rng.integers(-128, 128, size=t.shape, dtype=np.int8) for t in graph.inputs]


def subgraph(data: bytes) -> tuple[tflite.Model, tflite.SubGraph]:
    model = tflite.Model.GetRootAsModel(data, 0)
    return model, model.Subgraphs(0)


def op_code(model: tflite.Model, op: tflite.Operator) -> int:
    oc = model.OperatorCodes(op.OpcodeIndex())
    return max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())


def is_const(model: tflite.Model, sg: tflite.SubGraph, index: int) -> bool:
    return model.Buffers(sg.Tensors(index).Buffer()).DataLength() > 0


def op_options(op: tflite.Operator, cls: type) -> object:
    table = op.BuiltinOptions()
    opts = cls()
    opts.Init(table.Bytes, table.Pos)
    return opts


def compare_op_by_op(data: bytes, inputs_list: list[list[np.ndarray]]) -> dict[int, int]:
    """Run TFLM and LiteRT (BUILTIN_REF) keeping all tensors; check every op whose inputs agree.

    An op whose activation inputs are bit-identical in both runtimes must produce identical
    outputs, except FULLY_CONNECTED, which may differ by 1 (INT8_SPEC section 7). Ops after
    a differing FC are checked on the inputs where the FC happened to agree. Returns, per
    op index, how many inputs it was checked on.
    """
    model, sg = subgraph(data)
    tflm = TFLMRunner(data, preserve_all_tensors=True)
    ref = LiteRTRefRunner(data, preserve_all_tensors=True)
    checked = dict.fromkeys(range(sg.OperatorsLength()), 0)
    for inputs in inputs_list:
        tflm.run(inputs)
        ref.run(inputs)
        for i in range(sg.OperatorsLength()):
            op = sg.Operators(i)
            acts = [t for t in op.InputsAsNumpy() if t >= 0 and not is_const(model, sg, t)]
            if not all(np.array_equal(tflm.tensor(t), ref.tensor(t)) for t in acts):
                continue
            for t in op.OutputsAsNumpy():
                diff = np.abs(tflm.tensor(t).astype(np.int32) - ref.tensor(t).astype(np.int32))
                limit = 1 if op_code(model, op) == FC else 0
                assert diff.max() <= limit, (
                    f"op {i} ({tflite.opcode2name(op_code(model, op))}) differs by {diff.max()}"
                )
            checked[i] += 1
    return checked


@pytest.fixture(scope="module", params=list(FIXTURES))
def fixture_model(request: pytest.FixtureRequest) -> tuple[str, TFLiteGraph, bytes]:
    graph = FIXTURES[request.param]()
    return request.param, graph, graph.build()


@pytest.fixture(scope="module")
def fixture_inputs(fixture_model: tuple[str, TFLiteGraph, bytes]) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(20251127)
    return [random_inputs(rng, fixture_model[1]) for _ in range(N_INPUTS)]


# *** fixtures run, agree and are not degenerate ***


def test_fixture_agrees_op_by_op(
    fixture_model: tuple[str, TFLiteGraph, bytes], fixture_inputs: list[list[np.ndarray]]
) -> None:
    _, _, data = fixture_model
    checked = compare_op_by_op(data, fixture_inputs)
    # Every op, including the SOFTMAX after an FC, must have been compared at least once.
    assert min(checked.values()) >= 1, checked


def test_fixture_final_outputs_agree(
    fixture_model: tuple[str, TFLiteGraph, bytes], fixture_inputs: list[list[np.ndarray]]
) -> None:
    _, _, data = fixture_model
    model, sg = subgraph(data)
    codes = [op_code(model, sg.Operators(i)) for i in range(sg.OperatorsLength())]
    tflm, ref = TFLMRunner(data), LiteRTRefRunner(data)
    worst = 0
    for inputs in fixture_inputs:
        for a, b in zip(tflm.run(inputs), ref.run(inputs), strict=True):
            assert a.dtype == b.dtype == np.int8 and a.shape == b.shape
            worst = max(worst, int(np.abs(a.astype(np.int32) - b.astype(np.int32)).max()))
    if FC not in codes:
        assert worst == 0
    elif codes[-1] == FC:
        assert worst <= 1
    # Otherwise (SOFTMAX after FC) a +-1 logit can move a probability by more than 1;
    # test_fixture_agrees_op_by_op covers that case.


def test_fixture_activations_not_degenerate(
    fixture_model: tuple[str, TFLiteGraph, bytes], fixture_inputs: list[list[np.ndarray]]
) -> None:
    _, graph, data = fixture_model
    tflm = TFLMRunner(data, preserve_all_tensors=True)
    acts = [t for t in graph.tensors if not t.is_const and t not in graph.inputs]
    seen: dict[int, list[np.ndarray]] = {t.index: [] for t in acts}
    for inputs in fixture_inputs:
        tflm.run(inputs)
        for t in acts:
            seen[t.index].append(tflm.tensor(t.index))
    for t in acts:
        v = np.stack(seen[t.index]).astype(np.int32)
        assert len(np.unique(v)) >= 16, f"{t.name}: only {len(np.unique(v))} distinct values"
        assert np.mean(v == 127) < 0.05, f"{t.name}: saturates at 127"
        assert np.mean(v == -128) < 0.6, f"{t.name}: mostly -128"
        assert v.std(axis=0).mean() > 2.0, f"{t.name}: hardly depends on the input"


# *** tflite's parser and LiteRT read back what was written ***


def test_fixture_reads_back(fixture_model: tuple[str, TFLiteGraph, bytes]) -> None:
    _, graph, data = fixture_model
    model, sg = subgraph(data)
    assert tflite.Model.ModelBufferHasIdentifier(data, 0) and data[4:8] == b"TFL3"
    assert model.Version() == 3 and model.SubgraphsLength() == 1
    assert model.Buffers(0).DataLength() == 0
    assert list(sg.InputsAsNumpy()) == [t.index for t in graph.inputs]
    assert list(sg.OutputsAsNumpy()) == [t.index for t in graph.outputs]
    assert sg.TensorsLength() == len(graph.tensors)
    base = np.frombuffer(data, dtype=np.uint8).ctypes.data
    for t in graph.tensors:
        pt = sg.Tensors(t.index)
        assert pt.Name().decode() == t.name
        assert tuple(pt.ShapeAsNumpy()) == t.shape
        assert pt.Buffer() == t.buffer
        q = pt.Quantization()
        if t.scales:
            assert list(q.ScaleAsNumpy()) == list(np.float32(t.scales))
            assert list(q.ZeroPointAsNumpy()) == list(t.zero_points)
            assert q.QuantizedDimension() == t.quantized_dimension
        else:
            assert q is None or q.ScaleLength() == 0
        buf = model.Buffers(t.buffer)
        if t.is_const:
            raw = buf.DataAsNumpy()
            assert raw.tobytes() == t.data.tobytes()
            assert (raw.ctypes.data - base) % 16 == 0, f"{t.name}: data not 16-byte aligned"
        else:
            assert buf.DataLength() == 0
    assert sg.OperatorsLength() == len(graph.ops)
    for i, op in enumerate(graph.ops):
        pop = sg.Operators(i)
        oc = model.OperatorCodes(pop.OpcodeIndex())
        assert oc.BuiltinCode() == op.code and oc.DeprecatedBuiltinCode() == min(op.code, 127)
        assert oc.Version() == op.version
        assert list(pop.InputsAsNumpy()) == op.inputs and list(pop.OutputsAsNumpy()) == op.outputs


def test_litert_agrees_on_shapes_and_quantization(fixture_model: tuple[str, TFLiteGraph, bytes]) -> None:
    """LiteRT recomputes every output shape in Prepare, so this checks the builder's shape maths."""
    _, graph, data = fixture_model
    details = {d["index"]: d for d in LiteRTRefRunner(data).tensor_details()}
    for t in graph.tensors:
        d = details[t.index]
        assert d["name"] == t.name
        assert tuple(d["shape"]) == t.shape
        qp = d["quantization_parameters"]
        assert list(qp["scales"]) == list(np.float32(t.scales))
        assert list(qp["zero_points"]) == list(t.zero_points)
        assert qp["quantized_dimension"] == t.quantized_dimension


def test_convnet_options_read_back() -> None:
    data = build_tiny_convnet()
    model, sg = subgraph(data)
    names = [tflite.opcode2name(op_code(model, sg.Operators(i))) for i in range(sg.OperatorsLength())]
    assert names == [
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "CONV_2D",
        "AVERAGE_POOL_2D",
        "RESHAPE",
        "FULLY_CONNECTED",
        "SOFTMAX",
    ]
    conv = op_options(sg.Operators(0), tflite.Conv2DOptions)
    assert (conv.StrideH(), conv.StrideW(), conv.DilationHFactor(), conv.DilationWFactor()) == (2, 2, 1, 1)
    assert conv.Padding() == tflite.Padding.SAME
    assert conv.FusedActivationFunction() == tflite.ActivationFunctionType.RELU6
    dw = op_options(sg.Operators(1), tflite.DepthwiseConv2DOptions)
    assert (dw.DepthMultiplier(), dw.DilationHFactor(), dw.DilationWFactor()) == (2, 2, 2)
    assert dw.Padding() == tflite.Padding.VALID
    assert dw.FusedActivationFunction() == tflite.ActivationFunctionType.RELU
    assert sg.Tensors(sg.Operators(1).InputsAsNumpy()[1]).Quantization().QuantizedDimension() == 3
    pool = op_options(sg.Operators(3), tflite.Pool2DOptions)
    assert (pool.FilterHeight(), pool.FilterWidth(), pool.StrideH(), pool.StrideW()) == (2, 2, 2, 2)
    reshape = sg.Operators(4)
    assert list(op_options(reshape, tflite.ReshapeOptions).NewShapeAsNumpy()) == [-1, 24]
    shape_buf = model.Buffers(sg.Tensors(reshape.InputsAsNumpy()[1]).Buffer())
    assert list(shape_buf.DataAsNumpy().view(np.int32)) == [-1, 24]
    fc = op_options(sg.Operators(5), tflite.FullyConnectedOptions)
    assert not fc.KeepNumDims() and fc.WeightsFormat() == tflite.FullyConnectedOptionsWeightsFormat.DEFAULT
    softmax = op_options(sg.Operators(6), tflite.SoftmaxOptions)
    assert softmax.Beta() == 1.0
    out = sg.Tensors(sg.OutputsAsNumpy()[0]).Quantization()
    assert out.ScaleAsNumpy()[0] == np.float32(SOFTMAX_OUT_SCALE) and out.ZeroPointAsNumpy()[0] == -128


def test_mlp_weight_granularity_and_missing_bias() -> None:
    graph = FIXTURES["tiny_mlp.tflite"]()
    w = [graph.tensors[op.inputs[1]] for op in graph.ops]
    assert len(w[0].scales) == 1 and len(w[1].scales) == w[1].shape[0] and w[1].quantized_dimension == 0
    assert graph.ops[2].inputs[2] == -1
    assert all(t.data.min() >= -127 and t.data.max() <= 127 for t in w)


# *** fixtures on disk and determinism ***


@pytest.mark.parametrize("build", [build_tiny_convnet, build_tiny_resnet, build_tiny_mlp])
def test_builds_are_deterministic(build: Callable[[], bytes]) -> None:
    assert build() == build()


def test_make_fixtures_script_writes_every_fixture(tmp_path: Path) -> None:
    """`python -m tests.support.make_fixtures --out DIR` is how anyone regenerates the fixture files."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    cmd = [sys.executable, "-m", "tests.support.make_fixtures", "--out", str(tmp_path)]
    subprocess.run(cmd, cwd=root, check=True, capture_output=True)
    for name, graph in FIXTURES.items():
        assert (tmp_path / name).read_bytes() == graph().build()


# *** single ops over many shapes (property test) ***


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    op=st.sampled_from(["conv2d", "depthwise_conv2d", "average_pool2d"]),
    hw=st.tuples(st.integers(1, 11), st.integers(1, 11)),
    channels=st.integers(1, 4),
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.sampled_from(["SAME", "VALID"]),
    activation=st.sampled_from(["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]),
    multiplier=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_single_op_shapes_and_outputs(
    op: str,
    hw: tuple[int, int],
    channels: int,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    padding: str,
    activation: str,
    multiplier: int,
    seed: int,
) -> None:
    """Output shape agrees with LiteRT's own computation and TFLM output is bit-identical."""
    if op == "average_pool2d":
        dilation = (1, 1)
    for size, k, d in zip(hw, kernel, dilation, strict=True):
        assume(padding == "SAME" or (k - 1) * d + 1 <= size)
    rng = np.random.default_rng(seed)
    g = TFLiteGraph()
    r = RandomLayers(g, rng)
    x = r.input("x", (1, *hw, channels), scale=0.03, zero_point=int(rng.integers(-20, 20)))
    if op == "conv2d":
        y = r.conv2d(x, 3, kernel, stride=stride, dilation=dilation, padding=padding, activation=activation)
    elif op == "depthwise_conv2d":
        y = r.depthwise_conv2d(
            x,
            kernel,
            depth_multiplier=multiplier,
            stride=stride,
            dilation=dilation,
            padding=padding,
            activation=activation,
        )
    else:
        y = g.average_pool2d(x, kernel, stride, padding=padding, activation=activation)
    g.output(y)
    data = g.build()
    expected = tuple(
        conv_output_size(s, k, st_, d, padding)
        for s, k, st_, d in zip(hw, kernel, stride, dilation, strict=True)
    )
    assert y.shape[1:3] == expected
    ref = LiteRTRefRunner(data)
    assert tuple(ref.output_details[0]["shape"]) == y.shape
    tflm = TFLMRunner(data)
    for _ in range(2):
        inputs = random_inputs(rng, g)
        np.testing.assert_array_equal(tflm.run(inputs)[0], ref.run(inputs)[0])


@pytest.mark.parametrize(
    ("shape_a", "shape_b"),
    [
        ((1, 4, 5, 3), (1, 4, 5, 3)),
        ((1, 4, 5, 3), (1, 1, 1, 3)),
        ((1, 4, 5, 3), (1, 4, 1, 1)),
        ((2, 6), (1, 6)),
    ],
)
def test_add_of_two_inputs_broadcasts(shape_a: tuple[int, ...], shape_b: tuple[int, ...]) -> None:
    g = TFLiteGraph()
    a = g.input("a", shape_a, scale=0.05, zero_point=-7)
    b = g.input("b", shape_b, scale=0.02, zero_point=11)
    g.output(g.add(a, b, out_scale=0.06, out_zp=3, activation="RELU"))
    data = g.build()
    rng = np.random.default_rng(7)
    tflm, ref = TFLMRunner(data), LiteRTRefRunner(data)
    for _ in range(3):
        inputs = random_inputs(rng, g)
        out = tflm.run(inputs)[0]
        assert out.shape == np.broadcast_shapes(shape_a, shape_b)
        np.testing.assert_array_equal(out, ref.run(inputs)[0])


# *** omitted bias ***


@pytest.mark.parametrize("op", ["conv2d", "depthwise_conv2d", "fully_connected"])
def test_omitted_bias_equals_zero_bias_in_tflm(op: str) -> None:
    """Without a bias TFLM must behave as with a zero bias (the model is only valid for TFLM)."""

    def build(with_zero_bias: bool) -> bytes:
        rng = np.random.default_rng(3)
        g = TFLiteGraph()
        x = g.input("x", (1, 5, 4, 2), scale=0.05, zero_point=-2)
        if op == "conv2d":
            w = g.const_int8("w", symmetric_int8_weights(rng, (3, 3, 3, 2), 0), [0.01, 0.02, 0.015])
        elif op == "depthwise_conv2d":
            w = g.const_int8(
                "w", symmetric_int8_weights(rng, (1, 3, 3, 4), 3), [0.02] * 4, quantized_dimension=3
            )
        else:
            x = g.reshape(x, (1, 40))
            w = g.const_int8("w", symmetric_int8_weights(rng, (6, 40), None), [0.01])
        b = (
            g.const_int32("b", np.zeros(w.shape[3 if op == "depthwise_conv2d" else 0]))
            if with_zero_bias
            else None
        )
        if op == "conv2d":
            y = g.conv2d(x, w, b, 0.1, 0)
        elif op == "depthwise_conv2d":
            y = g.depthwise_conv2d(x, w, b, 0.1, 0, depth_multiplier=2)
        else:
            y = g.fully_connected(x, w, b, 0.1, 0)
        g.output(y)
        return g.build()

    inputs = [np.random.default_rng(4).integers(-128, 128, (1, 5, 4, 2), dtype=np.int8)]
    np.testing.assert_array_equal(run_tflm(build(False), inputs)[0], run_tflm(build(True), inputs)[0])


# *** builder and runner reject mistakes ***


def _graph_with_input() -> tuple[TFLiteGraph, Tensor]:
    g = TFLiteGraph()
    return g, g.input("x", (1, 4, 4, 2), scale=0.1, zero_point=0)


@pytest.mark.parametrize(
    "mistake",
    [
        lambda g, x: g.conv2d(x, g.const_int8("w", np.ones((3, 3, 3, 5)), [0.1]), None, 0.1, 0),
        lambda g, x: g.conv2d(
            x, g.const_int8("w", np.ones((3, 3, 3, 2)), [0.1]), None, 0.1, 0, padding="FULL"
        ),
        lambda g, x: g.conv2d(
            x, g.const_int8("w", np.ones((3, 5, 5, 2)), [0.1]), None, 0.1, 0, padding="VALID"
        ),
        lambda g, x: g.const_int8("w", np.ones((3, 3, 3, 2)), [0.1, 0.2]),
        lambda g, x: g.const_int8("w", np.full((2,), 300), [0.1]),
        lambda g, x: g.depthwise_conv2d(
            x, g.const_int8("w", np.ones((1, 3, 3, 2)), [0.1]), None, 0.1, 0, depth_multiplier=2
        ),
        lambda g, x: g.reshape(x, (3, -1)),
        lambda g, x: g.add(x, g.input("y", (1, 3, 3, 2), 0.1, 0), 0.1, 0),
        lambda g, x: g.fully_connected(x, g.const_int8("w", np.ones((4, 5)), [0.1]), None, 0.1, 0),
        lambda g, x: g.input("z", (1, 2), scale=0.1, zero_point=200),
        lambda g, x: g.input("z", (1, 2), scale=0.0, zero_point=0),
        lambda g, x: g.conv2d(
            x, g.const_int8("w", np.ones((3, 1, 1, 2)), [0.1]), None, 0.1, 0, activation="TANH"
        ),
    ],
)
def test_builder_rejects_mistakes(mistake: Callable[[TFLiteGraph, Tensor], object]) -> None:
    g, x = _graph_with_input()
    with pytest.raises(ValueError):
        mistake(g, x)


def test_build_needs_an_output() -> None:
    g, _ = _graph_with_input()
    with pytest.raises(ValueError):
        g.build()


def test_runner_rejects_wrong_input() -> None:
    runner = TFLMRunner(build_tiny_mlp())
    with pytest.raises(ValueError):
        runner.run([np.zeros((1, 40), dtype=np.int16)])
    with pytest.raises(ValueError):
        runner.run([np.zeros((40,), dtype=np.int8)])
    with pytest.raises(ValueError):
        runner.run([])


def test_range_quant_covers_the_range() -> None:
    for lo, hi in [(-1.0, 3.0), (0.0, 6.0), (-0.3, -0.1), (0.2, 5.0), (-2.0, 2.0)]:
        scale, zp = range_quant(lo, hi)
        assert -128 <= zp <= 127 and scale > 0
        assert scale * (-128 - zp) <= min(lo, 0.0) + scale and scale * (127 - zp) >= max(hi, 0.0) - scale
    assert range_quant(0.0, 6.0) == (pytest.approx(6 / 255), -128)


# *** TFLM arena accounting ***


def test_arena_usage_of_fixture() -> None:
    usage = tflm_arena_usage(tiny_convnet().build())
    assert usage.head > 0 and usage.tail > 0 and usage.total == usage.head + usage.tail
    # The largest pair of simultaneously live activations must fit in the planned head.
    assert usage.head >= 8 * 7 * 8 + 4 * 3 * 16
    assert "NodeAndRegistration struct" in usage.records


def test_arena_usage_parse_rejects_garbage() -> None:
    with pytest.raises(RuntimeError):
        ArenaUsage.parse("nothing here")


@pytest.mark.skipif(
    not (SHARED_MODELS / "kws_ref_model.tflite").is_file(), reason="shared models not present"
)
def test_arena_usage_of_kws_matches_spec() -> None:
    """INT8_SPEC section 3 measured head 16,000 bytes for the KWS DS-CNN."""
    usage = tflm_arena_usage((SHARED_MODELS / "kws_ref_model.tflite").read_bytes())
    assert usage.head == 16000
    assert 7000 < usage.tail < 10000
