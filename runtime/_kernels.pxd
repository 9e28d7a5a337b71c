# Declarations only: the C interpreter core (kernels/include/pq_interp.h) and what the
# extension needs beside it (fixed-point helpers, ISA traits, the thread pool).
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t


cdef extern from "pq_fixedpoint.h" nogil:
    int32_t pq_srdhm(int32_t a, int32_t b)
    int32_t pq_rdpot(int32_t x, int exponent)
    int32_t pq_mbqm(int32_t x, int32_t multiplier, int32_t shift)


cdef extern from "pq_fast.h" nogil:
    enum:
        PQ_ISA_COUNT  # ids 0 .. PQ_ISA_COUNT - 1
    int pq_isa_supported(int isa)


cdef extern from "pq_isa_traits.h" nogil:
    ctypedef struct pq_isa_traits:
        const char *name

    const pq_isa_traits *pq_isa_traits_get(int isa)


cdef extern from "pq_fast_bind.h" nogil:
    int pq_amx_pays(int feed, int32_t n, int32_t k, int32_t m)


cdef extern from "pq_fast_split.h" nogil:
    enum:
        PQ_SPLIT_NONE
        PQ_SPLIT_ROWS
        PQ_SPLIT_COLS


cdef extern from "pq_model.h" nogil:
    ctypedef struct pq_model_error:
        int code
        const char *field
        const char *why
        const char *param
        int32_t index
        int32_t sub
        int64_t offset
        int64_t value

    enum:
        PQ_MODEL_SKIP_CRC
        PQ_MODEL_E_TENSOR_NAME_DUPLICATE
        PQ_MODEL_E_OP_PARAM

    int pq_model_validate_flags(const uint8_t *buf, uint32_t len, uint32_t max_arena, uint32_t flags,
                                pq_model_error *err)
    int pq_model_validate_ws(const uint8_t *buf, uint32_t len, uint32_t max_arena, uint32_t flags,
                             void *ws, size_t ws_bytes, pq_model_error *err)
    size_t pq_model_validate_ws_bytes(const uint8_t *buf, uint32_t len)


cdef extern from "pq_op.h" nogil:
    enum:
        PQ_KERNEL_REFERENCE
        PQ_KERNEL_FAST
        PQ_OP_MAX_CODE
        PQ_N_VARIANTS

    ctypedef struct pq_op_info:
        uint16_t code
        uint8_t n_inputs
        uint8_t max_inputs
        int8_t optional_input
        uint8_t n_params
        const char *name
        const char *params_type
        const char **param_names

    ctypedef struct pq_op_kernel:
        const char *kernel

    const pq_op_info *pq_op_find(uint32_t code)
    const pq_op_kernel *pq_op_kernel_find(uint32_t code, int variant)
    const char *pq_variant_name(int variant)

    ctypedef struct pq_tensor:
        void *data
        int32_t count
        uint8_t dtype
        uint8_t rank
        int32_t dims[6]

    ctypedef struct pq_node:
        uint16_t opcode
        int32_t kernel
        int32_t split, n_parts, col_unit


cdef extern from "pq_interp.h" nogil:
    enum:
        PQ_INTERP_OK
        PQ_PARALLEL_MIN_NS

    ctypedef int (*pq_part_fn)(void *task_ctx, int32_t part, int32_t thread) noexcept nogil
    ctypedef int (*pq_parallel_fn)(void *parallel_ctx, pq_part_fn task, void *task_ctx, int32_t n_parts) noexcept nogil

    ctypedef struct pq_interp_options:
        int32_t kernels
        int32_t isa
        uint32_t max_arena
        int32_t validated
        int32_t num_threads
        int64_t min_parallel_ns
        pq_parallel_fn parallel
        void *parallel_ctx
        void **thread_scratch

    ctypedef struct pq_interp_sizes:
        size_t state_bytes, arena_bytes, activation_bytes, scratch_bytes

    ctypedef struct pq_interp:
        pq_tensor *tensors
        pq_node *nodes
        uint32_t n_tensors, n_ops, n_inputs, n_outputs
        int32_t failed_op
        pq_interp_options options

    const char *pq_interp_status_text(int status)
    pq_interp_options pq_interp_defaults()
    int pq_interp_plan(const uint8_t *buf, uint32_t length, const pq_interp_options *options,
                       pq_interp_sizes *sizes, pq_model_error *err)
    int pq_interp_prepare(pq_interp *it, const uint8_t *buf, uint32_t length, const pq_interp_options *options,
                          void *state, size_t state_bytes, uint8_t *arena, size_t arena_bytes, pq_model_error *err)
    int pq_interp_invoke(pq_interp *it)
    int pq_interp_invoke_ops(pq_interp *it, uint32_t first, uint32_t end)
    const char *pq_interp_kernel_name(const pq_interp *it, uint32_t i)
    const pq_tensor *pq_interp_input(const pq_interp *it, uint32_t i)
    const pq_tensor *pq_interp_output(const pq_interp *it, uint32_t i)


cdef extern from "pq_threadpool.h" nogil:
    enum:
        PQ_THREADPOOL_MAX

    ctypedef struct pq_threadpool:
        pass

    ctypedef int (*pq_task_fn)(void *ctx, int32_t task, int32_t thread) noexcept nogil

    int pq_threadpool_available()
    size_t pq_threadpool_size()
    int pq_threadpool_init(void *mem, int32_t n_threads, pq_threadpool **pool)
    void pq_threadpool_destroy(pq_threadpool *pool)
    int pq_threadpool_run(pq_threadpool *pool, pq_task_fn fn, void *ctx, int32_t n_tasks)


cdef extern from "pq_boundary.h" nogil:
    int pq_quantize_f32_s8(const float *x, int8_t *q, size_t n, float scale, int32_t zero_point)
    int pq_quantize_f64_s8(const double *x, int8_t *q, size_t n, float scale, int32_t zero_point)
    void pq_dequantize_s8_f32(const int8_t *q, float *y, size_t n, float scale, int32_t zero_point)
    int pq_quantize_f32_s16(const float *x, int16_t *q, size_t n, float scale, int32_t zero_point)
    int pq_quantize_f64_s16(const double *x, int16_t *q, size_t n, float scale, int32_t zero_point)
    void pq_dequantize_s16_f32(const int16_t *q, float *y, size_t n, float scale, int32_t zero_point)
