# The one .picoq validator, kernels/src/core/pq_model_validate.c (pq_model.h), and the op
# registry's table (pq_op.h), for runtime/format.py: read_model calls validate_model before
# it decodes a file, and builds format.OPS from op_table(). Included by _interp.pyx.

# pq_model_validate_ws, pq_model_error, pq_op_find and pq_op_info: _kernels.pxd.
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.mem cimport PyMem_Free, PyMem_Malloc

# The error codes runtime/format.py spells out (the rest it names from the field string).
VALIDATOR_CODES = {
    "TENSOR_NAME_DUPLICATE": PQ_MODEL_E_TENSOR_NAME_DUPLICATE,
    "OP_PARAM": PQ_MODEL_E_OP_PARAM,
}


def validate_model(buf, uint32_t max_arena, bint check_crc=True, bint workspace=True):
    """Run pq_model_validate on a buffer (bytes, bytearray, mmap, contiguous memoryview) of
    at most 2^32 - 1 bytes. None when it is valid, else the refusal as a tuple
    (code, field, why, param, index, sub, offset, value): pq_model_error's members, the
    strings decoded, param None unless set.

    With `workspace` (the default) the validator gets pq_model_validate_ws_bytes() of heap
    (about 33 bytes a tensor, freed on return) and runs in about O(n log n) instead of
    rescanning the records (quadratic and worse: seconds for a long unrolled graph); the
    verdict is the same. workspace=False is the firmware's path, for tests that compare both."""
    cdef Py_buffer view
    cdef pq_model_error err
    cdef int rc
    cdef uint32_t flags = 0 if check_crc else PQ_MODEL_SKIP_CRC
    cdef void *ws = NULL
    cdef size_t ws_bytes = 0
    PyObject_GetBuffer(buf, &view, PyBUF_SIMPLE)
    try:
        if view.len > 0xFFFFFFFF:
            raise ValueError("buffer above 4 GiB")
        if workspace:
            ws_bytes = pq_model_validate_ws_bytes(<const uint8_t *>view.buf, <uint32_t>view.len)
            ws = PyMem_Malloc(ws_bytes)
            if ws == NULL:
                raise MemoryError()
        with nogil:
            rc = pq_model_validate_ws(<const uint8_t *>view.buf, <uint32_t>view.len, max_arena,
                                      flags, ws, ws_bytes, &err)
    finally:
        PyMem_Free(ws)
        PyBuffer_Release(&view)
    if rc == 0:
        return None
    return (
        err.code,
        err.field.decode(),
        err.why.decode(),
        err.param.decode() if err.param != NULL else None,
        err.index,
        err.sub,
        err.offset,
        err.value,
    )


def op_table():
    """The op registry (pq_ops.def and pq_variants.def through pq_op_find): one tuple per op code,
    (code, name, n_inputs, max_inputs, optional_input or -1, param_names, {variant: reference
    kernel}, params struct type)."""
    cdef const pq_op_info *info
    cdef const pq_op_kernel *kern
    cdef int code, k, v
    out = []
    for code in range(1, PQ_OP_MAX_CODE + 1):
        info = pq_op_find(code)
        if info == NULL:
            continue
        names = []
        for k in range(info.n_params):
            names.append(info.param_names[k].decode())
        variants = {}
        for v in range(PQ_N_VARIANTS):
            kern = pq_op_kernel_find(code, v)
            if kern != NULL:
                variants[pq_variant_name(v).decode()] = kern.kernel.decode()
        out.append((info.code, info.name.decode(), info.n_inputs, info.max_inputs, info.optional_input, tuple(names),
                    variants, info.params_type.decode()))
    return out
