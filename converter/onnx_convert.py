"""Float ONNX model + calibration data -> int8 picoq Graph: import, passes, calibrate, lower."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .bias_correction import correct_biases
from .calibrate import CalibrationSource, collect_ranges, load_samples, sweep
from .equalize import equalize_if_better
from .fgraph import FloatGraph
from .graph import ConversionError, Graph
from .masks import settle_mask_ranges
from .onnx_import import ModelSource, import_onnx, infer_shapes
from .passes import run_passes
from .plan import plan_arena
from .precision import Precision, choose, lowered_sizes
from .quantize_graph import Lowering, check_lowerable
from .recurrent import share_step_ranges, unroll_recurrent


def prepare(source: ModelSource, before_shapes: Callable[[FloatGraph], None] | None = None) -> FloatGraph:
    """The float graph picoq quantizes: imported, folded and fused, every op lowerable
    (`before_shapes`: see onnx_import.import_onnx). Raises one ConversionError listing every
    problem found by the import, the passes and the lowering check."""
    fg = import_onnx(source, before_shapes)
    if unroll_recurrent(fg):  # the steps' tensors get their shapes
        infer_shapes(fg, {name: fg.shapes[name] for name in fg.inputs})
    fg = run_passes(fg)
    check_lowerable(fg)
    return fg


def convert_onnx(
    source: ModelSource,
    calibration: CalibrationSource | None,
    method: str = "minmax",
    per_tensor: bool = False,
    percentile: float = 99.99,
    progress: bool = True,
    weights: str = "int8",
    activations: str = "int8",
    flash_budget: int | None = None,
    ram_budget: int | None = None,
    rounding: str = "gptq",
    report: Callable[[str], None] | None = None,
    bias_correction: bool = False,
    equalize: bool = False,
) -> Graph:
    """The picoq Graph of a float ONNX model: int8 by default; `weights` "int4"/"auto" and
    `activations` "int16"/"auto" with the budgets choose other precisions (precision.py),
    and `report` receives the table saying what was chosen and why. `equalize` rescales
    consecutive layers' channels before calibration (equalize.py); `bias_correction` removes
    each layer's mean output error of weight quantization (bias_correction.py)."""
    loaded: dict[str, dict] = {}

    def check_calibration(graph: FloatGraph) -> None:  # before the float model first runs
        if calibration is None:
            raise ConversionError(
                ["a float model needs calibration data to choose its int8 activation ranges"],
                hint="Pass calibration=... (API) or --calib data.npy (CLI): about 100 representative inputs.",
            )
        loaded["samples"] = load_samples(calibration, graph)

    fg = prepare(source, check_calibration)
    samples = loaded["samples"]
    per_channel = not per_tensor
    found: dict[int, dict[str, tuple[float, float]]] = {}  # id(graph) -> its calibrated ranges

    def calibrated(g: FloatGraph) -> dict[str, tuple[float, float]]:
        if id(g) not in found:
            found[id(g)] = collect_ranges(g, samples, method=method, percentile=percentile, progress=progress)
            share_step_ranges(g, found[id(g)])
            settle_mask_ranges(g, found[id(g)])
        return found[id(g)]

    if equalize:
        reference = fg

        def score(g: FloatGraph) -> float:
            return int8_sqnr(reference, Lowering(g, calibrated(g), per_channel).run(), samples)

        fg, eq = equalize_if_better(fg, score)
        if report is not None:
            report(eq.text())
    ranges = calibrated(fg)

    def corrected(g: FloatGraph, precision: Precision) -> FloatGraph:
        """g with its biases corrected for the weights `precision` quantizes (if asked)."""
        if not bias_correction:
            return g
        g, corrections = correct_biases(fg, g, precision, per_channel, samples)
        if report is not None:
            report(f"bias correction: {len(corrections)} layer(s)")
        return g

    if (weights, activations, flash_budget, ram_budget) == ("int8", "int8", None, None):
        return Lowering(corrected(fg, Precision()), ranges, per_channel=per_channel).run()

    def measure(g: FloatGraph, precision: Precision) -> tuple[int, int]:
        graph = Lowering(g, ranges, per_channel, precision).run()
        graph.remove_unused_tensors()
        plan_arena(graph)
        return lowered_sizes(graph)

    def stats_sweep(observe) -> None:
        sweep(fg, samples, observe, "layer statistics", progress, 8)

    choice = choose(
        fg,
        samples,
        stats_sweep,
        measure,
        weights=weights,
        activations=activations,
        flash_budget=flash_budget,
        ram_budget=ram_budget,
        rounding=rounding,
        s16_ok=lambda g: missing_s16_kernels(Lowering(g, ranges, per_channel, Precision("int16")).run()),
    )
    if report is not None:
        report(choice.table())
    return Lowering(corrected(choice.fg, choice.precision), ranges, per_channel, choice.precision).run()


def missing_s16_kernels(graph: Graph) -> list[str]:
    """The ops of a graph lowered with int16 activations that run int8 (no 16x8 kernel)."""
    names = [
        op.name for op in graph.ops if op.name != "QUANTIZE" and graph.tensors[op.outputs[0]].dtype == "int8"
    ]
    return [f"{name} x{names.count(name)}" for name in dict.fromkeys(names)]


CHECK_SAMPLES = 32  # calibration samples int8_sqnr runs


def int8_sqnr(fg: FloatGraph, graph: Graph, samples: dict[str, np.ndarray]) -> float:
    """Output SQNR (dB) of a lowered graph, run by the Interpreter, against the float graph
    `fg` on the first calibration samples."""
    from picoq.runtime import Interpreter

    from . import float_run
    from .precision import sqnr_db
    from .writer import to_bytes

    graph.remove_unused_tensors()
    plan_arena(graph)
    it = Interpreter(to_bytes(graph))
    n = min(CHECK_SAMPLES, len(next(iter(samples.values()))))
    want, got = [], []
    for i in range(n):
        feeds = {k: v[i] for k, v in samples.items()}
        out = it.run(feeds if len(feeds) > 1 else next(iter(feeds.values())))
        got.append(out if isinstance(out, list) else [out])
        ref = float_run.run(fg, feeds)
        want.append([ref[name] for name in fg.outputs])
    return sqnr_db(
        [np.concatenate([w[k] for w in want]) for k in range(len(fg.outputs))],
        [np.concatenate([np.asarray(g[k], np.float32) for g in got]) for k in range(len(fg.outputs))],
    )
