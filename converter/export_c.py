"""`picoq export-c`: write a .picoq model as a self-contained C99 folder for firmware.

The folder holds, for a model exported with name NAME:

- NAME_model_data.c/.h: every constant tensor (int8 weights, int32 biases, per-channel
  multipliers and shifts) as an aligned `const` array, so it lands in flash;
- NAME_model.c/.h: `NAME_invoke()`, which calls the kernels in the same order and with
  the same arguments as the C core's pq_<name>_s8_eval entries pass them, every parameter
  a `static const` struct or a literal, every activation at its planned offset in the
  caller's arena;
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
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from picoq.runtime import kernels_dir, read_model
from picoq.runtime.format import ModelFile, OpInfo, TensorInfo

from .c_text import _banner, _c_int, _layer_name, _quant_text, _shape
from .export_c_invoke import KERNEL_FUNCTIONS, render_model_c, render_model_h
from .writer import write_atomic

# C99 keywords plus names a firmware already owns: a model called `int` or `main`
# would not compile, one called `pq` would collide with the kernels' namespace.
_C_RESERVED = frozenset(
    "auto break case char const continue default do double else enum extern float for goto if "
    "inline int long register restrict return short signed sizeof static struct switch typedef "
    "union unsigned void volatile while _Bool _Complex _Imaginary main pq".split()
)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


# Names of each op's inputs, used to name the constant arrays (NAME_op3_filter, ...).
_INPUT_ROLES = {
    "CONV_2D": ("input", "filter", "bias", "mult", "shift"),
    "DEPTHWISE_CONV_2D": ("input", "filter", "bias", "mult", "shift"),
    "FULLY_CONNECTED": ("input", "filter", "bias", "mult", "shift"),
    "ADD": ("input1", "input2"),
    "MUL": ("input1", "input2"),
    "LOOKUP_TABLE": ("input", "table"),
}
KERNEL_WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
_C_TYPES = {"int8": "int8_t", "int16": "int16_t", "int32": "int32_t"}  # int16: the 16x8 LUT tables
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


# *** constants ***


def _input_roles(op: OpInfo) -> tuple[str, ...]:
    """Role names of an op's inputs; CONCATENATION is variadic, its last input the requant table."""
    if op.name == "CONCATENATION":
        return (*(f"input{k}" for k in range(len(op.inputs) - 1)), "requant")
    roles = _INPUT_ROLES.get(op.name, ("input",))
    return (*roles, *(f"input{k}" for k in range(len(roles), len(op.inputs))))  # an op added later


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
        "table": f"y = table[x + 128], {_quant_text(t)} (the output's)",
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


# *** kernel sources ***

# A non-static function definition at the start of a line: `pq_status pq_conv2d_s8(...) {`
# (a prototype ends in ';' instead of '{').
_DEFINITION = re.compile(r"^(?![^\n(]*\bstatic\b)[A-Za-z_][\w \t*]*?\b(pq_\w+)\s*\([^;{}]*\)\s*\{", re.M)
_CALL = re.compile(r"\b(pq_\w+)\s*\(")
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


def kernel_sources(model_c: str, kdir: str | os.PathLike | None = None) -> list[Path]:
    """The kernel .c files the generated `model_c` needs: those defining the kernel functions
    it calls, plus any other kernel file those call into (so a kernel split over files still
    links)."""
    src_dir = Path(kdir or kernels_dir()) / "src"
    defined_in: dict[str, Path] = {}
    texts: dict[Path, str] = {}
    for path in sorted(src_dir.rglob("*.c")):
        texts[path] = _COMMENT.sub(" ", path.read_text())
        for fn in _DEFINITION.findall(texts[path]):
            defined_in.setdefault(fn, path)
    wanted = sorted(fn for fn in set(_CALL.findall(_COMMENT.sub(" ", model_c))) if fn.startswith("pq_"))
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


def kernel_headers(
    sources: Iterable[Path], kdir: str | os.PathLike | None = None, generated: Iterable[str] = ()
) -> list[Path]:
    """The kernel headers `sources` and the `generated` files' text include, directly or
    through other headers (always pq_kernels.h); headers of kernels the model does not use
    (e.g. the x86 fast paths) stay behind."""
    inc_dir = Path(kdir or kernels_dir()) / "include"
    chosen: list[Path] = []
    todo = [inc_dir / "pq_kernels.h"]
    for src in sources:
        todo += [inc_dir / h for h in _LOCAL_INCLUDE.findall(src.read_text())]
    for text in generated:  # the model's own headers are not kernel headers
        todo += [inc_dir / h for h in _LOCAL_INCLUDE.findall(text) if (inc_dir / h).is_file()]
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


def render(m: ModelFile, name: str) -> dict[str, bytes]:
    """Every file of the export, name -> contents (kernels copied byte for byte)."""
    check_name(name)
    check_supported(m)
    arrays, const_symbols = collect_constants(m, name)
    model_c = render_model_c(m, name, const_symbols)
    files = {
        f"{name}_model_data.h": render_data_h(m, name, arrays),
        f"{name}_model_data.c": render_data_c(m, name, arrays),
        f"{name}_model.h": render_model_h(m, name),
        f"{name}_model.c": model_c,
    }
    out = {k: v.encode("ascii") for k, v in files.items()}
    sources = kernel_sources(model_c)
    for path in [*kernel_headers(sources, generated=files.values()), *sources]:
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
