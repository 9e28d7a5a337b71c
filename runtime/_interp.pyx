# cython: language_level=3
"""The op loop: kernel parameters bound once at load, then a nogil walk over C kernels.

`Core` receives a ModelFile that runtime.format has already validated (every
index, offset, shape and parameter range), the constant buffer and the arena.
At construction it resolves every tensor to a pointer and fills one `Node` per
op with the kernel's parameter struct; `invoke()` only dispatches. No float is
touched here: quantization at the API boundary lives in interpreter.py.

Kernels: with kernels="fast" (the default) CONV_2D, DEPTHWISE_CONV_2D (depth
multiplier 1), FULLY_CONNECTED, ADD (same shapes) and AVERAGE_POOL_2D use the
fast kernels of kernels/include/pq_fast.h wherever an op's parameters allow
(else the reference kernel), on the instruction set chosen at load (the best
this CPU runs, or the one asked for). Their packed weights, folded biases and
per-channel requantization constants are computed here once and owned by the
Core; so is one scratch buffer (zero-point-padded input copies, im2col rows,
GEMM input panels, running sums), sized at load as the largest need of any op,
since ops run one after another. kernels="reference" binds only the reference
kernels, the ones firmware runs.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int8_t, int32_t, uint8_t, intptr_t, uintptr_t
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
    OP_MAX_POOL_2D = 8
    OP_MUL = 9
    OP_MEAN = 10
    OP_CONCATENATION = 11
    OP_PAD = 12
    OP_LOGISTIC = 13
    OP_TANH = 14
    OP_HARD_SWISH = 15
    OP_LEAKY_RELU = 16
    OP_TRANSPOSE = 17

# How a node runs (Node.path).
cdef enum:
    PATH_REFERENCE = 0
    PATH_FAST = 1

# Indexed by pq_isa (pq_fast.h), in order of preference: the default is the last one supported.
ISA_NAMES = ("portable", "avx2", "avx512vnni", "neon", "neon_dot")
# im2col rows gathered per GEMM call: about this many bytes of scratch (stays in L1/L2).
IM2COL_CHUNK_BYTES = 16384


def supported_isas():
    """Instruction sets the fast kernels can use on this machine, best last."""
    return [name for i, name in enumerate(ISA_NAMES) if pq_isa_supported(i)]


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
    int path                            # PATH_REFERENCE or PATH_FAST
    pq_conv2d_fast_plan conv_fast
    pq_dwconv_fast_plan dw_fast
    pq_gemm_s8_plan fc_fast
    int32_t add_n                       # ADD without broadcasting: element count
    int isa
    # Op codes 8..17. MUL uses rank/shape1/shape2/shape_out like ADD; MEAN, PAD and TRANSPOSE
    # use rank/shape1 (the input shape); LOGISTIC..LEAKY_RELU run over `size` elements.
    int32_t size
    int32_t axis_mask                   # MEAN
    int32_t perm[6]                     # TRANSPOSE
    int32_t n_parts, outer, inner, cat_offset  # CONCATENATION
    const int8_t **parts                # CONCATENATION inputs (PyMem_Malloc'd with part_sizes)
    int32_t *part_sizes
    const int32_t *requant              # CONCATENATION [n_parts, 3] table
    pq_mul_params mul
    pq_mean_params mean
    pq_pad_params pad
    pq_logistic_params logistic
    pq_hard_swish_params hswish
    pq_leaky_relu_params leaky


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
    cdef readonly str kernels      # "fast" or "reference"
    cdef readonly str isa          # instruction set of the fast kernels
    cdef readonly list op_paths    # per op: "reference" or "fast-..." (which kernel runs)
    cdef readonly size_t scratch_bytes   # the one scratch buffer of the fast kernels
    cdef readonly size_t prepared_bytes  # packed weights and per-channel constants
    cdef list _owned               # numpy buffers behind the fast kernels' pointers
    cdef void *scratch
    cdef int isa_id
    # run1(): the one int8 input and the one int8 output, when the model has exactly that.
    cdef uint8_t *in0_ptr
    cdef const uint8_t *out0_ptr
    cdef size_t in0_bytes, out0_bytes
    cdef int in0_ndim, out0_ndim
    cdef cnp.npy_intp in0_dims[6]
    cdef cnp.npy_intp out0_dims[6]

    def __cinit__(self):
        self.nodes = NULL
        self.n_nodes = 0

    def __init__(self, model, const uint8_t[::1] const_buf, uint8_t[::1] arena, kernels="fast", isa=None):
        if arena.shape[0] < model.arena_size:
            raise ValueError(f"arena of {arena.shape[0]} bytes, the model needs {model.arena_size}")
        if kernels not in ("fast", "reference"):
            raise ValueError(f"kernels must be 'fast' or 'reference', not {kernels!r}")
        if isa is None:
            isa = supported_isas()[len(supported_isas()) - 1]
        if isa not in ISA_NAMES or not pq_isa_supported(ISA_NAMES.index(isa)):
            raise ValueError(f"instruction set {isa!r} is not available here; this machine has {supported_isas()}")
        self.kernels, self.isa, self.isa_id = kernels, isa, ISA_NAMES.index(isa)
        self._keep = (model.buf, const_buf, arena)
        self.const_base = &const_buf[0] if const_buf.shape[0] else NULL
        self.arena_base = &arena[0] if arena.shape[0] else NULL
        self.failed_op = None
        self._owned = []
        self.op_paths = []
        self.prepared_bytes = 0
        n = len(model.ops)
        self.nodes = <Node *> PyMem_Malloc(max(n, 1) * sizeof(Node))
        if self.nodes == NULL:
            raise MemoryError()
        memset(self.nodes, 0, max(n, 1) * sizeof(Node))
        self.n_nodes = n
        need = 0
        for i, op in enumerate(model.ops):
            self._bind(&self.nodes[i], model, op)
            need = max(need, self._bind_fast(&self.nodes[i], model, op) if kernels == "fast" else 0)
            self.op_paths.append(self._path_name(&self.nodes[i]))
        self.scratch_bytes = need
        # Zeroed: GEMM panel rows past the last real row are read (never stored).
        self.scratch = self._buffer(need) if need else NULL
        self.in0_ptr = NULL
        if len(model.inputs) == 1 and len(model.outputs) == 1:
            t_in, t_out = model.tensors[model.inputs[0]], model.tensors[model.outputs[0]]
            if np.dtype(t_in.dtype) == np.int8 and np.dtype(t_out.dtype) == np.int8:
                self.in0_ptr = <uint8_t *> self._ptr(model, model.inputs[0])
                self.out0_ptr = <const uint8_t *> self._ptr(model, model.outputs[0])
                self.in0_bytes, self.out0_bytes = t_in.nbytes, t_out.nbytes
                self.in0_ndim, self.out0_ndim = len(t_in.shape), len(t_out.shape)
                for k in range(self.in0_ndim):
                    self.in0_dims[k] = t_in.shape[k]
                for k in range(self.out0_ndim):
                    self.out0_dims[k] = t_out.shape[k]

    def __dealloc__(self):
        cdef int i
        if self.nodes != NULL:
            for i in range(self.n_nodes):
                PyMem_Free(self.nodes[i].parts)
                PyMem_Free(self.nodes[i].part_sizes)
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
        elif OP_MAX_POOL_2D <= op.opcode <= OP_TRANSPOSE:
            self._bind_more(nd, model, op)
        else:
            raise ValueError(f"op code {op.opcode} has no kernel")

    cdef _bind_more(self, Node *nd, model, op):
        """Op codes 8..17 (validated by runtime.shapes)."""
        cdef int k
        cdef int32_t axis
        p = op.params
        x, y = model.tensors[op.inputs[0]], model.tensors[op.outputs[0]]
        nd.size = x.size
        nd.rank = len(x.shape)
        for k in range(nd.rank):
            nd.shape1[k] = x.shape[k]
        if op.opcode == OP_MAX_POOL_2D:
            nd.d_in, nd.d_out = _dims(x.shape), _dims(y.shape)
            nd.pool.stride_h, nd.pool.stride_w = p["stride_h"], p["stride_w"]
            nd.pool.filter_h, nd.pool.filter_w = p["filter_h"], p["filter_w"]
            nd.pool.pad_h, nd.pool.pad_w = p["pad_h"], p["pad_w"]
            nd.pool.act_min, nd.pool.act_max = p["act_min"], p["act_max"]
        elif op.opcode == OP_MUL:
            nd.in1 = <const int8_t *> self._ptr(model, op.inputs[1])
            rank = len(y.shape)
            nd.rank = rank
            b = model.tensors[op.inputs[1]]
            s1 = (1,) * (rank - len(x.shape)) + tuple(x.shape)
            s2 = (1,) * (rank - len(b.shape)) + tuple(b.shape)
            for k in range(rank):
                nd.shape1[k], nd.shape2[k], nd.shape_out[k] = s1[k], s2[k], y.shape[k]
            m = &nd.mul
            m.input1_offset, m.input2_offset, m.output_offset = p["input1_offset"], p["input2_offset"], p["output_offset"]
            m.output_multiplier, m.output_shift = p["output_multiplier"], p["output_shift"]
            m.act_min, m.act_max = p["act_min"], p["act_max"]
        elif op.opcode == OP_MEAN:
            nd.axis_mask = p["axis_mask"]
            nd.mean.input_offset, nd.mean.output_offset = p["input_offset"], p["output_offset"]
            nd.mean.multiplier, nd.mean.shift = p["multiplier"], p["shift"]
        elif op.opcode == OP_CONCATENATION:
            data = op.inputs[:len(op.inputs) - 1]
            axis = p["axis"]
            nd.n_parts = len(data)
            nd.parts = <const int8_t **> PyMem_Malloc(nd.n_parts * sizeof(int8_t *))
            nd.part_sizes = <int32_t *> PyMem_Malloc(nd.n_parts * sizeof(int32_t))
            if nd.parts == NULL or nd.part_sizes == NULL:
                raise MemoryError()
            for k in range(nd.n_parts):
                nd.parts[k] = <const int8_t *> self._ptr(model, data[k])
                nd.part_sizes[k] = model.tensors[data[k]].shape[axis]
            nd.requant = <const int32_t *> self._ptr(model, op.inputs[len(op.inputs) - 1])
            nd.cat_offset = p["output_offset"]
            nd.outer, nd.inner = 1, 1
            for k in range(len(y.shape)):
                if k < axis:
                    nd.outer *= y.shape[k]
                elif k > axis:
                    nd.inner *= y.shape[k]
        elif op.opcode == OP_PAD:
            nd.pad.pad_value = p["pad_value"]
            for k in range(6):
                nd.pad.before[k], nd.pad.after[k] = p[f"before_{k}"], p[f"after_{k}"]
        elif op.opcode in (OP_LOGISTIC, OP_TANH):
            lg = &nd.logistic
            lg.input_offset, lg.input_range_radius = p["input_offset"], p["input_range_radius"]
            lg.input_multiplier, lg.input_left_shift = p["input_multiplier"], p["input_left_shift"]
        elif op.opcode == OP_HARD_SWISH:
            h = &nd.hswish
            h.input_offset, h.output_offset = p["input_offset"], p["output_offset"]
            h.reluish_multiplier, h.reluish_shift = p["reluish_multiplier"], p["reluish_shift"]
            h.output_multiplier, h.output_shift = p["output_multiplier"], p["output_shift"]
        elif op.opcode == OP_LEAKY_RELU:
            r = &nd.leaky
            r.input_offset, r.output_offset = p["input_offset"], p["output_offset"]
            r.identity_multiplier, r.identity_shift = p["identity_multiplier"], p["identity_shift"]
            r.alpha_multiplier, r.alpha_shift = p["alpha_multiplier"], p["alpha_shift"]
        elif op.opcode == OP_TRANSPOSE:
            for k in range(nd.rank):
                nd.perm[k] = p[f"perm_{k}"]

    # *** fast kernels: preparation at load ***

    cdef void *_buffer(self, size_t nbytes) except NULL:
        """nbytes zeroed bytes, 64-byte aligned, owned by this Core."""
        raw = np.zeros(nbytes + 64, np.uint8)
        start = (-raw.ctypes.data) % 64
        self._owned.append(raw)
        self.prepared_bytes += nbytes
        return <void *> <uintptr_t> (raw.ctypes.data + start)

    cdef int _requant(self, pq_requant *rq, int32_t n, int32_t np_, const int32_t *mult, const int32_t *shift,
                      int32_t per_channel, int32_t output_offset, int32_t act_min, int32_t act_max) except -1:
        """Per-channel constants for n channels padded to np_ (rq.bias is left to the caller)."""
        cdef int32_t *arr = <int32_t *> self._buffer(4 * <size_t> np_ * sizeof(int32_t))
        cdef int32_t c
        pq_requant_expand(n, np_, mult, shift, per_channel, arr, arr + np_, arr + 2 * np_, arr + 3 * np_)
        rq.mult, rq.lshift, rq.rshift, rq.rmask = arr, arr + np_, arr + 2 * np_, arr + 3 * np_
        rq.any_lshift = 0
        for c in range(np_):
            if arr[np_ + c] != 0:
                rq.any_lshift = 1
        rq.output_offset, rq.act_min, rq.act_max = output_offset, act_min, act_max
        return 0

    cdef size_t _bind_fast(self, Node *nd, model, op) except? 0:
        """Switch the node to a fast kernel when its parameters allow; return its scratch bytes."""
        if op.opcode == OP_CONV_2D:
            return self._bind_conv_fast(nd)
        if op.opcode == OP_DEPTHWISE_CONV_2D:
            return self._bind_dw_fast(nd)
        if op.opcode == OP_FULLY_CONNECTED:
            return self._bind_fc_fast(nd)
        if op.opcode == OP_AVERAGE_POOL_2D:
            nd.path = PATH_FAST
            return (<size_t> nd.d_in.c * 4 + 63) // 64 * 64
        if op.opcode == OP_ADD:
            # Same shapes only; broadcasting stays on the reference kernel.
            if all(nd.shape1[i] == nd.shape_out[i] and nd.shape2[i] == nd.shape_out[i] for i in range(nd.rank)):
                nd.add_n = model.tensors[op.outputs[0]].size
                nd.isa = self.isa_id
                nd.path = PATH_FAST
        return 0

    cdef size_t _bind_conv_fast(self, Node *nd) except? 0:
        cdef pq_conv2d_fast_plan *pl = &nd.conv_fast
        cdef pq_gemm_s8_plan *g = &pl.gemm
        cdef int isa = self.isa_id
        cdef int32_t groups, fpg, k, np_, m, gi, chunk
        cdef int32_t *bias
        cdef int32_t *arr
        cdef int8_t *packed
        cdef const int8_t *w_all = nd.filt
        cdef const int8_t *w_g
        cdef const int32_t *b_g
        # Out-of-image taps are fed the zero point as an int8: it must be one.
        if not -128 <= -nd.conv.input_offset <= 127:
            return 0
        groups = nd.d_in.c // nd.d_filt.c
        fpg = nd.d_out.c // groups
        k = nd.d_filt.h * nd.d_filt.w * nd.d_filt.c
        pl.p, pl.in_dims, pl.filter_dims, pl.out_dims = nd.conv, nd.d_in, nd.d_filt, nd.d_out
        pl.groups = groups
        pl.taps, pl.kt = 1, k
        one_by_one = nd.d_filt.h == 1 and nd.d_filt.w == 1 and groups == 1
        # The SIMD kernels read taps in place from a padded copy of the input, in runs of
        # whole groups of 4 bytes (AVX-512), 2 int16 (AVX2) or 16 bytes (NEON): a whole filter
        # row per run when its taps are adjacent (padded with zero weights; on NEON only if
        # that adds at most 1/8), else a tap per run.
        granule = 4 if isa == <int> PQ_ISA_AVX512VNNI else (2 if isa == <int> PQ_ISA_AVX2 else 0)
        granule = 16 if isa == <int> PQ_ISA_NEON or isa == <int> PQ_ISA_NEON_DOT else granule
        row = nd.d_filt.w * nd.d_filt.c
        row_ok = granule < 16 or (row + 15) // 16 * 16 * 8 <= row * 9
        if one_by_one and nd.conv.pad_h == 0 and nd.conv.pad_w == 0:
            pl.direct = PQ_FEED_DIRECT if nd.conv.stride_h == 1 and nd.conv.stride_w == 1 else PQ_FEED_STRIDED
        elif granule and groups == 1 and nd.conv.dilation_w == 1 and row_ok:
            pl.direct = PQ_FEED_ROWS
            pl.taps, pl.kt = nd.d_filt.h, (nd.d_filt.w * nd.d_filt.c + granule - 1) // granule * granule
        elif granule and nd.d_filt.c % granule == 0:
            pl.direct = PQ_FEED_TAPS
            pl.taps, pl.kt = nd.d_filt.h * nd.d_filt.w, nd.d_filt.c
        else:
            pl.direct = PQ_FEED_IM2COL
        if pl.direct == PQ_FEED_ROWS and pl.kt != nd.d_filt.w * nd.d_filt.c:
            # Each filter row's weights padded with zeros to kt: the GEMM's k is taps * kt.
            tmp = np.empty(nd.d_out.c * pl.taps * pl.kt, np.int8)  # only needed while packing
            w_all = <int8_t *> <uintptr_t> tmp.ctypes.data
            pq_gemm_s8_pad_runs(nd.d_out.c, pl.taps, nd.d_filt.w * nd.d_filt.c, pl.kt, nd.filt, <int8_t *> w_all)
            k = pl.taps * pl.kt
        np_ = pq_gemm_s8_np(isa, fpg)
        m = nd.d_out.n * nd.d_out.h * nd.d_out.w
        # A multiple of 8 rows (every ISA's row block) of about IM2COL_CHUNK_BYTES, at most m rounded up.
        chunk = max(8, IM2COL_CHUNK_BYTES // k // 8 * 8)
        pl.chunk_rows = min(chunk, (m + 7) // 8 * 8)
        g.isa, g.n, g.k, g.np, g.kp = isa, fpg, k, np_, pq_gemm_s8_kp(isa, k)
        pl.w_group_stride = pq_gemm_s8_packed_size(isa, fpg, k)
        pl.ch_group_stride = np_
        packed = <int8_t *> self._buffer(pl.w_group_stride * groups)
        bias = <int32_t *> self._buffer(<size_t> groups * np_ * sizeof(int32_t))
        g.w, g.rq.bias = packed, bias
        # Every group's arrays lie at a fixed stride after group 0's (pq_conv2d_s8_fast).
        arr = <int32_t *> self._buffer(4 * <size_t> groups * np_ * sizeof(int32_t))
        g.rq.mult = arr
        g.rq.lshift = g.rq.mult + groups * np_
        g.rq.rshift = g.rq.lshift + groups * np_
        g.rq.rmask = g.rq.rshift + groups * np_
        g.rq.any_lshift = 0
        for gi in range(groups):
            w_g = w_all + <size_t> gi * fpg * k
            b_g = nd.bias
            if b_g != NULL:
                b_g += gi * fpg
            pq_gemm_s8_pack(isa, fpg, k, w_g, packed + gi * pl.w_group_stride)
            pq_gemm_s8_fold_bias(isa, fpg, np_, k, w_g, b_g, nd.conv.input_offset, bias + gi * np_)
            pq_requant_expand(fpg, np_, nd.mult + gi * fpg, nd.shift + gi * fpg, 1,
                              <int32_t *> g.rq.mult + gi * np_, <int32_t *> g.rq.lshift + gi * np_,
                              <int32_t *> g.rq.rshift + gi * np_, <int32_t *> g.rq.rmask + gi * np_)
        for gi in range(groups * np_):
            if g.rq.lshift[gi] != 0:
                g.rq.any_lshift = 1
        g.rq.output_offset, g.rq.act_min, g.rq.act_max = nd.conv.output_offset, nd.conv.act_min, nd.conv.act_max
        nd.path = PATH_FAST
        return pq_conv2d_s8_fast_scratch_size(pl)

    cdef size_t _bind_dw_fast(self, Node *nd) except? 0:
        cdef pq_dwconv_fast_plan *pl = &nd.dw_fast
        cdef int isa = self.isa_id
        cdef int32_t c = nd.d_in.c
        cdef int32_t taps = nd.d_filt.h * nd.d_filt.w
        cdef int32_t cp
        cdef int32_t *bias
        cdef int8_t *packed
        if nd.conv.depth_multiplier != 1 or not -128 <= -nd.conv.input_offset <= 127:
            return 0
        if isa == <int> PQ_ISA_AVX512VNNI and taps > 256:  # the kernel's tap table
            return 0
        cp = pq_dwconv_s8_cp(isa, c)
        pl.isa, pl.p, pl.in_dims, pl.filter_dims, pl.out_dims, pl.cp = isa, nd.conv, nd.d_in, nd.d_filt, nd.d_out, cp
        packed = <int8_t *> self._buffer(pq_dwconv_s8_packed_size(isa, taps, c))
        pq_dwconv_s8_pack(isa, taps, c, nd.filt, packed)
        bias = <int32_t *> self._buffer(<size_t> cp * sizeof(int32_t))
        pq_dwconv_s8_fold_bias(isa, taps, c, cp, nd.filt, nd.bias, nd.conv.input_offset, bias)
        pl.w, pl.rq.bias = packed, bias
        self._requant(&pl.rq, c, cp, nd.mult, nd.shift, 1, nd.conv.output_offset, nd.conv.act_min, nd.conv.act_max)
        # The kernels hold channels in their own lane order: store the constants in it.
        pq_dwconv_s8_order(isa, c, cp, <int32_t *> pl.rq.bias)
        pq_dwconv_s8_order(isa, c, cp, <int32_t *> pl.rq.mult)
        pq_dwconv_s8_order(isa, c, cp, <int32_t *> pl.rq.lshift)
        pq_dwconv_s8_order(isa, c, cp, <int32_t *> pl.rq.rshift)
        pq_dwconv_s8_order(isa, c, cp, <int32_t *> pl.rq.rmask)
        nd.path = PATH_FAST
        return pq_dwconv_s8_fast_scratch_size(pl)

    cdef size_t _bind_fc_fast(self, Node *nd) except? 0:
        cdef pq_gemm_s8_plan *g = &nd.fc_fast
        cdef int isa = self.isa_id
        cdef int32_t n = nd.out_depth
        cdef int32_t k = nd.accum
        cdef int32_t np_ = pq_gemm_s8_np(isa, n)
        cdef int32_t *bias
        cdef int8_t *packed
        if nd.fc.filter_offset != 0:  # weights + offset may leave int8
            return 0
        g.isa, g.n, g.k, g.np, g.kp = isa, n, k, np_, pq_gemm_s8_kp(isa, k)
        packed = <int8_t *> self._buffer(pq_gemm_s8_packed_size(isa, n, k))
        pq_gemm_s8_pack(isa, n, k, nd.filt, packed)
        bias = <int32_t *> self._buffer(<size_t> np_ * sizeof(int32_t))
        pq_gemm_s8_fold_bias(isa, n, np_, k, nd.filt, nd.bias, nd.fc.input_offset, bias)
        g.w, g.rq.bias = packed, bias
        self._requant(&g.rq, n, np_, nd.mult, nd.shift, nd.fc.per_channel, nd.fc.output_offset, nd.fc.act_min,
                      nd.fc.act_max)
        nd.path = PATH_FAST
        return pq_gemm_s8_scratch_size(isa, k)

    cdef str _path_name(self, Node *nd):
        if nd.path != PATH_FAST:
            return "reference"
        if nd.opcode == OP_CONV_2D:
            return ("fast-conv-im2col", "fast-conv-1x1", "fast-conv-1x1-strided", "fast-conv-taps", "fast-conv-rows")[
                nd.conv_fast.direct
            ]
        if nd.opcode == OP_DEPTHWISE_CONV_2D:
            return "fast-depthwise"
        if nd.opcode == OP_ADD:
            return "fast-add"
        if nd.opcode == OP_AVERAGE_POOL_2D:
            return "fast-avgpool"
        return "fast-fc"

    cdef int _run(self) noexcept nogil:
        cdef int i
        cdef pq_status st = PQ_OK
        cdef Node *nd
        for i in range(self.n_nodes):
            nd = &self.nodes[i]
            if nd.path == PATH_FAST:
                if nd.opcode == OP_CONV_2D:
                    st = pq_conv2d_s8_fast(&nd.conv_fast, nd.in0, nd.out, self.scratch)
                elif nd.opcode == OP_DEPTHWISE_CONV_2D:
                    st = pq_depthwise_conv2d_s8_fast(&nd.dw_fast, nd.in0, nd.out, self.scratch)
                elif nd.opcode == OP_ADD:
                    st = pq_add_s8_fast(nd.isa, &nd.add, nd.add_n, nd.in0, nd.in1, nd.out)
                elif nd.opcode == OP_AVERAGE_POOL_2D:
                    st = pq_avg_pool2d_s8_fast(&nd.pool, &nd.d_in, nd.in0, &nd.d_out, nd.out, <uint32_t *> self.scratch)
                else:
                    st = pq_fully_connected_s8_fast(&nd.fc_fast, nd.batches, nd.in0, nd.out, self.scratch)
            elif nd.opcode == OP_CONV_2D:
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
            elif nd.opcode == OP_MAX_POOL_2D:
                st = pq_max_pool2d_s8(&nd.pool, &nd.d_in, nd.in0, &nd.d_out, nd.out)
            elif nd.opcode == OP_MUL:
                st = pq_mul_s8(&nd.mul, nd.rank, nd.shape1, nd.in0, nd.shape2, nd.in1, nd.shape_out, nd.out)
            elif nd.opcode == OP_MEAN:
                st = pq_mean_s8(&nd.mean, nd.rank, nd.shape1, nd.axis_mask, nd.in0, nd.out)
            elif nd.opcode == OP_CONCATENATION:
                st = pq_concatenation_s8(nd.n_parts, nd.parts, nd.part_sizes, nd.requant, nd.cat_offset,
                                         nd.outer, nd.inner, nd.out)
            elif nd.opcode == OP_PAD:
                st = pq_pad_s8(&nd.pad, nd.rank, nd.shape1, nd.in0, nd.out)
            elif nd.opcode == OP_LOGISTIC:
                st = pq_logistic_s8(&nd.logistic, nd.size, nd.in0, nd.out)
            elif nd.opcode == OP_TANH:
                st = pq_tanh_s8(&nd.logistic, nd.size, nd.in0, nd.out)
            elif nd.opcode == OP_HARD_SWISH:
                st = pq_hard_swish_s8(&nd.hswish, nd.size, nd.in0, nd.out)
            elif nd.opcode == OP_LEAKY_RELU:
                st = pq_leaky_relu_s8(&nd.leaky, nd.size, nd.in0, nd.out)
            elif nd.opcode == OP_TRANSPOSE:
                st = pq_transpose_s8(nd.rank, nd.shape1, nd.perm, nd.in0, nd.out)
            if st != PQ_OK:
                return i
        return -1

    def run1(self, x):
        """The common call in one step: x, a C-contiguous int8 array of exactly the input's
        shape, into the arena, run, and a new int8 array holding the output. Returns None
        (having done nothing) for anything else, which the caller then handles."""
        cdef cnp.ndarray a
        cdef cnp.ndarray out
        cdef int k, failed
        if self.in0_ptr == NULL or type(x) is not np.ndarray:
            return None
        a = <cnp.ndarray> x
        if (cnp.PyArray_TYPE(a) != cnp.NPY_INT8 or not cnp.PyArray_IS_C_CONTIGUOUS(a)
                or cnp.PyArray_NDIM(a) != self.in0_ndim):
            return None
        for k in range(self.in0_ndim):
            if cnp.PyArray_DIMS(a)[k] != self.in0_dims[k]:
                return None
        memcpy(self.in0_ptr, cnp.PyArray_DATA(a), self.in0_bytes)
        with nogil:
            failed = self._run()
        if failed >= 0:
            raise RuntimeError(f"kernel of op {failed} reported an error")
        out = cnp.PyArray_EMPTY(self.out0_ndim, self.out0_dims, cnp.NPY_INT8, 0)
        memcpy(cnp.PyArray_DATA(out), self.out0_ptr, self.out0_bytes)
        return out

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
