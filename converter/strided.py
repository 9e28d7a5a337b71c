"""Strided slices (positive steps) as ops picoq has: [RESHAPE] -> [PAD] -> [SLICE] -> RESHAPE -> SLICE
-> RESHAPE, shared by ONNX Slice and TFLite STRIDED_SLICE.

There is no strided kernel: an axis of step k > 1 is cut to a box of k * count values, which a
free RESHAPE splits into (count, k), and a SLICE keeps one index r of the k. r is as large as
the start allows, so the box fits the axis without padding where it can (YOLOv5's Focus,
x[..., 1::2, :], takes the whole axis with r = 1); where it cannot (x[0::2] of an odd length),
a PAD of at most k - 1 values comes first, whose values are never kept. Adjacent axes merge
first where a box of the merged axis takes the same elements, so ranks stay within the
format's 6 and the copies run long.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_DIMS = 6


@dataclass(frozen=True)
class Step:
    """One op of the chain: its kernel, its output's shape and its parameters."""

    kernel: str
    shape: tuple[int, ...]
    params: dict[str, int]


def _per_dim(name: str, values) -> dict[str, int]:
    return {f"{name}_{d}": int(values[d]) if d < len(values) else 0 for d in range(MAX_DIMS)}


def _merge(sizes, begin, step, count):
    """Fold axis d + 1 into axis d where both have step 1 and axis d + 1 is taken whole (or axis
    d has one element): the box of the merged axis is then the same elements."""
    dims = [[s, b, k, n] for s, b, k, n in zip(sizes, begin, step, count)]
    out = [dims[0]]
    for s, b, k, n in dims[1:]:
        ps, pb, pk, pn = out[-1]
        if pk == k == 1 and (b == 0 and n == s or ps == 1):
            out[-1] = [ps * s, pb * s + b, 1, pn * s if n == s else n]
        else:
            out.append([s, b, k, n])
    return [tuple(v) for v in zip(*out)]


def strided_steps(sizes, begin, step, count, pad_value: int) -> list[Step] | None:
    """The ops taking elements begin[d] + step[d] * i (i < count[d]) of each axis of a tensor of
    shape `sizes` (in bounds, steps >= 1), the last one a RESHAPE to `count`; None when even
    merged axes need more than MAX_DIMS dimensions."""
    sizes, count = tuple(int(v) for v in sizes), tuple(int(v) for v in count)
    step = [1 if n == 1 else int(k) for k, n in zip(step, count)]  # one element: any step takes it
    m_sizes, m_begin, m_step, m_count = _merge(sizes, begin, step, count)
    if len(m_sizes) + sum(k > 1 for k in m_step) > MAX_DIMS:
        return None
    rank = len(m_sizes)
    steps: list[Step] = []
    cur = sizes
    if m_sizes != cur:
        steps.append(Step("RESHAPE", m_sizes, {}))
        cur = m_sizes
    inner = [min(b, k - 1) for b, k in zip(m_begin, m_step)]
    box0 = [b - r for b, r in zip(m_begin, inner)]
    extent = tuple(k * n for k, n in zip(m_step, m_count))
    after = [max(0, b + e - d) for b, e, d in zip(box0, extent, m_sizes)]
    if any(after):
        cur = tuple(d + a for d, a in zip(m_sizes, after))
        steps.append(
            Step(
                "PAD",
                cur,
                {"pad_value": pad_value, **_per_dim("before", [0] * rank), **_per_dim("after", after)},
            )
        )
    if extent != cur:
        steps.append(Step("SLICE", extent, _per_dim("begin", box0)))
    if any(k > 1 for k in m_step):
        split, take, kept = [], [], []
        for e, k, n, r in zip(extent, m_step, m_count, inner):
            split += [n, k] if k > 1 else [e]
            take += [0, r] if k > 1 else [0]
            kept += [n, 1] if k > 1 else [e]
        steps.append(Step("RESHAPE", tuple(split), {}))
        steps.append(Step("SLICE", tuple(kept), _per_dim("begin", take)))
    if not steps or steps[-1].shape != count:
        steps.append(Step("RESHAPE", count, {}))
    return _collapse_reshapes(steps)


def _collapse_reshapes(steps: list[Step]) -> list[Step]:
    """RESHAPE -> RESHAPE is one RESHAPE."""
    out: list[Step] = []
    for s in steps:
        if out and s.kernel == out[-1].kernel == "RESHAPE":
            out[-1] = s
        else:
            out.append(s)
    return out
