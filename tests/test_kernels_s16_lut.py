"""16x8 SOFTMAX, LOGISTIC and TANH, and QUANTIZE between int8 and int16, against tflite-micro.

TFLM's int16 activations read lookup tables: SOFTMAX two 513-entry ones its Prepare fills with
float32 math (exp and 1/(1+x)), LOGISTIC and TANH one fixed 256-entry sigmoid table. picoq's
converter computes them (converter/lut16.py) and stores them as constant int16 inputs, so the
kernels stay integer-only; every case here is picoq == tflite-micro byte for byte, on one-op
models from tests/support/tflite_builder.py. The element-wise ops see every int16 value in
one tensor, which reaches every table entry and every interpolation fraction.
"""

from __future__ import annotations

import numpy as np
import pytest
import tflite
from test_kernels_s16 import check_against_tflm, int16_inputs

from picoq.converter import convert
from picoq.runtime import Interpreter

from support.tflite_builder import TFLiteGraph
from support.tflm_oracle import TFLMRunner

EVERY_INT16 = np.arange(-32768, 32768, dtype=np.int16).reshape(1, 256, 256)
EVERY_INT8 = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _one_op(build, in_scale: float, shape, dtype=np.int16, zero_point: int = 0) -> bytes:
    g = TFLiteGraph(activations=dtype)
    g.output(build(g, g.input("x", shape, in_scale, zero_point)))
    return g.build()


# Power-of-two scales take TFLM's multiplier-0 path (2^-12; TANH also 2^-11); the others its
# doubling loop (1.3: a coarse curve of a few values, the top of the multiplier range).
ELEMENTWISE_SCALES = [2.0**-12, 2.0**-11, 2.0**-10, 1e-5, 3.1e-4, 1.7e-3, 0.02, 0.5, 1.3]


@pytest.mark.parametrize("op", ["logistic", "tanh"])
@pytest.mark.parametrize("in_scale", ELEMENTWISE_SCALES)
def test_sigmoid16_every_value(op: str, in_scale: float) -> None:
    tfl = _one_op(lambda g, x: getattr(g, op)(x), in_scale, EVERY_INT16.shape)
    y = check_against_tflm(tfl, [EVERY_INT16])
    assert np.unique(y).size > 8  # the curve, not a saturated constant


@pytest.mark.parametrize("seed", range(24))
def test_softmax16(seed: int) -> None:
    rng = np.random.default_rng(1600 + seed)
    rows = int(rng.integers(1, 5))
    depth = int(rng.choice([1, 2, 3, int(rng.integers(4, 40)), int(rng.integers(40, 600))]))
    beta = float(rng.choice([1.0, _log_uniform(rng, 0.05, 4.0)]))
    in_scale = _log_uniform(rng, 3e-5, 3e-2)
    x = int16_inputs(rng, (rows, depth))
    if seed % 4 == 1:  # narrow rows: many exps near 1, the sums' reciprocal over its whole range
        x = (x // 64).astype(np.int16)
    check_against_tflm(_one_op(lambda g, t: g.softmax(t, beta), in_scale, x.shape), [x])


def test_softmax16_equal_and_extreme_rows() -> None:
    """Rows of one value (every exp 1: the largest sums), and rows spanning the whole int16 range."""
    x = np.array([[7] * 300, [-32768] * 299 + [32767], list(range(-32768, 32768, 219))[:300]], np.int16)
    check_against_tflm(_one_op(lambda g, t: g.softmax(t, 1.0), 0.01, x.shape), [x])


QUANT_SCALES = {np.int8: (0.003, 0.2), np.int16: (1e-5, 3e-3)}


@pytest.mark.parametrize("src", [np.int8, np.int16], ids=["int8", "int16"])
@pytest.mark.parametrize("dst", [np.int8, np.int16], ids=["int8", "int16"])
@pytest.mark.parametrize("seed", range(3))
def test_quantize_every_value(src: type, dst: type, seed: int) -> None:
    rng = np.random.default_rng(2500 + 10 * seed + 2 * (src is np.int16) + (dst is np.int16))
    in_zp = int(rng.integers(-20, 21)) if src is np.int8 else 0
    out_zp = int(rng.integers(-20, 21)) if dst is np.int8 else 0
    in_scale, out_scale = (_log_uniform(rng, *QUANT_SCALES[t]) for t in (src, dst))
    if seed == 2:  # the same scale: a copy up to the zero points (TFLM's multiplier 2^30, shift 1)
        out_scale = in_scale if src is dst else out_scale
    x = EVERY_INT8 if src is np.int8 else EVERY_INT16
    tfl = _one_op(lambda g, t: g.quantize(t, out_scale, out_zp, dst), in_scale, x.shape, src, in_zp)
    y = _against_tflm(tfl, x)
    assert y.dtype == dst and np.unique(y).size > 8


def _against_tflm(tfl: bytes, x: np.ndarray) -> np.ndarray:
    """picoq == tflite-micro for an output of any dtype (check_against_tflm's is int16)."""
    want = TFLMRunner(tfl, arena_size=1 << 20).run([x])[0]
    got = Interpreter(convert(tfl), kernels="reference").run(x)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want, err_msg="picoq disagrees with tflite-micro")
    return got


def test_int8_softmax_through_int16() -> None:
    """An int8 graph that requantizes to int16 for a 16x8 SOFTMAX and back: four ops, three kernels."""
    rng = np.random.default_rng(7)
    g = TFLiteGraph(activations=np.int8)
    x = g.input("x", (2, 50), 0.05, 3)
    s = g.softmax(g.quantize(x, 0.0004, 0, np.int16), 1.0)
    g.output(g.quantize(g.logistic(g.quantize(s, 2.0**-12, 0, np.int16)), 1 / 256, -128, np.int8))
    xi = rng.integers(-128, 128, (2, 50), dtype=np.int8)
    _against_tflm(g.build(), xi)
    it = Interpreter(convert(g.build()), kernels="reference")
    kernels = [op.kernel for op in it.model.ops]
    assert kernels == [
        "pq_quantize_s16",
        "pq_softmax_s16",
        "pq_quantize_s16",
        "pq_logistic_s16",
        "pq_quantize_s16",
    ]


def test_tables_are_constant_int16_inputs() -> None:
    m = Interpreter(convert(_one_op(lambda g, x: g.softmax(x, 1.0), 0.001, (1, 8)))).model
    (op,) = m.ops
    assert (op.variant, op.kernel) == ("s16", "pq_softmax_s16")
    assert [(m.tensors[t].dtype, m.tensors[t].shape) for t in op.inputs[1:]] == [("int16", (513,))] * 2
    m = Interpreter(convert(_one_op(lambda g, x: g.tanh(x), 0.001, (1, 8)))).model
    (op,) = m.ops
    assert [(m.tensors[t].dtype, m.tensors[t].shape) for t in op.inputs[1:]] == [("int16", (256,))]


def test_int16_softmax_with_another_output_scale_is_named() -> None:
    g = TFLiteGraph(activations=np.int16)
    x = g.input("x", (1, 8), 0.001, 0)
    y = g._add_tensor("y", (1, 8), np.int16, scales=[1 / 256], zero_points=[0])
    g._add_op(tflite.BuiltinOperator.SOFTMAX, 1, [x], [y])  # no options: beta 1
    g.output(y)
    with pytest.raises(ValueError, match="int16 softmax output must have scale 1/32768"):
        convert(g.build())


@pytest.mark.parametrize("op", ["logistic", "tanh", "quantize_to_int8", "quantize_from_int8"])
def test_fast_lut16_equals_the_reference(op: str) -> None:
    """The s16 element-wise ops' fast kernel is a table of the reference kernel on every input
    value (pq_lut16_s16_fast_op.c): the same bytes, every value of the input's dtype here."""
    build = {
        "logistic": lambda g, x: g.logistic(x),
        "tanh": lambda g, x: g.tanh(x),
        "quantize_to_int8": lambda g, x: g.quantize(x, 0.01, -7, np.int8),
        "quantize_from_int8": lambda g, x: g.quantize(x, 3e-4, 0, np.int16),
    }[op]
    src = np.int8 if op == "quantize_from_int8" else np.int16
    x = EVERY_INT8 if src is np.int8 else EVERY_INT16
    tfl = _one_op(build, 0.0013 if src is np.int16 else 0.05, x.shape, src, 0)
    fast = Interpreter(convert(tfl))
    assert fast.op_kernels == ["fast-lut16"]
    ref = Interpreter(convert(tfl), kernels="reference").run(x)
    np.testing.assert_array_equal(fast.run(x), ref)


@pytest.mark.parametrize("scale", ELEMENTWISE_SCALES)
@pytest.mark.parametrize("op", ["logistic", "tanh"])
def test_small_int16_logistic_and_tanh_fast_equal_the_reference(op: str, scale: float) -> None:
    """Below the table's size threshold (a recurrent cell's gates), the int16 LOGISTIC and TANH
    run the reference arithmetic 8 values a step on AVX2 (pq_sigmoid16_avx2.c, a gather) and 16
    on AVX-512 (pq_sigmoid16_avx512.c, permutes): every int16 value, in 9 runs of a 8,195-value
    tensor (8 or 16 lanes a step, then a tail of 3, scalar or masked), on every ISA,
    byte for byte; both scale paths (power of two and TFLM's doubling loop)."""
    from support.fast_check import ISAS, run_all

    n = 8195
    values = np.concatenate([EVERY_INT16.reshape(-1), np.zeros(9 * n - 65536, np.int16)])
    xs = [c.reshape(1, n) for c in np.split(np.random.default_rng(0).permutation(values), 9)]
    tfl = _one_op(
        (lambda g, x: g.logistic(x)) if op == "logistic" else (lambda g, x: g.tanh(x)), scale, (1, n)
    )
    simd = any(isa in ISAS for isa in ("avx2", "avx512vnni", "amx"))
    assert run_all(convert(tfl), xs) == ["fast-sigmoid16" if simd else "reference"]


@pytest.mark.parametrize("out", ["int16", "int8"])
@pytest.mark.parametrize("ratio", [1e-4, 0.013, 0.5, 0.9999, 1.0, 3.7, 200.0, 16385.0, 70000.0])
def test_small_int16_quantize_fast_equals_the_reference(out: str, ratio: float) -> None:
    """Below the table's size threshold, a QUANTIZE from int16 (a requantization between 16x8
    layers, an int8 exit) runs the reference's MBQM in a vectorised loop (pq_lut16_s16_fast_op.c):
    every int16 value, in 9 runs of a 8,195-value tensor, on every ISA, byte for byte; scale
    ratios from far below 1 to past 2^14, where the left shift leaves the loop's exact range
    and the op stays on the reference kernel; output zero points off 0 for int8."""
    from support.fast_check import run_all

    n = 8195
    values = np.concatenate([EVERY_INT16.reshape(-1), np.zeros(9 * n - 65536, np.int16)])
    xs = [c.reshape(1, n) for c in np.split(np.random.default_rng(1).permutation(values), 9)]
    in_scale = 1e-4
    dtype, zp = (np.int16, 0) if out == "int16" else (np.int8, -5)
    tfl = _one_op(lambda g, x: g.quantize(x, in_scale / ratio, zp, dtype), in_scale, (1, n))
    assert run_all(convert(tfl), xs) == ["fast-requant16" if ratio < 2.0**14 else "reference"]
