/*
 * LOGISTIC and TANH 16x8 for AVX-512, 16 values a step: pq_sigmoid16_avx2's arithmetic with
 * the table read by permutes instead of a gather. A recurrent cell's gates are 16-64 values an
 * op, each op waits for the one before, so the gather's latency was the op's (about a third
 * of a 16-unit LSTM step on Zen 4). `pairs` (pq_sigmoid16_pairs) holds entry i in its low half
 * and entry i + 1 in its high half, the two values a lane interpolates between: 256 of them
 * are 1 KB, 8 two-register permutes read every 32-entry window, and a tree of three
 * masked blends keeps each lane's window. The tail runs masked: no scalar loop.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"
#include "pq_sigmoid16.h"

#if PQ_HAVE_X86_SIMD
#include <immintrin.h>

#include "pq_requant_x86.h"

/* pairs[index] for indices in [0, 255]: window index >> 5, lane index & 31. The table stays in
 * memory (L1): each permute takes one operand from there. */
PQ_T_AVX512 PQ_AI __m512i pair_of(const uint32_t *pairs, __m512i index)
{
    const __mmask16 b5 = _mm512_test_epi32_mask(index, _mm512_set1_epi32(32));
    const __mmask16 b6 = _mm512_test_epi32_mask(index, _mm512_set1_epi32(64));
    const __mmask16 b7 = _mm512_test_epi32_mask(index, _mm512_set1_epi32(128));
    __m512i p[8];
    int k;
    for (k = 0; k < 8; ++k) {
        p[k] = _mm512_permutex2var_epi32(_mm512_loadu_si512((const void *)(pairs + 32 * k)), index,
                                         _mm512_loadu_si512((const void *)(pairs + 32 * k + 16)));
    }
    for (k = 0; k < 4; ++k) p[k] = _mm512_mask_blend_epi32(b5, p[2 * k], p[2 * k + 1]);
    for (k = 0; k < 2; ++k) p[k] = _mm512_mask_blend_epi32(b6, p[2 * k], p[2 * k + 1]);
    return _mm512_mask_blend_epi32(b7, p[0], p[1]);
}

PQ_T_AVX512 void pq_sigmoid16_avx512(const pq_sigmoid16_scale *s, int tanh, int32_t n, const uint32_t *pairs,
                                     const int16_t *in, int16_t *out)
{
    const int fb = tanh ? 8 : 9; /* fraction bits */
    const __m512i mult = _mm512_set1_epi32(s->mult), rnd = _mm512_set1_epi32(s->round);
    const __m128i shift = _mm_cvtsi32_si128(s->shift), fbits = _mm_cvtsi32_si128(fb);
    const __m512i last = _mm512_set1_epi32(254), frac = _mm512_set1_epi32((1 << fb) - 1);
    const __m512i saturated = _mm512_set1_epi32(tanh ? (int32_t)(0xFFFFu << 8) : (int32_t)(0x7FFFu << 10));
    const __m512i low16 = _mm512_set1_epi32(0xFFFF);
    /* the finish: v >= 0 ? r + pos : neg - r */
    const __m512i pos = _mm512_set1_epi32(tanh ? (int32_t)((1u << 7) - (1u << 23)) : (int32_t)(1u << 9));
    const __m512i neg = _mm512_set1_epi32(tanh ? (int32_t)((1u << 23) + (1u << 7) - 1u)
                                               : (int32_t)((1u << 25) + (1u << 9) - 1u));
    int32_t i;
    for (i = 0; i < n; i += 16) {
        const __mmask16 live = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
        const __m512i x = _mm512_cvtepi16_epi32(_mm256_maskz_loadu_epi16(live, in + i));
        /* |x * mult + round| < 2^31 (the validator's bound): no lane wraps */
        const __m512i v = _mm512_sra_epi32(_mm512_add_epi32(_mm512_mullo_epi32(x, mult), rnd), shift);
        const __m512i a = _mm512_abs_epi32(v);
        const __m512i index = _mm512_srl_epi32(a, fbits);
        const __mmask16 over = _mm512_cmpgt_epi32_mask(index, last); /* index >= 255 */
        const __m512i pair = pair_of(pairs, _mm512_min_epi32(index, last));
        const __m512i ua = _mm512_and_si512(pair, low16), ub = _mm512_srli_epi32(pair, 16);
        __m512i r = _mm512_add_epi32(_mm512_sll_epi32(ua, fbits),
                                     _mm512_mullo_epi32(_mm512_and_si512(a, frac), _mm512_sub_epi32(ub, ua)));
        r = _mm512_mask_mov_epi32(r, over, saturated);
        r = _mm512_mask_blend_epi32(_mm512_cmplt_epi32_mask(v, _mm512_setzero_si512()), _mm512_add_epi32(r, pos),
                                    _mm512_sub_epi32(neg, r));
        r = tanh ? _mm512_srai_epi32(r, 8) : _mm512_srli_epi32(r, 10);
        /* vpmovdw keeps the low 16 bits, as TFLM's store into int16_t does */
        _mm256_mask_storeu_epi16(out + i, live, _mm512_cvtepi32_epi16(r));
    }
}
#endif
