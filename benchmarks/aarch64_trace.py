"""Instructions per code address from QEMU's exec trace, and code addresses to functions.

`qemu-aarch64 -d in_asm,exec,nochain -dfilter RANGES` logs, for each block translated in
RANGES, its instructions ("IN:" then one "0x...:" line each), and each run of such a block
("Trace N: HOSTPTR [.../PC/FLAGS/CFLAGS]"; nochain: no block jumps straight into the next
unlogged). A block is logged right before its first run, so the instructions listed since the
last "IN:" belong to the next Trace line's translation. The key of a translation is its host
pointer and flags, not its guest PC: the same PC may be translated again with another length.
A marker function inside RANGES (the guest calls it between the phases it wants counted
apart) splits the trace into segments.

Mapping addresses to functions: a guest address in a file mapping (/proc/self/maps: start,
file offset, path) is a file offset, which the ELF's PT_LOAD program headers turn into the
virtual address that `nm` prints.
"""

from __future__ import annotations

import bisect
import re
import string
import struct
import subprocess
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

TRACE = re.compile(r"^Trace \d+: (0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/[0-9a-f]+/[0-9a-f]+\])")
MAPS = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) \S+ \d+\s+(\S.*)$")


class TraceError(RuntimeError):
    pass


def count_segments(lines: Iterable[str], marks: frozenset[int] = frozenset()) -> list[Counter[int]]:
    """Instructions executed per block start address, in segments: a run of a block starting
    at one of `marks` (a marker function's address) ends the current segment and is not
    counted itself. Without marks, one segment: the whole trace."""
    length: dict[str, int] = {}  # translation key -> its instructions
    pc_of: dict[str, int] = {}
    segments: list[Counter[str]] = [Counter()]
    pending: int | None = None  # instructions listed since the last "IN:"
    for line in lines:
        if line.startswith("IN:"):
            pending = 0
        elif pending is not None and line.startswith("0x"):
            pending += 1
        elif line.startswith("Trace"):
            m = TRACE.match(line)
            if m is None:
                raise TraceError(f"unexpected trace line: {line!r}")
            key = m.group(1)
            if pending:
                length[key] = pending
            elif key not in length:
                raise TraceError(f"a block ran that was never listed: {line!r}")
            pending = None
            pc = pc_of.setdefault(key, int(m.group(2), 16))
            if pc in marks:
                segments.append(Counter())
            else:
                segments[-1][key] += 1
    out = []
    for runs in segments:
        by_pc: Counter[int] = Counter()
        for key, n in runs.items():
            by_pc[pc_of[key]] += n * length[key]
        out.append(by_pc)
    return out


@dataclass(frozen=True)
class Mapping:
    """An executable file mapping of the guest (a line of /proc/self/maps)."""

    start: int
    end: int
    offset: int
    path: str

    @classmethod
    def parse(cls, line: str) -> Mapping | None:
        m = MAPS.match(line.strip())
        if m is None or "x" not in m.group(3):
            return None
        return cls(int(m.group(1), 16), int(m.group(2), 16), int(m.group(4), 16), m.group(5))

    def __contains__(self, addr: int) -> bool:
        return self.start <= addr < self.end


def load_segments(elf: bytes) -> list[tuple[int, int, int]]:
    """(file offset, virtual address, file size) of each PT_LOAD of a little-endian ELF64."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise TraceError("not a little-endian 64-bit ELF")
    phoff, phentsize, phnum = struct.unpack_from("<Q", elf, 32)[0], *struct.unpack_from("<HH", elf, 54)
    segs = []
    for i in range(phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from("<IIQQQQ", elf, phoff + i * phentsize)
        if p_type == 1:
            segs.append((p_offset, p_vaddr, p_filesz))
    return segs


def plt_ranges(elf: bytes) -> list[tuple[int, int]]:
    """[start, end) virtual addresses of the .plt sections: the stubs through which a library
    calls another one (memcpy, memset, ...), which have no symbol of their own."""
    shoff = struct.unpack_from("<Q", elf, 40)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 58)
    if shoff == 0 or shstrndx >= shnum:
        return []
    headers = [struct.unpack_from("<IIQQQQ", elf, shoff + i * shentsize) for i in range(shnum)]
    names = headers[shstrndx][4]  # the section-name string table's file offset
    out = []
    for sh_name, _, _, sh_addr, _, sh_size in headers:
        name = elf[names + sh_name : elf.index(b"\0", names + sh_name)]
        if name.startswith(b".plt"):
            out.append((sh_addr, sh_addr + sh_size))
    return out


def to_vaddr(segs: list[tuple[int, int, int]], m: Mapping, addr: int) -> int | None:
    """The ELF virtual address of guest address `addr` in mapping `m`."""
    off = m.offset + addr - m.start
    for p_offset, p_vaddr, p_filesz in segs:
        if p_offset <= off < p_offset + p_filesz:
            return p_vaddr + off - p_offset
    return None


def parse_nm(text: str) -> list[tuple[int, int, str]]:
    """(address, size or 0, name) of the code symbols in `nm -S -C --defined-only` output."""
    out = []
    for line in text.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) < 3 or not all(c in string.hexdigits for c in parts[0]):
            continue  # an undefined symbol: no address
        addr, second, rest = parts
        if len(second) == 1:  # "ADDR T name": a symbol without a size
            size, kind, name = 0, second, rest
        else:
            size = int(second, 16)
            kind, _, name = rest.partition(" ")
        if kind in ("t", "T", "w", "W", "i"):
            out.append((int(addr, 16), size, name))
    return sorted(out)


class Symbols:
    """Function of an address in one ELF file: its full symbol table if it has one, else its
    dynamic symbols (exported functions only), else none ("?")."""

    def __init__(self, syms: list[tuple[int, int, str]], plt: list[tuple[int, int]] = ()):
        self.starts = [a for a, _, _ in syms]
        self.syms = syms
        self.plt = list(plt)

    @classmethod
    def of_file(cls, nm: str, path: Path) -> Symbols:
        plt = plt_ranges(path.read_bytes())
        for extra in ([], ["-D"]):
            p = subprocess.run(
                [nm, "-S", "-C", "--defined-only", *extra, str(path)], capture_output=True, text=True
            )
            syms = parse_nm(p.stdout) if p.returncode == 0 else []
            if syms:
                return cls(syms, plt)
        return cls([], plt)

    def name(self, vaddr: int) -> str:
        if any(lo <= vaddr < hi for lo, hi in self.plt):
            return "(PLT: calls into other libraries)"
        i = bisect.bisect_right(self.starts, vaddr) - 1
        if i < 0:
            return "?"
        start, size, name = self.syms[i]
        if size and vaddr >= start + size:
            return "?"
        return name


def by_function(counts: Counter[int], maps: list[Mapping], nm: str) -> Counter[str]:
    """Instructions per "library: function" (blocks are counted in the function they start in)."""
    out: Counter[str] = Counter()
    tables: dict[str, tuple[list[tuple[int, int, int]], Symbols]] = {}
    for pc, n in counts.items():
        m = next((m for m in maps if pc in m), None)
        if m is None:
            out["?"] += n
            continue
        if m.path not in tables:
            tables[m.path] = (load_segments(Path(m.path).read_bytes()), Symbols.of_file(nm, Path(m.path)))
        segs, syms = tables[m.path]
        vaddr = to_vaddr(segs, m, pc)
        out[f"{Path(m.path).name}: {'?' if vaddr is None else syms.name(vaddr)}"] += n
    return out
