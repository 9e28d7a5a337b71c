"""`picoq export-c`: the exported C computes the interpreter's bytes, on the host and on a Cortex-M4.

Each model is exported once, built with firmware_examples/host (cc) and with
firmware_examples/cortex-m (arm-none-eabi-gcc, run in QEMU's mps2-an386), and both must
print byte-identical outputs to picoq.runtime.Interpreter on the same N_INPUTS random
int8 inputs. The Cortex-M4 ELF, built with -mfloat-abi=soft, must link no soft-float
helper. The toolchain is not optional: CI installs it (firmware_examples/install_toolchain.sh),
so a missing tool fails here instead of skipping.
"""

from __future__ import annotations

import copy
import re
import shlex
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from picoq.converter import c_text, convert
from picoq.converter import export_c as ec
from picoq.converter import export_c_invoke as ec_invoke
from picoq.converter.cli import EXAMPLES
from picoq.runtime import Interpreter, read_model

from conftest import mlperf_path
from support.firmware import make, output_rows, run, tool, two_in_two_out
from support.make_fixtures import build_tiny_convnet, build_tiny_mlp, build_tiny_resnet
from support.models import build_chain
from support.tflite_builder import RandomLayers, TFLiteGraph

ROOT = Path(__file__).resolve().parents[1]
HOST_DIR = ROOT / "firmware_examples" / "host"
M4_DIR = ROOT / "firmware_examples" / "cortex-m"
N_INPUTS = 20  # IC ResNet-8 and VWW take about 0.2 s per inference in QEMU
QEMU_TIMEOUT = 120
# The same firmware for a core without the DSP extension (pq_kernels_dsp.h: PQ_DSP is 0).
M3_ARCH = "ARCH=-mcpu=cortex-m3 -mthumb -mfloat-abi=soft"
M3_QEMU = (
    "QEMU_FLAGS=-M mps2-an385 -display none -monitor none -serial none -chardev stdio,id=semihost "
    "-semihosting-config enable=on,target=native,chardev=semihost"
)
STRICT_C99 = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
# Soft-float helpers of libgcc's ARM EABI (and their generic names): any of them in the
# ELF means some code computes in float or double.
SOFT_FLOAT = re.compile(
    r"^(__aeabi_[fd]\w*|__aeabi_u?[il]2[fd]|__aeabi_ul2[fd]"
    r"|__(add|sub|mul|div|neg|cmp|eq|ne|lt|le|gt|ge|unord)[sdt]f[23]"
    r"|__(float|fix)\w*|__(extend|trunc)[sdt]f[sdt]f2)$"
)

MODELS: dict[str, Callable[[], bytes]] = {
    "tiny_convnet": build_tiny_convnet,
    "tiny_resnet": build_tiny_resnet,
    "tiny_mlp": build_tiny_mlp,
    "kws": lambda: mlperf_path("kws_ref_model").read_bytes(),
    "ic": lambda: mlperf_path("pretrainedResnet_quant").read_bytes(),
    "vww": lambda: mlperf_path("vww_96_int8").read_bytes(),
    "ad": lambda: mlperf_path("ad01_int8").read_bytes(),
    # op codes 8..17 chained (tests/support/models.py), then one model per op
    "all_new_ops": lambda: build_chain()[0],
}


def _one_op(build: Callable[[TFLiteGraph, object], object], shape=(1, 5, 6, 4)) -> Callable[[], bytes]:
    """A one-input model: `build(g, x)` returns the output tensor."""

    def model() -> bytes:
        g = TFLiteGraph()
        g.output(build(g, g.input("x", shape, 0.05, 3)))
        return g.build()

    return model


_C = np.arange(-60, 60, 8, dtype=np.int8).reshape(1, 5, 3, 1)  # a constant [1,5,3,1]
NEW_OP_MODELS: dict[str, Callable[[], bytes]] = {
    "max_pool": _one_op(lambda g, x: g.max_pool2d(x, (3, 2), (2, 2), padding="SAME", activation="RELU6")),
    "mul": _one_op(lambda g, x: g.mul(x, g.mean(x, [1, 2], 0.04, -2), 0.1, 5, activation="RELU")),
    "mean": _one_op(lambda g, x: g.mean(x, [1, 3], 0.02, 4, keep_dims=True)),
    "concat": _one_op(
        lambda g, x: g.concatenation([x, g.const_int8("c", _C, [0.1], [-4]), g.tanh(x)], 2, 0.03, -1),
        shape=(1, 5, 3, 1),
    ),
    "pad": _one_op(lambda g, x: g.pad(x, [[0, 0], [2, 0], [1, 3], [0, 1]], constant=-7)),
    "logistic": _one_op(lambda g, x: g.logistic(x)),
    "tanh": _one_op(lambda g, x: g.tanh(x)),
    "hard_swish": _one_op(lambda g, x: g.hard_swish(x, 0.03, -10)),
    "leaky_relu": _one_op(lambda g, x: g.leaky_relu(x, -0.3, 0.04, 7)),
    "transpose": _one_op(lambda g, x: g.transpose(x, [2, 0, 3, 1])),
    "slice": _one_op(lambda g, x: g.slice(x, [0, 1, 2, 1], [1, 3, -1, 2])),
    # the two halves of H: runs at bytes 0 and 48, planned on the input's own bytes (no copy
    # exported, a smaller arena), then added
    "slice_run": _one_op(
        lambda g, x: g.add(
            g.slice(x, [0, 0, 0, 0], [1, 2, 6, 4]), g.slice(x, [0, 2, 0, 0], [1, 2, 6, 4]), 0.08, 1
        ),
        shape=(1, 4, 6, 4),
    ),
    "resize_nearest": _one_op(lambda g, x: g.resize_nearest(x, (9, 12), half_pixel_centers=True)),
    "resize_bilinear": _one_op(lambda g, x: g.resize_bilinear(x, (9, 12), half_pixel_centers=True)),  # ops14
    "transpose_conv": _one_op(  # ops14
        lambda g, x: g.transpose_conv(
            x,
            g.const_int8(
                "tw",
                np.arange(-54, 54, dtype=np.int8).reshape(3, 3, 3, 4),
                [0.01, 0.02, 0.03],
                quantized_dimension=0,
            ),
            None,
            0.2,
            3,
            (2 * x.shape[1], 2 * x.shape[2]),
            stride=2,
        )
    ),
    # x [1, 5, 6, 4] times itself transposed (adj_y): [1, 5, 6, 6]; its rows 3, 0, 0 of axis 2
    "batch_matmul": _one_op(lambda g, x: g.batch_matmul(x, x, 0.5, -3, adj_y=True)),
    "gather": _one_op(lambda g, x: g.gather(x, np.array([[3, 0], [0, 5]]), axis=2)),
    "prelu": _one_op(lambda g, x: g.prelu(x, np.array([-90, -3, 40, 127], np.int8), 0.01, 2, 0.04, 7)),
    # int8 -> int8 (s8), through int16 (s16 variants) for a 16x8 SOFTMAX and TANH
    "quantize": _one_op(
        lambda g, x: g.quantize(
            g.tanh(g.softmax(g.quantize(g.quantize(x, 0.03, -9), 0.0005, 0, np.int16))), 0.01, 2, np.int8
        )
    ),
}
MODELS |= NEW_OP_MODELS


def _int4_net() -> bytes:
    """dsp4: int4 weights (the s4 kernels, called directly, their DSP twins on the M4) where
    nibbles start mid-byte: a 3x3 conv of 3 channels (rows of 27 values), a depthwise conv of
    5 channels (every other tap from a high nibble), a 1x1 conv of 5 (rows of 5), then
    FULLY_CONNECTED over 75 values and over 11 (odd depths: odd rows start mid-byte)."""
    g = TFLiteGraph()
    layers = RandomLayers(g, np.random.default_rng(4), weights="int4")
    x = layers.input("x", (1, 9, 5, 3), 0.02, -3)
    y = layers.conv2d(x, 5, (3, 3), activation="RELU")
    y = layers.depthwise_conv2d(y, 3, stride=2)
    y = layers.conv2d(y, 5, (1, 1))
    y = layers.fully_connected(layers.reshape(y, (1, 75)), 11, activation="RELU")
    g.output(layers.fully_connected(y, 6))
    return g.build()


MODELS["int4_net"] = _int4_net  # dsp4


def _tables_model() -> bytes:
    """LOOKUP_TABLE (from float ONNX only): a conv, GELU (erf form), a conv, SiLU, converted."""
    from support.onnx_tables import gelu_silu_convnet

    m, calib = gelu_silu_convnet()
    return convert(m, calibration=calib, progress=False)


def _layer_norm_model() -> bytes:
    """LAYER_NORM (from float ONNX only): rows of 20 values (over two axes), int64 arithmetic
    that the Cortex-M builds run on a 32-bit core."""
    from support.onnx_models import layer_norm_model

    calib = np.random.default_rng(0).normal(size=(8, 3, 4, 5)).astype(np.float32)
    return convert(layer_norm_model([1, 3, 4, 5], axis=2), calibration=calib, progress=False)


# Models that come converted (from float ONNX: they need calibration data).
CONVERTED: dict[str, Callable[[], bytes]] = {"lookup_table": _tables_model, "layer_norm": _layer_norm_model}


@dataclass
class Exported:
    """A model exported once, with its inputs, the interpreter's outputs, and lazily built ELFs."""

    name: str
    picoq: bytes
    folder: Path
    work: Path
    inputs: np.ndarray
    expected: np.ndarray
    builds: dict[str, Path] = field(default_factory=dict)

    def m3_run(self) -> subprocess.CompletedProcess:
        """A Cortex-M3 build (no DSP extension: the portable kernels) run on QEMU's mps2-an385."""
        build = self.work / "m3"
        args = [
            f"MODEL={self.folder}",
            f"INPUTS={self.work / 'inputs.bin'}",
            f"BUILD={build}",
            M3_ARCH,
            M3_QEMU,
        ]
        make(M4_DIR, *args)
        return make(M4_DIR, *args, "run", timeout=QEMU_TIMEOUT)

    def m4_elf(self) -> Path:
        if "m4" not in self.builds:
            build = self.work / "m4"
            make(M4_DIR, f"MODEL={self.folder}", f"INPUTS={self.work / 'inputs.bin'}", f"BUILD={build}")
            self.builds["m4"] = build / "fw.elf"
        return self.builds["m4"]


def reference(picoq: bytes, inputs: np.ndarray) -> np.ndarray:
    it = Interpreter(picoq, kernels="reference")  # the kernels firmware runs
    return np.stack([np.asarray(it.run(x)).reshape(-1) for x in inputs])


@pytest.fixture(scope="module", params=[*MODELS, *CONVERTED])
def exported(request, tmp_path_factory) -> Exported:
    name = request.param
    picoq = CONVERTED[name]() if name in CONVERTED else convert(MODELS[name]())
    work = tmp_path_factory.mktemp(f"export_{name}")
    folder = work / f"{name}_fw"
    ec.export_c(picoq, folder, name)
    shape = Interpreter(picoq).input_details[0]["shape"]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    inputs = rng.integers(-128, 128, (N_INPUTS, *shape), dtype=np.int8)
    (work / "inputs.bin").write_bytes(inputs.tobytes())
    return Exported(name, picoq, folder, work, inputs, reference(picoq, inputs))


# *** the exported models compute the interpreter's bytes ***


def test_host_build_matches_interpreter(exported: Exported) -> None:
    tool("cc")
    build = exported.work / "host"
    make(HOST_DIR, f"MODEL={exported.folder}", f"BUILD={build}")
    out = run([str(build / "picoq_host"), str(exported.work / "inputs.bin")], timeout=60)
    np.testing.assert_array_equal(output_rows(out.stdout), exported.expected)


def _s16_convnet() -> bytes:
    """A 16x8 model: CONV_2D (int32 bias), DEPTHWISE_CONV_2D (multiplier 2, stride 2, int64
    bias), CONV_2D (no bias), each exported as a literal call of its s16 kernel (and, under
    PQ_DSP, of its DSP kernel)."""
    g = TFLiteGraph(activations=np.int16)
    layers = RandomLayers(g, np.random.default_rng(16))
    x = layers.input("x", (1, 7, 6, 3), 0.002, 0)
    y = layers.conv2d(x, 4, 3, activation="RELU", bias_dtype=np.int32)
    y = layers.depthwise_conv2d(y, 3, depth_multiplier=2, stride=2, dilation=(1, 2))
    g.output(layers.conv2d(y, 5, 1, bias=False))
    return convert(g.build())


def test_host_build_of_a_16x8_model_matches_interpreter(tmp_path: Path) -> None:
    """int16 inputs and outputs in the signature (NAME_INPUT_TYPE int16_t), int64 biases in
    the data file, the s16 kernels through their _eval entries: the host program gives the
    interpreter's bytes on full-range int16 inputs."""
    tool("cc")
    picoq = _s16_convnet()
    ec.export_c(picoq, tmp_path / "fw", "s16net")
    header = (tmp_path / "fw" / "s16net_model.h").read_text()
    assert "int s16net_invoke(const int16_t *input, int16_t *output, uint8_t *arena);" in header
    assert "#define S16NET_INPUT_TYPE int16_t" in header
    assert "const int64_t s16net_op1_bias" in (tmp_path / "fw" / "s16net_model_data.c").read_text()
    shape = Interpreter(picoq).input_details[0]["shape"]
    inputs = np.random.default_rng(17).integers(-32768, 32768, (6, *shape), dtype=np.int16)
    inputs[0] = 32767  # the int32-bias conv's sums at their largest
    (tmp_path / "in.bin").write_bytes(inputs.astype("<i2").tobytes())
    make(HOST_DIR, f"MODEL={tmp_path / 'fw'}", f"BUILD={tmp_path / 'b'}")
    out = run([str(tmp_path / "b" / "picoq_host"), str(tmp_path / "in.bin")], timeout=60)
    np.testing.assert_array_equal(output_rows(out.stdout, np.int16), reference(picoq, inputs))


# --- fw16: the Cortex-M example on a 16x8 model (int16 I/O from the model's header) ---


@pytest.mark.parametrize("arch", ["m4", "m3"])
def test_cortex_m_example_runs_a_16x8_model_in_qemu(arch: str, tmp_path: Path) -> None:
    """firmware_examples/cortex-m takes the I/O type from the model's header: int16 inputs go
    in as raw little-endian vectors, the outputs come out as int16 values, equal to the
    interpreter's (reference kernels) on full-range inputs; on the M4 (DSP kernels where
    export-c has them) and on the M3 (portable kernels)."""
    tool("arm-none-eabi-gcc")
    tool("qemu-system-arm")
    picoq = _s16_convnet()
    ec.export_c(picoq, tmp_path / "fw", "s16net")
    shape = Interpreter(picoq).input_details[0]["shape"]
    inputs = np.random.default_rng(23).integers(-32768, 32768, (N_INPUTS, *shape), dtype=np.int16)
    inputs[0] = 32767  # the int32-bias conv's sums at their largest
    inputs[1] = -32768
    (tmp_path / "in.bin").write_bytes(inputs.astype("<i2").tobytes())
    args = [f"MODEL={tmp_path / 'fw'}", f"INPUTS={tmp_path / 'in.bin'}", f"BUILD={tmp_path / arch}"]
    if arch == "m3":
        args += [M3_ARCH, M3_QEMU]
    make(M4_DIR, *args)
    out = make(M4_DIR, *args, "run", timeout=QEMU_TIMEOUT)
    assert f"# inputs: {N_INPUTS}" in out.stdout
    expected = reference(picoq, inputs)
    assert np.abs(expected).max() > 127  # int16 values: an int8 print would not give them
    np.testing.assert_array_equal(output_rows(out.stdout, np.int16), expected)


# --- end fw16 ---
# *** dsp16: the 16x8 ops' Cortex-M DSP kernels in an exported folder ***


def _s16_net_with_fc() -> bytes:
    """_s16_convnet's ops, then a depthwise of multiplier 1, a same-shape ADD and a 16x8
    FULLY_CONNECTED."""
    g = TFLiteGraph(activations=np.int16)
    layers = RandomLayers(g, np.random.default_rng(18))
    x = layers.input("x", (1, 7, 6, 3), 0.002, 0)
    y = layers.conv2d(x, 4, 3, activation="RELU", bias_dtype=np.int32)
    y = layers.depthwise_conv2d(y, 3, depth_multiplier=2, stride=2)
    y1 = layers.conv2d(y, 8, 1, bias=False)
    y = layers.add(y1, layers.depthwise_conv2d(y1, 3), activation="RELU")
    g.output(layers.fully_connected(layers.reshape(y, (1, -1)), 10))
    return convert(g.build())


def test_16x8_ops_call_their_dsp_kernels_and_build_for_cortex_m4(tmp_path: Path) -> None:
    """Every 16x8 CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and same-shape ADD calls its DSP kernel under
    #if PQ_DSP (the conv with the arena's scratch, which the DSP arena size holds); the folder
    compiles warning-free for a Cortex-M4 (the DSP calls' argument types), and its host build
    (the portable calls) gives the interpreter's bytes."""
    picoq = _s16_net_with_fc()
    ec.export_c(picoq, tmp_path / "fw", "n16")
    model_c = (tmp_path / "fw" / "n16_model.c").read_text()
    calls = re.findall(r"st = (pq_\w+_s16(?:_dsp)?)\(", model_c)
    assert calls == [
        *("pq_conv2d_s16_dsp", "pq_conv2d_s16", "pq_depthwise_conv2d_s16_dsp", "pq_depthwise_conv2d_s16"),
        *("pq_conv2d_s16_dsp", "pq_conv2d_s16", "pq_depthwise_conv2d_s16_dsp", "pq_depthwise_conv2d_s16"),
        *("pq_add_s16_dsp", "pq_add_s16", "pq_fully_connected_s16_dsp", "pq_fully_connected_s16"),
    ], calls
    m = read_model(picoq)
    scratch = max(ec_invoke.conv_dsp_scratch(m, op) for op in m.ops if op.name == "CONV_2D")
    header = (tmp_path / "fw" / "n16_model.h").read_text()
    assert f"#define N16_ARENA_SIZE {ec_invoke.dsp_scratch_offset(m) + scratch}" in header
    gcc = tool("arm-none-eabi-gcc")
    flags = [
        "-mcpu=cortex-m4",
        "-mthumb",
        "-mfloat-abi=soft",
        "-Os",
        *STRICT_C99,
        f"-I{tmp_path / 'fw'}",
    ]
    for src in sorted((tmp_path / "fw").glob("*.c")):
        run([gcc, *flags, "-c", str(src), "-o", str(tmp_path / (src.stem + ".o"))], timeout=120)
    assert (tmp_path / "pq_dsp_gemm_s16.o").is_file()  # the DSP kernels' shared file came along
    shape = Interpreter(picoq).input_details[0]["shape"]
    inputs = np.random.default_rng(19).integers(-32768, 32768, (4, *shape), dtype=np.int16)
    (tmp_path / "in.bin").write_bytes(inputs.astype("<i2").tobytes())
    make(HOST_DIR, f"MODEL={tmp_path / 'fw'}", f"BUILD={tmp_path / 'b'}")
    out = run([str(tmp_path / "b" / "picoq_host"), str(tmp_path / "in.bin")], timeout=60)
    np.testing.assert_array_equal(output_rows(out.stdout, np.int16), reference(picoq, inputs))


def test_16x8_dsp_kernels_in_qemu_match_interpreter(tmp_path: Path) -> None:
    """The same model on the Cortex-M4 example (QEMU mps2-an386): the DSP kernels of every
    16x8 op are linked and the outputs equal the interpreter's on full-range int16 inputs."""
    tool("arm-none-eabi-gcc")
    tool("qemu-system-arm")
    picoq = _s16_net_with_fc()
    ec.export_c(picoq, tmp_path / "fw", "n16")
    dsp = ("pq_conv2d_s16_dsp", "pq_depthwise_conv2d_s16_dsp", "pq_fully_connected_s16_dsp", "pq_add_s16_dsp")
    got, expected = _m4_run_16x8(picoq, tmp_path, 29, dsp)
    np.testing.assert_array_equal(got, expected)


def _m4_run_16x8(picoq: bytes, tmp_path: Path, seed: int, dsp_kernels: tuple[str, ...]):
    """The folder exported to tmp_path/fw built for the Cortex-M4 example (QEMU mps2-an386) and
    run on full-range int16 inputs (both extremes among them): asserts `dsp_kernels` are linked
    and every input ran; returns (the M4's outputs, the interpreter's)."""
    shape = Interpreter(picoq).input_details[0]["shape"]
    inputs = np.random.default_rng(seed).integers(-32768, 32768, (N_INPUTS, *shape), dtype=np.int16)
    inputs[0], inputs[1] = 32767, -32768
    (tmp_path / "in.bin").write_bytes(inputs.astype("<i2").tobytes())
    args = [f"MODEL={tmp_path / 'fw'}", f"INPUTS={tmp_path / 'in.bin'}", f"BUILD={tmp_path / 'm4'}"]
    make(M4_DIR, *args)
    symbols = run([tool("arm-none-eabi-nm"), str(tmp_path / "m4" / "fw.elf")]).stdout
    for kernel in dsp_kernels:
        assert f" {kernel}" in symbols, kernel
    out = make(M4_DIR, *args, "run", timeout=QEMU_TIMEOUT)
    assert f"# inputs: {N_INPUTS}" in out.stdout
    return output_rows(out.stdout, np.int16), reference(picoq, inputs)


# *** dsppool16: the 16x8 pools' Cortex-M DSP kernels in an exported folder ***


def _s16_net_with_pools() -> bytes:
    """A 16x8 model ending as the MLPerf Tiny ones do: CONV_2D, a 3x3 stride-2 SAME MAX_POOL_2D
    (padding in its windows, a RELU clamp) over 13 channels (a pass of 8, two of 2, an odd one), a 1x1
    CONV_2D to 11 channels, then a global 5x5 AVERAGE_POOL_2D."""
    g = TFLiteGraph(activations=np.int16)
    layers = RandomLayers(g, np.random.default_rng(24))
    x = layers.input("x", (1, 9, 10, 3), 0.002, 0)
    y = layers.max_pool2d(layers.conv2d(x, 13, 3), 3, 2, padding="SAME", activation="RELU")
    g.output(layers.average_pool2d(layers.conv2d(y, 11, 1), (5, 5), (1, 1)))
    return convert(g.build())


def test_16x8_pools_call_their_dsp_kernels_in_qemu_match_interpreter(tmp_path: Path) -> None:
    """Each 16x8 pool calls its DSP kernel under #if PQ_DSP (the portable one otherwise); the
    Cortex-M4 example (QEMU mps2-an386) links both DSP pools and gives the interpreter's bytes on
    full-range int16 inputs."""
    tool("arm-none-eabi-gcc")
    tool("qemu-system-arm")
    picoq = _s16_net_with_pools()
    ec.export_c(picoq, tmp_path / "fw", "p16")
    model_c = (tmp_path / "fw" / "p16_model.c").read_text()
    calls = re.findall(r"st = (pq_\w+_pool2d_s16(?:_dsp)?)\(", model_c)
    assert calls == [
        "pq_max_pool2d_s16_dsp",
        "pq_max_pool2d_s16",
        "pq_avg_pool2d_s16_dsp",
        "pq_avg_pool2d_s16",
    ]
    assert "_pool2d_s16_eval" not in model_c
    got, expected = _m4_run_16x8(picoq, tmp_path, 25, ("pq_max_pool2d_s16_dsp", "pq_avg_pool2d_s16_dsp"))
    assert len(np.unique(expected)) > 10  # not a constant output: the pools see real values
    np.testing.assert_array_equal(got, expected)


# *** end dsppool16 ***


def test_cortex_m4_in_qemu_matches_interpreter(exported: Exported) -> None:
    tool("arm-none-eabi-gcc")
    tool("qemu-system-arm")
    exported.m4_elf()
    out = make(
        M4_DIR,
        f"MODEL={exported.folder}",
        f"INPUTS={exported.work / 'inputs.bin'}",
        f"BUILD={exported.work / 'm4'}",
        "run",
        timeout=QEMU_TIMEOUT,
    )
    assert f"# inputs: {N_INPUTS}" in out.stdout
    np.testing.assert_array_equal(output_rows(out.stdout), exported.expected)


def test_cortex_m3_portable_kernels_in_qemu_match_interpreter(exported: Exported) -> None:
    """M4 runs the DSP-extension kernels; a Cortex-M3 build of the same folder runs the portable
    ones (and links no DSP kernel), and computes the same bytes."""
    tool("arm-none-eabi-gcc")
    tool("qemu-system-arm")
    out = exported.m3_run()
    assert f"# inputs: {N_INPUTS}" in out.stdout
    np.testing.assert_array_equal(output_rows(out.stdout), exported.expected)
    symbols = run([tool("arm-none-eabi-nm"), str(exported.work / "m3" / "fw.elf")]).stdout
    assert "_dsp" not in symbols


def test_cortex_m4_links_the_dsp_kernels(exported: Exported) -> None:
    """The M4 build picks the DSP kernel of every op that has one (export-c's conditions)."""
    symbols = run([tool("arm-none-eabi-nm"), str(exported.m4_elf())]).stdout
    m = read_model(exported.picoq)
    for op in m.ops:
        fc = op.name == "FULLY_CONNECTED" and op.params["filter_offset"] == 0
        pool = op.name in ("MAX_POOL_2D", "AVERAGE_POOL_2D")  # always: no precondition to check
        kernel = ec_invoke.KERNEL_FUNCTIONS[op.name]
        if op.variant == "s4":  # dsp4: the int4-weight kernels' own DSP twins
            kernel = op.kernel
            pool = op.name == "DEPTHWISE_CONV_2D" and op.params["depth_multiplier"] == 1
        if ec_invoke.conv_uses_dsp(op) or fc or pool:
            assert f"{kernel}_dsp" in symbols, op.name


def test_cortex_m4_soft_float_build_links_no_float_helper(exported: Exported) -> None:
    elf = exported.m4_elf()
    nm = run([tool("arm-none-eabi-nm"), str(elf)], timeout=60).stdout
    symbols = [line.split()[-1] for line in nm.splitlines() if line.strip()]
    assert f"{exported.name}_invoke" in symbols and len(symbols) > 20
    assert [s for s in symbols if SOFT_FLOAT.match(s)] == []


def test_exported_folder_is_strict_c99(exported: Exported) -> None:
    cc = tool("cc")
    for src in sorted(exported.folder.glob("*.c")):
        run([cc, *STRICT_C99, "-c", str(src), "-o", str(exported.work / (src.stem + ".o"))], timeout=120)


def test_soft_float_check_catches_float_code(tmp_path: Path) -> None:
    """The no-float check is not vacuous: one float multiply pulls in helpers it names."""
    src = tmp_path / "f.c"
    src.write_text("int scale(int x) { return (int)((float)x * 0.37f); }\n")
    obj = tmp_path / "f.o"
    run(
        [
            tool("arm-none-eabi-gcc"),
            "-mcpu=cortex-m4",
            "-mthumb",
            "-mfloat-abi=soft",
            "-O2",
            "-c",
            str(src),
            "-o",
            str(obj),
        ]
    )
    nm = run([tool("arm-none-eabi-nm"), str(obj)]).stdout
    assert [line.split()[-1] for line in nm.splitlines() if SOFT_FLOAT.match(line.split()[-1])]


def test_cortex_m4_crash_ends_the_qemu_run_with_failure(tmp_path: Path) -> None:
    """A fault must stop QEMU with a non-zero status, not hang the test run."""
    (tmp_path / "x_model.h").write_text(
        "#include <stdint.h>\n#define X_ARENA_SIZE 16\n#define X_INPUT_SIZE 4\n#define X_OUTPUT_SIZE 4\n"
        "#define X_NUM_INPUTS 1\n#define X_NUM_OUTPUTS 1\n#define X_INPUT_ARENA_OFFSET 0\n"
        "#define X_INPUT_TYPE int8_t\n#define X_OUTPUT_TYPE int8_t\n"  # main.c's I/O types (fw16)
        "int x_invoke(const int8_t *input, int8_t *output, uint8_t *arena);\n"
    )
    (tmp_path / "x_model.c").write_text(
        '#include "x_model.h"\nint x_invoke(const int8_t *input, int8_t *output, uint8_t *arena)\n'
        "{ (void)input; (void)output; (void)arena; __builtin_trap(); return 0; }\n"
    )
    cmd = [tool("make"), "-s", "-C", str(M4_DIR), f"MODEL={tmp_path}", f"BUILD={tmp_path / 'b'}", "run"]
    r = run(cmd, timeout=QEMU_TIMEOUT, check=False)
    assert r.returncode != 0 and "# fault" in r.stdout


# *** what the generated folder contains ***


def test_folder_contents_are_minimal_and_deterministic(tmp_path: Path) -> None:
    mlp = convert(build_tiny_mlp())
    paths = ec.export_c(mlp, tmp_path / "a", "mlp")
    names = sorted(p.name for p in paths)
    assert names == sorted(
        [
            "mlp_model.c",
            "mlp_model.h",
            "mlp_model_data.c",
            "mlp_model_data.h",
            "pq_fixedpoint.h",
            "pq_kernels.h",
            "pq_op.h",
            "pq_ops.def",
            "pq_variants.def",
            "pq_params.h",
            "pq_fully_connected_s8.c",
            # the DSP-extension FC kernel a Cortex-M4/M7/M33/M55 build picks, and its GEMV
            "pq_kernels_dsp.h",
            "pq_dsp.h",
            "pq_fully_connected_s8_dsp.c",
            "pq_dsp_gemm_s8.c",
            "CMakeLists.txt",
        ]
    )
    ec.export_c(mlp, tmp_path / "b", "mlp")
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert not list((tmp_path / "a").glob(".*")), "temporary files left behind"


def test_generated_code_uses_no_float_no_malloc_and_only_stdint_string(tmp_path: Path) -> None:
    m = read_model(convert(build_tiny_convnet()))
    ec.export_c(m, tmp_path, "net")
    header = (tmp_path / "net_model.h").read_text()
    for macro in ("NET_ARENA_SIZE", "NET_INPUT_SIZE", "NET_OUTPUT_SIZE", "NET_INPUT_SCALE"):
        assert f"#define {macro} " in header
    t_in = m.tensors[m.inputs[0]]
    # The portable kernels need no scratch: the activations' extent only. On a DSP core the
    # conv scratch follows them (8-aligned), sized by the largest conv's filter.
    dsp = ec_invoke.dsp_arena_bytes(m)
    assert f"#if PQ_DSP\n#define NET_ARENA_SIZE {dsp} " in header
    assert f"#else\n#define NET_ARENA_SIZE {m.activation_bytes}\n#endif" in header
    convs = [m.tensors[op.inputs[1]].shape for op in m.ops if op.name == "CONV_2D"]
    assert dsp == ((m.activation_bytes + 7) & ~7) + max(4 * ((h * w * c + 3) & ~3) for _, h, w, c in convs)
    assert m.activation_bytes == m.arena_size  # 1.0 files: the runtime places fast-kernel scratch itself
    assert f"#define NET_INPUT_ZERO_POINT {int(t_in.zero_points[0])}\n" in header
    assert "int net_invoke(const int8_t *input, int8_t *output, uint8_t *arena);" in header
    for path in tmp_path.iterdir():
        text = path.read_text()
        code = re.sub(r"/\*.*?\*/|//[^\n]*", "", text, flags=re.S)
        # The ACLE intrinsics header (the compiler's, not libc) only where the DSP kernels need it.
        allowed = {"stdint.h", "stddef.h", "string.h"} | (
            {"arm_acle.h"} if path.name == "pq_dsp.h" else set()
        )
        assert set(re.findall(r"#include <([^>]+)>", code)) <= allowed, path
        if path.suffix == ".c":
            for banned in (r"\bfloat\b", r"\bdouble\b", r"\bmalloc\b", r"\d\.\d*f\b"):
                assert not re.search(banned, code), f"{path.name}: {banned}"
    data = (tmp_path / "net_model_data.c").read_text()
    assert "NET_ALIGNED const int8_t net_op0_filter[" in data
    assert re.search(r"/\* op 0 CONV_2D conv1\S*: filter int8 \[8,5,3,3\], per-channel scales", data)


def test_exported_folder_builds_with_cmake(tmp_path: Path) -> None:
    """`add_subdirectory(NAME_fw)` + `NAME_model`: firmware_examples/host/main.c, linked with
    cmake against the exported library, computes the interpreter's bytes."""
    picoq = convert(build_tiny_convnet())
    ec.export_c(picoq, tmp_path / "net_fw", "net")
    cmake_lists = (tmp_path / "net_fw" / "CMakeLists.txt").read_text()
    assert "add_library(net_model STATIC\n    net_model.c\n    net_model_data.c\n    pq_" in cmake_lists
    (tmp_path / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.13)\nproject(app C)\nadd_subdirectory(net_fw)\n"
        f'add_executable(app "{HOST_DIR / "main.c"}")\n'
        'target_compile_definitions(app PRIVATE [[MODEL_HEADER="net_model.h"]] MODEL_NAME=net MODEL_PREFIX=NET)\n'
        "target_link_libraries(app PRIVATE net_model)\n"
    )
    build = tmp_path / "build"
    run([tool("cmake"), "-S", str(tmp_path), "-B", str(build), f"-DCMAKE_C_FLAGS={' '.join(STRICT_C99[1:])}"])
    run([tool("cmake"), "--build", str(build), "-j2"])
    shape = Interpreter(picoq).input_details[0]["shape"]
    inputs = np.random.default_rng(2).integers(-128, 128, (5, *shape), dtype=np.int8)
    (tmp_path / "in.bin").write_bytes(inputs.tobytes())
    out = run([str(build / "app"), str(tmp_path / "in.bin")])
    np.testing.assert_array_equal(output_rows(out.stdout), reference(picoq, inputs))


def test_a_slice_on_its_runs_bytes_exports_no_copy(tmp_path: Path) -> None:
    """The planner put slice_run's boxes on the input's own bytes (contiguous runs): the exported
    invoke says so and calls no slice kernel, whose file stays behind (the host and Cortex-M
    builds of test_host_build_matches_interpreter and co. run it against the interpreter)."""
    picoq = convert(MODELS["slice_run"]())
    ec.export_c(picoq, tmp_path / "fw", "slice_run")
    code = (tmp_path / "fw" / "slice_run_model.c").read_text()
    assert code.count("a run of its input's arena bytes, nothing to move") == 2
    assert "pq_slice_s8" not in code and not (tmp_path / "fw" / "pq_slice_s8.c").exists()


def test_reshape_between_different_offsets_is_copied(tmp_path: Path) -> None:
    """The planner gives RESHAPE's output its input's bytes; a plan that does not must still work."""
    picoq = convert(build_tiny_convnet())
    m = read_model(picoq)
    moved = copy.deepcopy(m)
    op = next(o for o in moved.ops if o.name == "RESHAPE")
    y = moved.tensors[op.outputs[0]]
    y.offset = moved.arena_size  # fresh bytes past everything else
    moved.arena_size += (y.nbytes + 15) // 16 * 16
    ec.export_c(moved, tmp_path / "fw", "moved")
    code = (tmp_path / "fw" / "moved_model.c").read_text()
    assert "pq_reshape_s8(" in code and f"(int8_t *)(arena + {y.offset})" in code
    assert (tmp_path / "fw" / "pq_reshape_s8.c").is_file()  # the kernel the generated code calls
    inputs = np.random.default_rng(5).integers(-128, 128, (10, *m.tensors[m.inputs[0]].shape), dtype=np.int8)
    (tmp_path / "in.bin").write_bytes(inputs.tobytes())
    make(HOST_DIR, f"MODEL={tmp_path / 'fw'}", f"BUILD={tmp_path / 'b'}")
    out = run([str(tmp_path / "b" / "picoq_host"), str(tmp_path / "in.bin")])
    np.testing.assert_array_equal(output_rows(out.stdout), reference(picoq, inputs))


MULTI_MAIN = r"""
#include <stdio.h>
#include "two_model.h"
static uint8_t arena[TWO_ARENA_SIZE];
static int8_t a[TWO_INPUT0_SIZE], b[TWO_INPUT1_SIZE], y0[TWO_OUTPUT0_SIZE], y1[TWO_OUTPUT1_SIZE];
int main(void)
{
    const int8_t *const ins[TWO_NUM_INPUTS] = {a, b};
    int8_t *const outs[TWO_NUM_OUTPUTS] = {y0, y1};
    int i;
    while (fread(a, 1, sizeof a, stdin) == sizeof a && fread(b, 1, sizeof b, stdin) == sizeof b) {
        if (two_invoke(ins, outs, arena) != 0) return 1;
        for (i = 0; i < TWO_OUTPUT0_SIZE; i++) printf("%d ", y0[i]);
        for (i = 0; i < TWO_OUTPUT1_SIZE; i++) printf("%d ", y1[i]);
        printf("\n");
    }
    return two_invoke(NULL, outs, arena) == -1 ? 0 : 1;
}
"""


def test_several_inputs_and_outputs_take_arrays_of_pointers(tmp_path: Path) -> None:
    picoq = convert(two_in_two_out())
    ec.export_c(picoq, tmp_path / "fw", "two")
    header = (tmp_path / "fw" / "two_model.h").read_text()
    assert "int two_invoke(const int8_t *const *inputs, int8_t *const *outputs, uint8_t *arena);" in header
    (tmp_path / "main.c").write_text(MULTI_MAIN)
    exe = tmp_path / "two"
    srcs = [str(tmp_path / "main.c"), *map(str, sorted((tmp_path / "fw").glob("*.c")))]
    run([tool("cc"), *STRICT_C99, "-I", str(tmp_path / "fw"), "-o", str(exe), *srcs])
    it = Interpreter(picoq)
    rng = np.random.default_rng(3)
    xs = [[rng.integers(-128, 128, d["shape"], dtype=np.int8) for d in it.input_details] for _ in range(10)]
    stdin = b"".join(a.tobytes() + b.tobytes() for a, b in xs)
    out = subprocess.run([str(exe)], input=stdin, capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    expected = np.stack([np.concatenate([y.reshape(-1) for y in it.run(x)]) for x in xs])
    np.testing.assert_array_equal(output_rows(out.stdout.decode()), expected)


# *** refusals and the command line ***


def test_tensor_names_cannot_break_the_generated_comments() -> None:
    text = c_text._comment_text("conv/*x*/y??/\u65e5\u672c" + "z" * 100)
    assert text.isascii() and len(text) <= 72
    assert "/*" not in text and "*/" not in text and "??" not in text


@pytest.mark.parametrize("name", ["", "1kws", "kws-net", "int", "main", "pq_net", "__x", "_X", "k ws"])
def test_bad_names_are_refused_before_writing(name: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--name"):
        ec.export_c(convert(build_tiny_mlp()), tmp_path / "out", name)
    assert not (tmp_path / "out").exists()


def test_unsupported_model_is_refused_naming_everything() -> None:
    m = read_model(convert(build_tiny_mlp()))
    m.ops[1].name = "GATHER_ND"  # an op a newer format could hold but no kernel exports
    m.tensors[m.outputs[0]].dtype = "int32"
    with pytest.raises(ValueError) as err:
        ec.render(m, "mlp")
    assert "op 1 GATHER_ND has no C kernel" in str(err.value) and "int32" in str(err.value)


def picoq_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "picoq.converter.cli", *args], capture_output=True, text=True, cwd=cwd
    )


def test_cli_example_runs_and_errors_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "kws.picoq").write_bytes(convert(build_tiny_convnet()))
    r = picoq_cli(*shlex.split(EXAMPLES["export-c"])[1:], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "kws_model.c" in r.stdout and "kws_invoke(" in (tmp_path / "kws_fw" / "kws_model.h").read_text()
    r = picoq_cli("export-c", "kws.picoq", "-o", "x", "--name", "9lives", cwd=tmp_path)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    assert r.stderr.startswith("picoq export-c: error: --name '9lives' is not a C identifier")
    assert picoq_cli("export-c", "kws.picoq", cwd=tmp_path).returncode == 2  # -o is required


def test_int4_weights_export_packed_and_build_on_the_host(tmp_path: Path) -> None:
    """int4 filters (the s4 kernels) are emitted as their packed bytes, ceil(n / 2) of them (45
    values: 23 bytes), and the host build computes the interpreter's bytes."""
    g = TFLiteGraph()
    layers = RandomLayers(g, np.random.default_rng(3), weights="int4")
    x = layers.input("x", (1, 6, 6, 1), 0.02, -3)
    y = layers.depthwise_conv2d(layers.conv2d(x, 5, (3, 3)), 3, depth_multiplier=2)
    g.output(layers.fully_connected(layers.reshape(y, (1, 360)), 7))
    picoq = convert(g.build())
    ec.export_c(picoq, tmp_path / "fw", "i4")
    data = (tmp_path / "fw" / "i4_model_data.h").read_text()
    m = read_model(picoq)
    sizes = sorted(t.nbytes for t in m.tensors if t.dtype == "int4")
    assert sizes == [23, 45, 1260]
    assert sorted(int(n) for n in re.findall(r"extern const uint8_t \w+\[(\d+)\];", data)) == sizes
    code = (tmp_path / "fw" / "i4_model.c").read_text()
    # dsp4: called directly, with their DSP twins where the int8 kernels' conditions hold
    # (not the depthwise conv: depth multiplier 2)
    assert "_eval(" not in code
    for kernel, dsp in [("pq_conv2d_s4", 1), ("pq_depthwise_conv2d_s4", 0), ("pq_fully_connected_s4", 1)]:
        assert code.count(f"st = {kernel}(") == 1 and code.count(f"st = {kernel}_dsp(") == dsp, kernel
    inputs = np.random.default_rng(12).integers(-128, 128, (8, 1, 6, 6, 1), dtype=np.int8)
    (tmp_path / "in.bin").write_bytes(inputs.tobytes())
    make(HOST_DIR, f"MODEL={tmp_path / 'fw'}", f"BUILD={tmp_path / 'b'}")
    out = run([str(tmp_path / "b" / "picoq_host"), str(tmp_path / "in.bin")])
    np.testing.assert_array_equal(output_rows(out.stdout), reference(picoq, inputs))


def test_int64_constants_are_int64_literals() -> None:
    """Values outside int32 (16x8 biases are int64) need INT64_C; INT64_MIN its own name."""
    assert [c_text._c_int(v) for v in (-(2**31), 2**31, -(2**63), 5)] == [
        "INT32_MIN",
        "INT64_C(2147483648)",
        "INT64_MIN",
        "5",
    ]


@pytest.mark.parametrize(
    "name", ["tiny_convnet", "tiny_resnet", "tiny_mlp", "all_new_ops", "concat", "pad", "transpose"]
)
def test_every_op_exports_through_its_eval_entry(name: str, tmp_path: Path, monkeypatch) -> None:
    """The generic emitter (an op's pq_<name>_s8_eval with a constant node and its tensors on
    the stack) is what an op without a dedicated emitter gets: forced onto every op here, the
    host build still computes the interpreter's bytes, so a new op needs nothing in export-c."""
    monkeypatch.setattr(
        ec_invoke._Emitter, "emit", lambda self, op: self.via_eval(op, f"{self.name}_op{op.index}")
    )
    picoq = convert(MODELS[name]())
    ec.export_c(picoq, tmp_path / "fw", name)
    code = (tmp_path / "fw" / f"{name}_model.c").read_text()
    m = read_model(picoq)
    assert code.count("_s8_eval(&node, t)") == len(m.ops)
    shape = Interpreter(picoq).input_details[0]["shape"]
    inputs = np.random.default_rng(11).integers(-128, 128, (5, *shape), dtype=np.int8)
    (tmp_path / "in.bin").write_bytes(inputs.tobytes())
    make(HOST_DIR, f"MODEL={tmp_path / 'fw'}", f"BUILD={tmp_path / 'b'}")
    out = run([str(tmp_path / "b" / "picoq_host"), str(tmp_path / "in.bin")])
    np.testing.assert_array_equal(output_rows(out.stdout), reference(picoq, inputs))
