"""The second counter: QEMU's exec trace of the same firmware, to check the timer's counts.

The firmware runs one pass without calibration, under the same -icount shift=0, with
`-d in_asm,exec,nochain`: in_asm lists the instructions of each translated block, exec logs
every run of a block (nochain: no block jumps straight into the next unlogged). Two QEMU
lines correct the sum: "Stopped execution of TB chain before" (the block just logged did not
run: the icount budget ran out first) and "cpu_io_recompile: rewound execution of TB to X"
(the block stopped at X, the timer read, which then runs alone in a new block). Every entry
into bench_now / bench_op_begin / bench_op_end is a block start; the instructions between two
entries equal the timer's window between the two reads, since both reads sit at the same
offset in their function, or, for begin/end, cancel against the empty op window.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from cortex_m_build import Toolchain
from cortex_m_qemu import Counts, RunError, kill, qemu_command, run_qemu

MARKERS = ("bench_now", "bench_op_begin", "bench_op_end")
TRACE = re.compile(r"^Trace \d+: \S+ \[([0-9a-f]+/([0-9a-f]+)/[0-9a-f]+/[0-9a-f]+)\]")
REWOUND = "cpu_io_recompile: rewound execution of TB to "


def symbols(tc: Toolchain, elf: Path, names: tuple[str, ...]) -> dict[int, str]:
    """Address (Thumb bit cleared) -> name, for those of the functions `names` the ELF has
    (a plain build has no op hooks: --gc-sections dropped them)."""
    out = subprocess.run([tc.nm, str(elf)], capture_output=True, text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] in names:
            found[int(parts[0], 16) & ~1] = parts[2]
    if names[0] not in found.values():
        raise RunError(f"{elf} has no {names[0]}")
    return found


def marker_entries(tc: Toolchain, elf: Path, timeout: float) -> tuple[list[tuple[str, int]], bytes]:
    """Each entry into a marker function, in order, with the instructions executed before it;
    and the firmware's output bytes."""
    where = symbols(tc, elf, MARKERS)
    cmd = qemu_command(tc, elf, passes=1, calibrate=False)
    cmd[-2:-2] = ["-d", "in_asm,exec,nochain", "-D", "/dev/stderr"]
    proc = run_qemu(cmd, timeout)
    insns: dict[str, list[int]] = {}  # block key -> its instruction addresses
    pending: list[int] | None = None
    last: list[int] = []  # the block logged last
    last_event = False
    total = 0
    events: list[tuple[str, int]] = []
    assert proc.stderr is not None
    try:
        for line in proc.stderr:
            if line.startswith("IN:"):
                pending = []
            elif pending is not None and line.startswith("0x"):
                pending.append(int(line.split(":", 1)[0], 16))
            elif line.startswith("Trace"):
                m = TRACE.match(line)
                if m is None:
                    raise RunError(f"unexpected trace line: {line}")
                if pending:
                    insns[m.group(1)] = pending
                pending = None
                last = insns[m.group(1)]
                pc = int(m.group(2), 16)
                last_event = pc in where
                if last_event:
                    events.append((where[pc], total))
                total += len(last)
            elif line.startswith("Stopped execution of TB chain"):
                total -= len(last)
                if last_event:
                    events.pop()
                last, last_event = [], False
            elif line.startswith(REWOUND):
                stop = int(line[len(REWOUND) :], 16)
                undone = sum(1 for a in last if a >= stop)
                total -= undone
                if undone == len(last) and last_event:
                    events.pop()
                last, last_event = [], False
        out = proc.stdout.read() if proc.stdout else ""
        proc.wait(timeout=timeout)
    finally:
        kill(proc)
    if proc.returncode != 0:
        raise RunError(f"traced firmware failed (exit {proc.returncode}): {' '.join(cmd)}\n{out[-2000:]}")
    rows = [line for line in out.splitlines() if line.strip() and not line.startswith("#")]
    return events, bytes(int(v) & 0xFF for v in rows[0].split())


def trace_counts(events: list[tuple[str, int]], profile: bool, hooked: list[int]) -> Counts:
    """The firmware's pass as windows between entries (bench_main.c's pass()):
    now now | [begin end] | now <invoke, with begin end per hooked op> now."""
    names = [name for name, _ in events]
    at = [n for _, n in events]
    expect = ["bench_now", "bench_now"] + (["bench_op_begin", "bench_op_end"] if profile else [])
    expect += ["bench_now"] + (["bench_op_begin", "bench_op_end"] * len(hooked) if profile else [])
    expect += ["bench_now"]
    if names != expect:
        raise RunError(f"unexpected sequence of timer reads in the trace: {names}")
    empty = at[1] - at[0]
    c = Counts(invoke=at[-1] - at[-2 - 2 * len(hooked) * profile] - empty)
    if profile:
        empty_op = at[3] - at[2]
        first = 5
        c.ops = {op: at[first + 2 * j + 1] - at[first + 2 * j] - empty_op for j, op in enumerate(hooked)}
    return c
