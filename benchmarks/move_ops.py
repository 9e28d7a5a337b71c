"""The data-movement ops' fast kernels against their reference kernels, one op at a time.

    python benchmarks/move_ops.py [--rounds 7] [--runs 200]

Each case is a one-op int8 model built with tests/support/tflite_builder.py and converted; the
op is timed alone with Interpreter.profile (median of `runs` back-to-back runs, caches warm),
once per round for the reference kernels and for the fast kernels on every ISA
supported_isas() reports, rounds interleaved so a burst of load from other processes hits
all of them alike. Printed: per case the median over rounds of each kernel's time and the
reference's time divided by it. Shapes are the ones real models have: a channel concatenation
of two 28x28x64 maps (on one scale: copies; on two: one requantized through a table), a
1-pixel PAD of 48x48x32, NCHW -> NHWC of 64x32x32, ShuffleNet's channel shuffle of 28x28x116
in 2 groups, a RESHAPE of 7x7x256 (the converter's plan aliases it; planned apart it copies).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable

import numpy as np
from machine import REPO

from picoq.converter import convert
from picoq.converter.compare import graph_from_model
from picoq.converter.plan import plan_arena
from picoq.converter.writer import to_bytes
from picoq.runtime import Interpreter, read_model, supported_isas

if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))
from support.tflite_builder import TFLiteGraph  # noqa: E402  (the repo's test model builder)


def _one_op(shapes: list[tuple[int, ...]], scales: list[float], op: Callable) -> bytes:
    g = TFLiteGraph()
    xs = [g.input(f"x{k}", s, sc, 0) for k, (s, sc) in enumerate(zip(shapes, scales))]
    g.output(op(g, xs))
    return convert(g.build())


def _reshape_copied(model: bytes) -> bytes:
    """The same model with the RESHAPE's output planned in bytes of its own (a copy)."""
    g = graph_from_model(read_model(model))
    plan_arena(g)
    y = g.tensors[next(op for op in g.ops if op.name == "RESHAPE").outputs[0]]
    y.offset = (g.arena_size + 15) // 16 * 16
    g.arena_size = (y.offset + y.nbytes + 15) // 16 * 16
    return to_bytes(g)


def cases() -> dict[str, bytes]:
    fm, pool = (1, 28, 28, 64), (1, 7, 7, 256)
    reshape = _one_op([pool], [0.1], lambda g, xs: g.reshape(xs[0], (1, 49, 256)))
    return {
        "concat 2x 1x28x28x64, one scale": _one_op(
            [fm, fm], [0.1, 0.1], lambda g, xs: g.concatenation(xs, 3)
        ),
        "concat 2x 1x28x28x64, two scales": _one_op(
            [fm, fm], [0.1, 0.07], lambda g, xs: g.concatenation(xs, 3, 0.1, 0)
        ),
        "pad 1x48x48x32 by 1": _one_op(
            [(1, 48, 48, 32)], [0.1], lambda g, xs: g.pad(xs[0], [[0, 0], [1, 1], [1, 1], [0, 0]])
        ),
        "transpose NCHW->NHWC 1x64x32x32": _one_op(
            [(1, 64, 32, 32)], [0.1], lambda g, xs: g.transpose(xs[0], (0, 2, 3, 1))
        ),
        "transpose shuffle 1x28x28x2x58": _one_op(
            [(1, 28, 28, 2, 58)], [0.1], lambda g, xs: g.transpose(xs[0], (0, 1, 2, 4, 3))
        ),
        "reshape 1x7x7x256 (aliased)": reshape,
        "reshape 1x7x7x256 (copied)": _reshape_copied(reshape),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    isas = supported_isas()
    rng = np.random.default_rng(0)
    print(f"median over {args.rounds} rounds of the op's median over {args.runs} runs, microseconds")
    print(f"{'case':36s} {'reference':>10s} " + " ".join(f"{i:>18s}" for i in isas))
    for name, model in cases().items():
        its = {"reference": Interpreter(model, kernels="reference")}
        its.update({isa: Interpreter(model, isa=isa) for isa in isas})
        xs = [rng.integers(-128, 128, d["shape"], dtype=np.int8) for d in its["reference"].input_details]
        times: dict[str, list[float]] = {k: [] for k in its}
        for _ in range(args.rounds):
            for k, it in its.items():
                (op,) = it.profile(xs if len(xs) > 1 else xs[0], runs=args.runs)
                times[k].append(op["median_us"])
        med = {k: statistics.median(v) for k, v in times.items()}
        cells = [f"{med[i]:8.2f} ({med['reference'] / med[i]:5.1f}x)" for i in isas]
        print(f"{name:36s} {med['reference']:10.2f} " + " ".join(f"{c:>18s}" for c in cells))
        print(f"{'':36s} {'':10s} " + " ".join(f"{its[i].op_kernels[0]:>18s}" for i in isas))


if __name__ == "__main__":
    main()
