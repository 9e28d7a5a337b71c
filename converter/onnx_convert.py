"""Float ONNX model + calibration data -> int8 picoq Graph: import, passes, calibrate, lower."""

from __future__ import annotations

from collections.abc import Callable

from .calibrate import CalibrationSource, collect_ranges, load_samples
from .fgraph import FloatGraph
from .graph import ConversionError, Graph
from .onnx_import import ModelSource, import_onnx
from .passes import run_passes
from .quantize_graph import Lowering, check_lowerable


def prepare(source: ModelSource, before_shapes: Callable[[FloatGraph], None] | None = None) -> FloatGraph:
    """The float graph picoq quantizes: imported, folded and fused, every op lowerable
    (`before_shapes`: see onnx_import.import_onnx). Raises one ConversionError listing every
    problem found by the import, the passes and the lowering check."""
    fg = run_passes(import_onnx(source, before_shapes))
    check_lowerable(fg)
    return fg


def convert_onnx(
    source: ModelSource,
    calibration: CalibrationSource | None,
    method: str = "minmax",
    per_tensor: bool = False,
    percentile: float = 99.99,
    progress: bool = True,
) -> Graph:
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
    ranges = collect_ranges(fg, samples, method=method, percentile=percentile, progress=progress)
    return Lowering(fg, ranges, per_channel=not per_tensor).run()
