"""The runtimes under test, each loaded with one model behind the same three calls (``Runner``).

MLPerf Tiny ``.tflite`` section, the same model and the same int8 input for all four:

* picoq            - the .tflite converted in memory with ``picoq.converter.convert``
* tflite-micro     - ``tflite_micro.runtime.Interpreter`` (TFLM reference kernels)
* LiteRT default   - ``ai_edge_litert`` Interpreter, num_threads=1 (XNNPACK / optimized kernels)
* LiteRT reference - same, ``OpResolverType.BUILTIN_REF`` (reference kernels)

Float ONNX section: picoq against the same float model quantized by onnxruntime:

* ORT QDQ          - ``onnxruntime.quantization.quantize_static`` (QDQ, per-channel, QInt8
                     activations and weights) after ``quant_pre_process``
* ORT float        - the float model itself, for reference

torch_models.py adds picoq's ``Interpreter.run`` on the float input (``make_picoq_run``).

The ORT sessions get N intra-op threads (``--threads``, default 1) and 1 inter-op thread,
ORT_ENABLE_ALL, sequential execution; their timed call is ``InferenceSession.run``.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

PICOQ, TFLM, LITERT, LITERT_REF = "picoq", "tflite-micro", "LiteRT", "LiteRT-ref"
ORT_QDQ, ORT_FLOAT = "ORT-QDQ", "ORT-float"
# picoq at one thread beside picoq at --threads N > 1, timed in the same rounds for the speedup.
PICOQ_1T = "picoq-1t"
# picoq's Interpreter.run on the float input (quantize, invoke, dequantize), beside invoke on int8.
PICOQ_RUN = "picoq-run"
RUNTIMES: tuple[str, ...] = (PICOQ, TFLM, LITERT, LITERT_REF)
PEERS: tuple[str, ...] = (TFLM, LITERT, LITERT_REF)
FLOAT_RUNTIMES: tuple[str, ...] = (PICOQ, ORT_QDQ, ORT_FLOAT)


@dataclass
class Runner:
    """One runtime loaded with one model: the three calls the timing loop needs."""

    name: str
    set_input: Callable[[], object]
    invoke: Callable[[], object]
    get_output: Callable[[], np.ndarray]
    extra: dict[str, Any] = field(default_factory=dict)


def start(makers: dict[str, Callable[[], Runner]]) -> tuple[list[Runner], dict[str, str]]:
    """Load each runtime and invoke it once; the runners that work, and the errors of the others."""
    runners: list[Runner] = []
    errors: dict[str, str] = {}
    for name, make in makers.items():
        try:
            r = make()
            r.set_input()
            r.invoke()  # fails early here rather than inside the timing loop
            runners.append(r)
        except Exception as e:  # report and carry on with the other runtimes
            errors[name] = f"{type(e).__name__}: {e}"
            print(f"  {name}: failed: {errors[name]}", file=sys.stderr)
    return runners, errors


def final_outputs(runners: list[Runner]) -> dict[str, np.ndarray]:
    """Each runtime's output after one more invoke on its own freshly written input."""
    out: dict[str, np.ndarray] = {}
    for r in runners:
        r.set_input()
        r.invoke()
        out[r.name] = r.get_output()
    return out


# *** picoq ***


def make_picoq(picoq_bytes: bytes, x: np.ndarray, threads: int = 1, name: str = PICOQ) -> Runner:
    from picoq.runtime import Interpreter

    it = Interpreter(picoq_bytes, num_threads=threads)
    return Runner(
        name,
        set_input=lambda: it.set_input(0, x),
        invoke=it.invoke,
        get_output=lambda: it.get_output(0),
        # All the RAM picoq works in: the arena (activations and, from format 1.1, the fast
        # kernels' scratch) plus any scratch it still allocates outside (0 for 1.1 files).
        extra={
            "arena_bytes": it.arena_size + it.scratch_bytes,
            "activation_bytes": it.model.activation_bytes,
            "picoq_bytes": it.model.file_size,
        },
    )


def make_picoq_run(picoq_bytes: bytes, x: np.ndarray, threads: int = 1) -> Runner:
    """picoq's ``Interpreter.run`` on a float input: the timed call includes quantizing the input,
    copying it in and out of the arena and dequantizing the output (the float boundary)."""
    import functools

    from picoq.runtime import Interpreter

    it = Interpreter(picoq_bytes, num_threads=threads)
    return Runner(
        PICOQ_RUN,
        set_input=lambda: None,  # run() copies the input into the arena itself
        invoke=functools.partial(it.run, x),
        get_output=lambda: np.array(it.run(x), copy=True),
    )


def quantize_input(x: np.ndarray, details: dict[str, Any]) -> np.ndarray:
    """`x` as picoq's int8 input (per-tensor scale and zero point of ``input_details``), rounded half
    away from zero like ``Interpreter.run``; done outside the timing."""
    if np.dtype(details["dtype"]) != np.int8 or details["scale"] is None:
        raise RuntimeError("picoq input is not per-tensor int8")
    v = x / np.float32(details["scale"])
    return np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5) + details["zero_point"], -128, 127).astype(np.int8)


# *** tflite-micro ***


def make_tflm(path: Path, x: np.ndarray) -> Runner:
    from tflite_micro import runtime as tflm

    r = tflm.Interpreter.from_file(str(path))
    return Runner(
        TFLM,
        set_input=lambda: r.set_input(x, 0),
        invoke=r.invoke,
        get_output=lambda: np.array(r.get_output(0), copy=True),
        extra={"print_allocations": r.print_allocations},
    )


def capture_fd2(fn: Callable[[], object]) -> str:
    """Run fn with file descriptor 2 redirected; TFLM prints its allocations from C++ there."""
    libc = ctypes.CDLL(None)
    sys.stderr.flush()
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        try:
            os.dup2(tmp.fileno(), 2)
            fn()
            libc.fflush(None)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        return tmp.read().decode("utf-8", errors="replace")


def tflm_arena_total(r: Runner) -> int | None:
    try:
        text = capture_fd2(r.extra["print_allocations"])
    except Exception:  # informational only
        return None
    m = re.search(r"Arena allocation total (\d+) bytes", text)
    return int(m.group(1)) if m else None


# *** LiteRT ***


def make_litert(path: Path, x: np.ndarray, reference: bool, threads: int = 1) -> Runner:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kwargs: dict[str, Any] = {"model_path": str(path), "num_threads": threads}
    if reference:
        kwargs["experimental_op_resolver_type"] = OpResolverType.BUILTIN_REF
    it = Interpreter(**kwargs)
    it.allocate_tensors()
    in_index = it.get_input_details()[0]["index"]
    out_index = it.get_output_details()[0]["index"]
    return Runner(
        LITERT_REF if reference else LITERT,
        set_input=lambda: it.set_tensor(in_index, x),
        invoke=it.invoke,
        get_output=lambda: np.array(it.get_tensor(out_index), copy=True),
    )


# *** ONNX Runtime ***


def ort_session(model: str | Path | bytes, threads: int = 1):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    model_arg = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(model_arg, sess_options=so, providers=["CPUExecutionProvider"])


def make_ort(name: str, model: str | Path | bytes, x: np.ndarray, threads: int = 1) -> Runner:
    """onnxruntime: the feed dict is built once; ``run`` (which returns a fresh output array) is timed."""
    import functools

    sess = ort_session(model, threads)
    feeds = {sess.get_inputs()[0].name: x}
    out_names = [sess.get_outputs()[0].name]
    return Runner(
        name,
        set_input=lambda: None,  # ORT reads the feed dict on every run
        invoke=functools.partial(sess.run, out_names, feeds),
        get_output=lambda: np.array(sess.run(out_names, feeds)[0], copy=True),
    )


def ort_quantize_qdq(float_path: Path, out_path: Path, input_name: str, calib: np.ndarray) -> bool:
    """quantize_static to QDQ int8, per-channel; returns whether quant_pre_process was applied."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class CalibReader(CalibrationDataReader):
        """The rows of ``calib`` one by one, batch 1 each."""

        def __init__(self) -> None:
            self._rows = iter([{input_name: calib[i : i + 1]} for i in range(calib.shape[0])])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._rows, None)

    src = float_path
    preprocessed = False
    pre = out_path.with_name(out_path.stem + "_pre.onnx")
    try:
        quant_pre_process(str(float_path), str(pre), skip_symbolic_shape=True)
        src, preprocessed = pre, True
    except Exception as e:  # optional step: quantize the raw float model instead
        print(
            f"  quant_pre_process failed ({type(e).__name__}: {e}); quantizing the raw model", file=sys.stderr
        )
    reader = CalibReader()
    quantize_static(
        str(src),
        str(out_path),
        reader,
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
    )
    return preprocessed


def ort_optimized_ops(model_bytes: bytes) -> dict[str, int]:
    """Op counts of the graph onnxruntime actually runs (after its ORT_ENABLE_ALL rewrites)."""
    import collections

    import onnx
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.intra_op_num_threads = 1
        so.log_severity_level = 3  # no warning about the hardware-specific saved model
        so.optimized_model_filepath = str(Path(tmp) / "opt.onnx")
        ort.InferenceSession(model_bytes, sess_options=so, providers=["CPUExecutionProvider"])
        graph = onnx.load(so.optimized_model_filepath).graph
    return dict(collections.Counter(n.op_type for n in graph.node).most_common())
