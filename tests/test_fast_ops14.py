"""RESIZE_BILINEAR's and TRANSPOSE_CONV's fast kernels give the reference kernels' bytes on every
instruction set (tests/support/fast_check.run_all), with the fast kernel asserted in op_kernels.
TRANSPOSE_CONV's fast kernel lists taps per output pixel and moves the input offset out of the
inner loop (src/fast/pq_transpose_conv_s8_fast_op.c), and on AVX-512 sums 16 output channels a
register over a re-laid-out filter and requantizes them there; the cases cover strides 1-4, filters
larger than the stride and smaller, every output size an output_shape allows, no bias, every
int8 input value and input offsets at both ends."""

from __future__ import annotations

import numpy as np
import pytest

from picoq.converter import convert

from support.fast_check import run_all
from support.tflite_builder import TFLiteGraph


@pytest.mark.parametrize("seed", range(30))
def test_transpose_conv_fast_equals_reference(seed: int) -> None:
    rng = np.random.default_rng(27500 + seed)
    h, w = (int(v) for v in rng.integers(1, 8, 2))
    kh, kw = (int(v) for v in rng.integers(1, 6, 2))
    sh, sw = (int(v) for v in rng.integers(1, 5, 2))
    cin, cout = int(rng.integers(1, 20)), int(rng.integers(1, 9))
    padding = str(rng.choice(["SAME", "VALID"]))
    first = (lambda i, k, s: (i - 1) * s + 1) if padding == "SAME" else (lambda i, k, s: (i - 1) * s + k)
    oh, ow = first(h, kh, sh) + int(rng.integers(0, sh)), first(w, kw, sw) + int(rng.integers(0, sw))
    zp = int(rng.choice([-128, 127, int(rng.integers(-128, 128))]))
    g = TFLiteGraph()
    x = g.input("x", (int(rng.integers(1, 3)), h, w, cin), 0.05, zp)
    wq = rng.integers(-127, 128, (cout, kh, kw, cin), dtype=np.int8)
    wt = g.const_int8("w", wq, rng.uniform(0.002, 0.02, cout).astype(np.float32), quantized_dimension=0)
    b = None
    if seed % 3:
        b = g.const_int32("b", rng.integers(-9000, 9000, cout).astype(np.int32), [0.05 * 0.01] * cout)
    g.output(
        g.transpose_conv(
            x, wt, b, 0.3, int(rng.integers(-20, 20)), (oh, ow), stride=(sh, sw), padding=padding
        )
    )
    xs = [rng.integers(-128, 128, x.shape, dtype=np.int8) for _ in range(2)]
    xs[0].flat[:] = np.resize(rng.permutation(np.arange(-128, 128, dtype=np.int8)), xs[0].size)
    assert run_all(convert(g.build()), xs) == ["fast-transpose-conv"]


@pytest.mark.parametrize("seed", range(15))
def test_resize_bilinear_fast_equals_reference(seed: int) -> None:
    rng = np.random.default_rng(26500 + seed)
    n, h, w, ch = (int(v) for v in (rng.integers(1, 3), *rng.integers(1, 9, 2), rng.integers(1, 9)))
    align, half = [(False, False), (True, False), (False, True)][seed % 3]
    g = TFLiteGraph()
    x = g.input("x", (n, h, w, ch), 0.05, 3)
    g.output(
        g.resize_bilinear(
            x, tuple(int(v) for v in rng.integers(1, 20, 2)), align_corners=align, half_pixel_centers=half
        )
    )
    xs = [rng.integers(-128, 128, (n, h, w, ch), dtype=np.int8) for _ in range(2)]
    assert run_all(convert(g.build()), xs) == ["fast-resize-bilinear"]
