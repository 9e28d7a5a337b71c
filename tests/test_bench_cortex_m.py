"""benchmarks/cortex_m.py on AD (the smallest MLPerf Tiny model, ~10 s): the timer's calibration
is exact, the counts are positive, the kernel sets' output bytes agree with each other and with
the interpreter, and QEMU's exec trace counts the same instructions as the timer.

The toolchain is not optional (CI installs it), so a missing tool fails instead of skipping.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from conftest import mlperf_path
from support.firmware import run, tool

ROOT = Path(__file__).resolve().parents[1]


def test_cortex_m_benchmark_on_ad(tmp_path: Path) -> None:
    for name in ("make", "arm-none-eabi-gcc", "qemu-system-arm"):
        tool(name)
    models = mlperf_path("ad01_int8").parent
    out = tmp_path / "ad.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "cortex_m.py"), "--only", "AD"]
    cmd += ["--models", str(models), "--json", str(out), "--trace-check", "AD"]
    text = run(cmd, timeout=120).stdout
    assert "(exact)" in text and "identical across portable, dsp" in text, text

    res = json.loads(out.read_text())
    assert res["settings"]["exact"] and res["settings"]["passes"] == 40
    assert "took 100,000 ticks (40.0000 instructions per tick)" in res["calibration"]
    assert "measured 4,003 instructions (exact)" in res["calibration"]
    ad = res["models"]["AD"]
    assert ad["outputs_identical"] and ad["output_matches_interpreter"]
    sets = ad["sets"]
    assert set(sets) == {"portable", "dsp"}
    assert len({r["output"] for r in sets.values()}) == 1
    timed = [str(op["index"]) for op in ad["ops"]]  # AD: ten FULLY_CONNECTED, all with code
    for name, r in sets.items():
        assert sorted(r["ops"]) == sorted(timed), name
        assert all(n > 0 for n in r["ops"].values()), name
        assert 0 < sum(r["ops"].values()) < r["instructions"], name
        assert 0 < r["flash_kernels"] < r["flash_total"] and r["flash_model"] > 270_000, name
        assert r["arena"] == 768 and r["bss"] >= 768 and 0 < r["stack"] <= r["stack_whole_run"], name
        trace = r["trace_check"]
        assert trace["agree"] and trace["trace"] == r["instructions"], (name, trace)
    # The DSP kernels do the same work in fewer instructions.
    assert sets["dsp"]["instructions"] < sets["portable"]["instructions"]


# --- fw16: --variant 16x8 int4 (the models derived from the int8 ones) ---


def test_cortex_m_benchmark_variants_on_ad(tmp_path: Path) -> None:
    """AD derived to 16x8 (int16 input and output through bench_main.c) and to int4 weights:
    both sets' output bytes equal the interpreter's, int16 outputs are twice the bytes, the
    int4 weights take about half the int8 model's flash."""
    for name in ("make", "arm-none-eabi-gcc", "qemu-system-arm"):
        tool(name)
    models = mlperf_path("ad01_int8").parent
    out = tmp_path / "ad.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "cortex_m.py"), "--only", "AD", "--quick"]
    cmd += ["--models", str(models), "--json", str(out), "--variant", "int8", "16x8", "int4"]
    run(cmd, timeout=180)
    res = json.loads(out.read_text())
    assert res["settings"]["variants"] == ["int8", "16x8", "int4"]
    ms = res["models"]
    assert set(ms) == {"AD", "AD-16x8", "AD-int4"}
    for key, m in ms.items():
        assert m["outputs_identical"] and m["output_matches_interpreter"], key
        assert set(m["sets"]) == {"portable", "dsp"}, key
        assert all(r["instructions"] > 0 for r in m["sets"].values()), key
    out8, out16 = (ms[k]["sets"]["portable"]["output"] for k in ("AD", "AD-16x8"))
    assert len(out16) == 2 * len(out8) == 2 * 2 * 640  # AD: 640 outputs, hex digits
    assert ms["AD-16x8"]["variant"] == "16x8" and ms["AD-16x8"]["sets"]["dsp"]["arena"] == 2 * 768
    flash8, flash4 = (ms[k]["sets"]["dsp"]["flash_model"] for k in ("AD", "AD-int4"))
    assert 0.45 * flash8 < flash4 < 0.6 * flash8


def test_cmsis_nn_set_is_left_out_of_variants_it_has_no_kernels_for(tmp_path: Path, monkeypatch) -> None:
    """The shim maps only int8 kernels (cmsis_nn.VARIANTS): on a 16x8 model the cmsis-nn set
    would run picoq's portable s16 kernels under CMSIS-NN's name, so it is not built at all.
    The CMSIS-NN folder here is empty files at the right paths: building it would fail."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import cmsis_nn

    fake = tmp_path / "CMSIS-NN"
    for rel in ("Include/arm_nnfunctions.h", *cmsis_nn.CMSIS_SOURCES):
        (fake / rel).parent.mkdir(parents=True, exist_ok=True)
        (fake / rel).write_text("")
    assert cmsis_nn.VARIANTS == ("int8",)
    models = mlperf_path("ad01_int8").parent
    out = tmp_path / "ad.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "cortex_m.py"), "--only", "AD", "--quick"]
    cmd += ["--models", str(models), "--json", str(out), "--variant", "16x8", "--cmsis-nn", str(fake)]
    text = run(cmd, timeout=120).stdout
    assert "left out: cmsis-nn" in text, text
    m = json.loads(out.read_text())["models"]["AD-16x8"]
    assert set(m["sets"]) == {"portable", "dsp"} and m["sets_left_out"] == ["cmsis-nn"]
    assert m["output_matches_interpreter"]
    # ... and the same folder on the int8 model is really built (and fails on the empty headers).
    cmd[cmd.index("16x8")] = "int8"
    assert run(cmd, timeout=120, check=False).returncode != 0


# --- end fw16 ---
