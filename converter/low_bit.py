"""Low-bit (int4) weights for the converter: which nodes carry weights, their layer-input
statistics on the calibration data, and two roundings of a weight matrix to int4.

- round to nearest (RTN): q = clip(round(w / s), -7, 7), s = max|w| / 7 per output channel;
- calibrated (GPTQ, Frantar et al. 2022): the columns (fan-in) are rounded one at a time in
  decreasing order of input energy, and each rounding error is pushed onto the columns not
  yet rounded through the inverse Hessian H = E[x x^T] of the layer's input, so the layer's
  *output* error on the calibration data is what gets minimised, not the weights' error.

Both give picoq's int4 weight format: symmetric, zero point 0, values in [-7, 7] (-8 is
never used: symmetric like TFLite's int4), one float32 scale per output channel. Float
lives here, in the converter; the kernels see the integers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import float_ops
from .fgraph import FloatGraph, Node

INT4_MAX = 7
# Channels with fewer weights keep max|w| as their range: clipping one of a depthwise 3x3's
# 9 taps, or of a 64-wide pointwise layer, costs more than the finer step gains (DS-CNN: -1 to -7 dB).
CLIP_MIN_FAN_IN = 128
# Weighted node types whose weights can be int4 (CONV_2D, DEPTHWISE_CONV_2D and
# FULLY_CONNECTED): the pq.Affine stand-ins (BatchNorm, per-channel scales) keep int8, they
# hold a handful of bytes.
WEIGHTED_OPS = ("Conv", "pq.Dense")


def weighted_nodes(fg: FloatGraph) -> list[Node]:
    """The nodes whose constant weights could be int4, in graph order."""
    return [n for n in fg.nodes if n.op in WEIGHTED_OPS and len(n.inputs) > 1 and fg.is_const(n.inputs[1])]


def weight_rows(node: Node, w: np.ndarray) -> np.ndarray:
    """The weights as [output channels, fan-in] (Conv: [M, Cg*kh*kw]; Dense: [out, in])."""
    return w.reshape(w.shape[0], -1)


def _conv_patches(node: Node, x: np.ndarray, k_hw: tuple[int, int]) -> np.ndarray:
    """[groups, N*OH*OW, Cg*kh*kw]: the input each output pixel's weights multiply."""
    group = int(node.attrs.get("group", 1))
    strides, dil, pads, out = float_ops._geometry(node, x, k_hw)
    win = float_ops._windows(float_ops._pad_hw(x, pads), k_hw, strides, dil, out)  # N,C,OH,OW,kh,kw
    n, c = x.shape[:2]
    win = win.reshape(n, group, c // group, out[0], out[1], k_hw[0], k_hw[1])
    win = win.transpose(1, 0, 3, 4, 2, 5, 6)  # g, N, OH, OW, Cg, kh, kw
    return win.reshape(group, n * out[0] * out[1], -1)


class InputStats:
    """E[x x^T] of each weighted node's input (per group for grouped convolutions), summed
    over calibration batches by `observe` (a float_run observer)."""

    def __init__(self, fg: FloatGraph, nodes: list[Node]):
        self.fg = fg
        self.by_input: dict[str, list[Node]] = {}
        for n in nodes:
            self.by_input.setdefault(n.inputs[0], []).append(n)
        self.h: dict[str, np.ndarray] = {}
        self.count: dict[str, int] = {}
        # the same sums over every other observed batch, from the first: a held-out half
        self.h_odd: dict[str, np.ndarray] = {}
        self.count_odd: dict[str, int] = {}
        self.calls: dict[str, int] = {}

    def observe(self, name: str, v: np.ndarray) -> None:
        for node in self.by_input.get(name, ()):
            w = self.fg.consts[node.inputs[1]]
            if node.op == "Conv":
                rows = _conv_patches(node, v.astype(np.float64), (w.shape[2], w.shape[3]))
            else:
                rows = v.astype(np.float64).reshape(1, -1, v.shape[-1])
            h = np.einsum("gnk,gnl->gkl", rows, rows)
            self.h[node.name] = self.h.get(node.name, 0) + h
            self.count[node.name] = self.count.get(node.name, 0) + rows.shape[1]
            k = self.calls.get(node.name, 0)
            self.calls[node.name] = k + 1
            if k % 2:
                self.h_odd[node.name] = self.h_odd.get(node.name, 0) + h
                self.count_odd[node.name] = self.count_odd.get(node.name, 0) + rows.shape[1]

    def hessian(self, node: Node) -> np.ndarray:
        """[groups, fan-in, fan-in], the mean over every row the node's weights saw."""
        return self.h[node.name] / max(self.count[node.name], 1)

    def halves(self, node: Node) -> tuple[np.ndarray, np.ndarray] | None:
        """The hessian of the even-numbered batches and of the odd ones (None with fewer than
        two batches): GPTQ fitted on one half is judged on the other."""
        n_odd = self.count_odd.get(node.name, 0)
        n_even = self.count[node.name] - n_odd
        if not n_odd or not n_even:
            return None
        odd = self.h_odd[node.name]
        return (self.h[node.name] - odd) / n_even, odd / n_odd


def channel_scales(rows: np.ndarray, qmax: int = INT4_MAX, weight: np.ndarray | None = None) -> np.ndarray:
    """Per output channel scale (float32; 1 for an all-zero channel): max|w| / qmax, or with
    `weight` (the input energy of each fan-in position, diag(H)) at int4 the clipped one,
    r max|w| / qmax with r in [0.5, 1] minimising the weighted rounding error of the channel:
    7 levels cannot cover a Gaussian's tails and its body both, and clipping a few tail
    weights buys a finer step for all the others."""
    peak = np.abs(rows).max(axis=1)
    best = np.where(peak > 0, peak / qmax, 1.0)
    if weight is not None and qmax <= INT4_MAX and rows.shape[1] >= CLIP_MIN_FAN_IN:
        wts = np.maximum(np.asarray(weight, np.float64), 0.0)[None, :]
        best_err = np.full(rows.shape[0], np.inf)
        for r in np.linspace(0.5, 1.0, 21):
            sc = np.where(peak > 0, r * peak / qmax, 1.0)
            q = np.clip(np.floor(np.abs(rows / sc[:, None]) + 0.5) * np.sign(rows), -qmax, qmax)
            err = ((rows - q * sc[:, None]) ** 2 * wts).sum(axis=1)
            better = err < best_err
            best, best_err = np.where(better, sc, best), np.where(better, err, best_err)
    return best.astype(np.float32)


def round_nearest(rows: np.ndarray, scales: np.ndarray, qmax: int = INT4_MAX) -> np.ndarray:
    q = np.sign(rows) * np.floor(np.abs(rows / scales.astype(np.float64)[:, None]) + 0.5)
    return np.clip(q, -qmax, qmax).astype(np.int8)


def round_gptq(
    rows: np.ndarray, scales: np.ndarray, h: np.ndarray, qmax: int = INT4_MAX, damp: float = 0.01
) -> np.ndarray:
    """GPTQ rounding of one group's rows [M, K] to [-qmax, qmax] with input Hessian h [K, K]."""
    w = rows.astype(np.float64).copy()
    s = scales.astype(np.float64)
    h = h.astype(np.float64).copy()
    dead = np.diag(h) <= 0
    h[dead, dead] = 1.0
    w[:, dead] = 0.0
    order = np.argsort(-np.diag(h), kind="stable")  # act-order: the most energetic inputs first
    w, h = w[:, order], h[np.ix_(order, order)]
    h[np.diag_indices_from(h)] += damp * float(np.mean(np.diag(h)))
    try:
        hinv = np.linalg.cholesky(np.linalg.inv(h)).T  # upper: H^-1 = U^T U
    except np.linalg.LinAlgError:
        return round_nearest(rows, scales, qmax)
    q = np.zeros_like(w)
    for i in range(w.shape[1]):
        col = w[:, i]
        qi = np.clip(np.sign(col) * np.floor(np.abs(col / s) + 0.5), -qmax, qmax)
        q[:, i] = qi
        err = (col - qi * s) / hinv[i, i]
        w[:, i + 1 :] -= np.outer(err, hinv[i, i + 1 :])
    out = np.empty_like(q)
    out[:, order] = q
    return out.astype(np.int8)


# GPTQ's dampening (a fraction of the mean diagonal added to the hessian) is chosen per layer
# among these, by the rounding error on held-out calibration batches (InputStats.halves): the
# paper's 0.01 and a factor of about 3 either way (0.001 was tried too: the held-out half is
# small, and its picks were worse end to end on DS-CNN at 200 calibration samples).
GPTQ_DAMPS = (0.003, 0.01, 0.03)


def _held_out_error(rows, q, scales, h_val, groups: int) -> float:
    per = rows.shape[0] // groups
    e = rows - q.astype(np.float64) * scales.astype(np.float64)[:, None]
    return float(sum(np.einsum("mk,kl,ml->", e[g * per : (g + 1) * per], h_val[g], e[g * per : (g + 1) * per])
                     for g in range(groups)))  # fmt: skip


def rounded_weights(
    node: Node,
    w: np.ndarray,
    hessian: np.ndarray | None,
    rounding: str = "gptq",
    qmax: int = INT4_MAX,
    halves: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(values in [-qmax, qmax] in w's shape, per-output-channel scales) for node's weights `w`:
    qmax 7 for int4, 127 for int8. `hessian` [groups, K, K] (InputStats) is needed for
    "gptq"; "nearest" ignores it. With `halves` (InputStats.halves) GPTQ's dampening is the
    one of GPTQ_DAMPS whose rounding, fitted on the first half, errs least on the second."""
    rows = weight_rows(node, w).astype(np.float64)
    if rounding == "nearest" or hessian is None:
        scales = channel_scales(rows, qmax)
        return round_nearest(rows, scales, qmax).reshape(w.shape), scales
    groups = hessian.shape[0]
    per = rows.shape[0] // groups
    energy = np.concatenate(
        [np.broadcast_to(np.diag(hessian[g]), (per, rows.shape[1])) for g in range(groups)]
    )
    scales = np.concatenate(
        [channel_scales(rows[g * per : (g + 1) * per], qmax, energy[g * per]) for g in range(groups)]
    )

    def gptq(h: np.ndarray, damp: float) -> np.ndarray:
        q = np.empty(rows.shape, np.int8)
        for g in range(groups):
            sl = slice(g * per, (g + 1) * per)
            q[sl] = round_gptq(rows[sl], scales[sl], h[g], qmax, damp)
        return q

    damp = 0.01
    if halves is not None:
        fit, val = halves
        damp = min(GPTQ_DAMPS, key=lambda d: _held_out_error(rows, gptq(fit, d), scales, val, groups))
    return gptq(hessian, damp).reshape(w.shape), scales


def dequantized(q: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """The float weights the int4 values stand for (what the float model runs to measure them)."""
    shape = (-1,) + (1,) * (q.ndim - 1)
    return (q.astype(np.float32) * scales.reshape(shape)).astype(np.float32)


def collect_stats(
    fg: FloatGraph, nodes: list[Node], sweep: Callable[[Callable[[str, np.ndarray], None]], None]
) -> InputStats:
    """The input statistics of `nodes` from one calibration sweep (`sweep(observe)`)."""
    stats = InputStats(fg, nodes)
    sweep(stats.observe)
    return stats
