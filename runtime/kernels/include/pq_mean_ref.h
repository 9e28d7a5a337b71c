/*
 * The reference MEAN, shared by the int8 kernel and its 16x8 variant: TFLite Micro's
 * reference_ops::QuantizedMeanOrSum<T> (compute_sum = false; reduce.h) is one template for
 * int8 and int16, an int32 sum per output (wrapping here, instead of overflowing), the
 * folded multiplier (see src/ref/pq_mean_s8.c) and a clamp to T's range. The element width
 * (pq_elem.h) is a constant of each kernel.
 */
#ifndef PQ_MEAN_REF_H
#define PQ_MEAN_REF_H

#include <stdint.h>

#include "pq_elem.h"
#include "pq_fixedpoint.h"
#include "pq_kernels.h"

static inline pq_status pq_mean_ref(const pq_mean_params *p, int32_t rank, const int32_t *in_shape,
                                    int32_t axis_mask, const void *in, void *out, int wide)
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
            sum += (uint32_t)pq_elem_load(in, base + off, wide);
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
        pq_elem_store(out, o,
                      pq_clamp(pq_mbqm(shifted, p->multiplier, p->shift) + p->output_offset, pq_elem_min(wide),
                               pq_elem_max(wide)),
                      wide);
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

#endif /* PQ_MEAN_REF_H */
