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
Core. Their scratch (zero-point-padded input copies, im2col rows, GEMM input
panels, running sums) lives in the arena where the file plans it (SCRA, format
1.1: the converter sized it for every ISA with fast_scratch_sizes below); an op
whose planned scratch is missing (1.0 files) or too small shares one buffer
allocated at load beside the arena, sized as the largest such need since ops
run one after another. kernels="reference" binds only the reference kernels,
the ones firmware runs; they need no scratch.

Threads (num_threads > 1, fast kernels only): at load, each large enough CONV_2D,
DEPTHWISE_CONV_2D and FULLY_CONNECTED is split into parts over output rows or output
channels (kernels/include/pq_fast_split.h), a pool of num_threads - 1 workers is started
(kernels/include/pq_threadpool.h) and every worker gets its own scratch buffer; invoke
hands an op's parts to the pool, takes parts itself and waits for the rest. Other ops,
and every op with kernels="reference", run on the calling thread alone. A part computes
its output bytes exactly as the whole op does, so the results do not depend on the split.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, intptr_t, uintptr_t
from libc.string cimport memcpy, memset

cimport numpy as cnp

import time

import numpy as np

from _kernels cimport *

include "_validate.pxi"

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
ISA_NAMES = ("portable", "avx2", "avx512vnni", "neon", "neon_dot", "amx")
# One name per pq_isa id: fast_scratch_sizes sizes every id below PQ_ISA_COUNT.
assert len(ISA_NAMES) == PQ_ISA_COUNT, "ISA_NAMES must name every pq_isa of pq_fast.h"
# Ops that may run a fast kernel (the others never need scratch).
FAST_OPCODES = frozenset((OP_CONV_2D, OP_DEPTHWISE_CONV_2D, OP_FULLY_CONNECTED, OP_ADD, OP_AVERAGE_POOL_2D))
# im2col rows gathered per GEMM call: about this many bytes of scratch (stays in L1/L2).
IM2COL_CHUNK_BYTES = 16384
# Threads: an op is split only when it is estimated to take at least this long on one thread.
# Handing its parts to a spinning worker and waiting for them costs about 0.5-1 us here (cache
# lines crossing cores), and each thread then works on less data; measured on this machine's
# MLPerf layers, ops under ~4 us ran no faster, or slower, on 2 threads.
PARALLEL_MIN_NS = 5000
# The estimate: ns per 1000 multiply-accumulates on one thread, (GEMM-shaped ops: CONV_2D and
# FULLY_CONNECTED; DEPTHWISE_CONV_2D, with far fewer MACs per byte), measured on the MLPerf Tiny
# layers (Xeon, AVX-512 VNNI host; with AMX the large GEMMs run ~3x faster, and at the VNNI
# cost 2 threads made VWW 8 % slower, at this one IC-large 1.19x, nothing slower). An
# instruction set not listed takes the portable costs.
NS_PER_KMAC = {"amx": (3, 60), "avx512vnni": (8, 60), "avx2": (25, 100), "portable": (200, 1000)}
MAX_THREADS = PQ_THREADPOOL_MAX


def amx_pays(int feed, int n, int k, int m):
    """Whether AMX tiles beat the AVX-512 VNNI kernel on one GEMM (measured per layer on the MLPerf
    models): a tile computes 16 rows x 16 channels x 64 k at once, so few channels, a short k or few
    rows leave it idle, and per-output-row GEMMs (strided 1x1) pay its setup once per row."""
    if feed == PQ_FEED_STRIDED or m < 32:
        return False
    if feed in (PQ_FEED_ROWS, PQ_FEED_TAPS):
        # Each block first copies its rows' filter runs into a tile panel.
        return n > 16 and k >= 64
    return True


def supported_isas():
    """Instruction sets the fast kernels can use on this machine, best last."""
    return [name for i, name in enumerate(ISA_NAMES) if pq_isa_supported(i)]


def best_isa():
    """The default instruction set: the best this machine runs (the last supported name)."""
    names = supported_isas()
    return names[len(names) - 1]  # not [-1]: this module compiles with wraparound=False


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
    void *scratch                       # fast kernels: planned arena bytes or the load-time buffer
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
    # Several threads: how the op's output is divided (PQ_SPLIT_*), into how many parts, and the
    # output channels per column block (PQ_SPLIT_COLS). split_parts == 1: the calling thread runs it.
    int32_t split, split_parts, col_unit


# One op's parts handed to the thread pool.
cdef struct PartJob:
    Node *nd
    void *scratch0      # the op's own scratch (its arena bytes or the separate buffer), for thread 0
    void **extra        # extra[t]: worker t's own scratch (t >= 1)


cdef inline void *_scratch_for(PartJob *job, int32_t thread) noexcept nogil:
    """Scratch of one thread: the calling thread uses the op's own scratch, each worker its own
    buffer, as large as the largest op need (allocated at load), since parts run at the same time."""
    return job.scratch0 if thread == 0 else job.extra[thread]


cdef int _part_task(void *ctx, int32_t part, int32_t thread) noexcept nogil:
    """One part of a split op, on any thread of the pool (no Python, no GIL)."""
    cdef PartJob *job = <PartJob *> ctx
    cdef Node *nd = job.nd
    cdef void *scratch = _scratch_for(job, thread)
    if nd.opcode == OP_CONV_2D:
        return pq_conv2d_s8_fast_part(&nd.conv_fast, nd.in0, nd.out, scratch, nd.split, nd.col_unit, part,
                                      nd.split_parts)
    if nd.opcode == OP_DEPTHWISE_CONV_2D:
        return pq_depthwise_conv2d_s8_fast_part(&nd.dw_fast, nd.in0, nd.out, scratch, part, nd.split_parts)
    return pq_fully_connected_s8_fast_part(&nd.fc_fast, nd.batches, nd.in0, nd.out, scratch, nd.split,
                                           nd.col_unit, part, nd.split_parts)


def _check_num_threads(num_threads):
    if isinstance(num_threads, bool) or not isinstance(num_threads, (int, np.integer)):
        raise ValueError(f"num_threads must be an int from 1 to {MAX_THREADS}, not {num_threads!r}")
    if not 1 <= num_threads <= MAX_THREADS:
        raise ValueError(f"num_threads must be from 1 to {MAX_THREADS}, not {num_threads}")
    if num_threads > 1 and not pq_threadpool_available():
        raise ValueError("num_threads > 1 needs POSIX threads, which this build of picoq does not have")
    return int(num_threads)


cdef pq_dims _dims(shape):
    cdef pq_dims d
    d.n, d.h, d.w, d.c = shape
    return d


# *** fast kernels: which one runs and its geometry (pure arithmetic) ***
#
# Shared by the load (Core._bind_fast, which then packs weights) and by fast_scratch_sizes
# (the converter's scratch sizes for every ISA), so the two cannot disagree. Nothing here
# packs weights or calls ISA code: the *_np/_kp/_cp/scratch_size functions are plain C for
# every isa value, so sizing an ISA this CPU lacks executes none of its instructions.

cdef size_t _fast_plan(Node *nd, int isa) except? 0:
    """Set nd.path to PATH_FAST and fill the fast plan's geometry for `isa` when the op's
    parameters allow a fast kernel (bound by Core._bind); return its scratch bytes."""
    cdef int k
    nd.path = PATH_REFERENCE
    if nd.opcode == OP_CONV_2D:
        return _conv_plan(nd, isa)
    if nd.opcode == OP_FULLY_CONNECTED:
        return _fc_plan(nd, isa)
    if isa == <int> PQ_ISA_AMX:  # AMX tiles are for GEMMs; the other kernels run their AVX-512 code
        isa = <int> PQ_ISA_AVX512VNNI
    if nd.opcode == OP_DEPTHWISE_CONV_2D:
        return _dw_plan(nd, isa)
    if nd.opcode == OP_AVERAGE_POOL_2D:
        nd.path = PATH_FAST
        return (<size_t> nd.d_in.c * 4 + 63) // 64 * 64  # in_c uint32 running sums
    if nd.opcode == OP_ADD:
        # Same shapes only; broadcasting stays on the reference kernel.
        nd.add_n = 1
        for k in range(nd.rank):
            if nd.shape1[k] != nd.shape_out[k] or nd.shape2[k] != nd.shape_out[k]:
                return 0
            nd.add_n *= nd.shape_out[k]
        nd.isa = isa
        nd.path = PATH_FAST
    return 0


cdef size_t _conv_plan(Node *nd, int isa) except? 0:
    cdef pq_conv2d_fast_plan *pl = &nd.conv_fast
    cdef pq_gemm_s8_plan *g = &pl.gemm
    cdef int32_t groups, fpg, k, np_, m, chunk
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
    # whole groups of 4 bytes (AVX-512, AMX), 2 int16 (AVX2) or 16 bytes (NEON): a whole filter
    # row per run when its taps are adjacent (padded with zero weights; on NEON only if
    # that adds at most 1/8), else a tap per run.
    granule = 4 if isa in (<int> PQ_ISA_AVX512VNNI, <int> PQ_ISA_AMX) else (2 if isa == <int> PQ_ISA_AVX2 else 0)
    granule = 16 if isa == <int> PQ_ISA_NEON or isa == <int> PQ_ISA_NEON_DOT else granule
    row = nd.d_filt.w * nd.d_filt.c
    row_ok = granule < 16 or (row + 15) // 16 * 16 * 8 <= row * 9
    if one_by_one and nd.conv.pad_h == 0 and nd.conv.pad_w == 0:
        pl.direct = PQ_FEED_DIRECT if nd.conv.stride_h == 1 and nd.conv.stride_w == 1 else PQ_FEED_STRIDED
    elif granule and groups == 1 and nd.conv.dilation_w == 1 and row_ok:
        pl.direct = PQ_FEED_ROWS
        pl.taps, pl.kt = nd.d_filt.h, (nd.d_filt.w * nd.d_filt.c + granule - 1) // granule * granule
        k = pl.taps * pl.kt  # each filter row's weights padded to kt (Core._pack_conv)
    elif granule and nd.d_filt.c % granule == 0:
        pl.direct = PQ_FEED_TAPS
        pl.taps, pl.kt = nd.d_filt.h * nd.d_filt.w, nd.d_filt.c
    else:
        pl.direct = PQ_FEED_IM2COL
    m = nd.d_out.n * nd.d_out.h * nd.d_out.w
    if isa == <int> PQ_ISA_AMX and not amx_pays(pl.direct, fpg, k, m):
        isa = <int> PQ_ISA_AVX512VNNI  # same feed, same data; only k's padding differs
    np_ = pq_gemm_s8_np(isa, fpg)
    # A multiple of 8 rows (every ISA's row block) of about IM2COL_CHUNK_BYTES, at most m rounded up.
    chunk = max(8, IM2COL_CHUNK_BYTES // k // 8 * 8)
    pl.chunk_rows = min(chunk, (m + 7) // 8 * 8)
    g.isa, g.n, g.k, g.np, g.kp = isa, fpg, k, np_, pq_gemm_s8_kp(isa, k)
    pl.w_group_stride = pq_gemm_s8_packed_size(isa, fpg, k)
    pl.ch_group_stride = np_
    nd.path = PATH_FAST
    return pq_conv2d_s8_fast_scratch_size(pl)


cdef size_t _dw_plan(Node *nd, int isa) except? 0:
    cdef pq_dwconv_fast_plan *pl = &nd.dw_fast
    if nd.conv.depth_multiplier != 1 or not -128 <= -nd.conv.input_offset <= 127:
        return 0
    if isa == <int> PQ_ISA_AVX512VNNI and nd.d_filt.h * nd.d_filt.w > 256:  # the kernel's tap table
        return 0
    pl.isa, pl.p, pl.in_dims, pl.filter_dims, pl.out_dims = isa, nd.conv, nd.d_in, nd.d_filt, nd.d_out
    pl.cp = pq_dwconv_s8_cp(isa, nd.d_in.c)
    nd.path = PATH_FAST
    return pq_dwconv_s8_fast_scratch_size(pl)


cdef size_t _fc_plan(Node *nd, int isa) except? 0:
    cdef pq_gemm_s8_plan *g = &nd.fc_fast
    if nd.fc.filter_offset != 0:  # weights + offset may leave int8
        return 0
    if isa == <int> PQ_ISA_AMX and not amx_pays(PQ_FEED_DIRECT, nd.out_depth, nd.accum, nd.batches):
        isa = <int> PQ_ISA_AVX512VNNI
    g.isa, g.n, g.k = isa, nd.out_depth, nd.accum
    g.np, g.kp = pq_gemm_s8_np(isa, g.n), pq_gemm_s8_kp(isa, g.k)
    nd.path = PATH_FAST
    return pq_gemm_s8_scratch_size(isa, g.k)


def arena_bytes_for(model, kernels="fast", isa=None):
    """Arena bytes an interpreter of `model` needs with these kernels on this ISA (None: the
    best this CPU runs): the tensors, plus each op's planned scratch (SCRA) as large as this
    ISA needs it. The file's arena_size holds the hungriest ISA's scratch; a machine whose
    kernels need less allocates only this. 1.0 files: arena_size."""
    if model.scratch is None:
        return model.arena_size
    end = model.activation_bytes
    if isa is None:
        isa = best_isa()
    if kernels == "fast" and isa in ISA_NAMES:
        col = ISA_NAMES.index(isa)
        for (off, size), need in zip(model.scratch, fast_scratch_sizes(model)):
            if 0 < need[col] <= size:
                end = max(end, off + need[col])
    return (end + 63) // 64 * 64


def fast_scratch_sizes(model):
    """Scratch bytes of the fast kernels, per op of a validated ModelFile (runtime.format):
    one tuple per op, one entry per instruction set this build knows (ISA_NAMES order, all
    PQ_ISA_COUNT of them, whether or not this CPU runs them); 0 where the op needs none or
    runs a reference kernel. The converter plans max(entry) per op into the arena (SCRA).
    Pure arithmetic: no memory is bound, no weight packed, no ISA instruction executed."""
    cdef Core shapes = Core.__new__(Core)  # never run: _bind fills shapes and params, pointers stay NULL
    cdef Node nd
    cdef int isa
    sizes = []
    for op in model.ops:
        row = [0] * PQ_ISA_COUNT
        if op.opcode in FAST_OPCODES:
            memset(&nd, 0, sizeof(Node))
            shapes._bind(&nd, model, op)
            for isa in range(PQ_ISA_COUNT):
                row[isa] = _fast_plan(&nd, isa)
        sizes.append(tuple(row))
    return sizes


cdef class Core:
    """Bound op list over one arena. Not thread-safe: one Core per thread (a Core's own
    worker threads, num_threads > 1, are private to its invoke)."""

    cdef Node *nodes
    cdef int n_nodes
    cdef object _keep          # buffer and arena owners, kept alive with the pointers
    cdef const uint8_t *const_base
    cdef uint8_t *arena_base
    cdef readonly object failed_op
    cdef readonly str kernels      # "fast" or "reference"
    cdef readonly str isa          # instruction set of the fast kernels
    cdef readonly list op_paths    # per op: "reference" or "fast-..." (which kernel runs)
    cdef readonly list op_scratch  # per op: None, "arena" (planned in the file) or "separate"
    cdef readonly size_t scratch_bytes   # the fast kernels' scratch allocated outside the arena
    cdef readonly size_t prepared_bytes  # packed weights and per-channel constants
    cdef list _owned               # numpy buffers behind the fast kernels' pointers
    cdef void *scratch             # the buffer of the ops whose scratch is not in the arena
    cdef int isa_id
    cdef readonly int num_threads        # as asked; the pool has at most this many threads
    cdef readonly list op_split          # per op: "" (one thread) or "rows:N" / "channels:N"
    cdef readonly size_t thread_scratch_bytes  # the workers' scratch buffers together
    cdef pq_threadpool *pool             # NULL unless some op is split
    cdef void *pool_mem
    cdef void *extra_scratch[PQ_THREADPOOL_MAX]
    cdef double min_parallel_ns
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
        self.const_base = NULL
        self.arena_base = NULL
        self.pool = NULL
        self.pool_mem = NULL

    def __init__(self, model, const uint8_t[::1] const_buf, uint8_t[::1] arena, kernels="fast", isa=None,
                 num_threads=1, min_parallel_ns=None):
        # The tensors must fit; planned scratch is used where it fits too (an interpreter sizes
        # the arena for its own ISA's scratch, arena_bytes_for), else it gets the separate buffer.
        if arena.shape[0] < model.activation_bytes:
            raise ValueError(f"arena of {arena.shape[0]} bytes, the model's tensors need {model.activation_bytes}")
        if kernels not in ("fast", "reference"):
            raise ValueError(f"kernels must be 'fast' or 'reference', not {kernels!r}")
        if isa is None:
            isa = best_isa()
        if isa not in ISA_NAMES or not pq_isa_supported(ISA_NAMES.index(isa)):
            raise ValueError(f"instruction set {isa!r} is not available here; this machine has {supported_isas()}")
        self.kernels, self.isa, self.isa_id = kernels, isa, ISA_NAMES.index(isa)
        self.num_threads = _check_num_threads(num_threads)
        self.min_parallel_ns = PARALLEL_MIN_NS if min_parallel_ns is None else min_parallel_ns
        self._keep = (model.buf, const_buf, arena)
        self.const_base = &const_buf[0] if const_buf.shape[0] else NULL
        self.arena_base = &arena[0] if arena.shape[0] else NULL
        self.failed_op = None
        self._owned = []
        self.op_paths = []
        self.op_scratch = []
        self.prepared_bytes = 0
        n = len(model.ops)
        self.nodes = <Node *> PyMem_Malloc(max(n, 1) * sizeof(Node))
        if self.nodes == NULL:
            raise MemoryError()
        memset(self.nodes, 0, max(n, 1) * sizeof(Node))
        self.n_nodes = n
        # The planned scratch is usable only 64-byte aligned: offsets are (format.py checks),
        # so the arena's base must be too (interpreter.py allocates it so).
        planned = model.scratch if <uintptr_t> self.arena_base % 64 == 0 else None
        need = max_need = 0
        for i, op in enumerate(model.ops):
            self._bind(&self.nodes[i], model, op)
            op_need = self._bind_fast(&self.nodes[i], model, op) if kernels == "fast" else 0
            max_need = max(max_need, op_need)
            if op_need == 0:
                self.op_scratch.append(None)
            elif planned is not None and op_need <= planned[i][1] and planned[i][0] + op_need <= arena.shape[0]:
                self.nodes[i].scratch = <void *> (self.arena_base + <size_t> planned[i][0])
                self.op_scratch.append("arena")
            else:  # a 1.0 file, or an ISA needing more than the converter planned for
                need = max(need, op_need)
                self.op_scratch.append("separate")
            self.op_paths.append(self._path_name(&self.nodes[i]))
        self.scratch_bytes = need
        self.scratch = self._buffer(need, counted=False) if need else NULL
        for i in range(n):
            if self.op_scratch[i] == "separate":
                self.nodes[i].scratch = self.scratch
        # Workers get their own buffers, as large as the largest op need (any op may be split).
        self._start_threads(max_need)
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
        if self.pool != NULL:
            pq_threadpool_destroy(self.pool)  # joins the workers before their scratch is freed
            self.pool = NULL
        PyMem_Free(self.pool_mem)
        if self.nodes != NULL:
            for i in range(self.n_nodes):
                PyMem_Free(self.nodes[i].parts)
                PyMem_Free(self.nodes[i].part_sizes)
        PyMem_Free(self.nodes)

    cdef void *_ptr(self, model, int idx):
        if idx < 0:
            return NULL
        if self.arena_base == NULL and self.const_base == NULL:
            return NULL  # a Core that only sizes (fast_scratch_sizes): no memory behind it
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
                nd.pad.pads[k][0], nd.pad.pads[k][1] = p[f"before_{k}"], p[f"after_{k}"]
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

    cdef void *_buffer(self, size_t nbytes, bint counted=True) except NULL:
        """nbytes zeroed bytes, 64-byte aligned, owned by this Core (counted in prepared_bytes)."""
        raw = np.zeros(nbytes + 64, np.uint8)
        start = (-raw.ctypes.data) % 64
        self._owned.append(raw)
        if counted:
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
        cdef size_t need = _fast_plan(nd, self.isa_id)
        if nd.path != PATH_FAST:
            return 0
        if op.opcode == OP_CONV_2D:
            self._pack_conv(nd)
        elif op.opcode == OP_DEPTHWISE_CONV_2D:
            self._pack_dw(nd)
        elif op.opcode == OP_FULLY_CONNECTED:
            self._pack_fc(nd)
        return need

    cdef int _pack_conv(self, Node *nd) except -1:
        """Packed weights, folded biases and requantization constants of a planned fast CONV_2D."""
        cdef pq_conv2d_fast_plan *pl = &nd.conv_fast
        cdef pq_gemm_s8_plan *g = &pl.gemm
        cdef int isa = g.isa
        cdef int32_t groups = pl.groups, fpg = g.n, k = g.k, np_ = g.np, gi
        cdef int32_t *bias
        cdef int32_t *arr
        cdef int8_t *packed
        cdef const int8_t *w_all = nd.filt
        cdef const int8_t *w_g
        cdef const int32_t *b_g
        if pl.direct == PQ_FEED_ROWS and pl.kt != nd.d_filt.w * nd.d_filt.c:
            # Each filter row's weights padded with zeros to kt: the GEMM's k is taps * kt.
            tmp = np.empty(nd.d_out.c * pl.taps * pl.kt, np.int8)  # only needed while packing
            w_all = <int8_t *> <uintptr_t> tmp.ctypes.data
            pq_gemm_s8_pad_runs(nd.d_out.c, pl.taps, nd.d_filt.w * nd.d_filt.c, pl.kt, nd.filt, <int8_t *> w_all)
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
        return 0

    cdef int _pack_dw(self, Node *nd) except -1:
        cdef pq_dwconv_fast_plan *pl = &nd.dw_fast
        cdef int isa = pl.isa
        cdef int32_t c = nd.d_in.c, cp = pl.cp
        cdef int32_t taps = nd.d_filt.h * nd.d_filt.w
        cdef int32_t *bias
        cdef int8_t *packed
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
        return 0

    cdef int _pack_fc(self, Node *nd) except -1:
        cdef pq_gemm_s8_plan *g = &nd.fc_fast
        cdef int32_t *bias
        cdef int8_t *packed
        packed = <int8_t *> self._buffer(pq_gemm_s8_packed_size(g.isa, g.n, g.k))
        pq_gemm_s8_pack(g.isa, g.n, g.k, nd.filt, packed)
        bias = <int32_t *> self._buffer(<size_t> g.np * sizeof(int32_t))
        pq_gemm_s8_fold_bias(g.isa, g.n, g.np, g.k, nd.filt, nd.bias, nd.fc.input_offset, bias)
        g.w, g.rq.bias = packed, bias
        self._requant(&g.rq, g.n, g.np, nd.mult, nd.shift, nd.fc.per_channel, nd.fc.output_offset, nd.fc.act_min,
                      nd.fc.act_max)
        return 0

    # *** several threads ***

    cdef _start_threads(self, size_t need):
        """Split the ops worth splitting; start a pool for the largest split, with a scratch
        buffer of `need` bytes (the calling thread's size) for each worker."""
        cdef int i, t, err
        cdef int32_t threads = 1
        self.op_split = []
        self.thread_scratch_bytes = 0
        for i in range(self.n_nodes):
            self._plan_split(&self.nodes[i])
            threads = max(threads, self.nodes[i].split_parts)
            how = {PQ_SPLIT_ROWS: "rows", PQ_SPLIT_COLS: "channels"}.get(self.nodes[i].split)
            self.op_split.append(f"{how}:{self.nodes[i].split_parts}" if self.nodes[i].split_parts > 1 else "")
        if threads < 2:
            return
        for t in range(1, threads):
            raw = np.zeros(need + 64, np.uint8)
            self._owned.append(raw)
            self.extra_scratch[t] = <void *> <uintptr_t> (raw.ctypes.data + (-raw.ctypes.data) % 64)
            self.thread_scratch_bytes += need
        self.pool_mem = PyMem_Malloc(pq_threadpool_size())
        if self.pool_mem == NULL:
            raise MemoryError()
        err = pq_threadpool_init(self.pool_mem, threads, &self.pool)
        if err != 0:
            raise RuntimeError(f"could not start {threads - 1} worker threads (error {err})")

    cdef _plan_split(self, Node *nd):
        """Choose how the op's output is divided among the threads, at load: output rows
        (pixels, batches) where they divide evenly enough, else output channels, in blocks
        that keep the GEMM's register tiles whole; nothing estimated under min_parallel_ns."""
        cdef int32_t rows, unit, cols = 0, m
        cdef int64_t macs
        nd.split, nd.split_parts, nd.col_unit = PQ_SPLIT_NONE, 1, 0
        if self.num_threads < 2 or nd.path != PATH_FAST:
            return
        if nd.opcode == OP_CONV_2D:
            m = nd.d_out.n * nd.d_out.h * nd.d_out.w
            macs = <int64_t> m * nd.d_out.c * nd.d_filt.h * nd.d_filt.w * nd.d_filt.c
            rows = pq_conv2d_s8_fast_split_rows(&nd.conv_fast, &unit)
            if nd.conv_fast.groups == 1:
                cols = nd.d_out.c
        elif nd.opcode == OP_DEPTHWISE_CONV_2D:
            m = nd.d_out.n * nd.d_out.h * nd.d_out.w
            macs = <int64_t> m * nd.d_out.c * nd.d_filt.h * nd.d_filt.w
            rows = pq_dwconv_s8_fast_split_rows(&nd.dw_fast, &unit)
        elif nd.opcode == OP_FULLY_CONNECTED:
            m = nd.batches
            macs = <int64_t> m * nd.out_depth * nd.accum
            rows, unit, cols = m, PQ_SPLIT_GEMM_ROWS, nd.out_depth
        else:
            return
        gemm_cost, dw_cost = NS_PER_KMAC.get(self.isa, NS_PER_KMAC["portable"])
        if macs * (dw_cost if nd.opcode == OP_DEPTHWISE_CONV_2D else gemm_cost) / 1000.0 < self.min_parallel_ns:
            return
        r_speed, r_parts = self._speedup(rows, unit)
        c_speed, c_parts = self._speedup(cols, self._col_unit(m)) if cols else (1.0, 1)
        # Rows on a tie: a channel split has every part read (and pad) the whole input.
        if r_speed > 1.0 and r_speed >= c_speed:
            nd.split, nd.split_parts = PQ_SPLIT_ROWS, r_parts
        elif c_speed > 1.0:
            nd.split, nd.split_parts, nd.col_unit = PQ_SPLIT_COLS, c_parts, self._col_unit(m)

    cdef tuple _speedup(self, int32_t total, int32_t unit):
        """(total / largest part, fewest parts that reach it) over 1..num_threads parts."""
        cdef int32_t parts, p, lo, hi, largest
        best = (1.0, 1)
        for parts in range(2, self.num_threads + 1):
            largest = 0
            for p in range(parts):
                pq_split_range(total, unit, p, parts, &lo, &hi)
                largest = max(largest, hi - lo)
            if largest and <double> total / largest > best[0]:
                best = (<double> total / largest, parts)
        return best

    cdef int32_t _col_unit(self, int32_t m):
        """Output channels per column block: a multiple of the packing granule as wide as
        the GEMM's widest register tile for m rows (pq_gemm_s8_avx512.c, pq_gemm_s8_avx2.c),
        so that a part does not fall back to narrower, slower tiles."""
        if self.isa_id in (<int> PQ_ISA_AVX512VNNI, <int> PQ_ISA_AMX):  # AMX: 2 tiles of 16 columns
            return 128 if m <= 2 else 64
        if self.isa_id == <int> PQ_ISA_AVX2:
            return 32 if m == 1 else 16
        return pq_gemm_s8_np(self.isa_id, 1)

    cdef int _run_parts(self, Node *nd) noexcept nogil:
        """One split op: its parts on the pool's threads, the caller's included."""
        cdef PartJob job
        job.nd = nd
        job.scratch0 = nd.scratch
        job.extra = self.extra_scratch
        return pq_threadpool_run(self.pool, _part_task, &job, nd.split_parts)

    cdef str _path_name(self, Node *nd):
        if nd.path != PATH_FAST:
            return "reference"
        if nd.opcode == OP_CONV_2D:
            name = ("fast-conv-im2col", "fast-conv-1x1", "fast-conv-1x1-strided", "fast-conv-taps", "fast-conv-rows")[
                nd.conv_fast.direct
            ]
            return name + "-amx" if nd.conv_fast.gemm.isa == <int> PQ_ISA_AMX else name
        if nd.opcode == OP_DEPTHWISE_CONV_2D:
            return "fast-depthwise"
        if nd.opcode == OP_ADD:
            return "fast-add"
        if nd.opcode == OP_AVERAGE_POOL_2D:
            return "fast-avgpool"
        return "fast-fc-amx" if nd.fc_fast.isa == <int> PQ_ISA_AMX else "fast-fc"

    def profile_ops(self, int runs):
        """Median nanoseconds of each op run alone `runs` times over the arena as it is (call
        after an invoke, so every op reads real data; an op never writes its own inputs, so
        repeating it changes nothing). The clock is read here, around the op, never inside it."""
        cdef int i, r, failed
        medians = []
        for i in range(self.n_nodes):
            times = []
            for r in range(max(runs, 1)):
                t0 = time.perf_counter_ns()
                with nogil:
                    failed = self._run_range(i, i + 1)
                times.append(time.perf_counter_ns() - t0)
                if failed >= 0:
                    raise RuntimeError(f"op {i} failed while profiling")
            times.sort()
            medians.append(times[len(times) // 2])
        return medians

    cdef inline void *_op_scratch(self, const Node *nd) noexcept nogil:
        """The scratch an op's fast kernel works in (bound at load: its planned arena bytes, or
        the separate buffer). The one place that picks it, for a later per-thread scratch."""
        return nd.scratch

    cdef int _run(self) noexcept nogil:
        return self._run_range(0, self.n_nodes)

    cdef int _run_range(self, int a, int b) noexcept nogil:
        """Ops a..b-1 in order; the index of a failing op, or -1."""
        cdef int i
        cdef pq_status st = PQ_OK
        cdef Node *nd
        for i in range(a, b):
            nd = &self.nodes[i]
            if nd.path == PATH_FAST:
                if nd.split_parts > 1:
                    st = <pq_status> self._run_parts(nd)
                elif nd.opcode == OP_CONV_2D:
                    st = pq_conv2d_s8_fast(&nd.conv_fast, nd.in0, nd.out, self._op_scratch(nd))
                elif nd.opcode == OP_DEPTHWISE_CONV_2D:
                    st = pq_depthwise_conv2d_s8_fast(&nd.dw_fast, nd.in0, nd.out, self._op_scratch(nd))
                elif nd.opcode == OP_ADD:
                    st = pq_add_s8_fast(nd.isa, &nd.add, nd.add_n, nd.in0, nd.in1, nd.out)
                elif nd.opcode == OP_AVERAGE_POOL_2D:
                    st = pq_avg_pool2d_s8_fast(&nd.pool, &nd.d_in, nd.in0, &nd.d_out, nd.out,
                                               <uint32_t *> self._op_scratch(nd))
                else:
                    st = pq_fully_connected_s8_fast(&nd.fc_fast, nd.batches, nd.in0, nd.out, self._op_scratch(nd))
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
