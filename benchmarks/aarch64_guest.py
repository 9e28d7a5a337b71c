"""The aarch64 guest that aarch64_icount.py runs under qemu-aarch64, built in a work folder.

- `arm64_root`: Debian's arm64 Python 3.11, numpy (1.24) and libstdc++, downloaded with a
  private apt configuration in the work folder (the system's apt state is not touched) and
  unpacked with dpkg -x: no chroot, no root needed to run it.
- `build_picoq`: runtime/_interp.pyx cythonized against that numpy and cross-compiled with
  setup.py's flags, in a package tree for the guest's PYTHONPATH.
- `litert_site`: LiteRT's cp311 aarch64 wheel from PyPI (pip download; cached), unpacked.
- `cpu_root`: per QEMU CPU model, a root beside the first (symlinks to it) that adds an
  arm64-format /proc/cpuinfo: QEMU 7.2 does not fake that file for aarch64 guests, so
  LiteRT's CPU detection (pytorch/cpuinfo: MIDR from /proc/cpuinfo, features from the
  auxiliary vector) would read the x86 host's and fail at interpreter creation. The CPU ID
  and HWCAPs come from the model itself: a static probe run under `qemu-aarch64 -cpu CPU`
  reads MIDR_EL1 (QEMU emulates the kernel's EL0 access to the ID registers) and getauxval.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEBS = ["python3.11-minimal", "libpython3.11-stdlib", "libpython3.11-dev", "python3-numpy", "libstdc++6"]
LIBS = "LD_LIBRARY_PATH=/usr/lib/aarch64-linux-gnu/blas:/usr/lib/aarch64-linux-gnu/lapack"
# The wheel is manylinux_2_27; pip needs the tags listed to find it (manylinux2014 alone does not).
PLATFORMS = [
    "manylinux_2_17_aarch64",
    "manylinux2014_aarch64",
    "manylinux_2_27_aarch64",
    "manylinux_2_28_aarch64",
]
GCC = "aarch64-linux-gnu-gcc"

# Linux arm64's names of the AT_HWCAP and AT_HWCAP2 bits (arch/arm64/include/uapi/asm/hwcap.h),
# in bit order, for the Features line.
HWCAP = (
    "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma "
    "lrcpc dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs sb paca pacg"
).split()
HWCAP2 = (
    "dcpodp sve2 sveaes svepmull svebitperm svesha3 svesm4 flagm2 frint svei8mm svef32mm svef64mm "
    "svebf16 i8mm bf16 dgh rng bti mte ecv afp rpres mte3 sme sme_i16i64 sme_f64f64 sme_i8i32 "
    "sme_f16f32 sme_b16f32 sme_f32f32 sme_fa64 wfxt ebf16 sve_ebf16"
).split()

PROBE = r"""
#include <stdio.h>
#include <sys/auxv.h>
int main(void) {
    unsigned long midr;
    __asm__ volatile("mrs %0, midr_el1" : "=r"(midr));
    printf("%lx %lx %lx\n", midr, getauxval(AT_HWCAP), getauxval(AT_HWCAP2));
    return 0;
}
"""

# The marker the guest calls between the phases counted apart: a function alone in its own
# library, whose one block's runs split QEMU's trace (aarch64_trace.count_segments).
MARK = 'void picoq_icount_mark(void) { __asm__ volatile(""); }\n'

# Every run (the probe and the traced one) imports the same modules and loads the marker before
# any model, so the libraries sit at the same addresses in both; each run prints its executable
# mappings to check that. The spec (JSON) lists the models and picoq's ISAs ("-": picoq's
# pick); each inference is followed by a mark labelled [model, runtime, isa, rep], each load
# by a mark labelled None. gc is off: no other object's finalizer runs inside an inference.
GUEST = """
import ctypes
import gc
import json
import sys

import numpy as np
import ai_edge_litert.interpreter as litert
import picoq.runtime
from picoq.runtime import Interpreter

marker = ctypes.CDLL(sys.argv[1]).picoq_icount_mark
spec = json.loads(sys.argv[2])
labels = []


def mark(label):
    labels.append(label)
    marker()


def draw(d):  # a seeded random input over the input's integer dtype (int16 in 16x8 models)
    r = np.iinfo(d["dtype"])
    return np.random.default_rng(0).integers(r.min, r.max + 1, d["shape"], dtype=d["dtype"])


gc.disable()
for m in spec["models"]:
    x = None
    for isa in spec["isas"]:
        it = Interpreter(m["picoq"], isa=None if isa == "-" else isa)
        if x is None:
            x = draw(it.input_details[0])
        mark(None)
        for rep in range(spec["reps"]):
            it.run(x)
            mark([m["name"], "picoq", it.isa, rep])
        del it
        gc.collect()
        mark(None)
    if m["tflite"]:
        lite = litert.Interpreter(model_path=m["tflite"], num_threads=1)
        lite.allocate_tensors()
        inp, out = lite.get_input_details()[0]["index"], lite.get_output_details()[0]["index"]
        if x is None:
            x = draw(lite.get_input_details()[0])
        mark(None)
        for rep in range(spec["reps"]):
            lite.set_tensor(inp, x)
            lite.invoke()
            lite.get_tensor(out)
            mark([m["name"], "litert", "xnnpack", rep])
        del lite
        gc.collect()
        mark(None)
maps = [m for m in open("/proc/self/maps") if "x" in m.split()[1]]
maps = [m for m in maps if "_interp" in m or "ai_edge_litert" in m or "icount_mark" in m]
mark_addr = ctypes.cast(marker, ctypes.c_void_p).value
print(json.dumps({"best_isa": picoq.runtime.best_isa(), "mark": mark_addr, "maps": maps, "labels": labels}))
"""


def run(cmd: list[str], **kw) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def arm64_root(work: Path) -> Path:
    """Debian's arm64 Python 3.11, numpy and libstdc++, unpacked under work/root."""
    root, apt = work / "root", work / "apt"
    done = root / ".picoq-debs"
    if done.exists() and done.read_text() == " ".join(DEBS):
        return root
    for d in ("state/lists/partial", "cache/archives/partial", "etc/sources.list.d", "etc/preferences.d"):
        (apt / d).mkdir(parents=True, exist_ok=True)
    (apt / "state/status").touch()
    key = "signed-by=/usr/share/keyrings/debian-archive-keyring.gpg"
    (apt / "etc/sources.list").write_text(
        f"deb [arch=arm64 {key}] http://deb.debian.org/debian bookworm main\n"
        f"deb [arch=arm64 {key}] http://deb.debian.org/debian-security bookworm-security main\n"
    )
    opts = [
        f"-oDir::State={apt}/state",
        f"-oDir::State::status={apt}/state/status",
        f"-oDir::Cache={apt}/cache",
        f"-oDir::Etc::SourceList={apt}/etc/sources.list",
        f"-oDir::Etc::SourceParts={apt}/etc/sources.list.d",
        f"-oDir::Etc::PreferencesParts={apt}/etc/preferences.d",
        "-oAPT::Architecture=arm64",
        "-oAPT::Architectures=arm64",
    ]
    run(["apt-get", *opts, "update", "-q"])
    run(["apt-get", *opts, "install", "--download-only", "-y", "-q", *DEBS])
    for deb in sorted((apt / "cache/archives").glob("*.deb")):
        run(["dpkg", "-x", str(deb), str(root)])
    done.write_text(" ".join(DEBS))
    return root


def build_picoq(work: Path, root: Path) -> Path:
    """The extension for aarch64 in work/pkg/picoq/runtime; returns the .so. Built again only
    when runtime/'s sources or the commands changed since the last build in `work`."""
    dest = work / "pkg" / "picoq" / "runtime"
    dest.mkdir(parents=True, exist_ok=True)
    so = dest / "_interp.cpython-311-aarch64-linux-gnu.so"
    numpy_dir = root / "usr/lib/python3/dist-packages"
    c_file = work / "_interp.c"
    directives = ["boundscheck=False", "wraparound=False", "cdivision=True", "initializedcheck=False"]
    cython = [sys.executable, "-m", "cython", "-3", "-I", str(ROOT / "runtime"), "-I", str(numpy_dir)]
    cython += [x for d in directives for x in ("-X", d)] + [
        str(ROOT / "runtime/_interp.pyx"),
        "-o",
        str(c_file),
    ]
    inc = [
        "-I",
        str(ROOT / "runtime/kernels/include"),
        "-I",
        str(ROOT / "runtime/boundary"),
        "-I",
        str(ROOT / "runtime"),
    ]
    inc += ["-I", str(root / "usr/include/python3.11"), "-idirafter", str(root / "usr/include")]
    inc += ["-I", str(numpy_dir / "numpy/core/include"), "-DNPY_NO_DEPRECATED_API=NPY_1_22_API_VERSION"]
    inc += ["-DPQ_WITH_FAST_KERNELS=1"]  # setup.py's: the fast kernels are linked into the extension
    # setup.py's sources: the kernels and Interpreter.run's float boundary
    srcs = sorted(map(str, (ROOT / "runtime/kernels/src").rglob("*.c")))
    srcs += sorted(map(str, (ROOT / "runtime/boundary").glob("*.c")))
    flags = ["-shared", "-fPIC", "-O3", "-std=c99", "-Wall", "-Wno-unused-function"]  # setup.py's
    gcc = [GCC, *flags, *inc, str(c_file), *srcs, "-o", str(so)]

    digest = hashlib.sha256("\0".join(cython + gcc).encode())
    for f in sorted((ROOT / "runtime").rglob("*")):
        if f.suffix in (".py", ".pyx", ".pxd", ".c", ".h"):
            digest.update(str(f.relative_to(ROOT)).encode() + b"\0" + f.read_bytes())
    stamp = dest / ".build-sha256"
    if so.exists() and stamp.exists() and stamp.read_text() == digest.hexdigest():
        return so
    for f in (ROOT / "runtime").glob("*.py"):
        (dest / f.name).write_bytes(f.read_bytes())
    run(cython)
    run(gcc)
    stamp.write_text(digest.hexdigest())
    return so


def litert_site(work: Path, requirement: str) -> Path:
    """LiteRT's aarch64 wheel for `requirement` (e.g. ai-edge-litert==2.3.0), unpacked in
    work/site/NAME (cached); returns that folder, for the guest's PYTHONPATH."""
    name = requirement.replace("==", "-").replace(" ", "")
    site = work / "site" / name
    if (site / "ai_edge_litert" / "interpreter.py").exists():
        return site
    wheels = work / "wheels" / name
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:"]
    cmd += ["--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"]
    cmd += [x for p in PLATFORMS for x in ("--platform", p)] + ["-d", str(wheels), requirement]
    run(cmd)
    (wheel,) = wheels.glob("ai_edge_litert-*.whl")
    site.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "zipfile", "-e", str(wheel), str(site)])
    return site


def host_cpus() -> int:
    """CPUs in the host's /sys/devices/system/cpu/possible (e.g. "0-3,6"), which the guest sees
    too: /proc/cpuinfo gets an entry for each."""
    try:
        text = Path("/sys/devices/system/cpu/possible").read_text().strip()
    except OSError:
        return 1
    n = 0
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        n += int(hi or lo) - int(lo) + 1
    return n


def cpuinfo(midr: int, hwcap: int, hwcap2: int, cpus: int) -> str:
    """/proc/cpuinfo as arm64 Linux writes it, for `cpus` identical cores."""
    features = [n for i, n in enumerate(HWCAP) if hwcap >> i & 1]
    features += [n for i, n in enumerate(HWCAP2) if hwcap2 >> i & 1]
    core = (
        f"BogoMIPS\t: 100.00\n"
        f"Features\t: {' '.join(features)}\n"
        f"CPU implementer\t: {midr >> 24 & 0xFF:#04x}\n"
        f"CPU architecture: 8\n"
        f"CPU variant\t: {midr >> 20 & 0xF:#x}\n"
        f"CPU part\t: {midr >> 4 & 0xFFF:#05x}\n"
        f"CPU revision\t: {midr & 0xF}\n"
    )
    return "".join(f"processor\t: {i}\n{core}\n" for i in range(cpus))


def cpu_root(work: Path, root: Path, cpu: str) -> Path:
    """The root for `qemu-aarch64 -cpu CPU -L`: root's entries plus that CPU's proc/cpuinfo."""
    probe = work / "cpuid"
    if not probe.exists():
        (work / "cpuid.c").write_text(PROBE)
        run([GCC, "-O2", "-static", str(work / "cpuid.c"), "-o", str(probe)])
    midr, hwcap, hwcap2 = (int(v, 16) for v in run(["qemu-aarch64", "-cpu", cpu, str(probe)]).split())
    croot = work / "cpus" / cpu.replace(",", "_").replace("=", "-")
    (croot / "proc").mkdir(parents=True, exist_ok=True)
    for entry in root.iterdir():
        link = croot / entry.name
        if entry.name != "proc" and not link.is_symlink():
            link.symlink_to(entry)
    (croot / "proc" / "cpuinfo").write_text(cpuinfo(midr, hwcap, hwcap2, host_cpus()))
    return croot


def mark_lib(work: Path) -> Path:
    """The marker's library (aarch64), built once in `work`."""
    so = work / "libicount_mark.so"
    if not so.exists():
        (work / "icount_mark.c").write_text(MARK)
        run([GCC, "-O2", "-shared", "-fPIC", str(work / "icount_mark.c"), "-o", str(so)])
    return so


def guest_command(work: Path, croot: Path, cpu: str, sites: list[Path], spec: dict) -> list[str]:
    """qemu-aarch64 running the guest script on CPU model `cpu` with `spec` (models, isas, reps)."""
    path = ":".join(map(str, [work / "pkg", *sites]))
    cmd = ["qemu-aarch64", "-cpu", cpu, "-L", str(croot), "-E", LIBS, "-E", f"PYTHONPATH={path}"]
    guest = work / "guest.py"
    if not guest.exists() or guest.read_text() != GUEST:
        guest.write_text(GUEST)
    python = str(work / "root/usr/bin/python3.11")
    return cmd + [python, str(guest), str(mark_lib(work)), json.dumps(spec)]
