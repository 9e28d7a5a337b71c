"""Cortex-M benchmark: instructions per inference of the MLPerf Tiny int8 models on a Cortex-M4
(QEMU mps2-an386, counted with -icount), per kernel set (portable C, the DSP-extension kernels,
CMSIS-NN), with per-op counts, flash, RAM and stack.

The command line. The work is in the modules beside this file, one job each:
    cortex_m_bench.py   one model: convert, export, build and run each kernel set, check outputs
    cortex_m_build.py   m4.mk's toolchain and flags, the kernel sets, compiling and linking
    cortex_m_qemu.py    running the firmware under QEMU, timer ticks -> instructions, calibration
    cortex_m_trace.py   QEMU's exec trace, the second counter that checks the timer
    cortex_m_size.py    flash and RAM from the ELF and its linker map
    cortex_m_report.py  the text tables
    cortex_m/           the firmware's bench_main.c, and prof.h (the per-op hooks)
What is measured and how: benchmarks/README.md, "Cortex-M".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from cortex_m_bench import VARIANTS, Settings, bench_model, log
from cortex_m_build import DSP, PORTABLE, BuildError, Compiler, KernelSet, Toolchain, cmsis_nn_set
from cortex_m_qemu import TICK_INSNS, RunError
from cortex_m_report import to_text
from machine import git_revision
from models import DEFAULT_MODELS_DIR, MODELS

from picoq.runtime import kernels_dir

SHORT_NAMES = ("KWS", "VWW", "IC", "AD")  # the four MLPerf Tiny benchmarks (not IC-large)
TOOLS = ("make", "arm-none-eabi-gcc", "qemu-system-arm")

EXAMPLES = """examples:
  python benchmarks/cortex_m.py                      # portable and dsp, -Os, all four models (~2 min)
  python benchmarks/cortex_m.py --only KWS AD --opt O2 --per-op
  python benchmarks/cortex_m.py --quick              # one pass per count: each within 80 instructions
  python benchmarks/cortex_m.py --cmsis-nn ~/CMSIS-NN --json benchmarks/results/cortex_m.json
  python benchmarks/cortex_m.py --quick --variant int8 16x8 int4 --cmsis-nn ~/CMSIS-NN
  CMSIS_NN_DIR=~/CMSIS-NN python benchmarks/cortex_m.py --trace-check KWS
"""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=EXAMPLES, formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument("--models", type=Path, default=DEFAULT_MODELS_DIR, help=f"default: {DEFAULT_MODELS_DIR}")
    p.add_argument("--only", nargs="+", default=None, metavar="NAME", choices=SHORT_NAMES, help="e.g. KWS AD")
    p.add_argument(
        "--opt", default="Os", choices=("Os", "O2", "O3", "O1"), help="optimisation level (default Os)"
    )
    p.add_argument(
        "--cmsis-nn",
        type=Path,
        default=os.environ.get("CMSIS_NN_DIR") or None,
        metavar="DIR",
        help="also measure the cmsis-nn set from this CMSIS-NN checkout (default: $CMSIS_NN_DIR)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"one pass per count instead of {TICK_INSNS}: each count within {2 * TICK_INSNS} instructions "
        "(no trace check)",
    )
    p.add_argument(
        "--trace-check",
        default="AD",
        metavar="NAME",
        choices=(*SHORT_NAMES, "none"),
        help="check the timer against QEMU's exec trace on this model, every set (default AD)",
    )
    p.add_argument(
        "--variant",
        nargs="+",
        default=["int8"],
        choices=VARIANTS,
        help="the models as they are (int8, the default), and/or derived: 16x8 (int16 activations) or "
        "int4 (packed int4 weights); each is reported as e.g. KWS-16x8",
    )
    p.add_argument("--per-op", action="store_true", help="also print every op's count")
    p.add_argument("--json", type=Path, default=None, help="write everything as JSON here")
    p.add_argument("--seed", type=int, default=0, help="seed of the random input (int8; int16 for 16x8)")
    p.add_argument("--timeout", type=float, default=600, help="seconds per QEMU run")
    p.add_argument(
        "--keep", type=Path, default=None, metavar="DIR", help="build here and keep it (default: a temp dir)"
    )
    return p.parse_args(argv)


def version(tool: str) -> str:
    """The first line of `tool --version`."""
    out = subprocess.run([tool, "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else "?"


def kernel_sets(cmsis_dir: Path | None) -> list[KernelSet]:
    return [PORTABLE, DSP] + ([cmsis_nn_set(cmsis_dir)] if cmsis_dir else [])


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    tc = Toolchain.from_m4mk(args.opt)
    passes = 1 if args.quick else TICK_INSNS
    s = Settings(Compiler(tc, work), kernel_sets(args.cmsis_nn), work, passes, args.seed, args.timeout)
    results: dict[str, Any] = {
        "settings": {
            "opt": args.opt,
            "arch": list(tc.arch),
            "cflags": list(tc.cflags),
            "sets": [k.name for k in s.sets],
            "passes": passes,
            "exact": passes % TICK_INSNS == 0,
            "seed": args.seed,
            "variants": list(args.variant),
            "cmsis_nn": str(args.cmsis_nn) if args.cmsis_nn else None,
            "picoq_git": git_revision(),
            "kernels_dir": kernels_dir(),  # where export-c copied the kernels from
            "gcc": version(tc.cc),
            "qemu": version(tc.qemu[0]),
        },
        "models": {},
    }
    wanted = args.only or SHORT_NAMES
    for variant in dict.fromkeys(args.variant):
        for file, short, _ in MODELS:
            if short in wanted:
                key = short if variant == "int8" else f"{short}-{variant}"
                trace = short == args.trace_check and not args.quick
                sv = replace(s, sets=[k for k in s.sets if k.variants is None or variant in k.variants])
                results["models"][key] = bench_model(key, args.models / file, sv, trace, variant)
                skipped = [k.name for k in s.sets if k not in sv.sets]
                if skipped:  # e.g. cmsis-nn on 16x8: its shim has no s16 mapping to measure
                    log(f"{key}: {', '.join(skipped)} left out (the set has no {variant} kernels)")
                    results["models"][key]["sets_left_out"] = skipped
                results.setdefault("calibration", results["models"][key].pop("calibration"))
    return results


def failures(results: dict[str, Any]) -> list[str]:
    bad = []
    for short, res in results["models"].items():
        if not res["outputs_identical"]:
            bad.append(f"{short}: the kernel sets' output bytes differ")
        if not res["output_matches_interpreter"]:
            bad.append(f"{short}: the firmware's output differs from the picoq interpreter's")
        for name, r in res["sets"].items():
            if "trace_check" in r and not r["trace_check"]["agree"]:
                bad.append(f"{short} {name}: the exec trace disagrees with the timer")
    return bad


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        print(f"needs {', '.join(missing)}: run firmware_examples/install_toolchain.sh", file=sys.stderr)
        return 2
    if not args.models.is_dir():
        print(f"models folder {args.models} not found: nothing to measure", file=sys.stderr)
        return 0
    try:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            results = run(args, args.keep.resolve())
        else:
            with tempfile.TemporaryDirectory(prefix="picoq_cortex_m_") as tmp:
                results = run(args, Path(tmp))
    except (BuildError, RunError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(to_text(results, per_op=args.per_op))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n")
        log(f"wrote {args.json}")
    bad = failures(results)
    for msg in bad:
        print(f"error: {msg}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
