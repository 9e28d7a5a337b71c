"""Instructions picoq and LiteRT (XNNPACK) execute per inference on aarch64, counted under QEMU.

No aarch64 board is needed, and nothing is timed (QEMU timings mean nothing): the count is a
proxy for the work each runtime's kernels do.

    python aarch64_icount.py                          # the 4 MLPerf Tiny models x 5 CPU models
    python aarch64_icount.py --only KWS --cpu cortex-a53 max,sme=off --json out.json
    python aarch64_icount.py --only AD --cpu cortex-a76 --by-function --top 20
    python aarch64_icount.py --cpu max --isa portable,neon --no-litert MODEL.tflite

Default models: the MLPerf Tiny KWS, VWW, IC (ResNet-8) and AD models in ../shared; default
CPU models cortex-a53, cortex-a72 (no dot product), cortex-a76 (dot product), max (with SME
and i8mm: XNNPACK then runs SME kernels) and max,sme=off (i8mm). Needs aarch64-linux-gnu-gcc
and qemu-aarch64 (firmware_examples/install_toolchain.sh), apt-get and dpkg (Debian), Cython,
and network access on the first run (Debian's arm64 packages and LiteRT's aarch64 wheel are
downloaded into --work and cached there; aarch64_guest.py builds the guest).

What is counted, per model and CPU model, in one guest process that loads both runtimes:
picoq at the ISA it picks on that CPU (or each of --isa), `Interpreter.run(x)`; LiteRT
(`ai_edge_litert`, default XNNPACK delegate, num_threads=1) `set_tensor` + `invoke` +
`get_tensor`; the same seeded random int8 input for both. The process runs once with one
inference each and once with two, with QEMU's exec trace limited to the executable mappings
of each runtime's own shared objects (picoq's extension; LiteRT's .so files in its wheel):
numpy, Python, libc and libstdc++ are outside the range. Two minus one is one inference
(aarch64_trace.py counts the trace); `--check` adds a run with three and shows 3-2 beside 2-1.
`--by-function` gives, for each runtime, the instructions per function (picoq's extension
has its full symbol table; LiteRT's libraries keep theirs, else dynamic symbols or "?"):
each translated block counts in the function holding its first instruction, so inlined
code counts in its caller.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import aarch64_guest as guest
from aarch64_trace import Mapping, by_function, instructions_by_pc

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT.parent / "shared" / "models" / "mlperf_tiny"
DEFAULT = {"KWS": "kws_ref_model", "VWW": "vww_96_int8", "IC": "pretrainedResnet_quant", "AD": "ad01_int8"}
CPUS = ["cortex-a53", "cortex-a72", "cortex-a76", "max", "max,sme=off"]
LITERT = "ai-edge-litert==2.3.0"
NM = "aarch64-linux-gnu-nm"
RUNTIMES = ("picoq", "litert")


def runtime_of(m: Mapping) -> str:
    return "litert" if "/ai_edge_litert/" in m.path else "picoq"


class Guest:
    """The built guest and what one CPU model's probe run found (the mappings, picoq's ISA)."""

    def __init__(self, work: Path, cpu: str, site: Path, probe_model: Path, probe_tflite: Path):
        self.work, self.cpu, self.site = work, cpu, site
        self.croot = guest.cpu_root(work, work / "root", cpu)
        info = json.loads(self.run([str(probe_model), str(probe_tflite), "-", "0"]).splitlines()[-1])
        self.best_isa: str = info["isa"]
        self.maps = [m for m in map(Mapping.parse, info["maps"]) if m is not None]
        if {runtime_of(m) for m in self.maps} != set(RUNTIMES):
            raise RuntimeError(f"the guest did not map both runtimes' code: {info['maps']}")

    def command(self, args: list[str]) -> list[str]:
        return guest.guest_command(self.work, self.croot, self.cpu, [self.site], args)

    def run(self, args: list[str]) -> str:
        p = subprocess.run(self.command(args), capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"guest failed on {self.cpu}: {' '.join(args)}\n{p.stderr[-3000:]}")
        return p.stdout

    def traced(self, picoq_model: Path, tflite: Path | None, isa: str, reps: int) -> Counter[int]:
        """Instructions per block start address in both runtimes' code, over a whole run."""
        ranges = ",".join(f"{m.start:#x}..{m.end - 1:#x}" for m in self.maps)
        args = [str(picoq_model), str(tflite) if tflite else "-", isa, str(reps)]
        cmd = self.command(args)
        r, w = os.pipe()  # the trace, apart from the guest's own stderr
        cmd[1:1] = ["-d", "in_asm,exec,nochain", "-dfilter", ranges, "-D", f"/dev/fd/{w}"]
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            p = subprocess.Popen(cmd, stdout=out, stderr=err, pass_fds=(w,), text=True)
            os.close(w)
            with open(r, buffering=1 << 20) as log:
                counts = instructions_by_pc(log)
            if p.wait() != 0:
                err.seek(0)
                raise RuntimeError(
                    f"traced guest failed on {self.cpu}: {' '.join(args)}\n{err.read()[-3000:]}"
                )
            out.seek(0)
            info = json.loads(out.read().splitlines()[-1])
        maps = [m for m in map(Mapping.parse, info["maps"]) if m is not None]
        if maps != self.maps:
            raise RuntimeError("the runtimes' code moved between runs: the trace ranges are wrong")
        return counts


def split(counts: Counter[int], maps: list[Mapping]) -> dict[str, Counter[int]]:
    """Per runtime, the counts of the blocks in its code."""
    out: dict[str, Counter[int]] = {r: Counter() for r in RUNTIMES}
    for pc, n in counts.items():
        m = next(m for m in maps if pc in m)
        out[runtime_of(m)][pc] += n
    return out


def minus(a: Counter[int], b: Counter[int]) -> Counter[int]:
    """a - b per address, keeping negative entries (Counter's `-` drops them)."""
    out = Counter(a)
    out.subtract(b)
    return out


def count_case(g: Guest, picoq_model: Path, tflite: Path | None, isa: str, check: bool) -> dict:
    """One inference's counts per runtime (and per address, for --by-function)."""
    runs = {reps: g.traced(picoq_model, tflite, isa, reps) for reps in ((1, 2, 3) if check else (1, 2))}
    one = split(minus(runs[2], runs[1]), g.maps)
    res = {"per_pc": one, "totals": {r: sum(one[r].values()) for r in RUNTIMES}}
    if check:
        again = split(minus(runs[3], runs[2]), g.maps)
        res["check"] = {r: sum(again[r].values()) for r in RUNTIMES}
    return res


def macs(picoq_model: Path) -> str:
    text = guest.run(
        [sys.executable, "-c", "from picoq.converter.cli import main; main()", "inspect", str(picoq_model)]
    )
    m = re.search(r"total: ([\d,]+) MACs", text)
    return m.group(1) if m else "?"


def print_functions(
    model: str, cpu: str, isa: str, per_pc: dict[str, Counter[int]], maps: list[Mapping], top: int
) -> dict:
    out = {}
    for r in RUNTIMES:
        funcs = by_function(per_pc[r], [m for m in maps if runtime_of(m) == r], NM)
        total = sum(per_pc[r].values())
        label = f"picoq ({isa})" if r == "picoq" else "LiteRT"
        if total == 0:
            continue
        print(f"\n{model} on {cpu}, {label}: {total:,d} instructions per inference; top {top} functions")
        for name, n in funcs.most_common(top):
            print(f"{n:14,d} {100 * n / total:6.2f}%  {name}")
        out[r] = dict(funcs.most_common())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="\n".join(__doc__.splitlines()[4:8]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("models", nargs="*", type=Path, help=".tflite files (default: the MLPerf Tiny ones)")
    ap.add_argument("--only", nargs="+", choices=list(DEFAULT), help="some of the default models")
    ap.add_argument(
        "--work", type=Path, default=Path("/tmp/picoq_aarch64"), help="downloads and builds (cached)"
    )
    ap.add_argument("--cpu", nargs="+", default=CPUS, help=f"QEMU CPU models (default: {' '.join(CPUS)})")
    ap.add_argument(
        "--isa", default="", help="picoq ISAs, comma-separated (default: the one it picks per CPU)"
    )
    ap.add_argument("--litert", default=LITERT, help=f"the LiteRT wheel to download (default {LITERT})")
    ap.add_argument("--no-litert", action="store_true", help="count picoq alone")
    ap.add_argument("--check", action="store_true", help="also run three inferences: 3-2 must equal 2-1")
    ap.add_argument("--by-function", action="store_true", help="instructions per function, per runtime")
    ap.add_argument("--top", type=int, default=25, help="functions shown with --by-function")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args()
    models = args.models or [MODELS / f"{DEFAULT[k]}.tflite" for k in (args.only or DEFAULT)]
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    root = guest.arm64_root(work)
    guest.build_picoq(work, root)
    site = guest.litert_site(work, args.litert)
    from picoq.converter import convert

    converted = {}
    for src in models:
        converted[src] = work / (src.stem + ".picoq")
        convert(str(src), str(converted[src]))
    settings = {
        "litert": args.litert,
        "qemu": guest.run(["qemu-aarch64", "--version"]).splitlines()[0],
        "git": guest.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"]).strip(),
        "counted": "picoq run(x); LiteRT set_tensor+invoke+get_tensor; (2 inferences) - (1 inference)",
    }
    results = []
    head = f"{'model':24s} {'MACs':>11s} {'cpu':12s} {'isa':9s} {'picoq':>12s} {'LiteRT':>12s} {'picoq/LiteRT':>12s}"
    print(head + ("   check (3-2 picoq, LiteRT)" if args.check else ""), flush=True)
    for cpu in args.cpu:
        g = Guest(work, cpu, site, converted[models[0]], models[0])
        isas = args.isa.split(",") if args.isa else [g.best_isa]
        for src in models:
            mac = macs(converted[src])
            for k, isa in enumerate(isas):
                with_litert = k == 0 and not args.no_litert
                res = count_case(g, converted[src], src if with_litert else None, isa, args.check)
                p, lt = res["totals"]["picoq"], res["totals"]["litert"]
                row = {"model": src.stem, "macs": mac, "cpu": cpu, "isa": isa, "picoq": p}
                row |= {"litert": lt, "ratio": p / lt} if with_litert else {}
                line = f"{src.stem:24s} {mac:>11s} {cpu:12s} {isa:9s} {p:12,d}"
                line += f" {lt:12,d} {p / lt:12.3f}" if with_litert else f" {'-':>12s} {'-':>12s}"
                if args.check:
                    row["check"] = res["check"]
                    c = res["check"]
                    line += f"   {c['picoq']:,d}, {c['litert']:,d}"
                print(line, flush=True)
                if args.by_function:
                    row["by_function"] = print_functions(src.stem, cpu, isa, res["per_pc"], g.maps, args.top)
                results.append(row)
                if args.json:  # after each row: a long run stopped early keeps what it counted
                    args.json.write_text(json.dumps({"settings": settings, "results": results}, indent=1))


if __name__ == "__main__":
    main()
