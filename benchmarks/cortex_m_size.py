"""Flash and RAM of a benchmark firmware: the ELF's sections (arm-none-eabi-size -A), and who
they belong to, from the linker map: with --gc-sections only the input sections the linker
kept count, so the kernels' flash is what this model links of them, not whole objects.

flash = .text + .rodata + .data (+ .ARM.exidx) of the ELF; RAM = .data + .bss, and the stack
high-water mark the firmware reports. Each kept input section of .text/.rodata/.data is
attributed to its object: the build's kind for it ("kernels", "model", "bench", "input"), or "libc"
(newlib-nano's memmove/memcpy/memset, libgcc); what is left is alignment padding. The
CMSIS-NN shim's copies of picoq's reference kernels (its fallbacks, functions renamed
pq_cmsis_ref_*) are kernels, and also counted apart as "kernels_fallback".
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

from cortex_m_build import Firmware, Toolchain

FLASH_SECTIONS = (".text", ".rodata", ".ARM.exidx", ".data")
INPUT = re.compile(r"^ (\S+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")
LONG_NAME = re.compile(r"^ \.\S+$")
FALLBACK_CODE = "pq_cmsis_ref_"  # cmsis_nn_shim.c's renamed reference kernels


def sections(tc: Toolchain, elf: Path) -> dict[str, int]:
    out = subprocess.run([tc.size, "-A", str(elf)], capture_output=True, text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith(".") and parts[1].isdigit():
            found[parts[0]] = int(parts[1])
    return found


def flash_by_kind(fw: Firmware) -> Counter[str]:
    """Flash bytes per kind of object, from the kept input sections of the linker map."""
    kinds = {str(obj): kind for obj, kind in fw.objects.items()}
    sizes: Counter[str] = Counter()
    out_section = None
    pending = None
    lines = fw.map.read_text().splitlines()
    start = lines.index("Linker script and memory map")
    for line in lines[start + 1 :]:
        if line.startswith("."):  # an output section
            out_section = line.split()[0]
            continue
        if out_section not in FLASH_SECTIONS:
            continue
        m = INPUT.match(line)
        if m and (m.group(1) or pending):
            obj = m.group(4).strip()
            kind = kinds.get(obj) or ("libc" if obj.endswith(")") or obj.endswith(".a") else None)
            if kind is None:
                raise ValueError(f"{fw.map}: input section from an unknown object {obj}")
            sizes[kind] += int(m.group(3), 16)
            if kind == "kernels" and FALLBACK_CODE in (m.group(1) or pending or ""):
                sizes["kernels_fallback"] += int(m.group(3), 16)
            pending = None
        elif LONG_NAME.match(line):  # a long section name; its address and size follow
            pending = line.strip()
    return sizes


def sizes(tc: Toolchain, fw: Firmware) -> dict[str, int]:
    """flash (total and per kind) and RAM (data, bss) in bytes."""
    sec = sections(tc, fw.elf)
    by_kind = flash_by_kind(fw)
    flash = sum(sec.get(s, 0) for s in FLASH_SECTIONS)
    attributed = sum(n for kind, n in by_kind.items() if kind != "kernels_fallback")
    if attributed > flash:
        raise ValueError(f"{fw.map}: attributed more flash than the ELF has")
    return {
        "flash_total": flash,
        "flash_kernels": by_kind["kernels"],
        "flash_model": by_kind["model"],
        "flash_libc": by_kind["libc"],
        "flash_bench": by_kind["bench"],
        "flash_input": by_kind["input"],
        "flash_kernels_fallback": by_kind["kernels_fallback"],
        "flash_padding": flash - attributed,
        "text": sec.get(".text", 0),
        "rodata": sec.get(".rodata", 0),
        "data": sec.get(".data", 0),
        "bss": sec.get(".bss", 0),
    }
