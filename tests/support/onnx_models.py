"""Helpers for the ONNX tests: build one-graph models, run them through picoq and onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from picoq.converter import convert
from picoq.converter.float_ops import sqnr_db
from picoq.runtime import Interpreter


def model(
    nodes: list[onnx.NodeProto],
    inputs: dict[str, list],
    outputs: dict[str, list],
    inits: dict[str, np.ndarray] | None = None,
    opset: int = 13,
) -> onnx.ModelProto:
    """A checked ONNX model; shapes may hold strings (symbolic dims) or None (unknown)."""
    graph = helper.make_graph(
        nodes,
        "test",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs.items()],
        [numpy_helper.from_array(np.asarray(v), n) for n, v in (inits or {}).items()],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    if any(s is None for s in outputs.values()):  # let ONNX's shape inference fill output shapes in
        inferred = onnx.shape_inference.infer_shapes(m).graph
        known = {v.name: v for v in [*inferred.value_info, *inferred.output]}
        for out in m.graph.output:
            if not out.type.tensor_type.HasField("shape") and out.name in known:
                out.type.CopyFrom(known[out.name].type)
    onnx.checker.check_model(m)
    return m


def layer_norm_model(shape: list, axis: int = -1, eps: float = 1e-5, seed: int = 0) -> onnx.ModelProto:
    """LayerNormalization alone on the graph input, random gamma and beta over [axis:]."""
    rng = np.random.default_rng(seed)
    row = shape[axis:]
    inits = {"g": rng.normal(1, 0.5, row).astype(np.float32), "b": rng.normal(0, 0.5, row).astype(np.float32)}
    node = helper.make_node("LayerNormalization", ["x", "g", "b"], ["y"], axis=axis, epsilon=eps)
    return model([node], {"x": ["N", *shape[1:]]}, {"y": None}, inits, opset=17)


def ort_run(m: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    import onnxruntime as ort

    return ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)


def convert_and_run(m: onnx.ModelProto, calib, x, **options) -> tuple[Interpreter, list[np.ndarray]]:
    it = Interpreter(convert(m, calibration=calib, progress=False, **options))
    y = it.run(x)
    return it, y if isinstance(y, list) else [y]


def sqnr_vs_ort(m: onnx.ModelProto, shape: tuple[int, ...], n: int = 8, seed: int = 0, **options) -> float:
    """Worst output SQNR (dB) of picoq int8 against onnxruntime float on random inputs."""
    rng = np.random.default_rng(seed)
    name = m.graph.input[0].name
    calib = rng.normal(size=(64, *shape[1:])).astype(np.float32)
    x = rng.normal(size=(n, *shape[1:])).astype(np.float32)
    _, got = convert_and_run(m, calib, x, **options)
    want = ort_run(m, {name: x})
    return min(sqnr_db(w, g) for w, g in zip(want, got))


def op_names(it: Interpreter) -> list[str]:
    return [o.name for o in it.model.ops]


def rand(rng: np.random.Generator, *shape: int, scale: float = 0.3) -> np.ndarray:
    return rng.normal(0, scale, shape).astype(np.float32)


def conv_relu_model() -> onnx.ModelProto:
    """Conv 3x3 (2 -> 3 channels, padded) + Relu on a symbolic-batch 2x5x5 input, fixed weights:
    the small float model the calibration tests feed data to."""
    r = np.random.default_rng(0)
    return model(
        [
            helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c"], ["y"]),
        ],
        {"x": ["N", 2, 5, 5]},
        {"y": None},
        {"w": rand(r, 3, 2, 3, 3), "b": rand(r, 3)},
    )


def ort_quantize_static(
    m: onnx.ModelProto, calib, tmp_path, input_name: str = "input", per_channel: bool = True
) -> onnx.ModelProto:
    """onnxruntime's quantize_static of `m` (QDQ, per-channel unless told, MinMax, int8): the
    accuracy peer. `calib`: an array of samples of `input_name` (one batch each), or a list of
    feed dicts (a model of several inputs)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    feeds = calib if isinstance(calib, list) else [{input_name: calib[i : i + 1]} for i in range(len(calib))]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter(feeds)

        def get_next(self):
            return next(self.items, None)

    src, dst = tmp_path / "float.onnx", tmp_path / "int8.onnx"
    onnx.save(m, src)
    quantize_static(
        str(src),
        str(dst),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=per_channel,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
    )
    return onnx.load(dst)


def sqnr_against_ort_qdq(
    m: onnx.ModelProto, calib: np.ndarray, x: np.ndarray, tmp_path
) -> tuple[list[float], list[float], Interpreter]:
    """Per graph output, the SQNR (dB) against onnxruntime float on inputs x (one sample a run,
    for batch-1 models) of picoq int8 and of onnxruntime quantize_static (the peer), both
    calibrated on `calib`; and picoq's Interpreter."""
    import onnxruntime as ort

    name = m.graph.input[0].name

    def each(run) -> list[np.ndarray]:
        outs = [run(x[i : i + 1]) for i in range(len(x))]
        return [np.concatenate(o) for o in zip(*outs)]

    float_s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    want = each(lambda a: float_s.run(None, {name: a}))
    it = Interpreter(convert(m, calibration=calib, progress=False))
    got = each(lambda a: (lambda y: y if isinstance(y, list) else [y])(it.run(a)))
    q = ort_quantize_static(m, calib, tmp_path, input_name=name)
    peer_s = ort.InferenceSession(q.SerializeToString(), providers=["CPUExecutionProvider"])
    peer = each(lambda a: peer_s.run(None, {name: a}))
    return [sqnr_db(w, g) for w, g in zip(want, got)], [sqnr_db(w, p) for w, p in zip(want, peer)], it
