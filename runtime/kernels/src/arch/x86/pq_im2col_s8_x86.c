/*
 * im2col rows (pq_im2col.h) with vector copies: AVX-512 masked loads and
 * stores (no byte outside the run is read or written), AVX2 32-byte moves
 * then bytes.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"
#include "pq_im2col.h"

#if PQ_HAVE_X86_SIMD
#include <immintrin.h>

#include "pq_asan.h"
#include "pq_requant_x86.h"

PQ_AI PQ_T_AVX2 void pq_copy_avx2(int8_t *dst, const int8_t *src, int32_t n)
{
    int32_t i = 0;
    for (; i + 32 <= n; i += 32) {
        _mm256_storeu_si256((__m256i *)(void *)(dst + i), _mm256_loadu_si256((const __m256i *)(const void *)(src + i)));
    }
    for (; i < n; ++i) {
        dst[i] = src[i];
    }
}

PQ_AI PQ_T_AVX2 void pq_fill_avx2(int8_t *dst, int8_t v, int32_t n)
{
    const __m256i vv = _mm256_set1_epi8(v);
    int32_t i = 0;
    for (; i + 32 <= n; i += 32) {
        _mm256_storeu_si256((__m256i *)(void *)(dst + i), vv);
    }
    for (; i < n; ++i) {
        dst[i] = v;
    }
}

PQ_T_AVX2 void pq_im2col_s8_avx2(const pq_conv2d_fast_plan *plan, const int8_t *in, int32_t m0, int32_t rows,
                                 int32_t c_base, int8_t pad, int8_t *dst)
{
    pq_im2col_rows(plan, in, m0, rows, c_base, pad, dst, pq_copy_avx2, pq_fill_avx2);
}

PQ_AI PQ_T_AVX512 __mmask64 pq_mask64(int32_t n)
{
    return n >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1);
}

/* Short runs (the common 1..16-byte filter rows of a first layer) use the
 * narrowest masked move: measured 2.4x faster than a 64-byte masked move. */
PQ_AI PQ_T_AVX512 void pq_copy_avx512(int8_t *dst, const int8_t *src, int32_t n)
{
    int32_t i;
    if (n <= 16) {
        const __mmask16 m = (__mmask16)((1u << n) - 1u);
        PQ_ASAN_LOAD(src, n);
        PQ_ASAN_STORE(dst, n);
        _mm_mask_storeu_epi8(dst, m, _mm_maskz_loadu_epi8(m, src));
        return;
    }
    for (i = 0; i < n; i += 64) {
        const __mmask64 m = pq_mask64(n - i);
        PQ_ASAN_LOAD(src + i, n - i < 64 ? n - i : 64);
        PQ_ASAN_STORE(dst + i, n - i < 64 ? n - i : 64);
        _mm512_mask_storeu_epi8(dst + i, m, _mm512_maskz_loadu_epi8(m, src + i));
    }
}

PQ_AI PQ_T_AVX512 void pq_fill_avx512(int8_t *dst, int8_t v, int32_t n)
{
    int32_t i;
    if (n <= 16) {
        PQ_ASAN_STORE(dst, n);
        _mm_mask_storeu_epi8(dst, (__mmask16)((1u << n) - 1u), _mm_set1_epi8(v));
        return;
    }
    for (i = 0; i < n; i += 64) {
        PQ_ASAN_STORE(dst + i, n - i < 64 ? n - i : 64);
        _mm512_mask_storeu_epi8(dst + i, pq_mask64(n - i), _mm512_set1_epi8(v));
    }
}

PQ_T_AVX512 void pq_im2col_s8_avx512(const pq_conv2d_fast_plan *plan, const int8_t *in, int32_t m0, int32_t rows,
                                     int32_t c_base, int8_t pad, int8_t *dst)
{
    pq_im2col_rows(plan, in, m0, rows, c_base, pad, dst, pq_copy_avx512, pq_fill_avx512);
}

PQ_AI PQ_T_AVX512 void pq_fill_bytes_avx512(int8_t *dst, __m512i v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i += 64) {
        PQ_ASAN_STORE(dst + i, n - i < 64 ? n - i : 64);
        _mm512_mask_storeu_epi8(dst + i, pq_mask64((int32_t)(n - i < 64 ? n - i : 64)), v);
    }
}

/* A padded image's row (pq_pad_image): n bytes flipped (x ^ 0x80), or n flipped zero points. */
PQ_T_AVX512 void pq_pad_copy_flip_avx512(void *dst, const int8_t *src, size_t n)
{
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    int8_t *d = (int8_t *)dst;
    size_t i;
    for (i = 0; i < n; i += 64) {
        const __mmask64 m = pq_mask64((int32_t)(n - i < 64 ? n - i : 64));
        PQ_ASAN_LOAD(src + i, n - i < 64 ? n - i : 64);
        PQ_ASAN_STORE(d + i, n - i < 64 ? n - i : 64);
        _mm512_mask_storeu_epi8(d + i, m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src + i), flip));
    }
}

PQ_T_AVX512 void pq_pad_fill_flip_avx512(void *dst, int8_t zp, size_t n)
{
    pq_fill_bytes_avx512((int8_t *)dst, _mm512_set1_epi8((char)(zp ^ (int8_t)0x80)), n);
}

#else
/* ISO C forbids an empty translation unit. */
typedef int pq_im2col_s8_x86_unused;
#endif
