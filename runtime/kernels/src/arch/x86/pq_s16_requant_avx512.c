/*
 * The 16x8 FULLY_CONNECTED's requantization of one row of exact int32 sums on AVX-512, 16
 * outputs a step, the tail masked: pq_s16_requant_cols_avx2's arithmetic (sum * m15 + (bias *
 * m15 + round) in wrapping 64 bits, the low 32 bits of its arithmetic shift by `total`), with
 * AVX-512's own 64-bit arithmetic shift. A recurrent step's gate FC has 16-64 units and waits on
 * this: AVX2's XOR-emulated shift and lane shuffles were about a sixth of a 16-unit LSTM step.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"
#include "pq_s16_fast.h"

#if PQ_HAVE_X86_SIMD
#include <immintrin.h>

#include "pq_requant_x86.h"

/* Eight outputs: the low 32 bits of each int64 lane's (sum * m15 + bm) >> total. */
PQ_T_AVX512 PQ_AI __m256i rq8(__m256i sums, __m256i m15, __mmask8 live, const int64_t *bm, const int64_t *total)
{
    const __m512i r = _mm512_add_epi64(_mm512_mul_epi32(_mm512_cvtepi32_epi64(sums), _mm512_cvtepi32_epi64(m15)),
                                       _mm512_maskz_loadu_epi64(live, bm));
    return _mm512_cvtepi64_epi32(_mm512_srav_epi64(r, _mm512_maskz_loadu_epi64(live, total)));
}

PQ_T_AVX512 void pq_s16_requant_cols_avx512(const int32_t *acc, const int32_t *m15, const int64_t *bm,
                                            const int64_t *total, int32_t n, int32_t lo, int32_t hi, int16_t *out)
{
    const __m512i vlo = _mm512_set1_epi32(lo), vhi = _mm512_set1_epi32(hi);
    int32_t j;
    for (j = 0; j < n; j += 16) {
        const int32_t left = n - j;
        const __mmask16 live = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
        const __m512i s = _mm512_maskz_loadu_epi32(live, acc + j), m = _mm512_maskz_loadu_epi32(live, m15 + j);
        const __m256i a = rq8(_mm512_castsi512_si256(s), _mm512_castsi512_si256(m), (__mmask8)live, bm + j, total + j);
        const __m256i b = rq8(_mm512_extracti64x4_epi64(s, 1), _mm512_extracti64x4_epi64(m, 1), (__mmask8)(live >> 8),
                              bm + j + 8, total + j + 8);
        __m512i y = _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
        y = _mm512_min_epi32(_mm512_max_epi32(y, vlo), vhi); /* clamped into int16: vpmovdw keeps them */
        _mm256_mask_storeu_epi16(out + j, live, _mm512_cvtepi32_epi16(y));
    }
}
#endif
