"""Lower a calibrated FloatGraph (ONNX semantics, NCHW) to the int8 picoq Graph (NHWC kernels).

Quantization: activations asymmetric int8 per tensor from their calibrated ranges;
weights symmetric int8 per output channel (or per tensor); int32 biases; multipliers
and shifts precomputed the way TFLite Micro computes them (quantize.py). Data-movement
ops (reshapes, transposes, windowed pools, pad, concat) keep their input's quantization,
so their inputs and outputs share one range (global average pooling runs as MEAN, with
its own); a Concat's inputs share its output's range while that costs no tensor more than
SHARE_GROWTH times its own range, else the CONCATENATION requantizes them; SOFTMAX and
LOGISTIC outputs are fixed at (1/256, -128), TANH at (1/128, 0).

Layout: every tensor keeps the source model's logical shape and a layout (layout.py);
convolutions and pools read and write NHWC, everything else takes its input's layout,
and each graph input and output is stored in the source layout, so a converted NCHW
model takes and returns NCHW arrays. Where a kernel needs another layout than the one a
tensor has, a RESHAPE (only size-1 axes move) or a TRANSPOSE op is inserted; a
Flatten/Reshape feeding only FULLY_CONNECTED layers costs nothing: the weights' columns
are permuted instead.

Ops without a kernel (pq.Affine: BatchNorm, scalar/per-channel Mul and Add, a Relu that
cannot be fused, HardSigmoid) run as a 1x1 DEPTHWISE_CONV_2D whose per-channel weight and
bias are the affine's scale and shift.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from picoq.runtime import format as fmt

from . import layout as L
from . import qparams as qp
from .fgraph import FloatGraph, Node
from .graph import Graph, Op, Tensor
from .lower_movement import MovementOps
from .lower_ops import ComputeOps, Stored, avg_pool_is_depthwise, have_kernel
from .lut16 import requantize_params
from .onnx_rules import RULES, UNSUPPORTED_HINT, rule_of
from .precision import Precision


def kernel_problem(node: Node) -> str | None:
    """Why no picoq kernel can run `node`, or None."""
    if "_problem" in node.attrs:  # recorded by a pass that could not rewrite the node
        return node.attrs["_problem"]
    rule = rule_of(node.op)
    if rule.role == "fold":
        return f"{node.where}: computes on activations; picoq supports it only on constants"
    if rule.kernel is None:
        return f"{node.where}: not supported {rule.not_lowered}".rstrip()
    if not have_kernel(rule.kernel):
        return f"{node.where}: needs the {rule.kernel} kernel, which this picoq runtime does not have"
    return None


def _gather_is_slice(fg: FloatGraph, node: Node) -> bool:
    """Whether lower_gather makes this Gather a SLICE: constant indices, one run of them."""
    idx = fg.const(node.inputs[1])
    if idx is None or np.asarray(idx).ndim > 1 or np.asarray(idx).size == 0:
        return False
    n = fg.shapes[node.inputs[0]][int(node.attrs.get("axis", 0)) % len(fg.shapes[node.inputs[0]])]
    flat = np.asarray(idx, np.int64).reshape(-1) % n
    return bool(np.array_equal(flat, np.arange(flat[0], flat[0] + flat.size)))


def check_lowerable(fg: FloatGraph) -> None:
    """Lower the graph once with placeholder ranges, before calibrating: every op maps to a
    kernel and every attribute is one picoq supports (one error lists every problem)."""
    placeholder = {t: (-1.0, 1.0) for t in [*fg.inputs, *fg.shapes] if not fg.is_const(t)}
    Lowering(fg, placeholder).run()


# int16 activations widen each calibrated range by this factor: data the calibration never saw
# (a test input's larger output, say) then stays inside the range instead of clipping, at the
# price of 1.9 dB of a resolution that 16 bits have to spare (weights are int8).
INT16_HEADROOM = 1.25

# A Concat input joins its output's quantization group (the CONCATENATION then copies it) while
# no tensor of either group sees its range grow more than this many times (2 bits of its int8
# resolution). Sharing is transitive (a max pool shares its input's range), so without a bound
# an Inception module chain whose activations grow module by module put every module on the
# last one's range: a randomly initialised Inception-v3 lost 2.1 dB against onnxruntime (now
# +0.3). 2 split DenseNet's blocks (-1.5 dB); 3, 4 and 8 measured the same.
SHARE_GROWTH = 4.0


class Lowering(ComputeOps, MovementOps):
    """One FloatGraph -> one int8 Graph: quantization parameters, tensors and layouts here, the
    per-op lowering methods in lower_ops.py (compute) and lower_movement.py (data movement),
    found through each op's onnx_rules row."""

    def __init__(
        self,
        fg: FloatGraph,
        ranges: dict[str, tuple[float, float]],
        per_channel: bool = True,
        precision: Precision | None = None,
    ):
        self.fg = fg
        self.per_channel = per_channel
        self.precision = precision or Precision()
        self.act_dtype = self.precision.activations  # "int8", or "int16" for the whole model (16x8)
        self.g = Graph(name=fg.name)
        self.problems: list[str] = []
        self.stored: dict[str, Stored] = {}
        self.variants: dict[tuple[str, tuple[int, ...]], int] = {}
        # picoq tensor -> (ONNX tensor, layout, column order or None): what `picoq compare` matches
        self.layouts: dict[int, tuple[str, tuple[int, ...], np.ndarray | None]] = {}
        self.consumers = fg.consumers()
        self.dt = self.act_dtype  # the dtype of the node being lowered (node_dtype)
        self._feeds: dict[str, bool] = {}  # _feeds_recurrent's answers by output tensor
        self._follows: dict[str, bool] = {}  # _follows_recurrent's, likewise
        self.producer = {o: n for n in fg.nodes for o in n.outputs}
        self._assign_qparams(ranges)

    # *** quantization parameters ***

    def _assign_qparams(self, ranges) -> None:
        """Group the tensors that share quantization (same / same_all ops) and record each
        group's range or fixed parameters; q_of turns them into parameters for a dtype."""
        parent: dict[str, str] = {}
        span_of: dict[str, tuple[float, float]] = {}  # root -> its group's range so far
        size: dict[str, int] = {}  # root -> its group's tensors
        narrow: dict[str, float] = {}  # root -> the narrowest range of a tensor in its group

        def find(t: str) -> str:
            while parent.get(t, t) != t:
                t = parent[t]
            return t

        def group_range(r: str) -> tuple[float, float]:
            return span_of.get(r, ranges.get(r, (0.0, 0.0)))

        def union(a: str, b: str) -> None:
            ra, rb = find(a), find(b)
            if ra != rb:
                (la, ha), (lb, hb) = group_range(ra), group_range(rb)
                parent[ra] = rb
                span_of[rb] = (min(la, lb), max(ha, hb))
                size[rb] = size.get(rb, 1) + size.get(ra, 1)
                narrow[rb] = min(narrowest(ra), narrowest(rb))

        def width(r: tuple[float, float]) -> float:
            return max(r[1], 0.0) - min(r[0], 0.0)

        def narrowest(r: str) -> float:
            if r in narrow:
                return narrow[r]
            w = width(ranges.get(r, (0.0, 0.0)))
            return w if w > 0 else float("inf")

        def joins(a: str, y: str) -> bool:
            """Whether Concat input a takes the output's quantization (else CONCATENATION
            requantizes it): always when a's group is a alone (its one rounding then lands on
            the output's grid, where a requantization would round it again); else only while
            no member of either group sees its range grow more than SHARE_GROWTH times."""
            ra, ry = find(a), find(y)
            if ra == ry or size.get(ra, 1) == 1:
                return True
            (la, ha), (ly, hy) = group_range(ra), group_range(ry)
            merged = width((min(la, ly), max(ha, hy)))
            return merged <= SHARE_GROWTH * min(narrowest(ra), narrowest(ry))

        fixed: dict[str, tuple[float, int]] = {}
        concats = []
        for node in self.fg.nodes:  # first the unions the kernels need (same qparams in and out)
            rule = rule_of(node.op)
            clamped = "clamp" in node.attrs
            if rule.quant == "same_all":
                concats.append(node)
            elif (
                rule.quant == "same"
                or (rule.quant == "same_if_clamped" and clamped)
                or (rule.quant == "same_if_pooled" and not self._pool_is_depthwise(node))
            ):
                a = node.inputs[0]
                if a and not self.fg.is_const(a):
                    union(a, node.outputs[0])
            if rule.fixed_qparams is not None:
                fixed[node.outputs[0]] = rule.fixed_qparams
        for node in concats:  # then the ones a copy instead of a requantization would like
            for a in node.inputs:
                if a and not self.fg.is_const(a) and joins(a, node.outputs[0]):
                    union(a, node.outputs[0])
        self._own = dict(ranges)  # each tensor's calibrated range, before any sharing
        self._root = {t: find(t) for t in ranges}
        self._range: dict[str, tuple[float, float]] = {}
        for t, (lo, hi) in ranges.items():
            r = self._root[t]
            old = self._range.get(r, (0.0, 0.0))
            self._range[r] = (min(old[0], lo), max(old[1], hi))
        self._fixed = {find(t): f for t, f in fixed.items()}
        self._qcache: dict[tuple[str, str], tuple[float, int]] = {}

    def _pool_is_depthwise(self, node: Node) -> bool:
        return avg_pool_is_depthwise(node.attrs, self.fg.shapes[node.inputs[0]])

    def q_of(self, name: str) -> tuple[float, int]:
        """(scale, zero point) of activation `name` in the dtype of the node being lowered."""
        key = (name, self.dt)
        if key not in self._qcache:
            root = self._root[name]
            if root in self._fixed:  # 16x8: TFLM's int16 SOFTMAX / LOGISTIC / TANH output at 1/32768
                self._qcache[key] = self._fixed[root] if self.dt == "int8" else (1.0 / 32768, 0)
            else:
                lo, hi = self._range[self._root[name]]
                if self.dt == "int16":  # headroom for inputs beyond the calibration's range
                    lo, hi = lo * INT16_HEADROOM, hi * INT16_HEADROOM
                self._qcache[key] = qp.activation_qparams(lo, hi, self.dt)
        return self._qcache[key]

    def same_qparams(self, alias: str, name: str) -> None:
        """Tensor `alias` (a view the lowering made) is quantized as `name` is."""
        self._root[alias] = self._root[name]

    def has_qparams(self, name: str) -> bool:
        return name in self._root

    # *** dtypes (16x8: int8 islands where an op has no int16 kernel) ***

    def node_dtype(self, node: Node) -> str:
        """int16 for a node of a 16x8 model whose kernel has a 16x8 variant, else int8."""
        if node.name in self.precision.int4:
            return "int8"  # int4 weights: TFLM and CMSIS-NN have no 16x4 kernels, an int8 island
        if self.act_dtype == "int8" and not (
            self.fg.is_recurrent(node)
            or self._feeds_recurrent(node)
            or self._follows_recurrent(node)
            or self._reads_recurrent(node)
            or self._pools_recurrent(node)
        ):
            return "int8"  # (an unrolled LSTM / GRU runs 16x8 in an int8 model, as in TFLM)
        kernel = rule_of(node.op).kernel
        if node.op == "Gather" and _gather_is_slice(self.fg, node):  # a SLICE (lower_gather)
            kernel = "SLICE"
        if kernel is None or kernel not in fmt.OPCODE_BY_NAME:
            return "int16"
        return "int16" if "s16" in fmt.OPS[fmt.OPCODE_BY_NAME[kernel]].variants else "int8"

    def _feeds_recurrent(self, node: Node) -> bool:
        """A data-movement node (Transpose, Reshape, ...: quant "same") whose every reader is an
        unrolled LSTM / GRU step or another such node: it moves the cell's input in int16, so
        the sequence is quantized once, at 16 bits, on its way in."""
        if not self.fg.recurrent or rule_of(node.op).quant != "same":
            return False
        key = node.outputs[0]  # one writer per tensor: a key names nodes with no name too
        if key not in self._feeds:
            readers = [c for o in node.outputs for c in self.consumers.get(o, [])]
            self._feeds[key] = (
                bool(readers)
                and not any(o in self.fg.outputs for o in node.outputs)
                and all(self.fg.is_recurrent(c) or self._feeds_recurrent(c) for c in readers)
            )
        return self._feeds[key]

    def _follows_recurrent(self, node: Node) -> bool:
        """A data-movement node (quant "same") reading an unrolled LSTM / GRU's output, or such a
        node's, and writing no graph output: it moves the cell's output in int16, so a model
        that keeps one step of the sequence (y[:, -1]) requantizes that step alone to int8, with
        its own calibrated range, not the whole sequence with the range of every step."""
        if not self.fg.recurrent or rule_of(node.op).quant != "same" or not node.inputs:
            return False
        key = node.outputs[0]
        if key not in self._follows:
            src = self.producer.get(node.inputs[0])
            self._follows[key] = (
                src is not None
                and not any(o in self.fg.outputs for o in node.outputs)
                and (self.fg.is_recurrent(src) or self._follows_recurrent(src))
            )
        return self._follows[key]

    def _reads_recurrent(self, node: Node) -> bool:
        """A FULLY_CONNECTED / MatMul (Gemm) whose data input is an LSTM / GRU's output (or
        data moved from it): it reads the cell's int16 output as it is, 16x8, rather than after
        a rounding to int8 that would add that rounding's noise to every one of its outputs
        (about a quarter of an int8 recurrent model's output noise). Its output is requantized
        to int8 for what follows."""
        if not self.fg.recurrent or node.op not in ("pq.Dense", "Gemm", "MatMul") or not node.inputs:
            return False
        if len(node.inputs) < 2 or not self.fg.is_const(node.inputs[1]):
            return False
        src = self.producer.get(node.inputs[0])
        return src is not None and (self.fg.is_recurrent(src) or self._follows_recurrent(src))

    def _pools_recurrent(self, node: Node) -> bool:
        """A Softmax over scores of an LSTM / GRU's steps (attention pooling over time): it runs
        16x8, its int16 output (1/32768) requantized for int8 readers to the range calibrated
        for it. int8's fixed 1/256 would leave weights of about 1/T a handful of levels (the
        pooled output 1.1 dB under ORT QDQ, which calibrates its softmax output range)."""
        if not self.fg.recurrent or node.op != "Softmax" or not node.inputs:
            return False
        src = self.producer.get(node.inputs[0])
        return src is not None and (
            self.fg.is_recurrent(src) or self._follows_recurrent(src) or self._reads_recurrent(src)
        )

    def _in_node_dtype(self, node: Node) -> Node:
        """The node reading its activation inputs in its own dtype (QUANTIZE ops where not)."""
        if self.act_dtype == "int8" and not self.fg.recurrent:
            return node
        quant = rule_of(node.op).quant
        own = quant not in ("same", "same_all", "same_if_clamped", "same_if_pooled") or (
            quant == "same_if_pooled" and self._pool_is_depthwise(node)
        )
        ins = [self._in_dtype(i, node.where, own) if i in self.stored else i for i in node.inputs]
        return node if ins == node.inputs else replace(node, inputs=ins)

    def _in_dtype(self, name: str, where: str, own_range: bool = False) -> str:
        """`name` (an ONNX activation) in the dtype of the node being lowered: itself, or its
        copy requantized by a QUANTIZE op (made once per dtype). `own_range` (a reader that
        requantizes its output anyway): an int16 recurrent output's int8 copy takes the range
        calibrated for `name` itself, which the int16 side shares with the whole sequence."""
        st = self.stored[name]
        if self.g.tensors[st.index].dtype == self.dt:
            return name
        alias = f"{name}@{self.dt}"
        if alias not in self.stored:
            src = self.g.tensors[st.index]
            self.fg.shapes[alias] = self.shape(name)
            self.same_qparams(alias, name)
            if own_range and self.dt == "int8" and self.act_dtype == "int8" and name in self._own:
                producer = self.producer.get(name)
                if producer is not None and (
                    self.fg.is_recurrent(producer)
                    or self._follows_recurrent(producer)
                    or self._reads_recurrent(producer)
                    or self._pools_recurrent(producer)
                ):
                    self._root[alias] = alias
                    self._range[alias] = self._own[name]
            idx = self.new_act(alias, src.shape, self.q_of(alias), name, st.perm)
            params = requantize_params(src.scale, src.zero_point, *self.q_of(alias))
            self.op("QUANTIZE", [st.index], idx, params, where)
            self.stored[alias] = Stored(idx, st.perm, st.cols, st.source)
        return alias

    # *** tensors and layouts ***

    def shape(self, name: str) -> tuple[int, ...]:
        return self.fg.shapes[name]

    def new_act(
        self,
        name: str,
        shape: tuple[int, ...],
        qparams: tuple[float, int],
        onnx_name: str = "",
        perm: tuple[int, ...] | None = None,
    ) -> int:
        scale, zp = qparams
        t = Tensor(
            name,
            tuple(int(d) for d in shape),
            self.dt,
            np.array([scale], np.float32),
            np.array([zp], np.int32),
        )
        idx = self.g.add(t)
        if onnx_name:
            self.layouts[idx] = (onnx_name, perm, None)
        return idx

    def define(self, name: str, perm: tuple[int, ...], qparams: tuple[float, int] | None = None) -> int:
        """Create the picoq tensor for ONNX tensor `name`, stored in layout `perm`."""
        shape = L.stored_shape(self.shape(name), perm)
        idx = self.new_act(name, shape, qparams or self.q_of(name), name, perm)
        self.stored[name] = Stored(idx, perm)
        return idx

    def op(self, name: str, inputs: list[int], output: int, params: dict[str, int], source: str) -> None:
        self.g.ops.append(Op(name, inputs, [output], params, source))

    def need(self, name: str, perm: tuple[int, ...] | None, where: str) -> int:
        """The picoq tensor holding ONNX tensor `name` in layout `perm` (None: as it is)."""
        if self.fg.is_const(name):
            return self.const_operand(name, perm or L.identity(len(self.shape(name))))
        name = self._in_dtype(name, where)
        st = self.stored[name]
        if st.cols is not None:  # un-permute a column-permuted flatten: reshape its source instead
            if perm is None:
                perm = st.perm
            key = (name, perm)
            if key not in self.variants:
                src = self.need(st.source, L.identity(len(self.shape(st.source))), where)
                idx = self.new_act(
                    f"{name}@{''.join(map(str, perm))}",
                    L.stored_shape(self.shape(name), perm),
                    self.q_of(name),
                    name,
                    perm,
                )
                self.op("RESHAPE", [src], idx, {}, where)
                self.variants[key] = idx
            return self.variants[key]
        if perm is None or perm == st.perm:
            return st.index
        key = (name, perm)
        if key in self.variants:
            return self.variants[key]
        shape = self.shape(name)
        idx = self.new_act(
            f"{name}@{''.join(map(str, perm))}", L.stored_shape(shape, perm), self.q_of(name), name, perm
        )
        if L.same_bytes(shape, st.perm, perm):
            self.op("RESHAPE", [st.index], idx, {}, where)
        elif have_kernel("TRANSPOSE"):
            self.transpose_op(st.index, idx, L.relative(st.perm, perm), where)
        else:
            self.problems.append(
                f"{where}: needs tensor {name!r} in layout {perm} but it is stored as {st.perm}, "
                "and this picoq runtime has no TRANSPOSE kernel"
            )
        self.variants[key] = idx
        return idx

    def transpose_op(self, src: int, dst: int, perm: tuple[int, ...], where: str) -> None:
        params = {f"perm_{i}": (perm[i] if i < len(perm) else 0) for i in range(fmt.MAX_DIMS)}
        self.op("TRANSPOSE", [src], dst, params, where)

    def const_operand(self, name: str, perm: tuple[int, ...], rank: int | None = None) -> int:
        """A constant used where an int8 activation goes (an ADD/MUL operand): its own range."""
        c = self.fg.consts[name].astype(np.float32)
        rank = rank or c.ndim
        c = c.reshape((1,) * (rank - c.ndim) + c.shape)
        key = (name, perm, self.dt)
        if key not in self.variants:
            scale, zp = qp.const_qparams(c, self.dt)
            data = qp.quantize_activation(np.transpose(c, perm), scale, zp, self.dt)
            self.variants[key] = self.g.add_const(name, data, [scale], [zp])
        return self.variants[key]

    def alias(self, name: str, src: Stored) -> None:
        self.stored[name] = Stored(src.index, src.perm, src.cols, src.source)

    # *** the graph ***

    def run(self) -> Graph:
        for name in self.fg.inputs:  # in the dtype of a consumer that runs int16, if any
            users = [self.node_dtype(n) for n in self.consumers.get(name, [])]
            # an int8 model's input is int16 only when it feeds nothing but an LSTM / GRU
            wide = "int16" in users if self.act_dtype == "int16" else bool(users) and set(users) == {"int16"}
            self.dt = "int16" if wide else "int8"
            idx = self.define(name, L.identity(len(self.shape(name))))
            self.g.inputs.append(idx)
        for node in self.fg.nodes:
            self.dt = self.node_dtype(node)
            n_problems = len(self.problems)
            problem = kernel_problem(node)
            if problem:
                self.problems.append(problem)
            else:
                RULES[node.op].lower(self, self._in_node_dtype(node))
            if len(self.problems) > n_problems:
                self._stand_in(node)
        self._outputs()
        for t in self.g.tensors:  # what the .picoq format can hold (the runtime's validator)
            if len(t.shape) > fmt.MAX_DIMS or not all(1 <= d <= fmt.MAX_DIM for d in t.shape):
                self.problems.append(
                    f"tensor {t.name!r} of shape {t.shape}: picoq tensors have at most {fmt.MAX_DIMS}"
                    f" dimensions, each in [1, {fmt.MAX_DIM}]"
                )
        foreign = any(rule_of(n.op).role == "foreign" for n in self.fg.nodes)
        self.fg.raise_problems(
            self.problems,
            hint=UNSUPPORTED_HINT
            if foreign
            else "Re-export the model without these ops or attributes, or replace them with supported ones"
            " (README: 'Float models').",
        )
        return self.g

    def _stand_in(self, node: Node) -> None:
        """Outputs for a node that could not be lowered, so that the nodes after it are checked
        too (the error lists every problem at once); never part of a converted model."""
        for name in node.outputs:
            if name and name not in self.stored and name in self.fg.shapes and self.has_qparams(name):
                self.define(name, L.identity(len(self.shape(name))))

    def layouts_by_name(self) -> dict[str, tuple[str, tuple[int, ...], np.ndarray | None]]:
        """picoq tensor name -> (ONNX tensor, layout, column order): how to find each stored
        tensor in the float model."""
        return {self.g.tensors[i].name: v for i, v in self.layouts.items()}

    def _outputs(self) -> None:
        used: set[int] = set(self.g.inputs)
        for name in self.fg.outputs:
            if name not in self.stored and not self.fg.is_const(name) and self.problems:
                continue  # not computed because of a problem already reported
            if self.fg.is_const(name) or name not in self.stored:
                self.problems.append(f"graph output {name!r} is a constant or not computed by supported ops")
                continue
            self.dt = self.g.tensors[self.stored[name].index].dtype  # as its producer stored it
            src = name
            producer = self.producer.get(name)
            if self.act_dtype == "int8" and producer is not None and self._reads_recurrent(producer):
                self.dt = "int8"  # a 16x8 head of an int8 model: its output leaves as int8
                src = self._in_dtype(name, f"graph output {name!r}", own_range=True)
            idx = self.need(src, L.identity(len(self.shape(name))), f"graph output {name!r}")
            t = self.g.tensors[idx]
            if idx in used:  # already an input or another output: give this one its own (aliased) tensor
                new = self.new_act(name, t.shape, self.q_of(name), name, L.identity(len(t.shape)))
                self.op("RESHAPE", [idx], new, {}, f"graph output {name!r}")
                idx = new
            elif t.name != name:  # the source layout's copy takes the output's name
                for other in self.g.tensors:
                    if other.name == name:
                        other.name = f"{name}@stored"
                t.name = name
            used.add(idx)
            self.g.outputs.append(idx)


def lower(
    fg: FloatGraph,
    ranges: dict[str, tuple[float, float]],
    per_channel: bool = True,
    precision: Precision | None = None,
) -> Graph:
    """The picoq Graph of a calibrated float graph (int8, or as `precision` says)."""
    return Lowering(fg, ranges, per_channel, precision).run()
