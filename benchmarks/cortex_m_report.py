"""The Cortex-M benchmark's text tables (benchmarks/cortex_m.py): per model, each kernel set's
instructions per inference, flash, RAM and stack; then the instructions per op type."""

from __future__ import annotations

from typing import Any

BASE = "dsp"  # the ratios are dsp / other set: < 1 means the DSP kernels run fewer instructions


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a is not None and b else "-"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Columns padded to their widest cell: the first left-aligned, the numbers right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join([r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:], widths[1:]))])
        for r in [header, *rows]
    ]


def model_table(short: str, res: dict[str, Any]) -> list[str]:
    sets = res["sets"]
    base = sets.get(BASE, {}).get("instructions")
    header = ["set", "instructions", f"{BASE}/set", "flash kernels", "flash model", "flash total"]
    header += ["arena", ".bss", ".data", "stack"]
    rows = []
    for name, r in sets.items():
        rows.append(
            [name, f"{r['instructions']:,}", _ratio(base, r["instructions"]), f"{r['flash_kernels']:,}"]
            + [f"{r['flash_model']:,}", f"{r['flash_total']:,}", f"{r['arena']:,}", f"{r['bss']:,}"]
            + [f"{r['data']:,}", f"{r['stack']:,}"]
        )
    n_ops = len(res["ops"])
    verdict = "identical" if res["outputs_identical"] else "DIFFERENT"
    same_ref = "equal" if res["output_matches_interpreter"] else "NOT equal"
    out = [f"{short} ({res['file']}, {n_ops} ops)", *_table(header, rows)]
    out.append(
        f"  output bytes: {verdict} across {', '.join(sets)} on the same input; "
        f"{same_ref} to the picoq interpreter's (reference kernels)"
    )
    if res.get("sets_left_out"):
        out.append(
            f"  left out: {', '.join(res['sets_left_out'])} (no {res.get('variant')} kernels in the set: "
            "it would run picoq's portable ones)"
        )
    for name, r in sets.items():
        if "fallback_calls_per_inference" in r:
            calls = r["fallback_calls_per_inference"]
            out.append(
                f"  {name}: {sum(calls)} op calls per inference ran picoq's reference code instead "
                f"(pq_cmsis_fallbacks: {calls}); its flash kernels include {r['flash_kernels_fallback']:,} "
                "bytes of that code, linked for the fallbacks"
            )
        t = r.get("trace_check")
        if t:
            ok = "agree exactly" if t["agree"] else f"DISAGREE (ops {t['ops_differing']})"
            out.append(
                f"  exec trace, {name}: {t['trace']:,} instructions per inference, "
                f"timer {t['timer']:,}; {t['ops_compared']} ops compared: {ok}"
            )
    return out


def op_type_table(short: str, res: dict[str, Any]) -> list[str]:
    """Instructions per op type (the ops that run code: a RESHAPE has none), the largest first."""
    sets = res["sets"]
    timed = next(iter(sets.values()))["ops"]
    types: dict[str, list[str]] = {}
    for op in res["ops"]:
        if str(op["index"]) in timed:
            types.setdefault(op["type"], []).append(str(op["index"]))
    totals = {t: {n: sum(r["ops"][i] for i in idx) for n, r in sets.items()} for t, idx in types.items()}
    others = [n for n in sets if n != BASE] if BASE in sets else []
    header = ["op type", "ops", *sets, *(f"{BASE}/{n}" for n in others)]

    def row(label: str, count: str, values: dict[str, int]) -> list[str]:
        ratios = [_ratio(values[BASE], values[n]) for n in others]
        return [label, count, *(f"{values[n]:,}" for n in sets), *ratios]

    rows = [
        row(t, str(len(types[t])), v) for t, v in sorted(totals.items(), key=lambda kv: -max(kv[1].values()))
    ]
    op_sum = {n: sum(r["ops"].values()) for n, r in sets.items()}
    rows.append(row("all ops", str(len(timed)), op_sum))
    rows.append(row("outside ops", "", {n: r["instructions"] - op_sum[n] for n, r in sets.items()}))
    rows.append(row("inference", "", {n: r["instructions"] for n, r in sets.items()}))
    return [f"{short}: instructions per op type", *_table(header, rows)]


def per_op_table(short: str, res: dict[str, Any]) -> list[str]:
    sets = res["sets"]
    header = ["op", "type", *sets]
    rows = []
    for op in res["ops"]:
        key = str(op["index"])
        if key in next(iter(sets.values()))["ops"]:
            rows.append([str(op["index"]), op["type"], *(f"{r['ops'][key]:,}" for r in sets.values())])
    return [f"{short}: instructions per op", *_table(header, rows)]


def to_text(results: dict[str, Any], per_op: bool = False) -> str:
    s = results["settings"]
    out = [
        f"Cortex-M4 (QEMU mps2-an386, -icount shift=0), -{s['opt']}, {' '.join(s['arch'])}; "
        f"{s['passes']} pass(es) per count ({'exact' if s['exact'] else 'each count within 80 instructions'}); "
        f"one random input per model (int16 for 16x8) (seed {s['seed']})",
        results["calibration"],
        "",
    ]
    for short, res in results["models"].items():
        out += model_table(short, res) + [""]
        out += op_type_table(short, res) + [""]
        if per_op:
            out += per_op_table(short, res) + [""]
    out += [
        "instructions: the call of NAME_invoke() (argument set-up, input copy, every op, output copy),",
        "  from the plain build; per op: the call of its kernel, from the profiled build (hooks' own",
        "  instructions subtracted); 'outside ops' = inference - all ops. dsp/set < 1: dsp runs fewer.",
        "flash: .text+.rodata+.data; kernels = the kernel code the model links (linker map, after",
        "  --gc-sections); model = weights, parameters and NAME_invoke(); total = the whole ELF",
        "  (also the benchmark harness, libc's memmove/memcpy and the embedded test input).",
        "RAM: arena = NAME_ARENA_SIZE of that build; .bss includes the arena; stack = high-water mark.",
    ]
    return "\n".join(out)
