# cython: language_level=3
"""The extension's side of the interpreter: numpy, memory and the GIL around the C core.

The interpreter is C (kernels/include/pq_interp.h): it binds every op to the file's
parameter records and the arena, chooses each op's kernel, prepares the fast kernels
(packed weights, folded biases, per-channel requantization constants, thread splits)
and walks the op list. `Core` sizes its memory with pq_interp_plan, allocates the
state block and lets the caller's arena hold activations then scratch, prepares once,
and invokes with the GIL released. It receives a ModelFile that runtime.format has
already validated, so the core is told not to validate the same buffer again.

Kernels: kernels="fast" (the default) runs CONV_2D, DEPTHWISE_CONV_2D (depth multiplier
1), FULLY_CONNECTED, ADD (same shapes) and AVERAGE_POOL_2D on the fast kernels of
kernels/include/pq_fast.h wherever an op's parameters allow (else the reference kernel),
on the instruction set chosen at load (the best this CPU runs, or the one asked for).
Their scratch lies in the arena after the activations, sized for this ISA's kernels
(pq_interp_plan; a file's SCRA section, format 1.1, is validated and ignored).
kernels="reference" runs only the reference kernels, the ones firmware runs.

Threads (num_threads > 1, fast kernels only): the core splits each large enough
CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED over output rows or output channels
at prepare; this module starts a pool of workers (kernels/include/pq_threadpool.h),
gives each its own scratch buffer, and hands the core pq_threadpool_run as its
`parallel` callback. A part computes its output bytes exactly as the whole op does.

One inference at a time per Core: invoke, run1 and profile_ops hold the Core's lock (the
calling thread waits for it with the GIL released), and `with core:` holds it across
several steps (the Python side's copy in / invoke / copy out). Two threads sharing one
Core would otherwise run the op loop over the same arena and scratch, and through the
same pool, at once: the fast kernels then read each other's half-written scratch
(a wild pointer under UBSan), and pq_threadpool_run takes one caller at a time.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.pythread cimport (
    NOWAIT_LOCK,
    WAIT_LOCK,
    PyThread_acquire_lock,
    PyThread_allocate_lock,
    PyThread_free_lock,
    PyThread_release_lock,
    PyThread_type_lock,
)
from libc.stdint cimport int8_t, int16_t, int32_t, uint8_t, uint32_t, uintptr_t
from libc.string cimport memcpy

cdef extern from "pythread.h":
    unsigned long _thread_ident "PyThread_get_thread_ident" ()  # unsigned since Python 3.7

cimport numpy as cnp

import os
import time

import numpy as np

from _kernels cimport *

include "_validate.pxi"

cnp.import_array()

# Indexed by pq_isa (pq_fast.h), in order of preference: the default is the last one supported.
ISA_NAMES = tuple(pq_isa_traits_get(i).name.decode() for i in range(PQ_ISA_COUNT))
# Threads: an op is split only when it is estimated to take at least this long on one thread
# (pq_interp.h PQ_PARALLEL_MIN_NS); read at each load, so a test may lower it.
PARALLEL_MIN_NS = PQ_PARALLEL_MIN_NS
MAX_THREADS = PQ_THREADPOOL_MAX
_SPLIT_NAMES = {PQ_SPLIT_ROWS: "rows", PQ_SPLIT_COLS: "channels"}


def amx_pays(int feed, int n, int k, int m):
    """Whether AMX tiles beat the AVX-512 VNNI kernel on one GEMM (kernels/src/fast/pq_fast_bind.c)."""
    return bool(pq_amx_pays(feed, n, k, m))


def supported_isas():
    """Instruction sets the fast kernels can use on this machine, best last."""
    return [name for i, name in enumerate(ISA_NAMES) if pq_isa_supported(i)]


def best_isa():
    """The default instruction set: the best this machine runs (the last supported name)."""
    names = supported_isas()
    return names[len(names) - 1]  # not [-1]: this module compiles with wraparound=False


def _check_num_threads(num_threads):
    if isinstance(num_threads, bool) or not isinstance(num_threads, (int, np.integer)):
        raise ValueError(f"num_threads must be an int from 1 to {MAX_THREADS}, not {num_threads!r}")
    if not 1 <= num_threads <= MAX_THREADS:
        raise ValueError(f"num_threads must be from 1 to {MAX_THREADS}, not {num_threads}")
    if num_threads > 1 and not pq_threadpool_available():
        raise ValueError("num_threads > 1 needs POSIX threads, which this build of picoq does not have")
    return int(num_threads)


def _resolve(kernels, isa):
    """(kernels, isa name) as asked, checked; isa None: the best this CPU runs."""
    if kernels not in ("fast", "reference"):
        raise ValueError(f"kernels must be 'fast' or 'reference', not {kernels!r}")
    if isa is None:
        isa = best_isa()
    if isa not in ISA_NAMES or not pq_isa_supported(ISA_NAMES.index(isa)):
        raise ValueError(f"instruction set {isa!r} is not available here; this machine has {supported_isas()}")
    return kernels, isa


def _aligned_buffer(buf):
    """The model's bytes as a uint8 array starting on a 16-byte boundary, what the core needs
    to use the file's structs and constants in place (a view, not a copy, when they do)."""
    view = np.frombuffer(buf, np.uint8)
    if view.size and view.ctypes.data % 16 == 0:
        return view
    raw = np.zeros(view.size + 16, np.uint8)
    start = (-raw.ctypes.data) % 16
    raw[start : start + view.size] = view
    return raw[start : start + view.size]


cdef pq_interp_options _options(str kernels, str isa, int32_t num_threads, min_parallel_ns):
    cdef pq_interp_options o = pq_interp_defaults()
    o.kernels = PQ_KERNEL_FAST if kernels == "fast" else PQ_KERNEL_REFERENCE
    o.isa = ISA_NAMES.index(isa)
    o.max_arena = 0xFFFFFFFF  # runtime.format has checked the arena against its own limit
    o.validated = 1  # runtime.format validated this very buffer
    o.num_threads = num_threads
    o.min_parallel_ns = PARALLEL_MIN_NS if min_parallel_ns is None else min_parallel_ns
    return o


cdef pq_interp_sizes _plan(const uint8_t[::1] buf, pq_interp_options *o) except *:
    cdef pq_interp_sizes sizes
    cdef pq_model_error err
    cdef int rc = pq_interp_plan(&buf[0], <uint32_t> buf.shape[0], o, &sizes, &err)
    if rc != PQ_INTERP_OK:
        raise ValueError(f"cannot run this model: {pq_interp_status_text(rc).decode()}")
    return sizes


def plan_sizes(model, kernels="fast", isa=None):
    """pq_interp_plan's sizes for a validated ModelFile with these kernels on this ISA (None:
    the best this CPU runs): state_bytes, arena_bytes (activations, 64-aligned when scratch
    follows, then the largest op scratch), activation_bytes, scratch_bytes."""
    kernels, isa = _resolve(kernels, isa)
    cdef pq_interp_options o = _options(kernels, isa, 1, None)
    cdef pq_interp_sizes s = _plan(_aligned_buffer(model.buf), &o)
    return {"state_bytes": s.state_bytes, "arena_bytes": s.arena_bytes, "activation_bytes": s.activation_bytes,
            "scratch_bytes": s.scratch_bytes}


def arena_bytes_for(model, kernels="fast", isa=None):
    """Arena bytes an interpreter of `model` needs with these kernels on this ISA (None: the
    best this CPU runs): the tensors, then the largest scratch one op's kernel needs."""
    return plan_sizes(model, kernels, isa)["arena_bytes"]


# Incremented in the child of every fork(): a Core lock taken before the fork by a thread the
# child does not have is never released, so a Core whose lock is held and was taken in an
# earlier epoch gets a fresh lock (the interrupted inference's arena is simply overwritten).
cdef unsigned _fork_epoch = 0


def _on_fork_child():
    global _fork_epoch
    _fork_epoch += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_on_fork_child)


cdef int _parallel(void *pool, pq_part_fn task, void *task_ctx, int32_t n_parts) noexcept nogil:
    """The core's `parallel` callback: the parts on the pool's threads, the caller's included."""
    return pq_threadpool_run(<pq_threadpool *> pool, <pq_task_fn> task, task_ctx, n_parts)


cdef class Core:
    """A prepared interpreter over one arena. Calls from several threads are serialized by its
    lock, re-entrant for the thread holding it (`with core:`); a Core's own worker threads,
    num_threads > 1, are private to its invoke."""

    cdef pq_interp it
    cdef object _keep              # model buffer, arena and state owners, kept alive with the pointers
    cdef readonly object failed_op
    cdef readonly str kernels      # "fast" or "reference"
    cdef readonly str isa          # instruction set of the fast kernels
    cdef readonly list op_paths    # per op: "reference" or "fast-..." (which kernel runs)
    cdef readonly list op_scratch  # per op: None or "arena" (its scratch after the activations)
    cdef readonly size_t scratch_bytes   # the fast kernels' scratch allocated outside the arena: none
    cdef readonly size_t arena_scratch_bytes  # the scratch after the activations (largest op need)
    cdef readonly size_t prepared_bytes  # state: tensor table, nodes, packed weights and constants
    cdef readonly int num_threads        # as asked; the pool has at most this many threads
    cdef readonly list op_split          # per op: "" (one thread) or "rows:N" / "channels:N"
    cdef readonly size_t thread_scratch_bytes  # the workers' scratch buffers together
    cdef pq_threadpool *pool             # NULL unless some op is split
    cdef void *pool_mem
    cdef void *thread_scratch[PQ_THREADPOOL_MAX]
    # run1(): the one int8 input and the one int8 output, when the model has exactly that,
    # and their per-tensor quantization (float input, float32 output) when they have one.
    cdef uint8_t *in0_ptr
    cdef const uint8_t *out0_ptr
    cdef size_t in0_bytes, out0_bytes
    cdef int in0_ndim, out0_ndim
    cdef cnp.npy_intp in0_dims[6]
    cdef cnp.npy_intp out0_dims[6]
    cdef bint in0_quant, out0_quant
    cdef bint in0_wide, out0_wide  # int16 (16x8) rather than int8
    cdef size_t in0_count, out0_count
    cdef float in0_scale, out0_scale
    cdef int32_t in0_zp, out0_zp
    # The lock: owner thread and depth (read and written with the GIL held), the fork epoch it
    # was taken in.
    cdef PyThread_type_lock lock
    cdef unsigned long lock_owner
    cdef int lock_depth
    cdef unsigned lock_epoch

    def __cinit__(self):
        self.pool = NULL
        self.pool_mem = NULL
        self.in0_ptr = NULL
        self.lock_owner = 0
        self.lock_depth = 0
        self.lock = PyThread_allocate_lock()
        if self.lock == NULL:
            raise MemoryError()

    cdef int _acquire(self) except -1:
        """Take the lock (or go one deeper if this thread holds it), waiting with the GIL released."""
        cdef unsigned long me = _thread_ident()
        cdef PyThread_type_lock fresh
        cdef int got
        if self.lock_depth and self.lock_owner == me:
            self.lock_depth += 1
            return 0
        if not PyThread_acquire_lock(self.lock, NOWAIT_LOCK):
            if self.lock_depth and self.lock_epoch != _fork_epoch:
                # Held by a thread of the parent process: nobody here will release it.
                fresh = PyThread_allocate_lock()
                if fresh == NULL:
                    raise MemoryError()
                self.lock = fresh  # the old one is dropped, not freed: freeing a held lock is undefined
                got = PyThread_acquire_lock(self.lock, NOWAIT_LOCK)
            else:
                with nogil:
                    got = PyThread_acquire_lock(self.lock, WAIT_LOCK)
            if not got:
                raise RuntimeError("could not take the interpreter's lock")
        self.lock_owner, self.lock_depth, self.lock_epoch = me, 1, _fork_epoch
        return 0

    cdef void _release(self) noexcept:
        self.lock_depth -= 1
        if self.lock_depth == 0:
            self.lock_owner = 0
            PyThread_release_lock(self.lock)

    def __enter__(self):
        self._acquire()
        return self

    def __exit__(self, *exc):
        if not self.lock_depth or self.lock_owner != _thread_ident():
            raise RuntimeError("this thread does not hold the interpreter's lock")
        self._release()
        return False

    def __init__(self, model, const uint8_t[::1] const_buf, uint8_t[::1] arena, kernels="fast", isa=None,
                 num_threads=1, min_parallel_ns=None):
        cdef pq_interp_options o
        cdef pq_interp_sizes sizes
        cdef pq_model_error err
        cdef const uint8_t[::1] buf
        cdef uint8_t[::1] state_view
        cdef int rc
        cdef uint32_t i
        if self.pool_mem != NULL or self._keep is not None:
            raise RuntimeError("a Core is initialized once")  # a second pool would leak the first's threads
        self.kernels, self.isa = _resolve(kernels, isa)
        self.num_threads = _check_num_threads(num_threads)
        self.failed_op = None
        # The constants are used in place: const_buf is the whole (validated) file.
        buf = const_buf if <uintptr_t> &const_buf[0] % 16 == 0 else _aligned_buffer(const_buf)
        o = _options(self.kernels, self.isa, self.num_threads, min_parallel_ns)
        o.thread_scratch = self.thread_scratch
        sizes = _plan(buf, &o)
        if <size_t> arena.shape[0] < sizes.arena_bytes:
            raise ValueError(f"arena of {arena.shape[0]} bytes, the model needs {sizes.arena_bytes} "
                             f"(activations {sizes.activation_bytes}, scratch {sizes.scratch_bytes})")
        if <uintptr_t> &arena[0] % 64:
            raise ValueError("the arena must start on a 64-byte boundary")
        state = np.zeros(sizes.state_bytes + 64, np.uint8)
        start = (-state.ctypes.data) % 64
        state_view = state[start : start + sizes.state_bytes]
        self._keep = (model.buf, const_buf, buf, arena, state)
        rc = pq_interp_prepare(&self.it, &buf[0], <uint32_t> buf.shape[0], &o, &state_view[0], sizes.state_bytes,
                               &arena[0], arena.shape[0], &err)
        if rc != PQ_INTERP_OK:
            raise ValueError(f"cannot prepare this model: {pq_interp_status_text(rc).decode()}")
        self.scratch_bytes = 0
        self.arena_scratch_bytes = sizes.scratch_bytes
        self.prepared_bytes = sizes.state_bytes
        self.op_paths, self.op_scratch, self.op_split = [], [], []
        threads = 1
        for i in range(self.it.n_ops):
            nd = &self.it.nodes[i]
            self.op_paths.append(pq_interp_kernel_name(&self.it, i).decode())
            self.op_scratch.append("arena" if nd.kernel == PQ_KERNEL_FAST and sizes.scratch_bytes else None)
            self.op_split.append(f"{_SPLIT_NAMES[nd.split]}:{nd.n_parts}" if nd.n_parts > 1 else "")
            threads = max(threads, nd.n_parts)
        self._start_threads(threads, sizes.scratch_bytes)
        self._bind_run1(model)

    cdef _start_threads(self, int threads, size_t need):
        """A pool of `threads` threads for the largest split, each worker with `need` bytes of
        scratch (the calling thread works in the arena's)."""
        cdef int t, err
        self.thread_scratch_bytes = 0
        if threads < 2:
            return
        owned = []
        for t in range(1, threads):
            raw = np.zeros(need + 64, np.uint8)
            owned.append(raw)
            self.thread_scratch[t] = <void *> <uintptr_t> (raw.ctypes.data + (-raw.ctypes.data) % 64)
            self.thread_scratch_bytes += need
        self._keep = (*self._keep, owned)
        self.pool_mem = PyMem_Malloc(pq_threadpool_size())
        if self.pool_mem == NULL:
            raise MemoryError()
        err = pq_threadpool_init(self.pool_mem, threads, &self.pool)
        if err != 0:
            raise RuntimeError(f"could not start {threads - 1} worker threads (error {err})")
        self.it.options.parallel = _parallel
        self.it.options.parallel_ctx = self.pool

    cdef _bind_run1(self, model):
        cdef const pq_tensor *x
        cdef const pq_tensor *y
        cdef int k
        if self.it.n_inputs != 1 or self.it.n_outputs != 1:
            return
        x, y = pq_interp_input(&self.it, 0), pq_interp_output(&self.it, 0)
        if x.dtype not in (1, 3) or y.dtype not in (1, 3):  # PQ_DT_INT8, PQ_DT_INT16
            return
        tx, ty = model.tensors[model.inputs[0]], model.tensors[model.outputs[0]]
        self.in0_quant, self.out0_quant = tx.scales.size == 1, ty.scales.size == 1
        if self.in0_quant:  # the validator has checked the zero points' range
            self.in0_scale, self.in0_zp = tx.scales[0], tx.zero_points[0]
        if self.out0_quant:
            self.out0_scale, self.out0_zp = ty.scales[0], ty.zero_points[0]
        self.in0_wide, self.out0_wide = x.dtype == 3, y.dtype == 3
        self.in0_ptr, self.out0_ptr = <uint8_t *> x.data, <const uint8_t *> y.data
        self.in0_count, self.out0_count = x.count, y.count
        self.in0_bytes, self.out0_bytes = x.count * (2 if self.in0_wide else 1), y.count * (2 if self.out0_wide else 1)
        self.in0_ndim, self.out0_ndim = x.rank, y.rank
        for k in range(x.rank):
            self.in0_dims[k] = x.dims[k]
        for k in range(y.rank):
            self.out0_dims[k] = y.dims[k]

    def __dealloc__(self):
        if self.pool != NULL:
            pq_threadpool_destroy(self.pool)  # joins the workers before their scratch is freed
            self.pool = NULL
        PyMem_Free(self.pool_mem)
        self.pool_mem = NULL
        if self.lock != NULL and self.lock_depth == 0:  # held only when a fork left it so: dropped
            PyThread_free_lock(self.lock)
        self.lock = NULL

    def profile_ops(self, int runs):
        """Median nanoseconds of each op run alone `runs` times over the arena as it is (call
        after an invoke, so every op reads real data; an op never writes its own inputs, so
        repeating it changes nothing). The clock is read here, around the op, never inside it."""
        cdef uint32_t i
        cdef int r, rc
        medians = []
        with self:
            for i in range(self.it.n_ops):
                times = []
                for r in range(max(runs, 1)):
                    t0 = time.perf_counter_ns()
                    with nogil:
                        rc = pq_interp_invoke_ops(&self.it, i, i + 1)
                    times.append(time.perf_counter_ns() - t0)
                    if rc != PQ_INTERP_OK:
                        raise RuntimeError(f"op {i} failed while profiling")
                times.sort()
                medians.append(times[len(times) // 2])
        return medians

    def run1(self, x):
        """The common call in one step: x, a C-contiguous array of exactly the input's shape,
        int8 or int16 as the input is (raw: a new int8 / int16 array holding the output) or
        native float32 / float64 (quantized, and the output dequantized to a new float32
        array; kept raw when its quantization is per channel), into the arena, run. Returns None (having done
        nothing) for anything else, a float input that holds NaN included, which the
        caller then handles (and refuses)."""
        cdef cnp.ndarray a
        cdef int k, kind, nan
        cdef int8_t *q
        if self.in0_ptr == NULL or type(x) is not np.ndarray:
            return None
        a = <cnp.ndarray> x
        if not cnp.PyArray_IS_C_CONTIGUOUS(a) or cnp.PyArray_NDIM(a) != self.in0_ndim:
            return None
        for k in range(self.in0_ndim):
            if cnp.PyArray_DIMS(a)[k] != self.in0_dims[k]:
                return None
        kind = cnp.PyArray_TYPE(a)
        if kind == (cnp.NPY_INT16 if self.in0_wide else cnp.NPY_INT8) and cnp.PyArray_ISNOTSWAPPED(a):
            return self._invoke1(cnp.PyArray_DATA(a), False)
        if (kind != cnp.NPY_FLOAT and kind != cnp.NPY_DOUBLE) or not cnp.PyArray_ISNOTSWAPPED(a) \
                or not self.in0_quant:
            return None
        # Quantized outside the lock into a buffer of its own: a NaN leaves the arena untouched.
        q = <int8_t *> PyMem_Malloc(self.in0_bytes + 1)
        if q == NULL:
            raise MemoryError()
        try:
            with nogil:
                if self.in0_wide and kind == cnp.NPY_FLOAT:
                    nan = pq_quantize_f32_s16(<const float *> cnp.PyArray_DATA(a), <int16_t *> q,
                                              self.in0_count, self.in0_scale, self.in0_zp)
                elif self.in0_wide:
                    nan = pq_quantize_f64_s16(<const double *> cnp.PyArray_DATA(a), <int16_t *> q,
                                              self.in0_count, self.in0_scale, self.in0_zp)
                elif kind == cnp.NPY_FLOAT:
                    nan = pq_quantize_f32_s8(<const float *> cnp.PyArray_DATA(a), q, self.in0_count,
                                             self.in0_scale, self.in0_zp)
                else:
                    nan = pq_quantize_f64_s8(<const double *> cnp.PyArray_DATA(a), q, self.in0_count,
                                             self.in0_scale, self.in0_zp)
            return None if nan else self._invoke1(q, self.out0_quant)
        finally:
            PyMem_Free(q)

    cdef cnp.ndarray _invoke1(self, const void *x, bint dequantize_out):
        """Copy in0_bytes from x into the input, invoke, and return the output as a new array:
        float32 dequantized, or raw (int8 or int16)."""
        cdef cnp.ndarray out
        cdef int rc
        cdef int raw = cnp.NPY_INT16 if self.out0_wide else cnp.NPY_INT8
        out = cnp.PyArray_EMPTY(self.out0_ndim, self.out0_dims, cnp.NPY_FLOAT if dequantize_out else raw, 0)
        self._acquire()
        try:
            memcpy(self.in0_ptr, x, self.in0_bytes)
            with nogil:
                rc = pq_interp_invoke(&self.it)
            if rc != PQ_INTERP_OK:
                raise RuntimeError(f"kernel of op {self.it.failed_op} reported an error")
            if dequantize_out and self.out0_wide:
                pq_dequantize_s16_f32(<const int16_t *> self.out0_ptr, <float *> cnp.PyArray_DATA(out),
                                      self.out0_count, self.out0_scale, self.out0_zp)
            elif dequantize_out:
                pq_dequantize_s8_f32(<const int8_t *> self.out0_ptr, <float *> cnp.PyArray_DATA(out),
                                     self.out0_count, self.out0_scale, self.out0_zp)
            else:
                memcpy(cnp.PyArray_DATA(out), self.out0_ptr, self.out0_bytes)
        finally:
            self._release()
        return out

    def invoke_ops(self, uint32_t first, uint32_t end):
        """Run ops first .. end - 1 once, in order, on the arena as it is: invoke's loop over
        a slice of the ops (compare runs one op on inputs it wrote into the arena)."""
        cdef int rc
        if first > end or end > self.it.n_ops:
            raise ValueError(f"ops {first}..{end} out of the model's {self.it.n_ops}")
        self._acquire()
        try:
            with nogil:
                rc = pq_interp_invoke_ops(&self.it, first, end)
            if rc != PQ_INTERP_OK:
                raise RuntimeError(f"kernel of op {self.it.failed_op} reported an error")
        finally:
            self._release()

    def invoke(self):
        """Run every op once on the arena; the GIL is released for the whole loop."""
        cdef int rc
        self._acquire()
        try:
            with nogil:
                rc = pq_interp_invoke(&self.it)
            if rc != PQ_INTERP_OK:
                raise RuntimeError(f"kernel of op {self.it.failed_op} reported an error")
        finally:
            self._release()


# *** the float boundary of Interpreter.run (../boundary/pq_boundary.h) ***

cdef object _float_input(x):
    """x as a C-contiguous, native-order float32 or float64 ndarray: float32 and float64 as
    they are, other float dtypes (float16, longdouble, byte-swapped) converted to float32,
    as numpy rounds them."""
    cdef cnp.ndarray a = <cnp.ndarray?> x
    cdef int kind = cnp.PyArray_TYPE(a)
    if (kind != cnp.NPY_FLOAT and kind != cnp.NPY_DOUBLE) or not cnp.PyArray_ISNOTSWAPPED(a):
        a = a.astype(np.float32)
    if not cnp.PyArray_IS_C_CONTIGUOUS(a):
        a = np.ascontiguousarray(a)
    return a


cdef object _quantize_to(x, float scale, int32_t zero_point, bint wide):
    """quantize / quantize_s16: int8, or int16 when `wide`."""
    cdef cnp.ndarray a, q
    cdef size_t n
    cdef int f64, nan
    cdef void *out
    cdef const void *src
    if wide and not -32768 <= zero_point <= 32767:
        raise ValueError(f"zero point {zero_point} outside [-32768, 32767]")
    if not wide and not -128 <= zero_point <= 127:
        raise ValueError(f"zero point {zero_point} outside [-128, 127]")
    a = _float_input(x)
    f64 = cnp.PyArray_TYPE(a) == cnp.NPY_DOUBLE
    q = cnp.PyArray_EMPTY(cnp.PyArray_NDIM(a), cnp.PyArray_DIMS(a), cnp.NPY_INT16 if wide else cnp.NPY_INT8, 0)
    n = <size_t> cnp.PyArray_SIZE(a)
    src, out = cnp.PyArray_DATA(a), cnp.PyArray_DATA(q)
    with nogil:
        if wide:
            nan = (pq_quantize_f64_s16(<const double *> src, <int16_t *> out, n, scale, zero_point) if f64
                   else pq_quantize_f32_s16(<const float *> src, <int16_t *> out, n, scale, zero_point))
        else:
            nan = (pq_quantize_f64_s8(<const double *> src, <int8_t *> out, n, scale, zero_point) if f64
                   else pq_quantize_f32_s8(<const float *> src, <int8_t *> out, n, scale, zero_point))
    return None if nan else q


cdef object _dequantize_from(q, float scale, int32_t zero_point, bint wide):
    """dequantize / dequantize_s16: from int8, or int16 when `wide`."""
    cdef cnp.ndarray a = <cnp.ndarray?> q
    cdef cnp.ndarray y
    cdef size_t n
    cdef const void *src
    if cnp.PyArray_TYPE(a) != (cnp.NPY_INT16 if wide else cnp.NPY_INT8):
        raise TypeError(f"{'dequantize_s16 takes int16' if wide else 'dequantize takes int8'}, not {a.dtype}")
    if wide and not -32768 <= zero_point <= 32767:
        raise ValueError(f"zero point {zero_point} outside [-32768, 32767]")
    if not wide and not -128 <= zero_point <= 127:
        raise ValueError(f"zero point {zero_point} outside [-128, 127]")
    if not cnp.PyArray_IS_C_CONTIGUOUS(a):
        a = np.ascontiguousarray(a)
    y = cnp.PyArray_EMPTY(cnp.PyArray_NDIM(a), cnp.PyArray_DIMS(a), cnp.NPY_FLOAT, 0)
    n = <size_t> cnp.PyArray_SIZE(a)
    src = cnp.PyArray_DATA(a)
    with nogil:
        if wide:
            pq_dequantize_s16_f32(<const int16_t *> src, <float *> cnp.PyArray_DATA(y), n, scale, zero_point)
        else:
            pq_dequantize_s8_f32(<const int8_t *> src, <float *> cnp.PyArray_DATA(y), n, scale, zero_point)
    return y


def quantize(x, float scale, int32_t zero_point):
    """x, a float ndarray of any layout, as a new int8 array of its shape: round half away
    from zero of x / scale, plus zero_point (in [-128, 127]), saturated; None (and no
    array) if x holds a NaN. float32 and float64 are read as they are, other float dtypes
    (float16, longdouble, byte-swapped) converted to float32 first, as numpy rounds them."""
    return _quantize_to(x, scale, zero_point, False)


def dequantize(q, float scale, int32_t zero_point):
    """q, an int8 ndarray of any layout, as a new float32 array of its shape:
    (q - zero_point) * scale, zero_point in [-128, 127]."""
    return _dequantize_from(q, scale, zero_point, False)


def quantize_s16(x, float scale, int32_t zero_point):
    """quantize() for an int16 (16x8) tensor: a new int16 array, zero_point in
    [-32768, 32767]; None if x holds a NaN."""
    return _quantize_to(x, scale, zero_point, True)


def dequantize_s16(q, float scale, int32_t zero_point):
    """dequantize() for an int16 array: a new float32 array, zero_point in [-32768, 32767]."""
    return _dequantize_from(q, scale, zero_point, True)


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
