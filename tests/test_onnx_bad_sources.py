"""Float sources that would make a silently wrong model get a clear ConversionError instead."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from picoq.converter import ConversionError, convert


def _conv_model(w: np.ndarray | None) -> bytes:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    conv = helper.make_node("Conv", ["x", "w"], ["y"], name="c1", pads=[1, 1, 1, 1])
    inits = [] if w is None else [numpy_helper.from_array(w, "w")]
    graph = helper.make_graph([conv], "g", [x], [y], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


W = np.random.default_rng(0).normal(size=(4, 3, 3, 3)).astype(np.float32)
CALIB = np.random.default_rng(1).normal(size=(10, 3, 8, 8)).astype(np.float32)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_weights_are_named(bad: float) -> None:
    w = W.copy()
    w[1, 2, 0, 0] = bad
    with pytest.raises(ConversionError, match="initializer 'w' holds 1 NaN or infinite value"):
        convert(_conv_model(w), calibration=CALIB, progress=False)


def test_missing_weights_are_named() -> None:
    with pytest.raises(ConversionError, match=r"'c1' \(Conv\): reads \['w'\], which nothing produces"):
        convert(_conv_model(None), calibration=CALIB, progress=False)


def test_constant_calibration_data_is_refused() -> None:
    with pytest.raises(ConversionError, match="'x' is constant"):
        convert(_conv_model(W), calibration=np.zeros((10, 3, 8, 8), np.float32), progress=False)


def test_representative_calibration_converts() -> None:
    assert convert(_conv_model(W), calibration=CALIB, progress=False)[:8] == b"\x89PICOQ\r\n"


# --- unseen-model sweep: -inf initializers are attention masks (converter/masks.py) ----------


def test_minus_inf_weights_outside_an_attention_mask_are_named() -> None:
    """-inf passes the import (a causal mask's initializer holds it) but anywhere other than
    an additive mask before a Softmax the conversion names the node and the constant."""
    w = W.copy()
    w[1, 2, 0, 0] = -np.inf
    with pytest.raises(ConversionError, match="'c1' \\(Conv\\): constant 'w' holds -inf"):
        convert(_conv_model(w), calibration=CALIB, progress=False)
