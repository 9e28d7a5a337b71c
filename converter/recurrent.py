"""ONNX LSTM and GRU: their float definitions, and their unrolling into the ops picoq quantizes.

A recurrent layer runs T steps of a few matrix products and gates. picoq has no recurrent
kernel: `unroll_recurrent` rewrites each LSTM / GRU node, once shapes are known, into plain
ONNX nodes over the T steps of the (static) sequence:

- the input projection of every step at once: one Gemm [T, I] x W^T (+ the biases that
  are constant per step), so FULLY_CONNECTED runs it as one T-row product;
- per step: a Slice of that projection, the recurrent Gemm on h(t-1), Add, the gates
  (Slice, Sigmoid, Tanh), the cell / state updates (Mul, Add, Sub), and at the end the
  Concat of the h(t) into Y.

Every intermediate tensor then gets its own calibrated range like any other activation
(the cell state's too), which is what TFLM's integer LSTM does with its int16 gates and
cell; with `--activations int16` they all run 16x8. The first step with no initial state
skips the products of a zero h and c. Batch is 1, as everywhere in picoq (run() loops).

Supported: forward, reverse and bidirectional, layout 0 and 1, the default activations
(LSTM: Sigmoid, Tanh, Tanh; GRU: Sigmoid, Tanh), LSTM peepholes, clip, GRU's
linear_before_reset 0 and 1, initial states (constant or graph inputs), a constant
sequence_lens equal to T. Refused with a named problem: other activations, LSTM's
input_forget, variable sequence lengths.
"""

from __future__ import annotations

import re

import numpy as np

from .fgraph import FloatGraph, Node

F32 = np.float32


def _sigmoid(x):
    return (1.0 / (1.0 + np.exp(-x))).astype(F32)


def _dirs(node: Node) -> list[bool]:
    """Per direction, whether it runs backwards in time."""
    d = node.attrs.get("direction", "forward")
    return [False, True] if d == "bidirectional" else [d == "reverse"]


def _seq(node: Node, x: np.ndarray) -> np.ndarray:
    """x as [T, B, I] whatever the layout."""
    return np.swapaxes(x, 0, 1) if node.attrs.get("layout", 0) else x


def _clip(node: Node, v: np.ndarray) -> np.ndarray:
    c = node.attrs.get("clip")
    return np.clip(v, -c, c) if c is not None else v


def lstm(node: Node, x, w, r, b=None, seq_lens=None, h0=None, c0=None, p=None):
    """ONNX LSTM (gates i, o, f, c), default activations: [Y, Y_h, Y_c]."""
    xs = _seq(node, x).astype(np.float64)
    t_len, batch, _ = xs.shape
    hid = int(node.attrs["hidden_size"])
    ys, hs, cs = [], [], []
    for d, backward in enumerate(_dirs(node)):
        bias = np.zeros(8 * hid) if b is None else b[d].astype(np.float64)
        peep = np.zeros(3 * hid) if p is None else p[d].astype(np.float64)
        h = np.zeros((batch, hid)) if h0 is None else h0[d].astype(np.float64)
        c = np.zeros((batch, hid)) if c0 is None else c0[d].astype(np.float64)
        out = [None] * t_len
        for t in reversed(range(t_len)) if backward else range(t_len):
            g = xs[t] @ w[d].T + h @ r[d].T + bias[: 4 * hid] + bias[4 * hid :]
            gi, go, gf, gc = (g[:, k * hid : (k + 1) * hid] for k in range(4))
            i = _sigmoid(_clip(node, gi + peep[:hid] * c))
            f = _sigmoid(_clip(node, gf + peep[2 * hid :] * c))
            c = f * c + i * np.tanh(_clip(node, gc))
            o = _sigmoid(_clip(node, go + peep[hid : 2 * hid] * c))
            h = o * np.tanh(c)
            out[t] = h
        ys.append(np.stack(out))
        hs.append(h)
        cs.append(c)
    y = np.stack(ys, axis=1)  # [T, D, B, H]
    if node.attrs.get("layout", 0):
        return [y.transpose(2, 0, 1, 3).astype(F32), np.stack(hs, 1).astype(F32), np.stack(cs, 1).astype(F32)]
    return [y.astype(F32), np.stack(hs).astype(F32), np.stack(cs).astype(F32)]


def gru(node: Node, x, w, r, b=None, seq_lens=None, h0=None):
    """ONNX GRU (gates z, r, h), default activations: [Y, Y_h]."""
    xs = _seq(node, x).astype(np.float64)
    t_len, batch, _ = xs.shape
    hid = int(node.attrs["hidden_size"])
    lbr = int(node.attrs.get("linear_before_reset", 0))
    ys, hs = [], []
    for d, backward in enumerate(_dirs(node)):
        bias = np.zeros(6 * hid) if b is None else b[d].astype(np.float64)
        wb, rb = bias[: 3 * hid], bias[3 * hid :]
        h = np.zeros((batch, hid)) if h0 is None else h0[d].astype(np.float64)
        out = [None] * t_len
        for t in reversed(range(t_len)) if backward else range(t_len):
            xw = xs[t] @ w[d].T + wb
            hr = h @ r[d][: 2 * hid].T + rb[: 2 * hid]
            z = _sigmoid(_clip(node, xw[:, :hid] + hr[:, :hid]))
            rr = _sigmoid(_clip(node, xw[:, hid : 2 * hid] + hr[:, hid:]))
            rh, rbh = r[d][2 * hid :], rb[2 * hid :]
            if lbr:
                n = np.tanh(_clip(node, xw[:, 2 * hid :] + rr * (h @ rh.T + rbh)))
            else:
                n = np.tanh(_clip(node, xw[:, 2 * hid :] + (rr * h) @ rh.T + rbh))
            h = (1 - z) * n + z * h
            out[t] = h
        ys.append(np.stack(out))
        hs.append(h)
    y = np.stack(ys, axis=1)
    if node.attrs.get("layout", 0):
        return [y.transpose(2, 0, 1, 3).astype(F32), np.stack(hs, 1).astype(F32)]
    return [y.astype(F32), np.stack(hs).astype(F32)]


# *** unrolling ***

_DEFAULT_ACTS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"]}


def recurrent_problem(graph: FloatGraph, node: Node) -> str | None:
    """Why `node` (LSTM / GRU) cannot be unrolled, or None."""
    acts = node.attrs.get("activations")
    n_dirs = len(_dirs(node))
    if acts is not None and list(acts) != _DEFAULT_ACTS[node.op] * n_dirs:
        return f"{node.where}: activations {list(acts)}; picoq unrolls the default ones ({_DEFAULT_ACTS[node.op]})"
    if node.attrs.get("input_forget", 0):
        return f"{node.where}: input_forget (coupled input and forget gates) is not supported"
    for k in (1, 2):
        if not graph.is_const(node.inputs[k]):
            return f"{node.where}: needs constant W and R weights"
    for k in (3, 7):
        if len(node.inputs) > k and node.inputs[k] and not graph.is_const(node.inputs[k]):
            return f"{node.where}: needs a constant {'bias' if k == 3 else 'peephole'}"
    if len(node.inputs) > 4 and node.inputs[4]:
        lens = graph.const(node.inputs[4])
        t_len = graph.shapes[node.inputs[0]][1 if node.attrs.get("layout", 0) else 0]
        if lens is None or np.any(np.asarray(lens) != t_len):
            return f"{node.where}: sequence_lens other than the full length {t_len} is not supported"
    batch = graph.shapes[node.inputs[0]][0 if node.attrs.get("layout", 0) else 1]
    if batch != 1:
        return (
            f"{node.where}: batch {batch} inside the sequence; picoq runs batch 1 (run() loops over a batch)"
        )
    return None


class _Emitter:
    """Appends plain ONNX nodes (and their constants) to a node list."""

    def __init__(self, graph: FloatGraph, base: str):
        self.g = graph
        self.base = base
        self.nodes: list[Node] = []

    def const(self, tag: str, value: np.ndarray) -> str:
        name = self.g.fresh(f"{self.base}/{tag}")
        self.g.consts[name] = np.ascontiguousarray(value)
        return name

    def node(self, op: str, inputs: list[str], tag: str, **attrs) -> str:
        # Unique among the graph's names and the nodes emitted so far, which the graph does not
        # hold yet: two nodes writing one name would share one range and quantization.
        taken = {o for n in self.nodes for o in n.outputs}
        out, k = self.g.fresh(f"{self.base}/{tag}"), 1
        while out in taken:
            out, k = self.g.fresh(f"{self.base}/{tag}_{k}"), k + 1
        self.nodes.append(Node(op, inputs, [out], attrs, out))
        return out

    def gemm(self, x: str, w: np.ndarray, b: np.ndarray | None, tag: str) -> str:
        ins = [x, self.const(tag + "_w", w.astype(F32).T.copy())]
        if b is not None and np.any(b):
            ins.append(self.const(tag + "_b", b.astype(F32)))
        return self.node("Gemm", ins, tag)

    def slice(self, x: str, starts: list[int], ends: list[int], axes: list[int], tag: str) -> str:
        """One Slice of x, its starts / ends / axes as constants."""
        i64 = np.int64
        ins = [x] + [self.const(f"{tag}_{k}", np.array(v, i64)) for k, v in zip("sea", (starts, ends, axes))]
        return self.node("Slice", ins, tag)

    def cols(self, x: str, lo: int, hi: int, tag: str) -> str:
        """x[:, lo:hi] of a [rows, n] tensor."""
        return self.slice(x, [lo], [hi], [1], tag)

    def row(self, x: str, t: int, tag: str) -> str:
        return self.slice(x, [t], [t + 1], [0], tag)

    def box(self, x: str, t: int, lo: int, hi: int, tag: str) -> str:
        """x[t:t+1, lo:hi] of a [rows, n] tensor: one SLICE where row() then cols() would be two."""
        return self.slice(x, [t, lo], [t + 1, hi], [0, 1], tag)

    def reshape(self, x: str, shape: tuple[int, ...], tag: str) -> str:
        return self.node("Reshape", [x, self.const(tag + "_shape", np.array(shape, np.int64))], tag)

    def clip(self, x: str, c: float | None, tag: str) -> str:
        if c is None:
            return x
        lo, hi = self.const(tag + "_lo", np.array(-c, F32)), self.const(tag + "_hi", np.array(c, F32))
        return self.node("Clip", [x, lo, hi], tag)

    def add(self, a: str | None, b: str, tag: str) -> str:
        return b if a is None else self.node("Add", [a, b], tag)


def _state(graph: FloatGraph, node: Node, k: int, d: int, e: _Emitter, hid: int, tag: str) -> str | None:
    """Initial state input k of direction d as a [1, H] tensor (None: zeros)."""
    if len(node.inputs) <= k or not node.inputs[k]:
        return None
    c = graph.const(node.inputs[k])
    if c is not None:
        return None if not np.any(c) else e.const(tag, c[d].reshape(1, hid).astype(F32))
    axis = 1 if node.attrs.get("layout", 0) else 0
    part = e.slice(node.inputs[k], [d], [d + 1], [axis], tag + "_dir")
    return e.reshape(part, (1, hid), tag)


def _lstm_direction(graph, node, e, xs, d, backward, hid) -> tuple[list[str], str, str]:
    w, r = graph.consts[node.inputs[1]][d], graph.consts[node.inputs[2]][d]
    b = graph.const(node.inputs[3]) if len(node.inputs) > 3 and node.inputs[3] else None
    bias = np.zeros(8 * hid, F32) if b is None else b[d].astype(np.float64)
    p = graph.const(node.inputs[7]) if len(node.inputs) > 7 and node.inputs[7] else None
    peep = None if p is None or not np.any(p) else p[d]
    clip = node.attrs.get("clip")
    t_len = graph.shapes[xs][0]
    tag = f"d{d}"
    proj = e.gemm(xs, w, bias[: 4 * hid] + bias[4 * hid :], f"{tag}_xw")
    h = _state(graph, node, 5, d, e, hid, f"{tag}_h0")
    c = _state(graph, node, 6, d, e, hid, f"{tag}_c0")
    outs: list[str | None] = [None] * t_len
    for t in reversed(range(t_len)) if backward else range(t_len):
        s = f"{tag}_t{t}"
        g = e.row(proj, t, f"{s}_x") if t_len > 1 else proj
        if h is not None:
            g = e.add(g, e.gemm(h, r, None, f"{s}_hr"), f"{s}_g")
        if peep is None:  # i, o, f are contiguous: one LOGISTIC where three would each cost a call
            # (unclipped, over all of g: the c columns' sigmoids are never read, and it saves the
            # SLICE of i, o, f that would run every step; the SLICE shares g's quantization, so
            # the LOGISTIC reads the same int16 values either way)
            iof = g if clip is None else e.clip(e.cols(g, 0, 3 * hid, f"{s}_iof"), clip, f"{s}_ciof")
            sig = e.node("Sigmoid", [iof], f"{s}_sig")
            i, o = e.cols(sig, 0, hid, f"{s}_i"), e.cols(sig, hid, 2 * hid, f"{s}_o")
            f = e.cols(sig, 2 * hid, 3 * hid, f"{s}_f") if c is not None else None
            cand = e.node(
                "Tanh", [e.clip(e.cols(g, 3 * hid, 4 * hid, f"{s}_c"), clip, f"{s}_cc")], f"{s}_cand"
            )
            ic = e.node("Mul", [i, cand], f"{s}_ic")
            c = ic if c is None else e.node("Add", [e.node("Mul", [f, c], f"{s}_fc"), ic], f"{s}_c")
            h = e.node("Mul", [o, e.node("Tanh", [c], f"{s}_tc")], f"{s}_h")
            outs[t] = h
            continue
        gi, go, gf, gc = (e.cols(g, k * hid, (k + 1) * hid, f"{s}_{n}") for k, n in enumerate("iofc"))
        if c is not None:
            gi = e.add(
                gi, e.node("Mul", [c, e.const(f"{s}_pi", peep[:hid].astype(F32))], f"{s}_pic"), f"{s}_gi"
            )
            gf = e.add(
                gf, e.node("Mul", [c, e.const(f"{s}_pf", peep[2 * hid :].astype(F32))], f"{s}_pfc"), f"{s}_gf"
            )
        i = e.node("Sigmoid", [e.clip(gi, clip, f"{s}_ci")], f"{s}_i")
        f = e.node("Sigmoid", [e.clip(gf, clip, f"{s}_cf")], f"{s}_f")
        cand = e.node("Tanh", [e.clip(gc, clip, f"{s}_cc")], f"{s}_cand")
        ic = e.node("Mul", [i, cand], f"{s}_ic")
        c = ic if c is None else e.node("Add", [e.node("Mul", [f, c], f"{s}_fc"), ic], f"{s}_c")
        go = e.add(
            go,
            e.node("Mul", [c, e.const(f"{s}_po", peep[hid : 2 * hid].astype(F32))], f"{s}_poc"),
            f"{s}_go",
        )
        o = e.node("Sigmoid", [e.clip(go, clip, f"{s}_co")], f"{s}_o")
        h = e.node("Mul", [o, e.node("Tanh", [c], f"{s}_tc")], f"{s}_h")
        outs[t] = h
    return outs, h, c


def _gru_direction(graph, node, e, xs, d, backward, hid) -> tuple[list[str], str, None]:
    w, r = graph.consts[node.inputs[1]][d], graph.consts[node.inputs[2]][d]
    b = graph.const(node.inputs[3]) if len(node.inputs) > 3 and node.inputs[3] else None
    bias = np.zeros(6 * hid) if b is None else b[d].astype(np.float64)
    wb, rb = bias[: 3 * hid], bias[3 * hid :]
    lbr = int(node.attrs.get("linear_before_reset", 0))
    clip = node.attrs.get("clip")
    t_len = graph.shapes[xs][0]
    tag = f"d{d}"
    # The z and r recurrent biases are constant per step: into the input projection; h's too
    # unless it is applied after the reset gate (linear_before_reset). The projections carry
    # the z rows twice, the second time negated: sigmoid(-a) = 1 - sigmoid(a), so one LOGISTIC
    # over [z, r, -z] gives z, r and 1 - z, and h' = (1 - z) n + z h needs no subtraction
    # (a SUB of two activations would cost a negating op and an ADD, each step).
    xb = wb + np.concatenate([rb[: 2 * hid], np.zeros(hid) if lbr else rb[2 * hid :]])
    zrz = np.r_[0 : 2 * hid, 0:hid]  # rows of [z, r, -z]
    sign = np.r_[np.ones(2 * hid), -np.ones(hid)][:, None]
    proj = e.gemm(
        xs,
        np.concatenate([w[zrz] * sign, w[2 * hid :]]),
        np.concatenate([xb[zrz] * sign[:, 0], xb[2 * hid :]]),
        f"{tag}_xw",
    )
    h = _state(graph, node, 5, d, e, hid, f"{tag}_h0")
    outs: list[str | None] = [None] * t_len
    for t in reversed(range(t_len)) if backward else range(t_len):
        s = f"{tag}_t{t}"
        gzr = e.box(proj, t, 0, 3 * hid, f"{s}_xzr")
        gn = e.box(proj, t, 3 * hid, 4 * hid, f"{s}_xn")
        if h is not None:
            rows = np.concatenate([r[zrz] * sign, r[2 * hid :]]) if lbr else r[zrz] * sign
            hb = np.concatenate([np.zeros(3 * hid), rb[2 * hid :]]) if lbr else None
            hr = e.gemm(h, rows, hb, f"{s}_hr")
            gzr = e.add(gzr, e.cols(hr, 0, 3 * hid, f"{s}_hzr") if lbr else hr, f"{s}_gzr")
        sig = e.node("Sigmoid", [e.clip(gzr, clip, f"{s}_czr")], f"{s}_sig")
        one_minus_z = e.cols(sig, 2 * hid, 3 * hid, f"{s}_1mz")
        if h is None:  # h(t-1) = 0: r multiplies the recurrent bias alone (lbr) or nothing
            if lbr and np.any(rb[2 * hid :]):
                rr = e.cols(sig, hid, 2 * hid, f"{s}_rg")
                gn = e.add(
                    gn,
                    e.node("Mul", [rr, e.const(f"{s}_rbh", rb[2 * hid :].astype(F32))], f"{s}_rn"),
                    f"{s}_gn",
                )
        else:
            rr = e.cols(sig, hid, 2 * hid, f"{s}_rg")
            if lbr:
                hn = e.cols(hr, 3 * hid, 4 * hid, f"{s}_hn")
                gn = e.add(gn, e.node("Mul", [rr, hn], f"{s}_rn"), f"{s}_gn")
            else:
                rh = e.node("Mul", [rr, h], f"{s}_rh")
                gn = e.add(gn, e.gemm(rh, r[2 * hid :], None, f"{s}_rhr"), f"{s}_gn")
        n = e.node("Tanh", [e.clip(gn, clip, f"{s}_cn")], f"{s}_n")
        new = e.node("Mul", [one_minus_z, n], f"{s}_zn")
        if h is not None:
            z = e.cols(sig, 0, hid, f"{s}_zg")
            new = e.node("Add", [new, e.node("Mul", [z, h], f"{s}_zh")], f"{s}_h")
        h = outs[t] = new
    return outs, h, None


def unroll_recurrent(graph: FloatGraph) -> bool:
    """Replace every LSTM / GRU node that can be unrolled by its steps; a node that cannot
    stays, its problem in attrs["_problem"]. Returns whether anything changed (shapes of the
    new tensors are then unknown until the caller infers them)."""
    if not any(n.op in ("LSTM", "GRU") for n in graph.nodes):
        return False
    # torch.onnx.export writes the zero initial states as Expand(0, Shape(x)...): fold them
    # first, so that the unrolling sees constant zeros and leaves out their products (step 0
    # would otherwise compute f * c0 with a tensor of range [0, 0], which alone costs an LSTM
    # of one step 20 dB, and every model an op per state and direction)
    from .passes import fold_constants  # passes imports this module through onnx_rules

    fold_constants(graph)
    changed = False
    nodes: list[Node] = []
    for node in graph.nodes:
        if node.op not in ("LSTM", "GRU"):
            nodes.append(node)
            continue
        problem = recurrent_problem(graph, node)
        if problem:  # the lowering check reports it (quantize_graph.kernel_problem)
            node.attrs["_problem"] = problem
            nodes.append(node)
            continue
        nodes += _unroll(graph, node)
        changed = True
    graph.nodes = nodes
    return changed


def _unroll(graph: FloatGraph, node: Node) -> list[Node]:
    e = _Emitter(graph, node.name or node.op)
    graph.recurrent.append(f"{e.base}/")
    hid = int(node.attrs["hidden_size"])
    layout = node.attrs.get("layout", 0)
    x_shape = graph.shapes[node.inputs[0]]
    t_len, n_in = (x_shape[1], x_shape[2]) if layout else (x_shape[0], x_shape[2])
    xs = e.reshape(node.inputs[0], (t_len, n_in), "x2d")
    graph.shapes[xs] = (t_len, n_in)  # the directions read its rows count
    step = _lstm_direction if node.op == "LSTM" else _gru_direction
    ys, hs, cs = [], [], []
    for d, backward in enumerate(_dirs(node)):
        outs, h, c = step(graph, node, e, xs, d, backward, hid)
        y = e.node("Concat", outs, f"d{d}_y", axis=0) if len(outs) > 1 else outs[0]
        ys.append(y)
        hs.append(h)
        cs.append(c)
    n_dirs = len(ys)
    want = [node.outputs[k] if len(node.outputs) > k else "" for k in range(3 if node.op == "LSTM" else 2)]
    # Y: [T, D, 1, H] (layout 0) or [1, T, D, H] (layout 1); Y_h, Y_c: [D, 1, H] or [1, D, H]
    y_shape = (1, t_len, 1, hid) if layout else (t_len, 1, 1, hid)
    s_shape = (1, 1, hid)
    outputs = [
        (ys, y_shape, 2 if layout else 1),
        (hs, s_shape, 1 if layout else 0),
        (cs, s_shape, 1 if layout else 0),
    ]
    for name, (parts, shape, axis) in zip(want, outputs):
        if not name:
            continue
        shaped = [e.reshape(p, shape, f"{name}_d{k}") for k, p in enumerate(parts)]
        if n_dirs == 1:
            e.nodes.append(Node("Identity", [shaped[0]], [name], {}, f"{e.base}/{name}"))
        else:
            e.nodes.append(Node("Concat", shaped, [name], {"axis": axis}, f"{e.base}/{name}"))
    return e.nodes


def share_step_ranges(graph: FloatGraph, ranges: dict[str, tuple[float, float]]) -> None:
    """Give each tensor of an unrolled step the range of its role over every step (a gate's
    pre-activation at step t shares one range with that gate at all the others), in place.
    The statistics of a recurrent cell are the same at every step: per-step ranges would rest
    on 1/T of the samples each and clip unseen data, as TFLM's LSTM keeps one scale
    per gate for the whole sequence."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for prefix in graph.recurrent:
        step = re.compile(re.escape(prefix) + r"(d\d+)_t\d+_(.+)$")
        for name in ranges:
            m = step.match(name)
            if m:
                groups.setdefault((prefix, m.group(1), m.group(2)), []).append(name)
    for names in groups.values():
        lo = min(ranges[n][0] for n in names)
        hi = max(ranges[n][1] for n in names)
        for n in names:
            ranges[n] = (lo, hi)
