"""numpy float32 reference of the ONNX ops picoq imports (ONNX semantics, NCHW).

It folds constants, gives every tensor its static shape, measures activation
ranges for calibration and is the float reference of `picoq compare`. Each op
function takes the node and its input arrays (None for an absent optional input)
and returns the list of its outputs; onnx_rules.py maps each op type to its function and
float_run.py executes a whole FloatGraph.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .fgraph import FloatGraph, Node

F32 = np.float32

# *** window geometry (shared with the lowering) ***


def window_pads(
    attrs: dict, in_hw: tuple[int, ...], k_hw: tuple[int, ...], strides, dilations
) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) padding of a Conv/pool node (auto_pad or explicit pads)."""
    auto = attrs.get("auto_pad", "NOTSET")
    if isinstance(auto, bytes):
        auto = auto.decode()
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads_b, pads_e = [], []
        for size, k, s, d in zip(in_hw, k_hw, strides, dilations):
            out = -(-size // s)
            total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
            small = total // 2
            pads_b.append(small if auto == "SAME_UPPER" else total - small)
            pads_e.append(total - pads_b[-1])
        return pads_b[0], pads_b[1], pads_e[0], pads_e[1]
    if auto == "VALID":
        return 0, 0, 0, 0
    p = list(attrs.get("pads", [0, 0, 0, 0]))
    return p[0], p[1], p[2], p[3]


def window_out(size: int, k: int, s: int, d: int, pad_b: int, pad_e: int, ceil_mode: bool = False) -> int:
    eff = (k - 1) * d + 1
    span = size + pad_b + pad_e - eff
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + pad_b:  # a window may not start inside the end padding
        out -= 1
    return out


def _geometry(node: Node, x: np.ndarray, k_hw: tuple[int, int]):
    a = node.attrs
    strides = tuple(a.get("strides", (1, 1)))
    dil = tuple(a.get("dilations", (1, 1)))
    pads = window_pads(a, x.shape[2:], k_hw, strides, dil)
    ceil_mode = bool(a.get("ceil_mode", 0))
    out = [
        window_out(x.shape[2 + i], k_hw[i], strides[i], dil[i], pads[i], pads[i + 2], ceil_mode)
        for i in range(2)
    ]
    # extra padding at the end so that every output window is inside the padded array
    ends = [
        max(pads[i + 2], (out[i] - 1) * strides[i] + (k_hw[i] - 1) * dil[i] + 1 - x.shape[2 + i] - pads[i])
        for i in range(2)
    ]
    return strides, dil, (pads[0], pads[1], ends[0], ends[1]), out


def _windows(xp: np.ndarray, k_hw, strides, dil, out) -> np.ndarray:
    """(N, C, OH, OW, kh, kw) view of the padded input."""
    eh, ew = (k_hw[0] - 1) * dil[0] + 1, (k_hw[1] - 1) * dil[1] + 1
    w = sliding_window_view(xp, (eh, ew), axis=(2, 3))
    return w[
        :, :, : out[0] * strides[0] : strides[0], : out[1] * strides[1] : strides[1], :: dil[0], :: dil[1]
    ]


def _pad_hw(x: np.ndarray, pads, value: float = 0.0) -> np.ndarray:
    return np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])), constant_values=value)


# *** ops ***


def conv(node: Node, x, w, b=None):
    if x.ndim != 4:
        raise ValueError("only 2-D convolutions (4-D input) are supported")
    group = int(node.attrs.get("group", 1))
    n = x.shape[0]
    m, cg, kh, kw = w.shape
    strides, dil, pads, out = _geometry(node, x, (kh, kw))
    win = _windows(_pad_hw(x, pads), (kh, kw), strides, dil, out)
    win = win.reshape(n, group, cg, out[0], out[1], kh, kw)
    wg = w.reshape(group, m // group, cg, kh, kw)
    if cg == 1 and m == group:  # depthwise: elementwise product, no GEMM to gain
        y = np.einsum("ngchwij,gcij->nghw", win, wg[:, 0:1, 0], optimize=True)
    else:
        y = np.einsum("ngchwij,gmcij->ngmhw", win, wg, optimize=True)
    y = y.reshape(n, m, out[0], out[1])
    if b is not None:
        y = y + b.reshape(1, m, 1, 1)
    return [y.astype(F32)]


def average_pool(node: Node, x):
    kh, kw = node.attrs["kernel_shape"]
    strides, dil, pads, out = _geometry(node, x, (kh, kw))
    s = _windows(_pad_hw(x, pads), (kh, kw), strides, dil, out).sum(axis=(4, 5))
    if node.attrs.get("count_include_pad", 0):
        explicit = window_pads(node.attrs, x.shape[2:], (kh, kw), strides, dil)
        ones = _pad_hw(np.ones((1, 1, *x.shape[2:]), F32), explicit, 1.0)
        ones = np.pad(ones, ((0, 0), (0, 0), (0, pads[2] - explicit[2]), (0, pads[3] - explicit[3])))
    else:
        ones = _pad_hw(np.ones((1, 1, *x.shape[2:]), F32), pads)
    count = _windows(ones, (kh, kw), strides, dil, out).sum(axis=(4, 5))
    return [(s / count).astype(F32)]


def max_pool(node: Node, x):
    kh, kw = node.attrs["kernel_shape"]
    strides, dil, pads, out = _geometry(node, x, (kh, kw))
    w = _windows(_pad_hw(x, pads, -np.inf), (kh, kw), strides, dil, out)
    return [w.max(axis=(4, 5)).astype(F32)]


def global_average_pool(node: Node, x):
    return [x.mean(axis=tuple(range(2, x.ndim)), keepdims=True, dtype=np.float64).astype(F32)]


def gemm(node: Node, a, b, c=None):
    at = node.attrs
    a = a.T if at.get("transA", 0) else a
    b = b.T if at.get("transB", 0) else b
    y = at.get("alpha", 1.0) * (a @ b)
    if c is not None:
        y = y + at.get("beta", 1.0) * c
    return [y.astype(F32)]


def dense(node: Node, x, w, b=None):
    y = x @ w.T
    if b is not None:
        y = y + b
    return [y.astype(F32)]


def affine(node: Node, x, scale, shift):
    axis = node.attrs.get("axis")
    if axis is None or scale.size == 1 and shift.size == 1:
        return [(x * scale.reshape(()) + shift.reshape(())).astype(F32)]
    shape = [1] * x.ndim
    shape[axis] = -1
    return [(x * scale.reshape(shape) + shift.reshape(shape)).astype(F32)]


def batch_norm(node: Node, x, scale, bias, mean, var, *rest):
    eps = node.attrs.get("epsilon", 1e-5)
    shape = [1] * x.ndim
    shape[1] = -1
    k = scale / np.sqrt(var + eps)
    return [((x - mean.reshape(shape)) * k.reshape(shape) + bias.reshape(shape)).astype(F32)]


def clip(node: Node, x, lo=None, hi=None):
    lo = -np.inf if lo is None else lo
    hi = np.inf if hi is None else hi
    return [np.clip(x, lo, hi).astype(x.dtype)]


def softmax(node: Node, x):
    axis = node.attrs.get("axis", -1 if node.attrs.get("_opset", 13) >= 13 else 1)
    if node.attrs.get("_opset", 13) < 13:  # flatten from `axis`, softmax over the flattened rows
        shape = x.shape
        x2 = x.reshape(int(np.prod(shape[:axis], dtype=np.int64)), -1)
        e = np.exp(x2 - x2.max(axis=1, keepdims=True))
        return [(e / e.sum(axis=1, keepdims=True)).reshape(shape).astype(F32)]
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return [(e / e.sum(axis=axis, keepdims=True)).astype(F32)]


def layer_norm(node: Node, x, scale=None, bias=None):
    """ONNX LayerNormalization (opset 17): over the axes [axis, rank), in float64 (stash_type 1
    is float32; the extra precision only moves the last float32 bit)."""
    axis = int(node.attrs.get("axis", -1)) % x.ndim
    axes = tuple(range(axis, x.ndim))
    x64 = x.astype(np.float64)
    d = x64 - x64.mean(axis=axes, keepdims=True)
    y = d / np.sqrt((d * d).mean(axis=axes, keepdims=True) + float(node.attrs.get("epsilon", 1e-5)))
    if scale is not None:
        y = y * scale
    if bias is not None:
        y = y + bias
    return [y.astype(F32)]


def _reduced_axes(node: Node, x, axes) -> tuple[int, ...] | None:
    """ONNX Reduce* axes as a tuple (None: noop_with_empty_axes and no axes)."""
    if axes is None or axes.size == 0:
        return None if node.attrs.get("noop_with_empty_axes", 0) else tuple(range(x.ndim))
    return tuple(int(a) % x.ndim for a in axes)


def reduce_max(node: Node, x, axes=None):
    axes_t = _reduced_axes(node, x, axes)
    if axes_t is None:
        return [x]
    return [x.max(axis=axes_t, keepdims=bool(node.attrs.get("keepdims", 1)))]


def reduce_sum(node: Node, x, axes=None):
    axes_t = _reduced_axes(node, x, axes)
    if axes_t is None:
        return [x]
    keep = bool(node.attrs.get("keepdims", 1))
    return [x.sum(axis=axes_t, keepdims=keep, dtype=np.float64).astype(F32)]


def reduce_mean(node: Node, x, axes=None):
    if axes is None or axes.size == 0:
        if node.attrs.get("noop_with_empty_axes", 0):
            return [x]
        axes_t = tuple(range(x.ndim))
    else:
        axes_t = tuple(int(a) % x.ndim for a in axes)
    keep = bool(node.attrs.get("keepdims", 1))
    return [x.mean(axis=axes_t, keepdims=keep, dtype=np.float64).astype(F32)]


def flatten(node: Node, x):
    axis = node.attrs.get("axis", 1)
    axis = axis + x.ndim if axis < 0 else axis  # in [-rank, rank]: rank flattens everything into rows
    lead = int(np.prod(x.shape[:axis], dtype=np.int64))
    return [x.reshape(lead, -1)]


def reshape_shape(in_shape: tuple[int, ...], shape: np.ndarray, allowzero: bool = False) -> tuple[int, ...]:
    out = [int(v) for v in shape]
    if not allowzero:
        out = [in_shape[i] if v == 0 else v for i, v in enumerate(out)]
    if -1 in out:
        known = int(np.prod([v for v in out if v != -1], dtype=np.int64))
        total = int(np.prod(in_shape, dtype=np.int64))
        out[out.index(-1)] = total // known if known else 0
    return tuple(out)


def reshape(node: Node, x, shape):
    return [x.reshape(reshape_shape(x.shape, shape, bool(node.attrs.get("allowzero", 0))))]


def squeeze(node: Node, x, axes=None):
    if axes is None:
        return [np.squeeze(x)]
    return [np.squeeze(x, axis=tuple(int(a) % x.ndim for a in axes))]


def unsqueeze(node: Node, x, axes):
    rank = x.ndim + axes.size
    y = x
    for a in sorted(int(a) % rank for a in axes):
        y = np.expand_dims(y, a)
    return [y]


def transpose(node: Node, x):
    perm = node.attrs.get("perm")
    return [np.transpose(x, None if perm is None else tuple(perm))]


def concat(node: Node, *xs):
    return [np.concatenate([x for x in xs if x is not None], axis=node.attrs["axis"])]


def pad(node: Node, x, pads, value=None, axes=None):
    rank = x.ndim
    axes_l = list(range(rank)) if axes is None else [int(a) % rank for a in axes]
    widths = [(0, 0)] * rank
    k = len(axes_l)
    for i, a in enumerate(axes_l):
        widths[a] = (int(pads[i]), int(pads[i + k]))
    if any(b < 0 or e < 0 for b, e in widths):
        slices = tuple(slice(max(-b, 0), x.shape[i] - max(-e, 0)) for i, (b, e) in enumerate(widths))
        x = x[slices]
        widths = [(max(b, 0), max(e, 0)) for b, e in widths]
    mode = node.attrs.get("mode", "constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode == "constant":
        v = 0.0 if value is None or value.size == 0 else float(value.reshape(-1)[0])
        return [np.pad(x, widths, constant_values=v)]
    return [np.pad(x, widths, mode={"reflect": "reflect", "edge": "edge", "wrap": "wrap"}[mode])]


def hard_sigmoid(node: Node, x):
    a, b = node.attrs.get("alpha", 0.2), node.attrs.get("beta", 0.5)
    return [np.clip(x * F32(a) + F32(b), 0, 1).astype(F32)]


def constant(node: Node):
    a = node.attrs
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        if key in a:
            v = np.asarray(a[key])
            if key.startswith("value_int"):
                v = v.astype(np.int64)
            elif key.startswith("value_float"):
                v = v.astype(F32)
            return [v]
    raise ValueError(f"unsupported Constant attribute {sorted(a)}")


def gather(node: Node, x, idx):
    return [np.take(x, idx.astype(np.int64), axis=node.attrs.get("axis", 0))]


def slice_end(e) -> int:
    """An ONNX Slice end as a Python slice bound (ONNX writes "to the end" as up to +-2^63)."""
    return int(max(min(int(e), 2**62), -(2**62)))


def slice_(node: Node, x, starts, ends, axes=None, steps=None):
    axes_l = list(range(len(starts))) if axes is None else [int(a) % x.ndim for a in axes]
    steps_l = [1] * len(starts) if steps is None else [int(s) for s in steps]
    sl = [slice(None)] * x.ndim
    for a, s, e, st in zip(axes_l, starts, ends, steps_l):
        sl[a] = slice(int(s), slice_end(e), st)
    return [x[tuple(sl)]]


def depth_to_space(node: Node, x):
    """ONNX DepthToSpace on NCHW, as the operator's definition writes it."""
    n, c, h, w = x.shape
    b = int(node.attrs["blocksize"])
    if c % (b * b):
        raise ValueError(f"blocksize {b}: its square does not divide the {c} channels")
    if node.attrs.get("mode", "DCR") == "DCR":
        t = x.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
    else:  # CRD
        t = x.reshape(n, c // (b * b), b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    return [t.reshape(n, c // (b * b), h * b, w * b)]


def space_to_depth(node: Node, x):
    """ONNX SpaceToDepth on NCHW (the inverse of DepthToSpace in DCR mode)."""
    n, c, h, w = x.shape
    b = int(node.attrs["blocksize"])
    if h % b or w % b:
        raise ValueError(f"blocksize {b} does not divide the {h}x{w} image")
    t = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4)
    return [t.reshape(n, c * b * b, h // b, w // b)]


_ONNX_TYPES = {
    1: np.float32,
    2: np.uint8,
    3: np.int8,
    6: np.int32,
    7: np.int64,
    9: np.bool_,
    10: np.float16,
    11: np.float64,
}


def cast(node: Node, x):
    return [x.astype(_ONNX_TYPES.get(node.attrs["to"], np.float32))]


def shape_of(node: Node, x):
    s = np.array(x.shape, np.int64)
    start, end = node.attrs.get("start", 0), node.attrs.get("end", None)
    return [s[start:end]]


def leaky_relu(node: Node, x):
    a = F32(node.attrs.get("alpha", 0.01))
    return [np.where(x >= 0, x, x * a).astype(F32)]


def prelu(node: Node, x, slope):
    return [np.where(x >= 0, x, x * slope.astype(F32)).astype(F32)]


def _binary(fn):
    return lambda node, a, b: [fn(a, b).astype(np.result_type(a, b))]


def matmul(node: Node, a, b):
    return [np.matmul(a, b).astype(F32)]


def relu(node: Node, x):
    return [np.maximum(x, 0).astype(x.dtype)]


def hard_swish(node: Node, x):
    return [(x * np.clip(x / F32(6) + F32(0.5), 0, 1)).astype(F32)]


def sigmoid(node: Node, x):
    with np.errstate(over="ignore"):  # exp(-x) of a large negative x is inf: the result is 0
        return [(1 / (1 + np.exp(-x))).astype(F32)]


def tanh(node: Node, x):
    return [np.tanh(x).astype(F32)]


add = _binary(np.add)
sub = _binary(np.subtract)
mul = _binary(np.multiply)


def div(node: Node, a, b):
    return [
        (a // b if np.issubdtype(np.result_type(a, b), np.integer) else a / b).astype(np.result_type(a, b))
    ]


def identity(node: Node, x):
    return [x]


def dropout(node: Node, x, *rest):
    return [x, np.ones(x.shape, np.bool_)][: len(node.outputs)]


def constant_of_shape(node: Node, s):
    return [np.full(tuple(int(v) for v in s), node.attrs.get("value", np.zeros(1, F32)).reshape(-1)[0])]


def neg(node: Node, x):
    return [-x]


def sqrt(node: Node, x):
    return [np.sqrt(x)]


def range_(node: Node, a, b, d):
    return [np.arange(a.reshape(()), b.reshape(()), d.reshape(()))]


def expand(node: Node, x, s):
    return [x * np.ones(tuple(int(v) for v in s), x.dtype)]


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """BLAS on one thread while the float graph runs: its matrices are small, and OpenBLAS
    threads made calibration 2x slower on 2 cores (measured; far worse on a busy machine)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield


def _axes(graph: FloatGraph, node: Node, index: int, attr: str) -> list[int] | None:
    if attr in node.attrs:
        return [int(a) for a in node.attrs[attr]]
    if len(node.inputs) > index and node.inputs[index]:
        v = graph.const(node.inputs[index])
        return None if v is None else [int(a) for a in v.reshape(-1)]
    return None


def batch_safe(graph: FloatGraph) -> bool:
    """True when running N samples stacked on axis 0 gives each sample's batch-1 result:
    every activation has a leading batch axis of 1 and no op mixes or moves that axis."""
    for node in graph.nodes:
        for t in (*node.inputs, *node.outputs):
            if t and t not in graph.consts and (not graph.shapes.get(t) or graph.shapes[t][0] != 1):
                return False
        a = node.attrs
        x = node.inputs[0] if node.inputs else ""
        rank = len(graph.shapes.get(x, ()))
        out_rank = len(graph.shapes.get(node.outputs[0], ())) if node.outputs else 0
        if node.op == "Transpose" and (a.get("perm") is None or a["perm"][0] != 0):
            return False
        if node.op in ("Concat", "Flatten") and a.get("axis", 1) % max(out_rank, 1) == 0:
            return False
        if node.op == "Flatten" and a.get("axis", 1) == -rank:  # axis 0 counted from the end
            return False
        if node.op == "Concat" and any(graph.is_const(i) for i in node.inputs):
            return False  # a constant part has batch 1
        if node.op == "Softmax" and a.get("axis", -1) % max(rank, 1) == 0:
            return False
        # (a Gather / Slice / Split picking along axis 0 -- torch's y[-1] of a sequence, an
        # unrolled LSTM of one step -- would pick from the stack of samples instead)
        if node.op in ("Gather", "Split") and a.get("axis", 0) % max(rank, 1) == 0:
            return False
        if node.op == "Slice":
            axes = _axes(graph, node, 3, "axes")
            n_starts = (
                len(np.asarray(graph.const(node.inputs[1])).reshape(-1))
                if len(node.inputs) > 1 and graph.is_const(node.inputs[1])
                else rank
            )
            if axes is None and len(node.inputs) > 3 and node.inputs[3]:
                return False  # axes not constant
            if any(v % max(rank, 1) == 0 for v in (range(n_starts) if axes is None else axes)):
                return False
        if node.op.startswith("Reduce") and node.op != "ReduceMean":
            axes = _axes(graph, node, 1, "axes")
            if axes is None or any(v % max(rank, 1) == 0 for v in axes):
                return False
        if node.op in ("Squeeze", "Unsqueeze", "ReduceMean"):
            axes = _axes(graph, node, 1, "axes")
            r = out_rank if node.op == "Unsqueeze" else rank
            if axes is None or any(v % max(r, 1) == 0 for v in axes):
                return False
        if node.op == "Pad":
            pads = graph.const(node.inputs[1]) if len(node.inputs) > 1 else None
            axes = _axes(graph, node, 3, "_axes")
            axes = list(range(rank)) if axes is None else [v % rank for v in axes]
            if pads is None or any(pads[i] or pads[i + len(axes)] for i, v in enumerate(axes) if v == 0):
                return False
        if node.op == "Gemm" and a.get("transA", 0):
            return False
        if node.op in ("MatMul", "Gemm") and not graph.is_const(node.inputs[1]):
            return False
        if node.op == "pq.Affine" and a.get("axis") == 0:
            return False
    return True


def sqnr_db(ref: np.ndarray, test: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio in dB (inf when identical)."""
    ref = np.asarray(ref, np.float64)
    noise = float(np.sum((ref - np.asarray(test, np.float64)) ** 2))
    signal = float(np.sum(ref**2))
    if noise == 0.0:
        return math.inf
    if signal == 0.0:
        return -math.inf
    return 10.0 * math.log10(signal / noise)
