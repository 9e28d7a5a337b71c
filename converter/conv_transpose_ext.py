"""Grouped and dilated ConvTranspose as the group-1, dilation-1 ones TRANSPOSE_CONV runs.

- Dilations: the kernel with d - 1 zeros between taps (conv_transpose.dilate_kernel) spans the same
  (k - 1) * d + 1 pixels and makes the same sums; the node keeps its pads, output_padding,
  output_shape and auto_pad, which the spec already defines on that span.
- Groups: group g reads input channels [g * Cin/G, (g+1) * Cin/G) and writes output channels
  [g * M, (g+1) * M) (M = Cout / G). Three exact forms, chosen by constant flash (group_form):
    block   one ConvTranspose whose [Cin, Cout, kh, kw] filter holds each group's block on the
            diagonal and zeros elsewhere. A zero weight adds nothing to the int32 sum, and the
            per-channel weight scales see only their own group's block, so the int8 result is
            the per-group one. Costs (G - 1) / G of the filter in zeros (and as many MACs).
    split   a Slice of each group's input channels, one ConvTranspose per group, one Concat
            (past 64 groups, passes.split_wide_concats makes it a tree). Costs one
            SLICE and one TRANSPOSE_CONV per group: their records and tensors in the file.
    depthwise  group == channels (any multiplier), the same stride on both axes: zeros inserted
            between the input pixels (RESHAPE, PAD, RESHAPE), then a DEPTHWISE_CONV_2D with the
            flipped kernel (below). Costs the filter only, but the zero-inserted input in RAM
            (s * s times the input) and s * s times the MACs.
  The estimate counts weights and records (GROUP_RECORD_BYTES, DEPTHWISE_RECORD_BYTES,
  measured); a few small groups stay one block, many channels go depthwise, few large groups
  are split.
Quantization needs nothing new: a Slice shares its input's parameters and a Concat its output's
with every input (onnx_rules quant "same" / "same_all"), so CONCATENATION copies bytes.

Runs after fold_affine and fuse_activations (passes.run_passes): a BatchNorm after the node has
folded into its weights and a ReLU into its clamp, which every group's node then carries.
"""

from __future__ import annotations

import numpy as np

from .conv_transpose import conv_transpose_geometry, dilate_kernel
from .fgraph import FloatGraph, Node

# File bytes one more group costs a split ConvTranspose beyond its weights: a SLICE and a
# TRANSPOSE_CONV record, their tensors' records and names, the bias / multiplier / shift
# tensors' headers, a CONCATENATION input. Measured 616 to 757 bytes per group on torch exports
# (tests/test_onnx_conv_transpose_ext.py::test_group_record_bytes_matches_the_file checks it).
# Splitting also keeps every group's output alive until the CONCATENATION (one more output's
# worth of arena), and the block form spends its zeros as MACs too: about even, so flash decides.
GROUP_RECORD_BYTES = 750
# File bytes the depthwise form costs beyond its filter: the RESHAPE, PAD and RESHAPE records and
# their tensors (measured 512 on a 16-channel model; the same test checks it).
DEPTHWISE_RECORD_BYTES = 550


def group_form(cin: int, cout: int, k: int, group: int, depthwise: bool) -> str:
    """ "block", "split" or "depthwise" (k: taps of the dilated kernel): the form of a grouped
    ConvTranspose that takes the least flash, int8 weights one byte each (ties: fewer ops)."""
    sizes = {
        "block": cin * cout * k,
        "depthwise": cout * k + DEPTHWISE_RECORD_BYTES if depthwise else None,
        "split": cin * cout * k // group + GROUP_RECORD_BYTES * group,
    }
    return min((v, form) for form, v in sizes.items() if v is not None)[1]


def expand_conv_transposes(graph: FloatGraph) -> None:
    """Rewrite every grouped or dilated ConvTranspose with constant weights (and bias)."""
    out: list[Node] = []
    fresh = graph.namer()  # graph.fresh sees only graph.nodes, rebuilt at the end

    def const(base: str, value: np.ndarray) -> str:
        name = fresh(base)
        graph.consts[name] = np.ascontiguousarray(value)
        return name

    for node in graph.nodes:
        new = _expand(graph, node, fresh, const) if node.op == "ConvTranspose" else None
        out.extend(new if new is not None else [node])
    graph.nodes = out


def _expand(graph: FloatGraph, node: Node, fresh, const) -> list[Node] | None:
    a = node.attrs
    group = int(a.get("group", 1))
    dil = tuple(int(v) for v in a.get("dilations", (1, 1)))
    w = graph.const(node.inputs[1])
    has_bias = len(node.inputs) > 2 and bool(node.inputs[2])
    b = graph.const(node.inputs[2]) if has_bias else None
    if (group == 1 and dil == (1, 1)) or w is None or w.ndim != 4 or (has_bias and b is None):
        return None  # nothing to do, or the lowering names what is not constant
    attrs = {k: v for k, v in a.items() if k not in ("group", "dilations", "kernel_shape")}
    w0, w = w.astype(np.float32), dilate_kernel(w.astype(np.float32), dil)
    cin, m, kh, kw = w.shape
    x, y = node.inputs[0], node.outputs[0]
    if group == 1:
        return [
            Node(
                "ConvTranspose",
                [x, const(f"{node.name}/dilated", w), *node.inputs[2:]],
                [y],
                attrs,
                node.name,
            )
        ]
    cg = cin // group
    depthwise = _depthwise_plan(graph, node, w0) if cg == 1 else None
    form = group_form(cin, m * group, kh * kw, group, depthwise is not None)
    if form == "depthwise":
        return _as_depthwise(graph, node, w0, depthwise, fresh, const)
    if form == "block":
        full = np.zeros((cin, m * group, kh, kw), np.float32)
        for g in range(group):
            full[g * cg : (g + 1) * cg, g * m : (g + 1) * m] = w[g * cg : (g + 1) * cg]
        ins = [x, const(f"{node.name}/block_diagonal", full), *node.inputs[2:]]
        return [Node("ConvTranspose", ins, [y], attrs, node.name)]
    n, _, oh, ow = graph.shapes[y]
    nodes, parts = [], []
    axes = const(f"{node.name}/axis", np.array([1], np.int64))
    for g in range(group):
        xg, yg = fresh(f"{x}/group{g}"), fresh(f"{y}/group{g}")
        graph.shapes[xg] = (graph.shapes[x][0], cg, *graph.shapes[x][2:])
        graph.shapes[yg] = (n, m, oh, ow)
        starts = const(f"{node.name}/group{g}/starts", np.array([g * cg], np.int64))
        ends = const(f"{node.name}/group{g}/ends", np.array([(g + 1) * cg], np.int64))
        nodes.append(Node("Slice", [x, starts, ends, axes], [xg], {}, f"{node.name}/slice{g}"))
        ins = [xg, const(f"{node.name}/group{g}/weights", w[g * cg : (g + 1) * cg])]
        if b is not None:
            ins.append(const(f"{node.name}/group{g}/bias", b[g * m : (g + 1) * m].astype(np.float32)))
        nodes.append(Node("ConvTranspose", ins, [yg], dict(attrs), f"{node.name}/group{g}"))
        parts.append(yg)
    # more than one CONCATENATION takes: passes.split_wide_concats makes a tree of them
    nodes.append(Node("Concat", parts, [y], {"axis": 1}, f"{node.name}/concat"))
    return nodes


# *** depthwise-style ConvTranspose as a DEPTHWISE_CONV_2D ***
#
# A transposed convolution of stride s scatters input pixel i to outputs i * s - pad + f; the
# same sums come from inserting s - 1 zeros after every input pixel and correlating with the
# flipped kernel, padded by keff - 1 - pad before. Group == channels makes that correlation a
# depthwise Conv. The zeros, on the channels-last bytes picoq stores: [N, H, W, C] viewed as
# [N, H, 1, W, 1, C], padded after the two unit axes to [N, H, s, W, s, C], which is
# [N, H * s, W * s, C] with each pixel at (h * s, w * s) (the Transposes to and from NHWC cost
# nothing on a tensor stored NHWC). In int8 the zeros are the input's zero point (PAD fills
# it), which DEPTHWISE_CONV_2D's (x + input_offset) makes 0, so its int32 sums are
# TRANSPOSE_CONV's: the same bytes (the block / split forms').


def _depthwise_plan(graph: FloatGraph, node: Node, w0: np.ndarray) -> tuple | None:
    """(stride, begin pads, end pads) of the depthwise Conv, or None when this node has no such
    form: strides that differ by axis, or padding the correlation cannot take (a pad beyond
    keff - 1, or a kernel shorter than the stride)."""
    x, y = node.inputs[0], node.outputs[0]
    if x not in graph.shapes or y not in graph.shapes or len(graph.shapes[x]) != 4:
        return None
    h_w = graph.shapes[x][2:]
    try:
        strides, begins, outs = conv_transpose_geometry(node, h_w, w0.shape[2:])
    except ValueError:
        return None
    if strides[0] != strides[1] or tuple(outs) != tuple(graph.shapes[y][2:]):
        return None
    dil = tuple(int(v) for v in node.attrs.get("dilations", (1, 1)))
    s = strides[0]
    pb, pe = [], []
    for i in range(2):
        keff = (w0.shape[2 + i] - 1) * dil[i] + 1
        pb.append(keff - 1 - begins[i])
        pe.append(outs[i] - 1 + keff - h_w[i] * s - pb[-1])  # the input after zeros: h * s long
    if min(pb + pe) < 0:
        return None
    return s, pb, pe


def _as_depthwise(graph: FloatGraph, node: Node, w0: np.ndarray, plan, fresh, const) -> list[Node]:
    s, pb, pe = plan
    x, y = node.inputs[0], node.outputs[0]
    n, c, h, wd = graph.shapes[x]
    mult, kh, kw = w0.shape[1:]
    nodes = []
    if s > 1:
        nhwc, split, wide, zeros4, zeros = (
            fresh(f"{x}/{k}") for k in ("nhwc", "pixels", "with_zeros", "zero_inserted_nhwc", "zero_inserted")
        )
        graph.shapes[nhwc] = (n, h, wd, c)
        graph.shapes[split] = (n, h, 1, wd, 1, c)
        graph.shapes[wide] = (n, h, s, wd, s, c)
        graph.shapes[zeros4] = (n, h * s, wd * s, c)
        graph.shapes[zeros] = (n, c, h * s, wd * s)
        shape6 = const(f"{node.name}/pixels_shape", np.array([n, h, 1, wd, 1, c], np.int64))
        pads = const(
            f"{node.name}/zeros_after", np.array([0, 0, 0, 0, 0, 0, 0, 0, s - 1, 0, s - 1, 0], np.int64)
        )
        shape4 = const(f"{node.name}/zero_inserted_shape", np.array([n, h * s, wd * s, c], np.int64))
        nodes += [
            Node("Transpose", [x], [nhwc], {"perm": [0, 2, 3, 1]}, f"{node.name}/nhwc"),
            Node("Reshape", [nhwc, shape6], [split], {}, f"{node.name}/pixels"),
            Node("Pad", [split, pads], [wide], {"mode": "constant"}, f"{node.name}/zeros"),
            Node("Reshape", [wide, shape4], [zeros4], {}, f"{node.name}/insert_zeros"),
            Node("Transpose", [zeros4], [zeros], {"perm": [0, 3, 1, 2]}, f"{node.name}/nchw"),
        ]
        x = zeros
    # output channel c * mult + j reads input channel c in both ops: ONNX Conv's [C * mult, 1, kh, kw]
    filt = w0[:, :, ::-1, ::-1].reshape(c * mult, 1, kh, kw)
    attrs = {
        "group": c,
        "dilations": [int(v) for v in node.attrs.get("dilations", (1, 1))],
        "pads": [pb[0], pb[1], pe[0], pe[1]],
    }
    if "clamp" in node.attrs:
        attrs["clamp"] = node.attrs["clamp"]
    ins = [x, const(f"{node.name}/flipped", np.ascontiguousarray(filt)), *node.inputs[2:]]
    return [*nodes, Node("Conv", ins, [y], attrs, node.name)]
