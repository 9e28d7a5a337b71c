"""Why did accuracy drop: each layer's error between the float model and the int8 .picoq model.

`picoq compare model.onnx model.picoq --data x.npy` runs both on the same inputs: the
float model through float_run (the same folded graph the converter calibrated), the
.picoq file through the Interpreter with every activation exposed as an output (the
file's ops, parameters and constants unchanged, only its arena re-planned). Each int8
tensor is dequantized and matched to its float tensor by name and layout.

Two SQNRs per tensor: the cumulative one (the int8 model run end to end, so a layer
inherits every error before it) and the local one (the op run alone, in the runtime's
own kernels, on the float model's inputs to it quantized with the file's scales: the
error the op adds itself). The report ranks by the local one, so the first row is the
layer causing an error, not the last of the layers it spread to.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from picoq.runtime import Interpreter, read_model
from picoq.runtime.format import ModelFile, TensorInfo
from picoq.runtime.interpreter import round_half_away

from . import float_ops, float_run
from .calibrate import load_samples
from .compare_plot import plot
from .graph import Graph, Op, Tensor
from .onnx_convert import prepare
from .plan import plan_arena
from .quantize_graph import Lowering
from .writer import to_bytes


@dataclass
class LayerError:
    tensor: str  # the .picoq tensor
    source: str  # the float model's tensor it holds
    op: str  # the picoq op that writes it ("input" for a graph input)
    shape: tuple[int, ...]
    scale: float | None  # the int8 step (None if per-channel)
    sqnr_db: float
    max_abs_error: float
    order: int  # position in execution order
    local_sqnr_db: float = math.nan  # the op alone on the float model's (quantized) inputs
    local_max_abs_error: float = math.nan

    def as_dict(self) -> dict[str, Any]:
        d = dict(vars(self))
        d["shape"] = list(self.shape)
        for k in ("sqnr_db", "local_sqnr_db", "local_max_abs_error"):
            d[k] = None if not math.isfinite(d[k]) else round(d[k], 3) if k.endswith("db") else d[k]
        return d


def graph_from_model(m) -> Graph:
    """A converter Graph holding a validated .picoq model's tensors and ops, unchanged."""
    g = Graph(name=m.name)
    for t in m.tensors:
        data = np.array(m.const_array(t)) if t.is_const else None
        g.tensors.append(
            Tensor(
                t.name,
                tuple(t.shape),
                t.dtype,
                t.scales.copy() if t.scales.size else None,
                t.zero_points.copy() if t.scales.size else None,
                t.quant_axis,
                data,
            )
        )
    g.ops = [Op(o.name, list(o.inputs), list(o.outputs), dict(o.params), f"op {o.index}") for o in m.ops]
    g.inputs, g.outputs = list(m.inputs), list(m.outputs)
    return g


def expose_all(model_bytes: bytes) -> tuple[bytes, dict[str, str]]:
    """The same model with every activation an op writes as a graph output; also
    {tensor name: the op writing it}."""
    g = graph_from_model(read_model(model_bytes))
    writers = {g.tensors[o.outputs[0]].name: o.name for o in g.ops}
    produced = [o.outputs[0] for o in g.ops]
    g.outputs = list(dict.fromkeys([*g.outputs, *produced]))
    plan_arena(g)
    return to_bytes(g), writers


def _read(source: str | os.PathLike | bytes) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    with open(source, "rb") as f:
        return f.read()


class _Error:
    """Running sums of one tensor's error over the samples."""

    def __init__(self) -> None:
        self.signal = self.noise = self.max = 0.0

    def add(self, want: np.ndarray, got: np.ndarray) -> None:
        err = got.astype(np.float64) - want
        self.signal += float(np.sum(want**2))
        self.noise += float(np.sum(err**2))
        self.max = max(self.max, float(np.max(np.abs(err), initial=0.0)))

    @property
    def sqnr_db(self) -> float:
        if self.noise == 0:
            return math.inf
        return -math.inf if self.signal == 0 else 10 * math.log10(self.signal / self.noise)


Layout = tuple[str, tuple[int, ...], np.ndarray | None]


def _float_of(ref: dict[str, np.ndarray], layout: Layout, shape: tuple[int, ...]) -> np.ndarray:
    """The float model's tensor as the .picoq tensor stores it (layout and column order)."""
    src, perm, cols = layout
    want = np.transpose(ref[src], perm)
    if cols is not None:
        want = want.reshape(-1)[cols]
    return want.reshape(shape).astype(np.float64)


def _float_in(ref: dict[str, np.ndarray], fed: dict[int, Layout], m: ModelFile, t: int) -> np.ndarray:
    return _float_of(ref, fed[t], m.tensors[t].shape)


def _quantize(x: np.ndarray, t: TensorInfo) -> np.ndarray:
    """x in t's integer type, as the Interpreter quantizes a float input."""
    info = np.iinfo(t.dtype)
    q = round_half_away(x.astype(np.float32) / np.float32(t.scales[0])) + int(t.zero_points[0])
    return np.clip(q, info.min, info.max).astype(t.dtype)


def _dequantize(q: np.ndarray, t: TensorInfo) -> np.ndarray:
    return (q.astype(np.float64) - int(t.zero_points[0])) * float(t.scales[0])


def local_groups(m: ModelFile, fed: set[int]) -> dict[int, tuple[list[int], list[int]]]:
    """For each op writing a tensor of `fed` (those the float model holds): the ops to run
    alone to recompute it from float values, and the tensors to feed them. Usually the op
    itself and its inputs; where an input has no float counterpart (a layout copy the
    converter made), the op writing it joins the group, back to tensors of `fed`. None for
    an op whose group would need a graph input outside `fed` or a per-channel activation."""
    writer = {t: op.index for op in m.ops for t in op.outputs}
    groups = {}
    for op in m.ops:
        if op.outputs[0] not in fed:
            continue
        ops: set[int] = set()
        feeds: set[int] = set()
        stack = [op.index]
        while stack:
            k = stack.pop()
            if k in ops:
                continue
            ops.add(k)
            for t in m.ops[k].inputs:
                if t < 0 or m.tensors[t].is_const:
                    continue
                if t in fed or t not in writer:
                    feeds.add(t)
                else:
                    stack.append(writer[t])
        if feeds <= fed and all(m.tensors[t].scales.size == 1 for t in [*feeds, op.outputs[0]]):
            groups[op.index] = (sorted(ops), sorted(feeds))
    return groups


def compare(
    source_model: Any,
    picoq_model: str | os.PathLike | bytes,
    data: Any,
    max_samples: int | None = None,
    local: bool = True,
) -> list[LayerError]:
    """Per-layer errors of the .picoq model against the float source model on `data`
    (anything `convert` takes as calibration), in execution order.

    Each tensor's `sqnr_db` is cumulative: the int8 model run whole, so it includes every
    error the layers before passed on. With `local`, `local_sqnr_db` is the op's own: the
    op run alone in the runtime on the float model's inputs of that layer, quantized with
    the .picoq inputs' scales, against the float model's output (what the op itself adds)."""
    fg = prepare(source_model)
    samples = load_samples(data, fg)
    n = len(next(iter(samples.values())))
    if max_samples is not None:
        n = min(n, max_samples)
    dummy = {t: (-1.0, 1.0) for t in [*fg.inputs, *fg.shapes] if not fg.is_const(t)}
    lowering = Lowering(fg, dummy)
    lowering.run()
    layouts = lowering.layouts_by_name()

    debug, writers = expose_all(_read(picoq_model))
    it = Interpreter(debug)
    m = it.model
    names = [d["name"] for d in it.output_details]
    in_names = [d["name"] for d in it.input_details]
    index = {t.name: t.index for t in m.tensors}
    cumulative: dict[str, _Error] = {}
    own: dict[str, _Error] = {}
    groups = None
    for i in range(n):
        feeds = {k: v[i] for k, v in samples.items()}
        with float_ops.single_threaded_blas():
            ref = float_run.run(fg, feeds, keep_all=True)
        fed = {index[name]: layouts[name] for name in index if name in layouts and layouts[name][0] in ref}
        want = partial(_float_in, ref, fed, m)

        outs = it.run([feeds[k] for k in in_names] if len(in_names) > 1 else feeds[in_names[0]])
        outs = outs if isinstance(outs, list) else [outs]
        pairs = list(zip(names, outs))
        for name in in_names:  # the input's own quantization error, both cumulative and local
            t = m.tensors[index[name]]
            pairs.append((name, _dequantize(_quantize(feeds[name], t), t)))
            if local and index[name] in fed:
                own.setdefault(name, _Error()).add(want(index[name]), pairs[-1][1])
        for name, got in pairs:
            if index[name] in fed:
                cumulative.setdefault(name, _Error()).add(want(index[name]), got)
        if not local:
            continue
        groups = local_groups(m, set(fed)) if groups is None else groups
        for k, (ops, inputs) in groups.items():
            for t in inputs:
                it.set_tensor(t, _quantize(want(t), m.tensors[t]))
            for j in ops:
                it.invoke_ops(j)
            out = m.tensors[m.ops[k].outputs[0]]
            own.setdefault(out.name, _Error()).add(
                want(out.index), _dequantize(it.get_tensor(out.index), out)
            )
    order = {name: k for k, name in enumerate([*in_names, *writers])}
    rows = []
    for name, e in cumulative.items():
        t = m.tensors[index[name]]
        mine = own.get(name)
        rows.append(
            LayerError(
                name,
                layouts[name][0],
                writers.get(name, "input"),
                tuple(t.shape),
                float(t.scales[0]) if t.scales.size == 1 else None,
                e.sqnr_db,
                e.max,
                order.get(name, len(order)),
                mine.sqnr_db if mine else math.nan,
                mine.max if mine else math.nan,
            )
        )
    return sorted(rows, key=lambda r: r.order)


ORDERS = ("local", "cumulative", "execution")


def worst_first(rows: list[LayerError]) -> list[LayerError]:
    """Worst cumulative SQNR first: the layers that ended up worst, mostly late ones."""
    return sorted(rows, key=lambda r: (r.sqnr_db, -r.max_abs_error))


def cause_first(rows: list[LayerError]) -> list[LayerError]:
    """Worst local SQNR first: the layers that add the most error themselves (rows without
    a local SQNR last, by cumulative SQNR)."""
    return sorted(rows, key=lambda r: (math.isnan(r.local_sqnr_db), r.local_sqnr_db, r.sqnr_db))


def ordered(rows: list[LayerError], by: str = "local") -> list[LayerError]:
    """`rows` by "local" (cause first), "cumulative" (worst result first) or "execution"."""
    if by not in ORDERS:
        raise ValueError(f"order by one of {ORDERS}, not {by!r}")
    if by == "local":
        return cause_first(rows)
    return worst_first(rows) if by == "cumulative" else sorted(rows, key=lambda r: r.order)


def _db(v: float) -> str:
    return "-" if math.isnan(v) else "inf" if math.isinf(v) and v > 0 else f"{v:.2f}"


LEGEND = (
    "local dB:  SQNR of the op run alone on the float model's inputs to it, quantized: the error it adds",
    "cumul. dB: SQNR of the int8 model's tensor run end to end: its own error plus what it inherits",
    "max |err|: largest absolute error of the cumulative tensor; int8 step: its quantization scale",
)


def format_table(rows: list[LayerError], limit: int | None = None, by: str = "local") -> str:
    """One header line, then a row per tensor ordered `by` (see `ordered`), at most `limit`."""
    shown = ordered(rows, by)[:limit]
    w = max([len(r.tensor) for r in shown] + [6])
    lines = [
        f"{'tensor':{w}s}  {'op':18s} {'shape':18s} {'local dB':>8s} {'cumul. dB':>9s}"
        f" {'max |err|':>10s} {'int8 step':>10s}"
    ]
    for r in shown:
        step = "-" if r.scale is None else f"{r.scale:10.4g}"
        lines.append(
            f"{r.tensor:{w}s}  {r.op:18s} {str(list(r.shape)):18s} {_db(r.local_sqnr_db):>8s}"
            f" {_db(r.sqnr_db):>9s} {r.max_abs_error:10.4g} {step:>10s}"
        )
    return "\n".join(lines)


def cli(args) -> int:
    """`picoq compare SOURCE MODEL --data X [--order O] [--plot P] [--limit N] [--json]`."""
    import json

    local = getattr(args, "local", True)
    by = getattr(args, "order", "local") if local else "cumulative"
    rows = compare(args.source, args.model, args.data, getattr(args, "samples", None), local=local)
    if args.json:
        print(json.dumps([r.as_dict() for r in ordered(rows, by)[: args.limit]], indent=2))
    else:
        first = {
            "local": "the layer adding the most error first",
            "cumulative": "worst first",
            "execution": "in execution order",
        }[by]
        print(f"{len(rows)} tensors, {first} (SQNR of the dequantized int8 tensor against the float model):")
        print("\n".join(LEGEND[int(not local) :]))
        print(format_table(rows, args.limit, by))
    if args.plot:
        plot(rows, args.plot)
        if not args.json:
            print(f"wrote {args.plot}")
    return 0
