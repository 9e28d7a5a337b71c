"""Running a converted model with the reference kernels and with the fast kernels on every
instruction set this machine supports, byte for byte (tests/test_fast_kernels.py and the tests
of the other fast kernels)."""

from __future__ import annotations

import numpy as np

from picoq.runtime import Interpreter, supported_isas

ISAS = supported_isas()


def run_all(model: bytes, xs: list) -> list[str]:
    """Run `xs` with reference and fast kernels on every ISA; all outputs must be equal.

    Returns the fast interpreter's per-op kernel names (the same on every ISA for the
    ops the tests build, except conv feeding modes, which are ISA-specific), without the
    "-amx" mark of GEMMs that ran on AMX tiles (test_fast_kernels_amx.py checks those)."""
    ref = Interpreter(model, kernels="reference")
    want = [ref.run(x) for x in xs]
    assert ref.op_kernels == ["reference"] * len(ref.op_kernels)
    kernels = []
    for isa in ISAS:
        fast = Interpreter(model, isa=isa)
        assert fast.isa == isa and fast.kernels == "fast"
        for i, (x, want_x) in enumerate(zip(xs, want)):
            outs = fast.run(x)
            # A model with several outputs gives a list of them.
            for got, w in zip(*(r if isinstance(r, list) else [r] for r in (outs, want_x)), strict=True):
                assert got.dtype == w.dtype and got.shape == w.shape
                bad = np.flatnonzero(got != w)
                assert bad.size == 0, (
                    f"isa {isa}, input {i}: {bad.size} of {w.size} bytes differ from the reference, "
                    f"first at flat index {bad[0]}: fast {got.flat[bad[0]]}, reference {w.flat[bad[0]]} "
                    f"(kernels {fast.op_kernels})"
                )
        kernels = [k.removesuffix("-amx") for k in fast.op_kernels]
    return kernels


def slice_kernel_name(shape, begin, size, elem_bytes: int) -> str:
    """The fast kernel name a SLICE of `shape` at `begin` (sizes, -1 to the end) gets: "alias"
    where the plan gives the box its own bytes inside the input (the flat indices it takes are
    consecutive and start at a multiple of 16 bytes), else "fast-slice"."""
    box = tuple(slice(b, d if s == -1 else b + s) for d, b, s in zip(shape, begin, size))
    flat = np.arange(int(np.prod(shape))).reshape(shape)[box].ravel()
    contiguous = bool(np.all(np.diff(flat) == 1))
    return "alias" if contiguous and flat[0] * elem_bytes % 16 == 0 else "fast-slice"
