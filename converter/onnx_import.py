"""Read a float ONNX model (through the `onnx` package) into a FloatGraph.

Problems are collected, not raised one at a time: malformed models, non-float inputs,
already-quantized models and dynamic non-batch dimensions end the import with one
ConversionError; op types picoq does not know stay in the graph as foreign nodes
(foreign_ops.py), which fold when their inputs are constant and are otherwise named by the
lowering check together with every other problem of the model. A symbolic batch dimension
(axis 0) is fixed to 1, legacy attribute forms (Clip min/max, Squeeze axes, Pad pads, ...) are
rewritten into their current input form (the op's onnx_rules row: `normalize`), and the graph
is run once on zeros to give every tensor its static shape.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from picoq.runtime import format as fmt

from .fgraph import FloatGraph, Node
from .float_run import run_node
from .foreign_ops import OPSET, PROTO, ForeignOpError
from .graph import ConversionError
from .lift_1d import lift_1d
from .onnx_check import (
    MAX_ELEMENTS,
    MAX_NODE_MACS,
    MAX_TOTAL_MACS,
    check_arity,
    check_graph,
    check_node,
    check_output,
    check_strings,
    node_attrs,
    node_macs,
    tensor_array,
    type_name,
)
from .onnx_rules import RULES, UNSUPPORTED_HINT
from .tables import BINARY, UNARY

_FLOAT = 1  # onnx.TensorProto.FLOAT
TABLE_OPS = UNARY | BINARY
MAX_OPSET = 30  # opset versions beyond any released one are refused
ModelSource = str | os.PathLike | bytes | Any  # Any: an onnx.ModelProto


def _onnx():
    try:
        import onnx
    except ImportError as e:
        raise ImportError(
            "reading ONNX models needs the `onnx` package: pip install 'picoq[converter]'"
        ) from e
    return onnx


def read_model_proto(source: ModelSource):
    """An onnx.ModelProto from a path, bytes or a ModelProto (external data loaded from the path's folder)."""
    onnx = _onnx()
    if isinstance(source, onnx.ModelProto):
        return source
    try:
        if isinstance(source, bytes | bytearray | memoryview):
            return onnx.load_from_string(bytes(source))
        return onnx.load(os.fspath(source))
    except Exception as e:  # a corrupt protobuf can fail anywhere inside the bindings
        raise ConversionError([f"not a readable ONNX model: {e}"]) from e


def load_onnx(source: ModelSource, before_shapes: Callable[[FloatGraph], None] | None = None) -> FloatGraph:
    """Import a float ONNX model; raises ConversionError listing every problem found."""
    graph = import_onnx(source, before_shapes)
    graph.raise_problems()
    return graph


def import_onnx(source: ModelSource, before_shapes: Callable[[FloatGraph], None] | None = None) -> FloatGraph:
    """Import a float ONNX model. Raises ConversionError for what stops the import (an unreadable
    or malformed model, dynamic shapes, a quantized model, a node that cannot run); problems that
    let the later checks go on (op types picoq does not know, bad calibration data) are
    collected in graph.problems instead, so one error can list every problem of the model.
    Nodes of unknown op types stay in the graph (foreign_ops.py): those on constants fold.

    `before_shapes(graph)`, if given, runs once the graph inputs and their shapes are known, before
    the graph runs on zeros (convert checks its calibration data there: cheap, and before any
    expensive work on a model whose input it does not fit)."""
    model = read_model_proto(source)
    check_strings(model)
    opsets = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    opset = opsets[0] if opsets else 13
    g = model.graph
    problems: list[str] = []
    if len(set(opsets)) > 1:
        problems.append(f"the model imports the ONNX opset {len(opsets)} times ({opsets})")
    elif not 1 <= opset <= MAX_OPSET:
        problems.append(f"ONNX opset {opset} is not one picoq knows (1 to {MAX_OPSET})")
    graph = FloatGraph(name=g.name or "model", opset=int(opset))

    for init in g.initializer:
        arr = tensor_array(init, f"initializer {init.name!r}", problems)
        if arr is None:
            continue
        # -inf is an attention mask's "masked" (masks.py settles it, or names the node using it)
        if arr.dtype.kind == "f" and not (np.isfinite(arr) | np.isneginf(arr)).all():
            bad = int(np.count_nonzero(~np.isfinite(arr)))
            problems.append(
                f"initializer {init.name!r} holds {bad} NaN or infinite value(s): fix the weights"
            )
        graph.consts[init.name] = arr.astype(np.float32) if arr.dtype in (np.float16, np.float64) else arr
    if len(g.sparse_initializer):
        problems.append("the model has sparse initializers, which picoq does not read")
    check_graph(g, {t.name for t in g.initializer}, problems)

    feeds_shapes: dict[str, tuple[int, ...]] = {}
    for vi in g.input:
        if vi.name in graph.consts:  # IR < 4: initializers are listed as inputs too
            continue
        tt = vi.type.tensor_type
        if not vi.type.HasField("tensor_type"):
            problems.append(f"graph input {vi.name!r} is not a tensor")
            continue
        if tt.elem_type != _FLOAT:
            problems.append(
                f"graph input {vi.name!r} is {type_name(tt.elem_type)}: picoq converts float32 models"
            )
        if not tt.HasField("shape"):
            problems.append(f"graph input {vi.name!r} has no shape: export it with a fixed input shape")
            continue
        dims = []
        for axis, d in enumerate(tt.shape.dim):
            if d.HasField("dim_value") and d.dim_value > 0:
                dims.append(int(d.dim_value))
            elif d.HasField("dim_value"):
                problems.append(
                    f"graph input {vi.name!r}: dimension {axis} is {d.dim_value}: sizes are positive"
                )
                dims.append(1)
            elif axis == 0:
                dims.append(1)  # a symbolic batch: fixed to 1, Interpreter.run loops over a batch
            else:
                label = d.dim_param or "?"
                problems.append(
                    f"graph input {vi.name!r}: dimension {axis} is dynamic ({label!r}); "
                    "only the batch dimension (axis 0) may be: export with a fixed size"
                )
                dims.append(1)
        if len(dims) > fmt.MAX_DIMS:
            problems.append(
                f"graph input {vi.name!r} has {len(dims)} dimensions; picoq stores at most {fmt.MAX_DIMS}"
            )
        elif math.prod(dims) > MAX_ELEMENTS:
            problems.append(
                f"graph input {vi.name!r} of shape {tuple(dims)} has {math.prod(dims)} elements:"
                f" more than picoq's {MAX_ELEMENTS}"
            )
        graph.inputs.append(vi.name)
        feeds_shapes[vi.name] = tuple(dims)
    graph.outputs = [o.name for o in g.output]

    read = {i for n in g.node for i in n.input} | set(graph.outputs)
    refused: list[str] = []  # ops that end the import (an already-quantized model, picoq's own names)
    for k, n in enumerate(g.node):
        name = n.name or f"{n.op_type}_{k}"
        rule = RULES.get(n.op_type) if n.domain in ("", "ai.onnx") else None
        if rule is not None and rule.role == "quantized":
            refused.append(
                f"node {name!r} ({n.op_type}): the model is already quantized: convert its float version"
            )
            continue
        if rule is not None and rule.role == "internal":
            refused.append(f"node {name!r} ({n.op_type}): not an ONNX op")
            continue
        if rule is None:  # foreign: kept for folding and shapes, refused at the lowering check if still there
            op = n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}.{n.op_type}"
            graph.nodes.append(Node(op, list(n.input), list(n.output), {PROTO: n, OPSET: graph.opset}, name))
            continue
        where = f"node {name!r} ({n.op_type})"
        attrs = node_attrs(n, where, problems)
        if attrs is None:
            continue
        if n.op_type != "Constant" and (not n.input or not n.input[0]):
            problems.append(f"{where}: has no first input")
            continue
        node = Node(n.op_type, list(n.input), list(n.output), attrs, name)
        if rule.normalize is not None:
            rule.normalize(node, graph)
        bad = check_arity(node.op, node.inputs, node.outputs, where, read)
        if bad:
            problems.append(bad)
            continue
        graph.nodes.append(node)
    if problems or refused:
        foreign = unknown_ops(graph, set(graph.consts))
        raise ConversionError(
            problems + refused + foreign, hint=UNSUPPORTED_HINT if refused or foreign else ""
        )
    lift_1d(graph)
    if before_shapes is not None:
        graph.shapes = dict(feeds_shapes)
        try:
            before_shapes(graph)
        except ConversionError as e:  # bad calibration data: listed with the unknown ops, and the
            # model does not run (the data may set a batch of thousands)
            graph.hints += [e.hint] if e.hint else []
            foreign = unknown_ops(graph, set(graph.consts))
            graph.problems += e.problems
            graph.raise_problems(foreign, hint=UNSUPPORTED_HINT)
    infer_shapes(graph, feeds_shapes)
    return graph


def unknown_ops(graph: FloatGraph, constlike: set[str], failed: frozenset[str] = frozenset()) -> list[str]:
    """The problems of the nodes of op types picoq does not know, for an error raised before
    the passes: those that could not run (an output in `failed`), and the others but those
    that will fold (every input in `constlike`) or may become part of a table (element-wise,
    tables.py): the lowering check names those if they stay."""
    return [
        foreign_problem(n)
        for n in graph.nodes
        if n.attrs.get(PROTO) is not None
        and (
            any(o in failed for o in n.outputs)
            or (n.op not in TABLE_OPS and not all(not i or i in constlike for i in n.inputs))
        )
    ]


def foreign_problem(node: Node) -> str:
    """Why a node of an op type picoq does not know is refused."""
    if "." in node.op:
        return f"{node.where}: an op of a custom domain, not supported by picoq"
    return f"{node.where}: not supported by picoq"


def infer_shapes(graph: FloatGraph, input_shapes: dict[str, tuple[int, ...]]) -> None:
    """Run the graph once on zeros (batch 1) and record every tensor's shape.

    A foreign node runs through onnx's reference evaluator; if it cannot (foreign_ops), its
    outputs and everything computed from them stay unknown, and the import ends here with every
    foreign node that was not going to fold."""
    env: dict[str, np.ndarray] = {n: np.zeros(s, np.float32) for n, s in input_shapes.items()}
    later = {o: n for n in graph.nodes for o in n.outputs if o}
    problems: list[str] = []
    unknown: set[str] = set()  # outputs of foreign nodes that could not run, and all after them
    failed: set[str] = set()  # outputs of the foreign nodes that could not run
    constlike = set(graph.consts)  # computed from constants and static shapes only: folds
    total = 0  # multiply-accumulates of one float pass
    for node in graph.nodes:
        outputs = [o for o in node.outputs if o]
        if any(i in unknown for i in node.inputs):
            unknown.update(outputs)
            continue
        missing = [i for i in node.inputs if i and i not in env and i not in graph.consts]
        if missing:
            if all(i in later for i in missing):
                problems.append(
                    f"{node.where}: reads {missing} before the node that writes it (nodes out of order, or a cycle)"
                )
            else:
                problems.append(f"{node.where}: reads {missing}, which nothing produces")
            break
        ins = [None if not i else env[i] if i in env else graph.consts[i] for i in node.inputs]
        bad = check_node(node, ins)
        if bad:
            problems.append(bad)
            break
        cost = node_macs(node, ins)
        total += cost
        if cost > MAX_NODE_MACS or total > MAX_TOTAL_MACS:
            problems.append(
                f"{node.where}: {cost} multiply-accumulates ({total} so far): more than picoq converts"
                f" ({MAX_NODE_MACS} per node, {MAX_TOTAL_MACS} per inference)"
            )
            break
        try:
            with np.errstate(all="ignore"):  # zeros in, so 0/0 and the like are expected
                outs = run_node(node, ins)
        except ForeignOpError:
            unknown.update(outputs)
            failed.update(outputs)
            continue
        except Exception as e:  # numpy raises many types on inconsistent shapes
            problems.append(f"{node.where}: {e}")
            break
        bad = check_output(node, outs)
        if bad:
            problems.append(bad)
            break
        for name, v in zip(node.outputs, outs):
            if name:
                env[name] = v
        if node.op == "Shape" or all(not i or i in constlike for i in node.inputs):
            constlike.update(outputs)
    for o in graph.outputs:
        if not problems and o not in env and o not in graph.consts and o not in unknown:
            problems.append(f"graph output {o!r} is not produced by any node")
    if problems or unknown:
        graph.raise_problems(problems + unknown_ops(graph, constlike, frozenset(failed)))
    graph.shapes = {k: tuple(int(d) for d in v.shape) for k, v in env.items()}
