"""`picoq demo`: the whole journey on a small float model that ships inside the package.

A digits CNN (float ONNX, 8x8 grey images, 10 classes; demo_assets/make_demo_assets.py
trains it) and a sample of digits (100 calibration images, 300 labelled test images):
convert with calibration, run the int8 model, compare accuracy and size with the float
model, time one inference, export C for firmware, and print a short report. Needs the
`converter` extra (onnx, tqdm), not onnxruntime nor scikit-learn.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ASSETS = Path(__file__).resolve().parent / "demo_assets"
MODEL = ASSETS / "digits_cnn.onnx"
SAMPLE = ASSETS / "digits_sample.npz"


def _float_logits(onnx_path: Path, x: np.ndarray) -> np.ndarray:
    """The float model's logits, from picoq's numpy reference of the ONNX ops (graph as imported)."""
    from . import float_ops, float_run
    from .onnx_import import load_onnx

    fg = load_onnx(str(onnx_path))
    name, out = fg.inputs[0], fg.outputs[0]
    with float_ops.single_threaded_blas():
        if float_ops.batch_safe(fg):
            return float_run.run(fg, {name: x})[out]
        return np.concatenate([float_run.run(fg, {name: x[i : i + 1]})[out] for i in range(len(x))])


def _latency_us(it, x1: np.ndarray, runs: int = 200) -> float:
    """Median wall time of one `invoke` (the input already in the arena), in microseconds."""
    d = it.input_details[0]
    q = np.clip(np.round(x1 / d["scale"]) + d["zero_point"], -128, 127).astype(np.int8)
    it.set_input(0, q)
    for _ in range(10):
        it.invoke()
    times = np.empty(runs)
    for k in range(runs):
        t0 = time.perf_counter_ns()
        it.invoke()
        times[k] = time.perf_counter_ns() - t0
    return float(np.median(times)) / 1000.0


def run_demo(out_dir: str | os.PathLike = "picoq_demo", progress: bool = True, report: bool = True) -> dict:
    """Run the demo into `out_dir` (created); print the report unless `report` is False.

    Returns the numbers: float_accuracy, int8_accuracy, n_test, onnx_bytes, picoq_bytes,
    arena_bytes (with the fast kernels' scratch), activation_bytes, latency_us, seconds, and the
    written paths (picoq, c_dir).
    """
    from picoq.runtime import Interpreter

    from . import convert
    from .export_c import export_c

    t_start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with np.load(SAMPLE, allow_pickle=False) as z:
        calib, x_test, y_test = z["calib"], z["x_test"], z["y_test"]

    # Keep the float model and the test images beside the results, so the hinted commands work.
    onnx_path = out / "digits_cnn.onnx"
    shutil.copyfile(MODEL, onnx_path)
    np.save(out / "calib_images.npy", calib)
    np.save(out / "test_images.npy", x_test)
    np.save(out / "one_digit.npy", x_test[:1])

    def say(msg: str) -> None:
        if report:
            print(msg, flush=True)

    say(f"picoq demo: a float digits CNN (ONNX) -> int8, into {out}/")
    t0 = time.perf_counter()
    picoq_path = out / "digits.picoq"
    data = convert(onnx_path, picoq_path, calibration=calib, progress=progress)
    t_convert = time.perf_counter() - t0
    say(f"  converted with {len(calib)} calibration images in {t_convert:.2f} s -> {picoq_path}")

    float_acc = float(np.mean(np.argmax(_float_logits(onnx_path, x_test), axis=1) == y_test))
    it = Interpreter(data)
    int8_acc = float(np.mean(np.argmax(it.run(x_test), axis=1) == y_test))
    latency = _latency_us(it, x_test[:1])
    say(f"  ran {len(x_test)} test images, float (numpy reference) and int8 (picoq interpreter)")

    c_dir = out / "digits_fw"
    c_files = export_c(data, c_dir, "digits")
    say(f"  exported C99 for firmware -> {c_dir}/ ({len(c_files)} files, digits_invoke() in digits_model.c)")

    onnx_bytes, picoq_bytes = onnx_path.stat().st_size, len(data)
    result = {
        "float_accuracy": float_acc,
        "int8_accuracy": int8_acc,
        "n_test": int(len(x_test)),
        "onnx_bytes": onnx_bytes,
        "picoq_bytes": picoq_bytes,
        "arena_bytes": int(it.arena_size),  # activations + the fast kernels' scratch
        "activation_bytes": int(it.model.activation_bytes),  # what the exported firmware needs
        "latency_us": latency,
        "kernels": f"{it.kernels} ({it.isa})",
        "picoq": str(picoq_path),
        "c_dir": str(c_dir),
    }
    result["seconds"] = time.perf_counter() - t_start
    if report:
        print(format_report(result, out))
    return result


def format_report(r: dict, out: Path) -> str:
    rows = [
        ("", "float (ONNX)", "int8 (picoq)"),
        (
            f"accuracy, {r['n_test']} test images",
            f"{100 * r['float_accuracy']:.2f} %",
            f"{100 * r['int8_accuracy']:.2f} %",
        ),
        ("model file", f"{r['onnx_bytes']:,} B", f"{r['picoq_bytes']:,} B"),
        ("activation memory (firmware arena)", "-", f"{r['activation_bytes']:,} B"),
        ("arena with fast-kernel scratch", "-", f"{r['arena_bytes']:,} B"),
        ("latency, one image (median)", "-", f"{r['latency_us']:.1f} us"),
    ]
    w0 = max(len(a) for a, _, _ in rows)
    w1 = max(len(b) for _, b, _ in rows)
    w2 = max(len(c) for _, _, c in rows)
    lines = ["", *(f"  {a:<{w0}}  {b:>{w1}}  {c:>{w2}}" for a, b, c in rows)]
    delta = 100 * (r["int8_accuracy"] - r["float_accuracy"])
    lines += [
        "",
        f"  int8 accuracy {delta:+.2f} points against float; file {r['onnx_bytes'] / r['picoq_bytes']:.1f}x"
        f" smaller; kernels {r['kernels']}; demo took {r['seconds']:.1f} s",
        "",
        "next steps:",
    ]
    hints = [
        (f"picoq inspect {out}/digits.picoq", "ops, shapes, scales, MACs, memory"),
        (f"picoq run {out}/digits.picoq {out}/one_digit.npy", "one image in, 10 logits out"),
        (
            f"picoq compare {out}/digits_cnn.onnx {out}/digits.picoq --data {out}/test_images.npy",
            "per-layer error, worst first",
        ),
        (
            f"picoq convert {out}/digits_cnn.onnx -o {out}/digits_mse.picoq --calib {out}/calib_images.npy"
            " --calib-method mse",
            "another calibration",
        ),
    ]
    for cmd, why in hints:
        lines += [f"  # {why}", f"  {cmd}"]
    lines.append(
        f"  # {out}/digits_fw/ builds with any C99 compiler: see firmware_examples/host and cortex-m"
    )
    return "\n".join(lines)


def cli(args) -> int:
    run_demo(args.output, progress=True)
    return 0


if __name__ == "__main__":
    run_demo(sys.argv[1] if len(sys.argv) > 1 else "picoq_demo")
