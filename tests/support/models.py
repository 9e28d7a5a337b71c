"""Small int8 models the tests build: all ten ops of format 1.1 chained in one model, and random
one-op CONV_2D / FULLY_CONNECTED models (shapes, quantization, channel counts around the vector
widths) for the fast-kernel, AMX and thread tests."""

from __future__ import annotations

import numpy as np

from picoq.converter import convert

from .tflite_builder import TFLiteGraph

ACTS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]


def build_chain() -> tuple[bytes, dict]:
    """MAX_POOL_2D -> MUL (constant) -> PAD -> TRANSPOSE -> LEAKY_RELU -> HARD_SWISH, then
    LOGISTIC and TANH branches joined by a requantizing CONCATENATION, then MEAN."""
    c = np.array([5, -7, 100, -128], np.int8)
    g = TFLiteGraph()
    x = g.input("x", (1, 6, 6, 4), 0.05, 3)
    a = g.max_pool2d(x, 2, 1, padding="SAME", activation="RELU")
    b = g.mul(a, g.const_int8("c", c, [0.02], [-1]), 0.03, 0)
    p = g.pad(b, [[0, 0], [1, 1], [0, 2], [0, 0]])
    t = g.transpose(p, [0, 3, 1, 2])
    lr = g.leaky_relu(t, 0.1, 0.02, -5)
    h = g.hard_swish(lr, 0.02, -20)
    cat = g.concatenation([g.logistic(h), g.tanh(lr)], 1, 1.0 / 128, 0)
    g.output(g.mean(cat, [2, 3], 0.01, 0, keep_dims=False))
    return g.build(), {"c": c}


# *** random one-op models ***


def in_qparams(rng) -> tuple[float, int]:
    """Input scale and zero point, the int8 extremes included (the zero point pads images)."""
    zp = int(rng.choice([-128, 127, int(rng.integers(-128, 128)), int(rng.integers(-20, 20))]))
    return float(rng.uniform(0.005, 0.1)), zp


def out_qparams(rng, acc_scale: float, k: int) -> tuple[float, int]:
    """An output scale around the accumulators' spread, sometimes far below it: then the
    multiplier exceeds 1 (a left shift) and many outputs saturate."""
    spread = acc_scale * 127.0 * 64.0 * np.sqrt(max(k, 1))
    mode = rng.integers(0, 4)
    if mode == 0:
        scale = acc_scale * float(rng.uniform(0.05, 0.95))  # real multiplier > 1
    elif mode == 1:
        scale = spread / float(rng.uniform(1000, 100000))  # saturating
    else:
        scale = spread / float(rng.uniform(100, 400))
    return scale, int(rng.integers(-128, 128))


def random_weights(rng, shape, n_ch: int, per_channel: bool):
    # -128 included: the int8 spec keeps weights in [-127, 127], the kernels must not care.
    w = rng.integers(-128, 128, size=shape, dtype=np.int8)
    scales = rng.uniform(0.002, 0.02, n_ch if per_channel else 1).astype(np.float32)
    return w, scales


def random_channels(rng, lo: int = 1, hi: int = 80) -> int:
    """Channel counts around the vector widths, and random ones."""
    edges = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 72]
    c = int(rng.choice(edges)) if rng.integers(0, 2) else int(rng.integers(lo, hi + 1))
    return max(lo, min(c, hi))


def random_spatial(rng):
    h, w = (int(v) for v in rng.integers(1, 14, 2))
    kh, kw = (int(v) for v in rng.choice([1, 1, 2, 3, 3, 3, 4, 5], 2))
    sh, sw = (int(v) for v in rng.choice([1, 1, 1, 2, 2, 3], 2))
    dh, dw = (int(v) for v in rng.choice([1, 1, 1, 1, 2, 3], 2))
    padding = str(rng.choice(["SAME", "VALID"]))
    if padding == "VALID":  # the dilated kernel must fit
        kh = min(kh, (h - 1) // dh + 1)
        kw = min(kw, (w - 1) // dw + 1)
    return (h, w), (kh, kw), (sh, sw), (dh, dw), padding


def conv_model(rng, x_shape, groups, cout, khw, s, d, padding, act):
    n, h, w, cin = x_shape
    in_s, in_zp = in_qparams(rng)
    per_channel = bool(rng.integers(0, 4))
    wq, w_s = random_weights(rng, (cout, *khw, cin // groups), cout, per_channel)
    w_full = np.broadcast_to(w_s, (cout,)).astype(np.float32)
    bias = rng.integers(-30000, 30000, cout).astype(np.int32) if rng.integers(0, 4) else None
    out_s, out_zp = out_qparams(rng, in_s * float(w_full.mean()), khw[0] * khw[1] * cin // groups)
    g = TFLiteGraph()
    xt = g.input("x", x_shape, in_s, in_zp)
    wt = g.const_int8("w", wq, w_s, quantized_dimension=0)
    bt = None if bias is None else g.const_int32("b", bias, np.float32(in_s) * w_full)
    g.output(g.conv2d(xt, wt, bt, out_s, out_zp, stride=s, dilation=d, padding=padding, activation=act))
    return convert(g.build())


def fc_model(
    rng, batches: int, depth: int, units: int, wq=None, in_q=None, always_bias: bool = False
) -> bytes:
    """A one-op FULLY_CONNECTED .picoq with random quantization; `wq` replaces the random
    weights (still drawn, so the other draws stay put) and `in_q` the input (scale, zero point)."""
    in_s, in_zp = in_q if in_q is not None else in_qparams(rng)
    per_channel = bool(rng.integers(0, 2))
    w_rand, w_s = random_weights(rng, (units, depth), units, per_channel)
    wq = w_rand if wq is None else wq
    w_full = np.broadcast_to(w_s, (units,)).astype(np.float32)
    with_bias = always_bias or bool(rng.integers(0, 4))
    bias = rng.integers(-30000, 30000, units).astype(np.int32) if with_bias else None
    out_s, out_zp = out_qparams(rng, in_s * float(w_full.mean()), depth)
    g = TFLiteGraph()
    xt = g.input("x", (batches, depth), in_s, in_zp)
    wt = g.const_int8("w", wq, w_s, quantized_dimension=0)
    bt = None if bias is None else g.const_int32("b", bias, np.float32(in_s) * w_full)
    g.output(g.fully_connected(xt, wt, bt, out_s, out_zp, activation=str(rng.choice(ACTS))))
    return convert(g.build())
