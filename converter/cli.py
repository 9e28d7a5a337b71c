"""The `picoq` command line: demo, convert, run, inspect, export-c, compare.

Exit codes: 0 success, 1 the work failed (bad model, bad input), 2 usage error.
Errors print as one line saying what to do; `--debug` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

EXAMPLES = {
    "demo": "picoq demo -o demo_out",
    "convert": "picoq convert kws_ref_model.tflite -o kws.picoq",
    "run": "picoq run kws.picoq input.npy -o output.npy",
    "inspect": "picoq inspect kws.picoq",
    "export-c": "picoq export-c kws.picoq -o kws_fw/ --name kws",
    "compare": "picoq compare model.onnx model.picoq --data x.npy --plot errors.png",
}


def _parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="picoq",
        description="Integer-only int8 inference: convert models to .picoq, run them bit-exact with TFLite Micro.",
        epilog="examples:\n" + "\n".join(f"  {e}" for e in EXAMPLES.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = top.add_subparsers(dest="verb", metavar="VERB")

    def verb(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=f"example:\n  {EXAMPLES[name]}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        # SUPPRESS: `picoq --debug VERB` must not be reset by the verb's own default.
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show full tracebacks")
        return p

    p = verb(
        "demo",
        "the whole journey in seconds on a digits CNN shipped with picoq: convert a float ONNX model "
        "with calibration, run it, accuracy / size float against int8, latency, export C",
    )
    p.add_argument("-o", "--output", default="picoq_demo", help="folder to write (default: ./picoq_demo)")

    p = verb(
        "convert",
        "convert an int8 .tflite model, or a float .onnx model with calibration data, into a .picoq file",
    )
    p.epilog += (
        "\n  picoq convert model.onnx -o model.picoq --calib calib.npy [--calib-method mse] [--per-tensor]"
        "\n  picoq convert model.onnx -o small.picoq --calib calib.npy --weights auto --flash-budget 40KB"
        "\n  picoq convert model.onnx -o fine.picoq --calib calib.npy --activations int16"
    )
    p.add_argument("model", help="source model (.tflite, or float .onnx)")
    p.add_argument("-o", "--output", required=True, help="the .picoq file to write")
    p.add_argument(
        "--calib", help="ONNX: calibration inputs, a .npy/.npz file or a folder of them (~100 samples)"
    )
    p.add_argument(
        "--calib-method",
        choices=("minmax", "percentile", "mse"),
        default="minmax",
        help="ONNX: how activation ranges are chosen (default: minmax)",
    )
    p.add_argument("--percentile", type=float, default=99.99, help="for --calib-method percentile (99.99)")
    p.add_argument(
        "--per-tensor", action="store_true", help="ONNX: one weight scale per tensor, not per channel"
    )
    p.add_argument(
        "--weights",
        choices=("int8", "int4", "auto"),
        default="int8",
        help="ONNX: weight precision of conv / fully connected layers: int8 (default), int4 (packed, "
        "rounded with the calibration data), or auto (int4 on the least sensitive layers until the "
        "constants fit --flash-budget)",
    )
    p.add_argument(
        "--activations",
        choices=("int8", "int16", "auto"),
        default="int8",
        help="ONNX: int8 (default), int16 (16x8: int16 activations, int8 weights, every op), or auto "
        "(int16 when every op has a 16x8 kernel and the arena fits --ram-budget)",
    )
    p.add_argument(
        "--flash-budget", type=_size, metavar="SIZE", help="ONNX: bytes of constants allowed (40KB, 1.5MB)"
    )
    p.add_argument("--ram-budget", type=_size, metavar="SIZE", help="ONNX: arena bytes allowed (64KB)")
    p.add_argument(
        "--rounding",
        choices=("gptq", "nearest"),
        default="gptq",
        help="ONNX: how int4 weights are rounded: gptq (default: error-compensating, uses the "
        "calibration data) or nearest",
    )
    p.add_argument(
        "--bias-correction",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="ONNX: subtract from each conv / fully connected bias the mean output error its quantized "
        "weights make on the calibration data (empirical bias correction). Helps coarse weights: int4, "
        "--per-tensor, depthwise layers; costs one more pass over the calibration data (default: off)",
    )
    p.add_argument(
        "--equalize",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="ONNX: cross-layer equalization: rescale the channels of consecutive conv / depthwise / "
        "fully connected layers (through ReLU or nothing; not ReLU6, sigmoid, ...) so that their "
        "weight ranges match; the float model is unchanged. Kept only if the int8 model's SQNR on "
        "calibration samples rises by 0.5 dB or more (the report says). Helps nets whose channels' "
        "ranges differ by orders of magnitude (depthwise-heavy, ReLU), --per-tensor most (default: off)",
    )

    p = verb("run", "run a .picoq model on an input saved with numpy (.npy)")
    p.epilog += "\n  picoq run kws.picoq input.npy -o output.npy --threads 2"
    p.epilog += "\n  picoq run kws.picoq input.npy --profile"
    p.add_argument("model", help="the .picoq file")
    p.add_argument("input", help=".npy input: int8 (raw) or float (quantized with the input's scale)")
    p.add_argument("-o", "--output", help=".npy file for the output (default: print it)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="threads one inference may use (1-64, default 1): large conv / depthwise / fully "
        "connected layers are split among them; the output is the same",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="also print each op's median time (each op run alone --runs times), its kernel and share",
    )
    p.add_argument(
        "--runs", type=int, default=100, metavar="N", help="timed runs per op with --profile (default 100)"
    )

    p = verb("inspect", "show a .picoq model's ops, tensors, quantization, constant and arena bytes")
    p.add_argument("model", help="the .picoq file")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = verb(
        "export-c",
        "write a .picoq model as a C99 folder for firmware: const arrays, a generated NAME_invoke(), "
        "the kernels it needs",
    )
    p.add_argument("model", help="the .picoq file")
    p.add_argument("-o", "--output", required=True, help="folder to write (created if missing)")
    p.add_argument(
        "--name",
        default="model",
        help="C identifier prefixing the files, functions, arrays and macros (default: model)",
    )
    p = verb(
        "compare",
        "per-layer error of a .picoq model against its float ONNX source: each op's own (local) SQNR "
        "and the cumulative SQNR of its output, the layer causing the error first",
    )
    p.epilog += "\n  picoq compare model.onnx model.picoq --data x.npy --order cumulative --limit 10"
    p.add_argument("source", help="the float .onnx model the .picoq file was converted from")
    p.add_argument("model", help="the .picoq file")
    p.add_argument("--data", required=True, help="inputs to compare on: a .npy/.npz file or a folder of them")
    p.add_argument("--plot", help="also draw both SQNRs per layer into this .png (needs matplotlib)")
    p.add_argument("--limit", type=int, help="show only the first N rows")
    p.add_argument(
        "--order",
        choices=["local", "cumulative", "execution"],
        default="local",
        help="rows by local SQNR, worst first: the cause first (default); by cumulative SQNR, worst "
        "first (the late layers that inherited an error, the former order); or in execution order",
    )
    p.add_argument(
        "--no-local", dest="local", action="store_false", help="skip the per-op runs (cumulative SQNR only)"
    )
    p.add_argument("--samples", type=int, help="use at most the first N inputs of --data")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return top


_UNITS = {"": 1, "B": 1, "KB": 1024, "KIB": 1024, "K": 1024, "MB": 1 << 20, "MIB": 1 << 20, "M": 1 << 20}


def _size(text: str) -> int:
    """A byte count: 40000, 40KB, 40KiB (both 1024), 1.5MB."""
    import re

    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([A-Za-z]*)\s*", text)
    unit = m.group(2).upper() if m else ""
    if not m or unit not in _UNITS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size: use bytes or KB / MB (e.g. 40KB)")
    return int(float(m.group(1)) * _UNITS[unit])


def _variant_text(m, op) -> str:
    """The dtype variant that runs the op: int8, 16x8 (int16 activations) or int4 weights."""
    return {"s8": "int8", "s16": "16x8", "s4": "int4 w"}[op.variant]


def _convert(args) -> int:
    from picoq.converter import convert

    t0 = time.perf_counter()
    # the precision options reach convert() for every model: a .tflite refuses them by name
    options = {
        "weights": args.weights,
        "activations": args.activations,
        "flash_budget": args.flash_budget,
        "ram_budget": args.ram_budget,
        "bias_correction": args.bias_correction,
        "equalize": args.equalize,
    }
    if args.calib is not None or args.model.lower().endswith(".onnx"):
        options = {
            "calibration": args.calib,
            "method": args.calib_method,
            "per_tensor": args.per_tensor,
            "percentile": args.percentile,
            "progress": sys.stderr.isatty(),
            "weights": args.weights,
            "activations": args.activations,
            "flash_budget": args.flash_budget,
            "ram_budget": args.ram_budget,
            "rounding": args.rounding,
            "report": print,
            "bias_correction": args.bias_correction,
            "equalize": args.equalize,
        }
    data = convert(args.model, args.output, **options)
    from picoq.runtime import read_model

    m = read_model(data)
    print(
        f"wrote {args.output}: {len(data):,} bytes, {len(m.ops)} ops, arena {m.arena_size:,} bytes"
        f" (activations {m.activation_bytes:,}) ({time.perf_counter() - t0:.2f} s)"
    )
    return 0


def _run(args) -> int:
    from picoq.runtime import Interpreter

    it = Interpreter(args.model, num_threads=args.threads)
    x = np.load(args.input, allow_pickle=False)
    y = it.run(x)
    if args.output:
        np.save(args.output, y)
        print(f"wrote {args.output}: shape {y.shape}, dtype {y.dtype}")
    else:
        with np.printoptions(threshold=200):
            print(y)
    if args.profile:
        _print_profile(it, x, args.runs)
    return 0


def _print_profile(it, x, runs: int) -> None:
    """Per-op median latency table, slowest share visible at a glance, with MACs per ns."""
    if runs < 1:
        raise ValueError(f"--runs must be at least 1, not {runs}")
    rows = it.profile(x, runs=runs)
    total = sum(r["median_us"] for r in rows) or 1.0
    print(f"\nper-op medians ({runs} runs each, isa {it.isa}, {it.num_threads} thread(s)):")
    print(f"{'#':>3}  {'op':<18} {'kernel':<24} {'output shape':<18} {'us':>9} {'share':>6} {'GMAC/s':>7}")
    for r, op in zip(rows, it.model.ops):
        macs = op_macs(it.model, op)
        rate = f"{macs / (r['median_us'] * 1000.0):7.1f}" if macs and r["median_us"] > 0 else ""
        kernel = r["kernel"] + (f" [{r['split']}]" if r["split"] else "")
        print(
            f"{r['index']:>3}  {r['op']:<18} {kernel:<24} {str(r['output_shape']):<18} "
            f"{r['median_us']:9.2f} {100.0 * r['median_us'] / total:5.1f}% {rate}"
        )
    print(f"{'':>3}  {'sum of ops':<62} {total:9.2f}")


def op_macs(m, o) -> int:
    """Multiply-accumulates of one op (one inference): CONV_2D out_elems * kh * kw * cin_per_group,
    DEPTHWISE_CONV_2D out_elems * kh * kw, FULLY_CONNECTED batches * out * depth. Every other op
    counts 0: pooling, elementwise and data-movement ops cost about one step per output element."""
    out = int(np.prod(m.tensors[o.outputs[0]].shape))
    if o.name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        w = m.tensors[o.inputs[1]].shape  # OHWI (conv) or 1HWO (depthwise)
        return out * w[1] * w[2] * (w[3] if o.name == "CONV_2D" else 1)
    if o.name == "FULLY_CONNECTED":
        return out * m.tensors[o.inputs[1]].shape[-1]
    return 0


def _weight_bytes(m, o) -> int:
    return sum(m.tensors[i].nbytes for i in o.inputs if i >= 0 and m.tensors[i].is_const)


def _scratch(m, o) -> tuple[int, int] | None:
    """(arena offset, bytes) of an op's planned scratch; None without a SCRA section."""
    return None if m.scratch is None else m.scratch[o.index]


def _scratch_json(m, o) -> dict | None:
    s = _scratch(m, o)
    return None if s is None else {"arena_offset": s[0], "bytes": s[1]}


def model_summary(m) -> dict:
    """A JSON-friendly description of a ModelFile (used by `inspect`)."""
    tensors = []
    for t in m.tensors:
        q = None
        if t.scales.size == 1:
            q = {"scale": float(t.scales[0]), "zero_point": int(t.zero_points[0])}
        elif t.scales.size > 1:
            q = {"per_channel_axis": t.quant_axis, "channels": int(t.scales.size)}
        tensors.append(
            {
                "index": t.index,
                "name": t.name,
                "shape": list(t.shape),
                "dtype": t.dtype,
                "const": t.is_const,
                "bytes": t.nbytes,
                "arena_offset": None if t.is_const else t.offset,
                "quantization": q,
            }
        )
    ops = [
        {
            "index": o.index,
            "op": o.name,
            "inputs": list(o.inputs),
            "outputs": list(o.outputs),
            "params": o.params,
            "weight_bytes": _weight_bytes(m, o),
            "macs": op_macs(m, o),
            "scratch": _scratch_json(m, o),
        }
        for o in m.ops
    ]
    return {
        "name": m.name,
        "total_macs": sum(o["macs"] for o in ops),
        "file_bytes": m.file_size,
        "const_bytes": m.const_bytes,
        "arena_bytes": m.arena_size,  # the file's arena: the activations (legacy 1.1 files: and scratch)
        "activation_bytes": m.activation_bytes,  # what the reference kernels (firmware) need
        "max_scratch_bytes": m.scratch_bytes,  # legacy 1.1 files: the largest op's planned scratch
        "format_version": f"1.{m.version_minor}",
        "inputs": m.inputs,
        "outputs": m.outputs,
        "ops": ops,
        "tensors": tensors,
    }


def _quant_str(t) -> str:
    if t.scales.size == 1:
        return f"scale {float(t.scales[0]):.6g} zp {int(t.zero_points[0])}"
    if t.scales.size > 1:
        return f"per-channel axis {t.quant_axis} ({t.scales.size})"
    return "-"


def _scratch_note(m) -> str:
    """How the fast kernels' scratch sits in the arena, in words (firmware needs none)."""
    if m.scratch is None:
        from picoq.runtime import best_isa
        from picoq.runtime._interp import plan_sizes

        isa = best_isa()
        sizes = plan_sizes(m, "fast", isa)
        return (
            f"0 in the file; the runtime places its fast kernels' scratch after the activations at\n"
            f"  load: {sizes['scratch_bytes']:,} bytes with {isa} here, an arena of {sizes['arena_bytes']:,}"
            " (firmware from export-c needs the activations only)"
        )
    return (
        f"{m.arena_size - m.activation_bytes:,} for the fast kernels' scratch (a legacy 1.1 plan, which\n"
        f"  today's runtime ignores; largest op {m.scratch_bytes:,} bytes; firmware from export-c needs"
        " the activations only)"
    )


def _inspect(args) -> int:
    from picoq.runtime import read_model

    with open(args.model, "rb") as f:
        m = read_model(f.read())
    if args.json:
        print(json.dumps(model_summary(m), indent=2))
        return 0
    print(f"model {m.name!r}: {len(m.ops)} ops, {len(m.tensors)} tensors")
    for kind, idxs in (("input", m.inputs), ("output", m.outputs)):
        for i in idxs:
            t = m.tensors[i]
            print(f"  {kind:6s} {t.name!r} {list(t.shape)} {t.dtype} {_quant_str(t)}")
    rows = [
        ("#", "op", "kernel", "output shape", "dtype", "scale", "zero pt", "weight bytes", "MACs", "scratch")
    ]
    for o in m.ops:
        y = m.tensors[o.outputs[0]]
        if y.scales.size == 1:
            scale, zp = f"{float(y.scales[0]):.6g}", str(int(y.zero_points[0]))
        else:
            scale, zp = ("per-channel", "-") if y.scales.size else ("-", "-")
        rows.append(
            (
                str(o.index),
                o.name,
                _variant_text(m, o),
                "x".join(map(str, y.shape)),
                y.dtype,
                scale,
                zp,
                f"{_weight_bytes(m, o):,}",
                f"{op_macs(m, o):,}",
                "-" if not _scratch(m, o) or not _scratch(m, o)[1] else f"{_scratch(m, o)[1]:,}",
            )
        )
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    right = {0, 5, 6, 7, 8, 9}
    print()
    for r in rows:
        cells = [c.rjust(w) if k in right else c.ljust(w) for k, (c, w) in enumerate(zip(r, widths))]
        print("  " + "  ".join(cells).rstrip())
    total = sum(op_macs(m, o) for o in m.ops)
    print(
        f"\n  total: {total:,} MACs   flash (constants) {m.const_bytes:,} bytes   arena {m.arena_size:,} bytes"
        f"   file {m.file_size:,} bytes"
    )
    print(f"  arena {m.arena_size:,} bytes = activations {m.activation_bytes:,} + {_scratch_note(m)}")
    print("  MACs count conv, depthwise and fully-connected multiply-accumulates; other ops count 0")
    return 0


def _export_c(args) -> int:
    from picoq.converter.export_c import export_c
    from picoq.converter.export_c_invoke import dsp_arena_bytes
    from picoq.runtime import read_model

    with open(args.model, "rb") as f:
        m = read_model(f.read())
    paths = export_c(m, args.output, args.name)
    print(f"wrote {args.output}: " + ", ".join(p.name for p in paths))
    act, dsp = m.activation_bytes, dsp_arena_bytes(m)
    prefix = args.name.upper()
    if dsp != act:
        print(
            f"{prefix}_ARENA_SIZE: {dsp:,} bytes on a core with the DSP extension (Cortex-M4/M7/M33/M55: "
            f"{act:,} of activations + {dsp - act:,} of kernel scratch), {act:,} elsewhere"
        )
    else:
        print(f"{prefix}_ARENA_SIZE: {act:,} bytes (activations; no kernel needs scratch)")
    print("build it with any C99 compiler; firmware_examples/host and firmware_examples/cortex-m show how")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.verb is None:
        parser.print_help()
        return 2
    from .compare import cli as _compare
    from .demo import cli as _demo

    handlers = {
        "demo": _demo,
        "convert": _convert,
        "run": _run,
        "inspect": _inspect,
        "export-c": _export_c,
        "compare": _compare,
    }
    try:
        return handlers[args.verb](args)
    except KeyboardInterrupt:
        print("picoq: interrupted", file=sys.stderr)
        return 1
    except (ValueError, OSError, ImportError, RuntimeError) as e:
        if args.debug:
            raise
        msg = str(e).strip()
        print(f"picoq {args.verb}: error: {msg}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
