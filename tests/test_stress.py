"""Load under stress: many create / run / free cycles with flat memory, many interpreters on many
Python threads, one interpreter shared between threads, all checked byte for byte against the
reference kernels, in the normal build and in the ASan + UBSan build (conftest's sanitized_lib).

- 100,000 create / run / free cycles (tests/support/stress.py `cycles`: tiny_mlp and a one-conv
  model; tiny_convnet, tiny_resnet and op_chain (the other ops) every 50th; reference and fast kernels on every ISA at 1,
  2 and 3 threads with every op split, so pools start and stop; every calling path, wrong
  inputs raising in between, failed creations, interpreters freed by the cycle collector with
  their pool alive, models mmap'd from files): VmRSS after the first 10% (at most 10,000) cycles and at the end differ by
  less than 4 MB (a leak of 100 bytes a cycle would be ~9 MB; measured: +12 kB), CPython's
  allocated blocks by less than 2,000, every output is right and the OS thread count and the
  open file descriptors are back where they were. Under ASan PICOQ_STRESS_ASAN_CYCLES cycles (default 12,000: ~1 ms a cycle
  there); PICOQ_STRESS_CYCLES sets both counts (=100000 for the full run under ASan).
- LeakSanitizer on in Python (PYTHONMALLOC=malloc): 2,500 cycles leave nothing but CPython's
  own few blocks at exit.
- 16 Python threads each creating, running and freeing interpreters at once.
- One interpreter called from 8 threads at once. Before the interpreter had a lock this
  corrupted memory: the threads' invokes shared the arena's scratch (UBSan: a wild pointer in
  the AVX2 GEMM; the normal build segfaulted with num_threads > 1, two threads in one pool) or
  gave wrong outputs. Now calls are serialized (runtime/_interp.pyx, Core's lock); the lock's
  own tests: waiting, re-entrance, release on errors, a fork() child of a holding thread.
- The C core alone (tests/c/pq_stress_main.c), where CPython's allocations do not blur the
  picture: create / run / free cycles on 1 and 4 POSIX threads under ASan + UBSan with
  LeakSanitizer on (a canary leak proves it live), and under ThreadSanitizer.
"""

from __future__ import annotations

import gc
import json
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from picoq.runtime import Interpreter, _interp, kernels_dir

from support import stress
from support.sanitized_build import run_sanitized, sanitizer_reported

TESTS = Path(__file__).resolve().parent
KDIR = Path(kernels_dir())
CYCLES = int(os.environ.get("PICOQ_STRESS_CYCLES", "100000"))
ASAN_CYCLES = int(os.environ.get("PICOQ_STRESS_ASAN_CYCLES", os.environ.get("PICOQ_STRESS_CYCLES", "12000")))
RSS_GROWTH_KB = 4096
BLOCKS_GROWTH = 2000

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads /proc (Linux)")


def _check_cycles(fig: dict, errors: list[str], per_worker_kb: int = 0) -> None:
    assert not errors, errors[:5]
    growth = fig["rss_end_kb"] - fig["rss_warm_kb"]
    bound = RSS_GROWTH_KB + per_worker_kb * fig["workers_after_warm"]
    assert growth < bound, f"RSS grew {growth} kB over {fig['cycles'] - fig['warmup']} cycles: {fig}"
    assert fig["blocks_end"] - fig["blocks_warm"] < BLOCKS_GROWTH, fig
    assert fig["threads_after"] == fig["threads_before"], fig
    assert fig["fds_after"] == fig["fds_before"], fig  # every 17th model came from a file (mmap)


def test_create_run_free_cycles_flat_memory() -> None:
    fig, errors = stress.cycles(CYCLES)
    print(json.dumps(fig))
    _check_cycles(fig, errors)


SANITIZED = """
import json, picoq.runtime._interp as core
assert core.__file__.startswith({lib!r}), core.__file__  # the sanitized build, not the installed one
from support import stress
fig, errors = stress.{call}
print(json.dumps([fig, errors]), flush=True)
"""
# A small quarantine (ASan's default holds 256 MB of freed blocks) so that RSS settles.
ASAN_STRESS_OPTIONS = "detect_leaks=0:abort_on_error=0:exitcode=99:quarantine_size_mb=16"
# ASan itself keeps some RSS for every thread ever created (gcc 12's libasan: a C program that
# only creates and joins threads grows 5.5 kB a thread, uninstrumented not at all; the full
# 100,000 cycles here grew 8 MB over 40,500 workers, 0.2 kB each, and 44 kB over 30,000
# cycles that started none): the bound under ASan allows 2 kB for each worker started after
# the warm-up. The normal build's run, whose bound has no such allowance, LeakSanitizer in
# Python and the C core under LeakSanitizer cover the workers.
ASAN_KB_PER_THREAD = 2


def _sanitized(lib: Path, call: str) -> tuple[dict, list[str]]:
    r = run_sanitized(lib, SANITIZED.format(lib=str(lib), call=call), asan_options=ASAN_STRESS_OPTIONS)
    assert r.returncode == 0 and not sanitizer_reported(r), (r.stdout + r.stderr)[-4000:]
    fig, errors = json.loads(r.stdout.strip().splitlines()[-1])
    print(json.dumps(fig))
    return fig, errors


def test_create_run_free_cycles_under_asan(sanitized_lib: Path) -> None:
    _check_cycles(*_sanitized(sanitized_lib, f"cycles({ASAN_CYCLES})"), per_worker_kb=ASAN_KB_PER_THREAD)


# LeakSanitizer in Python. PYTHONMALLOC=malloc: CPython's objects become malloc blocks LSan
# scans (pymalloc's arenas are mmap'd, so whatever objects there point to would all look
# leaked). What is left at exit is then CPython's own, the same whatever the load: 3,120 bytes
# in 53 blocks after 500 and after 6,000 cycles alike (the unwinder stops in libpython, so a
# suppression file cannot tell them from ours: a bound on the total does, and no leaked block
# may have been allocated under the extension's frames). A leak of 8 bytes a cycle exceeds the
# bound; a canary build that never freed the pool's block reported 1,461,888 bytes in 752
# blocks allocated in Core._start_threads.
LSAN_CYCLES = 2500
LSAN_BOUND = 16384
LSAN_OPTIONS = "detect_leaks=1:abort_on_error=0:exitcode=99:quarantine_size_mb=16"


def test_no_leak_under_leak_sanitizer_in_python(sanitized_lib: Path) -> None:
    code = SANITIZED.format(lib=str(sanitized_lib), call=f"cycles({LSAN_CYCLES})")
    r = run_sanitized(sanitized_lib, code, asan_options=LSAN_OPTIONS, PYTHONMALLOC="malloc")
    assert r.stdout.strip(), r.stderr[-4000:]
    fig, errors = json.loads(r.stdout.strip().splitlines()[-1])
    assert not errors, errors[:5]
    others = r.stderr.replace("ERROR: LeakSanitizer", "")
    assert "ERROR: AddressSanitizer" not in others and "runtime error" not in others, r.stderr[-4000:]
    leaked = re.search(r"SUMMARY: AddressSanitizer: (\d+) byte\(s\) leaked", r.stderr)
    total = int(leaked.group(1)) if leaked else 0
    print(json.dumps({"cycles": fig["cycles"], "leaked_bytes_at_exit": total}))
    assert total < LSAN_BOUND, r.stderr[-4000:]
    assert "_interp" not in r.stderr, r.stderr[-4000:]


def _check_threads(fig: dict, errors: list[str]) -> None:
    assert not errors, errors[:5]
    assert fig["threads_peak"] > fig["python_threads"] + fig["threads_before"], fig  # workers ran
    assert fig["threads_after"] == fig["threads_before"], fig  # and are all gone


def test_many_interpreters_on_many_python_threads() -> None:
    _check_threads(*stress.many_threads(16, 120, seed=1))


def test_many_interpreters_on_many_python_threads_under_asan(sanitized_lib: Path) -> None:
    _check_threads(*_sanitized(sanitized_lib, "many_threads(16, 40, seed=2)"))


def test_one_interpreter_shared_by_threads() -> None:
    fig, errors = stress.shared(8, 150)
    assert not errors, errors[:5]


def test_one_interpreter_shared_by_threads_under_asan(sanitized_lib: Path) -> None:
    """The regression test of the race: before the lock, UBSan stopped this run at once."""
    fig, errors = _sanitized(sanitized_lib, "shared(8, 60)")
    assert not errors, errors[:5]


TSAN_PYTHON = """
import json, picoq.runtime._interp as core
assert core.__file__.startswith({lib!r}), core.__file__
from support import stress
runs = [stress.shared(4, 40), stress.many_threads(6, 15, seed=4), stress.cycles(1000)]
print(json.dumps([e for _, errors in runs for e in errors]), flush=True)
"""


@pytest.mark.skipif(
    os.environ.get("PICOQ_STRESS_TSAN") != "1",
    reason="PICOQ_STRESS_TSAN=1 builds the extension once more, under ThreadSanitizer (~1.5 min of CPU)",
)
def test_threads_under_thread_sanitizer_in_python(tmp_path_factory) -> None:
    """The extension under TSan (CPython uninstrumented; its locks are pthread calls TSan sees):
    one interpreter shared by 4 threads, 6 threads of interpreters, 1,000 cycles. Without the
    interpreter's lock TSan reports the shared interpreter's races in the kernels at once."""
    from support.sanitized_build import build_sanitized, gcc_runtime

    lib = build_sanitized(tmp_path_factory.mktemp("tsan"), "thread")
    r = run_sanitized(
        lib,
        TSAN_PYTHON.format(lib=str(lib)),
        preload=gcc_runtime("libtsan.so"),
        TSAN_OPTIONS="halt_on_error=1:exitcode=97",
    )
    assert r.returncode == 0 and "ThreadSanitizer" not in r.stderr, (r.stdout + r.stderr)[-4000:]
    assert json.loads(r.stdout.strip().splitlines()[-1]) == []


# *** the lock ***


@pytest.fixture
def mlp() -> stress.Case:
    return stress.cases()["tiny_mlp"]


def _run_in_thread(fn) -> tuple[threading.Thread, list]:
    out: list = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    return t, out


def test_calls_wait_for_the_lock(mlp: stress.Case) -> None:
    """While one thread holds an interpreter, another's run / invoke / set_input waits for it."""
    it = Interpreter(mlp.model, num_threads=2)
    for call in (
        lambda: it.run(mlp.xs[1]),
        lambda: it.run(mlp.xs_float[1]),
        lambda: it.invoke(),
        lambda: it.set_input(0, mlp.xs[1]),
        lambda: it.get_output(0),
    ):
        with it._core:
            it.set_input(0, mlp.xs[0])  # the holder may go on (re-entrant)
            t, out = _run_in_thread(call)
            t.join(0.3)
            assert t.is_alive() and not out  # waiting
            it.invoke()
            assert np.array_equal(it.get_output(0), mlp.want[0])  # nothing came in between
        t.join(10)
        assert not t.is_alive() and len(out) == 1
    assert np.array_equal(it.run(mlp.xs[2]), mlp.want[2])


def test_lock_released_on_errors(mlp: stress.Case) -> None:
    it = Interpreter(mlp.model)
    with pytest.raises(ZeroDivisionError):
        with it._core:
            1 / 0  # noqa: B018
    with pytest.raises(ValueError):
        it.run(mlp.xs[0][:, :-1])
    t, out = _run_in_thread(lambda: it.run(mlp.xs[3]))
    t.join(10)
    assert out and np.array_equal(out[0], mlp.want[3])
    with pytest.raises(RuntimeError, match="does not hold"):
        it._core.__exit__(None, None, None)


def test_core_initialized_once(mlp: stress.Case) -> None:
    """A second __init__ would start a second pool over the first (its threads never joined)."""
    it = Interpreter(mlp.model, num_threads=2)
    with pytest.raises(RuntimeError, match="once"):
        it._core.__init__(it.model, np.frombuffer(it._buf, np.uint8), it._arena, num_threads=2)
    assert np.array_equal(it.run(mlp.xs[0]), mlp.want[0])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_forked_child_runs_while_a_parent_thread_held_the_lock(mlp: stress.Case) -> None:
    """The child of a fork() made while another thread held the interpreter does not wait for a
    thread it does not have: the lock is renewed there."""
    it = Interpreter(mlp.model, num_threads=2)
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        with it._core:
            held.set()
            done.wait(30)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(10)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            code = 0 if all(np.array_equal(it.run(x), w) for x, w in zip(mlp.xs, mlp.want)) else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 30
    while (r := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    if r[0] == 0:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    done.set()
    t.join()
    assert r[0] == pid and os.WIFEXITED(r[1]) and os.WEXITSTATUS(r[1]) == 0, "the child hung or failed"
    assert np.array_equal(it.run(mlp.xs[0]), mlp.want[0])


# *** freeing ***


def test_interpreters_freed_with_their_pools(monkeypatch) -> None:
    """Interpreters whose workers are spinning (just ran), asleep, or never ran, freed by refcount,
    by the cycle collector, and by the cycle collector on another Python thread."""
    monkeypatch.setattr(_interp, "PARALLEL_MIN_NS", 0)
    cases = stress.cases()
    gc.collect()
    before = stress.os_threads()
    for c in (cases["tiny_conv"], cases["tiny_convnet"]):
        for state in ("spinning", "asleep", "idle"):
            for how in ("refcount", "gc", "gc on another thread"):
                it = Interpreter(c.model, num_threads=3)
                assert stress.os_threads() == before + 2
                if state != "idle":
                    assert np.array_equal(it.run(c.xs[0]), c.want[0])
                if state == "asleep":
                    time.sleep(0.05)  # workers sleep 0.2 ms after their last part
                if how != "refcount":
                    it.cycle = it
                del it
                if how == "gc":
                    gc.collect()
                elif how == "gc on another thread":
                    t = threading.Thread(target=gc.collect)
                    t.start()
                    t.join()
                assert stress.settle_threads(before) == before, (c.name, state, how)


# *** the C core alone: LeakSanitizer and ThreadSanitizer ***


C_BUILDS = {
    "asan": ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"],
    "tsan": ["-fsanitize=thread"],
}
# Cycles per run (the smaller models more): the (model, cycles) pairs of the C runs.
C_CYCLES = {"tiny_mlp": 300, "tiny_conv": 300, "tiny_convnet": 100, "tiny_resnet": 50, "op_chain": 100}


def _tsan_works(tmp: Path) -> bool:
    probe = subprocess.run(
        ["gcc", "-fsanitize=thread", "-x", "c", "-", "-o", str(tmp / "probe"), "-pthread"],
        input="int main(void){return 0;}",
        capture_output=True,
        text=True,
    )
    return probe.returncode == 0 and subprocess.run([str(tmp / "probe")]).returncode == 0


@pytest.fixture(scope="module")
def c_stress(tmp_path_factory) -> dict[str, Path]:
    """tests/c/pq_stress_main.c with every kernel source, built by gcc under ASan + UBSan and under
    TSan (where gcc has it), the two compilers at once; -O0, a third of -O1's compile time."""
    assert shutil.which("gcc"), "gcc is needed"
    tmp = tmp_path_factory.mktemp("stress_c")
    srcs = [str(p) for p in sorted((KDIR / "src").rglob("*.c"))]
    base = ["gcc", "-std=c99", "-O0", "-g", "-Wall", "-Wextra", "-Werror", "-DPQ_WITH_FAST_KERNELS=1"]
    base += ["-I", str(KDIR / "include"), str(TESTS / "c" / "pq_stress_main.c"), *srcs, "-pthread"]
    builds = {name: flags for name, flags in C_BUILDS.items() if name != "tsan" or _tsan_works(tmp)}
    procs = {
        name: subprocess.Popen([*base, *flags, "-o", str(tmp / name)], stderr=subprocess.PIPE, text=True)
        for name, flags in builds.items()
    }
    for name, proc in procs.items():
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, (name, err[-3000:])
    return {name: tmp / name for name in procs}


@pytest.fixture(scope="module")
def c_models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("stress_models")
    paths = {}
    for name, c in stress.cases().items():
        paths[name] = folder / f"{name}.picoq"
        paths[name].write_bytes(c.model)
    return paths


def _run_c(exe: Path, model: Path, cycles: int, threads: int, env: dict, *extra: str):
    return subprocess.run(
        [str(exe), str(model), str(cycles), str(threads), *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_c_core_cycles_leak_free_under_asan(c_stress: dict[str, Path], c_models: dict[str, Path]) -> None:
    """Plan / allocate / prepare / run / free in C under ASan + UBSan, LeakSanitizer on: every
    byte the core, the pool and the workers' scratch take is given back."""
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1", UBSAN_OPTIONS="print_stacktrace=1")
    for name, model in c_models.items():
        for threads, cycles in ((1, C_CYCLES[name]), (4, C_CYCLES[name] // 3)):
            r = _run_c(c_stress["asan"], model, cycles, threads, env)
            assert r.returncode == 0 and r.stdout.strip() == "ok", (
                name,
                threads,
                r.stdout + r.stderr[-3000:],
            )
            assert "Sanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr[-3000:]
    r = _run_c(c_stress["asan"], c_models["tiny_mlp"], 10, 1, env, "leak")  # the canary
    assert r.returncode != 0 and "LeakSanitizer: detected memory leaks" in r.stderr, (
        r.stdout + r.stderr[-2000:]
    )


def test_c_core_cycles_under_thread_sanitizer(c_stress: dict[str, Path], c_models: dict[str, Path]) -> None:
    """Interpreters on 4 POSIX threads at once, each with its pool: no data race."""
    if "tsan" not in c_stress:
        pytest.skip("gcc here has no working ThreadSanitizer")
    for name, model in c_models.items():
        r = _run_c(
            c_stress["tsan"], model, C_CYCLES[name] // 6, 4, dict(os.environ, TSAN_OPTIONS="halt_on_error=1")
        )
        assert r.returncode == 0 and r.stdout.strip() == "ok", (name, r.stdout + r.stderr[-3000:])
        assert "ThreadSanitizer" not in r.stderr, r.stderr[-3000:]
