"""Lowering rules for data movement: reshapes (Flatten, Reshape, Squeeze, Unsqueeze), Transpose,
Concat and Pad.

MovementOps is a mixin of quantize_graph.Lowering. A Transpose only changes a tensor's layout;
a reshape is a free RESHAPE whenever the bytes are already in order (layout.same_bytes), costs
nothing before FULLY_CONNECTED layers (their weight columns are permuted), and otherwise needs
the tensor in the source layout first.
"""

from __future__ import annotations

import numpy as np

from picoq.runtime import format as fmt

from . import layout as L
from . import qparams as qp
from . import quantize as q
from .fgraph import Node
from .float_ops import slice_end
from .lower_ops import Stored


class MovementOps:
    def lower_reshape(self, node: Node) -> None:
        x, y = node.inputs[0], node.outputs[0]
        sx, sy = self.shape(x), self.shape(y)
        st = self.stored[x]
        if st.cols is not None:
            xi = self.need(x, L.identity(len(sx)), node.where)
            st = Stored(xi, L.identity(len(sx)))
        ident = L.identity(len(sy))
        if L.same_bytes(sx, st.perm, L.identity(len(sx))):
            return self._reshape_to(node, st.index, ident)
        if (
            len(sy) == 2
            and sy[0] == 1
            and all(c.op == "pq.Dense" and c.inputs[0] == y for c in self.consumers.get(y, []))
            and y not in self.fg.outputs
        ):
            yi = self._reshape_to(node, st.index, ident)
            self.stored[y] = Stored(yi, ident, L.flat_order(sx, st.perm), x)
            self.layouts[yi] = (y, ident, self.stored[y].cols)
            return
        perm = L.unit_free_layout(sx, st.perm, sy)
        if perm is not None:
            return self._reshape_to(node, st.index, perm)
        xi = self.need(x, L.identity(len(sx)), node.where)
        self._reshape_to(node, xi, ident)

    def _reshape_to(self, node: Node, xi: int, perm: tuple[int, ...]) -> int:
        y = node.outputs[0]
        target = L.stored_shape(self.shape(y), perm)
        if self.g.tensors[xi].shape == target:  # nothing to do: the same tensor
            self.stored[y] = Stored(xi, perm)
            return xi
        yi = self.define(y, perm)
        self.op("RESHAPE", [xi], yi, {}, node.where)
        return yi

    def lower_transpose(self, node: Node) -> None:
        x, y = node.inputs[0], node.outputs[0]
        rank = len(self.shape(x))
        t = tuple(node.attrs.get("perm", tuple(reversed(range(rank)))))
        st = self.stored[x]
        if st.cols is not None:
            self.need(x, L.identity(rank), node.where)
            st = Stored(self.variants[(x, L.identity(rank))], L.identity(rank))
        self.stored[y] = Stored(st.index, L.after_transpose(st.perm, t))

    def lower_concat(self, node: Node) -> None:
        y = node.outputs[0]
        names = [i for i in node.inputs if i]
        rank = len(self.shape(y))
        if len(names) > fmt.MAX_CONCAT_INPUTS:
            self.problems.append(f"{node.where}: more than {fmt.MAX_CONCAT_INPUTS} inputs")
            return
        perm = self._common_perm(names, rank)
        xs = [self._operand(n, rank, perm, node.where) for n in names]
        sy, zy = self.q_of(y)
        rows = []
        for xi in xs:
            t = self.g.tensors[xi]
            try:
                rows.append(q.concat_requant_row(t.scale, t.zero_point, sy))
            except ValueError as e:
                self.problems.append(f"{node.where}: {e}")
                return
        table = self.g.add_const(f"{node.name}/requant", np.array(rows, np.int32).reshape(len(xs), 3))
        axis = perm.index(int(node.attrs["axis"]) % rank)
        self.op(
            "CONCATENATION",
            [*xs, table],
            self.define(y, perm),
            {"axis": axis, "output_offset": zy},
            node.where,
        )

    def lower_slice(self, node: Node) -> None:
        """SLICE: the box of the output's shape at `begin` (steps of 1), in the stored layout."""
        x, y = node.inputs[0], node.outputs[0]
        shape = self.shape(x)
        args = [self.fg.const(i) if i else None for i in node.inputs[1:]]
        if any(v is None for v, i in zip(args, node.inputs[1:]) if i):
            self.problems.append(f"{node.where}: starts, ends, axes and steps must be constant")
            return
        starts, ends = args[0], args[1]
        axes = args[2] if len(args) > 2 else None
        steps = args[3] if len(args) > 3 else None
        if steps is not None and any(int(v) != 1 for v in steps.reshape(-1)):
            self.problems.append(f"{node.where}: steps other than 1 are not supported on activations")
            return
        rank = len(shape)
        axes_l = range(len(starts)) if axes is None else [int(a) % rank for a in axes.reshape(-1)]
        begin = [0] * rank
        for a, s, e in zip(axes_l, starts.reshape(-1), ends.reshape(-1)):
            lo, hi, _ = slice(int(s), slice_end(e)).indices(shape[a])
            if hi <= lo:
                self.problems.append(f"{node.where}: an empty slice of axis {a}")
                return
            begin[a] = lo
        st = self._plain_input(node)
        params = {f"begin_{d}": begin[st.perm[d]] if d < rank else 0 for d in range(fmt.MAX_DIMS)}
        self.op("SLICE", [st.index], self.define(y, st.perm), params, node.where)

    def lower_gather(self, node: Node) -> None:
        """Gather on an activation with constant indices: a SLICE when the indices are one run
        of consecutive values (a scalar index then drops the axis with a RESHAPE: attention's
        q, k, v = qkv[0], qkv[1], qkv[2]), else GATHER, in the stored layout."""
        x, y = node.inputs[0], node.outputs[0]
        shape = self.shape(x)
        idx = self.fg.const(node.inputs[1])
        axis = int(node.attrs.get("axis", 0)) % len(shape)
        if idx is None:
            self.problems.append(f"{node.where}: the indices must be constant")
            return
        idx = np.asarray(idx, np.int64)
        if idx.size == 0 or idx.min() < -shape[axis] or idx.max() >= shape[axis]:
            self.problems.append(f"{node.where}: indices outside [-{shape[axis]}, {shape[axis]}) or none")
            return
        idx = idx % shape[axis]
        flat = idx.reshape(-1)
        st = self._plain_input(node)
        if idx.ndim <= 1 and np.array_equal(flat, np.arange(flat[0], flat[0] + flat.size)):
            box = f"{y}@slice" if idx.ndim == 0 else y
            self.fg.shapes[box] = (*shape[:axis], flat.size, *shape[axis + 1 :])
            self.qparams[box] = self.q_of(x)
            begin = [int(flat[0]) if d == axis else 0 for d in range(len(shape))]
            params = {f"begin_{d}": begin[st.perm[d]] if d < len(shape) else 0 for d in range(fmt.MAX_DIMS)}
            self.op("SLICE", [st.index], self.define(box, st.perm), params, node.where)
            if idx.ndim == 0:
                self.lower_reshape(Node("Reshape", [box], [y], {}, node.name))
            return
        # the output's axes: x's before `axis`, the indices', x's after; stored in x's order
        k = idx.ndim
        perm = []
        for p in st.perm:
            perm += [p] if p < axis else list(range(axis, axis + k)) if p == axis else [p + k - 1]
        ii = self.g.add_const(f"{node.name}/indices", idx.astype(np.int32))
        params = {"axis": st.perm.index(axis), "batch_dims": 0}
        self.op("GATHER", [st.index, ii], self.define(y, tuple(perm)), params, node.where)

    def lower_pad(self, node: Node) -> None:
        x, y = node.inputs[0], node.outputs[0]
        shape = self.shape(x)
        rank = len(shape)
        mode = node.attrs.get("mode", "constant")
        pads = self.fg.const(node.inputs[1]) if len(node.inputs) > 1 and node.inputs[1] else None
        value = self.fg.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
        axes = self.fg.const(node.inputs[3]) if len(node.inputs) > 3 and node.inputs[3] else None
        if mode != "constant" or pads is None or (len(node.inputs) > 2 and node.inputs[2] and value is None):
            self.problems.append(f"{node.where}: only constant padding with constant pads is supported")
            return
        axes_l = list(range(rank)) if axes is None else [int(v) % rank for v in axes.reshape(-1)]
        k = len(axes_l)
        before, after = [0] * rank, [0] * rank
        for i, a in enumerate(axes_l):
            before[a], after[a] = int(pads[i]), int(pads[i + k])
        if min(before + after) < 0:
            self.problems.append(f"{node.where}: negative pads (cropping) are not supported")
            return
        st = self._plain_input(node)
        sy, zy = self.q_of(y)
        v = 0.0 if value is None or value.size == 0 else float(value.reshape(-1)[0])
        params = {
            "pad_value": int(np.clip(zy + qp.round_half_away(np.float32(v) / np.float32(sy)), -128, 127))
        }
        for d in range(fmt.MAX_DIMS):
            params[f"before_{d}"] = before[st.perm[d]] if d < rank else 0
            params[f"after_{d}"] = after[st.perm[d]] if d < rank else 0
        self.op("PAD", [st.index], self.define(y, st.perm), params, node.where)
