"""Per-layer precision for a float model: int4 or int8 weights, int8 or int16 activations,
chosen for a flash and RAM budget from sensitivities measured on the calibration data.

The choice (`choose`):
- weights "int8" / "int4" apply to every CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED;
  "auto" needs a flash budget: each layer's sensitivity is the output SQNR of the float model
  with that layer's weights alone replaced by their int4 values (calibrated rounding, low_bit.py),
  turned into the noise power it adds (noise powers of independent rounding errors add). The
  int4 set is the better, by the float-simulated output SQNR, of the least-noise knapsack
  cover of the bytes to save and the greedy prefix in order of noise per byte saved.
- activations "int8", or "int16": every op with a 16x8 kernel runs int16, the few without one
  (LOOKUP_TABLE, LAYER_NORM, ...) stay int8 islands with QUANTIZE ops at their borders; "auto"
  takes int16 when its arena fits the RAM budget, else int8.

The report (`PrecisionChoice.table`) says what was chosen and why: one row per weighted layer
(bytes at int8 and int4, the SQNR with that layer alone at int4) and the Pareto front of the
greedy order (constant bytes, arena bytes, the float-simulated SQNR of that mix).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from . import float_run, low_bit
from .fgraph import FloatGraph
from .graph import ConversionError, Graph

WEIGHTS = ("int8", "int4", "auto")
ACTIVATIONS = ("int8", "int16", "auto")
SENSITIVITY_SAMPLES = 32  # calibration samples each sensitivity run uses


@dataclass
class Precision:
    """What the lowering applies: the activation dtype and the int4 layers' scales."""

    activations: str = "int8"
    int4: dict[str, np.ndarray] = field(default_factory=dict)  # node name -> per-channel scales
    # int8 layers whose weights were rounded with the calibration data (GPTQ): node name ->
    # per-channel scales, the graph holding the rounded values (16x8 models: weights are then
    # the main error left, and calibrated rounding takes part of it back)
    int8: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class LayerRow:
    name: str
    op: str
    weights: int  # values
    sqnr_int4_db: float  # model output SQNR with this layer alone at int4 (float simulation)
    int4: bool = False


@dataclass
class PrecisionChoice:
    precision: Precision
    fg: FloatGraph  # the graph to lower: int4 layers' weights replaced by their int4 values
    layers: list[LayerRow] = field(default_factory=list)
    pareto: list[tuple[int, int, int, float]] = field(default_factory=list)  # (#int4, flash, ram, dB)
    notes: list[str] = field(default_factory=list)

    def table(self) -> str:
        """The report: what was chosen, per layer, and the flash/RAM/SQNR trade-off."""
        lines = [f"activations: {self.precision.activations}"]
        lines += [f"  {n}" for n in self.notes]
        if self.layers:
            lines.append(f"{'layer':<32} {'op':<9} {'weights':>8} {'SQNR int4 alone':>16}  chosen")
            for r in self.layers:
                db = f"{r.sqnr_int4_db:.1f} dB" if math.isfinite(r.sqnr_int4_db) else "exact"
                lines.append(
                    f"{r.name[:32]:<32} {r.op:<9} {r.weights:>8,} {db:>16}  {'int4' if r.int4 else 'int8'}"
                )
        if self.pareto:
            lines.append("Pareto front (greedy order, float-simulated SQNR of the model output):")
            lines.append(f"{'int4 layers':>11} {'flash B':>10} {'RAM B':>10} {'SQNR dB':>8}")
            for k, flash, ram, db in self.pareto:
                lines.append(f"{k:>11} {flash:>10,} {ram:>10,} {db:>8.1f}")
        return "\n".join(lines)


def sqnr_db(ref: list[np.ndarray], got: list[np.ndarray]) -> float:
    """10 log10(signal / noise) over every output value (inf when exact)."""
    s = sum(float(np.sum(np.square(r.astype(np.float64)))) for r in ref)
    n = sum(float(np.sum(np.square(r.astype(np.float64) - g))) for r, g in zip(ref, got))
    if n == 0:
        return math.inf
    return 10.0 * math.log10(max(s, 1e-30) / n)


def _with_weights(fg: FloatGraph, new: dict[str, np.ndarray]) -> FloatGraph:
    """fg with some nodes' weights replaced (node name -> weights); fg itself is untouched."""
    consts = dict(fg.consts)
    nodes = []
    for n in fg.nodes:
        if n.name in new:
            name = f"{n.inputs[1]}@int4"
            consts[name] = new[n.name]
            n = replace(n, inputs=[n.inputs[0], name, *n.inputs[2:]])
        nodes.append(n)
    return replace(fg, nodes=nodes, consts=consts)


class _Runner:
    """The float model's outputs on the first calibration samples, for SQNR measurements."""

    def __init__(self, fg: FloatGraph, samples: dict[str, np.ndarray]):
        n = min(SENSITIVITY_SAMPLES, len(next(iter(samples.values()))))
        self.feeds = [{k: v[i] for k, v in samples.items()} for i in range(n)]
        self.ref = self.outputs(fg)

    def outputs(self, fg: FloatGraph) -> list[np.ndarray]:
        outs = [float_run.run(fg, f) for f in self.feeds]
        return [np.stack([o[name] for o in outs]) for name in fg.outputs]

    def sqnr(self, fg: FloatGraph) -> float:
        return sqnr_db(self.ref, self.outputs(fg))


def _noise(db: float) -> float:
    """Relative noise power of an SQNR (0 when exact)."""
    return 0.0 if not math.isfinite(db) else 10.0 ** (-db / 10.0)


def choose(
    fg: FloatGraph,
    samples: dict[str, np.ndarray],
    sweep: Callable[[Callable[[str, np.ndarray], None]], None],
    measure: Callable[[FloatGraph, Precision], tuple[int, int]],
    *,
    weights: str = "int8",
    activations: str = "int8",
    flash_budget: int | None = None,
    ram_budget: int | None = None,
    rounding: str = "gptq",
    s16_ok: Callable[[FloatGraph], list[str]] | None = None,
) -> PrecisionChoice:
    """The precision of each layer. `sweep(observe)` runs the float model over the calibration
    data; `measure(fg, precision)` lowers and plans a candidate, returning (constant bytes,
    arena bytes); `s16_ok(fg)` lists the ops that stay int8 in a 16x8 model."""
    if weights not in WEIGHTS:
        raise ConversionError([f"weights must be one of {', '.join(WEIGHTS)}, not {weights!r}"])
    if activations not in ACTIVATIONS:
        raise ConversionError([f"activations must be one of {', '.join(ACTIVATIONS)}, not {activations!r}"])
    if weights == "auto" and flash_budget is None:
        raise ConversionError(
            ["--weights auto chooses int4 layers to fit a flash budget, and none was given"],
            hint="Pass --flash-budget (e.g. 40KB), or --weights int4 / int8.",
        )
    choice = PrecisionChoice(Precision(), fg)
    act = _choose_activations(fg, activations, ram_budget, measure, s16_ok, choice)
    choice.precision.activations = act
    # The int8 layers of a 16x8 model or of an int4 mix are rounded with the calibration data
    # too: at 16x8 they are the error left, and in a mix the statistics are gathered anyway.
    calibrated_int8 = rounding == "gptq" and (act == "int16" or weights != "int8")
    if weights == "int8" and flash_budget is None and not calibrated_int8:
        return choice
    nodes = low_bit.weighted_nodes(fg)
    stats = low_bit.collect_stats(fg, nodes, sweep) if rounding == "gptq" else None

    def rounded(n, qmax: int):
        return low_bit.rounded_weights(
            n,
            fg.consts[n.inputs[1]],
            stats.hessian(n) if stats else None,
            rounding,
            qmax,
            stats.halves(n) if stats else None,
        )

    q4 = {n.name: rounded(n, low_bit.INT4_MAX) for n in nodes} if weights != "int8" else {}
    deq = {name: low_bit.dequantized(q, s) for name, (q, s) in q4.items()}
    if weights == "int4":
        chosen = [n.name for n in nodes]
    elif weights == "int8":
        chosen = []
    else:
        scales = {name: s for name, (_, s) in q4.items()}
        chosen = _choose_weights(fg, samples, nodes, deq, scales, act, flash_budget, measure, choice)
    if act == "int16" and chosen:
        choice.notes.append(f"the {len(chosen)} int4 layer(s) run int8 activations (no 16x4 kernels)")
    for r in choice.layers:
        r.int4 = r.name in chosen
    choice.precision.int4 = {name: q4[name][1] for name in chosen}
    new = {name: deq[name] for name in chosen}
    if calibrated_int8:
        for n in nodes:
            if n.name not in chosen:
                q8, s8 = rounded(n, 127)
                choice.precision.int8[n.name] = s8
                new[n.name] = low_bit.dequantized(q8, s8)
        choice.notes.append(
            f"int8 weights of {len(choice.precision.int8)} layer(s) rounded with the calibration data"
        )
    choice.fg = _with_weights(fg, new)
    flash, _ = measure(choice.fg, choice.precision)
    if flash_budget is not None and flash > flash_budget:
        raise ConversionError(
            [
                f"the constants need {flash:,} bytes with the chosen weights, above the flash budget {flash_budget:,}"
            ],
            hint="Raise --flash-budget, or use --weights auto to let picoq choose int4 layers.",
        )
    return choice


def _choose_activations(fg, activations, ram_budget, measure, s16_ok, choice) -> str:
    """int16 runs every op that has a 16x8 kernel in int16; the others stay int8 islands, a
    QUANTIZE op at each border (the report names them)."""
    islands = s16_ok(fg) if s16_ok and activations != "int8" else []
    if activations == "auto":
        _, ram16 = measure(fg, Precision("int16"))
        if ram_budget is not None and ram16 > ram_budget:
            choice.notes.append(f"int8: the int16 arena ({ram16:,} B) is above the RAM budget")
            activations = "int8"
        else:
            choice.notes.append(f"int16: the arena of {ram16:,} B fits")
            activations = "int16"
    if activations == "int16" and islands:
        choice.notes.append(f"int8 islands (no 16x8 kernel): {', '.join(islands)}")
    if ram_budget is not None:
        _, ram = measure(fg, Precision(activations))
        if ram > ram_budget:
            raise ConversionError(
                [
                    f"the {activations} activations need an arena of {ram:,} bytes, above the RAM budget {ram_budget:,}"
                ],
                hint="Raise --ram-budget, or use --activations int8.",
            )
    return activations


def _choose_weights(fg, samples, nodes, deq, scales, act, budget, measure, choice) -> list[str]:
    """The int4 layers: of two candidate sets that fit `budget`, the one whose float-simulated
    output SQNR is higher. (1) The least total added noise that saves enough bytes, a 0/1
    knapsack over the layers' measured noise powers (independent rounding errors add); (2) the
    greedy prefix in order of noise per byte saved, which overshoots the budget by up to one
    layer but is what the Pareto front lists."""
    runner = _Runner(fg, samples)
    rows, noise, saved = [], {}, {}
    for n in nodes:
        w = fg.consts[n.inputs[1]]
        db = runner.sqnr(_with_weights(fg, {n.name: deq[n.name]}))
        rows.append(LayerRow(n.name, n.op.replace("pq.Dense", "Dense"), int(w.size), db))
        noise[n.name] = _noise(db)
        saved[n.name] = _int4_saving(int(w.size), int(scales[n.name].size))
    choice.layers = rows
    order = sorted(rows, key=lambda r: noise[r.name] / max(saved[r.name], 1))
    base_flash, ram = measure(fg, Precision(act))
    choice.pareto.append((0, base_flash, ram, runner.sqnr(fg)))

    def evaluate(chosen: list[str]) -> tuple[int, int, float]:
        """(flash, ram, float-simulated SQNR) with `chosen` at int4."""
        trial = _with_weights(fg, {n: deq[n] for n in chosen})
        flash, ram = measure(trial, Precision(act, {n: scales[n] for n in chosen}))
        return flash, ram, runner.sqnr(trial)

    greedy: list[str] = []
    flash = base_flash
    for r in order:
        if flash <= budget:
            break
        greedy.append(r.name)
        flash, ram, db = evaluate(greedy)
        choice.pareto.append((len(greedy), flash, ram, db))
    if flash > budget:
        raise ConversionError(
            [
                f"even with every layer's weights int4 the constants need {flash:,} bytes (flash budget {budget:,})"
            ],
            hint="Raise --flash-budget: the biases, multipliers and the layers picoq keeps int8 need the rest.",
        )
    if not greedy:
        return greedy
    best, best_db = greedy, choice.pareto[-1][3]
    cover = _least_noise_cover([r.name for r in rows], noise, saved, base_flash - budget)
    if cover is not None and sorted(cover) != sorted(greedy):
        flash, _, db = evaluate(cover)
        if flash <= budget and db > best_db:
            best, best_db = cover, db
            choice.notes.append(
                f"int4 layers: the least-noise set that fits ({len(cover)} layers, {db:.1f} dB float-simulated) "
                "beats the greedy prefix"
            )
    return best


def _int4_saving(n_weights: int, n_channels: int) -> int:
    """Constant bytes int4 saves on a layer: its filter halves and its shifts go int32 -> int8
    (each constant padded to 16 bytes, as lowered_sizes counts)."""
    pad = lambda b: (b + 15) // 16 * 16  # noqa: E731
    return pad(n_weights) - pad((n_weights + 1) // 2) + pad(4 * n_channels) - pad(n_channels)


def _least_noise_cover(names, noise, saved, need: int, unit: int = 16) -> list[str] | None:
    """The set of layers saving at least `need` bytes with the least total noise: a 0/1
    knapsack by dynamic programming over savings in `unit`-byte steps (coarser for big models;
    rounded down, so the set may fall a few bytes short: the caller measures it). None when
    nothing covers."""
    if need <= 0:
        return []
    unit = max(unit, -(-need // (1 << 16)))  # at most 65,537 columns, whatever the model's size
    cap = -(-need // unit)
    best = np.full(cap + 1, np.inf)  # best[j]: least noise saving >= j units
    best[0] = 0.0
    took = np.zeros((len(names), cap + 1), bool)
    for k, name in enumerate(names):
        g = saved[name] // unit
        if g <= 0:
            continue
        src = np.maximum(np.arange(cap + 1) - g, 0)
        cand = best[src] + noise[name]
        took[k] = cand < best
        best = np.where(took[k], cand, best)
    if not np.isfinite(best[cap]):
        return None
    chosen, j = [], cap
    for k in range(len(names) - 1, -1, -1):
        if j > 0 and took[k, j]:
            chosen.append(names[k])
            j = max(j - saved[names[k]] // unit, 0)
    return chosen[::-1]


def lowered_sizes(graph: Graph) -> tuple[int, int]:
    """(constant bytes, arena bytes) of a lowered and planned graph: what flash and RAM hold."""
    flash = sum((t.nbytes + 15) // 16 * 16 for t in graph.tensors if t.is_const)
    return flash, graph.arena_size
