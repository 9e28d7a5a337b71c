"""Attention from PyTorch (issue "Real architectures in"): nn.MultiheadAttention exports a MatMul
of two activations (Q.K^T, attn.V), which picoq runs as BATCH_MATMUL, and Gathers of the packed
q, k, v projection (qkv[0], qkv[1], qkv[2]), which it runs as SLICEs. An encoder block without
its LayerNorms (residual attention, residual ReLU feed-forward) is checked against onnxruntime
float and against onnxruntime's quantize_static of the same model and calibration data, and so
is the real nn.TransformerEncoderLayer (its LayerNorms as LAYER_NORM)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from picoq.converter import convert
from picoq.converter.float_ops import sqnr_db
from picoq.runtime import Interpreter

from support.onnx_models import op_names, ort_quantize_static, ort_run
from support.torch_seq import SEQ_LEN, WIDTH, encoder_layer_onnx, export_sequence

pytestmark = pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore::DeprecationWarning")

L, D = SEQ_LEN, WIDTH


class Block(nn.Module):
    """nn.TransformerEncoderLayer's computation without its LayerNorms."""

    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(D, 2, batch_first=True)
        self.ff = nn.Sequential(nn.Linear(D, 2 * D), nn.ReLU(), nn.Linear(2 * D, D))

    def forward(self, x):
        h = x + self.attn(x, x, x, need_weights=False)[0]
        return h + self.ff(h)


def _ort(m: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    """The batch-1 export run item by item."""
    return np.concatenate([ort_run(m, {"input": x[i : i + 1]})[0] for i in range(len(x))])


@pytest.fixture(scope="module")
def block() -> onnx.ModelProto:
    torch.manual_seed(0)
    return export_sequence(Block())


def test_attention_block_at_least_onnxruntime_quantize_static(block, tmp_path):
    rng = np.random.default_rng(1)
    cal, x = (rng.normal(size=(n, L, D)).astype(np.float32) for n in (64, 16))
    it = Interpreter(convert(block, calibration=cal, progress=False))
    ops = op_names(it)
    assert ops.count("BATCH_MATMUL") == 2 and ops.count("SLICE") == 3, ops  # Q.K^T, attn.V; q, k, v
    assert "reference" not in it.op_kernels, it.op_kernels
    want = _ort(block, x)
    ours = sqnr_db(want, it.run(x))
    theirs = sqnr_db(want, _ort(ort_quantize_static(block, cal, tmp_path), x))
    assert ours >= theirs - 0.5, (ours, theirs)
    assert ours > 30, ours


def test_transformer_encoder_layer_at_least_onnxruntime_quantize_static(tmp_path):
    """The whole nn.TransformerEncoderLayer (LayerNorms as LAYER_NORM, attention as
    BATCH_MATMUL) converts, runs every op on a fast kernel, and its output SQNR against
    onnxruntime float is at least onnxruntime quantize_static's - 0.5 dB on the same data."""
    m = encoder_layer_onnx()
    rng = np.random.default_rng(2)
    cal, x = (rng.normal(size=(n, L, D)).astype(np.float32) for n in (64, 16))
    it = Interpreter(convert(m, calibration=cal, progress=False))
    ops = op_names(it)
    assert ops.count("BATCH_MATMUL") == 2 and ops.count("LAYER_NORM") == 2, ops
    assert "reference" not in it.op_kernels, it.op_kernels
    want = _ort(m, x)
    ours = sqnr_db(want, it.run(x))
    theirs = sqnr_db(want, _ort(ort_quantize_static(m, cal, tmp_path), x))
    assert ours >= theirs - 0.5, (ours, theirs)
