"""torchvision architectures (random weights) on picoq against onnxruntime float and QDQ int8:
latency, SQNR, and which ops picoq runs on its reference kernels.

The command line. The work is in the modules beside this file:
    torch_arch.py    the float model: torchvision architecture, BatchNorm statistics, ONNX export
    torch_bench.py   one architecture: both quantizations, the timing, the SQNR, the reference ops
    torch_report.py  the text and markdown table
and run.py's runners.py, timing.py, machine.py and report.py. Needs `.[bench,torch]`.
What is measured and how: benchmarks/README.md, "torchvision architectures".
"""

from __future__ import annotations

import os
import sys

from machine import machine_info, pin_thread_env  # imports no numeric library

pin_thread_env()  # must happen before numpy etc. are imported

import argparse  # noqa: E402
import json  # noqa: E402
import textwrap  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from report import fmt_ratio  # noqa: E402
from runners import ORT_QDQ, PICOQ  # noqa: E402
from timing import add_timing_args, finish_timing_args, timing_settings  # noqa: E402
from torch_arch import classification_models  # noqa: E402
from torch_bench import bench_torch_model  # noqa: E402
from torch_report import error_lines, fmt_ms, to_markdown, to_text  # noqa: E402

DEFAULT_MODELS = ("mobilenet_v3_small", "efficientnet_b0")
# Small ImageNet classifiers that run at 96x96, for the README's "Supported PyTorch / ONNX models".
MORE_MODELS = (
    "mobilenet_v2",
    "resnet18",
    "squeezenet1_0",
    "mnasnet0_5",
    "regnet_x_400mf",
    "googlenet",
    "densenet121",
    "shufflenet_v2_x0_5",
)

EXAMPLES = f"""examples:
  cd benchmarks
  python torch_models.py              # {" and ".join(DEFAULT_MODELS)}, a few minutes
  python torch_models.py --models mobilenet_v3_small resnet18 --json results/torch.json --markdown results/torch.md
  python torch_models.py --more       # the defaults and {", ".join(MORE_MODELS)}
  python torch_models.py --quick --models mobilenet_v2   # smoke run, numbers only indicative
  python torch_models.py --list       # the torchvision classification model names
"""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=EXAMPLES, formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument(
        "--models",
        nargs="+",
        default=list(DEFAULT_MODELS),
        metavar="NAME",
        help=f"torchvision classification model names (default: {' '.join(DEFAULT_MODELS)})",
    )
    p.add_argument("--more", action="store_true", help=f"add {' '.join(MORE_MODELS)}")
    p.add_argument("--list", action="store_true", help="print the torchvision classification model names")
    p.add_argument("--size", type=int, default=96, help="input height and width (3xSIZExSIZE, default 96)")
    p.add_argument("--calib-samples", type=int, default=100, help="calibration images, both quantizers")
    p.add_argument("--eval-samples", type=int, default=20, help="held-out images for the SQNR")
    p.add_argument(
        "--bn-samples",
        type=int,
        default=64,
        help="images that set the BatchNorm statistics (0: torchvision's initial ones)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and the images")
    add_timing_args(p)
    p.add_argument("--threads", type=int, default=1, help="picoq num_threads and ORT intra-op threads")
    p.add_argument("--cpu", type=int, default=None, help="pin the process to this CPU core (Linux)")
    p.add_argument("--json", type=Path, default=None, help="write the full results as JSON here")
    p.add_argument("--markdown", type=Path, default=None, help="write the table as markdown here")
    args = p.parse_args(argv)
    finish_timing_args(p, args)
    if args.more:
        args.models += [m for m in MORE_MODELS if m not in args.models]
    for opt in ("size", "calib_samples", "eval_samples"):
        if getattr(args, opt) < 1:
            p.error(f"--{opt.replace('_', '-')} must be >= 1")
    if args.bn_samples < 0:
        p.error("--bn-samples must be >= 0")
    if not 1 <= args.threads <= 64:
        p.error("--threads must be from 1 to 64")
    if args.cpu is not None and args.threads > 1:
        p.error("--cpu pins the process to one core: it needs --threads 1")
    if not args.list:
        unknown = sorted(set(args.models) - set(classification_models()))
        if unknown:
            p.error(f"not torchvision classification models: {', '.join(unknown)} (see --list)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        print("\n".join(classification_models()))
        return 0
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    report: dict[str, Any] = {
        "command": " ".join(["python", *sys.argv]) if argv is None else " ".join(argv),
        "settings": {
            **timing_settings(args),
            "models": args.models,
            "input_shape": [1, 3, args.size, args.size],
            "seed": args.seed,
            "calib_samples": args.calib_samples,
            "eval_samples": args.eval_samples,
            "bn_samples": args.bn_samples,
            "threads": args.threads,
            "cpu_pinned": args.cpu,
            "batch": 1,
        },
        "machine": machine_info(),
        "results": [],
    }
    for name in args.models:
        print(f"{name} ...", flush=True)
        res = bench_torch_model(name, args)
        t, r = res["timings"], res.get("ratios", {})
        summary = ", ".join(f"{n} {fmt_ms(v['median_us'])} ms" for n, v in t.items())
        print(f"  {summary}; picoq/ORT-QDQ {fmt_ratio(r.get(f'{PICOQ}/{ORT_QDQ}'))}", flush=True)
        for err in error_lines([res]):
            print(textwrap.indent(f"failed: {err}", "  "), flush=True)
        report["results"].append(res)

    print()
    print(to_text(report))
    for path, text in (
        (args.json, json.dumps(report, indent=2) + "\n"),
        (args.markdown, to_markdown(report)),
    ):
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
