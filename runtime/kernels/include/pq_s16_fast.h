/*
 * What the 16x8 fast kernels share (src/fast/pq_*_s16_fast_op.c): int16 x int16 dot products
 * and multiply-accumulates in plain C that GCC vectorises (pmaddwd), built twice: for the
 * baseline and, on x86-64, for AVX2 (the same C, a wider target); on aarch64, NEON intrinsics
 * (src/arch/arm/pq_s16_neon.c). The weights are widened to int16 once, at prepare.
 *
 * Exactness: the reference kernels sum in int64. A product here is at most 383 * 32768 <
 * 2^23.6 in magnitude (an int8 weight plus FULLY_CONNECTED's filter offset, at most 255, times
 * an int16 input), so PQ_S16_CHUNK = 128 products sum inside int32 and each chunk's sum is
 * added in int64: the same integer as the reference's, hence the same bytes (its low 32 bits
 * are CONV_2D's int32 sum too).
 */
#ifndef PQ_S16_FAST_H
#define PQ_S16_FAST_H

#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"
#include "pq_fixedpoint.h"

#define PQ_S16_CHUNK 128
/* Depthwise sums one int32 lane per channel over the taps: a product of an int8 weight and an
 * int16 input is at most 2^22 in magnitude, so up to 511 taps stay inside int32. */
#define PQ_S16_DW_MAX_TAPS 511

/* sum_i a[i] * b[i] over n values, exactly. */
typedef int64_t (*pq_s16_dot_fn)(const int16_t *a, const int16_t *b, int32_t n);
/* acc[i] += w[i] * x[i] over n lanes (each sum stays inside int32, see above). */
typedef void (*pq_s16_mac_fn)(int32_t *acc, const int16_t *w, const int16_t *x, int32_t n);

/* out[j] = sum_i a[i] * w[j * k + i] for j < n: one row against n filter rows of k values,
 * exactly (a CONV_2D pixel or a FULLY_CONNECTED row against its output channels). */
typedef void (*pq_s16_dots_fn)(const int16_t *a, const int16_t *w, int32_t k, int32_t n, int64_t *out);
/* The same for two rows (two CONV_2D output pixels): out0 for a0, out1 for a1. */
typedef void (*pq_s16_dots2_fn)(const int16_t *a0, const int16_t *a1, const int16_t *w, int32_t k, int32_t n,
                                int64_t *out0, int64_t *out1);

/* acc[j] = sum_i a[i] * w_j[i] for j < n, k <= PQ_S16_CHUNK: one row against n filter rows
 * stored by input pairs, wp[p][j][0..1] = (w_j[2p], w_j[2p + 1]) (pq_s16_cols_pack; a zero
 * after the last one of an odd k), vectorised across the n outputs (AVX2: one vpmaddwd adds
 * both products of a pair for 8 outputs), exact in int32 (k products of at most 2^23.6). A
 * short FULLY_CONNECTED (a recurrent cell's gates: depth 6..128) spends more on
 * pq_s16_dots_fn's per-output reductions than on its products. */
typedef void (*pq_s16_cols_fn)(const int16_t *a, const int16_t *wp, int32_t k, int32_t n, int32_t *acc);

/* wp (ceil(k / 2) * n * 2 values) from w [n][k] plus `offset` (FULLY_CONNECTED's filter offset). */
void pq_s16_cols_pack(const int8_t *w, int32_t offset, int32_t k, int32_t n, int16_t *wp);

/* The same over int8 pairs (a filter offset of 0), which the AVX2 version widens in registers:
 * half the bytes to read; pq_s16_cols8_for is NULL where there is no such version. */
typedef void (*pq_s16_cols8_fn)(const int16_t *a, const int8_t *wp, int32_t k, int32_t n, int32_t *acc);
void pq_s16_cols8_pack(const int8_t *w, int32_t k, int32_t n, int8_t *wp);
pq_s16_cols8_fn pq_s16_cols8_for(int isa);

/* One DEPTHWISE_CONV_2D output pixel at depth multiplier 1: acc[i] = sum_t px[t][i] * w[t][i]
 * over the `taps` listed (those inside the image) for the c channels, exactly (taps <=
 * PQ_S16_DW_MAX_TAPS). */
typedef void (*pq_s16_dw_pixel_fn)(int32_t *acc, const int16_t *const *px, const int16_t *const *w, int32_t taps,
                                   int32_t c);

/* The isa's versions (AVX2 where it is that isa, NEON on aarch64's, else the baseline's);
 * pq_s16_dw_pixel_for: NEON's, or NULL (the op then adds tap by tap with pq_s16_mac_fn). */
pq_s16_dot_fn pq_s16_dot_for(int isa);
pq_s16_mac_fn pq_s16_mac_for(int isa);
pq_s16_dots_fn pq_s16_dots_for(int isa);
pq_s16_dots2_fn pq_s16_dots2_for(int isa);
pq_s16_cols_fn pq_s16_cols_for(int isa);
pq_s16_dw_pixel_fn pq_s16_dw_pixel_for(int isa);

/* aarch64 Advanced SIMD versions (src/arch/arm/pq_s16_neon.c; defined only on aarch64). */
int64_t pq_s16_dot_neon(const int16_t *a, const int16_t *b, int32_t n);
void pq_s16_mac_neon(int32_t *acc, const int16_t *w, const int16_t *x, int32_t n);
void pq_s16_dots_neon(const int16_t *a, const int16_t *w, int32_t k, int32_t n, int64_t *out);
void pq_s16_dots2_neon(const int16_t *a0, const int16_t *a1, const int16_t *w, int32_t k, int32_t n, int64_t *out0,
                       int64_t *out1);
/* src/arch/arm/pq_depthwise_conv2d_s16_neon.c */
void pq_s16_dw_pixel_neon(int32_t *acc, const int16_t *const *px, const int16_t *const *w, int32_t taps, int32_t c);

/* pq_mbqm64's per-channel constants, computed once at prepare from the op's multiplier and
 * shift (constants of the file, as the filter): the multiplier rounded to Q15, the total right
 * shift and its rounding term. pq_s16_rq_apply(x, q) is then pq_mbqm64(x, multiplier, shift)
 * with the same integer steps, minus the per-output work of deriving them. */
typedef struct {
    int64_t m15;
    uint64_t round;
    int32_t total, pad_;
} pq_s16_rq;

/* q[0 .. n) from mult[0 .. n) and shift[0 .. n). */
static inline void pq_s16_rq_fill(pq_s16_rq *q, const int32_t *mult, const int32_t *shift, int32_t n) {
    int32_t i;
    for (i = 0; i < n; ++i) {
        const int32_t m = mult[i];
        q[i].m15 = m < 0x7FFF0000 ? (m + (1 << 15)) >> 16 : 0x7FFF;
        q[i].total = 15 - shift[i];
        /* The int64 requantization's shifts are <= 7 (total >= 8). A 16x8 conv with an int32
         * bias requantizes with pq_mbqm, its shifts up to 30: its entries are filled but never
         * applied, and must not shift by a negative count (undefined) on the way. */
        q[i].round = q[i].total >= 1 ? (uint64_t)1 << (q[i].total - 1) : 0;
    }
}
static inline int32_t pq_s16_rq_apply(uint64_t x, const pq_s16_rq *q) {
    const uint64_t r = x * (uint64_t)q->m15 + q->round;
    return pq_wrap_i32((uint32_t)(pq_wrap_i64(r) >> q->total));
}

/* out[j] = clamp(pq_s16_rq_apply(acc[j] + bias[j], rq[j]), lo, hi) for the first n - n % 8
 * outputs, on AVX2, from per-unit constants: m15[j], bm[j] = bias[j] * m15 + round (wrapping),
 * total[j]; returns how many it did (src/arch/x86/pq_s16_requant_avx2.c, x86-64 only). */
int32_t pq_s16_requant_cols_avx2(const int32_t *acc, const int32_t *m15, const int64_t *bm, const int64_t *total,
                                 int32_t n, int32_t lo, int32_t hi, int16_t *out);

/* pq_s16_requant_cols_avx2 for all n outputs on AVX-512, the tail masked
 * (src/arch/x86/pq_s16_requant_avx512.c, x86-64 only). */
void pq_s16_requant_cols_avx512(const int32_t *acc, const int32_t *m15, const int64_t *bm, const int64_t *total,
                                int32_t n, int32_t lo, int32_t hi, int16_t *out);

/* w[0 .. n) widened to int16, plus `offset` (FULLY_CONNECTED's filter offset; 0 for convs). */
void pq_s16_widen(const int8_t *w, int32_t offset, int32_t n, int16_t *out);

/* An op's prepared state laid out by b: base NULL counts its bytes; else fills it and points
 * *state at it. PQ_ERR_PARAM: the fast kernel does not apply. */
typedef pq_status (*pq_s16_layout_fn)(const pq_node *node, const pq_tensor *t, int isa, pq_bump *b, void **state);

/* The plan and prepare hooks over a layout function (`scratch`: the eval's scratch bytes). */
static inline int pq_s16_plan(const pq_node *node, const pq_tensor *t, int isa, pq_s16_layout_fn layout,
                              size_t scratch, size_t *state_bytes, size_t *scratch_bytes) {
    pq_bump b = {NULL, 0};
    void *s = NULL;
    if (layout(node, t, isa, &b, &s) != PQ_OK) return 0;
    *state_bytes = b.used;
    *scratch_bytes = scratch;
    return 1;
}
static inline pq_status pq_s16_prepare(pq_node *node, const pq_tensor *t, int isa, void *state,
                                       pq_s16_layout_fn layout) {
    pq_bump b = {(uint8_t *)state, 0};
    void *s = NULL;
    pq_status st = layout(node, t, isa, &b, &s);
    return pq_fast_prepared(node, st, s);
}

#endif /* PQ_S16_FAST_H */
