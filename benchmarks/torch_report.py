"""The table of torch_models.py, as text and as markdown (``--markdown``), with the machine lines,
the notes that say what each column means, and the errors of the models that failed a step.

Latencies are medians in ms; a ratio is picoq's median over the peer's (< 1: picoq is faster),
given for picoq's ``invoke`` (int8 already in the arena) and its ``run`` (float in and out).
"""

from __future__ import annotations

from typing import Any

from report import float_ops_left, fmt_db, fmt_ratio, fmt_share, machine_lines, render_markdown, render_text
from runners import ORT_FLOAT, ORT_QDQ, PICOQ, PICOQ_RUN


def fmt_ms(us: float | None) -> str:
    if us is None:
        return "n/a"
    ms = us / 1000
    return f"{ms:.1f}" if ms >= 10 else f"{ms:.2f}"


def _median(res: dict[str, Any], name: str) -> float | None:
    t = res["timings"].get(name)
    return t["median_us"] if t else None


def _pair(a: str, b: str) -> str:
    return "n/a" if a == b == "n/a" else f"{a} / {b}"


def reference_ops_cell(res: dict[str, Any]) -> str:
    """e.g. "MUL 9, MEAN 10 (19 of 88)"; "none (of 88)" when every op has a fast kernel."""
    ops = res.get("picoq_reference_ops")
    if ops is None:
        return "conversion failed" if "picoq convert" in res["errors"] else "n/a"
    total = res["picoq_ops"]
    if not ops:
        return f"none (of {total})"
    return f"{', '.join(f'{op} {n}' for op, n in ops.items())} ({sum(ops.values())} of {total})"


def table(results: list[dict[str, Any]], threads: int) -> tuple[list[str], list[list[str]]]:
    t = f" {threads}t" if threads > 1 else ""
    header = [
        "Model",
        "input",
        f"picoq{t} ms (invoke / run)",
        f"ORT float{t} ms",
        f"ORT QDQ{t} ms",
        "picoq/ORT QDQ (invoke / run)",
        "picoq/ORT float (invoke / run)",
        "picoq SQNR dB",
        "ORT QDQ SQNR dB",
        "picoq ops on reference kernels",
        "ORT QDQ float ops left",
        "others' CPU",
    ]
    rows = []
    for res in results:
        r = res.get("ratios", {})
        q = res.get("sqnr_db_vs_ort_float", {})
        rows.append(
            [
                res["model"],
                "x".join(str(v) for v in res["input_shape"][1:]),
                _pair(fmt_ms(_median(res, PICOQ)), fmt_ms(_median(res, PICOQ_RUN))),
                fmt_ms(_median(res, ORT_FLOAT)),
                fmt_ms(_median(res, ORT_QDQ)),
                _pair(fmt_ratio(r.get(f"{PICOQ}/{ORT_QDQ}")), fmt_ratio(r.get(f"{PICOQ_RUN}/{ORT_QDQ}"))),
                _pair(fmt_ratio(r.get(f"{PICOQ}/{ORT_FLOAT}")), fmt_ratio(r.get(f"{PICOQ_RUN}/{ORT_FLOAT}"))),
                fmt_db(q.get(PICOQ)),
                fmt_db(q.get(ORT_QDQ)),
                reference_ops_cell(res),
                float_ops_left(res.get("ort_qdq_optimized_ops")),
                fmt_share(res.get("other_processes_cpu_share")),
            ]
        )
    return header, rows


def short_error(err: str, problems: int = 3) -> list[str]:
    """The lines of an error, a ConversionError's problem list ("  - node ...") cut to its first
    `problems` and how many more there are. The JSON has the whole message."""
    lines = [line.strip() for line in err.strip().splitlines() if line.strip()]
    listed = [k for k, line in enumerate(lines) if line.startswith("- ")]
    if len(listed) > problems:
        lines = (
            lines[: listed[problems]] + [f"- ... and {len(listed) - problems} more"] + lines[listed[-1] + 1 :]
        )
    return lines


def error_lines(results: list[dict[str, Any]]) -> list[str]:
    """One entry per failed step: "model, step: error", the error's further lines indented below."""
    out = []
    for res in results:
        for step, err in res["errors"].items():
            first, *rest = short_error(err) or [""]
            out.append("\n".join([f"{res['model']}, {step}: {first}", *(f"  {line}" for line in rest)]))
    return out


NOTES = (
    "torchvision {tv} architectures, random weights (torch.manual_seed({seed})), {bn}, exported with torch.onnx.export (TorchScript exporter, opset 17, "
    "static shapes, batch 1). Both quantizers calibrate on the same {calib} smooth random images: picoq with "
    "picoq.converter.convert (minmax, per-channel), onnxruntime with quant_pre_process + quantize_static (QDQ, "
    "per-channel, QInt8, MinMax). Latency: median of the timed runs, interleaved rounds; "
    "picoq invoke = int8 input already in the arena, picoq run = Interpreter.run on the float input "
    "(quantize, invoke, dequantize); ORT float and ORT QDQ = InferenceSession.run on the float input "
    "({threads} intra-op thread(s), ORT_ENABLE_ALL). Ratios: picoq's median over ORT's, < 1 means picoq is "
    "faster. SQNR: of each output against ORT float over {held} held-out images. Reference kernels: picoq "
    "ops without a fast kernel on this machine's ISA ({isa}). ORT QDQ float ops left: compute nodes "
    "of the QDQ model that ORT's optimizer did not fuse into int8 kernels (QLinearConv, QGemm, ...), so it runs "
    "them in float between DequantizeLinear and QuantizeLinear. Others' CPU: share of all cores other "
    "processes used while the model was timed (high = noisy timings)."
)


def notes(report: dict[str, Any]) -> str:
    s = report["settings"]
    isas = sorted({r["picoq_isa"] for r in report["results"] if r.get("picoq_isa")})
    return NOTES.format(
        tv=report["machine"]["packages"].get("torchvision"),
        seed=s["seed"],
        bn=f"BatchNorm statistics measured on {s['bn_samples']} smooth random images"
        if s["bn_samples"]
        else "torchvision's initial BatchNorm statistics (mean 0, variance 1)",
        calib=s["calib_samples"],
        held=s["eval_samples"],
        threads=s["threads"],
        isa=", ".join(isas) or "n/a",
    )


def to_text(report: dict[str, Any]) -> str:
    results = report["results"]
    parts = [*machine_lines(report), "", "Latency (ms), accuracy:"]
    parts += [render_text(*table(results, report["settings"]["threads"])), "", notes(report)]
    errors = error_lines(results)
    if errors:
        parts += ["", "Errors:", *errors]
    return "\n".join(parts)


def to_markdown(report: dict[str, Any]) -> str:
    results = report["results"]
    parts = ["# picoq vs onnxruntime on torchvision architectures (float ONNX, random weights)", ""]
    parts += [f"- {line}" for line in machine_lines(report)]
    parts += ["", f"Command: `{report['command']}`", ""]
    parts += [render_markdown(*table(results, report["settings"]["threads"])), "", notes(report), ""]
    errors = error_lines(results)
    if errors:
        parts += ["Errors:", "", *[f"- {e}" for e in errors], ""]
    return "\n".join(parts)
