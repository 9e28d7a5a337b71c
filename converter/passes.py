"""Rewrites of a FloatGraph that keep what it computes (up to float rounding).

run_passes applies, in order:
  remove_identities   Identity, Dropout and float->float Cast become aliases
  fold_constants      nodes whose inputs are all constant (and Shape of a static shape) are evaluated
  expand_edge_pads    reflect / edge Pad -> one-wide Slices and a Concat per padded axis (pad_modes.py)
  mark_additive_masks an attention mask's -inf entries (Add before a Softmax) -> a finite placeholder (masks.py)
  fuse_layer_norms    a layer norm spelled out in ReduceMean/Sub/Pow/Sqrt/Div/Mul/Add -> LayerNormalization (norms.py)
  canonicalize        Split -> Slices; Gemm/MatMul with constant weights -> pq.Dense; BatchNormalization, HardSigmoid and
                      Add/Sub/Mul/Div by a per-channel or scalar constant -> pq.Affine; Sub of two
                      activations -> Add of a negated one; spatial ReduceMean -> GlobalAveragePool
  hoist_elementwise   a per-element op (activation, pq.Affine) after a Transpose, Squeeze or Unsqueeze moves
                      before it, so that it can fold into the conv before (tf2onnx-style NHWC graphs,
                      lifted 1-D convs)
  fold_affine         a pq.Affine after a Conv, ConvTranspose, pq.Dense or pq.Affine folds into its weights
                      and bias (this is where BatchNorm folds into the preceding conv/gemm)
  fuse_activations    Relu/Clip fold into the preceding op's clamp; a leftover one becomes a pq.Affine
  expand_conv_transposes  grouped / dilated ConvTranspose -> group-1, dilation-1 ones (conv_transpose_ext.py)
  split_wide_concats  a Concat of more inputs than one CONCATENATION takes -> a tree of Concats (an
                      LSTM's Y over more than 64 steps, many groups)
  fuse_tables         an element-wise group of one input (GELU, SiLU, erf, ...) -> one pq.Table (tables.py)
  fold_pad            a zero Pad before a Conv becomes the Conv's padding
  cancel_reshapes     back-to-back Squeeze/Unsqueeze/Reshape/Flatten become one (or none)
  remove_dead         nodes nothing reads
"""

from __future__ import annotations

import numpy as np

from picoq.runtime.format import MAX_CONCAT_INPUTS

from . import float_ops
from .conv_transpose_ext import expand_conv_transposes
from .fgraph import FloatGraph, Node
from .float_run import run_node
from .foreign_ops import PROTO, ForeignOpError
from .masks import mark_additive_masks
from .norms import fuse_layer_norms
from .onnx_rules import RULES
from .pad_modes import expand_edge_pads
from .resize import as_resize_bilinear, as_resize_nearest
from .tables import fuse_tables

CLAMPABLE = {op for op, rule in RULES.items() if rule.clampable}
ELEMENTWISE = {op for op, rule in RULES.items() if rule.elementwise}


def run_passes(graph: FloatGraph) -> FloatGraph:
    remove_identities(graph)
    fold_constants(graph)
    expand_edge_pads(graph)
    mark_additive_masks(graph)
    fuse_layer_norms(graph)
    canonicalize(graph)
    hoist_elementwise(graph)
    fold_affine(graph)
    fuse_activations(graph)
    fold_affine(graph)
    expand_conv_transposes(graph)
    split_wide_concats(graph)
    fuse_tables(graph)
    fold_pad(graph)
    cancel_reshapes(graph)
    remove_dead(graph)
    return graph


# *** helpers ***


def _alias(graph: FloatGraph, src: str, dst: str) -> None:
    """Make `dst` (a node output being removed) the same tensor as `src`."""
    producers = graph.producers()
    if dst in graph.outputs and src in producers and src not in graph.outputs and src not in graph.inputs:
        graph.rename(src, dst)  # keep the graph output's name
    else:
        graph.replace_uses(dst, src)
        if src in graph.shapes and dst in graph.shapes:
            graph.shapes.pop(dst)


def _single_use(graph: FloatGraph, name: str) -> bool:
    return graph.uses(name) == 1 and name not in graph.outputs and name not in graph.inputs


def _new_const(graph: FloatGraph, base: str, value: np.ndarray) -> str:
    name = graph.fresh(base)
    graph.consts[name] = np.ascontiguousarray(value)
    return name


def _per_axis(c: np.ndarray, x_shape: tuple[int, ...]) -> tuple[int | None, np.ndarray] | None:
    """If constant `c` broadcast against x varies along at most one axis of x (and does not
    grow x), return (that axis or None for a scalar, the values along it)."""
    if c.ndim > len(x_shape):
        return None
    shape = (1,) * (len(x_shape) - c.ndim) + c.shape
    if any(d not in (1, xd) for d, xd in zip(shape, x_shape)):
        return None
    varying = [i for i, d in enumerate(shape) if d != 1]
    if not varying:
        return None, c.reshape(1).astype(np.float32)
    if len(varying) > 1:
        return None
    return varying[0], c.reshape(-1).astype(np.float32)


# *** passes ***


def remove_identities(graph: FloatGraph) -> None:
    for node in list(graph.nodes):
        is_alias = node.op in ("Identity", "Dropout") or (
            node.op == "Cast" and node.attrs.get("to") == 1 and not graph.is_const(node.inputs[0])
        )
        if not is_alias:
            continue
        if node.op == "Dropout" and len(node.outputs) > 1 and node.outputs[1] and graph.uses(node.outputs[1]):
            continue  # the mask is used: leave it to fold_constants/remove_dead
        graph.nodes.remove(node)
        _alias(graph, node.inputs[0], node.outputs[0])


def fold_constants(graph: FloatGraph) -> None:
    """Evaluate every node whose inputs are all constant, whatever its op type (unknown ones
    through foreign_ops)."""
    for node in list(graph.nodes):
        try:
            if node.op == "Shape" and node.inputs[0] in graph.shapes:
                dummy = np.zeros(graph.shapes[node.inputs[0]], np.float32)
                outs = run_node(node, [dummy])
            elif all(not i or graph.is_const(i) for i in node.inputs):
                outs = run_node(node, [graph.const(i) for i in node.inputs])
            else:
                continue  # shape arithmetic left on activations: the lowering check names it
        except ForeignOpError:
            continue  # stays, and the lowering check names it
        graph.nodes.remove(node)
        for name, v in zip(node.outputs, outs):
            if name:
                graph.consts[name] = v
                graph.shapes[name] = tuple(v.shape)


def _affine_node(graph: FloatGraph, node: Node, x: str, axis, scale, shift, clamp=None) -> Node:
    rank = len(graph.shapes[x])
    s = _new_const(graph, f"{node.name}/scale", np.asarray(scale, np.float32).reshape(-1))
    t = _new_const(graph, f"{node.name}/shift", np.asarray(shift, np.float32).reshape(-1))
    attrs = {"axis": None if axis is None else axis % rank}
    if clamp is not None:
        attrs["clamp"] = clamp
    return Node("pq.Affine", [x, s, t], list(node.outputs[:1]), attrs, node.name)


def canonicalize(graph: FloatGraph) -> None:
    out: list[Node] = []
    for node in graph.nodes:
        new = _canonical(graph, node)
        out.extend(new if new is not None else [node])
    graph.nodes = out


def _canonical(graph: FloatGraph, node: Node) -> list[Node] | None:
    op, a, ins = node.op, node.attrs, node.inputs
    if op == "Gemm" and graph.is_const(ins[1]) and not a.get("transA", 0) and len(graph.shapes[ins[0]]) == 2:
        b = graph.consts[ins[1]].astype(np.float32)
        w = (b if a.get("transB", 0) else b.T) * np.float32(a.get("alpha", 1.0))
        new_ins = [ins[0], _new_const(graph, f"{node.name}/weights", w)]
        if len(ins) > 2 and ins[2]:
            c = graph.const(ins[2])
            if c is None or c.size not in (1, w.shape[0]) or c.ndim > 2 or c.ndim == 2 and c.shape[0] != 1:
                return None  # not one bias per output column (a C of shape (n, 1) adds per row)
            bias = np.broadcast_to(c.reshape(-1), (w.shape[0],)) * np.float32(a.get("beta", 1.0))
            new_ins.append(_new_const(graph, f"{node.name}/bias", bias.astype(np.float32)))
        return [Node("pq.Dense", new_ins, node.outputs, {}, node.name)]
    if op == "MatMul" and graph.is_const(ins[1]) and graph.consts[ins[1]].ndim == 2:
        w = graph.consts[ins[1]].astype(np.float32).T
        return [
            Node(
                "pq.Dense",
                [ins[0], _new_const(graph, f"{node.name}/weights", w)],
                node.outputs,
                {},
                node.name,
            )
        ]
    if op == "BatchNormalization" and all(graph.is_const(i) for i in ins[1:5]):
        gamma, beta, mean, var = (graph.consts[i].astype(np.float64) for i in ins[1:5])
        k = gamma / np.sqrt(var + a.get("epsilon", 1e-5))
        return [_affine_node(graph, node, ins[0], 1, k, beta - mean * k)]
    if op == "PRelu" and graph.is_const(ins[1]) and np.unique(graph.consts[ins[1]]).size == 1:
        return [
            Node(
                "LeakyRelu", [ins[0]], node.outputs, {"alpha": float(graph.consts[ins[1]].flat[0])}, node.name
            )
        ]
    if op == "HardSigmoid":
        return [_affine_node(graph, node, ins[0], None, a.get("alpha", 0.2), a.get("beta", 0.5), (0.0, 1.0))]
    if op == "ReduceMean" and len(graph.shapes[ins[0]]) == 4:
        axes = graph.const(ins[1]) if len(ins) > 1 else None
        if axes is not None and sorted(int(v) % 4 for v in axes) == [2, 3]:
            if a.get("keepdims", 1):
                return [Node("GlobalAveragePool", [ins[0]], node.outputs, {}, node.name)]
            mid = graph.fresh(node.outputs[0] + "/pooled")
            n, c = graph.shapes[ins[0]][:2]
            graph.shapes[mid] = (n, c, 1, 1)
            shape = _new_const(graph, f"{node.name}/shape", np.array([n, c], np.int64))
            return [
                Node("GlobalAveragePool", [ins[0]], [mid], {}, node.name),
                Node("Reshape", [mid, shape], node.outputs, {}, node.name + "/squeeze"),
            ]
    if op in ("Add", "Sub", "Mul", "Div"):
        return _canonical_binary(graph, node)
    if op == "Split" and PROTO in a:  # an op picoq has no row for: one Slice per output
        return _split_as_slices(graph, node)
    if (
        op in ("Resize", "Upsample") and PROTO in a
    ):  # nearest: index tables; linear: weight tables (resize.py)
        return as_resize_nearest(graph, node) or as_resize_bilinear(graph, node)
    return None


def _split_as_slices(graph: FloatGraph, node: Node) -> list[Node]:
    """Split (any opset's form) -> one Slice per output; the sizes are the outputs' shapes."""
    x = node.inputs[0]
    rank = len(graph.shapes[x])
    axis = next((int(at.i) for at in node.attrs[PROTO].attribute if at.name == "axis"), 0) % rank
    out, start = [], 0
    for k, y in enumerate(node.outputs):
        size = graph.shapes[y][axis]
        bounds = [_new_const(graph, f"{node.name}/{k}/{w}", np.array([v], np.int64)) for w, v in
                  (("starts", start), ("ends", start + size), ("axes", axis))]  # fmt: skip
        out.append(Node("Slice", [x, *bounds], [y], {}, f"{node.name}/{k}"))
        start += size
    return out


def _canonical_binary(graph: FloatGraph, node: Node) -> list[Node] | None:
    op, (a, b) = node.op, node.inputs[:2]
    ca, cb = graph.const(a), graph.const(b)
    y_shape = graph.shapes[node.outputs[0]]
    if ca is None and cb is None:
        if op == "Sub":  # a - b = a + (-1 * b)
            neg = graph.fresh(b + "/neg")
            graph.shapes[neg] = graph.shapes[b]
            n1 = _affine_node(graph, Node("Sub", [], [neg], {}, node.name + "/neg"), b, None, -1.0, 0.0)
            return [n1, Node("Add", [a, neg], node.outputs, {}, node.name)]
        return None
    x, c, const_first = (b, ca, True) if ca is not None else (a, cb, False)
    if graph.shapes[x] != y_shape:  # the constant broadcasts the activation up: keep the op
        return None
    c = c.astype(np.float32)
    per = _per_axis(c, y_shape)
    if per is not None:
        axis, v = per
        one, zero = np.ones_like(v), np.zeros_like(v)
        if op == "Add":
            return [_affine_node(graph, node, x, axis, one, v)]
        if op == "Sub":
            return [
                _affine_node(graph, node, x, axis, -one, v)
                if const_first
                else _affine_node(graph, node, x, axis, one, -v)
            ]
        if op == "Mul":
            return [_affine_node(graph, node, x, axis, v, zero)]
        if op == "Div" and not const_first:
            return [_affine_node(graph, node, x, axis, 1.0 / v, zero)]
        return None
    if op == "Sub" and not const_first:
        return [Node("Add", [a, _new_const(graph, f"{node.name}/neg", -c)], node.outputs, {}, node.name)]
    if op == "Div" and not const_first:
        return [
            Node("Mul", [a, _new_const(graph, f"{node.name}/recip", 1.0 / c)], node.outputs, {}, node.name)
        ]
    return None


def _unit_axes_map(x_shape: tuple[int, ...], y_shape: tuple[int, ...]) -> dict[int, int] | None:
    """For a Squeeze/Unsqueeze (y is x with size-1 axes removed or inserted): each non-unit axis of
    y -> the same axis of x; None if the shapes differ otherwise."""
    xs = [i for i, d in enumerate(x_shape) if d != 1]
    ys = [i for i, d in enumerate(y_shape) if d != 1]
    if [x_shape[i] for i in xs] != [y_shape[i] for i in ys]:
        return None
    return dict(zip(ys, xs))


_BLOCK_MOVES = ("DepthToSpace", "SpaceToDepth")


def hoist_elementwise(graph: FloatGraph) -> None:
    """Transpose -> f  becomes  f -> Transpose  for per-element f (an Affine's axis follows), and
    the same over a Squeeze/Unsqueeze (a lifted 1-D conv's: lift_1d.py) and, for f without an
    axis, over DepthToSpace/SpaceToDepth (a pixel shuffle's Relu), so that BatchNorm and
    activations meet the conv they fold into."""
    changed = True
    while changed:
        changed = False
        producers = graph.producers()
        for k, node in enumerate(graph.nodes):
            if node.op not in ELEMENTWISE or not _single_use(graph, node.inputs[0]):
                continue
            t = producers.get(node.inputs[0])
            if t is None or t.op not in ("Transpose", "Squeeze", "Unsqueeze", *_BLOCK_MOVES):
                continue
            x, y = t.inputs[0], node.outputs[0]
            attrs = dict(node.attrs)
            axis = attrs.get("axis") if node.op == "pq.Affine" else None
            if t.op in _BLOCK_MOVES:
                if axis is not None:  # an output channel mixes several input channels' values
                    continue
            elif t.op == "Transpose":
                rank = len(graph.shapes[x])
                perm = list(t.attrs.get("perm", range(rank - 1, -1, -1)))
                if axis is not None:
                    attrs["axis"] = perm[axis]
            else:
                axes_map = _unit_axes_map(graph.shapes[x], graph.shapes[node.inputs[0]])
                if axes_map is None or (axis is not None and axis not in axes_map):
                    continue
                if axis is not None:
                    attrs["axis"] = axes_map[axis]
            mid = graph.fresh(y + f"/pre_{t.op.lower()}")
            graph.shapes[mid] = graph.shapes[x]
            graph.shapes.pop(node.inputs[0], None)
            moved = Node(node.op, [x, *node.inputs[1:]], [mid], attrs, node.name)
            after = Node(t.op, [mid, *t.inputs[1:]], [y], dict(t.attrs), t.name)
            i = graph.nodes.index(t)
            graph.nodes[i] = moved
            graph.nodes[k] = after
            changed = True
            break


def cancel_reshapes(graph: FloatGraph) -> None:
    """A Squeeze/Unsqueeze/Reshape/Flatten whose input comes from another one read nowhere else
    reads that one's input instead; one that then gives its input's own shape is an alias.
    (A lifted 1-D conv's Squeeze meets the next one's Unsqueeze: lift_1d.py.)"""
    reshapes = ("Squeeze", "Unsqueeze", "Reshape", "Flatten")
    changed = True
    while changed:
        changed = False
        producers = graph.producers()
        for node in graph.nodes:
            if node.op not in reshapes:
                continue
            p = producers.get(node.inputs[0])
            if p is not None and p.op in reshapes and _single_use(graph, node.inputs[0]):
                y = node.outputs[0]
                shape = _new_const(graph, f"{node.name}/shape", np.array(graph.shapes[y], np.int64))
                node.op, node.inputs, node.attrs = "Reshape", [p.inputs[0], shape], {}
                graph.nodes.remove(p)
                graph.shapes.pop(p.outputs[0], None)
                changed = True
                break
            x = node.inputs[0]
            if graph.shapes.get(x) == graph.shapes.get(node.outputs[0]) and not graph.is_const(x):
                graph.nodes.remove(node)
                _alias(graph, x, node.outputs[0])
                changed = True
                break


def fold_affine(graph: FloatGraph) -> None:
    changed = True
    while changed:
        changed = False
        producers = graph.producers()
        for node in list(graph.nodes):
            if node.op != "pq.Affine" or not _single_use(graph, node.inputs[0]):
                continue
            p = producers.get(node.inputs[0])
            if p is None or "clamp" in p.attrs or not _fold_one(graph, p, node):
                continue
            p.outputs = list(node.outputs)
            if "clamp" in node.attrs:
                p.attrs["clamp"] = node.attrs["clamp"]
            graph.nodes.remove(node)
            graph.shapes.pop(node.inputs[0], None)
            changed = True
            break


def _fold_one(graph: FloatGraph, p: Node, aff: Node) -> bool:
    """Fold aff (y = x*s + t along an axis) into producer p's constants; False if it cannot."""
    s, t = graph.consts[aff.inputs[1]].astype(np.float64), graph.consts[aff.inputs[2]].astype(np.float64)
    axis = aff.attrs.get("axis")
    rank = len(graph.shapes[aff.inputs[0]])
    if p.op in ("Conv", "pq.Dense"):
        channel_axis = 1 if p.op == "Conv" else rank - 1
        if axis is not None and axis != channel_axis and s.size * t.size > 1:
            return False
        w = graph.const(p.inputs[1])
        if w is None:
            return False
        m = w.shape[0]
        s_c, t_c = np.broadcast_to(s, (m,)), np.broadcast_to(t, (m,))
        b = graph.const(p.inputs[2]) if len(p.inputs) > 2 and p.inputs[2] else None
        b = np.zeros(m) if b is None else b.astype(np.float64)
        w_new = (w.astype(np.float64) * s_c.reshape((m,) + (1,) * (w.ndim - 1))).astype(np.float32)
        b_new = (b * s_c + t_c).astype(np.float32)
        p.inputs = [
            p.inputs[0],
            _new_const(graph, f"{p.name}/weights", w_new),
            _new_const(graph, f"{p.name}/bias", b_new),
        ]
        return True
    if p.op == "ConvTranspose":  # ops14: weights [Cin, Cout / group, kh, kw]
        return _fold_into_conv_transpose(graph, p, s, t, axis)
    if p.op == "pq.Affine":
        ax1 = p.attrs.get("axis")
        s1, t1 = graph.consts[p.inputs[1]].astype(np.float64), graph.consts[p.inputs[2]].astype(np.float64)
        vec1, vec2 = s1.size * t1.size > 1, s.size * t.size > 1
        if vec1 and vec2 and ax1 != axis:
            return False
        p.inputs = [
            p.inputs[0],
            _new_const(graph, f"{p.name}/scale", (s1 * s).astype(np.float32)),
            _new_const(graph, f"{p.name}/shift", (t1 * s + t).astype(np.float32)),
        ]
        p.attrs["axis"] = ax1 if vec1 else axis
        return True
    return False


def _fold_into_conv_transpose(graph: FloatGraph, p: Node, s: np.ndarray, t: np.ndarray, axis) -> bool:
    """Output channel o = g * M + j of a ConvTranspose comes from weights w[g's rows, j]: scale
    those, and the bias."""
    w = graph.const(p.inputs[1])
    has_bias = len(p.inputs) > 2 and bool(p.inputs[2])
    b = graph.const(p.inputs[2]) if has_bias else None
    if (
        w is None
        or w.ndim != 4
        or (has_bias and b is None)
        or (axis not in (None, 1) and s.size * t.size > 1)
    ):
        return False
    group = int(p.attrs.get("group", 1))
    cin, m = w.shape[:2]
    cout = m * group
    s_c, t_c = np.broadcast_to(s, (cout,)), np.broadcast_to(t, (cout,))
    w_new = w.astype(np.float64).reshape(group, cin // group, m, *w.shape[2:]) * s_c.reshape(
        group, 1, m, 1, 1
    )
    b = np.zeros(cout) if b is None else b.astype(np.float64)
    p.inputs = [
        p.inputs[0],
        _new_const(graph, f"{p.name}/weights", w_new.reshape(w.shape).astype(np.float32)),
        _new_const(graph, f"{p.name}/bias", (b * s_c + t_c).astype(np.float32)),
    ]
    return True


def _clamp_of(graph: FloatGraph, node: Node) -> tuple[float, float] | None:
    if node.op == "Relu":
        return 0.0, float("inf")
    lo = graph.const(node.inputs[1]) if len(node.inputs) > 1 and node.inputs[1] else np.array(-np.inf)
    hi = graph.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else np.array(np.inf)
    if lo is None or hi is None:
        return None
    return float(lo.reshape(-1)[0]), float(hi.reshape(-1)[0])


def fuse_activations(graph: FloatGraph) -> None:
    producers = graph.producers()
    removed: set[int] = set()
    for node in graph.nodes:
        if node.op not in ("Relu", "Clip"):
            continue
        clamp = _clamp_of(graph, node)
        if clamp is None:  # reported; the nodes after it are still checked as if it were not there
            graph.problems.append(f"{node.where}: min and max must be constants")
            removed.add(id(node))
            _alias(graph, node.inputs[0], node.outputs[0])
            continue
        x = node.inputs[0]
        p = producers.get(x)
        if p is not None and p.op in CLAMPABLE and _single_use(graph, x):
            lo0, hi0 = p.attrs.get("clamp", (-np.inf, np.inf))
            p.attrs["clamp"] = (max(lo0, clamp[0]), min(hi0, clamp[1]))
            p.outputs = [node.outputs[0], *p.outputs[1:]]
            producers[node.outputs[0]] = p
            graph.shapes.pop(x, None)
            removed.add(id(node))
        else:
            node.op, node.inputs, node.attrs = (
                "pq.Affine",
                [
                    x,
                    _new_const(graph, f"{node.name}/scale", np.ones(1, np.float32)),
                    _new_const(graph, f"{node.name}/shift", np.zeros(1, np.float32)),
                ],
                {"axis": None, "clamp": clamp},
            )
    graph.nodes = [n for n in graph.nodes if id(n) not in removed]


def fold_pad(graph: FloatGraph) -> None:
    consumers = graph.consumers()
    for node in list(graph.nodes):
        if node.op != "Pad" or node.attrs.get("mode", "constant") != "constant":
            continue
        y = node.outputs[0]
        users = consumers.get(y, [])
        if len(users) != 1 or users[0].op != "Conv" or users[0].inputs[0] != y or y in graph.outputs:
            continue
        pads = graph.const(node.inputs[1])
        value = graph.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
        axes = graph.const(node.inputs[3]) if len(node.inputs) > 3 and node.inputs[3] else None
        x_shape = graph.shapes[node.inputs[0]]
        if (
            pads is None
            or len(x_shape) != 4
            or (value is not None and value.size and float(value.reshape(-1)[0]) != 0)
        ):
            continue
        axes_l = list(range(4)) if axes is None else [int(v) % 4 for v in axes]
        k = len(axes_l)
        full = [0] * 8
        for i, ax in enumerate(axes_l):
            full[ax], full[ax + 4] = int(pads[i]), int(pads[i + k])
        if any(full[i] for i in (0, 1, 4, 5)) or min(full) < 0:
            continue
        conv = users[0]
        w = graph.const(conv.inputs[1])
        if w is None:
            continue
        a = conv.attrs
        strides, dil = a.get("strides", (1, 1)), a.get("dilations", (1, 1))
        t, left, b, r = float_ops.window_pads(a, graph.shapes[y][2:], w.shape[2:], strides, dil)
        a.pop("auto_pad", None)
        a["pads"] = [t + full[2], left + full[3], b + full[6], r + full[7]]
        conv.inputs = [node.inputs[0], *conv.inputs[1:]]
        graph.nodes.remove(node)
        graph.shapes.pop(y, None)


def split_wide_concats(graph: FloatGraph) -> None:
    """Concat of more than MAX_CONCAT_INPUTS inputs -> Concats of even chunks, then of the
    chunks (repeated while needed): the same values, and every part shares the output's
    quantization as one Concat's inputs do."""
    out: list[Node] = []
    for node in graph.nodes:
        parts = [i for i in node.inputs if i]
        if node.op != "Concat" or len(parts) <= MAX_CONCAT_INPUTS:
            out.append(node)
            continue
        y = node.outputs[0]
        axis = int(node.attrs["axis"]) % len(graph.shapes[y])
        k = 0
        while len(parts) > MAX_CONCAT_INPUTS:
            size = -(-len(parts) // -(-len(parts) // MAX_CONCAT_INPUTS))  # as even as can be
            chunks, parts = [parts[i : i + size] for i in range(0, len(parts), size)], []
            for chunk in chunks:
                yc = graph.fresh(f"{y}/chunk{k}")
                shape = list(graph.shapes[chunk[0]])
                shape[axis] = sum(graph.shapes[c][axis] for c in chunk)
                graph.shapes[yc] = tuple(shape)
                out.append(Node("Concat", chunk, [yc], {"axis": axis}, f"{node.name}/chunk{k}"))
                parts.append(yc)
                k += 1
        out.append(Node("Concat", parts, [y], {"axis": axis}, node.name))
    graph.nodes = out


def remove_dead(graph: FloatGraph) -> None:
    live = set(graph.outputs)
    kept: list[Node] = []
    for node in reversed(graph.nodes):
        if any(o in live for o in node.outputs if o):
            kept.append(node)
            live.update(i for i in node.inputs if i)
    graph.nodes = kept[::-1]
    graph.consts = {k: v for k, v in graph.consts.items() if k in live}
