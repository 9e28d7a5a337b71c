"""The one .picoq validator: pq_model_validate (runtime/kernels/src/core/pq_model_*.c and
pq_contracts_*.c), which read_model calls through the extension before it decodes a file.

1. every valid model (repo fixtures, models with each of op codes 8..17, every
   ONNX-converted model the tests build, MLPerf Tiny when present) is accepted, and
   the C accessors a firmware loader uses return what read_model decodes;
2. one handcrafted bad file per rule is refused: read_model raises ModelFormatError
   whose field (with indices, op names and section tags left out, normalize()) is the
   expected one, with a byte offset (or None for whole-graph rules) and a value; the C
   library called directly names the same field;
3. over the mutation-fuzz corpus (picoq_mutate's random mutants, and ContractMutator's
   aimed at the data flow, arena plan and op contracts) every mutant either loads or
   raises ModelFormatError (nothing else, no crash), the same verdict and field as the
   C library called directly;
4. the same corpus under AddressSanitizer + UndefinedBehaviorSanitizer reports
   nothing (a canary proves the sanitizer is live), and a small command-line
   driver (tests/c/pq_validate_main.c) builds against the header.

Names are checked with Python's strict UTF-8 rules (test_utf8_matches_python_decoder),
and format 1.1's SCRA checks are in (tiny_resnet here is an old 1.1 file with SCRA).
`PICOQ_C_FUZZ_MUTANTS=20000 pytest tests/test_validator.py` is a longer run.
"""

from __future__ import annotations

import copy
import ctypes
import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from picoq.converter import convert, load
from picoq.runtime import ModelFormatError, kernels_dir, read_model
from picoq.runtime import format as fmt

from conftest import MLPERF_INT8, SHARED_MODELS
from support.legacy_scra import TINY_RESNET_NEEDS, to_bytes_1_1
from support.make_fixtures import build_tiny_convnet, build_tiny_mlp, build_tiny_resnet
from support.models import build_chain as _build_chain
from support.onnx_models import layer_norm_model
from support.onnx_tables import gelu_silu_convnet
from support.picoq_mutate import Mutator, reseal, sections
from support.tflite_builder import RandomLayers, TFLiteGraph

KDIR = Path(kernels_dir())
SRC = KDIR / "src" / "core" / "pq_model_validate.c"
# The validator and what it links with: the op registry (pq_ops.c) and the reference
# kernels' _eval entries the registry points at.
SRCS = sorted((KDIR / "src" / "core").glob("*.c")) + sorted((KDIR / "src" / "ref").glob("*.c"))
TESTS = Path(__file__).resolve().parent
DRIVER = TESTS / "c" / "pq_validate_main.c"
STRICT = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-Wvla", "-I", str(KDIR / "include")]
SAN = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
MUTANTS = int(os.environ.get("PICOQ_C_FUZZ_MUTANTS", "2000"))
FUZZ_MLPERF = ("kws_ref_model", "ad01_int8")
MAX_ARENA = fmt.DEFAULT_MAX_ARENA


# ---------------------------------------------------------------- models


def two_io() -> bytes:
    """Two graph inputs and two graph outputs (one of them also read by a RESHAPE that
    aliases it), and a FULLY_CONNECTED with a single output unit."""
    g = TFLiteGraph(description="picoq test two_io")
    r = RandomLayers(g, np.random.default_rng(5))
    a = r.input("a", (1, 2, 2, 4), scale=0.02, zero_point=1)
    b = r.input("b", (1, 2, 2, 4), scale=0.03, zero_point=-2)
    y = r.add(a, b, name="sum")
    z = r.reshape(y, (1, 16), name="flat")
    g.output(y, r.fully_connected(z, 1, name="fc"))
    return convert(g.build())


def ops_b() -> bytes:
    """Op codes 8..17 in the configurations the chain of test_kernels_more lacks: MEAN with
    keep_dims, MUL broadcasting a [1,1,1,C] operand, LEAKY_RELU with a negative alpha (a
    negative multiplier), a three-input CONCATENATION with a constant input and different
    scales, PADV2 (a non-zero pad value), a rank-3 TRANSPOSE."""
    g = TFLiteGraph(description="picoq test ops_b")
    x = g.input("x", (1, 5, 3, 2), 0.05, 3)
    mk = g.mean(x, [1, 2], 0.04, -2, keep_dims=True, name="mean_keep")
    mul = g.mul(x, mk, 0.1, 5, activation="RELU", name="mul_bcast")
    lr = g.leaky_relu(mul, -0.3, 0.04, 7, name="leaky_neg")
    c = g.const_int8("c", np.arange(-40, 40, 8, dtype=np.int8).reshape(1, 5, 1, 2), [0.1], [-4])
    cat = g.concatenation([lr, c, g.tanh(x, name="tanh")], 2, 0.03, -1, name="cat3")
    p = g.pad(cat, [[0, 0], [2, 0], [1, 3], [0, 1]], constant=-7, name="padv2")
    t = g.transpose(g.reshape(p, (1, 77, 3), name="flat3"), [2, 0, 1], name="perm3")
    g.output(g.logistic(t, name="sig"))
    return convert(g.build())


def concat_io() -> bytes:
    """A CONCATENATION of one tensor with itself, then a MUL by a second graph input and a
    SOFTMAX. That input (an arena tensor live from the start, read late) is what a file can
    pass off as the CONCATENATION's requant table (the one way to reach "requant must be
    constant") or, as a scalar, as the SOFTMAX's input."""
    g = TFLiteGraph(description="picoq test concat_io")
    a = g.input("a", (2, 3, 2), 0.02, -3)
    b = g.input("b", (2, 3, 4), 0.05, 4)
    y = g.concatenation([a, a], 2, name="cat_self")
    g.output(g.softmax(g.mul(y, b, 0.01, -6, name="gate"), name="probs"))
    return convert(g.build())


def concat_64() -> bytes:
    """The widest CONCATENATION the format allows: 64 data inputs (one tensor 64 times)."""
    g = TFLiteGraph(description="picoq test concat_64")
    x = g.input("x", (1, 2, 3), 0.05, 3)
    g.output(g.concatenation([x] * fmt.MAX_CONCAT_INPUTS, 1, name="cat"))
    return convert(g.build())


def slice_model() -> bytes:
    """A SLICE of a [1, 5, 6, 4] input from (0, 1, 2, 1), size [1, 3, 4, 2]."""
    g = TFLiteGraph(description="picoq test slice")
    x = g.input("x", (1, 5, 6, 4), 0.05, 3)
    g.output(g.slice(x, [0, 1, 2, 1], [1, 3, -1, 2], name="box"))
    return convert(g.build())


def prelu_model() -> bytes:
    """A PRELU of a [1, 4, 5, 6] input, one slope per channel ("act/alpha", int8 [6])."""
    g = TFLiteGraph(description="picoq test prelu")
    x = g.input("x", (1, 4, 5, 6), 0.05, 3)
    alpha = np.array([-40, -5, 0, 12, 60, 127], np.int8)
    g.output(g.prelu(x, alpha, 0.01, 0, 0.04, -10, name="act"))
    return convert(g.build())


def resize_model() -> bytes:
    """A RESIZE_NEAREST_NEIGHBOR of a [1, 3, 4, 2] input to [1, 6, 5, 2] ("up/rows" int32 [6],
    "up/cols" int32 [5])."""
    g = TFLiteGraph(description="picoq test resize")
    x = g.input("x", (1, 3, 4, 2), 0.05, 3)
    g.output(g.resize_nearest(x, (6, 5), name="up"))
    return convert(g.build())


def s16_model() -> bytes:
    """16x8 (int16 activations): FULLY_CONNECTED "fc" [2, 6] -> [2, 8] (int8 weights
    "fc/weights", int64 bias "fc/bias"), PAD "pad" -> [3, 10], TRANSPOSE "tr" -> [10, 3],
    SLICE "sl" -> [4, 2]."""
    g = TFLiteGraph(description="picoq test s16", activations=np.int16)
    layers = RandomLayers(g, np.random.default_rng(16))
    y = layers.fully_connected(layers.input("x", (2, 6), 0.001, 0), 8, name="fc")
    y = g.pad(y, [[1, 0], [0, 2]], name="pad")
    y = g.transpose(y, [1, 0], name="tr")
    g.output(g.slice(y, [3, 1], [4, 2], name="sl"))
    return convert(g.build())


# --- ops14 ---


def ops14_model() -> bytes:
    """RESIZE_BILINEAR "bl" of a [1, 3, 4, 2] input to [1, 6, 5, 2] (tables "bl/rows" int32
    [6, 3], "bl/cols" int32 [5, 3]: low index, high index, weight), then TRANSPOSE_CONV "tc"
    (filter "tc/w" [3, 2, 5, 2], bias "tc/b", stride 2, SAME) to [1, 12, 10, 3]."""
    g = TFLiteGraph(description="picoq test ops14")
    x = g.input("x", (1, 3, 4, 2), 0.05, 3)
    y = g.resize_bilinear(x, (6, 5), half_pixel_centers=True, name="bl")
    w = g.const_int8(
        "tc/w",
        np.arange(-30, 30, dtype=np.int8).reshape(3, 2, 5, 2),
        [0.01, 0.02, 0.03],
        quantized_dimension=0,
    )
    b = g.const_int32("tc/b", np.array([5, -7, 9], np.int32), [0.0005, 0.001, 0.0015])
    g.output(g.transpose_conv(y, w, b, 0.1, -4, (12, 10), stride=2, padding="SAME", name="tc"))
    return convert(g.build())


# --- end ops14 ---


def attention_model() -> bytes:
    """BATCH_MATMUL qk = q [2, 5, 8] x k [2, 5, 8]^T (adj_y), GATHER g = q[:, [4, 0, 2, 2, 1]],
    BATCH_MATMUL out = qk [2, 5, 5] x g [2, 5, 8]."""
    g = TFLiteGraph(description="picoq test attention")
    q, k = g.input("q", (2, 5, 8), 0.05, 3), g.input("k", (2, 5, 8), 0.04, -2)
    qk = g.batch_matmul(q, k, 0.2, -5, adj_y=True, name="qk")
    gq = g.gather(q, np.array([4, 0, 2, 2, 1]), axis=1, name="g")
    g.output(g.batch_matmul(qk, gq, 0.5, 7, name="out"))
    return convert(g.build())


def s16_elem() -> bytes:
    """16x8 (int16, zero point 0): ADD "add" of x [1, 4, 4, 2] and "b", MUL "mul", MAX_POOL_2D
    "pool", MEAN "mean" (axes 1, 2: count 16), RESHAPE "flat", CONCATENATION "cat" (its table
    "cat/requant")."""
    g = TFLiteGraph(description="picoq test s16_elem", activations=np.int16)
    x, b = g.input("x", (1, 4, 4, 2), 0.001, 0), g.input("b", (1, 4, 4, 2), 0.002, 0)
    y = g.mul(g.add(x, b, 0.003, 0, name="add"), x, 0.01, 0, name="mul")
    y = g.max_pool2d(y, 2, 2, name="pool")
    m = g.mean(y, [1, 2], 0.01, 0, keep_dims=False, name="mean")
    g.output(g.concatenation([g.reshape(y, (1, 8), name="flat"), m], 1, 0.01, 0, name="cat"))
    return convert(g.build())


def layer_norm() -> bytes:
    """LAYER_NORM of a [1, 3, 8] input: rows of 8, int32 gamma and beta."""
    calib = np.random.default_rng(0).normal(size=(4, 3, 8)).astype(np.float32)
    return convert(layer_norm_model([1, 3, 8]), calibration=calib, progress=False)


def s16_conv() -> bytes:
    """16x8 convolutions (s16 variants): CONV_2D "c32" (int32 bias), DEPTHWISE_CONV_2D "dw"
    (int64 bias, multiplier 2), CONV_2D "c64" (int64 bias), CONV_2D "cnone" (no bias)."""
    g = TFLiteGraph(activations=np.int16, description="picoq test s16 conv")
    layers = RandomLayers(g, np.random.default_rng(0))
    x = layers.input("x", (1, 6, 6, 4), 0.001, 0)
    c = layers.conv2d(x, 4, 3, bias_dtype=np.int32, name="c32")
    d = layers.depthwise_conv2d(c, 3, depth_multiplier=2, name="dw")
    e = layers.conv2d(d, 4, 1, name="c64")
    g.output(layers.conv2d(e, 2, 1, bias=False, name="cnone"))
    return convert(g.build())


def int4_model() -> bytes:
    """int4 weights (s4): CONV_2D "c4" of [1, 6, 6, 1] (filter [5, 3, 3, 1]: 45 values in 23
    bytes), DEPTHWISE_CONV_2D "d4" (filter [1, 3, 3, 5]), RESHAPE "flat" to [1, 180], per-tensor
    FULLY_CONNECTED "f4" (weights [7, 180])."""
    g = TFLiteGraph(description="picoq test int4")
    layers = RandomLayers(g, np.random.default_rng(4), weights="int4")
    x = layers.input("x", (1, 6, 6, 1), 0.02, -3)
    y = layers.depthwise_conv2d(layers.conv2d(x, 5, (3, 3), name="c4"), 3, name="d4")
    g.output(layers.fully_connected(layers.reshape(y, (1, 180), name="flat"), 7, name="f4"))
    return convert(g.build())


def lut16_model() -> bytes:
    """int8 x [2, 50] -> QUANTIZE to int16 "q_in" -> SOFTMAX "probs16" (int16 tables
    "probs16/exp_lut", "probs16/one_over_one_plus_x_lut" [513]) -> QUANTIZE "q_mid" -> LOGISTIC
    "sig16" -> TANH "th16" (tables "sig16/sigmoid_table", "th16/sigmoid_table" [256]) -> QUANTIZE
    to int8 "q_out" -> QUANTIZE int8 -> int8 "q_8". Ops 0..6."""
    g = TFLiteGraph(description="picoq test lut16")
    x = g.input("x", (2, 50), 0.05, 3)
    s = g.softmax(g.quantize(x, 0.0004, 0, np.int16, name="q_in"), name="probs16")
    t = g.tanh(g.logistic(g.quantize(s, 2.0**-12, 0, np.int16, name="q_mid"), name="sig16"), name="th16")
    g.output(g.quantize(g.quantize(t, 1 / 128, 0, np.int8, name="q_out"), 0.01, -5, np.int8, name="q_8"))
    return convert(g.build())


def _tables() -> bytes:
    m, calib = gelu_silu_convnet()
    return convert(m, calibration=calib, progress=False)


REPO_MODELS = {
    "tiny_convnet": lambda: convert(build_tiny_convnet()),
    # An old 1.1 file (SCRA) as picoq wrote it: the SCRA cases below edit its scratch plan.
    "tiny_resnet": lambda: to_bytes_1_1(load(build_tiny_resnet()), needs=TINY_RESNET_NEEDS),
    "tiny_mlp": lambda: convert(build_tiny_mlp()),
    "two_io": two_io,
    "new_ops": lambda: convert(_build_chain()[0]),  # op codes 8..17 chained (test_kernels_more)
    "ops_b": ops_b,
    "concat_io": concat_io,
    "concat_64": concat_64,
    "tables": lambda: _tables(),  # LOOKUP_TABLE (float ONNX only)
    "slice": slice_model,
    "prelu": prelu_model,
    "resize": resize_model,
    "ops14": ops14_model,  # RESIZE_BILINEAR
    "attention": attention_model,  # BATCH_MATMUL, GATHER
    "layer_norm": layer_norm,  # LAYER_NORM (float ONNX only)
    "s16": s16_model,  # 16x8 variants (pq_variants.def)
    "s16_conv": s16_conv,  # CONV_2D and DEPTHWISE_CONV_2D 16x8
    "int4": int4_model,  # s4 variants of CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED
    "s16_elem": s16_elem,  # 16x8 ADD, MUL, MAX_POOL_2D, MEAN, RESHAPE, CONCATENATION
    "lut16": lut16_model,  # SOFTMAX, LOGISTIC, TANH s16; QUANTIZE s8 and s16
}


@pytest.fixture(scope="module")
def models() -> dict[str, bytes]:
    out = {name: build() for name, build in REPO_MODELS.items()}
    for name in MLPERF_INT8:
        path = SHARED_MODELS / f"{name}.tflite"
        if path.is_file():
            out[name] = convert(path.read_bytes())
    return out


# ---------------------------------------------------------------- the C library


class CError(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_int),
        ("field", ctypes.c_char_p),
        ("why", ctypes.c_char_p),
        ("param", ctypes.c_char_p),
        ("index", ctypes.c_int32),
        ("sub", ctypes.c_int32),
        ("offset", ctypes.c_int64),
        ("value", ctypes.c_int64),
    ]


class CTensor(ctypes.Structure):
    _fields_ = [
        ("dtype", ctypes.c_uint8),
        ("rank", ctypes.c_uint8),
        ("kind", ctypes.c_uint8),
        ("quant", ctypes.c_uint8),
        ("dims", ctypes.c_int32 * 6),
        ("offset", ctypes.c_uint32),
        ("nbytes", ctypes.c_uint32),
        ("scale_bits", ctypes.c_uint32),
        ("zero_point", ctypes.c_int32),
        ("name", ctypes.c_void_p),
        ("name_len", ctypes.c_uint32),
    ]


class CValidator:
    def __init__(self, path: Path):
        lib = ctypes.CDLL(str(path))
        lib.pq_model_validate.argtypes = [
            ctypes.c_char_p,
            ctypes.c_uint32,
            ctypes.c_uint32,
            ctypes.POINTER(CError),
        ]
        lib.pq_model_validate.restype = ctypes.c_int
        lib.pq_model_crc32.argtypes = [ctypes.c_uint32, ctypes.c_char_p, ctypes.c_uint32]
        lib.pq_model_crc32.restype = ctypes.c_uint32
        lib.pq_model_field_name.argtypes = [ctypes.c_int]
        lib.pq_model_field_name.restype = ctypes.c_char_p
        for name in ("arena_size", "num_inputs", "num_outputs", "num_tensors", "num_ops"):
            getattr(lib, f"pq_model_{name}").argtypes = [ctypes.c_char_p]
            getattr(lib, f"pq_model_{name}").restype = ctypes.c_uint32
        for name in ("input", "output"):
            getattr(lib, f"pq_model_{name}").argtypes = [ctypes.c_char_p, ctypes.c_uint32]
            getattr(lib, f"pq_model_{name}").restype = ctypes.c_int32
        lib.pq_model_tensor_info.argtypes = [ctypes.c_char_p, ctypes.c_uint32, ctypes.POINTER(CTensor)]
        lib.pq_model_tensor_info.restype = ctypes.c_int
        u32p = ctypes.POINTER(ctypes.c_uint32)
        lib.pq_model_scratch.argtypes = [ctypes.c_char_p, ctypes.c_uint32, u32p, u32p]
        lib.pq_model_scratch.restype = ctypes.c_int
        self.lib = lib

    def validate(self, data: bytes, max_arena: int = MAX_ARENA) -> CError:
        err = CError()
        rc = self.lib.pq_model_validate(data, len(data), max_arena, ctypes.byref(err))
        assert rc == err.code
        return err

    def field(self, data: bytes, max_arena: int = MAX_ARENA) -> str | None:
        return c_field(self.validate(data, max_arena))


def c_field(err: CError) -> str | None:
    """C's field name, with the parameter's name for PQ_MODEL_E_OP_PARAM ("op.params.stride_h")."""
    if not err.code:
        return None
    return err.field.decode() + ("." + err.param.decode() if err.param else "")


def _gcc() -> str:
    cc = shutil.which("gcc")
    if not cc:
        raise AssertionError("gcc is needed to build the C validator")
    return cc


def _build_lib(out: Path, extra: list[str], srcs: list[Path] = SRCS) -> Path:
    cmd = [_gcc(), *STRICT, "-O2", "-fPIC", "-shared", *extra, *map(str, srcs), "-o", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pq_model_validate")


@pytest.fixture(scope="module")
def c(build_dir) -> CValidator:
    return CValidator(_build_lib(build_dir / "libpqmodel.so", []))


# ---------------------------------------------------------------- read_model


def normalize(field: str) -> str:
    """Python's field with record indices, op names and section tags left out (C's names).
    CONCATENATION's data input k ("input{k}.shape") counts as an index too: "op.input.shape"."""
    field = re.sub(r"^(op\[\d+\] CONCATENATION\.input)\d+\.", r"\1.", field)
    if (
        field.startswith("section ") and field != "section table"
    ):  # "section b'TENS'.size", "section MODL.size"
        return "section." + field.rsplit(".", 1)[1]
    field = re.sub(r"\[\d+\]", "", field)
    return re.sub(r"^op [A-Z0-9_]+\.", "op.", field)


def py_error(data: bytes, max_arena: int = MAX_ARENA) -> ModelFormatError | None:
    """read_model's refusal, or None when it loads (any other exception propagates)."""
    try:
        read_model(data, max_arena_bytes=max_arena)
    except ModelFormatError as e:
        return e
    return None


# ---------------------------------------------------------------- 1. valid models


def test_crc32_matches_zlib(c) -> None:
    rng = np.random.default_rng(0)
    for n in (0, 1, 15, 16, 17, 1000):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert c.lib.pq_model_crc32(0, data, n) == zlib.crc32(data)
        half = c.lib.pq_model_crc32(0, data[: n // 2], n // 2)
        assert c.lib.pq_model_crc32(half, data[n // 2 :], n - n // 2) == zlib.crc32(data)
    assert c.lib.pq_model_crc32(0, b"123456789", 9) == 0xCBF43926


def test_valid_models_are_accepted(c, models) -> None:
    assert set(REPO_MODELS) <= set(models)
    assert {
        op.name
        for name in (
            "new_ops",
            "ops_b",
            "tables",
            "slice",
            "prelu",
            "resize",
            "ops14",
            "attention",
            "layer_norm",
            "lut16",
        )
        for op in read_model(models[name]).ops
    } >= {spec.name for code, spec in fmt.OPS.items() if code >= 8}
    for name, data in models.items():
        m = read_model(data)
        err = c.validate(data)
        assert err.code == 0, (name, err.field, err.index, err.offset, err.value)
        # The tightest arena cap still passes; one 16 bytes below does not.
        assert c.validate(data, m.arena_size).code == 0
        if m.arena_size >= 16:
            assert c.field(data, m.arena_size - 16) == "model.arena_size"
        # Accessors a firmware loader uses.
        lib = c.lib
        assert lib.pq_model_arena_size(data) == m.arena_size
        assert lib.pq_model_num_tensors(data) == len(m.tensors)
        assert lib.pq_model_num_ops(data) == len(m.ops)
        assert lib.pq_model_num_inputs(data) == len(m.inputs)
        assert lib.pq_model_num_outputs(data) == len(m.outputs)
        assert [lib.pq_model_input(data, i) for i in range(len(m.inputs) + 1)] == [*m.inputs, -1]
        assert [lib.pq_model_output(data, i) for i in range(len(m.outputs) + 1)] == [*m.outputs, -1]
        base = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value
        for t in m.tensors:
            info = CTensor()
            assert lib.pq_model_tensor_info(data, t.index, ctypes.byref(info)) == 0
            assert (info.dtype, info.kind) == (fmt.DTYPE_CODE[t.dtype], t.kind)
            assert tuple(info.dims[: info.rank]) == t.shape and not any(info.dims[info.rank :])
            assert (info.offset, info.nbytes) == (t.offset, t.nbytes)
            assert data[info.name - base : info.name - base + info.name_len].decode() == t.name
            if info.quant == 1:
                assert struct.unpack("<f", struct.pack("<I", info.scale_bits))[0] == t.scales[0]
                assert info.zero_point == t.zero_points[0]
        assert lib.pq_model_tensor_info(data, len(m.tensors), ctypes.byref(CTensor())) == -1
        off, size = ctypes.c_uint32(), ctypes.c_uint32()
        for i, want in enumerate(m.scratch or [(0, 0)] * len(m.ops)):
            assert lib.pq_model_scratch(data, i, ctypes.byref(off), ctypes.byref(size)) == 0
            assert (off.value, size.value) == want
        assert lib.pq_model_scratch(data, len(m.ops), ctypes.byref(off), ctypes.byref(size)) == -1
    print({name: len(d) for name, d in models.items()})


def onnx_converted_models() -> dict[str, tuple[object, tuple[int, ...]]]:
    """Every float ONNX model the tests build, with its input shape: the four MLPerf Tiny
    architectures in both layouts (make_onnx_models), one model per ONNX op case
    (test_onnx_ops), and the demo's digits CNN."""
    import importlib.util

    import onnx

    from picoq.converter import demo

    from support import make_onnx_models

    out = {}
    for name, build in make_onnx_models.MODELS.items():
        for layout in ("nchw", "nhwc"):
            m = build(layout)
            out[f"{name}_{layout}"] = (m, make_onnx_models.input_shape(m))
    # A private copy of test_onnx_ops: its CASES draw weights from a module-level generator,
    # and drawing from the shared one would change the models test_onnx_ops itself tests.
    spec = importlib.util.spec_from_file_location("_c_validator_onnx_ops", TESTS / "test_onnx_ops.py")
    onnx_ops = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(onnx_ops)
    for case, build in sorted(onnx_ops.CASES.items()):
        m = build()
        out[case] = (m, tuple(d.dim_value or 1 for d in m.graph.input[0].type.tensor_type.shape.dim))
    m = onnx.load(str(demo.MODEL))
    out["demo_digits_cnn"] = (m, (1, *(d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim[1:])))
    return out


def test_onnx_converted_models_are_accepted(c) -> None:
    """What the float path writes (calibrated on random inputs) passes the validator:
    between them these models use every op code but QUANTIZE and LEAKY_RELU, 8..17 included."""
    rng = np.random.default_rng(0)
    seen: Counter = Counter()
    for name, (m, shape) in onnx_converted_models().items():
        data = convert(m, calibration=rng.normal(size=(16, *shape[1:])).astype(np.float32), progress=False)
        seen.update(op.name for op in read_model(data).ops)
        err = c.validate(data)
        assert err.code == 0, (name, err.field, err.index, err.offset, err.value)
    # QUANTIZE comes from .tflite files only (between int8 and 16x8 parts of a graph), and so does
    # LEAKY_RELU: an ONNX LeakyRelu becomes an exactly rounded LOOKUP_TABLE (TFLM's LEAKY_RELU
    # rounds twice on the negative side)
    assert set(seen) == {spec.name for spec in fmt.OPS.values()} - {"QUANTIZE", "LEAKY_RELU"}, seen
    print(dict(seen))


UTF8_HARNESS = """
#include "pq_model_validate.c"
/* n strings packed back to back, lens[i] bytes each: out[i] = utf8_ok(string i). */
void utf8_batch(const uint8_t *buf, const uint32_t *lens, uint32_t n, uint8_t *out) {
    uint32_t i;
    for (i = 0; i < n; i++) {
        out[i] = (uint8_t)utf8_ok(buf, lens[i]);
        buf += lens[i];
    }
}
"""


def test_utf8_matches_python_decoder(build_dir) -> None:
    """Names are checked with Python's strict UTF-8 rules in C too: every 1- and 2-byte
    string, and random 3- to 6-byte strings over the bytes where the rules change."""
    src = build_dir / "utf8_harness.c"
    src.write_text(UTF8_HARNESS)
    lib = _build_lib(build_dir / "libutf8.so", ["-I", str(SRC.parent)], [src, *(x for x in SRCS if x != SRC)])
    lib = ctypes.CDLL(str(lib))
    strings = [bytes([a]) for a in range(256)] + [bytes([a, b]) for a in range(256) for b in range(256)]
    edges = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1]
    edges += [0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
    rng = np.random.default_rng(7)
    for n in (3, 4, 5, 6):
        block = rng.choice(np.array(edges, np.uint8), (20_000, n)).tobytes()
        strings += [block[i : i + n] for i in range(0, len(block), n)]
    lens = np.fromiter(map(len, strings), np.uint32, len(strings))
    out = np.zeros(len(strings), np.uint8)
    lib.utf8_batch(
        b"".join(strings),
        lens.ctypes.data_as(ctypes.c_void_p),
        len(strings),
        out.ctypes.data_as(ctypes.c_void_p),
    )

    def py_ok(s: bytes) -> bool:
        try:
            s.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True

    wrong = [s for s, ok in zip(strings, out) if bool(ok) != py_ok(s)]
    assert not wrong, wrong[:10]
    assert 1000 < int(out.sum()) < len(strings) - 1000  # both verdicts well exercised


# ---------------------------------------------------------------- 2. one bad file per rule


class Patch:
    """A valid model's bytes plus where every record lives, for one-field edits."""

    TENS = {
        "dtype": (0, "<B"),
        "rank": (1, "<B"),
        "kind": (2, "<B"),
        "quant": (3, "<B"),
        "name_off": (4, "<I"),
        "name_len": (8, "<I"),
        "data_offset": (36, "<I"),
        "data_size": (40, "<I"),
        "scale": (44, "<f"),
        "scale_bits": (44, "<I"),
        "zero_point": (48, "<i"),
        "quant_axis": (52, "<i"),
        "qparams_offset": (56, "<I"),
        "reserved": (60, "<I"),
    }
    OP = {"opcode": (0, "<H"), "version": (2, "<H"), "n_inputs": (4, "<H"), "n_outputs": (6, "<H")}
    OP |= {"io_index": (8, "<I"), "reserved": (12, "<I")}
    MODL = {"arena_size": 0, "n_inputs": 4, "n_outputs": 8, "name_off": 12, "name_len": 16, "reserved": 20}
    SECTION = {"offset": 4, "size": 8, "reserved": 12}

    def __init__(self, data: bytes):
        self.orig = data
        self.buf = bytearray(data)
        self.m = read_model(data)
        self.sec = sections(data)
        self.max_arena = MAX_ARENA
        self.seal = True

    def put(self, at: int, code: str, *v) -> None:
        struct.pack_into(code, self.buf, at, *v)

    def get(self, at: int, code: str):
        return struct.unpack_from(code, self.buf, at)[0]

    def tidx(self, t: int | str) -> int:
        return t if isinstance(t, int) else next(x.index for x in self.m.tensors if x.name == t)

    def trec(self, t: int | str) -> int:
        return self.sec[b"TENS"][0] + 64 * self.tidx(t)

    def tens(self, t: int | str, field: str, v) -> None:
        off, code = self.TENS[field]
        self.put(self.trec(t) + off, code, v)

    def dim(self, t: int | str, k: int, v: int) -> None:
        self.put(self.trec(t) + 12 + 4 * k, "<i", v)

    def retype(self, t: int | str, dtype: int, dims: tuple[int, ...]) -> None:
        """New dtype and shape for the same bytes."""
        at = self.trec(t)
        assert int(np.prod(dims)) * (1 if dtype == 1 else 4) == self.get(at + 40, "<I"), dims
        self.put(at, "<BB", dtype, len(dims))
        struct.pack_into("<6i", self.buf, at + 12, *dims, *[0] * (6 - len(dims)))

    def retype_raw(self, t: int | str, dtype: int, dims: tuple[int, ...]) -> None:
        """Like retype, without keeping the byte size (for the dims and size rules)."""
        at = self.trec(t)
        self.put(at, "<BB", dtype, len(dims))
        struct.pack_into("<6i", self.buf, at + 12, *dims, *[0] * (6 - len(dims)))

    def oidx(self, op: int | str) -> int:
        return op if isinstance(op, int) else next(o.index for o in self.m.ops if o.name == op)

    def orec(self, op: int | str) -> int:
        return self.sec[b"OPS_"][0] + 80 * self.oidx(op)

    def op(self, op: int | str, field: str, v) -> None:
        off, code = self.OP[field]
        self.put(self.orec(op) + off, code, v)

    def param(self, op: int | str, name: str, v: int) -> None:
        i = self.oidx(op)
        k = fmt.OPS[self.m.ops[i].opcode].param_names.index(name) if name.isidentifier() else int(name)
        self.put(self.orec(i) + 16 + 4 * k, "<i", v)

    def slot(self, op: int | str, k: int, t: int | str) -> None:
        """Tensor k of an op (inputs, then the output)."""
        io = self.get(self.orec(op) + 8, "<I")
        self.put(self.sec[b"OPIO"][0] + 4 * (io + k), "<i", self.tidx(t) if isinstance(t, str) else t)

    def grio(self, k: int, t: int | str) -> None:
        self.put(self.sec[b"GRIO"][0] + 4 * k, "<i", self.tidx(t) if isinstance(t, str) else t)

    def const_i32(self, t: int | str, k: int, v: int) -> None:
        self.put(self.m.tensors[self.tidx(t)].offset + 4 * k, "<i", v)

    def const_i8(self, t: int | str, k: int, v: int) -> None:
        self.put(self.m.tensors[self.tidx(t)].offset + k, "<b", v)

    def qparams(self, t: int | str) -> int:
        """Absolute offset of a per-channel tensor's scales."""
        return self.sec[b"DATA"][0] + self.get(self.trec(t) + 56, "<I")

    def name_bytes(self, t: int | str, raw: bytes, at_end: bool = False) -> None:
        """Overwrite the start (or the end) of a tensor's name in STRS."""
        at = self.trec(t)
        n = self.get(at + 8, "<I")
        assert len(raw) <= n
        start = self.sec[b"STRS"][0] + self.get(at + 4, "<I") + (n - len(raw) if at_end else 0)
        self.buf[start : start + len(raw)] = raw

    def modl(self, field: str, v: int) -> None:
        self.put(self.sec[b"MODL"][0] + self.MODL[field], "<I", v)

    def scra(self, op: int | str, offset: int | None = None, size: int | None = None) -> None:
        """Op `op`'s scratch record (SCRA, format 1.1)."""
        at = self.sec[b"SCRA"][0] + 8 * self.oidx(op)
        if offset is not None:
            self.put(at, "<I", offset)
        if size is not None:
            self.put(at + 4, "<I", size)

    def scratch_of(self, op: int | str) -> tuple[int, int]:
        assert self.m.scratch is not None
        return self.m.scratch[self.oidx(op)]

    def section(self, tag: bytes, field: str, v) -> None:
        at = self.sec[tag][2]
        if field == "tag":
            self.buf[at : at + 4] = v
        else:
            self.put(at + self.SECTION[field], "<I", v)

    def data(self) -> bytes:
        if self.seal:
            reseal(self.buf)
        return bytes(self.buf)

    def fork(self) -> Patch:
        """A fresh copy of the original bytes sharing the (read-only) layout."""
        q = copy.copy(self)
        q.buf = bytearray(self.orig)
        q.max_arena, q.seal = MAX_ARENA, True
        return q


def _unsealed(edit):
    def run(p: Patch):
        edit(p)
        p.seal = False

    return run


def _arena_cap(p: Patch) -> None:
    p.max_arena = p.m.arena_size - 16


def _truncate(n: int):
    return lambda p: bytes(p.buf[:n])


def _scale_bits(bits: int):
    return lambda p: p.tens("input", "scale_bits", bits)


def _utf8(raw: bytes, at_end: bool = False):
    return lambda p: p.name_bytes("stem/filter", raw, at_end)


def _huge_mean_input(dims: tuple[int, ...]):
    """ops_b's graph input (read by MEAN over axes 1, 2) with `dims`, moved past the other
    tensors in a bigger arena: `count` as large as the dims allow."""

    def edit(p: Patch) -> None:
        n = int(np.prod(dims))
        p.retype_raw("x", 1, dims)
        p.tens("x", "data_size", n)
        p.tens("x", "data_offset", p.m.arena_size)
        p.modl("arena_size", p.m.arena_size + (n + 15) // 16 * 16)

    return edit


def _move_section_onto(tag: bytes, other: bytes):
    return lambda p: p.section(tag, "offset", p.sec[other][0])


# (model, id, edit, expected field or None for "both accept"). The edit mutates the Patch
# (or returns replacement bytes); the file is resealed unless the edit says otherwise.
R, CN, ML, IO = "tiny_resnet", "tiny_convnet", "tiny_mlp", "two_io"
NO, B, CI, C64, TB, SL, PR, RS = (
    "new_ops",
    "ops_b",
    "concat_io",
    "concat_64",
    "tables",
    "slice",
    "prelu",
    "resize",
)
AT = "attention"
LN = "layer_norm"
S16 = "s16"
S16C = "s16_conv"
I4 = "int4"
S16E = "s16_elem"
LU = "lut16"
EXP16, SIG16 = "probs16/exp_lut", "sig16/sigmoid_table"  # lut16's int16 tables [513], [256]
LNG, LNB = "LayerNormalization_0/gamma", "LayerNormalization_0/beta"  # LAYER_NORM's int32[8] constants
RQ = "concatenation_9/requant"  # new_ops' CONCATENATION table: rows (multiplier, shift, input_offset)
CASES = [
    # -- header
    (R, "short-file", _truncate(31), "file"),
    (R, "empty-file", _truncate(0), "file"),
    (R, "magic", lambda p: p.buf.__setitem__(slice(0, 8), b"NOTPICOQ"), "header.magic"),
    (R, "magic-text-mode", lambda p: p.buf.__setitem__(slice(6, 8), b"\n\n"), "header.magic"),
    (R, "version-2", lambda p: p.put(8, "<H", 2), "header.version_major"),
    (R, "version-byte-swapped", lambda p: p.put(8, "<H", 0x100), "header.version_major"),
    (R, "version-minor-ignored", lambda p: p.put(10, "<H", 7), None),
    (R, "file-size-truncated", _truncate(4096), "header.file_size"),
    (R, "file-size-field", lambda p: p.put(16, "<Q", 1 << 40), "header.file_size"),
    (R, "flags", lambda p: p.put(28, "<I", 1), "header.flags"),
    (R, "crc", _unsealed(lambda p: p.buf.__setitem__(-1, p.buf[-1] ^ 1)), "header.crc32"),
    (R, "crc-field", _unsealed(lambda p: p.put(12, "<I", p.get(12, "<I") ^ 0x80000000)), "header.crc32"),
    (R, "section-count-cap", lambda p: p.put(24, "<I", 65), "header.section_count"),
    (R, "section-count-huge", lambda p: p.put(24, "<I", 0xFFFFFFFF), "header.section_count"),
    (R, "section-count-zero", lambda p: p.put(24, "<I", 0), "section table"),
    # -- section table
    (R, "section-reserved", lambda p: p.section(b"DATA", "reserved", 1), "section.reserved"),
    (R, "section-duplicate", lambda p: p.section(b"DATA", "tag", b"TENS"), "section.tag"),
    (R, "section-missing", lambda p: p.section(b"DATA", "tag", b"XTRA"), "section table"),
    (
        R,
        "section-misaligned",
        lambda p: p.section(b"STRS", "offset", p.sec[b"STRS"][0] + 4),
        "section.offset",
    ),
    (R, "section-in-table", lambda p: p.section(b"STRS", "offset", 32), "section.offset"),
    (R, "section-past-eof", lambda p: p.section(b"STRS", "offset", len(p.buf) + 16), "section.offset"),
    (R, "section-size-past-eof", lambda p: p.section(b"DATA", "size", len(p.buf)), "section.offset"),
    (R, "section-size-wraps", lambda p: p.section(b"DATA", "size", 0xFFFFFFF0), "section.offset"),
    (R, "section-offset-wraps", lambda p: p.section(b"DATA", "offset", 0xFFFFFFF0), "section.offset"),
    (R, "section-overlap", _move_section_onto(b"STRS", b"TENS"), "section.offset"),
    (
        R,
        "section-overlap-empty-inside",
        lambda p: (p.section(b"GRIO", "size", 0), p.section(b"GRIO", "offset", p.sec[b"TENS"][0] + 16)),
        "section.offset",
    ),
    # -- MODL
    (R, "modl-size-0", lambda p: p.section(b"MODL", "size", 0), "section.size"),
    (R, "modl-size-odd", lambda p: p.section(b"MODL", "size", 16), "section.size"),
    (R, "modl-reserved", lambda p: p.modl("reserved", 1), "MODL.reserved"),
    (R, "modl-reserved-last", lambda p: p.put(p.sec[b"MODL"][0] + 31, "<B", 1), "MODL.reserved"),
    (R, "model-name-past-strs", lambda p: p.modl("name_off", p.sec[b"STRS"][1]), "model.name"),
    (R, "model-name-long", lambda p: p.modl("name_len", 1025), "model.name"),
    (R, "model-name-wraps", lambda p: p.modl("name_off", 0xFFFFFFFF), "model.name"),
    (R, "arena-misaligned", lambda p: p.modl("arena_size", p.m.arena_size + 8), "model.arena_size"),
    (R, "arena-above-cap", _arena_cap, "model.arena_size"),
    (R, "n-inputs-0", lambda p: p.modl("n_inputs", 0), "model.n_inputs/n_outputs"),
    (R, "n-outputs-grio", lambda p: p.modl("n_outputs", 2), "model.n_inputs/n_outputs"),
    (
        R,
        "n-inputs-huge",
        lambda p: (p.modl("n_inputs", 0xFFFFFFFF), p.modl("n_outputs", 3)),
        "model.n_inputs/n_outputs",
    ),
    # -- TENS records
    (R, "tens-size", lambda p: p.section(b"TENS", "size", p.sec[b"TENS"][1] - 16), "section.size"),
    (R, "tens-reserved", lambda p: p.tens(5, "reserved", 1), "TENS.reserved"),
    (R, "tensor-name-long", lambda p: p.tens(3, "name_len", 1025), "tensor.name"),
    (R, "tensor-name-past-strs", lambda p: p.tens(3, "name_off", p.sec[b"STRS"][1] - 2), "tensor.name"),
    (R, "utf8-invalid-byte", _utf8(b"\xff"), "tensor.name"),
    (R, "utf8-continuation-first", _utf8(b"\x80"), "tensor.name"),
    (R, "utf8-overlong-2", _utf8(b"\xc0\x80"), "tensor.name"),
    (R, "utf8-overlong-3", _utf8(b"\xe0\x80\x80"), "tensor.name"),
    (R, "utf8-overlong-4", _utf8(b"\xf0\x80\x80\x80"), "tensor.name"),
    (R, "utf8-surrogate", _utf8(b"\xed\xa0\x80"), "tensor.name"),
    (R, "utf8-above-10ffff", _utf8(b"\xf4\x90\x80\x80"), "tensor.name"),
    (R, "utf8-truncated", _utf8(b"\xe2\x82", at_end=True), "tensor.name"),  # the name ends mid-sequence
    (R, "utf8-truncated-4", _utf8(b"\xf0\x9f\x98", at_end=True), "tensor.name"),
    (R, "utf8-complete-at-end", _utf8(b"\xe2\x82\xac", at_end=True), None),
    (R, "utf8-bad-continuation", _utf8(b"\xe2\x28\xa1"), "tensor.name"),
    (R, "utf8-valid-multibyte", _utf8(b"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), None),
    (R, "utf8-max", _utf8(b"\xf4\x8f\xbf\xbf"), None),
    (R, "utf8-nul", _utf8(b"\x00"), None),
    (R, "dtype", lambda p: p.tens(3, "dtype", 6), "tensor.dtype"),
    (R, "dtype-0", lambda p: p.tens(3, "dtype", 0), "tensor.dtype"),
    (R, "rank-7", lambda p: p.tens(3, "rank", 7), "tensor.rank"),
    (R, "dim-0", lambda p: p.dim(2, 1, 0), "tensor.dims"),
    (R, "dim-negative", lambda p: p.dim(2, 1, -10), "tensor.dims"),
    (R, "dim-above-cap", lambda p: p.dim(2, 1, (1 << 24) + 1), "tensor.dims"),
    (R, "dim-unused-nonzero", lambda p: p.dim(3, 1, 1), "tensor.dims"),
    (R, "rank-shrunk", lambda p: p.tens(2, "rank", 3), "tensor.dims"),
    (
        R,
        "elements-overflow-31",
        lambda p: p.retype_raw(2, 1, (1 << 24, 1 << 24, 1 << 24, 1 << 24, 1 << 24, 1 << 24)),
        "tensor.dims",
    ),
    (R, "elements-2^31", lambda p: p.retype_raw(2, 1, (1 << 16, 1 << 15)), "tensor.dims"),
    (R, "data-size", lambda p: p.tens(2, "data_size", 799), "tensor.data_size"),
    (R, "data-size-int32", lambda p: p.tens(3, "data_size", 8), "tensor.data_size"),
    (R, "arena-offset-misaligned", lambda p: p.tens(2, "data_offset", 8), "tensor.data_offset"),
    (R, "arena-offset-past", lambda p: p.tens(2, "data_offset", p.m.arena_size), "tensor.data_offset"),
    (R, "arena-offset-wraps", lambda p: p.tens(2, "data_offset", 0xFFFFFFF0), "tensor.data_offset"),
    (
        R,
        "const-offset-misaligned",
        lambda p: p.tens(3, "data_offset", p.get(p.trec(3) + 36, "<I") + 4),
        "tensor.data_offset",
    ),
    (
        R,
        "const-offset-past",
        lambda p: p.tens(3, "data_offset", p.sec[b"DATA"][1] - 16),
        "tensor.data_offset",
    ),
    (R, "kind", lambda p: p.tens(3, "kind", 2), "tensor.kind"),
    (R, "quant", lambda p: p.tens(3, "quant", 3), "tensor.quant"),
    (R, "quant-axis-rank", lambda p: p.tens("stem/filter", "quant_axis", 4), "tensor.quant_axis"),
    (R, "quant-axis-negative", lambda p: p.tens("stem/filter", "quant_axis", -1), "tensor.quant_axis"),
    (
        R,
        "qparams-misaligned",
        lambda p: p.tens("stem/filter", "qparams_offset", p.get(p.trec(1) + 56, "<I") + 2),
        "tensor.qparams_offset",
    ),
    (
        R,
        "qparams-past",
        lambda p: p.tens("stem/filter", "qparams_offset", p.sec[b"DATA"][1] - 60),
        "tensor.qparams_offset",
    ),
    (
        R,
        "qparams-wraps",
        lambda p: p.tens("stem/filter", "qparams_offset", 0xFFFFFFFC),
        "tensor.qparams_offset",
    ),
    (
        R,
        "quant-axis-other-dim",
        lambda p: p.tens("block/conv_a/filter", "quant_axis", 3),
        "tensor.zero_point",
    ),  # 8 scales: zps read from scales
    (R, "scale-0", _scale_bits(0), "tensor.scale"),
    (R, "scale-neg0", _scale_bits(0x80000000), "tensor.scale"),
    (R, "scale-negative", _scale_bits(0xBF800000), "tensor.scale"),
    (R, "scale-inf", _scale_bits(0x7F800000), "tensor.scale"),
    (R, "scale-nan", _scale_bits(0x7FC00000), "tensor.scale"),
    (R, "scale-subnormal", _scale_bits(0x007FFFFF), "tensor.scale"),
    (R, "scale-min-normal", _scale_bits(0x00800000), None),
    (R, "scale-max-finite", _scale_bits(0x7F7FFFFF), None),
    (
        R,
        "scale-per-channel-nan",
        lambda p: p.put(p.qparams("stem/filter") + 8, "<I", 0x7FC00000),
        "tensor.scale",
    ),
    (
        R,
        "scale-per-channel-subnormal",
        lambda p: p.put(p.qparams("stem/filter") + 28, "<I", 1),
        "tensor.scale",
    ),
    (R, "zero-point-128", lambda p: p.tens("input", "zero_point", 128), "tensor.zero_point"),
    (R, "zero-point--129", lambda p: p.tens("input", "zero_point", -129), "tensor.zero_point"),
    (
        R,
        "zero-point-per-channel",
        lambda p: p.put(p.qparams("stem/filter") + 32 + 4, "<i", 200),
        "tensor.zero_point",
    ),
    (
        R,
        "quant-none-garbage-scale",
        lambda p: (p.tens(3, "scale_bits", 0x7FC00000), p.tens(3, "zero_point", 9999)),
        None,
    ),
    (
        R,
        "int32-zero-point-unbounded",
        lambda p: (p.tens(3, "quant", 1), p.tens(3, "scale", 0.5), p.tens(3, "zero_point", 9999)),
        None,
    ),
    # -- OPIO / OPS_ records
    (R, "opio-size", lambda p: p.section(b"OPIO", "size", p.sec[b"OPIO"][1] - 2), "section.size"),
    (R, "ops-size", lambda p: p.section(b"OPS_", "size", p.sec[b"OPS_"][1] - 16), "section.size"),
    (R, "ops-reserved", lambda p: p.op(3, "reserved", 1), "OPS_.reserved"),
    (R, "opcode-999", lambda p: p.op(0, "opcode", 999), "op.opcode"),
    (R, "opcode-0", lambda p: p.op(0, "opcode", 0), "op.opcode"),
    (R, "opcode-unknown-next", lambda p: p.op(0, "opcode", max(fmt.OPS) + 1), "op.opcode"),
    (R, "op-version", lambda p: p.op(0, "version", 2), "op.version"),
    (R, "op-unused-param", lambda p: p.param(0, "10", 1), "op.params"),
    (R, "op-unused-param-last", lambda p: p.param("RESHAPE", "15", -1), "op.params"),
    (R, "op-n-inputs", lambda p: p.op(0, "n_inputs", 4), "op.n_inputs/n_outputs"),
    (R, "op-n-outputs", lambda p: p.op(0, "n_outputs", 2), "op.n_inputs/n_outputs"),
    (R, "op-io-index-past", lambda p: p.op(8, "io_index", p.sec[b"OPIO"][1] // 4 - 5), "op.io_index"),
    (R, "op-io-index-wraps", lambda p: p.op(8, "io_index", 0xFFFFFFFF), "op.io_index"),
    (R, "op-tensor-past", lambda p: p.slot(0, 0, 10_000), "op.tensor"),
    (R, "op-tensor-count", lambda p: p.slot(0, 1, len(p.m.tensors)), "op.tensor"),
    (R, "op-tensor--1-required", lambda p: p.slot(0, 0, -1), "op.tensor"),
    (R, "op-tensor--1-output", lambda p: p.slot(0, 5, -1), "op.tensor"),
    (R, "op-tensor--2-optional", lambda p: p.slot(0, 2, -2), "op.tensor"),
    (R, "op-bias-absent", lambda p: p.slot(0, 2, -1), None),
    (R, "op-add-input--1", lambda p: p.slot("ADD", 1, -1), "op.tensor"),
    # -- GRIO and data flow
    (R, "graph-input-range", lambda p: p.grio(0, 31), "graph.inputs"),
    (R, "graph-input-negative", lambda p: p.grio(0, -1), "graph.inputs"),
    (R, "graph-output-range", lambda p: p.grio(1, 1 << 20), "graph.outputs"),
    (R, "graph-input-const", lambda p: p.grio(0, "stem/filter"), "graph.inputs"),
    (R, "read-before-produce", lambda p: p.slot(1, 0, "block/conv_b"), "op.inputs"),
    (
        R,
        "read-graph-input-later",
        lambda p: p.slot(1, 0, "input"),
        "tensor.data_offset",
    ),  # input now lives on
    (R, "writes-constant", lambda p: p.slot(0, 5, "stem/bias"), "op.outputs"),
    (R, "writes-twice", lambda p: p.slot(1, 5, "stem"), "op.outputs"),
    (R, "writes-graph-input", lambda p: p.slot(0, 5, "input"), "op.outputs"),
    (R, "writes-own-input", lambda p: p.slot("ADD", 2, "block/conv_b"), "op.outputs"),
    (R, "graph-output-unproduced", lambda p: p.grio(1, "stem/bias"), "graph.outputs"),
    (
        R,
        "graph-output-is-input",
        lambda p: p.grio(1, "input"),
        "tensor.data_offset",
    ),  # live to the end, overlaps
    (IO, "graph-inputs-duplicate", lambda p: (p.grio(1, 0), p.slot("ADD", 1, 0)), "graph.inputs"),
    (IO, "graph-outputs-duplicate", lambda p: p.grio(3, p.m.outputs[0]), "graph.outputs"),
    (IO, "graph-outputs-swapped", lambda p: (p.grio(2, p.m.outputs[1]), p.grio(3, p.m.outputs[0])), None),
    (
        R,
        "names-duplicate",
        lambda p: (
            p.tens(3, "name_off", p.get(p.trec(4) + 4, "<I")),
            p.tens(3, "name_len", p.get(p.trec(4) + 8, "<I")),
        ),
        "tensor.name",
    ),
    (
        R,
        "names-prefix-not-duplicate",
        lambda p: (p.tens(3, "name_off", p.get(p.trec(4) + 4, "<I")), p.tens(3, "name_len", 6)),
        None,
    ),
    # -- arena plan
    (R, "arena-live-overlap", lambda p: p.tens("block/shortcut", "data_offset", 1200), "tensor.data_offset"),
    (
        R,
        "arena-partial-overlap",
        lambda p: p.tens("block/shortcut", "data_offset", 1184),
        "tensor.data_offset",
    ),
    (
        R,
        "arena-dead-reuse",
        lambda p: p.tens("shift", "data_offset", 800),
        None,
    ),  # conv_a/shortcut are dead by op 5
    (R, "arena-reshape-not-aliased", lambda p: p.tens("flatten", "data_offset", 16), "tensor.data_offset"),
    (R, "arena-reshape-moved", lambda p: p.tens("flatten", "data_offset", 32), None),
    (IO, "arena-alias-group-extends-life", lambda p: p.tens("fc", "data_offset", 32), "tensor.data_offset"),
    # flat no longer aliases the graph output sum; at 0 it meets fc, live with it at op 2 (at 48,
    # this case's offset before format 1.1, it now lies in the arena's scratch part, unused then).
    (IO, "arena-output-alias", lambda p: p.tens("flat", "data_offset", 0), "tensor.data_offset"),
    # -- scratch plan (SCRA, format 1.1). tiny_resnet: op 0 stem conv (input 800..1100 ->
    # stem 0..800), op 3 1x1 shortcut conv (stem -> 800..1200) while conv_b (1200..1600) waits
    # for op 4's ADD, op 4 ADD (no scratch), op 6 pool, op 8 FC after RESHAPE pool -> flatten.
    (R, "scratch-section-short", lambda p: p.section(b"SCRA", "size", p.sec[b"SCRA"][1] - 8), "section.size"),
    (R, "scratch-section-empty", lambda p: p.section(b"SCRA", "size", 0), "section.size"),
    (R, "scratch-section-odd", lambda p: p.section(b"SCRA", "size", p.sec[b"SCRA"][1] - 4), "section.size"),
    (R, "scratch-misaligned", lambda p: p.scra(0, p.scratch_of(0)[0] + 16), "scratch.offset"),
    (R, "scratch-misaligned-32", lambda p: p.scra(0, p.scratch_of(0)[0] + 32), "scratch.offset"),
    (R, "scratch-past-arena", lambda p: p.scra(0, p.m.arena_size), "scratch.offset"),
    (
        R,
        "scratch-end-past-arena",
        lambda p: p.scra(0, size=p.m.arena_size - p.scratch_of(0)[0] + 1),
        "scratch.offset",
    ),
    (R, "scratch-offset-wraps", lambda p: p.scra(0, 0xFFFFFFC0, 128), "scratch.offset"),
    (R, "scratch-size-wraps", lambda p: p.scra(0, 64 * 20, 0xFFFFFFFF), "scratch.offset"),
    (R, "scratch-size-0-offset", lambda p: p.scra(4, 64), "scratch.offset"),
    (R, "scratch-fills-arena-top", lambda p: p.scra(0, size=p.m.arena_size - p.scratch_of(0)[0]), None),
    (R, "scratch-on-input", lambda p: p.scra(0, 768), "scratch.offset"),
    (R, "scratch-on-output", lambda p: p.scra(0, 0), "scratch.offset"),
    (R, "scratch-on-output-end", lambda p: p.scra(0, 768, 32), "scratch.offset"),  # stem ends at 800
    (R, "scratch-on-input-end", lambda p: p.scra(0, 1088, 64), "scratch.offset"),  # input ends at 1100
    (R, "scratch-touching-tensors", lambda p: p.scra(3, 1600, 64), None),  # [1600, 1664): conv_b ends at 1600
    (R, "scratch-on-tensor-live-across-op", lambda p: p.scra(3, 1216), "scratch.offset"),  # conv_b
    (R, "scratch-on-dead-tensor", lambda p: p.scra(6, 1152), None),  # conv_a and shortcut died at op 4
    (R, "scratch-on-reshape-alias", lambda p: p.scra(8, 0, 16), "scratch.offset"),  # flatten, FC's input
    (R, "scratch-ops-share-bytes", lambda p: p.scra(6, p.scratch_of(8)[0], 128), None),
    (R, "scratch-section-renamed", lambda p: p.section(b"SCRA", "tag", b"XTRA"), None),  # a 1.0 plan
    (R, "scratch-minor-0-still-checked", lambda p: (p.put(10, "<H", 0), p.scra(0, 768)), "scratch.offset"),
    # -- CONV_2D / DEPTHWISE_CONV_2D contracts
    (R, "conv-input-dtype", lambda p: p.retype("input", 2, (75,)), "op.input.dtype"),
    (R, "conv-input-rank", lambda p: p.retype("input", 1, (10, 30)), "op.input.shape"),
    (
        R,
        "conv-filter-dtype",
        lambda p: (p.retype("stem/filter", 2, (54,)), p.tens(1, "quant", 0)),
        "op.filter.dtype",
    ),
    (
        R,
        "conv-filter-rank",
        lambda p: (p.retype("stem/filter", 1, (8, 9, 3)), p.tens("stem/filter", "quant_axis", 0)),
        "op.filter.shape",
    ),
    (R, "conv-filter-not-const", lambda p: p.slot(0, 1, "input"), "op.filter"),
    (R, "conv-output-dtype", lambda p: p.retype("stem", 2, (200,)), "op.output.dtype"),
    (R, "conv-output-rank", lambda p: p.retype("stem", 1, (100, 8)), "op.output.shape"),
    (R, "conv-stride-0", lambda p: p.param(0, "stride_h", 0), "op.params.stride_h"),
    (R, "conv-stride-w-cap", lambda p: p.param(0, "stride_w", 65537), "op.params.stride_w"),
    (R, "conv-dilation-0", lambda p: p.param(0, "dilation_h", 0), "op.params.dilation_h"),
    (R, "conv-dilation-w-neg", lambda p: p.param(0, "dilation_w", -1), "op.params.dilation_w"),
    (R, "conv-input-offset", lambda p: p.param(0, "input_offset", 256), "op.params.input_offset"),
    (R, "conv-output-offset", lambda p: p.param(0, "output_offset", -256), "op.params.output_offset"),
    (
        R,
        "conv-offset-edge",
        lambda p: (p.param(0, "input_offset", 255), p.param(0, "output_offset", -255)),
        None,
    ),
    (R, "conv-act-min", lambda p: p.param(0, "act_min", -129), "op.params.act_min"),
    (R, "conv-act-max", lambda p: p.param(0, "act_max", 128), "op.params.act_max"),
    (
        R,
        "conv-act-order",
        lambda p: (p.param(0, "act_min", 10), p.param(0, "act_max", 9)),
        "op.params.act_min",
    ),
    (R, "conv-act-equal", lambda p: (p.param(0, "act_min", 10), p.param(0, "act_max", 10)), None),
    (R, "conv-pad-negative", lambda p: p.param(0, "pad_h", -1), "op.output.shape"),
    (R, "conv-pad-kernel", lambda p: p.param(0, "pad_w", 3), "op.output.shape"),
    (R, "conv-pad-0-allowed", lambda p: p.param(0, "pad_h", 0), None),  # padding after becomes 2 = kernel - 1
    (R, "conv-pad-2-valid", lambda p: p.param(0, "pad_h", 2), None),  # SAME's odd pixel before: allowed
    (R, "conv-stride-changes-shape", lambda p: p.param(0, "stride_h", 2), "op.output.shape"),
    (R, "conv-output-channels", lambda p: p.retype("stem", 1, (1, 10, 8, 10)), "op.output.shape"),
    (R, "conv-output-batch", lambda p: p.retype("stem", 1, (2, 5, 10, 8)), "op.output.shape"),
    (R, "conv-groups", lambda p: p.retype("stem/filter", 1, (8, 3, 1, 9)), "op.filter.shape"),
    (
        R,
        "conv-groups-out",
        lambda p: (p.retype("stem/filter", 1, (4, 3, 3, 6)), p.tens(1, "quant", 0)),
        "op.filter.shape",
    ),
    (R, "conv-bias-dtype", lambda p: p.slot(0, 2, "shift/operand"), "op.bias.dtype"),
    (R, "conv-bias-count", lambda p: p.slot(0, 2, "block/conv_a/bias"), "op.bias.shape"),
    (R, "conv-bias-rank-free", lambda p: p.retype("stem/bias", 2, (2, 4)), None),
    (R, "conv-mult-dtype", lambda p: p.slot(0, 3, "shift/operand"), "op.multipliers.dtype"),
    (R, "conv-mult-rank", lambda p: p.retype("stem/multiplier", 2, (2, 4)), "op.multipliers.shape"),
    (R, "conv-mult-count", lambda p: p.slot(0, 3, "block/conv_a/multiplier"), "op.multipliers"),
    (R, "conv-shift-dtype", lambda p: p.slot(0, 4, "stem/filter"), "op.shifts.dtype"),
    (R, "conv-shift-rank", lambda p: p.retype("stem/shift", 2, (8, 1)), "op.shifts.shape"),
    (R, "conv-shift-count", lambda p: p.slot(0, 4, "logits/shift"), "op.shifts"),
    (R, "conv-mult-small", lambda p: p.const_i32("stem/multiplier", 3, (1 << 30) - 1), "op.multipliers"),
    (R, "conv-mult-negative", lambda p: p.const_i32("stem/multiplier", 7, -(1 << 30)), "op.multipliers"),
    (
        R,
        "conv-mult-edges",
        lambda p: (p.const_i32("stem/multiplier", 0, 0), p.const_i32("stem/multiplier", 1, 1 << 30)),
        None,
    ),
    (R, "conv-shift-31", lambda p: p.const_i32("stem/shift", 2, 31), "op.shifts"),
    (R, "conv-shift--32", lambda p: p.const_i32("stem/shift", 7, -32), "op.shifts"),
    (
        R,
        "conv-shift-edges",
        lambda p: (p.const_i32("stem/shift", 0, 30), p.const_i32("stem/shift", 1, -31)),
        None,
    ),
    (CN, "dw-multiplier-0", lambda p: p.param(1, "depth_multiplier", 0), "op.params.depth_multiplier"),
    (CN, "dw-multiplier-cap", lambda p: p.param(1, "depth_multiplier", 65537), "op.params.depth_multiplier"),
    (CN, "dw-multiplier-wrong", lambda p: p.param(1, "depth_multiplier", 1), "op.filter.shape"),
    (
        CN,
        "dw-filter-batch",
        lambda p: (p.retype("dwconv/filter", 1, (3, 1, 3, 16)), p.tens("dwconv/filter", "quant", 0)),
        "op.filter.shape",
    ),
    (CN, "dw-dilation-1", lambda p: p.param(1, "dilation_h", 1), "op.output.shape"),
    (CN, "dw-stride-3-same-shape", lambda p: p.param(1, "stride_w", 3), None),
    (CN, "dw-stride-changes-shape", lambda p: p.param(1, "stride_w", 4), "op.output.shape"),
    (CN, "dw-pad-after-too-big", lambda p: p.param(1, "pad_h", 4), "op.output.shape"),
    # -- FULLY_CONNECTED
    (ML, "fc-input-dtype", lambda p: p.retype("input", 2, (10,)), "op.input.dtype"),
    (ML, "fc-input-any-shape", lambda p: p.retype("input", 1, (2, 4, 5)), None),
    (ML, "fc-filter-rank", lambda p: p.retype("fc1/weights", 1, (32, 40, 1)), "op.filter.shape"),
    (ML, "fc-filter-not-const", lambda p: p.slot(1, 1, "fc1"), "op.filter"),
    (ML, "fc-input-depth", lambda p: p.retype("fc1/weights", 1, (80, 16)), "op.input.shape"),
    (ML, "fc-output-size", lambda p: p.retype("fc1/weights", 1, (64, 20)), "op.output.shape"),
    (ML, "fc-output-last-dim", lambda p: p.retype("fc3", 1, (8, 1)), "op.output.shape"),
    (ML, "fc-output-rank-1", lambda p: p.retype("fc3", 1, (8,)), None),
    (ML, "fc-filter-offset", lambda p: p.param(0, "filter_offset", 300), "op.params.filter_offset"),
    (ML, "fc-input-offset", lambda p: p.param(0, "input_offset", -256), "op.params.input_offset"),
    (ML, "fc-output-offset", lambda p: p.param(0, "output_offset", 256), "op.params.output_offset"),
    (ML, "fc-act", lambda p: p.param(0, "act_max", -129), "op.params.act_max"),
    (ML, "fc-per-channel-2", lambda p: p.param(0, "per_channel", 2), "op.params.per_channel"),
    (ML, "fc-per-channel-flag", lambda p: p.param(0, "per_channel", 1), "op.multipliers"),
    (ML, "fc-per-tensor-flag", lambda p: p.param(1, "per_channel", 0), "op.multipliers"),
    (ML, "fc-bias-absent", lambda p: p.slot(0, 2, -1), None),
    (ML, "fc-bias-count", lambda p: p.slot(1, 2, "fc1/bias"), "op.bias.shape"),
    (ML, "fc-per-channel-shift", lambda p: p.const_i32("fc2/shift", 23, 31), "op.shifts"),
    # -- CONV_2D, DEPTHWISE_CONV_2D 16x8 (s16_conv, ops 0 c32, 1 dw, 2 c64, 3 cnone): no offsets, int16 clamp range, an int64
    # bias (or none) with shifts <= 7, an int32 one (CONV_2D only) with shifts <= 30
    (S16C, "conv16-input-offset", lambda p: p.param(0, "input_offset", -1), "op.params.input_offset"),
    (S16C, "conv16-output-offset", lambda p: p.param(2, "output_offset", 1), "op.params.output_offset"),
    (S16C, "dw16-act-int16-range", lambda p: p.param(1, "act_max", 32768), "op.params.act_max"),
    (S16C, "dw16-act-beyond-int8", lambda p: p.param(1, "act_min", 200), None),
    (S16C, "conv16-int64-bias-shift-8", lambda p: p.const_i32("c64/shift", 0, 8), "op.shifts"),
    (S16C, "conv16-no-bias-shift-8", lambda p: p.const_i32("cnone/shift", 1, 8), "op.shifts"),
    (S16C, "conv16-int32-bias-shift-30", lambda p: p.const_i32("c32/shift", 2, 30), None),
    (S16C, "conv16-int32-bias-shift-31", lambda p: p.const_i32("c32/shift", 2, 31), "op.shifts"),
    (S16C, "dw16-int32-bias", lambda p: p.retype_raw("dw/bias", 2, (16,)), "op.bias.dtype"),
    (S16C, "conv16-int16-bias", lambda p: p.retype_raw("c64/bias", 3, (16,)), "op.bias.dtype"),
    (
        S16C,
        "conv16-int16-filter",
        lambda p: (p.retype_raw("c64/filter", 3, (2, 1, 1, 8)), p.tens("c64/filter", "quant", 0)),
        "op.filter.dtype",
    ),
    (
        S16C,
        "conv16-int8-output",
        lambda p: (p.retype_raw("cnone", 1, (1, 6, 6, 2)), p.tens("cnone", "data_size", 72)),
        "op.output.dtype",
    ),
    # -- ADD
    (R, "add-input1-dtype", lambda p: p.slot("ADD", 0, "stem/bias"), "op.input1.dtype"),
    (R, "add-input2-dtype", lambda p: p.slot(5, 1, "logits/bias"), "op.input2.dtype"),
    (R, "add-output-dtype", lambda p: p.retype("block/add", 2, (100,)), "op.output.dtype"),
    (R, "add-input-rank-above", lambda p: p.retype("shift/operand", 1, (1, 1, 1, 1, 16)), "op.output.shape"),
    (R, "add-no-broadcast", lambda p: p.retype("shift/operand", 1, (1, 1, 16, 1)), "op.input2.shape"),
    (R, "add-broadcast-lower-rank", lambda p: p.retype("shift/operand", 1, (16,)), None),
    (R, "add-broadcast-rank-2", lambda p: p.retype("shift/operand", 1, (1, 16)), None),
    (
        IO,
        "add-output-not-broadcast",
        lambda p: [(p.retype_raw(t, 1, (1, 1, 1, 4)), p.tens(t, "data_size", 4)) for t in "ab"],
        "op.output.shape",
    ),
    (R, "add-input1-broadcast", lambda p: p.slot(5, 0, "logits/weights"), "op.input1.shape"),
    (R, "add-offset", lambda p: p.param(4, "input1_offset", 256), "op.params.input1_offset"),
    (R, "add-offset2", lambda p: p.param(4, "input2_offset", -300), "op.params.input2_offset"),
    (R, "add-offset-out", lambda p: p.param(4, "output_offset", 1000), "op.params.output_offset"),
    (R, "add-left-shift-21", lambda p: p.param(4, "left_shift", 21), "op.params.left_shift"),
    (R, "add-left-shift-neg", lambda p: p.param(4, "left_shift", -1), "op.params.left_shift"),
    (R, "add-left-shift-0", lambda p: p.param(4, "left_shift", 0), None),
    (R, "add-mult1", lambda p: p.param(4, "input1_multiplier", 5), "op.params.input1_multiplier"),
    (R, "add-mult2", lambda p: p.param(4, "input2_multiplier", -(1 << 31)), "op.params.input2_multiplier"),
    (
        R,
        "add-mult-out",
        lambda p: p.param(4, "output_multiplier", (1 << 30) - 1),
        "op.params.output_multiplier",
    ),
    (R, "add-mult-zero", lambda p: p.param(4, "input1_multiplier", 0), None),
    (R, "add-shift1-positive", lambda p: p.param(4, "input1_shift", 1), "op.params.input1_shift"),
    (R, "add-shift2", lambda p: p.param(4, "input2_shift", -32), "op.params.input2_shift"),
    (R, "add-shift-out", lambda p: p.param(4, "output_shift", 31), "op.params.output_shift"),
    (R, "add-shift-out-30", lambda p: p.param(4, "output_shift", 30), None),
    (R, "add-act", lambda p: (p.param(4, "act_min", 5), p.param(4, "act_max", 4)), "op.params.act_min"),
    # -- AVERAGE_POOL_2D
    (R, "pool-input-dtype", lambda p: p.slot("AVERAGE_POOL_2D", 0, "stem/bias"), "op.input.dtype"),
    (R, "pool-output-rank", lambda p: p.retype("pool", 1, (1, 16)), "op.output.shape"),
    (R, "pool-stride", lambda p: p.param(6, "stride_h", 0), "op.params.stride_h"),
    (R, "pool-filter-h", lambda p: p.param(6, "filter_h", 0), "op.params.filter_h"),
    (R, "pool-filter-w", lambda p: p.param(6, "filter_w", 1 << 17), "op.params.filter_w"),
    (R, "pool-act", lambda p: p.param(6, "act_min", 200), "op.params.act_min"),
    (R, "pool-channels", lambda p: p.retype("pool", 1, (1, 1, 16, 1)), "op.output.shape"),
    (R, "pool-pad", lambda p: p.param(6, "pad_h", 5), "op.output.shape"),
    (R, "pool-window-short", lambda p: p.param(6, "filter_w", 4), None),
    (R, "pool-window-4-pad", lambda p: (p.param(6, "filter_w", 4), p.param(6, "stride_w", 4)), None),
    # -- SOFTMAX
    (CN, "softmax-shape", lambda p: p.retype("probs", 1, (10, 1)), "op.output.shape"),
    (CN, "softmax-rank", lambda p: p.retype("probs", 1, (10,)), "op.output.shape"),
    (CN, "softmax-dtype", lambda p: p.slot("SOFTMAX", 0, "logits/bias"), "op.input.dtype"),
    (CN, "softmax-mult", lambda p: p.param("SOFTMAX", "input_multiplier", 7), "op.params.input_multiplier"),
    (
        CN,
        "softmax-shift-32",
        lambda p: p.param("SOFTMAX", "input_left_shift", 32),
        "op.params.input_left_shift",
    ),
    (
        CN,
        "softmax-shift-neg",
        lambda p: p.param("SOFTMAX", "input_left_shift", -1),
        "op.params.input_left_shift",
    ),
    (CN, "softmax-diff-min", lambda p: p.param("SOFTMAX", "diff_min", 1), "op.params.diff_min"),
    (
        CI,
        "softmax-rank-0",
        lambda p: (
            p.retype_raw("b", 1, ()),
            p.tens("b", "data_size", 1),
            p.slot("SOFTMAX", 0, "b"),
            p.retype_raw("probs", 1, ()),
            p.tens("probs", "data_size", 1),
            p.tens("probs", "data_offset", 32),  # b now lives on at offset 0
        ),
        "op.output.shape",
    ),
    (CN, "softmax-diff-min-edge", lambda p: p.param("SOFTMAX", "diff_min", -(1 << 31)), None),
    # -- RESHAPE
    (CN, "reshape-output-dtype", lambda p: p.retype("flatten", 2, (6,)), "op.output.dtype"),
    (
        CN,
        "reshape-size",
        lambda p: (p.retype_raw("flatten", 1, (1, 16)), p.tens("flatten", "data_size", 16)),
        "op.output.shape",
    ),
    (CN, "reshape-any-shape", lambda p: p.retype("flatten", 1, (2, 3, 4)), None),
    # -- op codes 8..17: records
    (NO, "new-op-unused-param", lambda p: p.param("MUL", "7", 1), "op.params"),
    (NO, "concat-unused-param", lambda p: p.param("CONCATENATION", "2", -1), "op.params"),
    (NO, "pad-unused-param-13", lambda p: p.param("PAD", "13", 1), "op.params"),
    (NO, "concat-n-inputs-1", lambda p: p.op("CONCATENATION", "n_inputs", 1), "op.n_inputs/n_outputs"),
    (NO, "concat-n-inputs-66", lambda p: p.op("CONCATENATION", "n_inputs", 66), "op.n_inputs/n_outputs"),
    (NO, "concat-n-inputs-past-opio", lambda p: p.op("CONCATENATION", "n_inputs", 65), "op.io_index"),
    (C64, "concat-64-n-inputs-66", lambda p: p.op(0, "n_inputs", 66), "op.n_inputs/n_outputs"),
    (C64, "concat-64-input63-dtype", lambda p: p.slot(0, 63, "cat/requant"), "op.input.dtype"),
    (C64, "concat-64-reads-its-output", lambda p: p.slot(0, 63, "cat"), "op.inputs"),
    (
        C64,
        "concat-64-requant-row-63",
        lambda p: p.const_i32("cat/requant", 63 * 3 + 1, 23),
        "op.requant.shift",
    ),
    (C64, "concat-64-requant-rows", lambda p: p.retype("cat/requant", 2, (96, 2)), "op.requant"),
    (NO, "concat-one-input-fewer", lambda p: p.op("CONCATENATION", "n_inputs", 2), "op.outputs"),
    (NO, "logistic-as-tanh", lambda p: p.op("LOGISTIC", "opcode", 14), None),  # same params
    (NO, "maxpool-as-avgpool", lambda p: p.op("MAX_POOL_2D", "opcode", 5), None),
    (NO, "mul-as-add", lambda p: p.op("MUL", "opcode", 4), "op.params.left_shift"),
    # -- MAX_POOL_2D
    (NO, "maxpool-input-dtype", lambda p: p.slot("MAX_POOL_2D", 0, RQ), "op.input.dtype"),
    (NO, "maxpool-input-rank", lambda p: p.retype("x", 1, (36, 4)), "op.input.shape"),
    (NO, "maxpool-output-dtype", lambda p: p.retype("max_pool2d_1", 2, (36,)), "op.output.dtype"),
    (NO, "maxpool-output-rank", lambda p: p.retype("max_pool2d_1", 1, (1, 36, 4)), "op.output.shape"),
    (NO, "maxpool-stride-h", lambda p: p.param("MAX_POOL_2D", "stride_h", 0), "op.params.stride_h"),
    (NO, "maxpool-stride-w", lambda p: p.param("MAX_POOL_2D", "stride_w", 1 << 17), "op.params.stride_w"),
    (NO, "maxpool-filter-h", lambda p: p.param("MAX_POOL_2D", "filter_h", -1), "op.params.filter_h"),
    (NO, "maxpool-filter-w", lambda p: p.param("MAX_POOL_2D", "filter_w", 0), "op.params.filter_w"),
    (NO, "maxpool-act-min", lambda p: p.param("MAX_POOL_2D", "act_min", 128), "op.params.act_min"),
    (NO, "maxpool-act-max", lambda p: p.param("MAX_POOL_2D", "act_max", -129), "op.params.act_max"),
    (NO, "maxpool-act-order", lambda p: p.param("MAX_POOL_2D", "act_max", 2), "op.params.act_min"),
    (NO, "maxpool-channels", lambda p: p.retype("max_pool2d_1", 1, (1, 6, 3, 8)), "op.output.shape"),
    (NO, "maxpool-pad-kernel", lambda p: p.param("MAX_POOL_2D", "pad_h", 2), "op.output.shape"),
    (NO, "maxpool-pad-1", lambda p: p.param("MAX_POOL_2D", "pad_w", 1), None),  # odd pixel before
    (NO, "maxpool-stride-shape", lambda p: p.param("MAX_POOL_2D", "stride_w", 2), "op.output.shape"),
    # -- MUL
    (NO, "mul-input1-dtype", lambda p: p.slot("MUL", 0, RQ), "op.input1.dtype"),
    (NO, "mul-input2-dtype", lambda p: p.slot("MUL", 1, RQ), "op.input2.dtype"),
    (NO, "mul-output-dtype", lambda p: p.retype("mul_2", 2, (36,)), "op.output.dtype"),
    (
        NO,
        "mul-output-rank-0",
        lambda p: (p.retype_raw("mul_2", 1, ()), p.tens("mul_2", "data_size", 1)),
        "op.output.shape",
    ),
    (NO, "mul-input-rank-above", lambda p: p.retype("c", 1, (1, 1, 1, 1, 4)), "op.output.shape"),
    (NO, "mul-no-broadcast", lambda p: p.retype("c", 1, (2, 2)), "op.output.shape"),
    (NO, "mul-broadcast-rank-2", lambda p: p.retype("c", 1, (1, 4)), None),
    (NO, "mul-swapped-inputs", lambda p: (p.slot("MUL", 0, "c"), p.slot("MUL", 1, "max_pool2d_1")), None),
    (B, "mul-output-not-broadcast", lambda p: p.slot("MUL", 0, "mean_keep"), "op.output.shape"),
    (NO, "mul-input1-offset", lambda p: p.param("MUL", "input1_offset", -128), "op.params.input1_offset"),
    (NO, "mul-input1-offset-128", lambda p: p.param("MUL", "input1_offset", 128), None),
    (NO, "mul-input2-offset", lambda p: p.param("MUL", "input2_offset", 129), "op.params.input2_offset"),
    (NO, "mul-output-offset", lambda p: p.param("MUL", "output_offset", 128), "op.params.output_offset"),
    (NO, "mul-output-offset--128", lambda p: p.param("MUL", "output_offset", -128), None),
    (
        NO,
        "mul-multiplier",
        lambda p: p.param("MUL", "output_multiplier", (1 << 30) - 1),
        "op.params.output_multiplier",
    ),
    (NO, "mul-multiplier-0", lambda p: p.param("MUL", "output_multiplier", 0), None),
    (NO, "mul-shift-15", lambda p: p.param("MUL", "output_shift", 15), "op.params.output_shift"),
    (NO, "mul-shift--32", lambda p: p.param("MUL", "output_shift", -32), "op.params.output_shift"),
    (NO, "mul-shift-edges", lambda p: p.param("MUL", "output_shift", 14), None),
    (NO, "mul-act-max", lambda p: p.param("MUL", "act_max", 128), "op.params.act_max"),
    (
        NO,
        "mul-act-order",
        lambda p: (p.param("MUL", "act_min", 127), p.param("MUL", "act_max", 0)),
        "op.params.act_min",
    ),
    (
        NO,
        "mul-offset-before-shift",
        lambda p: (p.param("MUL", "output_shift", 99), p.param("MUL", "output_offset", 999)),
        "op.params.output_offset",
    ),
    # -- PAD
    (NO, "pad-input-dtype", lambda p: p.slot("PAD", 0, RQ), "op.input.dtype"),
    (NO, "pad-output-dtype", lambda p: p.retype("pad_3", 2, (64,)), "op.output.dtype"),
    (NO, "pad-output-rank", lambda p: p.retype("pad_3", 1, (8, 8, 4)), "op.output.shape"),
    (
        NO,
        "pad-input-rank-0",
        lambda p: (
            p.retype_raw("c", 1, ()),
            p.tens("c", "data_size", 1),
            p.slot("PAD", 0, "c"),
            p.retype_raw("pad_3", 1, ()),
            p.tens("pad_3", "data_size", 1),
        ),
        "op.input.shape",
    ),
    (NO, "pad-value-128", lambda p: p.param("PAD", "pad_value", 128), "op.params.pad_value"),
    (NO, "pad-value--129", lambda p: p.param("PAD", "pad_value", -129), "op.params.pad_value"),
    (B, "pad-value-edge", lambda p: p.param("PAD", "pad_value", -128), None),
    (NO, "pad-before-negative", lambda p: p.param("PAD", "before_1", -1), "op.params.before_1"),
    (NO, "pad-after-above-dim", lambda p: p.param("PAD", "after_2", 9), "op.params.after_2"),
    (NO, "pad-before-0", lambda p: p.param("PAD", "before_0", 2), "op.params.before_0"),
    (NO, "pad-after-0", lambda p: p.param("PAD", "after_0", -5), "op.params.after_0"),
    (NO, "pad-after-1", lambda p: p.param("PAD", "after_1", 1 << 20), "op.params.after_1"),
    (NO, "pad-before-2", lambda p: p.param("PAD", "before_2", 9), "op.params.before_2"),
    (NO, "pad-before-3", lambda p: p.param("PAD", "before_3", -1), "op.params.before_3"),
    (NO, "pad-after-3", lambda p: p.param("PAD", "after_3", 5), "op.params.after_3"),
    (NO, "pad-sum", lambda p: p.param("PAD", "before_1", 2), "op.output.shape"),
    (NO, "pad-moved", lambda p: (p.param("PAD", "before_1", 0), p.param("PAD", "after_1", 2)), None),
    (NO, "pad-beyond-rank-before-4", lambda p: p.param("PAD", "before_4", 1), "op.params.before_4"),
    (NO, "pad-beyond-rank-after-4", lambda p: p.param("PAD", "after_4", -1), "op.params.after_4"),
    (NO, "pad-beyond-rank-before-5", lambda p: p.param("PAD", "before_5", 7), "op.params.before_5"),
    (NO, "pad-beyond-rank-after-5", lambda p: p.param("PAD", "after_5", 1), "op.params.after_5"),
    (
        NO,
        "pad-sum-before-beyond-rank",
        lambda p: (p.param("PAD", "before_1", 2), p.param("PAD", "after_5", 1)),
        "op.output.shape",
    ),
    # -- TRANSPOSE
    (NO, "transpose-input-dtype", lambda p: p.slot("TRANSPOSE", 0, RQ), "op.input.dtype"),
    (NO, "transpose-output-dtype", lambda p: p.retype("transpose_4", 2, (64,)), "op.output.dtype"),
    (NO, "transpose-output-rank", lambda p: p.retype("transpose_4", 1, (4, 8, 8)), "op.output.shape"),
    (
        NO,
        "transpose-input-rank-0",
        lambda p: (
            p.retype_raw("c", 1, ()),
            p.tens("c", "data_size", 1),
            p.slot("TRANSPOSE", 0, "c"),
            p.retype_raw("transpose_4", 1, ()),
            p.tens("transpose_4", "data_size", 1),
        ),
        "op.input.shape",
    ),
    (NO, "transpose-perm-0", lambda p: p.param("TRANSPOSE", "perm_0", -1), "op.params.perm_0"),
    (NO, "transpose-perm-1", lambda p: p.param("TRANSPOSE", "perm_1", 4), "op.params.perm_1"),
    (NO, "transpose-perm-2", lambda p: p.param("TRANSPOSE", "perm_2", 1 << 30), "op.params.perm_2"),
    (B, "transpose-perm-rank-3", lambda p: p.param("TRANSPOSE", "perm_0", 3), "op.params.perm_0"),
    (NO, "transpose-perm-3", lambda p: p.param("TRANSPOSE", "perm_3", -(1 << 31)), "op.params.perm_3"),
    (NO, "transpose-perm-repeated", lambda p: p.param("TRANSPOSE", "perm_1", 1), "op.params.perm"),
    (
        NO,
        "transpose-range-before-repeat",
        lambda p: (p.param("TRANSPOSE", "perm_0", 1), p.param("TRANSPOSE", "perm_3", 9)),
        "op.params.perm_3",
    ),
    (
        NO,
        "transpose-identity-shape",
        lambda p: [p.param("TRANSPOSE", f"perm_{d}", d) for d in range(4)],
        "op.output.shape",
    ),
    (
        NO,
        "transpose-equal-dims-swapped",
        lambda p: (p.param("TRANSPOSE", "perm_2", 2), p.param("TRANSPOSE", "perm_3", 1)),
        None,
    ),
    (NO, "transpose-beyond-rank-4", lambda p: p.param("TRANSPOSE", "perm_4", 1), "op.params.perm_4"),
    (NO, "transpose-beyond-rank-5", lambda p: p.param("TRANSPOSE", "perm_5", -1), "op.params.perm_5"),
    (B, "transpose-beyond-rank-3", lambda p: p.param("TRANSPOSE", "perm_3", 2), "op.params.perm_3"),
    (
        NO,
        "transpose-shape-before-unused",
        lambda p: (
            p.param("TRANSPOSE", "perm_1", 1),
            p.param("TRANSPOSE", "perm_2", 3),
            p.param("TRANSPOSE", "perm_4", 1),
        ),
        "op.output.shape",
    ),
    # -- LEAKY_RELU
    (NO, "leaky-input-dtype", lambda p: p.slot("LEAKY_RELU", 0, RQ), "op.input.dtype"),
    (NO, "leaky-output-dtype", lambda p: p.retype("leaky_relu_5", 2, (64,)), "op.output.dtype"),
    (NO, "leaky-output-shape", lambda p: p.retype("leaky_relu_5", 1, (1, 8, 4, 8)), "op.output.shape"),
    (NO, "leaky-output-rank", lambda p: p.retype("leaky_relu_5", 1, (4, 8, 8)), "op.output.shape"),
    (
        NO,
        "leaky-input-offset",
        lambda p: p.param("LEAKY_RELU", "input_offset", -128),
        "op.params.input_offset",
    ),
    (
        NO,
        "leaky-output-offset",
        lambda p: p.param("LEAKY_RELU", "output_offset", -129),
        "op.params.output_offset",
    ),
    (
        NO,
        "leaky-identity-multiplier",
        lambda p: p.param("LEAKY_RELU", "identity_multiplier", -(1 << 30)),
        "op.params.identity_multiplier",
    ),
    (
        NO,
        "leaky-alpha-multiplier",
        lambda p: p.param("LEAKY_RELU", "alpha_multiplier", (1 << 30) - 1),
        "op.params.alpha_multiplier",
    ),
    (
        B,
        "leaky-alpha-multiplier-negative-small",
        lambda p: p.param("LEAKY_RELU", "alpha_multiplier", -(1 << 30) + 1),
        "op.params.alpha_multiplier",
    ),
    (
        B,
        "leaky-alpha-multiplier--2^31",
        lambda p: p.param("LEAKY_RELU", "alpha_multiplier", -(1 << 31)),
        None,
    ),
    (
        B,
        "leaky-alpha-multiplier--2^30",
        lambda p: p.param("LEAKY_RELU", "alpha_multiplier", -(1 << 30)),
        None,
    ),
    (NO, "leaky-alpha-multiplier-0", lambda p: p.param("LEAKY_RELU", "alpha_multiplier", 0), None),
    (
        NO,
        "leaky-identity-shift",
        lambda p: p.param("LEAKY_RELU", "identity_shift", 23),
        "op.params.identity_shift",
    ),
    (NO, "leaky-alpha-shift", lambda p: p.param("LEAKY_RELU", "alpha_shift", -32), "op.params.alpha_shift"),
    (
        NO,
        "leaky-shift-edges",
        lambda p: (p.param("LEAKY_RELU", "identity_shift", 22), p.param("LEAKY_RELU", "alpha_shift", -31)),
        None,
    ),
    (
        NO,
        "leaky-multipliers-before-shifts",
        lambda p: (p.param("LEAKY_RELU", "identity_shift", 99), p.param("LEAKY_RELU", "alpha_multiplier", 5)),
        "op.params.alpha_multiplier",
    ),
    # -- HARD_SWISH
    (NO, "hswish-input-dtype", lambda p: p.slot("HARD_SWISH", 0, RQ), "op.input.dtype"),
    (NO, "hswish-output-dtype", lambda p: p.retype("hard_swish_6", 2, (64,)), "op.output.dtype"),
    (NO, "hswish-output-shape", lambda p: p.retype("hard_swish_6", 1, (1, 4, 4, 16)), "op.output.shape"),
    (
        NO,
        "hswish-input-offset",
        lambda p: p.param("HARD_SWISH", "input_offset", 129),
        "op.params.input_offset",
    ),
    (
        NO,
        "hswish-output-offset",
        lambda p: p.param("HARD_SWISH", "output_offset", 128),
        "op.params.output_offset",
    ),
    (
        NO,
        "hswish-reluish-multiplier",
        lambda p: p.param("HARD_SWISH", "reluish_multiplier", 32768),
        "op.params.reluish_multiplier",
    ),
    (
        NO,
        "hswish-reluish-multiplier-negative",
        lambda p: p.param("HARD_SWISH", "reluish_multiplier", -1),
        "op.params.reluish_multiplier",
    ),
    (
        NO,
        "hswish-output-multiplier",
        lambda p: p.param("HARD_SWISH", "output_multiplier", 1 << 30),
        "op.params.output_multiplier",
    ),
    (
        NO,
        "hswish-multiplier-edges",
        lambda p: (
            p.param("HARD_SWISH", "reluish_multiplier", 0),
            p.param("HARD_SWISH", "output_multiplier", 32767),
        ),
        None,
    ),
    (
        NO,
        "hswish-reluish-shift-31",
        lambda p: p.param("HARD_SWISH", "reluish_shift", 31),
        "op.params.reluish_shift",
    ),
    (
        NO,
        "hswish-reluish-shift--16",
        lambda p: p.param("HARD_SWISH", "reluish_shift", -16),
        "op.params.reluish_shift",
    ),
    (
        NO,
        "hswish-output-shift-1",
        lambda p: p.param("HARD_SWISH", "output_shift", 1),
        "op.params.output_shift",
    ),
    (
        NO,
        "hswish-output-shift--16",
        lambda p: p.param("HARD_SWISH", "output_shift", -16),
        "op.params.output_shift",
    ),
    (
        NO,
        "hswish-shift-edges",
        lambda p: (p.param("HARD_SWISH", "reluish_shift", -15), p.param("HARD_SWISH", "output_shift", 0)),
        None,
    ),
    (
        NO,
        "hswish-multipliers-before-shifts",
        lambda p: (
            p.param("HARD_SWISH", "reluish_shift", 99),
            p.param("HARD_SWISH", "output_multiplier", -1),
        ),
        "op.params.output_multiplier",
    ),
    # -- LOGISTIC / TANH
    (NO, "logistic-input-dtype", lambda p: p.slot("LOGISTIC", 0, RQ), "op.input.dtype"),
    (NO, "logistic-output-dtype", lambda p: p.retype("logistic_7", 2, (64,)), "op.output.dtype"),
    (NO, "logistic-output-shape", lambda p: p.retype("logistic_7", 1, (4, 64)), "op.output.shape"),
    (
        NO,
        "logistic-input-offset",
        lambda p: p.param("LOGISTIC", "input_offset", -128),
        "op.params.input_offset",
    ),
    (
        NO,
        "logistic-multiplier",
        lambda p: p.param("LOGISTIC", "input_multiplier", 5),
        "op.params.input_multiplier",
    ),
    (
        NO,
        "logistic-shift-31",
        lambda p: p.param("LOGISTIC", "input_left_shift", 31),
        "op.params.input_left_shift",
    ),
    (
        NO,
        "logistic-shift--1",
        lambda p: p.param("LOGISTIC", "input_left_shift", -1),
        "op.params.input_left_shift",
    ),
    (
        NO,
        "logistic-radius",
        lambda p: p.param("LOGISTIC", "input_range_radius", 481),
        "op.params.input_range_radius",
    ),
    (
        NO,
        "logistic-shift-moves-radius",
        lambda p: p.param("LOGISTIC", "input_left_shift", 21),
        "op.params.input_range_radius",
    ),
    (
        NO,
        "logistic-shift-and-radius",
        lambda p: (
            p.param("LOGISTIC", "input_left_shift", 21),
            p.param("LOGISTIC", "input_range_radius", 960),
        ),
        None,
    ),
    (
        NO,
        "logistic-shift-0",
        lambda p: (
            p.param("LOGISTIC", "input_left_shift", 0),
            p.param("LOGISTIC", "input_range_radius", 15 << 27),
        ),
        None,
    ),
    (
        NO,
        "tanh-shift-30",
        lambda p: (p.param("TANH", "input_left_shift", 30), p.param("TANH", "input_range_radius", 1)),
        None,
    ),
    (NO, "tanh-radius", lambda p: p.param("TANH", "input_range_radius", 0), "op.params.input_range_radius"),
    (NO, "tanh-input-offset", lambda p: p.param("TANH", "input_offset", 200), "op.params.input_offset"),
    (NO, "tanh-multiplier", lambda p: p.param("TANH", "input_multiplier", -1), "op.params.input_multiplier"),
    (NO, "tanh-output-shape", lambda p: p.retype("tanh_8", 1, (1, 4, 64)), "op.output.shape"),
    # -- CONCATENATION
    (NO, "concat-output-dtype", lambda p: p.retype("concatenation_9", 2, (128,)), "op.output.dtype"),
    (
        NO,
        "concat-output-rank-0",
        lambda p: (p.retype_raw("concatenation_9", 1, ()), p.tens("concatenation_9", "data_size", 1)),
        "op.output.shape",
    ),
    (NO, "concat-axis-4", lambda p: p.param("CONCATENATION", "axis", 4), "op.params.axis"),
    (NO, "concat-axis--1", lambda p: p.param("CONCATENATION", "axis", -1), "op.params.axis"),
    (NO, "concat-axis-0", lambda p: p.param("CONCATENATION", "axis", 0), "op.input.shape"),
    (NO, "concat-input0-dtype", lambda p: p.slot("CONCATENATION", 0, RQ), "op.input.dtype"),
    (NO, "concat-input1-rank", lambda p: p.slot("CONCATENATION", 1, "c"), "op.input.shape"),
    (B, "concat-input1-dims", lambda p: p.retype("c", 1, (1, 1, 5, 2)), "op.input.shape"),
    (B, "concat-const-twice", lambda p: p.slot("CONCATENATION", 0, "c"), "op.output.shape"),
    (NO, "concat-inputs-equal", lambda p: p.slot("CONCATENATION", 1, "logistic_7"), None),
    (
        B,
        "concat-axis-sum",
        lambda p: (p.retype_raw("c", 1, (1, 5, 2, 2)), p.tens("c", "data_size", 20)),
        "op.output.shape",
    ),
    # -- SLICE: box [1, 3, 4, 2] at (0, 1, 2, 1) of [1, 5, 6, 4]
    (SL, "slice-begin-past-the-box", lambda p: p.param("SLICE", "begin_2", 3), "op.params.begin_2"),
    (SL, "slice-begin-negative", lambda p: p.param("SLICE", "begin_1", -1), "op.params.begin_1"),
    (SL, "slice-begin-at-the-edge", lambda p: p.param("SLICE", "begin_1", 2), None),
    (SL, "slice-beyond-rank", lambda p: p.param("SLICE", "begin_4", 1), "op.params.begin_4"),
    # the same 24 bytes as [1, 2, 6, 2]: wider than the input's 6 - begin 2 columns
    (
        SL,
        "slice-wider-than-the-input",
        lambda p: (p.dim("box", 1, 2), p.dim("box", 2, 6)),
        "op.params.begin_2",
    ),
    (SL, "slice-larger-than-input", lambda p: (p.dim("box", 1, 1), p.dim("box", 2, 12)), "op.output.shape"),
    # -- PRELU: x [1, 4, 5, 6], alpha "act/alpha" int8 [6]
    (
        PR,
        "prelu-identity-shift-23",
        lambda p: p.param("PRELU", "identity_shift", 23),
        "op.params.identity_shift",
    ),
    (PR, "prelu-alpha-shift-15", lambda p: p.param("PRELU", "alpha_shift", 15), "op.params.alpha_shift"),
    (PR, "prelu-alpha-offset", lambda p: p.param("PRELU", "alpha_offset", 200), "op.params.alpha_offset"),
    (PR, "prelu-alpha-not-constant", lambda p: p.slot("PRELU", 1, "x"), "op.input2.shape"),
    (PR, "prelu-alpha-does-not-broadcast", lambda p: p.retype("act/alpha", 1, (3, 2)), "op.input2.shape"),
    (
        PR,
        "prelu-alpha-dtype",
        lambda p: (p.retype_raw("act/alpha", 2, (1,)), p.tens("act/alpha", "data_size", 4)),
        "op.input2.dtype",
    ),
    # -- RESIZE_NEAREST_NEIGHBOR: [1, 3, 4, 2] -> [1, 6, 5, 2], tables "up/rows" [6], "up/cols" [5]
    (RS, "resize-row-index-past-the-input", lambda p: p.const_i32("up/rows", 5, 3), "op.input2.shape"),
    (RS, "resize-col-index-negative", lambda p: p.const_i32("up/cols", 0, -1), "op.input2.shape"),
    (RS, "resize-col-index-at-the-edge", lambda p: p.const_i32("up/cols", 4, 3), None),
    (
        RS,
        "resize-rows-one-short",
        lambda p: (p.retype_raw("up/rows", 2, (5,)), p.tens("up/rows", "data_size", 20)),
        "op.input2.shape",
    ),
    (RS, "resize-rows-not-constant", lambda p: p.slot("RESIZE_NEAREST_NEIGHBOR", 1, "x"), "op.input2.dtype"),
    # --- ops14: RESIZE_BILINEAR "bl": [1, 3, 4, 2] -> [1, 6, 5, 2], "bl/rows" [6, 3], "bl/cols" [5, 3]
    (
        "ops14",
        "bilinear-row-high-index-past-the-input",
        lambda p: p.const_i32("bl/rows", 3 * 5 + 1, 3),
        "op.input2.shape",
    ),
    ("ops14", "bilinear-col-low-index-negative", lambda p: p.const_i32("bl/cols", 0, -1), "op.input2.shape"),
    ("ops14", "bilinear-col-index-at-the-edge", lambda p: p.const_i32("bl/cols", 3 * 4 + 1, 3), None),
    ("ops14", "bilinear-weight-1024", lambda p: p.const_i32("bl/rows", 2, 1024), "op.input2.shape"),
    (
        "ops14",
        "bilinear-weight-below-minus-512",
        lambda p: p.const_i32("bl/cols", 2, -513),
        "op.input2.shape",
    ),
    (
        "ops14",
        "bilinear-weight-extremes",
        lambda p: (p.const_i32("bl/rows", 2, -512), p.const_i32("bl/cols", 5, 1023)),
        None,
    ),
    (
        "ops14",
        "bilinear-rows-rank-1",
        lambda p: p.retype_raw("bl/rows", 2, (18,)),
        "op.input2.shape",
    ),
    (
        "ops14",
        "bilinear-rows-one-short",
        lambda p: (p.retype_raw("bl/rows", 2, (5, 3)), p.tens("bl/rows", "data_size", 60)),
        "op.input2.shape",
    ),
    ("ops14", "bilinear-rows-not-constant", lambda p: p.slot("RESIZE_BILINEAR", 1, "x"), "op.input2.dtype"),
    (
        "ops14",
        "bilinear-channels-changed",
        lambda p: (p.dim("bl", 2, 10), p.dim("bl", 3, 1)),
        "op.output.shape",
    ),
    # TRANSPOSE_CONV "tc": [1, 6, 5, 2] -> [1, 12, 10, 3], filter [3, 2, 5, 2]
    ("ops14", "tconv-stride-0", lambda p: p.param("TRANSPOSE_CONV", "stride_h", 0), "op.params.stride_h"),
    (
        "ops14",
        "tconv-dilation-2",
        lambda p: p.param("TRANSPOSE_CONV", "dilation_w", 2),
        "op.params.dilation_w",
    ),
    ("ops14", "tconv-pad-negative", lambda p: p.param("TRANSPOSE_CONV", "pad_h", -1), "op.params.pad_h"),
    ("ops14", "tconv-pad-2-pow-24", lambda p: p.param("TRANSPOSE_CONV", "pad_w", 1 << 24), "op.params.pad_w"),
    ("ops14", "tconv-pad-large-is-fine", lambda p: p.param("TRANSPOSE_CONV", "pad_w", 1000), None),
    (
        "ops14",
        "tconv-act-min-above-max",
        lambda p: p.param("TRANSPOSE_CONV", "act_min", 127) or p.param("TRANSPOSE_CONV", "act_max", 0),
        "op.params.act_min",
    ),
    ("ops14", "tconv-filter-not-constant", lambda p: p.slot("TRANSPOSE_CONV", 1, "bl"), "op.filter"),
    ("ops14", "tconv-filter-channels", lambda p: p.retype("tc/w", 1, (3, 2, 2, 5)), "op.filter.shape"),
    ("ops14", "tconv-output-channels", lambda p: (p.dim("tc", 2, 15), p.dim("tc", 3, 2)), "op.output.shape"),
    (
        "ops14",
        "tconv-bias-short",
        lambda p: (p.retype_raw("tc/b", 2, (2,)), p.tens("tc/b", "data_size", 8)),
        "op.bias.shape",
    ),
    ("ops14", "tconv-output-taller-is-fine", lambda p: (p.dim("tc", 1, 15), p.dim("tc", 2, 8)), None),
    # --- end ops14 ---
    # -- 16x8 variants: FULLY_CONNECTED "fc" (int64 bias), PAD "pad", TRANSPOSE "tr", SLICE "sl"
    (S16, "s16-fc-input-offset", lambda p: p.param(0, "input_offset", 1), "op.params.input_offset"),
    (S16, "s16-fc-output-offset", lambda p: p.param(0, "output_offset", -1), "op.params.output_offset"),
    (S16, "s16-fc-act-min-past-int16", lambda p: p.param(0, "act_min", -32769), "op.params.act_min"),
    (S16, "s16-fc-act-max-int16", lambda p: p.param(0, "act_max", 32767), None),
    (S16, "s16-fc-shift-8", lambda p: p.const_i32("fc/shift", 0, 8), "op.shifts"),
    (
        S16,
        "s16-fc-bias-int32",  # the same 64 bytes as int32[16]: a 16x8 bias is int64
        lambda p: p.retype_raw("fc/bias", 2, (16,)),
        "op.bias.dtype",
    ),
    (S16, "s16-fc-filter-int16", lambda p: p.retype_raw("fc/weights", 3, (8, 3)), "op.filter.dtype"),
    (S16, "s16-pad-value", lambda p: p.param(1, "pad_value", 1), "op.params.pad_value"),
    (S16, "s16-transpose-not-a-permutation", lambda p: p.param(2, "perm_0", 0), "op.params.perm"),
    (S16, "s16-slice-past-the-input", lambda p: p.param(3, "begin_0", 7), "op.params.begin_0"),
    # an int16 op output feeding an op that then mixes dtypes: the s16 FC with an int8 output
    (S16, "s16-fc-int8-output", lambda p: p.retype_raw("fc", 1, (2, 16)), "op.output.dtype"),
    # an op that has no kernel for its tensors' dtypes (pq_variants.def): int16 index table,
    # int4 index table (the same bytes)
    (
        RS,
        "resize-no-int16-kernel",
        lambda p: (p.retype_raw("up/rows", 3, (6,)), p.tens("up/rows", "data_size", 12)),
        "op.dtypes",
    ),
    (
        RS,
        "resize-no-int4-kernel",
        lambda p: (p.retype_raw("up/rows", 5, (6,)), p.tens("up/rows", "data_size", 3)),
        "op.dtypes",
    ),
    # -- int4 weights (s4): op 0 c4 [5, 3, 3, 1] CONV_2D, op 1 d4 [1, 3, 3, 5] DEPTHWISE, op 3 f4 [7, 180] FC
    (I4, "int4-odd-count", lambda p: None, None),  # 45 values in 23 bytes, the last high nibble 0
    (I4, "int4-size-unpacked", lambda p: p.tens("c4/filter", "data_size", 45), "tensor.data_size"),
    (I4, "int4-size-short", lambda p: p.tens("c4/filter", "data_size", 22), "tensor.data_size"),
    (I4, "int4-size-one-more", lambda p: p.tens("d4/filter", "data_size", 24), "tensor.data_size"),
    (I4, "int4-zero-point", lambda p: p.tens("f4/weights", "zero_point", 8), "tensor.zero_point"),
    (I4, "s4-fc-filter-offset", lambda p: p.param(3, "filter_offset", 1), "op.params.filter_offset"),
    # 45 packed values read as 23 int8 ones: the s8 kernel would read past the data
    (I4, "s4-filter-as-int8", lambda p: p.retype_raw("c4/filter", 1, (5, 3, 3, 1)), "tensor.data_size"),
    (
        I4,
        "s4-input-int4",
        lambda p: (p.retype_raw("x", 5, (1, 6, 6, 1)), p.tens("x", "data_size", 18)),
        "op.input.dtype",
    ),
    (
        I4,
        "s4-bias-int4",
        lambda p: (p.retype_raw("d4/bias", 5, (5,)), p.tens("d4/bias", "data_size", 3)),
        "op.bias.dtype",
    ),
    (
        I4,
        "s4-output-int4",
        lambda p: (p.retype_raw("flat", 5, (1, 180)), p.tens("flat", "data_size", 90)),
        "op.dtypes",  # RESHAPE has no int4 kernel
    ),
    (I4, "s4-dw-multiplier", lambda p: p.param(1, "depth_multiplier", 5), "op.filter.shape"),
    (I4, "s4-fc-filter-rank", lambda p: p.retype_raw("f4/weights", 5, (7, 180, 1)), "op.filter.shape"),
    # the s4 ops' shifts are int8 (flash): an int32 array is refused, values as the int32 ones
    (I4, "s4-shift-int32", lambda p: p.slot(0, 4, "c4/multiplier"), "op.shifts.dtype"),
    (I4, "s4-shift-edges", lambda p: (p.const_i8("c4/shift", 0, 30), p.const_i8("d4/shift", 4, -31)), None),
    (I4, "s4-shift-31", lambda p: p.const_i8("d4/shift", 2, 31), "op.shifts"),
    (I4, "s4-shift--32", lambda p: p.const_i8("f4/shift", 0, -32), "op.shifts"),
    # -- 16x8 ADD, MUL, MAX_POOL_2D, MEAN, RESHAPE, CONCATENATION (s16_elem): int16 zero points
    # are 0, left shifts keep a full-range int16 value inside int32, clamps are int16 values
    (S16E, "add16-input-offset", lambda p: p.param("ADD", "input1_offset", 1), "op.params.input1_offset"),
    (S16E, "add16-output-offset", lambda p: p.param("ADD", "output_offset", -1), "op.params.output_offset"),
    (S16E, "add16-left-shift-16", lambda p: p.param("ADD", "left_shift", 16), "op.params.left_shift"),
    (S16E, "add16-act-min", lambda p: p.param("ADD", "act_min", -32769), "op.params.act_min"),
    (S16E, "add16-act-int16", lambda p: p.param("ADD", "act_min", -1000), None),
    (
        S16E,
        "add16-int8-input",
        lambda p: (p.retype_raw("b", 1, (1, 4, 4, 2)), p.tens("b", "data_size", 32)),
        "op.input2.dtype",
    ),
    (S16E, "mul16-input-offset", lambda p: p.param("MUL", "input2_offset", -1), "op.params.input2_offset"),
    (S16E, "mul16-left-shift", lambda p: p.param("MUL", "output_shift", 1), "op.params.output_shift"),
    (S16E, "pool16-act-max", lambda p: p.param("MAX_POOL_2D", "act_max", 32768), "op.params.act_max"),
    (
        S16E,
        "pool16-int8-output",
        lambda p: (p.retype_raw("pool", 1, (1, 2, 2, 2)), p.tens("pool", "data_size", 8)),
        "op.output.dtype",
    ),
    (S16E, "mean16-output-offset", lambda p: p.param("MEAN", "output_offset", 1), "op.params.output_offset"),
    # count 4: 65536 * 4 << 14 = 2^32 leaves int32 (an int8 sum, 256 * 4 << 14, would not)
    (S16E, "mean16-shift", lambda p: p.param("MEAN", "shift", 14), "op.params.shift"),
    (S16E, "mean16-shift-12", lambda p: p.param("MEAN", "shift", 12), None),
    (
        S16E,
        "concat16-output-offset",
        lambda p: p.param("CONCATENATION", "output_offset", 1),
        "op.params.output_offset",
    ),
    (S16E, "concat16-requant-offset", lambda p: p.const_i32("cat/requant", 2, 1), "op.requant.input_offset"),
    (S16E, "concat16-requant-shift-16", lambda p: p.const_i32("cat/requant", 1, 16), "op.requant.shift"),
    (S16E, "concat16-requant-shift-15", lambda p: p.const_i32("cat/requant", 1, 15), None),
    (
        S16E,
        "reshape16-int8-output",
        lambda p: (p.retype_raw("flat", 1, (1, 8)), p.tens("flat", "data_size", 8)),
        "op.output.dtype",
    ),
    # the same 60 bytes as [1, 6, 10, 1]: channels no longer the input's
    (RS, "resize-channels-changed", lambda p: (p.dim("up", 2, 10), p.dim("up", 3, 1)), "op.output.shape"),
    # -- 16x8 LUT activations (lut16): tables are constant int16 vectors of their exact size
    (
        LU,
        "softmax16-exp-lut-short",
        lambda p: (p.retype_raw(EXP16, 3, (512,)), p.tens(EXP16, "data_size", 1024)),
        "op.input2.shape",
    ),
    (
        LU,
        "softmax16-recip-lut-int8",
        lambda p: p.retype_raw("probs16/one_over_one_plus_x_lut", 1, (1026,)),
        "op.input2.dtype",
    ),
    (LU, "softmax16-lut-not-a-vector", lambda p: p.slot("SOFTMAX", 1, "q_in"), "op.input2.shape"),
    (LU, "softmax16-output-int8", lambda p: p.retype_raw("probs16", 1, (2, 100)), "op.output.dtype"),
    (
        LU,
        "softmax16-multiplier",
        lambda p: p.param("SOFTMAX", "input_multiplier", 5),
        "op.params.input_multiplier",
    ),
    (
        LU,
        "softmax16-shift-31",
        lambda p: p.param("SOFTMAX", "input_left_shift", 31),
        "op.params.input_left_shift",
    ),
    (LU, "softmax16-shift--31", lambda p: p.param("SOFTMAX", "input_left_shift", -31), None),
    (LU, "softmax16-diff-min", lambda p: p.param("SOFTMAX", "diff_min", -1), "op.params.diff_min"),
    (
        LU,
        "logistic16-table-255",
        lambda p: (p.retype_raw(SIG16, 3, (255,)), p.tens(SIG16, "data_size", 510)),
        "op.input2.shape",
    ),
    (LU, "logistic16-table-int32", lambda p: p.retype_raw(SIG16, 2, (128,)), "op.input2.dtype"),
    (LU, "logistic16-table-shared", lambda p: p.slot("TANH", 1, SIG16), None),  # one table for both
    (
        LU,
        "logistic16-multiplier-32768",
        lambda p: p.param("LOGISTIC", "input_multiplier", 32768),
        "op.params.input_multiplier",
    ),
    (
        LU,
        "logistic16-multiplier-negative",
        lambda p: p.param("LOGISTIC", "input_multiplier", -1),
        "op.params.input_multiplier",
    ),
    (
        LU,
        "logistic16-pot-shift-14",
        lambda p: p.param("LOGISTIC", "input_left_shift", 14),
        "op.params.input_left_shift",
    ),
    (LU, "logistic16-pot-shift-13", lambda p: p.param("LOGISTIC", "input_left_shift", 13), None),
    (
        LU,
        "tanh16-shift-32",
        lambda p: (p.param("TANH", "input_multiplier", 20000), p.param("TANH", "input_left_shift", 32)),
        "op.params.input_left_shift",
    ),
    (LU, "tanh16-input-offset", lambda p: p.param("TANH", "input_offset", 1), "op.params.input_offset"),
    (LU, "tanh16-radius", lambda p: p.param("TANH", "input_range_radius", 5), "op.params.input_range_radius"),
    # -- QUANTIZE: op 0 int8 -> int16, op 5 int16 -> int8, op 6 int8 -> int8 (the s8 kernel)
    (LU, "quantize16-input-offset", lambda p: p.param(0, "input_offset", 129), "op.params.input_offset"),
    (LU, "quantize16-int16-output-offset", lambda p: p.param(0, "output_offset", -32768), None),
    (
        LU,
        "quantize16-int8-output-offset",
        lambda p: p.param(5, "output_offset", 128),
        "op.params.output_offset",
    ),
    (LU, "quantize16-int16-input-offset", lambda p: p.param(5, "input_offset", 32768), None),
    (LU, "quantize16-output-shape", lambda p: p.retype_raw("q_out", 1, (100,)), "op.output.shape"),
    (LU, "quantize-multiplier", lambda p: p.param(6, "multiplier", 5), "op.params.multiplier"),
    (LU, "quantize-shift", lambda p: p.param(6, "shift", 31), "op.params.shift"),
    (LU, "quantize-input-offset", lambda p: p.param(6, "input_offset", -128), "op.params.input_offset"),
    # -- BATCH_MATMUL: op 0 qk = q [2, 5, 8] x k [2, 5, 8] (adj_y) -> [2, 5, 5]
    (AT, "bmm-adj-x-2", lambda p: p.param(0, "adj_x", 2), "op.params.adj_x"),
    (AT, "bmm-adj-y-0", lambda p: p.param(0, "adj_y", 0), "op.input2.shape"),  # k's 5 rows meet q's 8
    (AT, "bmm-lhs-offset", lambda p: p.param(0, "lhs_offset", 200), "op.params.lhs_offset"),
    (AT, "bmm-rhs-offset", lambda p: p.param(0, "rhs_offset", -128), "op.params.rhs_offset"),
    (AT, "bmm-output-offset", lambda p: p.param(0, "output_offset", 128), "op.params.output_offset"),
    (AT, "bmm-multiplier", lambda p: p.param(0, "output_multiplier", 5), "op.params.output_multiplier"),
    (AT, "bmm-multiplier-zero", lambda p: p.param(0, "output_multiplier", 0), None),
    (AT, "bmm-shift", lambda p: p.param(0, "output_shift", 31), "op.params.output_shift"),
    (AT, "bmm-rhs-dtype", lambda p: p.slot(0, 1, "g/indices"), "op.input2.dtype"),
    (AT, "bmm-rhs-rank-1", lambda p: p.retype("k", 1, (80,)), "op.input2.shape"),
    (AT, "bmm-rhs-rank-6", lambda p: p.retype("k", 1, (1, 1, 1, 2, 5, 8)), "op.input2.shape"),
    (AT, "bmm-batch-mismatch", lambda p: p.retype("k", 1, (5, 2, 8)), "op.input2.shape"),
    (AT, "bmm-rhs-broadcast", lambda p: p.retype("k", 1, (1, 10, 8)), "op.output.shape"),  # 10 columns
    (AT, "bmm-output-batch", lambda p: p.retype("qk", 1, (5, 2, 5)), "op.output.shape"),
    (AT, "bmm-output-rank", lambda p: p.retype("qk", 1, (1, 2, 5, 5)), "op.output.shape"),
    # -- GATHER: op 1 g = q [2, 5, 8] at indices [4, 0, 2, 2, 1] of axis 1
    (AT, "gather-index-negative", lambda p: p.const_i32("g/indices", 1, -1), "op.input2.shape"),
    (AT, "gather-index-past-the-axis", lambda p: p.const_i32("g/indices", 0, 5), "op.input2.shape"),
    (AT, "gather-index-at-the-edge", lambda p: p.const_i32("g/indices", 1, 4), None),
    (AT, "gather-axis-past-rank", lambda p: p.param(1, "axis", 3), "op.params.axis"),
    (AT, "gather-axis-below-batch-dims", lambda p: p.param(1, "batch_dims", 1), "op.input2.shape"),
    (AT, "gather-batch-dims-negative", lambda p: p.param(1, "batch_dims", -1), "op.params.batch_dims"),
    (AT, "gather-indices-dtype", lambda p: p.slot(1, 1, "q"), "op.input2.dtype"),
    (AT, "gather-output-shape", lambda p: p.retype("g", 1, (2, 8, 5)), "op.output.shape"),
    (AT, "gather-output-rank", lambda p: p.retype("g", 1, (10, 8)), "op.output.shape"),
    # -- LAYER_NORM: x [1, 3, 8], gamma and beta int32[8]
    (LN, "ln-gamma-dtype", lambda p: p.slot("LAYER_NORM", 1, "x"), "op.input2.dtype"),
    (LN, "ln-gamma-rank", lambda p: p.retype(LNG, 2, (2, 4)), "op.input2.shape"),
    (
        LN,
        "ln-gamma-short",
        lambda p: (p.retype_raw(LNG, 2, (4,)), p.tens(LNG, "data_size", 16)),
        "op.input2.shape",
    ),
    (LN, "ln-beta-dtype", lambda p: p.slot("LAYER_NORM", 2, "x"), "op.bias.dtype"),
    (
        LN,
        "ln-beta-short",
        lambda p: (p.retype_raw(LNB, 2, (4,)), p.tens(LNB, "data_size", 16)),
        "op.bias.shape",
    ),
    (
        LN,
        "ln-output-offset",
        lambda p: p.param("LAYER_NORM", "output_offset", 128),
        "op.params.output_offset",
    ),
    (LN, "ln-shift-32", lambda p: p.param("LAYER_NORM", "shift", 32), "op.params.shift"),
    (LN, "ln-shift-negative", lambda p: p.param("LAYER_NORM", "shift", -1), "op.params.shift"),
    (LN, "ln-shift-31", lambda p: p.param("LAYER_NORM", "shift", 31), None),
    (
        LN,
        "ln-eps-negative",
        lambda p: p.param("LAYER_NORM", "eps_multiplier", -1),
        "op.params.eps_multiplier",
    ),
    (
        LN,
        "ln-eps-largest",
        lambda p: (
            p.param("LAYER_NORM", "eps_multiplier", 2**31 - 1),
            p.param("LAYER_NORM", "eps_shift", 29),
        ),
        None,
    ),
    (LN, "ln-eps-shift-30", lambda p: p.param("LAYER_NORM", "eps_shift", 30), "op.params.eps_shift"),
    (LN, "ln-unused-param", lambda p: p.param("LAYER_NORM", "4", 1), "op.params"),
    # -- LOOKUP_TABLE: "g/table" is the GELU's table (int8[256])
    (TB, "table-dtype", lambda p: p.slot("LOOKUP_TABLE", 1, "conv1/bias"), "op.input2.dtype"),
    (TB, "table-rank", lambda p: p.retype("g/table", 1, (16, 16)), "op.input2.shape"),
    (
        TB,
        "table-128-values",
        lambda p: (p.retype_raw("g/table", 1, (128,)), p.tens("g/table", "data_size", 128)),
        "op.input2.shape",
    ),
    (TB, "table-is-the-input", lambda p: p.slot("LOOKUP_TABLE", 1, "c1"), "op.input2.shape"),
    (NO, "concat-requant-dtype", lambda p: p.slot("CONCATENATION", 2, "c"), "op.requant.dtype"),
    (NO, "concat-requant-rank", lambda p: p.retype(RQ, 2, (6,)), "op.requant.shape"),
    (NO, "concat-requant-shape", lambda p: p.retype(RQ, 2, (3, 2)), "op.requant"),
    (
        CI,
        "concat-requant-not-constant",
        lambda p: (p.retype("b", 2, (2, 3)), p.slot("CONCATENATION", 2, "b")),
        "op.requant",
    ),
    (NO, "concat-requant-multiplier", lambda p: p.const_i32(RQ, 3, (1 << 30) - 1), "op.requant.multiplier"),
    (NO, "concat-requant-multiplier-neg", lambda p: p.const_i32(RQ, 0, -(1 << 30)), "op.requant.multiplier"),
    (NO, "concat-requant-shift", lambda p: p.const_i32(RQ, 4, 23), "op.requant.shift"),
    (NO, "concat-requant-shift--32", lambda p: p.const_i32(RQ, 1, -32), "op.requant.shift"),
    (NO, "concat-requant-offset", lambda p: p.const_i32(RQ, 2, -128), "op.requant.input_offset"),
    (NO, "concat-requant-offset-129", lambda p: p.const_i32(RQ, 5, 129), "op.requant.input_offset"),
    (
        NO,
        "concat-requant-edges",
        lambda p: [p.const_i32(RQ, k, v) for k, v in enumerate([0, 22, 128, 1 << 30, -31, -127])],
        None,
    ),
    (
        NO,
        "concat-requant-row-order",
        lambda p: (p.const_i32(RQ, 3, 5), p.const_i32(RQ, 2, 999)),
        "op.requant.input_offset",
    ),
    (
        NO,
        "concat-output-offset",
        lambda p: p.param("CONCATENATION", "output_offset", 128),
        "op.params.output_offset",
    ),
    (
        NO,
        "concat-requant-before-output-offset",
        lambda p: (p.param("CONCATENATION", "output_offset", 999), p.const_i32(RQ, 1, 99)),
        "op.requant.shift",
    ),
    # -- MEAN
    (NO, "mean-input-dtype", lambda p: p.slot("MEAN", 0, RQ), "op.input.dtype"),
    (NO, "mean-output-dtype", lambda p: p.retype("mean_10", 2, (2,)), "op.output.dtype"),
    (
        B,
        "mean-input-rank-0",
        lambda p: (p.retype_raw("x", 1, ()), p.tens("x", "data_size", 1)),
        "op.input.shape",
    ),
    (NO, "mean-axis-mask-16", lambda p: p.param("MEAN", "axis_mask", 16), "op.params.axis_mask"),
    (NO, "mean-axis-mask--1", lambda p: p.param("MEAN", "axis_mask", -1), "op.params.axis_mask"),
    (NO, "mean-keep-dims-2", lambda p: p.param("MEAN", "keep_dims", 2), "op.params.keep_dims"),
    (NO, "mean-keep-dims", lambda p: p.param("MEAN", "keep_dims", 1), "op.output.shape"),
    (B, "mean-drop-dims", lambda p: p.param("MEAN", "keep_dims", 0), "op.output.shape"),
    (NO, "mean-other-axes-same-shape", lambda p: p.param("MEAN", "axis_mask", 6), None),
    (NO, "mean-axes-shape", lambda p: p.param("MEAN", "axis_mask", 3), "op.output.shape"),
    (NO, "mean-no-axes", lambda p: p.param("MEAN", "axis_mask", 0), "op.output.shape"),
    (NO, "mean-output-rank", lambda p: p.retype("mean_10", 1, (8,)), "op.output.shape"),
    (NO, "mean-output-rank-3", lambda p: p.retype("mean_10", 1, (1, 8, 1)), "op.output.shape"),
    (NO, "mean-input-offset", lambda p: p.param("MEAN", "input_offset", 129), "op.params.input_offset"),
    (NO, "mean-output-offset", lambda p: p.param("MEAN", "output_offset", -129), "op.params.output_offset"),
    (NO, "mean-multiplier", lambda p: p.param("MEAN", "multiplier", -1), "op.params.multiplier"),
    (NO, "mean-multiplier-small", lambda p: p.param("MEAN", "multiplier", 5), None),  # 1/count folded in
    (NO, "mean-shift-31", lambda p: p.param("MEAN", "shift", 31), "op.params.shift"),
    (NO, "mean-shift--32", lambda p: p.param("MEAN", "shift", -32), "op.params.shift"),
    (NO, "mean-shift-overflow", lambda p: p.param("MEAN", "shift", 17), "op.params.shift"),  # 256*64 << 17
    (NO, "mean-shift-16", lambda p: p.param("MEAN", "shift", 16), None),
    (B, "mean-shift-overflow-count-15", lambda p: p.param("MEAN", "shift", 20), "op.params.shift"),
    (B, "mean-shift-19-count-15", lambda p: p.param("MEAN", "shift", 19), None),  # 256*15 << 19 < 2^31
    (B, "mean-count-2^23", _huge_mean_input((1, 1 << 12, 1 << 11, 2)), "op.params.shift"),
    (B, "mean-count-2^23-1", _huge_mean_input((1, (1 << 23) - 1, 1, 2)), "op.output.shape"),  # MUL's
    (
        NO,
        "mean-shape-before-params",
        lambda p: (p.param("MEAN", "input_offset", 999), p.param("MEAN", "keep_dims", 1)),
        "op.output.shape",
    ),
]


@pytest.mark.parametrize(("model", "case", "edit", "field"), CASES, ids=[c[1] for c in CASES])
def test_bad_file_is_refused(c, models, model, case, edit, field) -> None:
    p = Patch(models[model])
    out = edit(p)
    data = out if isinstance(out, bytes) else p.data()
    e = py_error(data, p.max_arena)
    if field is None:
        assert e is None, str(e)
        assert c.validate(data, p.max_arena).code == 0
        return
    assert e is not None, "accepted"
    assert normalize(e.field) == field, str(e)
    assert e.offset is None or 0 <= e.offset < max(len(data), 1), str(e)
    assert e.value is not None and str(e).startswith(f"bad .picoq file: {e.field}"), str(e)
    err = c.validate(data, p.max_arena)
    assert c_field(err) == field, (
        f"C: {c_field(err)} (index {err.index}, offset {err.offset}, value {err.value})"
    )
    assert err.why and str(e).endswith(": " + err.why.decode()), str(e)  # C's reason
    assert (err.offset if err.offset >= 0 else None) == e.offset


def _header_codes() -> list[tuple[str, str]]:
    """pq_model.h's PQ_MODEL_FIELDS list: (code suffix, field name); code k is entry k - 1."""
    return re.findall(r'X\((\w+), "([^"]+)"\)', (KDIR / "include" / "pq_model.h").read_text())


def test_every_rule_has_a_case(c, models) -> None:
    """Every C error code but one is what some handcrafted file is refused with, and a
    parameter refusal names the parameter as the registry does."""
    codes = _header_codes()
    assert [c.lib.pq_model_field_name(k + 1).decode() for k in range(len(codes))] == [f for _, f in codes]
    assert c.lib.pq_model_field_name(len(codes) + 1) == c.lib.pq_model_field_name(-1) == b"?"
    seen = set()
    for model, _, edit, _ in CASES:
        p = Patch(models[model])
        out = edit(p)
        seen.add(c.validate(out if isinstance(out, bytes) else p.data(), p.max_arena).code)
    missing = {codes[k - 1][0] for k in range(1, len(codes) + 1)} - {codes[k - 1][0] for k in seen if k}
    # OP_WRITES_INPUT ("tensor is input and output") cannot fire first: a non-constant input
    # was produced before, so "produced twice" fires; a constant one is "writes a constant".
    # The check stays as a backstop.
    assert missing == {"OP_WRITES_INPUT"}, sorted(missing)


def test_fc_rank0_output(c, models) -> None:
    """A rank-0 FULLY_CONNECTED output of the right size (1 unit) is refused (the Python
    validator once raised IndexError here; the fuzz agreement found it)."""
    p = Patch(models["two_io"])
    p.retype("fc", 1, ())
    data = p.data()
    assert c.field(data) == "op.output.shape"
    with pytest.raises(ModelFormatError) as e:
        read_model(data)
    assert normalize(e.value.field) == "op.output.shape"


# ---------------------------------------------------------------- 3. agreement over the fuzz corpus


def test_op_table_is_the_registry(c, models) -> None:
    """format.OPS is pq_ops.def's table (read through the extension): the registry's codes,
    names and parameter lists; any other code is refused as op[i].opcode."""
    registry = re.findall(r"^PQ_OP\((\d+),\s*(\w+),", (KDIR / "include" / "pq_ops.def").read_text(), re.M)
    assert [(code, s.name) for code, s in fmt.OPS.items()] == [(int(k), n) for k, n in registry]
    assert (
        fmt.OPS[2].param_names[-1] == "depth_multiplier"
        and fmt.OPS[11].max_inputs == fmt.MAX_CONCAT_INPUTS + 1
    )
    assert fmt.OPS[12].n_params == 1 + 2 * fmt.MAX_DIMS and fmt.OPS[1].optional_inputs == (2,)
    for code in (0, max(fmt.OPS) + 1, 0xFFFF):
        p = Patch(models["tiny_mlp"])
        p.op(0, "opcode", code)
        err = c.validate(p.data())
        assert (err.field, err.index, err.value) == (b"op.opcode", 0, code)
        e = py_error(p.data())
        assert (e.field, e.offset, e.value) == ("op[0].opcode", p.orec(0), code)


class ContractMutator:
    """Mutants aimed past the record checks: op params near their bounds, rewired op inputs
    and outputs, multiplier/shift constants, reshaped tensors whose byte size still matches,
    moved arena offsets, graph IO, quantization fields, one param copied onto another (a
    TRANSPOSE axis repeated, PAD amounts moved), a variadic op's input count changed.
    Complements picoq_mutate.Mutator, whose random field values rarely get as far as the
    data flow, arena plan and op contracts. VALUES holds every bound of the contracts' ranges."""

    VALUES = [-(1 << 31), -(1 << 30), -256, -255, -129, -128, -127, -32, -31, -16, -15, -1, 0, 1, 2, 3]
    VALUES += [14, 15, 16, 20, 21, 22, 23, 30, 31, 32, 127, 128, 255, 256, 32767, 32768, 1 << 16]
    VALUES += [(1 << 16) + 1, -(1 << 30) + 1, (1 << 30) - 1, 1 << 30, (1 << 31) - 1]

    def __init__(self, data: bytes, rng: np.random.Generator):
        self.p = Patch(data)
        self.rng = rng
        m = self.p.m
        self.arena = [t.index for t in m.tensors if not t.is_const]
        self.int32 = [t.index for t in m.tensors if t.is_const and t.dtype == "int32"]

    def _value(self, old: int) -> int:
        if self.rng.random() < 0.7:
            return int(self.rng.choice(self.VALUES))
        return old + int(self.rng.choice([-2, -1, 1, 2]))

    def _one(self, p: Patch) -> str:
        rng, m = self.rng, p.m
        kinds = [
            "param",
            "slot",
            "const",
            "shape",
            "offset",
            "grio",
            "opcode",
            "quant",
            "copy",
            "arity",
            "scratch",
        ]
        kind = rng.choice(kinds)
        if kind == "param":
            op = m.ops[rng.integers(len(m.ops))]
            k = int(rng.integers(max(len(op.params), 1) + (rng.random() < 0.1)))
            at = p.orec(op.index) + 16 + 4 * min(k, 15)
            p.put(at, "<i", max(-(1 << 31), min((1 << 31) - 1, self._value(p.get(at, "<i")))))
        elif kind == "slot":
            op = m.ops[rng.integers(len(m.ops))]
            k = int(rng.integers(len(op.inputs) + 1))
            p.slot(op.index, k, -1 if rng.random() < 0.15 else int(rng.integers(len(m.tensors))))
        elif kind == "const" and self.int32:
            t = m.tensors[int(rng.choice(self.int32))]
            k = int(rng.integers(t.size))
            p.const_i32(
                t.index,
                k,
                max(-(1 << 31), min((1 << 31) - 1, self._value(int(p.get(t.offset + 4 * k, "<i"))))),
            )
        elif kind == "shape":
            t = m.tensors[rng.integers(len(m.tensors))]
            dims = list(t.shape)
            if dims and rng.random() < 0.6:
                d = int(rng.integers(len(dims)))
                dims[d] = max(1, int(rng.choice([1, 2, dims[d] - 1, dims[d] + 1, 2 * dims[d], dims[d] // 2])))
            elif rng.random() < 0.5 and len(dims) < 6:
                dims.insert(int(rng.integers(len(dims) + 1)), 1)
            elif 1 in dims:
                dims.remove(1)
            p.retype_raw(t.index, fmt.DTYPE_CODE[t.dtype], tuple(dims))
            p.tens(t.index, "data_size", fmt.dtype_nbytes(t.dtype, int(np.prod(dims))))
        elif kind == "offset":
            t = int(rng.choice(self.arena))
            other = m.tensors[int(rng.choice(self.arena))]
            off = other.offset if rng.random() < 0.6 else 16 * int(rng.integers(m.arena_size // 16 + 1))
            p.tens(t, "data_offset", off)
        elif kind == "scratch" and m.scratch is not None:
            # Onto a tensor (live or not), a 64-byte step inside or just past the arena, or
            # a size near the arena's top: the plan checks of SCRA.
            op = int(rng.integers(len(m.ops)))
            t = m.tensors[int(rng.choice(self.arena))]
            choice = rng.integers(4)
            if choice == 0:
                p.scra(op, t.offset // 64 * 64, max(m.scratch[op][1], 64))
            elif choice == 1:
                p.scra(op, 64 * int(rng.integers(m.arena_size // 64 + 2)))
            elif choice == 2:
                p.scra(op, size=max(0, m.arena_size - m.scratch[op][0] + int(rng.choice([-64, -1, 0, 1]))))
            else:
                p.scra(op, *(m.scratch[int(rng.integers(len(m.ops)))]))
        elif kind == "grio":
            k = int(rng.integers(len(m.inputs) + len(m.outputs)))
            p.grio(k, int(rng.integers(len(m.tensors))))
        elif kind == "opcode":
            p.op(int(rng.integers(len(m.ops))), "opcode", int(rng.integers(1, max(fmt.OPS) + 1)))
        elif kind == "copy":
            op = m.ops[rng.integers(len(m.ops))]
            if op.params:
                j, k = (int(v) for v in rng.integers(len(op.params), size=2))
                p.put(p.orec(op.index) + 16 + 4 * k, "<i", p.get(p.orec(op.index) + 16 + 4 * j, "<i"))
        elif kind == "arity":
            op = m.ops[rng.integers(len(m.ops))]
            p.op(op.index, "n_inputs", max(0, len(op.inputs) + int(rng.choice([-2, -1, 1]))))
        else:
            t = int(rng.integers(len(m.tensors)))
            field = str(rng.choice(["quant", "quant_axis", "zero_point", "scale_bits"]))
            v = {"quant": int(rng.integers(3)), "quant_axis": int(rng.integers(-1, 5))}.get(field)
            if field == "zero_point":
                v = int(rng.choice([-129, -128, 0, 127, 128, 1000]))
            elif field == "scale_bits":
                v = int(rng.choice([0, 1, 0x00800000, 0x3F800000, 0x7F800000, 0x7FC00000, 0xBF800000]))
            p.tens(t, field, v)
        return str(kind)

    def mutate(self) -> tuple[bytes, str]:
        p = self.p.fork()
        what = ",".join(sorted({self._one(p) for _ in range(int(self.rng.integers(1, 3)))}))
        return p.data(), what


MUTATORS = {"random": Mutator, "contract": ContractMutator}


def fuzz_jobs() -> list[tuple[str, str]]:
    """(model, mutator): the random mutator on every fuzzed model, the contract one on the repo models."""
    return [(name, "random") for name in [*REPO_MODELS, *FUZZ_MLPERF]] + [
        (name, "contract") for name in REPO_MODELS
    ]


def _seed(name: str, mutator: str) -> int:
    return 100 + fuzz_jobs().index((name, mutator))


def _mutants(data: bytes, seed: int, mutator: str = "random", n: int = MUTANTS):
    mut = MUTATORS[mutator](data, np.random.default_rng(seed))
    for _ in range(n):
        yield mut.mutate()


C_CODES: dict[tuple[str, str], list[int]] = {}


@pytest.mark.parametrize(("name", "mutator"), fuzz_jobs(), ids=[f"{n}-{m}" for n, m in fuzz_jobs()])
def test_fuzz_mutants_load_or_refuse(c, models, name, mutator) -> None:
    """Every mutant loads or raises ModelFormatError, nothing else; read_model's verdict and
    (normalized) field are the C library's."""
    if name not in models:
        pytest.skip(f"MLPerf Tiny model {name} is absent")
    outcome: Counter = Counter()
    disagree = []
    codes = []
    for i, (m, what) in enumerate(_mutants(models[name], _seed(name, mutator), mutator)):
        err = c.validate(m)
        codes.append(err.code)
        cf = c_field(err)
        try:
            e = py_error(m)
        except Exception as x:  # not a ModelFormatError: a bug in read_model
            raise AssertionError(f"mutant {i} ({what}): read_model raised {x!r}") from x
        pf = None if e is None else normalize(e.field)
        if pf != cf:
            disagree.append((i, what, pf, cf, err.index, err.offset, err.value))
        outcome["accepted" if e is None else "rejected"] += 1
    C_CODES[name, mutator] = codes
    print(name, mutator, dict(outcome))
    assert not disagree, disagree[:10]
    assert outcome["accepted"] > 0 and outcome["rejected"] > MUTANTS // 5, outcome


# ---------------------------------------------------------------- 4. sanitizers


def _libasan() -> str | None:
    gcc = shutil.which("gcc")
    out = (
        subprocess.run([gcc, "-print-file-name=libasan.so"], capture_output=True, text=True).stdout
        if gcc
        else ""
    )
    return out.strip() if os.path.isabs(out.strip()) and os.path.exists(out.strip()) else None


ASAN_SCRIPT = """
import ctypes, hashlib
from test_validator import _mutants
lib = ctypes.CDLL({lib!r})
lib.pq_model_validate.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_void_p]
err = ctypes.create_string_buffer(128)
for name, mutator, path, seed in {jobs!r}:
    codes = []
    for m, _what in _mutants(open(path, "rb").read(), seed, mutator, {n}):
        buf = (ctypes.c_uint8 * len(m)).from_buffer_copy(m)  # malloc'd to the byte: ASan sees overruns
        codes.append(lib.pq_model_validate(buf, len(m), {max_arena}, err))
    print(name, mutator, hashlib.sha256(repr(codes).encode()).hexdigest(), flush=True)
{canary}
"""
CANARY = """
buf = (ctypes.c_uint8 * 64)(*b"\\x89PICOQ\\r\\n\\x01\\x00")
buf[16:24] = list((4096).to_bytes(8, "little"))
lib.pq_model_validate(buf, 4096, 1 << 20, err)  # the caller lies about the length: the CRC reads past
print("not caught")
"""


def _san_env(libasan: str) -> dict[str, str]:
    return dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
        PYTHONMALLOC="malloc",  # every Python buffer from malloc: redzones around each mutant
        LD_PRELOAD=libasan,
        ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:exitcode=99",
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=98",
    )


@pytest.fixture(scope="module")
def asan_lib(build_dir, asan_fuzz) -> Path:
    if asan_fuzz is None:
        raise AssertionError("gcc's libasan is needed (Debian: libgcc-12-dev)")
    return build_dir / "libpqmodel_asan.so"


@pytest.fixture(scope="module", autouse=True)
def asan_fuzz(models, build_dir):
    """Start the sanitized fuzz run at once, in a subprocess beside the other tests (it reruns
    the same mutants; the last tests collect it). None when the sanitizer runtime is missing."""
    libasan = _libasan()
    if not libasan or not shutil.which("gcc"):
        yield None
        return
    lib = _build_lib(build_dir / "libpqmodel_asan.so", [*SAN, "-g"])
    jobs = []
    for name, mutator in fuzz_jobs():
        if name in models:
            path = build_dir / f"{name}.picoq"
            path.write_bytes(models[name])
            jobs.append((name, mutator, str(path), _seed(name, mutator)))
    code = ASAN_SCRIPT.format(lib=str(lib), jobs=jobs, n=MUTANTS, max_arena=MAX_ARENA, canary="")
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env=_san_env(libasan),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield proc, jobs
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


def test_fuzz_corpus_clean_under_asan_and_ubsan(c, models, asan_fuzz) -> None:
    if asan_fuzz is None:
        raise AssertionError("gcc's libasan is needed (Debian: libgcc-12-dev)")
    proc, jobs = asan_fuzz
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, (out + err)[-4000:]
    assert "Sanitizer" not in err and "runtime error" not in err, err[-4000:]
    got = {(n, m): h for n, m, h in (line.split() for line in out.strip().splitlines())}
    assert set(got) == {(name, mutator) for name, mutator, _, _ in jobs}
    for name, mutator, _, seed in jobs:  # the sanitized build returns the same code for every mutant
        codes = C_CODES.get((name, mutator)) or [
            c.validate(m).code for m, _ in _mutants(models[name], seed, mutator)
        ]
        assert got[name, mutator] == hashlib.sha256(repr(codes).encode()).hexdigest(), (name, mutator)
    print(f"{len(jobs)} x {MUTANTS} mutants clean under ASan+UBSan")


def test_asan_canary(asan_lib) -> None:
    code = ASAN_SCRIPT.format(lib=str(asan_lib), jobs=[], n=0, max_arena=MAX_ARENA, canary=CANARY)
    r = subprocess.run(
        [sys.executable, "-c", code], env=_san_env(_libasan()), capture_output=True, text=True, timeout=120
    )
    assert r.returncode != 0 and "AddressSanitizer" in r.stderr, (r.stdout + r.stderr)[-2000:]


def test_command_line_driver(models, build_dir) -> None:
    """tests/c/pq_validate_main.c: a plain C program (as firmware would call it), under ASan+UBSan."""
    exe = build_dir / "pq_validate"
    cmd = [_gcc(), *STRICT, *SAN, "-O1", "-g", str(DRIVER), *map(str, SRCS), "-o", str(exe)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    good = build_dir / "good.picoq"
    good.write_bytes(models["tiny_resnet"])
    bad = build_dir / "bad.picoq"
    bad.write_bytes(models["tiny_resnet"][:1000])
    env = dict(os.environ, ASAN_OPTIONS="exitcode=99", UBSAN_OPTIONS="halt_on_error=1:exitcode=98")
    r = subprocess.run([str(exe), str(good), str(bad)], capture_output=True, text=True, env=env)
    assert r.returncode == 1, r.stdout + r.stderr  # one file refused
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"{good}: ok arena={read_model(models['tiny_resnet']).arena_size}")
    assert lines[1].startswith(f"{bad}: refused header.file_size") and lines[1].endswith("(truncated?)")
