"""Float ONNX models whose element-wise activations convert to LOOKUP_TABLE ops (tables.py)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from support.onnx_models import model, rand


def gelu_silu_convnet(seed: int = 0) -> tuple[onnx.ModelProto, np.ndarray]:
    """Conv -> GELU (torch's erf form: x * 0.5 * (1 + erf(x / sqrt 2))) -> Conv -> SiLU
    (x * sigmoid(x)); and 16 calibration inputs. Each activation becomes one LOOKUP_TABLE."""
    rng = np.random.default_rng(seed)
    inits = {
        "w1": rand(rng, 8, 3, 3, 3),
        "b1": rand(rng, 8),
        "w2": rand(rng, 6, 8, 1, 1),
        "sqrt2": np.array(np.sqrt(2.0), np.float32),
        "one": np.array(1.0, np.float32),
        "half": np.array(0.5, np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Div", ["c1", "sqrt2"], ["d"], name="gelu/div"),
        helper.make_node("Erf", ["d"], ["e"], name="gelu/erf"),
        helper.make_node("Add", ["e", "one"], ["a"], name="gelu/add"),
        helper.make_node("Mul", ["c1", "a"], ["m"], name="gelu/mul"),
        helper.make_node("Mul", ["m", "half"], ["g"], name="gelu/half"),
        helper.make_node("Conv", ["g", "w2"], ["c2"], name="conv2"),
        helper.make_node("Sigmoid", ["c2"], ["s"], name="silu/sigmoid"),
        helper.make_node("Mul", ["c2", "s"], ["y"], name="silu/mul"),
    ]
    m = model(nodes, {"x": ["N", 3, 6, 6]}, {"y": None}, inits)
    return m, rng.normal(size=(16, 3, 6, 6)).astype(np.float32)
