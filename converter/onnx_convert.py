"""Float ONNX model + calibration data -> int8 picoq Graph: import, passes, calibrate, lower."""

from __future__ import annotations

from .calibrate import CalibrationSource, collect_ranges, load_samples
from .fgraph import FloatGraph
from .graph import ConversionError, Graph
from .onnx_import import ModelSource, load_onnx
from .passes import run_passes
from .quantize_graph import Lowering, check_lowerable


def prepare(source: ModelSource) -> FloatGraph:
    """The float graph picoq quantizes: imported, folded and fused, every op lowerable."""
    fg = run_passes(load_onnx(source))
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
    fg = prepare(source)
    if calibration is None:
        raise ConversionError(
            ["a float model needs calibration data to choose its int8 activation ranges"],
            hint="Pass calibration=... (API) or --calib data.npy (CLI): about 100 representative inputs.",
        )
    samples = load_samples(calibration, fg)
    ranges = collect_ranges(fg, samples, method=method, percentile=percentile, progress=progress)
    return Lowering(fg, ranges, per_channel=not per_tensor).run()
