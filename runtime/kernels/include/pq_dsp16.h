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
 * per-channel work done once a channel. pq_mbqm64 keeps the low 32 bits of
 * r >> t, r = (sum + bias) * reduced + 2^(t - 1) in wrapping uint64 arithmetic, `reduced`
 * the multiplier rounded to Q15 and t = 15 - shift in [8, 46] (shifts <= 7, validated).
 * r = sum * reduced + add with add = bias * reduced + 2^(t - 1), bit for bit. Those 32 bits
 * are bits [t, t + 32) of r, which for t <= 32 are the high word of r * 2^(32 - t)
 * (mod 2^64): so for t >= 16, where reduced * 2^(32 - t) still fits int32 (|reduced| <=
 * 2^15), the multiplier and add are pre-scaled and the result is the high word of one
 * SMLAL, shifted right by max(t - 32, 0). For t < 16 (shifts > 0) `post` is -t and the
 * result is taken from both words. 16 bytes, 4-byte aligned (it lives in a scratch). */
typedef struct {
    int32_t mult, post;
    uint32_t add_lo, add_hi;
} pq_dsp16_ch;

PQ_INLINE pq_dsp16_ch pq_dsp16_ch_of(int32_t mult, int32_t shift, const int64_t *bias)
{
    const int32_t reduced = mult < 0x7FFF0000 ? (mult + (1 << 15)) >> 16 : 0x7FFF; /* as pq_mbqm64 */
    const int32_t t = 15 - shift;
    const int32_t s = t >= 32 ? 0 : 32 - t; /* the pre-scaling, for t >= 16 */
    uint64_t add = ((uint64_t)1 << (t - 1)) + (bias != NULL ? (uint64_t)*bias * (uint64_t)(int64_t)reduced : 0u);
    pq_dsp16_ch q;
    if (t >= 16) {
        q.mult = (int32_t)((uint32_t)reduced << s);
        q.post = t - 32 + s; /* t - 32, or 0 */
        add <<= s;
    } else {
        q.mult = reduced;
        q.post = -t;
    }
    q.add_lo = (uint32_t)add;
    q.add_hi = (uint32_t)(add >> 32);
    return q;
}

/* The low 32 bits of r >> t (see above) from r = sum * mult + add (mod 2^64). Shifts > 0
 * (t < 16) take a call (pq_dsp16_take_both): inline, the compiler makes their words' merge
 * conditional instructions that every output would then step through. */
int32_t pq_dsp16_take_both(uint32_t lo, uint32_t hi, int32_t t);

PQ_INLINE int32_t pq_dsp16_take(uint64_t r, const pq_dsp16_ch *q)
{
    const uint32_t hi = (uint32_t)(r >> 32);
    if (q->post < 0) {
        return pq_dsp16_take_both((uint32_t)r, hi, -q->post);
    }
    return (int32_t)hi >> q->post; /* post in [0, 14] */
}

PQ_INLINE int32_t pq_dsp16_apply(uint64_t sum, const pq_dsp16_ch *q)
{
    return pq_dsp16_take(sum * (uint64_t)(int64_t)q->mult + (((uint64_t)q->add_hi << 32) | q->add_lo), q);
}

/* The same for a sum known to fit int32 (a sum of at most PQ_DSP16_CHUNK_VALUES products):
 * the multiply-add is one SMLAL. */
PQ_INLINE int32_t pq_dsp16_apply32(int32_t sum, const pq_dsp16_ch *q)
{
    return pq_dsp16_take((uint64_t)((int64_t)sum * q->mult) + (((uint64_t)q->add_hi << 32) | q->add_lo), q);
}

PQ_INLINE int16_t pq_dsp16_clamp(int32_t v, int32_t lo, int32_t hi)
{
    v = v < lo ? lo : v;
    return (int16_t)(v > hi ? hi : v);
}

/* The clamps one instruction does: the whole int16 range (SSAT) and a ReLU's [0, 32767]
 * (USAT); kernels test for them once a block. */
#define PQ_DSP16_CLAMP_ANY 0
#define PQ_DSP16_CLAMP_FULL 1
#define PQ_DSP16_CLAMP_RELU 2
PQ_INLINE int32_t pq_dsp16_clamp_kind(int32_t lo, int32_t hi)
{
    return hi != 32767 ? PQ_DSP16_CLAMP_ANY
                       : (lo == -32768 ? PQ_DSP16_CLAMP_FULL : (lo == 0 ? PQ_DSP16_CLAMP_RELU : PQ_DSP16_CLAMP_ANY));
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
    int32_t clamp_kind;    /* pq_dsp16_clamp_kind(act_min, act_max) */
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
