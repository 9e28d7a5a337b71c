"""Derive dtype variants of an int8 .tflite: int4 weights and/or 16x8 activations.

``derive_variant(tflite_bytes, weights="int4")`` rewrites every CONV_2D, DEPTHWISE_CONV_2D and
FULLY_CONNECTED weight tensor as TFLite's packed INT4 (re-quantized per channel, or per tensor
where it was, to [-7, 7] with new scales) and its bias at the new scales;
``activations="int16"`` turns every int8 activation into a symmetric int16 one covering the
same real range (TFLite's 16x8 scheme: zero point 0, int64 biases at the new scales).

What real models look like under those schemes, without TensorFlow's converter: the
official MLPerf Tiny int8 models become int4 or 16x8 test models. The rewrite is done on
TFLite's flatbuffer object API (the schema module tflite-micro ships, a test dependency),
which keeps every op, option and tensor the source has and changes only types, scales and
buffers.
"""

from __future__ import annotations

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from .tflite_builder import pack_int4

__all__ = ["derive_variant"]

_INT8, _INT16, _INT32, _INT64, _INT4 = 9, 7, 2, 4, 17  # tflite.TensorType
_WEIGHTED = {3: 0, 4: 3, 9: 0}  # CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED -> output-channel axis
# 16x8 ops whose int16 output TFLite fixes at scale 1/32768, zero point 0: SOFTMAX, LOGISTIC, TANH
_FIXED_INT16_OUT = {25, 14, 28}


def derive_variant(tflite_bytes: bytes, *, weights: str = "int8", activations: str = "int8") -> bytes:
    """The model with int4 weights (``weights="int4"``) and/or int16 activations
    (``activations="int16"``); ``"int8"`` leaves that side as it is."""
    if weights not in ("int8", "int4") or activations not in ("int8", "int16"):
        raise ValueError(f"weights int8|int4 and activations int8|int16, not {weights!r}, {activations!r}")
    m = schema.ModelT.InitFromPackedBuf(bytearray(tflite_bytes), 0)
    sg = m.subgraphs[0]
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in m.operatorCodes]
    old_scale = {
        i: np.asarray(t.quantization.scale, np.float64) for i, t in enumerate(sg.tensors) if _quantized(t)
    }
    w_scale = dict(old_scale)  # weight tensor -> its (new) scales
    x_scale = dict(old_scale)  # activation tensor -> its (new) scale
    weighted = [op for op in sg.operators if codes[op.opcodeIndex] in _WEIGHTED]
    if weights == "int4":
        axes = {op.inputs[1]: _WEIGHTED[codes[op.opcodeIndex]] for op in weighted}  # a shared filter once
        for w, axis in axes.items():
            w_scale[w] = _to_int4(m, sg.tensors[w], axis)
    if activations == "int16":
        fixed = {op.outputs[0] for op in sg.operators if codes[op.opcodeIndex] in _FIXED_INT16_OUT}
        for i, t in enumerate(sg.tensors):
            if t.type == _INT8 and not _const(m, t) and _quantized(t):
                x_scale[i] = _to_int16(t, i in fixed)
    for op in weighted:
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            x, w, b = op.inputs[:3]
            _rescale_bias(m, sg.tensors[b], old_scale[x] * old_scale[w], x_scale[x] * w_scale[w], activations)
    fb = flatbuffers.Builder(2 * len(tflite_bytes) + 1024)
    fb.Finish(m.Pack(fb), file_identifier=b"TFL3")
    return bytes(fb.Output())


def _quantized(t) -> bool:
    return t.quantization is not None and t.quantization.scale is not None and len(t.quantization.scale) > 0


def _const(m, t) -> bool:
    data = m.buffers[t.buffer].data if 0 < t.buffer < len(m.buffers) else None
    return data is not None and len(data) > 0


def _values(m, t, dtype) -> np.ndarray:
    return np.frombuffer(bytes(m.buffers[t.buffer].data), dtype).reshape(t.shape)


def _new_buffer(m, raw: bytes) -> int:
    """A fresh buffer (the old one may be shared with a tensor the rewrite does not touch)."""
    b = schema.BufferT()
    b.data = np.frombuffer(raw, np.uint8)
    m.buffers.append(b)
    return len(m.buffers) - 1


def _to_int4(m, t, axis: int) -> np.ndarray:
    """Re-quantize int8 weights to [-7, 7] per channel (per tensor when they were): the new
    scale maps each channel's largest magnitude to 7. Returns the new scales."""
    q = _values(m, t, np.int8).astype(np.float64)
    scales = np.asarray(t.quantization.scale, np.float64)
    if scales.size > 1:
        peak = np.moveaxis(np.abs(q), axis, 0).reshape(scales.size, -1).max(axis=1)
        shape = [1] * q.ndim
        shape[axis] = scales.size
    else:
        peak, shape = np.array([np.abs(q).max()]), [1] * q.ndim
    peak = np.where(peak > 0, peak, 7.0)  # an all-zero channel keeps its scale
    new_scales = (scales * peak / 7.0).astype(np.float32).astype(np.float64)
    real = q * scales.reshape(shape)
    q4 = np.clip(np.round(real / new_scales.reshape(shape)), -7, 7).astype(np.int8)
    t.type = _INT4
    t.buffer = _new_buffer(m, pack_int4(q4))
    t.quantization.scale = new_scales.astype(np.float32)
    t.quantization.zeroPoint = np.zeros(new_scales.size, np.int64)
    return new_scales


def _to_int16(t, fixed: bool) -> np.ndarray:
    """Symmetric int16 over the int8 tensor's real range [s * (-128 - zp), s * (127 - zp)]
    (TFLite's fixed 1/32768 for the outputs it fixes). Returns the new scale."""
    s, zp = float(t.quantization.scale[0]), int(t.quantization.zeroPoint[0])
    peak = max(abs(s * (-128 - zp)), abs(s * (127 - zp)))
    scale = np.float32(1.0 / 32768.0 if fixed else peak / 32767.0)
    t.type = _INT16
    t.quantization.scale = np.array([scale], np.float32)
    t.quantization.zeroPoint = np.zeros(1, np.int64)
    return np.array([scale], np.float64)


def _rescale_bias(m, t, old: np.ndarray, new: np.ndarray, activations: str) -> None:
    """The bias's real values at the scale in_scale * w_scale[c] of the new tensors: int32 for
    int8 activations, int64 for 16x8."""
    src = _values(m, t, np.int64 if t.type == _INT64 else np.int32).astype(np.float64)
    real = src * np.broadcast_to(old, src.shape)
    scale = np.broadcast_to(new, src.shape).astype(np.float32)
    b = np.round(real / scale.astype(np.float64))
    if activations == "int16":
        t.type, values = _INT64, b.astype(np.int64)
    else:
        t.type, values = _INT32, np.clip(b, -(2**31), 2**31 - 1).astype(np.int32)
    t.buffer = _new_buffer(m, values.astype(values.dtype.newbyteorder("<")).tobytes())
    # As many scales as the filter has (one when it is per tensor), as TFLite's converter writes:
    # LiteRT reads a per-tensor bias's scale from its one entry and rejects a per-channel list
    # under a per-tensor filter (FULLY_CONNECTED's bias-scale check sees scale 0).
    kept = np.asarray(new, np.float64).astype(np.float32).reshape(-1)
    t.quantization.scale = kept
    t.quantization.zeroPoint = np.zeros(kept.size, np.int64)
