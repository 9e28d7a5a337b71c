"""The aarch64 NEON fast kernels give the reference kernels' bytes, tested from an x86 machine.

The extension cannot run aarch64 code here, so the C harness tests/c/fast_vs_reference.c (the
fast kernels against the reference kernels on every ISA pq_isa_supported() reports, random
cases seeded per case; the plans bound by the runtime's own fast hooks (src/fast/pq_*_fast_op.c); every buffer ending
at an inaccessible page) is cross-compiled with aarch64-linux-gnu-gcc -O2 and run under
qemu-aarch64 twice: `-cpu max` has the dot product (portable, neon, neon_dot) and
`-cpu cortex-a53` is ARMv8.0 without it (portable, neon), so both NEON paths and the run-time
choice between them are exercised. It also checks the NEON requantization lane by lane against
the scalar fixed point (ties of both signs, INT32_MIN * INT32_MIN). The same harness built
natively covers the x86 ISAs, and must report the same ISAs as the extension. A canary run
flips one output byte and must fail. Every aarch64 kernel source also compiles as strict C99
at -O0 and -O2 (the sdot lane must be an immediate even without optimisation).

Skips only when the cross tools are missing; CI installs them
(firmware_examples/install_toolchain.sh). Nothing is timed: qemu timings mean nothing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from picoq.runtime import kernels_dir, supported_isas

from support.cross_tools import aarch64_tools

ROOT = Path(__file__).resolve().parents[1]
KERNELS = Path(kernels_dir())
HARNESS = [ROOT / "tests" / "c" / "fast_vs_reference.c", *sorted((ROOT / "tests" / "c").glob("fvr_*.c"))]
SOURCES = sorted((KERNELS / "src").rglob("*.c"))
FLAGS = ["-O2", "-std=c99", "-Wall", "-Wextra", "-Werror", "-I", str(KERNELS / "include")]
CASES = 1000  # random cases per op (OPS), each run on every ISA
REQUANT_LANES = 200_000
OPS = (
    "conv2d",
    "depthwise",
    "fc",
    "add",
    "mul",
    "mean",
    "softmax",
    "concat",
    "pad",
    "transpose",
    "reshape",
    "batch_matmul",
    "gather",
    "conv2d_s16",  # the 16x8 ops (tests/c/fvr_s16.c): NEON's src/arch/arm/pq_s16_neon.c
    "depthwise_s16",
    "fc_s16",
)


def _run(cmd: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def aarch64_harness(tmp_path_factory) -> tuple[str, Path]:
    cc, qemu = aarch64_tools()
    exe = tmp_path_factory.mktemp("neon") / "fast_vs_reference"
    r = _run([cc, *FLAGS, "-static", *map(str, HARNESS + SOURCES), "-o", str(exe)])
    assert r.returncode == 0, r.stderr
    return qemu, exe


def _check_summary(out: str, isas: list[str], cases: int) -> None:
    assert out.splitlines()[0] == "isas: " + " ".join(isas), out
    for isa in isas:
        counts = " ".join(f"{op} {cases}" for op in OPS)
        assert re.search(rf"^{isa}: {counts} ", out, re.M), out
    assert out.rstrip().endswith("OK: every fast output byte-identical to the reference"), out


@pytest.mark.parametrize(
    "cpu,isas,seed",
    [("max", ["portable", "neon", "neon_dot"], 101), ("cortex-a53", ["portable", "neon"], 202)],
)
def test_neon_fast_kernels_equal_reference(aarch64_harness, cpu: str, isas: list[str], seed: int) -> None:
    qemu, exe = aarch64_harness
    cmd = [qemu, "-cpu", cpu, str(exe), "--cases", str(CASES), "--seed", str(seed)]
    r = _run(cmd + ["--requant", str(REQUANT_LANES)])
    assert r.returncode == 0, f"{' '.join(cmd)}\n{r.stdout}\n{r.stderr}"
    _check_summary(r.stdout, isas, CASES)
    lanes = int(re.search(r"^requant lanes checked: (\d+)$", r.stdout, re.M).group(1))
    assert lanes >= REQUANT_LANES


def test_harness_catches_one_wrong_byte(aarch64_harness) -> None:
    """The canary: one flipped byte of the best ISA's first output must fail the run."""
    qemu, exe = aarch64_harness
    r = _run([qemu, "-cpu", "max", str(exe), "--cases", "3", "--perturb"])
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(r"MISMATCH conv2d case 0 .* on isa neon_dot: 1 of \d+ bytes differ", r.stderr), r.stderr


def test_fast_kernels_equal_reference_native(tmp_path: Path) -> None:
    """The same harness on this machine's ISAs, which must be the extension's."""
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc, "a C compiler is needed (the extension build needed one too)"
    exe = tmp_path / "fast_vs_reference"
    r = _run([cc, *FLAGS, *map(str, HARNESS + SOURCES), "-o", str(exe)])
    assert r.returncode == 0, r.stderr
    r = _run([str(exe), "--cases", str(CASES), "--seed", "303"])
    assert r.returncode == 0, r.stdout + r.stderr
    _check_summary(r.stdout, supported_isas(), CASES)
    bad = _run([str(exe), "--cases", "3", "--perturb"])
    assert bad.returncode == 1 and "MISMATCH" in bad.stderr, bad.stdout + bad.stderr


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_kernels_are_strict_c99_on_aarch64(opt: str, tmp_path: Path) -> None:
    """As tests/test_style.py on x86: every kernel file, here with its NEON code compiled in."""
    cc, _ = aarch64_tools()
    cmd = [cc, opt, "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-Wvla", "-ffreestanding"]
    r = subprocess.run(
        cmd + ["-I", str(KERNELS / "include"), "-c", *map(str, SOURCES)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
