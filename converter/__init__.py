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
    weights: str = "int8",
    activations: str = "int8",
    flash_budget: int | None = None,
    ram_budget: int | None = None,
    rounding: str = "gptq",
    report: Any = None,
    bias_correction: bool = False,
    equalize: bool = False,
) -> bytes:
    """Convert `source` to .picoq bytes; also write them (atomically) to `output` if given.

    An int8 .tflite keeps its quantization exactly. A float ONNX model is quantized:
    `calibration` is a .npy/.npz file, a folder of them, an array (N, ...) or an iterable of
    arrays (dicts by input name for several inputs); `method` is "minmax", "percentile" (at
    `percentile`) or "mse"; weights are per-channel unless `per_tensor`.

    Precision (float ONNX models): `weights` "int8" (default), "int4" (packed, every conv and
    fully connected layer) or "auto" (int4 layers chosen, least sensitive first, until the
    constants fit `flash_budget` bytes); `activations` "int8" (default), "int16" (16x8, every
    op) or "auto" (int16 when every op has a 16x8 kernel and the arena fits `ram_budget`).
    int4 weights are rounded with the calibration data (`rounding` "gptq") or to nearest
    ("nearest"). `report(text)` receives the table of what was chosen and why.

    Accuracy recovery (float ONNX models, both float-only rewrites in the converter):
    `equalize` rescales the channels of consecutive layers (conv/depthwise/fully connected,
    through ReLU or nothing) so their weight ranges match (cross-layer equalization), kept
    only if the int8 model's SQNR on calibration samples rises by 0.5 dB or more: it helps
    nets whose channel ranges differ by orders of magnitude, per-tensor weights most. `bias_correction` subtracts from each layer's
    bias the mean output error its quantized weights make on the calibration data: it helps
    coarse weights (int4, per-tensor).
    """
    options = {}
    if _kind(source) == "onnx":
        options = {"method": method, "per_tensor": per_tensor, "percentile": percentile, "progress": progress}
        options.update(
            weights=weights,
            activations=activations,
            flash_budget=flash_budget,
            ram_budget=ram_budget,
            rounding=rounding,
            report=report,
            bias_correction=bias_correction,
            equalize=equalize,
        )
    elif bias_correction or equalize:
        raise ConversionError(
            [
                "bias correction and equalization rewrite float ONNX models; a .tflite keeps its own quantization"
            ]
        )
    elif (weights, activations, flash_budget, ram_budget) != ("int8", "int8", None, None):
        raise ConversionError(
            [
                "weights / activations / budgets choose the precision of float ONNX models; a .tflite keeps its own"
            ],
            hint="Quantize the TFLite model to int4 / 16x8 with TensorFlow's converter instead.",
        )
    graph = load(source, calibration, **options)
    graph.check_io()
    graph.remove_unused_tensors()
    plan_arena(graph)
    data = to_bytes(graph)
    if output is not None:
        write_atomic(output, data)
    return data
