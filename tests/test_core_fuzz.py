"""The C core's libFuzzer targets (tests/fuzz/) in CI: 60 s each from the seed corpus, every
regression input replayed under ASan and UBSan, and the line coverage of the validator and
prepare on the seeds. The long runs and their figures: tests/fuzz/README.md."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from picoq.runtime import Interpreter, ModelFormatError, read_model
from picoq.runtime import format as fmt
from picoq.runtime._interp import arena_bytes_for

from support.fileedit import resealed
from support.fuzz_seeds import dilated_conv, write_seeds

FUZZ = Path(__file__).resolve().parent / "fuzz"
SECONDS = 60
MIN_UNITS = 20_000  # libFuzzer really ran: ~3000 executions/s here, 10x slack for a loaded CI
COVERAGE_FLOOR = 97.0  # validator + prepare lines on the seeds alone (99.1% when written)


def _load_script():
    spec = importlib.util.spec_from_file_location("fuzz_core_script", FUZZ / "fuzz_core.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


fc = _load_script()
TARGETS = list(fc.TARGETS)


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """Both targets built (ASan, UBSan, libFuzzer) and the seed corpus written."""
    assert shutil.which("clang-14") or shutil.which("clang"), "clang (firmware_examples/install_toolchain.sh)"
    out = tmp_path_factory.mktemp("corefuzz")
    fc.build(out)
    write_seeds(out / "seeds", fc.MAX_LEN)
    return out


@pytest.fixture(scope="module")
def short_runs(work: Path) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    """Each target for SECONDS from its own copy of the seeds, both at once (a core each)."""
    procs = {}
    for t in TARGETS:
        run = work / f"run-{t}"
        corpus = run / "corpus"
        corpus.mkdir(parents=True)
        for seed in (work / "seeds").iterdir():
            (corpus / seed.name).write_bytes(seed.read_bytes())
        cmd = [str(work / f"fuzz_{t}"), *fc.fuzz_args(SECONDS), str(corpus), str(fc.REGRESSIONS)]
        procs[t] = (
            subprocess.Popen(
                cmd, cwd=run, env=fc.run_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            ),
            run,
        )
    out = {}
    for t, (p, run) in procs.items():
        stdout, stderr = p.communicate(timeout=SECONDS + 240)
        out[t] = (subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr), run)
    return out


@pytest.mark.parametrize("target", TARGETS)
def test_short_fuzz_run(short_runs, target: str) -> None:
    """No crash, leak, timeout, out-of-memory or sanitizer report, and libFuzzer really ran."""
    r, run = short_runs[target]
    assert r.returncode == 0, r.stderr[-4000:]
    findings = [p.name for p in run.iterdir() if p.name.split("-")[0] in ("crash", "leak", "timeout", "oom")]
    assert not findings, findings
    units = fc.executed_units(r.stderr)
    assert units > MIN_UNITS, r.stderr[-2000:]


@pytest.mark.parametrize("target", TARGETS)
def test_regressions_replay_clean(work: Path, target: str) -> None:
    """Every input the fuzzer once failed on runs clean under the sanitizers (tests/fuzz/regressions)."""
    inputs = sorted(fc.REGRESSIONS.iterdir())
    assert inputs
    r = subprocess.run(
        [str(work / f"fuzz_{target}"), "-runs=0", *map(str, inputs)],
        capture_output=True,
        text=True,
        env=fc.run_env(),
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-4000:]
    assert r.stderr.count("Executed ") == len(inputs), r.stderr[-2000:]


def test_dilated_window_past_int32_is_refused() -> None:
    """Regression ub-conv-dilated-window-int32: a CONV_2D whose dilated filter spans more than
    2^31 rows overflowed the kernels' int32 row index; spans above 2^24 are refused."""
    data = (fc.REGRESSIONS / "ub-conv-dilated-window-int32.picoq").read_bytes()
    assert data == dilated_conv((32770, 1), (65536, 1))
    for hw, dil, param in (((32770, 1), (65536, 1), "dilation_h"), ((1, 32770), (1, 65536), "dilation_w")):
        with pytest.raises(ModelFormatError, match=f"CONV_2D.params.{param}.*more than 2\\^24"):
            read_model(dilated_conv(hw, dil))
    read_model(dilated_conv((4096, 1), (4097, 1)))  # 4095 * 4097 + 1: exactly 2^24 rows is fine


def test_dilated_depthwise_scratch_is_bounded() -> None:
    """Regression oom-dwconv-dilated-padded-copy: its DEPTHWISE_CONV_2D's dilation spans far
    past the 48x48 image, and the fast kernel's zero-point-padded copy of the image made
    pq_interp_plan ask for a 2.25 GB arena; the fast kernel now declines, the reference runs it."""
    data = resealed(bytearray((fc.REGRESSIONS / "oom-dwconv-dilated-padded-copy.picoq").read_bytes()))
    m = read_model(data)
    assert [op.name for op in m.ops] == ["DEPTHWISE_CONV_2D"]
    assert arena_bytes_for(m, "fast") < m.arena_size + (1 << 20)  # was 2.25 GB
    x = np.random.default_rng(0).integers(-128, 128, m.tensors[m.inputs[0]].shape, np.int8)
    fast, ref = Interpreter(data, kernels="fast"), Interpreter(data, kernels="reference")
    assert fast.op_kernels == ["reference"]
    np.testing.assert_array_equal(fast.run(x), ref.run(x))


def test_dictionary_names_the_format() -> None:
    """picoq.dict holds the magic, every section tag and every op code of the registry."""
    text = (FUZZ / "picoq.dict").read_text()
    tokens = set()
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            raw = line.split("=", 1)[1].strip().strip('"')
            tokens.add(raw.encode("latin-1").decode("unicode_escape").encode("latin-1"))
    assert fmt.MAGIC in tokens
    for tag in (*fmt.SECTION_TAGS, fmt.SCRATCH_TAG):
        assert tag in tokens, tag
    for code in fmt.OPS:
        assert code.to_bytes(2, "little") + b"\x01\x00" in tokens, fmt.OPS[code].name


def test_validator_and_prepare_coverage(tmp_path: Path) -> None:
    """Line coverage of the validator and prepare (clang source-based coverage) when the seeds
    and the regression inputs are replayed through both targets: at least COVERAGE_FLOOR."""
    for name in ("clang", "llvm-profdata", "llvm-cov"):
        assert shutil.which(f"{name}-14") or shutil.which(name), f"{name} (clang 14's tools) is needed"
    seeds = tmp_path / "seeds"
    write_seeds(seeds, fc.MAX_LEN)
    exes = fc.build_coverage(tmp_path / "cov")
    corpora = {t: [seeds, fc.REGRESSIONS] for t in TARGETS}
    result = fc.coverage(exes, corpora, tmp_path / "profile")
    hit, n = result["TOTAL"]
    assert n > 1000 and 100 * hit / n >= COVERAGE_FLOOR, result
