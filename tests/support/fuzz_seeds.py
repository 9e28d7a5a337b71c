"""The seed corpus of the C core's libFuzzer targets (tests/fuzz/fuzz_core.py `seeds`).

- the repo's models (make_fixtures, models.build_chain: every op code), tiny_resnet also as an
  old format 1.1 file with a SCRA section;
- the MLPerf Tiny models (../shared beside the checkout): KWS whole, and every model cut into
  slices of one and of three consecutive ops (their real shapes, strides, paddings, per-channel
  quantization and weights) that fit max_len;
  Whole, VWW takes 12 ms to validate under ASan and the large ResNet is 0.5 MB: a mutant of
  either would cost the fuzzer a hundred small ones;
- tests/test_validator.py's bad files, at least one per refusal rule, and a few handmade ones.
"""

from __future__ import annotations

import copy
import hashlib
import struct
from pathlib import Path

import numpy as np

from picoq.converter import convert
from picoq.converter.compare import graph_from_model
from picoq.converter.graph import Graph, Op, Tensor
from picoq.converter.plan import plan_arena
from picoq.converter.writer import to_bytes
from picoq.runtime import read_model

from .fileedit import resealed, sections
from .legacy_scra import TINY_RESNET_NEEDS, to_bytes_1_1
from .make_fixtures import build_tiny_convnet, build_tiny_mlp, build_tiny_resnet
from .models import build_chain

SHARED_MODELS = Path(__file__).resolve().parents[3] / "shared" / "models" / "mlperf_tiny"
MLPERF = [
    "kws_ref_model",
    "vww_96_int8",
    "pretrainedResnet_quant",
    "pretrainedResnet_large_int8",
    "ad01_int8",
]
SLICE_LENGTHS = (1, 3)


def repo_models() -> dict[str, bytes]:
    from picoq.converter import load

    return {
        "tiny_convnet": convert(build_tiny_convnet()),
        "tiny_resnet": convert(build_tiny_resnet()),
        "tiny_mlp": convert(build_tiny_mlp()),
        "op_chain": convert(build_chain()[0]),
        "tiny_resnet_scra": to_bytes_1_1(load(build_tiny_resnet()), needs=TINY_RESNET_NEEDS),
    }


def slice_model(g: Graph, first: int, end: int) -> bytes:
    """Ops [first, end) of `g` as a model of their own: the activations they read and nobody
    in the slice writes become its inputs, what they write and nobody after reads its outputs."""
    ops = g.ops[first:end]
    written = {op.outputs[0] for op in ops}
    inputs, outputs = [], []
    for k, op in enumerate(ops):
        for t in op.inputs:
            if t >= 0 and not g.tensors[t].is_const and t not in written and t not in inputs:
                inputs.append(t)
        y = op.outputs[0]
        if k == len(ops) - 1 or all(y not in later.inputs for later in ops[k + 1 :]):
            outputs.append(y)
    used = sorted({t for op in ops for t in (*op.inputs, *op.outputs) if t >= 0})
    remap = {old: new for new, old in enumerate(used)}
    sub = Graph(name=f"{g.name}[{first}:{end}]")
    for t in used:
        tensor = copy.copy(g.tensors[t])
        tensor.offset = -1
        sub.tensors.append(tensor)
    for op in ops:
        new = copy.copy(op)
        new.inputs = [remap[t] if t >= 0 else -1 for t in op.inputs]
        new.outputs = [remap[op.outputs[0]]]
        sub.ops.append(new)
    sub.inputs = [remap[t] for t in inputs]
    sub.outputs = [remap[t] for t in outputs]
    plan_arena(sub)
    return to_bytes(sub)


def mlperf_seeds(max_len: int) -> dict[str, bytes]:
    out = {}
    for name in MLPERF:
        path = SHARED_MODELS / f"{name}.tflite"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing (../shared beside the checkout)")
        whole = convert(str(path))
        if len(whole) <= max_len:
            out[name] = whole
        g = graph_from_model(read_model(whole))
        for n in SLICE_LENGTHS:
            for i in range(len(g.ops) - n + 1):
                data = slice_model(g, i, i + n)
                if len(data) <= max_len:
                    out[f"{name}_{i}_{i + n}"] = data
    return out


def dilated_conv(filter_hw: tuple[int, int], dilation: tuple[int, int]) -> bytes:
    """A one-op CONV_2D on a 1x1 image whose filter, dilated, spans more than 2^31 rows or
    columns: the reference kernel's in_y = origin + dilation * fy left int32 (UBSan) until the
    validator refused spans above 2^24. Written undilated (the writer validates), then edited."""
    g = Graph(name="dilated")
    one, zero = np.ones(1, np.float32) * 0.1, np.zeros(1, np.int32)
    x = g.add(Tensor("x", (1, 1, 1, 1), "int8", one, zero))
    w = g.add_const("w", np.ones((1, *filter_hw, 1), np.int8), one, zero)
    b = g.add_const("b", np.zeros(1, np.int32))
    m = g.add_const("m", np.array([1 << 30], np.int32))
    sh = g.add_const("s", np.zeros(1, np.int32))
    y = g.add(Tensor("y", (1, 1, 1, 1), "int8", one, zero))
    params = dict(stride_h=1, stride_w=1, dilation_h=1, dilation_w=1, pad_h=0, pad_w=0)
    params.update(input_offset=0, output_offset=0, act_min=-128, act_max=127)
    g.ops.append(Op("CONV_2D", [x, w, b, m, sh], [y], params))
    g.inputs, g.outputs = [x], [y]
    plan_arena(g)
    data = bytearray(to_bytes(g))
    ops = sections(data)[b"OPS_"][0]
    struct.pack_into("<ii", data, ops + 16 + 4 * 2, *dilation)  # params 2, 3: dilation_h, dilation_w
    return resealed(data)


def handmade_seeds() -> dict[str, bytes]:
    """Refusals that neither test_validator's files nor a 60 s run reached."""
    base = convert(build_tiny_resnet())
    sec = sections(base)
    # two sections spanning the same bytes: the overlap check's tie-break on the tags (STRS,
    # DATA differ at once; OPIO, OPS_ after two bytes)
    same, same_op = bytearray(base), bytearray(base)
    struct.pack_into("<II", same, sec[b"STRS"][2] + 4, *sec[b"DATA"][:2])
    struct.pack_into("<II", same_op, sec[b"OPIO"][2] + 4, *sec[b"OPS_"][:2])
    # MODL with two records (cap 1): moved to the end of the file, 64 bytes long
    off = (len(base) + 15) // 16 * 16
    modl = bytearray(base) + bytes(off - len(base)) + base[sec[b"MODL"][0] :][:32] + bytes(32)
    struct.pack_into("<II", modl, sec[b"MODL"][2] + 4, off, 64)
    struct.pack_into("<Q", modl, 16, len(modl))
    return {
        "sections_same_span": resealed(same),
        "sections_same_span_tag_prefix": resealed(same_op),
        "modl_two_records": resealed(modl),
        "conv_dilated_rows": dilated_conv((32770, 1), (65536, 1)),
        "conv_dilated_cols": dilated_conv((1, 32770), (1, 65536)),
    }


def refusal_seeds() -> dict[str, bytes]:
    """tests/test_validator.py's handcrafted bad files, one or more per refusal rule: each
    reaches its rule at once, and the mutations around it what lies behind."""
    from test_validator import CASES, REPO_MODELS, Patch

    models = {name: build() for name, build in REPO_MODELS.items()}
    out = {}
    for model, case, edit, _ in CASES:
        p = Patch(models[model])
        data = edit(p)
        out[f"case_{case}"] = data if isinstance(data, bytes) else p.data()
    return out


def write_seeds(out: Path, max_len: int) -> list[Path]:
    """Write every seed no longer than max_len into `out` (one copy of identical files)."""
    out.mkdir(parents=True, exist_ok=True)
    seen, paths = set(), []
    for name, data in {
        **repo_models(),
        **mlperf_seeds(max_len),
        **refusal_seeds(),
        **handmade_seeds(),
    }.items():
        digest = hashlib.sha1(data).hexdigest()
        if len(data) > max_len or digest in seen:
            continue
        seen.add(digest)
        path = out / f"{name}.picoq"
        path.write_bytes(data)
        paths.append(path)
    return paths
