"""Mutated ONNX models for the converter fuzzer (tests/support/convert_fuzz.py).

`mutants(data, n, rng)` yields n hostile variants of one valid serialized ONNX model:

  ~80% structure-aware: the model is parsed once, each mutant is a copy with 1-3 edits of the
       protobuf (node inputs/outputs rewired, op types and attributes changed, initializer
       dims/types/data broken, graph IO shapes and types changed, nodes deleted, duplicated or
       reordered into cycles, opsets changed, Constant nodes with NaN/Inf, subgraphs added, ...);
  ~20% byte-level: bit flips, interesting bytes, truncation, insertion and chunk splicing on the
       serialized bytes (most fail to parse: cheap, and they test the decode boundary).

SOURCES holds the small valid models the fuzz tests start from (`zoo` touches most of the ops
picoq imports on an 8x8 input), with `calibration(name)` data shaped like their input.

    cd tests && python -m support.convert_fuzz onnx MODEL.onnx --calib CALIB.npy --mutants 1000
    cd tests && python -m support.onnx_mutate OUT_DIR     # writes the SOURCES as .onnx + .npy
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, helper, numpy_helper

# *** source models ***


def _w(rng: np.random.Generator, *shape: int, scale: float = 0.3) -> np.ndarray:
    return rng.normal(0, scale, shape).astype(np.float32)


def zoo() -> onnx.ModelProto:
    """One small NCHW model (1x3x8x8, opset 14) through most ops picoq imports, folds or fuses."""
    r = np.random.default_rng(7)
    n = helper.make_node
    i64 = np.int64
    inits = {
        "w1": _w(r, 8, 3, 3, 3),
        "b1": _w(r, 8, scale=0.1),
        "bn_g": r.uniform(0.6, 1.4, 8).astype(np.float32),
        "bn_b": _w(r, 8, scale=0.1),
        "bn_m": _w(r, 8, scale=0.1),
        "bn_v": r.uniform(0.5, 2.0, 8).astype(np.float32),
        "w2": _w(r, 8, 1, 3, 3),
        "zero": np.array(0.0, np.float32),
        "six": np.array(6.0, np.float32),
        "pads": np.array([0, 0, 1, 1, 0, 0, 1, 1], i64),
        "idx0": np.array(0, i64),
        "ax0": np.array([0], i64),
        "ax2": np.array([2], i64),
        "minus1": np.array([-1], i64),
        "two": np.array(2.0, np.float32),
        "fc_w": _w(r, 10, 16),
        "fc_b": _w(r, 10, scale=0.1),
        "mm_w": _w(r, 10, 6),
        "ch": _w(r, 1, 16, 1, 1),
    }
    nodes = [
        n("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        n("BatchNormalization", ["c1", "bn_g", "bn_b", "bn_m", "bn_v"], ["bn1"], name="bn1", epsilon=1e-3),
        n("Relu", ["bn1"], ["r1"], name="relu1"),
        n("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        n("Conv", ["p1", "w2"], ["c2"], name="dw", pads=[1, 1, 1, 1], group=8),
        n("Clip", ["c2", "zero", "six"], ["cl"], name="relu6"),
        n("HardSwish", ["cl"], ["hs"], name="hswish"),
        n("Add", ["hs", "p1"], ["a1"], name="residual"),
        n("Constant", [], ["half"], name="half", value=numpy_helper.from_array(np.array(0.5, np.float32))),
        n("Mul", ["a1", "half"], ["m1"], name="scale"),
        n("Sigmoid", ["m1"], ["sg"], name="sigmoid"),
        n("Mul", ["m1", "sg"], ["sw"], name="swish"),
        n("Pad", ["sw", "pads"], ["pd"], name="pad"),
        n("AveragePool", ["pd"], ["ap"], name="avgpool", kernel_shape=[3, 3]),
        n("LeakyRelu", ["ap"], ["lr"], name="leaky", alpha=0.1),
        n("Transpose", ["lr"], ["t1"], name="to_nhwc", perm=[0, 2, 3, 1]),
        n("Tanh", ["t1"], ["th"], name="tanh"),
        n("Transpose", ["th"], ["t2"], name="to_nchw", perm=[0, 3, 1, 2]),
        n("Concat", ["t2", "lr"], ["cc"], name="concat", axis=1),
        n("Mul", ["cc", "ch"], ["cm"], name="channel_scale"),
        n("Shape", ["cm"], ["sh"], name="shape"),
        n("Gather", ["sh", "idx0"], ["g0"], name="gather", axis=0),
        n("Unsqueeze", ["g0", "ax0"], ["u0"], name="unsqueeze0"),
        n("Concat", ["u0", "minus1"], ["newshape"], name="newshape", axis=0),
        n("GlobalAveragePool", ["cm"], ["gap"], name="gap"),
        n("Reshape", ["gap", "newshape"], ["fl"], name="reshape"),
        n("ReduceMean", ["cm"], ["rm"], name="mean", axes=[2, 3], keepdims=0),
        n("Div", ["fl", "two"], ["dv"], name="div"),
        n("Sub", ["dv", "rm"], ["sb"], name="sub"),
        n("Identity", ["sb"], ["idn"], name="identity"),
        n("Cast", ["idn"], ["ca"], name="cast", to=TensorProto.FLOAT),
        n("HardSigmoid", ["ca"], ["hsg"], name="hsigmoid", alpha=0.25, beta=0.5),
        n("Dropout", ["hsg"], ["dr"], name="dropout"),
        n("Unsqueeze", ["dr", "ax2"], ["us"], name="unsqueeze"),
        n("Squeeze", ["us", "ax2"], ["sq"], name="squeeze"),
        n("Gemm", ["sq", "fc_w", "fc_b"], ["gm"], name="fc", transB=1),
        n("MatMul", ["gm", "mm_w"], ["mm"], name="matmul"),
        n("Softmax", ["mm"], ["y"], name="softmax", axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "zoo",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 6])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)], producer_name="picoq-fuzz")
    onnx.checker.check_model(m)
    return m


def legacy() -> onnx.ModelProto:
    """Opset 10 attribute forms (Clip min/max, Squeeze axes, Pad pads, Softmax axis 1) on 1x4x6x6."""
    r = np.random.default_rng(8)
    n = helper.make_node
    nodes = [
        n("Pad", ["x"], ["p"], name="pad", pads=[0, 0, 1, 1, 0, 0, 1, 1], mode="constant", value=0.0),
        n("Conv", ["p", "w", "b"], ["c"], name="conv"),
        n("Clip", ["c"], ["r"], name="clip", min=0.0, max=6.0),
        n("MaxPool", ["r"], ["mp"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        n("GlobalAveragePool", ["mp"], ["g"], name="gap"),
        n("Squeeze", ["g"], ["s"], name="squeeze", axes=[2, 3]),
        n("Unsqueeze", ["s"], ["u"], name="unsqueeze", axes=[2]),
        n("Flatten", ["u"], ["f"], name="flatten", axis=1),
        n("Gemm", ["f", "fw", "fb"], ["gm"], name="fc", transB=1),
        n("Softmax", ["gm"], ["y"], name="softmax", axis=1),
    ]
    inits = {"w": _w(r, 8, 4, 3, 3), "b": _w(r, 8, scale=0.1), "fw": _w(r, 5, 8), "fb": _w(r, 5)}
    graph = helper.make_graph(
        nodes,
        "legacy",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 10)], producer_name="picoq-fuzz")
    m.ir_version = 5
    onnx.checker.check_model(m)
    return m


def _mlperf(name: str, layout: str) -> Callable[[], onnx.ModelProto]:
    def build() -> onnx.ModelProto:
        from .make_onnx_models import MODELS

        return MODELS[name](layout)

    return build


SOURCES: dict[str, Callable[[], onnx.ModelProto]] = {
    "zoo": zoo,
    "legacy": legacy,
    "ds_cnn_nhwc": _mlperf("ds_cnn", "nhwc"),
    "fc_autoencoder_nchw": _mlperf("fc_autoencoder", "nchw"),
    "resnet8_nchw": _mlperf("resnet8", "nchw"),
    "mobilenet_v1_025_nchw": _mlperf("mobilenet_v1_025", "nchw"),
}


def input_shape(m: onnx.ModelProto) -> tuple[int, ...]:
    dims = m.graph.input[0].type.tensor_type.shape.dim
    return (1, *(d.dim_value for d in dims[1:]))


def calibration(m: onnx.ModelProto, n: int = 4, seed: int = 0) -> np.ndarray:
    """n random samples (N, ...) shaped like the model's first input."""
    return np.random.default_rng(seed).normal(size=(n, *input_shape(m)[1:])).astype(np.float32)


# *** values mutations draw from ***

INTS = [0, 1, -1, 2, 3, -2, 7, 8, 64, 127, 128, 255, 256, 65535, 65536, 1 << 24, 1 << 31, (1 << 31) - 1,
        -(1 << 31), 1 << 32, 10**9, 1 << 40, (1 << 63) - 1, -(1 << 63)]  # fmt: skip
FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, 6.0, 1e-45, 1e-30, 1e30, 3.4e38, -3.4e38, math.inf, -math.inf, math.nan]
STRINGS = [b"", b"NOTSET", b"SAME_UPPER", b"SAME_LOWER", b"VALID", b"constant", b"reflect", b"edge",
           b"wrap", b"\xff\xfe", b"x" * 3000]  # fmt: skip
OPS = ["Conv", "Gemm", "MatMul", "BatchNormalization", "Relu", "Clip", "LeakyRelu", "HardSwish",
       "HardSigmoid", "Sigmoid", "Tanh", "Add", "Sub", "Mul", "Div", "AveragePool", "MaxPool",
       "GlobalAveragePool", "ReduceMean", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Transpose",
       "Concat", "Pad", "Softmax", "Identity", "Dropout", "Constant", "Shape", "Gather", "Cast", "Slice",
       "ConstantOfShape", "Neg", "Sqrt", "Range", "Expand"]  # fmt: skip
FOREIGN_OPS = ["Foo", "", "LSTM", "If", "Loop", "Scan", "Resize", "QuantizeLinear", "DequantizeLinear",
               "QLinearConv", "pq.Dense", "pq.Affine", "Einsum", "TopK", "conv"]  # fmt: skip
ATTRS = {
    "kernel_shape": "ints", "strides": "ints", "pads": "ints", "dilations": "ints", "group": "int",
    "auto_pad": "string", "ceil_mode": "int", "count_include_pad": "int", "axis": "int", "axes": "ints",
    "perm": "ints", "keepdims": "int", "noop_with_empty_axes": "int", "to": "int", "alpha": "float",
    "beta": "float", "epsilon": "float", "transA": "int", "transB": "int", "mode": "string",
    "allowzero": "int", "min": "float", "max": "float", "value": "tensor", "value_float": "float",
    "value_floats": "floats", "value_int": "int", "value_ints": "ints", "start": "int", "end": "int",
    "storage_order": "int", "clamp": "floats", "_opset": "int", "then_branch": "graph",
}  # fmt: skip
ELEM_TYPES = list(range(0, 26))
ATTR_TYPES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14]


class _Mutator:
    def __init__(self, base: onnx.ModelProto, rng: np.random.Generator):
        self.base = base
        self.rng = rng

    # *** helpers ***

    def pick(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def some_int(self) -> int:
        return int(self.pick(INTS)) if self.chance(0.7) else int(self.rng.integers(-4, 12))

    def names(self, m: onnx.ModelProto) -> list[str]:
        g = m.graph
        out = [v.name for v in (*g.input, *g.output, *g.initializer, *g.value_info)]
        out += [o for nd in g.node for o in nd.output]
        return out or ["x"]

    def weird_tensor(self, name: str = "") -> TensorProto:
        kind = int(self.rng.integers(9))
        if kind == 0:
            arr = np.array([math.nan, math.inf, -math.inf, 1.0], np.float32)
        elif kind == 1:
            arr = np.array(self.pick(FLOATS), np.float32)
        elif kind == 2:
            arr = np.zeros((0, 3), np.float32)
        elif kind == 3:
            arr = np.array(
                [self.some_int() % (1 << 63) for _ in range(int(self.rng.integers(1, 5)))], np.int64
            )
        elif kind == 4:
            arr = np.array([True, False])
        elif kind == 5:
            arr = self.rng.normal(
                size=tuple(int(d) for d in self.rng.integers(1, 5, self.rng.integers(0, 5)))
            )
            arr = arr.astype(np.float32)
        elif kind == 6:
            return helper.make_tensor(name, TensorProto.STRING, [2], [b"a", b"\xff"])
        elif kind == 7:  # dims promising far more data than present
            t = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=[1 << 20, 1 << 20])
            t.float_data.extend([1.0, 2.0])
            return t
        else:
            arr = np.array([1e30, -1e30], np.float64)
        return numpy_helper.from_array(arr, name)

    def weird_graph(self, depth: int = 0) -> onnx.GraphProto:
        g = onnx.GraphProto()
        if self.chance(0.5) and depth < 120:
            g.name = f"sub{depth}"
            nd = g.node.add()
            nd.op_type = self.pick(["If", "Loop", "Identity", "Relu"])
            nd.input.append("x")
            nd.output.append(f"o{depth}")
            if self.chance(0.8):
                a = nd.attribute.add()
                a.name, a.type = "then_branch", AttributeProto.GRAPH
                a.g.CopyFrom(self.weird_graph(depth + 1 + int(self.rng.integers(0, 30))))
        else:
            g.CopyFrom(self.base.graph)
        return g

    # *** mutations of the parsed model ***

    def node_io(self, m):
        g = m.graph
        if not g.node:
            return
        nd = self.pick(g.node)
        field = nd.input if (self.chance(0.75) or not nd.output) else nd.output
        choice = int(self.rng.integers(6))
        if choice == 0 and len(field):
            field[int(self.rng.integers(len(field)))] = self.pick(self.names(m))
        elif choice == 1 and len(field):
            field[int(self.rng.integers(len(field)))] = ""
        elif choice == 2 and len(field):
            field[int(self.rng.integers(len(field)))] = self.pick(["nope", "x ", "\u00e9", "a" * 2000, "0"])
        elif choice == 3:
            field.append(self.pick([*self.names(m), ""]))
        elif choice == 4 and len(field):
            del field[int(self.rng.integers(len(field)))]
        elif len(nd.input) and len(nd.output):  # read its own output
            nd.input[int(self.rng.integers(len(nd.input)))] = nd.output[0]

    def op_type(self, m):
        if not m.graph.node:
            return
        nd = self.pick(m.graph.node)
        r = self.rng.random()
        if r < 0.75:
            nd.op_type = self.pick(OPS)
        elif r < 0.93:
            nd.op_type = self.pick(FOREIGN_OPS)
        else:
            nd.domain = self.pick(["ai.onnx", "com.microsoft", "ai.onnx.ml", "x"])

    def _set_attr_value(self, a: AttributeProto, kind: str):
        a.ClearField("i"), a.ClearField("f"), a.ClearField("s")
        del a.ints[:], a.floats[:], a.strings[:]
        if kind == "int":
            a.type, a.i = AttributeProto.INT, self.some_int()
        elif kind == "float":
            a.type, a.f = AttributeProto.FLOAT, self.pick(FLOATS)
        elif kind == "string":
            a.type, a.s = AttributeProto.STRING, self.pick(STRINGS)
        elif kind == "ints":
            a.type = AttributeProto.INTS
            a.ints.extend(self.some_int() for _ in range(int(self.rng.integers(0, 9))))
        elif kind == "floats":
            a.type = AttributeProto.FLOATS
            a.floats.extend(self.pick(FLOATS) for _ in range(int(self.rng.integers(0, 5))))
        elif kind == "tensor":
            a.type = AttributeProto.TENSOR
            a.t.CopyFrom(self.weird_tensor())
        elif kind == "graph":
            a.type = AttributeProto.GRAPH
            a.g.CopyFrom(self.weird_graph())

    def attribute(self, m):
        nodes = list(m.graph.node)
        if not nodes:
            return
        nd = self.pick(nodes)
        if not nd.attribute or self.chance(0.25):  # add one
            name = self.pick(list(ATTRS))
            a = nd.attribute.add()
            a.name = name
            kind = (
                ATTRS[name] if self.chance(0.8) else self.pick(["int", "float", "string", "ints", "floats"])
            )
            self._set_attr_value(a, kind)
            return
        k = int(self.rng.integers(len(nd.attribute)))
        a = nd.attribute[k]
        choice = int(self.rng.integers(9))
        if choice == 0:
            del nd.attribute[k]
        elif choice == 1:
            nd.attribute.add().CopyFrom(a)
        elif choice == 2:  # another type, its value fields left as they are
            a.type = self.pick(ATTR_TYPES)
        elif choice == 3:
            self._set_attr_value(a, self.pick(["int", "float", "string", "ints", "floats", "tensor"]))
        elif choice == 4:
            a.ref_attr_name = "outer"
        elif a.type == AttributeProto.INT:
            a.i = self.some_int()
        elif a.type == AttributeProto.FLOAT:
            a.f = self.pick(FLOATS)
        elif a.type == AttributeProto.INTS:
            r = int(self.rng.integers(4))
            if r == 0:
                del a.ints[:]
            elif r == 1 and len(a.ints):
                del a.ints[-1]
            elif r == 2:
                a.ints.extend(self.some_int() for _ in range(int(self.rng.integers(1, 4))))
            elif len(a.ints):
                a.ints[int(self.rng.integers(len(a.ints)))] = self.some_int()
        elif a.type == AttributeProto.FLOATS:
            a.floats.append(self.pick(FLOATS))
        elif a.type == AttributeProto.STRING:
            a.s = self.pick(STRINGS)
        elif a.type == AttributeProto.TENSOR:
            self._tensor(a.t, m)
        else:
            self._set_attr_value(a, "int")

    def _values(self, t: TensorProto) -> None:
        """One value of a small tensor (axes, a shape, pads, a Clip bound) replaced by an interesting one."""
        try:
            arr = numpy_helper.to_array(t).copy()
        except Exception:  # noqa: BLE001 - already broken by another mutation
            return
        if not 0 < arr.size <= 64 or arr.dtype.kind not in "fiu":
            return
        flat = arr.reshape(-1)
        k = int(self.rng.integers(flat.size))
        if arr.dtype.kind == "f":
            flat[k] = self.pick([*FLOATS, 1e-38, 65504.0, -3.0, 2.0])
        else:
            info = np.iinfo(arr.dtype)
            flat[k] = int(np.clip(self.some_int(), info.min, info.max))
        t.CopyFrom(numpy_helper.from_array(arr, t.name))

    def _tensor(self, t: TensorProto, m):
        choice = int(self.rng.integers(15))
        if choice >= 12:
            self._values(t)
        elif choice == 0 and len(t.dims):
            t.dims[int(self.rng.integers(len(t.dims)))] = self.some_int()
        elif choice == 1:
            t.dims.append(self.pick([0, 1, 2, -1, 1 << 31, 3]))
        elif choice == 2 and len(t.dims):
            del t.dims[-1]
        elif choice == 3:
            t.data_type = self.pick(ELEM_TYPES)
        elif choice == 4 and t.raw_data:
            t.raw_data = t.raw_data[: int(self.rng.integers(len(t.raw_data)))]
        elif choice == 5:
            t.raw_data = t.raw_data + self.rng.bytes(int(self.rng.integers(1, 9)))
        elif choice == 6 and t.data_type == TensorProto.FLOAT and t.raw_data:
            vals = np.frombuffer(t.raw_data[: len(t.raw_data) // 4 * 4], "<f4")
            t.ClearField("raw_data")
            t.float_data.extend(float(v) for v in vals[: len(vals) - int(self.rng.integers(0, 2))])
        elif choice == 7:  # both raw and typed data, or typed data of another type
            t.int64_data.extend(self.some_int() for _ in range(int(self.rng.integers(1, 5))))
        elif choice == 8:
            t.data_location = TensorProto.EXTERNAL
            for k, v in (("location", self.pick(["w.bin", "../../../etc/passwd", "/dev/zero", ""])),
                         ("offset", "0"), ("length", self.pick(["16", "-1", "99999999999", "x"]))):  # fmt: skip
                e = t.external_data.add()
                e.key, e.value = k, v
        elif choice == 9 and t.raw_data:  # NaN/Inf into float weights
            raw = bytearray(t.raw_data)
            at = int(self.rng.integers(len(raw) // 4)) * 4
            raw[at : at + 4] = np.array(self.pick([math.nan, math.inf, 3.4e38]), "<f4").tobytes()
            t.raw_data = bytes(raw)
        elif choice == 10:
            t.name = self.pick(self.names(m))
        else:
            t.CopyFrom(self.weird_tensor(t.name))

    def initializer(self, m):
        g = m.graph
        if not g.initializer:
            return
        r = self.rng.random()
        if r < 0.08:
            del g.initializer[int(self.rng.integers(len(g.initializer)))]
        elif r < 0.12:
            g.initializer.add().CopyFrom(self.pick(g.initializer))  # a duplicate name
        elif r < 0.15:
            sp = g.sparse_initializer.add()
            sp.values.CopyFrom(numpy_helper.from_array(np.ones(2, np.float32), self.pick(g.initializer).name))
            sp.indices.CopyFrom(numpy_helper.from_array(np.array([0, 1 << 40], np.int64), ""))
            sp.dims.extend([2, 2])
        else:
            self._tensor(self.pick(g.initializer), m)

    def _type(self, vi: onnx.ValueInfoProto):
        tt = vi.type.tensor_type
        choice = int(self.rng.integers(8))
        if choice == 0:
            tt.elem_type = self.pick(ELEM_TYPES)
        elif choice == 1 and len(tt.shape.dim):
            d = tt.shape.dim[int(self.rng.integers(len(tt.shape.dim)))]
            if self.chance(0.7):
                d.dim_value = self.pick([0, -1, -7, 1 << 20, 1 << 31, (1 << 63) - 1, 1000, 2, 100])
            else:
                d.dim_param = self.pick(["", "N", "h", "batch"])
        elif choice == 2:
            tt.shape.dim.add().dim_value = self.pick([1, 2, 0, 1 << 30])
        elif choice == 3 and len(tt.shape.dim):
            del tt.shape.dim[int(self.rng.integers(len(tt.shape.dim)))]
        elif choice == 4:
            tt.ClearField("shape")
        elif choice == 5:
            del tt.shape.dim[:]  # a scalar
        elif choice == 6:
            vi.type.sequence_type.elem_type.tensor_type.elem_type = TensorProto.FLOAT
        else:
            vi.ClearField("type")

    def graph_io(self, m):
        g = m.graph
        r = self.rng.random()
        if r < 0.45 and len(g.input):
            self._type(self.pick(g.input))
        elif r < 0.55 and len(g.output):
            self._type(self.pick(g.output))
        elif r < 0.62 and len(g.input):
            del g.input[int(self.rng.integers(len(g.input)))]
        elif r < 0.67 and len(g.input):
            g.input.add().CopyFrom(self.pick(g.input))
        elif r < 0.72:
            vi = g.input.add()
            vi.CopyFrom(helper.make_tensor_value_info(self.pick(["x2", *self.names(m)]), 1, [1, 3]))
        elif r < 0.78 and len(g.output):
            g.output[int(self.rng.integers(len(g.output)))].name = self.pick([*self.names(m), "", "nope"])
        elif r < 0.83 and len(g.output):
            g.output.add().CopyFrom(self.pick(g.output))
        elif r < 0.87:
            del g.output[:]
        elif r < 0.92 and len(g.input):
            g.input[int(self.rng.integers(len(g.input)))].name = self.pick([*self.names(m), ""])
        else:
            vi = g.value_info.add()
            vi.name = self.pick(self.names(m))
            vi.type.tensor_type.elem_type = 1
            self._type(vi)

    def nodes(self, m):
        g = m.graph
        if not g.node:
            return
        k = int(self.rng.integers(len(g.node)))
        choice = int(self.rng.integers(7))
        if choice == 0:
            del g.node[k]
        elif choice == 1:
            g.node.insert(int(self.rng.integers(len(g.node) + 1)), self.pick(g.node))
        elif choice == 2:  # use before definition
            j = int(self.rng.integers(len(g.node)))
            a, b = onnx.NodeProto(), onnx.NodeProto()
            a.CopyFrom(g.node[k]), b.CopyFrom(g.node[j])
            g.node[k].CopyFrom(b), g.node[j].CopyFrom(a)
        elif choice == 3:  # a cycle: an early node reads a later node's output
            j = int(self.rng.integers(k, len(g.node)))
            if len(g.node[k].input) and len(g.node[j].output):
                g.node[k].input[0] = g.node[j].output[0]
        elif choice == 4:
            nodes = list(g.node)
            order = self.rng.permutation(len(nodes))
            del g.node[:]
            g.node.extend(nodes[i] for i in order)
        elif choice == 5:  # two nodes write one tensor
            j = int(self.rng.integers(len(g.node)))
            if len(g.node[k].output) and len(g.node[j].output):
                g.node[k].output[0] = g.node[j].output[0]
        else:
            g.node[k].name = self.pick(["", g.node[0].name, "n" * 3000])

    def constant(self, m):
        g = m.graph
        target = self.pick(self.names(m)) if self.chance(0.6) else "cst"
        nd = helper.make_node("Constant", [], [target], name="weird_const")
        key = self.pick(
            ["value", "value", "value_float", "value_floats", "value_int", "value_ints", "sparse_value"]
        )
        a = nd.attribute.add()
        a.name = key
        if key == "value":
            self._set_attr_value(a, "tensor")
        elif key == "sparse_value":
            a.type = AttributeProto.SPARSE_TENSOR
            a.sparse_tensor.dims.extend([2, 2])
        else:
            self._set_attr_value(
                a, {"value_float": "float", "value_floats": "floats", "value_int": "int"}.get(key, "ints")
            )
        g.node.insert(int(self.rng.integers(len(g.node) + 1)), nd)
        if target == "cst" and g.node:
            user = self.pick(g.node)
            if len(user.input):
                user.input[int(self.rng.integers(len(user.input)))] = "cst"

    def control_flow(self, m):
        g = m.graph
        if not g.node:
            return
        k = int(self.rng.integers(len(g.node)))
        nd = g.node[k]
        if self.chance(0.5):
            sub = helper.make_graph(
                [], "branch", [], [helper.make_tensor_value_info(nd.output[0] if nd.output else "o", 1, None)]
            )
            new = helper.make_node("If", [nd.input[0] if nd.input else "x"], list(nd.output), name="if")
            new.attribute.extend(
                [helper.make_attribute("then_branch", sub), helper.make_attribute("else_branch", sub)]
            )
            g.node[k].CopyFrom(new)
        else:
            a = nd.attribute.add()
            a.name = self.pick(["body", "then_branch", "g"])
            a.type = AttributeProto.GRAPH
            a.g.CopyFrom(self.weird_graph())

    def opset(self, m):
        r = self.rng.random()
        if r < 0.6 and len(m.opset_import):
            m.opset_import[0].version = self.pick(
                [0, 1, 6, 7, 9, 10, 11, 12, 13, 17, 18, 21, 99, -1, 1 << 40]
            )
        elif r < 0.7:
            del m.opset_import[:]
        elif r < 0.8:
            m.opset_import.add().CopyFrom(helper.make_opsetid("", self.pick([1, 11, 18])))
        elif r < 0.9 and len(m.opset_import):
            m.opset_import[0].domain = self.pick(["ai.onnx.ml", "x", "ai.onnx"])
        else:
            m.ir_version = self.pick([0, 1, 3, 4, 7, 10, 99, (1 << 63) - 1])

    def function(self, m):
        f = m.functions.add()
        f.name, f.domain = "Fn", "local"
        f.input.append("a")
        f.output.append("b")
        f.node.add().CopyFrom(helper.make_node(self.pick(OPS), ["a"], ["b"]))
        f.opset_import.add().CopyFrom(helper.make_opsetid("", 13))
        m.opset_import.add().CopyFrom(helper.make_opsetid("local", 1))
        if m.graph.node:
            nd = self.pick(m.graph.node)
            nd.op_type, nd.domain = "Fn", "local"

    MUTATIONS = (
        (node_io, 5),
        (op_type, 4),
        (attribute, 6),
        (initializer, 5),
        (graph_io, 4),
        (nodes, 3),
        (constant, 2),
        (control_flow, 1),
        (opset, 2),
        (function, 0.3),
    )

    def structural(self) -> bytes:
        m = onnx.ModelProto()
        m.CopyFrom(self.base)
        fns = [f for f, _ in self.MUTATIONS]
        weights = np.array([w for _, w in self.MUTATIONS], float)
        for _ in range(int(self.rng.integers(1, 4))):
            fns[int(self.rng.choice(len(fns), p=weights / weights.sum()))](self, m)
        try:
            return m.SerializeToString()
        except Exception:  # noqa: BLE001 - a mutation protobuf itself refuses (e.g. a bad string)
            return self.base.SerializeToString()


def _bytes_mutant(data: bytes, rng: np.random.Generator) -> bytes:
    raw = bytearray(data)
    for _ in range(int(rng.integers(1, 5))):
        if not raw:
            break
        r = rng.random()
        at = int(rng.integers(len(raw)))
        if r < 0.35:
            raw[at] ^= 1 << int(rng.integers(8))
        elif r < 0.55:
            raw[at] = int(rng.choice([0x00, 0x01, 0x7F, 0x80, 0xFF, 0x08, 0x12, 0x1A, 0x22, 0x3A]))
        elif r < 0.65:
            del raw[at:]
        elif r < 0.75:
            raw[at:at] = rng.bytes(int(rng.integers(1, 16)))
        elif r < 0.85:  # a long varint: a huge length or value
            raw[at : at + 1] = b"\xff" * int(rng.integers(1, 10)) + b"\x01"
        else:  # a chunk copied elsewhere
            n = int(rng.integers(1, 64))
            raw[int(rng.integers(len(raw))) : 0] = raw[at : at + n]
    return bytes(raw)


def mutants(data: bytes, n: int, rng: np.random.Generator, byte_share: float = 0.2) -> Iterator[bytes]:
    """n mutated serialized models from `data` (a valid one): ~byte_share byte-level, the rest structural."""
    mut = _Mutator(onnx.load_from_string(data), rng)
    for _ in range(n):
        if rng.random() < byte_share:
            yield _bytes_mutant(data, rng)
        else:
            yield mut.structural()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for name, build in SOURCES.items():
        m = build()
        onnx.save(m, out / f"{name}.onnx")
        np.save(out / f"{name}_calib.npy", calibration(m))
        print(f"wrote {out / name}.onnx and {name}_calib.npy")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
