# Declarations only: the C kernels in kernels/src, mirrored from kernels/include/pq_kernels.h.
from libc.stdint cimport int8_t, int32_t


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
