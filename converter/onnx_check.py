"""Checks of an ONNX model picoq imports, made before anything trusts it (onnx_import.py).

A hostile or corrupt model must end in one ConversionError naming what is wrong, never in
an IndexError deep in a pass, a huge allocation or a file read outside the model. So:

  tensor_array   decodes an initializer or tensor attribute only after checking its element
                 type, dims, element count (at most MAX_CONST_ELEMENTS) and that its data holds exactly
                 that many elements; external data (a file beside the model) is refused unless
                 onnx.load already read it in;
  node_attrs     decodes a node's attributes: subgraphs, references and untyped ones are refused,
                 each known attribute must have its ONNX type and a sane value (ATTRS);
  check_arity    the node has as many inputs and outputs as its op takes (ARITY);
  check_graph    names are unique: no two nodes write one tensor, no node overwrites a graph
                 input or an initializer, the graph has inputs and outputs;
  check_node     just before infer_shapes runs a node on zeros: rank-dependent attribute values
                 (axes, perm) and the size of what the node would allocate.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from picoq.runtime import format as fmt

from .graph import ConversionError

# The largest tensor (elements) picoq imports. The float model runs in float32 while it is
# converted (calibration stacks up to 32 samples): 2^24 elements is 64 MiB per copy, and far
# beyond any model a microcontroller runs (its int8 arena would be 16 MiB for that one tensor).
MAX_ELEMENTS = 1 << 24
# The largest constant (initializer or tensor attribute). Its data is in the model itself (its
# length is checked before it is decoded), so a claimed size allocates nothing the file does not
# hold; the cap bounds the float copies the converter makes of one weight (256 MiB each).
# RegNetY-128GF's largest 1x1 conv holds 54.6M weights.
MAX_CONST_ELEMENTS = 1 << 26
# The largest window expansion a Conv may need (output elements x kernel size, float_ops.conv).
MAX_CONV_WORK = 1 << 27
# Multiply-accumulates of one Conv/Gemm/MatMul and of the whole model, at the model's batch: the
# float model runs several times while it converts (MobileNetV2 is 3e8 in all, ResNet-50 4e9).
MAX_NODE_MACS = 1 << 31
MAX_TOTAL_MACS = 1 << 33
MAX_RANK = 8  # of any tensor the float model computes (the .picoq format stores up to 6 dims)
MAX_ATTR_INT = fmt.MAX_DIM  # sizes, strides, pads and dilations
# Tensor and node names: the format's limit less room for the suffixes the lowering appends
# ("/multiplier", "@0231", "_1", ...).
MAX_NAME_BYTES = fmt.MAX_NAME_BYTES - 64

# ONNX element types picoq decodes (TensorProto.DataType): numeric and bool, not strings,
# complex, bfloat16 or the 8/4/2-bit floats and ints.
TENSOR_TYPES = {
    1: np.float32,
    2: np.uint8,
    3: np.int8,
    4: np.uint16,
    5: np.int16,
    6: np.int32,
    7: np.int64,
    9: np.bool_,
    10: np.float16,
    11: np.float64,
    12: np.uint32,
    13: np.uint64,
}


def type_name(elem_type: int) -> str:
    from onnx import TensorProto

    try:
        return TensorProto.DataType.Name(elem_type)
    except ValueError:
        return str(elem_type)


def _storage_field(elem_type: int) -> str:
    if elem_type == 1:
        return "float_data"
    if elem_type == 7:
        return "int64_data"
    if elem_type == 11:
        return "double_data"
    if elem_type in (12, 13):
        return "uint64_data"
    return "int32_data"


def elements(dims) -> int:
    return math.prod(int(d) for d in dims)


def tensor_array(t: Any, what: str, problems: list[str]) -> np.ndarray | None:
    """The numpy value of TensorProto `t` (`what` names it in messages), or None with a problem."""
    from onnx import TensorProto, numpy_helper

    if t.data_location == TensorProto.EXTERNAL or len(t.external_data):
        problems.append(
            f"{what} keeps its data in an external file: picoq reads external data only when it loads"
            " the model from a path (onnx.load), not from bytes or a ModelProto"
        )
        return None
    if t.HasField("segment"):
        problems.append(f"{what} is a segment of a tensor, which picoq does not read")
        return None
    if t.data_type not in TENSOR_TYPES:
        problems.append(f"{what} has element type {type_name(t.data_type)}, which picoq does not read")
        return None
    dims = list(t.dims)
    if any(d < 0 for d in dims) or len(dims) > MAX_RANK:
        problems.append(f"{what} has dims {dims}: dims are non-negative, at most {MAX_RANK} of them")
        return None
    count = elements(dims)
    if count > MAX_CONST_ELEMENTS:
        problems.append(f"{what} has dims {dims} ({count} elements): more than picoq's {MAX_CONST_ELEMENTS}")
        return None
    dtype = np.dtype(TENSOR_TYPES[t.data_type])
    if t.HasField("raw_data"):
        if len(t.raw_data) != count * dtype.itemsize:
            problems.append(
                f"{what}: raw_data holds {len(t.raw_data)} bytes; dims {dims} of {type_name(t.data_type)}"
                f" need {count * dtype.itemsize}"
            )
            return None
    else:
        field = _storage_field(t.data_type)
        held = len(getattr(t, field))
        if held != count:
            problems.append(f"{what}: {field} holds {held} values; dims {dims} need {count}")
            return None
    try:
        arr = numpy_helper.to_array(t)
    except (ValueError, TypeError, OverflowError) as e:  # the onnx helper's own refusals
        problems.append(f"{what}: cannot decode: {e}")
        return None
    return np.asarray(arr, dtype)


# *** attributes ***


def _ints(lo: int, hi: int, n: tuple[int, ...] | None = None):
    def check(v: list[int]) -> str | None:
        if n is not None and len(v) not in n:
            return f"needs {' or '.join(map(str, n))} values, has {len(v)}"
        if any(not lo <= x <= hi for x in v):
            return f"values must lie in [{lo}, {hi}]"
        return None

    return "ints", check


def _int(lo: int, hi: int):
    return "int", lambda v: None if lo <= v <= hi else f"must lie in [{lo}, {hi}]"


def _float(allow_inf: bool = False):
    def check(v: float) -> str | None:
        if math.isnan(v) or (math.isinf(v) and not allow_inf):
            return "must be a finite number"
        return None

    return "float", check


def _enum(*values: str):
    return "string", lambda v: None if v in values else f"must be one of {', '.join(values)}"


_BIG = MAX_ATTR_INT
_AXIS = _int(-64, 63)
_WINDOW = {
    "auto_pad": _enum("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"),
    # 1-D windows too: lift_1d.py makes them 2-D
    "kernel_shape": _ints(1, _BIG, (1, 2)),
    "strides": _ints(1, _BIG, (1, 2)),
    "dilations": _ints(1, _BIG, (1, 2)),
    "pads": _ints(0, _BIG, (2, 4)),
}
WINDOW_LENGTHS = {"kernel_shape": 2, "strides": 2, "dilations": 2, "pads": 4}  # values of a 2-D window
_BOOL = _int(0, 1)
_CAST_TO = (1, 2, 3, 6, 7, 9, 10, 11)

_RECURRENT = {
    "hidden_size": _int(1, 1 << 16),
    "direction": _enum("forward", "reverse", "bidirectional"),
    "layout": _BOOL,
    "clip": ("float", lambda v: None if math.isfinite(v) and v > 0 else "must be a positive number"),
    "input_forget": _BOOL,
    "activations": ("strings", None),
    "activation_alpha": ("floats", None),
    "activation_beta": ("floats", None),
}
# op -> attribute -> (ONNX attribute kind, value check). Attributes not listed are ignored
# (older exporters add some, e.g. BatchNormalization's `spatial`), except names picoq uses
# internally (INTERNAL), which a source model may not set.
ATTRS: dict[str, dict[str, tuple[str, Any]]] = {
    "Conv": {**_WINDOW, "group": _int(1, _BIG)},
    "ConvTranspose": {  # ops14: 1-D (lift_1d.py) and 2-D; groups and dilations: conv_transpose_ext.py
        **_WINDOW,
        "group": _int(1, _BIG),
        "output_padding": _ints(0, _BIG, (1, 2)),
        "output_shape": _ints(1, _BIG, (1, 2, 3, 4)),
    },
    "AveragePool": {**_WINDOW, "ceil_mode": _BOOL, "count_include_pad": _BOOL},
    "MaxPool": {**_WINDOW, "ceil_mode": _BOOL, "storage_order": _BOOL},
    "Gemm": {"alpha": _float(), "beta": _float(), "transA": _BOOL, "transB": _BOOL},
    "BatchNormalization": {"epsilon": _float(), "momentum": _float(), "training_mode": _int(0, 0)},
    "Clip": {"min": _float(True), "max": _float(True)},
    "LeakyRelu": {"alpha": _float()},
    "HardSigmoid": {"alpha": _float(), "beta": _float()},
    "ReduceMean": {"axes": _ints(-64, 63), "keepdims": _BOOL, "noop_with_empty_axes": _BOOL},
    "ReduceMax": {"axes": _ints(-64, 63), "keepdims": _BOOL, "noop_with_empty_axes": _BOOL},
    "ReduceSum": {"axes": _ints(-64, 63), "keepdims": _BOOL, "noop_with_empty_axes": _BOOL},
    "Flatten": {"axis": _AXIS},
    "Reshape": {"allowzero": _BOOL},
    "Squeeze": {"axes": _ints(-64, 63)},
    "Unsqueeze": {"axes": _ints(-64, 63)},
    "Transpose": {"perm": _ints(0, MAX_RANK - 1)},
    "Concat": {"axis": _AXIS},
    "Pad": {
        "mode": _enum("constant", "reflect", "edge", "wrap"),
        "pads": _ints(-_BIG, _BIG),
        "value": _float(),
    },
    "Softmax": {"axis": _AXIS},
    "LayerNormalization": {"axis": _AXIS, "epsilon": _float(), "stash_type": _int(1, 1)},
    "Dropout": {"ratio": _float(), "seed": _int(-(1 << 63), (1 << 63) - 1)},
    "Shape": {"start": _int(-64, 64), "end": _int(-64, 64)},
    "Gather": {"axis": _AXIS},
    "Cast": {"to": ("int", lambda v: None if v in _CAST_TO else f"must be one of {_CAST_TO}")},
    "Constant": {
        "value": ("tensor", None),
        "value_float": _float(),
        "value_floats": ("floats", lambda v: None if all(map(math.isfinite, v)) else "must be finite"),
        "value_int": _int(-(1 << 63), (1 << 63) - 1),
        "value_ints": ("ints", None),
    },
    "ConstantOfShape": {"value": ("tensor", None)},
    "DepthToSpace": {"blocksize": _int(1, 1 << 16), "mode": _enum("DCR", "CRD")},
    "LSTM": _RECURRENT,
    "GRU": {**_RECURRENT, "linear_before_reset": _BOOL},
    "SpaceToDepth": {"blocksize": _int(1, 1 << 16)},
}
REQUIRED_ATTRS = {
    "AveragePool": ("kernel_shape",),
    "MaxPool": ("kernel_shape",),
    "Concat": ("axis",),
    "Cast": ("to",),
    "DepthToSpace": ("blocksize",),
    "LSTM": ("hidden_size",),
    "GRU": ("hidden_size",),
    "SpaceToDepth": ("blocksize",),
}
INTERNAL = ("clamp",)  # set by the passes (fgraph.py); also any name starting with "_"

_KINDS = {1: "float", 2: "int", 3: "string", 4: "tensor", 6: "floats", 7: "ints", 8: "strings"}
_UNREAD = {5: "a subgraph", 10: "subgraphs", 11: "a sparse tensor", 12: "sparse tensors", 13: "a type",
           14: "types", 9: "tensors", 0: "no type"}  # fmt: skip


def node_attrs(node: Any, where: str, problems: list[str]) -> dict[str, Any] | None:
    """A node's attributes as Python values, checked against ATTRS; None with problems if bad."""
    out: dict[str, Any] = {}
    schema = ATTRS.get(node.op_type, {})
    ok = True
    for a in node.attribute:
        what = f"{where}: attribute {a.name!r}"
        if a.name in out:
            problems.append(f"{what} is given twice")
            ok = False
            continue
        if a.ref_attr_name:
            problems.append(f"{what} refers to a function attribute ({a.ref_attr_name!r})")
            ok = False
            continue
        if a.name in INTERNAL or a.name.startswith("_"):
            problems.append(f"{what} is not an ONNX attribute of {node.op_type}")
            ok = False
            continue
        kind = _KINDS.get(a.type)
        if kind is None:
            problems.append(
                f"{what} holds {_UNREAD.get(a.type, f'type {a.type}')}, which picoq does not read"
            )
            ok = False
            continue
        if kind == "float":
            v: Any = float(a.f)
        elif kind == "int":
            v = int(a.i)
        elif kind == "string":
            v = a.s.decode("utf-8", "replace")
        elif kind == "floats":
            v = [float(x) for x in a.floats]
        elif kind == "ints":
            v = [int(x) for x in a.ints]
        elif kind == "strings":
            v = [x.decode("utf-8", "replace") for x in a.strings]
        else:
            v = tensor_array(a.t, what, problems)
            if v is None:
                ok = False
                continue
        rule = schema.get(a.name)
        if rule is not None:
            want, check = rule
            if kind != want:
                problems.append(f"{what} must be {want}, not {kind}")
                ok = False
                continue
            why = check(v) if check is not None else None
            if why:
                problems.append(f"{what} = {_short(v)}: {why}")
                ok = False
                continue
        out[a.name] = v
    for name in REQUIRED_ATTRS.get(node.op_type, ()):
        if ok and name not in out:
            problems.append(f"{where}: attribute {name!r} is required")
            ok = False
    if node.op_type == "Constant" and ok:
        given = [k for k in out if k in ATTRS["Constant"]]
        if len(given) != 1:
            problems.append(f"{where}: needs exactly one value attribute, has {given or 'none'}")
            ok = False
    return out if ok else None


def _short(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 60 else s[:57] + "..."


# *** inputs and outputs ***

_INF = 1 << 30
# op -> (inputs required, inputs at most, outputs computed); counted after legacy attributes
# became inputs (onnx_rules normalize). Outputs past the computed ones must be unused.
ARITY: dict[str, tuple[int, int, int]] = {
    "Conv": (2, 3, 1),
    "ConvTranspose": (2, 3, 1),  # ops14
    "Gemm": (2, 3, 1),
    "MatMul": (2, 2, 1),
    "PRelu": (2, 2, 1),
    "BatchNormalization": (5, 5, 1),
    "Clip": (1, 3, 1),
    "Add": (2, 2, 1),
    "Sub": (2, 2, 1),
    "Mul": (2, 2, 1),
    "Div": (2, 2, 1),
    "ReduceMean": (1, 2, 1),
    "ReduceMax": (1, 2, 1),
    "ReduceSum": (1, 2, 1),
    "Reshape": (2, 2, 1),
    "Squeeze": (1, 2, 1),
    "Unsqueeze": (2, 2, 1),
    "Concat": (1, _INF, 1),
    "Pad": (2, 4, 1),
    "Dropout": (1, 3, 2),
    "Constant": (0, 0, 1),
    "Gather": (2, 2, 1),
    "Slice": (3, 5, 1),
    "LayerNormalization": (1, 3, 1),
    "ConstantOfShape": (1, 1, 1),
    "Range": (3, 3, 1),
    "Expand": (2, 2, 1),
    "LSTM": (3, 8, 3),
    "GRU": (3, 6, 2),
}
_UNARY = (1, 1, 1)


def check_arity(op: str, inputs: list[str], outputs: list[str], where: str, read: set[str]) -> str | None:
    need, most, computed = ARITY.get(op, _UNARY)
    if len(inputs) < need or len(inputs) > most:
        span = str(need) if need == most else f"{need} to {most}" if most < _INF else f"at least {need}"
        return f"{where}: has {len(inputs)} inputs; {op} takes {span}"
    empty = [k for k in range(need) if not inputs[k]]
    if empty:
        return f"{where}: input {empty[0]} is empty; {op} needs it"
    if not outputs or not outputs[0]:
        return f"{where}: has no output"
    extra = [o for o in outputs[computed:] if o and o in read]
    if extra:
        return f"{where}: output {extra[0]!r} is read, but picoq computes only {op}'s first {computed}"
    return None


def _strings(m: Any):
    """(what, value) of every name-like string field picoq reads from the model."""
    g = m.graph
    yield "the graph name", g.name
    for o in m.opset_import:
        yield "an opset domain", o.domain
    for what, vis in (("graph input", g.input), ("graph output", g.output)):
        for v in vis:
            yield what, v.name
            for d in v.type.tensor_type.shape.dim:
                yield f"{what} dimension", d.dim_param
    for t in g.initializer:
        yield "initializer", t.name
    for k, n in enumerate(g.node):
        for s in (n.name, n.op_type, n.domain, *n.input, *n.output):
            yield f"node {k}", s
        for a in n.attribute:
            yield f"node {k} attribute", a.name
            yield f"node {k} attribute", a.ref_attr_name


def check_strings(m: Any) -> None:
    """Names must be text: protobuf hands a string field that is not valid UTF-8 over as bytes."""
    for what, s in _strings(m):
        if not isinstance(s, str):
            raise ConversionError([f"{what}: name {bytes(s)[:40]!r} is not valid UTF-8"])


def check_graph(g: Any, consts: set[str], problems: list[str]) -> None:
    """Tensor names: unique writers, no node overwriting a graph input or an initializer."""
    inputs = [vi.name for vi in g.input if vi.name not in consts]
    if not inputs:
        problems.append("the graph has no inputs (besides initializers): picoq models take an input")
    if len(set(inputs)) != len(inputs):
        problems.append(f"graph inputs {sorted({n for n in inputs if inputs.count(n) > 1})} are listed twice")
    if any(not n for n in inputs):
        problems.append("a graph input has no name")
    if not len(g.output):
        problems.append("the graph has no outputs")
    if any(not o.name for o in g.output):
        problems.append("a graph output has no name")
    inits = [t.name for t in g.initializer]
    if len(set(inits)) != len(inits):
        problems.append(f"initializers {sorted({n for n in inits if inits.count(n) > 1})} are given twice")
    if any(not n for n in inits):
        problems.append("an initializer has no name")
    names = [("the graph", g.name), *(("graph input", v.name) for v in g.input)]
    names += [("graph output", v.name) for v in g.output] + [("initializer", t.name) for t in g.initializer]
    names += [(f"node {k}", s) for k, n in enumerate(g.node) for s in (n.name, *n.input, *n.output)]
    for what, name in names:
        if len(name.encode("utf-8", "replace")) > MAX_NAME_BYTES:
            problems.append(f"{what}: name {name[:40]!r}... is longer than picoq's {MAX_NAME_BYTES} bytes")
            break
    written: dict[str, str] = {n: "a graph input" for n in inputs}
    written.update({n: "an initializer" for n in inits})
    for k, n in enumerate(g.node):
        where = f"node {n.name or f'{n.op_type}_{k}'!r} ({n.op_type})"
        for o in n.output:
            if not o:
                continue
            if o in written:
                problems.append(f"{where}: writes {o!r}, which is already {written[o]}")
            else:
                written[o] = where


# *** sizes, before a node runs ***


def _count(shape) -> int:
    return math.prod(int(d) for d in shape)


def _too_big(where: str, what: str, shape) -> str | None:
    n = _count(shape)
    if n > MAX_ELEMENTS:
        return f"{where}: {what} would have shape {tuple(shape)} ({n} elements): more than picoq's {MAX_ELEMENTS}"
    return None


def _axis_ok(where: str, name: str, v: int, rank: int) -> str | None:
    if not -rank <= v < rank:
        return f"{where}: {name} {v} is out of range for a rank-{rank} input"
    return None


def _values(a: np.ndarray | None) -> list[int] | None:
    """The integer values of a small 1-D constant (a shape, pads, axes), or None if they are not integers."""
    if a is None or a.dtype.kind not in "iub" or a.ndim > 1:
        return None
    return [int(v) for v in a.reshape(-1)]


def check_node(node: Any, ins: list[np.ndarray | None]) -> str | None:
    """What is wrong with running `node` on inputs `ins` (arrays, None for absent), or None:
    attribute values that depend on the input rank, and outputs past MAX_ELEMENTS."""
    op, a, w = node.op, node.attrs, node.where
    x = ins[0] if ins else None
    rank = x.ndim if x is not None else 0
    if op in ("Add", "Sub", "Mul", "Div"):
        try:
            shape = np.broadcast_shapes(ins[0].shape, ins[1].shape)
        except ValueError:
            return f"{w}: inputs of shapes {ins[0].shape} and {ins[1].shape} do not broadcast"
        return _too_big(w, "the output", shape)
    if op in ("Conv", "AveragePool", "MaxPool"):
        return _check_window(node, ins)
    if op == "Clip" and any(v is not None and v.size != 1 for v in ins[1:]):
        shapes = [v.shape for v in ins[1:] if v is not None]
        return f"{w}: min and max must be scalars, not of shapes {shapes}"
    if op == "BatchNormalization":
        c = x.shape[1] if rank >= 2 else None
        bad = [k for k, v in zip(("scale", "B", "mean", "var"), ins[1:5]) if v is None or v.shape != (c,)]
        if c is None or bad:
            return f"{w}: {', '.join(bad) or 'the input'} must be 1-D of the input's {c} channels (input {x.shape})"
    if op == "GlobalAveragePool" and rank < 3:
        return f"{w}: needs an (N, C, spatial...) input, not shape {x.shape}"
    if op in ("Gemm", "MatMul"):
        if ins[0].ndim < 1 or ins[1].ndim < 1:
            return f"{w}: inputs must have at least one dimension"
        if op == "Gemm" and (ins[0].ndim != 2 or ins[1].ndim != 2):
            return f"{w}: Gemm takes 2-D inputs, not {ins[0].shape} and {ins[1].shape}"
        if op == "Gemm":
            ka, kb = ins[0].shape[1 - a.get("transA", 0)], ins[1].shape[a.get("transB", 0)]
        else:
            ka, kb = ins[0].shape[-1], ins[1].shape[-2 if ins[1].ndim > 1 else 0]
        if ka != kb:
            return f"{w}: inputs of shapes {ins[0].shape} and {ins[1].shape} do not multiply ({ka} != {kb})"
        if op == "Gemm":
            m_n = (ins[0].shape[a.get("transA", 0)], ins[1].shape[1 - a.get("transB", 0)])
            c = ins[2].shape if len(ins) > 2 and ins[2] is not None else ()
            if len(c) > 2 or any(d not in (1, t) for d, t in zip(c[::-1], m_n[::-1])):
                return f"{w}: C of shape {c} does not broadcast to the output {m_n}"
            return _too_big(w, "the output", m_n)
        try:
            shape = np.broadcast_shapes(ins[0].shape[:-2], ins[1].shape[:-2])
        except ValueError:
            return f"{w}: inputs of shapes {ins[0].shape} and {ins[1].shape} do not broadcast"
        # (..., M, K) @ (..., K, N) -> (..., M, N); a 1-D side contributes no M or N
        m = ins[0].shape[-2:-1] if ins[0].ndim > 1 else ()
        n = ins[1].shape[-1:] if ins[1].ndim > 1 else ()
        return _too_big(w, "the output", (*shape, *m, *n))
    if op in ("Softmax", "LayerNormalization", "Flatten", "Concat", "Gather") and "axis" in a:
        r = rank
        if op == "Flatten" and a["axis"] == rank:  # Flatten's axis may equal the rank
            r = rank + 1
        if op == "Concat":
            ranks = {i.ndim for i in ins if i is not None}
            if len(ranks) != 1:
                return f"{w}: inputs of different ranks {sorted(ranks)}"
        bad = _axis_ok(w, "axis", a["axis"], max(r, 1))
        if bad:
            return bad
    if op == "Transpose" and "perm" in a and sorted(a["perm"]) != list(range(rank)):
        return f"{w}: perm {a['perm']} is not a permutation of the input's {rank} axes"
    if op == "Gather" and ins[1] is not None:
        if ins[1].dtype.kind not in "iu":
            return f"{w}: indices of type {ins[1].dtype} are not integers"
        ax = a.get("axis", 0) % max(rank, 1)
        return _too_big(w, "the output", (*x.shape[:ax], *ins[1].shape, *x.shape[ax + 1 :]))
    if op in ("ConstantOfShape", "Expand"):
        s = _values(ins[-1])
        if s is None or any(d < 0 for d in s) or len(s) > MAX_RANK:
            return f"{w}: the shape input must be at most {MAX_RANK} non-negative integers"
        if op == "Expand":
            try:
                s = list(np.broadcast_shapes(x.shape, tuple(s)))
            except ValueError:
                return f"{w}: cannot expand shape {x.shape} to {tuple(s)}"
        return _too_big(w, "the output", s)
    if op == "Range":
        try:
            start, limit, delta = (float(v.reshape(())) for v in ins)
        except (ValueError, TypeError, AttributeError):
            return f"{w}: start, limit and delta must be scalars"
        if not all(map(math.isfinite, (start, limit, delta))) or delta == 0:
            return f"{w}: start, limit and delta must be finite, delta non-zero"
        return _too_big(w, "the output", (max(math.ceil((limit - start) / delta), 0),))
    if op == "Pad":
        return _check_pad(node, ins)
    if (
        op in ("Squeeze", "Unsqueeze", "ReduceMean", "ReduceMax", "ReduceSum")
        and len(ins) > 1
        and ins[1] is not None
    ):
        axes = _values(ins[1])
        r = rank + (ins[1].size if op == "Unsqueeze" else 0)
        if (
            axes is None
            or any(_axis_ok(w, "axis", v, max(r, 1)) for v in axes)
            or len(set(axes)) != len(axes)
        ):
            return f"{w}: axes {ins[1].reshape(-1).tolist()} are not distinct axes of a rank-{r} tensor"
    if op == "Reshape" and ins[1] is not None:
        s = _values(ins[1])
        if s is None or s.count(-1) > 1 or any(v < -1 for v in s) or len(s) > MAX_RANK:
            return f"{w}: the shape input must be integers >= -1 (one -1 at most), at most {MAX_RANK} of them"
    if op == "Slice":
        if any(v is not None and _values(v) is None for v in ins[1:]):
            return f"{w}: starts, ends, axes and steps must be 1-D integer constants"
        steps = _values(ins[4]) if len(ins) > 4 else None
        if steps and 0 in steps:
            return f"{w}: a step of 0"
    return None


def _check_window(node: Any, ins: list[np.ndarray | None]) -> str | None:
    from .float_ops import window_out, window_pads

    a, w = node.attrs, node.where
    x = ins[0]
    if x.ndim != 4:
        what = "convolutions" if node.op == "Conv" else "pools"
        return f"{w}: only 2-D {what} (4-D input) are supported, not an input of shape {x.shape}"
    if min(x.shape) < 1:
        return f"{w}: an empty input of shape {x.shape}"
    for key, n in WINDOW_LENGTHS.items():
        if key in a and len(a[key]) != n:
            return f"{w}: attribute {key!r} = {list(a[key])}: a 2-D window needs {n} values"
    if node.op == "Conv":
        wt = ins[1]
        if wt is None or wt.ndim != 4 or min(wt.shape) < 1:
            return f"{w}: needs non-empty 4-D weights (M, C/group, kH, kW)"
        m, cg, kh, kw = wt.shape
        group = a.get("group", 1)
        if cg * group != x.shape[1] or m % group or m == 0:
            return f"{w}: weights {wt.shape} with group {group} do not fit an input of {x.shape[1]} channels"
        if len(ins) > 2 and ins[2] is not None and ins[2].shape != (m,):
            return f"{w}: bias of shape {ins[2].shape}; {m} output channels need ({m},)"
        if "kernel_shape" in a and tuple(a["kernel_shape"]) != (kh, kw):
            return f"{w}: kernel_shape {a['kernel_shape']} differs from the weights' {(kh, kw)}"
    else:
        kh, kw = a["kernel_shape"]
        m = x.shape[1]
    strides, dil = a.get("strides", (1, 1)), a.get("dilations", (1, 1))
    pads = window_pads(a, x.shape[2:], (kh, kw), strides, dil)
    padded = (x.shape[0], x.shape[1], x.shape[2] + pads[0] + pads[2], x.shape[3] + pads[1] + pads[3])
    bad = _too_big(w, "the padded input", padded)
    if bad:
        return bad
    out = [
        window_out(
            x.shape[2 + i], (kh, kw)[i], strides[i], dil[i], pads[i], pads[i + 2], bool(a.get("ceil_mode", 0))
        )
        for i in range(2)
    ]
    if min(out) < 1:
        return f"{w}: the window {(kh, kw)} (dilations {tuple(dil)}) is larger than the padded input {padded[2:]}"
    bad = _too_big(w, "the output", (x.shape[0], m, *out))
    if bad:
        return bad
    if node.op == "Conv" and _count((x.shape[0], x.shape[1], *out, kh, kw)) > MAX_CONV_WORK:
        return f"{w}: {(kh, kw)} windows over a {x.shape} input are more work than picoq converts"
    return None


def _check_pad(node: Any, ins: list[np.ndarray | None]) -> str | None:
    w, x = node.where, ins[0]
    pads = _values(ins[1])
    axes = _values(ins[3]) if len(ins) > 3 and ins[3] is not None else list(range(x.ndim))
    if pads is None or axes is None:
        return f"{w}: pads and axes must be integer constants"
    if len(pads) != 2 * len(axes) or any(not -x.ndim <= v < x.ndim for v in axes):
        return f"{w}: {len(pads)} pads for axes {axes} of a rank-{x.ndim} input"
    shape = list(x.shape)
    for i, ax in enumerate(axes):
        shape[ax % x.ndim] += pads[i] + pads[i + len(axes)]
    if min(shape, default=1) < 0:
        return f"{w}: pads {pads} crop more than the input {x.shape} holds"
    mode = node.attrs.get("mode", "constant")
    if mode != "constant" and any(p > d - (mode == "reflect") for p, d in _mode_limits(pads, axes, x.shape)):
        return f"{w}: {mode} pads {pads} are wider than the input {x.shape}"
    return _too_big(w, "the output", shape)


def _mode_limits(pads, axes, shape):
    k = len(axes)
    for i, ax in enumerate(axes):
        d = shape[ax % len(shape)]
        yield pads[i], d
        yield pads[i + k], d


def check_output(node: Any, outs: list[Any]) -> str | None:
    """After a node ran: every output a numpy array within the size and rank limits."""
    for name, v in zip(node.outputs, outs):
        if not isinstance(v, np.ndarray | np.generic):
            return f"{node.where}: output {name!r} is not a tensor"
        if v.ndim > MAX_RANK:
            return f"{node.where}: output {name!r} has {v.ndim} dimensions, more than {MAX_RANK}"
        bad = _too_big(node.where, f"output {name!r}", v.shape)
        if bad:
            return bad
    return None


def node_macs(node: Any, ins: list[np.ndarray | None]) -> int:
    """Multiply-accumulates of a Conv, Gemm or MatMul node (after check_node passed it), else 0."""
    from .float_ops import window_out, window_pads

    if node.op == "Conv":
        x, wt = ins[0], ins[1]
        a = node.attrs
        m, cg, kh, kw = wt.shape
        strides, dil = a.get("strides", (1, 1)), a.get("dilations", (1, 1))
        pads = window_pads(a, x.shape[2:], (kh, kw), strides, dil)
        oh, ow = (
            window_out(x.shape[2 + i], (kh, kw)[i], strides[i], dil[i], pads[i], pads[i + 2])
            for i in range(2)
        )
        return x.shape[0] * m * oh * ow * cg * kh * kw
    if node.op in ("Gemm", "MatMul"):
        a, b = ins[0], ins[1]
        if node.op == "Gemm":
            return _count(a.shape) * b.shape[1 - node.attrs.get("transB", 0)]
        return _count(np.broadcast_shapes(a.shape[:-2], b.shape[:-2])) * _count(a.shape[-2:]) * b.shape[-1]
    return 0
