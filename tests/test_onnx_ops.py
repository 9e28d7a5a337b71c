"""Each supported ONNX op, alone or in a small pattern: picoq int8 against onnxruntime float.

Every case converts with 64 random calibration inputs and checks the output SQNR on 8
other random inputs; some also check which kernels the converter chose (BatchNorm folded,
activations fused, no TRANSPOSE where the layout allows none).
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper  # noqa: E402

from picoq.converter.float_ops import sqnr_db  # noqa: E402

from support.onnx_models import convert_and_run, model, op_names, ort_run, rand, sqnr_vs_ort  # noqa: E402

X = ["N", 4, 6, 6]  # NCHW input of most cases (symbolic batch)
R = np.random.default_rng(42)
W4 = rand(R, 8, 4, 3, 3)
B8 = rand(R, 8, scale=0.1)
W4B = rand(np.random.default_rng(43), 8, 4, 3, 3)  # a second conv's (its own generator: R's draws stay)


def conv(x: str, y: str, w: str = "w", b: str | None = "b", **attrs):
    return helper.make_node("Conv", [x, w] + ([b] if b else []), [y], **attrs)


def conv_then(op_nodes, out="y", out_shape=None, extra=None, opset=13):
    """input -> Conv(4->8, 3x3, pad 1) -> op_nodes -> y."""
    nodes = [conv("x", "c", pads=[1, 1, 1, 1]), *op_nodes]
    return model(nodes, {"x": X}, {out: out_shape}, {"w": W4, "b": B8, **(extra or {})}, opset=opset)


def node(op, ins, outs=("y",), **attrs):
    return helper.make_node(op, list(ins), list(outs), **attrs)


# --- ops14 ---
TW = rand(np.random.default_rng(1414), 8, 4, 3, 3)  # ConvTranspose weights [Cin 8, Cout 4, 3, 3]
TB = rand(np.random.default_rng(1415), 4, scale=0.1)


def _tconv(bias: bool = True, extra_nodes=(), **attrs):
    """input -> Conv(4->8) -> ConvTranspose(8->4, 3x3, attrs) [-> extra_nodes] -> y."""
    ins = ["c", "tw", "tb"] if bias else ["c", "tw"]
    out = "t" if extra_nodes else "y"
    return conv_then([node("ConvTranspose", ins, [out], **attrs), *extra_nodes], extra={"tw": TW, "tb": TB})


# --- end ops14 ---

# --- visionsweep ---
WIDE = rand(np.random.default_rng(2525), 8, 8, 1, 1, scale=3000.0)  # a gate's 1x1 conv, huge weights


def _wide_gate(act: str):
    """Conv -> GlobalAveragePool -> 1x1 Conv (weights ~3000) -> act -> times the conv output."""
    return conv_then(
        [
            node("GlobalAveragePool", ["c"], ["g"]),
            conv("g", "e", w="wg", b=None),
            node(act, ["e"], ["s"]),
            node("Mul", ["c", "s"]),
        ],
        extra={"wg": WIDE},
    )


# --- end visionsweep ---

CASES = {
    "conv_pad1": lambda: conv_then([node("Relu", ["c"])]),
    "conv_stride2_dilation2": lambda: model(
        [conv("x", "y", pads=[2, 1, 2, 1], strides=[2, 2], dilations=[2, 1])],
        {"x": X},
        {"y": None},
        {"w": W4, "b": B8},
    ),
    "conv_same_upper_stride2": lambda: model(
        [conv("x", "y", auto_pad="SAME_UPPER", strides=[2, 2])], {"x": X}, {"y": None}, {"w": W4, "b": B8}
    ),
    "conv_pad_wider_than_kernel": lambda: model(
        [conv("x", "y", pads=[3, 3, 3, 2])], {"x": X}, {"y": None}, {"w": W4, "b": B8}
    ),
    "avgpool_count_include_pad": lambda: conv_then(
        [node("AveragePool", ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1)]
    ),
    "conv_depthwise_multiplier2": lambda: model(
        [conv("x", "y", pads=[1, 1, 1, 1], group=4)],
        {"x": X},
        {"y": None},
        {"w": rand(R, 8, 1, 3, 3), "b": B8},
    ),
    "conv_grouped": lambda: model(
        [conv("x", "y", b=None, group=2)], {"x": X}, {"y": None}, {"w": rand(R, 6, 2, 3, 3)}
    ),
    "gemm_alpha_beta_transB0": lambda: model(
        [node("Gemm", ["x", "B", "C"], alpha=0.5, beta=2.0)],
        {"x": ["N", 16]},
        {"y": None},
        {"B": rand(R, 16, 8), "C": rand(R, 8)},
    ),
    "matmul_add_3d": lambda: model(
        [node("MatMul", ["x", "W"], ["m"]), node("Add", ["m", "b"])],
        {"x": ["N", 5, 16]},
        {"y": None},
        {"W": rand(R, 16, 8), "b": rand(R, 8)},
    ),
    "batchnorm_on_input": lambda: model(
        [node("BatchNormalization", ["x", "g", "bb", "mu", "var"])],
        {"x": X},
        {"y": None},
        {
            "g": R.uniform(0.5, 2, 4).astype(np.float32),
            "bb": rand(R, 4),
            "mu": rand(R, 4),
            "var": R.uniform(0.5, 2, 4).astype(np.float32),
        },
    ),
    "relu_with_two_readers": lambda: conv_then([node("Relu", ["c"], ["r"]), node("Add", ["r", "c"])]),
    "clip_general": lambda: conv_then(
        [node("Clip", ["c", "lo", "hi"])],
        extra={"lo": np.array(-0.5, np.float32), "hi": np.array(1.0, np.float32)},
    ),
    "leaky_relu": lambda: conv_then([node("LeakyRelu", ["c"], alpha=0.1)]),
    "hard_swish": lambda: model(
        [conv("x", "c", pads=[1, 1, 1, 1]), node("HardSwish", ["c"])],
        {"x": X},
        {"y": None},
        {"w": W4, "b": B8},
        opset=14,
    ),
    "hard_sigmoid_fused": lambda: conv_then([node("HardSigmoid", ["c"], alpha=0.3, beta=0.4)]),
    "hard_sigmoid_on_input": lambda: model([node("HardSigmoid", ["x"])], {"x": X}, {"y": None}),
    "sigmoid": lambda: conv_then([node("Sigmoid", ["c"])]),
    "tanh": lambda: conv_then([node("Tanh", ["c"])]),
    "add_per_channel_const": lambda: conv_then([node("Add", ["c", "k"])], extra={"k": rand(R, 1, 8, 1, 1)}),
    "add_full_const": lambda: conv_then([node("Add", ["k", "c"])], extra={"k": rand(R, 1, 8, 6, 6)}),
    # Two different activations (an element-wise function of one, e.g. c - relu(c), is a table)
    "sub_activations": lambda: conv_then(
        [conv("x", "c2", w="w2", pads=[1, 1, 1, 1]), node("Relu", ["c2"], ["r"]), node("Sub", ["c", "r"])],
        extra={"w2": W4B},
    ),
    "sub_from_const": lambda: conv_then([node("Sub", ["k", "c"])], extra={"k": rand(R, 8, 1, 1)}),
    "mul_activations": lambda: conv_then(
        [conv("x", "c2", w="w2", pads=[1, 1, 1, 1]), node("Sigmoid", ["c2"], ["s"]), node("Mul", ["c", "s"])],
        extra={"w2": W4B},
    ),
    # element-wise functions of one activation: one LOOKUP_TABLE each (test_onnx_tables.py)
    "silu_table": lambda: conv_then([node("Sigmoid", ["c"], ["s"]), node("Mul", ["c", "s"])]),
    "x_minus_relu_table": lambda: conv_then([node("Relu", ["c"], ["r"]), node("Sub", ["c", "r"])]),
    "gelu_op_table": lambda: model(
        [conv("x", "c", pads=[1, 1, 1, 1]), node("Gelu", ["c"])],
        {"x": X},
        {"y": None},
        {"w": W4, "b": B8},
        opset=20,
    ),
    "mish_table": lambda: conv_then(
        [node("Softplus", ["c"], ["sp"]), node("Tanh", ["sp"], ["t"]), node("Mul", ["c", "t"])]
    ),
    "elu_table": lambda: conv_then([node("Elu", ["c"], alpha=0.7)]),
    "erf_exp_table": lambda: conv_then([node("Erf", ["c"], ["e"]), node("Exp", ["e"])]),
    "mul_full_const": lambda: conv_then([node("Mul", ["c", "k"])], extra={"k": rand(R, 1, 1, 6, 6)}),
    "div_scalar_const": lambda: conv_then([node("Div", ["c", "k"])], extra={"k": np.array(4.0, np.float32)}),
    "avgpool_pads_ceil": lambda: conv_then(
        [node("AveragePool", ["c"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)]
    ),
    "maxpool": lambda: conv_then([node("MaxPool", ["c"], kernel_shape=[2, 2], strides=[2, 2])]),
    "maxpool_pads_after_relu": lambda: conv_then(
        [
            node("Relu", ["c"], ["r"]),
            node("MaxPool", ["r"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        ]
    ),
    "global_avgpool_flatten_gemm": lambda: conv_then(
        [
            node("GlobalAveragePool", ["c"], ["g"]),
            node("Flatten", ["g"], ["f"]),
            node("Gemm", ["f", "W2", "b2"], transB=1),
        ],
        extra={"W2": rand(R, 5, 8), "b2": rand(R, 5)},
    ),
    "reduce_mean_spatial": lambda: conv_then([node("ReduceMean", ["c"], axes=[2, 3], keepdims=0)]),
    "reduce_mean_channels": lambda: conv_then([node("ReduceMean", ["c"], axes=[1], keepdims=1)]),
    "flatten_nchw_order_to_gemm": lambda: conv_then(
        [node("Relu", ["c"], ["r"]), node("Flatten", ["r"], ["f"]), node("Gemm", ["f", "W2"], transB=1)],
        extra={"W2": rand(R, 5, 8 * 36, scale=0.05)},
    ),
    "reshape_softmax_rows": lambda: conv_then(
        [node("Reshape", ["c", "s"], ["r"]), node("Softmax", ["r"], axis=-1)],
        extra={"s": np.array([-1, 8, 36], np.int64)},
    ),
    "squeeze_unsqueeze": lambda: conv_then(
        [
            node("GlobalAveragePool", ["c"], ["g"]),
            node("Squeeze", ["g", "ax"], ["s"]),
            node("Unsqueeze", ["s", "ax1"], ["u"]),
            node("Softmax", ["u"], axis=1),
        ],
        extra={"ax": np.array([2, 3], np.int64), "ax1": np.array([2], np.int64)},
    ),
    "transpose_to_nhwc_output": lambda: conv_then([node("Transpose", ["c"], perm=[0, 2, 3, 1])]),
    "transpose_3d": lambda: conv_then(
        [node("Reshape", ["c", "s"], ["r"]), node("Transpose", ["r"], perm=[0, 2, 1])],
        extra={"s": np.array([-1, 8, 36], np.int64)},
    ),
    # PRelu: one slope per channel (torch's nn.PReLU(C) exports [C, 1, 1]) or one for all
    "prelu_per_channel": lambda: conv_then(
        [node("PRelu", ["c", "sl"])],
        extra={"sl": np.random.default_rng(47).uniform(-0.3, 0.6, (8, 1, 1)).astype(np.float32)},
    ),
    "prelu_one_slope": lambda: conv_then(
        [node("PRelu", ["c", "sl"])], extra={"sl": np.array([0.25], np.float32)}
    ),
    # Resize, nearest: an index table per spatial axis, learned from the node itself
    "resize_nearest_2x_half_pixel": lambda: conv_then(
        [node("Resize", ["c", "", "sc"], mode="nearest")],
        extra={"sc": np.array([1, 1, 2, 2], np.float32)},
    ),
    "resize_nearest_torch_upsample": lambda: conv_then(  # nn.Upsample(scale_factor=2): asymmetric, floor
        [
            node(
                "Resize",
                ["c", "", "sc"],
                mode="nearest",
                coordinate_transformation_mode="asymmetric",
                nearest_mode="floor",
            )
        ],
        extra={"sc": np.array([1, 1, 2, 2], np.float32)},
    ),
    "resize_nearest_fractional_align_corners": lambda: conv_then(  # 6x6 -> 9x4
        [
            node(
                "Resize",
                ["c", "", "sc"],
                mode="nearest",
                coordinate_transformation_mode="align_corners",
                nearest_mode="round_prefer_ceil",
            )
        ],
        extra={"sc": np.array([1, 1, 1.5, 0.67], np.float32)},
    ),
    # MatMul of two activations (attention): BATCH_MATMUL; a Transpose feeding it costs nothing
    "matmul_activations_transposed": lambda: conv_then(
        [node("Transpose", ["c"], ["t"], perm=[0, 1, 3, 2]), node("MatMul", ["c", "t"])]
    ),
    "matmul_activations_broadcast": lambda: conv_then(  # [N, 8, 6, 6] x [N, 1, 6, 6]
        [node("ReduceMean", ["c"], ["m"], axes=[1], keepdims=1), node("MatMul", ["c", "m"])]
    ),
    # Gather on activations: a run of indices (a scalar: attention's qkv[0]) as SLICE, else GATHER
    "gather_scalar_index": lambda: conv_then(
        [node("Gather", ["c", "i"], axis=1)], extra={"i": np.array(3, np.int64)}
    ),
    "gather_indices_2d": lambda: conv_then(
        [node("Gather", ["c", "i"], axis=3)], extra={"i": np.array([[5, 0], [2, -1]], np.int64)}
    ),
    # --- ops14: Resize linear: RESIZE_BILINEAR with the node's coordinate mode as tables ---
    "resize_linear_2x_half_pixel": lambda: conv_then(
        [node("Resize", ["c", "", "sc"], mode="linear")],
        extra={"sc": np.array([1, 1, 2, 2], np.float32)},
    ),
    "resize_linear_pytorch_half_pixel": lambda: conv_then(  # 6x6 -> 9x4
        [node("Resize", ["c", "", "sc"], mode="linear", coordinate_transformation_mode="pytorch_half_pixel")],
        extra={"sc": np.array([1, 1, 1.5, 0.67], np.float32)},
    ),
    "resize_linear_align_corners": lambda: conv_then(
        [node("Resize", ["c", "", "sc"], mode="linear", coordinate_transformation_mode="align_corners")],
        extra={"sc": np.array([1, 1, 1.5, 2.5], np.float32)},
    ),
    "resize_linear_asymmetric_down": lambda: conv_then(
        [node("Resize", ["c", "", "sc"], mode="linear", coordinate_transformation_mode="asymmetric")],
        extra={"sc": np.array([1, 1, 0.5, 0.75], np.float32)},
    ),
    # ConvTranspose (group 1): TRANSPOSE_CONV; every padding form, conv 8 channels -> 4
    "conv_transpose_stride2": lambda: _tconv(strides=[2, 2]),
    "conv_transpose_pads_output_padding": lambda: _tconv(
        strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1]
    ),
    "conv_transpose_asymmetric_pads": lambda: _tconv(strides=[2, 3], pads=[0, 1, 2, 1]),
    "conv_transpose_output_shape_odd": lambda: _tconv(strides=[2, 2], output_shape=[12, 11]),
    "conv_transpose_same_upper": lambda: _tconv(strides=[3, 2], auto_pad="SAME_UPPER", output_shape=[17, 12]),
    "conv_transpose_same_lower": lambda: _tconv(strides=[2, 2], auto_pad="SAME_LOWER"),
    "conv_transpose_relu_no_bias": lambda: _tconv(
        bias=False, extra_nodes=[node("Relu", ["t"])], strides=[1, 1]
    ),
    # --- end ops14 ---
    # on activations: SLICE (ShuffleNet's channel split, crops)
    "slice_channels_and_crop": lambda: conv_then(
        [node("Slice", ["c", "st", "en", "ax"])],
        extra={
            "st": np.array([2, 1], np.int64),
            "en": np.array([7, -1], np.int64),
            "ax": np.array([1, 3], np.int64),
        },
    ),
    # stepped slices: a free RESHAPE splits the axis, a SLICE keeps one index of each step
    "slice_every_other_channel": lambda: conv_then(
        [node("Slice", ["c", "st", "en", "ax", "sp"])],
        extra={k: np.array(v, np.int64) for k, v in (("st", [1]), ("en", [8]), ("ax", [1]), ("sp", [2]))},
    ),
    "slice_steps_past_the_end_padded": lambda: conv_then(  # rows 1, 5 and columns 0, 3 of 6: a PAD first
        [node("Slice", ["c", "st", "en", "ax", "sp"])],
        extra={
            k: np.array(v, np.int64)
            for k, v in (("st", [1, 0]), ("en", [9, 5]), ("ax", [2, 3]), ("sp", [4, 3]))
        },
    ),
    "focus_stem_yolov5": lambda: model(  # cat(x[..., ::2, ::2], x[..., 1::2, ::2], ...) -> conv
        [
            *(node("Slice", ["x", f"s{i}", "e", "hw", "two"], [f"q{i}"]) for i in range(4)),
            node("Concat", ["q0", "q1", "q2", "q3"], ["f"], axis=1),
            conv("f", "y", w="w16", pads=[1, 1, 1, 1]),
        ],
        {"x": X},
        {"y": None},
        {
            **{f"s{i}": np.array(v, np.int64) for i, v in enumerate(([0, 0], [1, 0], [0, 1], [1, 1]))},
            "e": np.array([2**62, 2**62], np.int64),
            "hw": np.array([2, 3], np.int64),
            "two": np.array([2, 2], np.int64),
            "w16": rand(np.random.default_rng(44), 8, 16, 3, 3, scale=0.15),
            "b": B8,
        },
    ),
    "split_channels_concat": lambda: conv_then(
        [
            node("Split", ["c", "sp"], ["h1", "h2"], axis=1),
            node("Relu", ["h2"], ["r"]),
            node("Concat", ["r", "h1"], axis=1),
        ],
        out_shape=["N", 8, 6, 6],
        extra={"sp": np.array([3, 5], np.int64)},
    ),
    # DepthToSpace / SpaceToDepth (super-resolution heads, YOLO-style space-to-depth stems)
    "depth_to_space_dcr_then_conv": lambda: conv_then(
        [node("DepthToSpace", ["c"], ["d"], blocksize=2), conv("d", "y", w="w2", b=None, pads=[1, 1, 1, 1])],
        extra={"w2": rand(np.random.default_rng(45), 3, 2, 3, 3)},
    ),
    "depth_to_space_crd": lambda: conv_then([node("DepthToSpace", ["c"], blocksize=2, mode="CRD")]),
    "space_to_depth_then_conv": lambda: conv_then(
        [node("SpaceToDepth", ["c"], ["d"], blocksize=3), conv("d", "y", w="w2", b=None)],
        extra={"w2": rand(np.random.default_rng(46), 4, 72, 1, 1, scale=0.1)},
    ),
    "concat_channels": lambda: model(
        [
            conv("x", "a", pads=[1, 1, 1, 1]),
            conv("x", "b2", w="w2", b=None, pads=[1, 1, 1, 1]),
            node("Concat", ["a", "b2"], axis=1),
        ],
        {"x": X},
        {"y": None},
        {"w": W4, "b": B8, "w2": rand(R, 3, 4, 3, 3)},
    ),
    "pad_folded_into_conv": lambda: model(
        [node("Pad", ["x", "p"], ["xp"]), conv("xp", "y")],
        {"x": X},
        {"y": None},
        {"p": np.array([0, 0, 1, 2, 0, 0, 1, 0], np.int64), "w": W4, "b": B8},
    ),
    "pad_then_maxpool": lambda: conv_then(
        [node("Pad", ["c", "p", "v"], ["cp"]), node("MaxPool", ["cp"], kernel_shape=[2, 2], strides=[2, 2])],
        extra={"p": np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "v": np.array(0.5, np.float32)},
    ),
    "softmax_over_channels": lambda: conv_then([node("Softmax", ["c"], axis=1)]),
    # any axis: a TRANSPOSE brings it innermost; before opset 13, [axis:] flattened (RESHAPE)
    "softmax_over_height": lambda: conv_then([node("Softmax", ["c"], axis=2)]),
    "legacy_softmax_flattens_hw": lambda: model(
        [conv("x", "c", pads=[1, 1, 1, 1]), node("Softmax", ["c"], axis=2)],
        {"x": X},
        {"y": None},
        {"w": W4, "b": B8},
        opset=11,
    ),
    "legacy_softmax_flattens_chw": lambda: model(
        [conv("x", "c", pads=[1, 1, 1, 1]), node("Softmax", ["c"])],
        {"x": X},
        {"y": None},
        {"w": W4, "b": B8},
        opset=11,
    ),
    # LAYER_NORM over the channels of a conv (ConvNeXt's, in NCHW: axis 1 is not [axis:], so
    # a Transpose first) and over C, H, W together (one row per image)
    "layer_norm_channels": lambda: conv_then(
        [
            node("Transpose", ["c"], ["t"], perm=[0, 2, 3, 1]),
            node("LayerNormalization", ["t", "g"], ["n"], epsilon=1e-6),
            node("Transpose", ["n"], perm=[0, 3, 1, 2]),
        ],
        extra={"g": np.linspace(0.5, 1.5, 8).astype(np.float32)},
        opset=17,
    ),
    # spelled out as tf2onnx-like exporters do: Mul(d, d) and Mul by Reciprocal(Sqrt)
    "layer_norm_spelled_out": lambda: conv_then(
        [
            node("Transpose", ["c"], ["t"], perm=[0, 2, 3, 1]),
            node("ReduceMean", ["t"], ["mu"], axes=[-1]),
            node("Sub", ["t", "mu"], ["d"]),
            node("Mul", ["d", "d"], ["d2"]),
            node("ReduceMean", ["d2"], ["var"], axes=[3]),
            node("Add", ["var", "eps"], ["ve"]),
            node("Sqrt", ["ve"], ["sd"]),
            node("Reciprocal", ["sd"], ["inv"]),
            node("Mul", ["inv", "d"], ["nrm"]),
            node("Mul", ["nrm", "g"], ["sc"]),
            node("Add", ["sc", "bb"], ["n"]),
            node("Transpose", ["n"], perm=[0, 3, 1, 2]),
        ],
        extra={"eps": np.array(1e-5, np.float32), "g": rand(R, 8, scale=1.0), "bb": rand(R, 1, 1, 8)},
    ),
    "layer_norm_chw": lambda: conv_then(
        [node("LayerNormalization", ["c", "g", "bb"], axis=1)],
        extra={"g": rand(R, 8, 6, 6, scale=1.0), "bb": rand(R, 8, 6, 6)},
        opset=17,
    ),
    "identity_dropout_constant": lambda: model(
        [
            node("Constant", [], ["wc"], value=helper.make_tensor("v", 1, [8, 4, 3, 3], W4.ravel().tolist())),
            node("Identity", ["x"], ["xi"]),
            conv("xi", "c", w="wc", pads=[1, 1, 1, 1]),
            node("Dropout", ["c"], ["d"]),
            node("Relu", ["d"]),
        ],
        {"x": X},
        {"y": None},
        {"b": B8},
    ),
    "torch_style_flatten": lambda: conv_then(
        [
            node("Shape", ["c"], ["sh"]),
            node("Gather", ["sh", "zero"], ["n"], axis=0),
            node("Unsqueeze", ["n", "ax0"], ["n1"]),
            node("Concat", ["n1", "minus1"], ["shape"], axis=0),
            node("Reshape", ["c", "shape"], ["f"]),
            node("Gemm", ["f", "W2"], transB=1),
        ],
        extra={
            "zero": np.array(0, np.int64),
            "ax0": np.array([0], np.int64),
            "minus1": np.array([-1], np.int64),
            "W2": rand(R, 5, 8 * 36, scale=0.05),
        },
    ),
    "legacy_opset11_clip_squeeze_softmax": lambda: model(
        [
            conv("x", "c", pads=[1, 1, 1, 1]),
            node("Clip", ["c"], ["r"], min=0.0, max=6.0),
            node("GlobalAveragePool", ["r"], ["g"]),
            node("Squeeze", ["g"], ["s"], axes=[2, 3]),
            node("Softmax", ["s"], axis=1),
        ],
        {"x": X},
        {"y": None},
        {"w": W4, "b": B8},
        opset=10,
    ),
}
MIN_DB = {
    "hard_sigmoid_on_input": 28.0,
    "avgpool_count_include_pad": 25.0,
    "sub_activations": 25.0,
    "mul_activations": 25.0,
    # 288 probabilities of ~1/288 at SOFTMAX's fixed 1/256 output step: rounding the float
    # softmax itself to that step gives 20.3 dB
    "legacy_softmax_flattens_chw": 19.0,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_op_matches_onnxruntime(case):
    m = CASES[case]()
    shape = tuple(d.dim_value or 1 for d in m.graph.input[0].type.tensor_type.shape.dim)
    assert sqnr_vs_ort(m, shape) >= MIN_DB.get(case, 30.0)


def _ops(m, shape=(1, 4, 6, 6)):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, *shape[1:])).astype(np.float32)
    it, _ = convert_and_run(m, x, x)
    return op_names(it)


def test_batchnorm_and_relu_fold_into_the_conv():
    m = model(
        [
            conv("x", "c", pads=[1, 1, 1, 1]),
            node("BatchNormalization", ["c", "g", "bb", "mu", "var"], ["n"]),
            node("Relu", ["n"]),
        ],
        {"x": X},
        {"y": None},
        {
            "w": W4,
            "b": B8,
            "g": np.full(8, 2, np.float32),
            "bb": rand(R, 8),
            "mu": rand(R, 8),
            "var": np.full(8, 0.5, np.float32),
        },
    )
    assert _ops(m) == ["TRANSPOSE", "CONV_2D", "TRANSPOSE"]


def test_transposes_of_a_nhwc_model_cost_nothing():
    """Keras via tf2onnx: NHWC in, Transpose -> Conv -> Transpose, BatchNorm as Mul + Add on the last axis."""
    m = model(
        [
            node("Transpose", ["x"], ["t"], perm=[0, 3, 1, 2]),
            conv("t", "c", pads=[1, 1, 1, 1]),
            node("Transpose", ["c"], ["ct"], perm=[0, 2, 3, 1]),
            node("Mul", ["ct", "s"], ["m"]),
            node("Add", ["m", "k"], ["a"]),
            node("Relu", ["a"]),
        ],
        {"x": ["N", 6, 6, 4]},
        {"y": None},
        {"w": W4, "b": B8, "s": rand(R, 8), "k": rand(R, 8)},
    )
    assert _ops(m, (1, 6, 6, 4)) == ["CONV_2D"]
    assert sqnr_vs_ort(m, (1, 6, 6, 4)) >= 30


def test_flatten_before_gemm_permutes_weights_not_activations():
    m = CASES["flatten_nchw_order_to_gemm"]()
    assert _ops(m) == ["TRANSPOSE", "CONV_2D", "RESHAPE", "FULLY_CONNECTED"]


def test_single_channel_nchw_input_needs_no_transpose():
    m = model(
        [conv("x", "y", pads=[1, 1, 1, 1])],
        {"x": ["N", 1, 6, 6]},
        {"y": None},
        {"w": rand(R, 8, 1, 3, 3), "b": B8},
    )
    assert _ops(m, (1, 1, 6, 6)) == ["RESHAPE", "CONV_2D", "TRANSPOSE"]


def test_model_keeps_the_source_layout_at_its_boundary():
    m = conv_then([node("Relu", ["c"])])
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 4, 6, 6)).astype(np.float32)
    it, (y,) = convert_and_run(m, x, x)
    assert it.input_details[0]["shape"] == (1, 4, 6, 6)
    assert it.output_details[0]["shape"] == (1, 8, 6, 6)
    assert y.shape == (3, 8, 6, 6)


def test_per_tensor_weights_use_one_scale():
    m = conv_then([node("Relu", ["c"])])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 4, 6, 6)).astype(np.float32)
    it, _ = convert_and_run(m, x, x, per_tensor=True)
    conv_op = next(o for o in it.model.ops if o.name == "CONV_2D")
    assert it.model.tensors[conv_op.inputs[1]].scales.size == 1
    it, _ = convert_and_run(m, x, x)
    conv_op = next(o for o in it.model.ops if o.name == "CONV_2D")
    assert it.model.tensors[conv_op.inputs[1]].scales.size == 8


def test_depth_to_space_between_convs_is_one_transpose():
    """Channels-last it is a rank-6 TRANSPOSE between free RESHAPEs: no layout change around it."""
    ops = _ops(CASES["depth_to_space_dcr_then_conv"]())
    assert ops == ["TRANSPOSE", "CONV_2D", "RESHAPE", "TRANSPOSE", "RESHAPE", "CONV_2D", "TRANSPOSE"]


def test_prelu_per_channel_is_one_op_and_one_slope_a_leaky_relu():
    assert _ops(CASES["prelu_per_channel"]()) == ["TRANSPOSE", "CONV_2D", "PRELU", "TRANSPOSE"]
    # one slope: LeakyRelu, an exactly rounded LOOKUP_TABLE in int8 (lower_leaky_relu)
    assert _ops(CASES["prelu_one_slope"]()) == ["TRANSPOSE", "CONV_2D", "LOOKUP_TABLE", "TRANSPOSE"]


def test_resize_nearest_is_one_op_on_channels_last_bytes():
    assert _ops(CASES["resize_nearest_2x_half_pixel"]()) == [
        "TRANSPOSE",
        "CONV_2D",
        "RESIZE_NEAREST_NEIGHBOR",
        "TRANSPOSE",
    ]


# --- ops14 ---


def test_resize_linear_is_one_op_on_channels_last_bytes():
    assert _ops(CASES["resize_linear_2x_half_pixel"]()) == [
        "TRANSPOSE",
        "CONV_2D",
        "RESIZE_BILINEAR",
        "TRANSPOSE",
    ]


def test_resize_linear_by_sizes_matches_onnxruntime():
    """sizes instead of scales (6x6 -> 9x4): the batch is in the sizes, so ORT runs one image at a time."""
    m = conv_then(
        [
            node(
                "Resize",
                ["c", "", "", "sz"],
                mode="linear",
                coordinate_transformation_mode="pytorch_half_pixel",
            )
        ],
        extra={"sz": np.array([1, 8, 9, 4], np.int64)},
    )
    rng = np.random.default_rng(7)
    calib, x = (
        rng.normal(size=(64, 4, 6, 6)).astype(np.float32),
        rng.normal(size=(8, 4, 6, 6)).astype(np.float32),
    )
    it, got = convert_and_run(m, calib, x)
    assert "RESIZE_BILINEAR" in op_names(it)
    want = np.concatenate([ort_run(m, {"x": x[i : i + 1]})[0] for i in range(8)])
    assert sqnr_db(want, got[0]) >= 30


def test_conv_transpose_is_one_op_and_relu_fuses():
    assert _ops(CASES["conv_transpose_stride2"]()) == ["TRANSPOSE", "CONV_2D", "TRANSPOSE_CONV", "TRANSPOSE"]
    assert _ops(CASES["conv_transpose_relu_no_bias"]()) == [
        "TRANSPOSE",
        "CONV_2D",
        "TRANSPOSE_CONV",
        "TRANSPOSE",
    ]


@pytest.mark.parametrize(
    ("attrs", "w_shape"), [({"group": 2}, (8, 2, 3, 3)), ({"dilations": [2, 2]}, (8, 4, 3, 3))]
)
def test_conv_transpose_groups_and_dilations_are_one_transpose_conv(attrs, w_shape):
    """Rewritten to group 1, dilation 1 (conv_transpose_ext.py; accuracy and the split form:
    test_onnx_conv_transpose_ext.py)."""
    m = conv_then(
        [node("ConvTranspose", ["c", "tw"], **attrs)], extra={"tw": rand(np.random.default_rng(0), *w_shape)}
    )
    assert _ops(m) == ["TRANSPOSE", "CONV_2D", "TRANSPOSE_CONV", "TRANSPOSE"]


def test_resize_linear_refuses_antialias_by_name():
    m = conv_then(
        [node("Resize", ["c", "", "sc"], mode="linear", antialias=1)],
        extra={"sc": np.array([1, 1, 2, 2], np.float32)},
        opset=18,
    )
    with pytest.raises(Exception, match="Resize mode=linear with antialias=1: not supported"):
        _ops(m)


# --- end ops14 ---


def test_gather_of_a_run_is_a_slice_else_gather():
    """A scalar index (attention's qkv[0]) is a SLICE and a RESHAPE dropping the axis; other
    constant indices (negative ones wrap) are a GATHER in the stored (NHWC) layout."""
    assert _ops(CASES["gather_scalar_index"]())[2:] == ["SLICE", "RESHAPE"]
    assert _ops(CASES["gather_indices_2d"]())[2:] == ["GATHER", "TRANSPOSE"]


def test_layer_norm_over_conv_channels_moves_no_data():
    """ConvNeXt's Transpose to NHWC, LayerNormalization, Transpose back: the conv's output is
    stored NHWC already, so LAYER_NORM reads it as it is (the TRANSPOSEs are the NCHW model
    input's and output's)."""
    assert _ops(CASES["layer_norm_channels"]()) == ["TRANSPOSE", "CONV_2D", "LAYER_NORM", "TRANSPOSE"]


def test_a_spelled_out_layer_norm_is_one_op():
    assert _ops(CASES["layer_norm_spelled_out"]()) == ["TRANSPOSE", "CONV_2D", "LAYER_NORM", "TRANSPOSE"]


# --- unseen-model sweep (benchmarks/unseen_sequence.py): ReduceMax -----------------------------


@pytest.mark.parametrize(
    ("shape", "axes", "keepdims", "opset"),
    [
        ((1, 7, 5), [1], 0, 13),  # torch's y.max(1).values, batch_first: over time
        ((7, 1, 5), [0], 0, 13),  # seq-first
        ((1, 6, 4, 3), [2, 3], 1, 13),  # spatial, keepdims
        ((1, 6, 4, 3), [-1], 0, 18),  # axes as an input (opset 18)
        ((1, 6, 4), None, 0, 13),  # every axis
    ],
)
def test_reduce_max_is_exact(shape, axes, keepdims, opset) -> None:
    """ReduceMax keeps its input's quantization and runs as MAX_POOL_2D over a view: the int8
    model's output is exactly the max of its quantized input (picoq's own dequantized input
    is the oracle: a max adds no rounding)."""
    from picoq.converter import convert
    from picoq.runtime import Interpreter

    attrs = {"keepdims": keepdims}
    ins = ["x"]
    inits = {}
    if axes is not None and opset >= 18:
        inits["axes"] = np.array(axes, np.int64)
        ins.append("axes")
    elif axes is not None:
        attrs["axes"] = axes
    m = model(
        [helper.make_node("ReduceMax", ins, ["y"], **attrs)], {"x": list(shape)}, {"y": None}, inits, opset
    )
    rng = np.random.default_rng(0)
    it = Interpreter(convert(m, calibration=rng.normal(size=(20, *shape)).astype(np.float32), progress=False))
    assert "MAX_POOL_2D" in [o.name for o in it.model.ops]
    x = rng.normal(size=(32, *shape)).astype(np.float32)
    tin, tout = it.model.tensors[it.model.inputs[0]], it.model.tensors[it.model.outputs[0]]
    assert tin.scales[0] == tout.scales[0] and tin.zero_points[0] == tout.zero_points[0]
    qx = np.clip(np.round(x / tin.scales[0]) + tin.zero_points[0], -128, 127)
    red = tuple(range(1, len(shape) + 1)) if axes is None else tuple(a % len(shape) + 1 for a in axes)
    want = (qx.max(axis=red, keepdims=bool(keepdims)) - tout.zero_points[0]) * tout.scales[0]
    got = np.stack([it.run(v) for v in x])
    np.testing.assert_array_equal(got.reshape(want.shape), want.astype(np.float32))


@pytest.mark.parametrize(("axes", "keepdims"), [([1], 0), ([2], 1), ([1, 2], 0)])
def test_reduce_sum_runs_as_mean_without_the_division(axes, keepdims) -> None:
    """ReduceSum (torch's x.sum(dim), attention pooling's weighted sum) is MEAN's kernel with the
    multiplier of s_in / s_out alone: each int8 output within one step of the sum of the
    dequantized input rounded to the output's quantization (oracle: numpy on picoq's scales)."""
    from picoq.converter import convert
    from picoq.runtime import Interpreter

    shape = (1, 12, 6)
    m = model(
        [helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=keepdims)],
        {"x": list(shape)},
        {"y": None},
        {"axes": np.array(axes, np.int64)},
    )
    rng = np.random.default_rng(0)
    it = Interpreter(convert(m, calibration=rng.normal(size=(40, *shape)).astype(np.float32), progress=False))
    assert [o.name for o in it.model.ops] == ["MEAN"]
    tin, tout = it.model.tensors[it.model.inputs[0]], it.model.tensors[it.model.outputs[0]]
    x = rng.normal(size=(16, *shape)).astype(np.float32)
    qx = np.clip(np.round(x / tin.scales[0]) + tin.zero_points[0], -128, 127)
    red = tuple(a + 1 for a in axes)
    total = ((qx - tin.zero_points[0]) * np.float64(tin.scales[0])).sum(axis=red, keepdims=bool(keepdims))
    ideal = np.clip(total / tout.scales[0] + tout.zero_points[0], -128, 127)
    got = np.stack([it.run(v) for v in x]).reshape(ideal.shape) / tout.scales[0] + tout.zero_points[0]
    assert np.abs(got - ideal).max() <= 1.0 + 1e-3
    assert abs(float((got - ideal).mean())) < 0.25


# --- visionsweep: gates past the int8 LOGISTIC/TANH kernels' input scale ---
@pytest.mark.parametrize("act", ["Sigmoid", "Tanh"])
def test_gate_past_the_logistic_input_scale_is_a_rounded_table(act):
    """A squeeze-excite gate whose input spans +-1000s (EfficientNetV2-L's last blocks with
    random weights): its int8 step (> 8) has no LOGISTIC/TANH input multiplier, so the op
    is a LOOKUP_TABLE of the function on the 256 input values, rounded to nearest."""
    m = _wide_gate(act)
    rng = np.random.default_rng(0)
    calib = rng.normal(size=(64, 4, 6, 6)).astype(np.float32)
    x = rng.normal(size=(8, 4, 6, 6)).astype(np.float32)
    it, got = convert_and_run(m, calib, x)
    tables = [o for o in it.model.ops if o.name == "LOOKUP_TABLE"]
    assert "LOGISTIC" not in op_names(it) and "TANH" not in op_names(it) and len(tables) == 1
    ti, tt = (it.model.tensors[i] for i in tables[0].inputs[:2])
    to = it.model.tensors[tables[0].outputs[0]]
    assert ti.scales[0] > 8  # the premise: past what the kernels' multiplier holds
    v = (np.arange(-128, 128) - int(ti.zero_points[0])) * float(ti.scales[0])
    with np.errstate(over="ignore"):  # exp(3000): inf, and 1 / inf is the 0 it should be
        f = np.tanh(v) if act == "Tanh" else 1 / (1 + np.exp(-v))
    q = f / float(to.scales[0])
    want = np.clip(np.sign(q) * np.floor(np.abs(q) + 0.5) + int(to.zero_points[0]), -128, 127)
    np.testing.assert_array_equal(np.asarray(it.model.const_array(tt)).reshape(-1), want)
    # A gate this steep flips whole channels when its input is near 0: ~24 dB, not 30.
    assert sqnr_db(ort_run(m, {"x": x})[0], got[0]) >= 20.0


# --- end visionsweep ---
