"""How much scratch each op's fast kernels need, on whichever instruction set a board picks.

The runtime chooses its ISA at load (portable C, AVX2, AVX-512 VNNI, later NEON...), after
the file is written, and each ISA's kernels lay out their working memory differently. So
the converter asks the runtime's own sizing code (picoq.runtime._interp.fast_scratch_sizes,
the arithmetic Core runs at load) for every ISA the extension knows and keeps the largest:
the planned bytes then suffice on every board this picoq supports.
"""

from __future__ import annotations

from picoq.runtime import read_model
from picoq.runtime._interp import fast_scratch_sizes

from .graph import Graph
from .writer import to_bytes


def scratch_needs(graph: Graph) -> list[int]:
    """Per op, the most scratch bytes any ISA's fast kernels need (0: none). The graph's
    tensors must be planned; its scratch plan is ignored (and left as it was)."""
    planned = graph.scratch
    graph.scratch = None
    try:
        # Sized from the validated file, exactly as the runtime sees the op at load.
        model = read_model(to_bytes(graph))
    finally:
        graph.scratch = planned
    return [max(row) for row in fast_scratch_sizes(model)]
