"""Latency and size benchmark: picoq vs tflite-micro vs LiteRT on the MLPerf Tiny int8 models,
and picoq vs onnxruntime QDQ int8 on the repo-built float ONNX models.

The command line. The work is in the modules beside this file, one job each:
    runners.py   the runtimes under test (picoq, tflite-micro, LiteRT, ONNX Runtime) behind one Runner
    timing.py    warm-up, run counts, interleaved rounds, medians, others' CPU load
    models.py    one benchmark per model: the MLPerf Tiny .tflite models and the float ONNX models
    machine.py   what ran it: CPU, OS, packages, git revision
    report.py    the text and markdown tables
What is measured and how: benchmarks/README.md.
"""

from __future__ import annotations

import os
import sys

from machine import machine_info, pin_thread_env  # imports no numeric library

pin_thread_env()  # must happen before numpy etc. are imported

import argparse  # noqa: E402
import json  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from models import (  # noqa: E402
    DEFAULT_MODELS_DIR,
    FLOAT_MODELS,
    MODELS,
    bench_float_model,
    bench_model,
    load_float_builders,
)
from report import fmt_ratio, fmt_us, set_thread_labels, timed_runtimes, to_markdown, to_text  # noqa: E402
from runners import FLOAT_RUNTIMES, RUNTIMES  # noqa: E402
from timing import add_timing_args, finish_timing_args, timing_settings  # noqa: E402

EXAMPLES = """examples:
  python benchmarks/run.py           # full run, about a minute; prints the tables
  python benchmarks/run.py --json benchmarks/results/run.json --markdown benchmarks/results/run.md
  python benchmarks/run.py --quick   # smoke run, a few seconds, numbers only indicative
  python benchmarks/run.py --only AD --repeats 50 --no-float-models   # one model, fixed run count
  python benchmarks/run.py --threads 2 --no-float-models   # picoq (and LiteRT, ORT) on 2 threads
"""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=EXAMPLES, formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument("--models", type=Path, default=DEFAULT_MODELS_DIR, help=f"default: {DEFAULT_MODELS_DIR}")
    add_timing_args(p)
    p.add_argument("--json", type=Path, default=None, help="write the full results as JSON here")
    p.add_argument("--markdown", type=Path, default=None, help="write the tables as markdown here")
    p.add_argument("--only", nargs="+", default=None, metavar="NAME", help="model short names, e.g. KWS AD")
    p.add_argument("--tflm-max-runs", type=int, default=2000, help="cap on tflite-micro's timed runs")
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
    finish_timing_args(p, args)
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
            **timing_settings(args),
            "tflm_max_runs": args.tflm_max_runs,
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
