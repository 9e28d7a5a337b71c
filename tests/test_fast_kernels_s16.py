"""The 16x8 fast kernels (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED; src/fast/pq_*_s16_fast_op.c)
give the reference kernels' bytes on every instruction set this machine supports (the
reference kernels are checked against tflite-micro in test_kernels_s16.py and
test_kernels_s16_conv.py). Random shapes, strides, dilations, paddings, groups, depth
multipliers, the three bias forms, full-range int16 inputs; sums past 2^32 (int32 wrap with an
int32 bias, int64 otherwise) and chunked dot products longer than the kernels' int32 chunk.
No timing is asserted.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_kernels_s16 import int16_inputs
from test_kernels_s16_conv import ACTIVATIONS, BIASES, _window

from picoq.converter import convert
from picoq.runtime import Interpreter

from support.fast_check import run_all, slice_kernel_name
from support.tflite_builder import RandomLayers, TFLiteGraph, bias_scales

N_CASES = 16


def _graph(rng: np.random.Generator, shape) -> tuple[TFLiteGraph, RandomLayers, object]:
    g = TFLiteGraph(activations=np.int16)
    layers = RandomLayers(g, rng)
    return g, layers, layers.input("x", shape, float(rng.uniform(1e-4, 1e-2)), 0)


def _inputs(rng: np.random.Generator, shape) -> list[np.ndarray]:
    return [int16_inputs(rng, shape) for _ in range(2)]


@pytest.mark.parametrize("seed", range(N_CASES))
def test_conv2d_s16_fast_equals_reference(seed: int) -> None:
    rng = np.random.default_rng(36000 + seed)
    win = _window(rng)
    shape = (int(rng.integers(1, 3)), *win.pop("hw"), int(rng.integers(1, 40)))
    g, layers, x = _graph(rng, shape)
    bias = list(BIASES)[seed % 3]
    y = layers.conv2d(
        x,
        int(rng.integers(1, 20)),
        **win,
        activation=ACTIVATIONS[seed % 4],
        bias=BIASES[bias] is not None,
        bias_dtype=BIASES[bias],
    )
    g.output(y)
    assert run_all(convert(g.build()), _inputs(rng, shape)) == ["fast-conv-s16"]


@pytest.mark.parametrize("seed", range(6))
def test_grouped_conv2d_s16_fast_equals_reference(seed: int) -> None:
    rng = np.random.default_rng(37000 + seed)
    groups, per_in, per_out = int(rng.integers(2, 5)), int(rng.integers(1, 6)), int(rng.integers(1, 5))
    kh, kw = int(rng.choice([1, 3])), int(rng.choice([1, 2, 3]))
    g = TFLiteGraph(activations=np.int16)
    x = g.input("x", (1, 7, 6, groups * per_in), 1e-3, 0)
    w_q = rng.integers(-127, 128, (groups * per_out, kh, kw, per_in), dtype=np.int8)
    w = g.const_int8("w", w_q, list(rng.uniform(1e-3, 3e-3, groups * per_out)), quantized_dimension=0)
    b_q = rng.integers(-(10**6), 10**6, groups * per_out)
    b = g.const("b", b_q.astype(np.int64 if seed % 2 else np.int32), scales=bias_scales(x, w))
    g.output(g.conv2d(x, w, b, 0.05, 0, stride=(1, 2), padding=str(rng.choice(["SAME", "VALID"]))))
    assert run_all(convert(g.build()), _inputs(rng, x.shape)) == ["fast-conv-s16"]


@pytest.mark.parametrize("bias", list(BIASES))
def test_conv2d_s16_long_sums(bias: str) -> None:
    """2700 taps of (-128) * (-32768): far past 2^32 (an int32 bias wraps it, as TFLM does),
    over many of the fast kernel's int32 chunks."""
    g = TFLiteGraph(activations=np.int16)
    x = g.input("x", (1, 3, 3, 300), 1e-4, 0)
    w_q = np.full((2, 3, 3, 300), -128, np.int8)
    w_q[1, :, :, ::3] = 127
    w = g.const_int8("w", w_q, [1e-3, 1e-3], quantized_dimension=0)
    b = (
        None
        if bias == "none"
        else g.const("b", np.array([7, -7]).astype(BIASES[bias]), scales=bias_scales(x, w))
    )
    g.output(g.conv2d(x, w, b, 50.0, 0, padding="SAME"))
    xs = [np.full(x.shape, -32768, np.int16), np.full(x.shape, 32767, np.int16)]
    assert run_all(convert(g.build()), xs) == ["fast-conv-s16"]


@pytest.mark.parametrize("seed", range(N_CASES))
def test_depthwise_s16_fast_equals_reference(seed: int) -> None:
    rng = np.random.default_rng(38000 + seed)
    win = _window(rng)
    shape = (int(rng.integers(1, 3)), *win.pop("hw"), int(rng.integers(1, 24)))
    g, layers, x = _graph(rng, shape)
    y = layers.depthwise_conv2d(
        x,
        **win,
        depth_multiplier=int(rng.integers(1, 4)),
        activation=ACTIVATIONS[seed % 4],
        bias=seed % 4 != 3,
    )
    g.output(y)
    assert run_all(convert(g.build()), _inputs(rng, shape)) == ["fast-depthwise-s16"]


def test_depthwise_s16_too_many_taps_stays_on_the_reference() -> None:
    """Past 511 taps an int32 lane could overflow: the op keeps its reference kernel."""
    rng = np.random.default_rng(5)
    g, layers, x = _graph(rng, (1, 24, 24, 2))
    g.output(layers.depthwise_conv2d(x, (23, 23), padding="VALID"))
    model = convert(g.build())
    assert Interpreter(model, kernels="fast").op_kernels == ["reference"]
    g, layers, x = _graph(rng, (1, 24, 24, 2))
    g.output(layers.depthwise_conv2d(x, (21, 24), padding="VALID"))  # 504 taps
    assert run_all(convert(g.build()), _inputs(rng, x.shape)) == ["fast-depthwise-s16"]


@pytest.mark.parametrize("seed", range(N_CASES))
def test_fully_connected_s16_fast_equals_reference(seed: int) -> None:
    rng = np.random.default_rng(39000 + seed)
    rows, depth, units = int(rng.integers(1, 5)), int(rng.integers(1, 400)), int(rng.integers(1, 40))
    g, layers, x = _graph(rng, (rows, depth))
    y = layers.fully_connected(
        x, units, activation=ACTIVATIONS[seed % 4], per_channel=bool(seed % 2), bias=seed % 5 != 4
    )
    g.output(y)
    assert run_all(convert(g.build()), _inputs(rng, (rows, depth))) == ["fast-fc-s16"]


@pytest.mark.parametrize("depth", [128, 300])
@pytest.mark.parametrize("offset", [-255, 255])
def test_fully_connected_s16_filter_offset(offset: int, depth: int) -> None:
    """A per-tensor 16x8 FC's filter offset (0 from TFLite, up to 255 allowed by the format) is
    in the fast kernel's widened weights: products up to 382 * 32768, still exact in its chunks
    (depth 300: per-unit dot products) and in its int32 column sums (depth 128, their limit)."""
    from test_validator import Patch

    rng = np.random.default_rng(6)
    g, layers, x = _graph(rng, (2, depth))
    g.output(layers.fully_connected(x, 9))
    p = Patch(convert(g.build()))
    p.param(0, "filter_offset", offset)
    xs = [np.full((2, depth), v, np.int16) for v in (-32768, 32767)] + _inputs(rng, (2, depth))
    assert run_all(p.data(), xs) == ["fast-fc-s16"]


@pytest.mark.parametrize("per_channel", [False, True])
def test_fully_connected_s16_shifts_past_32_bits(per_channel: bool) -> None:
    """An output scale 2^29 times the input's times the weights' puts the int64 requantization's
    shift past 32 bits, where the low 32 bits of an arithmetic shift of a negative sum differ
    from a logical one's (the AVX2 requantization of the column path emulates the arithmetic
    one): negative and positive sums near the int32 limit, biases of both signs."""
    g = TFLiteGraph(activations=np.int16)
    x = g.input("x", (3, 120), 1e-4, 0)
    rng = np.random.default_rng(9)
    w_q = rng.integers(-127, 128, (24, 120), dtype=np.int8)
    w_q[:8] = -127
    w_q[8:16] = 127
    scales = list(rng.uniform(1e-3, 2e-3, 24)) if per_channel else [1.5e-3]
    w = g.const_int8("w", w_q, scales, quantized_dimension=0)
    b = g.const("b", rng.integers(-(2**40), 2**40, 24).astype(np.int64), scales=bias_scales(x, w))
    g.output(g.fully_connected(x, w, b, 1e-4 * 1.5e-3 * 2.0**29, 0))
    xs = [np.full((3, 120), v, np.int16) for v in (-32768, 32767)] + _inputs(rng, (3, 120))
    assert run_all(convert(g.build()), xs) == ["fast-fc-s16"]


@pytest.mark.parametrize("units", [32, 83])
@pytest.mark.parametrize("depth", [1, 6, 8, 127, 128, 129])
def test_fully_connected_s16_short_rows(depth: int, units: int) -> None:
    """Depths around the switch from column sums (<= 128, a recurrent cell's gates) to per-unit
    dot products, with full-range weights and inputs, 20 rows and 32 units as an LSTM's, or 83:
    a pass of 64 columns, one of 16 and 3 alone on AVX-512 (32 + 32 + 16 + 3 on AVX2)."""
    rng = np.random.default_rng(depth)
    g, layers, x = _graph(rng, (20, depth))
    g.output(layers.fully_connected(x, units, per_channel=bool(depth % 2)))
    xs = [np.full((20, depth), v, np.int16) for v in (-32768, 32767)] + _inputs(rng, (20, depth))
    assert run_all(convert(g.build()), xs) == ["fast-fc-s16"]


@pytest.mark.parametrize("seed", range(12))
def test_slice_s16_fast_equals_reference(seed: int) -> None:
    """The 16x8 SLICE's fast hook copies an int16 box as the byte box twice as wide: random
    ranks 1..5, boxes anywhere inside the input (the innermost dim cut or whole, dims merged)."""
    rng = np.random.default_rng(39000 + seed)
    rank = int(rng.integers(1, 6))
    shape = tuple(int(d) for d in rng.integers(1, 7, size=rank))
    begin = [int(rng.integers(0, d)) for d in shape]
    size = [int(rng.integers(1, d - b + 1)) if rng.random() < 0.7 else -1 for d, b in zip(shape, begin)]
    g, layers, x = _graph(rng, shape)
    g.output(g.slice(x, begin, size))
    assert run_all(convert(g.build()), _inputs(rng, shape)) == [slice_kernel_name(shape, begin, size, 2)]


@pytest.mark.parametrize("seed", range(12))
def test_pad_s16_fast_equals_reference(seed: int) -> None:
    """The 16x8 PAD's fast hook pads the bytes (the last dim and its padding doubled): random
    ranks 1..6, padding on some dims (the unpadded ones merge), none at all."""
    rng = np.random.default_rng(39100 + seed)
    rank = int(rng.integers(1, 7))
    shape = tuple(int(d) for d in rng.integers(1, 6, size=rank))
    pads = [[int(a), int(b)] if rng.random() < 0.6 else [0, 0] for a, b in rng.integers(0, 3, (rank, 2))]
    g, layers, x = _graph(rng, shape)
    g.output(g.pad(x, pads))
    assert run_all(convert(g.build()), _inputs(rng, shape)) == ["fast-pad"]


@pytest.mark.parametrize("seed", range(16))
def test_transpose_s16_fast_equals_reference(seed: int) -> None:
    """The 16x8 TRANSPOSE's fast hook: each int16 value an axis of 2 bytes (rank 1..5, the last
    axis moved or kept), 8x8 tiles of 2-D transposes among them (sizes past 8)."""
    rng = np.random.default_rng(39200 + seed)
    rank = int(rng.integers(1, 6))
    shape = tuple(int(d) for d in rng.integers(1, 6 if rank > 2 else 20, size=rank))
    perm = [int(p) for p in rng.permutation(rank)]
    g, layers, x = _graph(rng, shape)
    g.output(g.transpose(x, perm))
    assert run_all(convert(g.build()), _inputs(rng, shape)) == ["fast-transpose"]


@pytest.mark.parametrize("seed", range(16))
def test_softmax_s16_fast_equals_reference(seed: int) -> None:
    """The 16x8 SOFTMAX's fast hook against its reference kernel (tests/test_kernels_s16_lut.py
    holds that one to tflite-micro): rows of 1 to 600 values over the whole int16 range, betas
    and input scales whose left shifts run from negative to 15, and input scales past that
    (shift > 15: the plan leaves them to the reference kernel)."""
    rng = np.random.default_rng(39300 + seed)
    rows, depth = int(rng.integers(1, 5)), int(rng.choice([1, 2, 7, 16, 33, int(rng.integers(40, 600))]))
    beta = float(rng.choice([1.0, np.exp(rng.uniform(np.log(0.05), np.log(4.0)))]))
    large = seed % 4 == 3  # 40 * 65535 / 10: a multiplier of 2^18 and more
    in_scale = float(np.exp(rng.uniform(np.log(3e-5), np.log(3e-2)))) if not large else 40.0
    beta = 1.0 if large else beta
    g = TFLiteGraph(activations=np.int16)
    g.output(g.softmax(g.input("x", (rows, depth), in_scale, 0), beta))
    xs = [int16_inputs(rng, (rows, depth)), (int16_inputs(rng, (rows, depth)) // 64).astype(np.int16)]
    assert run_all(convert(g.build()), xs) == ["reference" if large else "fast-softmax"]
