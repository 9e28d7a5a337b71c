"""Latency and size benchmark: picoq vs tflite-micro vs LiteRT on the MLPerf Tiny int8 models.

What is measured
    For each model (KWS, VWW, IC, IC-large, AD), four runtimes run the same .tflite on the
    same fixed random int8 input (seeded), batch 1, single thread:

    * picoq            - the .tflite converted in memory with ``picoq.converter.convert``
    * tflite-micro     - ``tflite_micro.runtime.Interpreter`` (TFLM reference kernels)
    * LiteRT default   - ``ai_edge_litert`` Interpreter, num_threads=1 (XNNPACK / optimized kernels)
    * LiteRT reference - same, ``OpResolverType.BUILTIN_REF`` (reference kernels)

    Reported per runtime: median and p90 latency of one ``invoke`` in microseconds, and the
    ratio picoq/peer of the medians (< 1 means picoq is faster). Also picoq's arena bytes
    (TFLM's recorded arena total for comparison), the .picoq size vs the .tflite size, and
    whether picoq's output equals tflite-micro's bit for bit on that input.

How
    * Only ``invoke`` is timed, with ``time.perf_counter_ns`` around the Python call, the same
      way for every runtime (so each sample includes that binding's small Python call cost).
    * The input is written before every timed invoke, outside the timed window: the arena
      planners (picoq's and TFLM's) reuse the input's memory for later tensors, so invoking
      twice without re-setting would run on garbage.
    * Warm-up: at least 3 invokes and 0.1 s per runtime; the warm-up median sets the number
      of timed runs so each runtime gets about ``--target-seconds`` (default 1.5 s) per model,
      at least ``--min-runs`` (20) and at most ``--max-runs``; tflite-micro is capped at
      ``--tflm-max-runs``. ``--repeats N`` fixes N instead.
    * Runs are spread over ``--rounds`` interleaved rounds (runtime order rotated each round),
      so slow drift of the machine (turbo, thermals, neighbours) affects all runtimes alike.
    * The garbage collector is off while timing. OMP/BLAS/TF thread variables are set to 1
      before any numeric import; LiteRT gets num_threads=1; picoq and TFLM are single-threaded.

Usage
    python benchmarks/run.py [--models DIR] [--repeats N] [--json out.json] [--markdown out.md] [--quick]
"""

from __future__ import annotations

import os

# Single thread for every library that honours these; must happen before numpy etc. are imported.
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "BLIS_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)
for _var in THREAD_ENV_VARS:
    os.environ[_var] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import ctypes  # noqa: E402
import datetime  # noqa: E402
import gc  # noqa: E402
import importlib.metadata  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT_MODELS_DIR = REPO.parent / "shared" / "models" / "mlperf_tiny"

# (file, short name, description) in MLPerf Tiny order.
MODELS: tuple[tuple[str, str, str], ...] = (
    ("kws_ref_model.tflite", "KWS", "keyword spotting, DS-CNN"),
    ("vww_96_int8.tflite", "VWW", "visual wake words, MobileNetV1 0.25x, 96x96"),
    ("pretrainedResnet_quant.tflite", "IC", "image classification, ResNet-8, CIFAR-10"),
    ("pretrainedResnet_large_int8.tflite", "IC-large", "image classification, larger ResNet, CIFAR-10"),
    ("ad01_int8.tflite", "AD", "anomaly detection, FC autoencoder"),
)

PICOQ, TFLM, LITERT, LITERT_REF = "picoq", "tflite-micro", "LiteRT", "LiteRT-ref"
RUNTIMES: tuple[str, ...] = (PICOQ, TFLM, LITERT, LITERT_REF)
PEERS: tuple[str, ...] = (TFLM, LITERT, LITERT_REF)
LABEL = {PICOQ: "picoq", TFLM: "TFLM", LITERT: "LiteRT", LITERT_REF: "LiteRT-ref"}  # table headers
PACKAGES = ("picoq", "numpy", "tflite-micro", "ai-edge-litert", "Cython")


# *** runners ***


@dataclass
class Runner:
    """One runtime loaded with one model: the three calls the timing loop needs."""

    name: str
    set_input: Callable[[], object]
    invoke: Callable[[], object]
    get_output: Callable[[], np.ndarray]
    extra: dict[str, Any] = field(default_factory=dict)


def make_picoq(picoq_bytes: bytes, x: np.ndarray) -> Runner:
    from picoq.runtime import Interpreter

    it = Interpreter(picoq_bytes)
    return Runner(
        PICOQ,
        set_input=lambda: it.set_input(0, x),
        invoke=it.invoke,
        get_output=lambda: it.get_output(0),
        extra={"arena_bytes": it.arena_size, "picoq_bytes": it.model.file_size},
    )


def make_tflm(path: Path, x: np.ndarray) -> Runner:
    from tflite_micro import runtime as tflm

    r = tflm.Interpreter.from_file(str(path))
    return Runner(
        TFLM,
        set_input=lambda: r.set_input(x, 0),
        invoke=r.invoke,
        get_output=lambda: np.array(r.get_output(0), copy=True),
        extra={"print_allocations": r.print_allocations},
    )


def make_litert(path: Path, x: np.ndarray, reference: bool) -> Runner:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kwargs: dict[str, Any] = {"model_path": str(path), "num_threads": 1}
    if reference:
        kwargs["experimental_op_resolver_type"] = OpResolverType.BUILTIN_REF
    it = Interpreter(**kwargs)
    it.allocate_tensors()
    in_index = it.get_input_details()[0]["index"]
    out_index = it.get_output_details()[0]["index"]
    return Runner(
        LITERT_REF if reference else LITERT,
        set_input=lambda: it.set_tensor(in_index, x),
        invoke=it.invoke,
        get_output=lambda: np.array(it.get_tensor(out_index), copy=True),
    )


# *** timing ***


@dataclass
class Timing:
    runs: int
    median_us: float
    p90_us: float
    min_us: float
    mean_us: float
    warmup_runs: int


def time_one(r: Runner) -> int:
    """Write the input (untimed), then time one invoke; nanoseconds."""
    r.set_input()
    invoke = r.invoke
    t0 = time.perf_counter_ns()
    invoke()
    t1 = time.perf_counter_ns()
    return t1 - t0


def warm_up(r: Runner, min_runs: int, min_seconds: float) -> list[int]:
    samples: list[int] = []
    start = time.perf_counter()
    while len(samples) < min_runs or time.perf_counter() - start < min_seconds:
        samples.append(time_one(r))
        if len(samples) >= 10_000:
            break
    return samples


def plan_runs(warm: Sequence[int], args: argparse.Namespace, name: str) -> int:
    if args.repeats is not None:
        n = args.repeats
    else:
        est_ns = float(np.median(warm[len(warm) // 2 :]))  # later warm-up runs: past first-call costs
        n = math.ceil(args.target_seconds * 1e9 / max(est_ns, 1.0))
        n = min(max(n, args.min_runs), args.max_runs)
    if name == TFLM:
        n = min(n, args.tflm_max_runs)
    return max(n, 1)


def measure(runners: list[Runner], args: argparse.Namespace) -> dict[str, Timing]:
    """Warm up every runner, then time them in interleaved rounds; one Timing per runner."""
    warm = {r.name: warm_up(r, args.warmup_runs, args.warmup_seconds) for r in runners}
    planned = {r.name: plan_runs(warm[r.name], args, r.name) for r in runners}
    samples: dict[str, list[int]] = {r.name: [] for r in runners}
    rounds = max(1, min(args.rounds, min(planned.values())))
    gc.collect()
    gc.disable()
    try:
        for k in range(rounds):
            order = runners[k % len(runners) :] + runners[: k % len(runners)]
            for r in order:
                n_total = planned[r.name]
                n_here = n_total * (k + 1) // rounds - n_total * k // rounds
                s = samples[r.name]
                for _ in range(n_here):
                    s.append(time_one(r))
    finally:
        gc.enable()
    out = {}
    for r in runners:
        us = np.asarray(samples[r.name], dtype=np.float64) / 1e3
        out[r.name] = Timing(
            runs=int(us.size),
            median_us=float(np.median(us)),
            p90_us=float(np.percentile(us, 90)),
            min_us=float(us.min()),
            mean_us=float(us.mean()),
            warmup_runs=len(warm[r.name]),
        )
    return out


# *** per model ***


def capture_fd2(fn: Callable[[], object]) -> str:
    """Run fn with file descriptor 2 redirected; TFLM prints its allocations from C++ there."""
    libc = ctypes.CDLL(None)
    sys.stderr.flush()
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        try:
            os.dup2(tmp.fileno(), 2)
            fn()
            libc.fflush(None)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        return tmp.read().decode("utf-8", errors="replace")


def tflm_arena_total(r: Runner) -> int | None:
    try:
        text = capture_fd2(r.extra["print_allocations"])
    except Exception:  # informational only
        return None
    m = re.search(r"Arena allocation total (\d+) bytes", text)
    return int(m.group(1)) if m else None


def bench_model(path: Path, short: str, desc: str, args: argparse.Namespace) -> dict[str, Any]:
    from picoq.converter import convert

    t0 = time.perf_counter()
    picoq_bytes = convert(path)
    convert_ms = (time.perf_counter() - t0) * 1e3

    # Build picoq first: its input details give shape and dtype for everyone.
    from picoq.runtime import Interpreter

    d = Interpreter(picoq_bytes).input_details[0]
    if np.dtype(d["dtype"]) != np.int8:
        raise RuntimeError(f"{path.name}: input dtype {d['dtype']}, this benchmark feeds int8")
    rng = np.random.default_rng(args.seed)
    x = rng.integers(-128, 128, size=d["shape"], dtype=np.int8)

    runners: list[Runner] = []
    errors: dict[str, str] = {}
    makers: dict[str, Callable[[], Runner]] = {
        PICOQ: lambda: make_picoq(picoq_bytes, x),
        TFLM: lambda: make_tflm(path, x),
        LITERT: lambda: make_litert(path, x, reference=False),
        LITERT_REF: lambda: make_litert(path, x, reference=True),
    }
    for name, make in makers.items():
        try:
            r = make()
            r.set_input()
            r.invoke()  # fails early here rather than inside the timing loop
            runners.append(r)
        except Exception as e:  # report and carry on with the other runtimes
            errors[name] = f"{type(e).__name__}: {e}"
            print(f"  {name}: failed: {errors[name]}", file=sys.stderr)

    timings = measure(runners, args)

    # Outputs after timing, each runtime's own input freshly written.
    outputs: dict[str, np.ndarray] = {}
    for r in runners:
        r.set_input()
        r.invoke()
        outputs[r.name] = r.get_output()
    by_name = {r.name: r for r in runners}

    bit_exact: bool | None = None
    if PICOQ in outputs and TFLM in outputs:
        a, b = outputs[PICOQ], outputs[TFLM]
        bit_exact = a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))
    max_diff_vs_tflm: dict[str, int | None] = {}
    if TFLM in outputs:
        ref = outputs[TFLM].astype(np.int32)
        for name, y in outputs.items():
            if name != TFLM:
                ok = y.shape == ref.shape
                max_diff_vs_tflm[name] = int(np.abs(y.astype(np.int32) - ref).max()) if ok else None

    ratios: dict[str, float | None] = {}
    for peer in PEERS:
        if PICOQ in timings and peer in timings:
            ratios[peer] = timings[PICOQ].median_us / timings[peer].median_us
        else:
            ratios[peer] = None

    picoq_extra = by_name[PICOQ].extra if PICOQ in by_name else {}
    tflite_bytes = path.stat().st_size
    return {
        "model": short,
        "file": path.name,
        "description": desc,
        "input_shape": [int(s) for s in d["shape"]],
        "timings": {name: asdict(t) for name, t in timings.items()},
        "ratio_picoq_over": ratios,
        "bit_exact_vs_tflm": bit_exact,
        "max_abs_diff_vs_tflm": max_diff_vs_tflm,
        "picoq_arena_bytes": picoq_extra.get("arena_bytes"),
        "tflm_arena_bytes": tflm_arena_total(by_name[TFLM]) if TFLM in by_name else None,
        "picoq_file_bytes": len(picoq_bytes),
        "tflite_file_bytes": tflite_bytes,
        "picoq_convert_ms": convert_ms,
        "errors": errors,
    }


# *** machine ***


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    for key in ("model name", "Hardware", "Processor", "cpu model"):
        for line in text.splitlines():
            if line.split(":")[0].strip() == key:
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    """The SIMD extensions relevant to optimized int8 kernels that the CPU reports."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            have = set(line.split(":", 1)[1].split())
            wanted = ("sse4_1", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni")
            wanted += ("neon", "asimd", "asimddp", "i8mm", "sve")
            return [f for f in wanted if f in have]
    return []


def git_revision() -> str | None:
    try:
        rev = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return rev + ("-dirty" if dirty else "")


def machine_info() -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": cpu_model(),
        "cpu_simd_flags": cpu_flags(),
        "logical_cores": os.cpu_count(),
        "cores_usable": affinity,
        "machine": platform.machine(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "python_impl": platform.python_implementation(),
        "packages": versions,
        "picoq_git": git_revision(),
        "picoq_native_build_env": os.environ.get("PICOQ_NATIVE"),
        "thread_env": {v: os.environ[v] for v in THREAD_ENV_VARS},
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


# *** output ***


def fmt_us(v: float | None) -> str:
    if v is None:
        return "n/a"
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def fmt_int(v: int | None) -> str:
    return "n/a" if v is None else f"{v:,}"


def fmt_ratio(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def latency_table(results: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    header = ["Model"]
    for name in RUNTIMES:
        header += [f"{LABEL[name]} med", f"{LABEL[name]} p90"]
    header += [f"picoq/{LABEL[p]}" for p in PEERS]
    rows = []
    for res in results:
        row = [res["model"]]
        for name in RUNTIMES:
            t = res["timings"].get(name)
            row += [fmt_us(t and t["median_us"]), fmt_us(t and t["p90_us"])]
        row += [fmt_ratio(res["ratio_picoq_over"][p]) for p in PEERS]
        rows.append(row)
    return header, rows


def size_table(results: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    header = [
        "Model",
        "picoq arena B",
        "TFLM arena B",
        ".picoq B",
        ".tflite B",
        ".picoq/.tflite",
        "runs (picoq/TFLM/LiteRT/ref)",
        "bit-exact vs TFLM",
    ]
    rows = []
    for res in results:
        exact = res["bit_exact_vs_tflm"]
        runs = "/".join(str(res["timings"][n]["runs"]) if n in res["timings"] else "-" for n in RUNTIMES)
        rows.append(
            [
                res["model"],
                fmt_int(res["picoq_arena_bytes"]),
                fmt_int(res["tflm_arena_bytes"]),
                fmt_int(res["picoq_file_bytes"]),
                fmt_int(res["tflite_file_bytes"]),
                fmt_ratio(res["picoq_file_bytes"] / res["tflite_file_bytes"]),
                runs,
                "n/a" if exact is None else ("yes" if exact else "no"),
            ]
        )
    return header, rows


def render_text(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = [
        "  ".join(
            h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    ]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append(
            "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        )
    return "\n".join(lines)


def render_markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def machine_lines(report: dict[str, Any]) -> list[str]:
    m = report["machine"]
    s = report["settings"]
    pk = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    mode = "QUICK (indicative only)" if s["quick"] else "full"
    if s["repeats"] is not None:
        runs = f"{s['repeats']} timed runs per runtime"
    else:
        runs = f"~{s['target_seconds']} s per runtime per model, {s['min_runs']}..{s['max_runs']} runs"
    return [
        f"CPU: {m['cpu']} ({m['logical_cores']} logical cores, {m['cores_usable']} usable; "
        f"SIMD: {' '.join(m['cpu_simd_flags']) or 'n/a'})",
        f"OS: {m['os']}; Python {m['python']} ({m['python_impl']})",
        f"Packages: {pk}; picoq git {m['picoq_git']}",
        f"Mode: {mode}; {runs} (tflite-micro at most {s['tflm_max_runs']}), "
        f"{s['rounds']} interleaved rounds, seed {s['seed']}; single thread, batch 1; {m['date_utc']}",
    ]


NOTES = (
    "Latency of one invoke (input written before each run, outside the timed window), "
    "median and p90 over the timed runs. picoq/peer is the ratio of medians: < 1 means picoq is faster. "
    "LiteRT = default kernels (XNNPACK), LiteRT-ref = BUILTIN_REF reference kernels; both num_threads=1. "
    "Arena bytes: picoq's planned arena; TFLM's recorded arena total (head + tail, 64-bit host). "
    "Bit-exact: picoq's int8 output equals tflite-micro's on the same input."
)


def to_markdown(report: dict[str, Any]) -> str:
    results = report["results"]
    parts = ["# picoq benchmark: MLPerf Tiny int8 models", ""]
    parts += [f"- {line}" for line in machine_lines(report)]
    parts += ["", f"Command: `{report['command']}`", "", "## Latency (µs)", ""]
    parts += [render_markdown(*latency_table(results)), "", "## Memory, size, exactness", ""]
    parts += [render_markdown(*size_table(results)), "", NOTES, ""]
    if report["skipped"]:
        parts += ["Skipped: " + "; ".join(report["skipped"]), ""]
    return "\n".join(parts)


def to_text(report: dict[str, Any]) -> str:
    results = report["results"]
    parts = machine_lines(report) + ["", "Latency (µs):", render_text(*latency_table(results)), ""]
    parts += ["Memory, size, exactness:", render_text(*size_table(results)), "", NOTES]
    return "\n".join(parts)


# *** main ***


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument("--models", type=Path, default=DEFAULT_MODELS_DIR, help=f"default: {DEFAULT_MODELS_DIR}")
    p.add_argument("--repeats", type=int, default=None, help="timed runs per runtime (default: time-based)")
    p.add_argument("--json", type=Path, default=None, help="write the full results as JSON here")
    p.add_argument("--markdown", type=Path, default=None, help="write the tables as markdown here")
    p.add_argument("--quick", action="store_true", help="short smoke run (~0.1 s per runtime, >= 5 runs)")
    p.add_argument("--only", nargs="+", default=None, metavar="NAME", help="model short names, e.g. KWS AD")
    p.add_argument("--target-seconds", type=float, default=1.5, help="timed seconds per runtime per model")
    p.add_argument("--min-runs", type=int, default=20)
    p.add_argument("--max-runs", type=int, default=10_000)
    p.add_argument("--tflm-max-runs", type=int, default=2000, help="cap on tflite-micro's timed runs")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds over the runtimes")
    p.add_argument("--seed", type=int, default=0, help="seed of the random int8 input")
    p.add_argument("--cpu", type=int, default=None, help="pin the process to this CPU core (Linux)")
    args = p.parse_args(argv)
    args.warmup_runs, args.warmup_seconds = 3, 0.1
    if args.quick:
        args.target_seconds, args.min_runs, args.rounds = 0.1, 5, 1
        args.warmup_runs, args.warmup_seconds = 2, 0.02
    if args.repeats is not None and args.repeats < 1:
        p.error("--repeats must be >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    models_dir = args.models.resolve()
    report: dict[str, Any] = {
        "command": " ".join(["python", *sys.argv]) if argv is None else " ".join(argv),
        "settings": {
            "models_dir": str(models_dir),
            "quick": args.quick,
            "repeats": args.repeats,
            "target_seconds": args.target_seconds,
            "min_runs": args.min_runs,
            "max_runs": args.max_runs,
            "tflm_max_runs": args.tflm_max_runs,
            "rounds": args.rounds,
            "seed": args.seed,
            "cpu_pinned": args.cpu,
            "threads": 1,
            "batch": 1,
        },
        "machine": machine_info(),
        "results": [],
        "skipped": [],
    }
    if not models_dir.is_dir():
        print(f"models folder {models_dir} not found: skipping the benchmark (use --models DIR)")
        return 0

    for fname, short, desc in MODELS:
        if args.only and short.lower() not in {s.lower() for s in args.only}:
            continue
        path = models_dir / fname
        if not path.is_file():
            print(f"{short}: {path} not found, skipped")
            report["skipped"].append(f"{short} ({fname} not found)")
            continue
        print(f"{short}: {fname} ...", flush=True)
        res = bench_model(path, short, desc, args)
        t = res["timings"]
        summary = ", ".join(f"{n} {fmt_us(t[n]['median_us'])} µs" for n in RUNTIMES if n in t)
        exact = res["bit_exact_vs_tflm"]
        print(f"  {summary}; bit-exact: {'n/a' if exact is None else ('yes' if exact else 'no')}", flush=True)
        report["results"].append(res)

    print()
    print(to_text(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(to_markdown(report))
        print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
