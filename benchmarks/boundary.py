"""The float boundary of Interpreter.run: quantizing a float input, dequantizing an output.

    python benchmarks/boundary.py [--runs 2000] [--json out.json]

Models: MobileNetV1 0.25x from tests/support/make_onnx_models.py (random weights, quantized
by picoq from 8 random calibration inputs) at 1x3x128x128 (PyTorch layout) and at
1x96x96x3 (Keras layout, the VWW model). For each: the median and 10th percentile (µs) of

  quantize    it._quantize(0, x): a float32 input of the model's shape to int8 (and float64)
  dequantize  it._finish(0, q, True): an int8 array of the *input's* size to float32, with
              the output's scale (the model's own output is 2 values, too small to time)
  run float   it.run(x) with the float32 input: quantize, invoke, dequantize, Python checks
  run int8    it.run(q) with the int8 input (the one-call C path): the same invoke alone

`_quantize` and `_finish` are the interpreter's own boundary steps, so the script times the
numpy formulas and the C functions that replaced them alike. Timed with perf_counter_ns
around each call, the garbage collector off, the steps interleaved run by run so that the
machine's load (other processes) falls on all of them alike.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def build(layout: str, size: int) -> bytes:
    sys.path.insert(0, str(REPO / "tests"))
    from picoq.converter import convert

    from support.make_onnx_models import mobilenet_v1_025

    model = mobilenet_v1_025(layout, size=size)
    shape = (3, size, size) if layout == "nchw" else (size, size, 3)
    calib = np.random.default_rng(0).uniform(-1, 1, (8, *shape)).astype(np.float32)
    return convert(model.SerializeToString(), calibration=calib, progress=False)


def bench(data: bytes, runs: int) -> dict[str, dict[str, float]]:
    from picoq.runtime import Interpreter

    it = Interpreter(data)
    d = it.input_details[0]
    rng = np.random.default_rng(1)
    x32 = rng.uniform(-1, 1, d["shape"]).astype(np.float32)
    x64 = x32.astype(np.float64)
    q = it._quantize(0, x32)
    steps = {
        "quantize f32": lambda: it._quantize(0, x32),
        "quantize f64": lambda: it._quantize(0, x64),
        "dequantize": lambda: it._finish(0, q, True),
        "run float": lambda: it.run(x32),
        "run int8": lambda: it.run(q),
    }
    samples: dict[str, list[int]] = {k: [] for k in steps}
    for f in steps.values():  # warm-up
        for _ in range(20):
            f()
    gc.disable()
    try:
        for _ in range(runs):
            for name, f in steps.items():
                t0 = time.perf_counter_ns()
                f()
                samples[name].append(time.perf_counter_ns() - t0)
    finally:
        gc.enable()
    return {
        k: {"median_us": float(np.median(v)) / 1e3, "p10_us": float(np.percentile(v, 10)) / 1e3}
        for k, v in samples.items()
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=2000, help="timed calls of each step (default 2000)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    results = {}
    for layout, size in (("nchw", 128), ("nhwc", 96)):
        shape = f"1x3x{size}x{size}" if layout == "nchw" else f"1x{size}x{size}x3"
        results[shape] = bench(build(layout, size), args.runs)
        print(f"MobileNetV1 0.25x, input {shape} ({args.runs} runs; median / 10th percentile, µs)")
        for name, r in results[shape].items():
            print(f"  {name:<13} {r['median_us']:8.1f} {r['p10_us']:8.1f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
