"""`picoq export-c`'s NAME_model.h and NAME_model.c: the invoke function, one emitter per op.

Each op becomes a call of its reference kernel with every parameter a `static const` struct
or a literal and every activation at its planned offset in the caller's arena, the same
arguments the interpreter core's pq_<name>_s8_eval entries pass (runtime/kernels/src/ref).
An op with a Cortex-M DSP-extension kernel (pq_kernels_dsp.h) calls that one under
`#if PQ_DSP` instead; CONV_2D's then also gets its scratch, after the activations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from picoq.runtime.format import DTYPE_CODE, MAX_DIMS, OPS, ModelFile, OpInfo

from .c_text import _banner, _c_float, _c_int, _comment_text, _layer_name, _quant_text, _shape
from .plan import slice_run_offset

# Each op's reference kernel, from the registry (runtime/kernels/include/pq_ops.def).
KERNEL_FUNCTIONS = {spec.name: spec.kernel for spec in OPS.values()}
# dsp4: the int4-weight (s4) variants with a direct call (and a Cortex-M DSP kernel).
S4_DIRECT = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


# dsp16: the 16x8 ops with a Cortex-M DSP kernel (_Emitter._s16_*).
_S16_DSP_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD")
# dsppool16: the 16x8 pools, each with a Cortex-M DSP kernel (_Emitter._s16_pool).
_S16_POOL_DSP_OPS = ("AVERAGE_POOL_2D", "MAX_POOL_2D")

# *** the Cortex-M DSP-extension kernels' scratch (runtime/kernels/include/pq_kernels_dsp.h) ***


def conv_uses_dsp(op: OpInfo) -> bool:
    """Whether a CONV_2D runs pq_conv2d_s8_dsp on a DSP core: its im2col pads with the input
    zero point as an int8, so the input offset must be minus one (every quantizer's case).
    A 16x8 CONV_2D (input offset 0) always runs pq_conv2d_s16_dsp (dsp16)."""
    return op.name == "CONV_2D" and -127 <= int(op.params["input_offset"]) <= 128


def conv_dsp_scratch(m: ModelFile, op: OpInfo) -> int:
    """PQ_CONV2D_S8_DSP_SCRATCH: two int16 im2col columns, rounded up to 4 values each
    (PQ_CONV2D_S4_DSP_SCRATCH for int4 weights: to 8 values, a filter word's nibbles; a
    16x8 conv's, PQ_CONV2D_S16_DSP_SCRATCH: then 16 bytes per output channel)."""
    out_c, f_h, f_w, f_c = m.tensors[op.inputs[1]].shape
    if op.variant == "s4":  # dsp4
        return 4 * ((f_h * f_w * f_c + 7) & ~7)
    columns = 4 * ((f_h * f_w * f_c + 3) & ~3)
    return columns + 16 * out_c if op.variant == "s16" else columns  # dsp16


def dsp_scratch_offset(m: ModelFile) -> int:
    """The DSP kernels' scratch sits after the activations, 8-byte aligned (LDRD)."""
    return (m.activation_bytes + 7) & ~7


def dsp_arena_bytes(m: ModelFile) -> int:
    """The arena on a DSP core: the activations, then the largest conv scratch (op-lifetime,
    so all convs share it). Just the activations when no conv runs a DSP kernel."""
    scratch = max((conv_dsp_scratch(m, op) for op in m.ops if conv_uses_dsp(op)), default=0)
    return dsp_scratch_offset(m) + scratch if scratch else m.activation_bytes


def _io_defines(m: ModelFile, prefix: str, kind: str, idxs: list[int]) -> list[str]:
    """Element type, size in bytes, arena offset, scale and zero point of each graph input or
    output."""
    lines = [f"#define {prefix}_NUM_{kind}S {len(idxs)}", f"#define {prefix}_{kind}_TYPE {io_ctype(m, idxs)}"]
    for k, idx in enumerate(idxs):
        t = m.tensors[idx]
        p = f"{prefix}_{kind}" if len(idxs) == 1 else f"{prefix}_{kind}{k}"
        lines += [
            "",
            f"/* {kind.lower()} {_comment_text(repr(t.name), 60)}: {t.dtype} {_shape(t.shape)}, {_quant_text(t)}. */",
            f"#define {p}_SIZE {t.nbytes} /* bytes */",
            f"#define {p}_ARENA_OFFSET {t.offset}",
        ]
        if t.scales.size == 1:
            lines += [
                f"#define {p}_SCALE {_c_float(float(t.scales[0]))}",
                f"#define {p}_ZERO_POINT {int(t.zero_points[0])}",
            ]
    return lines


def _arena_defines(m: ModelFile, prefix: str) -> list[str]:
    """NAME_ARENA_SIZE, for the kernel set the compiler will pick."""
    act, dsp = m.activation_bytes, dsp_arena_bytes(m)
    if dsp == act:
        return [f"#define {prefix}_ARENA_SIZE {act}"]
    return [
        '#include "pq_kernels_dsp.h" /* PQ_DSP: 1 on a core with the DSP extension */',
        "#if PQ_DSP",
        f"#define {prefix}_ARENA_SIZE {dsp} /* {act} of activations, then {dsp - dsp_scratch_offset(m)} of scratch */",
        "#else",
        f"#define {prefix}_ARENA_SIZE {act}",
        "#endif",
    ]


def _signature(m: ModelFile, name: str) -> str:
    """One pointer per input and output, or an array of pointers when there are several."""
    ti, to = io_ctype(m, m.inputs), io_ctype(m, m.outputs)
    inp = f"const {ti} *input" if len(m.inputs) == 1 else f"const {ti} *const *inputs"
    out = f"{to} *output" if len(m.outputs) == 1 else f"{to} *const *outputs"
    return f"int {name}_invoke({inp}, {out}, uint8_t *arena)"


def io_ctype(m: ModelFile, idxs: list[int]) -> str:
    """The C type of the graph inputs (or outputs): int8_t, or int16_t for a 16x8 model
    (export_c.check_supported refuses a mix)."""
    return "int16_t" if m.tensors[idxs[0]].dtype == "int16" else "int8_t"


def render_model_h(m: ModelFile, name: str) -> str:
    prefix = name.upper()
    guard = f"{prefix}_MODEL_H"
    lines = [
        _banner(m, f"Model {name}: sizes, quantization of inputs and outputs, {name}_invoke()."),
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        "#include <stdint.h>",
        "",
        "#ifdef __cplusplus",
        'extern "C" {',
        "#endif",
        "",
        f"/* Memory {name}_invoke() works in: the caller owns it (static, stack or a shared",
        " * buffer) and keeps nothing in it between calls. It holds the activations and, on a",
        " * core with the DSP extension (pq_kernels_dsp.h), the scratch of the DSP kernels. */",
        *_arena_defines(m, prefix),
        f"#define {prefix}_ARENA_ALIGN 16",
        "",
        "/* real value = (q - ZERO_POINT) * SCALE; the SCALE macros are float literals for the",
        " * application's own use: nothing in the model code uses float. An input may be",
        " * written in place at arena + ARENA_OFFSET (then pass that pointer as the input). */",
    ]
    lines += _io_defines(m, prefix, "INPUT", m.inputs)
    lines.append("")
    lines += _io_defines(m, prefix, "OUTPUT", m.outputs)
    lines += [
        "",
        f"/* Copy the input(s) into `arena` ({prefix}_ARENA_SIZE bytes), run every op, copy the",
        " * output(s) out. Returns 0 on success, -1 for a NULL pointer, 1 + the op index if a",
        " * kernel refused its parameters (cannot happen for an exported model). */",
        _signature(m, name) + ";",
        "",
        "#ifdef __cplusplus",
        "}",
        "#endif",
        "",
        f"#endif /* {guard} */",
        "",
    ]
    return "\n".join(lines)


# *** the invoke function: one emitter per op, passing what its pq_<name>_s8_eval entry passes ***


@dataclass
class _OpCode:
    """C for one op: file-scope `static const` declarations and the statements in invoke()."""

    decls: list[str]
    body: list[str]


def _dims(symbol: str, shape: tuple[int, ...]) -> str:
    n, h, w, c = shape
    return f"static const pq_dims {symbol} = {{{n}, {h}, {w}, {c}}};"


def _params(op: OpInfo, symbol: str) -> list[str]:
    """The op's parameter struct (the registry's type) from its params, as designated
    initializers: robust to field order, readable in a diff. The struct is the file's param
    block, so each value keeps its name; PAD's, TRANSPOSE's and SLICE's lists are arrays there."""
    spec, p = OPS[op.opcode], op.params
    if spec.params_type == "pq_pad_params":
        pairs = (f"{{{_c_int(p[f'before_{d}'])}, {_c_int(p[f'after_{d}'])}}}" for d in range(MAX_DIMS))
        inits = {"pad_value": _c_int(p["pad_value"]), "pads": "{" + ", ".join(pairs) + "}"}
    elif len({k.rsplit("_", 1)[0] for k in spec.param_names}) == 1 and len(spec.param_names) == MAX_DIMS:
        # one value per dim (TRANSPOSE's perm_d, SLICE's begin_d): an array in the struct
        base = spec.param_names[0].rsplit("_", 1)[0]
        inits = {base: "{" + ", ".join(_c_int(p[f"{base}_{d}"]) for d in range(MAX_DIMS)) + "}"}
    else:
        inits = {k: _c_int(int(p[k])) for k in spec.param_names}
    lines = [f"    .{k} = {v}," for k, v in inits.items()]
    return [f"static const {spec.params_type} {symbol}_params = {{", *lines, "};"]


def _wrap_call(opening: str, args: list[str], width: int = 100) -> list[str]:
    """`opening` + comma-separated args + ');', wrapped under the opening parenthesis."""
    indent = " " * len(opening)
    lines, line = [], opening
    for k, arg in enumerate(args):
        piece = arg + (");" if k == len(args) - 1 else ",")
        if line not in (opening, indent) and len(line) + 1 + len(piece) > width:
            lines.append(line.rstrip())
            line = indent
        line += piece if line in (opening, indent) else " " + piece
    return [*lines, line]


class _Emitter:
    """Turns each op into C, with the model's tensors resolved to C expressions."""

    def __init__(self, m: ModelFile, name: str, const_symbols: dict[int, str]):
        self.m, self.name, self.const_symbols = m, name, const_symbols
        self.uses_dsp = False  # set by _call when an op has a DSP-extension kernel

    def ptr(self, idx: int, ctype: str = "int8_t", writable: bool = False) -> str:
        """A tensor as a C pointer: NULL (absent), its constant array, or arena + offset."""
        if idx < 0:
            return "NULL"
        t = self.m.tensors[idx]
        if t.is_const:
            return self.const_symbols[idx]
        qual = "" if writable else "const "
        return f"({qual}{ctype} *)(arena + {t.offset})"

    def emit(self, op: OpInfo) -> _OpCode:
        """The op's own emitter (literal arguments: the smallest code) where it has one, else
        the generic call of its interpreter entry, which every op of the registry has."""
        if op.name == "SLICE" and self._slice_aliased(op):
            y = self.m.tensors[op.outputs[0]]
            head = f"    /* op {op.index}: SLICE {_layer_name(y.name)} -> {_shape(y.shape)}"
            return _OpCode([], [head + ": a run of its input's arena bytes, nothing to move */"])
        # the dedicated emitters call int8 kernels: other dtype variants go through their _eval
        own = getattr(self, "_" + op.name.lower(), None) if op.variant == "s8" else None
        if op.variant == "s4" and op.name in S4_DIRECT:  # dsp4: int4 weights, direct calls
            own = self._s4
        if op.variant == "s16" and op.name in _S16_DSP_OPS:  # dsp16: literal calls, DSP kernels
            own = getattr(self, "_s16_" + op.name.lower())
        if op.variant == "s16" and op.name in _S16_POOL_DSP_OPS:  # dsppool16: literal calls, DSP kernels
            own = self._s16_pool
        handler: Callable[[OpInfo, str], _OpCode] = own or self.via_eval
        return handler(op, f"{self.name}_op{op.index}")

    def _slice_aliased(self, op: OpInfo) -> bool:
        """Whether the plan put a SLICE's output on its box's own bytes (a contiguous run of the
        input: converter/plan.py), so the copy would move nothing."""
        x, y = (self.m.tensors[i] for i in (op.inputs[0], op.outputs[0]))
        run = slice_run_offset(x, y, op.params)
        return run is not None and x.offset + run == y.offset

    def _tensor_init(self, idx: int) -> str:
        """A pq_tensor initializer for tensor `idx` (absent: a NULL one)."""
        if idx < 0:
            return "{.data = NULL}"
        t = self.m.tensors[idx]
        data = f"(void *){self.const_symbols[idx]}" if t.is_const else f"(void *)(arena + {t.offset})"
        code = DTYPE_CODE[t.dtype]  # the file's dtype code
        dims = ", ".join(str(d) for d in t.shape)
        return f"{{.data = {data}, .count = {t.size}, .dtype = {code}, .rank = {len(t.shape)}, .is_const = {int(t.is_const)}, .dims = {{{dims}}}}}"

    def via_eval(self, op: OpInfo, sym: str) -> _OpCode:
        """Any op through pq_<name>_<variant>_eval, the entry the interpreter core calls: a constant
        node (parameters and tensor list) and the op's tensors built on the stack, so an op
        needs nothing in export-c to be exported (a dedicated emitter only makes it smaller)."""
        spec = OPS[op.opcode]
        idx = [*op.inputs, *op.outputs]
        io = ", ".join(str(k) if i >= 0 else "-1" for k, i in enumerate(idx))
        decls = _params(op, sym) if spec.param_names else []
        decls.append(f"static const int32_t {sym}_io[{len(idx)}] = {{{io}}};")
        params = f"&{sym}_params" if spec.param_names else "NULL"
        tensors = ["        " + self._tensor_init(i) + "," for i in idx]
        node = f".params = {params}, .io = {sym}_io, .opcode = {op.opcode}, .n_inputs = {len(op.inputs)}"
        head, *call = self._call(op, op.kernel + "_eval", ["&node", "t"])
        body = [head, "    {", f"        const pq_tensor t[{len(idx)}] = {{", *tensors, "        };"]
        body += [f"        const pq_node node = {{{node}}};", *("    " + line for line in call), "    }"]
        return _OpCode(decls, body)

    def _call(
        self, op: OpInfo, func: str, args: list[str], dsp: tuple[str, list[str]] | None = None
    ) -> list[str]:
        """The kernel call between the op's profiling hooks, then its status check. With
        `dsp` (function, arguments), the Cortex-M DSP-extension kernel under `#if PQ_DSP`
        and the portable one otherwise (pq_kernels_dsp.h picks at compile time)."""
        out = self.m.tensors[op.outputs[0]]
        head = f"    /* op {op.index}: {op.name} {_layer_name(out.name)} -> {_shape(out.shape)} */"
        call = _wrap_call(f"    st = {func}(", args)
        if dsp is not None:
            self.uses_dsp = True
            call = ["#if PQ_DSP", *_wrap_call(f"    st = {dsp[0]}(", dsp[1]), "#else", *call, "#endif"]
        body = [head, f"    PQ_OP_BEGIN({op.index});", *call, f"    PQ_OP_END({op.index});"]
        return [*body, "    if (st != PQ_OK) {", f"        return {op.index + 1};", "    }"]

    def _conv(self, op: OpInfo, sym: str) -> _OpCode:
        x, f, b, mult, shift = op.inputs
        y = op.outputs[0]
        decls = _params(op, sym)
        decls += [
            _dims(f"{sym}_in_dims", self.m.tensors[x].shape),
            _dims(f"{sym}_filter_dims", self.m.tensors[f].shape),
            _dims(f"{sym}_out_dims", self.m.tensors[y].shape),
        ]
        func = OPS[op.opcode].kernel
        args = [f"&{sym}_params", self.ptr(mult, "int32_t"), self.ptr(shift, "int32_t")]
        args += [f"&{sym}_in_dims", self.ptr(x), f"&{sym}_filter_dims", self.ptr(f)]
        args += [self.ptr(b, "int32_t"), f"&{sym}_out_dims", self.ptr(y, writable=True)]
        dsp = None
        if conv_uses_dsp(op):
            # The scratch is op-lifetime: every conv uses the same bytes after the activations.
            dsp_args = [*args, f"arena + {dsp_scratch_offset(self.m)}", str(conv_dsp_scratch(self.m, op))]
            dsp = (func + "_dsp", dsp_args)
        elif op.name == "DEPTHWISE_CONV_2D" and int(op.params["depth_multiplier"]) == 1:
            dsp = (func + "_dsp", args)
        return _OpCode(decls, self._call(op, func, args, dsp))

    def _conv_2d(self, op: OpInfo, sym: str) -> _OpCode:
        return self._conv(op, sym)

    def _depthwise_conv_2d(self, op: OpInfo, sym: str) -> _OpCode:
        return self._conv(op, sym)

    def _fully_connected(self, op: OpInfo, sym: str) -> _OpCode:
        x, f, b, mult, shift = op.inputs
        out_depth, accum = self.m.tensors[f].shape
        batches = self.m.tensors[x].size // accum  # any input rank: rows of `accum` values
        decls = _params(op, sym)
        args = [f"&{sym}_params", self.ptr(mult, "int32_t"), self.ptr(shift, "int32_t")]
        args += [str(batches), str(accum), str(out_depth), self.ptr(x), self.ptr(f)]
        args += [self.ptr(b, "int32_t"), self.ptr(op.outputs[0], writable=True)]
        func = OPS[op.opcode].kernel
        dsp = (func + "_dsp", args) if int(op.params["filter_offset"]) == 0 else None
        return _OpCode(decls, self._call(op, func, args, dsp))

    # *** dsp4: int4-weight CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED (the s4 variants) ***

    def _s4(self, op: OpInfo, sym: str) -> _OpCode:
        """The s4 kernel called directly, as the int8 ones are (pq_kernels.h: the packed
        filter as uint8_t, int8 shifts), and its Cortex-M DSP twin under `#if PQ_DSP` on the
        int8 kernels' conditions, CONV_2D's with its scratch after the activations."""
        x, f, b, mult, shift = op.inputs
        y = op.outputs[0]
        decls = _params(op, sym)
        args = [f"&{sym}_params", self.ptr(mult, "int32_t"), self.ptr(shift, "int8_t")]
        if op.name == "FULLY_CONNECTED":
            out_depth, accum = self.m.tensors[f].shape
            batches = self.m.tensors[x].size // accum  # any input rank: rows of `accum` values
            args += [str(batches), str(accum), str(out_depth), self.ptr(x), self.ptr(f, "uint8_t")]
        else:
            decls += [
                _dims(f"{sym}_in_dims", self.m.tensors[x].shape),
                _dims(f"{sym}_filter_dims", self.m.tensors[f].shape),
                _dims(f"{sym}_out_dims", self.m.tensors[y].shape),
            ]
            args += [f"&{sym}_in_dims", self.ptr(x), f"&{sym}_filter_dims", self.ptr(f, "uint8_t")]
        args += [self.ptr(b, "int32_t")]
        if op.name != "FULLY_CONNECTED":
            args.append(f"&{sym}_out_dims")
        args.append(self.ptr(y, writable=True))
        dsp = None
        if conv_uses_dsp(op):
            dsp_args = [*args, f"arena + {dsp_scratch_offset(self.m)}", str(conv_dsp_scratch(self.m, op))]
            dsp = (op.kernel + "_dsp", dsp_args)
        elif op.name == "DEPTHWISE_CONV_2D" and int(op.params["depth_multiplier"]) == 1:
            dsp = (op.kernel + "_dsp", args)
        elif op.name == "FULLY_CONNECTED" and int(op.params["filter_offset"]) == 0:
            dsp = (op.kernel + "_dsp", args)
        return _OpCode(decls, self._call(op, op.kernel, args, dsp))

    # *** end dsp4 ***
    # *** dsp16: the 16x8 CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED (pq_kernels_dsp.h) ***
    # Their portable kernel called with literal arguments (as the int8 emitters do), and the
    # Cortex-M DSP kernel under `#if PQ_DSP`; the 16x8 CONV_2D's bias is int32 or int64.

    def _s16_conv(self, op: OpInfo, sym: str) -> _OpCode:
        x, f, b, mult, shift = op.inputs
        y = op.outputs[0]
        decls = _params(op, sym)
        decls += [
            _dims(f"{sym}_in_dims", self.m.tensors[x].shape),
            _dims(f"{sym}_filter_dims", self.m.tensors[f].shape),
            _dims(f"{sym}_out_dims", self.m.tensors[y].shape),
        ]
        args = [f"&{sym}_params", self.ptr(mult, "int32_t"), self.ptr(shift, "int32_t")]
        args += [f"&{sym}_in_dims", self.ptr(x, "int16_t"), f"&{sym}_filter_dims", self.ptr(f)]
        if op.name == "CONV_2D":  # pq_conv2d_s16 takes the bias as int32 or as int64
            narrow = b >= 0 and self.m.tensors[b].dtype == "int32"
            args += [
                self.ptr(b, "int32_t") if narrow else "NULL",
                "NULL" if narrow else self.ptr(b, "int64_t"),
            ]
        else:
            args.append(self.ptr(b, "int64_t"))
        args += [f"&{sym}_out_dims", self.ptr(y, "int16_t", writable=True)]
        dsp_args = args
        if op.name == "CONV_2D":  # the scratch: op-lifetime, after the activations (dsp_arena_bytes)
            dsp_args = [*args, f"arena + {dsp_scratch_offset(self.m)}", str(conv_dsp_scratch(self.m, op))]
        return _OpCode(decls, self._call(op, op.kernel, args, (op.kernel + "_dsp", dsp_args)))

    def _s16_conv_2d(self, op: OpInfo, sym: str) -> _OpCode:
        return self._s16_conv(op, sym)

    def _s16_depthwise_conv_2d(self, op: OpInfo, sym: str) -> _OpCode:
        return self._s16_conv(op, sym)

    def _s16_fully_connected(self, op: OpInfo, sym: str) -> _OpCode:
        x, f, b, mult, shift = op.inputs
        out_depth, accum = self.m.tensors[f].shape
        batches = self.m.tensors[x].size // accum
        decls = _params(op, sym)
        args = [f"&{sym}_params", self.ptr(mult, "int32_t"), self.ptr(shift, "int32_t")]
        args += [str(batches), str(accum), str(out_depth), self.ptr(x, "int16_t"), self.ptr(f)]
        args += [self.ptr(b, "int64_t"), self.ptr(op.outputs[0], "int16_t", writable=True)]
        # pq_fully_connected_s16_dsp takes symmetric weights only (pq_kernels_dsp.h)
        dsp = (op.kernel + "_dsp", args) if int(op.params["filter_offset"]) == 0 else None
        return _OpCode(decls, self._call(op, op.kernel, args, dsp))

    def _s16_add(self, op: OpInfo, sym: str) -> _OpCode:
        """pq_add_s16 with equal-rank shapes (as _broadcast); pq_add_s16_dsp for equal shapes."""
        a, b = (self.m.tensors[i] for i in op.inputs)
        y = self.m.tensors[op.outputs[0]]
        rank = len(y.shape)
        shapes = {
            "shape1": (1,) * (rank - len(a.shape)) + tuple(a.shape),
            "shape2": (1,) * (rank - len(b.shape)) + tuple(b.shape),
            "shape_out": tuple(y.shape),
        }
        decls = _params(op, sym)
        shape_decls = [self._shape_array(f"{sym}_{key}", shape) for key, shape in shapes.items()]
        x1, x2 = self.ptr(op.inputs[0], "int16_t"), self.ptr(op.inputs[1], "int16_t")
        out = self.ptr(op.outputs[0], "int16_t", writable=True)
        args = [
            f"&{sym}_params",
            str(rank),
            f"{sym}_shape1",
            x1,
            f"{sym}_shape2",
            x2,
            f"{sym}_shape_out",
            out,
        ]
        dsp = None
        if a.size == b.size == y.size:  # no broadcast: one flat loop
            dsp = (op.kernel + "_dsp", [f"&{sym}_params", str(y.size), x1, x2, out])
            shape_decls = ["#if !PQ_DSP /* only the portable kernel takes shapes */", *shape_decls, "#endif"]
        return _OpCode(decls + shape_decls, self._call(op, op.kernel, args, dsp))

    # *** end dsp16 ***
    # *** dsppool16: the 16x8 AVERAGE_POOL_2D and MAX_POOL_2D (pq_kernels_dsp.h) ***

    def _s16_pool(self, op: OpInfo, sym: str) -> _OpCode:
        """pq_{avg,max}_pool2d_s16 with literal arguments (as _pool), and its Cortex-M DSP twin,
        which takes the same arguments, under `#if PQ_DSP`."""
        x, y = op.inputs[0], op.outputs[0]
        decls = _params(op, sym)
        decls += [_dims(f"{sym}_in_dims", self.m.tensors[x].shape)]
        decls += [_dims(f"{sym}_out_dims", self.m.tensors[y].shape)]
        args = [f"&{sym}_params", f"&{sym}_in_dims", self.ptr(x, "int16_t"), f"&{sym}_out_dims"]
        args.append(self.ptr(y, "int16_t", writable=True))
        return _OpCode(decls, self._call(op, op.kernel, args, (op.kernel + "_dsp", args)))

    # *** end dsppool16 ***

    def _shape_array(self, symbol: str, shape: Iterable[int]) -> str:
        dims = [int(d) for d in shape]
        return f"static const int32_t {symbol}[{len(dims)}] = {{{', '.join(map(str, dims))}}};"

    def _broadcast(self, op: OpInfo, sym: str) -> _OpCode:
        """ADD and MUL: params struct, then equal-rank shapes as their eval entries make them."""
        a, b = (self.m.tensors[i] for i in op.inputs)
        y = self.m.tensors[op.outputs[0]]
        rank = len(y.shape)
        # Right-aligned, equal-rank shapes (pq_broadcast_shapes): a missing leading dim is 1.
        shapes = {
            "shape1": (1,) * (rank - len(a.shape)) + tuple(a.shape),
            "shape2": (1,) * (rank - len(b.shape)) + tuple(b.shape),
            "shape_out": tuple(y.shape),
        }
        decls = _params(op, sym)
        shape_decls = [self._shape_array(f"{sym}_{key}", shape) for key, shape in shapes.items()]
        args = [f"&{sym}_params", str(rank), f"{sym}_shape1", self.ptr(op.inputs[0])]
        args += [f"{sym}_shape2", self.ptr(op.inputs[1]), f"{sym}_shape_out"]
        args.append(self.ptr(op.outputs[0], writable=True))
        dsp = None
        if op.name == "ADD" and a.size == b.size == y.size:  # no broadcast: one flat loop
            dsp_args = [f"&{sym}_params", str(y.size), self.ptr(op.inputs[0]), self.ptr(op.inputs[1])]
            dsp = ("pq_add_s8_dsp", [*dsp_args, self.ptr(op.outputs[0], writable=True)])
            shape_decls = ["#if !PQ_DSP /* only the portable kernel takes shapes */", *shape_decls, "#endif"]
        return _OpCode(decls + shape_decls, self._call(op, OPS[op.opcode].kernel, args, dsp))

    def _add(self, op: OpInfo, sym: str) -> _OpCode:
        return self._broadcast(op, sym)

    def _mul(self, op: OpInfo, sym: str) -> _OpCode:
        return self._broadcast(op, sym)

    def _pool(self, op: OpInfo, sym: str) -> _OpCode:
        x, y = op.inputs[0], op.outputs[0]
        decls = _params(op, sym)
        decls += [_dims(f"{sym}_in_dims", self.m.tensors[x].shape)]
        decls += [_dims(f"{sym}_out_dims", self.m.tensors[y].shape)]
        args = [f"&{sym}_params", f"&{sym}_in_dims", self.ptr(x), f"&{sym}_out_dims"]
        args.append(self.ptr(y, writable=True))
        # Both pools have a DSP-extension kernel with the portable one's arguments.
        func = OPS[op.opcode].kernel
        return _OpCode(decls, self._call(op, func, args, dsp=(func + "_dsp", args)))

    def _average_pool_2d(self, op: OpInfo, sym: str) -> _OpCode:
        return self._pool(op, sym)

    def _max_pool_2d(self, op: OpInfo, sym: str) -> _OpCode:
        return self._pool(op, sym)

    def _mean(self, op: OpInfo, sym: str) -> _OpCode:
        p, x = op.params, self.m.tensors[op.inputs[0]]
        decls = _params(op, sym)
        decls.append(self._shape_array(f"{sym}_in_shape", x.shape))
        args = [f"&{sym}_params", str(len(x.shape)), f"{sym}_in_shape", str(int(p["axis_mask"]))]
        args += [self.ptr(op.inputs[0]), self.ptr(op.outputs[0], writable=True)]
        return _OpCode(decls, self._call(op, OPS[op.opcode].kernel, args))

    def _concatenation(self, op: OpInfo, sym: str) -> _OpCode:
        """The input pointers go in a local array: arena pointers are only known in invoke()."""
        *data, table = op.inputs
        axis = int(op.params["axis"])
        y = self.m.tensors[op.outputs[0]]
        outer = int(np.prod(y.shape[:axis], dtype=np.int64))
        inner = int(np.prod(y.shape[axis + 1 :], dtype=np.int64))
        decls = [self._shape_array(f"{sym}_axis_sizes", [self.m.tensors[i].shape[axis] for i in data])]
        parts = _wrap_call(
            f"        const int8_t *const parts[{len(data)}] = {{", [self.ptr(i) for i in data]
        )
        parts[-1] = parts[-1][: -len(");")] + "};"
        args = [str(len(data)), "parts", f"{sym}_axis_sizes", self.ptr(table, "int32_t")]
        args += [_c_int(int(op.params["output_offset"])), str(outer), str(inner)]
        args.append(self.ptr(op.outputs[0], writable=True))
        head, *rest = self._call(op, OPS[op.opcode].kernel, args)
        call = ["    " + line for line in rest[:-3]]
        return _OpCode(decls, [head, "    {", *parts, *call, "    }", *rest[-3:]])

    def _pad(self, op: OpInfo, sym: str) -> _OpCode:
        x = self.m.tensors[op.inputs[0]]
        decls = [*_params(op, sym), self._shape_array(f"{sym}_in_shape", x.shape)]
        args = [f"&{sym}_params", str(len(x.shape)), f"{sym}_in_shape", self.ptr(op.inputs[0])]
        args.append(self.ptr(op.outputs[0], writable=True))
        return _OpCode(decls, self._call(op, OPS[op.opcode].kernel, args))

    def _elementwise(self, op: OpInfo, sym: str) -> _OpCode:
        x = self.m.tensors[op.inputs[0]]
        decls = _params(op, sym)
        args = [f"&{sym}_params", str(x.size), self.ptr(op.inputs[0]), self.ptr(op.outputs[0], writable=True)]
        return _OpCode(decls, self._call(op, OPS[op.opcode].kernel, args))

    def _logistic(self, op: OpInfo, sym: str) -> _OpCode:
        return self._elementwise(op, sym)

    def _tanh(self, op: OpInfo, sym: str) -> _OpCode:
        return self._elementwise(op, sym)

    def _hard_swish(self, op: OpInfo, sym: str) -> _OpCode:
        return self._elementwise(op, sym)

    def _leaky_relu(self, op: OpInfo, sym: str) -> _OpCode:
        return self._elementwise(op, sym)

    def _lookup_table(self, op: OpInfo, sym: str) -> _OpCode:
        del sym  # no parameters: the table is a constant array
        x = self.m.tensors[op.inputs[0]]
        args = [
            self.ptr(op.inputs[1]),
            str(x.size),
            self.ptr(op.inputs[0]),
            self.ptr(op.outputs[0], writable=True),
        ]
        return _OpCode([], self._call(op, OPS[op.opcode].kernel, args))

    def _transpose(self, op: OpInfo, sym: str) -> _OpCode:
        x = self.m.tensors[op.inputs[0]]
        rank = len(x.shape)
        decls = [*_params(op, sym), self._shape_array(f"{sym}_in_shape", x.shape)]
        args = [str(rank), f"{sym}_in_shape", f"{sym}_params.perm", self.ptr(op.inputs[0])]
        args.append(self.ptr(op.outputs[0], writable=True))
        return _OpCode(decls, self._call(op, OPS[op.opcode].kernel, args))

    def _softmax(self, op: OpInfo, sym: str) -> _OpCode:
        x = self.m.tensors[op.inputs[0]]
        depth = x.shape[-1]
        decls = _params(op, sym)
        args = [f"&{sym}_params", str(x.size // depth), str(depth), self.ptr(op.inputs[0])]
        args.append(self.ptr(op.outputs[0], writable=True))
        return _OpCode(decls, self._call(op, OPS[op.opcode].kernel, args))

    def _reshape(self, op: OpInfo, sym: str) -> _OpCode:
        del sym  # RESHAPE has no parameters
        x, y = (self.m.tensors[i] for i in (op.inputs[0], op.outputs[0]))
        head = f"    /* op {op.index}: RESHAPE {_layer_name(y.name)} -> {_shape(y.shape)}"
        if x.offset == y.offset:  # the planner's usual case: same bytes, nothing to do
            return _OpCode([], [head + ": shares its input's arena bytes */"])
        args = [str(x.nbytes), self.ptr(op.inputs[0]), self.ptr(op.outputs[0], writable=True)]
        return _OpCode([], self._call(op, OPS[op.opcode].kernel, args))


def _invoke_body(m: ModelFile, name: str, ops: list[_OpCode]) -> list[str]:
    """NULL checks, copy inputs in, the op calls, copy outputs out."""
    prefix = name.upper()
    ins = ["input"] if len(m.inputs) == 1 else [f"inputs[{k}]" for k in range(len(m.inputs))]
    outs = ["output"] if len(m.outputs) == 1 else [f"outputs[{k}]" for k in range(len(m.outputs))]
    in_macros = [f"{prefix}_INPUT" + ("" if len(ins) == 1 else str(k)) for k in range(len(ins))]
    out_macros = [f"{prefix}_OUTPUT" + ("" if len(outs) == 1 else str(k)) for k in range(len(outs))]
    lines = [_signature(m, name), "{"]
    if any("st = " in line for op in ops for line in op.body):
        lines.append("    pq_status st;")
    null_checks = ["arena == NULL"]
    null_checks += [f"{v} == NULL" for v in (["inputs"] if len(ins) > 1 else []) + ins]
    null_checks += [f"{v} == NULL" for v in (["outputs"] if len(outs) > 1 else []) + outs]
    lines += [f"    if ({' || '.join(null_checks)}) {{", "        return -1;", "    }"]
    # memmove, not memcpy: the caller may pass arena + INPUT_ARENA_OFFSET itself.
    for v, mac in zip(ins, in_macros):
        lines.append(f"    memmove(arena + {mac}_ARENA_OFFSET, {v}, {mac}_SIZE);")
    for op in ops:
        lines += op.body
    for v, mac in zip(outs, out_macros):
        lines.append(f"    memmove({v}, arena + {mac}_ARENA_OFFSET, {mac}_SIZE);")
    lines += ["    return 0;", "}", ""]
    return lines


def render_model_c(m: ModelFile, name: str, const_symbols: dict[int, str]) -> str:
    emitter = _Emitter(m, name, const_symbols)
    ops = [emitter.emit(op) for op in m.ops]
    lines = [
        _banner(m, f"Model {name}: {len(m.ops)} ops over a {m.activation_bytes}-byte arena."),
        "#include <stddef.h>",
        "#include <stdint.h>",
        "#include <string.h>",
        "",
        '#include "pq_kernels.h"',
        *(['#include "pq_kernels_dsp.h"'] if emitter.uses_dsp else []),
        *(['#include "pq_op.h"'] if any("_eval(" in line for op in ops for line in op.body) else []),
        f'#include "{name}_model.h"',
        f'#include "{name}_model_data.h"',
        "",
        "/* Profiling hooks around each op, e.g. reading a cycle counter: define them before",
        " * this file is compiled (-include a header that does); by default they vanish. */",
        "#ifndef PQ_OP_BEGIN",
        "#define PQ_OP_BEGIN(index)",
        "#endif",
        "#ifndef PQ_OP_END",
        "#define PQ_OP_END(index)",
        "#endif",
        "",
        "/* Kernel parameters, fixed at export time (static const: they live in flash). */",
    ]
    for op in ops:
        lines += op.decls
    lines.append("")
    lines += _invoke_body(m, name, ops)
    return "\n".join(lines)
