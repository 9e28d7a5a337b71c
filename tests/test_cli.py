"""The `picoq` command: every --help example runs, exit codes 0 / 1 / 2, one-line errors."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys

import numpy as np
import pytest

from picoq.converter import cli
from picoq.runtime import Interpreter

from support.make_fixtures import build_tiny_convnet


def picoq(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "picoq.converter.cli", *args], capture_output=True, text=True, cwd=cwd
    )


@pytest.fixture()
def workdir(tmp_path):
    """A folder holding the files the --help examples name (a small model stands in for KWS)."""
    (tmp_path / "kws_ref_model.tflite").write_bytes(build_tiny_convnet())
    return tmp_path


def test_help_lists_every_verb_with_examples() -> None:
    out = picoq("--help").stdout
    for verb in cli.EXAMPLES:
        assert verb in out and cli.EXAMPLES[verb] in out
    for verb in cli.EXAMPLES:
        r = picoq(verb, "--help")
        assert r.returncode == 0 and cli.EXAMPLES[verb] in r.stdout


def test_help_examples_run_in_order(workdir) -> None:
    for verb in ("convert", "inspect"):
        r = picoq(*shlex.split(cli.EXAMPLES[verb])[1:], cwd=workdir)
        assert r.returncode == 0, r.stderr
    shape = Interpreter(str(workdir / "kws.picoq")).input_details[0]["shape"]
    np.save(workdir / "input.npy", np.random.default_rng(0).integers(-128, 128, shape, dtype=np.int8))
    r = picoq(*shlex.split(cli.EXAMPLES["run"])[1:], cwd=workdir)
    assert r.returncode == 0, r.stderr
    y = np.load(workdir / "output.npy")
    np.testing.assert_array_equal(
        y, Interpreter(str(workdir / "kws.picoq")).run(np.load(workdir / "input.npy"))
    )


def test_inspect_json_is_machine_readable(workdir) -> None:
    picoq("convert", "kws_ref_model.tflite", "-o", "m.picoq", cwd=workdir)
    info = json.loads(picoq("inspect", "m.picoq", "--json", cwd=workdir).stdout)
    assert info["arena_bytes"] > 0 and info["file_bytes"] == (workdir / "m.picoq").stat().st_size
    assert [o["op"] for o in info["ops"]][0] == "CONV_2D"


def test_usage_error_exits_2_and_failure_exits_1(workdir) -> None:
    assert picoq().returncode == 2
    assert picoq("convert").returncode == 2  # missing arguments
    (workdir / "bad.picoq").write_bytes(b"garbage" * 10)
    r = picoq("inspect", "bad.picoq", cwd=workdir)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and r.stderr.startswith("picoq inspect: error: bad .picoq file")
    r = picoq("--debug", "inspect", "bad.picoq", cwd=workdir)
    assert r.returncode == 1 and "Traceback" in r.stderr


def test_run_with_wrong_shape_is_one_line(workdir) -> None:
    picoq("convert", "kws_ref_model.tflite", "-o", "m.picoq", cwd=workdir)
    np.save(workdir / "x.npy", np.zeros((2, 2), np.int8))
    r = picoq("run", "m.picoq", "x.npy", cwd=workdir)
    assert r.returncode == 1 and "expected shape" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_run_with_threads(workdir) -> None:
    """--threads N gives the same output; a bad N is a one-line error."""
    picoq("convert", "kws_ref_model.tflite", "-o", "m.picoq", cwd=workdir)
    shape = Interpreter(str(workdir / "m.picoq")).input_details[0]["shape"]
    x = np.random.default_rng(1).integers(-128, 128, shape, dtype=np.int8)
    np.save(workdir / "x.npy", x)
    r = picoq("run", "m.picoq", "x.npy", "-o", "y.npy", "--threads", "2", cwd=workdir)
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(np.load(workdir / "y.npy"), Interpreter(str(workdir / "m.picoq")).run(x))
    assert "--threads" in picoq("run", "--help").stdout
    r = picoq("run", "m.picoq", "x.npy", "--threads", "0", cwd=workdir)
    assert r.returncode == 1 and "num_threads" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_run_profile_lists_every_op(workdir) -> None:
    """--profile prints one row per op with its kernel and a positive time; the output file is
    still the model's output, and the interpreter gives the same bytes after profiling."""
    picoq("convert", "kws_ref_model.tflite", "-o", "m.picoq", cwd=workdir)
    it = Interpreter(str(workdir / "m.picoq"))
    x = np.random.default_rng(2).integers(-128, 128, it.input_details[0]["shape"], dtype=np.int8)
    np.save(workdir / "x.npy", x)
    want = it.run(x)
    r = picoq("run", "m.picoq", "x.npy", "-o", "y.npy", "--profile", "--runs", "5", cwd=workdir)
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(np.load(workdir / "y.npy"), want)
    rows = [ln.split() for ln in r.stdout.splitlines() if ln[:3].strip().isdigit()]
    assert [int(c[0]) for c in rows] == list(range(len(it.model.ops)))
    assert [c[1] for c in rows] == [op.name for op in it.model.ops]
    assert [c[2] for c in rows] == it.op_kernels
    prof = it.profile(x, runs=3)
    assert [p["kernel"] for p in prof] == it.op_kernels and all(p["median_us"] > 0 for p in prof)
    np.testing.assert_array_equal(it.run(x), want)
    assert picoq("run", "m.picoq", "x.npy", "--profile", "--runs", "0", cwd=workdir).returncode == 1
