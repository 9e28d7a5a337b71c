"""1-D convolutions and pools (audio, sensor and sequence models: torch's Conv1d, MaxPool1d,
AvgPool1d, ConvTranspose1d) as the 2-D ones picoq runs: an (N, C, L) input becomes (N, C, 1, L), the filter a
1 x K one, and the output goes back to (N, C', L').

Runs at import, before shapes are known, so a node is 1-D by what it carries: a Conv's or
ConvTranspose's constant filter of rank 3, a pool's one-value kernel_shape. Each becomes Unsqueeze -> 2-D op -> Squeeze;
passes.hoist_elementwise then moves BatchNorm and activations above each Squeeze so they fold
into the conv, and passes.cancel_reshapes removes the Squeeze -> Unsqueeze pairs that meet
between two lifted ops, so a Conv1d stack runs as CONV_2Ds with no copy between them.
"""

from __future__ import annotations

import numpy as np

from .fgraph import FloatGraph, Node
from .onnx_check import WINDOW_LENGTHS

_AXIS = 2  # the inserted axis: (N, C, L) -> (N, C, 1, L)


_LENGTHS = {k: n // 2 for k, n in WINDOW_LENGTHS.items()}  # a 1-D window: half as many values


def _is_1d(graph: FloatGraph, node: Node) -> bool:
    """A Conv with a rank-3 constant filter, a pool with a one-value kernel_shape, and every window
    attribute of one dimension (a node that mixes is left as it is: the shape checks name it)."""
    if node.op in ("Conv", "ConvTranspose"):
        w = graph.const(node.inputs[1]) if len(node.inputs) > 1 else None
        one_d = w is not None and w.ndim == 3
    elif node.op in ("MaxPool", "AveragePool"):
        one_d = len(node.attrs.get("kernel_shape", ())) == 1
    else:
        return False
    if node.op == "ConvTranspose":  # ops14
        one_d = one_d and len(node.attrs.get("output_padding", [0])) == 1
        one_d = one_d and len(node.attrs.get("output_shape", [0])) in (1, 3)
    return one_d and all(len(node.attrs[k]) == n for k, n in _LENGTHS.items() if k in node.attrs)


def _lift_attrs(attrs: dict) -> dict:
    """A 1-D node's attributes for its 1 x K 2-D form."""
    out = dict(attrs)
    for key, unit in (("kernel_shape", 1), ("strides", 1), ("dilations", 1)):
        if key in out:
            out[key] = [unit, *out[key]]
    if "pads" in out:
        begin, end = out["pads"]
        out["pads"] = [0, begin, 0, end]
    # ops14: ConvTranspose's output size, spatial ([L]) or whole ([N, C, L])
    if "output_padding" in out:
        out["output_padding"] = [0, *out["output_padding"]]
    if "output_shape" in out:
        shape = list(out["output_shape"])
        out["output_shape"] = [1, *shape] if len(shape) == 1 else [*shape[:-1], 1, shape[-1]]
    return out


def lift_1d(graph: FloatGraph) -> None:
    """Rewrite every 1-D Conv, MaxPool and AveragePool into Unsqueeze -> 2-D op -> Squeeze."""
    nodes: list[Node] = []
    fresh = graph.namer()  # graph.fresh sees only graph.nodes, rebuilt at the end

    for node in graph.nodes:
        if not _is_1d(graph, node):
            nodes.append(node)
            continue
        axes = fresh(f"{node.name}/axes_1d")
        graph.consts[axes] = np.array([_AXIS], np.int64)
        x4 = fresh(f"{node.inputs[0]}/to_2d")
        y4 = fresh(f"{node.outputs[0]}/as_2d")
        inputs = [x4, *node.inputs[1:]]
        if node.op in ("Conv", "ConvTranspose"):
            w = fresh(f"{node.inputs[1]}/as_2d")
            graph.consts[w] = np.expand_dims(graph.consts[node.inputs[1]], _AXIS)
            inputs[1] = w
        nodes += [
            Node("Unsqueeze", [node.inputs[0], axes], [x4], {}, f"{node.name}/to_2d"),
            Node(node.op, inputs, [y4, *node.outputs[1:]], _lift_attrs(node.attrs), node.name),
            Node("Squeeze", [y4, axes], node.outputs[:1], {}, f"{node.name}/to_1d"),
        ]
    graph.nodes = nodes
