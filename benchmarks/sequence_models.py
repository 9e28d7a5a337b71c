"""Sequence models exported with torch.onnx.export (nn.LSTM / nn.GRU with a linear head, a 1-D
conv keyword-spotting stack, nn.TransformerEncoderLayer): output SQNR of picoq int8 and 16x8
against onnxruntime float, beside onnxruntime's quantize_static (QDQ, per-channel, MinMax,
int8), which leaves an LSTM / GRU node itself in float; and the latency of one sequence (float
in, float out: picoq's `run`, ORT's `run`), one thread, medians of runs interleaved across the
four runtimes.

Random weights (torch's init, one model per seed), inputs N(0, 1), batch_first, T steps; the
same calibration sequences for both converters, test sequences neither saw. Each figure is the
mean over the seeds; "worst" is the seed where picoq int8 trails ORT QDQ most: one model's
int8 SQNR moves by a dB or two with its weights, on either side of ORT's.

    python benchmarks/sequence_models.py                  # 10 models x 4 seeds, T = 20 (~10 min)
    python benchmarks/sequence_models.py --seeds 1 --steps 50 --calib 100 --only LSTM GRU
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))

# name -> (nn class, bidirectional, layers, input features, hidden units) of a recurrent
# model, or the builder of another
MODELS: dict[str, tuple[str, bool, int, int, int] | str] = {
    "LSTM": ("LSTM", False, 1, 6, 8),
    "LSTM bidirectional": ("LSTM", True, 1, 6, 8),
    "LSTM 2 layers": ("LSTM", False, 2, 6, 8),
    "LSTM 64 units": ("LSTM", False, 1, 40, 64),
    "GRU": ("GRU", False, 1, 6, 8),
    "GRU bidirectional": ("GRU", True, 1, 6, 8),
    "GRU 2 layers": ("GRU", False, 2, 6, 8),
    "GRU 64 units": ("GRU", False, 1, 40, 64),
    "Conv1d KWS stack": "kws_1d_onnx",
    "Transformer encoder layer": "encoder_layer_onnx",
}


def build(name: str, steps: int, seed: int) -> tuple[Any, tuple[int, ...]]:
    """The ONNX model and the shape of one input sample (without its batch dim of 1)."""
    from support import torch_seq
    from support.torch_rnn import torch_rnn

    spec = MODELS[name]
    if isinstance(spec, str):
        shape = torch_seq.KWS_SHAPE if spec == "kws_1d_onnx" else (torch_seq.SEQ_LEN, torch_seq.WIDTH)
        return getattr(torch_seq, spec)(seed), shape
    kind, bidirectional, layers, n_in, hidden = spec
    m = torch_rnn(
        kind, n_in, hidden, steps, bidirectional=bidirectional, layers=layers, batch_first=True, seed=seed
    )
    return m, (steps, n_in)


def median_us(fs: dict[str, Callable[[], object]], runs: int = 3000) -> dict[str, float]:
    """Median microseconds of each callable, the callables interleaved run by run (their
    order rotated), so a load that comes and goes on the machine falls on all of them alike."""
    keys = list(fs)
    for k in keys:
        fs[k]()
    times: dict[str, list[float]] = {k: [] for k in keys}
    for i in range(runs):
        for k in keys[i % len(keys) :] + keys[: i % len(keys)]:
            t0 = time.perf_counter()
            fs[k]()
            times[k].append(time.perf_counter() - t0)
    return {k: float(np.median(v) * 1e6) for k, v in times.items()}


def measure(name: str, steps: int, n_calib: int, n_test: int, seed: int) -> dict[str, float]:
    from picoq.converter import convert
    from picoq.converter.float_ops import sqnr_db
    from picoq.runtime import Interpreter

    from support.onnx_models import ort_quantize_static, ort_run

    m, shape = build(name, steps, seed)
    rng = np.random.default_rng(seed)
    calib = rng.normal(size=(n_calib, *shape)).astype(np.float32)
    x = rng.normal(size=(n_test, 1, *shape)).astype(np.float32)
    want = np.concatenate([ort_run(m, {"input": v})[0] for v in x])
    import onnxruntime

    out: dict[str, float] = {}
    timed: dict[str, Callable[[], object]] = {}
    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    with tempfile.TemporaryDirectory() as tmp:
        ort = ort_quantize_static(m, calib, Path(tmp))
        out["ORT QDQ"] = sqnr_db(want, np.concatenate([ort_run(ort, {"input": v})[0] for v in x]))
        for key, model in (("ORT float us", m), ("ORT QDQ us", ort)):
            sess = onnxruntime.InferenceSession(
                model.SerializeToString(), opts, providers=["CPUExecutionProvider"]
            )
            timed[key] = lambda s=sess: s.run(None, {"input": x[0]})
    for key, act in (("picoq int8", "int8"), ("picoq 16x8", "int16")):
        it = Interpreter(convert(m, calibration=calib[:, None], progress=False, activations=act))
        out[key] = sqnr_db(want, np.concatenate([it.run(v) for v in x]))
        timed[key + " us"] = lambda it=it: it.run(x[0])
    out.update(median_us(timed))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n")[-1],
        formatter_class=argparse.RawTextHelpFormatter,
    )
    p.add_argument("--steps", type=int, default=20, help="time steps (default 20)")
    p.add_argument("--calib", type=int, default=200, help="calibration sequences (default 200)")
    p.add_argument("--test", type=int, default=200, help="test sequences (default 200)")
    p.add_argument("--only", nargs="+", choices=list(MODELS), default=list(MODELS), metavar="NAME")
    p.add_argument("--seeds", type=int, default=4, help="models (weights) per architecture (default 4)")
    args = p.parse_args(argv)
    print(
        "| model | picoq int8 dB | picoq 16x8 dB | ORT QDQ dB | int8 - ORT (worst) | 16x8 - ORT | picoq int8 us"
        " | picoq 16x8 us | ORT float us | ORT QDQ us | picoq int8 / ORT QDQ |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.only:
        runs = [measure(name, args.steps, args.calib, args.test, seed) for seed in range(args.seeds)]
        r = {k: float(np.mean([x[k] for x in runs])) for k in runs[0]}
        worst = min(x["picoq int8"] - x["ORT QDQ"] for x in runs)
        print(
            f"| {name} | {r['picoq int8']:.1f} | {r['picoq 16x8']:.1f} | {r['ORT QDQ']:.1f} | "
            f"{r['picoq int8'] - r['ORT QDQ']:+.1f} ({worst:+.1f}) | {r['picoq 16x8'] - r['ORT QDQ']:+.1f} | "
            f"{r['picoq int8 us']:.1f} | {r['picoq 16x8 us']:.1f} | {r['ORT float us']:.1f} | "
            f"{r['ORT QDQ us']:.1f} | {r['picoq int8 us'] / r['ORT QDQ us']:.2f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
