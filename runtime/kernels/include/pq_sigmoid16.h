/*
 * What TFLite Micro's int16 LOGISTIC and TANH share (reference_integer_ops::Logistic / Tanh,
 * int16): the input rescaling to the sigmoid table's 1/(3 * 4096) input scale, and reading the
 * table, whose 256 entries are uint16 values (sigmoid(i / 24) in Q0.16) stored as int16 bits.
 *
 * The converter computes input_multiplier and input_left_shift as TFLM's Prepare does; a
 * power-of-two input scale gives multiplier 0, which the kernel turns into 3 << shift, shift 0.
 */
#ifndef PQ_SIGMOID16_H
#define PQ_SIGMOID16_H

#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_kernels.h"

#define PQ_SIGMOID16_TABLE 256 /* entries of the table input */
#define PQ_SIGMOID16_MAX_MULT 32767
#define PQ_SIGMOID16_MAX_POT_SHIFT 13 /* 3 << 13 still below 32767 */

typedef struct {
    int32_t mult, shift, round;
} pq_sigmoid16_scale;

/* The effective (multiplier, shift, rounding) of the params, or PQ_ERR_PARAM outside what the
 * validator allows (|x * mult + round| < 2^31 for every int16 x). */
PQ_INLINE pq_status pq_sigmoid16_scale_of(const pq_logistic_params *p, pq_sigmoid16_scale *s)
{
    s->mult = p->input_multiplier;
    s->shift = p->input_left_shift;
    if (s->mult < 0 || s->mult > PQ_SIGMOID16_MAX_MULT || s->shift < 0 || s->shift > 31) return PQ_ERR_PARAM;
    if (s->mult == 0) {
        if (s->shift > PQ_SIGMOID16_MAX_POT_SHIFT) return PQ_ERR_PARAM;
        s->mult = 3 << s->shift;
        s->shift = 0;
    }
    s->round = s->shift > 0 ? (int32_t)1 << (s->shift - 1) : 0;
    return PQ_OK;
}

/* x in the table's input units (arithmetic shift, as TFLM's >> on int32). */
PQ_INLINE int32_t pq_sigmoid16_input(const pq_sigmoid16_scale *s, int16_t x)
{
    return ((int32_t)x * s->mult + s->round) >> s->shift;
}

PQ_INLINE uint32_t pq_sigmoid16_entry(const int16_t *table, uint32_t i)
{
    return (uint32_t)(uint16_t)table[i];
}

/* |v| split into a table index (>> frac_bits: 9 for LOGISTIC, 8 for TANH) and a fraction of
 * frac_bits bits, interpolated linearly between the index's two entries in uint32 as TFLM
 * does; `saturated` from index 255 on. */
PQ_INLINE uint32_t pq_sigmoid16_interp(const int16_t *table, int32_t v, int frac_bits, uint32_t saturated)
{
    const uint32_t a = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
    const uint32_t uh = a >> frac_bits;
    uint32_t ua, ub;
    if (uh >= 255) return saturated;
    ua = pq_sigmoid16_entry(table, uh);
    ub = pq_sigmoid16_entry(table, uh + 1);
    return (ua << frac_bits) + (a & ((1u << frac_bits) - 1u)) * (ub - ua);
}

/* TFLM stores its uint32/int32 result into int16_t: the low 16 bits. */
PQ_INLINE int16_t pq_low16(uint32_t v)
{
    v &= 0xFFFFu;
    return (int16_t)(v >= 0x8000u ? (int32_t)v - 0x10000 : (int32_t)v);
}

/* LOGISTIC (tanh 0) or TANH (tanh 1) of `size` values: the input scaled, the table
 * interpolated, then each op's own finish (pq_logistic_s16.c, pq_tanh_s16.c say which). */
PQ_INLINE pq_status pq_sigmoid16_run(const pq_logistic_params *p, int32_t size, const int16_t *table,
                                     const int16_t *in, int16_t *out, int tanh)
{
    pq_sigmoid16_scale s;
    int32_t i;
    if (pq_sigmoid16_scale_of(p, &s) != PQ_OK) return PQ_ERR_PARAM;
    for (i = 0; i < size; ++i) {
        const int32_t v = pq_sigmoid16_input(&s, in[i]);
        if (tanh) {
            uint32_t r = pq_sigmoid16_interp(table, v, 8, 0xFFFFu << 8);
            r = v >= 0 ? r - (1u << 23) + (1u << 7) : 0u - r + (1u << 23) + (1u << 7) - 1u;
            out[i] = pq_low16((uint32_t)(pq_wrap_i32(r) >> 8));
        } else {
            uint32_t r = pq_sigmoid16_interp(table, v, 9, 0x7FFFu << 10);
            r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u;
            out[i] = pq_low16(r >> 10);
        }
    }
    return PQ_OK;
}

/* The first n - n % 8 values of pq_sigmoid16_run (tanh 0: LOGISTIC, 1: TANH) for AVX2, the
 * scale from pq_sigmoid16_scale_of; returns how many it did (src/arch/x86/pq_sigmoid16_avx2.c,
 * x86-64 builds only). */
int32_t pq_sigmoid16_avx2(const pq_sigmoid16_scale *s, int tanh, int32_t n, const int16_t *table, const int16_t *in,
                          int16_t *out);

/* The table as interpolation pairs: entry i in the low half, entry i + 1 in the high half
 * (entry 255 alone in pairs[255], which no lane reads: the index is clamped to 254). */
PQ_INLINE void pq_sigmoid16_pairs(const int16_t *table, uint32_t *pairs)
{
    uint32_t i;
    for (i = 0; i < PQ_SIGMOID16_TABLE; ++i) {
        const uint32_t next = i + 1 < PQ_SIGMOID16_TABLE ? pq_sigmoid16_entry(table, i + 1) : 0u;
        pairs[i] = pq_sigmoid16_entry(table, i) | (next << 16);
    }
}

/* pq_sigmoid16_run for AVX-512, all n values (the tail masked), the table as
 * pq_sigmoid16_pairs (src/arch/x86/pq_sigmoid16_avx512.c, x86-64 builds only). */
void pq_sigmoid16_avx512(const pq_sigmoid16_scale *s, int tanh, int32_t n, const uint32_t *pairs, const int16_t *in,
                         int16_t *out);

#endif /* PQ_SIGMOID16_H */
