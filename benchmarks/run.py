"""Latency and size benchmark: picoq vs tflite-micro vs LiteRT on the MLPerf Tiny int8 models,
and picoq vs onnxruntime QDQ int8 on the repo-built float ONNX models.

What is measured
    For each model (KWS, VWW, IC, IC-large, AD), four runtimes run the same .tflite on the
    same fixed random int8 input (seeded), batch 1, single thread (``--threads N``: see below):

    * picoq            - the .tflite converted in memory with ``picoq.converter.convert``
    * tflite-micro     - ``tflite_micro.runtime.Interpreter`` (TFLM reference kernels)
    * LiteRT default   - ``ai_edge_litert`` Interpreter, num_threads=1 (XNNPACK / optimized kernels)
    * LiteRT reference - same, ``OpResolverType.BUILTIN_REF`` (reference kernels)

    Reported per runtime: median and p90 latency of one ``invoke`` in microseconds, and the
    ratio picoq/peer of the medians (< 1 means picoq is faster). Also picoq's arena bytes,
    activations plus the fast kernels' scratch (TFLM's recorded arena total for comparison), the .picoq size vs the .tflite size, and
    whether picoq's output equals tflite-micro's bit for bit on that input.

    Second section (``--float-models``, on by default; ``--no-float-models`` skips it): the
    float ONNX models that tests/make_onnx_models.py builds with the MLPerf Tiny architectures
    (DS-CNN, MobileNetV1 0.25x, ResNet-8, FC autoencoder; ``--float-layout nchw|nhwc``) are
    calibrated on ``--calib-samples`` (100) random normal inputs (seeded) and quantized twice:

    * picoq            - ``picoq.converter.convert`` (minmax, per-channel)
    * ORT QDQ          - ``onnxruntime.quantization.quantize_static`` (QDQ, per-channel, QInt8
                         activations and weights) after ``quant_pre_process``
    * ORT float        - the float model itself, for reference

    The ORT sessions get 1 intra-op and 1 inter-op thread, ORT_ENABLE_ALL, sequential
    execution. ORT's timed call is ``InferenceSession.run`` on the float input (the QDQ
    model quantizes it itself); picoq gets that input quantized with its input scale, outside
    the timing. Also reported: the SQNR of each int8 output against ORT float on that input.

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
    * ``--threads N`` (default 1): picoq runs with ``num_threads=N``, LiteRT with num_threads=N
      and the ORT sessions with N intra-op threads; tflite-micro has no threads. With N > 1 picoq
      is also timed at one thread in the same interleaved rounds ("picoq 1t"), and the tables
      give the speedup picoq 1t / picoq Nt. The headers and the settings line say N.

Usage
    python benchmarks/run.py [--models DIR] [--repeats N] [--json out.json] [--markdown out.md] [--quick]
                             [--no-float-models] [--no-tflite] [--float-layout nhwc] [--threads N]
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
# picoq at one thread beside picoq at --threads N > 1, timed in the same rounds for the speedup.
PICOQ_1T = "picoq-1t"
RUNTIMES: tuple[str, ...] = (PICOQ, TFLM, LITERT, LITERT_REF)
PEERS: tuple[str, ...] = (TFLM, LITERT, LITERT_REF)
# Table headers; set_thread_labels() adds the thread count when --threads N > 1.
LABEL = {PICOQ: "picoq", TFLM: "TFLM", LITERT: "LiteRT", LITERT_REF: "LiteRT-ref", PICOQ_1T: "picoq 1t"}
PACKAGES = ("picoq", "numpy", "tflite-micro", "ai-edge-litert", "onnx", "onnxruntime", "Cython")


# *** runners ***


@dataclass
class Runner:
    """One runtime loaded with one model: the three calls the timing loop needs."""

    name: str
    set_input: Callable[[], object]
    invoke: Callable[[], object]
    get_output: Callable[[], np.ndarray]
    extra: dict[str, Any] = field(default_factory=dict)


def make_picoq(picoq_bytes: bytes, x: np.ndarray, threads: int = 1, name: str = PICOQ) -> Runner:
    from picoq.runtime import Interpreter

    it = Interpreter(picoq_bytes, num_threads=threads)
    return Runner(
        name,
        set_input=lambda: it.set_input(0, x),
        invoke=it.invoke,
        get_output=lambda: it.get_output(0),
        # All the RAM picoq works in: the arena (activations and, from format 1.1, the fast
        # kernels' scratch) plus any scratch it still allocates outside (0 for 1.1 files).
        extra={
            "arena_bytes": it.arena_size + it.scratch_bytes,
            "activation_bytes": it.model.activation_bytes,
            "picoq_bytes": it.model.file_size,
        },
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


def make_litert(path: Path, x: np.ndarray, reference: bool, threads: int = 1) -> Runner:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kwargs: dict[str, Any] = {"model_path": str(path), "num_threads": threads}
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


def ort_session(model: str | Path | bytes, threads: int = 1):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    model_arg = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(model_arg, sess_options=so, providers=["CPUExecutionProvider"])


def make_ort(name: str, model: str | Path | bytes, x: np.ndarray, threads: int = 1) -> Runner:
    """onnxruntime: the feed dict is built once; ``run`` (which returns a fresh output array) is timed."""
    import functools

    sess = ort_session(model, threads)
    feeds = {sess.get_inputs()[0].name: x}
    out_names = [sess.get_outputs()[0].name]
    return Runner(
        name,
        set_input=lambda: None,  # ORT reads the feed dict on every run
        invoke=functools.partial(sess.run, out_names, feeds),
        get_output=lambda: np.array(sess.run(out_names, feeds)[0], copy=True),
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


def _cpu_ticks() -> tuple[int, int, int] | None:
    """(busy ticks of all CPUs, all ticks, this process's ticks, threads included); Linux only."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return None
    t = os.times()
    own = round((t.user + t.system) * os.sysconf("SC_CLK_TCK"))
    return sum(fields) - fields[3] - fields[4], sum(fields), own  # minus idle and iowait


def measure_with_load(
    runners: list[Runner], args: argparse.Namespace
) -> tuple[dict[str, Timing], float | None]:
    """measure(), and the share of all CPUs that other processes used meanwhile (None if unknown):
    on a shared machine a second thread may find no free core, which decides multi-thread numbers."""
    a = _cpu_ticks()
    timings = measure(runners, args)
    b = _cpu_ticks()
    if a is None or b is None or b[1] == a[1]:
        return timings, None
    return timings, max(0.0, ((b[0] - a[0]) - (b[2] - a[2])) / (b[1] - a[1]))


def thread_speedup(timings: dict[str, Timing]) -> float | None:
    """picoq's median at one thread over its median at --threads N (None when N == 1)."""
    if PICOQ in timings and PICOQ_1T in timings:
        return timings[PICOQ_1T].median_us / timings[PICOQ].median_us
    return None


def timed_runtimes(results: list[dict[str, Any]], names: Sequence[str]) -> list[str]:
    """`names` with picoq-1t after picoq when some result timed it (--threads N > 1)."""
    out = list(names)
    if any(PICOQ_1T in r["timings"] for r in results):
        out.insert(out.index(PICOQ) + 1, PICOQ_1T)
    return out


def set_thread_labels(threads: int) -> None:
    """Headers say the thread count of the runtimes that use --threads."""
    if threads > 1:
        for name in (PICOQ, LITERT, LITERT_REF, ORT_QDQ, ORT_FLOAT):
            LABEL[name] = f"{LABEL[name]} {threads}t"


def threads_line(threads: int) -> str:
    if threads == 1:
        return "single thread"
    return (
        f"{threads} threads (picoq num_threads={threads}, LiteRT num_threads={threads}, ORT intra-op "
        f"{threads}; tflite-micro single-threaded; picoq 1t = picoq at one thread, same rounds)"
    )


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
    n = args.threads
    makers: dict[str, Callable[[], Runner]] = {
        PICOQ: lambda: make_picoq(picoq_bytes, x, n),
        TFLM: lambda: make_tflm(path, x),
        LITERT: lambda: make_litert(path, x, reference=False, threads=n),
        LITERT_REF: lambda: make_litert(path, x, reference=True, threads=n),
    }
    if n > 1:
        makers[PICOQ_1T] = lambda: make_picoq(picoq_bytes, x, 1, PICOQ_1T)
    for name, make in makers.items():
        try:
            r = make()
            r.set_input()
            r.invoke()  # fails early here rather than inside the timing loop
            runners.append(r)
        except Exception as e:  # report and carry on with the other runtimes
            errors[name] = f"{type(e).__name__}: {e}"
            print(f"  {name}: failed: {errors[name]}", file=sys.stderr)

    timings, others_cpu = measure_with_load(runners, args)

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
        "picoq_thread_speedup": thread_speedup(timings),
        "other_processes_cpu_share": others_cpu,
        "max_abs_diff_vs_tflm": max_diff_vs_tflm,
        "picoq_arena_bytes": picoq_extra.get("arena_bytes"),
        "picoq_activation_bytes": picoq_extra.get("activation_bytes"),
        "tflm_arena_bytes": tflm_arena_total(by_name[TFLM]) if TFLM in by_name else None,
        "picoq_file_bytes": len(picoq_bytes),
        "tflite_file_bytes": tflite_bytes,
        "picoq_convert_ms": convert_ms,
        "errors": errors,
    }


# *** float ONNX models: picoq vs onnxruntime QDQ ***

# (builder name in tests/make_onnx_models.py, short name, description), MLPerf Tiny architectures.
FLOAT_MODELS: tuple[tuple[str, str, str], ...] = (
    ("ds_cnn", "KWS", "DS-CNN, 49x10x1"),
    ("mobilenet_v1_025", "VWW", "MobileNetV1 0.25x, 96x96x3"),
    ("resnet8", "IC", "ResNet-8, 32x32x3"),
    ("fc_autoencoder", "AD", "FC autoencoder, 640"),
)
ORT_QDQ, ORT_FLOAT = "ORT-QDQ", "ORT-float"
FLOAT_RUNTIMES: tuple[str, ...] = (PICOQ, ORT_QDQ, ORT_FLOAT)
LABEL.update({ORT_QDQ: "ORT QDQ", ORT_FLOAT: "ORT float"})


def load_float_builders() -> dict[str, Callable[..., Any]]:
    tests_dir = str(REPO / "tests")
    if tests_dir not in sys.path:
        sys.path.insert(0, tests_dir)
    from make_onnx_models import MODELS as BUILDERS  # the repo's own float model builders

    return BUILDERS


def ort_quantize_qdq(float_path: Path, out_path: Path, input_name: str, calib: np.ndarray) -> bool:
    """quantize_static to QDQ int8, per-channel; returns whether quant_pre_process was applied."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class CalibReader(CalibrationDataReader):
        """The rows of ``calib`` one by one, batch 1 each."""

        def __init__(self) -> None:
            self._rows = iter([{input_name: calib[i : i + 1]} for i in range(calib.shape[0])])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._rows, None)

    src = float_path
    preprocessed = False
    pre = out_path.with_name(out_path.stem + "_pre.onnx")
    try:
        quant_pre_process(str(float_path), str(pre), skip_symbolic_shape=True)
        src, preprocessed = pre, True
    except Exception as e:  # optional step: quantize the raw float model instead
        print(
            f"  quant_pre_process failed ({type(e).__name__}: {e}); quantizing the raw model", file=sys.stderr
        )
    reader = CalibReader()
    quantize_static(
        str(src),
        str(out_path),
        reader,
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
    )
    return preprocessed


FLOAT_COMPUTE_OPS = frozenset({"Conv", "Gemm", "MatMul", "BatchNormalization", "Add", "Mul", "AveragePool"})


def ort_optimized_ops(model_bytes: bytes) -> dict[str, int]:
    """Op counts of the graph onnxruntime actually runs (after its ORT_ENABLE_ALL rewrites)."""
    import collections

    import onnx
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.intra_op_num_threads = 1
        so.log_severity_level = 3  # no warning about the hardware-specific saved model
        so.optimized_model_filepath = str(Path(tmp) / "opt.onnx")
        ort.InferenceSession(model_bytes, sess_options=so, providers=["CPUExecutionProvider"])
        graph = onnx.load(so.optimized_model_filepath).graph
    return dict(collections.Counter(n.op_type for n in graph.node).most_common())


def sqnr(ref: np.ndarray, y: np.ndarray) -> float | None:
    ref64, y64 = ref.astype(np.float64).ravel(), y.astype(np.float64).ravel()
    if ref64.shape != y64.shape:
        return None
    noise = float(np.sum((ref64 - y64) ** 2))
    signal = float(np.sum(ref64**2))
    if noise == 0:
        return math.inf
    return 10 * math.log10(signal / noise) if signal > 0 else None


def bench_float_model(
    build: Callable[..., Any], builder: str, short: str, desc: str, args: argparse.Namespace
) -> dict[str, Any]:
    import onnx

    from picoq.converter import convert
    from picoq.runtime import Interpreter

    m = build(args.float_layout)
    input_name = m.graph.input[0].name
    dims = m.graph.input[0].type.tensor_type.shape.dim
    shape = (1, *(int(d.dim_value) for d in dims[1:]))
    rng = np.random.default_rng(args.seed)
    calib = rng.normal(size=(args.calib_samples, *shape[1:])).astype(np.float32)
    x = rng.normal(size=shape).astype(np.float32)  # the timed input, not among the calibration rows

    with tempfile.TemporaryDirectory() as tmp:
        float_path = Path(tmp) / f"{builder}_{args.float_layout}.onnx"
        qdq_path = Path(tmp) / f"{builder}_{args.float_layout}_qdq.onnx"
        onnx.save(m, float_path)

        t0 = time.perf_counter()
        picoq_bytes = convert(float_path, calibration=calib, progress=False)
        convert_ms = (time.perf_counter() - t0) * 1e3
        t0 = time.perf_counter()
        preprocessed = ort_quantize_qdq(float_path, qdq_path, input_name, calib)
        ort_quantize_ms = (time.perf_counter() - t0) * 1e3
        qdq_bytes = qdq_path.read_bytes()
        float_bytes = float_path.read_bytes()

    d = Interpreter(picoq_bytes).input_details[0]
    if np.dtype(d["dtype"]) != np.int8 or d["scale"] is None:
        raise RuntimeError(f"{builder}: picoq input is not per-tensor int8")
    # picoq's int8 input: the same float input quantized with picoq's input scale (outside the timing).
    v = x / np.float32(d["scale"])
    xq = np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5) + d["zero_point"], -128, 127).astype(np.int8)

    runners: list[Runner] = []
    errors: dict[str, str] = {}
    n = args.threads
    makers: dict[str, Callable[[], Runner]] = {
        PICOQ: lambda: make_picoq(picoq_bytes, xq, n),
        ORT_QDQ: lambda: make_ort(ORT_QDQ, qdq_bytes, x, n),
        ORT_FLOAT: lambda: make_ort(ORT_FLOAT, float_bytes, x, n),
    }
    if n > 1:
        makers[PICOQ_1T] = lambda: make_picoq(picoq_bytes, xq, 1, PICOQ_1T)
    for name, make in makers.items():
        try:
            r = make()
            r.set_input()
            r.invoke()
            runners.append(r)
        except Exception as e:
            errors[name] = f"{type(e).__name__}: {e}"
            print(f"  {name}: failed: {errors[name]}", file=sys.stderr)

    timings, others_cpu = measure_with_load(runners, args)

    outputs: dict[str, np.ndarray] = {}
    for r in runners:
        r.set_input()
        r.invoke()
        outputs[r.name] = r.get_output()
    if PICOQ in outputs:
        od = Interpreter(picoq_bytes).output_details[0]
        outputs[PICOQ] = (outputs[PICOQ].astype(np.float32) - od["zero_point"]) * np.float32(od["scale"])
    sqnr_vs_float: dict[str, float | None] = {}
    if ORT_FLOAT in outputs:
        for name in (PICOQ, ORT_QDQ):
            if name in outputs:
                sqnr_vs_float[name] = sqnr(outputs[ORT_FLOAT], outputs[name])

    def ratio(a: str, b: str) -> float | None:
        return timings[a].median_us / timings[b].median_us if a in timings and b in timings else None

    by_name = {r.name: r for r in runners}
    try:
        qdq_ops: dict[str, int] | None = ort_optimized_ops(qdq_bytes)
    except Exception:  # informational only
        qdq_ops = None
    return {
        "model": short,
        "builder": f"tests/make_onnx_models.py:{builder}({args.float_layout!r})",
        "description": desc,
        "layout": args.float_layout,
        "input_shape": list(shape),
        "calibration_samples": int(calib.shape[0]),
        "timings": {name: asdict(t) for name, t in timings.items()},
        "ratio_picoq_over_ort_qdq": ratio(PICOQ, ORT_QDQ),
        "picoq_thread_speedup": thread_speedup(timings),
        "other_processes_cpu_share": others_cpu,
        "ratio_picoq_over_ort_float": ratio(PICOQ, ORT_FLOAT),
        "sqnr_db_vs_ort_float": sqnr_vs_float,
        "picoq_arena_bytes": by_name[PICOQ].extra.get("arena_bytes") if PICOQ in by_name else None,
        "picoq_file_bytes": len(picoq_bytes),
        "ort_qdq_file_bytes": len(qdq_bytes),
        "onnx_float_file_bytes": len(float_bytes),
        "picoq_convert_ms": convert_ms,
        "ort_quantize_ms": ort_quantize_ms,
        "ort_quant_pre_process": preprocessed,
        "ort_qdq_optimized_ops": qdq_ops,
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


def fmt_share(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.0f}%"


def fmt_ratio(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def latency_table(results: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    names = timed_runtimes(results, RUNTIMES)
    header = ["Model"]
    for name in names:
        header += [f"{LABEL[name]} med", f"{LABEL[name]} p90"]
    header += [f"{LABEL[PICOQ]}/{LABEL[p]}" for p in PEERS]
    if PICOQ_1T in names:
        header.append(f"speedup {LABEL[PICOQ_1T]}/{LABEL[PICOQ]}")
    header.append("others' CPU")
    rows = []
    for res in results:
        row = [res["model"]]
        for name in names:
            t = res["timings"].get(name)
            row += [fmt_us(t and t["median_us"]), fmt_us(t and t["p90_us"])]
        row += [fmt_ratio(res["ratio_picoq_over"][p]) for p in PEERS]
        if PICOQ_1T in names:
            row.append(fmt_ratio(res.get("picoq_thread_speedup")))
        row.append(fmt_share(res.get("other_processes_cpu_share")))
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


def float_latency_table(results: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    names = timed_runtimes(results, FLOAT_RUNTIMES)
    header = ["Model"]
    for name in names:
        header += [f"{LABEL[name]} med", f"{LABEL[name]} p90"]
    header += [f"{LABEL[PICOQ]}/{LABEL[ORT_QDQ]}", f"{LABEL[PICOQ]}/{LABEL[ORT_FLOAT]}"]
    if PICOQ_1T in names:
        header.append(f"speedup {LABEL[PICOQ_1T]}/{LABEL[PICOQ]}")
    header.append("others' CPU")
    rows = []
    for res in results:
        row = [res["model"]]
        for name in names:
            t = res["timings"].get(name)
            row += [fmt_us(t and t["median_us"]), fmt_us(t and t["p90_us"])]
        row += [fmt_ratio(res["ratio_picoq_over_ort_qdq"]), fmt_ratio(res["ratio_picoq_over_ort_float"])]
        if PICOQ_1T in names:
            row.append(fmt_ratio(res.get("picoq_thread_speedup")))
        row.append(fmt_share(res.get("other_processes_cpu_share")))
        rows.append(row)
    return header, rows


def fmt_db(v: float | None) -> str:
    if v is None:
        return "n/a"
    return "inf" if math.isinf(v) else f"{v:.1f}"


def float_ops_left(ops: dict[str, int] | None) -> str:
    """The float compute ops ORT still runs in the QDQ model, e.g. "6 Conv, 2 Add" ("0": all int8)."""
    if ops is None:
        return "n/a"
    left = [f"{n} {op}" for op, n in ops.items() if op in FLOAT_COMPUTE_OPS]
    return ", ".join(left) if left else "0"


def float_size_table(results: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    header = [
        "Model",
        "input",
        "picoq arena B",
        ".picoq B",
        "QDQ .onnx B",
        "float .onnx B",
        "picoq SQNR dB",
        "ORT QDQ SQNR dB",
        "ORT QDQ float ops left",
        "runs (picoq/QDQ/float)",
    ]
    rows = []
    for res in results:
        q = res["sqnr_db_vs_ort_float"]
        runs = "/".join(
            str(res["timings"][n]["runs"]) if n in res["timings"] else "-" for n in FLOAT_RUNTIMES
        )
        rows.append(
            [
                res["model"],
                "x".join(str(v) for v in res["input_shape"]),
                fmt_int(res["picoq_arena_bytes"]),
                fmt_int(res["picoq_file_bytes"]),
                fmt_int(res["ort_qdq_file_bytes"]),
                fmt_int(res["onnx_float_file_bytes"]),
                fmt_db(q.get(PICOQ)),
                fmt_db(q.get(ORT_QDQ)),
                float_ops_left(res["ort_qdq_optimized_ops"]),
                runs,
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
        f"{s['rounds']} interleaved rounds, seed {s['seed']}; {threads_line(s['threads'])}, batch 1; "
        f"{m['date_utc']}",
        f"Load average before the run: {', '.join(f'{v:.2f}' for v in m['loadavg'])}"
        if m.get("loadavg")
        else "Load average: n/a",
    ]


NOTES = (
    "Latency of one invoke (input written before each run, outside the timed window), "
    "median and p90 over the timed runs. picoq/peer is the ratio of medians: < 1 means picoq is faster. "
    "LiteRT = default kernels (XNNPACK), LiteRT-ref = BUILTIN_REF reference kernels; both num_threads={threads}. "
    "Arena bytes: picoq's planned arena, activations plus the fast kernels' scratch (its activations "
    "alone, what firmware needs, are in the JSON); TFLM's recorded arena total (head + tail, 64-bit host). "
    "Bit-exact: picoq's int8 output equals tflite-micro's on the same input. "
    "Others' CPU: share of all cores that other processes used while the model was timed."
)


FLOAT_NOTES = (
    "Float ONNX models built by tests/make_onnx_models.py (MLPerf Tiny architectures, random weights, "
    "non-trivial BatchNorm), calibrated on {n} random normal inputs (seed {seed}). "
    "picoq: picoq.converter.convert (minmax, per-channel), int8 in/out, input quantized outside the timing. "
    "ORT QDQ: onnxruntime.quantization.quantize_static (QDQ, per-channel, QInt8 activations and weights, "
    "MinMax) after quant_pre_process; ORT float: the float model. ORT sessions: {threads} intra-op and 1 "
    "inter-op thread, ORT_ENABLE_ALL, sequential; the timed call is InferenceSession.run on a float input, so it "
    "includes ORT's own input QuantizeLinear, output DequantizeLinear and output allocation. "
    "SQNR: of the (dequantized) output against ORT float on the timed input. "
    "ORT QDQ float ops left: compute nodes of the QDQ model that ORT's optimizer did not fuse into "
    "QLinear*/QGemm kernels, so it runs them in float between DequantizeLinear and QuantizeLinear."
)


def notes(report: dict[str, Any]) -> str:
    return NOTES.format(threads=report["settings"]["threads"])


def float_notes(report: dict[str, Any]) -> str:
    s = report["settings"]
    return FLOAT_NOTES.format(n=s["calib_samples"], seed=s["seed"], threads=s["threads"])


def to_markdown(report: dict[str, Any]) -> str:
    results = report["results"]
    parts = ["# picoq benchmark: MLPerf Tiny int8 models and repo-built float models", ""]
    parts += [f"- {line}" for line in machine_lines(report)]
    parts += ["", f"Command: `{report['command']}`", ""]
    if results:
        parts += ["## Latency (µs)", "", render_markdown(*latency_table(results)), ""]
        parts += [
            "## Memory, size, exactness",
            "",
            render_markdown(*size_table(results)),
            "",
            notes(report),
            "",
        ]
    if report["skipped"]:
        parts += ["Skipped: " + "; ".join(report["skipped"]), ""]
    fres = report.get("float_results")
    if fres:
        layout = report["settings"]["float_layout"].upper()
        parts += [
            f"## Repo-built float ONNX models ({layout}): picoq vs onnxruntime QDQ int8, latency (µs)",
            "",
        ]
        parts += [render_markdown(*float_latency_table(fres)), ""]
        parts += ["## Repo-built float ONNX models: size, accuracy", ""]
        parts += [render_markdown(*float_size_table(fres)), "", float_notes(report), ""]
    return "\n".join(parts)


def to_text(report: dict[str, Any]) -> str:
    results = report["results"]
    parts = machine_lines(report)
    if results:
        parts += ["", "Latency (µs):", render_text(*latency_table(results)), ""]
        parts += ["Memory, size, exactness:", render_text(*size_table(results)), "", notes(report)]
    fres = report.get("float_results")
    if fres:
        parts += ["", "Repo-built float ONNX models, picoq vs onnxruntime QDQ int8, latency (µs):"]
        parts += [render_text(*float_latency_table(fres)), ""]
        parts += ["Size, accuracy:", render_text(*float_size_table(fres)), "", float_notes(report)]
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
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs and calibration data")
    p.add_argument("--cpu", type=int, default=None, help="pin the process to this CPU core (Linux)")
    p.add_argument(
        "--float-models",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time picoq vs onnxruntime QDQ int8 on the repo-built float ONNX models (default: on)",
    )
    p.add_argument("--float-layout", choices=("nchw", "nhwc"), default="nchw", help="their export style")
    p.add_argument("--calib-samples", type=int, default=100, help="random calibration inputs per float model")
    p.add_argument("--no-tflite", action="store_true", help="skip the MLPerf Tiny .tflite section")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads for picoq (num_threads), LiteRT and ORT (default 1); with N > 1 picoq is also "
        "timed at one thread for the speedup",
    )
    args = p.parse_args(argv)
    args.warmup_runs, args.warmup_seconds = 3, 0.1
    if args.quick:
        args.target_seconds, args.min_runs, args.rounds = 0.1, 5, 1
        args.warmup_runs, args.warmup_seconds = 2, 0.02
    if args.repeats is not None and args.repeats < 1:
        p.error("--repeats must be >= 1")
    if not 1 <= args.threads <= 64:
        p.error("--threads must be from 1 to 64")
    if args.cpu is not None and args.threads > 1:
        p.error("--cpu pins the process to one core: it needs --threads 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    set_thread_labels(args.threads)
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
            "float_models": args.float_models,
            "float_layout": args.float_layout,
            "calib_samples": args.calib_samples,
            "threads": args.threads,
            "batch": 1,
        },
        "machine": machine_info(),
        "results": [],
        "skipped": [],
        "float_results": [],
    }
    wanted = {s.lower() for s in args.only} if args.only else None
    tflite_models: tuple[tuple[str, str, str], ...] = MODELS
    if args.no_tflite:
        tflite_models = ()
    elif not models_dir.is_dir():
        print(f"models folder {models_dir} not found: skipping the .tflite models (use --models DIR)")
        report["skipped"].append(f"all .tflite models ({models_dir} not found)")
        tflite_models = ()

    for fname, short, desc in tflite_models:
        if wanted and short.lower() not in wanted:
            continue
        path = models_dir / fname
        if not path.is_file():
            print(f"{short}: {path} not found, skipped")
            report["skipped"].append(f"{short} ({fname} not found)")
            continue
        print(f"{short}: {fname} ...", flush=True)
        res = bench_model(path, short, desc, args)
        t = res["timings"]
        summary = ", ".join(
            f"{n} {fmt_us(t[n]['median_us'])} µs" for n in timed_runtimes([res], RUNTIMES) if n in t
        )
        exact = res["bit_exact_vs_tflm"]
        print(f"  {summary}; bit-exact: {'n/a' if exact is None else ('yes' if exact else 'no')}", flush=True)
        report["results"].append(res)

    if args.float_models:
        builders = load_float_builders()
        for builder, short, desc in FLOAT_MODELS:
            if wanted and short.lower() not in wanted:
                continue
            print(f"{short} (float ONNX {builder}, {args.float_layout}) ...", flush=True)
            res = bench_float_model(builders[builder], builder, short, desc, args)
            t = res["timings"]
            summary = ", ".join(
                f"{n} {fmt_us(t[n]['median_us'])} µs" for n in timed_runtimes([res], FLOAT_RUNTIMES) if n in t
            )
            print(f"  {summary}; picoq/ORT-QDQ {fmt_ratio(res['ratio_picoq_over_ort_qdq'])}", flush=True)
            report["float_results"].append(res)

    if not report["results"] and not report["float_results"]:
        print("nothing was benchmarked")
        return 0
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
