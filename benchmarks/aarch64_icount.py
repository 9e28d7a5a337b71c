"""Instructions the picoq extension executes per inference on aarch64, counted under QEMU.

No aarch64 board is needed, and nothing is timed (QEMU timings mean nothing): the count is a
proxy for the work each instruction set's kernels do.

    python benchmarks/aarch64_icount.py [--work DIR] [--cpu max] [--isas portable,neon,neon_dot] [MODEL.tflite ...]

Default models: the MLPerf Tiny KWS, VWW, IC (ResNet-8) and AD models in ../shared. Needs
aarch64-linux-gnu-gcc and qemu-aarch64 (firmware_examples/install_toolchain.sh), apt-get and
dpkg (Debian), and Cython. Steps:
  1. an aarch64 Python 3.11 + numpy from Debian's arm64 packages, downloaded with a private apt
     configuration in DIR (the system's apt state is not touched) and unpacked with dpkg -x;
  2. runtime/_interp.pyx cythonized against that numpy and cross-compiled with setup.py's flags;
  3. each model converted here, then run under qemu-aarch64 once and twice with QEMU's
     execution trace limited to the extension's code; in_asm gives each translated block's
     length, exec each block run; the difference of the two totals is one inference
     (kernels and op loop; numpy and the Python around run() are outside the range).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT.parent / "shared" / "models" / "mlperf_tiny"
DEFAULT = ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8"]
DEBS = ["python3.11-minimal", "libpython3.11-stdlib", "libpython3.11-dev", "python3-numpy"]
LIBS = "LD_LIBRARY_PATH=/usr/lib/aarch64-linux-gnu/blas:/usr/lib/aarch64-linux-gnu/lapack"
GUEST = """
import sys
import numpy as np
from picoq.runtime import Interpreter
model, isa, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
it = Interpreter(model, isa=isa)
x = np.zeros(it.input_details[0]["shape"], np.int8)
if reps == 0:
    print(next(line for line in open("/proc/self/maps") if "_interp" in line and "r-xp" in line))
for _ in range(reps):
    it.run(x)
"""


def run(cmd: list[str], **kw) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def arm64_root(work: Path) -> Path:
    """Debian's arm64 Python 3.11 and numpy, unpacked (no chroot, no root needed to run)."""
    root, apt = work / "root", work / "apt"
    if (root / "usr/bin/python3.11").exists():
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
    return root


def build(work: Path, root: Path) -> Path:
    """The extension for aarch64, in a package tree for the guest's PYTHONPATH."""
    pkg = work / "pkg"
    dest = pkg / "picoq" / "runtime"
    dest.mkdir(parents=True, exist_ok=True)
    for f in (ROOT / "runtime").glob("*.py"):
        (dest / f.name).write_bytes(f.read_bytes())
    numpy_dir = root / "usr/lib/python3/dist-packages"
    c_file = work / "_interp.c"
    directives = ["boundscheck=False", "wraparound=False", "cdivision=True", "initializedcheck=False"]
    cmd = [sys.executable, "-m", "cython", "-3", "-I", str(ROOT / "runtime"), "-I", str(numpy_dir)]
    run(
        cmd
        + [x for d in directives for x in ("-X", d)]
        + [str(ROOT / "runtime/_interp.pyx"), "-o", str(c_file)]
    )
    so = dest / "_interp.cpython-311-aarch64-linux-gnu.so"
    inc = ["-I", str(ROOT / "runtime/kernels/include"), "-I", str(ROOT / "runtime")]
    inc += ["-I", str(root / "usr/include/python3.11"), "-idirafter", str(root / "usr/include")]
    inc += ["-I", str(numpy_dir / "numpy/core/include"), "-DNPY_NO_DEPRECATED_API=NPY_1_22_API_VERSION"]
    inc += ["-DPQ_WITH_FAST_KERNELS=1"]  # setup.py's: the fast kernels are linked into the extension
    srcs = sorted(map(str, (ROOT / "runtime/kernels/src").rglob("*.c")))
    flags = ["-shared", "-fPIC", "-O3", "-std=c99", "-Wall", "-Wno-unused-function"]  # setup.py's
    run(["aarch64-linux-gnu-gcc", *flags, *inc, str(c_file), *srcs, "-o", str(so)])
    (work / "guest.py").write_text(GUEST)
    return pkg


def count(work: Path, root: Path, model: Path, isa: str, reps: int, cpu: str, text: tuple[int, int]) -> int:
    cmd = ["qemu-aarch64", "-cpu", cpu, "-L", str(root), "-E", LIBS, "-E", f"PYTHONPATH={work / 'pkg'}"]
    cmd += ["-d", "in_asm,exec,nochain", "-dfilter", f"{text[0]:#x}..{text[1] - 1:#x}", "-D", "/dev/stderr"]
    cmd += [str(root / "usr/bin/python3.11"), str(work / "guest.py"), str(model), isa, str(reps)]
    p = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, bufsize=1 << 20)
    sizes: dict[int, int] = {}
    total, start, n = 0, None, 0
    for line in p.stderr:
        if line.startswith("IN:"):
            start, n = None, 0
        elif line.startswith("0x") and ":" in line[:24]:
            start = int(line.split(":")[0], 16) if start is None else start
            n += 1
            sizes[start] = n
        elif line.startswith("Trace"):
            m = re.search(r"\[[0-9a-f]+/([0-9a-f]+)/", line)
            total += sizes.get(int(m.group(1), 16), 0) if m else 0
    if p.wait() != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed")
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", type=Path)
    ap.add_argument("--work", type=Path, default=Path("/tmp/picoq_aarch64"))
    ap.add_argument("--cpu", default="max", help="QEMU CPU model (max has the dot product, cortex-a53 not)")
    ap.add_argument("--isas", default="portable,neon,neon_dot")
    args = ap.parse_args()
    models = args.models or [MODELS / f"{m}.tflite" for m in DEFAULT]
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    root = arm64_root(work)
    build(work, root)
    from picoq.converter import convert

    print(f"{'model':28s} {'MACs':>12s}", *(f"{isa:>12s}" for isa in args.isas.split(",")), sep=" ")
    for src in models:
        picoq = work / (src.stem + ".picoq")
        convert(str(src), str(picoq))
        base = [
            "qemu-aarch64",
            "-cpu",
            args.cpu,
            "-L",
            str(root),
            "-E",
            LIBS,
            "-E",
            f"PYTHONPATH={work / 'pkg'}",
            str(root / "usr/bin/python3.11"),
            str(work / "guest.py"),
            str(picoq),
            "portable",
            "0",
        ]
        lo, hi = (int(v, 16) for v in run(base).split()[0].split("-"))
        inspect = run(
            [sys.executable, "-c", "from picoq.converter.cli import main; main()", "inspect", str(picoq)]
        )
        macs = re.search(r"total: ([\d,]+) MACs", inspect)
        counts = [
            count(work, root, picoq, isa, 2, args.cpu, (lo, hi))
            - count(work, root, picoq, isa, 1, args.cpu, (lo, hi))
            for isa in args.isas.split(",")
        ]
        print(
            f"{src.stem:28s} {macs.group(1) if macs else '?':>12s}", *(f"{c:12,d}" for c in counts), sep=" "
        )


if __name__ == "__main__":
    main()
