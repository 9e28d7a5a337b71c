"""Networks whose activations vanish: a randomly initialised torchvision model with its initial
BatchNorm statistics (what a new user exports) shrinks its activations layer after layer, to
1e-14 at EfficientNet-B0's squeeze-excite pools and 1e-12 before GoogLeNet's classifier. The
quantization is scale-free, so such a model converts as well as any other: these tests build
the three ways it failed (a tiny range taken for a constant, a bias beyond int32 next to tiny
products, HARD_SWISH's fixed-point steps at tiny scales) and compare with onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper

from picoq.converter import qparams as qp
from picoq.runtime import Interpreter

from support.onnx_models import model, rand, sqnr_against_ort_qdq


def _both(m: onnx.ModelProto, shape: tuple[int, ...], tmp_path) -> tuple[float, float, Interpreter]:
    """(picoq int8 SQNR, ORT QDQ SQNR) against ORT float on held-out inputs, and picoq's model."""
    rng = np.random.default_rng(1)
    calib = rng.normal(size=(32, *shape[1:])).astype(np.float32)
    x = rng.normal(size=(16, *shape[1:])).astype(np.float32)
    (ours,), (peer,), it = sqnr_against_ort_qdq(m, calib, x, tmp_path)
    return ours, peer, it


def test_a_tiny_range_is_a_range_not_a_constant(tmp_path) -> None:
    """Activations at 1e-14 (conv, pool, FC): each keeps its calibrated range. An absolute floor
    of 1e-12 used to take them for constant zeros: the output was all zeros (0 dB)."""
    r = np.random.default_rng(0)
    m = model(
        [
            helper.make_node("Mul", ["x", "tiny"], ["xs"]),
            helper.make_node("Conv", ["xs", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c"], ["r"]),
            helper.make_node("GlobalAveragePool", ["r"], ["p"]),
            helper.make_node("Flatten", ["p"], ["f"]),
            helper.make_node("Gemm", ["f", "fw"], ["y"], transB=1),
        ],
        {"x": ["N", 3, 8, 8]},
        {"y": None},
        {
            "tiny": np.float32(1e-14),
            "w": rand(r, 8, 3, 3, 3),
            "b": np.zeros(8, np.float32),
            "fw": rand(r, 5, 8),
        },
    )
    ours, peer, _ = _both(m, (1, 3, 8, 8), tmp_path)
    assert ours > 30.0
    assert ours >= peer - 0.5


def test_a_bias_beyond_int32_widens_the_weight_scale(tmp_path) -> None:
    """An FC whose input is at 1e-12 and whose bias is 0.01: at input scale * weight scale the
    bias would need 2^45, and clipped to int32 it zeroed the output. The weight scale widens so
    the bias fits (as TFLite's quantizer does); the output is the bias plus the tiny products."""
    r = np.random.default_rng(0)
    m = model(
        [
            helper.make_node("Mul", ["x", "tiny"], ["xs"]),
            helper.make_node("Gemm", ["xs", "w", "b"], ["y"], transB=1),
        ],
        {"x": ["N", 16]},
        {"y": None},
        {"tiny": np.float32(1e-12), "w": rand(r, 6, 16, scale=0.01), "b": rand(r, 6, scale=0.01)},
    )
    ours, peer, it = _both(m, (1, 16), tmp_path)
    assert ours > 40.0
    assert ours >= peer - 0.5
    fc = next(op for op in it.model.ops if op.name == "FULLY_CONNECTED")
    bias = it.model.const_array(it.model.tensors[fc.inputs[2]]).astype(np.int64)
    assert 2**29 < np.abs(bias).max() <= qp.BIAS_LIMIT  # the largest bias sits near the limit


@pytest.mark.parametrize("per_tensor", [False, True])
def test_fit_bias_widens_only_the_channels_that_need_it(per_tensor: bool) -> None:
    ws = np.array([1e-3, 1e-3, 1e-3], np.float32)
    if per_tensor:
        ws = ws[:1]
    b = np.array([0.01, 1e-9, -50.0])
    sx = 1e-12
    got = qp.fit_bias(b, sx, ws)
    q = qp.quantize_bias(b, sx, np.broadcast_to(got, (3,)))
    assert np.abs(q.astype(np.int64)).max() <= qp.BIAS_LIMIT
    if per_tensor:
        assert got.size == 1 and got[0] > ws[0]
    else:  # the middle channel's bias fits as it is: its weights keep their resolution
        assert got[1] == ws[1] and got[0] > ws[0] and got[2] > got[0]
    assert qp.fit_bias(np.array([1e-6, 1e-6, 1e-6]), 1.0, ws) is ws
    assert qp.fit_bias(None, sx, ws) is ws


def test_hard_swish_at_tiny_scales_is_a_table(tmp_path) -> None:
    """HardSwish on activations at 1e-8 (a randomly initialised MobileNetV3's later blocks):
    HARD_SWISH's fixed-point constants cannot hold 3.0 in such steps; the exactly rounded
    function of the 256 input values runs as a LOOKUP_TABLE instead of failing to convert."""
    r = np.random.default_rng(0)
    m = model(  # a MatMul in front, so that HardSwish is not folded into one table with a Mul
        [helper.make_node("MatMul", ["x", "w"], ["xs"]), helper.make_node("HardSwish", ["xs"], ["y"])],
        {"x": ["N", 4, 6]},
        {"y": None},
        {"w": rand(r, 6, 6, scale=1e-8)},
        opset=14,
    )
    ours, peer, it = _both(m, (1, 4, 6), tmp_path)
    assert "LOOKUP_TABLE" in [op.name for op in it.model.ops]
    assert ours > 15.0  # as onnxruntime's here: the input, the MatMul and the output each rounded
    assert ours >= peer - 0.5
