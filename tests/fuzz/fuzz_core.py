"""Coverage-guided fuzzing of the C core (tests/fuzz/fuzz_core.c) with libFuzzer: build, seeds,
run, coverage. tests/fuzz/README.md has the commands; tests/test_core_fuzz.py runs them briefly.

    python tests/fuzz/fuzz_core.py build [--out DIR]
    python tests/fuzz/fuzz_core.py seeds [--out DIR]
    python tests/fuzz/fuzz_core.py run --target ref|fast --seconds N [--corpus DIR] [-- libFuzzer flags]
    python tests/fuzz/fuzz_core.py coverage --corpus ref=DIR --corpus fast=DIR [...]

clang 14 (Debian's clang, llvm-profdata-14, llvm-cov-14); firmware_examples/install_toolchain.sh
installs it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
KDIR = TESTS.parent / "runtime" / "kernels"
TARGETS = {"ref": [], "fast": ["-DPQ_FUZZ_FAST=1"]}
DEFAULT_BUILD = Path(tempfile.gettempdir()) / "picoq-fuzz"
DICT = HERE / "picoq.dict"
REGRESSIONS = HERE / "regressions"
MAX_LEN = 65536  # KWS (48 KB) whole; the other MLPerf models as slices (seeds.py)
COMMON = ["-std=c99", "-D_POSIX_C_SOURCE=200112L", "-DPQ_WITH_FAST_KERNELS=1", "-I", str(KDIR / "include")]
SANITIZE = ["-O1", "-g", "-fno-omit-frame-pointer", "-fno-sanitize-recover=all"]
# The validator and prepare: what the coverage figure is about (the kernels are not).
COVERED = [
    "src/core/pq_model_validate.c",
    "src/core/pq_model_graph.c",
    "src/core/pq_model_index.c",
    "src/core/pq_model_access.c",
    "src/core/pq_contracts_common.c",
    "src/core/pq_contracts_conv.c",
    "src/core/pq_contracts_elementwise.c",
    "src/core/pq_contracts_shape.c",
    "src/core/pq_interp.c",
]
# The fast ops' plan / prepare / split hooks, reported apart (their files hold the eval drivers too).
COVERED_FAST = [
    "src/fast/pq_conv2d_s8_fast_op.c",
    "src/fast/pq_depthwise_conv2d_s8_fast_op.c",
    "src/fast/pq_fully_connected_s8_fast_op.c",
    "src/fast/pq_add_s8_fast_op.c",
    "src/fast/pq_avg_pool2d_s8_fast_op.c",
    "src/fast/pq_max_pool2d_s8_fast_op.c",
    "src/fast/pq_lut_s8_fast_op.c",
    "src/fast/pq_fast_bind.c",
    "src/fast/pq_fast_split.c",
]
ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}


def tool(name: str) -> str:
    """clang, llvm-cov, llvm-profdata: the -14 names first (Debian), then the plain ones."""
    for cand in (f"{name}-14", name):
        if shutil.which(cand):
            return cand
    raise SystemExit(f"{name} is needed (firmware_examples/install_toolchain.sh installs clang 14)")


def is_decision_code(src: Path) -> bool:
    """The code whose branches the fuzzer steers by: the validator, the interpreter core, the
    fast ops' plan / prepare / split hooks. The rest are the kernels' inner loops, where
    libFuzzer's comparison tracing cost 3/4 of the run time and told it nothing."""
    rel = src.relative_to(KDIR / "src").as_posix()
    return (
        rel.startswith("core/")
        or rel.endswith("_op.c")
        or rel in ("fast/pq_fast_bind.c", "fast/pq_fast_split.c")
    )


def _compile_all(
    out: Path, flags: list[str], link: str, kernel_flags: list[str] | None = None
) -> dict[str, Path]:
    """Every kernel source compiled once (in parallel; the kernels' inner loops with
    `kernel_flags` when given), the target twice (ref, fast); each target linked with `link`.
    Returns {target: executable}."""
    out.mkdir(parents=True, exist_ok=True)
    cc = tool("clang")
    srcs = sorted((KDIR / "src").rglob("*.c"))
    lite = kernel_flags if kernel_flags is not None else flags
    jobs = [(s, out / f"{s.parent.name}_{s.stem}.o", flags if is_decision_code(s) else lite) for s in srcs]
    jobs += [(HERE / "fuzz_core.c", out / f"target_{t}.o", [*flags, *d]) for t, d in TARGETS.items()]

    def cc1(job: tuple[Path, Path, list[str]]) -> str:
        src, obj, fl = job
        r = subprocess.run([cc, *COMMON, *fl, "-c", str(src), "-o", str(obj)], capture_output=True, text=True)
        return "" if r.returncode == 0 else f"{src}:\n{r.stderr}"

    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        errors = [e for e in pool.map(cc1, jobs) if e]
    if errors:
        raise SystemExit("\n".join(errors))
    lib = [str(o) for _, o, _ in jobs[: len(srcs)]]
    exes = {}
    for t in TARGETS:
        exe = out / f"fuzz_{t}"
        r = subprocess.run(
            [cc, *flags, link, str(out / f"target_{t}.o"), *lib, "-pthread", "-o", str(exe)],
            capture_output=True,
            text=True,
        )
        if r.returncode:
            raise SystemExit(r.stderr)
        exes[t] = exe
    return exes


def build(out: Path) -> dict[str, Path]:
    """fuzz_ref and fuzz_fast with libFuzzer, ASan and UBSan; the first report aborts."""
    # fuzzer-no-link instruments the objects; the link adds libFuzzer's main.
    flags = [*SANITIZE, "-fsanitize=fuzzer-no-link,address,undefined"]
    # The kernels: the sanitizers and edge counters (a new path is still news), no comparison tracing.
    kernels = [*SANITIZE, "-fsanitize=address,undefined", "-fsanitize-coverage=inline-8bit-counters,pc-table"]
    return _compile_all(out, flags, "-fsanitize=fuzzer,address,undefined", kernels)


def build_coverage(out: Path) -> dict[str, Path]:
    """The same targets with clang's source-based coverage instead of the sanitizers."""
    flags = ["-O0", "-g", "-fprofile-instr-generate", "-fcoverage-mapping"]
    return _compile_all(out, flags, "-fsanitize=fuzzer")


def run_env() -> dict[str, str]:
    return {**os.environ, **ENV}


def fuzz_args(seconds: int, seed: int = 1) -> list[str]:
    """The flags every run uses: the dictionary, MAX_LEN, a per-input timeout (a slow input is a
    finding too), the final statistics."""
    return [
        f"-max_total_time={seconds}",
        f"-seed={seed}",
        f"-dict={DICT}",
        f"-max_len={MAX_LEN}",
        "-timeout=10",
        "-rss_limit_mb=2048",
        "-print_final_stats=1",
    ]


def executed_units(stderr: str) -> int:
    m = re.search(r"stat::number_of_executed_units:\s*(\d+)", stderr)
    return int(m.group(1)) if m else 0


def coverage(exes: dict[str, Path], corpora: dict[str, list[Path]], work: Path) -> dict[str, tuple[int, int]]:
    """Replay each target's corpora (-runs=0) through its coverage build, merge the profiles and
    return {file: (lines covered, lines)} over COVERED + COVERED_FAST, and "TOTAL" for COVERED."""
    work.mkdir(parents=True, exist_ok=True)
    raws = []
    for t, dirs in corpora.items():
        raw = work / f"{t}.profraw"
        r = subprocess.run(
            [str(exes[t]), "-runs=0", f"-max_len={MAX_LEN}", *map(str, dirs)],
            capture_output=True,
            text=True,
            env={**os.environ, "LLVM_PROFILE_FILE": str(raw)},
        )
        if r.returncode:
            raise SystemExit(f"replay of {dirs} on {t} failed:\n{r.stderr[-3000:]}")
        raws.append(raw)
    prof = work / "merged.profdata"
    subprocess.run([tool("llvm-profdata"), "merge", "-sparse", *map(str, raws), "-o", str(prof)], check=True)
    files = [str(KDIR / f) for f in COVERED + COVERED_FAST]
    objs = [str(e) for t, e in exes.items() if t in corpora]
    cmd = [
        tool("llvm-cov"),
        "report",
        "-instr-profile",
        str(prof),
        objs[0],
        *(f"-object={o}" for o in objs[1:]),
    ]
    r = subprocess.run([*cmd, *files], capture_output=True, text=True, check=True)
    result = {}
    for line in r.stdout.splitlines():
        cols = line.split()
        for f in COVERED + COVERED_FAST:
            if cols and Path(cols[0]).name == Path(f).name:  # llvm-cov drops the common prefix
                # Filename Regions Missed Cover Functions Missed Executed Lines Missed Cover ...
                lines, missed = int(cols[7]), int(cols[8])
                result[f] = (lines - missed, lines)
    covered = sum(result[f][0] for f in COVERED if f in result)
    total = sum(result[f][1] for f in COVERED if f in result)
    result["TOTAL"] = (covered, total)
    return result


def show_uncovered(exes: dict[str, Path], prof: Path, files: list[str]) -> str:
    """llvm-cov show of the lines never run (for finding what the fuzzer misses)."""
    objs = [str(e) for e in exes.values()]
    cmd = [
        tool("llvm-cov"),
        "show",
        "-instr-profile",
        str(prof),
        objs[0],
        *(f"-object={o}" for o in objs[1:]),
    ]
    out = subprocess.run(
        [*cmd, *(str(KDIR / f) for f in files)], capture_output=True, text=True, check=True
    ).stdout
    # "  NNN|  count|source": keep the file names and the lines run 0 times
    return "\n".join(ln for ln in out.splitlines() if ln.startswith("/") or re.match(r"\s*\d+\|\s*0\|", ln))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build fuzz_ref and fuzz_fast (ASan, UBSan, libFuzzer)")
    b.add_argument("--out", type=Path, default=DEFAULT_BUILD)
    s = sub.add_parser("seeds", help="write the seed corpus (repo models, MLPerf Tiny slices, handmade)")
    s.add_argument("--out", type=Path, default=DEFAULT_BUILD / "seeds")
    r = sub.add_parser("run", help="fuzz one target; extra libFuzzer flags after --")
    r.add_argument("--target", choices=list(TARGETS), required=True)
    r.add_argument("--seconds", type=int, default=60)
    r.add_argument("--build", type=Path, default=DEFAULT_BUILD)
    r.add_argument("--corpus", type=Path, help="the grown corpus (default: BUILD/corpus-TARGET, seeded)")
    r.add_argument("extra", nargs="*")
    c = sub.add_parser("coverage", help="line coverage of the validator and prepare on corpora")
    c.add_argument("--build", type=Path, default=DEFAULT_BUILD / "cov")
    c.add_argument("--corpus", action="append", default=[], help="TARGET=DIR (repeatable)")
    c.add_argument("--show-missed", action="store_true", help="print the lines never run")
    a = ap.parse_args(argv)

    if a.cmd == "build":
        for t, exe in build(a.out).items():
            print(f"{t}: {exe}")
    elif a.cmd == "seeds":
        sys.path.insert(0, str(TESTS))
        from support.fuzz_seeds import write_seeds

        print(f"{len(write_seeds(a.out, MAX_LEN))} seeds in {a.out}")
    elif a.cmd == "run":
        exe = a.build / f"fuzz_{a.target}"
        if not exe.exists():
            build(a.build)
        corpus = a.corpus or a.build / f"corpus-{a.target}"
        if not corpus.exists() or not any(corpus.iterdir()):
            sys.path.insert(0, str(TESTS))
            from support.fuzz_seeds import write_seeds

            write_seeds(corpus, MAX_LEN)
        args = [*fuzz_args(a.seconds), *a.extra, str(corpus), str(REGRESSIONS)]
        os.execve(str(exe), [str(exe), *args], run_env())
    elif a.cmd == "coverage":
        corpora: dict[str, list[Path]] = {}
        for spec in a.corpus:
            t, _, d = spec.partition("=")
            corpora.setdefault(t, []).append(Path(d))
        if not corpora:
            raise SystemExit("give --corpus ref=DIR and/or --corpus fast=DIR")
        for t in corpora:
            corpora[t].append(REGRESSIONS)
        exes = build_coverage(a.build)
        result = coverage(exes, corpora, a.build / "profile")
        for f in COVERED + COVERED_FAST + ["TOTAL"]:
            if f in result:
                hit, n = result[f]
                print(f"{f:45s} {hit:5d}/{n:5d}  {100 * hit / max(n, 1):6.2f}%")
        if a.show_missed:
            print(show_uncovered(exes, a.build / "profile" / "merged.profdata", COVERED))
    return 0


if __name__ == "__main__":
    sys.exit(main())
