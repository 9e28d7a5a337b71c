"""The converter's in-memory model: tensors, ops and graph IO, before it becomes a .picoq file.

Importers (tflite_import, later onnx) build a Graph; passes rewrite it; the
planner gives arena offsets; writer.py serialises it. Op names and parameter
names are the format's (picoq.runtime.format.OPS).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from picoq.runtime.format import dtype_nbytes


class ConversionError(ValueError):
    """The source model cannot be converted; the message lists every problem found (`problems`),
    the same problem of several nodes of one op type on one line."""

    def __init__(self, problems: list[str], hint: str = ""):
        self.problems = list(dict.fromkeys(problems))
        self.hint = hint
        lines = [f"cannot convert: {len(self.problems)} problem(s)"]
        lines += [f"  - {p}" for p in group_problems(self.problems)]
        if hint:
            lines.append(hint)
        super().__init__("\n".join(lines))


_NODE_PROBLEM = re.compile(
    r"node (?P<name>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\") \((?P<op>[^()]+)\): (?P<why>.*)", re.S
)


def group_problems(problems: list[str], shown: int = 3) -> list[str]:
    """One line per (op type, reason): "Slice x26: <reason> (nodes 'a', 'b', 'c' and 23 more)";
    a problem of one node, or not about a node, stays as it is. First-seen order."""
    groups: dict[tuple[str, str], list[str]] = {}
    lines: list[tuple[str, str] | str] = []
    for p in problems:
        m = _NODE_PROBLEM.fullmatch(p)
        if m is None:
            lines.append(p)
            continue
        key = (m["op"], m["why"])
        if key not in groups:
            groups[key] = []
            lines.append(key)
        groups[key].append(m["name"])
    out = []
    for line in lines:
        if isinstance(line, str):
            out.append(line)
            continue
        (op, why), names = line, groups[line]
        if len(names) == 1:
            out.append(f"node {names[0]} ({op}): {why}")
            continue
        more = f" and {len(names) - shown} more" if len(names) > shown else ""
        out.append(f"{op} x{len(names)}: {why} (nodes {', '.join(names[:shown])}{more})")
    return out


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: str  # "int8" | "int16" | "int32" | "int64" | "int4" (int8 values in [-8, 7], packed on write)
    scales: np.ndarray | None = None  # float32; 1 value (per tensor) or one per channel
    zero_points: np.ndarray | None = None  # int32, same length as scales
    quant_axis: int = 0
    data: np.ndarray | None = None  # constant data; None for activations
    offset: int = -1  # arena offset, set by the planner

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def nbytes(self) -> int:
        return dtype_nbytes(self.dtype, int(np.prod(self.shape, dtype=np.int64)))

    @property
    def scale(self) -> float:
        assert self.scales is not None and self.scales.size == 1, f"{self.name} is not per-tensor quantized"
        return float(self.scales[0])

    @property
    def zero_point(self) -> int:
        assert self.zero_points is not None and self.zero_points.size == 1
        return int(self.zero_points[0])


@dataclass
class Op:
    name: str  # "CONV_2D", ...
    inputs: list[int]
    outputs: list[int]
    params: dict[str, int] = field(default_factory=dict)
    source: str = ""  # where it came from (e.g. "tflite op 3"), for messages


@dataclass
class Graph:
    name: str = "model"
    tensors: list[Tensor] = field(default_factory=list)
    ops: list[Op] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    arena_size: int = 0
    # Legacy: per op (offset, size) of a format 1.1 SCRA section. The converter leaves it None
    # (a 1.0 file: the runtime places its own scratch); tests set it to write old 1.1 files.
    scratch: list[tuple[int, int]] | None = None

    def add(self, t: Tensor) -> int:
        """Append a tensor, renaming it `name_1`, `name_2`... if the name is taken (names are unique in
        a .picoq file: inputs are addressed by name)."""
        taken = {x.name for x in self.tensors}
        if t.name in taken:
            k = 1
            while f"{t.name}_{k}" in taken:
                k += 1
            t.name = f"{t.name}_{k}"
        self.tensors.append(t)
        return len(self.tensors) - 1

    def add_const(
        self,
        name: str,
        data: np.ndarray,
        scales=None,
        zero_points=None,
        axis: int = 0,
        dtype: str | None = None,
    ) -> int:
        """A constant of `data`; `dtype` overrides data's ("int4": int8 values in [-8, 7])."""
        data = np.ascontiguousarray(data)
        return self.add(
            Tensor(
                name,
                tuple(int(d) for d in data.shape),
                dtype or str(data.dtype),
                None if scales is None else np.asarray(scales, np.float32).ravel(),
                None if zero_points is None else np.asarray(zero_points, np.int32).ravel(),
                axis,
                data,
            )
        )

    def consumers(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for i, op in enumerate(self.ops):
            for t in op.inputs:
                if t >= 0:
                    out.setdefault(t, []).append(i)
        return out

    def check_io(self) -> None:
        """Graph inputs and outputs live in the arena: a constant among them (a hostile or
        degenerate source model) cannot be run."""
        problems = [
            f"graph {kind} {self.tensors[t].name!r} is a constant"
            for kind, ts in (("input", self.inputs), ("output", self.outputs))
            for t in ts
            if self.tensors[t].is_const
        ]
        if not self.outputs:
            problems.append("the graph has no outputs")
        if problems:
            raise ConversionError(
                problems, hint="picoq runs graphs whose inputs and outputs are activations."
            )

    def remove_unused_tensors(self) -> None:
        """Drop tensors no op or graph IO refers to, renumbering the rest."""
        used = set(self.inputs) | set(self.outputs)
        for op in self.ops:
            used.update(t for t in (*op.inputs, *op.outputs) if t >= 0)
        keep = sorted(used)
        remap = {old: new for new, old in enumerate(keep)}
        self.tensors = [self.tensors[i] for i in keep]
        for op in self.ops:
            op.inputs = [remap[t] if t >= 0 else -1 for t in op.inputs]
            op.outputs = [remap[t] for t in op.outputs]
        self.inputs = [remap[t] for t in self.inputs]
        self.outputs = [remap[t] for t in self.outputs]
