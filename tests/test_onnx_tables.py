"""Element-wise functions of one activation become one LOOKUP_TABLE op (converter/tables.py).

Oracles: the table against the function written here independently (math.erf, numpy), the
kernel against numpy indexing of the table read from the file, picoq's output against
onnxruntime float, and its SQNR against onnxruntime's own int8 quantization.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch  # the `torch` extra; CI installs it (README test command)
from onnx import helper

from picoq.converter import convert
from picoq.converter.float_ops import sqnr_db
from picoq.runtime import Interpreter, read_model, supported_isas

from support.onnx_models import model, op_names, ort_quantize_static, ort_run

_erf = np.vectorize(math.erf)
FUNCTIONS = {  # ONNX nodes on "x" -> "y", and the same function in numpy
    "gelu_erf": (
        [
            helper.make_node("Div", ["x", "sqrt2"], ["d"]),
            helper.make_node("Erf", ["d"], ["e"]),
            helper.make_node("Add", ["e", "one"], ["a"]),
            helper.make_node("Mul", ["x", "a"], ["m"]),
            helper.make_node("Mul", ["m", "half"], ["y"]),
        ],
        lambda x: x * 0.5 * (1 + _erf(x / math.sqrt(2))),
    ),
    "silu": (
        [helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Mul", ["x", "s"], ["y"])],
        lambda x: x / (1 + np.exp(-x)),
    ),
    "mish": (
        [
            helper.make_node("Softplus", ["x"], ["sp"]),
            helper.make_node("Tanh", ["sp"], ["t"]),
            helper.make_node("Mul", ["t", "x"], ["y"]),
        ],
        lambda x: x * np.tanh(np.log1p(np.exp(x))),
    ),
    "elu": (
        [helper.make_node("Elu", ["x"], ["y"], alpha=0.5)],
        lambda x: np.where(x > 0, x, 0.5 * np.expm1(x)),
    ),
}
CONSTS = {
    "sqrt2": np.array(math.sqrt(2), np.float32),
    "one": np.array(1, np.float32),
    "half": np.array(0.5, np.float32),
}


def on_input(name: str):
    """The function applied to the graph input itself: the table reads the int8 input."""
    nodes, _ = FUNCTIONS[name]
    used = {i for n in nodes for i in n.input}
    return model(nodes, {"x": ["N", 3, 5, 7]}, {"y": None}, {k: v for k, v in CONSTS.items() if k in used})


def calib(shape=(3, 5, 7), n=32, seed=0):
    return (2.5 * np.random.default_rng(seed).normal(size=(n, *shape))).astype(np.float32)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_the_function_is_one_table_equal_to_the_function(name):
    data = convert(on_input(name), calibration=calib(), progress=False)
    m = read_model(data)
    assert [op.name for op in m.ops] == ["LOOKUP_TABLE"]
    x, table, y = (m.tensors[i] for i in (*m.ops[0].inputs, m.ops[0].outputs[0]))
    (sx,), (zx,), (sy,), (zy,) = x.scales, x.zero_points, y.scales, y.zero_points
    values = (np.arange(-128, 128) - zx) * np.float64(sx)
    want = np.clip(np.round(FUNCTIONS[name][1](values) / np.float64(sy)) + zy, -128, 127)
    got = m.const_array(table).astype(np.int64)
    assert np.abs(got - want).max() <= 1  # float32 evaluation and ties may differ by one step
    assert np.mean(got == want) > 0.95


@pytest.mark.parametrize("isa", ["reference", *supported_isas()])
def test_the_kernel_indexes_the_table(isa):
    data = convert(on_input("gelu_erf"), calibration=calib(), progress=False)
    m = read_model(data)
    table = m.const_array(m.tensors[m.ops[0].inputs[1]]).reshape(-1)
    it = Interpreter(data, kernels="reference") if isa == "reference" else Interpreter(data, isa=isa)
    if isa != "reference":
        assert it.op_kernels == ["fast-lut"]
    x = np.resize(np.arange(-128, 128, dtype=np.int8), (1, 3, 5, 7))  # every int8 value
    x = np.random.default_rng(1).permutation(x.reshape(-1)).reshape(x.shape)
    np.testing.assert_array_equal(it.run(x), table[x.astype(np.int64) + 128])


def test_an_intermediate_used_elsewhere_is_not_fused():
    nodes = [helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Mul", ["x", "s"], ["y"])]
    m = model(nodes, {"x": ["N", 4, 3]}, {"y": None, "s": None})  # the sigmoid is an output too
    it = Interpreter(convert(m, calibration=calib((4, 3)), progress=False))
    assert "LOOKUP_TABLE" not in op_names(it)


def test_a_per_channel_constant_keeps_the_ops():
    """x * k with k per channel is not one function of x: no table."""
    nodes = [helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Mul", ["s", "k"], ["y"])]
    k = np.arange(1, 5, dtype=np.float32).reshape(1, 4, 1)
    m = model(nodes, {"x": ["N", 4, 3]}, {"y": None}, {"k": k})
    assert "LOOKUP_TABLE" not in op_names(Interpreter(convert(m, calibration=calib((4, 3)), progress=False)))


class FeedForward(torch.nn.Module):
    """A transformer's feed-forward block (Linear, GELU, Linear) and a SiLU/Mish conv stem."""

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.stem = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.SiLU(), nn.Conv2d(8, 8, 3, padding=1), nn.Mish()
        )
        self.ffn = nn.Sequential(nn.Linear(8 * 36, 64), nn.GELU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.ffn(self.stem(x).flatten(1))


@pytest.mark.parametrize("opset", [17, 20])  # 17: GELU as erf arithmetic; 20: the Gelu op
def test_torch_activations_at_least_onnxruntime_quantize_static(opset, tmp_path):
    torch.manual_seed(0)
    buf = io.BytesIO()
    torch.onnx.export(
        FeedForward().eval(),
        torch.zeros(1, 3, 6, 6),
        buf,
        dynamo=False,
        opset_version=opset,
        input_names=["input"],
        dynamic_axes={"input": {0: "n"}},
    )
    import onnx

    m = onnx.load_from_string(buf.getvalue())
    rng = np.random.default_rng(2)
    cal, x = (rng.normal(size=(n, 3, 6, 6)).astype(np.float32) for n in (64, 32))
    it = Interpreter(convert(m, calibration=cal, progress=False))
    assert op_names(it).count("LOOKUP_TABLE") == 3, op_names(it)  # SiLU, Mish, GELU
    want = ort_run(m, {"input": x})[0]
    ours = sqnr_db(want, it.run(x))
    theirs = sqnr_db(want, ort_run(ort_quantize_static(m, cal, tmp_path), {"input": x})[0])
    assert ours >= theirs - 0.5, (ours, theirs)
