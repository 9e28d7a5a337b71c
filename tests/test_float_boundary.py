"""The float boundary of Interpreter.run in C (runtime/boundary/pq_boundary.c) against numpy.

The oracles are written here, independently of the C: quantize is TFLite's QUANTIZE,
clip(round_half_away(float32(x) / scale) + zero_point), the division in float32 and the
rounding done exactly in float64 (|v| + 0.5 is exact there for any float32 v); the
converter's scalar quantize_value (Python floats) agrees on every finite value. Dequantize
is numpy's (q - zero_point) * float32(scale), compared bit for bit.

The SSE2 loops run through the extension; the plain C loops that aarch64 runs are built
here with -DPQ_BOUNDARY_PLAIN and called through ctypes, on the same values.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from picoq.converter.quantize import quantize_value
from picoq.runtime import Interpreter
from picoq.runtime._interp import dequantize, quantize

from support.cross_tools import aarch64_tools
from support.make_fixtures import build_tiny_convnet

BOUNDARY = Path(__file__).resolve().parents[1] / "runtime" / "boundary"
SCALES = [1.0, 0.5, 2.0**-7, 0.0157, 0.0039215686, 3.7, 1e-30, 1e30, 2.0**-140]  # 2^-140: subnormal
ZERO_POINTS = [-128, -5, 0, 3, 127]


def oracle_quantize(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    with np.errstate(over="ignore"):  # float64 beyond float32's range becomes +-inf, as intended
        v = (np.asarray(x).astype(np.float32) / np.float32(scale)).astype(np.float64)
    q = np.sign(v) * np.floor(np.abs(v) + 0.5) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


def oracle_dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    with np.errstate(over="ignore"):  # a huge scale: +-inf, as float32 arithmetic gives
        return ((q.astype(np.int32) - zero_point) * np.float32(scale)).astype(np.float32)


def hard_values(rng: np.random.Generator, scale: float, n: int) -> np.ndarray:
    """Exact ties k + 0.5 of x / scale (both signs), their float neighbours, random values,
    and the special ones: +-inf, huge, subnormal, -0, +-(0.5 - 2^-25) * scale."""
    s = np.float32(scale)
    k = rng.integers(-300, 300, n).astype(np.float64)
    ties = ((k + 0.5) * np.float64(s)).astype(np.float32)
    toward = rng.choice([-np.inf, np.inf], n).astype(np.float32)
    near = np.nextafter(ties, toward)
    rand = (rng.standard_normal(n) * 150 * np.float64(s)).astype(np.float32)
    half_minus = np.nextafter(np.float32(0.5), np.float32(0)) * s
    special = np.array(
        [
            np.inf,
            -np.inf,
            3.4e38,
            -3.4e38,
            1e20,
            -1e20,
            1e-45,
            -1e-45,
            1e-40,
            0.0,
            -0.0,
            half_minus,
            -half_minus,
        ],
        np.float32,
    )
    x = np.concatenate([ties, near, rand, special])
    rng.shuffle(x)
    return x


def cases(seed: int = 0):
    rng = np.random.default_rng(seed)
    for scale in SCALES:
        for zp in ZERO_POINTS:
            yield scale, zp, hard_values(rng, scale, int(rng.integers(1, 120)))


def test_ties_are_really_exercised() -> None:
    s = np.float32(0.0157)
    x = hard_values(np.random.default_rng(0), float(s), 400)
    with np.errstate(all="ignore"):
        v = x / s
        assert np.sum(np.abs(v) % 1 == 0.5) > 200  # most constructed ties are exact ties of x / scale


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_quantize_equals_the_oracle(dtype) -> None:
    for scale, zp, x in cases():
        a = x.astype(dtype)
        got = quantize(a, scale, zp)
        assert got.dtype == np.int8 and got.shape == a.shape
        np.testing.assert_array_equal(got, oracle_quantize(a, scale, zp), err_msg=f"scale {scale} zp {zp}")


def test_quantize_agrees_with_the_converters_quantize_value() -> None:
    rng = np.random.default_rng(1)
    for scale in (0.0157, 2.0**-7, 3.7):
        for zp in (-128, 0, 127):
            x = hard_values(rng, scale, 200)
            with np.errstate(over="ignore"):
                x = x[np.isfinite(x / np.float32(scale))]  # quantize_value cannot round infinity
            want = [min(127, max(-128, quantize_value(float(f), scale, zp))) for f in x]
            np.testing.assert_array_equal(quantize(x, scale, zp), np.array(want, np.int8))


def test_half_minus_an_ulp_rounds_to_zero() -> None:
    # The float32 formula floor(|v| + 0.5f) that run() used before gave 1 here: the sum
    # 0.5 - 2^-25 + 0.5 rounds up to 1 in float32. std::round (TFLite) gives 0.
    v = np.nextafter(np.float32(0.5), np.float32(0))
    w = np.nextafter(np.float32(1.5), np.float32(0))
    x = np.array([v, -v, w, -w, 0.5, -0.5, 1.5, -1.5], np.float32)
    np.testing.assert_array_equal(quantize(x, 1.0, 0), [0, 0, 1, -1, 1, -1, 2, -2])


def test_float64_rounds_to_float32_first() -> None:
    big = float(np.finfo(np.float32).max)
    x = np.array([1e300, -1e300, big * (1 + 2**-30), 2.5 + 2**-40, -2.5 - 2**-40, 2.5 + 2**-20], np.float64)
    # 2.5 + 2^-40 is 2.5 in float32, a tie that rounds away; 2.5 + 2^-20 is not a tie.
    np.testing.assert_array_equal(quantize(x, 1.0, 0), [127, -128, 127, 3, -3, 3])
    np.testing.assert_array_equal(quantize(x, 1.0, 0), oracle_quantize(x, 1.0, 0))


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 33, 100])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_is_reported_wherever_it_is(n, dtype) -> None:
    for at in sorted({0, n // 2, n - 1}) if n else []:
        x = np.zeros(n, dtype)
        x[at] = np.nan
        assert quantize(x, 0.5, 0) is None
    assert n == 0 or quantize(np.ones(n, dtype), 0.5, 0) is not None


def test_other_dtypes_and_layouts() -> None:
    rng = np.random.default_rng(2)
    scale, zp = 0.0157, -3
    x = hard_values(rng, scale, 300)[:600].reshape(6, 10, 10)
    views = {
        "strided": x[:, ::2, 1::3],
        "fortran": np.asfortranarray(x),
        "transposed": x.transpose(2, 0, 1),
        "float64 strided": x.astype(np.float64)[::-1, :, ::2],
        "float16": np.clip(x / 1e3, -6e4, 6e4).astype(np.float16),
        "longdouble": x.astype(np.longdouble),
        "byte-swapped": x.astype(">f4"),
        "0-d": np.array(np.float32(2.5 * scale)),
    }
    for name, a in views.items():
        got = quantize(a, scale, zp)
        assert got.shape == a.shape, name
        np.testing.assert_array_equal(got, oracle_quantize(a, scale, zp), err_msg=name)


def test_dequantize_is_numpys_bit_for_bit() -> None:
    q = np.arange(-128, 128, dtype=np.int8)
    for scale in SCALES + [float(np.finfo(np.float32).max), 1e-45]:
        for zp in ZERO_POINTS:
            got = dequantize(q, scale, zp)
            assert got.dtype == np.float32
            np.testing.assert_array_equal(
                got.view(np.uint32), oracle_dequantize(q, scale, zp).view(np.uint32)
            )
    q2 = np.arange(-128, 127, dtype=np.int8).reshape(15, 17)[:, ::3]
    np.testing.assert_array_equal(dequantize(q2, 0.1, 7), oracle_dequantize(q2, 0.1, 7))


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="zero point"):
        quantize(np.zeros(3, np.float32), 1.0, 128)
    with pytest.raises(ValueError, match="zero point"):
        dequantize(np.zeros(3, np.int8), 1.0, -129)
    with pytest.raises(TypeError, match="int8"):
        dequantize(np.zeros(3, np.int16), 1.0, 0)
    with pytest.raises(TypeError):
        quantize([1.0, 2.0], 1.0, 0)


def test_plain_c_loops_equal_the_oracle(tmp_path: Path) -> None:
    """The loops aarch64 runs (no SSE2), built here with -DPQ_BOUNDARY_PLAIN, strict C99."""
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc, "a C compiler is needed (the extension build needed one too)"
    lib_path = tmp_path / "libpqb.so"
    cmd = [cc, "-O3", "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-DPQ_BOUNDARY_PLAIN"]
    cmd += ["-shared", "-fPIC", str(BOUNDARY / "pq_boundary.c"), "-o", str(lib_path)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    lib = ctypes.CDLL(str(lib_path))
    args = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_float, ctypes.c_int32]
    for name in ("pq_quantize_f32_s8", "pq_quantize_f64_s8", "pq_dequantize_s8_f32"):
        getattr(lib, name).argtypes = args
    for scale, zp, x in cases(3):
        for a, fn in ((x, lib.pq_quantize_f32_s8), (x.astype(np.float64), lib.pq_quantize_f64_s8)):
            q = np.empty(a.size, np.int8)
            assert fn(a.ctypes.data, q.ctypes.data, a.size, scale, zp) == 0
            np.testing.assert_array_equal(q, oracle_quantize(a, scale, zp))
        x[len(x) // 2] = np.nan
        assert lib.pq_quantize_f32_s8(x.ctypes.data, q.ctypes.data, x.size, scale, zp) == 1
        q = np.arange(-128, 128, dtype=np.int8)
        y = np.empty(q.size, np.float32)
        lib.pq_dequantize_s8_f32(q.ctypes.data, y.ctypes.data, q.size, scale, zp)
        np.testing.assert_array_equal(y.view(np.uint32), oracle_dequantize(q, scale, zp).view(np.uint32))


def test_quantize_numpy_fallback_equals_the_oracle() -> None:
    """The numpy path run() keeps for an input whose zero point is outside int8 (an int32 tensor)."""
    for scale, zp, x in cases(4):
        x = x[~np.isnan(x)]
        with np.errstate(over="ignore"):
            got = Interpreter._quantize_numpy(x, scale, zp + 1000)
        np.testing.assert_array_equal(got, oracle_quantize(x, scale, zp + 1000))
    assert Interpreter._quantize_numpy(np.array([1.0, np.nan]), 1.0, 500) is None


@pytest.fixture(scope="module")
def convnet() -> Interpreter:
    from picoq.converter import convert

    return Interpreter(convert(build_tiny_convnet()))


def test_run_float_is_oracle_quantize_run_int8_oracle_dequantize(convnet: Interpreter) -> None:
    it = convnet
    d, o = it.input_details[0], it.output_details[0]
    rng = np.random.default_rng(5)
    shape = d["shape"]
    x = hard_values(rng, d["scale"], int(np.prod(shape)))[: int(np.prod(shape))]
    x = np.resize(x, shape)
    batch = np.concatenate([x, x[..., ::-1]], axis=0)  # a batch of 2: the item-by-item path
    for xf in (x, x.astype(np.float64), np.asfortranarray(x), batch, batch[:, ::-1]):
        want_q = oracle_quantize(xf, d["scale"], d["zero_point"])
        want = oracle_dequantize(it.run(want_q), o["scale"], o["zero_point"])
        got = it.run(xf)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, want)


def test_nan_input_leaves_the_arena_as_it_was(convnet: Interpreter) -> None:
    it = convnet
    shape = it.input_details[0]["shape"]
    xq = np.random.default_rng(6).integers(-128, 128, shape, dtype=np.int8)
    bad = np.zeros(shape, np.float32)
    bad.reshape(-1)[-1] = np.nan  # quantized after every other value
    for x in (bad, bad.astype(np.float64), np.asfortranarray(bad)):  # run1's path and run()'s
        it.set_input(0, xq)
        with pytest.raises(ValueError, match="NaN"):
            it.run(x)
        it.invoke()
        np.testing.assert_array_equal(it.get_output(0), it.run(xq))


def test_aarch64_build_equals_the_oracle(tmp_path: Path) -> None:
    """The NEON loops (and the plain ones after them), cross-built and run under qemu on an
    ARMv8.0 core. Skips only when the cross tools are missing; CI installs them."""
    cc, qemu = aarch64_tools()
    exe = tmp_path / "pq_boundary_main"
    main = Path(__file__).resolve().parent / "c" / "pq_boundary_main.c"
    cmd = [cc, "-O3", "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-static", "-I", str(BOUNDARY)]
    r = subprocess.run(
        [*cmd, str(main), str(BOUNDARY / "pq_boundary.c"), "-o", str(exe)], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    jobs = list(cases(7))
    for n, at in ((40, 37), (40, 3), (16, 0)):  # NaN in the tail, in a block of 16, alone in one
        x = np.ones(n, np.float32)
        x[at] = np.nan
        jobs.append((0.5, 0, x))
    with open(tmp_path / "in.bin", "wb") as f:
        for scale, zp, x in jobs:
            f.write(np.uint64(x.size).tobytes() + np.float32(scale).tobytes() + np.int32(zp).tobytes())
            f.write(x.astype(np.float32).tobytes() + x.astype(np.float64).tobytes())
    r = subprocess.run(
        [qemu, "-cpu", "cortex-a53", str(exe), str(tmp_path / "in.bin"), str(tmp_path / "out.bin")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    out = (tmp_path / "out.bin").read_bytes()
    at = 0
    for scale, zp, x in jobs:
        for a in (x, x.astype(np.float64)):
            nan = int(np.frombuffer(out, np.int32, 1, at)[0])
            q = np.frombuffer(out, np.int8, x.size, at + 4)
            at += 4 + x.size
            assert nan == int(np.isnan(x).any()), (scale, zp)
            if not nan:
                np.testing.assert_array_equal(
                    q, oracle_quantize(a, scale, zp), err_msg=f"scale {scale} zp {zp}"
                )
        y = np.frombuffer(out, np.float32, 256, at)
        at += 4 * 256
        want = oracle_dequantize(np.arange(-128, 128, dtype=np.int8), scale, zp)
        np.testing.assert_array_equal(y.view(np.uint32), want.view(np.uint32))
    assert at == len(out)


# *** int16 (16x8 models): quantize_s16 / dequantize_s16 ***


def oracle_quantize16(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        v = (np.asarray(x).astype(np.float32) / np.float32(scale)).astype(np.float64)
    q = np.sign(v) * np.floor(np.abs(v) + 0.5) + zero_point
    return np.clip(np.nan_to_num(q), -32768, 32767).astype(np.int16)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_quantize_s16_equals_the_oracle(dtype) -> None:
    """Ties, their neighbours, +-inf, huge and subnormal values, over int16's whole range and
    past it (values up to 2^17 steps: the saturation), zero points at int16's ends."""
    from picoq.runtime._interp import quantize_s16

    rng = np.random.default_rng(16)
    for scale in SCALES:
        for zp in (-32768, -300, 0, 7, 32767):
            x = np.concatenate(
                [hard_values(rng, scale, 80), (rng.uniform(-(2.0**17), 2.0**17, 80) * np.float32(scale))]
            ).astype(dtype)
            got = quantize_s16(x, scale, zp)
            assert got.dtype == np.int16 and got.shape == x.shape
            np.testing.assert_array_equal(
                got, oracle_quantize16(x, scale, zp), err_msg=f"scale {scale} zp {zp}"
            )
    assert quantize_s16(np.array([1.0, np.nan], np.float32), 1.0, 0) is None


def test_dequantize_s16_equals_the_oracle() -> None:
    from picoq.runtime._interp import dequantize_s16

    q = np.arange(-32768, 32768, 7, dtype=np.int32).astype(np.int16)
    for scale in SCALES:
        for zp in (-32768, 0, 32767):
            np.testing.assert_array_equal(dequantize_s16(q, scale, zp), oracle_dequantize(q, scale, zp))


def _wide_model(out_int8: bool) -> Interpreter:
    """An int16 input into a 16x8 FULLY_CONNECTED; its int16 output, or that output QUANTIZEd to
    int8 (an int8 model whose recurrent cell takes the sequence at 16 bits ends so)."""
    from picoq.converter import convert

    from support.tflite_builder import RandomLayers, TFLiteGraph

    g = TFLiteGraph(activations=np.int16)
    layers = RandomLayers(g, np.random.default_rng(5))
    y = layers.fully_connected(layers.input("x", (1, 40), 0.003, 0), 12)
    g.output(g.quantize(y, 0.02, -3, np.int8) if out_int8 else y)
    return Interpreter(convert(g.build()))


@pytest.mark.parametrize("out_int8", [False, True])
def test_int16_run_boundary_equals_the_numpy_formula(out_int8: bool) -> None:
    """A model with an int16 input quantizes its float input and dequantizes its output (int16
    or int8) in C: the same bytes as the raw run of the numpy-quantized input, and the same
    floats, on run()'s one-call path (a C-contiguous float32 / float64 array) and its general
    one (Fortran order, reversed strides, a batch)."""
    it = _wide_model(out_int8)
    d_in, d_out = it.input_details[0], it.output_details[0]
    x = np.random.default_rng(6).normal(0, 40, (1, 40)).astype(np.float32)
    batch = np.concatenate([x, x[:, ::-1]])
    for xf in (x, x.astype(np.float64), np.asfortranarray(x), x[:, ::-1], batch):
        raw = np.concatenate(
            [it.run(r) for r in oracle_quantize16(xf, d_in["scale"], d_in["zero_point"])[:, None]]
        )
        assert raw.dtype == (np.int8 if out_int8 else np.int16)
        got = it.run(xf)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, oracle_dequantize(raw, d_out["scale"], d_out["zero_point"]))


def test_int16_raw_input_must_be_int16() -> None:
    """An int16 input takes int16 raw values; int8 ones are refused, not reinterpreted."""
    it = _wide_model(False)
    with pytest.raises((TypeError, ValueError)):
        it.run(np.zeros((1, 40), np.int8))
    x = np.arange(-20, 20, dtype=np.int16).reshape(1, 40) * 800
    with pytest.raises(ValueError, match="expected dtype int16"):
        it.run(x.astype(">i2"))  # byte-swapped: not run1's, and refused by the general path
    raw = it.run(x)
    assert raw.dtype == np.int16
    it.set_input(0, x)
    it.invoke()
    np.testing.assert_array_equal(raw, it.get_output(0))


def test_int16_nan_input_leaves_the_arena_as_it_was() -> None:
    it = _wide_model(True)
    xq = np.random.default_rng(7).integers(-32768, 32768, (1, 40), dtype=np.int16)
    bad = np.zeros((1, 40), np.float32)
    bad[0, -1] = np.nan
    for x in (bad, bad.astype(np.float64), np.asfortranarray(bad)):
        it.set_input(0, xq)
        with pytest.raises(ValueError, match="NaN"):
            it.run(x)
        it.invoke()
        np.testing.assert_array_equal(it.get_output(0), it.run(xq))
