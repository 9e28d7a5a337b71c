/*
 * FULLY_CONNECTED at a few batches on AVX2 with int8 weights (the GEMM's
 * AVX2 packing is int16: twice the bytes to stream for a matrix-vector
 * product, which is all a batch-1 layer is).
 *
 * Packed layout [np/8][kp/4][8][4] int8: for each block of 8 channels and each
 * group of 4 k, the 8 channels' four weights, so that a broadcast group of
 * four inputs meets them byte for byte.
 *
 * vpmaddubsw multiplies unsigned by signed bytes and adds pairs into int16,
 * saturating. It is fed |x| (x = -128 gives 0x80, which is 128 unsigned) and
 * the weights with x's sign moved onto them (vpsignb: w * sign(x)). That is
 * exact when no weight is -128 (the only case sent here, pq_gemm_s8_pair16):
 * then w * sign(x) stays in [-127, 127] and each pair of products in
 * [-2 * 128 * 127, 2 * 128 * 127], inside int16. vpmaddwd by 1 then adds the
 * two int16 of each channel into its int32 lane. The input zero point is in
 * the folded bias as for the other GEMMs, so x is the raw int8 input.
 *
 * Inputs are read in place: groups of four bytes, the last partial group
 * assembled with zeros (never read past a row's k bytes).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"

#if PQ_HAVE_X86_SIMD
#include <immintrin.h>

#include "pq_requant_x86.h"

/* Rows per block: 2 rows x 4 vectors or 1 row x 8 vectors of accumulators, with each row's
 * broadcast input and its magnitude, fit the 16 ymm registers. */
#define FC_MR 2

void pq_fc_s8_pack_i8_avx2(int32_t n, int32_t k, int32_t np, int32_t kp, const int8_t *w, int8_t *packed)
{
    pq_pack_blocks(n, k, np, kp, 8, 4, 1, w, packed);
}

/* Inputs kk .. k - 1 of a row (fewer than 4) and zeros, as one group of four. */
PQ_AI int32_t fc_tail(const int8_t *x, int32_t kk, int32_t k)
{
    uint8_t b[4] = {0, 0, 0, 0};
    int32_t q, i;
    for (i = 0; kk + i < k; ++i) {
        b[i] = (uint8_t)x[kk + i];
    }
    __builtin_memcpy(&q, b, sizeof q);
    return q;
}

/* One group of 4 k: each row's four inputs (q[r]) times the nv vectors' weights at wk. */
PQ_AI PQ_T_AVX2 void fc_step(__m256i (*acc)[8], const int8_t *wk, size_t vstride, const int32_t *q, const int mr,
                             const int nv)
{
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i xs[FC_MR], xa[FC_MR];
    int r, v;
    PQ_UNROLL
    for (r = 0; r < mr; ++r) {
        xs[r] = _mm256_set1_epi32(q[r]);
        xa[r] = _mm256_abs_epi8(xs[r]);
    }
    PQ_UNROLL
    for (v = 0; v < nv; ++v) {
        const __m256i w = _mm256_load_si256((const __m256i *)(const void *)(wk + v * vstride));
        PQ_UNROLL
        for (r = 0; r < mr; ++r) {
            const __m256i p = _mm256_maddubs_epi16(xa[r], _mm256_sign_epi8(w, xs[r]));
            acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_madd_epi16(p, ones));
        }
    }
}

/* `mr` rows x `nv` vectors of 8 channels from channel n0, stored below channel c1. */
PQ_AI PQ_T_AVX2 void fc_ukernel(const pq_gemm_s8_plan *plan, const int8_t *const *x, int32_t n0, int32_t c1,
                                int8_t *out, int32_t ldo, const int mr, const int nv)
{
    const size_t vstride = (size_t)plan->kp * 8u; /* bytes per block of 8 channels */
    const int8_t *wk = plan->w + (size_t)n0 * (size_t)plan->kp;
    const int32_t k = plan->k;
    __m256i acc[FC_MR][8];
    int32_t q[FC_MR];
    int32_t kk, r, v;
    pq_acc_bias(&acc[0][0], 8, plan->rq.bias + n0, mr, nv);
    for (kk = 0; kk + 4 <= k; kk += 4, wk += 32) {
        PQ_UNROLL
        for (r = 0; r < mr; ++r) {
            __builtin_memcpy(&q[r], x[r] + kk, sizeof q[r]);
        }
        fc_step(acc, wk, vstride, q, mr, nv);
    }
    if (kk < k) {
        PQ_UNROLL
        for (r = 0; r < mr; ++r) {
            q[r] = fc_tail(x[r], kk, k);
        }
        fc_step(acc, wk, vstride, q, mr, nv);
    }
    if (nv % 4 == 0 && plan->rq.all_rshift) {
        /* Each row's 4 vectors narrowed together: 32 channels in one store. */
        PQ_UNROLL
        for (v = 0; v < nv; v += 4) {
            const int32_t c0 = n0 + 8 * v;
            PQ_UNROLL
            for (r = 0; r < mr; ++r) {
                __m256i y[4];
                int j;
                PQ_UNROLL
                for (j = 0; j < 4; ++j) {
                    const pq_rq8 q = pq_rq8_load(&plan->rq, c0 + 8 * j);
                    y[j] = pq_mbqm8(&q, plan->rq.any_lshift, acc[r][v + j]);
                }
                pq_store32(out + (size_t)r * (size_t)ldo + (size_t)c0, pq_rq8_narrow4(&plan->rq, y[0], y[1], y[2], y[3]),
                           c1 - c0);
            }
        }
        return;
    }
    PQ_UNROLL
    for (v = 0; v < nv; ++v) {
        const int32_t c0 = n0 + 8 * v;
        const pq_rq8 q = pq_rq8_load(&plan->rq, c0);
        PQ_UNROLL
        for (r = 0; r < mr; ++r) {
            const __m256i y = pq_rq8_apply(&q, &plan->rq, acc[r][v]);
            pq_store8(out + (size_t)r * (size_t)ldo + (size_t)c0, pq_pack8(y), c1 - c0);
        }
    }
}

/* Channels [n0, c1) of `mr` rows, as many 8-channel vectors at a time as registers allow. */
PQ_AI PQ_T_AVX2 void fc_rows(const pq_gemm_s8_plan *plan, const int8_t *const *x, int32_t n0, int32_t c1,
                             int8_t *out, int32_t ldo, const int mr)
{
    /* Channels up to c1 rounded up to 8 are packed (zeros past n): computed, not stored. */
    const int32_t end = (c1 + 7) / 8 * 8;
    const int wide = mr == 1 ? 8 : 4;
    for (; n0 + 8 * wide <= end; n0 += 8 * wide) {
        fc_ukernel(plan, x, n0, c1, out, ldo, mr, wide);
    }
    for (; n0 < end; n0 += 8) {
        fc_ukernel(plan, x, n0, c1, out, ldo, mr, 1);
    }
}

PQ_T_AVX2 void pq_fc_s8_i8_avx2(const pq_gemm_s8_plan *plan, int32_t m, const int8_t *a, int32_t lda, int8_t *out,
                                int32_t ldo, int32_t c0, int32_t c1)
{
    int32_t m0;
    for (m0 = 0; m0 < m; m0 += FC_MR) {
        const int8_t *x[FC_MR];
        int8_t *o = out + (size_t)m0 * (size_t)ldo;
        x[0] = a + (size_t)m0 * (size_t)lda;
        if (m - m0 >= 2) {
            x[1] = x[0] + lda;
            fc_rows(plan, x, c0, c1, o, ldo, 2);
        } else {
            fc_rows(plan, x, c0, c1, o, ldo, 1);
        }
    }
}

#else
/* ISO C forbids an empty translation unit. */
typedef int pq_fully_connected_s8_avx2_unused;
#endif
