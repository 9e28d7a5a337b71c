"""Old format 1.1 files (a SCRA section: each op's fast-kernel scratch planned in the arena).

The converter writes 1.0 files since the runtime places its own ISA's scratch after the
activations (pq_interp_plan); files written before keep loading (SCRA validated, then
ignored). This builds such files: a SCRA plan as the old converter placed it (first fit
between the tensors live during the op, else above them, 64-aligned) with given needs.
"""

from __future__ import annotations

from picoq.converter.graph import Graph
from picoq.converter.plan import _groups, lifetimes, plan_arena
from picoq.converter.writer import to_bytes
from picoq.runtime.format import SCRATCH_ALIGN

SCRATCH_OPS = {
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "FULLY_CONNECTED",
    "AVERAGE_POOL_2D",
}  # the fast ones with scratch


def _align(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def place_scratch(spans: list[tuple[int, int, int, int]], needs: list[int]) -> list[tuple[int, int]]:
    """(offset, size) per op: op i's `needs[i]` bytes, SCRATCH_ALIGN-aligned, first fit below,
    between or above the spans (offset, end, first op, last op) live at op i."""
    out = []
    for i, need in enumerate(needs):
        if not need:
            out.append((0, 0))
            continue
        busy = sorted((o, e) for o, e, first, last in spans if first <= i <= last)
        off = 0
        for o, e in busy:
            if off + need <= o:
                break
            off = max(off, _align(e, SCRATCH_ALIGN))
        out.append((off, need))
    return out


# What picoq's converter planned for tests/make_fixtures.py's tiny_resnet (every ISA's largest
# need per op) when it wrote 1.1 files: test_validator's SCRA cases are written against it.
TINY_RESNET_NEEDS = [2816, 2304, 4608, 64, 0, 0, 64, 0, 128]


def to_bytes_1_1(graph: Graph, need: int = 4096, needs: list[int] | None = None) -> bytes:
    """`graph` (loaded, unplanned) as an old 1.1 file: `needs[i]` bytes of scratch for op i,
    by default `need` bytes per op whose fast kernel has some."""
    plan_arena(graph)
    live = lifetimes(graph)
    spans = {}
    for t, g in _groups(graph).items():
        if g in live:
            o, e = spans.get(g, (graph.tensors[t].offset, graph.tensors[t].offset))
            spans[g] = (o, max(e, graph.tensors[t].offset + graph.tensors[t].nbytes))
    graph.remove_unused_tensors()
    if needs is None:
        needs = [need if op.name in SCRATCH_OPS else 0 for op in graph.ops]
    graph.scratch = place_scratch([(o, e, *live[g]) for g, (o, e) in spans.items()], needs)
    ends = [off + size for off, size in graph.scratch]
    graph.arena_size = max(graph.arena_size, *(_align(e, 16) for e in ends)) if ends else graph.arena_size
    return to_bytes(graph)
