"""Mutated ONNX models through convert: a ConversionError or a converted model, nothing else.

The fuzz run feeds structure-aware and byte-level mutants (tests/support/onnx_mutate.py) of a
few small models to `convert` in a capped worker (tests/support/convert_fuzz.py): no other
exception, no hang, no death, no output left behind. CI runs ~1,500 mutants; the long run sets
PICOQ_CONVERT_MUTANTS (e.g. 100000) and PICOQ_CONVERT_SEED.

Below it, one test per finding of those runs rebuilds the smallest hostile model with
onnx.helper and checks the named error (or, for a valid model that failed, that it converts).
"""

from __future__ import annotations

import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from picoq.converter import ConversionError, convert

from support.convert_fuzz import ACCEPTED, fuzz_convert
from support.onnx_mutate import SOURCES, calibration, mutants

SHARES = {"zoo": 0.55, "legacy": 0.35, "ds_cnn_nhwc": 0.1}  # of the mutants; small models first
TOTAL = int(os.environ.get("PICOQ_CONVERT_MUTANTS", "1500"))
SEED = int(os.environ.get("PICOQ_CONVERT_SEED", "0"))


@pytest.mark.parametrize("name", sorted(SHARES))
def test_mutated_onnx_models_convert_or_get_a_conversion_error(name, tmp_path):
    m = SOURCES[name]()
    n = max(1, round(TOTAL * SHARES[name]))
    rng = np.random.default_rng([SEED, sorted(SHARES).index(name)])
    rep = fuzz_convert(mutants(m.SerializeToString(), n, rng), calibration(m), timeout=10, save=tmp_path)
    assert sum(rep.counts.values()) == n
    assert rep.failures == {}, rep.summary()
    assert all(rep.counts[k] > 0 for k in ACCEPTED), rep.summary()  # both outcomes occur


# *** findings: the smallest model that showed each ***

X = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 4, 4])
Y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
R = np.random.default_rng(0)
W = R.normal(0, 0.3, (3, 2, 3, 3)).astype(np.float32)
B = R.normal(0, 0.1, 3).astype(np.float32)
CALIB = R.normal(size=(4, 2, 4, 4)).astype(np.float32)


def conv(y: str = "y", x: str = "x", **attrs) -> onnx.NodeProto:
    return helper.make_node("Conv", [x, "w", "b"], [y], name="conv", pads=[1, 1, 1, 1], **attrs)


def build(nodes, inits=None, inputs=(X,), outputs=(Y,), opset: int = 13) -> onnx.ModelProto:
    inits = {"w": W, "b": B} if inits is None else inits
    init_protos = [
        v if isinstance(v, TensorProto) else numpy_helper.from_array(v, k) for k, v in inits.items()
    ]
    graph = helper.make_graph(nodes, "g", list(inputs), list(outputs), init_protos)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def refused(m: onnx.ModelProto | bytes, *fragments: str, calib=CALIB) -> None:
    data = m if isinstance(m, bytes) else m.SerializeToString()
    with pytest.raises(ConversionError) as e:
        convert(data, calibration=calib, progress=False)
    for f in fragments:
        assert f in str(e.value)


def converts(m: onnx.ModelProto, calib=CALIB) -> bytes:
    data = convert(m.SerializeToString(), calibration=calib, progress=False)
    assert data[:8] == b"\x89PICOQ\r\n"
    return data


def test_the_base_model_converts():
    converts(build([conv()]))


def test_raw_data_shorter_than_dims():  # was ValueError at numpy_helper.py (buffer size)
    w = numpy_helper.from_array(W, "w")
    w.raw_data = w.raw_data[:10]
    refused(build([conv()], {"w": w, "b": B}), "initializer 'w': raw_data holds 10 bytes; dims [3, 2, 3, 3]")


def test_dims_promising_more_data_than_given():  # was ValueError (reshape) or a huge allocation
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1 << 20, 1 << 20], float_data=[1.0, 2.0])
    refused(
        build([conv()], {"w": w, "b": B}), "initializer 'w' has dims [1048576, 1048576]", "more than picoq's"
    )
    b = TensorProto(name="b", data_type=TensorProto.FLOAT, dims=[3], float_data=[1.0, 2.0])
    refused(build([conv()], {"w": W, "b": b}), "initializer 'b': float_data holds 2 values; dims [3] need 3")
    b = TensorProto(name="b", data_type=TensorProto.FLOAT, dims=[-3])
    refused(build([conv()], {"w": W, "b": b}), "initializer 'b' has dims [-3]")


def test_huge_or_non_positive_input_dims():  # was MemoryError at onnx_import.py (np.zeros of the input)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1 << 31, 4, 4])
    refused(
        build([conv()], inputs=[x]), "graph input 'x' of shape (1, 2147483648, 4, 4)", "more than picoq's"
    )
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 0, -4])
    refused(build([conv()], inputs=[x]), "dimension 2 is 0: sizes are positive", "dimension 3 is -4")


@pytest.mark.parametrize("location", ["../../../../etc/passwd", "w.bin"])
def test_external_data_from_bytes_is_refused_unread(location):  # was ValueError/ValidationError in onnx
    w = numpy_helper.from_array(W, "w")
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", "216")):
        e = w.external_data.add()
        e.key, e.value = k, v
    refused(build([conv()], {"w": w, "b": B}), "initializer 'w' keeps its data in an external file")


def test_external_data_outside_the_model_folder_from_a_path(tmp_path):
    w = numpy_helper.from_array(W, "w")
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    e = w.external_data.add()
    e.key, e.value = "location", "../../../../../../etc/hostname"
    onnx.save(build([conv()], {"w": w, "b": B}), tmp_path / "m.onnx")
    with pytest.raises(ConversionError, match="not a readable ONNX model"):
        convert(tmp_path / "m.onnx", calibration=CALIB, progress=False)


def test_reference_attribute():  # was ValueError at onnx/helper.py (get_attribute_value)
    node = conv()
    a = node.attribute.add()
    a.name, a.type, a.ref_attr_name = "group", onnx.AttributeProto.INT, "outer"
    refused(build([node]), "node 'conv' (Conv): attribute 'group' refers to a function attribute ('outer')")


def test_subgraph_attribute():
    node = conv()
    node.attribute.append(helper.make_attribute("body", helper.make_graph([], "sub", [], [])))
    refused(build([node]), "node 'conv' (Conv): attribute 'body' holds a subgraph, which picoq does not read")


def test_string_initializer_with_invalid_utf8():  # was UnicodeDecodeError at numpy_helper.py
    s = helper.make_tensor("s", TensorProto.STRING, [1], [b"\xff"])
    add = helper.make_node("Add", ["c", "s"], ["y"], name="add")
    refused(build([conv("c"), add], {"w": W, "b": B, "s": s}), "initializer 's' has element type STRING")


def test_non_utf8_names():  # was TypeError / AttributeError (protobuf hands such strings over as bytes)
    m = build([conv()])
    data = m.SerializeToString().replace(b"conv", b"c\xffnv")
    refused(data, "name b'c\\xffnv' is not valid UTF-8")


def test_legacy_axes_op_without_inputs():  # was IndexError at onnx_rules.py (_axes_input)
    sq = helper.make_node("Squeeze", [], ["y"], name="sq", axes=[2])
    refused(build([conv("c"), sq], opset=11), "node 'sq' (Squeeze): has no first input")


def test_input_counts():
    add = helper.make_node("Add", ["c"], ["y"], name="add")
    refused(build([conv("c"), add]), "node 'add' (Add): has 1 inputs; Add takes 2")
    clip = helper.make_node("Clip", ["", "c"], ["y"], name="clip")
    refused(build([conv("c"), clip]), "node 'clip' (Clip): has no first input")
    pool = helper.make_node("MaxPool", ["c"], ["y", "idx"], name="pool", kernel_shape=[2, 2])
    out = helper.make_tensor_value_info("idx", TensorProto.INT64, None)
    refused(
        build([conv("c"), pool], outputs=[Y, out]),
        "output 'idx' is read, but picoq computes only MaxPool's first 1",
    )


def test_two_writers_of_one_tensor():  # was KeyError in quantize_graph, ValueError in passes (fold_constants)
    const = helper.make_node(
        "Constant", [], ["c"], name="k", value=numpy_helper.from_array(np.ones(3, np.float32))
    )
    relu = helper.make_node("Relu", ["c"], ["y"], name="relu")
    refused(
        build([conv("c"), const, relu]),
        "node 'k' (Constant): writes 'c', which is already node 'conv' (Conv)",
    )
    const = helper.make_node("Constant", [], ["w"], name="k", value=numpy_helper.from_array(W))
    refused(build([const, conv()]), "node 'k' (Constant): writes 'w', which is already an initializer")
    relu = helper.make_node("Relu", ["y"], ["x"], name="relu")
    refused(build([conv(), relu]), "node 'relu' (Relu): writes 'x', which is already a graph input")


def test_use_before_definition_and_cycles():
    relu = helper.make_node("Relu", ["y"], ["r"], name="relu")
    refused(build([relu, conv(x="r")]), "node 'relu' (Relu): reads ['y'] before the node that writes it")


def test_clamp_far_outside_the_int8_range_saturates():  # was OverflowError at qparams.py (clamp_range)
    clip = helper.make_node("Clip", ["c", "lo", "hi"], ["y"], name="clip")
    inits = {"w": W, "b": B, "lo": np.array(0, np.float32), "hi": np.array(3e38, np.float32)}
    converts(build([conv("c"), clip], inits))


def test_non_finite_attribute():  # was OverflowError at quantize.py (round_half_away of inf)
    leaky = helper.make_node("LeakyRelu", ["c"], ["y"], name="leaky", alpha=float("inf"))
    refused(
        build([conv("c"), leaky]),
        "node 'leaky' (LeakyRelu): attribute 'alpha' = inf: must be a finite number",
    )


def test_attribute_types_and_values():
    refused(build([conv(strides=[0, 1])]), "attribute 'strides' = [0, 1]: values must lie in [1, 16777216]")
    refused(build([conv(strides=[1, 1, 1])]), "attribute 'strides' = [1, 1, 1]: needs 1 or 2 values, has 3")
    # a 2-D conv (4-D weights) with a 1-D window attribute: lift_1d leaves it, the window check names it
    refused(build([conv(strides=[1])]), "attribute 'strides' = [1]: a 2-D window needs 2 values")
    refused(build([conv(group=2.0)]), "attribute 'group' must be int, not float")
    refused(build([conv(auto_pad="MIDDLE")]), "attribute 'auto_pad' = 'MIDDLE': must be one of NOTSET")
    t = helper.make_node("Transpose", ["c"], ["y"], name="t", perm=[0, 2, 2, 1])
    refused(build([conv("c"), t]), "node 't' (Transpose): perm [0, 2, 2, 1] is not a permutation")


def test_internal_attribute_names():  # was ValueError at qparams.py (a 'clamp' of the wrong length)
    refused(
        build([conv(clamp=[1.0, 2.0, 3.0])]), "node 'conv' (Conv): attribute 'clamp' is not an ONNX attribute"
    )
    refused(build([conv(_opset=3)]), "attribute '_opset' is not an ONNX attribute")


def test_global_pool_of_a_2d_tensor():  # was ModelFormatError (MEAN output shape) from the writer
    flat = helper.make_node("Flatten", ["c"], ["f"], name="flat")
    gap = helper.make_node("GlobalAveragePool", ["f"], ["y"], name="gap")
    refused(
        build([conv("c"), flat, gap]), "node 'gap' (GlobalAveragePool): needs an (N, C, spatial...) input"
    )


def test_multiplier_out_of_range():  # was ValueError at quantize.py (quantize_multiplier)
    clip = helper.make_node("Clip", ["c", "lo", "hi"], ["y"], name="clip")
    inits = {"w": W * 1e6, "b": B, "lo": np.array(0, np.float32), "hi": np.array(1e-6, np.float32)}
    refused(
        build([conv("c"), clip], inits), "node 'conv' (Conv): multiplier", "is too large for a Q31 multiplier"
    )


def test_names_longer_than_the_format_holds():  # was ModelFormatError (name longer than 1024 bytes)
    node = conv()
    node.name = "n" * 3000
    refused(build([node]), "name 'nnnnnnnnnn", "is longer than picoq's 960 bytes")


def test_transpose_without_perm_before_a_reshape_calibrates():  # a valid model; was ValueError at float_run.py
    t = helper.make_node("Transpose", ["c"], ["t"], name="t")  # no perm: reverse, (4, 4, 3, 1)
    r = helper.make_node("Reshape", ["t", "shape"], ["y"], name="r")
    converts(build([conv("c"), t, r], {"w": W, "b": B, "shape": np.array([16, 3], np.int64)}))


def test_more_dimensions_than_the_format_holds():  # was ValueError at writer.py (dims of a rank-7 tensor)
    u = helper.make_node("Unsqueeze", ["c"], ["y"], name="u", axes=[4, 5, 6])
    refused(
        build([conv("c"), u], opset=11),
        "tensor 'y' of shape (1, 3, 4, 4, 1, 1, 1): picoq tensors have at most 6",
    )


def test_gemm_c_that_is_not_a_bias_row():  # was ModelFormatError (FULLY_CONNECTED output shape)
    flat = helper.make_node("Flatten", ["c"], ["f"], name="flat")
    gemm = helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], name="fc", transB=1)
    inits = {
        "w": W,
        "b": B,
        "fw": R.normal(size=(5, 48)).astype(np.float32),
        "fb": np.ones((5, 1), np.float32),
    }
    refused(
        build([conv("c"), flat, gemm], inits),
        "node 'fc' (Gemm): C of shape (5, 1) does not broadcast to the output (1, 5)",
    )


def test_batch_norm_statistics_not_per_channel():  # was ValueError in passes.py (fold_affine broadcast)
    bn = helper.make_node("BatchNormalization", ["c", "g", "be", "mu", "var"], ["y"], name="bn")
    inits = {"w": W, "b": B, "g": np.ones(3, np.float32), "be": B, "mu": np.zeros((3, 1), np.float32)}
    inits["var"] = np.ones(3, np.float32)
    refused(
        build([conv("c"), bn], inits),
        "node 'bn' (BatchNormalization): mean must be 1-D of the input's 3 channels",
    )


def test_graph_without_outputs_or_inputs():  # was ModelFormatError (GRIO size) from the writer
    refused(build([conv()], outputs=[]), "the graph has no outputs")
    refused(build([conv()], inputs=[]), "the graph has no inputs")


def test_opset_imported_twice_or_unknown():
    m = build([conv()])
    m.opset_import.add().CopyFrom(helper.make_opsetid("", 18))
    refused(m, "the model imports the ONNX opset 2 times ([13, 18])")
    refused(build([conv()], opset=1 << 40), "ONNX opset 1099511627776 is not one picoq knows")


def test_allocation_sizes_are_checked_before_running_a_node():
    big = helper.make_node("ConstantOfShape", ["s"], ["z"], name="big")
    add = helper.make_node("Add", ["c", "z"], ["y"], name="add")
    inits = {"w": W, "b": B, "s": np.array([1 << 20, 1 << 20], np.int64)}
    refused(
        build([conv("c"), big, add], inits),
        "node 'big' (ConstantOfShape): the output would have shape (1048576, 1048576)",
    )
    pad = helper.make_node("Pad", ["c", "p"], ["y"], name="pad")
    inits = {"w": W, "b": B, "p": np.array([0, 0, 0, 0, 0, 0, 0, 1 << 23], np.int64)}
    refused(
        build([conv("c"), pad], inits), "node 'pad' (Pad): the output would have shape (1, 3, 4, 8388612)"
    )
    window = conv(dilations=[1 << 20, 1])
    refused(
        build([window]),
        "node 'conv' (Conv): the window (3, 3) (dilations (1048576, 1)) is larger than the padded input",
    )


def test_scales_outside_what_a_kernel_takes():  # was ValueError at quantize.py (logistic_params)
    # visionsweep: a Sigmoid past LOGISTIC's input scale is a LOOKUP_TABLE now (it was refused)
    sig = helper.make_node("Sigmoid", ["c"], ["y"], name="sig")
    from picoq.runtime import Interpreter

    ops = [o.name for o in Interpreter(converts(build([conv("c"), sig], {"w": W * 1e9, "b": B}))).model.ops]
    assert "LOOKUP_TABLE" in ops and "LOGISTIC" not in ops
    flat = helper.make_node("Flatten", ["c"], ["f"], name="flat")
    soft = helper.make_node("Softmax", ["f"], ["y"], name="soft")
    inits = {"w": W * 1e-12, "b": np.zeros(3, np.float32)}
    refused(build([conv("c"), flat, soft], inits), "node 'soft' (Softmax): multiplier must be > 1")


def test_flatten_at_the_rank_makes_one_column():  # was ValueError at float_ops.py (batched calibration)
    from picoq.runtime import Interpreter

    from support.onnx_models import ort_run

    flat = helper.make_node("Flatten", ["c"], ["y"], name="flat", axis=4)  # axis == rank: (48, 1)
    m = build([conv("c"), flat])
    it = Interpreter(converts(m))
    (want,) = ort_run(m, {"x": CALIB[:1]})
    got = it.run(CALIB[:1])
    assert want.shape == (48, 1) and got.shape[-2:] == (48, 1)
    gemm = helper.make_node("Gemm", ["y", "fw"], ["z"], name="fc", transB=1)
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, None)
    inits = {"w": W, "b": B, "fw": np.ones((5, 2), np.float32)}
    refused(build([conv("c"), flat, gemm], inits, outputs=[z]), "(48, 1) and (5, 2) do not multiply (1 != 2)")


def test_conv_bias_computed_at_run_time_is_refused():  # it was silently dropped
    bias = helper.make_tensor_value_info("bias", TensorProto.FLOAT, [3])
    node = helper.make_node("Conv", ["x", "w", "bias"], ["y"], name="conv", pads=[1, 1, 1, 1])
    calib = {"x": CALIB, "bias": R.normal(size=(4, 3)).astype(np.float32)}
    refused(
        build([node], {"w": W}, inputs=[X, bias]), "node 'conv' (Conv): needs a constant bias", calib=calib
    )


def test_calibration_that_does_not_fit_is_refused_before_the_model_runs():  # was a hang (17 s)
    import time

    m = SOURCES["ds_cnn_nhwc"]()
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1000  # a fixed batch of 1000
    t0 = time.perf_counter()
    refused(
        m, "shape (4, 49, 10, 1) is neither (1000, 49, 10, 1)", calib=calibration(SOURCES["ds_cnn_nhwc"]())
    )
    assert time.perf_counter() - t0 < 5  # the float model never ran at batch 1000


def test_layers_too_large_to_convert_are_refused_before_they_run():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64, 256, 256])
    w = np.zeros((64, 64, 3, 3), np.float32)
    calib = R.normal(size=(2, 64, 256, 256)).astype(np.float32)
    refused(
        build([conv()], {"w": w, "b": np.zeros(64, np.float32)}, inputs=[x]),
        "2415919104 multiply-accumulates",
        calib=calib,
    )


def test_flatten_from_axis_minus_rank_is_not_batched():  # was ValueError at float_ops.py (dense)
    r = helper.make_node("Reshape", ["c", "s"], ["r"], name="r")  # (1, 3, 16): an odd rank
    flat = helper.make_node("Flatten", ["r"], ["f"], name="flat", axis=-3)  # axis 0: one row (1, 48)
    gemm = helper.make_node("Gemm", ["f", "fw"], ["y"], name="fc", transB=1)
    inits = {"w": W, "b": B, "s": np.array([1, 3, 16]), "fw": R.normal(size=(5, 48)).astype(np.float32)}
    converts(build([conv("c"), r, flat, gemm], inits))


def test_clip_bounds_that_are_not_scalars():  # was ModelFormatError (FULLY_CONNECTED/DEPTHWISE shapes)
    clip = helper.make_node("Clip", ["c", "lo", "hi"], ["y"], name="clip")
    inits = {"w": W, "b": B, "lo": np.zeros((3, 3, 1, 1), np.float32), "hi": np.array(6, np.float32)}
    refused(
        build([conv("c"), clip], inits),
        "node 'clip' (Clip): min and max must be scalars, not of shapes [(3, 3, 1, 1), ()]",
    )
