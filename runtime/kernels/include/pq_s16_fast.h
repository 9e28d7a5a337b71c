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

/* The isa's versions (AVX2 where it is that isa, NEON on aarch64's, else the baseline's). */
pq_s16_dot_fn pq_s16_dot_for(int isa);
pq_s16_mac_fn pq_s16_mac_for(int isa);
pq_s16_dots_fn pq_s16_dots_for(int isa);

/* aarch64 Advanced SIMD versions (src/arch/arm/pq_s16_neon.c; defined only on aarch64). */
int64_t pq_s16_dot_neon(const int16_t *a, const int16_t *b, int32_t n);
void pq_s16_mac_neon(int32_t *acc, const int16_t *w, const int16_t *x, int32_t n);
void pq_s16_dots_neon(const int16_t *a, const int16_t *w, int32_t k, int32_t n, int64_t *out);

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
