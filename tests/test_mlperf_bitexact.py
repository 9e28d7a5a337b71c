"""The official MLPerf Tiny int8 models: picoq's output bytes equal tflite-micro's, exactly.

tflite-micro (the TFLM Python interpreter, reference kernels) is the oracle. Each
model runs on 200 random int8 inputs; a single differing output byte fails.
The activations the converter planned must not exceed TFLM's planned activation
memory ("head"), measured from TFLM in the same test.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import MLPERF_INT8, mlperf_path, picoq_from_tflite
from support.tflm_oracle import TFLMRunner, tflm_arena_usage

N_INPUTS = 200


@pytest.mark.parametrize("name", MLPERF_INT8)
def test_mlperf_model_bit_exact_with_tflite_micro(name: str) -> None:
    data = mlperf_path(name).read_bytes()
    ours = picoq_from_tflite(data)
    oracle = TFLMRunner(data)
    rng = np.random.default_rng(sum(name.encode()))  # fixed per model
    shape = ours.input_details[0]["shape"]
    mismatches = 0
    outputs = []
    for _ in range(N_INPUTS):
        x = rng.integers(-128, 128, size=shape, dtype=np.int8)
        (want,) = oracle.run([x])
        got = ours.run(x)
        assert got.dtype == np.int8 and got.shape == want.shape
        mismatches += int(np.count_nonzero(got != want))
        outputs.append(got)
    assert mismatches == 0, (
        f"{name}: {mismatches} output bytes differ from tflite-micro over {N_INPUTS} inputs"
    )
    # The comparison means something only if the outputs vary with the input.
    assert len({o.tobytes() for o in outputs}) > 1


@pytest.mark.parametrize("name", MLPERF_INT8)
def test_mlperf_arena_not_larger_than_tflite_micro(name: str) -> None:
    """Like for like: TFLM's head holds the activations its reference kernels work in (they
    request no scratch), as picoq's activations do (what export-c's firmware allocates). The
    .picoq arena_size also holds the fast kernels' scratch, which TFLM's head does not."""
    data = mlperf_path(name).read_bytes()
    ours = picoq_from_tflite(data)
    tflm_head = tflm_arena_usage(data).head
    act = ours.model.activation_bytes
    assert 0 < act <= tflm_head, f"{name}: picoq activations {act} B > TFLM head {tflm_head} B"
    assert act <= ours.arena_size
