/*
 * ADD (same shapes) for AVX2 (8 elements per step) and AVX-512 (16); see
 * pq_add_s8_fast.c. Per element, as pq_add_s8's pq_add_one:
 *   s_i = MBQM((x_i + offset_i) * 2^left_shift, M_i, shift_i)
 *   out = clamp(MBQM(s_1 + s_2, M_o, shift_o) + output_offset)
 * all in wrapping int32 lanes.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"

#if PQ_HAVE_X86_SIMD
#include <immintrin.h>

#include "pq_asan.h"
#include "pq_requant_x86.h"

PQ_T_AVX2 void pq_add_s8_avx2(const pq_add_params *p, int32_t n, const int8_t *in1, const int8_t *in2, int8_t *out)
{
    const pq_rq8 r1 = pq_rq8_uniform(p->input1_multiplier, p->input1_shift);
    const pq_rq8 r2 = pq_rq8_uniform(p->input2_multiplier, p->input2_shift);
    const pq_rq8 ro = pq_rq8_uniform(p->output_multiplier, p->output_shift);
    const int l1 = p->input1_shift > 0, l2 = p->input2_shift > 0, lo = p->output_shift > 0;
    const __m256i off1 = _mm256_set1_epi32(p->input1_offset);
    const __m256i off2 = _mm256_set1_epi32(p->input2_offset);
    const __m128i ls = _mm_cvtsi32_si128(p->left_shift);
    const __m256i oo = _mm256_set1_epi32(p->output_offset);
    const __m256i amin = _mm256_set1_epi32(p->act_min);
    const __m256i amax = _mm256_set1_epi32(p->act_max);
    int32_t i, j;
    for (i = 0; i < n; i += 8) {
        const int32_t cnt = n - i < 8 ? n - i : 8;
        int8_t b1[8] = {0}, b2[8] = {0}, bo[16];
        const int8_t *s1 = in1 + i, *s2 = in2 + i;
        __m256i a, b, s, y, y16;
        __m128i y8;
        if (cnt < 8) { /* tail: no load past the tensors */
            for (j = 0; j < cnt; ++j) {
                b1[j] = s1[j];
                b2[j] = s2[j];
            }
            s1 = b1;
            s2 = b2;
        }
        a = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)s1));
        b = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)s2));
        a = _mm256_sll_epi32(_mm256_add_epi32(a, off1), ls);
        b = _mm256_sll_epi32(_mm256_add_epi32(b, off2), ls);
        s = _mm256_add_epi32(pq_mbqm8(&r1, l1, a), pq_mbqm8(&r2, l2, b));
        y = _mm256_add_epi32(pq_mbqm8(&ro, lo, s), oo);
        y = _mm256_min_epi32(_mm256_max_epi32(y, amin), amax);
        y16 = _mm256_packs_epi32(y, y);
        y16 = _mm256_packs_epi16(y16, y16);
        y8 = _mm_unpacklo_epi32(_mm256_castsi256_si128(y16), _mm256_extracti128_si256(y16, 1));
        if (cnt == 8) {
            _mm_storel_epi64((__m128i *)(void *)(out + i), y8);
        } else {
            _mm_storeu_si128((__m128i *)(void *)bo, y8);
            for (j = 0; j < cnt; ++j) {
                out[i + j] = bo[j];
            }
        }
    }
}

PQ_T_AVX512 void pq_add_s8_avx512(const pq_add_params *p, int32_t n, const int8_t *in1, const int8_t *in2,
                                  int8_t *out)
{
    const pq_rq16 r1 = pq_rq16_uniform(p->input1_multiplier, p->input1_shift);
    const pq_rq16 r2 = pq_rq16_uniform(p->input2_multiplier, p->input2_shift);
    const pq_rq16 ro = pq_rq16_uniform(p->output_multiplier, p->output_shift);
    const int l1 = p->input1_shift > 0, l2 = p->input2_shift > 0, lo = p->output_shift > 0;
    const __m512i off1 = _mm512_set1_epi32(p->input1_offset);
    const __m512i off2 = _mm512_set1_epi32(p->input2_offset);
    const __m128i ls = _mm_cvtsi32_si128(p->left_shift);
    const __m512i oo = _mm512_set1_epi32(p->output_offset);
    const __m512i amin = _mm512_set1_epi32(p->act_min);
    const __m512i amax = _mm512_set1_epi32(p->act_max);
    int32_t i;
    for (i = 0; i < n; i += 16) {
        const int32_t cnt = n - i < 16 ? n - i : 16;
        /* Masked loads and store: nothing past the tensors is touched. */
        const __mmask16 m = (__mmask16)(cnt == 16 ? 0xFFFFu : (1u << cnt) - 1u);
        __m512i a, b, s, y;
        PQ_ASAN_LOAD(in1 + i, cnt);
        PQ_ASAN_LOAD(in2 + i, cnt);
        PQ_ASAN_STORE(out + i, cnt);
        a = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, in1 + i));
        b = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, in2 + i));
        a = _mm512_sll_epi32(_mm512_add_epi32(a, off1), ls);
        b = _mm512_sll_epi32(_mm512_add_epi32(b, off2), ls);
        s = _mm512_add_epi32(pq_mbqm16(&r1, l1, a), pq_mbqm16(&r2, l2, b));
        y = _mm512_add_epi32(pq_mbqm16(&ro, lo, s), oo);
        y = _mm512_min_epi32(_mm512_max_epi32(y, amin), amax);
        _mm512_mask_cvtsepi32_storeu_epi8(out + i, m, y);
    }
}

#else
/* ISO C forbids an empty translation unit. */
typedef int pq_add_s8_x86_unused;
#endif
