"""Read a .tflite flatbuffer: tensors, their quantization and constant data, operators and options.

The flatbuffer is read through the `tflite` package (generated schema bindings),
never decoded by hand. TfliteReader collects every problem it meets in `problems`;
tflite_ops.py builds the picoq ops from what it reads.
"""

from __future__ import annotations

import numpy as np

from picoq.runtime.format import unpack_int4

from .graph import ConversionError, Graph, Tensor
from .tflite_verify import check_contents, verify_structure

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
    17: "int8",  # INT4, packed: const_data unpacks it
}
_TFL_INT4 = 17
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


class TfliteReader:
    """One pass over the flatbuffer: collects every problem before raising."""

    def __init__(self, buf: bytes):
        self.tfl = _tflite()
        self.buf = buf
        if len(buf) < 8 or buf[4:8] != b"TFL3":
            raise ConversionError(["not a readable .tflite file: missing the TFL3 file identifier"])
        verify_structure(buf)  # from here on the bindings read inside the buffer
        self.model = self.tfl.Model.GetRootAsModel(buf, 0)
        if self.model.SubgraphsLength() < 1:
            raise ConversionError(["not a readable .tflite file: no subgraph"])
        self.sg = self.model.Subgraphs(0)
        bad = check_contents(self.model, self.sg)
        if bad:
            raise ConversionError([f"corrupt .tflite file: {p}" for p in bad])
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
        count = int(np.prod(shape, dtype=object))  # Python ints: a hostile shape cannot overflow
        item = np.dtype(dtype).itemsize
        # INT4: TFLite packs two per byte (element 2k in the low nibble); read as int8 values
        need = (count + 1) // 2 if t.Type() == _TFL_INT4 else count * item
        if len(raw) != need:
            self.problems.append(
                f"tensor {self.tname(i)!r}: buffer holds {len(raw)} bytes, shape {shape} of "
                f"{'packed INT4' if t.Type() == _TFL_INT4 else dtype} needs {need}"
            )
            return None
        if t.Type() == _TFL_INT4:
            return unpack_int4(raw, count).reshape(shape)
        arr = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"))
        return arr.reshape(shape).astype(dtype)

    def activation(self, i: int, where: str) -> int:
        """Graph tensor for an int8 activation, or an int16 one with zero point 0 (TFLite's 16x8
        scheme), per-tensor quantized."""
        if i in self.tmap:
            return self.tmap[i]
        name = self.tname(i)
        dtype = "int16" if self.ttype(i) == 7 else "int8"
        if self.ttype(i) not in (7, 9):
            self.problems.append(
                f"{where}: tensor {name!r} is {_TFL_DTYPE_NAMES.get(self.ttype(i), self.ttype(i))}, not INT8 or INT16"
            )
        qp = self.quant(i)
        scales = np.array([1.0], np.float32)
        zps = np.array([0], np.int32)
        if qp is None or qp[0].size != 1:
            if (i, "quant") not in self.reported:
                self.problems.append(f"{where}: activation {name!r} needs per-tensor quantization")
        elif dtype == "int8" and not -128 <= int(qp[1][0]) <= 127:
            self.problems.append(f"{where}: activation {name!r} has zero point {int(qp[1][0])} outside int8")
        elif dtype == "int16" and int(qp[1][0]) != 0:
            self.problems.append(
                f"{where}: int16 activation {name!r} has zero point {int(qp[1][0])}; 16x8 needs 0"
            )
        else:
            scales, zps = qp[0], qp[1].astype(np.int32)
        data = self.const_data(i)
        shape = self.shape(i)
        if 0 in shape:
            self.problems.append(f"{where}: activation {name!r} has shape {shape}, with no elements")
        t = Tensor(name, shape, dtype, scales, zps, 0, None if data is None else data.astype(dtype))
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

    def op_io(self, k: int) -> tuple[list[int], list[int]]:
        """Operator k's input and output tensor indices (-1: an omitted optional input)."""
        op = self.sg.Operators(k)
        ins = [int(v) for v in op.InputsAsNumpy()] if op.InputsLength() else []
        outs = [int(v) for v in op.OutputsAsNumpy()] if op.OutputsLength() else []
        return ins, outs

    def options(self, op, cls_name: str, where: str):
        """The op's builtin options as `cls_name`, or None when absent or of another type
        (reading one options table as another would give garbage parameters)."""
        table = op.BuiltinOptions()
        if table is None:
            return None
        if op.BuiltinOptionsType() != getattr(self.tfl.BuiltinOptions, cls_name):
            self.problems.append(f"{where}: options are of type {op.BuiltinOptionsType()}, not {cls_name}")
            return None
        opts = getattr(self.tfl, cls_name)()
        opts.Init(table.Bytes, table.Pos)
        return opts
