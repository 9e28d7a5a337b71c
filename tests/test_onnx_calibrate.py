"""Calibration: data sources, range methods, int8 parameters with 0.0 exact, the progress bar."""

from __future__ import annotations

import numpy as np
import pytest

from picoq.converter import ConversionError  # noqa: E402
from picoq.converter.calibrate import collect_ranges, load_samples  # noqa: E402
from picoq.converter.onnx_convert import prepare  # noqa: E402
from picoq.converter.qparams import activation_qparams  # noqa: E402

from support.onnx_models import conv_relu_model  # noqa: E402

M = conv_relu_model()


@pytest.fixture(scope="module")
def graph():
    return prepare(M)


def data(n=6):
    return np.random.default_rng(3).normal(size=(n, 2, 5, 5)).astype(np.float32)


def test_sources_npy_npz_folder_iterables(graph, tmp_path):
    x = data()
    np.save(tmp_path / "a.npy", x)
    np.savez(tmp_path / "b.npz", x=x[:2])
    (tmp_path / "dir").mkdir()
    np.save(tmp_path / "dir" / "0.npy", x[:3])
    np.save(tmp_path / "dir" / "1.npy", x[3])  # a single sample
    np.save(tmp_path / "dir" / "2.npy", x[4:5, None][0])  # batch-1 shaped (1, 2, 5, 5)
    cases = {
        "npy": (tmp_path / "a.npy", 6),
        "npz": (str(tmp_path / "b.npz"), 2),
        "folder": (tmp_path / "dir", 5),
        "array": (x, 6),
        "list": ([x[0], x[1:3]], 3),
        "generator": ((x[i] for i in range(4)), 4),
        "dict": ({"x": x}, 6),
    }
    for what, (src, n) in cases.items():
        got = load_samples(src, graph)
        assert got["x"].shape == (n, 1, 2, 5, 5), what


def test_bad_calibration_data_lists_every_problem(graph, tmp_path):
    with pytest.raises(ConversionError) as e:
        load_samples([np.zeros((2, 3, 5, 5)), np.zeros((7,)), np.array(["a"])], graph)
    assert len(e.value.problems) == 3
    assert "shape (2, 3, 5, 5) is neither (1, 2, 5, 5) nor a batch (N, 2, 5, 5)" in str(e.value)
    with pytest.raises(ConversionError, match="NaN or infinity"):
        load_samples(np.full((2, 2, 5, 5), np.nan, np.float32), graph)
    with pytest.raises(ConversionError, match="does not exist"):
        load_samples(tmp_path / "missing.npy", graph)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConversionError, match="holds no .npy"):
        load_samples(tmp_path / "empty", graph)
    with pytest.raises(ConversionError, match="no calibration samples"):
        load_samples([], graph)


def test_range_methods(graph):
    samples = load_samples(data(32), graph)
    mm = collect_ranges(graph, samples, "minmax", progress=False)
    x = data(32)
    assert mm["x"] == (float(x.min()), float(x.max()))
    for method in ("percentile", "mse"):
        r = collect_ranges(graph, samples, method, progress=False)
        for name, (lo, hi) in r.items():
            assert mm[name][0] <= lo <= 0.0 <= hi <= mm[name][1] + 1e-6, (method, name)
        assert r["y"][0] == 0.0  # after the fused ReLU
    pct = collect_ranges(graph, samples, "percentile", percentile=90.0, progress=False)
    assert pct["x"][1] < mm["x"][1]
    with pytest.raises(ConversionError, match="unknown calibration method"):
        collect_ranges(graph, samples, "kl", progress=False)


def test_batched_and_one_by_one_calibration_agree(graph):
    samples = load_samples(data(10), graph)
    a = collect_ranges(graph, samples, progress=False, batch_size=4)
    b = collect_ranges(graph, samples, progress=False, batch_size=1)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-6)


def test_zero_is_exactly_representable():
    rng = np.random.default_rng(5)
    for lo, hi in rng.normal(0, 10, (500, 2)):
        scale, zp = activation_qparams(lo, hi)
        assert -128 <= zp <= 127 and scale > 0
        assert (zp - zp) * np.float32(scale) == 0.0
        lo_c, hi_c = min(lo, 0.0), max(hi, 0.0)
        assert (-128 - zp) * scale <= lo_c + scale and (127 - zp) * scale >= hi_c - scale


def test_progress_bar_is_drawn(graph, capsys):
    import tqdm  # noqa: F401  (a test dependency: the progress bar under test)

    collect_ranges(graph, load_samples(data(4), graph), progress=True)
    assert "calibrating" in capsys.readouterr().err
