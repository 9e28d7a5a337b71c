"""Building and running firmware in tests (tests/test_export_c.py, tests/test_firmware_core.py):
the tools, a subprocess runner that cannot leave an emulator behind, the programs' output
format, and a model with two inputs and two outputs."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest

from .tflite_builder import RandomLayers, TFLiteGraph


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: run firmware_examples/install_toolchain.sh (CI does)")
    return path


def run(cmd: list[str], timeout: float = 300, check: bool = True, **kw) -> subprocess.CompletedProcess:
    """Run a command in its own process group, so a timeout kills it and its children
    (make -> qemu) instead of leaving an emulator running."""
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **kw,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"timed out after {timeout} s: {shlex.join(cmd)}")
    result = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    assert result.returncode == 0 or not check, f"{shlex.join(cmd)}\n{out[-3000:]}\n{err[-3000:]}"
    return result


def make(folder: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return run([tool("make"), "-s", "-j4", "-C", str(folder), *args], timeout=timeout)


def output_rows(stdout: str, dtype: type = np.int8) -> np.ndarray:
    """The program's output lines (lines starting with '#' are information) as rows of
    `dtype` (int8; int16 for a 16x8 model)."""
    rows = [[int(v) for v in line.split()] for line in stdout.splitlines() if line and line[0] != "#"]
    return np.array(rows, dtype=np.int64).astype(dtype)


def two_in_two_out() -> bytes:
    """Inputs a [1,6,5,4] and b [1,1,5,4] (broadcast ADD); outputs the conv and the FC after it."""
    g = TFLiteGraph(description="picoq test two_in_two_out")
    r = RandomLayers(g, np.random.default_rng(7))
    a = r.input("a", (1, 6, 5, 4), scale=0.05, zero_point=3)
    b = r.input("b", (1, 1, 5, 4), scale=0.04, zero_point=-2)
    z = r.conv2d(r.add(a, b, activation="RELU", name="sum"), 6, 3, name="conv")
    g.output(z, r.fully_connected(r.reshape(z, (-1, 180), name="flat"), 7, name="fc"))
    return g.build()
