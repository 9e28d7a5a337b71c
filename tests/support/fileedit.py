"""Editing .picoq files in tests: find a section, and reseal (recompute the CRC) after a change
so that the edit reaches the checks behind the checksum."""

from __future__ import annotations

import struct
from collections.abc import Iterator

from picoq.runtime import format as fmt


def reseal(buf: bytearray) -> None:
    """Recompute the checksum in place."""
    struct.pack_into("<I", buf, 12, fmt.crc32(buf, fmt.HEADER_CRC_START, len(buf)))


def resealed(buf: bytearray) -> bytes:
    """Recompute the checksum so a test reaches the check behind it; the file as bytes."""
    reseal(buf)
    return bytes(buf)


def _entries(buf) -> Iterator[tuple[bytes, int, int, int]]:
    """(tag, offset, size, table entry position) of each section table entry, read leniently."""
    n = struct.unpack_from("<I", buf, 24)[0]
    for i in range(n):
        at = fmt.HEADER.size + i * fmt.SECTION.size
        tag, off, size, _ = fmt.SECTION.unpack_from(buf, at)
        yield tag, off, size, at


def section(buf, tag: bytes) -> tuple[int, int, int]:
    """(offset, size, table entry position) of the first section tagged `tag`."""
    for t, off, size, at in _entries(buf):
        if t == tag:
            return off, size, at
    raise KeyError(tag)


def sections(buf: bytes) -> dict[bytes, tuple[int, int, int]]:
    """tag -> (offset, size, table entry position), read leniently from an unmutated file."""
    return {tag: (off, size, at) for tag, off, size, at in _entries(buf)}
