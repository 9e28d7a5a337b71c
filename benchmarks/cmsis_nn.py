"""ARM's CMSIS-NN kernels as a peer to picoq's Cortex-M kernels.

`kernel_set(cmsis_dir)` lists what a Cortex-M build needs to run a `picoq export-c`
folder on CMSIS-NN instead of picoq's kernels: `cortex_m/cmsis_nn_shim.c` (picoq's portable
kernel API, pq_kernels.h, implemented with arm_convolve_wrapper_s8,
arm_depthwise_conv_wrapper_s8, arm_fully_connected_s8, arm_elementwise_add_s8,
arm_avgpool_s8, arm_max_pool_s8 and arm_softmax_s8), the CMSIS-NN sources those need, the
include folders and defines, and the picoq kernel files the shim replaces. Compile the
export folder with `-DPQ_PORTABLE_KERNELS` so the model calls the portable names, and leave
out the files in `replaces`. `scratch_bytes(model)` gives the static scratch the shim needs
for a model (pass it as `-DPQ_CMSIS_SCRATCH=N`; the shim also checks each op at run time).

CMSIS-NN is never downloaded and never part of this repository: the user points to a
checkout with `--cmsis-nn DIR` or `$CMSIS_NN_DIR` (its `Include/` and `Source/` folders as
in ARM-software/CMSIS-NN). What falls back to picoq's reference code is said in the shim's
header comment and counted at run time in `pq_cmsis_fallbacks[]`.

A plain module: the benchmark scripts import it from this folder.
"""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHIM = HERE / "cortex_m" / "cmsis_nn_shim.c"

# The CMSIS-NN sources behind the seven wrappers on a Cortex-M with the DSP extension
# (the MVE paths of the same files are compiled out there).
CMSIS_SOURCES = (
    "Source/BasicMathFunctions/arm_elementwise_add_s8.c",
    "Source/ConvolutionFunctions/arm_convolve_1_x_n_s8.c",
    "Source/ConvolutionFunctions/arm_convolve_1x1_s8.c",
    "Source/ConvolutionFunctions/arm_convolve_1x1_s8_fast.c",
    "Source/ConvolutionFunctions/arm_convolve_get_buffer_sizes_s8.c",
    "Source/ConvolutionFunctions/arm_convolve_s8.c",
    "Source/ConvolutionFunctions/arm_convolve_wrapper_s8.c",
    "Source/ConvolutionFunctions/arm_depthwise_conv_3x3_s8.c",
    "Source/ConvolutionFunctions/arm_depthwise_conv_get_buffer_sizes_s8.c",
    "Source/ConvolutionFunctions/arm_depthwise_conv_s8.c",
    "Source/ConvolutionFunctions/arm_depthwise_conv_s8_opt.c",
    "Source/ConvolutionFunctions/arm_depthwise_conv_wrapper_s8.c",
    "Source/ConvolutionFunctions/arm_nn_mat_mult_kernel_row_offset_s8_s16.c",
    "Source/ConvolutionFunctions/arm_nn_mat_mult_kernel_s8_s16.c",
    "Source/FullyConnectedFunctions/arm_fully_connected_get_buffer_sizes_s8.c",
    "Source/FullyConnectedFunctions/arm_fully_connected_s8.c",
    "Source/NNSupportFunctions/arm_nn_mat_mult_nt_t_s8.c",
    "Source/NNSupportFunctions/arm_nn_vec_mat_mult_t_s8.c",
    "Source/NNSupportFunctions/arm_q7_to_q15_with_offset.c",
    "Source/NNSupportFunctions/arm_s8_to_s16_unordered_with_offset.c",
    "Source/PoolingFunctions/arm_avgpool_get_buffer_sizes_s8.c",
    "Source/PoolingFunctions/arm_avgpool_s8.c",
    "Source/PoolingFunctions/arm_max_pool_s8.c",
    "Source/SoftmaxFunctions/arm_nn_softmax_common_s8.c",
    "Source/SoftmaxFunctions/arm_softmax_s8.c",
)

# The model variants (cortex_m.py --variant) whose kernels the shim maps onto CMSIS-NN: only int8
# so far. A 16x8 or int4 model would run picoq's own portable s16/s4 kernels in this set, so
# cortex_m.py leaves the set out of those variants instead of reporting them as CMSIS-NN's.
VARIANTS = ("int8",)

# picoq's portable kernel files the shim defines instead (it compiles renamed copies of
# them for its fallbacks, found through kernel_set()'s include_dirs).
REPLACES = frozenset(
    {
        "pq_conv2d_s8.c",
        "pq_depthwise_conv2d_s8.c",
        "pq_fully_connected_s8.c",
        "pq_add_s8.c",
        "pq_avg_pool2d_s8.c",
        "pq_max_pool2d_s8.c",
        "pq_softmax_s8.c",
    }
)


def find_cmsis_nn(cli_value: str | os.PathLike | None = None) -> Path | None:
    """The CMSIS-NN checkout: `--cmsis-nn DIR` if given, else `$CMSIS_NN_DIR`, else None."""
    value = cli_value or os.environ.get("CMSIS_NN_DIR")
    return Path(value).expanduser().resolve() if value else None


def _kernels_dir() -> Path:
    try:
        from picoq.runtime import kernels_dir

        return Path(kernels_dir())
    except ImportError:  # a checkout without the package installed
        return HERE.parent / "runtime" / "kernels"


def kernel_set(cmsis_dir: Path) -> dict:
    """Sources, include folders, defines and replaced picoq files for a CMSIS-NN build.

    Put the export folder's own include path before these `include_dirs`; add
    `-DPQ_CMSIS_SCRATCH=<scratch_bytes(model)>` to the defines (default 4096 in the shim).
    Raises FileNotFoundError naming the first missing CMSIS-NN file.
    """
    cmsis_dir = Path(cmsis_dir)
    sources = [cmsis_dir / s for s in CMSIS_SOURCES]
    for path in [cmsis_dir / "Include" / "arm_nnfunctions.h", *sources]:
        if not path.is_file():
            raise FileNotFoundError(f"CMSIS-NN file missing: {path} (is {cmsis_dir} a CMSIS-NN checkout?)")
    kernels = _kernels_dir()
    return {
        "sources": [SHIM, *sources],
        "include_dirs": [cmsis_dir / "Include", kernels / "src" / "ref", kernels / "include"],
        "defines": ["PQ_PORTABLE_KERNELS"],
        "replaces": set(REPLACES),
    }


def _conv_scratch(in_shape, f_shape, params) -> int:
    """arm_convolve_wrapper_s8_get_buffer_size for a DSP core (GCC build)."""
    _, in_h, _, in_c = in_shape
    _, f_h, f_w, f_c = f_shape
    dil = (params.get("dilation_h", 1), params.get("dilation_w", 1))
    if (
        (params["pad_h"], params["pad_w"]) == (0, 0)
        and (f_h, f_w) == (1, 1)
        and dil == (1, 1)
        and in_c == f_c
    ):
        return 0  # arm_convolve_1x1_s8(_fast): no buffer outside Arm Compiler 6
    cols = f_w * f_h * in_c
    cols += (4 - cols % 4) % 4
    return 2 * cols * 2  # arm_convolve_s8 (arm_convolve_1_x_n_s8 uses the same on DSP)


def _dw_scratch(in_shape, f_shape, out_shape, params) -> int:
    """arm_depthwise_conv_wrapper_s8_get_buffer_size for a DSP core."""
    n, _, _, in_c = in_shape
    _, f_h, f_w, _ = f_shape
    dil = (params.get("dilation_h", 1), params.get("dilation_w", 1))
    if in_c != out_shape[3] or n != 1 or dil != (1, 1):
        return 0
    if (f_h, f_w) == (3, 3) and params["pad_h"] <= 1 and params["pad_w"] <= 1:
        return 0
    return in_c * f_w * f_h * 2


def scratch_bytes(model: str | os.PathLike) -> int:
    """The largest scratch any op of a .picoq model needs from CMSIS-NN on a Cortex-M4 (DSP)."""
    from picoq.runtime import read_model

    m = read_model(Path(model).read_bytes())
    shape = [tuple(t.shape) for t in m.tensors]

    def dims4(index):
        s = shape[index]
        return (1,) * (4 - len(s)) + s

    need = 0
    for op in m.ops:
        if op.name == "CONV_2D":
            need = max(need, _conv_scratch(dims4(op.inputs[0]), dims4(op.inputs[1]), op.params))
        elif op.name == "DEPTHWISE_CONV_2D":
            need = max(
                need, _dw_scratch(dims4(op.inputs[0]), dims4(op.inputs[1]), dims4(op.outputs[0]), op.params)
            )
        elif op.name == "AVERAGE_POOL_2D":
            need = max(need, 4 * dims4(op.inputs[0])[3])
    return need
