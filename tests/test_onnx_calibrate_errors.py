"""Bad calibration data gets one ConversionError naming the input, the item or file and what is wrong."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import numpy as np
import onnx
import pytest

from picoq.converter import ConversionError, convert  # noqa: E402
from picoq.converter.calibrate import load_samples  # noqa: E402
from picoq.converter.onnx_convert import prepare  # noqa: E402

from support.onnx_models import conv_relu_model  # noqa: E402

M = conv_relu_model()
GOOD = np.random.default_rng(3).normal(size=(4, 2, 5, 5)).astype(np.float32)


@pytest.fixture(scope="module")
def graph():
    return prepare(M)


def refused(source, graph) -> str:
    with pytest.raises(ConversionError) as e:
        load_samples(source, graph)
    return str(e.value)


def test_non_finite_values_name_the_item_and_the_index(graph):
    x = GOOD.copy()
    x[2, 1, 3, 4] = np.nan
    msg = refused([GOOD[0], x], graph)
    assert (
        "calibration item 1, input 'x': contains NaN or infinity (1 value(s), the first at index (2, 1, 3, 4)"
        in msg
    )
    msg = refused(np.full((2, 2, 5, 5), np.inf), graph)
    assert "calibration array, input 'x': contains NaN or infinity (100 value(s)" in msg
    big = GOOD.astype(np.float64)
    big[0, 0, 0, 0] = 1e300
    assert "values beyond the float32 range (e.g. 1e+300)" in refused(big, graph)


@pytest.mark.parametrize(
    "bad, why",
    [
        (np.array([["a"] * 5] * 5), "dtype <U1 is not numeric"),
        (GOOD.astype(np.complex64), "dtype complex64 is not numeric"),
        (GOOD > 0, "dtype bool is not numeric"),
        ({"x": object()}, "not a numeric array (it holds Python objects: object)"),
        ([[1.0, 2.0], [3.0]], "not an array (setting an array element with a sequence"),
        (np.zeros((3, 2, 5)), "shape (3, 2, 5) is neither (1, 2, 5, 5) nor a batch (N, 2, 5, 5)"),
        (np.zeros((0, 2, 5, 5), np.float32), "input 'x': no samples (shape (0, 2, 5, 5))"),
        ({"a": GOOD, 3: GOOD}, "no data for input(s) ['x'] (keys: ['3', 'a'])"),
        (b"\x00" * 64, "calibration data of type bytes: give arrays or a path"),
        (3.5, "calibration data of type float is not supported"),
    ],
)
def test_wrong_types_shapes_and_keys_are_named(graph, bad, why):
    assert why in refused([bad] if isinstance(bad, list) else bad, graph)


def test_many_bad_items_are_listed_up_to_a_limit(graph):
    with pytest.raises(ConversionError) as e:
        load_samples([np.zeros(7)] * 50, graph)
    assert len(e.value.problems) == 21 and e.value.problems[-1] == "... and 30 more"


def test_files_and_folders(graph, tmp_path):
    np.save(tmp_path / "good.npy", GOOD)
    raw = (tmp_path / "good.npy").read_bytes()
    (tmp_path / "truncated.npy").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "text.npy").write_text("1, 2, 3\n")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "good.npz", x=GOOD)
    (tmp_path / "cut.npz").write_bytes((tmp_path / "good.npz").read_bytes()[:100])
    cases = {
        "truncated.npy": "calibration file '{}' is a corrupt .npy file: ValueError",
        "text.npy": "calibration file '{}' is not a .npy file (it does not start like one: b'1, 2, ')",
        "objects.npy": "calibration file '{}' is a corrupt .npy file: ValueError: Object arrays cannot be loaded",
        "cut.npz": "calibration file '{}' is a corrupt .npz file: BadZipFile",
    }
    for name, why in cases.items():
        assert why.format(tmp_path / name) in refused(tmp_path / name, graph), name
    folder = tmp_path / "folder"
    folder.mkdir()
    np.save(folder / "0.npy", GOOD)
    (folder / "labels.txt").write_text("3 1 4 1")  # not calibration data: left out, not refused
    (folder / "2.npy").mkdir()  # a folder named like a file: left out too
    (folder / "1.npy").write_bytes(raw[:60])
    assert f"calibration file '{folder / '1.npy'}' is a corrupt .npy file" in refused(folder, graph)
    (folder / "1.npy").unlink()
    (folder / ".DS_Store").write_bytes(b"\0")
    assert load_samples(folder, graph)["x"].shape == (4, 1, 2, 5, 5)  # 0.npy alone
    assert zipfile.is_zipfile(tmp_path / "good.npz")


def test_cli_prints_the_error_without_a_traceback(tmp_path):
    onnx.save(M, tmp_path / "m.onnx")
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY\x01\x00garbage")
    run = subprocess.run(
        [sys.executable, "-m", "picoq.converter.cli", "convert", str(tmp_path / "m.onnx"), "-o",
         str(tmp_path / "m.picoq"), "--calib", str(tmp_path / "bad.npy")],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert (
        f"picoq convert: error: cannot convert: 1 problem(s)\n  - calibration file '{tmp_path / 'bad.npy'}'"
        in run.stderr
    )
    assert not (tmp_path / "m.picoq").exists()


def test_good_data_still_converts():
    assert convert(M, calibration=GOOD, progress=False)[:8] == b"\x89PICOQ\r\n"
