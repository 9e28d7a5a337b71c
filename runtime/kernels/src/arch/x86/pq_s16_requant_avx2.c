/*
 * The 16x8 FULLY_CONNECTED's requantization of one row of exact int32 sums, 8 outputs a step on
 * AVX2 (pq_fully_connected_s16_fast_op.c, by columns): pq_s16_rq_apply's
 *   r = (sum + bias) * m15 + round  (wrapping uint64),  out = low 32 bits of (int64 r >> total)
 * as sum * m15 + (bias * m15 + round), the second term a per-unit constant taken at prepare
 * (the same value modulo 2^64), sum * m15 one signed 32 x 32 -> 64 multiply, and the arithmetic
 * shift done as a logical one between two XORs with the sign, which AVX2 lacks for 64 bits.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"
#include "pq_s16_fast.h"

#if PQ_HAVE_X86_SIMD
#include <immintrin.h>

#include "pq_requant_x86.h"

/* Four outputs: the low 32 bits of each int64 lane's (sum * m15 + bm) >> total. */
PQ_T_AVX2 static __m256i rq4(__m128i sums, const int32_t *m15, const int64_t *bm, const int64_t *total)
{
    const __m256i s = _mm256_cvtepi32_epi64(sums);
    const __m256i m = _mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)(const void *)m15));
    const __m256i r = _mm256_add_epi64(_mm256_mul_epi32(s, m), _mm256_loadu_si256((const __m256i *)(const void *)bm));
    const __m256i sign = _mm256_cmpgt_epi64(_mm256_setzero_si256(), r);
    const __m256i t = _mm256_loadu_si256((const __m256i *)(const void *)total);
    return _mm256_xor_si256(_mm256_srlv_epi64(_mm256_xor_si256(r, sign), t), sign);
}

PQ_T_AVX2 int32_t pq_s16_requant_cols_avx2(const int32_t *acc, const int32_t *m15, const int64_t *bm,
                                           const int64_t *total, int32_t n, int32_t lo, int32_t hi, int16_t *out)
{
    const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    const __m256i vlo = _mm256_set1_epi32(lo), vhi = _mm256_set1_epi32(hi);
    int32_t j = 0;
    for (; j + 8 <= n; j += 8) {
        const __m256i a = rq4(_mm_loadu_si128((const __m128i *)(const void *)(acc + j)), m15 + j, bm + j, total + j);
        const __m256i b =
            rq4(_mm_loadu_si128((const __m128i *)(const void *)(acc + j + 4)), m15 + j + 4, bm + j + 4, total + j + 4);
        /* the low halves of a's and b's four lanes, in order */
        const __m128i lo4 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(a, even));
        const __m128i hi4 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(b, even));
        __m256i y = _mm256_inserti128_si256(_mm256_castsi128_si256(lo4), hi4, 1);
        y = _mm256_min_epi32(_mm256_max_epi32(y, vlo), vhi); /* clamped into int16: packs keeps them */
        _mm_storeu_si128((__m128i *)(void *)(out + j),
                         _mm_packs_epi32(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1)));
    }
    return j;
}
#endif
