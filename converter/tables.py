"""Element-wise subgraphs of one activation as one 256-entry table (the LOOKUP_TABLE kernel).

Once the input and output quantizations are fixed, any function computed element by element
from one int8 tensor x is a table of 256 int8 values. fuse_tables finds the connected groups of
element-wise nodes whose activation inputs all come from one tensor x (constants may be scalars)
and that leave the group through one tensor y, and replaces each by one pq.Table node: GELU
(x * 0.5 * (1 + erf(x / sqrt 2)) in torch's export, or the Gelu op), SiLU (x * sigmoid(x)),
Mish, ELU, Softplus, erf, exp, ... Besides running ops picoq has no kernel for, a chain is
quantized once instead of after each op (SiLU no longer goes through LOGISTIC's fixed 1/256
scale), and costs one lookup per value.

A lone op that has its own kernel (Sigmoid, Tanh, HardSwish, LeakyRelu, a fused clamp) keeps
it: those match TFLite's kernels bit for bit. pq.Table's float function runs the group's nodes
(calibration and `picoq compare` see the float model's values); the lowering tabulates it.
"""

from __future__ import annotations

import numpy as np

from .fgraph import FloatGraph, Node

# Unary ops computed per element; the foreign ones run through onnx's reference evaluator.
UNARY = {
    "Relu", "Clip", "LeakyRelu", "HardSwish", "HardSigmoid", "Sigmoid", "Tanh", "pq.Affine",
    "Erf", "Exp", "Log", "Softplus", "Softsign", "Elu", "Selu", "Celu", "Gelu", "Mish", "Abs",
    "Neg", "Sqrt", "Reciprocal", "Sin", "Cos", "Floor", "Ceil", "Round", "Sign",
    "ThresholdedRelu", "Shrink", "Swish", "PRelu",
}  # fmt: skip
BINARY = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"}
# Ops with an int8 kernel of their own: alone, they keep it.
OWN_KERNEL = {"Sigmoid", "Tanh", "HardSwish", "LeakyRelu", "pq.Affine", "Relu", "Clip"}


def _activation_inputs(graph: FloatGraph, node: Node) -> list[str] | None:
    """The node's non-constant inputs, or None if it is not element-wise in a way a table holds
    (a constant operand must be a scalar; pq.Affine per-tensor only)."""
    if node.op == "pq.Affine" and node.attrs.get("axis") is not None:
        return None
    if node.op not in UNARY and node.op not in BINARY:
        return None
    acts = []
    for k, i in enumerate(node.inputs):
        if not i:
            continue
        c = graph.const(i)
        if c is None:
            acts.append(i)
        elif k == 0 or (node.op not in ("Clip", "pq.Affine") and c.size != 1):
            return None  # x itself constant (folds elsewhere), or a per-channel operand
    y = node.outputs[0]
    if not acts or any(graph.shapes.get(a) != graph.shapes.get(y) for a in acts):
        return None  # broadcasting up: not one value out per value in
    if len([o for o in node.outputs if o and graph.uses(o)]) > 1:
        return None
    return acts


def fuse_tables(graph: FloatGraph) -> None:
    """Replace each element-wise group of one input and one output by a pq.Table node."""
    group_of: dict[str, int] = {}  # tensor produced inside a group -> group id
    groups: list[dict] = []
    for node in graph.nodes:
        acts = _activation_inputs(graph, node)
        if acts is None:
            continue
        roots = {groups[group_of[a]]["root"] if a in group_of else a for a in acts}
        if len(roots) != 1:
            continue
        joined = sorted({group_of[a] for a in acts if a in group_of})
        if joined:
            g = groups[joined[0]]
            for other in joined[1:]:  # two branches from one root meet (SiLU's Mul)
                g["nodes"] += groups[other]["nodes"]
                for t, gid in group_of.items():
                    if gid == other:
                        group_of[t] = joined[0]
                groups[other]["nodes"] = []
        else:
            g = {"root": roots.pop(), "nodes": []}
            groups.append(g)
        g["nodes"].append(node)
        group_of[node.outputs[0]] = groups.index(g)
    consumers = graph.consumers()
    for g in groups:
        nodes = g["nodes"]
        if not nodes or (len(nodes) == 1 and nodes[0].op in OWN_KERNEL):
            continue
        inside = {id(n) for n in nodes}
        leaving = [
            n.outputs[0]
            for n in nodes
            if n.outputs[0] in graph.outputs
            or any(id(c) not in inside for c in consumers.get(n.outputs[0], []))
        ]
        if len(leaving) != 1:
            continue  # an intermediate value is needed elsewhere: leave the ops as they are
        order = [n for n in graph.nodes if id(n) in inside]  # graph order: producers first
        y = leaving[0]
        name = "+".join(n.name for n in order)
        consts = {i: graph.consts[i] for n in order for i in n.inputs if i and graph.is_const(i)}
        table = Node(
            "pq.Table", [g["root"]], [y], {"nodes": order, "root": g["root"], "consts": consts}, name
        )
        at = graph.nodes.index(order[-1])
        graph.nodes[at] = table
        graph.nodes = [n for n in graph.nodes if id(n) not in inside]
        for n in order:
            if n.outputs[0] != y:
                graph.shapes.pop(n.outputs[0], None)


def run_table(node: Node, x: np.ndarray) -> list[np.ndarray]:
    """pq.Table's float function: the group's nodes, in order, on x (any shape)."""
    from .float_run import run_node

    env = {**node.attrs["consts"], node.attrs["root"]: x}
    for n in node.attrs["nodes"]:
        env[n.outputs[0]] = run_node(n, [env[i] if i else None for i in n.inputs])[0]
    return [np.asarray(env[node.outputs[0]], np.float32)]
