"""Run a FloatGraph in float32 numpy: each node through its op's float_ops function (onnx_rules.RULES).

It folds constants (passes.py), gives every tensor its static shape (onnx_import.py), measures
activation ranges (calibrate.py) and is the float reference of `picoq compare`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .fgraph import FloatGraph, Node
from .float_ops import F32
from .onnx_rules import rule_of


def run_node(node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """The outputs of one node (its float_ops function), clipped to its fused clamp if it has one."""
    outs = rule_of(node.op).run(node, *inputs)
    clamp = node.attrs.get("clamp")
    if clamp is not None:
        outs[0] = np.clip(outs[0], F32(clamp[0]), F32(clamp[1])).astype(F32)
    return outs


def run(
    graph: FloatGraph,
    feeds: dict[str, np.ndarray],
    observe: Callable[[str, np.ndarray], None] | None = None,
    keep_all: bool = False,
) -> dict[str, np.ndarray]:
    """Run the graph on `feeds` (float32). A leading batch N > 1 needs batch_safe(graph):
    Reshape nodes then keep axis 0 (their constant shapes were computed for batch 1).

    Calls `observe(name, value)` for every graph input and node output; returns the
    graph outputs (every tensor when keep_all). Tensors are freed after their last use.
    """
    env: dict[str, np.ndarray] = {}
    last_use: dict[str, int] = {}
    for k, n in enumerate(graph.nodes):
        for i in n.inputs:
            last_use[i] = k
    for name in graph.inputs:
        env[name] = np.asarray(feeds[name], F32)
        if observe:
            observe(name, env[name])
    # a stacked batch: its Reshapes keep axis 0 (not so one sample whose axis 0 a Transpose moved)
    batched = any(env[n].shape[:1] != graph.shapes.get(n, (1,))[:1] for n in graph.inputs)
    keep = set(graph.outputs)
    for k, node in enumerate(graph.nodes):
        ins = [None if not i else env[i] if i in env else graph.consts[i] for i in node.inputs]
        if batched and node.op == "Reshape" and node.outputs[0] in graph.shapes and ins[0].shape[:1] != (1,):
            outs = [ins[0].reshape((ins[0].shape[0], *graph.shapes[node.outputs[0]][1:]))]
        else:
            outs = run_node(node, ins)
        for name, v in zip(node.outputs, outs):
            if name:
                env[name] = v
                if observe:
                    observe(name, v)
        if not keep_all:
            for i in node.inputs:
                if i in env and last_use.get(i) == k and i not in keep:
                    del env[i]
    if keep_all:
        return env
    return {o: env[o] if o in env else graph.consts[o] for o in graph.outputs}
