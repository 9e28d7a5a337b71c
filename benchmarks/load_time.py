"""Load time of a long unrolled graph: the validator with and without its workspace.

    python benchmarks/load_time.py [--steps 100 1000] [--runs 5] [--rescan-max-steps 100]

Model: unseen_sequence.py's lstm_T100 case (a torch nn.LSTM, 4 inputs, 16 hidden, batch first)
at T steps, exported to ONNX and converted by picoq from 16 random calibration sequences; the
converted file is cached in --cache (converting T = 1000 takes minutes). Per T, the median
over --runs of

  validate ws      validate_model(buf, workspace=True): pq_model_validate_ws, what read_model
                   runs (the CRC left to zlib, as read_model does)
  validate rescan  workspace=False: the firmware's path, rescanning the records (quadratic to
                   cubic in the graph's size: only for T <= --rescan-max-steps, a single run)
  load             Interpreter(buf): read_model (zlib CRC, validate with the workspace, decode)
                   and prepare
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def model(steps: int, cache: Path) -> bytes:
    path = cache / f"lstm_T{steps}.picoq"
    if path.is_file():
        return path.read_bytes()
    sys.path.insert(0, str(HERE))
    import unseen_sequence as us

    from picoq.converter import convert

    case = us.rnn_case(f"lstm_T{steps}", "LSTM", 4, 16, steps, batch_first=True)
    m, _ = us.export(case)
    cal = np.random.default_rng(0).standard_normal((16, 1, steps, 4)).astype(np.float32)
    data = bytes(convert(m, calibration=cal, progress=False))
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def timed(runs: int, fn, *args) -> float:
    """Median ms of `runs` calls of fn(*args)."""
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn(*args)
        out.append((time.perf_counter() - t) * 1e3)
    return statistics.median(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rescan-max-steps", type=int, default=100)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "picoq-load-time")
    args = ap.parse_args(argv)

    from picoq.runtime import Interpreter, read_model
    from picoq.runtime._interp import validate_model

    cap = 0xFFFFFFFF
    print(f"{'T':>6} {'ops':>6} {'tensors':>7} {'KB':>6} {'validate ws':>12} {'rescan':>10} {'load':>9}")
    for steps in args.steps:
        data = model(steps, args.cache)
        m = read_model(data)
        ws = timed(args.runs, validate_model, data, cap, False, True)
        rescan = "-"
        if steps <= args.rescan_max_steps:
            rescan = f"{timed(1, validate_model, data, cap, False, False):.1f} ms"
        load = timed(args.runs, Interpreter, data)
        print(
            f"{steps:>6} {len(m.ops):>6} {len(m.tensors):>7} {len(data) // 1024:>6} "
            f"{ws:>9.2f} ms {rescan:>10} {load:>6.1f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
