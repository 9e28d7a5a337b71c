"""Recurrent models (torch nn.LSTM / nn.GRU exported with torch.onnx.export): output SQNR of
picoq int8 and 16x8 against onnxruntime float, beside onnxruntime's quantize_static (QDQ,
per-channel, MinMax, int8), which leaves the LSTM / GRU node itself in float; and the latency
of one sequence (float in, float out: picoq's `run`, ORT's `run`), one thread, medians.

Random weights (torch's init), inputs N(0, 1), batch_first, T steps; the same calibration
sequences for both converters, test sequences neither saw.

    python benchmarks/recurrent.py                  # 6 models, T = 20 (~3 min)
    python benchmarks/recurrent.py --steps 50 --calib 100
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))

IN, H = 6, 8  # input features, hidden units
# name -> (nn class, bidirectional, layers)
MODELS = {
    "LSTM": ("LSTM", False, 1),
    "LSTM bidirectional": ("LSTM", True, 1),
    "LSTM 2 layers": ("LSTM", False, 2),
    "GRU": ("GRU", False, 1),
    "GRU bidirectional": ("GRU", True, 1),
    "GRU 2 layers": ("GRU", False, 2),
}


def median_us(f: Callable[[], object], runs: int = 3000) -> float:
    f()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e6)


def measure(name: str, steps: int, n_calib: int, n_test: int) -> dict[str, float]:
    from picoq.converter import convert
    from picoq.converter.float_ops import sqnr_db
    from picoq.runtime import Interpreter

    from support.onnx_models import ort_quantize_static, ort_run
    from support.torch_rnn import torch_rnn

    kind, bidirectional, layers = MODELS[name]
    m = torch_rnn(kind, IN, H, steps, bidirectional=bidirectional, layers=layers, batch_first=True)
    rng = np.random.default_rng(0)
    calib = rng.normal(size=(n_calib, steps, IN)).astype(np.float32)
    x = rng.normal(size=(n_test, 1, steps, IN)).astype(np.float32)
    want = np.concatenate([ort_run(m, {"input": v})[0] for v in x])
    import onnxruntime

    out = {}
    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    with tempfile.TemporaryDirectory() as tmp:
        ort = ort_quantize_static(m, calib, Path(tmp))
        out["ORT QDQ"] = sqnr_db(want, np.concatenate([ort_run(ort, {"input": v})[0] for v in x]))
        for key, model in (("ORT float us", m), ("ORT QDQ us", ort)):
            sess = onnxruntime.InferenceSession(
                model.SerializeToString(), opts, providers=["CPUExecutionProvider"]
            )
            out[key] = median_us(lambda s=sess: s.run(None, {"input": x[0]}))
    for key, act in (("picoq int8", "int8"), ("picoq 16x8", "int16")):
        it = Interpreter(convert(m, calibration=calib[:, None], progress=False, activations=act))
        out[key] = sqnr_db(want, np.concatenate([it.run(v) for v in x]))
        out[key + " us"] = median_us(lambda it=it: it.run(x[0]))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n")[-1],
        formatter_class=argparse.RawTextHelpFormatter,
    )
    p.add_argument("--steps", type=int, default=20, help="time steps (default 20)")
    p.add_argument("--calib", type=int, default=200, help="calibration sequences (default 200)")
    p.add_argument("--test", type=int, default=50, help="test sequences (default 50)")
    p.add_argument("--only", nargs="+", choices=list(MODELS), default=list(MODELS), metavar="NAME")
    args = p.parse_args(argv)
    print(
        "| model | picoq int8 dB | picoq 16x8 dB | ORT QDQ dB | 16x8 - ORT | picoq int8 us | picoq 16x8 us"
        " | ORT float us | ORT QDQ us | picoq int8 / ORT QDQ |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.only:
        r = measure(name, args.steps, args.calib, args.test)
        print(
            f"| {name} | {r['picoq int8']:.1f} | {r['picoq 16x8']:.1f} | {r['ORT QDQ']:.1f} | "
            f"{r['picoq 16x8'] - r['ORT QDQ']:+.1f} | {r['picoq int8 us']:.1f} | {r['picoq 16x8 us']:.1f} | "
            f"{r['ORT float us']:.1f} | {r['ORT QDQ us']:.1f} | {r['picoq int8 us'] / r['ORT QDQ us']:.2f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
