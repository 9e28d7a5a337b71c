"""A sweep of varied sequence models picoq's tests never saw (issue 14): LSTM / GRU forms, 1-D
conv stacks and transformer encoders, built in torch, exported with torch.onnx.export
(dynamo=False; opset 17, a few at 13 / 14), converted by picoq from the float model and
calibration data, beside onnxruntime's quantize_static (QDQ, per-channel, MinMax, int8) of the
same model on the same calibration data.

Per model: converted? (the error if not), the output SQNR of picoq int8 and of ORT QDQ against
onnxruntime float (torch where onnxruntime cannot run the float model; the worst output when a
model has several), picoq - ORT, and the median microseconds of one sample (float in, float
out; one thread; runs interleaved). Inputs N(0, 1), batch 1; calibration and test samples are
different draws. "miss" marks a model that does not convert, trails ORT QDQ by more than 0.5 dB,
or is slower than ORT QDQ; "n/a" one with no int8 ORT peer: onnxruntime fails on the float
model, or an output comes straight from an LSTM / GRU, which quantize_static leaves in float
(ORT's SQNR is then infinite).

    python benchmarks/unseen_sequence.py                      # every model (~10 min)
    python benchmarks/unseen_sequence.py --only lstm_ gru_    # names starting so
    python benchmarks/unseen_sequence.py --calib 50 --test 50 --runs 50
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
for _p in (REPO / "benchmarks", REPO / "tests"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from sequence_models import median_us  # noqa: E402  (interleaved medians, the same as sequence_models')


@dataclass
class Case:
    name: str
    build: Callable[[], Any]  # -> torch nn.Module (eval mode is set here)
    shapes: tuple[tuple[int, ...], ...]  # one per input, batch 1 included
    opset: int = 17


def _nn():
    import torch

    return torch, torch.nn, torch.nn.functional


# --- recurrent -------------------------------------------------------------------------------


def rnn_net(
    kind: str,
    n_in: int,
    hidden: int,
    *,
    batch_first: bool = False,
    bias: bool = True,
    layers: int = 1,
    bidirectional: bool = False,
    dropout: float = 0.0,
    head: str = "last",  # last | every | mean | max | all (y, h[, c] returned)
    states_in: bool = False,
    front: bool = False,  # Conv1d front end (CRNN): input [1, n_in, T]
) -> Any:
    torch, nn, F = _nn()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            cls = nn.LSTM if kind == "LSTM" else nn.GRU
            feat = n_in
            if front:
                self.conv = nn.Sequential(
                    nn.Conv1d(n_in, 16, 3, stride=2, padding=1), nn.BatchNorm1d(16), nn.ReLU()
                )
                feat = 16
            self.rnn = cls(
                feat,
                hidden,
                num_layers=layers,
                bias=bias,
                batch_first=batch_first or front,
                bidirectional=bidirectional,
                dropout=dropout,
            )
            self.fc = nn.Linear(hidden * (2 if bidirectional else 1), 4)

        def forward(self, x, *states):
            if front:
                x = self.conv(x).transpose(1, 2)
            if states:
                y, st = self.rnn(x, states[0] if kind == "GRU" else (states[0], states[1]))
            else:
                y, st = self.rnn(x)
            if head == "all":
                return (y, *st) if kind == "LSTM" else (y, st)
            t_axis = 1 if (batch_first or front) else 0
            if head == "last":
                return self.fc(y.select(t_axis, -1))
            if head == "every":
                return self.fc(y)
            if head == "mean":
                return self.fc(y.mean(t_axis))
            return self.fc(y.max(t_axis).values)

    torch.manual_seed(0)
    return Net()


def rnn_case(name: str, kind: str, n_in: int, hidden: int, steps: int, opset: int = 17, **kw) -> Case:
    bf = kw.get("batch_first", False)
    shape = (1, n_in, steps) if kw.get("front") else (1, steps, n_in) if bf else (steps, 1, n_in)
    shapes: list[tuple[int, ...]] = [shape]
    if kw.get("states_in"):
        dirs = (2 if kw.get("bidirectional") else 1) * kw.get("layers", 1)
        shapes += [(dirs, 1, hidden)] * (2 if kind == "LSTM" else 1)
    return Case(name, lambda: rnn_net(kind, n_in, hidden, **kw), tuple(shapes), opset)


def cell_loop(kind: str, n_in: int, hidden: int, steps: int) -> Any:
    """An LSTMCell / GRUCell stepped in Python over T: traced as a chain of Gemm / activations."""
    torch, nn, F = _nn()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.LSTMCell(n_in, hidden) if kind == "LSTM" else nn.GRUCell(n_in, hidden)
            self.fc = nn.Linear(hidden, 4)

        def forward(self, x):  # [1, T, n_in]
            h = torch.zeros(1, hidden)
            c = torch.zeros(1, hidden)
            for t in range(steps):
                if kind == "LSTM":
                    h, c = self.cell(x[:, t], (h, c))
                else:
                    h = self.cell(x[:, t], h)
            return self.fc(h)

    torch.manual_seed(0)
    return Net()


def attention_pooled_lstm(n_in: int = 8, hidden: int = 24) -> Any:
    """A bidirectional LSTM whose steps are pooled by learned attention weights (softmax over
    time of a Linear score), as keyword-spotting / speaker models do."""
    torch, nn, F = _nn()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(n_in, hidden, batch_first=True, bidirectional=True)
            self.score = nn.Linear(2 * hidden, 1)
            self.fc = nn.Linear(2 * hidden, 4)

        def forward(self, x):
            y, _ = self.rnn(x)
            w = torch.softmax(self.score(y), dim=1)  # [1, T, 1]
            return self.fc((w * y).sum(1))

    torch.manual_seed(0)
    return Net()


def recurrent_cases() -> list[Case]:
    c = rnn_case
    return [
        c("lstm_seq_first", "LSTM", 8, 32, 20),
        c("lstm_batch_first", "LSTM", 8, 32, 20, batch_first=True),
        c("gru_batch_first", "GRU", 8, 32, 20, batch_first=True),
        c("lstm_no_bias", "LSTM", 8, 16, 20, bias=False),
        c("gru_no_bias", "GRU", 8, 16, 20, bias=False, batch_first=True),
        c("lstm_hidden1", "LSTM", 8, 1, 20),
        c("gru_hidden1", "GRU", 8, 1, 20),
        c("lstm_hidden4", "LSTM", 8, 4, 20),
        c("lstm_hidden96", "LSTM", 16, 96, 20, batch_first=True),
        c("gru_hidden96", "GRU", 16, 96, 20),
        c("lstm_input1_T50", "LSTM", 1, 16, 50),
        c("gru_input1_T50", "GRU", 1, 16, 50, batch_first=True),
        c("lstm_T1", "LSTM", 8, 16, 1),
        c("gru_T1", "GRU", 8, 16, 1),
        c("lstm_T3", "LSTM", 8, 16, 3),
        c("lstm_T100", "LSTM", 4, 16, 100, batch_first=True),
        c("gru_T100", "GRU", 4, 16, 100),
        c("lstm_3_layers", "LSTM", 8, 16, 20, layers=3),
        c("gru_3_layers", "GRU", 8, 16, 20, layers=3, batch_first=True),
        c("lstm_bidir_2_layers", "LSTM", 8, 16, 20, layers=2, bidirectional=True),
        c("gru_bidir_2_layers", "GRU", 8, 16, 20, layers=2, bidirectional=True, batch_first=True),
        c("lstm_dropout_2_layers", "LSTM", 8, 16, 20, layers=2, dropout=0.3),
        c("lstm_returns_y_h_c", "LSTM", 8, 16, 10, head="all"),
        c("gru_returns_y_h", "GRU", 8, 16, 10, head="all", batch_first=True),
        c("lstm_head_every_step", "LSTM", 8, 16, 10, head="every"),
        c("gru_head_every_step_bf", "GRU", 8, 16, 10, head="every", batch_first=True),
        c("lstm_mean_over_time", "LSTM", 8, 16, 20, head="mean"),
        c("gru_max_over_time", "GRU", 8, 16, 20, head="max", batch_first=True),
        c("lstm_h0_c0_inputs", "LSTM", 8, 16, 20, states_in=True),
        c("gru_h0_input", "GRU", 8, 16, 20, states_in=True, batch_first=True),
        c("crnn_conv1d_gru", "GRU", 10, 32, 40, front=True),
        c("crnn_conv1d_lstm", "LSTM", 10, 32, 40, front=True),
        c("lstm_opset13", "LSTM", 8, 16, 20, opset=13),
        c("gru_opset14", "GRU", 8, 16, 20, opset=14, batch_first=True),
        Case("lstm_attention_pooling", attention_pooled_lstm, ((1, 20, 8),)),
        Case("lstmcell_loop", lambda: cell_loop("LSTM", 8, 16, 10), ((1, 10, 8),)),
        Case("grucell_loop", lambda: cell_loop("GRU", 8, 16, 10), ((1, 10, 8),)),
    ]


# --- 1-D convolution -------------------------------------------------------------------------

C_IN, L = 12, 64  # channels and length of the conv models' input [1, C_IN, L]


def conv_stack(*layers: Any, head: bool = True) -> Any:
    """`layers`, then global average pooling and a Linear to 6 classes."""
    torch, nn, F = _nn()
    torch.manual_seed(0)
    tail = [nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.LazyLinear(6)] if head else []
    m = nn.Sequential(*layers, *tail)
    m(torch.zeros(1, C_IN, L))  # materialise LazyLinear
    with torch.no_grad():
        for bn in (x for x in m.modules() if isinstance(x, nn.BatchNorm1d)):
            bn.running_mean.uniform_(-0.3, 0.3)
            bn.running_var.uniform_(0.5, 2.0)
    return m


def conv_act(act: Any) -> Any:
    torch, nn, F = _nn()
    return conv_stack(nn.Conv1d(C_IN, 24, 5, padding=2), act, nn.Conv1d(24, 24, 3, padding=1), act)


def ln_channels() -> Any:
    torch, nn, F = _nn()

    class LN(nn.Module):  # LayerNorm over channels of [N, C, L]
        def __init__(self, c: int):
            super().__init__()
            self.ln = nn.LayerNorm(c)

        def forward(self, x):
            return self.ln(x.transpose(1, 2)).transpose(1, 2)

    return conv_stack(
        nn.Conv1d(C_IN, 24, 3, padding=1), LN(24), nn.GELU(), nn.Conv1d(24, 24, 3, padding=1), LN(24)
    )


def tcn() -> Any:
    """Residual TCN blocks: causal (left) padding with F.pad, dilations 1, 2, 4."""
    torch, nn, F = _nn()

    class Block(nn.Module):
        def __init__(self, c_in: int, c: int, d: int):
            super().__init__()
            self.d = d
            self.c1 = nn.Conv1d(c_in, c, 3, dilation=d)
            self.c2 = nn.Conv1d(c, c, 3, dilation=d)
            self.skip = nn.Conv1d(c_in, c, 1) if c_in != c else nn.Identity()

        def forward(self, x):
            y = torch.relu(self.c1(F.pad(x, (2 * self.d, 0))))
            y = torch.relu(self.c2(F.pad(y, (2 * self.d, 0))))
            return torch.relu(y + self.skip(x))

    return conv_stack(Block(C_IN, 24, 1), Block(24, 24, 2), Block(24, 24, 4))


def conv_cases() -> list[Case]:
    torch, nn, F = _nn()
    s = conv_stack
    shape = ((1, C_IN, L),)

    def case(name: str, f: Callable[[], Any], opset: int = 17) -> Case:
        return Case(name, f, shape, opset)

    def two(**kw: Any) -> Callable[[], Any]:
        return lambda: s(nn.Conv1d(C_IN, 24, 3, **kw), nn.ReLU(), nn.Conv1d(24, 24, 3, **kw), nn.ReLU())

    return [
        case("conv1d_stride2", two(stride=2, padding=1)),
        case("conv1d_stride3", two(stride=3)),
        case("conv1d_dilation2", two(dilation=2, padding=2)),
        case("conv1d_dilation4", two(dilation=4, padding=4)),
        case(
            "conv1d_groups2",
            lambda: s(nn.Conv1d(C_IN, 24, 3, padding=1, groups=2), nn.ReLU(), nn.Conv1d(24, 24, 3, groups=2)),
        ),
        case(
            "conv1d_depthwise_separable",
            lambda: s(
                nn.Conv1d(C_IN, 24, 1),
                nn.ReLU(),
                nn.Conv1d(24, 24, 5, padding=2, groups=24),
                nn.ReLU(),
                nn.Conv1d(24, 32, 1),
                nn.ReLU(),
            ),
        ),
        case("conv1d_padding_same", two(padding="same")),
        case(
            "conv1d_same_dilated_even_k",
            lambda: s(nn.Conv1d(C_IN, 24, 4, padding="same", dilation=2), nn.ReLU()),
        ),
        case("conv1d_reflect", two(padding=1, padding_mode="reflect")),
        case("conv1d_replicate", two(padding=2, padding_mode="replicate")),
        case("conv1d_circular", two(padding=1, padding_mode="circular")),
        case("conv1d_no_bn", two(padding=1)),
        case(
            "conv1d_bn_after",
            lambda: s(
                nn.Conv1d(C_IN, 24, 3, padding=1, bias=False),
                nn.BatchNorm1d(24),
                nn.ReLU(),
                nn.Conv1d(24, 24, 3, padding=1),
                nn.BatchNorm1d(24),
            ),
        ),
        case("conv1d_layernorm_channels", ln_channels),
        case("conv1d_gelu", lambda: conv_act(nn.GELU())),
        case("conv1d_gelu_tanh", lambda: conv_act(nn.GELU(approximate="tanh"))),
        case("conv1d_silu", lambda: conv_act(nn.SiLU())),
        case("conv1d_hardswish", lambda: conv_act(nn.Hardswish())),
        case("conv1d_leakyrelu", lambda: conv_act(nn.LeakyReLU(0.1))),
        case("conv1d_tanh", lambda: conv_act(nn.Tanh())),
        case("conv1d_prelu", lambda: conv_act(nn.PReLU(24))),
        case("conv1d_prelu_shared", lambda: conv_act(nn.PReLU())),
        case("conv1d_prelu_trained_slopes", _prelu_trained),
        case("tcn_residual_causal", tcn),
        case(
            "conv1d_maxpool_k3_s2",
            lambda: s(
                nn.Conv1d(C_IN, 24, 3, padding=1), nn.ReLU(), nn.MaxPool1d(3, stride=2), nn.Conv1d(24, 24, 3)
            ),
        ),
        case("conv1d_adaptive_maxpool", _adaptive_max),
        case(
            "conv1d_flatten_linear",
            lambda: s(
                nn.Conv1d(C_IN, 8, 5, stride=2),
                nn.ReLU(),
                nn.Conv1d(8, 8, 3, stride=2),
                nn.ReLU(),
                nn.Flatten(),
                nn.LazyLinear(6),
                head=False,
            ),
        ),
        case("conv1d_stride2_opset13", two(stride=2, padding=1), opset=13),
        case(
            "conv1d_avgpool_ceil_pad",
            lambda: s(
                nn.Conv1d(C_IN, 24, 3),
                nn.ReLU(),
                nn.AvgPool1d(3, 2, padding=1, ceil_mode=True),
                nn.Conv1d(24, 24, 3),
            ),
        ),
        case(
            "conv1d_bn_relu6_dw",
            lambda: s(
                nn.Conv1d(C_IN, 24, 1, bias=False),
                nn.BatchNorm1d(24),
                nn.ReLU6(),
                nn.Conv1d(24, 24, 5, padding=2, groups=24, bias=False),
                nn.BatchNorm1d(24),
                nn.ReLU6(),
            ),
        ),
        case(
            "conv_transpose1d_upsample",
            lambda: s(
                nn.Conv1d(C_IN, 16, 3, stride=2, padding=1),
                nn.ReLU(),
                nn.ConvTranspose1d(16, 16, 4, stride=2, padding=1),
                nn.ReLU(),
            ),
        ),
    ]


def _prelu_trained() -> Any:
    """Two PReLU(24) whose slopes differ per channel (as training leaves them): PRELU."""
    torch, nn, F = _nn()
    m = conv_stack(
        nn.Conv1d(C_IN, 24, 5, padding=2), nn.PReLU(24), nn.Conv1d(24, 24, 3, padding=1), nn.PReLU(24)
    )
    with torch.no_grad():
        for p in (x for x in m.modules() if isinstance(x, nn.PReLU)):
            p.weight.uniform_(0.02, 0.4)
    return m


def _adaptive_max() -> Any:
    torch, nn, F = _nn()
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv1d(C_IN, 24, 3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool1d(1), nn.Flatten(), nn.Linear(24, 6)
    )


# --- transformer -----------------------------------------------------------------------------

SEQ = 8  # tokens


def enc_layer(
    d: int, heads: int, ff: int, *, norm_first: bool = False, act: str = "relu", batch_first: bool = True
) -> Any:
    torch, nn, F = _nn()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.TransformerEncoderLayer(
                d, heads, ff, dropout=0.0, activation=act, batch_first=batch_first, norm_first=norm_first
            )

        def forward(self, x):
            return self.layer(x)

    torch.manual_seed(0)
    return Net()


def encoder2(
    d: int = 32, heads: int = 4, *, mask: str = "", final_norm: bool = True, pool: bool = False
) -> Any:
    torch, nn, F = _nn()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            layer = nn.TransformerEncoderLayer(d, heads, 2 * d, dropout=0.0, batch_first=True)
            self.enc = nn.TransformerEncoder(
                layer, 2, norm=nn.LayerNorm(d) if final_norm else None, enable_nested_tensor=False
            )
            self.register_buffer("mask", torch.triu(torch.full((SEQ, SEQ), float("-inf")), diagonal=1))
            self.head = nn.Linear(d, 5)

        def forward(self, x):
            if mask == "float":
                y = self.enc(x, mask=self.mask)
            elif mask == "is_causal":
                y = self.enc(x, mask=self.mask, is_causal=True)
            else:
                y = self.enc(x)
            return self.head(y.mean(1)) if pool else y

    torch.manual_seed(0)
    return Net()


def mha_alone(d: int = 32, heads: int = 4, batch_first: bool = True, mask: bool = False) -> Any:
    torch, nn, F = _nn()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = nn.MultiheadAttention(d, heads, batch_first=batch_first)
            self.register_buffer("mask", torch.ones(SEQ, SEQ, dtype=torch.bool).triu(1))  # True: masked

        def forward(self, x):
            return self.mha(x, x, x, need_weights=False, attn_mask=self.mask if mask else None)[0]

    torch.manual_seed(0)
    return Net()


def token_model(d: int = 32, heads: int = 4, n_in: int = 12) -> Any:
    """Linear embedding + learned positions + a CLS token, encoder, the CLS token to a head."""
    torch, nn, F = _nn()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Linear(n_in, d)
            self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.5)
            self.pos = nn.Parameter(torch.randn(1, SEQ + 1, d) * 0.5)
            layer = nn.TransformerEncoderLayer(
                d, heads, 2 * d, dropout=0.0, batch_first=True, activation="gelu"
            )
            self.enc = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
            self.head = nn.Linear(d, 5)

        def forward(self, x):
            t = torch.cat([self.cls.expand(x.shape[0], -1, -1), self.embed(x)], 1) + self.pos
            return self.head(self.enc(t)[:, 0])

    torch.manual_seed(0)
    return Net()


def sdpa_block(d: int = 32, heads: int = 4) -> Any:
    """Attention written by hand with F.scaled_dot_product_attention (causal) and a pre-norm
    MLP, as small GPT-style blocks are."""
    torch, nn, F = _nn()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def forward(self, x):
            b, t, _ = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
            q, k, v = (z.view(b, t, heads, d // heads).transpose(1, 2) for z in (q, k, v))
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(a.transpose(1, 2).reshape(b, t, d))
            return x + self.mlp(self.ln2(x))

    torch.manual_seed(0)
    return Net()


def embedding_positions(d: int = 32, heads: int = 4) -> Any:
    """Positions from nn.Embedding(arange(T)) (a Gather of a constant table) and an encoder."""
    torch, nn, F = _nn()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.pos = nn.Embedding(SEQ, d)
            layer = nn.TransformerEncoderLayer(d, heads, 2 * d, dropout=0.0, batch_first=True)
            self.enc = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)

        def forward(self, x):
            return self.enc(x + self.pos(torch.arange(x.shape[1])))

    torch.manual_seed(0)
    return Net()


def vit_tiny(img: int = 16, patch: int = 4, d: int = 32, heads: int = 4) -> Any:
    torch, nn, F = _nn()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch = nn.Conv2d(3, d, patch, stride=patch)
            n = (img // patch) ** 2
            self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.5)
            self.pos = nn.Parameter(torch.randn(1, n + 1, d) * 0.5)
            layer = nn.TransformerEncoderLayer(
                d, heads, 2 * d, dropout=0.0, batch_first=True, activation="gelu", norm_first=True
            )
            self.enc = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(d), enable_nested_tensor=False)
            self.head = nn.Linear(d, 10)

        def forward(self, x):
            t = self.patch(x).flatten(2).transpose(1, 2)
            t = torch.cat([self.cls.expand(x.shape[0], -1, -1), t], 1) + self.pos
            return self.head(self.enc(t)[:, 0])

    torch.manual_seed(0)
    return Net()


def transformer_cases() -> list[Case]:
    def seq(d: int, bf: bool = True) -> tuple[tuple[int, ...], ...]:
        return ((1, SEQ, d) if bf else (SEQ, 1, d),)

    e = enc_layer
    return [
        Case("enc_post_relu_d16_h2", lambda: e(16, 2, 32), seq(16)),
        Case("enc_post_gelu_d32_h4", lambda: e(32, 4, 64, act="gelu"), seq(32)),
        Case("enc_pre_relu_d32_h2", lambda: e(32, 2, 128, norm_first=True), seq(32)),
        Case("enc_pre_gelu_d64_h8", lambda: e(64, 8, 256, norm_first=True, act="gelu"), seq(64)),
        Case("enc_h1_d16_ff48", lambda: e(16, 1, 48), seq(16)),
        Case("enc_seq_first_d32_h4", lambda: e(32, 4, 64, batch_first=False), seq(32, False)),
        Case(
            "enc_seq_first_pre_gelu",
            lambda: e(16, 2, 32, batch_first=False, norm_first=True, act="gelu"),
            seq(16, False),
        ),
        Case("enc_d64_h4_opset14", lambda: e(64, 4, 128), seq(64), 14),
        Case("encoder_2_layers_norm", lambda: encoder2(), seq(32)),
        Case("encoder_2_layers_no_norm", lambda: encoder2(final_norm=False), seq(32)),
        Case("encoder_causal_float_mask", lambda: encoder2(mask="float"), seq(32)),
        Case("encoder_is_causal", lambda: encoder2(mask="is_causal"), seq(32)),
        Case("encoder_mean_pool_head", lambda: encoder2(pool=True), seq(32)),
        Case("mha_alone_bf", lambda: mha_alone(), seq(32)),
        Case("mha_alone_seq_first", lambda: mha_alone(16, 2, False), seq(16, False)),
        Case("mha_bool_causal_mask", lambda: mha_alone(32, 4, mask=True), seq(32)),
        Case("tokens_cls_pos_embed", token_model, ((1, SEQ, 12),)),
        Case("sdpa_block", sdpa_block, seq(32)),
        Case("embedding_positions", embedding_positions, seq(32)),
        Case("vit_tiny_patch_embed", vit_tiny, ((1, 3, 16, 16),)),
    ]


def all_cases() -> list[Case]:
    return recurrent_cases() + conv_cases() + transformer_cases()


# --- measuring -------------------------------------------------------------------------------


def export(case: Case) -> tuple[Any, Any]:
    """The ONNX model and the torch module it was exported from (eval mode)."""
    import onnx
    import torch

    m = case.build().eval()
    names = [f"in{i}" for i in range(len(case.shapes))]
    args = tuple(torch.zeros(s) for s in case.shapes)
    buf = io.BytesIO()
    # not under torch.no_grad(): there nn.TransformerEncoderLayer / MultiheadAttention take their
    # fused fast paths, which torch's exporter cannot write
    torch.onnx.export(m, args, buf, dynamo=False, opset_version=case.opset, input_names=names)
    return onnx.load_from_string(buf.getvalue()), m


def torch_outputs(module: Any, feeds: list[dict[str, np.ndarray]], names: list[str]) -> list[np.ndarray]:
    """The reference when onnxruntime cannot run the float model: torch itself."""
    import torch

    def flat(o: Any) -> list[np.ndarray]:  # (y, (h, c)) -> [y, h, c]
        return [a for t in o for a in flat(t)] if isinstance(o, tuple | list) else [o.numpy()]

    with torch.no_grad():
        outs = [flat(module(*(torch.from_numpy(f[k]) for k in names))) for f in feeds]
    return [np.concatenate([o[j] for o in outs]) for j in range(len(outs[0]))]


def ort_qdq(m: Any, calib: list[dict[str, np.ndarray]], tmp: Path) -> Any:
    """onnxruntime quantize_static: QDQ, per-channel, MinMax, int8 activations and weights."""
    from support.onnx_models import ort_quantize_static

    return ort_quantize_static(m, calib, tmp)


def worst_sqnr(want: list[np.ndarray], got: list[np.ndarray]) -> float:
    from picoq.converter.float_ops import sqnr_db

    return min(sqnr_db(w, g) for w, g in zip(want, got))


def measure(case: Case, n_calib: int, n_test: int, runs: int) -> dict[str, Any]:
    import onnxruntime

    from picoq.converter import convert
    from picoq.runtime import Interpreter

    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1

    def session(model: Any) -> Any:
        return onnxruntime.InferenceSession(
            model.SerializeToString(), opts, providers=["CPUExecutionProvider"]
        )

    m, module = export(case)
    names = [i.name for i in m.graph.input]
    rng = np.random.default_rng(0)

    def draw(n: int) -> list[dict[str, np.ndarray]]:
        return [
            {k: rng.normal(size=s).astype(np.float32) for k, s in zip(names, case.shapes)} for _ in range(n)
        ]

    calib, test = draw(n_calib), draw(n_test)
    n_out = len(m.graph.output)
    out: dict[str, Any] = {"name": case.name, "opset": case.opset}
    timed: dict[str, Callable[[], object]] = {}
    try:
        ref = session(m)
        want = [np.concatenate([ref.run(None, f)[j] for f in test]) for j in range(n_out)]
        with tempfile.TemporaryDirectory() as tmp:
            q = ort_qdq(m, calib, Path(tmp))
        qs = session(q)
        out["ort"] = worst_sqnr(
            want, [np.concatenate([qs.run(None, f)[j] for f in test]) for j in range(n_out)]
        )
        timed["ort_us"] = lambda: qs.run(None, test[0])
    except Exception as e:  # noqa: BLE001 - onnxruntime itself failing on the float model
        out["ort_error"] = f"{type(e).__name__}: {str(e).strip().splitlines()[0][:100]}"
        want = torch_outputs(module, test, names)
    t0 = time.perf_counter()
    try:
        cal = calib if len(names) > 1 else np.stack([f[names[0]] for f in calib])
        it = Interpreter(convert(m, calibration=cal, progress=False))
    except Exception as e:  # noqa: BLE001 - the sweep reports every failure and goes on
        out["error"] = f"{type(e).__name__}: {str(e).strip().splitlines()[0][:150]}"
        return out
    out["convert_s"] = time.perf_counter() - t0

    def run(f: dict[str, np.ndarray]) -> list[np.ndarray]:
        y = it.run([f[k] for k in names] if len(names) > 1 else f[names[0]])
        return y if isinstance(y, list) else [y]

    try:
        got = [run(f) for f in test]
        out["picoq"] = worst_sqnr(want, [np.concatenate([g[j] for g in got]) for j in range(n_out)])
    except Exception as e:  # noqa: BLE001
        out["error"] = f"run: {type(e).__name__}: {str(e).strip().splitlines()[0][:150]}"
        return out
    timed["picoq_us"] = lambda: run(test[0])
    out.update(median_us(timed, runs))
    out.setdefault("ort_us", float("nan"))
    return out


def row(r: dict[str, Any]) -> str:
    """One table row; the last column: ok, miss, or n/a where there is no int8 peer to trail
    (onnxruntime fails on the float model; or ORT QDQ's output is float: a graph output written
    by an LSTM / GRU, which quantize_static leaves in float, has infinite SQNR)."""
    if "error" in r:
        return f"| {r['name']} | no: {r['error']} | | {r.get('ort', float('nan')):.1f} | | | | miss |"
    if "ort_error" in r:
        return f"| {r['name']} | yes | {r['picoq']:.1f} | ORT fails: {r['ort_error']} | | | | n/a |"
    d = r["picoq"] - r["ort"]
    slow = r["picoq_us"] > r["ort_us"]
    status = "n/a" if np.isinf(r["ort"]) and not slow else "miss" if d < -0.5 or slow else "ok"
    return (
        f"| {r['name']} | yes | {r['picoq']:.1f} | {r['ort']:.1f} | {d:+.1f} | {r['picoq_us']:.0f} | "
        f"{r['ort_us']:.0f} | {status} |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n")[-1],
        formatter_class=argparse.RawTextHelpFormatter,
    )
    p.add_argument("--only", nargs="+", default=[""], metavar="PREFIX", help="models whose names start so")
    p.add_argument("--calib", type=int, default=200, help="calibration samples (default 200)")
    p.add_argument(
        "--test",
        type=int,
        default=500,
        help="test samples (default 500: at 200 a model's SQNR moves by +-1 dB with the draw)",
    )
    p.add_argument("--runs", type=int, default=300, help="timing runs per runtime (default 300)")
    p.add_argument("--list", action="store_true", help="print the model names and exit")
    args = p.parse_args(argv)
    cases = [c for c in all_cases() if any(c.name.startswith(o) for o in args.only)]
    if args.list:
        print("\n".join(c.name for c in cases))
        return 0
    print("| model | converted | picoq dB | ORT QDQ dB | picoq - ORT | picoq us | ORT QDQ us | |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    misses = unmatched = 0
    t0 = time.perf_counter()
    for c in cases:
        try:
            r = measure(c, args.calib, args.test, args.runs)
        except Exception as e:  # noqa: BLE001 - export or ORT failing is reported too
            traceback.print_exc(limit=2, file=sys.stderr)
            r = {"name": c.name, "error": f"export/ORT: {type(e).__name__}: {str(e).splitlines()[0][:120]}"}
        line = row(r)
        misses += line.endswith("miss |")
        unmatched += line.endswith("n/a |")
        print(line, flush=True)
    print(
        f"\n{misses} of {len(cases)} miss, {unmatched} without an int8 ORT peer (n/a); {time.perf_counter() - t0:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
