"""A model with several problems gets one ConversionError listing all of them, grouped by op.

Shape inference goes on past a node picoq does not know (onnx's reference evaluator runs it),
so the checks of every node after it run in the same pass; a node of any op type whose inputs
are all constant folds; the same problem of many nodes of one op type is one line.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from picoq.converter import ConversionError, convert
from picoq.converter.graph import group_problems
from picoq.runtime import Interpreter

from support.onnx_models import model, ort_run, rand, sqnr_vs_ort

R = np.random.default_rng(0)


def calib(shape, n=8):
    return np.random.default_rng(1).normal(size=(n, *shape)).astype(np.float32)


def _error(m, shape) -> ConversionError:
    with pytest.raises(ConversionError) as e:
        convert(m, calibration=calib(shape), progress=False)
    return e.value


def reversed_slices(blocks: int):
    """`blocks` slices of the last 4 channels reversed (steps of -1, which picoq does not
    take), each followed by a conv."""
    nodes, inits, x = [], {}, "x"
    for b in range(blocks):
        inits[f"s{b}"], inits[f"e{b}"] = np.array([-1], np.int64), np.array([-5], np.int64)
        inits[f"a{b}"], inits[f"w{b}"] = np.array([1], np.int64), rand(R, 8, 4, 1, 1)
        inits[f"st{b}"] = np.array([-1], np.int64)
        ins = [x, f"s{b}", f"e{b}", f"a{b}", f"st{b}"]
        nodes.append(helper.make_node("Slice", ins, [f"h{b}"], name=f"split{b}"))
        nodes.append(helper.make_node("Conv", [f"h{b}", f"w{b}"], [f"c{b}"], name=f"conv{b}"))
        x = f"c{b}"
    nodes.append(helper.make_node("Relu", [x], ["y"]))
    return model(nodes, {"x": ["N", 8, 6, 6]}, {"y": None}, inits)


def test_the_same_problem_of_many_nodes_is_one_line_naming_a_few():
    err = _error(reversed_slices(26), (8, 6, 6))
    assert len(err.problems) == 26  # every node is in .problems
    lines = str(err).splitlines()
    slice_lines = [ln for ln in lines if "Slice" in ln]
    assert slice_lines == [
        "  - Slice x26: negative steps (reversing an axis) are not supported on activations"
        " (nodes 'split0', 'split1', 'split2' and 23 more)"
    ]
    assert "static shapes" not in str(err)  # the shapes are static: that hint would be wrong


def transformer_like():
    """The parts of a transformer encoder layer picoq once refused in four rounds: a Mod of two
    constants (folds), then LayerNormalization, a Gather on activations and a MatMul of two
    activations (all lowered now: LAYER_NORM, GATHER, BATCH_MATMUL)."""
    inits = {
        "seven": np.array(7, np.int64),
        "three": np.array(3, np.int64),
        "g": np.ones(16, np.float32),
        "b": np.zeros(16, np.float32),
        "idx": np.array([0, 2, 1, 3], np.int64),
        "wq": rand(R, 16, 16),
    }
    nodes = [
        helper.make_node("Mod", ["seven", "three"], ["one"], name="mod_consts"),  # folds to 1
        helper.make_node("Cast", ["one"], ["onef"], to=1),
        helper.make_node("Mul", ["x", "onef"], ["x1"], name="scale_by_folded"),
        helper.make_node("LayerNormalization", ["x1", "g", "b"], ["ln"], name="norm", axis=-1),
        helper.make_node("Gather", ["ln", "idx"], ["tok"], name="pick_tokens", axis=1),
        helper.make_node("MatMul", ["tok", "wq"], ["q"], name="proj"),
        helper.make_node("Transpose", ["q"], ["qt"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q", "qt"], ["scores"], name="attention"),
        helper.make_node("Softmax", ["scores"], ["y"], axis=-1),
    ]
    return model(nodes, {"x": ["N", 4, 16]}, {"y": None}, inits, opset=17)


def test_the_transformer_block_once_refused_in_four_rounds_now_converts():
    """Every part of it has a kernel now; the Mod of constants folds whatever its op type."""
    m = transformer_like()
    x = np.random.default_rng(3).normal(size=(16, 4, 16)).astype(np.float32)
    it = Interpreter(convert(m, calibration=x, progress=False))
    assert {"LAYER_NORM", "GATHER", "BATCH_MATMUL", "SOFTMAX"} <= {op.name for op in it.model.ops}
    assert sqnr_vs_ort(m, (1, 4, 16)) >= 20


def test_a_foreign_op_on_constants_folds_and_the_model_converts():
    """A Mod of two constants (an op picoq has no kernel or float function for) folds away."""
    inits = {"seven": np.array([7.0], np.float32), "three": np.array([3.0], np.float32)}
    nodes = [
        helper.make_node("Mod", ["seven", "three"], ["one"], fmod=1),
        helper.make_node("Mul", ["x", "one"], ["y"]),
    ]
    m = model(nodes, {"x": ["N", 4, 6]}, {"y": None}, inits)
    x = calib((4, 6), n=4)
    it = Interpreter(convert(m, calibration=calib((4, 6)), progress=False))
    want = ort_run(m, {"x": x})[0]
    assert np.abs(it.run(x) - want).max() <= 2 * it.output_details[0]["scale"]


def test_a_custom_domain_op_ends_the_checks_but_is_named_with_the_others():
    """A custom-domain op cannot run here: what follows it is not checked, but every unknown
    op of the model is still named."""
    nodes = [
        helper.make_node("CumSum", ["x", "axis"], ["e"], name="cumsum"),
        helper.make_node("FancyAct", ["e"], ["f"], name="fancy", domain="com.example"),
        helper.make_node("Relu", ["f"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "custom",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
        [numpy_helper.from_array(np.array(1, np.int64), "axis")],
    )
    opsets = [helper.make_opsetid("", 13), helper.make_opsetid("com.example", 1)]
    m = helper.make_model(graph, opset_imports=opsets)
    err = _error(m, (4,))
    msg = str(err)
    assert "'cumsum' (CumSum): not supported by picoq" in msg
    assert "'fancy' (com.example.FancyAct): an op of a custom domain" in msg


def test_bad_calibration_data_and_unsupported_ops_in_one_error():
    nodes = [helper.make_node("CumSum", ["x", "axis"], ["y"], name="cumsum")]
    m = model(nodes, {"x": ["N", 4]}, {"y": None}, {"axis": np.array(1, np.int64)})
    with pytest.raises(ConversionError) as e:
        convert(m, calibration=calib((5,)), progress=False)  # 5 values per sample, not 4
    msg = str(e.value)
    assert "'cumsum' (CumSum): not supported by picoq" in msg
    assert "calibration" in msg


def test_grouping_keeps_distinct_reasons_and_other_lines():
    problems = [
        "node 'a' (Slice): computes on activations",
        "graph input 'x' is INT8",
        "node 'b' (Slice): computes on activations",
        "node 'c' (Slice): another reason",
        'node "it\'s" (Slice): computes on activations',
    ]
    assert group_problems(problems) == [
        "Slice x3: computes on activations (nodes 'a', 'b', \"it's\")",
        "graph input 'x' is INT8",
        "node 'c' (Slice): another reason",
    ]
