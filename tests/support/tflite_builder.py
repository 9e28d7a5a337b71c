"""Write fully quantized int8 ``.tflite`` flatbuffers without TensorFlow.

Why: picoq must be bit-exact with TFLite Micro on models whose shapes, strides, dilations
and scales we choose, and TensorFlow is not available to convert them. So we write the
flatbuffer directly with the ``flatbuffers`` Builder and the ``tflite`` package's generated
schema functions (schema version 3), laid out the way the MLIR converter lays it out:

- buffer 0 is empty; every tensor gets its own buffer (empty for activations), and constant
  data is 16-byte aligned;
- operator codes carry both ``deprecated_builtin_code`` (``min(code, 127)``) and
  ``builtin_code`` plus the version the converter's op_version.cc assigns to int8 ops;
- weights are int8 with zero point 0 (per-channel on dim 0 for CONV_2D / FULLY_CONNECTED,
  dim 3 for DEPTHWISE_CONV_2D), biases int32 with scale ``in_s * w_s[c]``, activations int8
  per-tensor; RESHAPE has both a shape input tensor and ``new_shape`` options;
- a bias may be omitted: FULLY_CONNECTED then gets input index -1, as the converter writes it,
  CONV_2D / DEPTHWISE_CONV_2D get two inputs (TFLM's depthwise crashes on -1; LiteRT's int8
  CONV_2D needs a bias in any case, so such models run only in TFLM).

Example::

    g = TFLiteGraph()
    x = g.input("input", (1, 8, 8, 3), scale=0.05, zero_point=-3)
    w = g.const_int8("w", w_q, scales=w_s, quantized_dimension=0)
    b = g.const_int32("b", b_q, scales=bias_scales(x, w))
    y = g.conv2d(x, w, b, out_scale=0.1, out_zp=-128, padding="SAME", activation="RELU")
    g.output(g.softmax(g.fully_connected(g.reshape(y, (1, -1)), w2, b2, 0.2, 0)))
    data = g.build()

The second half of the module (``RandomLayers``) adds layers with random but realistic
parameters, so that test models neither saturate nor collapse to a constant.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import flatbuffers
import numpy as np
import tflite

__all__ = [
    "ACTIVATIONS",
    "ActStats",
    "Op",
    "RandomLayers",
    "TFLiteGraph",
    "Tensor",
    "bias_scales",
    "conv_output_size",
    "range_quant",
    "symmetric_int8_weights",
]

SCHEMA_VERSION = 3
FILE_IDENTIFIER = b"TFL3"
BUFFER_ALIGNMENT = 16
SOFTMAX_OUT_SCALE = 1.0 / 256.0
SOFTMAX_OUT_ZP = -128

ACTIVATIONS: dict[str, int] = {
    "NONE": tflite.ActivationFunctionType.NONE,
    "RELU": tflite.ActivationFunctionType.RELU,
    "RELU_N1_TO_1": tflite.ActivationFunctionType.RELU_N1_TO_1,
    "RELU6": tflite.ActivationFunctionType.RELU6,
}
_PADDINGS: dict[str, int] = {"SAME": tflite.Padding.SAME, "VALID": tflite.Padding.VALID}
_TENSOR_TYPES: dict[np.dtype, int] = {
    np.dtype(np.int8): tflite.TensorType.INT8,
    np.dtype(np.int16): tflite.TensorType.INT16,
    np.dtype(np.int32): tflite.TensorType.INT32,
    np.dtype(np.int64): tflite.TensorType.INT64,
    np.dtype(np.uint8): tflite.TensorType.UINT8,
    np.dtype(np.float32): tflite.TensorType.FLOAT32,
}
_DEPRECATED_CODE_LIMIT = 127


def pack_int4(values: np.ndarray) -> bytes:
    """TFLite's INT4 buffer (tensor_utils::UnpackDenseInt4IntoInt8 reads it back): two values
    per byte, element 2k in the low nibble, an odd count's last high nibble 0. Written here
    rather than imported from picoq so that a picoq packing bug shows against tflite-micro."""
    nib = [int(v) & 0x0F for v in np.asarray(values).reshape(-1)] + [0]
    return bytes(
        nib[k] | (nib[k + 1] << 4) for k in range(0, len(nib) - 1, 2)
    )  # BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES


# *** tensors and ops ***


@dataclass(frozen=True, eq=False)
class Tensor:
    """Handle to a tensor of a TFLiteGraph; also records what was written, for read-back tests."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    buffer: int
    scales: tuple[float, ...] = ()
    zero_points: tuple[int, ...] = ()
    quantized_dimension: int = 0
    data: np.ndarray | None = None
    int4: bool = False  # written as TFLite INT4, packed two per byte (data holds the int8 values)

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def scale(self) -> float:
        """The per-tensor scale (raises for per-channel tensors, where it would be ambiguous)."""
        if len(self.scales) != 1:
            raise ValueError(f"tensor {self.name!r} has {len(self.scales)} scales, not one")
        return self.scales[0]

    @property
    def zero_point(self) -> int:
        if len(self.zero_points) != 1:
            raise ValueError(f"tensor {self.name!r} has {len(self.zero_points)} zero points, not one")
        return self.zero_points[0]


@dataclass
class Op:
    """An operator as written: builtin code, opcode version, tensor indices (-1 = omitted)."""

    code: int
    version: int
    inputs: list[int]
    outputs: list[int]
    options_type: int = tflite.BuiltinOptions.NONE
    write_options: Callable[[flatbuffers.Builder], int] | None = None


def conv_output_size(size: int, kernel: int, stride: int, dilation: int, padding: str) -> int:
    """Spatial output size as TFLite computes it (tensorflow/lite/kernels/padding.h)."""
    if padding == "SAME":
        return (size + stride - 1) // stride
    if padding == "VALID":
        out = (size - ((kernel - 1) * dilation + 1)) // stride + 1
        if out < 1:
            raise ValueError(f"VALID window {kernel} (dilation {dilation}) does not fit in size {size}")
        return out
    raise ValueError(f"padding must be SAME or VALID, not {padding!r}")


def bias_scales(x: Tensor, w: Tensor) -> list[float]:
    """Bias scales ``in_s * w_s[c]`` (float32 product, as the converter stores them)."""
    return [float(np.float32(x.scale) * np.float32(s)) for s in w.scales]


def _conv_inputs(x: Tensor, w: Tensor, b: Tensor | None) -> list[Tensor | None]:
    """Without a bias, CONV_2D and DEPTHWISE_CONV_2D get two inputs, not a -1 bias index.

    Measured with tflite_micro 0.dev20261023: DEPTHWISE_CONV_2D with bias index -1 segfaults
    in Prepare, two inputs work (CONV_2D accepts both). LiteRT's int8 CONV_2D requires a bias
    either way; the converter always writes one. FULLY_CONNECTED keeps -1, as the converter
    writes it, and both runtimes accept that.
    """
    return [x, w] if b is None else [x, w, b]


def _pair(v: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(v, int | np.integer):
        return (int(v), int(v))
    a, b = v
    return (int(a), int(b))


def _check_choice(value: str, choices: dict[str, int], what: str) -> int:
    if value not in choices:
        raise ValueError(f"{what} must be one of {sorted(choices)}, not {value!r}")
    return choices[value]


class TFLiteGraph:
    """One-subgraph int8 TFLite model under construction; ``build()`` returns the flatbuffer bytes.

    ``activations=np.int16`` makes every activation the ops create int16 (TFLite's 16x8
    scheme: symmetric, zero point 0; weights stay int8, conv/FC biases become int64).
    """

    def __init__(
        self,
        name: str = "main",
        description: str = "picoq tests/tflite_builder.py",
        *,
        activations: type = np.int8,
    ) -> None:
        self.name = name
        self.description = description
        self.act_dtype = np.dtype(activations)
        if self.act_dtype not in (np.dtype(np.int8), np.dtype(np.int16)):
            raise ValueError(f"activations must be int8 or int16, not {self.act_dtype}")
        self.tensors: list[Tensor] = []
        self.inputs: list[Tensor] = []
        self.outputs: list[Tensor] = []
        self.ops: list[Op] = []
        self._buffers: list[bytes] = [b""]  # buffer 0: the empty sentinel the converter writes
        self._names: set[str] = set()
        self._counter = 0

    # --- tensors ---

    def _unique(self, name: str) -> str:
        base, n = name, 1
        while name in self._names:
            name, n = f"{base}_{n}", n + 1
        self._names.add(name)
        return name

    def auto_name(self, kind: str) -> str:
        """A fresh default name such as ``conv2d_3``."""
        self._counter += 1
        return f"{kind}_{self._counter}"

    def _add_tensor(
        self,
        name: str,
        shape: Sequence[int],
        dtype: np.dtype | type,
        *,
        scales: Sequence[float] = (),
        zero_points: Sequence[int] | None = None,
        quantized_dimension: int = 0,
        data: np.ndarray | None = None,
        int4: bool = False,
    ) -> Tensor:
        dtype = np.dtype(dtype)
        if dtype not in _TENSOR_TYPES:
            raise ValueError(f"unsupported dtype {dtype}")
        shape = tuple(int(d) for d in shape)
        if any(d < 1 for d in shape):
            raise ValueError(f"tensor {name!r}: shape {shape} must be fully known and positive")
        scales_t = tuple(float(np.float32(s)) for s in scales)  # what the float32 field will hold
        zps = tuple(int(z) for z in (zero_points if zero_points is not None else [0] * len(scales_t)))
        if len(zps) != len(scales_t):
            raise ValueError(f"tensor {name!r}: {len(scales_t)} scales but {len(zps)} zero points")
        if any(not (s > 0 and math.isfinite(s)) for s in scales_t):
            raise ValueError(f"tensor {name!r}: scales must be finite and > 0, got {scales_t}")
        if len(scales_t) > 1 and (
            not 0 <= quantized_dimension < len(shape) or shape[quantized_dimension] != len(scales_t)
        ):
            raise ValueError(
                f"tensor {name!r}: {len(scales_t)} scales do not match "
                f"dim {quantized_dimension} of shape {shape}"
            )
        buffer = len(self._buffers)
        if data is not None and int4:  # TFLite's INT4 buffer: element 2k in the low nibble
            data = np.ascontiguousarray(data, dtype=np.int8).reshape(shape)
            self._buffers.append(pack_int4(data))
        elif data is not None:
            data = np.ascontiguousarray(data, dtype=dtype).reshape(shape)
            self._buffers.append(data.astype(dtype.newbyteorder("<"), copy=False).tobytes())
        else:
            self._buffers.append(b"")
        t = Tensor(
            index=len(self.tensors),
            name=self._unique(name),
            shape=shape,
            dtype=dtype,
            buffer=buffer,
            scales=scales_t,
            zero_points=zps,
            quantized_dimension=quantized_dimension,
            data=data,
            int4=int4,
        )
        self.tensors.append(t)
        return t

    def _activation(self, name: str, shape: Sequence[int], scale: float, zero_point: int) -> Tensor:
        info = np.iinfo(self.act_dtype)
        if not info.min <= zero_point <= info.max:
            raise ValueError(f"{self.act_dtype} zero point {zero_point} out of range for {name!r}")
        return self._add_tensor(name, shape, self.act_dtype, scales=[scale], zero_points=[zero_point])

    def _like(self, name: str, shape: Sequence[int], x: Tensor) -> Tensor:
        """An activation with the quantization of ``x`` (pooling and reshape must keep it)."""
        return self._add_tensor(name, shape, x.dtype, scales=x.scales, zero_points=x.zero_points)

    def input(self, name: str, shape: Sequence[int], scale: float, zero_point: int) -> Tensor:
        """A per-tensor graph input of the graph's activation dtype."""
        t = self._activation(name, shape, scale, zero_point)
        self.inputs.append(t)
        return t

    def const(
        self,
        name: str,
        data: np.ndarray,
        *,
        scales: Sequence[float] = (),
        zero_points: Sequence[int] | None = None,
        quantized_dimension: int = 0,
    ) -> Tensor:
        """A constant tensor of ``data``'s dtype with its own buffer."""
        data = np.asarray(data)
        return self._add_tensor(
            name,
            data.shape,
            data.dtype,
            scales=scales,
            zero_points=zero_points,
            quantized_dimension=quantized_dimension,
            data=data,
        )

    def const_int8(
        self,
        name: str,
        data: np.ndarray,
        scales: Sequence[float],
        zero_points: Sequence[int] | None = None,
        quantized_dimension: int = 0,
    ) -> Tensor:
        """An int8 constant: weights (zp 0, per-tensor or per-channel) or a quantized operand of ADD."""
        arr = np.asarray(data)
        if arr.dtype != np.int8:
            if arr.size and (arr.min() < -128 or arr.max() > 127):
                raise ValueError(f"{name!r}: values outside int8")
            arr = arr.astype(np.int8)
        return self.const(
            name, arr, scales=scales, zero_points=zero_points, quantized_dimension=quantized_dimension
        )

    def const_int4(
        self, name: str, data: np.ndarray, scales: Sequence[float], quantized_dimension: int = 0
    ) -> Tensor:
        """Symmetric int4 weights (values in [-8, 7], zero points 0), written as TFLite's packed
        INT4 tensor."""
        arr = np.asarray(data)
        if arr.size and (arr.min() < -8 or arr.max() > 7):
            raise ValueError(f"{name!r}: values outside int4")
        return self._add_tensor(
            name,
            arr.shape,
            np.int8,
            scales=scales,
            quantized_dimension=quantized_dimension,
            data=arr,
            int4=True,
        )

    def const_int32(
        self,
        name: str,
        data: np.ndarray,
        scales: Sequence[float] = (),
        zero_points: Sequence[int] | None = None,
    ) -> Tensor:
        """An int32 constant: a bias (give its scales, zp 0, quantized_dimension 0) or a shape operand."""
        arr = np.asarray(data)
        if arr.dtype != np.int32:
            if arr.size and (arr.min() < -(2**31) or arr.max() > 2**31 - 1):
                raise ValueError(f"{name!r}: values outside int32")
            arr = arr.astype(np.int32)
        return self.const(name, arr, scales=scales, zero_points=zero_points)

    def output(self, *tensors: Tensor) -> None:
        """Mark tensors as graph outputs, in order."""
        self.outputs.extend(tensors)

    # --- ops ---

    def _add_op(
        self,
        code: int,
        version: int,
        inputs: Sequence[Tensor | None],
        outputs: Sequence[Tensor],
        options_type: int = tflite.BuiltinOptions.NONE,
        write_options: Callable[[flatbuffers.Builder], int] | None = None,
    ) -> None:
        ins = [-1 if t is None else t.index for t in inputs]
        outs = [t.index for t in outputs]
        self.ops.append(Op(code, version, ins, outs, options_type, write_options))

    def _check_bias(self, b: Tensor | None, channels: int, op: str) -> None:
        """int32 (int8 activations) or int64 (16x8) of one value per output channel; a 16x8
        bias may also be int32 (TFLite's int32-bias 16x8 option, which TFLM's CONV_2D runs)."""
        want = (
            {np.dtype(np.int64), np.dtype(np.int32)} if self.act_dtype == np.int16 else {np.dtype(np.int32)}
        )
        if b is not None and (b.dtype not in want or b.shape != (channels,)):
            raise ValueError(f"{op}: bias must be {want} of shape ({channels},), got {b.dtype} {b.shape}")

    def conv2d(
        self,
        x: Tensor,
        w: Tensor,
        b: Tensor | None,
        out_scale: float,
        out_zp: int,
        *,
        stride: int | Sequence[int] = (1, 1),
        dilation: int | Sequence[int] = (1, 1),
        padding: str = "SAME",
        activation: str = "NONE",
        name: str | None = None,
    ) -> Tensor:
        """CONV_2D: x [N,H,W,Cin], w [Cout,kh,kw,Cin] (per-channel on dim 0), b [Cout] or None."""
        # Grouped conv: Cin is a multiple of the filter's input depth, Cout of the group count.
        if (
            len(x.shape) != 4
            or len(w.shape) != 4
            or x.shape[3] % w.shape[3]
            or w.shape[0] % (x.shape[3] // w.shape[3])
        ):
            raise ValueError(f"conv2d: input {x.shape} and filter {w.shape} (OHWI) do not match")
        self._check_bias(b, w.shape[0], "conv2d")
        (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
        pad, act = (
            _check_choice(padding, _PADDINGS, "padding"),
            _check_choice(activation, ACTIVATIONS, "activation"),
        )
        n, h, wd, _ = x.shape
        shape = (
            n,
            conv_output_size(h, w.shape[1], sh, dh, padding),
            conv_output_size(wd, w.shape[2], sw, dw, padding),
            w.shape[0],
        )
        y = self._activation(name or self.auto_name("conv2d"), shape, out_scale, out_zp)

        def options(fb: flatbuffers.Builder) -> int:
            tflite.Conv2DOptionsStart(fb)
            tflite.Conv2DOptionsAddPadding(fb, pad)
            tflite.Conv2DOptionsAddStrideW(fb, sw)
            tflite.Conv2DOptionsAddStrideH(fb, sh)
            tflite.Conv2DOptionsAddFusedActivationFunction(fb, act)
            tflite.Conv2DOptionsAddDilationWFactor(fb, dw)
            tflite.Conv2DOptionsAddDilationHFactor(fb, dh)
            return tflite.Conv2DOptionsEnd(fb)

        self._add_op(
            tflite.BuiltinOperator.CONV_2D,
            3,
            _conv_inputs(x, w, b),
            [y],
            tflite.BuiltinOptions.Conv2DOptions,
            options,
        )
        return y

    def depthwise_conv2d(
        self,
        x: Tensor,
        w: Tensor,
        b: Tensor | None,
        out_scale: float,
        out_zp: int,
        *,
        depth_multiplier: int = 1,
        stride: int | Sequence[int] = (1, 1),
        dilation: int | Sequence[int] = (1, 1),
        padding: str = "SAME",
        activation: str = "NONE",
        name: str | None = None,
    ) -> Tensor:
        """DEPTHWISE_CONV_2D: w [1,kh,kw,Cin*m] (per-channel on dim 3); output channel c*m+k reads input c."""
        cout = x.shape[3] * depth_multiplier
        if len(x.shape) != 4 or len(w.shape) != 4 or w.shape[0] != 1 or w.shape[3] != cout:
            raise ValueError(
                f"depthwise_conv2d: filter {w.shape} must be [1,kh,kw,{cout}] "
                f"for input {x.shape} and depth_multiplier {depth_multiplier}"
            )
        self._check_bias(b, cout, "depthwise_conv2d")
        (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
        pad, act = (
            _check_choice(padding, _PADDINGS, "padding"),
            _check_choice(activation, ACTIVATIONS, "activation"),
        )
        n, h, wd, _ = x.shape
        shape = (
            n,
            conv_output_size(h, w.shape[1], sh, dh, padding),
            conv_output_size(wd, w.shape[2], sw, dw, padding),
            cout,
        )
        y = self._activation(name or self.auto_name("depthwise_conv2d"), shape, out_scale, out_zp)

        def options(fb: flatbuffers.Builder) -> int:
            tflite.DepthwiseConv2DOptionsStart(fb)
            tflite.DepthwiseConv2DOptionsAddPadding(fb, pad)
            tflite.DepthwiseConv2DOptionsAddStrideW(fb, sw)
            tflite.DepthwiseConv2DOptionsAddStrideH(fb, sh)
            tflite.DepthwiseConv2DOptionsAddDepthMultiplier(fb, depth_multiplier)
            tflite.DepthwiseConv2DOptionsAddFusedActivationFunction(fb, act)
            tflite.DepthwiseConv2DOptionsAddDilationWFactor(fb, dw)
            tflite.DepthwiseConv2DOptionsAddDilationHFactor(fb, dh)
            return tflite.DepthwiseConv2DOptionsEnd(fb)

        self._add_op(
            tflite.BuiltinOperator.DEPTHWISE_CONV_2D,
            3,
            _conv_inputs(x, w, b),
            [y],
            tflite.BuiltinOptions.DepthwiseConv2DOptions,
            options,
        )
        return y

    def fully_connected(
        self,
        x: Tensor,
        w: Tensor,
        b: Tensor | None,
        out_scale: float,
        out_zp: int,
        *,
        activation: str = "NONE",
        name: str | None = None,
    ) -> Tensor:
        """FULLY_CONNECTED (keep_num_dims False): w [units, in]; output [x.size // in, units]."""
        if len(w.shape) != 2:
            raise ValueError(f"fully_connected: weights must be 2-D [units, in], got {w.shape}")
        units, depth = w.shape
        size = math.prod(x.shape)
        if size % depth:
            raise ValueError(f"fully_connected: input {x.shape} is not a whole number of rows of {depth}")
        self._check_bias(b, units, "fully_connected")
        act = _check_choice(activation, ACTIVATIONS, "activation")
        y = self._activation(
            name or self.auto_name("fully_connected"), (size // depth, units), out_scale, out_zp
        )

        def options(fb: flatbuffers.Builder) -> int:
            tflite.FullyConnectedOptionsStart(fb)
            tflite.FullyConnectedOptionsAddFusedActivationFunction(fb, act)
            tflite.FullyConnectedOptionsAddWeightsFormat(
                fb, tflite.FullyConnectedOptionsWeightsFormat.DEFAULT
            )
            tflite.FullyConnectedOptionsAddKeepNumDims(fb, False)
            return tflite.FullyConnectedOptionsEnd(fb)

        self._add_op(
            tflite.BuiltinOperator.FULLY_CONNECTED,
            4,
            [x, w, b],
            [y],
            tflite.BuiltinOptions.FullyConnectedOptions,
            options,
        )
        return y

    def add(
        self,
        a: Tensor,
        b: Tensor,
        out_scale: float,
        out_zp: int,
        *,
        activation: str = "NONE",
        name: str | None = None,
    ) -> Tensor:
        """ADD of two int8 tensors (numpy broadcasting); output scale is free, as the spec allows."""
        try:
            shape = np.broadcast_shapes(a.shape, b.shape)
        except ValueError as e:
            raise ValueError(f"add: shapes {a.shape} and {b.shape} do not broadcast") from e
        act = _check_choice(activation, ACTIVATIONS, "activation")
        y = self._activation(name or self.auto_name("add"), shape, out_scale, out_zp)

        def options(fb: flatbuffers.Builder) -> int:
            tflite.AddOptionsStart(fb)
            tflite.AddOptionsAddFusedActivationFunction(fb, act)
            return tflite.AddOptionsEnd(fb)

        self._add_op(tflite.BuiltinOperator.ADD, 2, [a, b], [y], tflite.BuiltinOptions.AddOptions, options)
        return y

    def average_pool2d(
        self,
        x: Tensor,
        filter: int | Sequence[int] = (2, 2),
        stride: int | Sequence[int] = (2, 2),
        *,
        padding: str = "VALID",
        activation: str = "NONE",
        name: str | None = None,
    ) -> Tensor:
        """AVERAGE_POOL_2D; the output keeps the input's scale and zero point (TFLM checks this)."""
        (fh, fw), (sh, sw) = _pair(filter), _pair(stride)
        pad, act = (
            _check_choice(padding, _PADDINGS, "padding"),
            _check_choice(activation, ACTIVATIONS, "activation"),
        )
        n, h, wd, c = x.shape
        shape = (n, conv_output_size(h, fh, sh, 1, padding), conv_output_size(wd, fw, sw, 1, padding), c)
        y = self._like(name or self.auto_name("average_pool2d"), shape, x)

        def options(fb: flatbuffers.Builder) -> int:
            tflite.Pool2DOptionsStart(fb)
            tflite.Pool2DOptionsAddPadding(fb, pad)
            tflite.Pool2DOptionsAddStrideW(fb, sw)
            tflite.Pool2DOptionsAddStrideH(fb, sh)
            tflite.Pool2DOptionsAddFilterWidth(fb, fw)
            tflite.Pool2DOptionsAddFilterHeight(fb, fh)
            tflite.Pool2DOptionsAddFusedActivationFunction(fb, act)
            return tflite.Pool2DOptionsEnd(fb)

        self._add_op(
            tflite.BuiltinOperator.AVERAGE_POOL_2D, 2, [x], [y], tflite.BuiltinOptions.Pool2DOptions, options
        )
        return y

    def reshape(
        self, x: Tensor, new_shape: Sequence[int], *, write_options: bool = True, name: str | None = None
    ) -> Tensor:
        """RESHAPE with an int32 shape operand and (unless ``write_options=False``) ``new_shape`` options.

        ``new_shape`` may hold one -1, written as given (the converter writes ``[-1, C]`` for
        Flatten); the output tensor gets the resolved shape.
        """
        new_shape = [int(d) for d in new_shape]
        size = math.prod(x.shape)
        if new_shape.count(-1) > 1 or any(d < -1 or d == 0 for d in new_shape):
            raise ValueError(f"reshape: bad new_shape {new_shape}")
        known = math.prod(d for d in new_shape if d != -1)
        if size % known or (-1 not in new_shape and known != size):
            raise ValueError(f"reshape: cannot reshape {x.shape} to {new_shape}")
        resolved = [size // known if d == -1 else d for d in new_shape]
        name = name or self.auto_name("reshape")
        shape_t = self.const_int32(f"{name}/shape", np.array(new_shape, dtype=np.int32))
        y = self._like(name, resolved, x)
        if not write_options:
            self._add_op(tflite.BuiltinOperator.RESHAPE, 1, [x, shape_t], [y])
            return y

        def options(fb: flatbuffers.Builder) -> int:
            vec = fb.CreateNumpyVector(np.array(new_shape, dtype=np.int32))
            tflite.ReshapeOptionsStart(fb)
            tflite.ReshapeOptionsAddNewShape(fb, vec)
            return tflite.ReshapeOptionsEnd(fb)

        self._add_op(
            tflite.BuiltinOperator.RESHAPE,
            1,
            [x, shape_t],
            [y],
            tflite.BuiltinOptions.ReshapeOptions,
            options,
        )
        return y

    def _fixed_output(self, name: str, x: Tensor, int8_scale: float, int8_zp: int) -> Tensor:
        """The output of SOFTMAX, LOGISTIC or TANH, of x's dtype: fixed quantization, (2^-15, 0)
        for int16."""
        if x.dtype == np.dtype(np.int16):
            return self._add_tensor(name, x.shape, np.int16, scales=[1.0 / 32768.0], zero_points=[0])
        return self._add_tensor(name, x.shape, np.int8, scales=[int8_scale], zero_points=[int8_zp])

    def softmax(self, x: Tensor, beta: float = 1.0, *, name: str | None = None) -> Tensor:
        """SOFTMAX over the last axis; the output is fixed at scale 1/256, zp -128 (TFLM checks both;
        1/32768, zp 0 for int16)."""
        y = self._fixed_output(name or self.auto_name("softmax"), x, SOFTMAX_OUT_SCALE, SOFTMAX_OUT_ZP)

        def options(fb: flatbuffers.Builder) -> int:
            tflite.SoftmaxOptionsStart(fb)
            tflite.SoftmaxOptionsAddBeta(fb, beta)
            return tflite.SoftmaxOptionsEnd(fb)

        self._add_op(
            tflite.BuiltinOperator.SOFTMAX, 2, [x], [y], tflite.BuiltinOptions.SoftmaxOptions, options
        )
        return y

    def max_pool2d(
        self,
        x: Tensor,
        filter: int | Sequence[int] = (2, 2),
        stride: int | Sequence[int] = (2, 2),
        *,
        padding: str = "VALID",
        activation: str = "NONE",
        name: str | None = None,
    ) -> Tensor:
        """MAX_POOL_2D; the output keeps the input's scale and zero point (TFLM checks this)."""
        (fh, fw), (sh, sw) = _pair(filter), _pair(stride)
        pad, act = (
            _check_choice(padding, _PADDINGS, "padding"),
            _check_choice(activation, ACTIVATIONS, "activation"),
        )
        n, h, wd, c = x.shape
        shape = (n, conv_output_size(h, fh, sh, 1, padding), conv_output_size(wd, fw, sw, 1, padding), c)
        y = self._like(name or self.auto_name("max_pool2d"), shape, x)

        def options(fb: flatbuffers.Builder) -> int:
            tflite.Pool2DOptionsStart(fb)
            tflite.Pool2DOptionsAddPadding(fb, pad)
            tflite.Pool2DOptionsAddStrideW(fb, sw)
            tflite.Pool2DOptionsAddStrideH(fb, sh)
            tflite.Pool2DOptionsAddFilterWidth(fb, fw)
            tflite.Pool2DOptionsAddFilterHeight(fb, fh)
            tflite.Pool2DOptionsAddFusedActivationFunction(fb, act)
            return tflite.Pool2DOptionsEnd(fb)

        self._add_op(
            tflite.BuiltinOperator.MAX_POOL_2D, 2, [x], [y], tflite.BuiltinOptions.Pool2DOptions, options
        )
        return y

    def mul(
        self,
        a: Tensor,
        b: Tensor,
        out_scale: float,
        out_zp: int,
        *,
        activation: str = "NONE",
        name: str | None = None,
    ) -> Tensor:
        """MUL of two int8 tensors (numpy broadcasting); the output scale is free."""
        try:
            shape = np.broadcast_shapes(a.shape, b.shape)
        except ValueError as e:
            raise ValueError(f"mul: shapes {a.shape} and {b.shape} do not broadcast") from e
        act = _check_choice(activation, ACTIVATIONS, "activation")
        y = self._activation(name or self.auto_name("mul"), shape, out_scale, out_zp)

        def options(fb: flatbuffers.Builder) -> int:
            tflite.MulOptionsStart(fb)
            tflite.MulOptionsAddFusedActivationFunction(fb, act)
            return tflite.MulOptionsEnd(fb)

        self._add_op(tflite.BuiltinOperator.MUL, 2, [a, b], [y], tflite.BuiltinOptions.MulOptions, options)
        return y

    def mean(
        self,
        x: Tensor,
        axes: Sequence[int],
        out_scale: float,
        out_zp: int,
        *,
        keep_dims: bool = True,
        name: str | None = None,
    ) -> Tensor:
        """MEAN over ``axes`` (an int32 constant operand; negative axes allowed) with ReducerOptions."""
        rank = len(x.shape)
        resolved = sorted({a + rank if a < 0 else a for a in axes})
        if any(not 0 <= a < rank for a in resolved):
            raise ValueError(f"mean: axes {list(axes)} out of range for rank {rank}")
        if keep_dims:
            shape = tuple(1 if i in resolved else d for i, d in enumerate(x.shape))
        else:
            shape = tuple(d for i, d in enumerate(x.shape) if i not in resolved)
        name = name or self.auto_name("mean")
        axis_t = self.const_int32(f"{name}/axis", np.array(list(axes), dtype=np.int32))
        y = self._activation(name, shape, out_scale, out_zp)

        def options(fb: flatbuffers.Builder) -> int:
            tflite.ReducerOptionsStart(fb)
            tflite.ReducerOptionsAddKeepDims(fb, keep_dims)
            return tflite.ReducerOptionsEnd(fb)

        self._add_op(
            tflite.BuiltinOperator.MEAN, 2, [x, axis_t], [y], tflite.BuiltinOptions.ReducerOptions, options
        )
        return y

    def concatenation(
        self,
        xs: Sequence[Tensor],
        axis: int,
        out_scale: float | None = None,
        out_zp: int | None = None,
        *,
        activation: str = "NONE",
        name: str | None = None,
    ) -> Tensor:
        """CONCATENATION along ``axis`` (negative allowed); the output quantization defaults to the
        first input's (TFLM requires all inputs and the output to share it)."""
        xs = list(xs)
        rank = len(xs[0].shape)
        ax = axis + rank if axis < 0 else axis
        if not 0 <= ax < rank or any(
            len(t.shape) != rank
            or any(d != e for i, (d, e) in enumerate(zip(t.shape, xs[0].shape)) if i != ax)
            for t in xs
        ):
            raise ValueError(f"concatenation: shapes {[t.shape for t in xs]} do not join on axis {axis}")
        shape = list(xs[0].shape)
        shape[ax] = sum(t.shape[ax] for t in xs)
        act = _check_choice(activation, ACTIVATIONS, "activation")
        name = name or self.auto_name("concatenation")
        if out_scale is None:
            y = self._like(name, shape, xs[0])
        else:
            y = self._activation(name, shape, out_scale, xs[0].zero_point if out_zp is None else out_zp)

        def options(fb: flatbuffers.Builder) -> int:
            tflite.ConcatenationOptionsStart(fb)
            tflite.ConcatenationOptionsAddAxis(fb, axis)
            tflite.ConcatenationOptionsAddFusedActivationFunction(fb, act)
            return tflite.ConcatenationOptionsEnd(fb)

        self._add_op(
            tflite.BuiltinOperator.CONCATENATION,
            2,
            xs,
            [y],
            tflite.BuiltinOptions.ConcatenationOptions,
            options,
        )
        return y

    def pad(
        self,
        x: Tensor,
        paddings: Sequence[Sequence[int]],
        *,
        constant: int | None = None,
        name: str | None = None,
    ) -> Tensor:
        """PAD with an int32 [rank, 2] paddings operand (pads with the zero point), or PADV2 with an
        int8 ``constant`` operand of the input's quantization when ``constant`` is given."""
        pads = np.array(paddings, dtype=np.int32).reshape(-1, 2)
        if pads.shape[0] != len(x.shape) or pads.min(initial=0) < 0:
            raise ValueError(f"pad: paddings {pads.tolist()} do not fit shape {x.shape}")
        shape = tuple(int(d + p[0] + p[1]) for d, p in zip(x.shape, pads))
        name = name or self.auto_name("pad")
        pad_t = self.const_int32(f"{name}/paddings", pads)
        y = self._like(name, shape, x)
        if constant is None:
            self._add_op(
                tflite.BuiltinOperator.PAD,
                2,
                [x, pad_t],
                [y],
                tflite.BuiltinOptions.PadOptions,
                lambda fb: (tflite.PadOptionsStart(fb), tflite.PadOptionsEnd(fb))[1],
            )
            return y
        c = self.const_int8(f"{name}/constant", np.array([constant]), x.scales, x.zero_points)
        self._add_op(
            tflite.BuiltinOperator.PADV2,
            2,
            [x, pad_t, c],
            [y],
            tflite.BuiltinOptions.PadV2Options,
            lambda fb: (tflite.PadV2OptionsStart(fb), tflite.PadV2OptionsEnd(fb))[1],
        )
        return y

    def logistic(self, x: Tensor, *, name: str | None = None) -> Tensor:
        """LOGISTIC; the output is fixed at scale 1/256, zero point -128 (int8 spec; 2^-15, 0 for int16)."""
        y = self._fixed_output(name or self.auto_name("logistic"), x, 1.0 / 256.0, -128)
        self._add_op(tflite.BuiltinOperator.LOGISTIC, 2, [x], [y])
        return y

    def tanh(self, x: Tensor, *, name: str | None = None) -> Tensor:
        """TANH; the output is fixed at scale 1/128, zero point 0 (int8 spec; 2^-15, 0 for int16)."""
        y = self._fixed_output(name or self.auto_name("tanh"), x, 1.0 / 128.0, 0)
        self._add_op(tflite.BuiltinOperator.TANH, 2, [x], [y])
        return y

    def quantize(
        self,
        x: Tensor,
        scale: float,
        zero_point: int,
        dtype: type | None = None,
        *,
        name: str | None = None,
    ) -> Tensor:
        """QUANTIZE to (scale, zero_point) in ``dtype`` (the graph's activation dtype by default):
        a requantization between integer tensors, the one op that switches dtype."""
        dt = np.dtype(dtype or self.act_dtype)
        info = np.iinfo(dt)
        if not info.min <= zero_point <= info.max:
            raise ValueError(f"{dt} zero point {zero_point} out of range")
        y = self._add_tensor(
            name or self.auto_name("quantize"), x.shape, dt, scales=[scale], zero_points=[zero_point]
        )
        self._add_op(tflite.BuiltinOperator.QUANTIZE, 2, [x], [y])
        return y

    def hard_swish(self, x: Tensor, out_scale: float, out_zp: int, *, name: str | None = None) -> Tensor:
        """HARD_SWISH (x * relu6(x + 3) / 6); the output scale is free."""
        y = self._activation(name or self.auto_name("hard_swish"), x.shape, out_scale, out_zp)
        self._add_op(
            tflite.BuiltinOperator.HARD_SWISH,
            1,
            [x],
            [y],
            tflite.BuiltinOptions.HardSwishOptions,
            lambda fb: (tflite.HardSwishOptionsStart(fb), tflite.HardSwishOptionsEnd(fb))[1],
        )
        return y

    def leaky_relu(
        self, x: Tensor, alpha: float, out_scale: float, out_zp: int, *, name: str | None = None
    ) -> Tensor:
        """LEAKY_RELU (x > 0 ? x : alpha * x); the output scale is free."""
        y = self._activation(name or self.auto_name("leaky_relu"), x.shape, out_scale, out_zp)

        def options(fb: flatbuffers.Builder) -> int:
            tflite.LeakyReluOptionsStart(fb)
            tflite.LeakyReluOptionsAddAlpha(fb, alpha)
            return tflite.LeakyReluOptionsEnd(fb)

        self._add_op(
            tflite.BuiltinOperator.LEAKY_RELU, 2, [x], [y], tflite.BuiltinOptions.LeakyReluOptions, options
        )
        return y

    def slice(
        self, x: Tensor, begin: Sequence[int], size: Sequence[int], *, name: str | None = None
    ) -> Tensor:
        """SLICE with int32 begin and size operands (a size of -1 runs to the end of the dim)."""
        if len(begin) != len(x.shape) or len(size) != len(x.shape):
            raise ValueError(f"slice: begin {begin} and size {size} do not fit shape {x.shape}")
        name = name or self.auto_name("slice")
        begin_t = self.const_int32(f"{name}/begin", np.array(begin, dtype=np.int32))
        size_t = self.const_int32(f"{name}/size", np.array(size, dtype=np.int32))
        shape = [d - b if s == -1 else s for d, b, s in zip(x.shape, begin, size)]
        y = self._like(name, shape, x)
        self._add_op(
            tflite.BuiltinOperator.SLICE,
            1,
            [x, begin_t, size_t],
            [y],
            tflite.BuiltinOptions.SliceOptions,
            lambda fb: (tflite.SliceOptionsStart(fb), tflite.SliceOptionsEnd(fb))[1],
        )
        return y

    def prelu(
        self,
        x: Tensor,
        alpha: np.ndarray,
        alpha_scale: float,
        alpha_zp: int,
        out_scale: float,
        out_zp: int,
        *,
        name: str | None = None,
    ) -> Tensor:
        """PRELU with a constant int8 alpha (its shape broadcasts to x's); no options."""
        name = name or self.auto_name("prelu")
        a = self.const_int8(f"{name}/alpha", np.asarray(alpha, np.int8), [alpha_scale], [alpha_zp])
        y = self._activation(name, x.shape, out_scale, out_zp)
        self._add_op(tflite.BuiltinOperator.PRELU, 1, [x, a], [y])
        return y

    def resize_nearest(
        self,
        x: Tensor,
        size: Sequence[int],
        *,
        align_corners: bool = False,
        half_pixel_centers: bool = False,
        name: str | None = None,
    ) -> Tensor:
        """RESIZE_NEAREST_NEIGHBOR of an NHWC input to `size` (height, width), an int32 operand."""
        name = name or self.auto_name("resize_nearest")
        size_t = self.const_int32(f"{name}/size", np.array(size, dtype=np.int32))
        y = self._like(name, [x.shape[0], *size, x.shape[3]], x)

        def options(fb: flatbuffers.Builder) -> int:
            tflite.ResizeNearestNeighborOptionsStart(fb)
            tflite.ResizeNearestNeighborOptionsAddAlignCorners(fb, align_corners)
            tflite.ResizeNearestNeighborOptionsAddHalfPixelCenters(fb, half_pixel_centers)
            return tflite.ResizeNearestNeighborOptionsEnd(fb)

        self._add_op(
            tflite.BuiltinOperator.RESIZE_NEAREST_NEIGHBOR,
            3 if half_pixel_centers else 1,
            [x, size_t],
            [y],
            tflite.BuiltinOptions.ResizeNearestNeighborOptions,
            options,
        )
        return y

    # --- ops14: RESIZE_BILINEAR, TRANSPOSE_CONV ---

    def resize_bilinear(
        self,
        x: Tensor,
        size: Sequence[int],
        *,
        align_corners: bool = False,
        half_pixel_centers: bool = False,
        name: str | None = None,
    ) -> Tensor:
        """RESIZE_BILINEAR of an NHWC input to `size` (height, width), an int32 operand; the
        output keeps the input's quantization (TFLM requires it for int8)."""
        name = name or self.auto_name("resize_bilinear")
        size_t = self.const_int32(f"{name}/size", np.array(size, dtype=np.int32))
        y = self._like(name, [x.shape[0], *size, x.shape[3]], x)

        def options(fb: flatbuffers.Builder) -> int:
            tflite.ResizeBilinearOptionsStart(fb)
            tflite.ResizeBilinearOptionsAddAlignCorners(fb, align_corners)
            tflite.ResizeBilinearOptionsAddHalfPixelCenters(fb, half_pixel_centers)
            return tflite.ResizeBilinearOptionsEnd(fb)

        self._add_op(
            tflite.BuiltinOperator.RESIZE_BILINEAR,
            3 if half_pixel_centers else 1,
            [x, size_t],
            [y],
            tflite.BuiltinOptions.ResizeBilinearOptions,
            options,
        )
        return y

    def transpose_conv(
        self,
        x: Tensor,
        w: Tensor,
        b: Tensor | None,
        out_scale: float,
        out_zp: int,
        out_hw: Sequence[int],
        *,
        stride: int | Sequence[int] = (1, 1),
        padding: str = "SAME",
        name: str | None = None,
    ) -> Tensor:
        """TRANSPOSE_CONV: inputs (output_shape int32 [4], w [Cout,kh,kw,Cin] per-channel on dim 0,
        x [N,H,W,Cin], b [Cout] or none), the output [N, *out_hw, Cout]; no fused activation."""
        if len(x.shape) != 4 or len(w.shape) != 4 or x.shape[3] != w.shape[3]:
            raise ValueError(f"transpose_conv: input {x.shape} and filter {w.shape} (OHWI) do not match")
        self._check_bias(b, w.shape[0], "transpose_conv")
        sh, sw = _pair(stride)
        pad = _check_choice(padding, _PADDINGS, "padding")
        name = name or self.auto_name("transpose_conv")
        shape = (x.shape[0], *out_hw, w.shape[0])
        shape_t = self.const_int32(f"{name}/output_shape", np.array(shape, dtype=np.int32))
        y = self._activation(name, shape, out_scale, out_zp)

        def options(fb: flatbuffers.Builder) -> int:
            tflite.TransposeConvOptionsStart(fb)
            tflite.TransposeConvOptionsAddPadding(fb, pad)
            tflite.TransposeConvOptionsAddStrideW(fb, sw)
            tflite.TransposeConvOptionsAddStrideH(fb, sh)
            return tflite.TransposeConvOptionsEnd(fb)

        self._add_op(
            tflite.BuiltinOperator.TRANSPOSE_CONV,
            3,
            [shape_t, w, x] + ([b] if b is not None else []),
            [y],
            tflite.BuiltinOptions.TransposeConvOptions,
            options,
        )
        return y

    # --- end ops14 ---

    def strided_slice(
        self,
        x: Tensor,
        begin: Sequence[int],
        end: Sequence[int],
        strides: Sequence[int],
        *,
        begin_mask: int = 0,
        end_mask: int = 0,
        shrink_axis_mask: int = 0,
        offset: bool = False,
        name: str | None = None,
    ) -> Tensor:
        """STRIDED_SLICE with int32 begin, end and strides operands; the output shape is numpy's
        slicing of the same bounds (positive strides), shrunk axes dropped."""
        name = name or self.auto_name("strided_slice")
        shape = []
        for d, n in enumerate(x.shape):
            bit = 1 << d
            b = begin[d] + n if shrink_axis_mask & bit and begin[d] < 0 else begin[d]
            if shrink_axis_mask & bit:
                continue
            e = None if end_mask & bit else (begin[d] + end[d] if offset else end[d])
            shape.append(len(range(*slice(None if begin_mask & bit else b, e, strides[d]).indices(n))))
        ts = [self.const_int32(f"{name}/{k}", np.array(v, dtype=np.int32)) for k, v in
              (("begin", begin), ("end", end), ("strides", strides))]  # fmt: skip
        y = self._like(name, shape, x)

        def options(fb: flatbuffers.Builder) -> int:
            tflite.StridedSliceOptionsStart(fb)
            tflite.StridedSliceOptionsAddBeginMask(fb, begin_mask)
            tflite.StridedSliceOptionsAddEndMask(fb, end_mask)
            tflite.StridedSliceOptionsAddShrinkAxisMask(fb, shrink_axis_mask)
            tflite.StridedSliceOptionsAddOffset(fb, offset)
            return tflite.StridedSliceOptionsEnd(fb)

        self._add_op(
            tflite.BuiltinOperator.STRIDED_SLICE,
            4 if offset else 2,
            [x, *ts],
            [y],
            tflite.BuiltinOptions.StridedSliceOptions,
            options,
        )
        return y

    def batch_matmul(
        self,
        a: Tensor,
        b: Tensor,
        out_scale: float,
        out_zp: int,
        *,
        adj_x: bool = False,
        adj_y: bool = False,
        name: str | None = None,
    ) -> Tensor:
        """BATCH_MATMUL of two int8 tensors (rank 2..5, batch dims broadcast); adj_x / adj_y: the
        operand's last two dims are swapped. The output scale is free."""
        (m, ka), (kb, n) = a.shape[-2:][:: -1 if adj_x else 1], b.shape[-2:][:: -1 if adj_y else 1]
        if ka != kb:
            raise ValueError(f"batch_matmul: {a.shape} and {b.shape} do not multiply")
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        y = self._activation(name or self.auto_name("batch_matmul"), (*batch, m, n), out_scale, out_zp)

        def options(fb: flatbuffers.Builder) -> int:
            tflite.BatchMatMulOptionsStart(fb)
            tflite.BatchMatMulOptionsAddAdjX(fb, adj_x)
            tflite.BatchMatMulOptionsAddAdjY(fb, adj_y)
            return tflite.BatchMatMulOptionsEnd(fb)

        self._add_op(
            tflite.BuiltinOperator.BATCH_MATMUL,
            1,
            [a, b],
            [y],
            tflite.BuiltinOptions.BatchMatMulOptions,
            options,
        )
        return y

    def gather(
        self,
        x: Tensor,
        indices: np.ndarray,
        *,
        axis: int = 0,
        batch_dims: int = 0,
        name: str | None = None,
    ) -> Tensor:
        """GATHER along ``axis`` with a constant int32 indices operand (TFLite's batch_dims)."""
        idx = np.asarray(indices, np.int32)
        rank = len(x.shape)
        ax, bd = axis % rank, batch_dims + idx.ndim if batch_dims < 0 else batch_dims
        name = name or self.auto_name("gather")
        idx_t = self.const_int32(f"{name}/indices", idx)
        y = self._like(name, (*x.shape[:ax], *idx.shape[bd:], *x.shape[ax + 1 :]), x)

        def options(fb: flatbuffers.Builder) -> int:
            tflite.GatherOptionsStart(fb)
            tflite.GatherOptionsAddAxis(fb, axis)
            tflite.GatherOptionsAddBatchDims(fb, batch_dims)
            return tflite.GatherOptionsEnd(fb)

        self._add_op(
            tflite.BuiltinOperator.GATHER, 1, [x, idx_t], [y], tflite.BuiltinOptions.GatherOptions, options
        )
        return y

    def transpose(self, x: Tensor, perm: Sequence[int], *, name: str | None = None) -> Tensor:
        """TRANSPOSE with an int32 permutation operand: output dim i is input dim perm[i]."""
        perm = [int(p) for p in perm]
        if sorted(perm) != list(range(len(x.shape))):
            raise ValueError(f"transpose: {perm} is not a permutation of {len(x.shape)} axes")
        name = name or self.auto_name("transpose")
        perm_t = self.const_int32(f"{name}/perm", np.array(perm, dtype=np.int32))
        y = self._like(name, [x.shape[p] for p in perm], x)
        self._add_op(
            tflite.BuiltinOperator.TRANSPOSE,
            2,
            [x, perm_t],
            [y],
            tflite.BuiltinOptions.TransposeOptions,
            lambda fb: (tflite.TransposeOptionsStart(fb), tflite.TransposeOptionsEnd(fb))[1],
        )
        return y

    # --- serialisation ---

    def build(self) -> bytes:
        """Serialise to ``.tflite`` bytes (file identifier TFL3)."""
        if not self.inputs or not self.outputs:
            raise ValueError("the graph needs at least one input and one output")
        fb = flatbuffers.Builder(1024 + sum(len(b) for b in self._buffers))
        # Children before parents: flatbuffers builds back to front and forbids nesting.
        buffers = [self._write_buffer(fb, data) for data in self._buffers]
        tensors = [self._write_tensor(fb, t) for t in self.tensors]
        opcodes: list[tuple[int, int]] = []
        operators = []
        for op in self.ops:
            key = (op.code, op.version)
            if key not in opcodes:
                opcodes.append(key)
            operators.append(self._write_operator(fb, op, opcodes.index(key)))
        opcode_offsets = [self._write_opcode(fb, code, version) for code, version in opcodes]

        sg_tensors = _offset_vector(fb, tflite.SubGraphStartTensorsVector, tensors)
        sg_inputs = fb.CreateNumpyVector(np.array([t.index for t in self.inputs], dtype=np.int32))
        sg_outputs = fb.CreateNumpyVector(np.array([t.index for t in self.outputs], dtype=np.int32))
        sg_operators = _offset_vector(fb, tflite.SubGraphStartOperatorsVector, operators)
        sg_name = fb.CreateString(self.name)
        tflite.SubGraphStart(fb)
        tflite.SubGraphAddTensors(fb, sg_tensors)
        tflite.SubGraphAddInputs(fb, sg_inputs)
        tflite.SubGraphAddOutputs(fb, sg_outputs)
        tflite.SubGraphAddOperators(fb, sg_operators)
        tflite.SubGraphAddName(fb, sg_name)
        subgraph = tflite.SubGraphEnd(fb)

        m_opcodes = _offset_vector(fb, tflite.ModelStartOperatorCodesVector, opcode_offsets)
        m_subgraphs = _offset_vector(fb, tflite.ModelStartSubgraphsVector, [subgraph])
        m_description = fb.CreateString(self.description)
        m_buffers = _offset_vector(fb, tflite.ModelStartBuffersVector, buffers)
        tflite.ModelStart(fb)
        tflite.ModelAddVersion(fb, SCHEMA_VERSION)
        tflite.ModelAddOperatorCodes(fb, m_opcodes)
        tflite.ModelAddSubgraphs(fb, m_subgraphs)
        tflite.ModelAddDescription(fb, m_description)
        tflite.ModelAddBuffers(fb, m_buffers)
        model = tflite.ModelEnd(fb)
        fb.Finish(model, file_identifier=FILE_IDENTIFIER)
        return bytes(fb.Output())

    @staticmethod
    def _write_buffer(fb: flatbuffers.Builder, data: bytes) -> int:
        vec = None
        if data:
            # Pad so the payload starts 16-byte aligned (relative to the buffer end; Finish then
            # makes the whole file a multiple of 16, so it is aligned from the start too).
            fb.Prep(BUFFER_ALIGNMENT, len(data))
            vec = fb.CreateNumpyVector(np.frombuffer(data, dtype=np.uint8))
        tflite.BufferStart(fb)
        if vec is not None:
            tflite.BufferAddData(fb, vec)
        return tflite.BufferEnd(fb)

    @staticmethod
    def _write_tensor(fb: flatbuffers.Builder, t: Tensor) -> int:
        name = fb.CreateString(t.name)
        shape = fb.CreateNumpyVector(np.array(t.shape, dtype=np.int32))
        quant = None
        if t.scales:
            scale = fb.CreateNumpyVector(np.array(t.scales, dtype=np.float32))
            zero_point = fb.CreateNumpyVector(np.array(t.zero_points, dtype=np.int64))
            tflite.QuantizationParametersStart(fb)
            tflite.QuantizationParametersAddScale(fb, scale)
            tflite.QuantizationParametersAddZeroPoint(fb, zero_point)
            tflite.QuantizationParametersAddQuantizedDimension(fb, t.quantized_dimension)
            quant = tflite.QuantizationParametersEnd(fb)
        tflite.TensorStart(fb)
        tflite.TensorAddShape(fb, shape)
        tflite.TensorAddType(fb, tflite.TensorType.INT4 if t.int4 else _TENSOR_TYPES[t.dtype])
        tflite.TensorAddBuffer(fb, t.buffer)
        tflite.TensorAddName(fb, name)
        if quant is not None:
            tflite.TensorAddQuantization(fb, quant)
        return tflite.TensorEnd(fb)

    @staticmethod
    def _write_operator(fb: flatbuffers.Builder, op: Op, opcode_index: int) -> int:
        inputs = fb.CreateNumpyVector(np.array(op.inputs, dtype=np.int32))
        outputs = fb.CreateNumpyVector(np.array(op.outputs, dtype=np.int32))
        options = op.write_options(fb) if op.write_options is not None else None
        tflite.OperatorStart(fb)
        tflite.OperatorAddOpcodeIndex(fb, opcode_index)
        tflite.OperatorAddInputs(fb, inputs)
        tflite.OperatorAddOutputs(fb, outputs)
        if options is not None:
            tflite.OperatorAddBuiltinOptionsType(fb, op.options_type)
            tflite.OperatorAddBuiltinOptions(fb, options)
        return tflite.OperatorEnd(fb)

    @staticmethod
    def _write_opcode(fb: flatbuffers.Builder, code: int, version: int) -> int:
        tflite.OperatorCodeStart(fb)
        tflite.OperatorCodeAddDeprecatedBuiltinCode(fb, min(code, _DEPRECATED_CODE_LIMIT))
        tflite.OperatorCodeAddBuiltinCode(fb, code)
        tflite.OperatorCodeAddVersion(fb, version)
        return tflite.OperatorCodeEnd(fb)


def _offset_vector(
    fb: flatbuffers.Builder, start: Callable[[flatbuffers.Builder, int], object], offsets: Sequence[int]
) -> int:
    """A vector of tables; flatbuffers wants the elements prepended in reverse."""
    start(fb, len(offsets))
    for off in reversed(offsets):
        fb.PrependUOffsetTRelative(off)
    return fb.EndVector()


# *** realistic random parameters ***
#
# Random scales make a useless test model: every activation saturates at +-127 or collapses
# to the zero point, and a model that always outputs -128 agrees with anything. RandomLayers
# mimics a trained, BN-folded and calibrated network instead. It tracks an estimate of each
# activation's real per-channel mean and its std across inputs (for uniformly random int8
# model inputs), picks weight scales so each layer's pre-activation has a chosen std, folds
# the input means into the bias (as batch norm does, so outputs vary with the input rather
# than sit on per-channel constants), and quantizes each output over a +-4 sigma calibration
# range clipped by the fused activation, nudged so that 0.0 is exact, as the converter does.

_CLIP_RANGES: dict[str, tuple[float, float]] = {
    "NONE": (-math.inf, math.inf),
    "RELU": (0.0, math.inf),
    "RELU6": (0.0, 6.0),
    "RELU_N1_TO_1": (-1.0, 1.0),
}


@dataclass(frozen=True, eq=False)
class ActStats:
    """Estimated real statistics of an activation over random model inputs.

    ``mean`` broadcasts against the tensor's shape (usually one value per channel, shape
    ``(C,)``); ``std`` is the variation across inputs, assumed equal for all elements.
    """

    mean: np.ndarray
    std: float

    def channel_mean(self, shape: Sequence[int]) -> np.ndarray:
        """Mean per position of the last axis, for a tensor of ``shape``."""
        full = np.broadcast_to(self.mean, tuple(shape))
        return full.reshape(-1, full.shape[-1]).mean(axis=0)


def range_quant(lo: float, hi: float) -> tuple[float, int]:
    """Asymmetric int8 (scale, zero_point) for the real range [lo, hi], widened to hold 0.0 exactly."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi - lo <= 0:
        raise ValueError("empty quantization range")
    scale = float(np.float32((hi - lo) / 255.0))
    zero_point = int(np.clip(math.floor(-128.0 - lo / scale + 0.5), -128, 127))
    return scale, zero_point


def symmetric_int8_weights(
    rng: np.random.Generator, shape: Sequence[int], axis: int | None, top: int = 127
) -> np.ndarray:
    """Gaussian int8 weights whose largest magnitude per channel along ``axis`` (or overall) is
    ``top`` (127; 7 for int4).

    That is what symmetric quantization of trained weights produces: every channel spans the
    full [-top, top] range.
    """
    w = rng.standard_normal(tuple(shape))
    reduce = None if axis is None else tuple(i for i in range(w.ndim) if i != axis)
    peak = np.max(np.abs(w), axis=reduce, keepdims=True)
    return np.clip(np.round(w / peak * top), -top, top).astype(np.int8)


def _clipped_normal_moments(means: np.ndarray, std: float, lo: float, hi: float) -> ActStats:
    """Per-element mean and pooled std of clip(N(means, std^2), lo, hi), by quadrature."""
    z = np.linspace(-8.0, 8.0, 2001)
    p = np.exp(-0.5 * z**2)
    p /= p.sum()
    y = np.clip(np.asarray(means, dtype=np.float64)[..., None] + std * z, lo, hi)
    m = (y * p).sum(axis=-1)
    var = (((y - m[..., None]) ** 2) * p).sum(axis=-1)
    return ActStats(m, float(math.sqrt(max(float(var.mean()), 1e-12))))


class RandomLayers:
    """Adds layers with random but realistic int8 parameters to a TFLiteGraph (see the section note).

    ``sigma`` is the real std of each layer's pre-activation (before the fused activation);
    RELU6 layers use ``max(sigma, 2.0)`` so their [0, 6] range is used.
    """

    def __init__(
        self, graph: TFLiteGraph, rng: np.random.Generator, sigma: float = 1.0, *, weights: str = "int8"
    ) -> None:
        if weights not in ("int8", "int4"):
            raise ValueError(f"weights must be 'int8' or 'int4', not {weights!r}")
        self.g = graph
        self.rng = rng
        self.sigma = sigma
        self.weights = weights  # "int4": symmetric [-7, 7] weights written as TFLite INT4
        self._stats: dict[int, ActStats] = {}

    def stats(self, t: Tensor) -> ActStats:
        """The tracked estimate for ``t``."""
        return self._stats[t.index]

    def _track(self, t: Tensor, stats: ActStats) -> Tensor:
        self._stats[t.index] = stats
        return t

    def input(self, name: str, shape: Sequence[int], scale: float, zero_point: int) -> Tensor:
        """A graph input, assumed to be fed uniformly random values of its dtype."""
        t = self.g.input(name, shape, scale, zero_point)
        mean = np.array([t.scale * (-0.5 - t.zero_point)])
        levels = 2 ** (8 * self.g.act_dtype.itemsize)
        return self._track(t, ActStats(mean, t.scale * math.sqrt((levels**2 - 1) / 12.0)))

    def _quant(self, lo: float, hi: float) -> tuple[float, int]:
        """(scale, zero point) of the range [lo, hi] for the graph's activations: asymmetric
        int8, or symmetric int16 with zero point 0 (TFLite's 16x8)."""
        if self.g.act_dtype == np.int16:
            peak = max(abs(lo), abs(hi))
            if peak <= 0:
                raise ValueError("empty quantization range")
            return float(np.float32(peak / 32767.0)), 0
        return range_quant(lo, hi)

    def _out_quant(self, pre: ActStats, activation: str) -> tuple[float, int, ActStats]:
        """Calibrate the output like the converter: the observed range of the activated values."""
        lo, hi = _CLIP_RANGES[activation]
        cal_lo = max(float(np.min(pre.mean)) - 4 * pre.std, lo)
        cal_hi = min(float(np.max(pre.mean)) + 4 * pre.std, hi)
        scale, zp = self._quant(cal_lo, cal_hi)
        return scale, zp, _clipped_normal_moments(pre.mean, pre.std, cal_lo, cal_hi)

    def _weighted_params(
        self, x: Tensor, w_rows: np.ndarray, tap_means: np.ndarray, sigma: float, per_channel: bool
    ) -> tuple[list[float], np.ndarray, ActStats]:
        """Weight scales, int32 bias and pre-activation stats for int8 weights ``w_rows`` [C, fan_in].

        ``tap_means`` (broadcastable to ``w_rows``) is the real mean of the input each tap
        reads; it is folded into the bias so the pre-activation is centred on a small offset.
        """
        st = self.stats(x)
        w = w_rows.astype(np.float64)
        acc_std = np.sqrt((w**2).sum(axis=1)) * (st.std / x.scale)  # accumulator std, int8*int8 units
        target = sigma * np.exp(self.rng.uniform(np.log(0.7), np.log(1.4), size=len(w)))
        w_scales = target / (acc_std * x.scale)
        if not per_channel:
            w_scales = np.full_like(w_scales, np.median(w_scales))
        w_scales = w_scales.astype(np.float32).astype(np.float64)
        beta = self.rng.normal(0.0, 0.1 * sigma, size=len(w))  # small per-channel offset (BN shift)
        fold = (w * tap_means).sum(axis=1) / x.scale  # sum_k w_k * mean_k in accumulator units
        bias = np.round(beta / (x.scale * w_scales) - fold)
        bias = np.clip(bias, -(2**31), 2**31 - 1).astype(np.int32)
        pre_std = acc_std * x.scale * w_scales
        pre = ActStats(beta, float(math.sqrt((pre_std**2).mean())))
        return [float(s) for s in w_scales], bias, pre

    def _random_weights(self, shape: Sequence[int], axis: int | None) -> np.ndarray:
        return symmetric_int8_weights(self.rng, shape, axis, 7 if self.weights == "int4" else 127)

    def _weights_const(self, name: str, w_q: np.ndarray, scales: Sequence[float], axis: int) -> Tensor:
        if self.weights == "int4":
            return self.g.const_int4(name, w_q, scales, quantized_dimension=axis)
        return self.g.const_int8(name, w_q, scales, quantized_dimension=axis)

    def _sigma(self, activation: str) -> float:
        return max(self.sigma, 2.0) if activation == "RELU6" else self.sigma

    def _bias_tensor(
        self, name: str, x: Tensor, w: Tensor, bias: np.ndarray, use_bias: bool, dtype: type | None = None
    ) -> Tensor | None:
        """``dtype`` overrides TFLite's default (int32, or int64 for 16x8): int32 for 16x8."""
        if not use_bias:
            return None
        if self.g.act_dtype == np.int16 and dtype is not np.int32:  # 16x8: TFLite's int64 bias
            return self.g.const(name, bias.astype(np.int64), scales=bias_scales(x, w))
        return self.g.const_int32(name, bias, scales=bias_scales(x, w))

    def conv2d(
        self,
        x: Tensor,
        out_channels: int,
        kernel: int | Sequence[int] = (3, 3),
        *,
        stride: int | Sequence[int] = (1, 1),
        dilation: int | Sequence[int] = (1, 1),
        padding: str = "SAME",
        activation: str = "NONE",
        bias: bool = True,
        bias_dtype: type | None = None,
        name: str | None = None,
    ) -> Tensor:
        """CONV_2D with per-channel weights [Cout,kh,kw,Cin] (quantized_dimension 0)."""
        name = name or self.g.auto_name("conv2d")
        kh, kw = _pair(kernel)
        w_q = self._random_weights((out_channels, kh, kw, x.shape[3]), axis=0)
        tap_means = np.tile(self.stats(x).channel_mean(x.shape), kh * kw)[None, :]
        sigma = self._sigma(activation)
        w_s, b_q, pre = self._weighted_params(x, w_q.reshape(out_channels, -1), tap_means, sigma, True)
        w = self._weights_const(f"{name}/filter", w_q, w_s, 0)
        b = self._bias_tensor(f"{name}/bias", x, w, b_q, bias, bias_dtype)
        scale, zp, post = self._out_quant(pre, activation)
        y = self.g.conv2d(
            x,
            w,
            b,
            scale,
            zp,
            stride=stride,
            dilation=dilation,
            padding=padding,
            activation=activation,
            name=name,
        )
        return self._track(y, post)

    def depthwise_conv2d(
        self,
        x: Tensor,
        kernel: int | Sequence[int] = (3, 3),
        *,
        depth_multiplier: int = 1,
        stride: int | Sequence[int] = (1, 1),
        dilation: int | Sequence[int] = (1, 1),
        padding: str = "SAME",
        activation: str = "NONE",
        bias: bool = True,
        bias_dtype: type | None = None,
        name: str | None = None,
    ) -> Tensor:
        """DEPTHWISE_CONV_2D with per-channel weights [1,kh,kw,Cin*m] (quantized_dimension 3)."""
        name = name or self.g.auto_name("depthwise_conv2d")
        kh, kw = _pair(kernel)
        cout = x.shape[3] * depth_multiplier
        w_q = self._random_weights((1, kh, kw, cout), axis=3)
        in_means = self.stats(x).channel_mean(x.shape)
        tap_means = np.repeat(in_means, depth_multiplier)[:, None]  # output c*m+k reads input c
        sigma = self._sigma(activation)
        w_s, b_q, pre = self._weighted_params(x, w_q.reshape(kh * kw, cout).T, tap_means, sigma, True)
        w = self._weights_const(f"{name}/filter", w_q, w_s, 3)
        b = self._bias_tensor(f"{name}/bias", x, w, b_q, bias, bias_dtype)
        scale, zp, post = self._out_quant(pre, activation)
        y = self.g.depthwise_conv2d(
            x,
            w,
            b,
            scale,
            zp,
            depth_multiplier=depth_multiplier,
            stride=stride,
            dilation=dilation,
            padding=padding,
            activation=activation,
            name=name,
        )
        return self._track(y, post)

    def fully_connected(
        self,
        x: Tensor,
        units: int,
        *,
        activation: str = "NONE",
        per_channel: bool = False,
        bias: bool = True,
        name: str | None = None,
    ) -> Tensor:
        """FULLY_CONNECTED with weights [units, in], per-tensor (the spec) or per-channel on dim 0.

        Without a bias the input mean cannot be folded away, so outputs carry per-unit offsets.
        """
        name = name or self.g.auto_name("fully_connected")
        depth = x.shape[-1]
        w_q = self._random_weights((units, depth), axis=0 if per_channel else None)
        tap_means = self.stats(x).channel_mean(x.shape)[None, :]
        sigma = self._sigma(activation)
        w_s, b_q, pre = self._weighted_params(x, w_q, tap_means, sigma, per_channel)
        if not bias:
            fold = (w_q.astype(np.float64) * tap_means).sum(axis=1) * w_s[0]  # real offset the bias removed
            pre = ActStats(pre.mean + fold, pre.std)
        w = self._weights_const(f"{name}/weights", w_q, w_s if per_channel else w_s[:1], 0)
        b = self._bias_tensor(f"{name}/bias", x, w, b_q, bias)
        scale, zp, post = self._out_quant(pre, activation)
        y = self.g.fully_connected(x, w, b, scale, zp, activation=activation, name=name)
        return self._track(y, post)

    def add(self, a: Tensor, b: Tensor, *, activation: str = "NONE", name: str | None = None) -> Tensor:
        """ADD of two tracked tensors, treated as independent."""
        sa, sb = self.stats(a), self.stats(b)
        pre = ActStats(sa.mean + sb.mean, math.hypot(sa.std, sb.std))
        scale, zp, post = self._out_quant(pre, activation)
        return self._track(self.g.add(a, b, scale, zp, activation=activation, name=name), post)

    def add_const(
        self,
        a: Tensor,
        shape: Sequence[int] | None = None,
        *,
        activation: str = "NONE",
        name: str | None = None,
    ) -> Tensor:
        """ADD of ``a`` and a broadcast constant (default shape [1,..,1,C]) with its own scale: int8,
        or symmetric int16 (zero point 0) in a 16x8 graph, as TFLite quantizes ADD's operands."""
        name = name or self.g.auto_name("add")
        shape = tuple(shape) if shape is not None else (1,) * (len(a.shape) - 1) + (a.shape[-1],)
        sa = self.stats(a)
        values = self.rng.normal(0.0, 0.5 * sa.std, size=shape)
        c_scale, c_zp = self._quant(float(values.min()), float(values.max()))
        info = np.iinfo(self.g.act_dtype)
        c_q = np.clip(np.floor(values / c_scale + 0.5) + c_zp, info.min, info.max).astype(self.g.act_dtype)
        c = self.g.const(f"{name}/operand", c_q, scales=[c_scale], zero_points=[c_zp])
        pre = ActStats(sa.mean + (c_q.astype(np.float64) - c_zp) * c_scale, sa.std)
        scale, zp, post = self._out_quant(pre, activation)
        return self._track(self.g.add(a, c, scale, zp, activation=activation, name=name), post)

    def average_pool2d(
        self,
        x: Tensor,
        filter: int | Sequence[int] = (2, 2),
        stride: int | Sequence[int] = (2, 2),
        *,
        padding: str = "VALID",
        name: str | None = None,
    ) -> Tensor:
        """AVERAGE_POOL_2D; averaging k taps divides the std by about sqrt(k)."""
        st = self.stats(x)
        y = self.g.average_pool2d(x, filter, stride, padding=padding, name=name)
        return self._track(
            y, ActStats(st.channel_mean(x.shape), st.std / math.sqrt(math.prod(_pair(filter))))
        )

    # dsppool16: MAX_POOL_2D in a random graph
    def max_pool2d(
        self,
        x: Tensor,
        filter: int | Sequence[int] = (2, 2),
        stride: int | Sequence[int] = (2, 2),
        *,
        padding: str = "VALID",
        activation: str = "NONE",
        name: str | None = None,
    ) -> Tensor:
        """MAX_POOL_2D; the output keeps the input's quantization (the stats stay a rough guess)."""
        y = self.g.max_pool2d(x, filter, stride, padding=padding, activation=activation, name=name)
        return self._track(y, self.stats(x))

    def reshape(self, x: Tensor, new_shape: Sequence[int], *, name: str | None = None) -> Tensor:
        """RESHAPE; per-element means move with the data."""
        y = self.g.reshape(x, new_shape, name=name)
        st = self.stats(x)
        return self._track(y, ActStats(np.broadcast_to(st.mean, x.shape).reshape(y.shape), st.std))

    def softmax(self, x: Tensor, beta: float = 1.0, *, name: str | None = None) -> Tensor:
        """SOFTMAX; the output is a probability (its stats are a rough placeholder)."""
        y = self.g.softmax(x, beta, name=name)
        n = x.shape[-1]
        return self._track(y, ActStats(np.full(n, 1.0 / n), 1.0 / n))
