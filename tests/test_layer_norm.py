"""LAYER_NORM (op 22, picoq's own): ONNX LayerNormalization and the decomposed layer norm.

Oracles: (a) the integer arithmetic of docs/FORMAT.md written here again in numpy and Python
integers (math.isqrt), byte for byte against the reference kernel and every fast kernel; (b) the
float layer norm of the dequantized input, within one output step; (c) small models against
onnxruntime float, at least as accurate as onnxruntime's own int8 quantization (quantize_static,
per-channel, MinMax) on the same calibration data.
"""

from __future__ import annotations

import io
import math

import numpy as np
import onnx
import pytest
import torch  # the `torch` extra; CI installs it (README test command)

from picoq.converter import ConversionError, convert
from picoq.converter.float_ops import sqnr_db
from picoq.runtime import Interpreter, read_model, supported_isas

from support.onnx_models import layer_norm_model, op_names, ort_quantize_static, ort_run


def oracle(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, p: dict) -> np.ndarray:
    """docs/FORMAT.md "LAYER_NORM arithmetic", rows of gamma.size values; Python integers for the
    row statistics and the inverse square root, int64 numpy (floor shifts) per element."""
    n = gamma.size
    rows = x.reshape(-1, n).astype(np.int64)
    out = np.empty_like(rows)
    g, b = gamma.astype(np.int64), beta.astype(np.int64)
    total = 20 + p["shift"]
    for i, r in enumerate(rows):
        s, q = int(r.sum()), int((r * r).sum())
        w = (n * q - s * s) * 2**16 + p["eps_multiplier"] * 2 ** p["eps_shift"]
        k, m = 0, 0
        if w > 0:
            while w * 4**k < 2**60:
                k += 1
            root = math.isqrt(w * 4**k)
            m = (2**61 + root // 2) // root
        z = (np.int64(n) * r - s) * m
        z = (z + (1 << (32 - k))) >> (33 - k)
        acc = z * g + b * (1 << 20)
        out[i] = np.clip(p["output_offset"] + ((acc + (1 << (total - 1))) >> total), -128, 127)
    return out.reshape(x.shape).astype(np.int8)


def _layer_norm_op(data: bytes):
    m = read_model(data)
    (op,) = [o for o in m.ops if o.name == "LAYER_NORM"]
    x, g, b = (m.tensors[i] for i in op.inputs)
    gamma, beta = (m.const_array(t).reshape(-1) for t in (g, b))
    return m, op, x, m.tensors[op.outputs[0]], gamma, beta


def hostile_rows(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Random int8 rows, with constant rows, the extremes and one-outlier rows among them."""
    x = rng.integers(-128, 128, shape, dtype=np.int8)
    rows = x.reshape(-1, shape[-1])
    rows[0] = 7  # variance 0
    if len(rows) > 3:
        rows[1] = -128
        rows[2, ::2], rows[2, 1::2] = -128, 127  # the largest variance
        rows[3] = 0
        rows[3, -1] = 1  # the smallest non-zero variance
    return x


CASES = {  # (shape, axis, eps): rows of 1, odd, transformer-like, over two axes, the longest allowed
    "row64": ([2, 5, 64], -1, 1e-5),
    "row1": ([2, 6, 1], -1, 1e-5),
    "row7_big_eps": ([2, 9, 7], -1, 0.5),
    "no_eps": ([1, 8, 24], -1, 0.0),
    "two_axes": ([2, 3, 4, 5], 2, 1e-6),
    "row32768": ([1, 2, 32768], -1, 1e-5),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_kernels_compute_the_documented_integers(case):
    shape, axis, eps = CASES[case]
    rng = np.random.default_rng(1)
    m = layer_norm_model(shape, axis, eps)
    calib = rng.normal(0.3, 2.0, (8, *shape[1:])).astype(np.float32)
    data = convert(m, calibration=calib, progress=False)
    _, op, _, _, gamma, beta = _layer_norm_op(data)
    x = hostile_rows(rng, (3, *shape[1:]))
    want = oracle(x, gamma, beta, op.params)
    for isa in ["reference", *supported_isas()]:
        it = Interpreter(data, kernels="reference") if isa == "reference" else Interpreter(data, isa=isa)
        if isa != "reference":
            assert "fast-layer-norm" in it.op_kernels
        np.testing.assert_array_equal(it.run(x), want, err_msg=isa)


def test_within_one_step_of_the_float_layer_norm():
    """Against the float64 layer norm of the dequantized int8 input: the kernel rounds once, at
    the end, and its integer steps before it are exact but for ~1e-4 step (docs/FORMAT.md), so
    its output is the float value rounded to nearest except within that distance of a tie."""
    shape = [1, 64, 96]
    rng = np.random.default_rng(3)
    m = layer_norm_model(shape, eps=1e-5, seed=4)
    calib = rng.normal(0, 1.5, (16, *shape[1:])).astype(np.float32)
    data = convert(m, calibration=calib, progress=False)
    mf, op, xt, yt, _, _ = _layer_norm_op(data)
    x = hostile_rows(rng, (8, *shape[1:]))
    got = Interpreter(data).run(x).astype(np.int64)
    (sx,), (zx,), (sy,), (zy,) = xt.scales, xt.zero_points, yt.scales, yt.zero_points
    xf = (x.astype(np.float64) - zx) * np.float64(sx)
    d = xf - xf.mean(-1, keepdims=True)
    g, b = (onnx.numpy_helper.to_array(i).astype(np.float64) for i in m.graph.initializer)
    yf = d / np.sqrt((d * d).mean(-1, keepdims=True) + 1e-5) * g + b
    want = np.clip(yf / np.float64(sy) + zy, -128, 127)  # unrounded
    err = np.abs(got - want)
    assert err.max() <= 0.5 + 1e-3, err.max()  # |error| < 1e-3 step before the one rounding
    assert np.mean(got == np.floor(want + 0.5)) > 0.999  # the float value rounded, but at near-ties


def test_refuses_rows_longer_than_the_kernel_bounds():
    calib = np.random.default_rng(0).normal(size=(2, 1, 32769)).astype(np.float32)
    with pytest.raises(ConversionError, match="rows of 32769 values"):
        convert(layer_norm_model([1, 1, 32769]), calibration=calib, progress=False)


# *** models against onnxruntime ***


class MLP(torch.nn.Module):
    """Linear, LayerNorm, Linear: a transformer's projection around a norm."""

    def __init__(self):
        super().__init__()
        self.a, self.norm, self.b = torch.nn.Linear(32, 64), torch.nn.LayerNorm(64), torch.nn.Linear(64, 16)
        with torch.no_grad():
            self.norm.weight.uniform_(0.5, 1.5)
            self.norm.bias.uniform_(-0.3, 0.3)

    def forward(self, x):
        return self.b(self.norm(self.a(x)))


class ConvNeXtBlock(torch.nn.Module):
    """torchvision's CNBlock at small width: depthwise 7x7, LayerNorm over channels (NHWC),
    Linear 4x, GELU, Linear, layer scale, residual."""

    def __init__(self, c: int = 16):
        super().__init__()
        nn = torch.nn
        self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm = nn.LayerNorm(c, eps=1e-6)
        self.up, self.act, self.down = nn.Linear(c, 4 * c), nn.GELU(), nn.Linear(4 * c, c)
        self.scale = nn.Parameter(torch.full((c,), 0.5))
        with torch.no_grad():
            self.norm.weight.uniform_(0.5, 1.5)
            self.norm.bias.uniform_(-0.3, 0.3)

    def forward(self, x):
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.down(self.act(self.up(self.norm(y)))) * self.scale
        return x + y.permute(0, 3, 1, 2)


def _export(module: torch.nn.Module, shape: tuple[int, ...], opset: int) -> onnx.ModelProto:
    torch.manual_seed(0)
    buf = io.BytesIO()
    torch.onnx.export(
        module.eval(),
        torch.zeros(1, *shape),
        buf,
        dynamo=False,
        opset_version=opset,
        input_names=["input"],
        dynamic_axes={"input": {0: "n"}},
    )
    return onnx.load_from_string(buf.getvalue())


MODELS = {  # opset 17: LayerNormalization; 14: torch spells it out (ReduceMean, Sub, Pow, ...)
    "mlp": (MLP, (12, 32), 17),
    "convnext_block": (ConvNeXtBlock, (16, 10, 10), 17),
    "convnext_block_decomposed": (ConvNeXtBlock, (16, 10, 10), 14),
    "mlp_decomposed": (MLP, (12, 32), 14),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_models_at_least_onnxruntime_quantize_static(name, tmp_path):
    torch.manual_seed(0)
    cls, shape, opset = MODELS[name]
    m = _export(cls(), shape, opset)
    if opset < 17:
        assert "LayerNormalization" not in {n.op_type for n in m.graph.node}
    rng = np.random.default_rng(2)
    cal, x = (rng.normal(size=(n, *shape)).astype(np.float32) for n in (64, 16))
    it = Interpreter(convert(m, calibration=cal, progress=False))
    assert op_names(it).count("LAYER_NORM") == 1, op_names(it)
    want = ort_run(m, {"input": x})[0]
    ours = sqnr_db(want, it.run(x))
    theirs = sqnr_db(want, ort_run(ort_quantize_static(m, cal, tmp_path), {"input": x})[0])
    print(f"{name}: picoq {ours:.2f} dB, onnxruntime QDQ {theirs:.2f} dB")
    assert ours >= theirs - 0.5, (ours, theirs)
