"""The float model between ONNX import and quantization: ONNX-semantics nodes on named tensors.

onnx_import builds a FloatGraph (NCHW, ONNX op types and attributes, batch fixed
to 1, every shape static); passes.py rewrites it (folding, fusion) without
changing what it computes; calibrate.py runs it (float_run.py) to measure
activation ranges; quantize_graph.py lowers it to the int8 picoq Graph.

Besides ONNX op types, passes introduce two internal ops (names starting with
"pq."), each with a numpy definition in float_ops.py:
  pq.Dense   y = x @ W.T + b over the last axis (W is [out, in], b optional)
  pq.Affine  y = x * scale + shift, scale and shift constants along one axis (or scalars)
  pq.Table   y = f(x) for an element-wise group of nodes of one input (tables.py), one int8 table
and any node may carry attrs["clamp"] = (lo, hi): its output is clipped to it (a fused
ReLU, ReLU6, Clip or HardSigmoid).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .graph import ConversionError


@dataclass
class Node:
    op: str
    inputs: list[str]  # "" = an absent optional input
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)
    name: str = ""

    @property
    def where(self) -> str:
        return f"node {self.name!r} ({self.op})"


@dataclass
class FloatGraph:
    name: str = "model"
    nodes: list[Node] = field(default_factory=list)
    consts: dict[str, np.ndarray] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)  # static, batch 1
    opset: int = 13
    # name prefixes of the nodes an unrolled LSTM / GRU emitted (recurrent.py): an int8 model
    # runs them 16x8, as TFLM's integer LSTM keeps its gates and cell state in int16
    recurrent: list[str] = field(default_factory=list)
    # What makes the model unconvertible, found so far (import, passes, lowering check): collected
    # rather than raised so that one ConversionError lists every problem; hints say what to do.
    problems: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)

    def raise_problems(self, more: list[str] = (), hint: str = "") -> None:
        """Raise one ConversionError with every problem collected (and `more`), if there is any."""
        problems = [*self.problems, *more]
        if problems:
            hints = [*self.hints, *([hint] if hint and more else [])]
            raise ConversionError(problems, hint="\n".join(dict.fromkeys(h for h in hints if h)))

    def producers(self) -> dict[str, Node]:
        return {o: n for n in self.nodes for o in n.outputs if o}

    def consumers(self) -> dict[str, list[Node]]:
        out: dict[str, list[Node]] = {}
        for n in self.nodes:
            for i in n.inputs:
                if i:
                    out.setdefault(i, []).append(n)
        return out

    def uses(self, name: str) -> int:
        """How many node inputs and graph outputs read `name`."""
        return sum(i == name for n in self.nodes for i in n.inputs) + self.outputs.count(name)

    def is_const(self, name: str) -> bool:
        return name in self.consts

    def const(self, name: str) -> np.ndarray | None:
        return self.consts.get(name) if name else None

    def is_recurrent(self, node: Node) -> bool:
        """Whether `node` is one of an unrolled LSTM / GRU's (or a pass's rewrite of one)."""
        return any(n.startswith(p) for p in self.recurrent for n in (node.name, *node.outputs[:1]))

    def fresh(self, base: str) -> str:
        """A tensor name not used yet."""
        taken = set(self.consts) | set(self.inputs) | {o for n in self.nodes for o in n.outputs}
        name, k = base, 1
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        return name

    def namer(self) -> Callable[[str], str]:
        """fresh() for a pass that builds its nodes before they enter the graph (which fresh
        alone sees): each name it gives is also unlike every name it gave before."""
        made: set[str] = set()

        def fresh(base: str) -> str:
            name, k = self.fresh(base), 1
            while name in made:
                name, k = self.fresh(f"{base}_{k}"), k + 1
            made.add(name)
            return name

        return fresh

    def replace_uses(self, old: str, new: str) -> None:
        """Every reader of `old` (nodes and graph outputs) reads `new` instead."""
        for n in self.nodes:
            n.inputs = [new if i == old else i for i in n.inputs]
        self.outputs = [new if o == old else o for o in self.outputs]

    def rename(self, old: str, new: str) -> None:
        """Rename a produced tensor everywhere (producer, readers, shapes)."""
        for n in self.nodes:
            n.outputs = [new if o == old else o for o in n.outputs]
        self.replace_uses(old, new)
        if old in self.shapes:
            self.shapes[new] = self.shapes.pop(old)
