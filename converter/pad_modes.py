"""Pad with mode "reflect" or "edge" (torch's padding_mode 'reflect' / 'replicate', F.pad's
modes) rewritten as what picoq runs: per padded axis, a Concat of one-wide Slices of the
input around the input itself. Reflect's pad k on the left is x[k], x[k-1], ..., x[1]; edge's
is x[0] k times; the right side mirrors. Slices and Concat share the input's quantization,
so the padded tensor holds exactly the input's int8 values (PAD with a constant is the only
mode the PAD kernel has)."""

from __future__ import annotations

import numpy as np

from .fgraph import FloatGraph, Node


def _pads(graph: FloatGraph, node: Node, rank: int) -> tuple[list[int], list[int]] | None:
    pads = graph.const(node.inputs[1]) if len(node.inputs) > 1 and node.inputs[1] else None
    if pads is None:
        return None
    axes = graph.const(node.inputs[3]) if len(node.inputs) > 3 and node.inputs[3] else None
    if len(node.inputs) > 3 and node.inputs[3] and axes is None:
        return None
    axes_l = list(range(rank)) if axes is None else [int(v) % rank for v in axes.reshape(-1)]
    flat = [int(v) for v in np.asarray(pads).reshape(-1)]
    if len(flat) != 2 * len(axes_l):
        return None
    before, after = [0] * rank, [0] * rank
    for i, a in enumerate(axes_l):
        before[a], after[a] = flat[i], flat[i + len(axes_l)]
    return before, after


def _slice(
    graph: FloatGraph,
    nodes: list[Node],
    made: dict[int, str],
    x: str,
    shape: list[int],
    axis: int,
    i: int,
    base: str,
) -> str:
    """x[i:i+1] along `axis` (one Slice node per index, appended to `nodes`)."""
    if i not in made:
        name = graph.fresh(f"{base}_{i}")
        ins = [x]
        for tag, v in (("s", i), ("e", i + 1), ("a", axis)):
            c = graph.fresh(f"{name}_{tag}")
            graph.consts[c] = np.array([v], np.int64)
            ins.append(c)
        nodes.append(Node("Slice", ins, [name], {}, name))
        graph.shapes[name] = tuple(1 if d == axis else s for d, s in enumerate(shape))
        made[i] = name
    return made[i]


def expand_edge_pads(graph: FloatGraph) -> None:
    """Every reflect / edge Pad with constant, non-negative pads (reflect: each below its axis'
    size) -> Slices and Concats; others stay for the lowering to name."""
    nodes: list[Node] = []
    for node in graph.nodes:
        mode = node.attrs.get("mode", "constant")
        x = node.inputs[0] if node.inputs else ""
        shape = graph.shapes.get(x)
        got = (
            _pads(graph, node, len(shape))
            if node.op == "Pad" and shape and mode in ("reflect", "edge")
            else None
        )
        if got is None or min(got[0] + got[1]) < 0 or graph.is_const(x):
            nodes.append(node)
            continue
        before, after = got
        if mode == "reflect" and any(max(b, a) >= n for b, a, n in zip(before, after, shape)):
            nodes.append(node)
            continue
        cur, cur_shape = x, list(shape)
        padded = [a for a in range(len(shape)) if before[a] or after[a]]
        for k, axis in enumerate(padded):
            n = cur_shape[axis]
            if mode == "reflect":
                left = list(range(before[axis], 0, -1))
                right = list(range(n - 2, n - 2 - after[axis], -1))
            else:
                left, right = [0] * before[axis], [n - 1] * after[axis]
            one: dict[int, str] = {}  # index -> its one-wide slice (edge repeats one)
            base = f"{node.name or node.outputs[0]}/edge{axis}"
            parts = [_slice(graph, nodes, one, cur, cur_shape, axis, i, base) for i in left]
            parts.append(cur)
            parts += [_slice(graph, nodes, one, cur, cur_shape, axis, i, base) for i in right]
            last = k == len(padded) - 1
            out = node.outputs[0] if last else graph.fresh(f"{node.name or node.outputs[0]}/padded{axis}")
            nodes.append(Node("Concat", parts, [out], {"axis": axis}, out))
            cur_shape[axis] = n + before[axis] + after[axis]
            graph.shapes[out] = tuple(cur_shape)
            cur = out
        if not padded:  # all-zero pads: any mode's
            node.attrs["mode"] = "constant"
            nodes.append(node)
    graph.nodes = nodes
