"""Import a fully quantized int8 .tflite model into a picoq Graph.

The flatbuffer is read through the `tflite` package (generated schema
bindings), never decoded by hand. Scales and zero points are kept exactly as
the file has them; multipliers, shifts, padding and clamps are computed the way
TFLite Micro computes them in each kernel's Prepare, so the integer results
match TFLM byte for byte.

Float-interface models (a QUANTIZE after the float input, a DEQUANTIZE before
the float output, as TF's converter writes by default) are accepted: those
boundary ops are dropped and `Interpreter.run` does the same (de)quantization
in numpy at the API boundary.
"""

from __future__ import annotations

import numpy as np

from picoq.runtime.format import MAX_CONCAT_INPUTS

from . import quantize as q
from .graph import ConversionError, Graph, Op, Tensor

# tflite TensorType codes -> numpy dtypes (only those we can read constants of).
_TFL_DTYPES = {
    0: "float32",
    1: "float16",
    2: "int32",
    3: "uint8",
    4: "int64",
    6: "bool",
    7: "int16",
    9: "int8",
    10: "float64",
}
_TFL_DTYPE_NAMES = {
    0: "FLOAT32",
    1: "FLOAT16",
    2: "INT32",
    3: "UINT8",
    4: "INT64",
    5: "STRING",
    6: "BOOL",
    7: "INT16",
    8: "COMPLEX64",
    9: "INT8",
    10: "FLOAT64",
    17: "INT4",
}
_ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}
SUPPORTED = (
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "FULLY_CONNECTED",
    "ADD",
    "AVERAGE_POOL_2D",
    "RESHAPE",
    "SOFTMAX",
    "MAX_POOL_2D",
    "MUL",
    "MEAN",
    "CONCATENATION",
    "PAD",
    "PADV2",
    "LOGISTIC",
    "TANH",
    "HARD_SWISH",
    "LEAKY_RELU",
    "TRANSPOSE",
)


def _tflite():
    try:
        import tflite
    except ImportError as e:  # the runtime installs without it
        raise ImportError("reading .tflite needs the `tflite` package: pip install 'picoq[converter]'") from e
    return tflite


def _op_names(tflite) -> dict[int, str]:
    return {
        v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_") and isinstance(v, int)
    }


class _Reader:
    """One pass over the flatbuffer: collects every problem before raising."""

    def __init__(self, buf: bytes):
        self.tfl = _tflite()
        self.buf = buf
        try:
            if len(buf) < 8 or buf[4:8] != b"TFL3":
                raise ValueError("missing the TFL3 file identifier")
            self.model = self.tfl.Model.GetRootAsModel(buf, 0)
            if self.model.SubgraphsLength() < 1:
                raise ValueError("no subgraph")
            self.sg = self.model.Subgraphs(0)
        except Exception as e:  # a corrupt flatbuffer can fail anywhere inside the bindings
            raise ConversionError([f"not a readable .tflite file: {e}"]) from e
        self.names = _op_names(self.tfl)
        self.problems: list[str] = []
        self.reported: set[tuple[int, str]] = set()
        self.graph = Graph(name="model")
        self.tmap: dict[int, int] = {}  # tflite tensor index -> graph tensor index

    # *** tensors ***

    def ttype(self, i: int) -> int:
        return self.sg.Tensors(i).Type()

    def tname(self, i: int) -> str:
        n = self.sg.Tensors(i).Name()
        return n.decode("utf-8", "replace") if n else f"tensor_{i}"

    def shape(self, i: int) -> tuple[int, ...]:
        t = self.sg.Tensors(i)
        return tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()

    def quant(self, i: int) -> tuple[np.ndarray, np.ndarray, int] | None:
        qp = self.sg.Tensors(i).Quantization()
        if qp is None or qp.ScaleLength() == 0:
            return None
        scales = qp.ScaleAsNumpy().astype(np.float32)
        zps = (
            qp.ZeroPointAsNumpy().astype(np.int64)
            if qp.ZeroPointLength()
            else np.zeros(scales.size, np.int64)
        )
        bad = ~np.isfinite(scales) | (scales < np.finfo(np.float32).tiny)
        if bad.any() or zps.size != scales.size:
            key = (i, "quant")
            if key not in self.reported:  # one message per tensor, however often it is read
                self.reported.add(key)
                self.problems.append(
                    f"tensor {self.tname(i)!r}: scales must be finite, positive and normal, one zero point"
                    f" each (got scales {scales[:4].tolist()}, {zps.size} zero points)"
                )
            return None
        return scales, zps, int(qp.QuantizedDimension())

    def const_data(self, i: int) -> np.ndarray | None:
        t = self.sg.Tensors(i)
        b = t.Buffer()
        if b <= 0 or b >= self.model.BuffersLength():
            return None
        buf = self.model.Buffers(b)
        dtype = _TFL_DTYPES.get(t.Type())
        if buf.DataLength() > 0:
            raw = buf.DataAsNumpy().tobytes()
        elif buf.Offset() > 1:  # models > 2 GB keep buffers after the flatbuffer
            raw = self.buf[buf.Offset() : buf.Offset() + buf.Size()]
        else:
            return None
        if dtype is None:
            return None
        shape = self.shape(i)
        count = int(np.prod(shape, dtype=np.int64))
        arr = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"))
        if arr.size != count:
            self.problems.append(
                f"tensor {self.tname(i)!r}: buffer holds {arr.size} values, shape {shape} needs {count}"
            )
            return None
        return arr.reshape(shape).astype(dtype)

    def activation(self, i: int, where: str) -> int:
        """Graph tensor for an int8 activation (per-tensor quantized)."""
        if i in self.tmap:
            return self.tmap[i]
        name = self.tname(i)
        if self.ttype(i) != 9:
            self.problems.append(
                f"{where}: tensor {name!r} is {_TFL_DTYPE_NAMES.get(self.ttype(i), self.ttype(i))}, not INT8"
            )
        qp = self.quant(i)
        scales = np.array([1.0], np.float32)
        zps = np.array([0], np.int32)
        if qp is None or qp[0].size != 1:
            if (i, "quant") not in self.reported:
                self.problems.append(f"{where}: activation {name!r} needs per-tensor quantization")
        elif not -128 <= int(qp[1][0]) <= 127:
            self.problems.append(f"{where}: activation {name!r} has zero point {int(qp[1][0])} outside int8")
        else:
            scales, zps = qp[0], qp[1].astype(np.int32)
        data = self.const_data(i)
        shape = self.shape(i)
        t = Tensor(name, shape, "int8", scales, zps, 0, None if data is None else data.astype(np.int8))
        self.tmap[i] = self.graph.add(t)
        return self.tmap[i]

    # *** operators ***

    def op_name(self, k: int) -> str:
        op = self.sg.Operators(k)
        code = self.model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == self.tfl.BuiltinOperator.CUSTOM:
            custom = code.CustomCode()
            return "CUSTOM:" + (custom.decode() if custom else "?")
        return self.names.get(builtin, f"BUILTIN_{builtin}")

    def options(self, op, cls_name: str):
        table = op.BuiltinOptions()
        cls = getattr(self.tfl, cls_name)
        opts = cls()
        if table is not None:
            opts.Init(table.Bytes, table.Pos)
            return opts
        return None


def _ensure(cond: bool, problems: list[str], msg: str) -> bool:
    if not cond:
        problems.append(msg)
    return cond


def load_tflite(source: str | bytes) -> Graph:
    """Read an int8 .tflite (path or bytes) into a Graph; raises ConversionError listing every problem."""
    if isinstance(source, bytes | bytearray | memoryview):
        buf = bytes(source)
    else:
        with open(source, "rb") as f:
            buf = f.read()
    r = _Reader(buf)
    sg = r.sg
    n_ops = sg.OperatorsLength()
    op_names = [r.op_name(k) for k in range(n_ops)]

    # Boundary QUANTIZE (float in) / DEQUANTIZE (float out): drop them, keep the int8 side.
    graph_in = [int(v) for v in sg.InputsAsNumpy()] if sg.InputsLength() else []
    graph_out = [int(v) for v in sg.OutputsAsNumpy()] if sg.OutputsLength() else []
    skip: set[int] = set()
    for k in range(n_ops):
        op = sg.Operators(k)
        ins, outs = list(op.InputsAsNumpy()), list(op.OutputsAsNumpy())
        if (
            op_names[k] == "QUANTIZE"
            and ins[0] in graph_in
            and r.ttype(ins[0]) == 0
            and r.ttype(outs[0]) == 9
        ):
            graph_in[graph_in.index(ins[0])] = int(outs[0])
            skip.add(k)
        elif op_names[k] == "DEQUANTIZE" and outs[0] in graph_out and r.ttype(ins[0]) == 9:
            graph_out[graph_out.index(outs[0])] = int(ins[0])
            skip.add(k)

    unsupported = sorted(
        {
            f"{name} (op {k}, output {r.tname(int(sg.Operators(k).Outputs(0)))!r})"
            for k, name in enumerate(op_names)
            if k not in skip and name not in SUPPORTED
        }
    )
    if unsupported:
        raise ConversionError(
            [f"unsupported operator {u}" for u in unsupported],
            hint=f"picoq imports int8 .tflite models built from: {', '.join(SUPPORTED)}.",
        )

    for i in graph_in:
        r.activation(i, "graph input")
    for k in range(n_ops):
        if k in skip:
            continue
        _import_op(r, k, op_names[k])
    for i in graph_out:
        if i not in r.tmap:
            r.problems.append(f"graph output {r.tname(i)!r} is not produced by any supported op")
    if r.problems:
        raise ConversionError(r.problems, hint="picoq needs a fully int8-quantized model (TFLite int8 spec).")

    g = r.graph
    g.inputs = [r.tmap[i] for i in graph_in]
    g.outputs = [r.tmap[i] for i in graph_out]
    desc = r.model.Description()
    g.name = desc.decode("utf-8", "replace") if desc else "model"
    return g


def _weights(r: _Reader, i: int, where: str, axis: int) -> tuple[int, np.ndarray] | None:
    """An int8 symmetric weight tensor as a graph constant, plus its scales (per channel or 1)."""
    name = r.tname(i)
    data = r.const_data(i)
    qp = r.quant(i)
    ok = _ensure(r.ttype(i) == 9, r.problems, f"{where}: weights {name!r} must be INT8")
    ok &= _ensure(data is not None, r.problems, f"{where}: weights {name!r} must be a constant")
    ok &= _ensure(qp is not None, r.problems, f"{where}: weights {name!r} are not quantized")
    if not ok:
        return None
    scales, zps, qdim = qp
    if scales.size > 1 and qdim != axis:
        r.problems.append(f"{where}: weights {name!r} are quantized on axis {qdim}, picoq needs axis {axis}")
        return None
    if np.any(zps != 0):
        r.problems.append(f"{where}: weights {name!r} have non-zero zero points (int8 weights are symmetric)")
        return None
    if scales.size > 1 and scales.size != data.shape[axis]:
        r.problems.append(
            f"{where}: weights {name!r} have {scales.size} scales for {data.shape[axis]} channels"
        )
        return None
    idx = r.graph.add_const(name, data.astype(np.int8), scales, np.zeros(scales.size, np.int32), axis)
    return idx, scales


def _bias(r: _Reader, i: int, where: str, channels: int) -> int:
    if i < 0:
        return -1
    name = r.tname(i)
    data = r.const_data(i)
    if not _ensure(
        r.ttype(i) == 2 and data is not None, r.problems, f"{where}: bias {name!r} must be a constant INT32"
    ):
        return -1
    if not _ensure(
        data.size == channels, r.problems, f"{where}: bias {name!r} has {data.size} values, needs {channels}"
    ):
        return -1
    # No scale stored: a bias's scale is in_scale * w_scale[c] by the int8 spec.
    return r.graph.add_const(name, data.astype(np.int32).reshape(channels))


def _requant_consts(r: _Reader, prefix: str, mult: np.ndarray, shift: np.ndarray) -> tuple[int, int]:
    return (
        r.graph.add_const(prefix + "/multiplier", np.asarray(mult, np.int32)),
        r.graph.add_const(prefix + "/shift", np.asarray(shift, np.int32)),
    )


def _padding(r, where, padding, in_hw, k_hw, strides, dilations, out_hw) -> tuple[int, int] | None:
    pads = []
    for in_size, k, s, d, out in zip(in_hw, k_hw, strides, dilations, out_hw):
        if padding == 0:  # SAME
            expect, pad = q.same_padding(in_size, k, s, d)
        else:  # VALID
            expect, pad = q.valid_out(in_size, k, s, d), 0
        if expect != out:
            r.problems.append(f"{where}: output size {out} but the padding/stride/filter give {expect}")
            return None
        pads.append(pad)
    return pads[0], pads[1]


def _activation(r, where, code: int) -> str:
    act = _ACTIVATIONS.get(code, str(code))
    if act not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
        r.problems.append(f"{where}: fused activation {act} is not supported")
        return "NONE"
    return act


def _import_op(r: _Reader, k: int, name: str) -> None:
    sg = r.sg
    op = sg.Operators(k)
    ins = [int(v) for v in op.InputsAsNumpy()] if op.InputsLength() else []
    outs = [int(v) for v in op.OutputsAsNumpy()] if op.OutputsLength() else []
    where = f"op {k} {name}"
    n_problems = len(r.problems)
    if not outs or not ins or ins[0] < 0:
        r.problems.append(f"{where}: missing input or output tensors")
        return
    x = r.activation(ins[0], where)
    out_tfl = outs[0]
    y_shape = r.shape(out_tfl)
    # Output tensor created after the inputs, so that indices follow data flow.
    if len(r.problems) > n_problems:
        return
    xt = r.graph.tensors[x]

    def output() -> int:
        return r.activation(out_tfl, where)

    if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        depthwise = name == "DEPTHWISE_CONV_2D"
        o = r.options(op, "DepthwiseConv2DOptions" if depthwise else "Conv2DOptions")
        if len(ins) < 2 or o is None:
            r.problems.append(f"{where}: needs a filter and options")
            return
        w = _weights(r, ins[1], where, axis=3 if depthwise else 0)
        if w is None or len(xt.shape) != 4 or len(y_shape) != 4:
            _ensure(w is None, r.problems, f"{where}: input and output must be 4-D NHWC")
            return
        w_idx, w_scales = w
        wt = r.graph.tensors[w_idx]
        channels = wt.shape[3] if depthwise else wt.shape[0]
        y = output()
        yt = r.graph.tensors[y]
        strides = (o.StrideH(), o.StrideW())
        dil = (o.DilationHFactor(), o.DilationWFactor())
        if min(*strides, *dil) < 1:
            r.problems.append(f"{where}: strides {strides} and dilations {dil} must be >= 1")
            return
        pads = _padding(r, where, o.Padding(), xt.shape[1:3], wt.shape[1:3], strides, dil, yt.shape[1:3])
        if pads is None:
            return
        bias = _bias(r, ins[2] if len(ins) > 2 else -1, where, channels)
        mult, shift = q.conv_multipliers(xt.scale, np.broadcast_to(w_scales, (channels,)), yt.scale)
        m_idx, s_idx = _requant_consts(r, yt.name, mult, shift)
        lo, hi = q.activation_range(
            _activation(r, where, o.FusedActivationFunction()), yt.scale, yt.zero_point
        )
        params = {
            "stride_h": strides[0],
            "stride_w": strides[1],
            "dilation_h": dil[0],
            "dilation_w": dil[1],
            "pad_h": pads[0],
            "pad_w": pads[1],
            "input_offset": -xt.zero_point,
            "output_offset": yt.zero_point,
            "act_min": lo,
            "act_max": hi,
        }
        if depthwise:
            in_c = xt.shape[3]
            if channels % in_c:
                r.problems.append(
                    f"{where}: {channels} output channels is not a multiple of {in_c} input channels"
                )
                return
            params["depth_multiplier"] = channels // in_c
        r.graph.ops.append(Op(name, [x, w_idx, bias, m_idx, s_idx], [y], params, where))

    elif name == "FULLY_CONNECTED":
        o = r.options(op, "FullyConnectedOptions")
        if len(ins) < 2:
            r.problems.append(f"{where}: needs a filter")
            return
        if o is not None and o.WeightsFormat() != 0:
            r.problems.append(f"{where}: shuffled weights format is not supported")
            return
        w = _weights(r, ins[1], where, axis=0)
        if w is None:
            return
        w_idx, w_scales = w
        wt = r.graph.tensors[w_idx]
        if len(wt.shape) != 2:
            r.problems.append(f"{where}: filter must be 2-D, got {wt.shape}")
            return
        out_depth = wt.shape[0]
        y = output()
        yt = r.graph.tensors[y]
        # One (multiplier, shift) for per-tensor weights, one per output channel otherwise; both
        # in double, which is what tflite-micro computes (measured: the float32 product
        # in_s*w_s of TFLite's GetQuantizedConvolutionMultipler gives 3 wrong bytes in 200
        # inputs of MLPerf Tiny AD, double gives 0 in 600).
        mult, shift = q.conv_multipliers(xt.scale, w_scales, yt.scale)
        bias = _bias(r, ins[2] if len(ins) > 2 else -1, where, out_depth)
        m_idx, s_idx = _requant_consts(r, yt.name, mult, shift)
        act = _activation(r, where, o.FusedActivationFunction() if o is not None else 0)
        lo, hi = q.activation_range(act, yt.scale, yt.zero_point)
        params = {
            "input_offset": -xt.zero_point,
            "filter_offset": 0,
            "output_offset": yt.zero_point,
            "act_min": lo,
            "act_max": hi,
            "per_channel": int(w_scales.size > 1),
        }
        r.graph.ops.append(Op(name, [x, w_idx, bias, m_idx, s_idx], [y], params, where))

    elif name == "ADD":
        o = r.options(op, "AddOptions")
        if len(ins) != 2:
            r.problems.append(f"{where}: needs two inputs")
            return
        b = r.activation(ins[1], where)
        if len(r.problems) > n_problems:
            return
        bt = r.graph.tensors[b]
        y = output()
        yt = r.graph.tensors[y]
        params = q.add_params(xt.scale, xt.zero_point, bt.scale, bt.zero_point, yt.scale, yt.zero_point)
        act = _activation(r, where, o.FusedActivationFunction() if o is not None else 0)
        params["act_min"], params["act_max"] = q.activation_range(act, yt.scale, yt.zero_point)
        r.graph.ops.append(Op(name, [x, b], [y], params, where))

    elif name in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        o = r.options(op, "Pool2DOptions")
        if o is None or len(xt.shape) != 4 or len(y_shape) != 4:
            r.problems.append(f"{where}: needs options and 4-D NHWC tensors")
            return
        y = output()
        yt = r.graph.tensors[y]
        _same_quant(r, where, xt, yt)
        k_hw = (o.FilterHeight(), o.FilterWidth())
        strides = (o.StrideH(), o.StrideW())
        if min(*k_hw, *strides) < 1:
            r.problems.append(f"{where}: filter {k_hw} and strides {strides} must be >= 1")
            return
        pads = _padding(r, where, o.Padding(), xt.shape[1:3], k_hw, strides, (1, 1), yt.shape[1:3])
        if pads is None:
            return
        lo, hi = q.activation_range(
            _activation(r, where, o.FusedActivationFunction()), yt.scale, yt.zero_point
        )
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
        r.graph.ops.append(Op(name, [x], [y], params, where))

    elif name == "RESHAPE":
        y = output()
        yt = r.graph.tensors[y]
        _same_quant(r, where, xt, yt)
        if int(np.prod(yt.shape)) != int(np.prod(xt.shape)):
            r.problems.append(f"{where}: reshape of {xt.shape} to {yt.shape} changes the element count")
            return
        if xt.is_const:  # fold: a reshaped constant is a constant
            yt.data = xt.data.reshape(yt.shape)
            return
        r.graph.ops.append(Op(name, [x], [y], {}, where))

    elif name == "SOFTMAX":
        o = r.options(op, "SoftmaxOptions")
        y = output()
        yt = r.graph.tensors[y]
        if abs(yt.scale - 1.0 / 256) > 1e-9 or yt.zero_point != -128:
            r.problems.append(
                f"{where}: int8 softmax output must have scale 1/256 and zero point -128,"
                f" got {yt.scale} and {yt.zero_point}"
            )
            return
        beta = o.Beta() if o is not None else 1.0
        r.graph.ops.append(Op(name, [x], [y], q.softmax_params(beta, xt.scale), where))

    else:
        _import_more(r, name, op, ins, x, out_tfl, where, n_problems)


# *** MUL, MEAN, CONCATENATION, PAD/PADV2, LOGISTIC, TANH, HARD_SWISH, LEAKY_RELU, TRANSPOSE ***


def _int_operand(r: _Reader, i: int, where: str, what: str) -> np.ndarray | None:
    """A constant INT32/INT64 operand (axes, paddings, permutation) as int64 values."""
    data = r.const_data(i) if i >= 0 else None
    if data is None or r.ttype(i) not in (2, 4):
        r.problems.append(f"{where}: {what} must be a constant INT32 or INT64 tensor")
        return None
    return np.asarray(data, np.int64)


def _params_or_problem(r: _Reader, where: str, fn, *args) -> dict[str, int] | None:
    """Run a quantize.py parameter function; a scale it cannot represent becomes a problem."""
    try:
        return fn(*args)
    except ValueError as e:
        r.problems.append(f"{where}: {e}")
        return None


def _import_more(
    r: _Reader, name: str, op, ins: list[int], x: int, out_tfl: int, where: str, n_problems: int
) -> None:
    xt = r.graph.tensors[x]
    rank = len(xt.shape)

    if name == "MUL":
        o = r.options(op, "MulOptions")
        if len(ins) != 2:
            r.problems.append(f"{where}: needs two inputs")
            return
        b = r.activation(ins[1], where)
        if len(r.problems) > n_problems:
            return
        bt = r.graph.tensors[b]
        y = r.activation(out_tfl, where)
        yt = r.graph.tensors[y]
        params = _params_or_problem(
            r, where, q.mul_params, xt.scale, xt.zero_point, bt.scale, bt.zero_point, yt.scale, yt.zero_point
        )
        if params is None:
            return
        act = _activation(r, where, o.FusedActivationFunction() if o is not None else 0)
        params["act_min"], params["act_max"] = q.activation_range(act, yt.scale, yt.zero_point)
        r.graph.ops.append(Op(name, [x, b], [y], params, where))

    elif name == "MEAN":
        o = r.options(op, "ReducerOptions")
        axes = _int_operand(r, ins[1] if len(ins) > 1 else -1, where, "the axis operand")
        if axes is None:
            return
        if rank < 1 or np.any((axes < -rank) | (axes >= rank)):
            r.problems.append(f"{where}: axes {axes.tolist()} out of range for rank {rank}")
            return
        reduced = sorted({int(a) % rank for a in axes.ravel()})
        keep = bool(o.KeepDims()) if o is not None else False
        y = r.activation(out_tfl, where)
        yt = r.graph.tensors[y]
        want = tuple(1 if d in reduced else n for d, n in enumerate(xt.shape))
        if not keep:
            want = tuple(n for d, n in enumerate(xt.shape) if d not in reduced)
        if yt.shape != want:
            r.problems.append(f"{where}: output shape {yt.shape}, the mean over axes {reduced} gives {want}")
            return
        count = int(np.prod([xt.shape[d] for d in reduced], dtype=np.int64))
        params = _params_or_problem(
            r, where, q.mean_params, xt.scale, xt.zero_point, yt.scale, yt.zero_point, count
        )
        if params is None:
            return
        params["axis_mask"] = sum(1 << d for d in reduced)
        params["keep_dims"] = int(keep)
        r.graph.ops.append(Op(name, [x], [y], params, where))

    elif name == "CONCATENATION":
        o = r.options(op, "ConcatenationOptions")
        if o is None:
            r.problems.append(f"{where}: needs ConcatenationOptions")
            return
        if o.FusedActivationFunction() != 0:
            r.problems.append(f"{where}: a fused activation on CONCATENATION is not supported (nor by TFLM)")
            return
        xs = [x] + [r.activation(i, where) for i in ins[1:]]
        if len(xs) > MAX_CONCAT_INPUTS:
            r.problems.append(f"{where}: {len(xs)} inputs, picoq concatenates at most {MAX_CONCAT_INPUTS}")
            return
        if len(r.problems) > n_problems:
            return
        y = r.activation(out_tfl, where)
        yt = r.graph.tensors[y]
        out_rank = len(yt.shape)
        axis = o.Axis() + out_rank if o.Axis() < 0 else o.Axis()
        shapes = [r.graph.tensors[t].shape for t in xs]
        if not 0 <= axis < out_rank or any(
            len(s) != out_rank or any(a != b for d, (a, b) in enumerate(zip(s, yt.shape)) if d != axis)
            for s in shapes
        ):
            r.problems.append(f"{where}: inputs {shapes} do not concatenate to {yt.shape} on axis {o.Axis()}")
            return
        if sum(s[axis] for s in shapes) != yt.shape[axis]:
            r.problems.append(f"{where}: inputs {shapes} do not concatenate to {yt.shape} on axis {axis}")
            return
        rows = []
        for t in xs:
            tt = r.graph.tensors[t]
            try:
                rows.append(q.concat_requant_row(tt.scale, tt.zero_point, yt.scale))
            except ValueError as e:
                r.problems.append(f"{where}: input {tt.name!r}: {e}")
                return
        table = r.graph.add_const(yt.name + "/requant", np.array(rows, np.int32).reshape(len(xs), 3))
        r.graph.ops.append(Op(name, [*xs, table], [y], {"axis": axis, "output_offset": yt.zero_point}, where))

    elif name in ("PAD", "PADV2"):
        pads = _int_operand(r, ins[1] if len(ins) > 1 else -1, where, "the paddings operand")
        if pads is None:
            return
        if not 1 <= rank <= 6 or pads.shape != (rank, 2) or pads.min() < 0:
            r.problems.append(f"{where}: paddings {pads.tolist()} must be [{rank}, 2] and >= 0 (rank <= 6)")
            return
        y = r.activation(out_tfl, where)
        yt = r.graph.tensors[y]
        _same_quant(r, where, xt, yt)
        if yt.shape != tuple(int(d + a + b) for d, (a, b) in zip(xt.shape, pads)):
            r.problems.append(f"{where}: output shape {yt.shape} is not {xt.shape} padded by {pads.tolist()}")
            return
        value = yt.zero_point
        if name == "PADV2" and len(ins) > 2 and ins[2] >= 0:
            c = r.const_data(ins[2])
            cq = r.quant(ins[2])
            if c is None or r.ttype(ins[2]) != 9 or c.size != 1:
                r.problems.append(f"{where}: the constant operand must be one constant INT8 value")
                return
            if cq is None or cq[0].size != 1 or float(cq[0][0]) != yt.scale or int(cq[1][0]) != yt.zero_point:
                r.problems.append(f"{where}: the constant operand must share the output's quantization")
                return
            value = int(c.ravel()[0])
        params = {"pad_value": value}
        for d in range(6):
            a, b = (int(v) for v in pads[d]) if d < rank else (0, 0)
            params[f"before_{d}"], params[f"after_{d}"] = a, b
        r.graph.ops.append(Op("PAD", [x], [y], params, where))

    elif name in ("LOGISTIC", "TANH"):
        y = r.activation(out_tfl, where)
        yt = r.graph.tensors[y]
        want_scale, want_zp = (1.0 / 256, -128) if name == "LOGISTIC" else (1.0 / 128, 0)
        if abs(yt.scale - want_scale) > 1e-9 or yt.zero_point != want_zp:
            r.problems.append(
                f"{where}: int8 {name} output must have scale {want_scale} and zero point {want_zp},"
                f" got {yt.scale} and {yt.zero_point}"
            )
            return
        if xt.shape != yt.shape:
            r.problems.append(f"{where}: output shape {yt.shape} differs from the input's {xt.shape}")
            return
        params = _params_or_problem(r, where, q.logistic_params, xt.scale, xt.zero_point)
        if params is not None:
            r.graph.ops.append(Op(name, [x], [y], params, where))

    elif name in ("HARD_SWISH", "LEAKY_RELU"):
        y = r.activation(out_tfl, where)
        yt = r.graph.tensors[y]
        if xt.shape != yt.shape:
            r.problems.append(f"{where}: output shape {yt.shape} differs from the input's {xt.shape}")
            return
        if name == "HARD_SWISH":
            params = _params_or_problem(
                r, where, q.hard_swish_params, xt.scale, xt.zero_point, yt.scale, yt.zero_point
            )
        else:
            o = r.options(op, "LeakyReluOptions")
            alpha = o.Alpha() if o is not None else 0.0  # TFLite leaves alpha 0 without options
            params = _params_or_problem(
                r, where, q.leaky_relu_params, xt.scale, xt.zero_point, alpha, yt.scale, yt.zero_point
            )
        if params is not None:
            r.graph.ops.append(Op(name, [x], [y], params, where))

    elif name == "TRANSPOSE":
        perm = _int_operand(r, ins[1] if len(ins) > 1 else -1, where, "the permutation operand")
        if perm is None:
            return
        perm = [int(p) + rank if p < 0 else int(p) for p in perm.ravel()]
        if not 1 <= rank <= 6 or sorted(perm) != list(range(rank)):
            r.problems.append(f"{where}: {perm} is not a permutation of {rank} axes (rank <= 6)")
            return
        y = r.activation(out_tfl, where)
        yt = r.graph.tensors[y]
        _same_quant(r, where, xt, yt)
        if yt.shape != tuple(xt.shape[p] for p in perm):
            r.problems.append(f"{where}: output shape {yt.shape} is not {xt.shape} permuted by {perm}")
            return
        params = {f"perm_{d}": perm[d] if d < rank else 0 for d in range(6)}
        r.graph.ops.append(Op(name, [x], [y], params, where))


def _same_quant(r: _Reader, where: str, a: Tensor, b: Tensor) -> None:
    """Data-movement ops keep quantization (TFLite int8 spec; TFLM pools allow |ds| <= 1e-6)."""
    if abs(a.scale - b.scale) > 1e-6 or a.zero_point != b.zero_point:
        r.problems.append(
            f"{where}: output quantization ({b.scale}, {b.zero_point}) differs from the input's"
            f" ({a.scale}, {a.zero_point})"
        )
