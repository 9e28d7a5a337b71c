"""Lowering rules for the compute ops: Conv, FULLY_CONNECTED, the 1x1 depthwise affine, ADD and
MUL, pools, SOFTMAX and LAYER_NORM (rows of the last axis), MEAN and the activation kernels.

ComputeOps is a mixin of quantize_graph.Lowering: each `lower_<op>` method (the `lower` of an
onnx_rules.py row) reads the Lowering's tensors, layouts and quantization parameters and
appends picoq ops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from picoq.runtime import format as fmt

from . import layout as L
from . import lut16
from . import qparams as qp
from . import quantize as q
from .conv_transpose import conv_transpose_geometry
from .fgraph import Node
from .float_ops import leaky_relu, window_out, window_pads
from .tables import run_table


def conv_out_size_ok(in_size: int, k: int, stride: int, dilation: int, pad: int, out: int) -> bool:
    """The validator's rule for a windowed op (pq_contracts_common.c, pqv_conv_out_size_ok):
    padding before is less than the dilated kernel, padding after in (-stride, eff - 1], >= 1
    output. The converter lowers a window only when the file it writes will pass it."""
    eff = (k - 1) * dilation + 1
    if not (0 <= pad < eff and out >= 1):
        return False
    pad_after = (out - 1) * stride + eff - in_size - pad
    return -stride < pad_after <= eff - 1


def have_kernel(name: str) -> bool:
    return name in fmt.OPCODE_BY_NAME


@dataclass
class Stored:
    """Where an ONNX tensor lives in the picoq graph."""

    index: int  # picoq tensor
    perm: tuple[int, ...]  # its layout
    cols: np.ndarray | None = None  # a Flatten feeding FC layers: its column order
    # (MovementOps.lower_reshape)
    source: str = ""  # for cols: the tensor it was flattened from


def avg_pool_is_depthwise(attrs: dict, in_shape: tuple[int, ...]) -> bool:
    """Whether an ONNX AveragePool runs as a DEPTHWISE_CONV_2D of weights 1/count, with its
    own output range, instead of TFLM's AVERAGE_POOL_2D, which keeps the input's quantization
    and rounds each raw int8 sum half away from raw 0, not from the zero point: after a ReLU
    (raw values mostly below 0) half the means of a 2-window round down, a bias that pooling
    later keeps (DenseNet-121's transitions: -1.3 dB against ORT QDQ; a Conv1d KWS stack:
    -0.6). A depthwise conv rounds once, from its own grid, without that bias. It applies where
    the divisor is the whole window everywhere: no padding, or padding that counts
    (count_include_pad); 2-D (a 1-D pool is one by now), undilated."""
    if len(in_shape) != 4 or tuple(attrs.get("dilations", (1, 1))) != (1, 1):
        return False
    if int(attrs.get("ceil_mode", 0)):  # a last window past the edge divides by what it covers
        return False
    k_hw = tuple(attrs["kernel_shape"])
    pads = window_pads(attrs, in_shape[2:], k_hw, tuple(attrs.get("strides", (1, 1))), (1, 1))
    return not any(pads) or bool(attrs.get("count_include_pad", 0))


class ComputeOps:
    def lower_conv(self, node: Node) -> None:
        x = node.inputs[0]
        w = self.fg.const(node.inputs[1])
        b = self.fg.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
        if w is None or w.ndim != 4 or len(self.shape(x)) != 4:
            self.problems.append(f"{node.where}: needs constant 2-D weights and a 4-D input")
            return
        if b is None and len(node.inputs) > 2 and node.inputs[2]:
            self.problems.append(f"{node.where}: needs a constant bias")
            return
        a = node.attrs
        cin = self.shape(x)[1]
        m, cg, kh, kw = w.shape
        group = int(a.get("group", 1))
        strides, dil = tuple(a.get("strides", (1, 1))), tuple(a.get("dilations", (1, 1)))
        padded = self._pads(node, x, (kh, kw), strides, dil)
        if padded is None:
            return
        xi, pads = padded
        depthwise = group > 1 and cg == 1 and group == cin
        if depthwise:
            filt = w.reshape(m, kh, kw).transpose(1, 2, 0)[None]  # [1, kh, kw, M]
            axis = 3
        else:
            filt = w.transpose(0, 2, 3, 1)  # [M, kh, kw, Cg]
            axis = 0
        params = q.window_params(strides, pads, dil)
        if depthwise:
            params["depth_multiplier"] = m // cin
        self._conv_like(
            node, "DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", xi, x, filt, axis, b, params, L.NHWC
        )

    # --- ops14: ConvTranspose ---
    def lower_conv_transpose(self, node: Node) -> None:
        """ConvTranspose (group 1, dilation 1: conv_transpose_ext.py rewrote the others) as
        TRANSPOSE_CONV: filter [Cin, Cout, kh, kw] to TFLite's [Cout, kh, kw, Cin], the begin
        padding as pad (conv_transpose.py)."""
        x = node.inputs[0]
        w = self.fg.const(node.inputs[1])
        b = self.fg.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
        if w is None or w.ndim != 4 or len(self.shape(x)) != 4:
            self.problems.append(f"{node.where}: needs constant 2-D weights and a 4-D input")
            return
        if b is None and len(node.inputs) > 2 and node.inputs[2]:
            self.problems.append(f"{node.where}: needs a constant bias")
            return
        group, dil = int(node.attrs.get("group", 1)), list(node.attrs.get("dilations", (1, 1)))
        if group != 1 or dil != [1, 1]:  # conv_transpose_ext.py rewrites every one with constants
            self.problems.append(f"{node.where}: group={group}, dilations={dil}: TRANSPOSE_CONV has neither")
            return
        try:
            strides, pads, _ = conv_transpose_geometry(node, self.shape(x)[2:], w.shape[2:])
        except ValueError as e:
            self.problems.append(f"{node.where}: {e}")
            return
        if self.dt != "int8":
            self.problems.append(f"{node.where}: TRANSPOSE_CONV has int8 activations only")
            return
        params = q.window_params(strides, pads)
        xi = self.need(x, L.NHWC, node.where)
        self._conv_like(node, "TRANSPOSE_CONV", xi, x, w.transpose(1, 2, 3, 0), 0, b, params, L.NHWC)

    # --- end ops14 ---

    def _conv_like(self, node, kernel, xi, x, filt, axis, b, params, out_perm, out_index=None) -> int:
        """Quantize filter/bias, compute multipliers and emit a CONV_2D / DEPTHWISE / FC op."""
        y = node.outputs[0]
        sx, zx = self.q_of(x)
        sy, zy = self.q_of(y)
        channels = filt.shape[axis]
        per_channel = self.per_channel or kernel == "DEPTHWISE_CONV_2D" and node.op == "pq.Affine"
        int4 = self.precision.int4.get(node.name)
        rounded8 = self.precision.int8.get(node.name)
        if int4 is not None:  # the graph holds its int4 values times these scales (precision.py)
            ws = int4
            wq = qp.quantize_weights(filt, ws, axis, qmax=7)
        elif rounded8 is not None:  # int8 values rounded with the calibration data, likewise
            ws = rounded8
            wq = qp.quantize_weights(filt, ws, axis)
        else:
            ws = qp.weight_scales(filt, axis if per_channel else None)
            if self.dt == "int8" and b is not None:
                ws = qp.fit_bias(np.broadcast_to(b, (channels,)), sx, ws)
            wq = qp.quantize_weights(filt, ws, axis)
        w_idx = self.g.add_const(f"{node.name}/filter", wq, ws, np.zeros(ws.size, np.int32), axis)
        if int4 is not None:
            self.g.tensors[w_idx].dtype = "int4"
        bias = -1
        bias_dtype = "int64" if self.dt == "int16" else "int32"
        if b is not None:
            bias = self.g.add_const(
                f"{node.name}/bias",
                qp.quantize_bias(
                    np.broadcast_to(b, (channels,)), sx, np.broadcast_to(ws, (channels,)), bias_dtype
                ),
            )
        n_mult = ws.size if kernel == "FULLY_CONNECTED" else channels
        try:
            mult, shift = q.conv_multipliers(sx, np.broadcast_to(ws, (n_mult,)), sy)
        except ValueError as e:  # input, weight and output scales too far apart for int8
            self.problems.append(f"{node.where}: {e}")
            return -1
        m_idx = self.g.add_const(f"{node.name}/multiplier", mult)
        s_idx = self.g.add_const(
            f"{node.name}/shift", shift.astype(q.shift_dtype(self.g.tensors[w_idx].dtype))
        )
        lo, hi = qp.clamp_range(node.attrs.get("clamp"), sy, zy, self.dt)
        if kernel == "FULLY_CONNECTED":
            params = {
                "input_offset": -zx,
                "filter_offset": 0,
                "output_offset": zy,
                "act_min": lo,
                "act_max": hi,
                "per_channel": int(ws.size > 1),
            }
        else:
            params = {**params, "input_offset": -zx, "output_offset": zy, "act_min": lo, "act_max": hi}
        yi = self.define(y, out_perm) if out_index is None else out_index
        self.op(kernel, [xi, w_idx, bias, m_idx, s_idx], yi, params, node.where)
        return yi

    def _pads(
        self, node: Node, x: str, k_hw, strides, dil, pad_value: int | None = None, force: bool = False
    ) -> tuple[int, tuple[int, int]] | None:
        """(input tensor in NHWC, padding before (top, left)) for a windowed op. Padding the
        kernel's implicit padding cannot express (more than kernel-1 on a side), or any padding
        when `force`, becomes a PAD op filling `pad_value` (default: the input's zero point)."""
        in_hw = self.shape(x)[2:]
        pads = window_pads(node.attrs, in_hw, k_hw, strides, dil)
        ceil_mode = bool(node.attrs.get("ceil_mode", 0))
        fits = not (force and any(pads))
        for i in range(2):
            out = window_out(in_hw[i], k_hw[i], strides[i], dil[i], pads[i], pads[i + 2], ceil_mode)
            fits = fits and conv_out_size_ok(in_hw[i], k_hw[i], strides[i], dil[i], pads[i], out)
        xi = self.need(x, L.NHWC, node.where)
        if fits:
            return xi, (pads[0], pads[1])
        if min(pads) < 0 or not have_kernel("PAD"):
            self.problems.append(
                f"{node.where}: padding {list(pads)} with kernel {tuple(k_hw)} and strides {tuple(strides)} "
                "needs a PAD op (more than kernel-1 on a side), which this picoq runtime lacks"
            )
            return None
        value = self.q_of(x)[1] if pad_value is None else pad_value
        if self.dt == "int16" and value != 0:  # 16x8 PAD fills the zero point, 0, only
            self.problems.append(f"{node.where}: a 16x8 model pads a max pool's input with 0 only")
            return None
        t = self.g.tensors[xi]
        n, h, w, c = t.shape
        padded = self.new_act(f"{x}@pad", (n, h + pads[0] + pads[2], w + pads[1] + pads[3], c), self.q_of(x))
        params = {"pad_value": value}
        widths = [(0, 0), (pads[0], pads[2]), (pads[1], pads[3]), (0, 0)]
        for d in range(fmt.MAX_DIMS):
            params[f"before_{d}"], params[f"after_{d}"] = widths[d] if d < 4 else (0, 0)
        self.op("PAD", [xi], padded, params, node.where)
        return padded, (0, 0)

    def lower_dense(self, node: Node) -> None:
        x = node.inputs[0]
        w = self.fg.consts[node.inputs[1]]
        b = self.fg.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
        st = self.stored.get(x)
        rank = len(self.shape(x))
        if st is not None and st.cols is not None:
            xi, w = st.index, w[:, st.cols]
        else:
            xi = self.need(x, L.identity(rank), node.where)
        self._conv_like(node, "FULLY_CONNECTED", xi, x, w, 0, b, {}, L.identity(rank))

    def lower_affine(self, node: Node) -> None:
        x, y = node.inputs[0], node.outputs[0]
        scale = self.fg.consts[node.inputs[1]].astype(np.float64).reshape(-1)
        shift = self.fg.consts[node.inputs[2]].astype(np.float64).reshape(-1)
        axis = node.attrs.get("axis")
        vector = axis is not None and scale.size * shift.size > 1
        shape = self.shape(x)
        st = self.stored[x]
        if st.cols is None and (not vector or self._channel_last(shape, st.perm, axis)):
            xi, perm = st.index, st.perm
        else:
            perm = L.identity(len(shape))
            if vector and not self._channel_last(shape, perm, axis):
                perm = tuple(d for d in perm if d != axis) + (axis,)
            xi = self.need(x, perm, node.where)
        stored = L.stored_shape(shape, perm)
        n = int(np.prod(stored, dtype=np.int64))
        if vector:
            channels = shape[axis]
            view = stored if len(stored) == 4 and stored[-1] == channels else (1, 1, n // channels, channels)
        elif len(stored) == 4:
            channels, view = stored[-1], stored  # a scalar on a 4-D tensor: the same weight per channel
        else:
            channels, view = 1, (1, 1, n, 1)
        filt = np.broadcast_to(scale, (channels,)).reshape(1, 1, 1, channels).astype(np.float32)
        bias = np.broadcast_to(shift, (channels,)).astype(np.float64)
        params = {**q.window_params(), "depth_multiplier": 1}
        if view == stored:
            self._conv_like(node, "DEPTHWISE_CONV_2D", xi, x, filt, 3, bias, params, perm)
            return
        vi = self.new_act(f"{x}@view", view, self.q_of(x))
        self.op("RESHAPE", [xi], vi, {}, node.where)
        out_view = self.new_act(f"{y}@view", view, self.q_of(y))
        self._conv_like(node, "DEPTHWISE_CONV_2D", vi, x, filt, 3, bias, params, perm, out_index=out_view)
        yi = self.define(y, perm)
        self.op("RESHAPE", [out_view], yi, {}, node.where)

    @staticmethod
    def _channel_last(shape, perm, axis) -> bool:
        j = perm.index(axis)
        return all(shape[a] == 1 for a in perm[j + 1 :])

    def lower_add(self, node: Node) -> None:
        a, b = node.inputs[:2]
        y = node.outputs[0]
        rank = len(self.shape(y))
        perm = self._common_perm([a, b], rank)
        ai, bi = (self._operand(t, rank, perm, node.where) for t in (a, b))
        sa, za = self.g.tensors[ai].scale, self.g.tensors[ai].zero_point
        sb, zb = self.g.tensors[bi].scale, self.g.tensors[bi].zero_point
        sy, zy = self.q_of(y)
        try:
            params = q.add_params(sa, za, sb, zb, sy, zy, self.dt)
        except ValueError as e:  # scales too far apart for the kernel's fixed point
            self.problems.append(f"{node.where}: {e}")
            return
        params["act_min"], params["act_max"] = qp.clamp_range(node.attrs.get("clamp"), sy, zy, self.dt)
        yi = self.define(y, perm)
        self.op("ADD", [ai, bi], yi, params, node.where)

    def _common_perm(self, names: list[str], rank: int) -> tuple[int, ...]:
        """The layout binary ops work in: that of a full-rank activation input (NHWC if any is)."""
        perms = [
            self.stored[n].perm
            for n in names
            if not self.fg.is_const(n)
            and n in self.stored
            and len(self.shape(n)) == rank
            and self.stored[n].cols is None
        ]
        for p in perms:
            if p != L.identity(rank):
                return p
        return perms[0] if perms else L.identity(rank)

    def _operand(self, name: str, rank: int, perm: tuple[int, ...], where: str) -> int:
        """`name` broadcast-ready for a rank-`rank` op working in layout `perm`."""
        if self.fg.is_const(name):
            return self.const_operand(name, perm, rank)
        shape = self.shape(name)
        if len(shape) == rank:
            return self.need(name, perm, where)
        padded = f"{name}@rank{rank}"
        if padded not in self.stored:
            src = self.need(name, L.identity(len(shape)), where)
            self.fg.shapes[padded] = (1,) * (rank - len(shape)) + shape
            self.same_qparams(padded, name)
            pi = self.define(padded, L.identity(rank))
            self.op("RESHAPE", [src], pi, {}, where)
        return self.need(padded, perm, where)

    def _pool(self, node: Node, kernel: str) -> None:
        x, y = node.inputs[0], node.outputs[0]
        if len(self.shape(x)) != 4:
            self.problems.append(f"{node.where}: needs a 4-D input")
            return
        a = node.attrs
        if node.op == "GlobalAveragePool":
            k_hw, strides, pads = self.shape(x)[2:], (1, 1), (0, 0)
            xi = self.need(x, L.NHWC, node.where)
        else:
            k_hw, strides = tuple(a["kernel_shape"]), tuple(a.get("strides", (1, 1)))
            if tuple(a.get("dilations", (1, 1))) != (1, 1):
                self.problems.append(f"{node.where}: dilated pooling is not supported")
                return
            # max: padding never wins (-128); average: padded zeros count only with count_include_pad
            counted = kernel == "AVERAGE_POOL_2D" and bool(a.get("count_include_pad", 0))
            if kernel == "AVERAGE_POOL_2D" and not counted:
                explicit = window_pads(a, self.shape(x)[2:], k_hw, strides, (1, 1))
                if any(p >= k for p, k in zip(explicit, (*k_hw, *k_hw))):
                    self.problems.append(f"{node.where}: padding {list(explicit)} is wider than the window")
                    return
            lowest = qp.INT_RANGE[self.dt][0]  # a max pool's padding never wins
            padded = self._pads(
                node, x, k_hw, strides, (1, 1), lowest if kernel == "MAX_POOL_2D" else None, counted
            )
            if padded is None:
                return
            xi, pads = padded
        sy, zy = self.q_of(y)
        lo, hi = qp.clamp_range(a.get("clamp"), sy, zy, self.dt)
        params = {
            "stride_h": strides[0],
            "stride_w": strides[1],
            "filter_h": k_hw[0],
            "filter_w": k_hw[1],
            "pad_h": pads[0],
            "pad_w": pads[1],
            "act_min": lo,
            "act_max": hi,
        }
        yi = self.define(y, L.NHWC)
        self.op(kernel, [xi], yi, params, node.where)

    def lower_average_pool(self, node: Node) -> None:
        """A DEPTHWISE_CONV_2D of weights 1/count with its own output range where the divisor
        is the whole window everywhere (avg_pool_is_depthwise; MEAN where that window is the
        whole map), else AVERAGE_POOL_2D."""
        x = node.inputs[0]
        if not avg_pool_is_depthwise(node.attrs, self.shape(x)):
            self._pool(node, "AVERAGE_POOL_2D")
            return
        a = node.attrs
        k_hw, strides = tuple(a["kernel_shape"]), tuple(a.get("strides", (1, 1)))
        whole = k_hw == tuple(self.shape(x)[2:]) and not any(window_pads(a, k_hw, k_hw, strides, (1, 1)))
        if whole and "clamp" not in a and have_kernel("MEAN"):
            # one window over the whole map (DS-CNN's last pool): MEAN, no weights
            self.lower_global_average_pool(Node("GlobalAveragePool", [x], node.outputs, {}, node.name))
            return
        padded = self._pads(node, x, k_hw, strides, (1, 1))  # zero padding, which counts
        if padded is None:
            return
        xi, pads = padded
        filt = np.full((1, *k_hw, self.shape(x)[1]), 1.0 / (k_hw[0] * k_hw[1]), np.float32)
        params = {**q.window_params(strides, pads), "depth_multiplier": 1}
        self._conv_like(node, "DEPTHWISE_CONV_2D", xi, x, filt, 3, None, params, L.NHWC)

    def lower_global_average_pool(self, node: Node) -> None:
        """MEAN, whose output has its own range (an average spans less than its inputs); with a
        fused clamp, AVERAGE_POOL_2D (which applies one, at the input's quantization)."""
        if "clamp" in node.attrs or not have_kernel("MEAN"):
            self._pool(node, "AVERAGE_POOL_2D")
            return
        x = node.inputs[0]
        rank = len(self.shape(x))
        axes = f"{node.name}/axes"
        self.fg.consts[axes] = np.arange(2, rank, dtype=np.int64)
        self.lower_reduce_mean(Node("ReduceMean", [x, axes], node.outputs, {"keepdims": 1}, node.name))

    def lower_max_pool(self, node: Node) -> None:
        if len(node.outputs) > 1 and node.outputs[1] and self.fg.uses(node.outputs[1]):
            self.problems.append(f"{node.where}: the Indices output is not supported")
            return
        self._pool(node, "MAX_POOL_2D")

    def _reduced_axes(self, node: Node) -> list[int] | None:
        """A Reduce* node's axes (its constant input 1; none: every axis), sorted and
        non-negative; None when it is lowered already (noop_with_empty_axes: an alias) or
        refused (axes not constant: a problem noted)."""
        x, y = node.inputs[0], node.outputs[0]
        rank = len(self.shape(x))
        axes = self.fg.const(node.inputs[1]) if len(node.inputs) > 1 and node.inputs[1] else None
        if len(node.inputs) > 1 and node.inputs[1] and axes is None:
            self.problems.append(f"{node.where}: axes must be constant")
            return None
        if axes is None or axes.size == 0:
            if node.attrs.get("noop_with_empty_axes", 0):
                self.alias(y, self.stored[x])
                return None
            return list(range(rank))
        return sorted({int(v) % rank for v in axes.reshape(-1)})

    def lower_reduce_max(self, node: Node) -> None:
        """ReduceMax (torch's x.max(dim), max over time) as MAX_POOL_2D: the stored tensor viewed
        as [1, outer, reduced, inner] (the reduced axes adjacent in storage), one window as
        wide as the reduced axes. A max keeps its input's quantization (quant "same")."""
        x, y = node.inputs[0], node.outputs[0]
        shape = self.shape(x)
        rank = len(shape)
        reduced = self._reduced_axes(node)
        if reduced is None:
            return
        keep = int(node.attrs.get("keepdims", 1))
        st = self._plain_input(node)
        stored = L.stored_shape(shape, st.perm)
        # storage positions of the reduced axes; size-1 axes between them do not separate them
        pos = sorted(st.perm.index(a) for a in reduced)
        if any(stored[p] != 1 for p in range(pos[0], pos[-1] + 1) if st.perm[p] not in reduced):
            self.problems.append(f"{node.where}: reduced axes {reduced} are not adjacent in memory")
            return
        outer = int(np.prod(stored[: pos[0]], dtype=np.int64))
        k = int(np.prod(stored[pos[0] : pos[-1] + 1], dtype=np.int64))
        inner = int(np.prod(stored[pos[-1] + 1 :], dtype=np.int64))
        lo, hi = qp.clamp_range(node.attrs.get("clamp"), *self.q_of(y), self.dt)
        params = {"stride_h": 1, "stride_w": k, "filter_h": 1, "filter_w": k,
                  "pad_h": 0, "pad_w": 0, "act_min": lo, "act_max": hi}  # fmt: skip
        if keep:
            out_perm = st.perm
        else:
            kept = [a for a in range(rank) if a not in reduced]
            out_perm = tuple(kept.index(a) for a in st.perm if a not in reduced)
        vi = self.new_act(f"{x}@rows", (1, outer, k, inner), self.q_of(x))
        self.op("RESHAPE", [st.index], vi, {}, node.where)
        out_view = self.new_act(f"{y}@rows", (1, outer, 1, inner), self.q_of(y))
        self.op("MAX_POOL_2D", [vi], out_view, params, node.where)
        self.op("RESHAPE", [out_view], self.define(y, out_perm), {}, node.where)

    def lower_softmax(self, node: Node) -> None:
        x = node.inputs[0]
        rank = len(self.shape(x))
        axis = node.attrs.get("axis", -1 if node.attrs.get("_opset", 13) >= 13 else 1) % rank
        # before opset 13: softmax over the axes [axis:] flattened into one row
        axes = list(range(axis, rank)) if node.attrs.get("_opset", 13) < 13 else [axis]
        try:
            if self.dt == "int16":  # TFLM's int16 softmax: its exp and 1/(1+x) tables as inputs
                params = lut16.softmax16_params(1.0, self.q_of(x)[0])
            else:
                params = q.softmax_params(1.0, self.q_of(x)[0])
        except ValueError as e:
            self.problems.append(f"{node.where}: {e}")
            return
        extra = []
        if self.dt == "int16":
            exp_lut, recip_lut = lut16.softmax16_tables()
            extra = [self.g.add_const(f"{node.name}/exp_lut", exp_lut),
                     self.g.add_const(f"{node.name}/one_over_one_plus_x_lut", recip_lut)]  # fmt: skip
        self._over_rows(node, "SOFTMAX", axes, extra, params)

    def lower_layer_norm(self, node: Node) -> None:
        x = node.inputs[0]
        shape = self.shape(x)
        axes = list(range(int(node.attrs.get("axis", -1)) % len(shape), len(shape)))
        row = tuple(shape[a] for a in axes)
        opt = [node.inputs[k] if len(node.inputs) > k and node.inputs[k] else None for k in (1, 2)]
        consts = [None if i is None else self.fg.const(i) for i in opt]
        if any(i is not None and c is None for i, c in zip(opt, consts)):
            self.problems.append(f"{node.where}: needs a constant scale and bias")
            return
        gamma = np.broadcast_to(np.float32(1) if consts[0] is None else consts[0], row).reshape(-1)
        beta = np.broadcast_to(np.float32(0) if consts[1] is None else consts[1], row).reshape(-1)
        (sx, _), (sy, zy) = self.q_of(x), self.q_of(node.outputs[0])
        try:
            params, gamma_q, beta_q = q.layer_norm_params(
                sx, sy, zy, gamma, beta, node.attrs.get("epsilon", 1e-5)
            )
        except ValueError as e:
            self.problems.append(f"{node.where}: {e}")
            return
        extra = [
            self.g.add_const(f"{node.name}/gamma", gamma_q),
            self.g.add_const(f"{node.name}/beta", beta_q),
        ]
        self._over_rows(node, "LAYER_NORM", axes, extra, params)

    def _over_rows(self, node: Node, kernel: str, axes: list[int], extra: list[int], params: dict) -> None:
        """A kernel over the rows of the last axis (SOFTMAX, LAYER_NORM) on `axes`, in order,
        flattened into one row: x's layout when it already stores them innermost, else a
        layout that does (a TRANSPOSE); a [rows, n] view (RESHAPE) when the stored last dim is
        not the whole row (several axes, or size-1 axes after them)."""
        x, y = node.inputs[0], node.outputs[0]
        shape = self.shape(x)
        st = self.stored[x]
        inner = [a for a in axes if shape[a] != 1]
        nonunit = [a for a in st.perm if shape[a] != 1]
        if st.cols is None and nonunit[len(nonunit) - len(inner) :] == inner:
            xi, perm = st.index, st.perm
        else:
            perm = tuple(d for d in range(len(shape)) if d not in axes) + tuple(axes)
            xi = self.need(x, perm, node.where)
        n = int(np.prod([shape[a] for a in axes], dtype=np.int64))
        if L.stored_shape(shape, perm)[-1] == n:
            self.op(kernel, [xi, *extra], self.define(y, perm), params, node.where)
            return
        view = (int(np.prod(shape, dtype=np.int64)) // n, n)
        vi = self.new_act(f"{x}@view", view, self.q_of(x))
        self.op("RESHAPE", [xi], vi, {}, node.where)
        out_view = self.new_act(f"{y}@view", view, self.q_of(y))
        self.op(kernel, [vi, *extra], out_view, params, node.where)
        self.op("RESHAPE", [out_view], self.define(y, perm), {}, node.where)

    def lower_mul(self, node: Node) -> None:
        a, b = node.inputs[:2]
        y = node.outputs[0]
        rank = len(self.shape(y))
        perm = self._common_perm([a, b], rank)
        ai, bi = (self._operand(t, rank, perm, node.where) for t in (a, b))
        ta, tb = self.g.tensors[ai], self.g.tensors[bi]
        sy, zy = self.q_of(y)
        try:
            params = q.mul_params(ta.scale, ta.zero_point, tb.scale, tb.zero_point, sy, zy, self.dt)
        except ValueError as e:
            self.problems.append(f"{node.where}: {e}")
            return
        params["act_min"], params["act_max"] = qp.clamp_range(node.attrs.get("clamp"), sy, zy, self.dt)
        self.op("MUL", [ai, bi], self.define(y, perm), params, node.where)

    def lower_matmul(self, node: Node) -> None:
        """BATCH_MATMUL of two activations (attention's Q.K^T and attn.V; a MatMul with constant
        weights became pq.Dense). An operand whose bytes already hold its last two axes swapped
        (a Transpose feeding it) is read as stored, with adj_x / adj_y."""
        a, b = node.inputs[:2]
        y = node.outputs[0]
        ranks = (len(self.shape(a)), len(self.shape(b)))
        if self.fg.is_const(a) or self.fg.is_const(b) or not all(2 <= r <= 5 for r in ranks):
            self.problems.append(
                f"{node.where}: needs constant 2-D weights (FULLY_CONNECTED) or two activations of rank 2..5"
            )
            return
        ai, adj_x = self._matmul_operand(a, False, node.where)
        bi, adj_y = self._matmul_operand(b, True, node.where)
        ta, tb = self.g.tensors[ai], self.g.tensors[bi]
        try:
            params = q.batch_matmul_params(ta.scale, ta.zero_point, tb.scale, tb.zero_point, *self.q_of(y))
        except ValueError as e:
            self.problems.append(f"{node.where}: {e}")
            return
        params.update(adj_x=adj_x, adj_y=adj_y)
        self.op("BATCH_MATMUL", [ai, bi], self.define(y, L.identity(len(self.shape(y)))), params, node.where)

    def _matmul_operand(self, name: str, swapped_first: bool, where: str) -> tuple[int, int]:
        """(tensor, adj) of a BATCH_MATMUL operand: stored as it is when its bytes are the plain or
        the last-two-swapped order, else moved into the preferred one (rhs: swapped, so the fast
        kernel reads its columns as rows)."""
        shape = self.shape(name)
        r = len(shape)
        plain, swapped = L.identity(r), (*range(r - 2), r - 1, r - 2)
        order = [(swapped, 1), (plain, 0)] if swapped_first else [(plain, 0), (swapped, 1)]
        st = self.stored[name]
        for perm, adj in order:
            if st.cols is None and L.same_bytes(shape, st.perm, perm):
                return self.need(name, perm, where), adj
        perm, adj = order[0]
        return self.need(name, perm, where), adj

    def _plain_input(self, node: Node) -> Stored:
        """The first input as stored, a column-permuted flatten un-permuted first."""
        x = node.inputs[0]
        st = self.stored[x]
        if st.cols is not None:
            perm = L.identity(len(self.shape(x)))
            return Stored(self.need(x, perm, node.where), perm)
        return st

    def _unary(self, node: Node, kernel: str, params: dict[str, int], extra: tuple[int, ...] = ()) -> None:
        st = self._plain_input(node)
        self.op(kernel, [st.index, *extra], self.define(node.outputs[0], st.perm), params, node.where)

    def lower_sigmoid(self, node: Node) -> None:
        self._logistic(node, "LOGISTIC")

    def lower_tanh(self, node: Node) -> None:
        self._logistic(node, "TANH")

    def _logistic(self, node: Node, kernel: str) -> None:
        try:
            if self.dt == "int16":  # TFLM's int16 LOGISTIC / TANH: a sigmoid table as input
                sx, sy = self.q_of(node.inputs[0])[0], self.q_of(node.outputs[0])[0]
                params = lut16.sigmoid16_params(sx, sy, kernel == "TANH")
            else:
                params = q.logistic_params(*self.q_of(node.inputs[0]))
        except ValueError as e:
            if self.dt == "int16" or not have_kernel("LOOKUP_TABLE"):
                self.problems.append(f"{node.where}: {e}")
                return
            # An input step the int8 kernel's fixed-point multiplier cannot hold (>= 8: a
            # squeeze-excite gate of a deep random-weight EfficientNetV2-L reaches +-3000). The
            # function of the 256 input values is still a table, rounded to nearest, in the
            # output quantization LOGISTIC/TANH would have used.
            tanh = kernel == "TANH"
            self._table_op(node, lambda xs: np.tanh(xs) if tanh else 0.5 * (1.0 + np.tanh(0.5 * xs)))
            return
        extra = ()
        if self.dt == "int16":
            extra = (self.g.add_const(f"{node.name}/sigmoid_table", lut16.sigmoid16_table()),)
        self._unary(node, kernel, params, extra)

    def lower_hard_swish(self, node: Node) -> None:
        try:
            params = q.hard_swish_params(*self.q_of(node.inputs[0]), *self.q_of(node.outputs[0]))
        except ValueError as e:
            if self.dt == "int16" or not have_kernel("LOOKUP_TABLE"):
                self.problems.append(f"{node.where}: {e}")
                return
            # Scales HARD_SWISH's fixed-point steps cannot hold (activations of 1e-7 and below,
            # which a randomly initialised MobileNetV3 reaches): the rounded function as a table.
            self._table_op(node, lambda xs: xs * np.clip(xs + 3.0, 0.0, 6.0) / 6.0)
            return
        self._unary(node, "HARD_SWISH", params)

    def lower_leaky_relu(self, node: Node) -> None:
        """int8: a LOOKUP_TABLE of the exactly rounded function. TFLM's LEAKY_RELU rounds twice
        on its alpha side (a multiplier below 0.5 -- s_in * alpha / s_out, nearly always --
        takes a right shift after the rounding doubling high multiply): on |x - zp| <= 255
        that biases the negative outputs by a quarter of a step, which pooling then
        accumulates (-1.7 dB against ORT QDQ on a PReLU conv stack)."""
        if self.dt == "int8" and have_kernel("LOOKUP_TABLE"):
            self._table_op(node, lambda xs: leaky_relu(node, xs)[0])
            return
        sx, zx = self.q_of(node.inputs[0])
        alpha = float(node.attrs.get("alpha", 0.01))
        try:
            params = q.leaky_relu_params(sx, zx, alpha, *self.q_of(node.outputs[0]))
        except ValueError as e:
            self.problems.append(f"{node.where}: {e}")
            return
        self._unary(node, "LEAKY_RELU", params)

    def lower_prelu(self, node: Node) -> None:
        """PRELU: the slopes an int8 constant in the input's layout (one slope: LeakyRelu, by
        canonicalize)."""
        x, s, y = node.inputs[0], node.inputs[1], node.outputs[0]
        if not self.fg.is_const(s):
            self.problems.append(f"{node.where}: the slope must be a constant")
            return
        st = self._plain_input(node)
        ai = self.const_operand(s, st.perm, len(self.shape(x)))
        at = self.g.tensors[ai]
        try:
            params = q.prelu_params(*self.q_of(x), at.scale, at.zero_point, *self.q_of(y))
        except ValueError as e:
            self.problems.append(f"{node.where}: {e}")
            return
        self.op("PRELU", [st.index, ai], self.define(y, st.perm), params, node.where)

    def lower_table(self, node: Node) -> None:
        """pq.Table (tables.py): the group's float function on the 256 values of x's int8
        quantization, quantized to y's: the LOOKUP_TABLE kernel's table."""
        self._table_op(node, lambda xs: run_table(node, xs)[0])

    def _table_op(self, node: Node, fn) -> None:
        """LOOKUP_TABLE of the float function `fn` of node's one input (int8)."""
        (sx, zx), (sy, zy) = self.q_of(node.inputs[0]), self.q_of(node.outputs[0])
        xs = ((np.arange(-128, 128, dtype=np.float64) - zx) * sx).astype(np.float32)
        with np.errstate(all="ignore"):
            ys = np.asarray(fn(xs)).astype(np.float64).reshape(-1)
        # Where the float function is not finite (log(0), an input outside its domain that the
        # calibration data never reached), the table saturates; NaN becomes 0.
        ys = np.nan_to_num(ys, nan=0.0, posinf=np.finfo(np.float32).max, neginf=np.finfo(np.float32).min)
        table = qp.quantize_activation(ys, sy, zy)
        st = self._plain_input(node)
        t = self.g.add_const(f"{node.outputs[0]}/table", table, [sy], [zy])
        self.op("LOOKUP_TABLE", [st.index, t], self.define(node.outputs[0], st.perm), {}, node.where)

    def lower_reduce_mean(self, node: Node) -> None:
        x, y = node.inputs[0], node.outputs[0]
        shape = self.shape(x)
        rank = len(shape)
        reduced = self._reduced_axes(node)
        if reduced is None:
            return
        keep = int(node.attrs.get("keepdims", 1))
        st = self._plain_input(node)
        mask = sum(1 << st.perm.index(a) for a in reduced)
        count = int(np.prod([shape[a] for a in reduced], dtype=np.int64))
        try:
            if node.op == "ReduceSum":  # MEAN without the 1/count: the sum rescaled by s_in / s_out
                params = q.mean_params(*self.q_of(x), *self.q_of(y), 1, self.dt)
                levels = 65536 if self.dt == "int16" else 256
                if (levels * count) << max(params["shift"], 0) >= 1 << 31:
                    raise ValueError(f"sum of {count} values overflows the MEAN kernel's accumulator")
            else:
                params = q.mean_params_once(*self.q_of(x), *self.q_of(y), count, self.dt)
        except ValueError as e:
            self.problems.append(f"{node.where}: {e}")
            return
        if keep:
            out_perm = st.perm
        else:  # drop the reduced axes and renumber the kept ones
            kept = [a for a in range(rank) if a not in reduced]
            out_perm = tuple(kept.index(a) for a in st.perm if a not in reduced)
        params.update(axis_mask=mask, keep_dims=keep)
        self.op("MEAN", [st.index], self.define(y, out_perm), params, node.where)
