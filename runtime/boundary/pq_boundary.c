/*
 * The float boundary (pq_boundary.h). The loops use SSE2 on x86-64 and NEON on aarch64,
 * both baseline there, so no ISA dispatch is needed; elsewhere they are plain loops that
 * the compiler vectorises at -O3, and the same plain code does the few values after the
 * last whole block of 16.
 *
 * The plain code uses only quiet comparisons (isless, isunordered): an ordinary `<` on a
 * float may raise the invalid exception for NaN, and GCC, which keeps exceptions where
 * they were (-ftrapping-math, the default), then will not turn the selects into vector
 * blends. No float -> int conversion of a value outside int32's range either (undefined
 * in C, 0x80000000 on x86): the clamp to 256 first rules it out, NaN included.
 *
 * Measured on 3x128x128 values: on x86-64 (one core of a loaded 2-core machine) SSE2
 * here 16-21 us to quantize, GCC's own vectorisation of the plain loop 48 us with SSE2
 * and 22 us with -mavx2, numpy's formula about 200 us; on aarch64 (instructions under
 * qemu) NEON here 4.3 instructions a value, GCC's vectorisation of the plain loop 8.7.
 */
#include "pq_boundary.h"

#include <math.h>   /* fabsf and the quiet comparisons isless / isunordered: no libm call */
#include <string.h> /* memcpy: a float's bits */

#define PQ_F32_256_BITS 0x43800000u /* 256.0f */

/* PQ_BOUNDARY_PLAIN: the plain loops alone (the tests build them so). */
#if (defined(__SSE2__) || defined(_M_X64)) && !defined(PQ_BOUNDARY_PLAIN)
#include <emmintrin.h>
#define PQ_BOUNDARY_SSE2 1
#else
#define PQ_BOUNDARY_SSE2 0
#endif
#if defined(__aarch64__) && defined(__ARM_NEON) && !defined(PQ_BOUNDARY_PLAIN)
#include <arm_neon.h>
#define PQ_BOUNDARY_NEON 1
#else
#define PQ_BOUNDARY_NEON 0
#endif

/* Round half away from zero of v = x / scale, |v| first clamped to the float whose bits are
 * clamp_bits; pq_quantize_one adds the zero point and saturates to int8. With the clamp at
 * 256, past which the result saturates whatever the zero point (|zero_point| <= 128), and
 * so do +-inf. The clamp is on the bits (for floats >= 0 the
 * integer order is the float order, and NaN's bits are above infinity's, so NaN goes to
 * 256 too): a float select followed by more float arithmetic is what GCC will not
 * vectorise under -ftrapping-math. Then m = trunc(c) is in range, c - m is exact
 * (Sterbenz: m <= c < 2m, or m = 0), and rounding up when that fraction is >= 0.5 is
 * std::round's tie away from zero. (Not floor(c + 0.5f): for c = 0.5 - 2^-25 the
 * float sum rounds up to 1.) */
static inline int32_t pq_round_away(float x, float scale, uint32_t clamp_bits)
{
    float v = x / scale;
    float c = fabsf(v);
    uint32_t bits;
    int32_t m;
    memcpy(&bits, &c, sizeof bits);
    bits = bits < clamp_bits ? bits : clamp_bits;
    memcpy(&c, &bits, sizeof c);
    m = (int32_t)c;
    m += isgreaterequal(c - (float)m, 0.5f);
    return isless(v, 0.0f) ? -m : m;
}

static inline int8_t pq_quantize_one(float x, float scale, int32_t zero_point)
{
    const int32_t r = pq_round_away(x, scale, PQ_F32_256_BITS) + zero_point;
    return (int8_t)(r < -128 ? -128 : (r > 127 ? 127 : r));
}

#if PQ_BOUNDARY_SSE2
/* pq_quantize_one on 4 values, before the clamp: minps(|v|, 256) gives 256 for NaN (its
 * second operand when either is NaN); a true comparison is -1, so subtracting it adds 1;
 * the sign is applied as (m ^ neg) - neg. */
static inline __m128i pq_quantize4_sse2(__m128 x, __m128 scale, __m128i zero_point)
{
    __m128 v = _mm_div_ps(x, scale);
    __m128 c = _mm_min_ps(_mm_andnot_ps(_mm_set1_ps(-0.0f), v), _mm_set1_ps(256.0f));
    __m128i m = _mm_cvttps_epi32(c);
    __m128 up = _mm_cmpge_ps(_mm_sub_ps(c, _mm_cvtepi32_ps(m)), _mm_set1_ps(0.5f));
    __m128i neg = _mm_castps_si128(_mm_cmplt_ps(v, _mm_setzero_ps()));
    m = _mm_sub_epi32(m, _mm_castps_si128(up));
    return _mm_add_epi32(_mm_sub_epi32(_mm_xor_si128(m, neg), neg), zero_point);
}

/* Four values from x + i, float32 or float64 (IEEE conversion, cvtpd2ps: to nearest,
 * beyond float's range to +-inf, NaN stays NaN). */
static inline __m128 pq_load4_sse2(const void *x, size_t i, int f64)
{
    if (f64) {
        const double *d = (const double *)x + i;
        return _mm_movelh_ps(_mm_cvtpd_ps(_mm_loadu_pd(d)), _mm_cvtpd_ps(_mm_loadu_pd(d + 2)));
    }
    return _mm_loadu_ps((const float *)x + i);
}
#endif

#if PQ_BOUNDARY_NEON
/* As pq_quantize4_sse2: fminnm(|v|, 256) gives 256 for NaN (v is a quiet NaN: the
 * division quiets a signalling one), fcvtzs truncates, the sign by a select. */
static inline int32x4_t pq_quantize4_neon(float32x4_t x, float32x4_t scale, int32x4_t zero_point)
{
    float32x4_t v = vdivq_f32(x, scale);
    float32x4_t c = vminnmq_f32(vabsq_f32(v), vdupq_n_f32(256.0f));
    int32x4_t m = vcvtq_s32_f32(c);
    uint32x4_t up = vcgeq_f32(vsubq_f32(c, vcvtq_f32_s32(m)), vdupq_n_f32(0.5f));
    m = vsubq_s32(m, vreinterpretq_s32_u32(up));
    m = vbslq_s32(vcltq_f32(v, vdupq_n_f32(0.0f)), vnegq_s32(m), m);
    return vaddq_s32(m, zero_point);
}

/* Four values from x + i, float32 or float64 (fcvtn: to nearest, beyond float's range to
 * +-inf, NaN stays NaN). */
static inline float32x4_t pq_load4_neon(const void *x, size_t i, int f64)
{
    if (f64) {
        const double *d = (const double *)x + i;
        return vcombine_f32(vcvt_f32_f64(vld1q_f64(d)), vcvt_f32_f64(vld1q_f64(d + 2)));
    }
    return vld1q_f32((const float *)x + i);
}
#endif

/* One value from x + i as float: the conversion from double is IEEE 754's (C99 Annex F). */
static inline float pq_load1(const void *x, size_t i, int f64)
{
    return f64 ? (float)((const double *)x)[i] : ((const float *)x)[i];
}

/* Both quantizers (f64 is a constant once inlined). With SSE2 or NEON, 16 values at a
 * time: they lie in [-384, 383] before the clamp, so the saturating narrowings to int16
 * then int8 are the clamp to [-128, 127]; the NaN lanes are gathered. */
static inline int pq_quantize_s8(const void *restrict x, int f64, int8_t *restrict q, size_t n, float scale,
                                 int32_t zero_point)
{
    int nan = 0;
    size_t i = 0;
#if PQ_BOUNDARY_SSE2
    __m128 s = _mm_set1_ps(scale), un = _mm_setzero_ps(), v[4];
    __m128i zp = _mm_set1_epi32(zero_point), lo, hi;
    int k;
    for (; n - i >= 16; i += 16) {
        for (k = 0; k < 4; k++) {
            v[k] = pq_load4_sse2(x, i + 4 * k, f64);
            un = _mm_or_ps(un, _mm_cmpunord_ps(v[k], v[k]));
        }
        lo = _mm_packs_epi32(pq_quantize4_sse2(v[0], s, zp), pq_quantize4_sse2(v[1], s, zp));
        hi = _mm_packs_epi32(pq_quantize4_sse2(v[2], s, zp), pq_quantize4_sse2(v[3], s, zp));
        _mm_storeu_si128((__m128i *)(q + i), _mm_packs_epi16(lo, hi));
    }
    nan = _mm_movemask_ps(un) != 0;
#elif PQ_BOUNDARY_NEON
    float32x4_t s = vdupq_n_f32(scale), v[4];
    int32x4_t zp = vdupq_n_s32(zero_point);
    uint32x4_t ordered = vdupq_n_u32(~0u);
    int16x8_t lo, hi;
    int k;
    for (; n - i >= 16; i += 16) {
        for (k = 0; k < 4; k++) {
            v[k] = pq_load4_neon(x, i + 4 * k, f64);
            ordered = vandq_u32(ordered, vceqq_f32(v[k], v[k]));
        }
        lo = vcombine_s16(vqmovn_s32(pq_quantize4_neon(v[0], s, zp)), vqmovn_s32(pq_quantize4_neon(v[1], s, zp)));
        hi = vcombine_s16(vqmovn_s32(pq_quantize4_neon(v[2], s, zp)), vqmovn_s32(pq_quantize4_neon(v[3], s, zp)));
        vst1q_s8(q + i, vcombine_s8(vqmovn_s16(lo), vqmovn_s16(hi)));
    }
    nan = vminvq_u32(ordered) == 0;
#endif
    for (; i < n; i++) {
        float f = pq_load1(x, i, f64);
        nan |= isunordered(f, f);
        q[i] = pq_quantize_one(f, scale, zero_point);
    }
    return nan;
}

int pq_quantize_f32_s8(const float *x, int8_t *q, size_t n, float scale, int32_t zero_point)
{
    return pq_quantize_s8(x, 0, q, n, scale, zero_point);
}

int pq_quantize_f64_s8(const double *x, int8_t *q, size_t n, float scale, int32_t zero_point)
{
    return pq_quantize_s8(x, 1, q, n, scale, zero_point);
}

void pq_dequantize_s8_f32(const int8_t *restrict q, float *restrict y, size_t n, float scale, int32_t zero_point)
{
    size_t i;
    for (i = 0; i < n; i++) y[i] = (float)((int32_t)q[i] - zero_point) * scale;
}

/* *** int16 (16x8) inputs and outputs: the same rounding, plain loops (the tensors of the
 * 16x8 models this serves are small; GCC may vectorise them) ***
 * |v| is clamped to 65536: past it the result saturates whatever the zero point (|zero_point|
 * <= 32768, the validator's int16 range), and so do +-inf and NaN (bits above infinity's):
 * pq_round_away with that clamp. */
#define PQ_F32_65536_BITS 0x47800000u /* 65536.0f */

static inline int16_t pq_quantize_one16(float x, float scale, int32_t zero_point)
{
    const int32_t r = pq_round_away(x, scale, PQ_F32_65536_BITS) + zero_point;
    return (int16_t)(r < -32768 ? -32768 : (r > 32767 ? 32767 : r));
}

static inline int pq_quantize_s16(const void *restrict x, int f64, int16_t *restrict q, size_t n, float scale,
                                  int32_t zero_point)
{
    int nan = 0;
    size_t i;
    for (i = 0; i < n; ++i) {
        const float v = pq_load1(x, i, f64);
        nan |= isunordered(v, v);
        q[i] = pq_quantize_one16(v, scale, zero_point);
    }
    return nan;
}

int pq_quantize_f32_s16(const float *x, int16_t *q, size_t n, float scale, int32_t zero_point)
{
    return pq_quantize_s16(x, 0, q, n, scale, zero_point);
}

int pq_quantize_f64_s16(const double *x, int16_t *q, size_t n, float scale, int32_t zero_point)
{
    return pq_quantize_s16(x, 1, q, n, scale, zero_point);
}

/* (q - zero_point) is exact in int32 and as a float (|q - zero_point| < 2^17), so the one
 * float32 product rounds as numpy's float64 product rounded to float32 does. */
void pq_dequantize_s16_f32(const int16_t *q, float *y, size_t n, float scale, int32_t zero_point)
{
    size_t i;
    for (i = 0; i < n; ++i) y[i] = (float)((int32_t)q[i] - zero_point) * scale;
}
