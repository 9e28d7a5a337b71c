"""The AMX GEMMs give the same bytes as the reference kernels.

On CPUs with AMX-INT8 (Sapphire Rapids and later, with Linux granting the tile state)
`isa="amx"` runs CONV_2D and FULLY_CONNECTED GEMMs on 16 x 16 x 64 int8 tiles where the
loader judges it pays (`pq_amx_pays`, src/fast/pq_fast_bind.c), and everything else on the
AVX-512 VNNI kernels. test_fast_kernels.py already runs every case on every ISA; the cases
here are drawn so that the AMX tiles really run (enough output channels, k >= 64, >= 32
output pixels) and hit their edges: a last row block of fewer than 16 or 32 rows, an odd
number of 16-channel blocks, channel counts that are not multiples of 16, k not a multiple
of 64, im2col chunks shorter than a tile (the VNNI fallback on AMX-packed weights),
batches, and int32 wraparound. Each case asserts that the op ran on AMX ("-amx") and that
its output equals the reference kernels' byte for byte.
"""

from __future__ import annotations

import numpy as np
import pytest

from picoq.runtime import Interpreter, supported_isas

from support.models import ACTS, conv_model, fc_model

pytestmark = pytest.mark.skipif("amx" not in supported_isas(), reason="this CPU (or OS) has no AMX-INT8")


def _check(model: bytes, xs: list[np.ndarray]) -> list[str]:
    ref = Interpreter(model, kernels="reference")
    amx = Interpreter(model, isa="amx")
    for i, x in enumerate(xs):
        want, got = ref.run(x), amx.run(x)
        bad = np.flatnonzero(got != want)
        assert bad.size == 0, (
            f"input {i}: {bad.size} of {want.size} bytes differ, first at {bad[0]}: "
            f"amx {got.flat[bad[0]]}, reference {want.flat[bad[0]]} (kernels {amx.op_kernels})"
        )
    return amx.op_kernels


@pytest.mark.parametrize("seed", range(40))
def test_amx_conv_equals_reference(seed: int) -> None:
    rng = np.random.default_rng(50_000 + seed)
    kind = ["rows", "taps", "im2col", "1x1"][seed % 4]
    n = int(rng.choice([1, 1, 2]))
    # >= 32 output pixels, often not a multiple of 16 or 32.
    h, w = int(rng.integers(6, 20)), int(rng.integers(6, 20))
    cout = int(rng.choice([17, 24, 31, 32, 33, 40, 48, 63, 64, 65, 80, 100, 128, 130]))
    if kind == "1x1":
        cin, khw, d, padding = int(rng.integers(1, 200)), (1, 1), (1, 1), "VALID"
    elif kind == "rows":  # one run per filter row: f_w * cin values, padded to 4 (k = 3 runs >= 64)
        cin, khw, d, padding = int(rng.integers(22, 60)), (3, int(rng.choice([1, 2, 3, 5]))), (1, 1), "SAME"
    elif kind == "taps":  # horizontal dilation: a run per tap of cin (a multiple of 4) values
        cin, khw, d, padding = 4 * int(rng.integers(6, 30)), (3, 3), (int(rng.choice([1, 2])), 2), "SAME"
    else:  # grouped, group channels not a multiple of 4: im2col chunks, the last often shorter than a tile
        cin, khw, d, padding = (
            2 * (4 * int(rng.integers(8, 15)) + int(rng.integers(1, 4))),
            (3, 3),
            (1, 1),
            "SAME",
        )
    groups = 2 if kind == "im2col" else 1
    if kind == "im2col":  # more than 16 output channels per group
        cout = 2 * int(rng.choice([17, 20, 33, 40]))
    model = conv_model(rng, (n, h, w, cin), groups, cout, khw, (1, 1), d, padding, str(rng.choice(ACTS)))
    xs = [rng.integers(-128, 128, (n, h, w, cin), dtype=np.int8) for _ in range(3)]
    feed = {"rows": "rows", "taps": "taps", "im2col": "im2col", "1x1": "1x1"}[kind]
    assert _check(model, xs) == [f"fast-conv-{feed}-amx"]


@pytest.mark.parametrize("seed", range(20))
def test_amx_fully_connected_equals_reference(seed: int) -> None:
    rng = np.random.default_rng(60_000 + seed)
    batches = int(rng.choice([32, 33, 47, 48, 64, 70]))
    depth = int(rng.choice([1, 5, 63, 64, 65, 200, 640]))
    units = int(rng.choice([1, 16, 17, 33, 64, 100]))
    model = fc_model(rng, batches, depth, units, always_bias=True)
    xs = [rng.integers(-128, 128, (batches, depth), dtype=np.int8) for _ in range(2)]
    assert _check(model, xs) == ["fast-fc-amx"]


def test_amx_accumulators_wrap_like_the_reference() -> None:
    """70,000 products of 127 * 255 per output wrap int32 several times; the tiles must
    land on the same int32 as the reference's wrapping sum."""
    rng = np.random.default_rng(8)
    depth, batches = 70_000, 33
    wq = np.full((17, depth), 127, np.int8)
    wq[1] = -128
    wq[2, ::2] = -128
    wq[3:] = rng.integers(-128, 128, (14, depth), dtype=np.int8)
    model = fc_model(rng, batches, depth, 17, wq=wq, in_q=(0.01, -128), always_bias=True)
    x = np.full((batches, depth), 127, np.int8)
    x[1::2] = rng.integers(-128, 128, (batches // 2, depth), dtype=np.int8)
    assert _check(model, [x]) == ["fast-fc-amx"]
