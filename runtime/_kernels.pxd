# Declarations only: the C kernels in kernels/src, mirrored from kernels/include/pq_kernels.h.
from libc.stdint cimport int8_t, int32_t, uint32_t


cdef extern from "pq_kernels.h" nogil:
    ctypedef enum pq_status:
        PQ_OK
        PQ_ERR_PARAM

    ctypedef struct pq_dims:
        int32_t n, h, w, c

    ctypedef struct pq_conv_params:
        int32_t stride_h, stride_w, dilation_h, dilation_w, pad_h, pad_w
        int32_t input_offset, output_offset, act_min, act_max, depth_multiplier

    ctypedef struct pq_fc_params:
        int32_t input_offset, filter_offset, output_offset, act_min, act_max, per_channel

    ctypedef struct pq_add_params:
        int32_t input1_offset, input2_offset, output_offset, left_shift
        int32_t input1_multiplier, input1_shift, input2_multiplier, input2_shift
        int32_t output_multiplier, output_shift, act_min, act_max

    ctypedef struct pq_pool_params:
        int32_t stride_h, stride_w, filter_h, filter_w, pad_h, pad_w, act_min, act_max

    ctypedef struct pq_softmax_params:
        int32_t input_multiplier, input_left_shift, diff_min

    pq_status pq_conv2d_s8(const pq_conv_params *p, const int32_t *mult, const int32_t *shift,
                           const pq_dims *in_dims, const int8_t *inp, const pq_dims *filter_dims,
                           const int8_t *filt, const int32_t *bias, const pq_dims *out_dims, int8_t *out)
    pq_status pq_depthwise_conv2d_s8(const pq_conv_params *p, const int32_t *mult, const int32_t *shift,
                                     const pq_dims *in_dims, const int8_t *inp, const pq_dims *filter_dims,
                                     const int8_t *filt, const int32_t *bias, const pq_dims *out_dims,
                                     int8_t *out)
    pq_status pq_fully_connected_s8(const pq_fc_params *p, const int32_t *mult, const int32_t *shift,
                                    int32_t batches, int32_t accum_depth, int32_t out_depth,
                                    const int8_t *inp, const int8_t *filt, const int32_t *bias, int8_t *out)
    pq_status pq_add_s8(const pq_add_params *p, int32_t rank, const int32_t *in1_shape, const int8_t *in1,
                        const int32_t *in2_shape, const int8_t *in2, const int32_t *out_shape, int8_t *out)
    pq_status pq_avg_pool2d_s8(const pq_pool_params *p, const pq_dims *in_dims, const int8_t *inp,
                               const pq_dims *out_dims, int8_t *out)
    pq_status pq_softmax_s8(const pq_softmax_params *p, int32_t outer, int32_t depth,
                            const int8_t *inp, int8_t *out)


cdef extern from "pq_fixedpoint.h" nogil:
    int32_t pq_srdhm(int32_t a, int32_t b)
    int32_t pq_rdpot(int32_t x, int exponent)
    int32_t pq_mbqm(int32_t x, int32_t multiplier, int32_t shift)


# The fast kernels (kernels/include/pq_fast.h): same bytes, prepared at load time.
cdef extern from "pq_fast.h" nogil:
    ctypedef enum pq_isa:
        PQ_ISA_PORTABLE
        PQ_ISA_AVX2
        PQ_ISA_AVX512VNNI
        PQ_ISA_NEON
        PQ_ISA_NEON_DOT
        PQ_ISA_AMX

    cdef enum:
        PQ_ISA_COUNT  # ids 0 .. PQ_ISA_COUNT - 1

    int pq_isa_supported(int isa)

    ctypedef struct pq_requant:
        const int32_t *bias
        const int32_t *mult
        const int32_t *lshift
        const int32_t *rshift
        const int32_t *rmask
        int32_t any_lshift, output_offset, act_min, act_max

    void pq_requant_expand(int32_t n, int32_t np, const int32_t *mult, const int32_t *shift, int32_t per_channel,
                           int32_t *out_mult, int32_t *out_lshift, int32_t *out_rshift, int32_t *out_rmask)

    ctypedef struct pq_gemm_s8_plan:
        int32_t isa, n, k, np, kp
        const int8_t *w
        pq_requant rq

    int32_t pq_gemm_s8_np(int isa, int32_t n)
    int32_t pq_gemm_s8_kp(int isa, int32_t k)
    size_t pq_gemm_s8_packed_size(int isa, int32_t n, int32_t k)
    void pq_gemm_s8_pack(int isa, int32_t n, int32_t k, const int8_t *w, int8_t *packed)
    void pq_gemm_s8_fold_bias(int isa, int32_t n, int32_t np, int32_t k, const int8_t *w, const int32_t *bias,
                              int32_t input_offset, int32_t *out)
    size_t pq_gemm_s8_scratch_size(int isa, int32_t k)

    cdef enum:
        PQ_FEED_IM2COL
        PQ_FEED_DIRECT
        PQ_FEED_STRIDED
        PQ_FEED_TAPS
        PQ_FEED_ROWS

    void pq_gemm_s8_pad_runs(int32_t n, int32_t runs, int32_t len, int32_t padded, const int8_t *w, int8_t *out)

    ctypedef struct pq_conv2d_fast_plan:
        pq_conv_params p
        pq_dims in_dims, filter_dims, out_dims
        int32_t groups, direct, chunk_rows, taps, kt
        pq_gemm_s8_plan gemm
        size_t w_group_stride
        int32_t ch_group_stride

    size_t pq_conv2d_s8_fast_scratch_size(const pq_conv2d_fast_plan *plan)
    pq_status pq_conv2d_s8_fast(const pq_conv2d_fast_plan *plan, const int8_t *inp, int8_t *out, void *scratch)

    pq_status pq_fully_connected_s8_fast(const pq_gemm_s8_plan *plan, int32_t batches, const int8_t *inp,
                                         int8_t *out, void *scratch)

    ctypedef struct pq_dwconv_fast_plan:
        int32_t isa
        pq_conv_params p
        pq_dims in_dims, filter_dims, out_dims
        int32_t cp
        const int8_t *w
        pq_requant rq

    int32_t pq_dwconv_s8_cp(int isa, int32_t c)
    size_t pq_dwconv_s8_packed_size(int isa, int32_t taps, int32_t c)
    void pq_dwconv_s8_pack(int isa, int32_t taps, int32_t c, const int8_t *filt, int8_t *packed)
    void pq_dwconv_s8_fold_bias(int isa, int32_t taps, int32_t c, int32_t cp, const int8_t *filt,
                                const int32_t *bias, int32_t input_offset, int32_t *out)
    void pq_dwconv_s8_order(int isa, int32_t c, int32_t cp, int32_t *values)
    size_t pq_dwconv_s8_fast_scratch_size(const pq_dwconv_fast_plan *plan)
    pq_status pq_depthwise_conv2d_s8_fast(const pq_dwconv_fast_plan *plan, const int8_t *inp, int8_t *out,
                                          void *scratch)

    pq_status pq_avg_pool2d_s8_fast(const pq_pool_params *p, const pq_dims *in_dims, const int8_t *inp,
                                    const pq_dims *out_dims, int8_t *out, uint32_t *sum)

    pq_status pq_add_s8_fast(int isa, const pq_add_params *p, int32_t n, const int8_t *in1, const int8_t *in2,
                             int8_t *out)


# Op codes 8..17 (kernels/include/pq_kernels.h, second block).
cdef extern from "pq_kernels.h" nogil:
    ctypedef struct pq_mul_params:
        int32_t input1_offset, input2_offset, output_offset, output_multiplier, output_shift, act_min, act_max

    ctypedef struct pq_mean_params:
        int32_t axis_mask, keep_dims, input_offset, output_offset, multiplier, shift

    ctypedef struct pq_pad_params:
        int32_t pad_value
        int32_t pads[6][2]

    ctypedef struct pq_logistic_params:
        int32_t input_offset, input_range_radius, input_multiplier, input_left_shift

    ctypedef struct pq_hard_swish_params:
        int32_t input_offset, output_offset, reluish_multiplier, reluish_shift, output_multiplier, output_shift

    ctypedef struct pq_leaky_relu_params:
        int32_t input_offset, output_offset, identity_multiplier, identity_shift, alpha_multiplier, alpha_shift

    pq_status pq_max_pool2d_s8(const pq_pool_params *p, const pq_dims *in_dims, const int8_t *inp,
                               const pq_dims *out_dims, int8_t *out)
    pq_status pq_mul_s8(const pq_mul_params *p, int32_t rank, const int32_t *in1_shape, const int8_t *in1,
                        const int32_t *in2_shape, const int8_t *in2, const int32_t *out_shape, int8_t *out)
    pq_status pq_mean_s8(const pq_mean_params *p, int32_t rank, const int32_t *in_shape, int32_t axis_mask,
                         const int8_t *inp, int8_t *out)
    pq_status pq_concatenation_s8(int32_t n_inputs, const int8_t *const *inputs, const int32_t *axis_sizes,
                                  const int32_t *requant, int32_t output_offset, int32_t outer, int32_t inner,
                                  int8_t *out)
    pq_status pq_pad_s8(const pq_pad_params *p, int32_t rank, const int32_t *in_shape, const int8_t *inp,
                        int8_t *out)
    pq_status pq_logistic_s8(const pq_logistic_params *p, int32_t size, const int8_t *inp, int8_t *out)
    pq_status pq_tanh_s8(const pq_logistic_params *p, int32_t size, const int8_t *inp, int8_t *out)
    pq_status pq_hard_swish_s8(const pq_hard_swish_params *p, int32_t size, const int8_t *inp, int8_t *out)
    pq_status pq_leaky_relu_s8(const pq_leaky_relu_params *p, int32_t size, const int8_t *inp, int8_t *out)
    pq_status pq_transpose_s8(int32_t rank, const int32_t *in_shape, const int32_t *perm, const int8_t *inp,
                              int8_t *out)


# Several threads (kernels/include/pq_fast_split.h, pq_threadpool.h): parts of one fast op, and the pool
# that runs them.
cdef extern from "pq_fast_split.h" nogil:
    cdef enum:
        PQ_SPLIT_NONE
        PQ_SPLIT_ROWS
        PQ_SPLIT_COLS
        PQ_SPLIT_GEMM_ROWS

    void pq_split_range(int32_t total, int32_t unit, int32_t part, int32_t parts, int32_t *lo, int32_t *hi)
    int32_t pq_conv2d_s8_fast_split_rows(const pq_conv2d_fast_plan *plan, int32_t *unit)
    int32_t pq_dwconv_s8_fast_split_rows(const pq_dwconv_fast_plan *plan, int32_t *unit)
    pq_status pq_conv2d_s8_fast_part(const pq_conv2d_fast_plan *plan, const int8_t *inp, int8_t *out, void *scratch,
                                     int32_t split, int32_t col_unit, int32_t part, int32_t parts)
    pq_status pq_depthwise_conv2d_s8_fast_part(const pq_dwconv_fast_plan *plan, const int8_t *inp, int8_t *out,
                                               void *scratch, int32_t part, int32_t parts)
    pq_status pq_fully_connected_s8_fast_part(const pq_gemm_s8_plan *plan, int32_t batches, const int8_t *inp,
                                              int8_t *out, void *scratch, int32_t split, int32_t col_unit,
                                              int32_t part, int32_t parts)


cdef extern from "pq_threadpool.h" nogil:
    enum:
        PQ_THREADPOOL_MAX
        PQ_POOL_UNAVAILABLE
        PQ_POOL_BAD_COUNT

    ctypedef struct pq_threadpool:
        pass

    ctypedef int (*pq_task_fn)(void *ctx, int32_t task, int32_t thread) noexcept nogil

    int pq_threadpool_available()
    size_t pq_threadpool_size()
    int pq_threadpool_init(void *mem, int32_t n_threads, pq_threadpool **pool)
    void pq_threadpool_destroy(pq_threadpool *pool)
    int pq_threadpool_run(pq_threadpool *pool, pq_task_fn fn, void *ctx, int32_t n_tasks)
