"""Issue 13's done-when check: no op of a converted model runs only a reference kernel.

Every op code of the registry (runtime/kernels/include/pq_ops.def, picoq.runtime.format.OPS)
appears in at least one of the models converted here: the repo's own (tests/support:
tiny_convnet, tiny_resnet, tiny_mlp and op_chain, which chains the other ops), the float ONNX
models with the MLPerf Tiny architectures (make_onnx_models.py, both export layouts), a float
ONNX convnet whose GELU and SiLU become LOOKUP_TABLE ops (onnx_tables.py), two SLICEs, two
BATCH_MATMULs and a GATHER (an attention-like chain), LAYER_NORMs, a PRELU, a QUANTIZE, a
RESIZE_NEAREST_NEIGHBOR and the
MLPerf Tiny int8 models when ../shared is beside the checkout. On every ISA supported_isas()
reports, each op's kernel in Interpreter.op_kernels must be a fast one. Whether the fast kernels give the reference's bytes is the other tests' job
(test_fast_kernels.py, test_fast_movement.py, test_neon_kernels.py).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from picoq.converter import convert
from picoq.runtime import Interpreter, supported_isas
from picoq.runtime.format import OPS

from conftest import mlperf_present
from support.fuzz_seeds import repo_models
from support.make_onnx_models import MODELS, input_shape
from support.onnx_models import layer_norm_model
from support.onnx_tables import gelu_silu_convnet
from support.tflite_builder import TFLiteGraph


@functools.cache
def _models() -> dict[str, bytes]:
    models = {k: v for k, v in repo_models().items() if k != "tiny_resnet_scra"}  # same ops as tiny_resnet
    rng = np.random.default_rng(0)
    for name, build in sorted(MODELS.items()):
        for layout in ("nchw", "nhwc"):
            m = build(layout)
            calib = rng.normal(size=(8, *input_shape(m)[1:])).astype(np.float32)
            models[f"{name}_{layout}"] = convert(m, calibration=calib, progress=False)
    m, calib = gelu_silu_convnet()
    models["gelu_silu_convnet"] = convert(m, calibration=calib, progress=False)
    g = TFLiteGraph()  # SLICE: a channel split and a crop
    x = g.input("x", (1, 6, 5, 8), 0.05, 3)
    g.output(g.slice(x, [0, 0, 0, 4], [1, 6, 5, 4]), g.slice(x, [0, 1, 1, 0], [1, 4, 3, 8]))
    models["slices"] = convert(g.build())
    g = TFLiteGraph()  # BATCH_MATMUL (Q.K^T, rhs with and without a zero point) and GATHER
    q, k = g.input("q", (2, 5, 8), 0.05, 3), g.input("k", (2, 5, 8), 0.04, 0)
    s = g.batch_matmul(q, k, 0.2, -5, adj_y=True)
    g.output(g.batch_matmul(s, g.gather(q, np.array([4, 0, 2, 2, 1]), axis=1), 0.5, 7))
    models["attention"] = convert(g.build())
    g = TFLiteGraph()  # PRELU: one slope per channel
    x = g.input("x", (1, 4, 3, 5), 0.05, -2)
    g.output(g.prelu(x, np.arange(-50, 50, 20, dtype=np.int8), 0.01, 0, 0.04, 3))
    models["prelu"] = convert(g.build())
    g = TFLiteGraph()  # QUANTIZE int8 -> int8 (its s16 variants have no fast kernel: int16 inputs)
    g.output(g.quantize(g.input("x", (1, 4, 3, 5), 0.05, -2), 0.02, 7))
    models["quantize"] = convert(g.build())
    g = TFLiteGraph()  # RESIZE_NEAREST_NEIGHBOR: a 2x upsampling
    g.output(g.resize_nearest(g.input("x", (1, 4, 3, 5), 0.05, -2), (8, 6)))
    models["resize"] = convert(g.build())
    calib = rng.normal(size=(8, 3, 4, 5)).astype(np.float32)  # LAYER_NORM over one axis and over two
    for axis in (-1, 2):
        models[f"layer_norm_{axis}"] = convert(
            layer_norm_model([1, 3, 4, 5], axis), calibration=calib, progress=False
        )
    g = TFLiteGraph()  # ops14: RESIZE_BILINEAR
    g.output(g.resize_bilinear(g.input("x", (1, 4, 3, 5), 0.05, -2), (8, 5), half_pixel_centers=True))
    models["resize_bilinear"] = convert(g.build())
    g = TFLiteGraph()  # ops14: TRANSPOSE_CONV, stride 2
    w = g.const_int8(
        "w", np.arange(-45, 45, dtype=np.int8).reshape(2, 3, 3, 5), [0.01, 0.02], quantized_dimension=0
    )
    g.output(g.transpose_conv(g.input("x", (1, 4, 3, 5), 0.05, -2), w, None, 0.2, 3, (8, 6), stride=2))
    models["transpose_conv"] = convert(g.build())
    models |= {name: convert(path.read_bytes()) for name, path in mlperf_present().items()}
    return models


def test_every_op_code_is_covered() -> None:
    seen = {op.opcode for m in _models().values() for op in Interpreter(m, kernels="reference").model.ops}
    missing = sorted(OPS[c].name for c in set(OPS) - seen)
    assert not missing, f"no model here has {missing}: add one (tests/support) so its kernel is checked"


@pytest.mark.parametrize("isa", supported_isas())
def test_every_op_runs_a_fast_kernel(isa: str) -> None:
    reference_only = []
    for name, model in _models().items():
        it = Interpreter(model, isa=isa)
        for op, kernel in zip(it.model.ops, it.op_kernels, strict=True):
            if kernel == "reference":
                reference_only.append(f"{name} op {op.index} {op.name}")
    assert not reference_only, f"on {isa}, these ops run only a reference kernel: {reference_only}"
