"""Report: the text tables printed at the end of a run, the same tables as markdown (``--markdown``),
with the machine and settings lines and the notes that say what each column means.

Latencies are medians and p90s in µs; picoq/peer is the ratio of the medians (< 1 means picoq
is faster); with ``--threads N`` > 1 the headers carry the thread count and a speedup column
gives picoq 1t / picoq Nt.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from runners import (
    FLOAT_RUNTIMES,
    LITERT,
    LITERT_REF,
    ORT_FLOAT,
    ORT_QDQ,
    PEERS,
    PICOQ,
    PICOQ_1T,
    RUNTIMES,
    TFLM,
)

# Table headers; set_thread_labels() adds the thread count when --threads N > 1.
LABEL = {
    PICOQ: "picoq",
    TFLM: "TFLM",
    LITERT: "LiteRT",
    LITERT_REF: "LiteRT-ref",
    PICOQ_1T: "picoq 1t",
    ORT_QDQ: "ORT QDQ",
    ORT_FLOAT: "ORT float",
}
# ONNX ops that, left in ORT's optimized QDQ graph, compute in float (their int8 forms are QLinear*,
# QGemm, ...). Movement ops (Transpose, Reshape, MaxPool) are left out: ORT runs those on int8 as they are.
FLOAT_COMPUTE_OPS = frozenset(
    {"Conv", "Gemm", "MatMul", "BatchNormalization", "Add", "Mul", "AveragePool"}
    | {"GlobalAveragePool", "ReduceMean", "Sigmoid", "HardSigmoid", "HardSwish", "Softmax"}
)


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


def _latency_table(
    results: list[dict[str, Any]],
    runtimes: Sequence[str],
    peers: Sequence[str],
    ratios: Callable[[dict[str, Any]], list[float | None]],
) -> tuple[list[str], list[list[str]]]:
    """Median and p90 per runtime, then picoq/peer for each of `peers` (`ratios` gives them from
    a result), picoq's thread speedup when timed, and the others' CPU share."""
    names = timed_runtimes(results, runtimes)
    header = ["Model"]
    for name in names:
        header += [f"{LABEL[name]} med", f"{LABEL[name]} p90"]
    header += [f"{LABEL[PICOQ]}/{LABEL[p]}" for p in peers]
    if PICOQ_1T in names:
        header.append(f"speedup {LABEL[PICOQ_1T]}/{LABEL[PICOQ]}")
    header.append("others' CPU")
    rows = []
    for res in results:
        row = [res["model"]]
        for name in names:
            t = res["timings"].get(name)
            row += [fmt_us(t and t["median_us"]), fmt_us(t and t["p90_us"])]
        row += [fmt_ratio(r) for r in ratios(res)]
        if PICOQ_1T in names:
            row.append(fmt_ratio(res.get("picoq_thread_speedup")))
        row.append(fmt_share(res.get("other_processes_cpu_share")))
        rows.append(row)
    return header, rows


def latency_table(results: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    return _latency_table(results, RUNTIMES, PEERS, lambda res: [res["ratio_picoq_over"][p] for p in PEERS])


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
    return _latency_table(
        results,
        FLOAT_RUNTIMES,
        (ORT_QDQ, ORT_FLOAT),
        lambda res: [res["ratio_picoq_over_ort_qdq"], res["ratio_picoq_over_ort_float"]],
    )


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
    # torch_models.py times no tflite-micro
    tflm = f" (tflite-micro at most {s['tflm_max_runs']})" if "tflm_max_runs" in s else ""
    return [
        f"CPU: {m['cpu']} ({m['logical_cores']} logical cores, {m['cores_usable']} usable; "
        f"SIMD: {' '.join(m['cpu_simd_flags']) or 'n/a'})",
        f"OS: {m['os']}; Python {m['python']} ({m['python_impl']})",
        f"Packages: {pk}; picoq git {m['picoq_git']}",
        f"Mode: {mode}; {runs}{tflm}, "
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
    "Float ONNX models built by tests/support/make_onnx_models.py (MLPerf Tiny architectures, random weights, "
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
