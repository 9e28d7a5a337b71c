/*
 * Building blocks of the Cortex-M DSP-extension kernels for the 16x8 ops (int16
 * activations, int8 weights; src/arch/cortexm/pq_*_s16_dsp.c): dot products of int8
 * filter rows with int16 columns on SMLAD, and the 16x8 requantization of the
 * reference kernels (ref/pq_conv2d_s16.c). Only meaningful when PQ_DSP is 1.
 *
 * Exact sums with 32-bit SMLAD: |w * x| <= 128 * 32768 = 2^22, so a sum of at most
 * PQ_DSP16_CHUNK_VALUES products (511 * 2^22 < 2^31) never leaves int32. The loops sum
 * chunks of that many in int32 and add each chunk to a 64-bit total: the reference's int64
 * sum exactly, and its low 32 bits the wrapping int32 sum of an int32-bias CONV_2D.
 *
 * Lane order as in pq_dsp.h: a group of 4 depths is the pair lo = (x2, x0), hi = (x3, x1),
 * which is how SXTB16 widens 4 int8 weights; the int16 values are put in that order once
 * (PKHBT / PKHTB) where they are reused, so the weights need no reordering.
 */
#ifndef PQ_DSP16_H
#define PQ_DSP16_H

#include <stdint.h>

#include "pq_dsp.h"

#if PQ_DSP

/* Products per int32 partial sum: 511 * 2^22 < 2^31 (see above). */
#define PQ_DSP16_CHUNK_VALUES 511
/* Whole groups of 4 per partial sum of the row loops (508 values). */
#define PQ_DSP16_CHUNK_GROUPS 127

/* The pair (lo, hi) of 4 int16 values given as the words (x1, x0) and (x3, x2). */
PQ_INLINE int32_t pq_dsp16_lo(uint32_t x01, uint32_t x23)
{
    return (int32_t)((x01 & 0xFFFFu) | (x23 << 16)); /* PKHBT: (x2, x0) */
}
PQ_INLINE int32_t pq_dsp16_hi(uint32_t x01, uint32_t x23)
{
    return (int32_t)((x23 & 0xFFFF0000u) | (x01 >> 16)); /* PKHTB: (x3, x1) */
}

/* 2 int16 values from any even address (LDR takes unaligned addresses, see pq_dsp.h). */
PQ_INLINE uint32_t pq_dsp16_ld2(const int16_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* pq_mbqm64 (tflite's int64 MultiplyByQuantizedMultiplier) of (sum + bias) with the
 * per-channel work done once a channel: the multiplier rounded to Q15 (`reduced`), the
 * shift 15 - shift in [8, 46] (shifts <= 7, validated), and add = bias * reduced + the
 * rounding half, as two words (4-byte aligned in a scratch). pq_mbqm64 computes
 * (sum + bias) * reduced + round in wrapping uint64 arithmetic, which is
 * sum * reduced + add, bit for bit. */
typedef struct {
    int32_t reduced, total;
    uint32_t add_lo, add_hi;
} pq_dsp16_ch;

PQ_INLINE pq_dsp16_ch pq_dsp16_ch_of(int32_t mult, int32_t shift, const int64_t *bias)
{
    pq_dsp16_ch q;
    uint64_t add;
    q.reduced = mult < 0x7FFF0000 ? (mult + (1 << 15)) >> 16 : 0x7FFF; /* as pq_mbqm64 */
    q.total = 15 - shift;
    add = ((uint64_t)1 << (q.total - 1)) + (bias != NULL ? (uint64_t)*bias * (uint64_t)(int64_t)q.reduced : 0u);
    q.add_lo = (uint32_t)add;
    q.add_hi = (uint32_t)(add >> 32);
    return q;
}

/* The low 32 bits of (sum * reduced + add) >> total (arithmetic), from the two words of
 * the 64-bit value without a 64-bit shift. */
PQ_INLINE int32_t pq_dsp16_apply(uint64_t sum, const pq_dsp16_ch *q)
{
    const uint64_t r = sum * (uint64_t)(int64_t)q->reduced + (((uint64_t)q->add_hi << 32) | q->add_lo);
    const uint32_t lo = (uint32_t)r, hi = (uint32_t)(r >> 32);
    if (q->total >= 32) {
        return (int32_t)hi >> (q->total - 32); /* total - 32 in [0, 14] */
    }
    return (int32_t)((lo >> q->total) | (hi << (32 - q->total))); /* total in [8, 31] */
}

/* The same for a sum known to fit int32 (a sum of at most PQ_DSP16_CHUNK_VALUES products):
 * the multiply-add is one SMLAL. */
PQ_INLINE int32_t pq_dsp16_apply32(int32_t sum, const pq_dsp16_ch *q)
{
    const uint64_t r = (uint64_t)((int64_t)sum * q->reduced) + (((uint64_t)q->add_hi << 32) | q->add_lo);
    const uint32_t lo = (uint32_t)r, hi = (uint32_t)(r >> 32);
    if (q->total >= 32) {
        return (int32_t)hi >> (q->total - 32);
    }
    return (int32_t)((lo >> q->total) | (hi << (32 - q->total)));
}

PQ_INLINE int16_t pq_dsp16_clamp(int32_t v, int32_t lo, int32_t hi)
{
    v = v < lo ? lo : v;
    return (int16_t)(v > hi ? hi : v);
}

/* A block of 16x8 dot products and what turns each into an int16 output, as the
 * reference kernels: with bias32 (CONV_2D's int32 bias) the wrapping int32 sum and
 * pq_mbqm; otherwise the int64 sum, bias64 (may be NULL) and pq_mbqm64. */
typedef struct {
    const int32_t *mult, *shift; /* per row, or entry 0 for every row (per_channel 0) */
    const int32_t *bias32;       /* per row, or NULL */
    const int64_t *bias64;       /* per row, or NULL; ignored when bias32 is set */
    int32_t per_channel;
    int32_t act_min, act_max;
    int32_t k;          /* length of a filter row and of a column */
    int32_t out_stride; /* values from the first column's outputs to the second's */
    int32_t first_row;  /* filter row (= output channel) of the block's first row */
    const pq_dsp16_ch *ch; /* per row, the int64 path precomputed (bias64 in it), or NULL */
} pq_dsp16_gemm;

/* The output of row r (channel r) for the 64-bit sum `sum` of its products. */
int16_t pq_dsp16_out(const pq_dsp16_gemm *g, int32_t r, uint64_t sum);

/* Rows [first_row, first_row + rows) of `filter` (rows of k int8) against a column pair
 * in the layout of pq_dsp_gemm_2cols (PQ_DSP_PAIR_BYTES(k), int16 values, the partial
 * last group padded with 0): out[r] for column a, out[out_stride + r] for column b. */
void pq_dsp16_gemm_2cols(const pq_dsp16_gemm *g, const int8_t *filter, int32_t rows, const int32_t *cols,
                         int16_t *out);

/* The same against one int16 column read in place (FULLY_CONNECTED): out[r]. */
void pq_dsp16_gemv(const pq_dsp16_gemm *g, const int8_t *filter, int32_t rows, const int16_t *x, int16_t *out);

#endif /* PQ_DSP */
#endif /* PQ_DSP16_H */
