"""The pure parts of benchmarks/aarch64_icount.py (the benchmark itself runs minutes under QEMU):
the exec-trace counter on a hand-written loop of known length, the arm64 /proc/cpuinfo builder,
and code addresses to functions on a cross-compiled shared object. About a second.

The aarch64 cross GCC and qemu-aarch64 are not optional (CI installs them), as in
test_neon_kernels.py.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from support.firmware import tool

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from aarch64_guest import cpuinfo  # noqa: E402
from aarch64_trace import (  # noqa: E402
    Mapping,
    Symbols,
    TraceError,
    by_function,
    count_segments,
    load_segments,
    parse_nm,
    plt_ranges,
)

# 1 + 2 * 1000 + 1 instructions per call: mov, then subs and b.ne 1000 times, then ret;
# mark is the marker function that splits the trace into segments.
LOOP = """
    .text
    .global mark
    .type mark, %function
mark:
    ret
    .size mark, .-mark
    .global count_loop
    .type count_loop, %function
count_loop:
    mov x1, #1000
1:  subs x1, x1, #1
    b.ne 1b
    ret
    .size count_loop, .-count_loop
"""
MAIN = """void count_loop(void);
void mark(void);
int main(void) { count_loop(); mark(); count_loop(); count_loop(); mark(); return 0; }
"""


def test_trace_counts_a_loop_of_known_length(tmp_path: Path) -> None:
    gcc, qemu = tool("aarch64-linux-gnu-gcc"), tool("qemu-aarch64")
    (tmp_path / "loop.S").write_text(LOOP)
    (tmp_path / "main.c").write_text(MAIN)
    exe = tmp_path / "loop"
    subprocess.run(
        [gcc, "-static", "-O1", str(tmp_path / "main.c"), str(tmp_path / "loop.S"), "-o", str(exe)],
        check=True,
    )
    nm = subprocess.run(
        [tool("aarch64-linux-gnu-nm"), "-S", str(exe)], capture_output=True, text=True, check=True
    )
    syms = {name: (a, n) for a, n, name in parse_nm(nm.stdout)}
    (start, size), (mark, _) = syms["count_loop"], syms["mark"]
    ranges = f"{start:#x}+{size:#x},{mark:#x}+4"
    cmd = [qemu, "-d", "in_asm,exec,nochain", "-dfilter", ranges, "-D", "/dev/stderr", str(exe)]
    trace = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stderr
    lines = trace.splitlines(keepends=True)
    (whole,) = count_segments(lines)
    assert whole[mark] == 2 and sum(whole.values()) == 3 * 2002 + 2
    # Blocks end at branches: mov+subs+b.ne once per call, then subs+b.ne 999 times, then ret.
    one = Counter({start: 3, start + 4: 999 * 2, start + 12: 1})
    assert count_segments(lines, frozenset({mark})) == [one, one + one, Counter()]


def test_trace_refuses_a_block_it_never_saw_listed() -> None:
    lines = ["Trace 0: 0x7f0000000100 [0000000000001001/0000000000400000/00000001/00000200] f\n"]
    with pytest.raises(TraceError):
        count_segments(lines)


def test_trace_keys_translations_not_pcs() -> None:
    """The same PC translated twice with different lengths (another host block, other cflags)."""
    one = "Trace 0: 0x7f0000000100 [0000000000001001/0000000000400000/00000001/00000200]\n"
    two = "Trace 0: 0x7f0000000300 [0000000000001001/0000000000400000/00000001/00080200]\n"
    listing = ["IN: f\n", "0x00400000:  d503201f  nop\n", "0x00400004:  d503201f  nop\n", "\n"]
    lines = listing + [one, one] + ["IN: f\n", "0x00400000:  d503201f  nop\n", "\n", two]
    assert count_segments(lines) == [Counter({0x400000: 2 * 2 + 1})]


def test_cpuinfo_as_linux_writes_it_for_a_cortex_a76() -> None:
    # MIDR and HWCAP as qemu-aarch64 -cpu cortex-a76 reports them (0x414fd0b1: Arm, r4p1, part 0xd0b)
    text = cpuinfo(0x414FD0B1, 0x119FFB, 0, 2)
    cores = text.strip().split("\n\n")
    assert len(cores) == 2 and cores[1].startswith("processor\t: 1\n")
    fields = dict(line.split(":", 1) for line in cores[0].splitlines())
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    assert fields["CPU implementer"] == "0x41" and fields["CPU part"] == "0xd0b"
    assert fields["CPU variant"] == "0x4" and fields["CPU revision"] == "1"
    assert fields["CPU architecture"] == "8"
    features = fields["Features"].split()
    assert features[:2] == ["fp", "asimd"] and "asimddp" in features and "sve" not in features
    # HWCAP2 bit 13 is i8mm, bit 23 sme (Linux's uapi hwcap.h)
    features2 = dict(
        line.split(":", 1) for line in cpuinfo(0xF0510, 3, 1 << 13 | 1 << 23, 1).splitlines() if line
    )
    assert features2["Features\t"].split() == ["fp", "asimd", "i8mm", "sme"]


def test_parse_nm_with_and_without_sizes() -> None:
    text = (
        "0000000000001000 0000000000000020 T pq_gemm\n"
        "0000000000001020 t local_helper\n"
        "0000000000002000 0000000000000010 W std::vector<int, std::allocator<int> >::size() const\n"
        "0000000000003000 0000000000000008 D some_data\n"
    )
    assert parse_nm(text) == [
        (0x1000, 0x20, "pq_gemm"),
        (0x1020, 0, "local_helper"),
        (0x2000, 0x10, "std::vector<int, std::allocator<int> >::size() const"),
    ]
    syms = Symbols(parse_nm(text), plt=[(0x800, 0x900)])
    assert syms.name(0x101C) == "pq_gemm" and syms.name(0x1030) == "local_helper"
    assert syms.name(0x2010) == "?" and syms.name(0x10) == "?" and syms.name(0x880).startswith("(PLT")


def test_guest_addresses_to_functions_in_a_shared_object(tmp_path: Path) -> None:
    """Guest addresses in an executable mapping (start, file offset) as /proc/self/maps shows
    it land in the functions nm gives, through the ELF's load segments; a call out goes via
    the PLT."""
    gcc, nm = tool("aarch64-linux-gnu-gcc"), tool("aarch64-linux-gnu-nm")
    src = tmp_path / "lib.c"
    src.write_text(
        "#include <string.h>\n"
        "static int helper(int x) { return x * 3 + 1; }\n"
        "int __attribute__((noinline)) first(int x) { return helper(x) ^ 5; }\n"
        "void second(char *d, const char *s, unsigned long n) { memcpy(d, s, n); }\n"
    )
    so = tmp_path / "lib.so"
    subprocess.run([gcc, "-O2", "-shared", "-fPIC", str(src), "-o", str(so)], check=True)
    addr = {
        name: a
        for a, _, name in parse_nm(subprocess.run([nm, "-S", str(so)], capture_output=True, text=True).stdout)
    }
    elf = so.read_bytes()
    (text_seg,) = [s for s in load_segments(elf) if s[1] <= addr["first"] < s[1] + s[2]]
    p_offset, p_vaddr, _ = text_seg
    base = 0x5500000000
    # The loader maps whole pages: the mapping starts at the page of the segment's first byte.
    m = Mapping(base + (p_vaddr & ~0xFFF), base + 0x100000, p_offset & ~0xFFF, str(so))
    guest = {name: base + a for name, a in addr.items()}
    (plt,) = plt_ranges(elf)
    counts = Counter({guest["first"]: 7, guest["first"] + 4: 3, guest["second"]: 5, base + plt[0] + 16: 2})
    funcs = by_function(counts, [m], nm)
    assert funcs == Counter(
        {"lib.so: first": 10, "lib.so: second": 5, "lib.so: (PLT: calls into other libraries)": 2}
    )
    assert Mapping.parse(f"{m.start:x}-{m.end:x} r-xp {m.offset:08x} fe:00 123   {so}\n") == m
    assert Mapping.parse(f"{m.start:x}-{m.end:x} rw-p {m.offset:08x} fe:00 123   {so}\n") is None
