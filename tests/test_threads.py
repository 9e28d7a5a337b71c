"""num_threads: one inference on several threads, byte-identical to one thread and to the reference.

The fast CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED kernels are split over output rows
or output channels (runtime/kernels/src/fast/pq_fast_split.c) and run by a pool of worker threads
(pq_threadpool.c). Splitting never changes arithmetic, so every thread count must give the
bytes of `kernels="reference"`. Checked here:
- the five MLPerf Tiny models at 1, 2, 3 and 4 threads (more threads than this machine's
  cores included), with the default split threshold and with every op split;
- random CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED shapes (the generators of
  tests/support/models.py) on every instruction set, every op split, output rows or channels
  fewer than the threads included;
- two interpreters invoked from two Python threads at once, interleaved;
- 200 create / run / free cycles leave no thread behind, and idle workers sleep;
- a fork()ed child still runs (on its calling thread: workers do not survive fork);
- bad num_threads values are refused; kernels="reference" stays on one thread;
- the pool itself in C: every task exactly once over 20,000 jobs, sleep / wake-up, fork and
  create / destroy cycles, also under ThreadSanitizer (tests/c/pq_threadpool_main.c), and its
  no-pthreads stub compiles as strict C99.
No timing is asserted (a liveness poll waits up to 20 s for idle workers to sleep).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from picoq.converter import convert
from picoq.runtime import Interpreter, _interp, kernels_dir, supported_isas

from conftest import MLPERF_INT8, mlperf_path
from support.models import (
    ACTS,
    conv_model,
    fc_model,
    in_qparams,
    out_qparams,
    random_channels,
    random_spatial,
    random_weights,
)
from support.tflite_builder import TFLiteGraph

ISAS = supported_isas()
THREADS = (1, 2, 3, 4)
TESTS = Path(__file__).resolve().parent
KDIR = Path(kernels_dir())
N_CASES = 25


@pytest.fixture
def split_everything(monkeypatch):
    """Split every op that can be split, however small (the default skips small ops)."""
    monkeypatch.setattr(_interp, "PARALLEL_MIN_NS", 0)


def _os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def _os_threads_settle(expected: int, seconds: float = 5.0) -> int:
    """The thread count once exiting threads are gone: pthread_join returns when the kernel
    clears the thread's tid, which happens before its task leaves /proc/self/task, so a
    joined worker can still be listed for a moment (seen under load: 7 tasks for 6)."""
    deadline = time.monotonic() + seconds
    while (n := _os_threads()) != expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return n


def _os_threads_stable(seconds: float = 5.0) -> int:
    """The thread count once it stops falling (workers of interpreters just freed leave)."""
    deadline = time.monotonic() + seconds
    n = _os_threads()
    while time.monotonic() < deadline:
        time.sleep(0.02)
        if (m := _os_threads()) == n:
            break
        n = m
    return n


def _check_threads(model: bytes, xs: list[np.ndarray], isas=(None,), threads=THREADS) -> list[list[str]]:
    """Every thread count (and ISA) gives the reference's bytes; returns op_split per thread count."""
    ref = Interpreter(model, kernels="reference")
    want = [ref.run(x) for x in xs]
    splits = []
    for isa in isas:
        for nt in threads:
            it = Interpreter(model, isa=isa, num_threads=nt)
            assert it.num_threads == nt
            for i, (x, w) in enumerate(zip(xs, want)):
                got = it.run(x)
                bad = np.flatnonzero(got != w)
                assert bad.size == 0, (
                    f"isa {it.isa}, {nt} threads, input {i}: {bad.size} of {w.size} bytes differ from the "
                    f"reference (split {it.op_split}, kernels {it.op_kernels})"
                )
            if nt == 1:
                assert it.op_split == [""] * len(it.op_split)
            splits.append(it.op_split)
    return splits


@pytest.mark.parametrize("name", MLPERF_INT8)
def test_mlperf_same_bytes_for_every_thread_count(name: str) -> None:
    model = convert(mlperf_path(name).read_bytes())
    shape = Interpreter(model, kernels="reference").input_details[0]["shape"]
    rng = np.random.default_rng(100 + len(name))
    xs = [rng.integers(-128, 128, shape, dtype=np.int8) for _ in range(8)]
    splits = _check_threads(model, xs)
    if name.startswith("pretrainedResnet"):  # their 3x3 convs pass the default threshold on any ISA
        assert all(any(s) for s in splits[1:]), splits


@pytest.mark.parametrize("name", MLPERF_INT8)
def test_mlperf_every_op_split(name: str, split_everything) -> None:
    model = convert(mlperf_path(name).read_bytes())
    shape = Interpreter(model, kernels="reference").input_details[0]["shape"]
    rng = np.random.default_rng(200 + len(name))
    xs = [rng.integers(-128, 128, shape, dtype=np.int8) for _ in range(4)]
    splits = _check_threads(model, xs, isas=ISAS, threads=(2, 3, 4))
    ops = Interpreter(model, kernels="reference").model.ops
    for split in splits:
        for op, s in zip(ops, split):
            if op.opcode in (1, 2):  # every CONV_2D and DEPTHWISE_CONV_2D of these models has rows to divide
                assert s, (op.name, split)
    if name == "ad01_int8":  # batch 1: FULLY_CONNECTED can only divide its output channels
        assert any(s.startswith("channels") for s in splits[0]), splits[0]


@pytest.mark.parametrize("seed", range(N_CASES))
def test_conv2d_threads(seed: int, split_everything) -> None:
    rng = np.random.default_rng(60_000 + seed)
    (h, w), khw, s, d, padding = random_spatial(rng)
    groups = int(rng.choice([1, 1, 1, 2, 3]))
    cin = groups * random_channels(rng, 1, 40 if groups == 1 else 12)
    cout = groups * max(1, random_channels(rng, 1, 140) // groups)
    n = int(rng.choice([1, 1, 1, 2, 3]))
    model = conv_model(rng, (n, h, w, cin), groups, cout, khw, s, d, padding, str(rng.choice(ACTS)))
    xs = [rng.integers(-128, 128, (n, h, w, cin), dtype=np.int8) for _ in range(2)]
    splits = _check_threads(model, xs, isas=ISAS, threads=(2, 3, 4))
    it = Interpreter(model)
    _, oh, ow, oc = it.model.tensors[it.model.outputs[0]].shape
    # Rows to divide (output rows; pixels in blocks of 8 for a 1x1 conv run as one GEMM), or
    # more than 128 output channels: then it is divided, on every ISA and thread count.
    rows = n * oh * ow > 8 if it.op_kernels[0] == "fast-conv-1x1" else n * oh > 1
    if rows or (groups == 1 and oc > 128):
        assert all(s[0] for s in splits), splits


@pytest.mark.parametrize(
    "shape,groups,cout,khw,s,padding",
    [
        ((1, 1, 1, 64), 1, 300, (1, 1), (1, 1), "VALID"),  # one output pixel: channels only
        ((1, 3, 3, 16), 1, 3, (3, 3), (1, 1), "SAME"),  # 3 rows and 3 channels for 4 threads
        ((1, 2, 9, 8), 1, 5, (3, 3), (2, 2), "SAME"),  # one output row, few channels
        ((1, 9, 1, 24), 1, 40, (1, 1), (1, 1), "VALID"),  # 1x1: 9 pixels = 2 GEMM row blocks
        ((3, 2, 2, 6), 3, 9, (2, 2), (1, 1), "SAME"),  # grouped (rows only), batch 3
        ((2, 11, 7, 16), 1, 70, (5, 5), (3, 2), "SAME"),  # rows cross images
    ],
)
def test_conv2d_threads_small_shapes(shape, groups, cout, khw, s, padding, split_everything) -> None:
    rng = np.random.default_rng(sum(shape) + cout)
    model = conv_model(rng, shape, groups, cout, khw, s, (1, 1), padding, "RELU")
    xs = [rng.integers(-128, 128, shape, dtype=np.int8) for _ in range(2)]
    _check_threads(model, xs, isas=ISAS, threads=(2, 3, 4, 8))


@pytest.mark.parametrize("seed", range(N_CASES))
def test_depthwise_threads(seed: int, split_everything) -> None:
    rng = np.random.default_rng(70_000 + seed)
    (h, w), (kh, kw), s, d, padding = random_spatial(rng)
    c = random_channels(rng, 1, 80)
    m = (1, 1, 1, 2, 3)[seed % 5]  # depth multiplier: the parts read the input's own rows
    n = int(rng.choice([1, 1, 2]))
    if seed < 3:  # fewer output rows than threads
        h, kh, kw, s, d, padding = 1 + seed, 1, min(kw, w), (1, s[1]), (1, 1), "VALID"
    in_s, in_zp = in_qparams(rng)
    wq, w_s = random_weights(rng, (1, kh, kw, c * m), c * m, bool(rng.integers(0, 4)))
    w_full = np.broadcast_to(w_s, (c * m,)).astype(np.float32)
    bias = rng.integers(-30000, 30000, c * m).astype(np.int32) if rng.integers(0, 4) else None
    out_s, out_zp = out_qparams(rng, in_s * float(w_full.mean()), kh * kw)
    g = TFLiteGraph()
    xt = g.input("x", (n, h, w, c), in_s, in_zp)
    wt = g.const_int8("w", wq, w_s, quantized_dimension=3)
    bt = None if bias is None else g.const_int32("b", bias, np.float32(in_s) * w_full)
    window = {"stride": s, "dilation": d, "padding": padding, "activation": str(rng.choice(ACTS))}
    g.output(g.depthwise_conv2d(xt, wt, bt, out_s, out_zp, depth_multiplier=m, **window))
    model = convert(g.build())
    xs = [rng.integers(-128, 128, (n, h, w, c), dtype=np.int8) for _ in range(2)]
    splits = _check_threads(model, xs, isas=ISAS, threads=(2, 3, 4))
    it = Interpreter(model, kernels="reference")
    out_rows = n * it.model.tensors[it.model.outputs[0]].shape[1]
    for split in splits:  # depthwise divides output rows only
        assert split[0].startswith("rows:") if out_rows > 1 else split[0] == "", splits


@pytest.mark.parametrize("seed", range(N_CASES))
def test_fully_connected_threads(seed: int, split_everything) -> None:
    rng = np.random.default_rng(80_000 + seed)
    batches = int(rng.choice([1, 1, 2, 3, 9, 17, 40]))
    depth = random_channels(rng, 1, 300)
    units = int(rng.choice([1, 3, 16, 100, 129, 300, 700]))
    # Odd seeds: no weight -128, so AVX2 runs up to 4 batches on int8 weights (their own kernel).
    wq = rng.integers(-127, 128, (units, depth), dtype=np.int8) if seed % 2 else None
    model = fc_model(rng, batches, depth, units, wq=wq)
    xs = [rng.integers(-128, 128, (batches, depth), dtype=np.int8) for _ in range(2)]
    splits = _check_threads(model, xs, isas=ISAS, threads=(2, 3, 4))
    if batches == 1 and units >= 300:  # a matrix-vector product divides its output channels
        assert all(s[0].startswith("channels") for s in splits), splits


def test_two_interpreters_on_two_python_threads() -> None:
    """Each Interpreter serves one calling thread; two of them, each with its own workers,
    invoked at the same time from two Python threads (invoke releases the GIL)."""
    models = [convert(mlperf_path(n).read_bytes()) for n in ("kws_ref_model", "pretrainedResnet_quant")]
    jobs = []
    for k, model in enumerate(models):
        ref = Interpreter(model, kernels="reference")
        rng = np.random.default_rng(k)
        xs = [rng.integers(-128, 128, ref.input_details[0]["shape"], dtype=np.int8) for _ in range(4)]
        jobs.append((Interpreter(model, num_threads=2), xs, [ref.run(x) for x in xs]))
    errors: list[str] = []
    start = threading.Barrier(len(jobs))

    def work(it: Interpreter, xs: list[np.ndarray], want: list[np.ndarray]) -> None:
        start.wait()
        for r in range(60):
            i = r % len(xs)
            if r % 3 == 2:  # the set_input / invoke / get_output path too
                it.set_input(0, xs[i])
                it.invoke()
                got = it.get_output(0)
            else:
                got = it.run(xs[i])
            if not np.array_equal(got, want[i]):
                errors.append(f"round {r}: output differs")

    threads = [threading.Thread(target=work, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:5]


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads through /proc (Linux)")
def test_create_and_free_many_interpreters(split_everything) -> None:
    """200 interpreters with workers created, run and freed: no thread is left behind,
    no hang; and workers of an idle interpreter end up asleep (no CPU spent while idle)."""
    model = convert(mlperf_path("kws_ref_model").read_bytes())
    x = np.zeros(Interpreter(model).input_details[0]["shape"], np.int8)
    want = Interpreter(model, kernels="reference").run(x)
    before = _os_threads()
    for i in range(200):
        it = Interpreter(model, num_threads=2 + i % 3)
        if i % 4 == 0:
            np.testing.assert_array_equal(it.run(x), want)
        del it
    assert _os_threads_settle(before) == before
    old = set(os.listdir("/proc/self/task"))
    it = Interpreter(model, num_threads=3)
    workers = sorted(set(os.listdir("/proc/self/task")) - old)
    assert len(workers) == 2
    it.run(x)
    deadline = time.monotonic() + 20.0
    while True:  # each spins up to 0.2 ms after its last part, then sleeps on a condition variable
        states = {}
        for tid in workers:
            try:
                states[tid] = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except FileNotFoundError:
                pass
        if all(s == "S" for s in states.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert all(s == "S" for s in states.values()), states
    del it
    assert _os_threads_settle(before) == before


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_forked_child_runs_without_workers() -> None:
    """Workers do not survive fork(): the child's interpreter runs every part itself."""
    model = convert(mlperf_path("kws_ref_model").read_bytes())
    it = Interpreter(model, num_threads=2)
    x = np.random.default_rng(5).integers(-128, 128, it.input_details[0]["shape"], dtype=np.int8)
    want = Interpreter(model, kernels="reference").run(x)
    np.testing.assert_array_equal(it.run(x), want)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            code = 0 if np.array_equal(it.run(x), want) and np.array_equal(it.run(x), want) else 2
            del it
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    np.testing.assert_array_equal(it.run(x), want)  # the parent's workers are unaffected


@pytest.mark.parametrize("bad", [0, -1, 65, 1000, 2.0, "2", True, None])
def test_bad_num_threads_refused(bad) -> None:
    model = convert(mlperf_path("ad01_int8").read_bytes())
    with pytest.raises(ValueError, match="num_threads"):
        Interpreter(model, num_threads=bad)


def test_num_threads_limits_and_reference_kernels(split_everything) -> None:
    model = convert(mlperf_path("kws_ref_model").read_bytes())
    assert Interpreter(model).num_threads == 1
    assert Interpreter(model, num_threads=np.int64(2)).num_threads == 2
    assert Interpreter(model, num_threads=64).num_threads == 64
    before = _os_threads_stable() if Path("/proc/self/task").is_dir() else None
    ref = Interpreter(model, kernels="reference", num_threads=4)
    assert ref.op_split == [""] * len(ref.op_split)  # the reference kernels stay on one thread
    if before is not None:
        assert _os_threads() == before  # and no worker is started for them


def test_pool_in_c_and_under_thread_sanitizer(tmp_path: Path) -> None:
    """tests/c/pq_threadpool_main.c against the pool: plain, and under TSan where gcc has it."""
    cc = shutil.which("gcc") or shutil.which("cc")
    assert cc, "a C compiler is needed"
    src = [str(TESTS / "c" / "pq_threadpool_main.c"), str(KDIR / "src" / "linux" / "pq_threadpool.c")]
    base = [
        cc,
        "-std=c99",
        "-Wall",
        "-Wextra",
        "-Wpedantic",
        "-Werror",
        "-O1",
        "-g",
        "-I",
        str(KDIR / "include"),
    ]
    builds = {"plain": []}
    probe = subprocess.run(
        [cc, "-fsanitize=thread", "-x", "c", "-", "-o", str(tmp_path / "probe"), "-pthread"],
        input="int main(void){return 0;}",
        capture_output=True,
        text=True,
    )
    if probe.returncode == 0 and subprocess.run([str(tmp_path / "probe")]).returncode == 0:
        builds["tsan"] = ["-fsanitize=thread"]
    for name, flags in builds.items():
        exe = tmp_path / f"pool_{name}"
        r = subprocess.run([*base, *flags, *src, "-o", str(exe), "-pthread"], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        for threads in ("2", "4", "9"):
            r = subprocess.run([str(exe), threads, "20000"], capture_output=True, text=True, timeout=600)
            assert r.returncode == 0 and r.stdout.strip() == "ok", (
                name,
                threads,
                r.stdout + r.stderr[-3000:],
            )
            assert "WARNING: ThreadSanitizer" not in r.stderr, r.stderr[-3000:]


def test_pool_stub_without_pthreads_is_strict_c99(tmp_path: Path) -> None:
    """Where POSIX threads are absent (or -DPQ_NO_THREADS) the pool compiles to a stub that
    runs every task on the caller; the interpreter then refuses num_threads > 1."""
    cc = shutil.which("gcc") or shutil.which("cc")
    assert cc
    cmd = [cc, "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-Wvla", "-ffreestanding"]
    cmd += [
        "-DPQ_NO_THREADS",
        "-I",
        str(KDIR / "include"),
        "-c",
        str(KDIR / "src" / "linux" / "pq_threadpool.c"),
    ]
    r = subprocess.run([*cmd, "-o", str(tmp_path / "stub.o")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    nm = shutil.which("nm")
    if nm:
        syms = subprocess.run([nm, str(tmp_path / "stub.o")], capture_output=True, text=True).stdout
        assert "pthread" not in syms and "pq_threadpool_run" in syms


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
