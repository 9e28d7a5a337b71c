# cython: language_level=3
"""The op loop: kernel parameters bound once at load, then a nogil walk over C kernels.

`Core` receives a ModelFile that runtime.format has already validated (every
index, offset, shape and parameter range), the constant buffer and the arena.
At construction it resolves every tensor to a pointer and fills one `Node` per
op with the kernel's parameter struct; `invoke()` only dispatches. No float is
touched here: quantization at the API boundary lives in interpreter.py.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int8_t, int32_t, uint8_t, intptr_t
from libc.string cimport memcpy, memset

cimport numpy as cnp

import numpy as np

from _kernels cimport *

cnp.import_array()

# Op codes of the .picoq format (runtime/format.py OPS).
cdef enum:
    OP_CONV_2D = 1
    OP_DEPTHWISE_CONV_2D = 2
    OP_FULLY_CONNECTED = 3
    OP_ADD = 4
    OP_AVERAGE_POOL_2D = 5
    OP_SOFTMAX = 6
    OP_RESHAPE = 7


cdef struct Node:
    int opcode
    const int8_t *in0
    const int8_t *in1
    int8_t *out
    const int8_t *filt
    const int32_t *bias
    const int32_t *mult
    const int32_t *shift
    pq_dims d_in
    pq_dims d_filt
    pq_dims d_out
    int32_t batches, accum, out_depth   # FULLY_CONNECTED; SOFTMAX uses batches x accum
    int32_t rank                        # ADD
    int32_t shape1[6]
    int32_t shape2[6]
    int32_t shape_out[6]
    size_t nbytes                       # RESHAPE copy size (0 when aliased in place)
    pq_conv_params conv
    pq_fc_params fc
    pq_add_params add
    pq_pool_params pool
    pq_softmax_params softmax


cdef pq_dims _dims(shape):
    cdef pq_dims d
    d.n, d.h, d.w, d.c = shape
    return d


cdef class Core:
    """Bound op list over one arena. Not thread-safe: one Core per thread."""

    cdef Node *nodes
    cdef int n_nodes
    cdef object _keep          # buffer and arena owners, kept alive with the pointers
    cdef const uint8_t *const_base
    cdef uint8_t *arena_base
    cdef readonly object failed_op

    def __cinit__(self):
        self.nodes = NULL
        self.n_nodes = 0

    def __init__(self, model, const uint8_t[::1] const_buf, uint8_t[::1] arena):
        if arena.shape[0] < model.arena_size:
            raise ValueError(f"arena of {arena.shape[0]} bytes, the model needs {model.arena_size}")
        self._keep = (model.buf, const_buf, arena)
        self.const_base = &const_buf[0] if const_buf.shape[0] else NULL
        self.arena_base = &arena[0] if arena.shape[0] else NULL
        self.failed_op = None
        n = len(model.ops)
        self.nodes = <Node *> PyMem_Malloc(max(n, 1) * sizeof(Node))
        if self.nodes == NULL:
            raise MemoryError()
        memset(self.nodes, 0, max(n, 1) * sizeof(Node))
        self.n_nodes = n
        for i, op in enumerate(model.ops):
            self._bind(&self.nodes[i], model, op)

    def __dealloc__(self):
        PyMem_Free(self.nodes)

    cdef void *_ptr(self, model, int idx):
        if idx < 0:
            return NULL
        t = model.tensors[idx]
        if t.is_const:
            return <void *> (self.const_base + <size_t> t.offset)
        return <void *> (self.arena_base + <size_t> t.offset)

    cdef _bind(self, Node *nd, model, op):
        cdef int k
        p = op.params
        ins, outs = op.inputs, op.outputs
        nd.opcode = op.opcode
        nd.in0 = <const int8_t *> self._ptr(model, ins[0])
        nd.out = <int8_t *> self._ptr(model, outs[0])
        x, y = model.tensors[ins[0]], model.tensors[outs[0]]
        if op.opcode in (OP_CONV_2D, OP_DEPTHWISE_CONV_2D, OP_FULLY_CONNECTED):
            nd.filt = <const int8_t *> self._ptr(model, ins[1])
            nd.bias = <const int32_t *> self._ptr(model, ins[2])
            nd.mult = <const int32_t *> self._ptr(model, ins[3])
            nd.shift = <const int32_t *> self._ptr(model, ins[4])
        if op.opcode in (OP_CONV_2D, OP_DEPTHWISE_CONV_2D):
            nd.d_in, nd.d_filt, nd.d_out = _dims(x.shape), _dims(model.tensors[ins[1]].shape), _dims(y.shape)
            nd.conv.stride_h, nd.conv.stride_w = p["stride_h"], p["stride_w"]
            nd.conv.dilation_h, nd.conv.dilation_w = p["dilation_h"], p["dilation_w"]
            nd.conv.pad_h, nd.conv.pad_w = p["pad_h"], p["pad_w"]
            nd.conv.input_offset, nd.conv.output_offset = p["input_offset"], p["output_offset"]
            nd.conv.act_min, nd.conv.act_max = p["act_min"], p["act_max"]
            nd.conv.depth_multiplier = p.get("depth_multiplier", 1)
        elif op.opcode == OP_FULLY_CONNECTED:
            out_depth, accum = model.tensors[ins[1]].shape
            nd.accum, nd.out_depth, nd.batches = accum, out_depth, x.size // accum
            nd.fc.input_offset, nd.fc.filter_offset = p["input_offset"], p["filter_offset"]
            nd.fc.output_offset, nd.fc.act_min, nd.fc.act_max = p["output_offset"], p["act_min"], p["act_max"]
            nd.fc.per_channel = p["per_channel"]
        elif op.opcode == OP_ADD:
            nd.in1 = <const int8_t *> self._ptr(model, ins[1])
            rank = len(y.shape)
            nd.rank = rank
            s1 = (1,) * (rank - len(x.shape)) + tuple(x.shape)
            b = model.tensors[ins[1]]
            s2 = (1,) * (rank - len(b.shape)) + tuple(b.shape)
            for k in range(rank):
                nd.shape1[k], nd.shape2[k], nd.shape_out[k] = s1[k], s2[k], y.shape[k]
            a = &nd.add
            a.input1_offset, a.input2_offset, a.output_offset = p["input1_offset"], p["input2_offset"], p["output_offset"]
            a.left_shift = p["left_shift"]
            a.input1_multiplier, a.input1_shift = p["input1_multiplier"], p["input1_shift"]
            a.input2_multiplier, a.input2_shift = p["input2_multiplier"], p["input2_shift"]
            a.output_multiplier, a.output_shift = p["output_multiplier"], p["output_shift"]
            a.act_min, a.act_max = p["act_min"], p["act_max"]
        elif op.opcode == OP_AVERAGE_POOL_2D:
            nd.d_in, nd.d_out = _dims(x.shape), _dims(y.shape)
            nd.pool.stride_h, nd.pool.stride_w = p["stride_h"], p["stride_w"]
            nd.pool.filter_h, nd.pool.filter_w = p["filter_h"], p["filter_w"]
            nd.pool.pad_h, nd.pool.pad_w = p["pad_h"], p["pad_w"]
            nd.pool.act_min, nd.pool.act_max = p["act_min"], p["act_max"]
        elif op.opcode == OP_SOFTMAX:
            nd.accum = x.shape[len(x.shape) - 1]  # no negative index: wraparound is off
            nd.batches = x.size // nd.accum
            nd.softmax.input_multiplier = p["input_multiplier"]
            nd.softmax.input_left_shift = p["input_left_shift"]
            nd.softmax.diff_min = p["diff_min"]
        elif op.opcode == OP_RESHAPE:
            # The planner normally gives input and output the same arena bytes: then nothing to do.
            nd.nbytes = 0 if <const void *> nd.in0 == <void *> nd.out else <size_t> x.nbytes
        else:
            raise ValueError(f"op code {op.opcode} has no kernel")

    cdef int _run(self) noexcept nogil:
        cdef int i
        cdef pq_status st = PQ_OK
        cdef Node *nd
        for i in range(self.n_nodes):
            nd = &self.nodes[i]
            if nd.opcode == OP_CONV_2D:
                st = pq_conv2d_s8(&nd.conv, nd.mult, nd.shift, &nd.d_in, nd.in0, &nd.d_filt, nd.filt,
                                  nd.bias, &nd.d_out, nd.out)
            elif nd.opcode == OP_DEPTHWISE_CONV_2D:
                st = pq_depthwise_conv2d_s8(&nd.conv, nd.mult, nd.shift, &nd.d_in, nd.in0, &nd.d_filt,
                                            nd.filt, nd.bias, &nd.d_out, nd.out)
            elif nd.opcode == OP_FULLY_CONNECTED:
                st = pq_fully_connected_s8(&nd.fc, nd.mult, nd.shift, nd.batches, nd.accum, nd.out_depth,
                                           nd.in0, nd.filt, nd.bias, nd.out)
            elif nd.opcode == OP_ADD:
                st = pq_add_s8(&nd.add, nd.rank, nd.shape1, nd.in0, nd.shape2, nd.in1, nd.shape_out, nd.out)
            elif nd.opcode == OP_AVERAGE_POOL_2D:
                st = pq_avg_pool2d_s8(&nd.pool, &nd.d_in, nd.in0, &nd.d_out, nd.out)
            elif nd.opcode == OP_SOFTMAX:
                st = pq_softmax_s8(&nd.softmax, nd.batches, nd.accum, nd.in0, nd.out)
            elif nd.opcode == OP_RESHAPE:
                if nd.nbytes:
                    memcpy(nd.out, nd.in0, nd.nbytes)
            if st != PQ_OK:
                return i
        return -1

    def invoke(self):
        """Run every op once on the arena; the GIL is released for the whole loop."""
        cdef int failed
        with nogil:
            failed = self._run()
        if failed >= 0:
            raise RuntimeError(f"kernel of op {failed} reported an error")


# *** fixed-point helpers, exposed for the property tests (element-wise over int32 arrays) ***

def srdhm(cnp.ndarray a, cnp.ndarray b):
    cdef int32_t[::1] av = np.ascontiguousarray(a, np.int32).ravel()
    cdef int32_t[::1] bv = np.ascontiguousarray(b, np.int32).ravel()
    out = np.empty(av.shape[0], np.int32)
    cdef int32_t[::1] ov = out
    cdef Py_ssize_t i
    for i in range(av.shape[0]):
        ov[i] = pq_srdhm(av[i], bv[i])
    return out


def rdpot(cnp.ndarray x, cnp.ndarray e):
    cdef int32_t[::1] xv = np.ascontiguousarray(x, np.int32).ravel()
    cdef int32_t[::1] ev = np.ascontiguousarray(e, np.int32).ravel()
    out = np.empty(xv.shape[0], np.int32)
    cdef int32_t[::1] ov = out
    cdef Py_ssize_t i
    for i in range(xv.shape[0]):
        ov[i] = pq_rdpot(xv[i], ev[i])
    return out


def mbqm(cnp.ndarray x, cnp.ndarray m, cnp.ndarray s):
    cdef int32_t[::1] xv = np.ascontiguousarray(x, np.int32).ravel()
    cdef int32_t[::1] mv = np.ascontiguousarray(m, np.int32).ravel()
    cdef int32_t[::1] sv = np.ascontiguousarray(s, np.int32).ravel()
    out = np.empty(xv.shape[0], np.int32)
    cdef int32_t[::1] ov = out
    cdef Py_ssize_t i
    for i in range(xv.shape[0]):
        ov[i] = pq_mbqm(xv[i], mv[i], sv[i])
    return out
