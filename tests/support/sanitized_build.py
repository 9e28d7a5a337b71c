"""The extension built with -fsanitize=address,undefined, and Python snippets run against it.

Built once per test session (tests/conftest.py's `sanitized_lib` fixture) into a private
folder, the installed package untouched: tests/test_sanitizers.py and tests/test_stress.py
share it. A snippet runs in a fresh interpreter with libasan preloaded (CPython itself is not
instrumented) and PYTHONPATH = the build, then tests/ (for `support` and `conftest`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
SAN_FLAGS = "-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
# CPython's own allocations at exit are not leaks of ours: leak checking stays off here
# (tests/test_stress.py checks leaks with LSan in a pure C program and by RSS in Python).
ASAN_OPTIONS = "detect_leaks=0:abort_on_error=0:exitcode=99"
UBSAN_OPTIONS = "print_stacktrace=1:halt_on_error=1:exitcode=98"

_built: dict[str, Path] = {}


def gcc_runtime(name: str = "libasan.so") -> str:
    out = subprocess.run(["gcc", f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()
    assert os.path.isabs(out) and os.path.exists(out), f"gcc's {name} is needed (Debian: libgcc-12-dev)"
    return out


def libasan() -> str:
    return gcc_runtime("libasan.so")


def build_sanitized(base: Path, sanitize: str = "address,undefined") -> Path:
    """Build picoq with -fsanitize=`sanitize` under `base` (once per process for each
    `sanitize`) and return its lib folder."""
    if sanitize in _built:
        return _built[sanitize]
    assert shutil.which("gcc"), "gcc is needed to build the sanitized extension"
    flags = SAN_FLAGS if sanitize == "address,undefined" else f"-fsanitize={sanitize} -fno-omit-frame-pointer"
    env = dict(os.environ, CFLAGS=flags, LDFLAGS=f"-fsanitize={sanitize}")
    cmd = [sys.executable, "setup.py", "-q", "build", "--build-base", str(base / "build")]
    cmd += ["--build-lib", str(base / "lib"), "--force"]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    _built[sanitize] = base / "lib"
    return _built[sanitize]


def run_sanitized(
    lib: Path,
    code: str,
    timeout: int = 900,
    asan_options: str = ASAN_OPTIONS,
    preload: str | None = None,
    **env_extra: str,
) -> subprocess.CompletedProcess:
    """`code` in a fresh Python on the sanitized build (libasan preloaded, or `preload`); a
    sanitizer report exits 99 or 98."""
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(lib), str(TESTS)]),
        LD_PRELOAD=preload or libasan(),
        ASAN_OPTIONS=asan_options,
        UBSAN_OPTIONS=UBSAN_OPTIONS,
        **env_extra,
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=lib, env=env, capture_output=True, text=True, timeout=timeout
    )


def sanitizer_reported(r: subprocess.CompletedProcess) -> bool:
    return any(s in r.stderr for s in ("AddressSanitizer", "runtime error", "LeakSanitizer"))
