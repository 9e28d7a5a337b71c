"""Instructions picoq and LiteRT (XNNPACK) execute per inference on aarch64, counted under QEMU.

No aarch64 board is needed, and nothing is timed (QEMU timings mean nothing): the count is a
proxy for the work each runtime's kernels do.

    python aarch64_icount.py                          # the 4 MLPerf Tiny models x 5 CPU models
    python aarch64_icount.py --only KWS --cpu cortex-a53 max,sme=off --json out.json
    python aarch64_icount.py --only AD --cpu cortex-a76 --by-function --top 20
    python aarch64_icount.py --cpu max --isa portable,neon --no-litert MODEL.tflite
    python aarch64_icount.py --variant 16x8 --cpu cortex-a53 cortex-a76  # the 16x8 variants

Default models: the MLPerf Tiny KWS, VWW, IC (ResNet-8) and AD models in ../shared; default
CPU models cortex-a53, cortex-a72 (no dot product), cortex-a76 (dot product), max (with SME
and i8mm: XNNPACK then runs SME kernels) and max,sme=off (i8mm). Needs aarch64-linux-gnu-gcc
and qemu-aarch64 (firmware_examples/install_toolchain.sh), apt-get and dpkg (Debian), Cython,
and network access on the first run (Debian's arm64 packages and LiteRT's aarch64 wheel are
downloaded into --work and cached there; aarch64_guest.py builds the guest).

What is counted: per CPU model, one guest process loads the runtimes and runs, per model,
picoq at the ISA it picks on that CPU (or each of --isa), `Interpreter.run(x)`, and LiteRT
(`ai_edge_litert`, default XNNPACK delegate, num_threads=1) `set_tensor` + `invoke` +
`get_tensor`, twice each, on the same seeded random int8 input. QEMU's exec trace is limited
to the executable mappings of each runtime's own shared objects (picoq's extension; LiteRT's
.so files in its wheel) and of a one-instruction marker function that the guest calls after
each load and each inference: numpy, Python, libc and libstdc++ are outside the range. The
second inference's segment, in the runtime's own code, is the count: the same as (a run with
two inferences) - (a run with one), without paying QEMU's start and the imports per count
(the loading, the packing and any first-run work fall in other segments). `--check` runs a
third inference, which must count the same. aarch64_trace.py reads the trace. `--by-function`
gives, for each runtime, the instructions per function (picoq's extension has its full
symbol table; LiteRT's libraries keep theirs, else dynamic symbols or "?"): each translated
block counts in the function holding its first instruction, so inlined code counts in its
caller, and PLT stubs (calls out to libc) show as such.

`--variant 16x8|int4` rewrites each model first (tests/support/tflite_variants.derive_variant:
int16 activations with int8 weights, or int4 weights) and runs both runtimes on the rewritten
.tflite. LiteRT runs 16x8 models on its builtin kernels (XNNPACK does not take them) and
int4-weight models with XNNPACK where it takes them: whatever LiteRT does is the peer.
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
from aarch64_trace import Mapping, by_function, count_segments

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT.parent / "shared" / "models" / "mlperf_tiny"
DEFAULT = {"KWS": "kws_ref_model", "VWW": "vww_96_int8", "IC": "pretrainedResnet_quant", "AD": "ad01_int8"}
CPUS = ["cortex-a53", "cortex-a72", "cortex-a76", "max", "max,sme=off"]
LITERT = "ai-edge-litert==2.3.0"
NM = "aarch64-linux-gnu-nm"
RUNTIMES = ("picoq", "litert")
VARIANTS = {"int8": {}, "16x8": {"activations": "int16"}, "int4": {"weights": "int4"}}


def variant_model(src: Path, variant: str, work: Path) -> Path:
    """`src` itself for int8, else its `variant` rewrite (tests/support/tflite_variants) in work."""
    if variant == "int8":
        return src
    sys.path.insert(0, str(ROOT / "tests"))
    from support.tflite_variants import derive_variant

    out = work / f"{src.stem}_{variant}.tflite"
    out.write_bytes(derive_variant(src.read_bytes(), **VARIANTS[variant]))
    return out


def runtime_of(m: Mapping) -> str:
    if "/ai_edge_litert/" in m.path:
        return "litert"
    return "mark" if m.path.endswith("libicount_mark.so") else "picoq"


class Guest:
    """The built guest on one CPU model: its probe run (the mappings, picoq's pick, the marker's
    address), then traced runs."""

    def __init__(self, work: Path, cpu: str, site: Path):
        self.work, self.cpu, self.site = work, cpu, site
        self.croot = guest.cpu_root(work, work / "root", cpu)
        info = self.run({"models": [], "isas": [], "reps": 0})
        self.best_isa: str = info["best_isa"]
        self.mark: int = info["mark"]
        self.maps = [m for m in map(Mapping.parse, info["maps"]) if m is not None]
        if {runtime_of(m) for m in self.maps} != {*RUNTIMES, "mark"}:
            raise RuntimeError(f"the guest did not map both runtimes' code and the marker: {info['maps']}")

    def run(self, spec: dict, trace: bool = False) -> dict:
        """Run the guest with `spec`; its report, plus with `trace` the trace's "segments"
        (instructions per block address between marks, in both runtimes' code)."""
        cmd = guest.guest_command(self.work, self.croot, self.cpu, [self.site], spec)
        r, w = os.pipe()  # the trace, apart from the guest's own stderr
        if trace:
            ranges = ",".join(f"{m.start:#x}..{m.end - 1:#x}" for m in self.maps)
            cmd[1:1] = ["-d", "in_asm,exec,nochain", "-dfilter", ranges, "-D", f"/dev/fd/{w}"]
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            p = subprocess.Popen(cmd, stdout=out, stderr=err, pass_fds=(w,), text=True)
            os.close(w)
            try:
                with open(r, buffering=1 << 20) as log:
                    segments = count_segments(log, frozenset({self.mark})) if trace else log.read()
            except BaseException:
                p.kill()  # else it blocks on the full pipe
                p.wait()
                raise
            if p.wait() != 0:
                err.seek(0)
                raise RuntimeError(f"guest failed on {self.cpu}: {cmd[-1]}\n{err.read()[-3000:]}")
            out.seek(0)
            info = json.loads(out.read().splitlines()[-1])
        if trace:
            maps = [m for m in map(Mapping.parse, info["maps"]) if m is not None]
            if maps != self.maps or info["mark"] != self.mark:
                raise RuntimeError("the runtimes' code moved between runs: the trace ranges are wrong")
            info["segments"] = segments
        return info


def per_inference(info: dict, maps: list[Mapping]) -> dict[tuple[str, str, str], list[Counter[int]]]:
    """(model, runtime, isa) -> per inference, its instructions per block address in that
    runtime's code (the other runtime's code does not count: it does not run there anyway)."""
    mine = {r: [m for m in maps if runtime_of(m) == r] for r in RUNTIMES}
    out: dict[tuple[str, str, str], list[Counter[int]]] = {}
    for label, seg in zip(info["labels"], info["segments"]):
        if label is None:
            continue
        model, runtime, isa, _ = label
        own = Counter({pc: n for pc, n in seg.items() if any(pc in m for m in mine[runtime])})
        out.setdefault((model, runtime, isa), []).append(own)
    return out


def model_macs(picoq_model: Path) -> str:
    text = guest.run(
        [sys.executable, "-c", "from picoq.converter.cli import main; main()", "inspect", str(picoq_model)]
    )
    m = re.search(r"total: ([\d,]+) MACs", text)
    return m.group(1) if m else "?"


def print_functions(title: str, counts: Counter[int], maps: list[Mapping], top: int) -> dict[str, int]:
    """One runtime's instructions per inference by "library: function": the top `top` and the
    total per library printed, all that ran returned."""
    funcs = by_function(counts, maps, NM)
    libs: Counter[str] = Counter()
    for name, n in funcs.items():
        libs[name.split(": ", 1)[0]] += n
    total = sum(counts.values())
    print(f"\n{title}: {total:,d} instructions per inference")
    print("  by library: " + ", ".join(f"{lib} {n:,d}" for lib, n in libs.most_common() if n))
    for name, n in funcs.most_common(top):
        print(f"{n:14,d} {100 * n / max(total, 1):6.2f}%  {name}")
    return {name: n for name, n in funcs.most_common() if n}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="\n".join(__doc__.splitlines()[4:9]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("models", nargs="*", type=Path, help=".tflite files (default: the MLPerf Tiny ones)")
    ap.add_argument("--only", nargs="+", choices=list(DEFAULT), help="some of the default models")
    ap.add_argument(
        "--variant",
        choices=list(VARIANTS),
        default="int8",
        help="rewrite the models first (default int8: as they are)",
    )
    ap.add_argument(
        "--work", type=Path, default=Path("/tmp/picoq_aarch64"), help="downloads, builds (cached)"
    )
    ap.add_argument("--cpu", nargs="+", default=CPUS, help=f"QEMU CPU models (default: {' '.join(CPUS)})")
    ap.add_argument("--isa", default="-", help="picoq ISAs, comma-separated (default -: its pick per CPU)")
    ap.add_argument("--litert", default=LITERT, help=f"the LiteRT wheel to download (default {LITERT})")
    ap.add_argument("--no-litert", action="store_true", help="count picoq alone")
    ap.add_argument("--check", action="store_true", help="a third inference each: must count as the second")
    ap.add_argument("--by-function", action="store_true", help="instructions per function, per runtime")
    ap.add_argument("--top", type=int, default=25, help="functions shown with --by-function")
    ap.add_argument("--json", type=Path, help="write the results here (after each CPU model)")
    args = ap.parse_args()
    models = args.models or [MODELS / f"{DEFAULT[k]}.tflite" for k in (args.only or DEFAULT)]
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    root = guest.arm64_root(work)
    guest.build_picoq(work, root)
    site = guest.litert_site(work, args.litert)
    from picoq.converter import convert

    spec: dict = {"models": [], "isas": args.isa.split(","), "reps": 3 if args.check else 2}
    macs = {}
    for src in (variant_model(m, args.variant, work) for m in models):
        converted = work / (src.stem + ".picoq")
        convert(str(src), str(converted))
        macs[src.stem] = model_macs(converted)
        tflite = None if args.no_litert else str(src.resolve())
        spec["models"].append({"name": src.stem, "picoq": str(converted), "tflite": tflite})
    settings = {
        "litert": args.litert,
        "qemu": guest.run(["qemu-aarch64", "--version"]).splitlines()[0],
        "git": guest.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"]).strip(),
        "variant": args.variant,
        "counted": "picoq run(x); LiteRT set_tensor+invoke+get_tensor; the second inference of each",
    }
    results = []
    head = f"{'model':24s} {'MACs':>11s} {'cpu':12s} {'isa':9s} {'picoq':>12s} {'LiteRT':>12s} {'picoq/LiteRT':>12s}"
    print(head + ("   3rd inference (picoq, LiteRT)" if args.check else ""), flush=True)
    for cpu in args.cpu:
        g = Guest(work, cpu, site)
        counts = per_inference(g.run(spec, trace=True), g.maps)
        for m in spec["models"]:
            name = m["name"]
            lt = counts.get((name, "litert", "xnnpack"))
            for (model, runtime, isa), pq in counts.items():
                if model != name or runtime != "picoq":
                    continue
                p = sum(pq[1].values())
                row = {"model": name, "macs": macs[name], "cpu": cpu, "isa": isa, "picoq": p}
                line = f"{name:24s} {macs[name]:>11s} {cpu:12s} {isa:9s} {p:12,d}"
                if lt:
                    row |= {"litert": sum(lt[1].values()), "ratio": p / sum(lt[1].values())}
                    line += f" {row['litert']:12,d} {row['ratio']:12.3f}"
                else:
                    line += f" {'-':>12s} {'-':>12s}"
                if args.check:
                    row["third"] = {
                        "picoq": sum(pq[2].values()),
                        "litert": sum(lt[2].values()) if lt else None,
                    }
                    line += f"   {row['third']['picoq']:,d}, {row['third']['litert'] or 0:,d}"
                print(line, flush=True)
                if args.by_function:
                    title = f"{name} on {cpu}, picoq ({isa})"
                    row["by_function"] = {"picoq": print_functions(title, pq[1], g.maps, args.top)}
                    if lt:
                        title = f"{name} on {cpu}, LiteRT"
                        row["by_function"]["litert"] = print_functions(title, lt[1], g.maps, args.top)
                results.append(row)
        if args.json:  # after each CPU model: a long run stopped early keeps what it counted
            args.json.write_text(json.dumps({"settings": settings, "results": results}, indent=1))


if __name__ == "__main__":
    main()
