/*
 * Building blocks of the Cortex-M DSP kernels for packed int4 weights (internal to the
 * pq_*_s4_dsp.c files of src/arch/cortexm): filter rows read in place as 8 nibbles a
 * word, and the dot products of pq_dsp_gemm_s4.c. Only meaningful when PQ_DSP is 1.
 *
 * Unpacking: a word of 8 nibbles e0..e7 (e0 in bits 0-3, TFLite's INT4 order), XORed
 * with 0x88888888, holds u_i = e_i + 8 in [0, 15]. Masking with 0x000F000F after shifts
 * by 0, 4, 8 and 12 gives the int16 pairs (u4, u0), (u5, u1), (u6, u2), (u7, u3): one
 * AND each, no sign extension. A dot product then sums u_i * x_i, and
 *   sum(e_i * x_i) = sum(u_i * x_i) - 8 * sum(x_i)   (mod 2^32),
 * so the kernels subtract 8 times the column's sum once per output: exact in the
 * reference's wrapping 32-bit arithmetic, whatever the values. The column side is laid
 * out in the same pair order: (x4, x0), (x5, x1), (x6, x2), (x7, x3) per 8 values.
 */
#ifndef PQ_DSP_S4_H
#define PQ_DSP_S4_H

#include <stdint.h>
#include <string.h>

#include "pq_dsp.h"

#if PQ_DSP

#define PQ_S4_LANES 0x000F000Fu /* one nibble in each int16 lane */
#define PQ_S4_BIAS8 0x88888888u /* e + 8 in every nibble: e in [-8, 7] -> u in [0, 15] */

/* 8 nibbles from element e of a packed run, e0 in bits 0-3, not yet XORed. An odd e
 * starts in a high nibble: the 5 bytes holding it are read as a word and a byte (never
 * past element e + 7). */
PQ_INLINE uint32_t pq_s4_ld8(const uint8_t *packed, int32_t e)
{
    const uint8_t *p = packed + ((uint32_t)e >> 1);
    uint32_t w;
    memcpy(&w, p, 4);
    if (e & 1) {
        w = (w >> 4) | ((uint32_t)p[4] << 28);
    }
    return w;
}

/* n (1..7) nibbles from element e, each XORed with 8, zero above: a row's last partial
 * group, read nibble by nibble (never past element e + n - 1). Zero lanes meet column
 * padding that is 0 too; either way they add nothing. */
PQ_INLINE uint32_t pq_s4_tail(const uint8_t *packed, int32_t e, int32_t n)
{
    uint32_t w = 0;
    int32_t i;
    for (i = n - 1; i >= 0; --i) {
        const uint32_t byte = packed[(uint32_t)(e + i) >> 1];
        w = (w << 4) | ((((e + i) & 1) ? byte >> 4 : byte & 0x0Fu) ^ 8u);
    }
    return w;
}

/* The same n (1..7) nibbles read as one word when 8 nibbles from element e exist
 * (`room`: e.g. the next filter row follows), masked: 5 instructions instead of a loop. */
PQ_INLINE uint32_t pq_s4_tail_fast(const uint8_t *packed, int32_t e, int32_t n, int32_t room)
{
    if (room) {
        return (pq_s4_ld8(packed, e) ^ PQ_S4_BIAS8) & ((1u << (4 * n)) - 1u);
    }
    return pq_s4_tail(packed, e, n);
}

/* acc + sum(u_i * x_i) for 8 values: u in the XORed word w, x in the pairs
 * c0 = (x4, x0), c1 = (x5, x1), c2 = (x6, x2), c3 = (x7, x3). */
PQ_INLINE int32_t pq_s4_mac8(int32_t acc, uint32_t w, int32_t c0, int32_t c1, int32_t c2, int32_t c3)
{
    acc = __smlad((int32_t)(w & PQ_S4_LANES), c0, acc);
    acc = __smlad((int32_t)((w >> 4) & PQ_S4_LANES), c1, acc);
    acc = __smlad((int32_t)((w >> 8) & PQ_S4_LANES), c2, acc);
    return __smlad((int32_t)((w >> 12) & PQ_S4_LANES), c3, acc);
}

/* What turns dot products into output bytes, as pq_dsp_gemm but with the int8 shifts
 * of the s4 contracts. */
typedef struct {
    const int32_t *mult;
    const int8_t *shift; /* per row, or entry 0 for every row (per_channel 0) */
    const int32_t *bias; /* per row; may be NULL */
    int32_t per_channel;
    int32_t in_offset; /* added to every int8 column value (pq_dsp_gemv_s4) */
    int32_t out_offset, act_min, act_max;
    int32_t k;          /* length of a filter row and of a column, in values */
    int32_t out_stride; /* bytes from the first column's outputs to the second's */
    int32_t first_row;  /* filter row (= output channel) of the block's first row */
} pq_dsp_gemm_s4;

/* Column pair bytes for pq_dsp_gemm_s4_2cols: per group of 8 values, the 4 pairs of
 * columns a and b interleaved, a0 b0 a1 b1 a2 b2 a3 b3 (32 bytes: one LDRD a pair of
 * words); a last partial group padded with zeros. */
#define PQ_DSP_S4_PAIR_BYTES(k) ((((k) + 7) >> 3) * 32)

/* Rows [first_row, first_row + rows) of the packed filter (rows of k values, row r
 * from element r * k) against the column pair, whose value sums are sum_a and sum_b:
 * out[r] for column a, out[out_stride + r] for column b. */
void pq_dsp_gemm_s4_2cols(const pq_dsp_gemm_s4 *g, const uint8_t *filter, int32_t rows, const int32_t *cols,
                          int32_t sum_a, int32_t sum_b, int8_t *out);
/* The same against one int8 column read in place, in_offset added on the fly. */
void pq_dsp_gemv_s4(const pq_dsp_gemm_s4 *g, const uint8_t *filter, int32_t rows, const int8_t *x, int8_t *out);

#endif /* PQ_DSP */
#endif /* PQ_DSP_S4_H */
