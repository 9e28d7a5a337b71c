"""Precision beyond int8 on float models: output SQNR and constant bytes of int8, 16x8, int4
(nearest and GPTQ rounding) and the `--weights auto --flash-budget` mix, per model.

Models: the MLPerf Tiny architectures of tests/support/make_onnx_models.py (random weights,
BatchNorm; calibration and test inputs N(0, 1), as the float-model tests) and the digits CNN of
tests/digits_cnn.py (trained here with numpy on scikit-learn's digits; its calibration is the
whole training split, 1,347 images, its test the 450 held-out ones, and its table adds the test
accuracy).
The oracle is onnxruntime running the float model on the test inputs, which calibration never
sees; "weights only" is the float model run with int4 weights (the rounding's own error). "constants" is what the .picoq file holds for them (ModelFile.const_bytes: flash).

    python benchmarks/precision.py                      # every model (~10 min on 2 cores)
    python benchmarks/precision.py --only KWS digits --budget 0.65
    python benchmarks/precision.py --json benchmarks/results/precision.json
    python benchmarks/precision.py --bias-correction both   # each configuration also with bias correction
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))

from picoq.converter import convert  # noqa: E402
from picoq.converter.float_ops import sqnr_db  # noqa: E402
from picoq.runtime import Interpreter, read_model  # noqa: E402

# short name -> tests/support/make_onnx_models.py builder
ARCHS = {"KWS": "ds_cnn", "IC": "resnet8", "VWW": "mobilenet_v1_025", "AD": "fc_autoencoder"}
NAMES = (*ARCHS, "digits")

EXAMPLES = """examples:
  python benchmarks/precision.py
  python benchmarks/precision.py --only AD --calib 500 --budget 0.65 0.8
"""


def _arch_data(name: str, n_calib: int, n_test: int, seed: int):
    from support.make_onnx_models import MODELS, input_shape
    from support.onnx_models import ort_run

    m = MODELS[ARCHS[name]]()
    shape = input_shape(m)
    rng = np.random.default_rng(seed)
    calib = rng.normal(size=(n_calib, *shape[1:])).astype(np.float32)
    x = rng.normal(size=(n_test, *shape[1:])).astype(np.float32)
    return m, calib, x, ort_run(m, {"input": x})[0], None


def _digits_data():
    import digits_cnn
    from support.onnx_models import ort_run

    data = digits_cnn.load_digits_split()
    m = digits_cnn.to_onnx(digits_cnn.train(data))
    x = data.x_test
    return m, data.x_train, x, ort_run(m, {"input": x})[0], data.y_test


def weights_only_db(m, calib: np.ndarray, x: np.ndarray) -> dict[str, float]:
    """Output SQNR of the float model run with every weighted layer's weights replaced by their
    int4 values, nearest and GPTQ, activations left float: the weight rounding alone. (The int8
    models of random-weight nets are often limited by their int8 activations, which hides it.)"""
    from picoq.converter import float_run, low_bit, precision
    from picoq.converter.calibrate import load_samples, sweep
    from picoq.converter.onnx_convert import prepare

    fg = prepare(m)
    samples = load_samples(calib, fg)
    nodes = low_bit.weighted_nodes(fg)
    stats = low_bit.collect_stats(fg, nodes, lambda obs: sweep(fg, samples, obs, "stats", False, 8))
    feeds = [{fg.inputs[0]: x[i : i + 1]} for i in range(len(x))]

    def run(g) -> list[np.ndarray]:
        outs = [float_run.run(g, f) for f in feeds]
        return [np.concatenate([o[n] for o in outs]) for n in g.outputs]

    ref, out = run(fg), {}
    for rounding in ("nearest", "gptq"):
        new = {}
        for n in nodes:
            q, sc = low_bit.rounded_weights(n, fg.consts[n.inputs[1]], stats.hessian(n), rounding)
            new[n.name] = low_bit.dequantized(q, sc)
        out[rounding] = round(precision.sqnr_db(ref, run(precision._with_weights(fg, new))), 2)
    return out


def measure(
    name: str, n_calib: int, n_test: int, budgets: Sequence[float], seed: int, bias_correction: str = "off"
) -> dict:
    if name == "digits":
        m, calib, x, want, labels = _digits_data()
    else:
        m, calib, x, want, labels = _arch_data(name, n_calib, n_test, seed)
    row: dict = {"model": name, "calibration": len(calib), "test": len(x)}

    def run(key: str, **options) -> bytes:
        """One configuration; with --bias-correction both also its `key+bc` twin, corrected."""
        if bias_correction == "both":
            one(f"{key}+bc", bias_correction=True, **options)
        return one(key, bias_correction=bias_correction == "on", **options)

    def one(key: str, **options) -> bytes:
        t0 = time.perf_counter()
        data = convert(m, calibration=calib, progress=False, **options)
        got = Interpreter(data).run(x)
        row[key] = {
            "sqnr_db": round(float(sqnr_db(want, got)), 2),
            "const_bytes": read_model(data).const_bytes,
            "convert_s": round(time.perf_counter() - t0, 1),
        }
        if labels is not None:
            row[key]["accuracy"] = round(float(np.mean(np.argmax(got, axis=-1) == labels)), 4)
        print(f"  {name} {key}: {row[key]}", file=sys.stderr, flush=True)
        return data

    row["int4_weights_only_db"] = weights_only_db(m, calib, x)
    print(f"  {name} int4 weights only: {row['int4_weights_only_db']}", file=sys.stderr, flush=True)
    int8 = run("int8")
    run("16x8", activations="int16")
    run("int4_nearest", weights="int4", rounding="nearest")
    run("int4_gptq", weights="int4")
    for b in budgets:
        budget = int(b * read_model(int8).const_bytes)
        run(f"budget_{b:g}", weights="auto", flash_budget=budget)
        row[f"budget_{b:g}"]["budget"] = budget
    return row


def to_text(rows: list[dict], budgets: Sequence[float]) -> str:
    def db(r: dict, k: str) -> str:
        return f"{r[k]['sqnr_db']:.1f}"

    out = [
        "| model | int8 dB | 16x8 dB | gain | int4 nearest | int4 GPTQ | GPTQ gain | weights only: nearest"
        " / GPTQ / gain | constants int8 -> int4 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        c8, c4 = r["int8"]["const_bytes"], r["int4_gptq"]["const_bytes"]
        wo = r["int4_weights_only_db"]
        out.append(
            f"| {r['model']} | {db(r, 'int8')} | {db(r, '16x8')} | "
            f"{r['16x8']['sqnr_db'] - r['int8']['sqnr_db']:+.1f} | {db(r, 'int4_nearest')} | "
            f"{db(r, 'int4_gptq')} | {r['int4_gptq']['sqnr_db'] - r['int4_nearest']['sqnr_db']:+.1f} | "
            f"{wo['nearest']:.1f} / {wo['gptq']:.1f} / {wo['gptq'] - wo['nearest']:+.1f} | "
            f"{c8:,} -> {c4:,} ({100 * (c4 - c8) / c8:+.0f}%) |"
        )
    for b in budgets:
        k = f"budget_{b:g}"
        out += ["", f"`--weights auto --flash-budget` at {100 * b:g}% of the int8 constants:", ""]
        out += [
            "| model | budget B | mix B | int8 dB | mix dB | loss | accuracy int8 -> mix |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for r in rows:
            acc = ""
            if "accuracy" in r[k]:
                acc = f"{100 * r['int8']['accuracy']:.2f}% -> {100 * r[k]['accuracy']:.2f}%"
            out.append(
                f"| {r['model']} | {r[k]['budget']:,} | {r[k]['const_bytes']:,} | {db(r, 'int8')} | {db(r, k)} | "
                f"{r[k]['sqnr_db'] - r['int8']['sqnr_db']:+.1f} | {acc} |"
            )
    return "\n".join(out)


def bias_correction_text(rows: list[dict]) -> str:
    """Each configuration's SQNR (and digits' accuracy) without and with bias correction."""
    keys = [k for k in rows[0] if isinstance(rows[0][k], dict) and f"{k}+bc" in rows[0]]
    out = ["", "Bias correction (`bias_correction=True`), SQNR dB without -> with (gain):", ""]
    out += ["| model | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for r in rows:
        cells = []
        for k in keys:
            a, b = r[k], r[f"{k}+bc"]
            cell = f"{a['sqnr_db']:.1f} -> {b['sqnr_db']:.1f} ({b['sqnr_db'] - a['sqnr_db']:+.1f})"
            if "accuracy" in a:
                cell += f", acc {100 * a['accuracy']:.2f}% -> {100 * b['accuracy']:.2f}%"
            cells.append(cell)
        out.append(f"| {r['model']} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=EXAMPLES, formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument(
        "--only", nargs="+", choices=NAMES, default=list(NAMES), metavar="NAME", help=" ".join(NAMES)
    )
    p.add_argument("--calib", type=int, default=500, help="calibration inputs (default 500)")
    p.add_argument("--test", type=int, default=100, help="test inputs of the architectures (default 100)")
    p.add_argument(
        "--budget", type=float, nargs="*", default=[0.65], help="flash budgets, fractions of int8's"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--bias-correction",
        choices=("off", "on", "both"),
        default="off",
        help="convert without it (off), with it (on), or each configuration both ways (both: adds a table)",
    )
    p.add_argument("--json", type=Path, help="also write the numbers here")
    args = p.parse_args(argv)
    rows = [
        measure(n, args.calib, args.test, args.budget, args.seed, args.bias_correction) for n in args.only
    ]
    print(to_text(rows, args.budget))
    if args.bias_correction == "both":
        print(bias_correction_text(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"rows": rows, "args": vars(args) | {"json": str(args.json)}}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
