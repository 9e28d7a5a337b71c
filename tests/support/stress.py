"""Load under stress, the drivers of tests/test_stress.py (also run inside the sanitized build).

`cycles(n)` creates, runs and frees `n` interpreters one after another and reports the memory
(VmRSS, CPython's allocated blocks) after a warm-up and at the end; `many_threads(...)` has
Python threads each creating, running and freeing interpreters at once; `shared(...)` has
threads calling one interpreter. Every output is compared, byte for byte, with the
reference kernels' output computed beforehand on one thread. Each returns a dict of figures
and a list of errors (empty when all went well); the caller asserts.

Every op that can be split is split (PARALLEL_MIN_NS = 0), so an interpreter with
num_threads > 1 starts and stops a pool of workers even on these small models.
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from picoq.converter import convert
from picoq.runtime import Interpreter, _interp, supported_isas

from .make_fixtures import build_tiny_convnet, build_tiny_mlp, build_tiny_resnet
from .models import build_chain, conv_model

# (kernels, isa, num_threads) of successive cycles; isa None is the default (the best).
CONFIGS = [("reference", None, 1)] + [
    ("fast", isa, nt) for nt in (1, 2, 3) for isa in (None, *supported_isas())
]


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def settle_threads(expected: int, seconds: float = 10.0) -> int:
    """The thread count once joined workers have left /proc/self/task (a moment after the join)."""
    deadline = time.monotonic() + seconds
    while (n := os_threads()) != expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return n


class Case:
    """A model, a few int8 inputs and the reference kernels' outputs for them."""

    def __init__(self, name: str, model: bytes, seed: int, n_inputs: int = 6):
        self.name, self.model = name, model
        ref = Interpreter(model, kernels="reference")
        rng = np.random.default_rng(seed)
        self.shape = ref.input_details[0]["shape"]
        self.xs = [rng.integers(-128, 128, self.shape, dtype=np.int8) for _ in range(n_inputs)]
        self.want = [ref.run(x) for x in self.xs]
        d_in, d_out = ref.input_details[0], ref.output_details[0]
        # Float in, float out: the dequantized input quantizes back to the same int8 exactly.
        self.xs_float = [
            ((x.astype(np.float32) - d_in["zero_point"]) * np.float32(d_in["scale"])) for x in self.xs
        ]
        self.want_float = [
            ((w.astype(np.int32) - d_out["zero_point"]) * np.float32(d_out["scale"])).astype(np.float32)
            for w in self.want
        ]
        assert all(np.array_equal(ref.run(xf), wf) for xf, wf in zip(self.xs_float, self.want_float))


def build_tiny_conv() -> bytes:
    """One 3x3 CONV_2D on 6x6x4: the cheapest model whose op splits (6 output rows), so that
    num_threads 2 and 3 start a pool (tiny_mlp's FULLY_CONNECTEDs are too narrow to split)."""
    return conv_model(np.random.default_rng(5), (1, 6, 6, 4), 1, 8, (3, 3), (1, 1), (1, 1), "SAME", "RELU")


def cases() -> dict[str, Case]:
    builds = [
        ("tiny_mlp", lambda: convert(build_tiny_mlp())),
        ("tiny_conv", build_tiny_conv),
        ("tiny_convnet", lambda: convert(build_tiny_convnet())),
        ("tiny_resnet", lambda: convert(build_tiny_resnet())),
        ("op_chain", lambda: convert(build_chain()[0])),  # the other ops, MAX_POOL_2D and the LUT kernels
    ]
    return {name: Case(name, build(), seed) for seed, (name, build) in enumerate(builds)}


def workers(it: Interpreter) -> int:
    """Worker threads the interpreter started (its pool serves the largest split)."""
    return max((int(s.split(":")[1]) for s in it.op_split if s), default=1) - 1


def _exercise(it: Interpreter, c: Case, i: int) -> str | None:
    """One cycle's work on a fresh interpreter, by one of the calling paths; an error or None."""
    k = i % len(c.xs)
    path = i % 13
    if path == 1:  # set_input / invoke / get_output
        it.set_input(0, c.xs[k])
        it.invoke()
        got, want = it.get_output(0), c.want[k]
    elif path == 2:  # float in, float out
        got, want = it.run(c.xs_float[k]), c.want_float[k]
    elif path == 3:  # a batch of two, item by item
        j = (k + 1) % len(c.xs)
        got = it.run(np.concatenate([c.xs[k], c.xs[j]]))
        want = np.concatenate([c.want[k], c.want[j]])
    elif path == 4:  # wrong inputs raise, and the interpreter is fine after them
        for bad in (c.xs[k][..., :-1], c.xs[k].astype(np.int16), [c.xs[k], c.xs[k]], {"nope": c.xs[k]}):
            try:
                it.run(bad)
                return f"cycle {i}: a bad input was accepted"
            except ValueError:
                pass
        bad_float = c.xs_float[k].copy()
        bad_float.flat[0] = np.nan
        try:
            it.run(bad_float)
            return f"cycle {i}: NaN was accepted"
        except ValueError:
            pass
        got, want = it.run(c.xs[k]), c.want[k]
    else:  # the common call: run1's fast path
        got, want = it.run(c.xs[k]), c.want[k]
    if not np.array_equal(got, want):
        return f"cycle {i}: {c.name} {it.kernels}/{it.isa}/{it.num_threads} threads: output differs"
    return None


def _failed_creations(c: Case) -> None:
    """Creations that fail part way: their partial state must be freed too."""
    for kwargs in ({"num_threads": 0}, {"kernels": "nope"}, {"isa": "nope"}):
        try:
            Interpreter(c.model, **kwargs)
        except ValueError:
            pass
        else:
            raise AssertionError(f"{kwargs} accepted")
    try:
        Interpreter(c.model[: len(c.model) // 2])
    except ValueError:
        pass
    else:
        raise AssertionError("a truncated model was accepted")


def cycles(n: int, warmup: int | None = None, log=None) -> tuple[dict, list[str]]:
    """`n` create / run / free cycles: tiny_mlp, tiny_conv one round of CONFIGS in four,
    tiny_convnet, tiny_resnet and op_chain in turns every 50th; kernels, ISA and thread count
    rotating over CONFIGS (num_threads 2 and 3 start and stop a pool, except on tiny_mlp and
    op_chain); every path of _exercise; every 211th cycle also failed creations, every 997th
    an interpreter freed by the cycle collector (a reference cycle) while its pool lives; every
    17th loads the model from a file (mmap'd: its mapping and descriptor must go too). Memory
    is sampled after `warmup` cycles (default n // 10, at most 10,000) and at the end."""
    old_min = _interp.PARALLEL_MIN_NS
    _interp.PARALLEL_MIN_NS = 0
    try:
        all_cases = cases()
        cheap = [all_cases["tiny_mlp"], all_cases["tiny_conv"]]
        others = [all_cases["tiny_convnet"], all_cases["tiny_resnet"], all_cases["op_chain"]]
        warmup = min(n // 10, 10_000) if warmup is None else warmup
        errors: list[str] = []
        gc.collect()
        folder = tempfile.TemporaryDirectory(prefix="picoq_stress_")
        paths = {}
        for c in all_cases.values():
            paths[c.name] = Path(folder.name) / f"{c.name}.picoq"
            paths[c.name].write_bytes(c.model)
        fig = {"cycles": n, "warmup": warmup, "rss_start_kb": rss_kb(), "threads_before": os_threads()}
        fig["fds_before"] = open_fds()
        fig["workers_started"] = fig["workers_after_warm"] = 0
        rss_max = 0
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(n):
            c = others[(i // 50) % 3] if i % 50 == 25 else cheap[(i // len(CONFIGS)) % 4 == 1]
            kernels, isa, nt = CONFIGS[i % len(CONFIGS)]
            source = paths[c.name] if i % 17 == 5 else c.model
            it = Interpreter(source, kernels=kernels, isa=isa, num_threads=nt)
            fig["workers_started"] += workers(it)
            err = _exercise(it, c, i)
            if err:
                errors.append(err)
                if len(errors) > 20:
                    break
            if i % 997 == 0:
                it.cycle = it  # only the cycle collector frees it, workers and all
            del it
            if i % 211 == 0:
                _failed_creations(c)
            if i + 1 == warmup:
                gc.collect()
                fig["rss_warm_kb"], fig["blocks_warm"] = rss_kb(), sys.getallocatedblocks()
                fig["seconds_warm"] = time.perf_counter() - t0
                fig["workers_after_warm"] = -fig["workers_started"]
            if i % 1000 == 999:
                rss_max = max(rss_max, rss_kb())
                if log is not None:
                    print(f"cycle {i + 1}: RSS {rss_kb()} kB", file=log, flush=True)
        gc.collect()
        fig["seconds"], fig["cpu_seconds"] = time.perf_counter() - t0, time.process_time() - c0
        fig["workers_after_warm"] += fig["workers_started"]
        fig["rss_end_kb"], fig["blocks_end"] = rss_kb(), sys.getallocatedblocks()
        fig["rss_max_kb"] = max(rss_max, fig["rss_end_kb"])
        fig["threads_after"] = settle_threads(fig["threads_before"])
        fig["fds_after"] = open_fds()
        folder.cleanup()
        return fig, errors
    finally:
        _interp.PARALLEL_MIN_NS = old_min


def many_threads(n_threads: int = 16, per_thread: int = 60, seed: int = 0) -> tuple[dict, list[str]]:
    """`n_threads` Python threads, started together, each creating, running (3 inputs) and
    freeing `per_thread` interpreters of random models, kernels and thread counts (1 to 3)."""
    old_min = _interp.PARALLEL_MIN_NS
    _interp.PARALLEL_MIN_NS = 0
    try:
        all_cases = list(cases().values())
        errors: list[str] = []
        gc.collect()
        before = os_threads()
        peak = [before]
        start = threading.Barrier(n_threads)

        def work(t: int) -> None:
            rng = np.random.default_rng(seed * 1000 + t)
            start.wait()
            for r in range(per_thread):
                c = all_cases[int(rng.integers(0, len(all_cases)))]
                kernels, isa, nt = CONFIGS[int(rng.integers(0, len(CONFIGS)))]
                it = Interpreter(c.model, kernels=kernels, isa=isa, num_threads=nt)
                peak[0] = max(peak[0], os_threads())
                for _ in range(3):
                    err = _exercise(it, c, int(rng.integers(0, 1 << 30)))
                    if err:
                        errors.append(f"thread {t} round {r}: {err}")
                del it

        t0 = time.perf_counter()
        threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        fig = {
            "python_threads": n_threads,
            "interpreters": n_threads * per_thread,
            "seconds": time.perf_counter() - t0,
            "threads_before": before,
            "threads_peak": peak[0],
            "threads_after": settle_threads(before),
        }
        return fig, errors
    finally:
        _interp.PARALLEL_MIN_NS = old_min


def shared(n_threads: int = 8, rounds: int = 150, num_threads: int = 3) -> tuple[dict, list[str]]:
    """One interpreter per model (num_threads, every op split) called from `n_threads` Python
    threads at once: run with int8, float and batched inputs, and profile. (set_input / invoke /
    get_output is left out: three calls, another thread's may come between them.)"""
    old_min = _interp.PARALLEL_MIN_NS
    _interp.PARALLEL_MIN_NS = 0
    try:
        all_cases = list(cases().values())
        its = [Interpreter(c.model, num_threads=num_threads) for c in all_cases]
        errors: list[str] = []
        start = threading.Barrier(n_threads)

        def work(t: int) -> None:
            start.wait()
            for r in range(rounds):
                m = (t + r) % len(all_cases)
                it, c = its[m], all_cases[m]
                k = (t * 7 + r) % len(c.xs)
                path = r % 5
                if path == 0:
                    got, want = it.run(c.xs_float[k]), c.want_float[k]
                elif path == 1:
                    j = (k + 1) % len(c.xs)
                    got = it.run(np.concatenate([c.xs[k], c.xs[j]]))
                    want = np.concatenate([c.want[k], c.want[j]])
                elif path == 2 and r % 25 == 2:
                    prof = it.profile(c.xs[k], runs=2)
                    got, want = it.get_output(0), c.want[k]  # may be another thread's: only the shape
                    if len(prof) != len(it.model.ops) or got.shape != want.shape:
                        errors.append(f"thread {t} round {r}: profile")
                    continue
                else:
                    got, want = it.run(c.xs[k]), c.want[k]
                if not np.array_equal(got, want):
                    errors.append(f"thread {t} round {r}: {c.name} path {path}: output differs")

        t0 = time.perf_counter()
        threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        fig = {"python_threads": n_threads, "runs": n_threads * rounds, "seconds": time.perf_counter() - t0}
        return fig, errors
    finally:
        _interp.PARALLEL_MIN_NS = old_min
