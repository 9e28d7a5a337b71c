/*
 * DEPTHWISE_CONV_2D channel-block kernels for AVX2 (16 channels) and AVX-512
 * (64 channels); layouts in pq_depthwise_conv2d_s8_fast.c.
 *
 * Both read a zero-point-padded copy of the image (AVX2: widened to int16;
 * AVX-512: bytes flipped to x ^ 0x80), so every output pixel is interior.
 * AVX2: per block and pixel, each pair of taps is interleaved channel by
 * channel (vpunpcklwd / vpunpckhwd of the two taps' int16 inputs) and
 * multiplied with the matching weight pairs by vpmaddwd, exact in int32.
 * AVX-512: per block and pixel, each group of 4 taps is interleaved byte by
 * byte (vpunpck{l,h}bw, then vpunpck{l,h}wd) so that each int32 lane holds one
 * channel's 4 taps, and vpdpbusd multiplies them (unsigned, flipped inputs)
 * with the 4 weights; 3 groups cover a 3x3 filter.
 * The accumulators hold channels in the unpacks' order, the per-channel
 * constants were stored in that order at load, and signed saturating packs of
 * the results restore channel order. A 3x3 filter gets its own instantiation
 * so the tap loops unroll and the block's weights stay in registers.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"

#if PQ_HAVE_X86_SIMD
#include <immintrin.h>

#include "pq_asan.h"
#include "pq_requant_x86.h"

/* ---- AVX2 ---------------------------------------------------------------- */

PQ_AI PQ_T_AVX2 void pq_dw_avx2_body(const pq_dwconv_fast_plan *plan, const int f_h, const int f_w,
                                     const int16_t *img, int32_t wp, int8_t *out)
{
    const int32_t c = plan->in_dims.c;
    const int32_t out_h = plan->out_dims.h, out_w = plan->out_dims.w;
    const ptrdiff_t s_y = (ptrdiff_t)plan->p.stride_h * wp * c, s_x = (ptrdiff_t)plan->p.stride_w * c;
    /* Few channels dividing 16, stride 1: one vector holds 16 / c neighbouring
     * pixels, against weights and constants replicated across the lanes. */
    const int32_t px_per_vec = (c < 16 && 16 % c == 0 && plan->p.stride_w == 1) ? 16 / c : 1;
    const int taps = f_h * f_w;
    const int pairs = (taps + 1) / 2;
    const int16_t *wall = (const int16_t *)(const void *)plan->w;
    ptrdiff_t tap_off[256];
    int32_t blk, oy, ox, fy, fx, i;
    int t;
    /* Offsets (in int16) of the taps from a pixel's origin in the padded
     * image; the loader sends filters of at most 256 taps here. */
    for (fy = 0, t = 0; fy < f_h; ++fy) {
        for (fx = 0; fx < f_w; ++fx, ++t) {
            tap_off[t] = ((ptrdiff_t)fy * plan->p.dilation_h * wp + (ptrdiff_t)fx * plan->p.dilation_w) * c;
        }
    }
    for (blk = 0; blk < plan->cp; blk += 16) {
        const int32_t rem = c - blk;
        const int16_t *wb = wall + (size_t)(blk / 16) * (size_t)pairs * 32u;
        /* Constants stored lo (channels 0-3, 8-11) then hi (4-7, 12-15). */
        const pq_rq8 qlo = pq_rq8_load(&plan->rq, blk);
        const pq_rq8 qhi = pq_rq8_load(&plan->rq, blk + 8);
        for (oy = 0; oy < out_h; ++oy) {
            const int16_t *row = img + (ptrdiff_t)oy * s_y + blk;
            int8_t *dst = out + (size_t)oy * (size_t)out_w * (size_t)c + (size_t)blk;
            for (ox = 0; ox < out_w; ox += px_per_vec, row += s_x * px_per_vec, dst += c * px_per_vec) {
                /* Values to store: this block's channels, or the pixels left in the row. */
                const int32_t n = px_per_vec > 1 ? (out_w - ox < px_per_vec ? out_w - ox : px_per_vec) * c
                                                 : (rem < 16 ? rem : 16);
                __m256i acc_lo = qlo.bias;
                __m256i acc_hi = qhi.bias;
                __m256i r16;
                __m128i r8;
                PQ_UNROLL
                for (t = 0; t < pairs; ++t) {
                    /* Loads past the block's last channel read values that meet zero
                     * weights (the padded image has slack at its end). */
                    const __m256i w_lo = _mm256_load_si256((const __m256i *)(const void *)(wb + (size_t)t * 32u));
                    const __m256i w_hi =
                        _mm256_load_si256((const __m256i *)(const void *)(wb + (size_t)t * 32u + 16u));
                    const __m256i xa = _mm256_loadu_si256((const __m256i *)(const void *)(row + tap_off[2 * t]));
                    __m256i xb = _mm256_setzero_si256();
                    if (2 * t + 1 < taps) {
                        xb = _mm256_loadu_si256((const __m256i *)(const void *)(row + tap_off[2 * t + 1]));
                    }
                    acc_lo = _mm256_add_epi32(acc_lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(xa, xb), w_lo));
                    acc_hi = _mm256_add_epi32(acc_hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(xa, xb), w_hi));
                }
                /* packs of (lo, hi) per 128-bit half: channels 0-7 | 8-15 in order. */
                r16 = _mm256_packs_epi32(pq_rq8_apply(&qlo, &plan->rq, acc_lo),
                                         pq_rq8_apply(&qhi, &plan->rq, acc_hi));
                r16 = _mm256_packs_epi16(r16, r16);
                r8 = _mm_unpacklo_epi64(_mm256_castsi256_si128(r16), _mm256_extracti128_si256(r16, 1));
                if (n == 16) {
                    _mm_storeu_si128((__m128i *)(void *)dst, r8);
                } else {
                    int8_t tmp[16];
                    _mm_storeu_si128((__m128i *)(void *)tmp, r8);
                    for (i = 0; i < n; ++i) {
                        dst[i] = tmp[i];
                    }
                }
            }
        }
    }
}

PQ_T_AVX2 void pq_dwconv_s8_avx2(const pq_dwconv_fast_plan *plan, const void *padded, int32_t wp, int8_t *out)
{
    const int16_t *img = (const int16_t *)padded;
    if (plan->filter_dims.h == 3 && plan->filter_dims.w == 3) {
        pq_dw_avx2_body(plan, 3, 3, img, wp, out);
    } else {
        pq_dw_avx2_body(plan, plan->filter_dims.h, plan->filter_dims.w, img, wp, out);
    }
}

/* ---- AVX-512 ------------------------------------------------------------- */

PQ_AI PQ_T_AVX512 void pq_dw_avx512_body(const pq_dwconv_fast_plan *plan, const int f_h, const int f_w,
                                         const int8_t *img, int32_t wp, int8_t *out)
{
    const int32_t c = plan->in_dims.c;
    const int32_t out_h = plan->out_dims.h, out_w = plan->out_dims.w;
    const ptrdiff_t s_y = (ptrdiff_t)plan->p.stride_h * wp * c, s_x = (ptrdiff_t)plan->p.stride_w * c;
    /* Few channels dividing 64, stride 1: one vector holds 64 / c neighbouring
     * pixels (their bytes are consecutive in every tap row), against weights
     * and constants that the packing replicated across the lanes. */
    const int32_t px_per_vec = (c < 64 && 64 % c == 0 && plan->p.stride_w == 1) ? 64 / c : 1;
    const int taps = f_h * f_w;
    const int groups = (taps + 3) / 4;
    ptrdiff_t tap_off[64 * 4];
    int32_t blk, oy, ox, fy, fx;
    int t, g, j;
    /* Offsets of the taps from a pixel's origin in the padded image; the
     * loader sends filters of at most 256 taps here. */
    for (fy = 0, t = 0; fy < f_h; ++fy) {
        for (fx = 0; fx < f_w; ++fx, ++t) {
            tap_off[t] = ((ptrdiff_t)fy * plan->p.dilation_h * wp + (ptrdiff_t)fx * plan->p.dilation_w) * c;
        }
    }
    for (blk = 0; blk < plan->cp; blk += 64) {
        const int32_t rem = c - blk;
        const int8_t *wb = plan->w + (size_t)blk * (size_t)groups * 4u;
        pq_rq16 q[4];
        for (j = 0; j < 4; ++j) {
            q[j] = pq_rq16_load(&plan->rq, blk + 16 * j);
        }
        for (oy = 0; oy < out_h; ++oy) {
            const int8_t *row = img + (ptrdiff_t)oy * s_y + blk;
            int8_t *dst = out + ((size_t)oy * (size_t)out_w * (size_t)c) + (size_t)blk;
            for (ox = 0; ox < out_w; ox += px_per_vec, row += s_x * px_per_vec, dst += c * px_per_vec) {
                /* Bytes to store: this block's channels, or the pixels left in the row. */
                const int32_t n = px_per_vec > 1 ? (out_w - ox < px_per_vec ? out_w - ox : px_per_vec) * c : rem;
                const __mmask64 sm = n >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1);
                __m512i acc[4], r01, r23;
                PQ_UNROLL
                for (j = 0; j < 4; ++j) {
                    acc[j] = q[j].bias;
                }
                PQ_UNROLL
                for (g = 0; g < groups; ++g) {
                    /* Unsigned loads past the block's last channel read bytes
                     * that meet zero weights (64 bytes of slack at the end). */
                    const __m512i zero = _mm512_setzero_si512();
                    const __m512i x0 = _mm512_loadu_si512((const void *)(row + tap_off[4 * g]));
                    const __m512i x1 = 4 * g + 1 < taps ? _mm512_loadu_si512((const void *)(row + tap_off[4 * g + 1])) : zero;
                    const __m512i x2 = 4 * g + 2 < taps ? _mm512_loadu_si512((const void *)(row + tap_off[4 * g + 2])) : zero;
                    const __m512i x3 = 4 * g + 3 < taps ? _mm512_loadu_si512((const void *)(row + tap_off[4 * g + 3])) : zero;
                    const __m512i a_lo = _mm512_unpacklo_epi8(x0, x1), a_hi = _mm512_unpackhi_epi8(x0, x1);
                    const __m512i b_lo = _mm512_unpacklo_epi8(x2, x3), b_hi = _mm512_unpackhi_epi8(x2, x3);
                    const int8_t *wg = wb + (size_t)g * 256u;
                    acc[0] = _mm512_dpbusd_epi32(acc[0], _mm512_unpacklo_epi16(a_lo, b_lo),
                                                 _mm512_load_si512((const void *)wg));
                    acc[1] = _mm512_dpbusd_epi32(acc[1], _mm512_unpackhi_epi16(a_lo, b_lo),
                                                 _mm512_load_si512((const void *)(wg + 64)));
                    acc[2] = _mm512_dpbusd_epi32(acc[2], _mm512_unpacklo_epi16(a_hi, b_hi),
                                                 _mm512_load_si512((const void *)(wg + 128)));
                    acc[3] = _mm512_dpbusd_epi32(acc[3], _mm512_unpackhi_epi16(a_hi, b_hi),
                                                 _mm512_load_si512((const void *)(wg + 192)));
                }
                /* Per 128-bit lane l: (acc0, acc1) -> channels 16l + 0..7, (acc2, acc3) -> 16l + 8..15. */
                r01 = _mm512_packs_epi32(pq_rq16_apply(&q[0], &plan->rq, acc[0]), pq_rq16_apply(&q[1], &plan->rq, acc[1]));
                r23 = _mm512_packs_epi32(pq_rq16_apply(&q[2], &plan->rq, acc[2]), pq_rq16_apply(&q[3], &plan->rq, acc[3]));
                PQ_ASAN_STORE(dst, n < 64 ? n : 64);
                _mm512_mask_storeu_epi8(dst, sm, _mm512_packs_epi16(r01, r23));
            }
        }
    }
}

PQ_T_AVX512 void pq_dwconv_s8_avx512(const pq_dwconv_fast_plan *plan, const void *padded, int32_t wp, int8_t *out)
{
    const int8_t *img = (const int8_t *)padded;
    if (plan->filter_dims.h == 3 && plan->filter_dims.w == 3) {
        pq_dw_avx512_body(plan, 3, 3, img, wp, out);
    } else {
        pq_dw_avx512_body(plan, plan->filter_dims.h, plan->filter_dims.w, img, wp, out);
    }
}

/* ---- Packing (load time, plain C) ----------------------------------------- */

int32_t pq_dw_lane_avx2(int32_t i)
{
    /* lo: 0-3, 8-11; hi: 4-7, 12-15 */
    return (i & 4) * 2 + (i & 8) / 2 + (i & 3);
}

int32_t pq_dw_lane_avx512(int32_t i)
{
    /* V_j lane l dword k holds channel 16l + 4j + k, at position 16j + 4l + k. */
    return ((i >> 2) & 3) * 16 + (i >> 4) * 4 + (i & 3);
}

/* Channel ch of a block of bw, or with fewer channels than a block, dividing it, ch % c (the
 * lanes replicate the channels: a vector holds bw / c pixels). */
static int32_t pq_dw_channel(int32_t ch, int32_t c, int32_t bw)
{
    return (c < bw && bw % c == 0) ? ch % c : ch;
}

/* Weight of channel ch, tap t (0 outside). */
static int8_t pq_dw_w(const int8_t *filter, int32_t taps, int32_t c, int32_t ch, int32_t t)
{
    return (ch < c && t < taps) ? filter[(size_t)t * (size_t)c + (size_t)ch] : 0;
}

void pq_dwconv_s8_pack_avx2(int32_t taps, int32_t c, int32_t cp, const int8_t *filter, int8_t *packed)
{
    int16_t *p16 = (int16_t *)(void *)packed;
    size_t n = 0;
    int32_t blk, pr, half, l, i, e;
    for (blk = 0; blk < cp; blk += 16) {
        for (pr = 0; pr < (taps + 1) / 2; ++pr) {
            for (half = 0; half < 2; ++half) {
                for (l = 0; l < 2; ++l) {
                    for (i = 0; i < 4; ++i) {
                        const int32_t ch = pq_dw_channel(blk + 8 * l + 4 * half + i, c, 16);
                        for (e = 0; e < 2; ++e) {
                            p16[n++] = pq_dw_w(filter, taps, c, ch, 2 * pr + e);
                        }
                    }
                }
            }
        }
    }
}

void pq_dwconv_s8_pack_avx512(int32_t taps, int32_t c, int32_t cp, const int8_t *filter, int8_t *packed)
{
    size_t n = 0;
    int32_t blk, pr, i, e;
    for (blk = 0; blk < cp; blk += 64) {
        for (pr = 0; pr < (taps + 3) / 4; ++pr) {
            for (i = 0; i < 64; ++i) {
                /* dword i = 16j + 4l + k of the group's vectors holds channel 16l + 4j + k */
                const int32_t ch = pq_dw_channel(blk + pq_dw_lane_avx512(i), c, 64);
                for (e = 0; e < 4; ++e) {
                    packed[n++] = pq_dw_w(filter, taps, c, ch, 4 * pr + e);
                }
            }
        }
    }
}

#else
/* ISO C forbids an empty translation unit. */
typedef int pq_depthwise_conv2d_s8_x86_unused;
#endif
