"""picoq.runtime: run .picoq int8 models with integer-only C kernels (needs numpy alone).

from picoq.runtime import Interpreter
y = Interpreter("model.picoq").run(x)
"""

from __future__ import annotations

import os

from ._interp import best_isa, supported_isas
from .format import ModelFile, ModelFormatError, read_model
from .interpreter import Interpreter

__all__ = [
    "Interpreter",
    "ModelFile",
    "ModelFormatError",
    "best_isa",
    "kernels_dir",
    "read_model",
    "supported_isas",
]


def kernels_dir() -> str:
    """Folder holding the C kernels (include/ and src/) this package was built from.

    Firmware builds and `picoq export-c` copy from here, so the MCU compiles exactly
    the C that the Python interpreter runs.
    """
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels")
