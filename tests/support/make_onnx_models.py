"""Float ONNX models with the MLPerf Tiny architectures, random weights and non-trivial BatchNorm.

    python -m tests.support.make_onnx_models OUT_DIR     # from the repo root; writes OUT_DIR/<model>_<layout>.onnx

Each model comes in two layouts, as the two usual exporters write them:
  nchw  PyTorch's torch.onnx.export: NCHW input; Conv + BatchNormalization + Relu; Flatten + Gemm
  nhwc  Keras through tf2onnx (unoptimised): NHWC input; a Transpose before and after every
        Conv and pool; BatchNorm as Mul + Add on the channels-last axis; Reshape + MatMul + Add
Weights are He-initialised from a fixed seed; BatchNorm statistics (mean, variance, gamma,
beta) are random per channel, so folding them is exercised.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
NCHW_TO_NHWC = (0, 2, 3, 1)
NHWC_TO_NCHW = (0, 3, 1, 2)


class Builder:
    """Adds layers to an ONNX graph; tensors are NCHW in layout "nchw", NHWC in "nhwc"."""

    def __init__(self, name: str, layout: str, seed: int):
        assert layout in ("nchw", "nhwc")
        self.name, self.layout = name, layout
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.k = 0

    def _fresh(self, base: str) -> str:
        self.k += 1
        return f"{base}_{self.k}"

    def const(self, value: np.ndarray, base: str) -> str:
        name = self._fresh(base)
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], base: str | None = None, **attrs) -> str:
        out = self._fresh(base or op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def _to_nchw(self, x: str) -> str:
        return self.node("Transpose", [x], "to_nchw", perm=NHWC_TO_NCHW) if self.layout == "nhwc" else x

    def _to_layout(self, x: str) -> str:
        return self.node("Transpose", [x], "to_nhwc", perm=NCHW_TO_NHWC) if self.layout == "nhwc" else x

    # *** layers ***

    def conv(self, x, cin, cout, k, stride=1, group=1, pads=None, bn=True, act="relu") -> str:
        kh, kw = (k, k) if isinstance(k, int) else k
        fan_in = cin // group * kh * kw
        w = self.rng.normal(0, np.sqrt(2.0 / fan_in), (cout, cin // group, kh, kw)).astype(np.float32)
        ins = [self._to_nchw(x), self.const(w, "w")]
        if not bn:
            ins.append(self.const(self.rng.normal(0, 0.05, cout).astype(np.float32), "b"))
        attrs = {"strides": [stride, stride], "group": group}
        if pads is None:
            attrs["pads"] = [kh // 2, kw // 2, kh // 2, kw // 2]
        elif pads == "SAME":
            attrs["auto_pad"] = "SAME_UPPER"
        else:
            attrs["pads"] = list(pads)
        y = self._to_layout(self.node("Conv", ins, "conv", **attrs))
        if bn:
            y = self.batch_norm(y, cout)
        return self.act(y, act)

    def batch_norm(self, x: str, c: int) -> str:
        gamma = self.rng.uniform(0.6, 1.4, c).astype(np.float32)
        beta = self.rng.normal(0.1, 0.2, c).astype(np.float32)
        mean = self.rng.normal(0.0, 0.3, c).astype(np.float32)
        var = self.rng.uniform(0.5, 2.0, c).astype(np.float32)
        if self.layout == "nchw":
            ins = [x] + [
                self.const(v, n) for v, n in ((gamma, "gamma"), (beta, "beta"), (mean, "mean"), (var, "var"))
            ]
            return self.node("BatchNormalization", ins, "bn", epsilon=1e-3)
        scale = gamma / np.sqrt(var + 1e-3)
        y = self.node("Mul", [x, self.const(scale.astype(np.float32), "bn_scale")], "bn_mul")
        return self.node(
            "Add", [y, self.const((beta - mean * scale).astype(np.float32), "bn_shift")], "bn_add"
        )

    def act(self, x: str, act: str | None) -> str:
        if act == "relu":
            return self.node("Relu", [x], "relu")
        if act == "relu6":
            lo, hi = (
                self.const(np.array(0.0, np.float32), "zero"),
                self.const(np.array(6.0, np.float32), "six"),
            )
            return self.node("Clip", [x, lo, hi], "relu6")
        return x

    def avg_pool(self, x: str, k: tuple[int, int]) -> str:
        y = self.node("AveragePool", [self._to_nchw(x)], "avgpool", kernel_shape=list(k), strides=list(k))
        return self._to_layout(y)

    def flatten(self, x: str, features: int) -> str:
        if self.layout == "nchw":
            return self.node("Flatten", [x], "flatten", axis=1)
        return self.node("Reshape", [x, self.const(np.array([-1, features], np.int64), "shape")], "flatten")

    def dense(self, x: str, cin: int, cout: int, bn: bool = False, act: str | None = None) -> str:
        w = self.rng.normal(0, np.sqrt(2.0 / cin), (cout, cin)).astype(np.float32)
        b = self.rng.normal(0, 0.05, cout).astype(np.float32)
        if self.layout == "nchw":
            y = self.node("Gemm", [x, self.const(w, "fc_w"), self.const(b, "fc_b")], "gemm", transB=1)
        else:
            y = self.node("MatMul", [x, self.const(w.T.copy(), "fc_w")], "matmul")
            y = self.node("Add", [y, self.const(b, "fc_b")], "bias_add")
        if bn:
            y = self.batch_norm(y, cout)
        return self.act(y, act)

    def model(self, x_shape: tuple[int, ...], y: str, out_shape: tuple[int, ...]) -> onnx.ModelProto:
        x_in = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", *x_shape[1:]])
        y_out = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", *out_shape[1:]])
        self.nodes.append(helper.make_node("Identity", [y], ["output"], name="output"))
        graph = helper.make_graph(self.nodes, self.name, [x_in], [y_out], self.inits)
        m = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="picoq-tests"
        )
        onnx.checker.check_model(m)
        return m

    def input_shape(self, c: int, h: int, w: int) -> tuple[int, ...]:
        return (1, c, h, w) if self.layout == "nchw" else (1, h, w, c)


# *** the models ***


def ds_cnn(layout: str = "nchw", seed: int = 1) -> onnx.ModelProto:
    """KWS DS-CNN: 49x10 MFCCs, conv 10x4/2 + 4 depthwise-separable blocks of 64, avgpool, FC 12."""
    b = Builder("ds_cnn", layout, seed)
    shape = b.input_shape(1, 49, 10)
    x = b.conv("input", 1, 64, (10, 4), stride=2, pads=(4, 1, 5, 1) if layout == "nchw" else "SAME")
    for _ in range(4):
        x = b.conv(x, 64, 64, 3, group=64)
        x = b.conv(x, 64, 64, 1)
    x = b.avg_pool(x, (25, 5))
    y = b.node("Softmax", [b.dense(b.flatten(x, 64), 64, 12)], "softmax", axis=-1)
    return b.model(shape, y, (1, 12))


def resnet8(layout: str = "nchw", seed: int = 2) -> onnx.ModelProto:
    """IC ResNet-8: 32x32x3, three residual stacks (16, 32, 64), the last two with 1x1 shortcuts."""
    b = Builder("resnet8", layout, seed)
    shape = b.input_shape(3, 32, 32)
    x = b.conv("input", 3, 16, 3)
    cin = 16
    for cout, stride in ((16, 1), (32, 2), (64, 2)):
        same = (0, 0, 1, 1) if stride == 2 and layout == "nhwc" else None  # TF SAME on an even size
        y = b.conv(x, cin, cout, 3, stride=stride, pads=same)
        y = b.conv(y, cout, cout, 3, act=None)
        short = x if stride == 1 else b.conv(x, cin, cout, 1, stride=stride, bn=False, act=None)
        x = b.node("Relu", [b.node("Add", [short, y], "residual")], "relu")
        cin = cout
    if layout == "nchw":
        x = b.node("GlobalAveragePool", [x], "gap")
    else:
        x = b.avg_pool(x, (8, 8))
    y = b.node("Softmax", [b.dense(b.flatten(x, 64), 64, 10)], "softmax", axis=-1)
    return b.model(shape, y, (1, 10))


def mobilenet_v1_025(layout: str = "nchw", seed: int = 3, size: int = 96) -> onnx.ModelProto:
    """VWW MobileNetV1 alpha 0.25 at 96x96x3 (or size x size, a multiple of 32): 13 depthwise-separable
    blocks (ReLU6), avgpool, FC 2."""
    b = Builder("mobilenet_v1_025", layout, seed)
    shape = b.input_shape(3, size, size)
    same2 = (0, 0, 1, 1) if layout == "nhwc" else None
    x = b.conv("input", 3, 8, 3, stride=2, pads=same2, act="relu6")
    cin = 8
    blocks = [(16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2)] + [(128, 1)] * 5 + [(256, 2), (256, 1)]
    for cout, stride in blocks:
        x = b.conv(x, cin, cin, 3, stride=stride, group=cin, pads=same2 if stride == 2 else None, act="relu6")
        x = b.conv(x, cin, cout, 1, act="relu6")
        cin = cout
    x = b.avg_pool(x, (size // 32, size // 32))
    y = b.node("Softmax", [b.dense(b.flatten(x, 256), 256, 2)], "softmax", axis=-1)
    return b.model(shape, y, (1, 2))


def fc_autoencoder(layout: str = "nchw", seed: int = 4) -> onnx.ModelProto:
    """AD FC autoencoder: 640 -> 4 x (128, BN, ReLU) -> 8 -> 4 x (128, BN, ReLU) -> 640."""
    b = Builder("fc_autoencoder", layout, seed)
    x, cin = "input", 640
    for cout in [128] * 4 + [8] + [128] * 4:
        x = b.dense(x, cin, cout, bn=True, act="relu")
        cin = cout
    y = b.dense(x, cin, 640)
    return b.model((1, 640), y, (1, 640))


MODELS = {
    "ds_cnn": ds_cnn,
    "resnet8": resnet8,
    "mobilenet_v1_025": mobilenet_v1_025,
    "fc_autoencoder": fc_autoencoder,
}


def input_shape(model: onnx.ModelProto) -> tuple[int, ...]:
    dims = model.graph.input[0].type.tensor_type.shape.dim
    return (1, *(d.dim_value for d in dims[1:]))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for name, build in MODELS.items():
        for layout in ("nchw", "nhwc"):
            path = out / f"{name}_{layout}.onnx"
            onnx.save(build(layout), path)
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
