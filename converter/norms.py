"""Layer norms that exporters spelled out in ops, fused into one LayerNormalization node.

Exporters without LayerNormalization (ONNX opsets before 17, torch.onnx at those opsets, tf2onnx)
write a layer norm over the trailing axes [a:] of x as

    m = ReduceMean(x, axes=[a:])          d = Sub(x, m)
    v = ReduceMean(Pow(d, 2) or Mul(d, d), axes=[a:])
    n = Div(d, Sqrt(Add(v, eps)))         (or Mul(d, Reciprocal(Sqrt(...))))
    y = Add(Mul(n, gamma), beta)          (gamma and beta optional, constants over [a:])

fuse_layer_norms replaces each such chain by LayerNormalization(x, gamma, beta, axis=a,
epsilon=eps), which lowers to the LAYER_NORM kernel: one op whose arithmetic keeps the
statistics exact in integers instead of seven int8 ops each quantized on its own. It runs
before canonicalize turns the Sub, Mul and Add into other nodes.
"""

from __future__ import annotations

import numpy as np

from .fgraph import FloatGraph, Node


class _Match:
    """The graph around one candidate Div: producers, single-use checks, constants."""

    def __init__(self, graph: FloatGraph) -> None:
        self.graph = graph
        self.producers = graph.producers()
        self.consumers = graph.consumers()
        self.nodes: list[Node] = []

    def made_by(self, name: str, *ops: str, private: bool = True) -> Node | None:
        """The node of op type in `ops` producing `name` (read only inside the chain if private)."""
        node = self.producers.get(name)
        if node is None or node.op not in ops:
            return None
        if private and (self.graph.uses(name) != 1 or name in self.graph.outputs):
            return None
        self.nodes.append(node)
        return node

    def scalar(self, name: str) -> float | None:
        c = self.graph.const(name)
        return float(c.reshape(-1)[0]) if c is not None and c.size == 1 else None

    def trailing_axes(self, node: Node, rank: int) -> int | None:
        """The first axis when a keepdims ReduceMean reduces exactly the axes [a:]."""
        axes = self.graph.const(node.inputs[1]) if len(node.inputs) > 1 and node.inputs[1] else None
        if axes is None or not node.attrs.get("keepdims", 1):
            return None
        got = sorted({int(v) % rank for v in axes.reshape(-1)})
        return got[0] if got and got == list(range(got[0], rank)) else None

    def sole_consumer(self, name: str, op: str) -> Node | None:
        users = self.consumers.get(name, [])
        if len(users) != 1 or users[0].op != op or name in self.graph.outputs:
            return None
        return users[0]


def _per_row(graph: FloatGraph, node: Node, out: str, x_shape: tuple[int, ...], a: int) -> str | None:
    """The constant operand of a Mul/Add on `out` if it varies only over the axes [a:]."""
    other = [i for i in node.inputs if i != out]
    if len(other) != 1 or not graph.is_const(other[0]):
        return None
    c = graph.consts[other[0]]
    lead = c.shape[: max(0, c.ndim - (len(x_shape) - a))]
    ok = c.ndim <= len(x_shape) and all(d == 1 for d in lead)
    tail = c.shape[len(lead) :]
    ok = ok and all(d in (1, xd) for d, xd in zip(tail, x_shape[len(x_shape) - len(tail) :]))
    return other[0] if ok else None


def _match(graph: FloatGraph, div: Node) -> Node | None:
    """The LayerNormalization that the chain ending in `div` computes, else None."""
    m = _Match(graph)
    if div.op == "Div":
        d, s = div.inputs[:2]
        sqrt = m.made_by(s, "Sqrt")
    else:  # Mul(d, Reciprocal(Sqrt(...))) in either order
        recip = next((n for i in div.inputs[:2] if (n := m.made_by(i, "Reciprocal"))), None)
        if recip is None:
            return None
        d = next(i for i in div.inputs[:2] if i != recip.outputs[0])
        sqrt = m.made_by(recip.inputs[0], "Sqrt")
    sub = m.made_by(d, "Sub", private=False)
    add = sqrt and m.made_by(sqrt.inputs[0], "Add")
    if sub is None or add is None:
        return None
    v = next((i for i in add.inputs[:2] if m.scalar(i) is None), None)
    eps = next((m.scalar(i) for i in add.inputs[:2] if m.scalar(i) is not None), None)
    var = v and m.made_by(v, "ReduceMean")
    sq = var and m.made_by(var.inputs[0], "Pow", "Mul")
    x, mean_name = sub.inputs[:2]
    mean = m.made_by(mean_name, "ReduceMean", private=False)
    shape = graph.shapes.get(x)
    if None in (var, sq, mean, eps, shape) or mean.inputs[0] != x or graph.is_const(x) or not eps >= 0:
        return None
    squares_d = (
        sq.inputs[:2] == [d, d] if sq.op == "Mul" else sq.inputs[0] == d and m.scalar(sq.inputs[1]) == 2.0
    )
    # d feeds the square and the normalisation only; the mean only d
    d_users = {id(n) for n in m.consumers.get(d, [])}
    if not squares_d or d_users != {id(sq), id(div)} or d in graph.outputs or graph.uses(mean_name) != 1:
        return None
    a = m.trailing_axes(mean, len(shape))
    if a is None or m.trailing_axes(var, len(shape)) != a or graph.shapes.get(div.outputs[0]) != shape:
        return None
    y, inputs = div.outputs[0], [x, "", ""]
    for k, op in ((1, "Mul"), (2, "Add")):  # gamma, then beta, when they follow
        nxt = m.sole_consumer(y, op)
        c = nxt and _per_row(graph, nxt, y, shape, a)
        if c is None or graph.shapes.get(nxt.outputs[0]) != shape:
            continue
        inputs[k], y = c, nxt.outputs[0]
        m.nodes.append(nxt)
    m.nodes.append(div)
    node = Node("LayerNormalization", inputs, [y], {"axis": a, "epsilon": eps}, div.name)
    node.attrs["_chain"] = m.nodes
    return node


def fuse_layer_norms(graph: FloatGraph) -> None:
    """Replace each spelled-out layer norm by one LayerNormalization node."""
    for div in list(graph.nodes):
        if div.op not in ("Div", "Mul") or all(div is not n for n in graph.nodes):
            continue
        fused = _match(graph, div)
        if fused is None:
            continue
        chain = fused.attrs.pop("_chain")
        at = max(graph.nodes.index(n) for n in chain)
        graph.nodes[at] = fused
        inside = {id(n) for n in chain}
        graph.nodes = [n for n in graph.nodes if id(n) not in inside or n is fused]
        for n in chain:
            for o in n.outputs:
                if o != fused.outputs[0]:
                    graph.shapes.pop(o, None)
        row = graph.shapes[fused.inputs[0]][fused.attrs["axis"] :]
        for k in (1, 2):  # gamma and beta as LayerNormalization takes them: over [axis:]
            if fused.inputs[k]:
                c = graph.consts[fused.inputs[k]]
                c = c.reshape(c.shape[max(0, c.ndim - len(row)) :])  # the leading dims are 1s
                name = graph.fresh(f"{fused.name}/{('gamma', 'beta')[k - 1]}")
                graph.consts[name] = np.ascontiguousarray(np.broadcast_to(c, row), np.float32)
                fused.inputs[k] = name
