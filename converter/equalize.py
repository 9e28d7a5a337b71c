"""Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization", section 4.1).

For two weighted layers in a row, A -> B, where A's output is B's input and nothing else
reads it, output channel i of A can be divided by s_i > 0 and input channel i of B multiplied
by s_i without changing what the pair computes, as long as the function between them is
positively homogeneous: f(x / s) = f(x) / s. The identity and ReLU are; ReLU6, a Clip with a
nonzero bound, sigmoid, hardswish, SiLU are not (their bound or curve is at a fixed place, so
the rescaled channel would clip elsewhere), and such pairs are skipped.

s_i = sqrt(r1_i * r2_i) / r2_i, where r1_i is the range (max |w|) of A's output channel i and
r2_i that of B's input channel i, makes both ranges sqrt(r1_i * r2_i): a per-tensor weight
scale then fits every channel about equally well, instead of a channel of small weights being
rounded to a few levels because another channel of the tensor is large. Depthwise layers, whose
channels' ranges differ the most, gain the most. Chains (A -> B -> C) are iterated a few
times, since rescaling B's inputs changes the ranges B's outputs are equalized with.

The rewrite is in float, on the graph between passes.py and calibration; the activations
between A and B change (channel i is divided by s_i) and are calibrated after it.

Equal ranges are the paper's heuristic, not the least output error: on nets whose channel
ranges already differ little (random-weight nets, per-channel scales) equalizing can lower
the SQNR, and the rescaled activations between A and B get other int8 ranges.
`equalize_if_better` therefore keeps the rewrite only when the converted int8 model is closer
to the float model's outputs on calibration samples than the one converted without it, by at
least MARGIN_DB.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .fgraph import FloatGraph, Node

# equalization is kept when it raises the int8 model's SQNR on calibration samples by at least
# this much: smaller differences are within what 32 samples can tell apart on the nets measured
# (torchvision MnasNet / EfficientNet-B0: +0.3 dB on calibration samples, -0.2 / -0.5 dB held out)
MARGIN_DB = 0.5
ITERATIONS = 16  # passes over every pair; stop earlier when no scale moves by more than TOLERANCE
TOLERANCE = 1e-4
WEIGHTED = ("Conv", "pq.Dense")


@dataclass
class Pair:
    a: Node
    b: Node


@dataclass
class EqualizeReport:
    pairs: list[tuple[str, str]] = field(default_factory=list)  # (A, B) node names equalized
    skipped: list[str] = field(default_factory=list)  # why other weighted A -> B pairs were not
    iterations: int = 0
    # output SQNR (dB) of the int8 model without / with equalization (equalize_if_better)
    sqnr_db: tuple[float, float] | None = None
    kept: bool = True

    def text(self) -> str:
        lines = [f"equalized {len(self.pairs)} layer pair(s) in {self.iterations} iteration(s)"]
        if self.sqnr_db is not None:
            before, after = self.sqnr_db
            verdict = "kept" if self.kept else f"not kept (gain < {MARGIN_DB} dB): converted without it"
            lines.append(
                f"  int8 model's output SQNR on calibration samples: {before:.1f} dB -> "
                f"{after:.1f} dB with equalization ({verdict})"
            )
        if self.skipped:
            lines.append(f"  skipped {len(self.skipped)} pair(s) across an activation other than ReLU, e.g.")
            lines.append(f"    {self.skipped[0]}")
        return "\n".join(lines)


def _homogeneous(clamp) -> bool:
    """Whether clip(x, lo, hi) commutes with x -> x / s for every s > 0: each bound 0 or infinite."""
    if clamp is None:
        return True
    return all(not np.isfinite(v) or v == 0 for v in clamp)


def _weighted(fg: FloatGraph, node: Node) -> bool:
    if node.op not in WEIGHTED or len(node.inputs) < 2 or not fg.is_const(node.inputs[1]):
        return False
    bias = node.inputs[2] if len(node.inputs) > 2 else ""
    return not bias or fg.is_const(bias)


def find_pairs(fg: FloatGraph) -> tuple[list[Pair], list[str]]:
    """The A -> B pairs equalization may rescale, and why the other weighted pairs may not."""
    consumers = fg.consumers()
    pairs, skipped = [], []
    for a in fg.nodes:
        if not _weighted(fg, a):
            continue
        y = a.outputs[0]
        readers = consumers.get(y, [])
        if len(readers) != 1 or y in fg.outputs:
            continue  # a branch or a graph output: its other readers would see the rescaled channels
        b = readers[0]
        if not _weighted(fg, b) or b.inputs[0] != y or b.inputs[1:].count(y):
            continue
        if (
            a.op != b.op
        ):  # Conv's channels are axis 1, pq.Dense's the last: they match only for Conv -> Conv, Dense -> Dense
            continue
        if _out_range(fg, a).shape != _in_range(fg, b).shape:
            continue  # channel counts disagree (a reshape between them was folded): not a pair
        if not _homogeneous(a.attrs.get("clamp")):
            skipped.append(
                f"{a.name} -> {b.name}: {a.name}'s activation clamp {a.attrs['clamp']} is not ReLU"
            )
            continue
        pairs.append(Pair(a, b))
    return pairs, skipped


def _own_consts(fg: FloatGraph, pairs: list[Pair]) -> None:
    """Give every weight and bias the pairs rescale its own copy (a constant may be shared)."""
    for node in {id(n): n for p in pairs for n in (p.a, p.b)}.values():
        for k in range(1, len(node.inputs)):
            name = node.inputs[k]
            if name:
                new = fg.fresh(f"{name}@eq")
                fg.consts[new] = np.array(fg.consts[name], np.float32, copy=True)
                node.inputs[k] = new


def _out_range(fg: FloatGraph, node: Node) -> np.ndarray:
    """max |w| of each output channel of A."""
    w = fg.consts[node.inputs[1]]
    return np.abs(w.reshape(w.shape[0], -1)).max(axis=1).astype(np.float64)


def _in_range(fg: FloatGraph, node: Node) -> np.ndarray:
    """max |w| over the weights that read each input channel of B."""
    w = np.abs(fg.consts[node.inputs[1]]).astype(np.float64)
    if node.op == "pq.Dense":  # [out, in]
        return w.max(axis=0)
    m, cg = w.shape[:2]
    g = int(node.attrs.get("group", 1))
    return w.reshape(g, m // g, cg, -1).max(axis=(1, 3)).reshape(g * cg)


def _scale_in(fg: FloatGraph, node: Node, s: np.ndarray) -> None:
    """Multiply the weights reading input channel i of B by s_i."""
    w = fg.consts[node.inputs[1]].astype(np.float64)
    if node.op == "pq.Dense":
        w = w * s[None, :]
    else:
        m, cg = w.shape[:2]
        g = int(node.attrs.get("group", 1))
        w = (w.reshape(g, m // g, cg, -1) * s.reshape(g, 1, cg, 1)).reshape(w.shape)
    fg.consts[node.inputs[1]] = w.astype(np.float32)


def _scale_out(fg: FloatGraph, node: Node, s: np.ndarray) -> None:
    """Divide output channel i of A (its weights and bias) by s_i."""
    w = fg.consts[node.inputs[1]].astype(np.float64)
    fg.consts[node.inputs[1]] = (w / s.reshape((-1,) + (1,) * (w.ndim - 1))).astype(np.float32)
    if len(node.inputs) > 2 and node.inputs[2]:
        b = fg.consts[node.inputs[2]].astype(np.float64)
        fg.consts[node.inputs[2]] = (b / np.broadcast_to(s, b.shape)).astype(np.float32)


def equalize(fg: FloatGraph, iterations: int = ITERATIONS) -> EqualizeReport:
    """Equalize the weight ranges of every eligible pair of `fg` in place (the float model's
    outputs change only by float32 rounding)."""
    pairs, skipped = find_pairs(fg)
    report = EqualizeReport([(p.a.name, p.b.name) for p in pairs], skipped)
    _own_consts(fg, pairs)
    for it in range(iterations):
        moved = 0.0
        for p in pairs:
            r1, r2 = _out_range(fg, p.a), _in_range(fg, p.b)
            ok = (r1 > 0) & (r2 > 0)
            s = np.ones_like(r1)
            s[ok] = np.sqrt(r1[ok] * r2[ok]) / r2[ok]
            _scale_out(fg, p.a, s)
            _scale_in(fg, p.b, s)
            moved = max(moved, float(np.abs(np.log(s)).max(initial=0.0)))
        report.iterations = it + 1
        if moved < TOLERANCE:
            break
    return report


def equalize_if_better(
    fg: FloatGraph, score: Callable[[FloatGraph], float]
) -> tuple[FloatGraph, EqualizeReport]:
    """The equalized copy of `fg` if `score` (the int8 model's output SQNR on calibration data,
    onnx_convert.py) rates it at least MARGIN_DB higher than fg, else fg; and the report."""
    eq = copy.deepcopy(fg)
    report = equalize(eq)
    if not report.pairs:
        report.kept = False
        return fg, report
    before, after = score(fg), score(eq)
    report.sqnr_db, report.kept = (before, after), after >= before + MARGIN_DB
    return (eq if report.kept else fg), report
