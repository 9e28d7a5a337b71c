/*
 * The 16x8 fast kernels' dot products and multiply-accumulates (pq_s16_fast.h): one C body,
 * compiled for the baseline and, on x86-64, with target("avx2"); on aarch64 the NEON and NEON
 * dot-product isas take the intrinsics of src/arch/arm/pq_s16_neon.c (sdot has no int16 form).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"
#include "pq_s16_fast.h"

#define S16_DOT_BODY                                                                     \
    int64_t total = 0;                                                                   \
    int32_t i0, i;                                                                       \
    for (i0 = 0; i0 < n; i0 += PQ_S16_CHUNK) {                                           \
        const int32_t end = n - i0 < PQ_S16_CHUNK ? n : i0 + PQ_S16_CHUNK;               \
        int32_t s = 0;                                                                   \
        for (i = i0; i < end; ++i) s += (int32_t)a[i] * (int32_t)b[i];                   \
        total += s;                                                                      \
    }                                                                                    \
    return total;

#define S16_MAC_BODY                                                                     \
    int32_t i;                                                                           \
    for (i = 0; i < n; ++i) acc[i] += (int32_t)w[i] * (int32_t)x[i];

#define S16_COLS_BODY                                                                    \
    int32_t i, j;                                                                        \
    for (j = 0; j < n; ++j) acc[j] = 0;                                                  \
    for (i = 0; i < k; ++i) {                                                            \
        const int32_t ai = a[i];                                                         \
        const int16_t *row = wt + (size_t)i * (size_t)n;                                 \
        for (j = 0; j < n; ++j) acc[j] += ai * (int32_t)row[j];                          \
    }

static int64_t dot_base(const int16_t *a, const int16_t *b, int32_t n) { S16_DOT_BODY }
static void mac_base(int32_t *acc, const int16_t *w, const int16_t *x, int32_t n) { S16_MAC_BODY }
static void cols_base(const int16_t *a, const int16_t *wt, int32_t k, int32_t n, int32_t *acc) { S16_COLS_BODY }

/* One row against n filter rows: the isa's dot product per row. */
static void dots_base(const int16_t *a, const int16_t *w, int32_t k, int32_t n, int64_t *out) {
    int32_t j;
    for (j = 0; j < n; ++j) out[j] = dot_base(a, w + (size_t)j * (size_t)k, k);
}
static void dots2_base(const int16_t *a0, const int16_t *a1, const int16_t *w, int32_t k, int32_t n, int64_t *out0,
                       int64_t *out1) {
    dots_base(a0, w, k, n, out0);
    dots_base(a1, w, k, n, out1);
}

#if PQ_HAVE_X86_SIMD
__attribute__((target("avx2"))) static int64_t dot_avx2(const int16_t *a, const int16_t *b, int32_t n) {
    S16_DOT_BODY
}
__attribute__((target("avx2"))) static void mac_avx2(int32_t *acc, const int16_t *w, const int16_t *x, int32_t n) {
    S16_MAC_BODY
}
__attribute__((target("avx2"))) static void cols_avx2(const int16_t *a, const int16_t *wt, int32_t k, int32_t n,
                                                      int32_t *acc) {
    S16_COLS_BODY
}
__attribute__((target("avx2"))) static void dots_avx2(const int16_t *a, const int16_t *w, int32_t k, int32_t n,
                                                      int64_t *out) {
    int32_t j;
    for (j = 0; j < n; ++j) out[j] = dot_avx2(a, w + (size_t)j * (size_t)k, k);
}
__attribute__((target("avx2"))) static void dots2_avx2(const int16_t *a0, const int16_t *a1, const int16_t *w,
                                                       int32_t k, int32_t n, int64_t *out0, int64_t *out1) {
    dots_avx2(a0, w, k, n, out0);
    dots_avx2(a1, w, k, n, out1);
}
#endif

#if PQ_HAVE_X86_SIMD
/* AVX2's code on every x86 isa above the baseline (AVX-512 and AMX machines have AVX2). */
static int wide(int isa) { return isa == PQ_ISA_AVX2 || isa == PQ_ISA_AVX512VNNI || isa == PQ_ISA_AMX; }
#endif

#if PQ_HAVE_NEON
/* NEON's code on both aarch64 isas above portable (the dot-product one has NEON). */
static int neon(int isa) { return isa == PQ_ISA_NEON || isa == PQ_ISA_NEON_DOT; }
#endif

pq_s16_dot_fn pq_s16_dot_for(int isa) {
#if PQ_HAVE_X86_SIMD
    if (wide(isa)) return dot_avx2;
#endif
#if PQ_HAVE_NEON
    if (neon(isa)) return pq_s16_dot_neon;
#endif
    (void)isa;
    return dot_base;
}

pq_s16_mac_fn pq_s16_mac_for(int isa) {
#if PQ_HAVE_X86_SIMD
    if (wide(isa)) return mac_avx2;
#endif
#if PQ_HAVE_NEON
    if (neon(isa)) return pq_s16_mac_neon;
#endif
    (void)isa;
    return mac_base;
}

pq_s16_dots_fn pq_s16_dots_for(int isa) {
#if PQ_HAVE_X86_SIMD
    if (wide(isa)) return dots_avx2;
#endif
#if PQ_HAVE_NEON
    if (neon(isa)) return pq_s16_dots_neon;
#endif
    (void)isa;
    return dots_base;
}

pq_s16_dots2_fn pq_s16_dots2_for(int isa) {
#if PQ_HAVE_X86_SIMD
    if (wide(isa)) return dots2_avx2;
#endif
#if PQ_HAVE_NEON
    if (neon(isa)) return pq_s16_dots2_neon;
#endif
    (void)isa;
    return dots2_base;
}

/* aarch64's baseline C vectorises with NEON already (the other isas' versions here are
 * intrinsics because their reductions do not vectorise well). */
pq_s16_cols_fn pq_s16_cols_for(int isa) {
#if PQ_HAVE_X86_SIMD
    if (wide(isa)) return cols_avx2;
#endif
    (void)isa;
    return cols_base;
}

pq_s16_dw_pixel_fn pq_s16_dw_pixel_for(int isa) {
#if PQ_HAVE_NEON
    if (neon(isa)) return pq_s16_dw_pixel_neon;
#endif
    (void)isa;
    return NULL;
}

void pq_s16_widen(const int8_t *w, int32_t offset, int32_t n, int16_t *out) {
    int32_t i;
    for (i = 0; i < n; ++i) out[i] = (int16_t)((int32_t)w[i] + offset);
}
