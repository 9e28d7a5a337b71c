"""`picoq export-c`: write a .picoq model as a self-contained C99 folder for firmware.

The folder holds, for a model exported with name NAME:

- NAME_model_data.c/.h: every constant tensor (int8 weights, int32 biases, per-channel
  multipliers and shifts) as an aligned `const` array, so it lands in flash;
- NAME_model.c/.h: `NAME_invoke()`, which calls the kernels in the same order and with
  the same arguments as runtime/_interp.pyx binds them, every parameter a `static const`
  struct or a literal, every activation at its planned offset in the caller's arena;
- the kernel sources the model uses, copied from picoq.runtime.kernels_dir(), so the
  firmware compiles exactly the C the Python interpreter was tested with;
- CMakeLists.txt: the folder's .c files as a static library NAME_model, for firmware that
  builds with CMake (`add_subdirectory(NAME_fw)`, then link NAME_model).

Nothing in the generated code allocates, calls libc beyond memmove (<string.h>) or
touches float (the scale macros in NAME_model.h are for the application only).
Output is deterministic: the same .picoq and name always give the same bytes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from picoq.runtime import kernels_dir, read_model
from picoq.runtime.format import HEADER, ModelFile, OpInfo, TensorInfo

from .writer import write_atomic

# C99 keywords plus names a firmware already owns: a model called `int` or `main`
# would not compile, one called `pq` would collide with the kernels' namespace.
_C_RESERVED = frozenset(
    "auto break case char const continue default do double else enum extern float for goto if "
    "inline int long register restrict return short signed sizeof static struct switch typedef "
    "union unsigned void volatile while _Bool _Complex _Imaginary main pq".split()
)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# Each op code's kernel function (RESHAPE has none: it is a no-op or a memmove).
KERNEL_FUNCTIONS = {
    "CONV_2D": "pq_conv2d_s8",
    "DEPTHWISE_CONV_2D": "pq_depthwise_conv2d_s8",
    "FULLY_CONNECTED": "pq_fully_connected_s8",
    "ADD": "pq_add_s8",
    "AVERAGE_POOL_2D": "pq_avg_pool2d_s8",
    "SOFTMAX": "pq_softmax_s8",
    "RESHAPE": None,
    "MAX_POOL_2D": "pq_max_pool2d_s8",
    "MUL": "pq_mul_s8",
    "MEAN": "pq_mean_s8",
    "CONCATENATION": "pq_concatenation_s8",
    "PAD": "pq_pad_s8",
    "LOGISTIC": "pq_logistic_s8",
    "TANH": "pq_tanh_s8",
    "HARD_SWISH": "pq_hard_swish_s8",
    "LEAKY_RELU": "pq_leaky_relu_s8",
    "TRANSPOSE": "pq_transpose_s8",
}
# Names of each op's inputs, used to name the constant arrays (NAME_op3_filter, ...).
_INPUT_ROLES = {
    "CONV_2D": ("input", "filter", "bias", "mult", "shift"),
    "DEPTHWISE_CONV_2D": ("input", "filter", "bias", "mult", "shift"),
    "FULLY_CONNECTED": ("input", "filter", "bias", "mult", "shift"),
    "ADD": ("input1", "input2"),
    "MUL": ("input1", "input2"),
}
KERNEL_WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
_C_TYPES = {"int8": "int8_t", "int32": "int32_t"}
_VALUES_PER_LINE = {"int8": 24, "int32": 10}


@dataclass(frozen=True)
class ConstArray:
    """One exported constant: its C symbol, element type, values and one-line comment."""

    symbol: str
    ctype: str
    values: np.ndarray
    comment: str


# *** checks ***


def check_name(name: str) -> str:
    """The prefix of every file, symbol and macro: must be a C identifier we can own."""
    if not _IDENT.match(name or ""):
        raise ValueError(f"--name {name!r} is not a C identifier (letters, digits, _; no leading digit)")
    if name.lower() in _C_RESERVED:
        raise ValueError(f"--name {name!r} is reserved in C or by picoq; pick another (e.g. 'kws')")
    if name.startswith("__") or re.match(r"_[A-Z]", name):
        raise ValueError(f"--name {name!r}: identifiers starting with __ or _X are reserved in C")
    if name.lower().startswith("pq_"):
        raise ValueError(f"--name {name!r}: the pq_ prefix belongs to the kernels")
    return name


def check_supported(m: ModelFile) -> None:
    """Refuse what the generated signature or the kernel set cannot express, naming all of it."""
    problems = [f"op {op.index} {op.name} has no C kernel" for op in m.ops if op.name not in KERNEL_FUNCTIONS]
    for kind, idxs in (("input", m.inputs), ("output", m.outputs)):
        for i in idxs:
            t = m.tensors[i]
            if t.dtype != "int8":
                problems.append(f"graph {kind} {t.name!r} is {t.dtype}; export-c handles int8 inputs/outputs")
    if problems:
        raise ValueError("cannot export to C: " + "; ".join(problems))


# *** small formatting helpers ***


def _comment_text(text: str, limit: int = 72) -> str:
    """A string safe inside a C comment under -Wall -Werror: printable ASCII, no comment
    delimiters (-Wcomment), no '??' (C99 trigraphs, -Wtrigraphs), at most `limit` chars."""
    text = "".join(c if " " <= c <= "~" else "_" for c in text)
    text = text.replace("*/", "*_/").replace("/*", "/_*").replace("??", "?_")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _layer_name(name: str) -> str:
    """TFLite fuses names with ';' (Relu;BatchNorm;Conv2D...): the first part names the layer."""
    return _comment_text(name.split(";")[0], 60)


def _shape(shape: Iterable[int]) -> str:
    return "[" + ",".join(str(int(d)) for d in shape) + "]"


def _c_int(v: int) -> str:
    """An int32 literal; INT32_MIN cannot be written as -2147483648 in C."""
    return "INT32_MIN" if v == -(2**31) else str(v)


def _c_float(v: float) -> str:
    """A float32 literal that reads back to the same float32 (9 significant digits)."""
    text = f"{float(np.float32(v)):.9g}"
    if "." not in text and "e" not in text:
        text += ".0"
    return text + "f"


def _quant_text(t: TensorInfo) -> str:
    if t.scales.size == 1:
        return f"scale {float(t.scales[0]):.6g}, zero point {int(t.zero_points[0])}"
    if t.scales.size > 1:
        lo, hi = float(t.scales.min()), float(t.scales.max())
        return f"per-channel scales (axis {t.quant_axis}, {t.scales.size}) in [{lo:.3g}, {hi:.3g}]"
    return "no scale"


# *** constants ***


def _input_roles(op: OpInfo) -> tuple[str, ...]:
    """Role names of an op's inputs; CONCATENATION is variadic, its last input the requant table."""
    if op.name == "CONCATENATION":
        return (*(f"input{k}" for k in range(len(op.inputs) - 1)), "requant")
    return _INPUT_ROLES.get(op.name, ("input",))


def _role_comment(m: ModelFile, op: OpInfo, role: str, t: TensorInfo) -> str:
    """What a constant is, for the one-line comment: layer, role, type, shape, scale."""
    # Weighted ops are best named by their filter (TFLite: ".../conv2d_3/Conv2D"), others by output.
    named_by = op.inputs[1] if op.name in KERNEL_WEIGHTED else op.outputs[0]
    layer = _layer_name(m.tensors[named_by].name)
    what = {
        "filter": _quant_text(t),
        "bias": "scale = input scale x filter scale",
        "mult": "requantization multipliers, Q31",
        "shift": "requantization shifts, positive = left",
        "requant": "per input (multiplier, shift, input_offset)",
    }.get(role, _quant_text(t))
    return f"op {op.index} {op.name} {layer}: {role} {t.dtype} {_shape(t.shape)}, {what}"


def collect_constants(m: ModelFile, name: str) -> tuple[list[ConstArray], dict[int, str]]:
    """One C array per distinct constant blob, named after its first use (NAME_op<i>_<role>).

    Returns the arrays in first-use order and tensor index -> symbol. Tensors whose data
    is the same bytes of the file share one array, so flash holds each blob once.
    """
    arrays: list[ConstArray] = []
    symbol_of: dict[int, str] = {}
    by_blob: dict[tuple[int, int, str], str] = {}
    for op in m.ops:
        roles = _input_roles(op)
        for k, idx in enumerate(op.inputs):
            if idx < 0 or idx in symbol_of or not m.tensors[idx].is_const:
                continue
            t = m.tensors[idx]
            key = (t.offset, t.nbytes, t.dtype)
            if key not in by_blob:
                by_blob[key] = f"{name}_op{op.index}_{roles[k]}"
                values = m.const_array(t).reshape(-1)
                comment = _role_comment(m, op, roles[k], t)
                arrays.append(ConstArray(by_blob[key], _C_TYPES[t.dtype], values, comment))
            symbol_of[idx] = by_blob[key]
    return arrays, symbol_of


def _format_values(values: np.ndarray, ctype: str) -> list[str]:
    """Initializer lines, a fixed number of values per line (keeps diffs and editors sane)."""
    per_line = _VALUES_PER_LINE["int8" if ctype == "int8_t" else "int32"]
    items = [_c_int(int(v)) for v in values.tolist()]
    return ["    " + ", ".join(items[i : i + per_line]) + "," for i in range(0, len(items), per_line)]


# *** files ***


def _banner(m: ModelFile, what: str) -> str:
    crc = HEADER.unpack_from(m.buf, 0)[3]
    source = _comment_text(m.name or "unnamed", 60)
    return (
        f"/* {what}\n"
        f" * Generated by `picoq export-c` from the .picoq model {source!r} (CRC-32 {crc:#010x}).\n"
        " * Do not edit: re-export instead. */\n"
    )


def render_data_h(m: ModelFile, name: str, arrays: list[ConstArray]) -> str:
    guard = f"{name.upper()}_MODEL_DATA_H"
    macro = f"{name.upper()}_ALIGNED"
    lines = [
        _banner(m, f"Constant tensors of model {name}: weights, biases, requantization parameters."),
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        "#include <stdint.h>",
        "",
        "/* 16-byte alignment for every constant, in whatever spelling the compiler knows:",
        " * kernels only need each array's natural alignment, 16 leaves room for SIMD loads. */",
        "#if defined(__GNUC__) || defined(__clang__) || defined(__CC_ARM)",
        f"#define {macro} __attribute__((aligned(16)))",
        "#elif defined(_MSC_VER)",
        f"#define {macro} __declspec(align(16))",
        "#elif defined(__ICCARM__)",
        f'#define {macro} _Pragma("data_alignment=16")',
        "#else",
        f"#define {macro}",
        "#endif",
        "",
    ]
    lines += [f"extern const {a.ctype} {a.symbol}[{a.values.size}];" for a in arrays]
    lines += ["", f"#endif /* {guard} */", ""]
    return "\n".join(lines)


def render_data_c(m: ModelFile, name: str, arrays: list[ConstArray]) -> str:
    total = sum(a.values.nbytes for a in arrays)
    lines = [
        _banner(m, f"Constant tensors of model {name}: {len(arrays)} arrays, {total} bytes, all in flash."),
        "#include <stdint.h>",
        "",
        f'#include "{name}_model_data.h"',
    ]
    for a in arrays:
        lines += ["", f"/* {a.comment} */"]
        lines.append(f"{name.upper()}_ALIGNED const {a.ctype} {a.symbol}[{a.values.size}] = {{")
        lines += _format_values(a.values, a.ctype)
        lines.append("};")
    lines.append("")
    return "\n".join(lines)


def render_cmake(name: str, sources: Iterable[str]) -> str:
    """A static library `NAME_model` of the folder's .c files; the includer's toolchain
    and flags build it (Zephyr, ESP-IDF, the Pico SDK and plain CMake alike)."""
    target = f"{name}_model"
    lines = [
        f"# Model {name} as a static library, generated by `picoq export-c`. Do not edit: re-export instead.",
        "# In the firmware's CMakeLists.txt:",
        f"#   add_subdirectory({name}_fw)",
        f"#   target_link_libraries(app PRIVATE {target})",
        "# C99, no compile definitions; -ffunction-sections lets --gc-sections drop unused kernels.",
        "cmake_minimum_required(VERSION 3.13)",
        f"project({target} LANGUAGES C)",
        "",
        f"add_library({target} STATIC",
        *[f"    {src}" for src in sorted(sources)],
        ")",
        f"target_include_directories({target} PUBLIC ${{CMAKE_CURRENT_LIST_DIR}})",
        f"set_target_properties({target} PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)",
        'if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")',
        f"    target_compile_options({target} PRIVATE -ffunction-sections -fdata-sections)",
        "endif()",
        "",
    ]
    return "\n".join(lines)


def _io_defines(m: ModelFile, prefix: str, kind: str, idxs: list[int]) -> list[str]:
    """Size, arena offset, scale and zero point of each graph input or output."""
    lines = [f"#define {prefix}_NUM_{kind}S {len(idxs)}"]
    for k, idx in enumerate(idxs):
        t = m.tensors[idx]
        p = f"{prefix}_{kind}" if len(idxs) == 1 else f"{prefix}_{kind}{k}"
        lines += [
            "",
            f"/* {kind.lower()} {_comment_text(repr(t.name), 60)}: int8 {_shape(t.shape)}, {_quant_text(t)}. */",
            f"#define {p}_SIZE {t.nbytes}",
            f"#define {p}_ARENA_OFFSET {t.offset}",
        ]
        if t.scales.size == 1:
            lines += [
                f"#define {p}_SCALE {_c_float(float(t.scales[0]))}",
                f"#define {p}_ZERO_POINT {int(t.zero_points[0])}",
            ]
    return lines


def _signature(m: ModelFile, name: str) -> str:
    """One pointer per input and output, or an array of pointers when there are several."""
    inp = "const int8_t *input" if len(m.inputs) == 1 else "const int8_t *const *inputs"
    out = "int8_t *output" if len(m.outputs) == 1 else "int8_t *const *outputs"
    return f"int {name}_invoke({inp}, {out}, uint8_t *arena)"


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
        f"/* Activation memory {name}_invoke() works in: the caller owns it (static, stack or",
        " * a shared buffer) and keeps nothing in it between calls. The reference kernels",
        " * need no scratch: this is the activations' extent, which is less than the .picoq",
        " * file's arena_size when that also holds the Linux runtime's fast-kernel scratch. */",
        f"#define {prefix}_ARENA_SIZE {m.activation_bytes}",
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


# *** the invoke function: one emitter per op, mirroring Core._bind / Core._run ***


@dataclass
class _OpCode:
    """C for one op: file-scope `static const` declarations and the statements in invoke()."""

    decls: list[str]
    body: list[str]


def _dims(symbol: str, shape: tuple[int, ...]) -> str:
    n, h, w, c = shape
    return f"static const pq_dims {symbol} = {{{n}, {h}, {w}, {c}}};"


def _struct(ctype: str, symbol: str, fields: dict[str, int]) -> list[str]:
    """A designated-initializer struct: robust to field order, readable in a diff."""
    inits = [f"    .{k} = {_c_int(int(v))}," for k, v in fields.items()]
    return [f"static const {ctype} {symbol} = {{", *inits, "};"]


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
        handler: Callable[[OpInfo, str], _OpCode] = getattr(self, "_" + op.name.lower())
        return handler(op, f"{self.name}_op{op.index}")

    def _call(self, op: OpInfo, func: str, args: list[str]) -> list[str]:
        out = self.m.tensors[op.outputs[0]]
        head = f"    /* op {op.index}: {op.name} {_layer_name(out.name)} -> {_shape(out.shape)} */"
        call = _wrap_call(f"    st = {func}(", args)
        return [head, *call, "    if (st != PQ_OK) {", f"        return {op.index + 1};", "    }"]

    def _conv(self, op: OpInfo, sym: str, depthwise: bool) -> _OpCode:
        p = op.params
        x, f, b, mult, shift = op.inputs
        fields = {k: p[k] for k in ("stride_h", "stride_w", "dilation_h", "dilation_w", "pad_h", "pad_w")}
        fields |= {k: p[k] for k in ("input_offset", "output_offset", "act_min", "act_max")}
        fields["depth_multiplier"] = p.get("depth_multiplier", 1)  # _interp.pyx: 1 for CONV_2D
        y = op.outputs[0]
        decls = _struct("pq_conv_params", f"{sym}_params", fields)
        decls += [
            _dims(f"{sym}_in_dims", self.m.tensors[x].shape),
            _dims(f"{sym}_filter_dims", self.m.tensors[f].shape),
            _dims(f"{sym}_out_dims", self.m.tensors[y].shape),
        ]
        func = KERNEL_FUNCTIONS["DEPTHWISE_CONV_2D" if depthwise else "CONV_2D"]
        args = [f"&{sym}_params", self.ptr(mult, "int32_t"), self.ptr(shift, "int32_t")]
        args += [f"&{sym}_in_dims", self.ptr(x), f"&{sym}_filter_dims", self.ptr(f)]
        args += [self.ptr(b, "int32_t"), f"&{sym}_out_dims", self.ptr(y, writable=True)]
        return _OpCode(decls, self._call(op, func, args))

    def _conv_2d(self, op: OpInfo, sym: str) -> _OpCode:
        return self._conv(op, sym, depthwise=False)

    def _depthwise_conv_2d(self, op: OpInfo, sym: str) -> _OpCode:
        return self._conv(op, sym, depthwise=True)

    def _fully_connected(self, op: OpInfo, sym: str) -> _OpCode:
        p = op.params
        x, f, b, mult, shift = op.inputs
        out_depth, accum = self.m.tensors[f].shape
        batches = self.m.tensors[x].size // accum  # any input rank: rows of `accum` values
        keys = ("input_offset", "filter_offset", "output_offset", "act_min", "act_max", "per_channel")
        decls = _struct("pq_fc_params", f"{sym}_params", {k: p[k] for k in keys})
        args = [f"&{sym}_params", self.ptr(mult, "int32_t"), self.ptr(shift, "int32_t")]
        args += [str(batches), str(accum), str(out_depth), self.ptr(x), self.ptr(f)]
        args += [self.ptr(b, "int32_t"), self.ptr(op.outputs[0], writable=True)]
        return _OpCode(decls, self._call(op, KERNEL_FUNCTIONS["FULLY_CONNECTED"], args))

    def _shape_array(self, symbol: str, shape: Iterable[int]) -> str:
        dims = [int(d) for d in shape]
        return f"static const int32_t {symbol}[{len(dims)}] = {{{', '.join(map(str, dims))}}};"

    def _broadcast(self, op: OpInfo, sym: str, ctype: str) -> _OpCode:
        """ADD and MUL: params struct, then equal-rank shapes as in _interp.pyx."""
        a, b = (self.m.tensors[i] for i in op.inputs)
        y = self.m.tensors[op.outputs[0]]
        rank = len(y.shape)
        # Same right-aligned, equal-rank shapes as _interp.pyx: a missing leading dim is 1.
        shapes = {
            "shape1": (1,) * (rank - len(a.shape)) + tuple(a.shape),
            "shape2": (1,) * (rank - len(b.shape)) + tuple(b.shape),
            "shape_out": tuple(y.shape),
        }
        decls = _struct(ctype, f"{sym}_params", dict(op.params))
        decls += [self._shape_array(f"{sym}_{key}", shape) for key, shape in shapes.items()]
        args = [f"&{sym}_params", str(rank), f"{sym}_shape1", self.ptr(op.inputs[0])]
        args += [f"{sym}_shape2", self.ptr(op.inputs[1]), f"{sym}_shape_out"]
        args.append(self.ptr(op.outputs[0], writable=True))
        return _OpCode(decls, self._call(op, KERNEL_FUNCTIONS[op.name], args))

    def _add(self, op: OpInfo, sym: str) -> _OpCode:
        return self._broadcast(op, sym, "pq_add_params")

    def _mul(self, op: OpInfo, sym: str) -> _OpCode:
        return self._broadcast(op, sym, "pq_mul_params")

    def _pool(self, op: OpInfo, sym: str) -> _OpCode:
        x, y = op.inputs[0], op.outputs[0]
        decls = _struct("pq_pool_params", f"{sym}_params", dict(op.params))
        decls += [_dims(f"{sym}_in_dims", self.m.tensors[x].shape)]
        decls += [_dims(f"{sym}_out_dims", self.m.tensors[y].shape)]
        args = [f"&{sym}_params", f"&{sym}_in_dims", self.ptr(x), f"&{sym}_out_dims"]
        args.append(self.ptr(y, writable=True))
        return _OpCode(decls, self._call(op, KERNEL_FUNCTIONS[op.name], args))

    def _average_pool_2d(self, op: OpInfo, sym: str) -> _OpCode:
        return self._pool(op, sym)

    def _max_pool_2d(self, op: OpInfo, sym: str) -> _OpCode:
        return self._pool(op, sym)

    def _mean(self, op: OpInfo, sym: str) -> _OpCode:
        p, x = op.params, self.m.tensors[op.inputs[0]]
        keys = ("input_offset", "output_offset", "multiplier", "shift")
        decls = _struct("pq_mean_params", f"{sym}_params", {k: p[k] for k in keys})
        decls.append(self._shape_array(f"{sym}_in_shape", x.shape))
        args = [f"&{sym}_params", str(len(x.shape)), f"{sym}_in_shape", str(int(p["axis_mask"]))]
        args += [self.ptr(op.inputs[0]), self.ptr(op.outputs[0], writable=True)]
        return _OpCode(decls, self._call(op, KERNEL_FUNCTIONS["MEAN"], args))

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
        head, *rest = self._call(op, KERNEL_FUNCTIONS["CONCATENATION"], args)
        call = ["    " + line for line in rest[:-3]]
        return _OpCode(decls, [head, "    {", *parts, *call, "    }", *rest[-3:]])

    def _pad(self, op: OpInfo, sym: str) -> _OpCode:
        p, x = op.params, self.m.tensors[op.inputs[0]]
        pads = ", ".join(
            f"{{{_c_int(int(p[f'before_{k}']))}, {_c_int(int(p[f'after_{k}']))}}}" for k in range(6)
        )
        decls = [
            f"static const pq_pad_params {sym}_params = {{",
            f"    .pad_value = {_c_int(int(p['pad_value']))},",
            f"    .pads = {{{pads}}},",
            "};",
            self._shape_array(f"{sym}_in_shape", x.shape),
        ]
        args = [f"&{sym}_params", str(len(x.shape)), f"{sym}_in_shape", self.ptr(op.inputs[0])]
        args.append(self.ptr(op.outputs[0], writable=True))
        return _OpCode(decls, self._call(op, KERNEL_FUNCTIONS["PAD"], args))

    def _elementwise(self, op: OpInfo, sym: str, ctype: str) -> _OpCode:
        x = self.m.tensors[op.inputs[0]]
        decls = _struct(ctype, f"{sym}_params", dict(op.params))
        args = [f"&{sym}_params", str(x.size), self.ptr(op.inputs[0]), self.ptr(op.outputs[0], writable=True)]
        return _OpCode(decls, self._call(op, KERNEL_FUNCTIONS[op.name], args))

    def _logistic(self, op: OpInfo, sym: str) -> _OpCode:
        return self._elementwise(op, sym, "pq_logistic_params")

    def _tanh(self, op: OpInfo, sym: str) -> _OpCode:
        return self._elementwise(op, sym, "pq_logistic_params")  # same struct, as in _interp.pyx

    def _hard_swish(self, op: OpInfo, sym: str) -> _OpCode:
        return self._elementwise(op, sym, "pq_hard_swish_params")

    def _leaky_relu(self, op: OpInfo, sym: str) -> _OpCode:
        return self._elementwise(op, sym, "pq_leaky_relu_params")

    def _transpose(self, op: OpInfo, sym: str) -> _OpCode:
        x = self.m.tensors[op.inputs[0]]
        rank = len(x.shape)
        decls = [self._shape_array(f"{sym}_in_shape", x.shape)]
        decls.append(self._shape_array(f"{sym}_perm", [op.params[f"perm_{k}"] for k in range(rank)]))
        args = [str(rank), f"{sym}_in_shape", f"{sym}_perm", self.ptr(op.inputs[0])]
        args.append(self.ptr(op.outputs[0], writable=True))
        return _OpCode(decls, self._call(op, KERNEL_FUNCTIONS["TRANSPOSE"], args))

    def _softmax(self, op: OpInfo, sym: str) -> _OpCode:
        x = self.m.tensors[op.inputs[0]]
        depth = x.shape[-1]
        decls = _struct("pq_softmax_params", f"{sym}_params", dict(op.params))
        args = [f"&{sym}_params", str(x.size // depth), str(depth), self.ptr(op.inputs[0])]
        args.append(self.ptr(op.outputs[0], writable=True))
        return _OpCode(decls, self._call(op, KERNEL_FUNCTIONS["SOFTMAX"], args))

    def _reshape(self, op: OpInfo, sym: str) -> _OpCode:
        del sym  # RESHAPE has no parameters
        x, y = (self.m.tensors[i] for i in (op.inputs[0], op.outputs[0]))
        head = f"    /* op {op.index}: RESHAPE {_layer_name(y.name)} -> {_shape(y.shape)}"
        if x.offset == y.offset:  # the planner's usual case: same bytes, nothing to do
            return _OpCode([], [head + ": shares its input's arena bytes */"])
        copy = f"    memmove(arena + {y.offset}, arena + {x.offset}, {x.nbytes});"
        return _OpCode([], [head + " */", copy])


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
        f'#include "{name}_model.h"',
        f'#include "{name}_model_data.h"',
        "",
        "/* Kernel parameters, fixed at export time (static const: they live in flash). */",
    ]
    for op in ops:
        lines += op.decls
    lines.append("")
    lines += _invoke_body(m, name, ops)
    return "\n".join(lines)


# *** kernel sources ***

# A non-static function definition at the start of a line: `pq_status pq_conv2d_s8(...) {`
# (a prototype ends in ';' instead of '{').
_DEFINITION = re.compile(r"^(?![^\n(]*\bstatic\b)[A-Za-z_][\w \t*]*?\b(pq_\w+)\s*\([^;{}]*\)\s*\{", re.M)
_CALL = re.compile(r"\b(pq_\w+)\s*\(")
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


def kernel_sources(m: ModelFile, kdir: str | os.PathLike | None = None) -> list[Path]:
    """The kernel .c files the model needs: those defining its kernel functions, plus any
    other kernel file those call into (so a kernel split over files still links)."""
    src_dir = Path(kdir or kernels_dir()) / "src"
    defined_in: dict[str, Path] = {}
    texts: dict[Path, str] = {}
    for path in sorted(src_dir.rglob("*.c")):
        texts[path] = _COMMENT.sub(" ", path.read_text())
        for fn in _DEFINITION.findall(texts[path]):
            defined_in.setdefault(fn, path)
    wanted = sorted({KERNEL_FUNCTIONS[op.name] for op in m.ops} - {None})
    missing = [fn for fn in wanted if fn not in defined_in]
    if missing:
        raise ValueError(f"kernel sources in {src_dir} do not define {', '.join(missing)}")
    chosen: list[Path] = []
    todo = [defined_in[fn] for fn in wanted]
    while todo:
        path = todo.pop()
        if path in chosen:
            continue
        chosen.append(path)
        todo += [defined_in[fn] for fn in _CALL.findall(texts[path]) if fn in defined_in]
    return sorted(chosen)


_LOCAL_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def kernel_headers(sources: Iterable[Path], kdir: str | os.PathLike | None = None) -> list[Path]:
    """The kernel headers `sources` include, directly or through other headers (always
    pq_kernels.h, which the generated code includes); headers of kernels the model does
    not use (e.g. the x86 fast paths) stay behind."""
    inc_dir = Path(kdir or kernels_dir()) / "include"
    chosen: list[Path] = []
    todo = [inc_dir / "pq_kernels.h"]
    for src in sources:
        todo += [inc_dir / h for h in _LOCAL_INCLUDE.findall(src.read_text())]
    while todo:
        path = todo.pop()
        if path in chosen:
            continue
        if not path.is_file():
            raise ValueError(f"kernel header {path.name} is missing from {inc_dir}")
        chosen.append(path)
        todo += [inc_dir / h for h in _LOCAL_INCLUDE.findall(path.read_text())]
    return sorted(chosen)


# *** writing ***


def render(m: ModelFile, name: str) -> dict[str, bytes]:
    """Every file of the export, name -> contents (kernels copied byte for byte)."""
    check_name(name)
    check_supported(m)
    arrays, const_symbols = collect_constants(m, name)
    files = {
        f"{name}_model_data.h": render_data_h(m, name, arrays),
        f"{name}_model_data.c": render_data_c(m, name, arrays),
        f"{name}_model.h": render_model_h(m, name),
        f"{name}_model.c": render_model_c(m, name, const_symbols),
    }
    out = {k: v.encode("ascii") for k, v in files.items()}
    sources = kernel_sources(m)
    for path in [*kernel_headers(sources), *sources]:
        if path.name in out:
            raise ValueError(f"--name {name!r} makes a file name that clashes with kernel {path.name}")
        out[path.name] = path.read_bytes()
    out["CMakeLists.txt"] = render_cmake(name, [f for f in out if f.endswith(".c")]).encode("ascii")
    return out


def export_c(
    model: str | os.PathLike | bytes | ModelFile, out_dir: str | os.PathLike, name: str
) -> list[Path]:
    """Export a .picoq model (path, bytes or ModelFile) into `out_dir` (created if missing).

    Returns the written paths. Raises ValueError for a bad name or an unsupported model
    before anything is written.
    """
    if isinstance(model, ModelFile):
        m = model
    elif isinstance(model, bytes | bytearray | memoryview):
        m = read_model(bytes(model))
    else:
        with open(model, "rb") as f:
            m = read_model(f.read())
    files = render(m, name)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for fname, data in files.items():
        write_atomic(out / fname, data)  # temp file + rename: never a half-written file
        written.append(out / fname)
    return written
