"""PyTorch in: picoq.converter.from_torch (the `torch` extra, installed by the README test command)."""

from __future__ import annotations

import numpy as np
import pytest
import torch  # the `torch` extra; CI installs it (README test command)

from picoq.converter import from_torch
from picoq.converter.float_ops import sqnr_db
from picoq.runtime import Interpreter


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.dw = nn.Sequential(
            nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False), nn.BatchNorm2d(8), nn.Hardswish()
        )
        self.pool = nn.MaxPool2d(2)
        self.pw = nn.Sequential(nn.Conv2d(8, 16, 1), nn.BatchNorm2d(16), nn.ReLU6())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 5))

    def forward(self, x):
        y = self.stem(x)
        y = y + self.dw(y)  # a residual add
        y = self.pw(self.pool(y))
        return self.head(y * torch.sigmoid(y))  # SiLU, as Sigmoid + Mul


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    m = Net().eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        for bn in (mod for mod in m.modules() if isinstance(mod, torch.nn.BatchNorm2d)):
            bn.running_mean.uniform_(-0.3, 0.3)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.6, 1.4)
            bn.bias.uniform_(-0.2, 0.2)
    return m


def test_from_torch_matches_torch(net):
    g = torch.Generator().manual_seed(1)
    calib = torch.randn(64, 3, 16, 16, generator=g)
    loader = [(calib[i : i + 16], torch.zeros(16)) for i in range(0, 64, 16)]  # (inputs, labels) batches
    data = from_torch(net, torch.zeros(1, 3, 16, 16), calibration=loader, progress=False)
    x = torch.randn(8, 3, 16, 16, generator=g)
    with torch.no_grad():
        want = net(x).numpy()
    it = Interpreter(data)
    assert it.input_details[0]["shape"] == (1, 3, 16, 16)  # NCHW, as the module takes it
    got = it.run(x.numpy())
    assert sqnr_db(want, got) >= 25


def test_from_torch_writes_the_file(net, tmp_path):
    calib = np.random.default_rng(0).normal(size=(16, 3, 16, 16)).astype(np.float32)
    data = from_torch(
        net, calib[:1], calibration=calib, output=tmp_path / "net.picoq", method="mse", progress=False
    )
    assert (tmp_path / "net.picoq").read_bytes() == data


class PixelShuffleNet(torch.nn.Module):
    """A super-resolution head (PixelShuffle: ONNX DepthToSpace, CRD) and a space-to-depth stem
    (PixelUnshuffle: torch exports it as Reshape -> rank-6 Transpose -> Reshape)."""

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.up = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.PixelShuffle(2), nn.ReLU())
        self.down = nn.Sequential(nn.PixelUnshuffle(2), nn.Conv2d(16, 4, 1))

    def forward(self, x):
        return self.down(self.up(x))


def test_pixel_shuffle_and_unshuffle():
    torch.manual_seed(0)
    m = PixelShuffleNet().eval()
    g = torch.Generator().manual_seed(1)
    calib = torch.randn(32, 3, 8, 8, generator=g)
    it = Interpreter(from_torch(m, torch.zeros(1, 3, 8, 8), calibration=calib, progress=False))
    # the Relu moved before the DepthToSpace and fused into the conv: no op of its own
    assert [op.name for op in it.model.ops].count("CONV_2D") == 2
    assert not {"DEPTHWISE_CONV_2D", "MUL", "ADD"} & {op.name for op in it.model.ops}
    x = torch.randn(8, 3, 8, 8, generator=g)
    with torch.no_grad():
        want = m(x).numpy()
    assert sqnr_db(want, it.run(x.numpy())) >= 30


# --- ops14 ---


def test_conv_transpose2d_decoder_matches_torch():
    """A small decoder (nn.ConvTranspose2d: stride 2 with padding and output_padding, then
    stride 1 with bias=False), exported by torch.onnx.export (from_torch): TRANSPOSE_CONV ops."""
    torch.manual_seed(3)
    nn = torch.nn
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(8, 6, 3, stride=2, padding=1, output_padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(6, 2, 4, stride=1, padding=2, bias=False),
    ).eval()
    g = torch.Generator().manual_seed(4)
    calib = torch.randn(64, 3, 7, 9, generator=g)
    data = from_torch(net, torch.zeros(1, 3, 7, 9), calibration=calib.numpy(), progress=False)
    it = Interpreter(data)
    assert [o.name for o in it.model.ops].count("TRANSPOSE_CONV") == 2
    x = torch.randn(8, 3, 7, 9, generator=g)
    with torch.no_grad():
        want = net(x).numpy()
    got = it.run(x.numpy())
    assert got.shape == want.shape == (8, 2, 13, 17)
    assert sqnr_db(want, got) >= 25
