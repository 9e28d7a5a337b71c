"""Running the Cortex-M benchmark firmware (benchmarks/cortex_m/bench_main.c) under
qemu-system-arm -M mps2-an386 -icount shift=0, and turning its timer ticks into instructions.

With -icount shift=0 every instruction advances QEMU's virtual clock by 1 ns, and the CMSDK
timer ticks at 25 MHz: one tick per 40 instructions. The firmware times each window over
PASSES passes, pass k starting at phase 3k of a tick, so with PASSES a multiple of 40 the sum
of a window's ticks, times 40 / PASSES, is its exact instruction count; with one pass a count
is within 80 instructions (two readings). calibration() checks both on a hand-written loop of known length.
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from cortex_m_build import Toolchain

TICK_INSNS = 40  # what the firmware's phase stepping is written for (sync_tick's 41-instruction reads)


class RunError(RuntimeError):
    pass


def qemu_command(tc: Toolchain, elf: Path, passes: int, calibrate: bool) -> list[str]:
    """m4.mk's QEMU command, with -icount shift=0 and the firmware's arguments."""
    cmd = list(tc.qemu)
    i = cmd.index("-semihosting-config") + 1
    cmd[i] += f",arg=bench,arg={passes},arg={int(calibrate)}"
    return [*cmd, "-icount", "shift=0", "-kernel", str(elf)]


def run_qemu(cmd: list[str], timeout: float, stderr: int | None = None) -> subprocess.Popen[str]:
    """Start QEMU in its own process group (stdin from /dev/null, as m4.mk's run target)."""
    return subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr if stderr is not None else subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def kill(proc: subprocess.Popen[str]) -> None:
    """End a QEMU started by run_qemu, and only it (its own process group)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@dataclass
class Report:
    """What the firmware printed: "# key: value" lines (op ticks repeat, in op order) and the output."""

    info: dict[str, list[int]] = field(default_factory=dict)
    output: bytes = b""
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> Report:
        r = cls(text=text)
        rows = []
        for line in text.splitlines():
            if line.startswith("# ") and ": " in line:
                key, value = line[2:].rsplit(": ", 1)
                if value.lstrip("-").isdigit():
                    r.info.setdefault(key, []).append(int(value))
            elif line.strip():
                rows.append(line)
        if len(rows) != 1:
            raise RunError(f"expected one output line from the firmware, got {len(rows)}:\n{text[-2000:]}")
        r.output = bytes(int(v) & 0xFF for v in rows[0].split())
        return r

    def one(self, key: str) -> int:
        return self.info[key][0]


def run_firmware(tc: Toolchain, elf: Path, passes: int, calibrate: bool, timeout: float) -> Report:
    cmd = qemu_command(tc, elf, passes, calibrate)
    proc = run_qemu(cmd, timeout)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill(proc)
        raise RunError(f"QEMU ran over {timeout} s: {' '.join(cmd)}") from None
    if proc.returncode != 0 or "# fault" in out:
        raise RunError(
            f"firmware failed (exit {proc.returncode}): {' '.join(cmd)}\n{out[-3000:]}{err[-3000:]}"
        )
    return Report.parse(out)


@dataclass
class Calibration:
    """The hand-written loop: timed once (instructions per tick) and over 40 phases (exact)."""

    big_instructions: int
    big_ticks: int
    small_instructions: int
    small_measured: float  # ticks x 40 / passes

    @property
    def insns_per_tick(self) -> float:
        return self.big_instructions / self.big_ticks

    @property
    def exact(self) -> bool:
        return self.small_measured == self.small_instructions

    def text(self) -> str:
        verdict = "exact" if self.exact else "NOT EXACT"
        return (
            f"calibration: a loop of {self.big_instructions:,} instructions took {self.big_ticks:,} ticks "
            f"({self.insns_per_tick:.4f} instructions per tick); a loop of {self.small_instructions:,} "
            f"timed at 40 phases measured {self.small_measured:,.0f} instructions ({verdict})"
        )


def calibration(report: Report) -> Calibration:
    c = Calibration(
        big_instructions=report.one("calib big instructions"),
        big_ticks=report.one("calib big ticks"),
        small_instructions=report.one("calib small instructions"),
        small_measured=report.one("calib small ticks") * TICK_INSNS / report.one("calib small passes"),
    )
    if round(c.insns_per_tick) != TICK_INSNS or abs(c.insns_per_tick - TICK_INSNS) > 1e-3 or not c.exact:
        raise RunError(
            f"the timer does not count as the firmware expects (1 tick = {TICK_INSNS}):\n{c.text()}"
        )
    return c


@dataclass
class Counts:
    """Instructions of one inference, and of each op whose hooks ran (profiled builds)."""

    invoke: float
    ops: dict[int, float] = field(default_factory=dict)


def counts(report: Report, hooked: list[int]) -> Counts:
    """Instructions from ticks: each window minus the same window with nothing in it."""
    scale = TICK_INSNS / report.one("passes")
    c = Counts((report.one("invoke ticks") - report.one("empty ticks")) * scale)
    if report.one("profile"):
        ticks = report.info["op ticks"]
        c.ops = {i: (ticks[i] - ticks[-1]) * scale for i in hooked}
    return c
