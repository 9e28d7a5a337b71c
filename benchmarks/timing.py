"""Timing: warm-up, run counts, interleaved rounds, medians, and the load of other processes.

* Only ``invoke`` is timed, with ``time.perf_counter_ns`` around the Python call, the same
  way for every runtime (so each sample includes that binding's small Python call cost).
* The input is written before every timed invoke, outside the timed window: the arena
  planners (picoq's and TFLM's) reuse the input's memory for later tensors, so invoking
  twice without re-setting would run on garbage.
* Warm-up: at least 3 invokes and 0.1 s per runtime; the warm-up median sets the number
  of timed runs so each runtime gets about ``--target-seconds`` (default 1.5 s) per model,
  at least ``--min-runs`` (20) and at most ``--max-runs``; tflite-micro is capped at
  ``--tflm-max-runs``. ``--repeats N`` fixes N instead.
* Runs are spread over ``--rounds`` interleaved rounds (runtime order rotated each round),
  so slow drift of the machine (turbo, thermals, neighbours) affects all runtimes alike.
* The garbage collector is off while timing.
* The share of all CPUs that other processes used while a model was timed is recorded
  beside its timings: on a shared machine it decides what multi-thread numbers mean.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from runners import PICOQ, PICOQ_1T, TFLM, Runner


@dataclass
class Timing:
    runs: int
    median_us: float
    p90_us: float
    min_us: float
    mean_us: float
    warmup_runs: int


def add_timing_args(p: argparse.ArgumentParser) -> None:
    """The options of the warm-up, run counts and rounds (run.py and torch_models.py share them)."""
    p.add_argument("--repeats", type=int, default=None, help="timed runs per runtime (default: time-based)")
    p.add_argument("--quick", action="store_true", help="short smoke run (~0.1 s per runtime, >= 5 runs)")
    p.add_argument("--target-seconds", type=float, default=1.5, help="timed seconds per runtime per model")
    p.add_argument("--min-runs", type=int, default=20)
    p.add_argument("--max-runs", type=int, default=10_000)
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds over the runtimes")


def finish_timing_args(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """The warm-up settings, --quick's shorter ones, and the check of --repeats."""
    args.warmup_runs, args.warmup_seconds = 3, 0.1
    if args.quick:
        args.target_seconds, args.min_runs, args.rounds = 0.1, 5, 1
        args.warmup_runs, args.warmup_seconds = 2, 0.02
    if args.repeats is not None and args.repeats < 1:
        p.error("--repeats must be >= 1")


def timing_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The timing options as recorded with the results (report.machine_lines reads them)."""
    keys = ("quick", "repeats", "target_seconds", "min_runs", "max_runs", "rounds")
    return {k: getattr(args, k) for k in keys}


def time_one(r: Runner) -> int:
    """Write the input (untimed), then time one invoke; nanoseconds."""
    r.set_input()
    invoke = r.invoke
    t0 = time.perf_counter_ns()
    invoke()
    t1 = time.perf_counter_ns()
    return t1 - t0


def warm_up(r: Runner, min_runs: int, min_seconds: float) -> list[int]:
    samples: list[int] = []
    start = time.perf_counter()
    while len(samples) < min_runs or time.perf_counter() - start < min_seconds:
        samples.append(time_one(r))
        if len(samples) >= 10_000:
            break
    return samples


def plan_runs(warm: Sequence[int], args: argparse.Namespace, name: str) -> int:
    if args.repeats is not None:
        n = args.repeats
    else:
        est_ns = float(np.median(warm[len(warm) // 2 :]))  # later warm-up runs: past first-call costs
        n = math.ceil(args.target_seconds * 1e9 / max(est_ns, 1.0))
        n = min(max(n, args.min_runs), args.max_runs)
    if name == TFLM:
        n = min(n, args.tflm_max_runs)
    return max(n, 1)


def measure(runners: list[Runner], args: argparse.Namespace) -> dict[str, Timing]:
    """Warm up every runner, then time them in interleaved rounds; one Timing per runner."""
    warm = {r.name: warm_up(r, args.warmup_runs, args.warmup_seconds) for r in runners}
    planned = {r.name: plan_runs(warm[r.name], args, r.name) for r in runners}
    samples: dict[str, list[int]] = {r.name: [] for r in runners}
    rounds = max(1, min(args.rounds, min(planned.values())))
    gc.collect()
    gc.disable()
    try:
        for k in range(rounds):
            order = runners[k % len(runners) :] + runners[: k % len(runners)]
            for r in order:
                n_total = planned[r.name]
                n_here = n_total * (k + 1) // rounds - n_total * k // rounds
                s = samples[r.name]
                for _ in range(n_here):
                    s.append(time_one(r))
    finally:
        gc.enable()
    out = {}
    for r in runners:
        us = np.asarray(samples[r.name], dtype=np.float64) / 1e3
        out[r.name] = Timing(
            runs=int(us.size),
            median_us=float(np.median(us)),
            p90_us=float(np.percentile(us, 90)),
            min_us=float(us.min()),
            mean_us=float(us.mean()),
            warmup_runs=len(warm[r.name]),
        )
    return out


def _cpu_ticks() -> tuple[int, int, int] | None:
    """(busy ticks of all CPUs, all ticks, this process's ticks, threads included); Linux only."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return None
    t = os.times()
    own = round((t.user + t.system) * os.sysconf("SC_CLK_TCK"))
    return sum(fields) - fields[3] - fields[4], sum(fields), own  # minus idle and iowait


def measure_with_load(
    runners: list[Runner], args: argparse.Namespace
) -> tuple[dict[str, Timing], float | None]:
    """measure(), and the share of all CPUs that other processes used meanwhile (None if unknown):
    on a shared machine a second thread may find no free core, which decides multi-thread numbers."""
    a = _cpu_ticks()
    timings = measure(runners, args)
    b = _cpu_ticks()
    if a is None or b is None or b[1] == a[1]:
        return timings, None
    return timings, max(0.0, ((b[0] - a[0]) - (b[2] - a[2])) / (b[1] - a[1]))


def thread_speedup(timings: dict[str, Timing]) -> float | None:
    """picoq's median at one thread over its median at --threads N (None when N == 1)."""
    if PICOQ in timings and PICOQ_1T in timings:
        return timings[PICOQ_1T].median_us / timings[PICOQ].median_us
    return None
