"""The C interpreter core (runtime/kernels/include/pq_interp.h) in firmware: bytes in, bytes out.

- firmware_examples/host_interp's `run_model MODEL.picoq INPUT.bin OUTPUT.bin` (cc, the
  reference kernels) writes byte-identical outputs to picoq.runtime.Interpreter
  (kernels="reference") for every MLPerf Tiny int8 model and the repo's test models, and
  refuses a bad file with status 1 and one line naming the problem;
- firmware_examples/cortex-m-ota (a .picoq held as bytes in flash, run under QEMU's
  mps2-an386) prints the same bytes for KWS, AD, IC, VWW and two of the repo's models;
- runtime/kernels/CMakeLists.txt builds `picoq_core` for the host (run_model linked
  against it) and, with the Arm toolchain, for a Cortex-M4.

The toolchain is not optional (CI installs it), as in tests/test_export_c.py.
"""

from __future__ import annotations

import functools
import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from picoq.converter import convert
from picoq.runtime import Interpreter, ModelFormatError, read_model

from conftest import MLPERF_INT8, mlperf_path
from support.fileedit import resealed, section
from support.firmware import output_rows, run, tool, two_in_two_out
from support.make_fixtures import build_tiny_convnet, build_tiny_mlp, build_tiny_resnet
from support.models import build_chain

ROOT = Path(__file__).resolve().parents[1]
KERNELS_DIR = ROOT / "runtime" / "kernels"
HOST_INTERP_DIR = ROOT / "firmware_examples" / "host_interp"
OTA_DIR = ROOT / "firmware_examples" / "cortex-m-ota"
N_HOST_INPUTS = 3
# Inputs per model under QEMU (IC and VWW take about 0.1 s an inference there); the MLPerf
# models, then every op code (8..17) and a model of two inputs and two outputs.
OTA_INPUTS = {"kws": 10, "ad": 10, "ic": 5, "vww": 5, "all_new_ops": 5, "two_in_two_out": 5}
QEMU_TIMEOUT = 60

MLPERF = {"kws": "kws_ref_model", "vww": "vww_96_int8", "ic": "pretrainedResnet_quant", "ad": "ad01_int8"}
MLPERF |= {name: name for name in MLPERF_INT8 if name not in MLPERF.values()}
CORE_MODELS: dict[str, Callable[[], bytes]] = {
    "tiny_convnet": build_tiny_convnet,
    "tiny_resnet": build_tiny_resnet,
    "tiny_mlp": build_tiny_mlp,
    "all_new_ops": lambda: build_chain()[0],  # op codes 8..17 chained
    "two_in_two_out": two_in_two_out,
    **{short: functools.partial(lambda n: mlperf_path(n).read_bytes(), n) for short, n in MLPERF.items()},
}


@functools.cache
def picoq_model(name: str) -> bytes:
    return convert(CORE_MODELS[name]())


def random_inputs(picoq: bytes, name: str, n: int) -> list[list[np.ndarray]]:
    """n sets of random int8 inputs, one array per graph input."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    details = Interpreter(picoq).input_details
    return [[rng.integers(-128, 128, d["shape"], dtype=np.int8) for d in details] for _ in range(n)]


def expected_bytes(picoq: bytes, xs: list[np.ndarray]) -> bytes:
    """All outputs of the reference kernels (what firmware runs), in order, as raw bytes."""
    ys = Interpreter(picoq, kernels="reference").run(xs if len(xs) > 1 else xs[0])
    ys = ys if isinstance(ys, list | tuple) else [ys]
    return b"".join(np.ascontiguousarray(y, dtype=np.int8).tobytes() for y in ys)


def make_run_model(out: Path) -> Path:
    run([tool("make"), "-s", "-C", str(HOST_INTERP_DIR), f"OUT={out}"], timeout=300)
    return out


@pytest.fixture(scope="module")
def run_model(tmp_path_factory) -> Path:
    tool("cc")
    return make_run_model(tmp_path_factory.mktemp("host_interp") / "run_model")


def run_model_on(exe: Path, model: Path, inputs: bytes, work: Path, check: bool = True):
    (work / "in.bin").write_bytes(inputs)
    out = work / "out.bin"
    out.unlink(missing_ok=True)
    r = run([str(exe), str(model), str(work / "in.bin"), str(out)], timeout=120, check=check)
    return r, (out.read_bytes() if out.exists() else None)


# *** host: run_model ***


@pytest.mark.parametrize("name", list(CORE_MODELS))
def test_run_model_matches_interpreter(name: str, run_model: Path, tmp_path: Path) -> None:
    picoq = picoq_model(name)
    (tmp_path / "m.picoq").write_bytes(picoq)
    for xs in random_inputs(picoq, name, N_HOST_INPUTS):
        _, got = run_model_on(run_model, tmp_path / "m.picoq", b"".join(x.tobytes() for x in xs), tmp_path)
        assert got == expected_bytes(picoq, xs)


def _patched(sec: bytes, at: int, value: int) -> Callable[[bytes], bytes]:
    """An int32 written `at` bytes into section `sec`, the checksum recomputed."""

    def corrupt(data: bytes) -> bytes:
        buf = bytearray(data)
        struct.pack_into("<i", buf, section(buf, sec)[0] + at, value)
        return resealed(buf)

    return corrupt


# corruption -> (the bytes, the field the C core and the Python reader name)
CORRUPTIONS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "flipped_byte": (lambda d: d[:100] + bytes([d[100] ^ 0x40]) + d[101:], "header.crc32"),
    "truncated": (lambda d: d[: len(d) // 2], "header.file_size"),
    "empty": (lambda d: b"", "file"),
    "bad_magic": (lambda d: b"NOPE" + d[4:], "header.magic"),
    "bad_dim": (_patched(b"TENS", 12 + 4, -3), "tensor.dims"),  # tensor 0's dims[1]; resealed
    "bad_act_max": (_patched(b"OPS_", 16 + 4 * 4, 1000), "op.params.act_max"),  # op 0 (FC) param 4
}


def python_field(data: bytes) -> str:
    """The Python reader's ModelFormatError.field, with record indices and op names left
    out as the C core's names leave them ("op[0] FULLY_CONNECTED.params.x" -> "op.params.x")."""
    with pytest.raises(ModelFormatError) as e:
        read_model(data)
    return re.sub(r"\[\d+\]| [A-Z0-9_]+(?=\.)", "", e.value.field)


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_run_model_refuses_a_bad_file_in_one_line(corruption: str, run_model: Path, tmp_path: Path) -> None:
    good = picoq_model("tiny_mlp")
    corrupt, field = CORRUPTIONS[corruption]
    bad = corrupt(good)
    assert python_field(bad) == field  # an invalid file, for the same reason in Python
    (tmp_path / "bad.picoq").write_bytes(bad)
    n_in = len(random_inputs(good, "tiny_mlp", 1)[0][0].tobytes())
    r, out = run_model_on(run_model, tmp_path / "bad.picoq", bytes(n_in), tmp_path, check=False)
    assert r.returncode == 1 and out is None and r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"run_model: {tmp_path / 'bad.picoq'}: invalid .picoq file:"
    )
    assert f" field {field}" in lines[0]  # the field the Python reader names too


def test_run_model_refuses_wrong_sizes_and_missing_files(run_model: Path, tmp_path: Path) -> None:
    picoq = picoq_model("tiny_mlp")
    model = tmp_path / "m.picoq"
    model.write_bytes(picoq)
    n_in = len(random_inputs(picoq, "tiny_mlp", 1)[0][0].tobytes())
    for n in (0, n_in - 1, n_in + 1):
        r, out = run_model_on(run_model, model, bytes(n), tmp_path, check=False)
        assert r.returncode == 1 and out is None
        assert (
            r.stderr
            == f"run_model: {tmp_path / 'in.bin'}: {n} bytes, but the model's 1 input(s) take {n_in} bytes\n"
        )
    r = run([str(run_model), str(tmp_path / "absent.picoq"), str(model), str(tmp_path / "o")], check=False)
    assert r.returncode == 1 and r.stderr.startswith(f"run_model: {tmp_path / 'absent.picoq'}: cannot open")
    assert len(r.stderr.splitlines()) == 1
    assert run([str(run_model), str(model)], check=False).returncode == 2  # usage


# *** Cortex-M4 in QEMU: the model as bytes in flash ***


@pytest.fixture(scope="module")
def ota_build(tmp_path_factory) -> Path:
    """One build folder for every model: the core is compiled once, the model and inputs relink."""
    tool("arm-none-eabi-gcc")
    tool("qemu-system-arm")
    return tmp_path_factory.mktemp("ota")


def ota_run(build: Path, model: Path, inputs: Path, check: bool = True):
    cmd = [
        tool("make"),
        "-s",
        "-j2",
        "-C",
        str(OTA_DIR),
        f"BUILD={build}",
        f"MODEL={model}",
        f"INPUTS={inputs}",
    ]
    return run([*cmd, "run"], timeout=QEMU_TIMEOUT + 120, check=check)


@pytest.mark.parametrize("name", list(OTA_INPUTS))
def test_cortex_m4_ota_in_qemu_matches_interpreter(name: str, ota_build: Path, tmp_path: Path) -> None:
    picoq = picoq_model(name)
    sets = random_inputs(picoq, name, OTA_INPUTS[name])
    (tmp_path / "m.picoq").write_bytes(picoq)
    (tmp_path / "in.bin").write_bytes(b"".join(x.tobytes() for xs in sets for x in xs))
    out = ota_run(ota_build, tmp_path / "m.picoq", tmp_path / "in.bin").stdout
    assert f"# inputs: {len(sets)}\n" in out and "# stack bytes used: " in out
    expected = np.stack([np.frombuffer(expected_bytes(picoq, xs), np.int8) for xs in sets])
    np.testing.assert_array_equal(output_rows(out), expected)


def test_cortex_m4_ota_refuses_a_corrupt_model(ota_build: Path, tmp_path: Path) -> None:
    corrupt, field = CORRUPTIONS["bad_dim"]
    bad = corrupt(picoq_model("tiny_mlp"))
    (tmp_path / "bad.picoq").write_bytes(bad)
    (tmp_path / "none.bin").write_bytes(b"")
    r = ota_run(ota_build, tmp_path / "bad.picoq", tmp_path / "none.bin", check=False)
    assert r.returncode != 0
    assert "# plan: " in r.stdout and f"# model refused: {field}\n" in r.stdout


# *** CMake: the picoq_core library ***


def test_cmake_builds_run_model_against_picoq_core(tmp_path: Path) -> None:
    """A host project adds runtime/kernels with add_subdirectory and links picoq_core."""
    (tmp_path / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.13)\nproject(app C)\n"
        f'add_subdirectory("{KERNELS_DIR}" picoq_core)\n'
        f'add_executable(run_model "{HOST_INTERP_DIR / "main.c"}")\n'
        "target_link_libraries(run_model PRIVATE picoq_core)\n"
    )
    flags = "-Wall -Wextra -Werror -pedantic"
    run(
        [tool("cmake"), "-S", str(tmp_path), "-B", str(tmp_path / "b"), f"-DCMAKE_C_FLAGS={flags}"],
        timeout=120,
    )
    run([tool("cmake"), "--build", str(tmp_path / "b"), "-j2"], timeout=300)
    picoq = picoq_model("tiny_mlp")
    (tmp_path / "m.picoq").write_bytes(picoq)
    xs = random_inputs(picoq, "tiny_mlp", 1)[0]
    _, got = run_model_on(tmp_path / "b" / "run_model", tmp_path / "m.picoq", xs[0].tobytes(), tmp_path)
    assert got == expected_bytes(picoq, xs)


def test_cmake_builds_picoq_core_for_cortex_m4(tmp_path: Path) -> None:
    """The MCU configuration: cross compiler, no definitions, reference kernels only."""
    gcc = tool("arm-none-eabi-gcc")
    run(
        [
            tool("cmake"),
            "-S",
            str(KERNELS_DIR),
            "-B",
            str(tmp_path),
            "-DCMAKE_SYSTEM_NAME=Generic",
            "-DCMAKE_SYSTEM_PROCESSOR=arm",
            f"-DCMAKE_C_COMPILER={gcc}",
            "-DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY",
            "-DCMAKE_C_FLAGS=-mcpu=cortex-m4 -mthumb -mfloat-abi=soft -Os -Wall -Wextra -Werror",
        ],
        timeout=120,
    )
    run([tool("cmake"), "--build", str(tmp_path), "-j2"], timeout=300)
    ar = run([tool("arm-none-eabi-ar"), "t", str(tmp_path / "libpicoq_core.a")]).stdout
    members = {m.split(".")[0] for m in ar.split()}  # pq_interp.c.obj -> pq_interp
    assert {"pq_interp", "pq_model_validate", "pq_ops", "pq_conv2d_s8", "pq_transpose_s8"} <= members
    assert not [m for m in members if "fast" in m or "threadpool" in m or "isa" in m]
