/*
 * MEAN, int8, over any set of axes (keep_dims or not: the same bytes).
 *
 * Matches TFLite Micro tensorflow/lite/kernels/internal/reference/reduce.h,
 * reference_ops::QuantizedMeanOrSum with compute_sum = false, reached from
 * tensorflow/lite/micro/kernels/reduce_common.cc (EvalIntegerMean). Prepare
 * computes QuantizeMultiplier((double)in_scale / (double)out_scale); Eval folds
 * 1/count into it:
 *     k = min(floor(log2(count)), 32, 31 + shift)
 *     multiplier = (int64)(multiplier << k) / count,  shift -= k
 * which picoq's converter does offline (the count is static), so the kernel
 * receives the folded pair. Per output:
 *     out = clamp(MBQM(sum + count * input_offset, multiplier, shift) + output_offset)
 * TFLM accumulates into an int32 scratch array in input order; here each output
 * sums its own inputs (integer addition: same result, no scratch).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_mean_s8(const pq_mean_params *p, int32_t rank, const int32_t *in_shape,
                     int32_t axis_mask, const int8_t *in, int8_t *out)
{
    /* Kept and reduced dims, each with its element stride in the input. */
    int32_t kdim[PQ_MAX_DIMS], kstride[PQ_MAX_DIMS], kidx[PQ_MAX_DIMS];
    int32_t rdim[PQ_MAX_DIMS], rstride[PQ_MAX_DIMS], ridx[PQ_MAX_DIMS];
    int32_t nk = 0, nr = 0;
    int32_t stride = 1;
    int32_t n_out = 1, count = 1;
    int32_t base = 0;
    int32_t d, o, r;

    if (rank < 1 || rank > PQ_MAX_DIMS || (axis_mask & ~((1 << rank) - 1)) != 0) {
        return PQ_ERR_PARAM;
    }
    for (d = rank - 1; d >= 0; --d) {
        if (in_shape[d] < 1) {
            return PQ_ERR_PARAM;
        }
        if (axis_mask & (1 << d)) {
            rdim[nr] = in_shape[d];
            rstride[nr] = stride;
            ridx[nr] = 0;
            count *= in_shape[d];
            ++nr;
        } else {
            kdim[nk] = in_shape[d];
            kstride[nk] = stride;
            kidx[nk] = 0;
            n_out *= in_shape[d];
            ++nk;
        }
        stride *= in_shape[d];
    }
    /* Both lists run innermost first. */

    for (o = 0; o < n_out; ++o) {
        uint32_t sum = 0;
        int32_t off = 0;
        int32_t shifted;
        for (r = 0; r < count; ++r) {
            sum += (uint32_t)(int32_t)in[base + off];
            /* Odometer over the reduced dims. */
            for (d = 0; d < nr; ++d) {
                if (ridx[d] + 1 < rdim[d]) {
                    ++ridx[d];
                    off += rstride[d];
                    break;
                }
                off -= rstride[d] * ridx[d];
                ridx[d] = 0;
            }
        }
        /* TFLM: temp_sum - input_zero_point * num_elements_in_axis. */
        shifted = pq_wrap_i32(sum + (uint32_t)count * (uint32_t)p->input_offset);
        out[o] = (int8_t)pq_clamp(pq_mbqm(shifted, p->multiplier, p->shift) + p->output_offset,
                                  -128, 127);
        for (d = 0; d < nk; ++d) {
            if (kidx[d] + 1 < kdim[d]) {
                ++kidx[d];
                base += kstride[d];
                break;
            }
            base -= kstride[d] * kidx[d];
            kidx[d] = 0;
        }
    }
    return PQ_OK;
}

pq_status pq_mean_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_mean_params *p = (const pq_mean_params *)node->params;
    const pq_tensor *x = pq_node_input(node, t, 0), *y = pq_node_output(node, t);
    return pq_mean_s8(p, x->rank, x->dims, p->axis_mask, (const int8_t *)x->data, (int8_t *)y->data);
}
