"""Shared test helpers: where the MLPerf Tiny models live, and a converter+interpreter shortcut."""

from __future__ import annotations

from pathlib import Path

import pytest

from picoq.converter import convert
from picoq.runtime import Interpreter

# ../shared beside the checkout (the README of the shared folder fixes this path).
SHARED_MODELS = Path(__file__).resolve().parents[2] / "shared" / "models" / "mlperf_tiny"
MLPERF_INT8 = [
    "kws_ref_model",
    "vww_96_int8",
    "pretrainedResnet_quant",
    "pretrainedResnet_large_int8",
    "ad01_int8",
]


@pytest.fixture(scope="session")
def sanitized_lib(tmp_path_factory) -> Path:
    """picoq built with -fsanitize=address,undefined into a private folder, once per session
    (tests/support/sanitized_build.py; test_sanitizers.py and test_stress.py use it)."""
    from support.sanitized_build import build_sanitized

    return build_sanitized(tmp_path_factory.mktemp("asan"))


def mlperf_path(name: str) -> Path:
    path = SHARED_MODELS / f"{name}.tflite"
    if not path.is_file():
        pytest.skip(f"MLPerf Tiny model {path} is absent (needs ../shared beside the checkout)")
    return path


def mlperf_present() -> dict[str, Path]:
    """The MLPerf Tiny int8 models that are there (none without ../shared), by name."""
    paths = {name: SHARED_MODELS / f"{name}.tflite" for name in MLPERF_INT8}
    return {name: path for name, path in paths.items() if path.is_file()}


def picoq_from_tflite(data: bytes) -> Interpreter:
    return Interpreter(convert(data))
