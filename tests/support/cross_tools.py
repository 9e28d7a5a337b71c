"""The aarch64 cross tools the NEON tests build and run with (tests/test_neon_kernels.py,
tests/test_float_boundary.py). CI installs them (firmware_examples/install_toolchain.sh)."""

from __future__ import annotations

import shutil

import pytest


def aarch64_tools() -> tuple[str, str]:
    """(aarch64-linux-gnu-gcc, qemu-aarch64), or skip the test naming the install script."""
    cc, qemu = shutil.which("aarch64-linux-gnu-gcc"), shutil.which("qemu-aarch64")
    if cc is None or qemu is None:
        pytest.skip(
            "aarch64-linux-gnu-gcc / qemu-aarch64 not found: run firmware_examples/install_toolchain.sh"
        )
    return cc, qemu
