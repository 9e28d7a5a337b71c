"""The Cortex-M DSP-extension kernels (src/arch/cortexm) give the reference kernels' bytes.

tests/c/dsp_vs_reference.c is bare-metal firmware for QEMU's mps2-an386 (Cortex-M4): for each
of CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, MAX_POOL_2D and AVERAGE_POOL_2D (and the
int4-weight CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED: conv2d_s4, depthwise_s4, fc_s4; and the
16x8 CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, MAX_POOL_2D and AVERAGE_POOL_2D: conv2d_s16,
..., avgpool_s16, int16 activations) it
draws 1000 random cases (seeded per case) over the validator's parameter ranges and the DSP kernels'
preconditions (pq_kernels_dsp.h), runs the reference kernel and the DSP kernel on the same
operands, and compares the outputs byte for byte. Every operand sits between MPU guard regions
(a load or store just past a buffer, or just before it, faults) and canary bytes; operands must
not change. It also checks the documented refusals (PQ_ERR_PARAM, output untouched), the
pooling edges (windows with no tap inside, which the validator refuses; the DSP average's int16
lane limit at 256 taps of -128, and windows of several passes) and runs 200,000 values through
the DSP requantization and the reference one (rounding ties common).

It is built with firmware_examples/cortex-m's toolchain settings (tests/c/dsp_vs_reference.mk)
at -Os (what the firmware examples ship), -O2 and -O0 (the DSP kernels' inline assembly is
compiled only when optimizing, the intrinsics otherwise), each with its own seed, and the three
run side by side. Self-test runs make the first case fail on purpose (one flipped output byte,
a load one past the input or one before it, a store one past the output): each must be caught.
A Cortex-M3 build (no DSP extension: the _dsp files compile to nothing) runs the portable
kernels through the same harness on QEMU's mps2-an385.

The toolchain is not optional (CI installs it: firmware_examples/install_toolchain.sh), as in
tests/test_export_c.py. Nothing is timed: QEMU timings mean nothing.
"""

from __future__ import annotations

import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from support.firmware import run, tool

ROOT = Path(__file__).resolve().parents[1]
MAKEFILE = ROOT / "tests" / "c" / "dsp_vs_reference.mk"
KERNELS = ROOT / "runtime" / "kernels"
OPS = ("conv2d", "depthwise", "fc", "add", "maxpool", "avgpool")
# dsp4: the int4-weight kernels (packed filters read in place), against pq_*_s4
OPS += ("conv2d_s4", "depthwise_s4", "fc_s4")
# dsp16: the 16x8 kernels (int16 activations), against pq_*_s16
OPS += ("conv2d_s16", "depthwise_s16", "fc_s16", "add_s16")
# dsppool16: the 16x8 pools, against pq_max_pool2d_s16 / pq_avg_pool2d_s16
OPS += ("maxpool_s16", "avgpool_s16")
# 1 + 4 shapes x 3 fills x 2 clamps + 2 wrapping sums x 2 fills x 2 clamps, through both pools
POOL_EDGES_S16 = 66
POOL_EDGES = 44  # 1 + 7 shapes x 3 fills, each through MAX_POOL_2D and AVERAGE_POOL_2D
CASES = 1000
REQUANT = 200_000  # the requantization alone, ties of both signs common
SEEDS = {"-Os": 1, "-O2": 2, "-O0": 3}  # another 1000 cases per op at each level
M3 = {"ARCH": "-mcpu=cortex-m3 -mthumb -mfloat-abi=soft", "MACHINE": "mps2-an385"}
TIMEOUT = 240


def _make(build: Path, *args: str, **variables: str) -> subprocess.CompletedProcess:
    """make -f dsp_vs_reference.mk with BUILD=build and the given variables; never raises on a
    failing run (the callers look at its output)."""
    cmd = [tool("make"), "-s", "-f", str(MAKEFILE), f"BUILD={build}"]
    cmd += [f"{k}={v}" for k, v in variables.items()]
    return run([*cmd, *args], timeout=TIMEOUT, check=False)


def _build(build: Path, **variables: str) -> None:
    tool("arm-none-eabi-gcc")
    r = _make(build, "all", **variables)
    assert r.returncode == 0, r.stdout + r.stderr


def _run(build: Path, args: str, **variables: str) -> subprocess.CompletedProcess:
    tool("qemu-system-arm")
    return _make(build, "run", ARGS=args, **variables)


def _assert_all_equal(r: subprocess.CompletedProcess, cases: int, dsp: bool = True) -> None:
    out = r.stdout
    assert r.returncode == 0, out + r.stderr
    assert out.startswith(
        "dsp_vs_reference: DSP kernels (PQ_DSP 1)" if dsp else "dsp_vs_reference: no DSP"
    ), out
    if dsp:
        assert re.search(r"^refusals: 10 of 10 as documented$", out, re.M), out  # 3 of them dsp16's
        assert re.search(r"^refusals s4: 7 of 7 as documented$", out, re.M), out  # dsp4
        assert re.search(rf"^pool edges: {POOL_EDGES} of {POOL_EDGES} as the reference$", out, re.M), out
        edges16 = POOL_EDGES_S16  # dsppool16
        assert re.search(rf"^pool edges s16: {edges16} of {edges16} as the reference$", out, re.M), out
        assert re.search(rf"^requant: {REQUANT} values, 0 mismatches$", out, re.M), out
        assert re.search(rf"^requant16: {REQUANT} values, 0 mismatches$", out, re.M), out
    for op in OPS:
        assert re.search(rf"^{op}: {cases} cases, 0 mismatches, 0 guard errors$", out, re.M), out
    assert out.rstrip().endswith("OK: every output byte-identical to the reference, every guard intact"), out


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict[str, Path]:
    """The harness at each optimization level, built side by side."""
    root = tmp_path_factory.mktemp("dsp_vs_reference")
    dirs = {opt: root / opt.lstrip("-") for opt in SEEDS}
    with ThreadPoolExecutor(len(dirs)) as pool:
        list(pool.map(lambda opt: _build(dirs[opt], OPT=opt), dirs))
    return dirs


@pytest.fixture(scope="module")
def full_runs(builds) -> dict[str, subprocess.CompletedProcess]:
    """1000 cases per op at each level, the QEMU runs side by side."""
    with ThreadPoolExecutor(len(builds)) as pool:
        futures = {
            opt: pool.submit(_run, build, f"--cases {CASES} --requant {REQUANT} --seed {SEEDS[opt]}", OPT=opt)
            for opt, build in builds.items()
        }
        return {opt: f.result() for opt, f in futures.items()}


@pytest.mark.parametrize("opt", list(SEEDS))
def test_dsp_kernels_equal_reference(full_runs, opt: str) -> None:
    _assert_all_equal(full_runs[opt], CASES)


@pytest.mark.parametrize(
    "selftest,op,expect",
    [
        ("flip", "conv2d", r"^MISMATCH conv2d status: dsp 0 reference 0; 1 of \d+ bytes differ"),
        ("flip", "add", r"^MISMATCH add status: dsp 0 reference 0; 1 of \d+ bytes differ"),
        ("flip", "avgpool", r"^MISMATCH avgpool status: dsp 0 reference 0; 1 of \d+ bytes differ"),
        (
            "overread",
            "fc",
            r"^FAULT in the dsp kernel: .* data address 0x\w+ \(a guard: byte (\d+) of input \[\1 bytes\]",
        ),
        ("underread", "depthwise", r"^FAULT in the dsp kernel: .* \(a guard: .*byte -1 of input \["),
        ("underread", "maxpool", r"^FAULT in the dsp kernel: .* \(a guard: .*byte -1 of input \["),
        ("overwrite", "conv2d", r"^GUARD ERROR conv2d: a byte around output changed, at offset (\d+)"),
        # dsp4: the s4 slots report and rerun under their own names
        ("flip", "conv2d_s4", r"^MISMATCH conv2d_s4 status: dsp 0 reference 0; 1 of \d+ bytes differ"),
        (
            "overread",
            "fc_s4",
            r"^FAULT in the dsp kernel: .* data address 0x\w+ \(a guard: byte (\d+) of input \[\1 bytes\]",
        ),
        ("underread", "depthwise_s4", r"^FAULT in the dsp kernel: .* \(a guard: .*byte -1 of input \["),
        # dsp16: the 16x8 slots
        ("flip", "conv2d_s16", r"^MISMATCH conv2d_s16 status: dsp 0 reference 0; 1 of \d+ bytes differ"),
        ("overwrite", "add_s16", r"^GUARD ERROR add_s16: a byte around output changed, at offset (\d+)"),
        ("underread", "depthwise_s16", r"^FAULT in the dsp kernel: .* \(a guard: .*byte -1 of input \["),
        (
            "overread",
            "fc_s16",
            r"^FAULT in the dsp kernel: .* data address 0x\w+ \(a guard: byte (\d+) of input \[\1 bytes\]",
        ),
        # dsppool16: the 16x8 pool slots
        ("flip", "avgpool_s16", r"^MISMATCH avgpool_s16 status: dsp 0 reference 0; 1 of \d+ bytes differ"),
        ("underread", "maxpool_s16", r"^FAULT in the dsp kernel: .* \(a guard: .*byte -1 of input \["),
    ],
)
def test_harness_catches_wrong_bytes_and_stray_accesses(builds, selftest: str, op: str, expect: str) -> None:
    """The canaries of the harness itself: each planted fault fails the run and is described."""
    r = _run(builds["-Os"], f"--cases 1 --op {op} --selftest {selftest}", OPT="-Os")
    assert r.returncode != 0, r.stdout
    assert re.search(expect, r.stdout, re.M), r.stdout
    assert re.search(rf"^  {op} case 0 \(rerun: --seed 1 --case {op}:0\)$", r.stdout, re.M), r.stdout


def test_failing_case_reruns_alone_with_the_same_parameters(builds) -> None:
    """--case OP:I draws exactly case I of the full run: a reported case can be rerun and shrunk."""
    full = _run(builds["-Os"], "--cases 6 --op fc --selftest flip:4", OPT="-Os")
    one = _run(builds["-Os"], "--case fc:4 --selftest flip:4", OPT="-Os")
    assert full.returncode != 0 and one.returncode != 0
    report = [line for line in full.stdout.splitlines() if line.startswith("  ")]
    assert report and report == [line for line in one.stdout.splitlines() if line.startswith("  ")], (
        full.stdout + one.stdout
    )


def test_cortex_m3_builds_the_portable_path(tmp_path: Path) -> None:
    """Without the DSP extension the _dsp files are empty, and the harness runs the portable
    kernels (against themselves, guards and canaries included) on a Cortex-M3."""
    build = tmp_path / "m3"
    _build(build, OPT="-Os", **M3)
    objs = sorted((build / "obj").glob("pq_*dsp*.o"))
    size = run([tool("arm-none-eabi-size"), *map(str, objs)]).stdout.splitlines()[1:]
    # one object per source of src/arch/cortexm (helpers add files there in parallel)
    sources = list((KERNELS / "src" / "arch" / "cortexm").glob("pq_*dsp*.c"))
    assert len(objs) == len(sources) >= 11 and all(line.split()[:4] == ["0"] * 4 for line in size), size
    r = _run(build, "--cases 100 --seed 4", OPT="-Os", **M3)
    _assert_all_equal(r, 100, dsp=False)
    assert all(key not in r.stdout for key in ("refusals:", "pool edges:", "requant:", "requant16:")), (
        r.stdout
    )


@pytest.mark.parametrize(
    "target",
    [
        "thumbv7em-none-eabi -mcpu=cortex-m4",
        "thumbv7em-none-eabi -mcpu=cortex-m7",
        "thumbv8m.main-none-eabi -mcpu=cortex-m33",
        "thumbv8.1m.main-none-eabi -mcpu=cortex-m55",
    ],
)
def test_dsp_kernels_compile_with_clang(target: str, tmp_path: Path) -> None:
    """clang (and so Arm Compiler 6) cannot give an asm statement the 14 registers the gcc
    loops use: on clang the kernels take their intrinsics path (PQ_DSP_ASM is 0), which must
    compile warning-free for every DSP core and emit packed multiply-accumulates."""
    newlib = Path("/usr/lib/arm-none-eabi/include")  # libnewlib-arm-none-eabi's <string.h>
    triple, cpu = target.split()
    for src in sorted((KERNELS / "src" / "arch" / "cortexm").glob("*_dsp*.c")):
        obj = tmp_path / (src.stem + ".o")
        flags = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-Os", "-mthumb", "-mfloat-abi=soft"]
        cmd = [tool("clang"), f"--target={triple}", cpu, *flags, "-isystem", str(newlib)]
        run([*cmd, f"-I{KERNELS / 'include'}", "-c", str(src), "-o", str(obj)])
        if src.stem in ("pq_dsp_gemm_s8", "pq_dsp_gemm_s4"):
            disasm = run([tool("arm-none-eabi-objdump"), "-d", str(obj)]).stdout
            assert "smlad" in disasm, disasm[:2000]
