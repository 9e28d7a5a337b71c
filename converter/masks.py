"""Additive attention masks: Softmax(scores + M) with a constant M whose masked entries are -inf
(torch's causal masks, is_causal) or huge negatives (-1e9, float32's lowest: other exporters).

int8 cannot hold -inf, and a range reaching -1e9 would leave the scores no resolution. What
the softmax needs of a masked entry is only that it lose: exp(masked - row max) must round
to 0. So:

- mark_additive_masks (a pass, after constant folding) replaces the masked entries by a
  finite placeholder (PLACEHOLDER: still exactly 0 after a float softmax) and marks the Add;
- settle_mask_ranges (after calibration) gives the Add's output the range of the unmasked
  sums widened downwards by MARGIN units, so a masked entry, saturated at the range's
  lowest level, trails every row maximum by at least MARGIN: its int8 softmax output is
  exp(-MARGIN) < 1/512 -> 0 (and all the masked entries of a row together take less than
  one output step from the others); the placeholder becomes a value just below that, so
  the mask constant's own int8 range stays small and its 0s exact.
"""

from __future__ import annotations

import math

import numpy as np

from .fgraph import FloatGraph

MASKED_BELOW = -1e4  # an additive mask entry at or below this (or -inf) masks its position
PLACEHOLDER = -1e4
MARGIN = 10.0  # score units between the lowest unmasked sum and the masked level


def _masked(m: np.ndarray) -> np.ndarray:
    return np.isneginf(m) | (m <= MASKED_BELOW)


def mark_additive_masks(graph: FloatGraph) -> None:
    """Add(x, M) (either order) feeding only a last-axis Softmax, M constant with masked
    entries: M's masked entries -> PLACEHOLDER, the node marked for settle_mask_ranges."""
    consumers = graph.consumers()
    for node in graph.nodes:
        if node.op != "Add" or len(node.inputs) != 2 or node.outputs[0] in graph.outputs:
            continue
        k = [i for i, name in enumerate(node.inputs) if graph.is_const(name)]
        if len(k) != 1:
            continue
        m = np.asarray(graph.consts[node.inputs[k[0]]], np.float32)
        masked = _masked(m)
        readers = consumers.get(node.outputs[0], [])
        rank = len(graph.shapes.get(node.outputs[0], ()))
        if not masked.any() or not rank or len(readers) != 1 or readers[0].op != "Softmax":
            continue
        sm = readers[0]
        if sm.attrs.get("_opset", 13) < 13 or int(sm.attrs.get("axis", -1)) % rank != rank - 1:
            continue
        name = graph.fresh(f"{node.name or node.outputs[0]}/mask")
        graph.consts[name] = np.where(masked, np.float32(PLACEHOLDER), m).astype(np.float32)
        graph.shapes[name] = tuple(m.shape)
        node.inputs[k[0]] = name
        # the largest number of masked entries in one softmax row bounds what they leak together
        per_row = masked.reshape(-1, m.shape[-1]).sum(axis=1).max() if m.ndim else 1
        node.attrs["_mask"] = {"const": name, "masked": masked, "per_row": int(per_row)}
    for node in graph.nodes:  # -inf anywhere else (an initializer may hold it): named, not lowered
        if "_mask" in node.attrs:
            continue
        for name in node.inputs:
            c = graph.const(name)
            if c is not None and c.dtype.kind == "f" and not np.isfinite(c).all():
                node.attrs["_problem"] = (
                    f"{node.where}: constant {name!r} holds -inf; picoq reads -inf only as an"
                    " additive attention mask (an Add right before a last-axis Softmax)"
                )
                break


def settle_mask_ranges(graph: FloatGraph, ranges: dict[str, tuple[float, float]]) -> None:
    """After calibration: each marked Add's output range and mask constant (in place)."""
    for node in graph.nodes:
        mark = node.attrs.get("_mask")
        if node.op != "Add" or not mark or node.outputs[0] not in ranges:
            continue
        x = next(i for i in node.inputs if i != mark["const"])
        if x not in ranges:
            continue
        m, masked = graph.consts[mark["const"]], mark["masked"]
        kept = m[~masked]
        x_lo, x_hi = ranges[x]
        lo = x_lo + float(kept.min(initial=0.0))  # the lowest unmasked sum
        hi = ranges[node.outputs[0]][1]  # the maximum is never a masked entry
        # all of a row's masked entries together below half an output step (1/512)
        margin = max(MARGIN, math.log(max(mark["per_row"], 1) * 512.0))
        new_lo = min(lo, hi) - margin
        ranges[node.outputs[0]] = (new_lo, max(hi, new_lo + 1e-6))
        # masked: x + value <= new_lo for every x the scores reach
        value = np.float32(new_lo - max(x_hi, 0.0) - 1.0)
        graph.consts[mark["const"]] = np.where(masked, value, m).astype(np.float32)
