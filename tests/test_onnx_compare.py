"""`picoq compare` and the ONNX side of the CLI: per-layer errors, worst first, and a plot."""

from __future__ import annotations

import json
import math

import numpy as np
import onnx  # noqa: E402
from onnx import helper  # noqa: E402

from picoq.converter import convert  # noqa: E402
from picoq.converter.cli import main  # noqa: E402
from picoq.converter.compare import (  # noqa: E402
    LEGEND,
    cause_first,
    compare,
    expose_all,
    format_table,
    worst_first,
)
from picoq.runtime import Interpreter, read_model  # noqa: E402

from support.make_onnx_models import resnet8  # noqa: E402
from support.onnx_models import model, rand  # noqa: E402

R = np.random.default_rng(7)
# C == H == W: a wrong layout match would still have the right shape, and a bad SQNR
CUBE = model(
    [
        helper.make_node("Conv", ["x", "w", "b"], ["conv"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
        helper.make_node("Flatten", ["relu"], ["flat"], name="flat"),
        helper.make_node("Gemm", ["flat", "fw"], ["y"], transB=1, name="fc"),
    ],
    {"x": ["N", 8, 8, 8]},
    {"y": None},
    {"w": rand(R, 8, 8, 3, 3, scale=0.2), "b": rand(R, 8), "fw": rand(R, 4, 512, scale=0.05)},
)


def inputs(n, shape=(8, 8, 8), seed=0):
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype(np.float32)


def test_expose_all_keeps_the_computation():
    data = convert(CUBE, calibration=inputs(16), progress=False)
    debug, writers = expose_all(data)
    m = read_model(debug)
    assert len(m.outputs) == len(read_model(data).ops)
    assert set(writers.values()) == {"TRANSPOSE", "CONV_2D", "RESHAPE", "FULLY_CONNECTED"}
    x = inputs(2, seed=3)
    np.testing.assert_array_equal(Interpreter(debug).run(x)[0], Interpreter(data).run(x))  # outputs first


def test_compare_reports_every_layer_with_its_layout_undone():
    data = convert(CUBE, calibration=inputs(64), progress=False)
    rows = compare(CUBE, data, inputs(8, seed=1))
    by_source = {r.source: r for r in rows}
    assert {"x", "relu", "flat", "y"} <= set(by_source)
    for r in rows:
        assert r.sqnr_db > 25, r  # a layout mix-up would give about 0 dB
        assert r.max_abs_error <= 8 * r.scale
    assert [r.order for r in rows] == sorted(r.order for r in rows)
    worst = worst_first(rows)
    assert all(a.sqnr_db <= b.sqnr_db for a, b in zip(worst, worst[1:]))
    table = format_table(rows, limit=2)
    assert len(table.splitlines()) == 3 and "local dB" in table and "cumul. dB" in table
    assert table.splitlines()[1].split()[0] == cause_first(rows)[0].tensor


def test_cli_convert_compare_and_plot(tmp_path, capsys):
    onnx.save(resnet8("nchw"), tmp_path / "r.onnx")
    np.save(tmp_path / "calib.npy", inputs(32, (3, 32, 32)))
    np.save(tmp_path / "x.npy", inputs(4, (3, 32, 32), seed=2))
    rc = main(
        [
            "convert",
            str(tmp_path / "r.onnx"),
            "-o",
            str(tmp_path / "r.picoq"),
            "--calib",
            str(tmp_path / "calib.npy"),
            "--calib-method",
            "mse",
        ]
    )
    assert rc == 0 and "wrote" in capsys.readouterr().out
    args = ["compare", str(tmp_path / "r.onnx"), str(tmp_path / "r.picoq"), "--data", str(tmp_path / "x.npy")]
    assert main([*args, "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert "adding the most error first" in out and len(out.strip().splitlines()) == 2 + len(LEGEND) + 3
    assert all(line in out for line in LEGEND)
    assert main([*args, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["local_sqnr_db"] == min(r["local_sqnr_db"] for r in rows)
    assert all(math.isfinite(r["max_abs_error"]) for r in rows)
    assert main([*args, "--json", "--order", "cumulative"]) == 0  # the former order
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["sqnr_db"] == min(r["sqnr_db"] for r in rows if r["sqnr_db"] is not None)
    assert main([*args, "--no-local", "--samples", "2", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "worst first" in out and LEGEND[0] not in out and " - " in out.splitlines()[-1]
    import matplotlib  # noqa: F401  (a test dependency: --plot under test)

    assert main([*args, "--plot", str(tmp_path / "e.png")]) == 0
    assert (tmp_path / "e.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_convert_onnx_without_calibration_fails_cleanly(tmp_path, capsys):
    onnx.save(CUBE, tmp_path / "m.onnx")
    assert main(["convert", str(tmp_path / "m.onnx"), "-o", str(tmp_path / "m.picoq")]) == 1
    assert "needs calibration data" in capsys.readouterr().err
    assert not (tmp_path / "m.picoq").exists()
