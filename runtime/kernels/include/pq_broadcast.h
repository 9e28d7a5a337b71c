/*
 * Numpy-style broadcasting of two inputs over an output, for the element-wise
 * binary kernels (ADD, MUL): one odometer over the output in row-major order
 * keeps each input's element offset, stepping 0 along a dimension where that
 * input has extent 1. TFLite Micro's BroadcastAdd6DSlow / BroadcastMul6DSlow
 * visit elements in the same order, so results do not depend on it anyway.
 */
#ifndef PQ_BROADCAST_H
#define PQ_BROADCAST_H

#include <stdint.h>

#include "pq_kernels.h"

typedef struct {
    int32_t rank;
    int32_t total; /* output elements */
    int32_t off1, off2;
    int32_t stride1[PQ_MAX_DIMS], stride2[PQ_MAX_DIMS], idx[PQ_MAX_DIMS], dims[PQ_MAX_DIMS];
} pq_broadcast;

/* Shapes of `rank` entries, aligned right and of equal rank. PQ_ERR_PARAM when an input
 * does not broadcast to the output (the validator refuses such files: a guard only).
 * Equal shapes (TFLM's flat path) collapse to one dimension: the walk is then a counter. */
static inline pq_status pq_broadcast_init(pq_broadcast *b, int32_t rank, const int32_t *in1_shape,
                                          const int32_t *in2_shape, const int32_t *out_shape)
{
    int32_t d, s1 = 1, s2 = 1, same = 1;
    if (rank < 1 || rank > PQ_MAX_DIMS) return PQ_ERR_PARAM;
    b->rank = rank;
    b->total = 1;
    b->off1 = b->off2 = 0;
    for (d = rank - 1; d >= 0; --d) {
        if (out_shape[d] < 0 || (in1_shape[d] != out_shape[d] && in1_shape[d] != 1) ||
            (in2_shape[d] != out_shape[d] && in2_shape[d] != 1)) {
            return PQ_ERR_PARAM;
        }
        if (in1_shape[d] != out_shape[d] || in2_shape[d] != out_shape[d]) same = 0;
        b->dims[d] = out_shape[d];
        /* Each stride is at most the input's element count: no overflow. */
        b->stride1[d] = in1_shape[d] == 1 ? 0 : s1;
        b->stride2[d] = in2_shape[d] == 1 ? 0 : s2;
        s1 *= in1_shape[d];
        s2 *= in2_shape[d];
        b->idx[d] = 0;
        b->total *= out_shape[d];
    }
    if (same) {
        b->rank = 1;
        b->dims[0] = b->total;
        b->stride1[0] = b->stride2[0] = b->idx[0] = 0;
        if (b->total > 1) b->stride1[0] = b->stride2[0] = 1;
    }
    return PQ_OK;
}

/* The output's dims of extent > 1, innermost first, with whether each input is whole along each
 * (extent the output's; else it has extent 1 there), adjacent dims along which both inputs are
 * alike merged into one: ext[k], whole1[k], whole2[k]. Returns how many (0: one element), or -1
 * when an input does not broadcast to the output, an extent is below 1 or the output is wider
 * than both inputs (the validator refuses such files: fast plans then leave the op alone). */
static inline int32_t pq_broadcast_collapse(int32_t rank, const int32_t *in1_shape, const int32_t *in2_shape,
                                            const int32_t *out_shape, int32_t *ext, int32_t *whole1,
                                            int32_t *whole2)
{
    int32_t n = 0, d;
    if (rank < 1 || rank > PQ_MAX_DIMS) return -1;
    for (d = rank - 1; d >= 0; --d) {
        const int32_t e = out_shape[d];
        const int32_t w1 = in1_shape[d] == e, w2 = in2_shape[d] == e;
        if (e < 1 || (!w1 && in1_shape[d] != 1) || (!w2 && in2_shape[d] != 1) || (e > 1 && !w1 && !w2)) return -1;
        if (e == 1) continue;
        if (n > 0 && whole1[n - 1] == w1 && whole2[n - 1] == w2) {
            ext[n - 1] *= e; /* <= the output's element count */
        } else {
            ext[n] = e, whole1[n] = w1, whole2[n] = w2;
            ++n;
        }
    }
    return n;
}

/* The next output element: off1 / off2 stay sum_d idx[d] * stride[d], always valid
 * element indices of the inputs. */
static inline void pq_broadcast_next(pq_broadcast *b)
{
    int32_t d;
    for (d = b->rank - 1; d >= 0; --d) {
        if (b->idx[d] + 1 < b->dims[d]) {
            ++b->idx[d];
            b->off1 += b->stride1[d];
            b->off2 += b->stride2[d];
            return;
        }
        /* This dimension wraps to 0: undo its contribution, carry to the next outer one. */
        b->off1 -= b->stride1[d] * b->idx[d];
        b->off2 -= b->stride2[d] * b->idx[d];
        b->idx[d] = 0;
    }
}

/* The body of a broadcasting binary kernel (ADD, MUL): out[i] = ONE(p, a, b) over the output,
 * each input element paired as broadcasting pairs them; PQ_ERR_PARAM for shapes that do not
 * broadcast (validated at load: a guard only). */
#define PQ_BROADCAST_BINARY(ONE, p, rank, in1_shape, in1, in2_shape, in2, out_shape, out)   \
    do {                                                                                    \
        pq_broadcast b_;                                                                    \
        int32_t i_;                                                                         \
        if (pq_broadcast_init(&b_, rank, in1_shape, in2_shape, out_shape) != PQ_OK) {       \
            return PQ_ERR_PARAM;                                                            \
        }                                                                                   \
        for (i_ = 0; i_ < b_.total; ++i_) {                                                 \
            (out)[i_] = ONE(p, (in1)[b_.off1], (in2)[b_.off2]);                             \
            pq_broadcast_next(&b_);                                                         \
        }                                                                                   \
        return PQ_OK;                                                                       \
    } while (0)

#endif /* PQ_BROADCAST_H */
