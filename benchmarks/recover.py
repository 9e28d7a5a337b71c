"""Accuracy recovery on torchvision architectures: output SQNR of picoq against onnxruntime
float with per-tensor (or per-channel) weights, without and with `--equalize` (cross-layer
equalization) and `--bias-correction`.

The float models are torch_arch.py's (torchvision architecture, random weights, BatchNorm
statistics measured on smooth random images, ONNX export at 3xSIZExSIZE); calibration and
held-out images are torch_arch.smooth_images, as in torch_models.py. SQNR is over the held-out
images' outputs together (models.sqnr), picoq's dequantized output against ORT float's.

    cd benchmarks
    python recover.py                                   # mobilenet_v2 mnasnet0_5 efficientnet_b0
    python recover.py --models mnasnet0_5 --calib-samples 32 --eval-samples 8
    python recover.py --per-channel --json results/recover.json
"""

from __future__ import annotations

from machine import pin_thread_env  # imports no numeric library

pin_thread_env()  # must happen before numpy etc. are imported

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from models import sqnr  # noqa: E402
from runners import ort_session  # noqa: E402
from torch_arch import build, export_onnx, smooth_images  # noqa: E402

DEFAULT_MODELS = ("mobilenet_v2", "mnasnet0_5", "efficientnet_b0")
CONFIGS = {
    "plain": {},
    "equalize": {"equalize": True},
    "bias_correction": {"bias_correction": True},
    "both": {"equalize": True, "bias_correction": True},
}


def measure(name: str, args: argparse.Namespace) -> dict:
    from picoq.converter import convert
    from picoq.runtime import Interpreter

    shape = (1, 3, args.size, args.size)
    rng = np.random.default_rng(args.seed)
    bn_images = smooth_images(rng, args.bn_samples, shape[1:])
    calib = smooth_images(rng, args.calib_samples, shape[1:])
    held_out = smooth_images(rng, args.eval_samples, shape[1:])
    float_bytes = export_onnx(build(name, args.seed, bn_images), shape)
    sess = ort_session(float_bytes)
    want = np.concatenate([sess.run(None, {"input": held_out[i : i + 1]})[0] for i in range(len(held_out))])
    row: dict = {"model": name, "per_tensor": not args.per_channel}
    for key in args.configs:
        t0 = time.perf_counter()
        notes: list[str] = []
        data = convert(
            float_bytes,
            calibration=calib,
            progress=False,
            per_tensor=not args.per_channel,
            report=notes.append,
            **CONFIGS[key],
        )
        it = Interpreter(data)
        got = np.concatenate([it.run(held_out[i : i + 1]) for i in range(len(held_out))])
        row[key] = {
            "sqnr_db": round(float(sqnr(want, got)), 2),
            "convert_s": round(time.perf_counter() - t0, 1),
            "notes": notes,
        }
        print(f"  {name} {key}: {row[key]['sqnr_db']} dB ({row[key]['convert_s']} s)", flush=True)
        for n in notes:
            print("    " + n.replace("\n", "\n    "), flush=True)
    return row


def to_text(rows: list[dict], configs: Sequence[str]) -> str:
    out = ["| model | weights | " + " | ".join(f"{c} dB" for c in configs) + " |"]
    out.append("|---|---|" + "---:|" * len(configs))
    for r in rows:
        cells = " | ".join(f"{r[c]['sqnr_db']:.1f}" for c in configs)
        out.append(f"| {r['model']} | {'per-tensor' if r['per_tensor'] else 'per-channel'} | {cells} |")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS), metavar="NAME")
    p.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    p.add_argument("--per-channel", action="store_true", help="per-channel weights (default: per-tensor)")
    p.add_argument("--size", type=int, default=96, help="input height and width (default 96)")
    p.add_argument("--calib-samples", type=int, default=100)
    p.add_argument("--eval-samples", type=int, default=20)
    p.add_argument("--bn-samples", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, help="also write the numbers here")
    args = p.parse_args(argv)
    rows = []
    for name in args.models:
        print(f"{name} ...", flush=True)
        rows.append(measure(name, args))
    print(to_text(rows, args.configs))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"rows": rows, "args": vars(args) | {"json": str(args.json)}}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
