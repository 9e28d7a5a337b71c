"""Offline arena planning: every activation gets a fixed offset, decided once by the converter.

Lifetimes are op intervals [first write, last read]; tensors whose intervals
overlap get disjoint bytes. RESHAPE output shares its input's bytes (same
layout, so the op becomes a no-op), and so does a SLICE whose box is one
contiguous run of its input's bytes starting 16-aligned (an LSTM's gates, a row
of a sequence): the output sits inside its input, at the run's offset, and the
op has nothing to move (the validator allows exactly that overlap,
pq_model_graph.c). Placement is TFLite Micro's greedy first-fit, tried over a
few orderings; the smallest arena wins, so the plan is never larger than TFLM's
for the same graph. Slices are aliased unless that makes the arena larger (a
small slice keeps its whole input live as long as the slice is read).

The plan holds activations only: the runtime places its own instruction set's
scratch after them at load (pq_interp_plan), so files are format 1.0.
"""

from __future__ import annotations

import numpy as np

from .graph import Graph

ALIGN = 16


def _align(n: int, a: int = ALIGN) -> int:
    return (n + a - 1) // a * a


def slice_run_offset(x, y, params: dict[str, int]) -> int | None:
    """The byte offset in its input x of a SLICE's box (output y, begins in `params`) when the
    box is one contiguous run of x's bytes (the dims outside its innermost cut one extent 1,
    those inside whole), else None. x and y: tensors with .shape, .nbytes and .is_const (the
    converter's and the file reader's alike)."""
    in_shape, out_shape = tuple(x.shape), tuple(y.shape)
    rank = len(in_shape)
    if x.is_const or len(out_shape) != rank:
        return None
    cut = max((d for d in range(rank) if out_shape[d] != in_shape[d]), default=-1)
    if any(out_shape[d] != 1 for d in range(cut)):
        return None
    offset, stride = 0, x.nbytes // max(1, int(np.prod(in_shape)))
    for d in reversed(range(rank)):
        offset += int(params.get(f"begin_{d}", 0)) * stride
        stride *= int(in_shape[d])
    return offset


def _slice_offset(graph: Graph, op) -> int | None:
    """The run's offset when the plan may put the SLICE's output on it (16-aligned), else None."""
    off = slice_run_offset(*(graph.tensors[i] for i in (op.inputs[0], op.outputs[0])), op.params)
    return off if off is not None and off % ALIGN == 0 else None


def _aliases(graph: Graph, slices: bool = True) -> dict[int, tuple[int, int]]:
    """tensor -> (group root, byte offset in the root's bytes): a RESHAPE's output joins its
    input's group at its input's offset, an aliasable SLICE's output at its input's plus the
    run's (ops are in execution order, so an input's place is known before its readers')."""
    place: dict[int, tuple[int, int]] = {}
    for op in graph.ops:
        src, dst = op.inputs[0], op.outputs[0]
        if op.name == "RESHAPE" and not graph.tensors[src].is_const:
            place[dst] = place.get(src, (src, 0))
        elif slices and op.name == "SLICE" and (off := _slice_offset(graph, op)) is not None:
            root, base = place.get(src, (src, 0))
            place[dst] = (root, base + off)
    return {i: place.get(i, (i, 0)) for i, t in enumerate(graph.tensors) if not t.is_const}


def _groups(graph: Graph, slices: bool = True) -> dict[int, int]:
    """tensor -> group root (tensors whose bytes are aliased: _aliases)."""
    return {t: root for t, (root, _) in _aliases(graph, slices).items()}


def lifetimes(graph: Graph, slices: bool = True) -> dict[int, tuple[int, int]]:
    """Group root -> (first op index that needs it, last op index that needs it)."""
    return _lifetimes(graph, _groups(graph, slices))


def _lifetimes(graph: Graph, groups: dict[int, int]) -> dict[int, tuple[int, int]]:
    n = len(graph.ops)
    live: dict[int, list[int]] = {}

    def touch(t: int, at: int) -> None:
        g = groups[t]
        if g in live:
            live[g][0], live[g][1] = min(live[g][0], at), max(live[g][1], at)
        else:
            live[g] = [at, at]

    for t in graph.inputs:
        touch(t, -1)
    for i, op in enumerate(graph.ops):
        for t in (*op.inputs, *op.outputs):
            if t >= 0 and not graph.tensors[t].is_const:
                touch(t, i)
    for t in graph.outputs:
        touch(t, n)
    return {g: (a, b) for g, (a, b) in live.items()}


def _place(
    order: list[int], sizes: dict[int, int], live: dict[int, tuple[int, int]]
) -> tuple[int, dict[int, int]]:
    placed: list[tuple[int, int, int]] = []  # (offset, end, group)
    offsets: dict[int, int] = {}
    for g in order:
        a, b = live[g]
        busy = sorted((off, end) for off, end, h in placed if not (live[h][1] < a or b < live[h][0]))
        off = 0
        for s, e in busy:
            if off + sizes[g] <= s:
                break
            off = max(off, _align(e))
        offsets[g] = off
        placed.append((off, off + sizes[g], g))
    arena = max((_align(end) for _, end, _ in placed), default=0)
    return arena, offsets


def _plan(graph: Graph, slices: bool) -> tuple[int, dict[int, int]]:
    """The smallest arena over the orderings and each activation's offset."""
    aliases = _aliases(graph, slices)
    live = _lifetimes(graph, {t: root for t, (root, _) in aliases.items()})
    sizes: dict[int, int] = {}
    for t, (g, off) in aliases.items():
        if g in live:
            sizes[g] = max(sizes.get(g, 0), off + graph.tensors[t].nbytes)
    keys = list(live)
    orders = [
        sorted(keys, key=lambda g: (-sizes[g], live[g][0])),  # TFLM's greedy order
        sorted(keys, key=lambda g: (live[g][0], -sizes[g])),  # in execution order
        sorted(keys, key=lambda g: (-(live[g][1] - live[g][0]), -sizes[g])),  # longest-lived first
    ]
    arena, offsets = min((_place(o, sizes, live) for o in orders), key=lambda r: r[0])
    return arena, {t: offsets.get(g, 0) + off for t, (g, off) in aliases.items()}


def plan_arena(graph: Graph) -> int:
    """Set `offset` on every activation tensor and `graph.arena_size` (`graph.scratch` None: a
    format 1.0 file); return the arena size."""
    arena, offsets = _plan(graph, slices=True)
    if any(op.name == "SLICE" for op in graph.ops):
        plain = _plan(graph, slices=False)
        if plain[0] < arena:  # the aliased slices kept large inputs live for longer
            arena, offsets = plain
    for t, off in offsets.items():
        graph.tensors[t].offset = off
    graph.arena_size = arena
    graph.scratch = None
    return graph.arena_size
