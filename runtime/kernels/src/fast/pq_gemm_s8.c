/*
 * int8 GEMM for the fast CONV_2D / FULLY_CONNECTED kernels: sizes, bias
 * folding and dispatch from the ISA's traits (pq_isa_traits.h), the portable
 * packing and C kernel.
 *
 *   out[m, n] = requant(sum_k a[m, k] * w[n, k] + bias'[n])
 *
 * a is the raw int8 input (im2col rows, or the NHWC input itself for 1x1
 * convolutions and FULLY_CONNECTED); the input zero point lives in bias'
 * (pq_gemm_s8_fold_bias). Accumulation wraps modulo 2^32 like the reference.
 *
 * Packed layouts (w is n rows of k, as in the .picoq filter):
 *   portable      [np][k] int8: the rows, zero rows up to np (multiple of 4)
 *   AVX2          [np/8][kp/2][8][2] int16: for each block of 8 channels and
 *                 each pair of k, the 8 channels' two weights side by side,
 *                 the operand layout of vpmaddwd
 *   AVX-512 VNNI  [np/16][kp/4][16][4] int8: for each block of 16 channels
 *                 and each group of 4 k, the 16 channels' four weights, the
 *                 operand layout of vpdpbusd
 *   AMX           the AVX-512 VNNI layout with kp a multiple of 64: each 16
 *                 consecutive 64-byte rows of a channel block are one B tile
 *   NEON          [np/4][kp/16][4][16] int8, NEON_DOT [np/4][kp/4][4][4]
 *                 (pq_pack_neon.c; kp a multiple of 16)
 * (each ISA's packing lies with its kernels; granules in pq_isa_traits.c)
 * Padding (channels >= n, k >= the real k) is zero, so it adds nothing.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fixedpoint.h"
#include "pq_fast_isa.h"
#include "pq_isa_traits.h"

static int32_t pq_round_up(int32_t v, int32_t g)
{
    return (v + g - 1) / g * g;
}

int32_t pq_gemm_s8_np(int isa, int32_t n)
{
    return pq_round_up(n, pq_isa_traits_get(isa)->np_granule);
}

int32_t pq_gemm_s8_kp(int isa, int32_t k)
{
    return pq_round_up(k, pq_isa_traits_get(isa)->kp_granule);
}

size_t pq_gemm_s8_packed_size(int isa, int32_t n, int32_t k)
{
    const size_t elem = (size_t)pq_isa_traits_get(isa)->w_elem;
    const size_t bytes = (size_t)pq_gemm_s8_np(isa, n) * (size_t)pq_gemm_s8_kp(isa, k) * elem;
    return (bytes + 63u) / 64u * 64u;
}

void pq_gemm_s8_pack(int isa, int32_t n, int32_t k, const int8_t *w, int8_t *packed)
{
    pq_isa_traits_get(isa)->pack(n, k, pq_gemm_s8_np(isa, n), pq_gemm_s8_kp(isa, k), w, packed);
}

int32_t pq_gemm_s8_pair16(size_t count, const int8_t *w)
{
    size_t i;
    for (i = 0; i < count; ++i) {
        if (w[i] == -128) {
            return 0;
        }
    }
    return 1;
}

void pq_gemm_s8_pack_portable(int32_t n, int32_t k, int32_t np, int32_t kp, const int8_t *w, int8_t *packed)
{
    size_t i = 0;
    int32_t b, kk;
    for (b = 0; b < np; ++b) {
        for (kk = 0; kk < kp; ++kk) {
            packed[i++] = pq_w_or_0(n, k, w, b, kk);
        }
    }
}

void pq_gemm_s8_fold_bias(int isa, int32_t n, int32_t np, int32_t k, const int8_t *w, const int32_t *bias,
                          int32_t input_offset, int32_t *out)
{
    /* vpdpbusd multiplies unsigned bytes: that kernel feeds x + 128 (x ^ 0x80)
     * and the bias takes the difference, sum w * (input_offset - 128). */
    const uint32_t off = (uint32_t)input_offset - (uint32_t)pq_isa_traits_get(isa)->input_flip;
    int32_t c, kk;
    for (c = 0; c < np; ++c) {
        uint32_t acc = 0;
        if (c < n) {
            acc = bias != NULL ? (uint32_t)bias[c] : 0u;
            for (kk = 0; kk < k; ++kk) {
                acc += off * (uint32_t)(int32_t)w[(size_t)c * (size_t)k + (size_t)kk];
            }
        }
        out[c] = pq_wrap_i32(acc);
    }
}

size_t pq_gemm_s8_scratch_size(int isa, int32_t k)
{
    /* The kernels that copy a block of rows into a panel first (flipped or widened). */
    const pq_isa_traits *tr = pq_isa_traits_get(isa);
    const size_t bytes = (size_t)tr->panel_rows * (size_t)pq_gemm_s8_kp(isa, k) * (size_t)tr->w_elem +
                         (size_t)tr->panel_tail;
    return (bytes + 63u) / 64u * 64u;
}

void pq_gemm_s8(const pq_gemm_s8_plan *plan, int32_t m, const int8_t *a, int32_t lda, int8_t *out, int32_t ldo,
                void *scratch)
{
    pq_isa_traits_get(plan->isa)->gemm(plan, m, a, lda, out, ldo, scratch);
}

/* Portable kernel: 2 rows x 4 channels of dot products over k. The k loop is
 * a set of independent sums of int8 x int8 products, which GCC and Clang
 * vectorise (widening multiplies) on SSE2 and NEON alike. Sums are uint32 so
 * that wrapping is defined, as in the reference kernels. */
void pq_gemm_s8_portable(const pq_gemm_s8_plan *plan, int32_t m, const int8_t *a, int32_t lda, int8_t *out,
                         int32_t ldo, void *scratch)
{
    const int32_t k = plan->k;
    const int32_t n = plan->n;
    int32_t m0, n0, kk, c;
    (void)scratch;
    for (m0 = 0; m0 < m; m0 += 2) {
        /* A last odd row is computed twice (row m - 1) and stored once. */
        const int32_t rows = m - m0 < 2 ? m - m0 : 2;
        const int8_t *a0 = a + (size_t)m0 * (size_t)lda;
        const int8_t *a1 = a + (size_t)(m0 + rows - 1) * (size_t)lda;
        for (n0 = 0; n0 < n; n0 += 4) {
            const int8_t *w0 = plan->w + (size_t)n0 * (size_t)k;
            const int8_t *w1 = w0 + k;
            const int8_t *w2 = w1 + k;
            const int8_t *w3 = w2 + k;
            uint32_t s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
            int32_t acc[2][4];
            const int32_t nc = n - n0 < 4 ? n - n0 : 4;
            for (kk = 0; kk < k; ++kk) {
                const int32_t x0 = a0[kk];
                const int32_t x1 = a1[kk];
                s00 += (uint32_t)(x0 * w0[kk]);
                s01 += (uint32_t)(x0 * w1[kk]);
                s02 += (uint32_t)(x0 * w2[kk]);
                s03 += (uint32_t)(x0 * w3[kk]);
                s10 += (uint32_t)(x1 * w0[kk]);
                s11 += (uint32_t)(x1 * w1[kk]);
                s12 += (uint32_t)(x1 * w2[kk]);
                s13 += (uint32_t)(x1 * w3[kk]);
            }
            /* Back to int32 by wrapping; pq_requant_row_s8 adds the bias the same way. */
            acc[0][0] = pq_wrap_i32(s00);
            acc[0][1] = pq_wrap_i32(s01);
            acc[0][2] = pq_wrap_i32(s02);
            acc[0][3] = pq_wrap_i32(s03);
            acc[1][0] = pq_wrap_i32(s10);
            acc[1][1] = pq_wrap_i32(s11);
            acc[1][2] = pq_wrap_i32(s12);
            acc[1][3] = pq_wrap_i32(s13);
            for (c = 0; c < rows; ++c) {
                pq_requant_row_s8(&plan->rq, n0, nc, acc[c], out + (size_t)(m0 + c) * (size_t)ldo + (size_t)n0);
            }
        }
    }
}
