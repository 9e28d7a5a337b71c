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


# --- unseen-model sweep (benchmarks/unseen_sequence.py) regressions ---------------------------


class CausalEncoder(nn.Module):
    """An encoder layer under an additive causal mask: a constant -inf above the diagonal
    (torch's generate_square_subsequent_mask, what is_causal also exports) or -1e9."""

    def __init__(self, masked: float, is_causal: bool = False):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(D, 2, 2 * D, dropout=0.0, batch_first=True)
        self.register_buffer("mask", torch.triu(torch.full((L, L), masked), diagonal=1))
        self.is_causal = is_causal

    def forward(self, x):
        return self.layer(x, src_mask=self.mask, is_causal=self.is_causal)


@pytest.mark.parametrize(
    ("masked", "is_causal"), [(float("-inf"), False), (float("-inf"), True), (-1e9, False)]
)
def test_causal_mask_converts_and_stays_causal_in_int8(masked, is_causal, tmp_path):
    """int8 cannot hold -inf (the conversion once failed: 'activation range [-inf, 0.0] is not
    finite'), and a range reaching -1e9 leaves the scores no resolution (ORT QDQ: 7 dB). The
    masked entries saturate at the lowest level, far enough below every score that their
    int8 softmax weight is exactly 0: the int8 output at step t does not move when the tokens
    after t change, and the SQNR is that of the unmasked layer."""
    torch.manual_seed(0)
    m = export_sequence(CausalEncoder(masked, is_causal))
    rng = np.random.default_rng(3)
    cal, x = (rng.normal(size=(n, L, D)).astype(np.float32) for n in (64, 16))
    it = Interpreter(convert(m, calibration=cal, progress=False))
    want = _ort(m, x)
    got = it.run(x)
    ours = sqnr_db(want, got)
    theirs = sqnr_db(want, _ort(ort_quantize_static(m, cal, tmp_path), x))
    assert ours >= theirs - 0.5 and ours > 28, (ours, theirs)
    later = x.copy()
    later[:, 3:] = rng.normal(size=later[:, 3:].shape)  # change the future of steps 0..2
    np.testing.assert_array_equal(it.run(later)[:, :3], got[:, :3])


def test_constant_cls_token_is_rounded_once(tmp_path):
    """A CLS token (a learned constant concatenated before the tokens) is quantized straight at
    the CONCATENATION output's parameters: exactly round(cls / scale) + zp. Quantized at its
    own range and then requantized by the CONCATENATION, it was rounded twice (the CLS token
    then trailed the other tokens by 3 dB and the model ORT QDQ by 1.4 dB)."""
    from onnx import helper

    from support.onnx_models import model

    rng = np.random.default_rng(4)
    cls = rng.normal(0, 0.5, (1, 1, D)).astype(np.float32)
    m = model(
        [helper.make_node("Concat", ["cls", "x"], ["y"], axis=1)], {"x": [1, L, D]}, {"y": None}, {"cls": cls}
    )
    it = Interpreter(
        convert(m, calibration=rng.normal(size=(32, 1, L, D)).astype(np.float32), progress=False)
    )
    out = it.model.tensors[it.model.outputs[0]]
    s, z = out.scales[0], out.zero_points[0]
    v = cls.astype(np.float64) / s
    want = np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5) + z, -128, 127)  # half away from zero
    got = it.run(rng.normal(size=(1, L, D)).astype(np.float32))[:, :1]
    np.testing.assert_array_equal(np.round(got / s + z), want)
