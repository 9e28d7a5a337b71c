/*
 * LOGISTIC and TANH 16x8 for AVX2, 8 values a step: pq_sigmoid16_run's arithmetic (TFLM's
 * int16 reference: the input scaled to the table's units, |v| split into an index and a
 * fraction, linear interpolation between two entries in uint32, each op's finish, the low 16
 * bits) in int32 lanes. One 32-bit gather at entry `index` reads that entry (low half) and the
 * next (high half); the index is clamped to 254, so the read stays inside the 256 entries, and
 * the lanes whose index reached 255 take the saturated value, as the reference does.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"
#include "pq_sigmoid16.h"

#if PQ_HAVE_X86_SIMD
#include <immintrin.h>

#include "pq_requant_x86.h"

PQ_T_AVX2 int32_t pq_sigmoid16_avx2(const pq_sigmoid16_scale *s, int tanh, int32_t n, const int16_t *table,
                                    const int16_t *in, int16_t *out)
{
    const int fb = tanh ? 8 : 9; /* fraction bits */
    const __m256i mult = _mm256_set1_epi32(s->mult), rnd = _mm256_set1_epi32(s->round);
    const __m128i shift = _mm_cvtsi32_si128(s->shift), fbits = _mm_cvtsi32_si128(fb);
    const __m256i last = _mm256_set1_epi32(254), frac = _mm256_set1_epi32((1 << fb) - 1);
    const __m256i saturated = _mm256_set1_epi32(tanh ? (int32_t)(0xFFFFu << 8) : (int32_t)(0x7FFFu << 10));
    const __m256i low16 = _mm256_set1_epi32(0xFFFF), zero = _mm256_setzero_si256();
    /* the finish: v >= 0 ? r + pos : neg - r */
    const __m256i pos = _mm256_set1_epi32(tanh ? (int32_t)((1u << 7) - (1u << 23)) : (int32_t)(1u << 9));
    const __m256i neg = _mm256_set1_epi32(tanh ? (int32_t)((1u << 23) + (1u << 7) - 1u)
                                               : (int32_t)((1u << 25) + (1u << 9) - 1u));
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i x = _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)(const void *)(in + i)));
        /* |x * mult + round| < 2^31 (the validator's bound): no lane wraps */
        const __m256i v = _mm256_sra_epi32(_mm256_add_epi32(_mm256_mullo_epi32(x, mult), rnd), shift);
        const __m256i a = _mm256_abs_epi32(v);
        const __m256i index = _mm256_srl_epi32(a, fbits);
        const __m256i over = _mm256_cmpgt_epi32(index, last); /* index >= 255 */
        const __m256i pair = _mm256_i32gather_epi32((const int *)(const void *)table, _mm256_min_epi32(index, last), 2);
        const __m256i ua = _mm256_and_si256(pair, low16), ub = _mm256_srli_epi32(pair, 16);
        __m256i r = _mm256_add_epi32(_mm256_sll_epi32(ua, fbits),
                                     _mm256_mullo_epi32(_mm256_and_si256(a, frac), _mm256_sub_epi32(ub, ua)));
        r = _mm256_blendv_epi8(r, saturated, over);
        r = _mm256_blendv_epi8(_mm256_add_epi32(r, pos), _mm256_sub_epi32(neg, r), _mm256_cmpgt_epi32(zero, v));
        r = tanh ? _mm256_srai_epi32(r, 8) : _mm256_srli_epi32(r, 10);
        r = _mm256_and_si256(r, low16); /* the low 16 bits, which packus then keeps as they are */
        _mm_storeu_si128((__m128i *)(void *)(out + i),
                         _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1)));
    }
    return i;
}
#endif
