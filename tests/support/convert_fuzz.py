"""Feed hostile model files to `picoq.converter.convert` and sort what happens.

Each case runs in a worker process (forked once, reused) so that a hang can be cut off and
a crash cannot take the caller down. The worker converts to a real output path and checks
that a failed conversion leaves nothing behind there: no file, no temporary. Its address
space is capped so that a file declaring a huge tensor fails fast instead of eating the
machine (the converter must refuse such a file before it allocates).

Outcomes: "converted", "ConversionError", "hang" (over `timeout` seconds), "died" (the
worker process ended: a segfault in a native library, say), "left output" (an exception
left a file in the output folder), or "<ExceptionType> at <file>:<line>" for anything else.
Only the first two are acceptable.

    python -m tests.support.convert_fuzz tflite MODEL.tflite --mutants 100000 --save DIR
    python -m tests.support.convert_fuzz onnx MODEL.onnx --calib CALIB.npy --mutants 100000
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ACCEPTED = ("converted", "ConversionError")
MEMORY_CAP = 6 << 30  # bytes of address space per worker: far above any legitimate small model


def _outcome(e: BaseException) -> str:
    if type(e).__name__ == "ConversionError":
        return "ConversionError"
    where = traceback.extract_tb(e.__traceback__)[-1] if e.__traceback__ else None
    at = f" at {Path(where.filename).name}:{where.lineno}" if where else ""
    return f"{type(e).__name__}{at}"


def _worker(conn, calibration: Any) -> None:
    from picoq.converter import convert

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    sys.setrecursionlimit(3000)
    folder = tempfile.mkdtemp(prefix="picoq-fuzz-")
    out = os.path.join(folder, "out.picoq")
    while True:
        data = conn.recv()
        if data is None:
            break
        detail = ""
        try:
            convert(data, out, calibration=calibration, progress=False)
            outcome = "converted"
        except BaseException as e:  # noqa: BLE001 - sorting every exception is the point
            outcome = _outcome(e)
            if outcome != "ConversionError":
                detail = "".join(traceback.format_exception(e))[-3000:]
            elif os.listdir(folder):
                outcome, detail = "left output", repr(os.listdir(folder))
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
        conn.send((outcome, detail))


@dataclass
class Report:
    counts: Counter = field(default_factory=Counter)
    examples: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # outcome -> (input, traceback)
    seconds: float = 0.0

    @property
    def failures(self) -> dict[str, int]:
        return {k: v for k, v in self.counts.items() if k not in ACCEPTED}

    def summary(self) -> str:
        n = sum(self.counts.values())
        lines = [f"{n} cases in {self.seconds:.0f} s: {dict(self.counts)}"]
        for k, (_, tb) in self.examples.items():
            lines.append(f"--- {k}\n{tb}")
        return "\n".join(lines)


class Runner:
    """A worker process converting one case at a time, restarted after a hang or a death."""

    def __init__(self, calibration: Any = None, timeout: float = 10.0):
        self.calibration = calibration
        self.timeout = timeout
        self.ctx = mp.get_context("fork")
        self.proc = None

    def _start(self) -> None:
        self.conn, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child, self.calibration), daemon=True)
        self.proc.start()
        child.close()

    def _kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.join()
            self.proc = None

    def run(self, data: bytes) -> tuple[str, str]:
        if self.proc is None:
            self._start()
        try:
            self.conn.send(data)
            if self.conn.poll(self.timeout):
                return self.conn.recv()
            self._kill()
            return "hang", f"no answer in {self.timeout} s"
        except (EOFError, BrokenPipeError, ConnectionResetError):
            if self.proc is not None:
                self.proc.join(5)  # reap it: exitcode is None until then (-11: a segfault)
            code = self.proc.exitcode if self.proc else None
            self._kill()
            return "died", f"worker exit code {code}"

    def close(self) -> None:
        if self.proc is not None:
            try:
                self.conn.send(None)
                self.proc.join(5)
            finally:
                self._kill()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def fuzz_convert(
    cases: Iterator[bytes],
    calibration: Any = None,
    timeout: float = 10.0,
    save: Path | None = None,
    progress: Callable[[int, Counter], None] | None = None,
) -> Report:
    """Run every case; keep the first input of each unacceptable outcome (and write it to `save`)."""
    rep = Report()
    t0 = time.monotonic()
    with Runner(calibration, timeout) as runner:
        for i, data in enumerate(cases):
            outcome, detail = runner.run(data)
            rep.counts[outcome] += 1
            if outcome not in ACCEPTED and outcome not in rep.examples:
                rep.examples[outcome] = (data, detail)
                if save is not None:
                    save.mkdir(parents=True, exist_ok=True)
                    tag = "".join(c if c.isalnum() else "_" for c in outcome)[:60]
                    (save / f"{tag}-{i}.bin").write_bytes(data)
            if progress is not None:
                progress(i + 1, rep.counts)
    rep.seconds = time.monotonic() - t0
    return rep


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("kind", choices=("tflite", "onnx"))
    p.add_argument("model", type=Path, help="the valid model whose mutants are fed to convert")
    p.add_argument("--calib", type=Path, help=".npy calibration data (onnx)")
    p.add_argument("--mutants", type=int, default=10000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--save", type=Path, help="folder for the inputs of unacceptable outcomes")
    a = p.parse_args(argv)
    data = a.model.read_bytes()
    rng = np.random.default_rng(a.seed)
    if a.kind == "tflite":
        from .tflite_mutate import mutants
    else:
        from .onnx_mutate import mutants
    calib = np.load(a.calib) if a.calib else None

    def show(n: int, counts: Counter) -> None:
        if n % 1000 == 0:
            print(n, dict(counts), flush=True)

    rep = fuzz_convert(mutants(data, a.mutants, rng), calib, a.timeout, a.save, show)
    print(rep.summary())
    return 1 if rep.failures else 0


if __name__ == "__main__":
    sys.exit(main())
