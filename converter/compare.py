"""Why did accuracy drop: each layer's error between the float model and the int8 .picoq model.

`picoq compare model.onnx model.picoq --data x.npy` runs both on the same inputs: the
float model through float_run (the same folded graph the converter calibrated), the
.picoq file through the Interpreter with every activation exposed as an output (the
file's ops, parameters and constants unchanged, only its arena re-planned). Each int8
tensor is dequantized and matched to its float tensor by name and layout; the report
gives, per layer, the SQNR (dB) and the largest absolute error, worst first.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from picoq.runtime import Interpreter, read_model

from . import float_ops, float_run
from .calibrate import load_samples
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
    scale: float  # the int8 step
    sqnr_db: float
    max_abs_error: float
    order: int  # position in execution order

    def as_dict(self) -> dict[str, Any]:
        d = dict(vars(self))
        d["shape"] = list(self.shape)
        d["sqnr_db"] = None if math.isinf(self.sqnr_db) else round(self.sqnr_db, 3)
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


def compare(
    source_model: Any, picoq_model: str | os.PathLike | bytes, data: Any, max_samples: int | None = None
) -> list[LayerError]:
    """Per-layer errors of the .picoq model against the float source model on `data`
    (anything `convert` takes as calibration), in execution order."""
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
    names = [d["name"] for d in it.output_details]
    in_names = [d["name"] for d in it.input_details]
    acc: dict[str, list[float]] = {}  # name -> [signal, noise, max error]
    for i in range(n):
        feeds = {k: v[i] for k, v in samples.items()}
        with float_ops.single_threaded_blas():
            ref = float_run.run(fg, feeds, keep_all=True)
        outs = it.run([feeds[k] for k in in_names] if len(in_names) > 1 else feeds[in_names[0]])
        outs = outs if isinstance(outs, list) else [outs]
        pairs = list(zip(names, outs))
        for d in it.input_details:  # the input's own quantization error
            x = feeds[d["name"]]
            qx = np.clip(np.round(x / d["scale"]) + d["zero_point"], -128, 127)
            pairs.append((d["name"], ((qx - d["zero_point"]) * d["scale"]).astype(np.float32)))
        for name, got in pairs:
            if name not in layouts or layouts[name][0] not in ref:
                continue
            src, perm, cols = layouts[name]
            want = np.transpose(ref[src], perm)
            if cols is not None:
                want = want.reshape(-1)[cols]
            want = want.reshape(got.shape).astype(np.float64)
            err = got.astype(np.float64) - want
            a = acc.setdefault(name, [0.0, 0.0, 0.0])
            a[0] += float(np.sum(want**2))
            a[1] += float(np.sum(err**2))
            a[2] = max(a[2], float(np.max(np.abs(err), initial=0.0)))
    order = {name: k for k, name in enumerate([*in_names, *writers])}
    details = {d["name"]: d for d in [*it.input_details, *it.output_details]}
    rows = []
    for name, (sig, noise, mx) in acc.items():
        sqnr = math.inf if noise == 0 else (-math.inf if sig == 0 else 10 * math.log10(sig / noise))
        d = details[name]
        rows.append(
            LayerError(
                name,
                layouts[name][0],
                writers.get(name, "input"),
                tuple(d["shape"]),
                d["scale"],
                sqnr,
                mx,
                order.get(name, len(order)),
            )
        )
    return sorted(rows, key=lambda r: r.order)


def worst_first(rows: list[LayerError]) -> list[LayerError]:
    return sorted(rows, key=lambda r: (r.sqnr_db, -r.max_abs_error))


def format_table(rows: list[LayerError], limit: int | None = None) -> str:
    shown = worst_first(rows)[:limit]
    w = max([len(r.tensor) for r in shown] + [6])
    lines = [
        f"{'tensor':{w}s}  {'op':18s} {'shape':18s} {'SQNR dB':>8s} {'max |err|':>10s} {'int8 step':>10s}"
    ]
    for r in shown:
        sq = "inf" if math.isinf(r.sqnr_db) and r.sqnr_db > 0 else f"{r.sqnr_db:.2f}"
        lines.append(
            f"{r.tensor:{w}s}  {r.op:18s} {str(list(r.shape)):18s} {sq:>8s} {r.max_abs_error:10.4g} {r.scale:10.4g}"
        )
    return "\n".join(lines)


def plot(rows: list[LayerError], path: str | os.PathLike) -> None:
    """A bar chart of each layer's SQNR in execution order (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError("--plot needs matplotlib: pip install matplotlib") from e
    rows = sorted(rows, key=lambda r: r.order)
    values = [min(r.sqnr_db, 100.0) for r in rows]
    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.28 * len(rows) + 1)))
    y = np.arange(len(rows))
    ax.barh(
        y, values, color=["tab:red" if v < 20 else "tab:orange" if v < 30 else "tab:green" for v in values]
    )
    ax.set_yticks(y, [f"{r.tensor} ({r.op})" for r in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("SQNR (dB), float vs dequantized int8: higher is better")
    ax.set_title("picoq compare: per-layer quantization error")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def cli(args) -> int:
    """`picoq compare SOURCE MODEL --data X [--plot P] [--limit N] [--json]`."""
    import json

    rows = compare(args.source, args.model, args.data)
    if args.json:
        print(json.dumps([r.as_dict() for r in worst_first(rows)[: args.limit]], indent=2))
    else:
        print(
            f"{len(rows)} tensors, worst first (SQNR of the dequantized int8 tensor against the float model):"
        )
        print(format_table(rows, args.limit))
    if args.plot:
        plot(rows, args.plot)
        if not args.json:
            print(f"wrote {args.plot}")
    return 0
