"""Lowering rules for data movement: reshapes (Flatten, Reshape, Squeeze, Unsqueeze), Transpose,
Concat, Pad, Slice, DepthToSpace and SpaceToDepth.

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
from .strided import strided_steps


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
        sy, zy = self.q_of(y)
        # a constant part (a CLS token, a learned prefix) quantized straight at the output's
        # parameters, which the calibration fitted to it too: quantized at its own range
        # first, the requantization rounded it a second time (the CLS token of a transformer
        # lost 3 dB there)
        xs = [
            self._const_at(n, rank, perm, (sy, zy))
            if self.fg.is_const(n)
            else self._operand(n, rank, perm, node.where)
            for n in names
        ]
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

    def _const_at(self, name: str, rank: int, perm: tuple[int, ...], qparams: tuple[float, int]) -> int:
        """Constant `name` (rank-padded, in layout `perm`) quantized at the given parameters."""
        c = self.fg.consts[name].astype(np.float32)
        c = c.reshape((1,) * (rank - c.ndim) + c.shape)
        key = (name, perm, self.dt, qparams)
        if key not in self.variants:
            data = qp.quantize_activation(np.transpose(c, perm), *qparams, self.dt)
            self.variants[key] = self.g.add_const(name, data, [qparams[0]], [qparams[1]])
        return self.variants[key]

    def lower_slice(self, node: Node) -> None:
        """SLICE: the box of the output's shape at `begin`, in the stored layout; positive steps
        through _strided_slice."""
        x, y = node.inputs[0], node.outputs[0]
        shape = self.shape(x)
        args = [self.fg.const(i) if i else None for i in node.inputs[1:]]
        if any(v is None for v, i in zip(args, node.inputs[1:]) if i):
            self.problems.append(f"{node.where}: starts, ends, axes and steps must be constant")
            return
        starts, ends = args[0], args[1]
        axes = args[2] if len(args) > 2 else None
        steps = args[3] if len(args) > 3 else None
        rank = len(shape)
        axes_l = range(len(starts)) if axes is None else [int(a) % rank for a in axes.reshape(-1)]
        steps_l = [1] * len(axes_l) if steps is None else [int(v) for v in steps.reshape(-1)]
        if any(k < 1 for k in steps_l):
            self.problems.append(
                f"{node.where}: negative steps (reversing an axis) are not supported on activations"
            )
            return
        begin, step, count = [0] * rank, [1] * rank, list(shape)
        for a, s, e, k in zip(axes_l, starts.reshape(-1), ends.reshape(-1), steps_l):
            taken = range(*slice(int(s), slice_end(e), k).indices(shape[a]))
            if not taken:
                self.problems.append(f"{node.where}: an empty slice of axis {a}")
                return
            begin[a], step[a], count[a] = taken.start, k, len(taken)
        st = self._plain_input(node)
        if any(k > 1 for k in step):
            self._strided_slice(node, st, *(tuple(v[p] for p in st.perm) for v in (begin, step, count)))
            return
        params = {f"begin_{d}": begin[st.perm[d]] if d < rank else 0 for d in range(fmt.MAX_DIMS)}
        self.op("SLICE", [st.index], self.define(y, st.perm), params, node.where)

    def _strided_slice(self, node: Node, st: Stored, begin, step, count) -> None:
        """Elements begin + step * i (i < count) of each stored axis, by the chain of strided.py."""
        x, y = node.inputs[0], node.outputs[0]
        qx = self.q_of(x)
        chain = strided_steps(self.g.tensors[st.index].shape, begin, step, count, pad_value=qx[1])
        if chain is None:
            self.problems.append(f"{node.where}: steps on too many axes of a rank-{len(count)} tensor")
            return
        cur = st.index
        for k, s in enumerate(chain):
            out = self.define(y, st.perm) if k == len(chain) - 1 else self.new_act(f"{y}/{k}", s.shape, qx)
            self.op(s.kernel, [cur], out, s.params, node.where)
            cur = out

    def lower_depth_space(self, node: Node) -> None:
        """DepthToSpace / SpaceToDepth as one rank-6 TRANSPOSE between two free RESHAPEs.

        Channels-last, a block of the channel axis and a block of a spatial axis are each
        contiguous runs: on NHWC bytes, DepthToSpace (DCR) is [n,h,w,b,b,c'] -> [n,h,b,w,b,c'],
        CRD [n,h,w,c',b,b] -> [n,h,b,w,b,c'], and SpaceToDepth [n,h',b,w',b,c] -> [n,h',w',b,b,c].
        Stored NHWC in and out, so the convolutions around it need no layout change."""
        x, y = node.inputs[0], node.outputs[0]
        if len(self.shape(x)) != 4:
            self.problems.append(f"{node.where}: only 4-D (NCHW) inputs are supported")
            return
        n, c, h, w = self.shape(x)
        b = int(node.attrs["blocksize"])
        if (c % (b * b) if node.op == "DepthToSpace" else h % b or w % b) != 0:
            self.problems.append(f"{node.where}: blocksize {b} does not divide the input {self.shape(x)}")
            return
        if node.op == "SpaceToDepth":
            split, perm = (n, h // b, b, w // b, b, c), (0, 1, 3, 2, 4, 5)
        elif node.attrs.get("mode", "DCR") == "DCR":
            split, perm = (n, h, w, b, b, c // (b * b)), (0, 1, 3, 2, 4, 5)
        else:
            split, perm = (n, h, w, c // (b * b), b, b), (0, 1, 4, 2, 5, 3)
        qx = self.q_of(x)
        xi = self.need(x, L.NHWC, node.where)
        blocks = self.new_act(f"{y}/blocks", split, qx)
        self.op("RESHAPE", [xi], blocks, {}, node.where)
        moved = self.new_act(f"{y}/moved", L.stored_shape(split, perm), qx)
        self.transpose_op(blocks, moved, perm, node.where)
        self.op("RESHAPE", [moved], self.define(y, L.NHWC), {}, node.where)

    def lower_resize_nearest(self, node: Node) -> None:
        """RESIZE_NEAREST_NEIGHBOR on the channels-last bytes, with the node's index tables."""
        x, y = node.inputs[0], node.outputs[0]
        xi = self.need(x, L.NHWC, node.where)
        rows = self.g.add_const(f"{y}/rows", np.asarray(node.attrs["rows"], np.int32))
        cols = self.g.add_const(f"{y}/cols", np.asarray(node.attrs["cols"], np.int32))
        self.op("RESIZE_NEAREST_NEIGHBOR", [xi, rows, cols], self.define(y, L.NHWC), {}, node.where)

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
            self.same_qparams(box, x)
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

    def lower_resize_bilinear(self, node: Node) -> None:
        """RESIZE_BILINEAR on the channels-last bytes, with the node's interpolation tables."""
        x, y = node.inputs[0], node.outputs[0]
        xi = self.need(x, L.NHWC, node.where)
        rows = self.g.add_const(f"{y}/rows", np.asarray(node.attrs["rows"], np.int32))
        cols = self.g.add_const(f"{y}/cols", np.asarray(node.attrs["cols"], np.int32))
        self.op("RESIZE_BILINEAR", [xi, rows, cols], self.define(y, L.NHWC), {}, node.where)

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
            "pad_value": int(
                np.clip(zy + qp.round_half_away(np.float32(v) / np.float32(sy)), *qp.INT_RANGE[self.dt])
            )
        }
        if self.dt == "int16" and params["pad_value"] != 0:
            self.problems.append(f"{node.where}: a 16x8 model pads with 0 only (the value is {v})")
            return
        for d in range(fmt.MAX_DIMS):
            params[f"before_{d}"] = before[st.perm[d]] if d < rank else 0
            params[f"after_{d}"] = after[st.perm[d]] if d < rank else 0
        self.op("PAD", [st.index], self.define(y, st.perm), params, node.where)
