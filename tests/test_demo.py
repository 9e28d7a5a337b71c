"""`picoq demo`: the shipped digits CNN runs the whole journey and reports float against int8."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

from picoq.converter import cli
from picoq.converter.demo import ASSETS, MODEL, SAMPLE, run_demo
from picoq.runtime import Interpreter


def picoq(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "picoq.converter.cli", *args], capture_output=True, text=True, cwd=cwd
    )


def test_demo_cli_reports_accuracies_and_writes_outputs(tmp_path) -> None:
    r = picoq(*shlex.split(cli.EXAMPLES["demo"])[1:], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    m = re.search(r"accuracy, 300 test images\s+([\d.]+) %\s+([\d.]+) %", r.stdout)
    assert m, r.stdout
    float_acc, int8_acc = float(m.group(1)), float(m.group(2))
    assert float_acc > 95 and abs(int8_acc - float_acc) <= 2
    out = tmp_path / "demo_out"
    assert (out / "digits.picoq").stat().st_size > 0
    assert list((out / "digits_fw").glob("*.c"))
    # the commands the report suggests run as printed
    for line in r.stdout.splitlines():
        if line.startswith("  picoq "):
            hint = picoq(*shlex.split(line)[1:], cwd=tmp_path)
            assert hint.returncode == 0, (line, hint.stderr)


def test_run_demo_numbers(tmp_path) -> None:
    r = run_demo(tmp_path / "d", progress=False, report=False)
    assert r["n_test"] == 300 and r["float_accuracy"] > 0.95
    assert r["int8_accuracy"] >= r["float_accuracy"] - 0.02
    assert r["picoq_bytes"] < r["onnx_bytes"] / 2 and r["arena_bytes"] > 0 and r["latency_us"] > 0
    it = Interpreter(r["picoq"])
    with np.load(SAMPLE) as z:
        assert z["x_test"].dtype == np.float32 and z["x_test"].shape[1:] == it.input_details[0]["shape"][1:]


def test_assets_are_small_and_regenerate(tmp_path) -> None:
    import onnx  # test dependencies, like scikit-learn which the asset script uses

    assert MODEL.stat().st_size + SAMPLE.stat().st_size < 200_000
    script = ASSETS / "make_demo_assets.py"
    assert script.exists(), "the script that regenerates the demo assets lives beside them"
    r = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # the data is exact; the trained weights are too on one BLAS build (byte-identical here),
    # and within float rounding on another
    assert (tmp_path / "digits_sample.npz").read_bytes() == SAMPLE.read_bytes()
    new, old = onnx.load(tmp_path / "digits_cnn.onnx"), onnx.load(MODEL)
    assert [n.op_type for n in new.graph.node] == [n.op_type for n in old.graph.node]
    for a, b in zip(new.graph.initializer, old.graph.initializer):
        np.testing.assert_allclose(
            onnx.numpy_helper.to_array(a), onnx.numpy_helper.to_array(b), rtol=1e-3, atol=1e-4
        )


def test_assets_ship_in_the_wheel() -> None:
    setup = (Path(__file__).parent.parent / "setup.py").read_text()
    assert '"demo_assets/*.onnx"' in setup and '"demo_assets/*.npz"' in setup
