"""The benchmarks of one model each: an MLPerf Tiny int8 ``.tflite`` on picoq, tflite-micro and LiteRT
(bench_model), and a repo-built float ONNX model on picoq and onnxruntime (bench_float_model).

``.tflite`` models: every runtime gets the same fixed random int8 input (seeded), batch 1; picoq
runs the .tflite converted in memory. Also recorded: picoq's arena bytes, activations plus the
fast kernels' scratch (TFLM's recorded arena total for comparison), the .picoq size vs the
.tflite size, and whether picoq's output equals tflite-micro's bit for bit on that input.

Float ONNX models: those that tests/support/make_onnx_models.py builds with the MLPerf Tiny
architectures (DS-CNN, MobileNetV1 0.25x, ResNet-8, FC autoencoder; ``--float-layout
nchw|nhwc``) are calibrated on ``--calib-samples`` (100) random normal inputs (seeded) and
quantized twice, by picoq (minmax, per-channel) and by onnxruntime (QDQ). ORT's timed call runs
on the float input (the QDQ model quantizes it itself); picoq gets that input quantized with its
input scale, outside the timing. Also recorded: the SQNR of each int8 output against ORT float.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from machine import REPO
from runners import (
    LITERT,
    LITERT_REF,
    ORT_FLOAT,
    ORT_QDQ,
    PEERS,
    PICOQ,
    PICOQ_1T,
    TFLM,
    Runner,
    final_outputs,
    make_litert,
    make_ort,
    make_picoq,
    make_tflm,
    ort_optimized_ops,
    ort_quantize_qdq,
    quantize_input,
    start,
    tflm_arena_total,
)
from timing import measure_with_load, thread_speedup

DEFAULT_MODELS_DIR = REPO.parent / "shared" / "models" / "mlperf_tiny"

# (file, short name, description) in MLPerf Tiny order.
MODELS: tuple[tuple[str, str, str], ...] = (
    ("kws_ref_model.tflite", "KWS", "keyword spotting, DS-CNN"),
    ("vww_96_int8.tflite", "VWW", "visual wake words, MobileNetV1 0.25x, 96x96"),
    ("pretrainedResnet_quant.tflite", "IC", "image classification, ResNet-8, CIFAR-10"),
    ("pretrainedResnet_large_int8.tflite", "IC-large", "image classification, larger ResNet, CIFAR-10"),
    ("ad01_int8.tflite", "AD", "anomaly detection, FC autoencoder"),
)

# (builder name in tests/support/make_onnx_models.py, short name, description), MLPerf Tiny architectures.
FLOAT_MODELS: tuple[tuple[str, str, str], ...] = (
    ("ds_cnn", "KWS", "DS-CNN, 49x10x1"),
    ("mobilenet_v1_025", "VWW", "MobileNetV1 0.25x, 96x96x3"),
    ("resnet8", "IC", "ResNet-8, 32x32x3"),
    ("fc_autoencoder", "AD", "FC autoencoder, 640"),
)


def load_float_builders() -> dict[str, Callable[..., Any]]:
    tests_dir = str(REPO / "tests")
    if tests_dir not in sys.path:
        sys.path.insert(0, tests_dir)
    from support.make_onnx_models import MODELS as BUILDERS  # the repo's own float model builders

    return BUILDERS


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

    n = args.threads
    makers: dict[str, Callable[[], Runner]] = {
        PICOQ: lambda: make_picoq(picoq_bytes, x, n),
        TFLM: lambda: make_tflm(path, x),
        LITERT: lambda: make_litert(path, x, reference=False, threads=n),
        LITERT_REF: lambda: make_litert(path, x, reference=True, threads=n),
    }
    if n > 1:
        makers[PICOQ_1T] = lambda: make_picoq(picoq_bytes, x, 1, PICOQ_1T)
    runners, errors = start(makers)
    timings, others_cpu = measure_with_load(runners, args)

    outputs = final_outputs(runners)  # after timing
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

    # picoq's int8 input: the same float input quantized with picoq's input scale (outside the timing).
    xq = quantize_input(x, Interpreter(picoq_bytes).input_details[0])

    n = args.threads
    makers: dict[str, Callable[[], Runner]] = {
        PICOQ: lambda: make_picoq(picoq_bytes, xq, n),
        ORT_QDQ: lambda: make_ort(ORT_QDQ, qdq_bytes, x, n),
        ORT_FLOAT: lambda: make_ort(ORT_FLOAT, float_bytes, x, n),
    }
    if n > 1:
        makers[PICOQ_1T] = lambda: make_picoq(picoq_bytes, xq, 1, PICOQ_1T)
    runners, errors = start(makers)
    timings, others_cpu = measure_with_load(runners, args)

    outputs = final_outputs(runners)
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
        "builder": f"tests/support/make_onnx_models.py:{builder}({args.float_layout!r})",
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
