"""The C kernels and the op loop under AddressSanitizer and UndefinedBehaviorSanitizer.

A separate build of the extension (-fsanitize=address,undefined, no recovery) runs the
loader fuzz corpus in a subprocess: every mutant the validator lets through is executed by
the real op loop and kernels, so an out-of-bounds access or undefined behaviour that a file
could provoke aborts the run. A canary proves the sanitizer is live: bypassing the
validator with a bad tensor offset must be caught.
"""

from __future__ import annotations

from pathlib import Path

from support.sanitized_build import run_sanitized as _run_sanitized

# The sanitized build is conftest.py's session fixture `sanitized_lib` (support/sanitized_build.py),
# shared with tests/test_stress.py.


FUZZ = """
import picoq.runtime._interp as core, sys
assert core.__file__.startswith({lib!r}), core.__file__  # the sanitized build, not the installed one
from picoq.converter import convert
from support.make_fixtures import build_tiny_convnet, build_tiny_resnet, build_tiny_mlp
from support.picoq_mutate import fuzz
from conftest import SHARED_MODELS
models = [convert(b()) for b in (build_tiny_convnet, build_tiny_resnet, build_tiny_mlp)]
for name in ("kws_ref_model", "ad01_int8"):
    p = SHARED_MODELS / (name + ".tflite")
    if p.is_file():
        models.append(convert(p.read_bytes()))
for i, m in enumerate(models):
    print(i, dict(fuzz(m, {n}, seed=11 + i)), flush=True)
"""


def test_fuzz_corpus_runs_clean_under_asan_and_ubsan(sanitized_lib: Path) -> None:
    r = _run_sanitized(sanitized_lib, FUZZ.format(lib=str(sanitized_lib), n=1000))
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    assert "AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr
    assert len(r.stdout.strip().splitlines()) >= 3


THREADED = """
import picoq.runtime._interp as core, numpy as np
assert core.__file__.startswith({lib!r}), core.__file__
from picoq.converter import convert
from picoq.runtime import Interpreter
from support.make_fixtures import build_tiny_convnet, build_tiny_resnet, build_tiny_mlp
from conftest import SHARED_MODELS
core.PARALLEL_MIN_NS = 0  # split every op that can be split
models = [convert(b()) for b in (build_tiny_convnet, build_tiny_resnet, build_tiny_mlp)]
for name in ("kws_ref_model", "pretrainedResnet_quant", "ad01_int8"):
    p = SHARED_MODELS / (name + ".tflite")
    if p.is_file():
        models.append(convert(p.read_bytes()))
rng = np.random.default_rng(0)
for i, m in enumerate(models):
    ref = Interpreter(m, kernels="reference")
    shape = ref.input_details[0]["shape"]
    xs = [rng.integers(-128, 128, shape, dtype=np.int8) for _ in range(3)]
    want = [ref.run(x) for x in xs]
    splits = 0
    for isa in core.supported_isas():
        for nt in (2, 3):
            it = Interpreter(m, isa=isa, num_threads=nt)
            splits += sum(bool(s) for s in it.op_split)
            for x, w in zip(xs, want):
                assert np.array_equal(it.run(x), w), (i, isa, nt)
    assert splits, i
    print(i, "ok", flush=True)
"""


def test_threaded_split_kernels_run_clean_under_asan_and_ubsan(sanitized_lib: Path) -> None:
    """num_threads > 1 with every op split: the parts' restricted plans (windows of rows,
    slices of channels) and the workers' own scratch buffers stay in bounds."""
    r = _run_sanitized(sanitized_lib, THREADED.format(lib=str(sanitized_lib)))
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    assert "AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr
    assert r.stdout.count(" ok") >= 3


CANARY = """
from picoq.converter import convert
from picoq.runtime import format as fmt, read_model
from picoq.runtime._interp import Core
from support.make_fixtures import build_tiny_mlp
from support.fileedit import section as _section
import numpy as np
data = convert(build_tiny_mlp())
m = read_model(data)  # validated: the core is told so and trusts the buffer from here on
t = m.outputs[0]
end = max(x.offset + x.nbytes for x in m.tensors if not x.is_const and x.index != t)
raw = np.zeros((end + 15) // 16 * 16 + 64, np.uint8)
arena = raw[(-raw.ctypes.data) % 64 :]  # 64-aligned, ending where the allocation ends
# What the validator would refuse: the output tensor at the arena's end with a byte count of 0,
# so the arena the core plans holds every tensor but the kernel writes past its end.
buf = bytearray(data)
at = _section(data, b"TENS")[0] + t * fmt.TENSOR_DTYPE.itemsize + fmt.TENSOR_DTYPE.fields["data_offset"][1]
buf[at : at + 8] = np.array([len(arena), 0], "<u4").tobytes()
m.buf = bytes(buf)
Core(m, np.frombuffer(m.buf, np.uint8), arena, "reference").invoke()
print("not caught")
"""


def test_sanitizer_catches_an_out_of_bounds_write(sanitized_lib: Path) -> None:
    r = _run_sanitized(sanitized_lib, CANARY)
    assert r.returncode != 0 and "AddressSanitizer" in r.stderr, (r.stdout + r.stderr)[-2000:]
