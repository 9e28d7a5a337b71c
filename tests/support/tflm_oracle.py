"""TFLite Micro as the bit-exactness oracle for picoq, plus LiteRT's reference kernels as a second opinion.

Why: picoq's contract is "same bits as TFLM's reference kernels" (shared/INT8_SPEC.md), so
tests compare against the ``tflite_micro`` Python package itself rather than a re-derivation.
LiteRT with ``BUILTIN_REF`` agrees with TFLM except FULLY_CONNECTED, which may differ by +-1
(single vs double rounding, INT8_SPEC section 7); it is useful to validate models that we
generate, not as the oracle.

The arena numbers come from TFLM's RecordingMicroAllocator, which prints them from C++ to
stderr; we capture file descriptor 2, because Python's ``sys.stderr`` never sees them.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import tflite
from tflite_micro import runtime

__all__ = [
    "ArenaUsage",
    "edge_inputs",
    "LiteRTRefRunner",
    "TFLMRunner",
    "model_io_counts",
    "run_litert_ref",
    "run_tflm",
    "tflm_arena_bytes",
    "tflm_arena_usage",
]


def edge_inputs(rng: np.random.Generator, shape, dtype) -> np.ndarray:
    """Random integers of ``dtype`` and ``shape``, its extremes (min, max), 0 and -1 first."""
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max + 1, shape, dtype=dtype)
    flat = x.reshape(-1)
    edges = np.array([info.min, info.max, 0, -1], dtype)[: flat.size]
    flat[: edges.size] = edges
    return x


def model_io_counts(model_bytes: bytes) -> tuple[int, int]:
    """(number of inputs, number of outputs) of subgraph 0; the TFLM binding does not expose them."""
    model = tflite.Model.GetRootAsModel(model_bytes, 0)
    sg = model.Subgraphs(0)
    return sg.InputsLength(), sg.OutputsLength()


def _check_inputs(inputs: Sequence[np.ndarray], details: Sequence[dict]) -> list[np.ndarray]:
    """Exact dtype and shape, so a caller's mistake is not silently cast or broadcast."""
    if len(inputs) != len(details):
        raise ValueError(f"model has {len(details)} inputs, got {len(inputs)} arrays")
    arrays = []
    for i, (x, d) in enumerate(zip(inputs, details, strict=True)):
        x = np.asarray(x)
        if x.dtype != d["dtype"] or tuple(x.shape) != tuple(int(s) for s in d["shape"]):
            raise ValueError(
                f"input {i}: expected {np.dtype(d['dtype'])} {tuple(d['shape'])}, got {x.dtype} {x.shape}"
            )
        arrays.append(np.ascontiguousarray(x))
    return arrays


class TFLMRunner:
    """One TFLM interpreter, reused for many inputs (the arena is planned once, at construction).

    ``preserve_all_tensors=True`` keeps every intermediate tensor readable through
    ``tensor(i)`` (TFLM then does not record allocations, so ``arena_usage()`` is unavailable).
    """

    def __init__(
        self, model_bytes: bytes, *, arena_size: int | None = None, preserve_all_tensors: bool = False
    ) -> None:
        config = (
            runtime.InterpreterConfig.kPreserveAllTensors
            if preserve_all_tensors
            else runtime.InterpreterConfig.kAllocationRecording
        )
        self.model_bytes = bytes(model_bytes)
        self.preserve_all_tensors = preserve_all_tensors
        self._it = runtime.Interpreter.from_bytes(
            self.model_bytes, arena_size=arena_size, intrepreter_config=config
        )
        n_in, n_out = model_io_counts(self.model_bytes)
        self.input_details = [self._it.get_input_details(i) for i in range(n_in)]
        self.output_details = [self._it.get_output_details(i) for i in range(n_out)]

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Set all inputs, invoke once, return copies of all outputs."""
        for i, x in enumerate(_check_inputs(inputs, self.input_details)):
            self._it.set_input(x, i)
        self._it.invoke()
        return [np.array(self._it.get_output(i), copy=True) for i in range(len(self.output_details))]

    def tensor(self, index: int) -> np.ndarray:
        """Contents of tensor ``index`` after the last ``run`` (needs ``preserve_all_tensors``)."""
        if not self.preserve_all_tensors:
            raise RuntimeError("construct TFLMRunner with preserve_all_tensors=True to read intermediates")
        return np.array(self._it.GetTensor(index, 0)["tensor_data"], copy=True)

    def arena_usage(self) -> ArenaUsage:
        """The RecordingMicroAllocator's breakdown of the arena this interpreter planned."""
        if self.preserve_all_tensors:
            raise RuntimeError("TFLM records allocations only without preserve_all_tensors")
        return ArenaUsage.parse(_capture_stderr_fd(self._it.print_allocations))


def run_tflm(model_bytes: bytes, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """One-shot TFLM inference; build a TFLMRunner instead when running many inputs."""
    return TFLMRunner(model_bytes).run(inputs)


# *** arena accounting ***

_TOTALS = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")
_RECORD = re.compile(r"'([^']+)' used (\d+) bytes with alignment overhead \(requested (\d+) bytes for (\d+) ")


@dataclass(frozen=True)
class ArenaUsage:
    """TFLM arena use in bytes: head = planned activations, tail = persistent data, total = both.

    Measured on x86-64 with reference kernels; the tail is smaller on a 32-bit MCU.
    ``records`` maps each recorded allocation type to (used, requested, count).
    """

    total: int
    head: int
    tail: int
    records: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> ArenaUsage:
        totals = {k: int(v) for k, v in _TOTALS.findall(text)}
        if set(totals) != {"total", "head", "tail"}:
            raise RuntimeError(f"could not find TFLM's arena totals in:\n{text}")
        records = {m[0]: (int(m[1]), int(m[2]), int(m[3])) for m in _RECORD.findall(text)}
        return cls(totals["total"], totals["head"], totals["tail"], records)


def _capture_stderr_fd(fn: Callable[[], object]) -> str:
    """Run ``fn`` with file descriptor 2 pointed at a temp file and return what was written there."""
    libc = ctypes.CDLL(None)
    sys.stderr.flush()
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        try:
            os.dup2(tmp.fileno(), 2)
            fn()
            libc.fflush(None)  # C stdio may buffer even stderr when it is not a terminal
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        return tmp.read().decode("utf-8", errors="replace")


def tflm_arena_usage(model_bytes: bytes) -> ArenaUsage:
    """Arena breakdown TFLM plans for ``model_bytes`` (head, tail, total and per-type records)."""
    return TFLMRunner(model_bytes).arena_usage()


def tflm_arena_bytes(model_bytes: bytes) -> int:
    """Total arena bytes TFLM allocates for the model (head + tail; allow +16 for alignment)."""
    return tflm_arena_usage(model_bytes).total


# *** LiteRT reference kernels (second opinion) ***


class LiteRTRefRunner:
    """LiteRT interpreter with the reference op resolver, reused for many inputs.

    Why it exists: LiteRT computes output shapes itself in Prepare and, with BUILTIN_REF,
    uses the same reference arithmetic as TFLM except FULLY_CONNECTED (+-1), so agreement
    with TFLM shows a generated model is well formed.
    """

    def __init__(self, model_bytes: bytes, *, preserve_all_tensors: bool = False) -> None:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        self._it = Interpreter(
            model_content=bytes(model_bytes),
            experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
            experimental_preserve_all_tensors=preserve_all_tensors,
        )
        self._it.allocate_tensors()
        self.input_details = self._it.get_input_details()
        self.output_details = self._it.get_output_details()

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Set all inputs, invoke once, return copies of all outputs."""
        for x, d in zip(_check_inputs(inputs, self.input_details), self.input_details, strict=True):
            self._it.set_tensor(d["index"], x)
        self._it.invoke()
        return [np.array(self._it.get_tensor(d["index"]), copy=True) for d in self.output_details]

    def tensor(self, index: int) -> np.ndarray:
        """Contents of tensor ``index`` after the last ``run`` (intermediates need preserve_all_tensors)."""
        return np.array(self._it.get_tensor(index), copy=True)

    def tensor_details(self) -> list[dict]:
        """LiteRT's view of every tensor (shapes as LiteRT computed them in Prepare)."""
        return self._it.get_tensor_details()


def run_litert_ref(model_bytes: bytes, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """One-shot LiteRT BUILTIN_REF inference."""
    return LiteRTRefRunner(model_bytes).run(inputs)
