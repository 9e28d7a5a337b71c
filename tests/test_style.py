"""The code stays ruff-clean (lint and format), and the C kernels build warning-free as strict C99."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from picoq.runtime import kernels_dir

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_lint_and_format() -> None:
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", str(ROOT)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", str(ROOT)], capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


@pytest.mark.parametrize("src", sorted((Path(kernels_dir()) / "src").rglob("*.c")), ids=lambda p: p.name)
def test_kernel_is_strict_freestanding_c99(src: Path, tmp_path: Path) -> None:
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc, "a C compiler is needed (the extension build needed one too)"
    cmd = [cc, "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-Wvla", "-ffreestanding"]
    cmd += ["-I", str(Path(kernels_dir()) / "include"), "-c", str(src), "-o", str(tmp_path / "k.o")]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", src.read_text(), flags=re.S)  # comments may say "double"
    for banned in (r"\bmalloc\b", r"\bfloat\b", r"\bdouble\b", r"<stdio\.h>", r"<math\.h>"):
        assert not re.search(banned, code), (
            f"{src.name} uses {banned}: kernels are integer-only, no allocation"
        )
