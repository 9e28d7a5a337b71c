/*
 * Fixed-point helpers with TFLite Micro's default (double-rounding) semantics:
 * gemmlowp's SaturatingRoundingDoublingHighMul and RoundingDivideByPOT, and
 * tflite::MultiplyByQuantizedMultiplier built from them.
 *
 * Written with explicit int64 arithmetic and C's truncating division so that
 * every compiler (x86, Cortex-M, with or without a hardware divider for int64)
 * gives the same bits. No float anywhere.
 */
#ifndef PQ_FIXEDPOINT_H
#define PQ_FIXEDPOINT_H

#include <stdint.h>

#if defined(__GNUC__)
#define PQ_INLINE static inline __attribute__((always_inline))
#else
#define PQ_INLINE static inline
#endif

/* round((a * b) / 2^31), ties toward +inf; the single overflow case saturates. */
PQ_INLINE int32_t pq_srdhm(int32_t a, int32_t b)
{
    int64_t ab;
    int64_t nudge;
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    ab = (int64_t)a * (int64_t)b;
    nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    /* C99 division truncates toward zero, as gemmlowp relies on. */
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* x / 2^exponent, rounding half away from zero; 0 <= exponent <= 31. */
PQ_INLINE int32_t pq_rdpot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    /* Arithmetic right shift of a negative value: implementation-defined in
     * C99, arithmetic on every compiler picoq supports (gcc, clang, armcc). */
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* uint32 -> int32 by two's-complement wrap, without implementation-defined conversion.
 * TFLM accumulates in plain int32_t (wrapping in practice if a sum ever overflowed);
 * signed overflow is undefined in C, so picoq's sums run in uint32_t and come back here. */
PQ_INLINE int32_t pq_wrap_i32(uint32_t u)
{
    return u <= 0x7FFFFFFFu ? (int32_t)u : -(int32_t)(~u) - 1;
}

/* tflite::MultiplyByQuantizedMultiplier (double rounding): x * M * 2^shift / 2^31. */
PQ_INLINE int32_t pq_mbqm(int32_t x, int32_t multiplier, int32_t shift)
{
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    /* TFLM's x * (1 << left), in wrapping arithmetic: a valid file's left shift keeps a real
     * accumulator inside int32 (the same bits), a hostile one cannot make C overflow. */
    return pq_rdpot(pq_srdhm(pq_wrap_i32((uint32_t)x * ((uint32_t)1 << left)), multiplier), right);
}

/* uint64 -> int64 by two's-complement wrap (pq_wrap_i32's 64-bit twin). */
PQ_INLINE int64_t pq_wrap_i64(uint64_t u)
{
    return u <= 0x7FFFFFFFFFFFFFFFu ? (int64_t)u : -(int64_t)(~u) - 1;
}

/* tflite::MultiplyByQuantizedMultiplier(int64_t x, ...), the 16x8 kernels' requantization
 * (the same in TFLM's single- and double-rounding builds): the Q31 multiplier rounded to
 * Q15, then one rounding shift, floor(x * m15 / 2^(15 - shift) + 1/2). shift in [-31, 7]
 * (the validator's range; TFLM asserts it). TFLM's int64 arithmetic, wrapping instead of
 * overflowing when a hostile file makes x huge, and its final int64 -> int32 cast as a wrap. */
PQ_INLINE int32_t pq_mbqm64(int64_t x, int32_t multiplier, int32_t shift)
{
    const int32_t reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
    const int total = 15 - shift;
    const uint64_t r = (uint64_t)x * (uint64_t)(int64_t)reduced + ((uint64_t)1 << (total - 1));
    /* Arithmetic right shift of a negative int64: as in pq_rdpot, arithmetic everywhere. */
    return pq_wrap_i32((uint32_t)(pq_wrap_i64(r) >> total));
}

PQ_INLINE int32_t pq_clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* AVERAGE_POOL_2D's average (TFLM's reference_integer_ops::AveragePool, int8 and int16): the
 * window's int32 sum (kept as wrapping uint32) over count > 0 taps, rounded half away from
 * zero; C99 '/' truncates toward zero exactly like C++, so this is TFLM's expression. */
PQ_INLINE int32_t pq_pool_average(uint32_t sum, int32_t count)
{
    const int32_t acc = pq_wrap_i32(sum);
    return acc > 0 ? pq_wrap_i32((uint32_t)acc + (uint32_t)(count / 2)) / count
                   : pq_wrap_i32((uint32_t)acc - (uint32_t)(count / 2)) / count;
}

#endif /* PQ_FIXEDPOINT_H */
