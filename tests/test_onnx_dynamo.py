"""Models from torch 2.13's default ONNX exporter: `torch.onnx.export(model, args, dynamo=True)`
goes through torch.export and onnxscript and writes opset 18+ graphs whose node names, constant
folding and op choices differ from the TorchScript exporter's (which the other torch tests use,
as picoq.converter.from_torch does). A user who calls torch.onnx.export with its defaults gets
these. Each converts, and its int8 SQNR against onnxruntime float is at least onnxruntime
quantize_static's (QDQ, per-channel, MinMax) minus 0.5 dB on the same calibration data."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from support.onnx_models import sqnr_against_ort_qdq
from support.torch_seq import kws_1d

torch = pytest.importorskip("torch")
pytest.importorskip("onnxscript")  # the dynamo exporter's dependency (a test extra)
nn = torch.nn


class SmallResNet(nn.Module):
    """conv-BN-ReLU, a residual block, a strided conv, global pooling, a linear head."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.block = nn.Sequential(
            nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1)
        )
        self.down = nn.Sequential(nn.Conv2d(16, 24, 3, stride=2, padding=1), nn.ReLU6())
        self.head = nn.Linear(24, 10)

    def forward(self, x):
        x = self.stem(x)
        x = torch.relu(x + self.block(x))
        return self.head(self.down(x).mean((2, 3)))


class LastStep(nn.Module):
    """An LSTM over 12 steps, batch first, its last step into a linear head."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(6, 16, batch_first=True)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.head(y[:, -1])


def _export(module, shape: tuple[int, ...]) -> onnx.ModelProto:
    torch.manual_seed(0)
    module = module.eval()
    return torch.onnx.export(module, (torch.zeros(*shape),), dynamo=True, verbose=False).model_proto


CASES = {
    "resnet_block": (SmallResNet, (1, 3, 16, 16)),
    "conv1d_kws": (lambda: kws_1d(0), (1, 10, 49)),
    "lstm": (LastStep, (1, 12, 6)),
    "encoder_layer": (
        lambda: nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True),
        (1, 6, 16),
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_dynamo_export_converts_as_well_as_ort(name: str, tmp_path) -> None:
    build, shape = CASES[name]
    torch.manual_seed(0)
    m = _export(build(), shape)
    assert m.opset_import[0].version >= 18  # the exporter's own opset, not the TorchScript one's
    rng = np.random.default_rng(0)
    calib = rng.normal(size=(48, *shape[1:])).astype(np.float32)
    x = rng.normal(size=(24, *shape[1:])).astype(np.float32)
    (ours,), (theirs,), _ = sqnr_against_ort_qdq(m, calib, x, tmp_path)
    assert ours > 20.0, (ours, theirs)
    assert ours >= theirs - 0.5, (ours, theirs)
