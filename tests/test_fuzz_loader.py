"""Mutation fuzzing of the .picoq loader: every mutant is refused with ModelFormatError or
loads and runs with the declared output shapes. Never a crash, a hang or another exception.

2,000 mutants per model in the normal suite; `PICOQ_FUZZ_MUTANTS=100000 pytest
tests/test_fuzz_loader.py` (or `python -m tests.support.picoq_mutate`) is the long run.
"""

from __future__ import annotations

import os

import pytest

from picoq.converter import convert

from conftest import MLPERF_INT8, mlperf_path
from support.make_fixtures import build_tiny_convnet, build_tiny_mlp, build_tiny_resnet
from support.picoq_mutate import fuzz

MUTANTS = int(os.environ.get("PICOQ_FUZZ_MUTANTS", "2000"))
REPO_MODELS = {
    "tiny_convnet": build_tiny_convnet,
    "tiny_resnet": build_tiny_resnet,
    "tiny_mlp": build_tiny_mlp,
}


@pytest.mark.parametrize("name", list(REPO_MODELS))
def test_fuzz_repo_models(name: str) -> None:
    out = fuzz(convert(REPO_MODELS[name]()), MUTANTS, seed=1)
    assert sum(out.values()) == MUTANTS
    assert out["rejected"] > MUTANTS // 3 and out["ran"] > 0, out  # both paths exercised


@pytest.mark.parametrize("name", MLPERF_INT8)
def test_fuzz_mlperf_models(name: str) -> None:
    out = fuzz(convert(mlperf_path(name).read_bytes()), MUTANTS, seed=2)
    assert sum(out.values()) == MUTANTS
    assert out["rejected"] > MUTANTS // 3 and out["ran"] > 0, out
