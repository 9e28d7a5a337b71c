"""Tensor layouts: how a tensor's bytes are ordered relative to the source model's axes.

A layout is a permutation `perm` of the logical (ONNX) axes: the stored array is
`np.transpose(logical, perm)`. IDENTITY stores the source layout; NHWC = (0, 2, 3, 1)
stores an NCHW tensor channels-last, as the kernels want. Transposes in the source
model cost nothing (they change the layout, not the bytes); a change of layout
becomes a RESHAPE when only size-1 axes move, else a TRANSPOSE op.
"""

from __future__ import annotations

import numpy as np

NHWC = (0, 2, 3, 1)


def identity(rank: int) -> tuple[int, ...]:
    return tuple(range(rank))


def inverse(p: tuple[int, ...]) -> tuple[int, ...]:
    inv = [0] * len(p)
    for i, v in enumerate(p):
        inv[v] = i
    return tuple(inv)


def stored_shape(shape: tuple[int, ...], perm: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(shape[i] for i in perm)


def relative(p: tuple[int, ...], q: tuple[int, ...]) -> tuple[int, ...]:
    """The TRANSPOSE perm r taking storage in layout p to storage in layout q:
    transpose(transpose(L, p), r) == transpose(L, q)."""
    return tuple(p.index(v) for v in q)


def after_transpose(p: tuple[int, ...], t: tuple[int, ...]) -> tuple[int, ...]:
    """Layout of Transpose(perm=t)'s output when it keeps the input's bytes (stored in layout p)."""
    inv = inverse(t)
    return tuple(inv[v] for v in p)


def same_bytes(shape: tuple[int, ...], p: tuple[int, ...], q: tuple[int, ...]) -> bool:
    """True when layouts p and q of a tensor of this logical shape order its bytes alike
    (they differ only in where size-1 axes sit): then a RESHAPE converts, no data moves."""
    return [a for a in p if shape[a] != 1] == [a for a in q if shape[a] != 1]


def flat_order(shape: tuple[int, ...], perm: tuple[int, ...]) -> np.ndarray:
    """For each stored element (in memory order), its row-major index in the logical tensor."""
    n = int(np.prod(shape, dtype=np.int64))
    return np.arange(n).reshape(shape).transpose(perm).ravel()


def unit_free_layout(
    src_shape: tuple[int, ...], p: tuple[int, ...], dst_shape: tuple[int, ...]
) -> tuple[int, ...] | None:
    """A layout for a reshape that only adds or removes size-1 axes, keeping the stored bytes:
    the non-unit axes of dst (same sizes, same order as src's) are stored in src's order,
    unit axes first. None if the reshape does more than that."""
    src_axes = [a for a in range(len(src_shape)) if src_shape[a] != 1]
    dst_axes = [a for a in range(len(dst_shape)) if dst_shape[a] != 1]
    if [src_shape[a] for a in src_axes] != [dst_shape[a] for a in dst_axes]:
        return None
    to_dst = dict(zip(src_axes, dst_axes))
    stored_nonunit = [to_dst[a] for a in p if src_shape[a] != 1]
    units = [a for a in range(len(dst_shape)) if dst_shape[a] == 1]
    return tuple(units + stored_nonunit)
