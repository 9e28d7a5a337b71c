"""Sequence models besides LSTM / GRU (support/torch_rnn.py), exported with torch.onnx.export as
users export them: a 1-D conv keyword-spotting stack and a transformer encoder layer. Shared by
tests/test_onnx_conv1d.py, tests/test_onnx_attention.py and benchmarks/sequence_models.py."""

from __future__ import annotations

import io

import onnx

KWS_SHAPE = (10, 49)  # MFCC coefficients x frames
SEQ_LEN, WIDTH = 6, 16  # the encoder's tokens and model width (2 heads of 8)


def kws_1d(seed: int = 0):
    """MFCC frames (10 coefficients x 49 frames) -> 12 keywords: strided, depthwise, pointwise
    and dilated 1-D convs, both 1-D pools, global pooling (an nn.Module, eval mode)."""
    import torch  # a test dependency (.ci/run installs .[test,torch])

    nn = torch.nn
    torch.manual_seed(seed)
    m = nn.Sequential(
        nn.Conv1d(10, 32, 5, stride=2, padding=2),
        nn.BatchNorm1d(32),
        nn.ReLU(),
        nn.Conv1d(32, 32, 3, padding=1, groups=32, bias=False),
        nn.BatchNorm1d(32),
        nn.ReLU(),
        nn.Conv1d(32, 48, 1),
        nn.BatchNorm1d(48),
        nn.ReLU6(),
        nn.MaxPool1d(2),
        nn.Conv1d(48, 48, 3, dilation=2, padding=2),
        nn.BatchNorm1d(48),
        nn.ReLU(),
        nn.AvgPool1d(2),
        nn.AdaptiveAvgPool1d(1),
        nn.Flatten(),
        nn.Linear(48, 12),
    ).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        for bn in (x for x in m.modules() if isinstance(x, nn.BatchNorm1d)):
            bn.running_mean.uniform_(-0.3, 0.3)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.6, 1.4)
    return m


def kws_1d_onnx(seed: int = 0) -> onnx.ModelProto:
    """kws_1d exported with a dynamic batch (input "input": [n, 10, 49])."""
    import torch

    buf = io.BytesIO()
    torch.onnx.export(
        kws_1d(seed),
        torch.zeros(1, *KWS_SHAPE),
        buf,
        dynamo=False,
        input_names=["input"],
        dynamic_axes={"input": {0: "n"}},
    )
    return onnx.load_from_string(buf.getvalue())


def export_sequence(module, seed: int = 0) -> onnx.ModelProto:
    """A module over [1, SEQ_LEN, WIDTH] exported at batch 1 (input "input")."""
    import torch

    torch.manual_seed(seed)
    buf = io.BytesIO()
    torch.onnx.export(
        module.eval(),
        torch.zeros(1, SEQ_LEN, WIDTH),
        buf,
        dynamo=False,
        opset_version=17,
        input_names=["input"],
    )
    return onnx.load_from_string(buf.getvalue())


def encoder_layer_onnx(seed: int = 0) -> onnx.ModelProto:
    """nn.TransformerEncoderLayer (2 heads, ReLU feed-forward of twice the width, LayerNorms),
    traced through a plain forward(x): called directly, torch's tracer hands its is_causal
    default over as a tensor."""
    import torch

    class Wrapped(torch.nn.Module):
        def __init__(self, layer):
            super().__init__()
            self.layer = layer

        def forward(self, x):
            return self.layer(x)

    torch.manual_seed(seed)
    layer = torch.nn.TransformerEncoderLayer(
        WIDTH, 2, dim_feedforward=2 * WIDTH, dropout=0.0, batch_first=True
    )
    return export_sequence(Wrapped(layer), seed)
