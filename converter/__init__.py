"""picoq.converter: turn models into .picoq files (offline; may use heavier packages).

from picoq.converter import convert
convert("model.tflite", "model.picoq")                          # int8 TFLite: kept exactly
convert("model.onnx", "model.picoq", calibration="calib.npy")   # float ONNX: calibrated int8
from_torch(module, example_input, calibration=batches)          # PyTorch, through torch.onnx.export
"""

from __future__ import annotations

import os
from typing import Any

from .graph import ConversionError, Graph
from .plan import plan_arena
from .torch_export import from_torch
from .writer import to_bytes, write_atomic

__all__ = ["ConversionError", "Graph", "convert", "from_torch", "load"]


def _kind(source: Any) -> str:
    if isinstance(source, bytes | bytearray | memoryview):
        if bytes(source[4:8]) == b"TFL3":
            return "tflite"
        return "onnx" if bytes(source[:1]) == b"\x08" else "unknown"  # ModelProto opens with ir_version
    if hasattr(source, "graph") and hasattr(source, "opset_import"):  # an onnx.ModelProto
        return "onnx"
    if isinstance(source, str | os.PathLike):
        return os.path.splitext(os.fspath(source))[1].lower().lstrip(".")
    return "unknown"


def load(source: str | os.PathLike | bytes | Any, calibration: Any = None, **options: Any) -> Graph:
    """Import a source model into a Graph: an int8 .tflite (path or bytes), or a float ONNX
    model (path, bytes or onnx.ModelProto) quantized with `calibration` (see convert)."""
    kind = _kind(source)
    if kind == "onnx":
        from .onnx_convert import convert_onnx

        return convert_onnx(source, calibration, **options)
    if kind == "tflite":
        from .tflite_import import load_tflite

        return load_tflite(
            source if isinstance(source, bytes | bytearray | memoryview) else os.fspath(source)
        )
    raise ConversionError(
        [f"unrecognised model {source if isinstance(source, str) else type(source).__name__}"],
        hint="picoq converts int8 .tflite files and float .onnx models.",
    )


def convert(
    source: str | os.PathLike | bytes | Any,
    output: str | os.PathLike | None = None,
    calibration: Any = None,
    method: str = "minmax",
    per_tensor: bool = False,
    percentile: float = 99.99,
    progress: bool = True,
) -> bytes:
    """Convert `source` to .picoq bytes; also write them (atomically) to `output` if given.

    An int8 .tflite keeps its quantization exactly. A float ONNX model is quantized:
    `calibration` is a .npy/.npz file, a folder of them, an array (N, ...) or an iterable of
    arrays (dicts by input name for several inputs); `method` is "minmax", "percentile" (at
    `percentile`) or "mse"; weights are per-channel unless `per_tensor`.
    """
    options = {}
    if _kind(source) == "onnx":
        options = {"method": method, "per_tensor": per_tensor, "percentile": percentile, "progress": progress}
    graph = load(source, calibration, **options)
    graph.check_io()
    graph.remove_unused_tensors()
    plan_arena(graph)
    data = to_bytes(graph)
    if output is not None:
        write_atomic(output, data)
    return data
