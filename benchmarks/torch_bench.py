"""One torchvision architecture: picoq against onnxruntime float and QDQ int8 (torch_models.py).

The float ONNX model (torch_arch.py) is quantized twice from the same ``--calib-samples`` smooth
random images: by picoq (``picoq.converter.convert``, minmax, per-channel) and by onnxruntime
(``quant_pre_process`` + ``quantize_static``, QDQ, per-channel, MinMax; runners.ort_quantize_qdq).
Four calls are timed in the same interleaved rounds (timing.py): picoq ``invoke`` on int8 data
already in the arena, picoq ``run`` on the float input (quantize, copy in, invoke, copy out,
dequantize: the float boundary), and ORT QDQ and ORT float ``InferenceSession.run`` on the
float input. SQNR of picoq's and ORT QDQ's outputs against ORT float is measured over
``--eval-samples`` held-out images (all their outputs together). A failing step is recorded
with its error and the rest still runs: a model picoq cannot convert still gets ORT's timings.
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from models import sqnr
from runners import (
    ORT_FLOAT,
    ORT_QDQ,
    PICOQ,
    PICOQ_RUN,
    Runner,
    make_ort,
    make_picoq,
    make_picoq_run,
    ort_optimized_ops,
    ort_quantize_qdq,
    ort_session,
    quantize_input,
    start,
)
from timing import measure_with_load
from torch_arch import build, export_onnx, smooth_images

TORCH_RUNTIMES: tuple[str, ...] = (PICOQ, PICOQ_RUN, ORT_FLOAT, ORT_QDQ)


def error_text(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}".strip()


def reference_ops(picoq_bytes: bytes) -> tuple[dict[str, int], int]:
    """Per op type, how many of picoq's ops run on the reference kernels (not a fast kernel)
    on this machine; and the number of ops."""
    from picoq.runtime import Interpreter

    it = Interpreter(picoq_bytes)
    ops = collections.Counter(op.name for op, k in zip(it.model.ops, it.op_kernels) if "ref" in k)
    return dict(ops.most_common()), len(it.op_kernels)


def outputs_on(
    images: np.ndarray, picoq_bytes: bytes | None, qdq_bytes: bytes | None, float_bytes: bytes
) -> dict[str, np.ndarray]:
    """Each runtime's float output on each image (batch 1 each), stacked; picoq's dequantized."""
    from picoq.runtime import Interpreter

    runs: dict[str, Callable[[np.ndarray], np.ndarray]] = {}
    for name, model in ((ORT_FLOAT, float_bytes), (ORT_QDQ, qdq_bytes)):
        if model is not None:
            sess = ort_session(model)
            runs[name] = lambda x, s=sess: s.run(None, {s.get_inputs()[0].name: x})[0]
    if picoq_bytes is not None:
        runs[PICOQ] = Interpreter(picoq_bytes).run
    return {
        name: np.concatenate([np.asarray(run(images[i : i + 1]), np.float32) for i in range(len(images))])
        for name, run in runs.items()
    }


def bench_torch_model(name: str, args: argparse.Namespace) -> dict[str, Any]:
    from picoq.converter import convert
    from picoq.runtime import Interpreter

    shape = (1, 3, args.size, args.size)
    res: dict[str, Any] = {"model": name, "input_shape": list(shape), "errors": {}, "timings": {}}
    errors: dict[str, str] = res["errors"]
    rng = np.random.default_rng(args.seed)
    bn_images = smooth_images(rng, args.bn_samples, shape[1:])
    calib = smooth_images(rng, args.calib_samples, shape[1:])
    held_out = smooth_images(rng, args.eval_samples, shape[1:])
    x = held_out[:1]  # the timed input

    try:
        t0 = time.perf_counter()
        float_bytes = export_onnx(build(name, args.seed, bn_images), shape)
        res["export_s"] = time.perf_counter() - t0
    except Exception as e:  # an architecture torch cannot build or export: nothing to time
        errors["export"] = error_text(e)
        res["traceback"] = traceback.format_exc()
        return res
    res["onnx_float_file_bytes"] = len(float_bytes)

    picoq_bytes: bytes | None = None
    try:
        t0 = time.perf_counter()
        picoq_bytes = convert(float_bytes, calibration=calib, progress=False)
        res["picoq_convert_s"] = time.perf_counter() - t0
        res["picoq_file_bytes"] = len(picoq_bytes)
        res["picoq_reference_ops"], res["picoq_ops"] = reference_ops(picoq_bytes)
        res["picoq_isa"] = Interpreter(picoq_bytes).isa
    except Exception as e:  # the point of the table: which architectures picoq cannot convert yet
        errors["picoq convert"] = error_text(e)

    qdq_bytes: bytes | None = None
    with tempfile.TemporaryDirectory() as tmp:
        float_path, qdq_path = Path(tmp) / f"{name}.onnx", Path(tmp) / f"{name}_qdq.onnx"
        float_path.write_bytes(float_bytes)
        try:
            t0 = time.perf_counter()
            res["ort_quant_pre_process"] = ort_quantize_qdq(float_path, qdq_path, "input", calib)
            res["ort_quantize_s"] = time.perf_counter() - t0
            qdq_bytes = qdq_path.read_bytes()
            res["ort_qdq_file_bytes"] = len(qdq_bytes)
        except Exception as e:
            errors["ORT quantize"] = error_text(e)

    n = args.threads
    makers: dict[str, Callable[[], Runner]] = {}
    if picoq_bytes is not None:
        pb = picoq_bytes
        xq = quantize_input(x, Interpreter(pb).input_details[0])
        makers[PICOQ] = lambda: make_picoq(pb, xq, n)
        makers[PICOQ_RUN] = lambda: make_picoq_run(pb, x, n)
    makers[ORT_FLOAT] = lambda: make_ort(ORT_FLOAT, float_bytes, x, n)
    if qdq_bytes is not None:
        qb = qdq_bytes
        makers[ORT_QDQ] = lambda: make_ort(ORT_QDQ, qb, x, n)
    runners, run_errors = start(makers)
    errors.update(run_errors)
    timings, res["other_processes_cpu_share"] = measure_with_load(runners, args)
    res["timings"] = {r: asdict(t) for r, t in timings.items()}

    def ratio(a: str, b: str) -> float | None:
        return timings[a].median_us / timings[b].median_us if a in timings and b in timings else None

    res["ratios"] = {f"{a}/{b}": ratio(a, b) for a in (PICOQ, PICOQ_RUN) for b in (ORT_QDQ, ORT_FLOAT)}

    ok = {r.name for r in runners}
    res["sqnr_db_vs_ort_float"] = {}
    if ORT_FLOAT in ok:
        outs = outputs_on(
            held_out,
            picoq_bytes if PICOQ in ok else None,
            qdq_bytes if ORT_QDQ in ok else None,
            float_bytes,
        )
        res["sqnr_db_vs_ort_float"] = {
            r: sqnr(outs[ORT_FLOAT], outs[r]) for r in (PICOQ, ORT_QDQ) if r in outs
        }
    if qdq_bytes is not None:
        try:
            res["ort_qdq_optimized_ops"] = ort_optimized_ops(qdq_bytes)
        except Exception:  # informational only
            res["ort_qdq_optimized_ops"] = None
    return res
