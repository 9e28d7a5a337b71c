"""PyTorch in: export a module to ONNX with torch.onnx.export, then convert it like any ONNX model.

torch is an optional extra (`pip install 'picoq[torch]'`); it is imported only when
from_torch is called. The module is exported in eval mode with a symbolic batch
dimension, so the converted model runs any batch (Interpreter.run loops over it).
"""

from __future__ import annotations

import io
import os
import warnings
from typing import Any

import numpy as np

OPSET = 17


def _torch():
    try:
        import torch
    except ImportError as e:
        raise ImportError("from_torch needs PyTorch: pip install 'picoq[torch]'") from e
    return torch


def _as_tensors(torch, example: Any) -> tuple:
    items = example if isinstance(example, list | tuple) else (example,)
    return tuple(
        torch.as_tensor(np.asarray(x, np.float32)) if not isinstance(x, torch.Tensor) else x for x in items
    )


def _calibration(calibration: Any) -> Any:
    """torch tensors (or iterables of them, e.g. a DataLoader yielding (x, y)) as numpy arrays."""
    if calibration is None or isinstance(calibration, str | os.PathLike | np.ndarray | dict):
        return calibration
    if hasattr(calibration, "detach"):
        return calibration.detach().cpu().numpy()

    def items():
        for item in calibration:
            if isinstance(item, list | tuple) and len(item) == 2 and hasattr(item[1], "shape"):
                item = item[0]  # (inputs, labels) from a DataLoader
            yield item.detach().cpu().numpy() if hasattr(item, "detach") else item

    return items()


def export_onnx(module: Any, example_input: Any, opset: int = OPSET) -> bytes:
    """The ONNX bytes of `module` (eval mode) traced on `example_input`, batch axis symbolic."""
    torch = _torch()
    args = _as_tensors(torch, example_input)
    names = [f"input{i}" if len(args) > 1 else "input" for i in range(len(args))]
    module = module.eval()
    with torch.no_grad():
        n_out = len(module(*args)) if isinstance(module(*args), list | tuple) else 1
    out_names = [f"output{i}" if n_out > 1 else "output" for i in range(n_out)]
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            module,
            args,
            buf,
            input_names=names,
            output_names=out_names,
            dynamic_axes={n: {0: "batch"} for n in names + out_names},
            opset_version=opset,
            dynamo=False,
        )
    return buf.getvalue()


def from_torch(
    module: Any,
    example_input: Any,
    calibration: Any = None,
    output: str | os.PathLike | None = None,
    **options: Any,
) -> bytes:
    """Convert a torch.nn.Module to .picoq bytes (and write `output` if given).

    `example_input` is a tensor or array (or a tuple of them) of the shape the model takes;
    `calibration` is anything `convert` accepts, torch tensors, or an iterable of tensors or
    (inputs, labels) pairs such as a DataLoader. Other options (method, per_tensor, ...) are
    passed to picoq.converter.convert.
    """
    from . import convert

    return convert(
        export_onnx(module, example_input), output, calibration=_calibration(calibration), **options
    )
