"""Building the Cortex-M benchmark firmware (benchmarks/cortex_m.py): an exported model folder,
one kernel set, benchmarks/cortex_m/bench_main.c, and firmware_examples/cortex-m's startup.c,
semihosting.c, inputs.S and linker script, with the toolchain and flags of its m4.mk.

Kernel sets:
    portable   the exported folder with -DPQ_PORTABLE_KERNELS (its portable C kernels)
    dsp        the exported folder as is: on -mcpu=cortex-m4, PQ_DSP picks the DSP-extension kernels
    cmsis-nn   portable, minus the kernel files a CMSIS-NN shim replaces, plus the shim and the
               CMSIS-NN sources (benchmarks/cmsis_nn.py's kernel_set, imported only when asked for)
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from machine import REPO

FW_DIR = REPO / "firmware_examples" / "cortex-m"
BENCH_DIR = Path(__file__).resolve().parent / "cortex_m"
M4_VARS = ("CC", "SIZE", "NM", "QEMU", "QEMU_FLAGS", "ARCH", "CFLAGS", "LDFLAGS")


class BuildError(RuntimeError):
    pass


@dataclass(frozen=True)
class Toolchain:
    """m4.mk's tools and flags, read from make itself (OPT overridden), so nothing is restated."""

    opt: str
    cc: str
    size: str
    nm: str
    qemu: tuple[str, ...]
    arch: tuple[str, ...]
    cflags: tuple[str, ...]
    ldflags: tuple[str, ...]

    @classmethod
    def from_m4mk(cls, opt: str) -> Toolchain:
        rule = "bench-vars: ; @" + "".join(f'echo "{v}=$({v})"; ' for v in M4_VARS)
        cmd = ["make", "-s", "--no-print-directory", "-f", str(FW_DIR / "m4.mk"), f"OPT=-{opt}"]
        try:
            out = subprocess.run([*cmd, f"--eval={rule}", "bench-vars"], capture_output=True, text=True)
        except OSError as e:
            raise BuildError(f"make is needed to read {FW_DIR / 'm4.mk'}: {e}") from e
        if out.returncode != 0:
            raise BuildError(f"reading m4.mk failed:\n{out.stderr}")
        v = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
        return cls(
            opt=opt,
            cc=v["CC"],
            size=v["SIZE"],
            nm=v["NM"],
            qemu=(v["QEMU"], *shlex.split(v["QEMU_FLAGS"])),
            arch=tuple(shlex.split(v["ARCH"])),
            cflags=tuple(shlex.split(v["CFLAGS"])),
            ldflags=tuple(shlex.split(v["LDFLAGS"])),
        )


@dataclass(frozen=True)
class KernelSet:
    name: str
    defines: tuple[str, ...] = ()
    sources: tuple[Path, ...] = ()  # C files added to the exported folder's (CMSIS-NN and its shim)
    include_dirs: tuple[Path, ...] = ()
    replaces: frozenset[str] = frozenset()  # kernel .c files of the exported folder left out
    # More defines for one model, from its .picoq file (CMSIS-NN: the shim's scratch size).
    model_defines: Callable[[Path], tuple[str, ...]] | None = None
    # The model variants (cortex_m.py --variant) whose kernels the set really replaces; None: all.
    # A set that maps only the int8 kernels (the CMSIS-NN shim) would run picoq's portable s16/s4
    # kernels on the others under its name, so it is left out of those.
    variants: tuple[str, ...] | None = None


PORTABLE = KernelSet("portable", defines=("PQ_PORTABLE_KERNELS",))
DSP = KernelSet("dsp")
# Run-time counters a set may define: calls that did not run its kernels (cmsis_nn.py's shim
# counts the ops it hands to picoq's reference code, per kind, in this array).
FALLBACKS = "pq_cmsis_fallbacks"


def cmsis_nn_set(cmsis_dir: Path) -> KernelSet:
    """The CMSIS-NN set from benchmarks/cmsis_nn.py's kernel_set(cmsis_dir), imported here only;
    with its scratch_bytes(model) as -DPQ_CMSIS_SCRATCH when the module has it."""
    try:
        import cmsis_nn  # benchmarks/cmsis_nn.py (a plain module beside this one)
    except ImportError as e:
        raise BuildError(f"--cmsis-nn needs benchmarks/cmsis_nn.py with kernel_set(): {e}") from e
    try:
        ks = cmsis_nn.kernel_set(Path(cmsis_dir))
    except FileNotFoundError as e:
        raise BuildError(str(e)) from e
    scratch = getattr(cmsis_nn, "scratch_bytes", None)
    variants = tuple(getattr(cmsis_nn, "VARIANTS", ("int8",)))  # what its shim maps onto CMSIS-NN
    return KernelSet(
        "cmsis-nn",
        defines=tuple(dict.fromkeys(("PQ_PORTABLE_KERNELS", *ks.get("defines", ())))),
        sources=tuple(Path(p) for p in ks["sources"]),
        include_dirs=tuple(Path(p) for p in ks.get("include_dirs", ())),
        replaces=frozenset(Path(p).name for p in ks.get("replaces", ())),
        model_defines=(lambda picoq: (f"PQ_CMSIS_SCRATCH={scratch(picoq)}",)) if scratch else None,
        variants=variants,
    )


@dataclass(frozen=True)
class Target:
    """An exported model to build: `folder` from export-c with `name`, its .picoq file, its op
    count, and the raw int8 input the firmware runs (a file named inputs.bin, for inputs.S)."""

    folder: Path
    name: str
    picoq: Path
    num_ops: int
    input_bin: Path


@dataclass
class Firmware:
    elf: Path
    map: Path
    # object file -> what it is: "kernels", "model" (invoke code, weights), "bench" (the harness:
    # bench_main, startup, semihosting) or "input" (the embedded test input)
    objects: dict[Path, str] = field(default_factory=dict)


class Compiler:
    """Compiles C files in parallel into `work`, once per (source, flags): the weights of a
    model compile once for every set and build that share the flags."""

    def __init__(self, tc: Toolchain, work: Path, jobs: int | None = None) -> None:
        self.tc, self.work, self.jobs = tc, work, jobs or os.cpu_count() or 1
        self.done: dict[tuple[str, tuple[str, ...]], Path] = {}

    def objects(self, jobs: Sequence[tuple[Path, Sequence[str]]]) -> list[Path]:
        todo, out = [], []
        for src, flags in jobs:
            key = (str(src), tuple(flags))
            if key not in self.done:
                tag = hashlib.sha1(repr(key).encode()).hexdigest()[:10]
                self.done[key] = self.work / "obj" / tag / (src.stem + ".o")
                todo.append((src, list(flags), self.done[key]))
            out.append(self.done[key])
        with ThreadPoolExecutor(self.jobs) as pool:
            for err in pool.map(lambda job: self._compile(*job), todo):
                if err:
                    raise BuildError(err)
        return out

    def _compile(self, src: Path, flags: list[str], obj: Path) -> str | None:
        obj.parent.mkdir(parents=True, exist_ok=True)
        cmd = [self.tc.cc, *self.tc.arch, *flags, "-c", str(src), "-o", str(obj)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        return None if r.returncode == 0 else f"{shlex.join(cmd)}\n{r.stderr}"


def _defs(defines: Iterable[str]) -> list[str]:
    return [f"-D{d}" for d in defines]


def build(comp: Compiler, t: Target, kset: KernelSet, out: Path, profile: bool) -> Firmware:
    """Link out/fw.elf (and its map): the model `t` on kernel set `kset`, without the kernel files
    the set replaces; `profile` compiles model.c with -include prof.h (per-op counts)."""
    if t.input_bin.name != "inputs.bin":
        raise ValueError(f"inputs.S includes inputs.bin, not {t.input_bin.name}")
    tc = comp.tc
    base = [*tc.cflags, f"-I{t.folder}"]
    kdefs = _defs(kset.defines) + _defs(kset.model_defines(t.picoq) if kset.model_defines else ())
    prof = ["-include", str(BENCH_DIR / "prof.h")] if profile else []
    # Third-party sources: the same flags without -Werror (their warnings are not ours to fix).
    lenient = [f for f in base if f != "-Werror"] + [f"-I{d}" for d in kset.include_dirs]
    jobs: list[tuple[Path, Sequence[str], str]] = [
        (FW_DIR / "startup.c", [*base, f"-I{FW_DIR}"], "bench"),
        (FW_DIR / "semihosting.c", [*base, f"-I{FW_DIR}"], "bench"),
        (t.folder / f"{t.name}_model.c", [*base, *kdefs, *prof], "model"),
        (t.folder / f"{t.name}_model_data.c", base, "model"),
    ]
    jobs += [
        (src, [*base, *kdefs], "kernels")
        for src in sorted(t.folder.glob("pq_*.c"))
        if src.name not in kset.replaces
    ]
    jobs += [(src, [*lenient, *kdefs], "kernels") for src in kset.sources]
    objs = dict(zip(comp.objects([(src, flags) for src, flags, _ in jobs]), (kind for *_, kind in jobs)))

    # The harness last: it prints the set's fallback counters, if the set has them.
    fallbacks = symbol_size(tc, [o for o, kind in objs.items() if kind == "kernels"], FALLBACKS) // 4
    bench = [f"-I{FW_DIR}", f"-I{BENCH_DIR}", f'-DMODEL_HEADER="{t.name}_model.h"', f"-DMODEL_NAME={t.name}"]
    bench += [f"-DMODEL_PREFIX={t.name.upper()}", f"-DBENCH_NUM_OPS={t.num_ops}"]
    bench += [f"-DBENCH_PROFILE={int(profile)}", f"-DBENCH_FALLBACK_WORDS={fallbacks}"]
    (main_o,) = comp.objects([(BENCH_DIR / "bench_main.c", [*base, *bench, *kdefs])])
    out.mkdir(parents=True, exist_ok=True)
    inputs_o = out / "inputs.o"
    _run(
        [tc.cc, *tc.arch, f"-Wa,-I{t.input_bin.parent}", "-c", str(FW_DIR / "inputs.S"), "-o", str(inputs_o)]
    )
    fw = Firmware(out / "fw.elf", out / "fw.map", {main_o: "bench", **objs, inputs_o: "input"})
    _run([tc.cc, *tc.arch, *tc.ldflags, f"-Wl,-Map={fw.map}", "-o", str(fw.elf), *map(str, fw.objects)])
    return fw


def symbol_size(tc: Toolchain, objects: Iterable[Path], symbol: str) -> int:
    """Bytes of a data symbol defined in one of `objects` (0 if none defines it)."""
    out = subprocess.run([tc.nm, "-S", *map(str, objects)], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[3] == symbol and parts[2] in "BbDdCc":
            return int(parts[1], 16)
    return 0


def _run(cmd: list[str]) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise BuildError(f"{shlex.join(cmd)}\n{r.stderr}")
