"""16x8 CONV_2D and DEPTHWISE_CONV_2D (int16 activations, int8 per-channel weights) against
tflite-micro, byte for byte.

Random one-op models (tests/support/tflite_builder.py, ``TFLiteGraph(activations=np.int16)``)
cover 1x1 to 5x5 and non-square kernels, strides, dilations, SAME and VALID, odd and even
rows and columns, depth multipliers above 1, every fused activation and the bias forms TFLM
runs differently: an int64 bias or none (int64 sums, its int64 requantization), and for
CONV_2D an int32 bias (TFLM then instantiates its kernel with int32 sums and the int8
kernels' requantization). Inputs span the whole int16 range.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_kernels_s16 import check_against_tflm, int16_inputs

from picoq.converter import convert
from picoq.runtime import Interpreter

from support.tflite_builder import RandomLayers, TFLiteGraph, bias_scales

N_CASES = 24
ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]
BIASES = {"int64": np.int64, "int32": np.int32, "none": None}


def _window(rng: np.random.Generator) -> dict:
    """Kernel, stride, dilation, padding and an input big enough for a VALID output."""
    kernel = (int(rng.choice([1, 3, 5])), int(rng.choice([1, 2, 3, 5])))
    stride = (int(rng.integers(1, 4)), int(rng.integers(1, 3)))
    dilation = (int(rng.integers(1, 3)), int(rng.integers(1, 4)))
    padding = str(rng.choice(["SAME", "VALID"]))
    hw = [int(rng.integers((k - 1) * d + 1, (k - 1) * d + 9)) for k, d in zip(kernel, dilation)]
    return {"kernel": kernel, "stride": stride, "dilation": dilation, "padding": padding, "hw": hw}


def _layers(rng: np.random.Generator, hw, channels: int) -> tuple[TFLiteGraph, RandomLayers, object]:
    g = TFLiteGraph(activations=np.int16)
    layers = RandomLayers(g, rng)
    x = layers.input("x", (int(rng.integers(1, 3)), *hw, channels), float(rng.uniform(1e-4, 1e-2)), 0)
    return g, layers, x


@pytest.mark.parametrize("seed", range(N_CASES))
def test_conv2d(seed: int) -> None:
    rng = np.random.default_rng(26000 + seed)
    win = _window(rng)
    g, layers, x = _layers(rng, win.pop("hw"), int(rng.integers(1, 9)))
    bias = list(BIASES)[seed % 3]
    y = layers.conv2d(
        x,
        int(rng.integers(1, 13)),
        **win,
        activation=ACTIVATIONS[(seed // 3) % 4],
        bias=BIASES[bias] is not None,
        bias_dtype=BIASES[bias],
    )
    g.output(y)
    check_against_tflm(g.build(), [int16_inputs(rng, x.shape)])


@pytest.mark.parametrize("seed", range(N_CASES))
def test_depthwise_conv2d(seed: int) -> None:
    rng = np.random.default_rng(27000 + seed)
    win = _window(rng)
    g, layers, x = _layers(rng, win.pop("hw"), int(rng.integers(1, 7)))
    y = layers.depthwise_conv2d(
        x,
        **win,
        depth_multiplier=int(rng.integers(1, 4)),
        activation=ACTIVATIONS[seed % 4],
        bias=seed % 5 != 4,
    )
    g.output(y)
    check_against_tflm(g.build(), [int16_inputs(rng, x.shape)])


@pytest.mark.parametrize("bias", ["int32", "int64", "none"])
def test_conv2d_sums_wrap_or_not_as_tflm(bias: str) -> None:
    """1024 taps of 127 * 32767 pass 2^31. With an int32 bias TFLM sums in int32 and wraps;
    with an int64 bias or none it sums in int64 (measured: a bias-less conv is not the int32
    instantiation). picoq gives TFLM's bytes in each case."""
    g = TFLiteGraph(activations=np.int16)
    x = g.input("x", (1, 1, 1, 1024), 1e-4, 0)
    w_q = np.full((3, 1, 1, 1024), 127, np.int8)
    w_q[1] = -127
    w_q[2, 0, 0, ::2] = -127
    w = g.const_int8("w", w_q, [1e-3, 1e-3, 1e-3], quantized_dimension=0)
    b_q = np.array([5, -5, 0])
    b = None if bias == "none" else g.const("b", b_q.astype(bias), scales=bias_scales(x, w))
    g.output(g.conv2d(x, w, b, 4.0, 0, padding="VALID"))
    out = check_against_tflm(g.build(), [np.full((1, 1, 1, 1024), 32767, np.int16)])
    wrapped = 127 * 32767 * 1024 - 2**32  # the int32 sum of channel 0
    want = round(wrapped * 1e-4 * 1e-3 / 4.0) if bias == "int32" else round(127 * 32767 * 1024 * 2.5e-8)
    assert abs(int(out[0, 0, 0, 0]) - want) <= 1


def test_conv_models_are_the_s16_variants() -> None:
    """The ops run the 16x8 kernels, with the bias dtype the model gave."""
    rng = np.random.default_rng(3)
    g = TFLiteGraph(activations=np.int16)
    layers = RandomLayers(g, rng)
    x = layers.input("x", (1, 6, 6, 4), 0.001, 0)
    y = layers.conv2d(x, 4, 3, bias_dtype=np.int32)
    g.output(layers.depthwise_conv2d(y, 3, depth_multiplier=2))
    m = Interpreter(convert(g.build())).model
    assert [(op.variant, op.kernel) for op in m.ops] == [
        ("s16", "pq_conv2d_s16"),
        ("s16", "pq_depthwise_conv2d_s16"),
    ]
    assert [m.tensors[op.inputs[2]].dtype for op in m.ops] == ["int32", "int64"]


def test_depthwise_int32_bias_is_refused() -> None:
    """TFLM's 16x8 DEPTHWISE_CONV_2D reads any bias as int64 (an int32 one would be read past
    its end): there is no such arithmetic to match, so the converter names the bias."""
    rng = np.random.default_rng(4)
    g = TFLiteGraph(activations=np.int16)
    layers = RandomLayers(g, rng)
    g.output(layers.depthwise_conv2d(layers.input("x", (1, 4, 4, 2), 0.001, 0), 3, bias_dtype=np.int32))
    with pytest.raises(ValueError, match="bias .* must be a constant INT64"):
        convert(g.build())
