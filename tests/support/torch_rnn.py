"""A torch nn.LSTM / nn.GRU with a linear head, exported with torch.onnx.export: what users
export. Shared by tests/test_onnx_recurrent.py and benchmarks/recurrent.py."""

from __future__ import annotations

import io

import onnx


def torch_rnn(
    kind: str,
    n_in: int,
    hidden: int,
    steps: int,
    *,
    bidirectional: bool = False,
    layers: int = 1,
    batch_first: bool = False,
    seed: int = 0,
) -> onnx.ModelProto:
    """`kind` "LSTM" or "GRU" over `steps` steps of `n_in` features (input [T, 1, n_in], or
    [1, T, n_in] with batch_first), then a Linear to 4 outputs of the last step."""
    import torch  # a test dependency (.ci/run installs .[test,torch])

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            cls = torch.nn.LSTM if kind == "LSTM" else torch.nn.GRU
            self.rnn = cls(
                n_in, hidden, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first
            )
            self.fc = torch.nn.Linear(hidden * (2 if bidirectional else 1), 4)

        def forward(self, x):
            y, _ = self.rnn(x)
            return self.fc(y[:, -1] if batch_first else y[-1])

    torch.manual_seed(seed)
    x = torch.randn((1, steps, n_in) if batch_first else (steps, 1, n_in))
    f = io.BytesIO()
    torch.onnx.export(
        Net().eval(), (x,), f, input_names=["input"], output_names=["y"], dynamo=False, opset_version=17
    )
    return onnx.load_from_string(f.getvalue())
