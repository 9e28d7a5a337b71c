"""Mutations of .picoq files for fuzzing the loader: truncation, byte flips, and field-aware
corruption of counts, offsets, shapes, scales and op parameters.

Most mutants are resealed (the CRC is recomputed) so that they get past the checksum and
exercise the checks behind it, as TFLite's own fuzzer deliberately skips its verifier.
`python -m tests.support.picoq_mutate model.picoq --mutants 100000` is the opt-in long run.
"""

from __future__ import annotations

import argparse
import struct
import sys
import time
from collections import Counter
from collections.abc import Callable

import numpy as np

from picoq.runtime import Interpreter, ModelFormatError
from picoq.runtime import format as fmt

from .fileedit import reseal, sections

INTERESTING_INTS = [0, 1, -1, 2, 15, 16, 17, 127, 128, 255, 256, 1 << 15, 1 << 16, (1 << 31) - 1, -(1 << 31)]
INTERESTING_FLOATS = [0.0, -0.0, -1.0, 1e-45, 1e-40, 1e38, float("inf"), float("-inf"), float("nan"), 1.0]


class Mutator:
    """Knows where every field of a valid file lives, and corrupts one (or a few) per mutant."""

    def __init__(self, data: bytes, rng: np.random.Generator):
        self.data = data
        self.rng = rng
        self.sec = sections(data)
        self.fields: list[tuple[int, str]] = []  # (byte offset, struct code)
        self._collect()

    def _collect(self) -> None:
        f = self.fields
        f += [(8, "<H"), (10, "<H"), (16, "<Q"), (24, "<I"), (28, "<I")]
        for _, _, at in self.sec.values():
            f += [(at, "<4s"), (at + 4, "<I"), (at + 8, "<I"), (at + 12, "<I")]
        off, _, _ = self.sec[b"MODL"]
        f += [(off + k, "<I") for k in range(0, 32, 4)]
        self._records(b"TENS", fmt.TENSOR_DTYPE)
        self._records(b"OPS_", fmt.OP_DTYPE)
        for tag in (b"OPIO", b"GRIO"):
            off, size, _ = self.sec[tag]
            f += [(off + k, "<i") for k in range(0, size, 4)]
        if fmt.SCRATCH_TAG in self.sec:  # format 1.1: each op's scratch offset and size
            off, size, _ = self.sec[fmt.SCRATCH_TAG]
            f += [(off + k, "<I") for k in range(0, size, 4)]

    def _records(self, tag: bytes, dtype: np.dtype) -> None:
        off, size, _ = self.sec[tag]
        codes = {"u1": "<B", "<u2": "<H", "<u4": "<I", "<i4": "<i", "<f4": "<f"}
        for r in range(size // dtype.itemsize):
            base = off + r * dtype.itemsize
            for name in dtype.names:
                ft, foff = dtype.fields[name][:2]
                sub = ft.subdtype
                code = codes[(sub[0] if sub else ft).str.lstrip("|")]
                count = int(np.prod(sub[1])) if sub else 1
                step = struct.calcsize(code)
                self.fields += [(base + foff + k * step, code) for k in range(count)]

    def _field(self, buf: bytearray) -> str:
        at, code = self.fields[self.rng.integers(len(self.fields))]
        if code == "<4s":
            buf[at : at + 4] = bytes(self.rng.integers(0, 256, 4, dtype=np.uint8))
            return "field:tag"
        if code == "<f":
            v = float(self.rng.choice(INTERESTING_FLOATS))
            struct.pack_into(code, buf, at, v)
            return "field:float"
        (old,) = struct.unpack_from(code, buf, at)
        choice = self.rng.integers(4)
        if choice == 0:
            v = int(self.rng.choice(INTERESTING_INTS))
        elif choice == 1:
            v = old + int(self.rng.choice([-16, -1, 1, 16]))
        elif choice == 2:
            v = old * 2 + 1
        else:
            v = int(self.rng.integers(-(1 << 31), 1 << 31))
        bits = struct.calcsize(code) * 8
        if code in ("<i",):
            v = ((v + (1 << 31)) % (1 << 32)) - (1 << 31)
        else:
            v %= 1 << bits
        struct.pack_into(code, buf, at, v)
        return "field:int"

    def mutate(self) -> tuple[bytes, str]:
        buf = bytearray(self.data)
        kind = self.rng.random()
        if kind < 0.05:
            return bytes(buf[: int(self.rng.integers(0, len(buf)))]), "truncate"
        if kind < 0.10:  # not resealed: the checksum must catch it
            at = int(self.rng.integers(fmt.HEADER_CRC_START, len(buf)))
            buf[at] ^= 1 << int(self.rng.integers(8))
            return bytes(buf), "flip-unsealed"
        if kind < 0.25:  # anywhere, including constant data
            for _ in range(int(self.rng.integers(1, 9))):
                at = int(self.rng.integers(0, len(buf)))
                buf[at] ^= 1 << int(self.rng.integers(8))
            what = "flip"
        else:
            what = ",".join(sorted({self._field(buf) for _ in range(int(self.rng.integers(1, 4)))}))
        reseal(buf)
        return bytes(buf), what


def check_mutant(data: bytes, rng: np.random.Generator) -> str:
    """Load and run one mutant: it must raise ModelFormatError or run with the declared shapes."""
    try:
        it = Interpreter(data)
    except ModelFormatError:
        return "rejected"
    xs = [rng.integers(-128, 128, d["shape"], dtype=np.int8) for d in it.input_details]
    ys = it.run(xs if len(xs) > 1 else xs[0])
    ys = ys if isinstance(ys, list) else [ys]
    for y, d in zip(ys, it.output_details):
        assert y.shape == d["shape"] and y.dtype == d["dtype"], (y.shape, d)
    return "ran"


def fuzz(data: bytes, mutants: int, seed: int, progress: Callable[[int], None] | None = None) -> Counter:
    rng = np.random.default_rng(seed)
    mut = Mutator(data, rng)
    outcomes: Counter = Counter()
    for i in range(mutants):
        m, what = mut.mutate()
        try:
            outcomes[check_mutant(m, rng)] += 1
        except Exception as e:  # anything but ModelFormatError is a finding
            raise AssertionError(f"mutant {i} ({what}, seed {seed}) raised {type(e).__name__}: {e}") from e
        if progress and i % 1000 == 0:
            progress(i)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help=".picoq files (convert .tflite first with `picoq convert`)")
    ap.add_argument("--mutants", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    for path in args.models:
        data = open(path, "rb").read()
        t0 = time.perf_counter()
        out = fuzz(
            data, args.mutants, args.seed, lambda i, p=path: print(f"  {p}: {i} mutants", file=sys.stderr)
        )
        print(f"{path}: {args.mutants} mutants in {time.perf_counter() - t0:.0f} s: {dict(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
