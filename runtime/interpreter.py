"""picoq.runtime.Interpreter: load a .picoq file zero-copy and run it integer-only.

Float exists only here, at the boundary: a float input is quantized with the
model's input scale and zero point (round half away from zero, as TFLite's
QUANTIZE does) and the int8 output is dequantized for the caller, both in C
(boundary/pq_boundary.c, through the extension's quantize / dequantize).
Everything between runs in the C kernels on an arena planned offline by the
converter.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._interp import Core, arena_bytes_for, dequantize, dequantize_s16, quantize, quantize_s16
from .format import ALIGN, SCRATCH_ALIGN, ModelFile, TensorInfo, read_model

ModelSource = str | os.PathLike | bytes | bytearray | memoryview


def _aligned_empty(nbytes: int, align: int = ALIGN) -> np.ndarray:
    """A zeroed uint8 array whose data starts on an `align`-byte boundary."""
    raw = np.zeros(nbytes + align, np.uint8)
    start = (-raw.ctypes.data) % align
    return raw[start : start + nbytes]


def _load_buffer(source: ModelSource):
    """bytes-like or path -> a buffer whose first byte is ALIGN-aligned (mmap for paths)."""
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                return b""
            return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)  # page-aligned, read-only
    if not isinstance(source, bytes | bytearray | memoryview):
        raise TypeError(f"Interpreter takes a path or a bytes-like object, not {type(source).__name__}")
    view = np.frombuffer(source, np.uint8)
    if view.size and view.ctypes.data % ALIGN == 0:
        return source
    copy = _aligned_empty(view.size)  # constants must be aligned for the int32 arrays: copy once
    copy[:] = view
    return copy


def round_half_away(x: np.ndarray) -> np.ndarray:
    """TFLite's TfLiteRound (std::round): ties away from zero, unlike numpy's half-to-even.
    In float64, where |x| + 0.5 is exact for any float32 x that does not saturate anyway
    (in float32, 0.5 - 2^-25 + 0.5 would round up to 1)."""
    x = np.asarray(x, np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


class Interpreter:
    """Run a .picoq model.

    >>> it = Interpreter("model.picoq")
    >>> it.input_details[0]["shape"], it.input_details[0]["scale"]
    >>> y = it.run(x)          # int8 in -> int8 out; float in -> float32 out

    A leading batch dimension larger than the model's runs item by item. A
    model with several inputs takes a list (in `input_details` order) or a dict
    keyed by input name; with several outputs `run` returns a list.

    `kernels="fast"` (default) runs CONV_2D, DEPTHWISE_CONV_2D,
    FULLY_CONNECTED, ADD and AVERAGE_POOL_2D on the fast kernels (packed
    weights, SIMD) where their parameters allow, byte-identical to
    `kernels="reference"`, the plain C99 kernels firmware runs. `isa` picks
    the fast kernels' instruction set ("portable", "avx2", "avx512vnni", "amx" on
    x86-64; "portable", "neon", "neon_dot" on aarch64); by default the
    environment variable PICOQ_ISA, else the best this CPU runs.

    `num_threads` (1 to 64, default 1) lets one inference use several cores:
    each large enough CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED is split
    over output rows or output channels, run by the calling thread and
    `num_threads - 1` worker threads that the interpreter starts at load and
    stops when it is freed (idle workers sleep). The outputs are the same
    bytes for every thread count. Small ops, the other ops and
    `kernels="reference"` run on the calling thread alone.

    One Interpreter runs one inference at a time. It may be shared between
    Python threads: `run`, `invoke`, `set_input`, `get_output`, `profile` and the single-op calls
    each take the interpreter's lock (waiting for it with the GIL released), so
    concurrent calls are serialized, each `run` whole, never interleaved. A
    `set_input` / `invoke` / `get_output` sequence is three calls: another
    thread's call may come between them, so share an interpreter through
    `run`, or give each thread its own to run inferences in parallel.
    """

    def __init__(
        self,
        model: ModelSource,
        *,
        verify_checksum: bool = True,
        kernels: str = "fast",
        isa: str | None = None,
        num_threads: int = 1,
    ):
        self._buf = _load_buffer(model)
        self.model: ModelFile = read_model(self._buf, verify_checksum=verify_checksum)
        const_view = np.frombuffer(self._buf, np.uint8)
        isa = isa or os.environ.get("PICOQ_ISA") or None
        # Only as much of the planned arena as this ISA's kernels use (arena_bytes_for).
        # SCRATCH_ALIGN, not ALIGN: planned scratch offsets are 64-aligned for the SIMD kernels.
        self._arena = _aligned_empty(arena_bytes_for(self.model, kernels, isa), SCRATCH_ALIGN)
        self._core = Core(self.model, const_view, self._arena, kernels, isa, num_threads)
        self._in = [self._arena_view(self.model.tensors[i]) for i in self.model.inputs]
        self._out = [self._arena_view(self.model.tensors[i]) for i in self.model.outputs]
        self.input_details = [self._details(self.model.tensors[i]) for i in self.model.inputs]
        self.output_details = [self._details(self.model.tensors[i]) for i in self.model.outputs]

    def _arena_view(self, t: TensorInfo) -> np.ndarray:
        return self._arena[t.offset : t.offset + t.nbytes].view(t.dtype).reshape(t.shape)

    @staticmethod
    def _details(t: TensorInfo) -> dict[str, Any]:
        per_tensor = t.scales.size == 1
        return {
            "name": t.name,
            "index": t.index,
            "shape": tuple(t.shape),
            "dtype": np.dtype(t.dtype),
            "scale": float(t.scales[0]) if per_tensor else None,
            "zero_point": int(t.zero_points[0]) if per_tensor else None,
        }

    @property
    def arena_size(self) -> int:
        """Bytes of this interpreter's arena: the tensors plus the planned scratch its ISA's
        kernels use (at most the file's arena_size, which covers the hungriest ISA)."""
        return len(self._arena)

    @property
    def kernels(self) -> str:
        return self._core.kernels

    @property
    def isa(self) -> str:
        """Instruction set of the fast kernels (chosen at load)."""
        return self._core.isa

    @property
    def num_threads(self) -> int:
        """Threads an inference may use, as given at load."""
        return self._core.num_threads

    @property
    def op_split(self) -> list[str]:
        """Per op, how it is shared among threads: "" (the calling thread alone),
        "rows:N" or "channels:N" (N parts of its output rows or channels)."""
        return list(self._core.op_split)

    @property
    def thread_scratch_bytes(self) -> int:
        """Bytes of the worker threads' own scratch buffers together (0 with one thread)."""
        return self._core.thread_scratch_bytes

    def profile(self, x: Any, runs: int = 100) -> list[dict[str, Any]]:
        """Where the time goes: run `x` once, then time each op alone `runs` times (median).

        Returns one dict per op: index, op, kernel (see op_kernels), split (how num_threads
        divides it, "" if not), output_shape and median_us. Each op is timed with the caches
        warm from its own repetitions, so the sum can differ from one whole `run` a little."""
        if not isinstance(runs, int) or runs < 1:
            raise ValueError(f"runs must be a positive int, not {runs!r}")
        with self._core:  # no other thread's inference between this run and the timing
            self.run(x)
            medians = self._core.profile_ops(runs)
        splits = self.op_split
        return [
            {
                "index": k,
                "op": op.name,
                "kernel": self._core.op_paths[k],
                "split": splits[k],
                "output_shape": tuple(self.model.tensors[op.outputs[0]].shape),
                "median_us": ns / 1000.0,
            }
            for k, (op, ns) in enumerate(zip(self.model.ops, medians))
        ]

    @property
    def op_kernels(self) -> list[str]:
        """Per op, which kernel runs: "reference" or "fast-..." (e.g. "fast-conv-1x1")."""
        return list(self._core.op_paths)

    @property
    def scratch_bytes(self) -> int:
        """Working memory of the fast kernels allocated outside the arena (im2col rows, GEMM
        panels): 0 when the file plans every op's scratch in the arena (format 1.1, any ISA
        this picoq knows); for a 1.0 file, the largest op's need on the chosen ISA."""
        return self._core.scratch_bytes

    @property
    def op_scratch(self) -> list[str | None]:
        """Per op, where its fast kernel's scratch lives: None (needs none), "arena" (planned
        in the file) or "separate" (the buffer counted by scratch_bytes)."""
        return list(self._core.op_scratch)

    # *** running ***

    def invoke(self) -> None:
        """Run the model on whatever the inputs hold (see set_input / get_output)."""
        self._core.invoke()

    def set_input(self, index: int, x: np.ndarray) -> None:
        """Copy a raw int8 array of exactly the input's shape into the arena."""
        x = self._check(index, x, self._in[index].shape, raw_only=True)
        with self._core:  # not while another thread's invoke reads the arena
            np.copyto(self._in[index], x)

    def get_output(self, index: int) -> np.ndarray:
        with self._core:
            return self._out[index].copy()

    # *** single ops (debugging: picoq compare's per-layer error) ***

    def _activation(self, index: int) -> TensorInfo:
        n = len(self.model.tensors)
        if not isinstance(index, int | np.integer) or not 0 <= index < n:
            raise IndexError(f"tensor index {index!r} out of the model's {n} tensors")
        t = self.model.tensors[index]
        if t.is_const:
            raise ValueError(f"tensor {index} ({t.name!r}) is a constant of the model file, not in the arena")
        return t

    def set_tensor(self, index: int, x: np.ndarray) -> None:
        """Copy raw data of exactly the tensor's shape and dtype into activation `index`'s
        arena bytes. The arena reuses bytes between tensors whose lifetimes do not overlap,
        so this is only meaningful just before `invoke_ops` runs an op reading the tensor."""
        t = self._activation(index)
        x = np.asarray(x)
        if x.dtype != np.dtype(t.dtype) or x.shape != tuple(t.shape):
            raise ValueError(
                f"tensor {index} ({t.name!r}): expected {t.dtype} {tuple(t.shape)}, got {x.dtype} {x.shape}"
            )
        with self._core:
            np.copyto(self._arena_view(t), x)

    def get_tensor(self, index: int) -> np.ndarray:
        """A copy of activation `index`'s raw data as the arena holds it now."""
        t = self._activation(index)
        with self._core:
            return self._arena_view(t).copy()

    def invoke_ops(self, first: int, end: int | None = None) -> None:
        """Run ops `first` .. `end - 1` (default: op `first` alone) on the arena as it is,
        the same kernels `invoke` runs; set their inputs with `set_tensor` first."""
        end = first + 1 if end is None else end
        if not 0 <= first <= end <= len(self.model.ops):
            raise IndexError(f"ops {first}..{end} out of the model's {len(self.model.ops)}")
        self._core.invoke_ops(first, end)

    def run(self, x: np.ndarray | Sequence[np.ndarray] | Mapping[str, np.ndarray]) -> Any:
        # Common case in one C call: one int8 array of exactly the input's shape (None otherwise).
        y = self._core.run1(x)
        if y is not None:
            return y
        xs = self._as_list(x)
        # dtype.kind "f": what np.issubdtype(..., np.floating) says, without its microseconds per
        # call (a model with state inputs -- an LSTM's h0 / c0 -- comes this way every run)
        floats = [np.asarray(a).dtype.kind == "f" for a in xs]
        if any(floats) and not all(floats):
            raise ValueError("give all inputs as int8 (raw) or all as float, not a mix")
        as_float = all(floats)
        batch = None
        prepared = []
        for i, a in enumerate(xs):
            shape = self._in[i].shape
            a = np.asarray(a)
            n = self._batch_of(i, a, shape)
            if batch is not None and n != batch:
                raise ValueError(f"input {i} has batch {n}, input 0 has {batch}")
            batch = n
            a = self._check(i, a, shape if n is None else (n, *shape[1:]), raw_only=False)
            prepared.append(self._quantize(i, a) if as_float else a)
        if batch is None:
            with self._core:  # copy in, invoke, copy out: one step for other threads
                for dst, a in zip(self._in, prepared):
                    np.copyto(dst, a)
                self._core.invoke()
                # Dequantized straight from the arena; raw outputs (or per-channel ones) copied.
                outs = [self._finish(j, v, as_float) for j, v in enumerate(self._out)]
                outs = [y.copy() if y is v else y for y, v in zip(outs, self._out)]
        else:
            results = [np.empty((batch, *v.shape[1:]), v.dtype) for v in self._out]
            with self._core:
                for b in range(batch):
                    for dst, a in zip(self._in, prepared):
                        np.copyto(dst, a[b : b + 1])
                    self._core.invoke()
                    for r, v in zip(results, self._out):
                        r[b : b + 1] = v
            outs = [self._finish(j, r, as_float) for j, r in enumerate(results)]
        return outs[0] if len(outs) == 1 else outs

    __call__ = run

    # *** boundary helpers ***

    def _as_list(self, x) -> list:
        n = len(self._in)
        if isinstance(x, Mapping):
            names = [d["name"] for d in self.input_details]
            unknown = sorted(set(x) - set(names))
            missing = [nm for nm in names if nm not in x]
            if unknown or missing:
                raise ValueError(f"inputs by name: expected {names}, missing {missing}, unknown {unknown}")
            return [x[nm] for nm in names]
        if isinstance(x, list | tuple):
            if len(x) != n:
                raise ValueError(f"the model has {n} input(s), {len(x)} were given")
            return list(x)
        if n != 1:
            raise ValueError(f"the model has {n} inputs: pass a list or a dict keyed by input name")
        return [x]

    def _batch_of(self, i: int, a: np.ndarray, shape: tuple[int, ...]) -> int | None:
        """None for an exact-shape input; N when `a` stacks N model-sized items on axis 0."""
        if a.shape == shape:
            return None
        if shape and shape[0] == 1 and a.ndim == len(shape) and a.shape[1:] == shape[1:] and a.shape[0] > 1:
            return a.shape[0]
        raise ValueError(
            f"input {i} ({self.input_details[i]['name']!r}): expected shape {shape}"
            f" (or a batch (N, {', '.join(map(str, shape[1:]))})), got {a.shape}"
        )

    def _check(self, i: int, a: np.ndarray, shape, raw_only: bool) -> np.ndarray:
        a = np.asarray(a)
        want = self._in[i].dtype
        ok = a.dtype == want or (not raw_only and a.dtype.kind == "f")
        if not ok:
            kinds = f"{want}" if raw_only else f"{want} (raw) or a float dtype"
            raise ValueError(
                f"input {i} ({self.input_details[i]['name']!r}): expected dtype {kinds}, got {a.dtype}"
            )
        if a.shape != tuple(shape):
            raise ValueError(
                f"input {i} ({self.input_details[i]['name']!r}): expected shape {shape}, got {a.shape}"
            )
        return a

    def _quantize(self, i: int, a: np.ndarray) -> np.ndarray:
        d = self.input_details[i]
        if d["scale"] is None:
            raise ValueError(f"input {i} has no per-tensor quantization: pass int8 data")
        # +-inf saturate to the dtype's range, as any out-of-range value does.
        want = self._in[i].dtype
        if want == np.int8:  # in C (the validator holds int8 zero points in [-128, 127])
            q = quantize(a, d["scale"], d["zero_point"])
        elif want == np.int16:  # in C too (int16 zero points in [-32768, 32767])
            q = quantize_s16(a, d["scale"], d["zero_point"])
        else:  # an int32 input's: the same rounding in numpy
            q = self._quantize_numpy(a, d["scale"], d["zero_point"], want)
        if q is None:
            raise ValueError(f"input {i} ({d['name']!r}) contains NaN: it has no {want} value")
        return q

    @staticmethod
    def _quantize_numpy(
        a: np.ndarray, scale: float, zero_point: int, dtype: type = np.int8
    ) -> np.ndarray | None:
        a = a.astype(np.float32)
        if np.isnan(a).any():
            return None
        q = round_half_away(a / np.float32(scale)).astype(np.float64) + zero_point
        info = np.iinfo(dtype)
        return np.clip(q, info.min, info.max).astype(dtype)

    def _finish(self, j: int, q: np.ndarray, as_float: bool) -> np.ndarray:
        if not as_float:
            return q
        d = self.output_details[j]
        if d["scale"] is None:
            return q
        if q.dtype == np.int8:
            return dequantize(q, d["scale"], d["zero_point"])
        if q.dtype == np.int16:
            return dequantize_s16(q, d["scale"], d["zero_point"])
        return ((q.astype(np.int32) - d["zero_point"]) * np.float32(d["scale"])).astype(np.float32)
