/*
 * MultiplyByQuantizedMultiplier + output offset + clamp on 8 (AVX2) or 16
 * (AVX-512) int32 lanes at once, each lane with its own channel's constants.
 * Internal to the x86 fast kernels; include only inside
 * `#if PQ_HAVE_X86_SIMD`, after <immintrin.h>.
 *
 * Lane-exact translation of pq_mbqm (pq_fixedpoint.h):
 *   x <<= lshift                     (wrapping, as x * 2^lshift)
 *   SRDHM(x, M) = (x * M + 2^30) >> 31 in 64 bits. gemmlowp's nudge with
 *                 truncating division equals this floor form for every sign;
 *                 the INT32_MIN * INT32_MIN saturation needs M < 0, which
 *                 the validator refuses. The 64-bit products come from
 *                 vpmuldq on the even lanes and on the odd lanes shifted down.
 *                 (x*M + 2^30) >> 31 needs only bits 31..62 of the sum, so a
 *                 logical 64-bit shift gives the same low 32 bits.
 *   RDPOT(v, r) rounds v / 2^r half away from zero, which is symmetric:
 *                 RDPOT(v, r) = sign(v) * ((|v| + (2^r >> 1)) >> r), with |v|
 *                 and the sum as uint32 (|INT32_MIN| = 2^31, and the sum stays
 *                 below 2^32). Checked against pq_rdpot for every r on
 *                 hundreds of thousands of values, ties and extremes included.
 * Callers start their accumulators at the bias (so no add here).
 */
#ifndef PQ_REQUANT_X86_H
#define PQ_REQUANT_X86_H

#define PQ_T_AVX2 __attribute__((target("avx2")))
#define PQ_T_AVX512 __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vnni")))
#define PQ_AI __attribute__((always_inline)) static inline
/* C99 _Pragma: complete unrolling of the register-blocked loops. */
#define PQ_UNROLL _Pragma("GCC unroll 8")

/* The constants of 8 or 16 channels, loaded once and reused for many rows. */
typedef struct {
    __m256i bias, mult, mult_odd, lshift, rshift, rround;
} pq_rq8;

typedef struct {
    __m512i bias, mult, mult_odd, lshift, rshift, rround;
} pq_rq16;

/* ---- AVX2 ---------------------------------------------------------------- */

PQ_AI PQ_T_AVX2 __m256i pq_ld8x32(const int32_t *p)
{
    return _mm256_loadu_si256((const __m256i *)(const void *)p);
}

/* The GEMM kernels' accumulators start at the folded bias: acc[r * stride + v] for mr rows and nv
 * vectors of 8 channels from bias. */
PQ_AI PQ_T_AVX2 void pq_acc_bias(__m256i *acc, int stride, const int32_t *bias, const int mr, const int nv)
{
    int r, v;
    PQ_UNROLL
    for (v = 0; v < nv; ++v) {
        const __m256i b = pq_ld8x32(bias + 8 * v);
        PQ_UNROLL
        for (r = 0; r < mr; ++r) {
            acc[r * stride + v] = b;
        }
    }
}

PQ_AI PQ_T_AVX2 pq_rq8 pq_rq8_load(const pq_requant *q, int32_t c0)
{
    pq_rq8 r;
    r.bias = pq_ld8x32(q->bias + c0);
    r.mult = pq_ld8x32(q->mult + c0);
    r.mult_odd = _mm256_srli_epi64(r.mult, 32);
    r.lshift = pq_ld8x32(q->lshift + c0);
    r.rshift = pq_ld8x32(q->rshift + c0);
    /* 2^r >> 1 = (mask + 1) >> 1 with mask = 2^r - 1 (r = 31 wraps to 2^31 as uint32: fine). */
    r.rround = _mm256_srli_epi32(_mm256_add_epi32(pq_ld8x32(q->rmask + c0), _mm256_set1_epi32(1)), 1);
    return r;
}

/* Same constants in every lane (ADD's per-tensor rescales). */
PQ_AI PQ_T_AVX2 pq_rq8 pq_rq8_uniform(int32_t mult, int32_t shift)
{
    pq_rq8 r;
    const int32_t right = shift > 0 ? 0 : -shift;
    r.bias = _mm256_setzero_si256();
    r.mult = _mm256_set1_epi32(mult);
    r.mult_odd = r.mult;
    r.lshift = _mm256_set1_epi32(shift > 0 ? shift : 0);
    r.rshift = _mm256_set1_epi32(right);
    r.rround = _mm256_set1_epi32((int32_t)(((uint32_t)1 << right) >> 1));
    return r;
}

PQ_AI PQ_T_AVX2 __m256i pq_mbqm8(const pq_rq8 *r, int any_lshift, __m256i x)
{
    const __m256i nudge = _mm256_set1_epi64x((long long)1 << 30);
    __m256i ev, od, v, mag;
    if (any_lshift) {
        x = _mm256_sllv_epi32(x, r->lshift);
    }
    ev = _mm256_add_epi64(_mm256_mul_epi32(x, r->mult), nudge);
    od = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), r->mult_odd), nudge);
    /* Even results: bits 31..62 down to the low half; odd: up to the high half. */
    v = _mm256_blend_epi32(_mm256_srli_epi64(ev, 31), _mm256_slli_epi64(od, 1), 0xAA);
    mag = _mm256_srlv_epi32(_mm256_add_epi32(_mm256_abs_epi32(v), r->rround), r->rshift);
    /* vpsignd: -mag where v < 0 (mag is 0 where v is 0). */
    return _mm256_sign_epi32(mag, v);
}

/* acc already holds the bias. Returns int8 values in int32 lanes. */
PQ_AI PQ_T_AVX2 __m256i pq_rq8_apply(const pq_rq8 *r, const pq_requant *q, __m256i acc)
{
    __m256i res = _mm256_add_epi32(pq_mbqm8(r, q->any_lshift, acc), _mm256_set1_epi32(q->output_offset));
    res = _mm256_max_epi32(res, _mm256_set1_epi32(q->act_min));
    return _mm256_min_epi32(res, _mm256_set1_epi32(q->act_max));
}

/* 8 int32 (already int8 values) -> 8 bytes, in order. */
PQ_AI PQ_T_AVX2 __m128i pq_pack8(__m256i y)
{
    const __m256i p16 = _mm256_packs_epi32(y, y);     /* per 128-bit half: y0..3 y0..3 */
    const __m256i p8 = _mm256_packs_epi16(p16, p16);  /* per half: y0..3 repeated */
    return _mm_unpacklo_epi32(_mm256_castsi256_si128(p8), _mm256_extracti128_si256(p8, 1));
}

PQ_AI PQ_T_AVX2 void pq_store8(int8_t *dst, __m128i v, int32_t nc)
{
    if (nc >= 8) {
        _mm_storel_epi64((__m128i *)(void *)dst, v);
    } else {
        int8_t tmp[16];
        int32_t i;
        _mm_storeu_si128((__m128i *)(void *)tmp, v);
        for (i = 0; i < nc; ++i) {
            dst[i] = tmp[i];
        }
    }
}

/* Four vectors of pq_mbqm8 results (bias in, output offset not yet) as 32 bytes, y0's 8 lanes
 * first: narrowed to int16 with saturation, the offset added in int16 (saturating), narrowed to
 * int8, clamped as bytes: a third of pq_rq8_apply's work per vector. The same bytes lane by lane
 * when q->all_rshift: then |y| <= 2^30 and the offset lies in [-128, 127], so y + offset does not
 * wrap, and a lane that saturates lies past the int8 range both ways, where the clamp (inside
 * int8) gives the same bound. */
PQ_AI PQ_T_AVX2 __m256i pq_rq8_narrow4(const pq_requant *q, __m256i y0, __m256i y1, __m256i y2, __m256i y3)
{
    const __m256i off = _mm256_set1_epi16((short)q->output_offset);
    const __m256i p01 = _mm256_adds_epi16(_mm256_packs_epi32(y0, y1), off);
    const __m256i p23 = _mm256_adds_epi16(_mm256_packs_epi32(y2, y3), off);
    __m256i b = _mm256_packs_epi16(p01, p23);
    b = _mm256_max_epi8(b, _mm256_set1_epi8((char)q->act_min));
    b = _mm256_min_epi8(b, _mm256_set1_epi8((char)q->act_max));
    /* Per 128-bit half the dwords are y0 y1 y2 y3 (lanes 0-3, then 4-7): each y's two together. */
    return _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* The first nc (> 0) of 32 bytes. */
PQ_AI PQ_T_AVX2 void pq_store32(int8_t *dst, __m256i v, int32_t nc)
{
    if (nc >= 32) {
        _mm256_storeu_si256((__m256i *)(void *)dst, v);
    } else {
        int8_t tmp[32];
        _mm256_storeu_si256((__m256i *)(void *)tmp, v);
        __builtin_memcpy(dst, tmp, (size_t)nc);
    }
}

/* ---- AVX-512 ------------------------------------------------------------- */

PQ_AI PQ_T_AVX512 pq_rq16 pq_rq16_load(const pq_requant *q, int32_t c0)
{
    pq_rq16 r;
    r.bias = _mm512_loadu_si512((const void *)(q->bias + c0));
    r.mult = _mm512_loadu_si512((const void *)(q->mult + c0));
    r.mult_odd = _mm512_srli_epi64(r.mult, 32);
    r.lshift = _mm512_loadu_si512((const void *)(q->lshift + c0));
    r.rshift = _mm512_loadu_si512((const void *)(q->rshift + c0));
    r.rround = _mm512_srli_epi32(
        _mm512_add_epi32(_mm512_loadu_si512((const void *)(q->rmask + c0)), _mm512_set1_epi32(1)), 1);
    return r;
}

PQ_AI PQ_T_AVX512 pq_rq16 pq_rq16_uniform(int32_t mult, int32_t shift)
{
    pq_rq16 r;
    const int32_t right = shift > 0 ? 0 : -shift;
    r.bias = _mm512_setzero_si512();
    r.mult = _mm512_set1_epi32(mult);
    r.mult_odd = r.mult;
    r.lshift = _mm512_set1_epi32(shift > 0 ? shift : 0);
    r.rshift = _mm512_set1_epi32(right);
    r.rround = _mm512_set1_epi32((int32_t)(((uint32_t)1 << right) >> 1));
    return r;
}

/* SRDHM(x << lshift, M): the rounded high product, before RDPOT. */
PQ_AI PQ_T_AVX512 __m512i pq_srdhm16(const pq_rq16 *r, int any_lshift, __m512i x)
{
    const __m512i nudge = _mm512_set1_epi64((long long)1 << 30);
    __m512i ev, od;
    if (any_lshift) {
        x = _mm512_sllv_epi32(x, r->lshift);
    }
    ev = _mm512_add_epi64(_mm512_mul_epi32(x, r->mult), nudge);
    od = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), r->mult_odd), nudge);
    return _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(ev, 31), _mm512_slli_epi64(od, 1));
}

/* |RDPOT(v, r)| */
PQ_AI PQ_T_AVX512 __m512i pq_rdpot_mag16(const pq_rq16 *r, __m512i v)
{
    return _mm512_srlv_epi32(_mm512_add_epi32(_mm512_abs_epi32(v), r->rround), r->rshift);
}

PQ_AI PQ_T_AVX512 __m512i pq_mbqm16(const pq_rq16 *r, int any_lshift, __m512i x)
{
    const __m512i v = pq_srdhm16(r, any_lshift, x);
    const __m512i mag = pq_rdpot_mag16(r, v);
    return _mm512_mask_sub_epi32(mag, _mm512_cmplt_epi32_mask(v, _mm512_setzero_si512()), _mm512_setzero_si512(),
                                 mag);
}

/* acc already holds the bias. offset + sign(v) * mag in one masked op. */
PQ_AI PQ_T_AVX512 __m512i pq_rq16_apply(const pq_rq16 *r, const pq_requant *q, __m512i acc)
{
    const __m512i oo = _mm512_set1_epi32(q->output_offset);
    const __m512i v = pq_srdhm16(r, q->any_lshift, acc);
    const __m512i mag = pq_rdpot_mag16(r, v);
    __m512i res = _mm512_mask_sub_epi32(_mm512_add_epi32(oo, mag), _mm512_cmplt_epi32_mask(v, _mm512_setzero_si512()),
                                        oo, mag);
    res = _mm512_max_epi32(res, _mm512_set1_epi32(q->act_min));
    return _mm512_min_epi32(res, _mm512_set1_epi32(q->act_max));
}

#endif /* PQ_REQUANT_X86_H */
