"""Read a float ONNX model (through the `onnx` package) into a FloatGraph.

Every problem is collected before raising one ConversionError: unsupported ops
(each node named), non-float inputs, already-quantized models and dynamic
non-batch dimensions. A symbolic batch dimension (axis 0) is fixed to 1, legacy
attribute forms (Clip min/max, Squeeze axes, Pad pads, ...) are rewritten into
their current input form (the op's onnx_rules row: `normalize`), and the graph is run once on zeros to give every
tensor its static shape.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .fgraph import FloatGraph, Node
from .float_run import run_node
from .graph import ConversionError
from .onnx_rules import RULES

SUPPORTED = tuple(op for op, rule in RULES.items() if rule.role == "model")
_HINT_OPS = (
    "picoq imports float ONNX models built from: "
    + ", ".join(SUPPORTED)
    + " (and shape arithmetic such as Shape/Gather/Cast/Slice/Concat that folds to constants)."
    " Re-export the model without the listed ops, or replace them with supported ones."
)
_FLOAT = 1  # onnx.TensorProto.FLOAT
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


def _attrs(onnx, node) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        elif isinstance(v, onnx.TensorProto):
            v = onnx.numpy_helper.to_array(v)
        elif isinstance(v, list | tuple):
            v = list(v)
        out[a.name] = v
    return out


def _type_name(onnx, elem_type: int) -> str:
    try:
        return onnx.TensorProto.DataType.Name(elem_type)
    except ValueError:
        return str(elem_type)


def load_onnx(source: ModelSource) -> FloatGraph:
    """Import a float ONNX model; raises ConversionError listing every problem found."""
    onnx = _onnx()
    model = read_model_proto(source)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
    g = model.graph
    problems: list[str] = []
    graph = FloatGraph(name=g.name or "model", opset=int(opset))

    for init in g.initializer:
        arr = onnx.numpy_helper.to_array(init)
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            bad = int(np.count_nonzero(~np.isfinite(arr)))
            problems.append(
                f"initializer {init.name!r} holds {bad} NaN or infinite value(s): fix the weights"
            )
        graph.consts[init.name] = arr.astype(np.float32) if arr.dtype in (np.float16, np.float64) else arr

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
                f"graph input {vi.name!r} is {_type_name(onnx, tt.elem_type)}: picoq converts float32 models"
            )
        if not tt.HasField("shape"):
            problems.append(f"graph input {vi.name!r} has no shape: export it with a fixed input shape")
            continue
        dims = []
        for axis, d in enumerate(tt.shape.dim):
            if d.HasField("dim_value") and d.dim_value > 0:
                dims.append(int(d.dim_value))
            elif axis == 0:
                dims.append(1)  # a symbolic batch: fixed to 1, Interpreter.run loops over a batch
            else:
                label = d.dim_param or "?"
                problems.append(
                    f"graph input {vi.name!r}: dimension {axis} is dynamic ({label!r}); "
                    "only the batch dimension (axis 0) may be: export with a fixed size"
                )
                dims.append(1)
        graph.inputs.append(vi.name)
        feeds_shapes[vi.name] = tuple(dims)
    graph.outputs = [o.name for o in g.output]

    unsupported: list[str] = []
    for k, n in enumerate(g.node):
        name = n.name or f"{n.op_type}_{k}"
        if n.domain not in ("", "ai.onnx"):
            unsupported.append(f"node {name!r}: op {n.domain}.{n.op_type} (custom domain)")
            continue
        rule = RULES.get(n.op_type)
        if rule is not None and rule.role == "quantized":
            unsupported.append(
                f"node {name!r}: op {n.op_type} (the model is already quantized: convert its float version)"
            )
            continue
        if rule is None or rule.role == "internal":
            unsupported.append(f"node {name!r}: op {n.op_type}")
            continue
        node = Node(n.op_type, list(n.input), list(n.output), _attrs(onnx, n), name)
        if rule.normalize is not None:
            rule.normalize(node, graph)
        graph.nodes.append(node)
    problems += unsupported
    if problems:
        raise ConversionError(problems, hint=_HINT_OPS if unsupported else "")
    infer_shapes(graph, feeds_shapes)
    return graph


def infer_shapes(graph: FloatGraph, input_shapes: dict[str, tuple[int, ...]]) -> None:
    """Run the graph once on zeros (batch 1) and record every tensor's shape."""
    env: dict[str, np.ndarray] = {n: np.zeros(s, np.float32) for n, s in input_shapes.items()}
    problems: list[str] = []
    for node in graph.nodes:
        try:
            missing = [i for i in node.inputs if i and i not in env and i not in graph.consts]
            if missing:
                raise ValueError(f"reads {missing}, which nothing produces")
            ins = [None if not i else env[i] if i in env else graph.consts[i] for i in node.inputs]
            with np.errstate(all="ignore"):  # zeros in, so 0/0 and the like are expected
                outs = run_node(node, ins)
        except Exception as e:  # numpy raises many types on inconsistent shapes
            problems.append(f"{node.where}: {e}")
            break
        for name, v in zip(node.outputs, outs):
            if name:
                env[name] = v
    for o in graph.outputs:
        if not problems and o not in env and o not in graph.consts:
            problems.append(f"graph output {o!r} is not produced by any node")
    if problems:
        raise ConversionError(problems)
    graph.shapes = {k: tuple(int(d) for d in v.shape) for k, v in env.items()}
