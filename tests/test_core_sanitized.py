"""The C interpreter core (validate, plan, prepare, invoke) under AddressSanitizer and
UndefinedBehaviorSanitizer, as a plain C program (tests/c/pq_core_main.c), on the reference
kernels and on every instruction set this machine runs.

It holds the findings of the first libFuzzer runs of the core (clang, -fsanitize=fuzzer): a
fast kernel needing no scratch was handed a NULL scratch pointer (`NULL + 0` is undefined), and
a valid file's left shift of 30 made MultiplyByQuantizedMultiplier's `x * (1 << shift)` overflow
a signed int (TFLM's expression; picoq now computes it in wrapping arithmetic, the same bits).
The libFuzzer targets themselves, their CI runs and later findings: tests/fuzz/ and
tests/test_core_fuzz.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from picoq.converter import convert
from picoq.runtime import kernels_dir, read_model, supported_isas
from picoq.runtime._interp import ISA_NAMES

from conftest import SHARED_MODELS
from support.fileedit import resealed
from support.make_fixtures import build_tiny_convnet, build_tiny_mlp, build_tiny_resnet
from support.models import build_chain

TESTS = Path(__file__).resolve().parent
KDIR = Path(kernels_dir())
NO_RECOVER = ["-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]  # the first report aborts the run
ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=1", UBSAN_OPTIONS="print_stacktrace=1")
ISAS = [-1, *(ISA_NAMES.index(name) for name in supported_isas())]  # -1: the reference kernels


def _clang_build(main: str, exe: Path, sanitize: str) -> Path:
    """`main` (in tests/c) with every kernel source, fast kernels included, built by clang:
    GCC's UBSan does not report the signed overflow of `x * (1 << n)` (it folds it into a shift
    first), clang's does (firmware_examples/install_toolchain.sh installs it)."""
    assert shutil.which("clang"), "clang is needed (firmware_examples/install_toolchain.sh installs it)"
    srcs = [str(p) for p in sorted((KDIR / "src").rglob("*.c"))]
    cmd = [
        "clang",
        "-std=c99",
        "-D_POSIX_C_SOURCE=200112L",
        "-O1",
        "-g",
        f"-fsanitize={sanitize}",
        *NO_RECOVER,
    ]
    cmd += ["-DPQ_WITH_FAST_KERNELS=1", "-I", str(KDIR / "include"), str(TESTS / "c" / main), *srcs]
    r = subprocess.run([*cmd, "-pthread", "-o", str(exe)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return exe


@pytest.fixture(scope="module")
def core(tmp_path_factory) -> Path:
    return _clang_build("pq_core_main.c", tmp_path_factory.mktemp("core") / "pq_core", "address,undefined")


@pytest.fixture(scope="module")
def models() -> dict[str, bytes]:
    """The repo's models (every op code among them), then the two quickest MLPerf Tiny ones."""
    built = {
        "tiny_convnet": convert(build_tiny_convnet()),
        "tiny_resnet": convert(build_tiny_resnet()),
        "tiny_mlp": convert(build_tiny_mlp()),
        "op_chain": convert(build_chain()[0]),
    }
    for name in ("kws_ref_model", "ad01_int8"):
        path = SHARED_MODELS / f"{name}.tflite"
        assert path.is_file(), f"{path} is missing (../shared beside the checkout)"
        built[name] = convert(str(path))
    return built


def _run(core: Path, model: bytes, tmp_path: Path, isa: int) -> str:
    path = tmp_path / "m.picoq"
    path.write_bytes(model)
    r = subprocess.run(
        [str(core), str(path), str(isa), "2"], capture_output=True, text=True, env=ENV, timeout=300
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


@pytest.mark.parametrize("isa", ISAS, ids=lambda i: "reference" if i < 0 else ISA_NAMES[i])
def test_models_run_clean(core: Path, models: dict[str, bytes], tmp_path: Path, isa: int) -> None:
    """Every model runs twice on fresh inputs with no sanitizer report and no kernel refusal."""
    for name, model in models.items():
        assert _run(core, model, tmp_path, isa).splitlines() == ["ok"], name


@pytest.mark.parametrize("isa", ISAS, ids=lambda i: "reference" if i < 0 else ISA_NAMES[i])
def test_largest_valid_left_shift_runs_clean(core: Path, tmp_path: Path, isa: int) -> None:
    """Every CONV_2D's shifts set to 30, the largest the validator accepts: accumulators scaled
    by 2^30 leave int32, which must wrap, not be undefined behaviour."""
    data = bytearray(convert(build_tiny_convnet()))
    m = read_model(bytes(data))
    convs = [op for op in m.ops if op.name == "CONV_2D"]
    assert convs
    for op in convs:
        t = m.tensors[op.inputs[4]]
        data[t.offset : t.offset + t.nbytes] = np.full(t.size, 30, "<i4").tobytes()
    model = resealed(data)
    read_model(model)  # still a valid file
    assert _run(core, model, tmp_path, isa).splitlines() == ["ok"]
