"""A small CNN trained with plain numpy on scikit-learn's digits, written out as a float ONNX model.

No deep-learning framework: forward and backward passes are im2col + matmul, trained with
Adam from a fixed seed (a few seconds on 2 cores). The ONNX graph is NCHW, as PyTorch
exports it: Conv + BatchNormalization + Relu, Conv + Relu, Flatten, Gemm. The BatchNorm has
non-trivial statistics: the trained first conv is rescaled so that conv + BN computes exactly
what was trained, and the converter must fold it back.

    python tests/digits_cnn.py OUT.onnx      # train, report float accuracy, write the model
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

C1, C2 = 16, 32  # channels of the two convs


@dataclass
class Digits:
    x_train: np.ndarray  # (N, 1, 8, 8) float32 in [0, 1]
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_digits_split(seed: int = 0) -> Digits:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=0.25, random_state=seed, stratify=d.target)
    return Digits(xtr, ytr, xte, yte)


def _im2col(x: np.ndarray, k: int, stride: int, pad: int) -> np.ndarray:
    """(N, C, H, W) -> (N, OH, OW, C*k*k)."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    return win[:, :, :oh, :ow].transpose(0, 2, 3, 1, 4, 5).reshape(n, oh, ow, c * k * k)


def _col2im(cols: np.ndarray, shape, k: int, stride: int, pad: int) -> np.ndarray:
    n, c, h, w = shape
    oh, ow = cols.shape[1:3]
    cols = cols.reshape(n, oh, ow, c, k, k)
    xp = np.zeros((n, c, h + 2 * pad, w + 2 * pad), cols.dtype)
    for i in range(k):
        for j in range(k):
            xp[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride] += cols[
                :, :, :, :, i, j
            ].transpose(0, 3, 1, 2)
    return xp[:, :, pad : pad + h, pad : pad + w]


def _init(rng: np.random.Generator) -> dict[str, np.ndarray]:
    def he(shape, fan_in):
        return (rng.normal(0, np.sqrt(2.0 / fan_in), shape)).astype(np.float32)

    return {
        "w1": he((C1, 1 * 9), 9),
        "b1": np.zeros(C1, np.float32),
        "w2": he((C2, C1 * 9), C1 * 9),
        "b2": np.zeros(C2, np.float32),
        "w3": he((10, C2 * 16), C2 * 16),
        "b3": np.zeros(10, np.float32),
    }


def _forward(p, x):
    c1 = _im2col(x, 3, 1, 1)  # (N, 8, 8, 9)
    z1 = c1 @ p["w1"].T + p["b1"]
    a1 = np.maximum(z1, 0).transpose(0, 3, 1, 2)  # (N, C1, 8, 8)
    c2 = _im2col(a1, 3, 2, 1)  # (N, 4, 4, C1*9)
    z2 = c2 @ p["w2"].T + p["b2"]
    a2 = np.maximum(z2, 0).transpose(0, 3, 1, 2)  # (N, C2, 4, 4)
    f = a2.reshape(len(x), -1)
    logits = f @ p["w3"].T + p["b3"]
    return logits, (c1, z1, a1, c2, z2, f)


def _grads(p, x, y):
    n = len(x)
    logits, (c1, z1, a1, c2, z2, f) = _forward(p, x)
    e = np.exp(logits - logits.max(1, keepdims=True))
    prob = e / e.sum(1, keepdims=True)
    d = prob
    d[np.arange(n), y] -= 1
    d /= n
    g = {"w3": d.T @ f, "b3": d.sum(0)}
    da2 = (d @ p["w3"]).reshape(n, C2, 4, 4).transpose(0, 2, 3, 1) * (z2 > 0)
    g["w2"] = da2.reshape(-1, C2).T @ c2.reshape(-1, c2.shape[-1])
    g["b2"] = da2.sum((0, 1, 2))
    dc2 = da2 @ p["w2"]
    da1 = _col2im(dc2, a1.shape, 3, 2, 1).transpose(0, 2, 3, 1) * (z1 > 0)
    g["w1"] = da1.reshape(-1, C1).T @ c1.reshape(-1, 9)
    g["b1"] = da1.sum((0, 1, 2))
    return g


def train(data: Digits, epochs: int = 20, seed: int = 0) -> dict[str, np.ndarray]:
    """Adam, batch 32, learning rate 3e-3 halved every 5 epochs; deterministic for a seed.

    BLAS runs single-threaded: these matrices are tiny, and OpenBLAS threads make each step
    ~20x slower (measured on 2 cores); one thread also keeps the sums in a fixed order.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _train(data, epochs, seed)


def _train(data: Digits, epochs: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = _init(rng)
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(v) for k, v in p.items()}
    step, lr = 0, 3e-3
    for epoch in range(epochs):
        order = rng.permutation(len(data.x_train))
        for i in range(0, len(order), 32):
            idx = order[i : i + 32]
            g = _grads(p, data.x_train[idx], data.y_train[idx])
            step += 1
            for k in p:
                m[k] = 0.9 * m[k] + 0.1 * g[k]
                v[k] = 0.999 * v[k] + 0.001 * g[k] ** 2
                mh, vh = m[k] / (1 - 0.9**step), v[k] / (1 - 0.999**step)
                p[k] = (p[k] - lr * mh / (np.sqrt(vh) + 1e-8)).astype(np.float32)
        if epoch % 5 == 4:
            lr /= 2
    return p


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def predict(p, x: np.ndarray) -> np.ndarray:
    return _forward(p, x)[0]


def to_onnx(p: dict[str, np.ndarray], seed: int = 0) -> onnx.ModelProto:
    """NCHW ONNX graph of the trained net, with a BatchNormalization of random statistics
    after the first conv (the conv is rescaled so conv + BN computes the trained function)."""
    rng = np.random.default_rng(seed + 1)
    eps = 1e-5
    gamma = rng.uniform(0.5, 2.0, C1).astype(np.float32)
    beta = rng.normal(0, 0.5, C1).astype(np.float32)
    mean = rng.normal(0, 0.5, C1).astype(np.float32)
    var = rng.uniform(0.2, 3.0, C1).astype(np.float32)
    k = gamma / np.sqrt(var + eps)
    w1 = (p["w1"].reshape(C1, 1, 3, 3) / k[:, None, None, None]).astype(np.float32)
    b1 = ((p["b1"] - beta) / k + mean).astype(np.float32)
    inits = {
        "conv1.weight": w1,
        "conv1.bias": b1,
        "bn1.weight": gamma,
        "bn1.bias": beta,
        "bn1.running_mean": mean,
        "bn1.running_var": var,
        "conv2.weight": p["w2"].reshape(C2, C1, 3, 3),
        "conv2.bias": p["b2"],
        "fc.weight": p["w3"],
        "fc.bias": p["b3"],
    }
    nodes = [
        helper.make_node(
            "Conv", ["input", "conv1.weight", "conv1.bias"], ["conv1"], pads=[1, 1, 1, 1], name="conv1"
        ),
        helper.make_node(
            "BatchNormalization",
            ["conv1", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"],
            ["bn1"],
            epsilon=eps,
            name="bn1",
        ),
        helper.make_node("Relu", ["bn1"], ["relu1"], name="relu1"),
        helper.make_node(
            "Conv",
            ["relu1", "conv2.weight", "conv2.bias"],
            ["conv2"],
            pads=[1, 1, 1, 1],
            strides=[2, 2],
            name="conv2",
        ),
        helper.make_node("Relu", ["conv2"], ["relu2"], name="relu2"),
        helper.make_node("Flatten", ["relu2"], ["flat"], axis=1, name="flatten"),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], transB=1, name="fc"),
    ]
    graph = helper.make_graph(
        nodes,
        "digits_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        [numpy_helper.from_array(np.ascontiguousarray(v), name) for name, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="picoq-tests")
    onnx.checker.check_model(model)
    return model


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    data = load_digits_split()
    p = train(data)
    print(f"float test accuracy: {accuracy(predict(p, data.x_test), data.y_test):.4f}")
    onnx.save(to_onnx(p), argv[0])
    print(f"wrote {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
