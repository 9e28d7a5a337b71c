"""One op at a time: the fast kernel against the reference kernel, on one-op models.

    python benchmarks/ops.py                       # every case, the best ISA
    python benchmarks/ops.py --isa portable --only mul_se softmax_1000
    python benchmarks/ops.py --rounds 9 --runs 400

Each case is a one-op int8 model built with the tests' own TFLite builder
(tests/support/tflite_builder.py) at a size real models have (MobileNetV3's
squeeze-excitation gates and residual adds, a depthwise layer with depth multiplier 2,
global average pooling, a 1000-class softmax, attention rows and its BATCH_MATMULs, GATHERs of
rows and of columns), converted, and run by two interpreters: kernels="reference" and
kernels="fast" on --isa.
Interpreter.profile times the op alone in C (median of --runs invokes); --rounds rounds
alternate the two interpreters, and the table shows the median of the rounds' medians and
the ratio. On a shared machine, quote medians of several rounds and say how loaded it was.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.tflite_builder import TFLiteGraph  # noqa: E402  (the tests' builder)


def _mul(a_shape: tuple[int, ...], b_shape: tuple[int, ...]) -> Callable[[], TFLiteGraph]:
    def build() -> TFLiteGraph:
        g = TFLiteGraph()
        a, b = g.input("a", a_shape, 0.05, 3), g.input("b", b_shape, 0.004, -128)
        g.output(g.mul(a, b, 0.02, -5))
        return g

    return build


def _add(a_shape: tuple[int, ...], b_shape: tuple[int, ...]) -> Callable[[], TFLiteGraph]:
    def build() -> TFLiteGraph:
        g = TFLiteGraph()
        a, b = g.input("a", a_shape, 0.05, -3), g.input("b", b_shape, 0.11, 17)
        g.output(g.add(a, b, 0.09, 4))
        return g

    return build


def _depthwise(shape: tuple[int, ...], multiplier: int) -> Callable[[], TFLiteGraph]:
    def build() -> TFLiteGraph:
        rng = np.random.default_rng(1)
        cout = shape[3] * multiplier
        g = TFLiteGraph()
        x = g.input("x", shape, 0.04, -7)
        w = g.const_int8(
            "w",
            rng.integers(-127, 128, (1, 3, 3, cout), dtype=np.int8),
            np.full(cout, 0.01, np.float32),
            quantized_dimension=3,
        )
        b = g.const_int32(
            "b", rng.integers(-3000, 3000, cout).astype(np.int32), np.full(cout, 4e-4, np.float32)
        )
        g.output(g.depthwise_conv2d(x, w, b, 0.05, 3, depth_multiplier=multiplier, activation="RELU6"))
        return g

    return build


def _mean(shape: tuple[int, ...], keep_dims: bool) -> Callable[[], TFLiteGraph]:
    def build() -> TFLiteGraph:
        g = TFLiteGraph()
        g.output(g.mean(g.input("x", shape, 0.05, -7), [1, 2], 0.03, 4, keep_dims=keep_dims))
        return g

    return build


def _softmax(shape: tuple[int, ...]) -> Callable[[], TFLiteGraph]:
    def build() -> TFLiteGraph:
        g = TFLiteGraph()
        g.output(g.softmax(g.input("x", shape, 0.1, 10)))
        return g

    return build


def _batch_matmul(
    a_shape: tuple[int, ...], b_shape: tuple[int, ...], b_zp: int, adj_y: bool
) -> Callable[[], TFLiteGraph]:
    def build() -> TFLiteGraph:
        g = TFLiteGraph()
        a, b = g.input("a", a_shape, 0.05, 3), g.input("b", b_shape, 0.04, b_zp)
        g.output(g.batch_matmul(a, b, 0.5, -5, adj_y=adj_y))
        return g

    return build


def _gather(shape: tuple[int, ...], n: int, axis: int) -> Callable[[], TFLiteGraph]:
    def build() -> TFLiteGraph:
        g = TFLiteGraph()
        idx = np.random.default_rng(0).integers(0, shape[axis], n)
        g.output(g.gather(g.input("x", shape, 0.05, 3), idx, axis=axis))
        return g

    return build


CASES: dict[str, Callable[[], TFLiteGraph]] = {
    "mul_same_1x24x24x96": _mul((1, 24, 24, 96), (1, 24, 24, 96)),
    "mul_se_1x24x24x96_by_1x1x1x96": _mul((1, 24, 24, 96), (1, 1, 1, 96)),
    "mul_scalar_1x24x24x96": _mul((1, 24, 24, 96), (1,)),
    "add_same_1x24x24x96": _add((1, 24, 24, 96), (1, 24, 24, 96)),
    "add_se_1x24x24x96_by_1x1x1x96": _add((1, 24, 24, 96), (1, 1, 1, 96)),
    "add_pixel_1x24x24x96_by_1x24x24x1": _add((1, 24, 24, 96), (1, 24, 24, 1)),
    "depthwise_3x3_1x24x24x64": _depthwise((1, 24, 24, 64), 1),
    "depthwise_3x3_x2_1x24x24x32": _depthwise((1, 24, 24, 32), 2),
    "mean_1x7x7x576_to_1x576": _mean((1, 7, 7, 576), False),
    "mean_1x12x12x320_keep_dims": _mean((1, 12, 12, 320), True),
    "softmax_1x1000": _softmax((1, 1000)),
    "softmax_64x64": _softmax((64, 64)),
    "softmax_1x10": _softmax((1, 10)),
    # attention, 4 heads of 32 over 64 tokens: Q.K^T (K read transposed) and attn.V, the rhs with
    # a zero point (a GEMM call per row) and without (one call)
    "bmm_qk_4x64x32_adj_y": _batch_matmul((4, 64, 32), (4, 64, 32), -3, True),
    "bmm_qk_4x64x32_adj_y_zp0": _batch_matmul((4, 64, 32), (4, 64, 32), 0, True),
    "bmm_av_4x64x64_by_4x64x32": _batch_matmul((4, 64, 64), (4, 64, 32), -3, False),
    "gather_rows_64_of_256x64": _gather((256, 64), 64, 0),
    "gather_cols_32_of_64x64": _gather((64, 64), 32, 1),
}


def main() -> None:
    from picoq.converter import convert
    from picoq.runtime import Interpreter, supported_isas

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--isa", default=supported_isas()[-1], help="the fast interpreter's ISA (default: the best)"
    )
    ap.add_argument("--only", nargs="*", default=None, help="case names (prefixes) to run")
    ap.add_argument("--runs", type=int, default=200, help="invokes per round (Interpreter.profile's median)")
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds per case")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"isa {args.isa}; median of {args.rounds} rounds, each the median of {args.runs} invokes of the op")
    print(f"{'case':34s} {'reference us':>13s} {'fast us':>9s} {'speedup':>8s}  kernel")
    for name, build in CASES.items():
        if args.only and not any(name.startswith(p) for p in args.only):
            continue
        model = convert(build().build())
        ref = Interpreter(model, kernels="reference")
        fast = Interpreter(model, isa=args.isa)
        xs = [rng.integers(-128, 128, d["shape"], dtype=np.int8) for d in ref.input_details]
        x = xs if len(xs) > 1 else xs[0]
        assert np.array_equal(ref.run(x), fast.run(x)), name
        times: dict[str, list[float]] = {"reference": [], "fast": []}
        for _ in range(args.rounds):
            for label, it in (("reference", ref), ("fast", fast)):
                times[label].append(it.profile(x, runs=args.runs)[0]["median_us"])
        r, f = statistics.median(times["reference"]), statistics.median(times["fast"])
        print(f"{name:34s} {r:13.2f} {f:9.2f} {r / f:7.1f}x  {fast.op_kernels[0]}")


if __name__ == "__main__":
    main()
