"""What ran the benchmark: CPU model and SIMD flags, cores, OS, Python, package versions, picoq's
git revision, the thread variables and the load average. Imports no numeric library, so that
run.py can pin the thread variables (THREAD_ENV_VARS) before numpy is imported.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# Set to 1 by pin_thread_env (run.py, torch_models.py) for every library that honours them, before numpy etc. are imported.
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "BLIS_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)


def pin_thread_env() -> None:
    """One thread for every library that honours THREAD_ENV_VARS: call it before numpy is imported."""
    for var in THREAD_ENV_VARS:
        os.environ[var] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


PACKAGES = (
    "picoq",
    "numpy",
    "tflite-micro",
    "ai-edge-litert",
    "onnx",
    "onnxruntime",
    "Cython",
    "torch",
    "torchvision",
)


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    for key in ("model name", "Hardware", "Processor", "cpu model"):
        for line in text.splitlines():
            if line.split(":")[0].strip() == key:
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    """The SIMD extensions relevant to optimized int8 kernels that the CPU reports."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            have = set(line.split(":", 1)[1].split())
            wanted = ("sse4_1", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni")
            wanted += ("neon", "asimd", "asimddp", "i8mm", "sve")
            return [f for f in wanted if f in have]
    return []


def git_revision() -> str | None:
    try:
        rev = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return rev + ("-dirty" if dirty else "")


def machine_info() -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": cpu_model(),
        "cpu_simd_flags": cpu_flags(),
        "logical_cores": os.cpu_count(),
        "cores_usable": affinity,
        "machine": platform.machine(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "python_impl": platform.python_implementation(),
        "packages": versions,
        "picoq_git": git_revision(),
        "picoq_native_build_env": os.environ.get("PICOQ_NATIVE"),
        "thread_env": {v: os.environ[v] for v in THREAD_ENV_VARS},
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
