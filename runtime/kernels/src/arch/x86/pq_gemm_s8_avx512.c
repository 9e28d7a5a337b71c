/*
 * int8 GEMM, AVX-512 VNNI kernel (see pq_gemm_s8.c for the packed layout).
 *
 * vpdpbusd multiplies unsigned bytes by signed bytes, four per int32 lane,
 * and adds them to the lane without saturation: exact int32 sums. Inputs are
 * fed as x ^ 0x80 = x + 128 (unsigned); the folded bias subtracts 128 * sum w.
 * Each broadcast group of 4 input bytes meets 16 channels of weights.
 *
 * The kernel reads rows in place: row r of a block starts at origin[r], and
 * its k values are `taps` runs of kt bytes (kt a multiple of 4) at
 * origin[r] + tap_off[t]. A plain GEMM row is one run; a convolution reads a
 * filter tap (or a whole filter row) per run from a zero-point-padded copy of
 * its input (pq_conv2d_s8_fast.c), so no tap needs a bounds check. The bytes
 * must already be flipped (x ^ 0x80): a plain GEMM copies each block of rows
 * into `scratch` that way (zero-padding k to kp, where the weights are zero).
 * Compiled with a target attribute; only called when pq_isa_supported says so.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"

#if PQ_HAVE_X86_SIMD
#include <immintrin.h>

#include "pq_asan.h"
#include "pq_requant_x86.h"

#define MR PQ_GEMM_MR_AVX512

/* [np/16][kp/4][16][4] int8: for each block of 16 channels and each group of 4 k, the 16 channels'
 * four weights, the operand layout of vpdpbusd; AMX's too (kp a multiple of 64). Load time, plain C. */
void pq_gemm_s8_pack_vnni(int32_t n, int32_t k, int32_t np, int32_t kp, const int8_t *w, int8_t *packed)
{
    pq_pack_blocks(n, k, np, kp, 16, 4, 1, w, packed);
}

/* rows x k input bytes -> rows x kp flipped bytes (k..kp: 0x80, against zero weights). */
PQ_T_AVX512 void pq_panel_flip_avx512(int32_t rows, int32_t k, int32_t kp, const int8_t *a, int32_t lda,
                                      int8_t *panel)
{
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    int32_t r, k0;
    for (r = 0; r < rows; ++r) {
        const int8_t *src = a + (size_t)r * (size_t)lda;
        int8_t *dst = panel + (size_t)r * (size_t)kp;
        for (k0 = 0; k0 < kp; k0 += 64) {
            const int32_t nk = k - k0 < 64 ? (k - k0 > 0 ? k - k0 : 0) : 64;
            const int32_t nkp = kp - k0 < 64 ? kp - k0 : 64;
            /* Masked loads never touch bytes past the row: no over-read. */
            const __mmask64 lm = nk == 64 ? ~(__mmask64)0 : (((__mmask64)1 << nk) - 1);
            const __mmask64 sm = nkp == 64 ? ~(__mmask64)0 : (((__mmask64)1 << nkp) - 1);
            PQ_ASAN_LOAD(src + k0, nk);
            PQ_ASAN_STORE(dst + k0, nkp);
            _mm512_mask_storeu_epi8(dst + k0, sm, _mm512_xor_si512(_mm512_maskz_loadu_epi8(lm, src + k0), flip));
        }
    }
}

/* `mr` rows x `nv` vectors of 16 channels. Both are compile-time constants at
 * every call site, so the loops unroll and the accumulators stay in registers. */
PQ_AI PQ_T_AVX512 void pq_ukernel(const pq_gemm_s8_plan *plan, const int8_t *const *origin,
                                  const ptrdiff_t *tap_off, int32_t taps, int32_t kt, int32_t n0, int32_t rows,
                                  int8_t *out, int32_t ldo, const int mr, const int nv)
{
    const size_t vstride = (size_t)plan->kp * 16u; /* bytes per block of 16 channels */
    const int8_t *wk = plan->w + (size_t)n0 * (size_t)plan->kp;
    __m512i acc[8][8];
    int32_t t, c4, r, v;
    PQ_UNROLL
    for (v = 0; v < nv; ++v) {
        /* Accumulators start at the folded bias. */
        const __m512i bias = _mm512_loadu_si512((const void *)(plan->rq.bias + n0 + 16 * v));
        PQ_UNROLL
        for (r = 0; r < mr; ++r) {
            acc[r][v] = bias;
        }
    }
    for (t = 0; t < taps; ++t) {
        const ptrdiff_t off = tap_off[t];
        const int8_t *p[8];
        PQ_UNROLL
        for (r = 0; r < mr; ++r) {
            p[r] = origin[r] + off;
        }
        for (c4 = 0; c4 < kt; c4 += 4) {
            __m512i w[8];
            PQ_UNROLL
            for (v = 0; v < nv; ++v) {
                w[v] = _mm512_load_si512((const void *)(wk + v * vstride));
            }
            wk += 64;
            PQ_UNROLL
            for (r = 0; r < mr; ++r) {
                const __m512i x = _mm512_broadcastd_epi32(_mm_loadu_si32(p[r] + c4));
                PQ_UNROLL
                for (v = 0; v < nv; ++v) {
                    acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], x, w[v]);
                }
            }
        }
    }
    PQ_UNROLL
    for (v = 0; v < nv; ++v) {
        const int32_t c0 = n0 + 16 * v;
        const int32_t nc = plan->n - c0;
        const __mmask16 sm = nc >= 16 ? (__mmask16)0xFFFF : (nc > 0 ? (__mmask16)((1u << nc) - 1u) : 0);
        const pq_rq16 q = pq_rq16_load(&plan->rq, c0);
        PQ_UNROLL
        for (r = 0; r < mr; ++r) {
            if (r < rows) {
                const __m512i y = pq_rq16_apply(&q, &plan->rq, acc[r][v]);
                PQ_ASAN_STORE(out + (size_t)r * (size_t)ldo + (size_t)c0, nc < 16 ? nc : 16);
                _mm512_mask_cvtsepi32_storeu_epi8(out + (size_t)r * (size_t)ldo + (size_t)c0, sm, y);
            }
        }
    }
}

/* One block of up to MR rows over all channel blocks. Register tiles: 4 rows x
 * 64 channels (16 accumulators) where the channels allow; 8 rows x 16 or 32
 * channels; 1 or 2 rows x up to 128 channels for matrix-vector products
 * (FULLY_CONNECTED at batch 1), whose 8 independent sums hide vpdpbusd latency. */
PQ_T_AVX512 void pq_gemm_s8_avx512vnni_block(const pq_gemm_s8_plan *plan, int32_t rows,
                                             const int8_t *const *origin, const ptrdiff_t *tap_off, int32_t taps,
                                             int32_t kt, int8_t *out, int32_t ldo, void *work)
{
    const int32_t nvec = plan->np / 16;
    const size_t half = 4u * (size_t)ldo;
    int32_t v0 = 0;
    (void)work;
    if (rows <= 2) {
        for (; v0 + 8 <= nvec; v0 += 8) {
            if (rows == 1) {
                pq_ukernel(plan, origin, tap_off, taps, kt, 16 * v0, rows, out, ldo, 1, 8);
            } else {
                pq_ukernel(plan, origin, tap_off, taps, kt, 16 * v0, rows, out, ldo, 2, 8);
            }
        }
    }
    for (; v0 + 4 <= nvec; v0 += 4) {
        pq_ukernel(plan, origin, tap_off, taps, kt, 16 * v0, rows, out, ldo, 4, 4);
        if (rows > 4) {
            pq_ukernel(plan, origin + 4, tap_off, taps, kt, 16 * v0, rows - 4, out + half, ldo, 4, 4);
        }
    }
    switch (nvec - v0) {
    case 3:
        pq_ukernel(plan, origin, tap_off, taps, kt, 16 * v0, rows, out, ldo, 4, 3);
        if (rows > 4) {
            pq_ukernel(plan, origin + 4, tap_off, taps, kt, 16 * v0, rows - 4, out + half, ldo, 4, 3);
        }
        break;
    case 2:
        pq_ukernel(plan, origin, tap_off, taps, kt, 16 * v0, rows, out, ldo, 8, 2);
        break;
    case 1:
        pq_ukernel(plan, origin, tap_off, taps, kt, 16 * v0, rows, out, ldo, 8, 1);
        break;
    default:
        break;
    }
}

PQ_T_AVX512 void pq_gemm_s8_avx512vnni(const pq_gemm_s8_plan *plan, int32_t m, const int8_t *a, int32_t lda,
                                       int8_t *out, int32_t ldo, void *scratch)
{
    int8_t *panel = (int8_t *)scratch;
    const ptrdiff_t no_off = 0;
    const int8_t *origin[MR];
    int32_t m0, r;
    for (m0 = 0; m0 < m; m0 += MR) {
        const int32_t rows = m - m0 < MR ? m - m0 : MR;
        pq_panel_flip_avx512(rows, plan->k, plan->kp, a + (size_t)m0 * (size_t)lda, lda, panel);
        /* Rows past the end repeat the last row: read, computed, never stored. */
        for (r = 0; r < MR; ++r) {
            origin[r] = panel + (size_t)(r < rows ? r : rows - 1) * (size_t)plan->kp;
        }
        pq_gemm_s8_avx512vnni_block(plan, rows, origin, &no_off, 1, plan->kp, out + (size_t)m0 * (size_t)ldo, ldo,
                                    NULL);
    }
}

#else
/* ISO C forbids an empty translation unit. */
typedef int pq_gemm_s8_avx512_unused;
#endif
