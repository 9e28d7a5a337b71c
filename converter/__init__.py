"""picoq.converter: turn models into .picoq files (offline; may use heavier packages).

from picoq.converter import convert
convert("model.tflite", "model.picoq")
"""

from __future__ import annotations

import os

from .graph import ConversionError, Graph
from .plan import plan_arena
from .writer import to_bytes, write_atomic

__all__ = ["ConversionError", "Graph", "convert", "load"]


def load(source: str | os.PathLike | bytes) -> Graph:
    """Import a source model (an int8 .tflite path or bytes) into a Graph."""
    if isinstance(source, bytes | bytearray | memoryview):
        kind = "tflite" if bytes(source[4:8]) == b"TFL3" else "unknown"
    else:
        kind = os.path.splitext(os.fspath(source))[1].lower().lstrip(".")
    if kind == "tflite":
        from .tflite_import import load_tflite

        return load_tflite(
            source if isinstance(source, bytes | bytearray | memoryview) else os.fspath(source)
        )
    raise ConversionError(
        [f"unrecognised model {source if isinstance(source, str) else type(source).__name__}"],
        hint="picoq converts int8 .tflite files (ONNX import is planned).",
    )


def convert(source: str | os.PathLike | bytes, output: str | os.PathLike | None = None) -> bytes:
    """Convert `source` to .picoq bytes; also write them (atomically) to `output` if given."""
    graph = load(source)
    graph.remove_unused_tensors()
    plan_arena(graph)
    data = to_bytes(graph)
    if output is not None:
        write_atomic(output, data)
    return data
