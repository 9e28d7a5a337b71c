"""Calibration: representative inputs -> the float range of every activation.

Data comes from a `.npy` or `.npz` file, a folder of them, an array, a dict of arrays
keyed by input name, or any Python iterable of those (each item one sample or a batch).
The float graph runs on it (float_run.run, batched where the graph allows) with a tqdm
progress bar, and each activation's range comes from one of three methods:

  minmax      the smallest and largest value seen (the default)
  percentile  the `percentile`-th and (100 - percentile)-th percentiles of a 2048-bin histogram
  mse         the clipping range minimising the int8 quantization error over that histogram

Ranges are float; qparams.activation_qparams turns them into int8 scales and zero points.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import float_ops, float_run
from .fgraph import FloatGraph
from .graph import ConversionError
from .qparams import activation_qparams

METHODS = ("minmax", "percentile", "mse")
BATCH_ELEMENTS = 1 << 24  # a stacked batch holds at most this many elements per tensor
BINS = 2048
CalibrationSource = str | os.PathLike | np.ndarray | Mapping[str, Any] | Iterable[Any]


def _hint(graph: FloatGraph) -> str:
    shapes = ", ".join(f"{n!r} {graph.shapes[n]}" for n in graph.inputs)
    return (
        "Calibration data: a .npy/.npz file, a folder of .npy files, or arrays (N, ...) of inputs "
        f"shaped like the model's ({shapes}); a multi-input model takes a dict or .npz keyed by input name."
    )


def _split(arr: np.ndarray, shape: tuple[int, ...], where: str) -> np.ndarray | str:
    """arr as (N, *shape) samples, or an error message."""
    arr = np.asarray(arr)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        return f"{where}: dtype {arr.dtype} is not numeric (give float32 arrays)"
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            return (
                f"{where}: contains NaN or infinity ({int(np.count_nonzero(bad))} value(s), the first at"
                f" index {_first(bad)} of shape {arr.shape})"
            )
        with np.errstate(over="ignore"):
            f32 = arr.astype(np.float32)
        if not np.isfinite(f32).all():
            return f"{where}: values beyond the float32 range (e.g. {float(arr[~np.isfinite(f32)][0])!r})"
        arr = f32
    else:
        arr = arr.astype(np.float32)
    if arr.shape == shape:
        return arr[None]
    if shape and shape[0] == 1 and arr.shape == shape[1:]:  # one sample without its batch axis
        return arr[None, None]
    if shape and shape[0] == 1 and arr.ndim == len(shape) and arr.shape[1:] == shape[1:]:
        return arr[:, None]
    if arr.shape[1:] == shape:
        return arr
    return f"{where}: shape {arr.shape} is neither {shape} nor a batch (N, {', '.join(map(str, shape[1:]))})"


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(mask.reshape(-1))), mask.shape))


def _array(a: Any, where: str, problems: list[str]) -> np.ndarray | None:
    """np.asarray(a), or None with a problem: a ragged list or an object that is not an array."""
    if hasattr(a, "numpy") and callable(a.numpy):  # a torch tensor
        a = a.numpy()
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as e:  # e.g. "inhomogeneous shape": a ragged nested list
        problems.append(f"{where}: not an array ({e})")
        return None
    if arr.dtype == object:
        problems.append(f"{where}: not a numeric array (it holds Python objects: {type(a).__name__})")
        return None
    return arr


def _item(item: Any, graph: FloatGraph, where: str, problems: list[str]) -> dict[str, np.ndarray] | None:
    names = graph.inputs
    if isinstance(item, Mapping):
        keys = [str(k) for k in item]
        if len(names) == 1 and len(item) == 1:
            item = {names[0]: next(iter(item.values()))}
        missing = [n for n in names if n not in item]
        if missing:
            problems.append(f"{where}: no data for input(s) {missing} (keys: {sorted(keys)})")
            return None
        parts = [item[n] for n in names]
    elif isinstance(item, list | tuple) and len(names) > 1:
        if len(item) != len(names):
            problems.append(f"{where}: {len(item)} arrays for {len(names)} inputs")
            return None
        parts = list(item)
    elif len(names) == 1:
        parts = [item]
    else:
        problems.append(f"{where}: the model has {len(names)} inputs; give a dict keyed by input name")
        return None
    out = {}
    for n, a in zip(names, parts):
        what = f"{where}, input {n!r}"
        arr = _array(a, what, problems)
        if arr is None:
            return None
        s = _split(arr, graph.shapes[n], what)
        if isinstance(s, str):
            problems.append(s)
            return None
        if not len(s):
            problems.append(f"{what}: no samples (shape {arr.shape})")
            return None
        out[n] = s
    if len({len(v) for v in out.values()}) > 1:
        problems.append(
            f"{where}: the inputs hold different numbers of samples ({[len(v) for v in out.values()]})"
        )
        return None
    return out


_MAGIC = {".npy": b"\x93NUMPY", ".npz": b"PK"}


def _file_items(path: Path) -> list[tuple[Any, str]]:
    """The arrays of one .npy/.npz file; a file numpy cannot read raises ConversionError naming it."""
    kind = ".npz" if path.suffix == ".npz" else ".npy"
    what = f"calibration file {str(path)!r}"
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except OSError as e:
        raise ConversionError([f"{what} cannot be read: {e}"]) from e
    if not head.startswith(_MAGIC[kind]):
        raise ConversionError([f"{what} is not a {kind} file (it does not start like one: {head!r})"])
    try:  # numpy's readers fail in many ways on a corrupt file (ValueError, EOFError, BadZipFile, zlib.error...)
        if kind == ".npz":
            with np.load(path, allow_pickle=False) as z:
                return [({k: z[k] for k in z.files}, what)]
        return [(np.load(path, allow_pickle=False), what)]
    except Exception as e:  # noqa: BLE001 - the boundary around numpy's file parsing
        msg = str(e) if len(str(e)) <= 200 else str(e)[:200] + "..."
        raise ConversionError([f"{what} is a corrupt {kind} file: {type(e).__name__}: {msg}"]) from e


MAX_PROBLEMS = 20  # listed in one error; the rest are counted


def load_samples(source: CalibrationSource, graph: FloatGraph) -> dict[str, np.ndarray]:
    """Calibration data as one float32 array (N, *input_shape) per graph input."""
    problems: list[str] = []
    items: list[tuple[Any, str]] = []
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_dir():
            # Other files (labels, a README) are not calibration data and stay out of it.
            files = sorted(p for p in path.iterdir() if p.suffix in (".npy", ".npz") and p.is_file())
            if not files:
                problems.append(f"calibration folder {str(path)!r} holds no .npy or .npz file")
            for f in files:
                try:
                    items += _file_items(f)
                except ConversionError as e:
                    problems += e.problems
        elif path.is_file():
            try:
                items += _file_items(path)
            except ConversionError as e:
                problems += e.problems
        else:
            problems.append(f"calibration data {str(path)!r} does not exist")
    elif isinstance(source, bytes | bytearray | memoryview):
        problems.append(f"calibration data of type {type(source).__name__}: give arrays or a path")
    elif isinstance(source, np.ndarray | Mapping) or hasattr(source, "__array__"):
        items.append((source, "calibration array"))
    elif isinstance(source, Iterable):
        items += [(it, f"calibration item {k}") for k, it in enumerate(source)]
    else:
        problems.append(f"calibration data of type {type(source).__name__} is not supported")
    parts: dict[str, list[np.ndarray]] = {n: [] for n in graph.inputs}
    for item, where in items:
        got = _item(item, graph, where, problems)
        if got:
            for n, a in got.items():
                parts[n].append(a)
    if not problems and not all(parts.values()):
        problems.append("no calibration samples")
    out = {n: np.concatenate(v) for n, v in parts.items()} if not problems else {}
    for n, a in out.items():
        if a.size and a.min() == a.max():
            # A constant input calibrates every range from one point: the model would be silently wrong.
            problems.append(
                f"calibration data for input {n!r} is constant (every value {float(a.flat[0])!r}):"
                " calibrate on representative inputs"
            )
    if problems:
        if len(problems) > MAX_PROBLEMS:
            problems = problems[:MAX_PROBLEMS] + [f"... and {len(problems) - MAX_PROBLEMS} more"]
        raise ConversionError(problems, hint=_hint(graph))
    return out


def _progress(total: int, desc: str, enabled: bool):
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="sample", disable=not enabled, leave=False)


def _batches(graph: FloatGraph, samples: dict[str, np.ndarray], batch_size: int):
    """Feeds for float_run.run: stacked batches when the graph allows, else one sample at a time."""
    n = len(next(iter(samples.values())))
    largest = max((math.prod(s) for s in graph.shapes.values()), default=1)
    batch_size = min(batch_size, max(1, BATCH_ELEMENTS // max(largest, 1)))  # memory: few big tensors
    batched = batch_size > 1 and float_ops.batch_safe(graph)
    step = batch_size if batched else 1
    for start in range(0, n, step):
        stop = min(start + step, n)
        if batched:
            yield stop - start, {k: v[start:stop].reshape(-1, *v.shape[2:]) for k, v in samples.items()}
        else:
            yield 1, {k: v[start] for k, v in samples.items()}


def sweep(graph, samples, observe, desc: str, progress: bool, batch_size: int) -> None:
    n = len(next(iter(samples.values())))
    bar = _progress(n, desc, progress)
    try:
        with float_ops.single_threaded_blas():
            for count, feeds in _batches(graph, samples, batch_size):
                float_run.run(graph, feeds, observe=observe)
                if bar is not None:
                    bar.update(count)
    finally:
        if bar is not None:
            bar.close()


def collect_ranges(
    graph: FloatGraph,
    samples: dict[str, np.ndarray],
    method: str = "minmax",
    percentile: float = 99.99,
    progress: bool = True,
    batch_size: int = 32,
) -> dict[str, tuple[float, float]]:
    """The float range (lo, hi) of every activation (graph inputs and node outputs)."""
    if method not in METHODS:
        raise ConversionError(
            [f"unknown calibration method {method!r}"], hint=f"Use one of {', '.join(METHODS)}."
        )
    lo: dict[str, float] = {}
    hi: dict[str, float] = {}

    def minmax(name: str, v: np.ndarray) -> None:
        if v.size and np.issubdtype(v.dtype, np.floating):
            lo[name] = min(lo.get(name, np.inf), float(v.min()))
            hi[name] = max(hi.get(name, -np.inf), float(v.max()))

    sweep(graph, samples, minmax, "calibrating", progress, batch_size)
    bad = [k for k in lo if not (np.isfinite(lo[k]) and np.isfinite(hi[k]))]
    if bad:
        raise ConversionError(
            [f"tensor {k!r} takes non-finite values (inf or NaN) on the calibration data" for k in bad],
            hint="int8 cannot hold them: check the model (e.g. pooling windows made only of padding) and the data.",
        )
    if method == "minmax":
        return {k: (lo[k], hi[k]) for k in lo}

    hists: dict[str, np.ndarray] = {}

    def histogram(name: str, v: np.ndarray) -> None:
        if name in lo and hi[name] > lo[name]:
            h, _ = np.histogram(v, bins=BINS, range=(lo[name], hi[name]))
            hists[name] = hists.get(name, 0) + h

    sweep(graph, samples, histogram, f"calibrating ({method})", progress, batch_size)
    out = {}
    for k in lo:
        if k not in hists:
            out[k] = (lo[k], hi[k])
        elif method == "percentile":
            out[k] = _percentile_range(hists[k], lo[k], hi[k], percentile)
        else:
            out[k] = _mse_range(hists[k], lo[k], hi[k])
    return out


def _percentile_range(h: np.ndarray, lo: float, hi: float, p: float) -> tuple[float, float]:
    edges = np.linspace(lo, hi, BINS + 1)
    cdf = np.cumsum(h) / max(h.sum(), 1)
    tail = (100.0 - p) / 100.0
    i_lo = int(np.searchsorted(cdf, tail, side="left"))
    i_hi = int(np.searchsorted(cdf, 1.0 - tail, side="left"))
    return (float(edges[i_lo]) if lo < 0 else lo, float(edges[min(i_hi + 1, BINS)]) if hi > 0 else hi)


def _mse_range(h: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    """Grid search over shrunken ranges [a*lo, b*hi] for the smallest expected squared error."""
    centers = (np.linspace(lo, hi, BINS + 1)[:-1] + np.linspace(lo, hi, BINS + 1)[1:]) / 2
    keep = h > 0
    c, w = centers[keep], h[keep].astype(np.float64)
    factors = np.linspace(1.0, 0.2, 33)
    best, best_err = (lo, hi), np.inf
    for a in factors if lo < 0 else [1.0]:
        his = hi * factors if hi > 0 else np.array([hi])
        errs = []
        for b in his:
            scale, zp = activation_qparams(lo * a, b)
            q = np.clip(np.round(c / scale) + zp, -128, 127)
            errs.append(float(np.sum(w * (c - (q - zp) * scale) ** 2)))
        j = int(np.argmin(errs))
        if errs[j] < best_err:
            best_err, best = errs[j], (lo * a, float(his[j]))
    return best
