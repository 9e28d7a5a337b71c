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

#if PQ_HAVE_X86_SIMD
#include <immintrin.h>
#endif

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

/* The pair of a[2p], a[2p + 1] (0 past the row's end, which it does not read). */
#define S16_PAIR(a, p, k) ((2 * (p) + 1 < (k)) ? (a)[2 * (p) + 1] : 0)

#define S16_COLS_BODY                                                                    \
    const int32_t pairs = (k + 1) / 2;                                                   \
    int32_t p, j;                                                                        \
    for (j = 0; j < n; ++j) acc[j] = 0;                                                  \
    for (p = 0; p < pairs; ++p) {                                                        \
        const int32_t a0 = a[2 * p], a1 = S16_PAIR(a, p, k);                             \
        const int16_t *w = wp + (size_t)p * (size_t)n * 2u;                              \
        for (j = 0; j < n; ++j) acc[j] += a0 * (int32_t)w[2 * j] + a1 * (int32_t)w[2 * j + 1]; \
    }

static int64_t dot_base(const int16_t *a, const int16_t *b, int32_t n) { S16_DOT_BODY }
static void mac_base(int32_t *acc, const int16_t *w, const int16_t *x, int32_t n) { S16_MAC_BODY }
static void cols_base(const int16_t *a, const int16_t *wp, int32_t k, int32_t n, int32_t *acc) { S16_COLS_BODY }

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
/* The body of cols_avx2 and cols8_avx2 (a, wp, k, n, acc in scope): wp's element type w_t,
 * `load(ptr)` the 16 weights at ptr as int16 lanes; the row's input pairs packed once (k <= PQ_S16_CHUNK: at
 * most 64), then 32 outputs a pass in four accumulators, then 8, then the scalar tail. */
#define S16_COLS_AVX2_BODY(w_t, load)                                                                            \
    const int32_t pairs = (k + 1) / 2;                                                                            \
    const size_t stride = (size_t)n * 2u; /* weights per pair row */                                              \
    int32_t pr[PQ_S16_CHUNK / 2];                                                                                 \
    int32_t p, j = 0;                                                                                             \
    for (p = 0; p < pairs; ++p) pr[p] = (int32_t)((uint16_t)a[2 * p] | (uint32_t)(uint16_t)S16_PAIR(a, p, k) << 16); \
    for (; j + 32 <= n; j += 32) {                                                                                \
        __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;                                           \
        const w_t *w = wp + 2u * (size_t)j;                                                          \
        for (p = 0; p < pairs; ++p, w += stride) {                                                                \
            const __m256i v = _mm256_set1_epi32(pr[p]);                                                           \
            s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(v, load(w)));                                             \
            s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(v, load(w + 16)));                                        \
            s2 = _mm256_add_epi32(s2, _mm256_madd_epi16(v, load(w + 32)));                                        \
            s3 = _mm256_add_epi32(s3, _mm256_madd_epi16(v, load(w + 48)));                                        \
        }                                                                                                         \
        _mm256_storeu_si256((__m256i *)(void *)(acc + j), s0);                                                    \
        _mm256_storeu_si256((__m256i *)(void *)(acc + j + 8), s1);                                                \
        _mm256_storeu_si256((__m256i *)(void *)(acc + j + 16), s2);                                               \
        _mm256_storeu_si256((__m256i *)(void *)(acc + j + 24), s3);                                               \
    }                                                                                                             \
    for (; j + 8 <= n; j += 8) {                                                                                  \
        __m256i s0 = _mm256_setzero_si256();                                                                      \
        const w_t *w = wp + 2u * (size_t)j;                                                          \
        for (p = 0; p < pairs; ++p, w += stride) s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(_mm256_set1_epi32(pr[p]), load(w))); \
        _mm256_storeu_si256((__m256i *)(void *)(acc + j), s0);                                                    \
    }                                                                                                             \
    for (; j < n; ++j) {                                                                                          \
        int32_t s = 0;                                                                                            \
        for (p = 0; p < pairs; ++p) {                                                                             \
            const w_t *w = wp + (size_t)p * stride + 2u * (size_t)j;                                 \
            s += (int32_t)a[2 * p] * w[0] + (int32_t)S16_PAIR(a, p, k) * w[1];                                    \
        }                                                                                                         \
        acc[j] = s;                                                                                               \
    }

#define S16_LOAD16(ptr) _mm256_loadu_si256((const __m256i *)(const void *)(ptr))
#define S16_LOAD8(ptr) _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(ptr)))

__attribute__((target("avx2"))) static void cols_avx2(const int16_t *a, const int16_t *wp, int32_t k, int32_t n,
                                                      int32_t *acc) {
    S16_COLS_AVX2_BODY(int16_t, S16_LOAD16)
}

/* cols_avx2 over int8 weight pairs (a filter offset of 0, as every 16x8 model has): half the
 * bytes to stream (a gate FULLY_CONNECTED's filter of 64 x 256 is 16 KB, not 32), each 16
 * weights sign-extended to int16 in a register before the vpmaddwd. */
__attribute__((target("avx2"))) static void cols8_avx2(const int16_t *a, const int8_t *wp, int32_t k, int32_t n,
                                                       int32_t *acc) {
    S16_COLS_AVX2_BODY(int8_t, S16_LOAD8)
}

/* cols8_avx2 on AVX-512 VNNI: 16 columns a register (32 weights sign-extended to int16 lanes),
 * 64 a pass in four accumulators, and vpdpwssd's multiply-add into the int32 lanes in one
 * instruction (no saturation: it wraps as vpmaddwd + vpaddd does, and the sums of k <= PQ_S16_CHUNK
 * products of int16 x int8 stay below 2^31, so both are the exact sums). */
__attribute__((target("avx2,avx512f,avx512bw,avx512vnni"))) static void cols8_avx512(const int16_t *a,
                                                                                   const int8_t *wp, int32_t k,
                                                                                   int32_t n, int32_t *acc) {
    const int32_t pairs = (k + 1) / 2;
    const size_t stride = (size_t)n * 2u; /* weight bytes per pair row */
    int32_t pr[PQ_S16_CHUNK / 2];
    int32_t p, j = 0;
    for (p = 0; p < pairs; ++p) pr[p] = (int32_t)((uint16_t)a[2 * p] | (uint32_t)(uint16_t)S16_PAIR(a, p, k) << 16);
#define S16_LOAD8X32(ptr) _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(const void *)(ptr)))
    for (; j + 64 <= n; j += 64) {
        __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
        const int8_t *w = wp + 2u * (size_t)j;
        for (p = 0; p < pairs; ++p, w += stride) {
            const __m512i v = _mm512_set1_epi32(pr[p]);
            s0 = _mm512_dpwssd_epi32(s0, v, S16_LOAD8X32(w));
            s1 = _mm512_dpwssd_epi32(s1, v, S16_LOAD8X32(w + 32));
            s2 = _mm512_dpwssd_epi32(s2, v, S16_LOAD8X32(w + 64));
            s3 = _mm512_dpwssd_epi32(s3, v, S16_LOAD8X32(w + 96));
        }
        _mm512_storeu_si512((void *)(acc + j), s0);
        _mm512_storeu_si512((void *)(acc + j + 16), s1);
        _mm512_storeu_si512((void *)(acc + j + 32), s2);
        _mm512_storeu_si512((void *)(acc + j + 48), s3);
    }
    for (; j + 16 <= n; j += 16) {
        __m512i s0 = _mm512_setzero_si512();
        const int8_t *w = wp + 2u * (size_t)j;
        for (p = 0; p < pairs; ++p, w += stride) s0 = _mm512_dpwssd_epi32(s0, _mm512_set1_epi32(pr[p]), S16_LOAD8X32(w));
        _mm512_storeu_si512((void *)(acc + j), s0);
    }
#undef S16_LOAD8X32
    for (; j < n; ++j) {
        int32_t s = 0;
        for (p = 0; p < pairs; ++p) {
            const int8_t *w = wp + (size_t)p * stride + 2u * (size_t)j;
            s += (int32_t)a[2 * p] * w[0] + (int32_t)S16_PAIR(a, p, k) * w[1];
        }
        acc[j] = s;
    }
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

pq_s16_cols8_fn pq_s16_cols8_for(int isa) {
#if PQ_HAVE_X86_SIMD
    if (isa == PQ_ISA_AVX512VNNI || isa == PQ_ISA_AMX) return cols8_avx512;
    if (wide(isa)) return cols8_avx2;
#endif
    (void)isa;
    return NULL;
}

pq_s16_dw_pixel_fn pq_s16_dw_pixel_for(int isa) {
#if PQ_HAVE_NEON
    if (neon(isa)) return pq_s16_dw_pixel_neon;
#endif
    (void)isa;
    return NULL;
}

/* wp[p][j][0..1] = value(j, 2p), value(j, 2p + 1) for the pairs layout, 0 past k. */
#define S16_PAIRS_PACK(value)                                                                  \
    int32_t i, j;                                                                              \
    for (i = 0; i < (k + 1) / 2 * 2; ++i) {                                                    \
        for (j = 0; j < n; ++j) {                                                              \
            wp[(size_t)(i / 2) * (size_t)n * 2u + 2u * (size_t)j + (size_t)(i % 2)] =          \
                i < k ? (value) : 0;                                                           \
        }                                                                                      \
    }

void pq_s16_cols_pack(const int8_t *w, int32_t offset, int32_t k, int32_t n, int16_t *wp) {
    S16_PAIRS_PACK((int16_t)(w[(size_t)j * (size_t)k + (size_t)i] + offset))
}

void pq_s16_cols8_pack(const int8_t *w, int32_t k, int32_t n, int8_t *wp) {
    S16_PAIRS_PACK(w[(size_t)j * (size_t)k + (size_t)i])
}

void pq_s16_widen(const int8_t *w, int32_t offset, int32_t n, int16_t *out) {
    int32_t i;
    for (i = 0; i < n; ++i) out[i] = (int16_t)((int32_t)w[i] + offset);
}
