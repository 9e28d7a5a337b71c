/*
 * Building blocks of the Cortex-M DSP-extension kernels (src/arch/cortexm):
 * loading 4 int8 values as one word, widening them to two pairs of int16 lanes
 * for SMLAD, and the requantization. Only meaningful when PQ_DSP is 1.
 *
 * Lane order: a word holding bytes (b3 b2 b1 b0) widens to lo = (b2, b0) and
 * hi = (b3, b1). Both operands of an SMLAD are widened the same way, so the
 * products pair up (b0 with b0', b2 with b2', ...) and no reordering is needed.
 */
#ifndef PQ_DSP_H
#define PQ_DSP_H

#include <stdint.h>
#include <string.h>

#include "pq_fixedpoint.h"
#include "pq_kernels_dsp.h"

#if PQ_DSP
#include <arm_acle.h>

/* The hot loops (pq_dsp_gemm_s8.c, pq_depthwise_conv2d_s8_dsp.c) are inline assembly
 * with gcc when optimizing: they need up to 14 registers, and gcc 12 at -Os spills the
 * same loops written with intrinsics (measured: 32 instructions a pass instead of 18).
 * Everywhere else the intrinsics run: without optimization gcc keeps r7 as the frame
 * pointer, and clang (Arm Compiler 6 too) cannot give an asm statement 14 registers. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__OPTIMIZE__)
#define PQ_DSP_ASM 1
#else
#define PQ_DSP_ASM 0
#endif

/* 4 int8 values from any address: LDR takes unaligned addresses on ARMv7E-M and
 * ARMv8-M Mainline, and memcpy tells the compiler so without undefined behaviour. */
PQ_INLINE uint32_t pq_dsp_ld4(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* SXTB16 / SXTAB16 of the word rotated right by 8, in one instruction: gcc 12's
 * intrinsics do not fold the rotation into the instruction, so ask for it. */
#if defined(__GNUC__)
PQ_INLINE int32_t pq_dsp_sxtb16_ror8(uint32_t v)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}
PQ_INLINE int32_t pq_dsp_sxtab16_ror8(int32_t a, uint32_t v)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(v));
    return r;
}
#else
PQ_INLINE int32_t pq_dsp_sxtb16_ror8(uint32_t v) { return __sxtb16((v >> 8) | (v << 24)); }
PQ_INLINE int32_t pq_dsp_sxtab16_ror8(int32_t a, uint32_t v) { return __sxtab16(a, (v >> 8) | (v << 24)); }
#endif

/* An int16 value in both lanes, for adding an offset with SXTAB16. Offsets are in
 * [-255, 255] (validated), so every lane sum x + offset fits int16. */
PQ_INLINE int32_t pq_dsp_pair(int32_t v)
{
    return (int32_t)(((uint32_t)v & 0xFFFFu) | ((uint32_t)v << 16));
}

/* tflite::MultiplyByQuantizedMultiplier exactly as pq_mbqm rounds it, for a
 * multiplier that is not INT32_MIN (validated: 0 or in [2^30, 2^31)). The rounding
 * doubling high multiply is one SMLAL from a 2^30 nudge: floor((a*b + 2^30) / 2^31)
 * equals gemmlowp's truncating form for every a*b of such a multiplier. */
PQ_INLINE int32_t pq_dsp_requant(int32_t acc, int32_t mult, int32_t shift)
{
    const int32_t left = shift & ~(shift >> 31); /* max(shift, 0): one BIC */
    const int32_t right = left - shift;          /* max(-shift, 0): one SUB */
    const int64_t prod = (int64_t)(int32_t)((uint32_t)acc << left) * mult + ((int64_t)1 << 30);
    const int32_t high = (int32_t)(prod >> 31);
    /* pq_rdpot in 32-bit operations: round half away from zero. */
    const uint32_t mask = (1u << right) - 1u;
    const int32_t remainder = (int32_t)((uint32_t)high & mask);
    const int32_t threshold = (int32_t)(mask >> 1) + (high < 0);
    return (high >> right) + (remainder > threshold);
}

/* Requantize, add the output offset, clamp, narrow: one output value. */
PQ_INLINE int8_t pq_dsp_out(int32_t acc, int32_t mult, int32_t shift, int32_t out_offset, int32_t lo, int32_t hi)
{
    /* Wrapping add, as the reference's pq_wrap_i32 (Arm compilers wrap the conversion). */
    int32_t v = (int32_t)((uint32_t)pq_dsp_requant(acc, mult, shift) + (uint32_t)out_offset);
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}

/* The same when the clamp is the whole int8 range (act_min -128, act_max 127: no
 * activation, or a ReLU whose output zero point is -128): one SSAT instead of two
 * compare-and-selects. Kernels test for that range once per call. */
PQ_INLINE int8_t pq_dsp_out_full(int32_t acc, int32_t mult, int32_t shift, int32_t out_offset)
{
    return (int8_t)__ssat((int32_t)((uint32_t)pq_dsp_requant(acc, mult, shift) + (uint32_t)out_offset), 8);
}

/* A block of dot products (filter rows x columns) and what turns each into an output
 * byte: used by CONV_2D (columns: pixels) and FULLY_CONNECTED (the column: one batch row). */
typedef struct {
    const int32_t *mult, *shift; /* per row, or entry 0 for every row (per_channel 0) */
    const int32_t *bias;         /* per row; may be NULL */
    int32_t per_channel;
    int32_t in_offset; /* added to every int8 column value (pq_dsp_gemv_s8) */
    int32_t out_offset, act_min, act_max;
    int32_t k;          /* length of a filter row and of a column */
    int32_t out_stride; /* bytes from the first column's outputs to the second's */
    int32_t first_row;  /* filter row (= output channel) of the block's first row */
} pq_dsp_gemm;

/* The column pair for pq_dsp_gemm_2cols: int16 values x + input_offset in groups of
 * 4 depths; group j is 4 words: lo = (x2, x0) and hi = (x3, x1) of column a, then the
 * same of column b. A last partial group is padded with values that widen to 0.
 * (k + 3) / 4 groups of 16 bytes, 4-byte aligned (LDRD). */
#define PQ_DSP_PAIR_BYTES(k) ((((k) + 3) >> 2) * 16)

/* Rows r in [first_row, first_row + rows) of `filter` (rows of k int8) against the
 * column pair: output byte out[r] for column a, out[out_stride + r] for column b
 * (out_stride 0 when a and b are the same pixel). */
void pq_dsp_gemm_2cols(const pq_dsp_gemm *g, const int8_t *filter, int32_t rows, const int32_t *cols, int8_t *out);
/* The same against one int8 column read in place, in_offset added on the fly. */
void pq_dsp_gemv_s8(const pq_dsp_gemm *g, const int8_t *filter, int32_t rows, const int8_t *x, int8_t *out);

#endif /* PQ_DSP */
#endif /* PQ_DSP_H */
