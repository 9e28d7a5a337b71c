"""Instructions per call of the 16x8 pools, portable vs Cortex-M DSP kernels (a measurement).

Builds tests/c/pool16_icount.c for QEMU's mps2-an386 (Cortex-M4) and runs it with
`-d in_asm,exec,nochain`: in_asm gives each translated block's instruction count, exec (with
nochain) logs every run of a block, in order, so the instructions of one kernel call are the
sum over the blocks run between its mark_begin and mark_end calls, less the markers' own
cost (an empty pair). The firmware checks that each DSP call's output equals the portable one.

    python tests/c/pool16_icount.py [--opt -Os] [--build /tmp/pool16_icount]
"""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KERNELS = ROOT / "runtime" / "kernels"
FW = ROOT / "firmware_examples" / "cortex-m"
SOURCES = [
    ROOT / "tests" / "c" / "pool16_icount.c",
    FW / "startup.c",
    FW / "semihosting.c",
    KERNELS / "src" / "ref" / "pq_avg_pool2d_s16.c",
    KERNELS / "src" / "ref" / "pq_max_pool2d_s16.c",
    KERNELS / "src" / "arch" / "cortexm" / "pq_avg_pool2d_s16_dsp.c",
    KERNELS / "src" / "arch" / "cortexm" / "pq_max_pool2d_s16_dsp.c",
]
ARCH = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=soft"]


def build(out: Path, opt: str) -> Path:
    """The firmware, with m4.mk's flags (plus -fno-inline of the markers' calls: noinline)."""
    out.mkdir(parents=True, exist_ok=True)
    elf = out / "fw.elf"
    flags = ["-std=c99", "-Wall", "-Wextra", "-Werror", opt, "-ffunction-sections", "-fdata-sections"]
    inc = [f"-I{KERNELS / 'include'}", f"-I{FW}"]
    link = ["-nostartfiles", "--specs=nano.specs", "-T", str(FW / "mps2_an386.ld"), "-Wl,--gc-sections"]
    cmd = ["arm-none-eabi-gcc", *ARCH, *flags, *inc, *map(str, SOURCES), *link, "-o", str(elf)]
    subprocess.run(cmd, check=True)
    return elf


def symbol(elf: Path, name: str) -> int:
    """A function's address (Thumb bit cleared)."""
    nm = subprocess.run(["arm-none-eabi-nm", str(elf)], check=True, capture_output=True, text=True).stdout
    return int(re.search(rf"^([0-9a-f]+) T {name}$", nm, re.M).group(1), 16) & ~1


def trace(elf: Path, log: Path) -> str:
    """Run the firmware under QEMU with the block and exec trace in `log`; its stdout."""
    cmd = ["qemu-system-arm", "-M", "mps2-an386", "-display", "none", "-monitor", "none", "-serial", "none"]
    cmd += [
        "-chardev",
        "stdio,id=semihost",
        "-semihosting-config",
        "enable=on,target=native,chardev=semihost",
    ]
    cmd += ["-d", "in_asm,exec,nochain", "-D", str(log), "-kernel", str(elf)]
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise SystemExit(f"firmware failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r.stdout


def counts(log: Path, begin: int, end: int) -> list[int]:
    """Instructions run between each mark_begin block and the next mark_end block."""
    sizes: dict[int, int] = {}
    block = None
    out: list[int] = []
    running = None
    insn = re.compile(r"^0x([0-9a-f]+):\s")
    exe = re.compile(r"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")
    with log.open() as f:
        for line in f:
            m = insn.match(line)
            if m:
                pc = int(m.group(1), 16)
                if block is None:
                    block = pc
                    sizes[pc] = 0
                sizes[block] += 1
                continue
            if line.startswith("IN:") or not line.strip():
                block = None
                continue
            m = exe.match(line)
            if m:
                pc = int(m.group(1), 16)
                if pc == begin:
                    running = 0
                elif pc == end and running is not None:
                    out.append(running)
                    running = None
                elif running is not None:
                    running += sizes[pc]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--opt", default="-Os")
    ap.add_argument("--build", type=Path, default=Path("/tmp/pool16_icount"))
    a = ap.parse_args()
    elf = build(a.build, a.opt)
    names = [line[2:] for line in trace(elf, a.build / "trace.log").splitlines() if line.startswith("# ")]
    bad = [n for n in names if n.endswith("MISMATCH")]
    if bad:
        raise SystemExit(f"DSP output differs from the portable one: {bad}")
    c = counts(a.build / "trace.log", symbol(elf, "mark_begin"), symbol(elf, "mark_end"))
    base, c = c[0], c[1:]
    print(f"instructions per call, Cortex-M4 {a.opt} (markers' {base} subtracted)")
    print(f"{'shape':40s} {'portable':>10s} {'DSP':>10s} {'ratio':>7s}")
    for i, name in enumerate(names):
        ref, dsp = c[2 * i] - base, c[2 * i + 1] - base
        print(f"{name:40s} {ref:10d} {dsp:10d} {ref / dsp:6.1f}x")


if __name__ == "__main__":
    main()
