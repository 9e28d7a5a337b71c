"""Offline arena planning: every activation gets a fixed offset, decided once by the converter.

Lifetimes are op intervals [first write, last read]; tensors whose intervals
overlap get disjoint bytes. RESHAPE output shares its input's bytes (same
layout, so the op becomes a no-op). Placement is TFLite Micro's greedy
first-fit, tried over a few orderings; the smallest arena wins, so the plan is
never larger than TFLM's for the same graph.

The plan holds activations only: the runtime places its own instruction set's
scratch after them at load (pq_interp_plan), so files are format 1.0.
"""

from __future__ import annotations

from .graph import Graph

ALIGN = 16


def _align(n: int, a: int = ALIGN) -> int:
    return (n + a - 1) // a * a


def _groups(graph: Graph) -> dict[int, int]:
    """tensor -> group root; a RESHAPE's output joins its input's group (aliased bytes)."""
    parent: dict[int, int] = {}

    def find(t: int) -> int:
        while parent.get(t, t) != t:
            t = parent[t]
        return t

    for op in graph.ops:
        if op.name == "RESHAPE":
            src, dst = op.inputs[0], op.outputs[0]
            if not graph.tensors[src].is_const:
                parent[find(dst)] = find(src)
    return {i: find(i) for i, t in enumerate(graph.tensors) if not t.is_const}


def lifetimes(graph: Graph) -> dict[int, tuple[int, int]]:
    """Group root -> (first op index that needs it, last op index that needs it)."""
    groups = _groups(graph)
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


def plan_arena(graph: Graph) -> int:
    """Set `offset` on every activation tensor and `graph.arena_size` (`graph.scratch` None: a
    format 1.0 file); return the arena size."""
    groups = _groups(graph)
    live = lifetimes(graph)
    sizes: dict[int, int] = {}
    for t, g in groups.items():
        if g in live:
            sizes[g] = max(sizes.get(g, 0), graph.tensors[t].nbytes)
    keys = list(live)
    orders = [
        sorted(keys, key=lambda g: (-sizes[g], live[g][0])),  # TFLM's greedy order
        sorted(keys, key=lambda g: (live[g][0], -sizes[g])),  # in execution order
        sorted(keys, key=lambda g: (-(live[g][1] - live[g][0]), -sizes[g])),  # longest-lived first
    ]
    best = min((_place(o, sizes, live) for o in orders), key=lambda r: r[0])
    arena, offsets = best
    for t, g in groups.items():
        graph.tensors[t].offset = offsets.get(g, 0)
    graph.arena_size = arena
    graph.scratch = None
    return graph.arena_size
