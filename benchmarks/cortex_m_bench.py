"""One model on the Cortex-M benchmark: convert the .tflite, export it as C, then for each kernel
set build two firmwares (plain: the count per inference, flash, RAM, stack; profiled: per op),
run both under QEMU, and check that every set's output bytes are the same as the others' and
as the picoq interpreter's reference kernels' on the same input. Optionally checks the timer's
counts against QEMU's exec trace (cortex_m_trace.py) on the same firmware.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from cortex_m_build import Compiler, KernelSet, Target, build
from cortex_m_qemu import Calibration, Counts, calibration, counts, run_firmware
from cortex_m_size import sizes
from cortex_m_trace import marker_entries, trace_counts
from machine import REPO

from picoq.converter import convert
from picoq.converter.export_c import export_c
from picoq.runtime import Interpreter, read_model
from picoq.runtime.format import OPS

VARIANTS = ("int8", "16x8", "int4")


@dataclass
class Settings:
    comp: Compiler
    sets: list[KernelSet]
    work: Path
    passes: int  # 40: exact counts; 1: each within 80 instructions
    seed: int
    timeout: float


@dataclass
class Model:
    short: str
    target: Target  # the export folder, its C name, the .picoq file, the input
    ops: list[dict[str, Any]]
    hooked: list[int]  # ops that have PQ_OP_BEGIN/END (a RESHAPE has no code)
    reference: bytes  # the output of picoq's interpreter, reference kernels


def variant_tflite(tflite: bytes, variant: str) -> bytes:
    """The .tflite of a variant: int8 as it is; 16x8 (int16 activations) and int4 (packed int4
    weights) derived from it by the tests' derive_variant, which tflite-micro runs."""
    if variant == "int8":
        return tflite
    if variant not in VARIANTS:
        raise ValueError(f"variant {variant!r}: one of {', '.join(VARIANTS)}")
    if str(REPO / "tests") not in sys.path:
        sys.path.insert(0, str(REPO / "tests"))
    from support.tflite_variants import derive_variant  # needs tflite-micro (a test dependency)

    if variant == "16x8":
        return derive_variant(tflite, activations="int16")
    return derive_variant(tflite, weights="int4")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def prepare(short: str, path: Path, s: Settings, variant: str = "int8") -> Model:
    """Convert (the variant of) the model and export it; its fixed random input (seeded, over
    the input dtype's whole range) and the reference output."""
    work = s.work / short
    work.mkdir(parents=True, exist_ok=True)
    pq = convert(variant_tflite(path.read_bytes(), variant))
    m = read_model(pq)
    name = re.sub(r"\W", "_", short.lower())
    t = Target(work / f"{name}_fw", name, work / f"{name}.picoq", len(m.ops), work / "inputs.bin")
    t.picoq.write_bytes(pq)
    export_c(pq, t.folder, name)
    model_c = (t.folder / f"{name}_model.c").read_text()
    it = Interpreter(pq, kernels="reference")
    dtype = np.dtype(it.input_details[0]["dtype"])  # int8, or int16 for a 16x8 model
    info = np.iinfo(dtype)
    x = np.random.default_rng(s.seed).integers(
        info.min, info.max + 1, size=it.input_details[0]["shape"], dtype=dtype
    )
    t.input_bin.write_bytes(x.astype(dtype.newbyteorder("<")).tobytes())  # the Cortex-M is little-endian
    out_le = np.dtype(it.output_details[0]["dtype"]).newbyteorder("<")
    return Model(
        short=short,
        target=t,
        ops=[{"index": op.index, "type": OPS[op.opcode].name, "name": op.name} for op in m.ops],
        hooked=sorted(int(i) for i in re.findall(r"PQ_OP_BEGIN\((\d+)\)", model_c)),
        # the output's own dtype, little-endian: the bytes the firmware prints
        reference=np.asarray(it.run(x), dtype=it.output_details[0]["dtype"]).astype(out_le).tobytes(),
    )


def bench_set(model: Model, kset: KernelSet, s: Settings, trace: bool) -> tuple[dict[str, Any], Calibration]:
    out = s.work / model.short / kset.name
    tc = s.comp.tc
    fw = {
        profile: build(s.comp, model.target, kset, out / kind, profile)
        for profile, kind in ((False, "plain"), (True, "profiled"))
    }
    plain = run_firmware(tc, fw[False].elf, s.passes, True, s.timeout)
    cal = calibration(plain)
    prof = run_firmware(tc, fw[True].elf, s.passes, False, s.timeout)
    total, per_op = counts(plain, model.hooked), counts(prof, model.hooked)
    result: dict[str, Any] = {
        "instructions": int(total.invoke),
        "instructions_profiled_build": int(per_op.invoke),
        "ops": {str(i): int(n) for i, n in per_op.ops.items()},
        **sizes(tc, fw[False]),
        "arena": plain.one("arena bytes"),
        "stack": plain.one("stack bytes used by a pass"),
        "stack_whole_run": plain.one("stack bytes used"),
        "output": plain.output.hex(),
        "same_output_every_pass": plain.one("pass mismatches") == 0 and prof.one("pass mismatches") == 0,
        "profiled_output_same": prof.output == plain.output,
    }
    if "fallback calls" in plain.info:  # the set's calls that ran picoq's reference code instead
        result["fallback_calls_per_inference"] = [n // s.passes for n in plain.info["fallback calls"]]
    if trace:
        result["trace_check"] = trace_check(model, fw[False].elf, fw[True].elf, total, per_op, s)
        result["trace_check"]["agree"] &= result["trace_check"].pop("output") == plain.output
    return result, cal


def trace_check(
    model: Model, plain: Path, prof: Path, total: Counts, per_op: Counts, s: Settings
) -> dict[str, Any]:
    """The same two firmwares under the exec trace: the counts must be the timer's, exactly
    (and the output the same in both traced runs, returned for the caller to compare)."""
    tc = s.comp.tc
    ev_plain, out_plain = marker_entries(tc, plain, s.timeout)
    ev_prof, out_prof = marker_entries(tc, prof, s.timeout)
    t_total = trace_counts(ev_plain, False, model.hooked)
    t_ops = trace_counts(ev_prof, True, model.hooked)
    differ = [i for i in model.hooked if t_ops.ops[i] != per_op.ops[i]]
    return {
        "timer": int(total.invoke),
        "trace": int(t_total.invoke),
        "ops_compared": len(model.hooked),
        "ops_differing": differ,
        "agree": t_total.invoke == total.invoke and not differ and out_plain == out_prof,
        "output": out_plain,
    }


def bench_model(short: str, path: Path, s: Settings, trace: bool, variant: str = "int8") -> dict[str, Any]:
    log(f"{short}: converting and exporting {path.name} ({variant})")
    model = prepare(short, path, s, variant)
    result: dict[str, Any] = {
        "file": path.name,
        "variant": variant,
        "ops": model.ops,
        "input_seed": s.seed,
        "sets": {},
    }
    for kset in s.sets:
        log(f"{short}: {kset.name}, -{s.comp.tc.opt}: building and running")
        result["sets"][kset.name], cal = bench_set(model, kset, s, trace)
        result.setdefault("calibration", cal.text())
    outputs = {r["output"] for r in result["sets"].values()}
    result["outputs_identical"] = len(outputs) == 1 and all(
        r["same_output_every_pass"] and r["profiled_output_same"] for r in result["sets"].values()
    )
    result["output_matches_interpreter"] = outputs == {model.reference.hex()}
    return result
