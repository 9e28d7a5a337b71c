"""Import a fully quantized int8 .tflite model into a picoq Graph.

tflite_reader.py reads the flatbuffer; tflite_ops.py builds one picoq op per TFLite
operator (BUILDERS). Scales and zero points are kept exactly as the file has them.

Float-interface models (a QUANTIZE after the float input, a DEQUANTIZE before
the float output, as TF's converter writes by default) are accepted: those
boundary ops are dropped and `Interpreter.run` does the same (de)quantization
in numpy at the API boundary.
"""

from __future__ import annotations

from .graph import ConversionError, Graph
from .tflite_ops import BUILDERS, import_op
from .tflite_reader import TfliteReader

SUPPORTED = tuple(BUILDERS)


def load_tflite(source: str | bytes) -> Graph:
    """Read an int8 .tflite (path or bytes) into a Graph; raises ConversionError listing every problem."""
    if isinstance(source, bytes | bytearray | memoryview):
        buf = bytes(source)
    else:
        with open(source, "rb") as f:
            buf = f.read()
    r = TfliteReader(buf)
    sg = r.sg
    n_ops = sg.OperatorsLength()
    op_names = [r.op_name(k) for k in range(n_ops)]

    # Boundary QUANTIZE (float in) / DEQUANTIZE (float out): drop them, keep the int8 side.
    graph_in = [int(v) for v in sg.InputsAsNumpy()] if sg.InputsLength() else []
    graph_out = [int(v) for v in sg.OutputsAsNumpy()] if sg.OutputsLength() else []
    skip: set[int] = set()
    for k in range(n_ops):
        ins, outs = r.op_io(k)
        if not ins or not outs:
            continue  # import_op reports it, unless the op is unsupported anyway
        if (
            op_names[k] == "QUANTIZE"
            and ins[0] in graph_in
            and r.ttype(ins[0]) == 0
            and r.ttype(outs[0]) == 9
        ):
            graph_in[graph_in.index(ins[0])] = int(outs[0])
            skip.add(k)
        elif op_names[k] == "DEQUANTIZE" and outs[0] in graph_out and r.ttype(ins[0]) == 9:
            graph_out[graph_out.index(outs[0])] = int(ins[0])
            skip.add(k)

    unsupported = sorted(
        {
            f"{name} (op {k}, output {r.tname(r.op_io(k)[1][0]) if r.op_io(k)[1] else '?'!r})"
            for k, name in enumerate(op_names)
            if k not in skip and name not in SUPPORTED
        }
    )
    if unsupported:
        raise ConversionError(
            [f"unsupported operator {u}" for u in unsupported],
            hint=f"picoq imports int8 .tflite models built from: {', '.join(SUPPORTED)}.",
        )

    for i in graph_in:
        if r.graph.tensors[r.activation(i, "graph input")].is_const:
            r.problems.append(f"graph input {r.tname(i)!r} is a constant")
    for k in range(n_ops):
        if k in skip:
            continue
        import_op(r, k, op_names[k])
    for i in graph_out:
        if i not in r.tmap:
            r.problems.append(f"graph output {r.tname(i)!r} is not produced by any supported op")
    if r.problems:
        raise ConversionError(r.problems, hint="picoq needs a fully int8-quantized model (TFLite int8 spec).")

    g = r.graph
    g.inputs = [r.tmap[i] for i in graph_in]
    g.outputs = [r.tmap[i] for i in graph_out]
    desc = r.model.Description()
    g.name = desc.decode("utf-8", "replace") if desc else "model"
    return g
