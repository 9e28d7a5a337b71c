/*
 * int8 GEMM, AVX2 kernel (see pq_gemm_s8.c for the packed layout).
 *
 * vpmaddwd multiplies int16 pairs and adds each pair into an int32 lane:
 * exact for sign-extended int8 (|product| <= 2^14), unlike vpmaddubsw, whose
 * int16 pair sums saturate. Each broadcast pair of inputs meets 8 channels'
 * weight pairs.
 *
 * The kernel reads int16 rows in place: row r of a block starts at origin[r]
 * and its k values are `taps` runs of kt int16 (kt even) at origin[r] +
 * tap_off[t] bytes. A plain GEMM widens each block of 4 rows into `scratch`
 * (k padded to even with 0) and has one run per row; a convolution reads a
 * filter tap or a whole filter row per run from a zero-point-padded int16
 * copy of its input (pq_conv2d_s8_fast.c). Compiled with a target attribute;
 * only called when pq_isa_supported says so.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"

#if PQ_HAVE_X86_SIMD
#include <immintrin.h>

#include "pq_requant_x86.h"

#define MR PQ_GEMM_MR_AVX2

PQ_AI PQ_T_AVX2 void pq_widen(int16_t *dst, const int8_t *src, size_t n)
{
    size_t i;
    for (i = 0; i + 16 <= n; i += 16) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
        _mm256_storeu_si256((__m256i *)(void *)(dst + i), _mm256_cvtepi8_epi16(v));
    }
    for (; i < n; ++i) {
        dst[i] = src[i];
    }
}

static PQ_T_AVX2 void pq_panel_s16(int32_t rows, int32_t k, int32_t kp, const int8_t *a, int32_t lda,
                                   int16_t *panel)
{
    int32_t r, kk;
    if (lda == k && kp == k) {
        /* Rows back to back, no padding (1x1 convolutions, FULLY_CONNECTED with k even): one
         * run, in whole vectors where a row alone (k = 8 in VWW) would not fill one. */
        pq_widen(panel, a, (size_t)rows * (size_t)k);
        return;
    }
    for (r = 0; r < rows; ++r) {
        int16_t *dst = panel + (size_t)r * (size_t)kp;
        pq_widen(dst, a + (size_t)r * (size_t)lda, (size_t)k);
        for (kk = k; kk < kp; ++kk) {
            dst[kk] = 0;
        }
    }
}

/* A padded image's row: n values sign-extended to int16 (pq_pad_image). */
PQ_T_AVX2 void pq_pad_copy_widen_avx2(void *dst, const int8_t *src, size_t n)
{
    pq_widen((int16_t *)dst, src, n);
}

/* [np/8][kp/2][8][2] int16: for each block of 8 channels and each pair of k, the 8 channels' two
 * weights side by side (load time, plain C). */
void pq_gemm_s8_pack_avx2(int32_t n, int32_t k, int32_t np, int32_t kp, const int8_t *w, int8_t *packed)
{
    pq_pack_blocks(n, k, np, kp, 8, 2, 2, w, packed);
}

/* `mr` rows x `nv` vectors of 8 channels; both constants at each call site. */
PQ_AI PQ_T_AVX2 void pq_ukernel(const pq_gemm_s8_plan *plan, const int8_t *const *origin, const ptrdiff_t *tap_off,
                                int32_t taps, int32_t kt, int32_t n0, int32_t rows, int8_t *out, int32_t ldo,
                                const int mr, const int nv)
{
    const size_t vstride = (size_t)plan->kp * 8u; /* int16 per block of 8 channels */
    const int16_t *wk = (const int16_t *)(const void *)plan->w + (size_t)n0 * (size_t)plan->kp;
    __m256i acc[MR][4];
    int32_t t, k2, r, v;
    pq_acc_bias(&acc[0][0], 4, plan->rq.bias + n0, mr, nv);
    for (t = 0; t < taps; ++t) {
        const int16_t *p[MR];
        PQ_UNROLL
        for (r = 0; r < mr; ++r) {
            p[r] = (const int16_t *)(const void *)(origin[r] + tap_off[t]);
        }
        for (k2 = 0; k2 < kt; k2 += 2) {
            __m256i w[4];
            PQ_UNROLL
            for (v = 0; v < nv; ++v) {
                w[v] = _mm256_load_si256((const __m256i *)(const void *)(wk + v * vstride));
            }
            wk += 16;
            PQ_UNROLL
            for (r = 0; r < mr; ++r) {
                int32_t pair;
                __m256i x;
                __builtin_memcpy(&pair, p[r] + k2, sizeof pair);
                x = _mm256_set1_epi32(pair);
                PQ_UNROLL
                for (v = 0; v < nv; ++v) {
                    acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_madd_epi16(x, w[v]));
                }
            }
        }
    }
    PQ_UNROLL
    for (v = 0; v < nv; ++v) {
        const int32_t c0 = n0 + 8 * v;
        const pq_rq8 q = pq_rq8_load(&plan->rq, c0);
        if (mr == 4 && plan->rq.all_rshift) {
            /* The 4 rows' 8 channels narrowed together: row r's bytes at 8 r. */
            const __m256i b = pq_rq8_narrow4(&plan->rq, pq_mbqm8(&q, plan->rq.any_lshift, acc[0][v]),
                                             pq_mbqm8(&q, plan->rq.any_lshift, acc[1][v]),
                                             pq_mbqm8(&q, plan->rq.any_lshift, acc[2][v]),
                                             pq_mbqm8(&q, plan->rq.any_lshift, acc[3][v]));
            const __m128i lo = _mm256_castsi256_si128(b);
            const __m128i hi = _mm256_extracti128_si256(b, 1);
            const __m128i part[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
            PQ_UNROLL
            for (r = 0; r < 4; ++r) {
                if (r < rows) {
                    pq_store8(out + (size_t)r * (size_t)ldo + (size_t)c0, part[r], plan->n - c0);
                }
            }
            continue;
        }
        PQ_UNROLL
        for (r = 0; r < mr; ++r) {
            if (r < rows) {
                const __m256i y = pq_rq8_apply(&q, &plan->rq, acc[r][v]);
                pq_store8(out + (size_t)r * (size_t)ldo + (size_t)c0, pq_pack8(y), plan->n - c0);
            }
        }
    }
}

PQ_T_AVX2 void pq_gemm_s8_avx2_block(const pq_gemm_s8_plan *plan, int32_t rows, const int8_t *const *origin,
                                     const ptrdiff_t *tap_off, int32_t taps, int32_t kt, int8_t *out, int32_t ldo,
                                     void *work)
{
    const int32_t np = plan->np;
    int32_t n0;
    (void)work;
    /* 4 rows x 16 channels: 8 accumulators, 2 weight vectors, the broadcast
     * and vpmaddwd's product fit the 16 ymm registers (24 channels spill).
     * A single row (FULLY_CONNECTED at batch 1) takes 32 channels at once. */
    n0 = 0;
    if (rows == 1) {
        for (; n0 + 32 <= np; n0 += 32) {
            pq_ukernel(plan, origin, tap_off, taps, kt, n0, rows, out, ldo, 1, 4);
        }
        for (; n0 < np; n0 += 8) {
            pq_ukernel(plan, origin, tap_off, taps, kt, n0, rows, out, ldo, 1, 1);
        }
        return;
    }
    for (; n0 + 16 <= np; n0 += 16) {
        pq_ukernel(plan, origin, tap_off, taps, kt, n0, rows, out, ldo, MR, 2);
    }
    if (n0 < np) {
        pq_ukernel(plan, origin, tap_off, taps, kt, n0, rows, out, ldo, MR, 1);
    }
}

PQ_T_AVX2 void pq_gemm_s8_avx2(const pq_gemm_s8_plan *plan, int32_t m, const int8_t *a, int32_t lda, int8_t *out,
                               int32_t ldo, void *scratch)
{
    int16_t *panel = (int16_t *)scratch;
    const ptrdiff_t no_off = 0;
    const int8_t *origin[MR];
    int32_t m0, r;
    for (m0 = 0; m0 < m; m0 += MR) {
        const int32_t rows = m - m0 < MR ? m - m0 : MR;
        pq_panel_s16(rows, plan->k, plan->kp, a + (size_t)m0 * (size_t)lda, lda, panel);
        /* Rows past the end repeat the last row: read, computed, never stored. */
        for (r = 0; r < MR; ++r) {
            origin[r] = (const int8_t *)(const void *)(panel + (size_t)(r < rows ? r : rows - 1) * (size_t)plan->kp);
        }
        pq_gemm_s8_avx2_block(plan, rows, origin, &no_off, 1, plan->kp, out + (size_t)m0 * (size_t)ldo, ldo, NULL);
    }
}

#else
/* ISO C forbids an empty translation unit. */
typedef int pq_gemm_s8_avx2_unused;
#endif
