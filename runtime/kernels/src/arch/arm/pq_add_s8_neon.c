/*
 * ADD (same shapes), aarch64 Advanced SIMD, 16 elements per step; see
 * pq_add_s8_fast.c. Per element, as pq_add_s8's pq_add_one:
 *   s_i = MBQM((x_i + offset_i) * 2^left_shift, M_i, shift_i)
 *   out = clamp(MBQM(s_1 + s_2, M_o, shift_o) + output_offset)
 * all in wrapping int32 lanes (pq_requant_neon.h). A tail shorter than 16 is
 * copied into zero-filled buffers: nothing past the tensors is read or written.
 *
 * TFLite's int8 ADD (left_shift 20, right shifts only) has a
 * shorter exact path: |x + offset| <= 383 (offsets within +-255, validated),
 * so (x + offset) * 16 is exact in int16 and shll #16 widens it to
 * (x + offset) << 20; every value stays below 2^30 in magnitude, so nothing wraps or
 * saturates: SRDHM never gives INT32_MIN (the half-away fix-up x + (x >> 31)
 * is one ssra, exact for a right shift >= 1, as in
 * pq_depthwise_conv2d_s8_neon.c; an input shift of 0 is SRDHM alone, and the input with
 * multiplier 1/2, which TFLite gives the larger-scale input, is (x + offset) << 19 exactly,
 * one smlal), and the output offset and clamp go through
 * saturating narrows (int16 add, then int8 clamp: monotone, exact in int8).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"

#if PQ_HAVE_NEON
#include <arm_neon.h>

#include "pq_requant_neon.h"

/* 4 int8 lanes' worth of int32 values: (x + offset) << left_shift, wrapping. */
PQ_NAI int32x4_t pq_in4(int16x4_t x, int32x4_t off, int32x4_t ls)
{
    return vshlq_s32(vaddq_s32(vmovl_s16(x), off), ls);
}

/* 16 bytes of each input from s1, s2; the last cnt < 16 through zero-filled copies. */
PQ_NAI void pq_add_load2(const int8_t *s1, const int8_t *s2, int32_t cnt, int8x16_t *a, int8x16_t *b)
{
    int8_t b1[16], b2[16];
    int32_t j;
    if (cnt < 16) {
        for (j = 0; j < 16; ++j) {
            b1[j] = j < cnt ? s1[j] : 0;
            b2[j] = j < cnt ? s2[j] : 0;
        }
        s1 = b1;
        s2 = b2;
    }
    *a = vld1q_s8(s1);
    *b = vld1q_s8(s2);
}

/* RDPOT(SRDHM(x, m), -nr) for a right shift -nr >= 1 and |x| < 2^31 - 1. */
PQ_NAI int32x4_t pq_add_mbqm_r(int32x4_t x, int32x4_t m, int32x4_t nr)
{
    x = vqrdmulhq_s32(x, m);
    return vrshlq_s32(vsraq_n_s32(x, x, 31), nr);
}

/* One input's 16 bytes: s = MBQM((x + offset) << 20, M, shift), in 4 vectors: (x + offset) * 16
 * in int16 (|.| <= 6128) as smull by 16 plus off16 = offset * 16, then shll #16. r0: the shift
 * is 0, SRDHM alone. */
PQ_NAI void pq_add_in16(int32x4_t *s, int8x16_t x, int16x8_t off16, int32x4_t m, int32x4_t nr, const int r0)
{
    const int8x16_t k16 = vdupq_n_s8(16);
    const int16x8_t lo = vaddq_s16(vmull_s8(vget_low_s8(x), vget_low_s8(k16)), off16);
    const int16x8_t hi = vaddq_s16(vmull_high_s8(x, k16), off16);
    int v;
    s[0] = vshll_n_s16(vget_low_s16(lo), 16);
    s[1] = vshll_high_n_s16(lo, 16);
    s[2] = vshll_n_s16(vget_low_s16(hi), 16);
    s[3] = vshll_high_n_s16(hi, 16);
    PQ_NUNROLL
    for (v = 0; v < 4; ++v) {
        s[v] = r0 ? vqrdmulhq_s32(s[v], m) : pq_add_mbqm_r(s[v], m, nr);
    }
}

/* s += the 16 bytes' (x + offset) * 2^19, the input TFLite gives multiplier 1/2 and shift 0 (the
 * one with the larger scale; both when the scales are equal): SRDHM((x + offset) << 20, 2^30)
 * is exactly (x + offset) << 19. (x + offset) * 32 in int16 (|.| <= 12256: smull by 32 plus
 * off32 = offset * 32), then smlal by 2^14 adds it to s: 8 instructions per 16 values where
 * the widening and SRDHM above took 12, and s needs no separate add. */
PQ_NAI void pq_add_half16(int32x4_t *s, int8x16_t x, int16x8_t off32)
{
    const int8x16_t k32 = vdupq_n_s8(32);
    const int16x8_t lo = vaddq_s16(vmull_s8(vget_low_s8(x), vget_low_s8(k32)), off32);
    const int16x8_t hi = vaddq_s16(vmull_high_s8(x, k32), off32);
    s[0] = vmlal_n_s16(s[0], vget_low_s16(lo), 16384);
    s[1] = vmlal_high_n_s16(s[1], lo, 16384);
    s[2] = vmlal_n_s16(s[2], vget_low_s16(hi), 16384);
    s[3] = vmlal_high_n_s16(s[3], hi, 16384);
}

/* The per-input constants of the left-shift-20 path; mode: PQ_ADD_HALF (multiplier 2^30, shift
 * 0), PQ_ADD_R0 (shift 0), PQ_ADD_R (right shift >= 1). */
enum { PQ_ADD_HALF, PQ_ADD_R0, PQ_ADD_R };
typedef struct {
    int16x8_t off; /* offset * 32 (HALF) or * 16 */
    int32x4_t m, nr;
} pq_add_in;

PQ_NAI pq_add_in pq_add_in_load(int32_t offset, int32_t mult, int32_t shift, const int mode)
{
    pq_add_in c;
    c.off = vdupq_n_s16((int16_t)(offset * (mode == PQ_ADD_HALF ? 32 : 16)));
    c.m = vdupq_n_s32(mult);
    c.nr = vdupq_n_s32(shift);
    return c;
}

/* 16 outputs of the left-shift-20 path; mode2 is HALF whenever either input is. */
PQ_NAI int8x16_t pq_add_16(int8x16_t a8, int8x16_t b8, const pq_add_in *c1, const pq_add_in *c2, int32x4_t mo,
                           int32x4_t nro, int16x8_t off_o, int8x16_t lo, int8x16_t hi, const int mode1,
                           const int mode2, const int clamp)
{
    int32x4_t a[4], b[4];
    int16x8_t h0, h1;
    int v;
    if (mode1 == PQ_ADD_HALF) {
        PQ_NUNROLL
        for (v = 0; v < 4; ++v) {
            a[v] = vdupq_n_s32(0);
        }
        pq_add_half16(a, a8, c1->off);
    } else {
        pq_add_in16(a, a8, c1->off, c1->m, c1->nr, mode1 == PQ_ADD_R0);
    }
    if (mode2 == PQ_ADD_HALF) {
        pq_add_half16(a, b8, c2->off);
    } else {
        pq_add_in16(b, b8, c2->off, c2->m, c2->nr, mode2 == PQ_ADD_R0);
        PQ_NUNROLL
        for (v = 0; v < 4; ++v) {
            a[v] = vaddq_s32(a[v], b[v]);
        }
    }
    PQ_NUNROLL
    for (v = 0; v < 4; ++v) {
        a[v] = pq_add_mbqm_r(a[v], mo, nro);
    }
    h0 = vqaddq_s16(vqmovn_high_s32(vqmovn_s32(a[0]), a[1]), off_o);
    h1 = vqaddq_s16(vqmovn_high_s32(vqmovn_s32(a[2]), a[3]), off_o);
    /* Bounds of -128 and 127 (`clamp` 0): the saturating narrow already gives them. */
    return clamp ? vminq_s8(vmaxq_s8(vqmovn_high_s16(vqmovn_s16(h0), h1), lo), hi) : vqmovn_high_s16(vqmovn_s16(h0), h1);
}

/* in1 / in2 with their constants already in TFLite's order or swapped (ADD is symmetric in its
 * inputs: s_1 + s_2). Whole vectors, then a tail through zero-filled copies. */
PQ_NAI void pq_add_s8_neon_20(const pq_add_params *p, int32_t n, const int8_t *in1, const int8_t *in2, int8_t *out,
                              int32_t off1, int32_t m1, int32_t sh1, int32_t off2, int32_t m2, int32_t sh2,
                              const int mode1, const int mode2, const int clamp)
{
    const pq_add_in c1 = pq_add_in_load(off1, m1, sh1, mode1), c2 = pq_add_in_load(off2, m2, sh2, mode2);
    const int16x8_t off_o = vdupq_n_s16((int16_t)p->output_offset);
    const int32x4_t mo = vdupq_n_s32(p->output_multiplier), nro = vdupq_n_s32(p->output_shift);
    const int8x16_t lo = vdupq_n_s8((int8_t)p->act_min), hi = vdupq_n_s8((int8_t)p->act_max);
    int32_t i;
    int8x16_t a8, b8;
    for (i = 0; i + 16 <= n; i += 16) {
        vst1q_s8(out + i, pq_add_16(vld1q_s8(in1 + i), vld1q_s8(in2 + i), &c1, &c2, mo, nro, off_o, lo, hi, mode1,
                                    mode2, clamp));
    }
    if (i < n) {
        pq_add_load2(in1 + i, in2 + i, n - i, &a8, &b8);
        pq_store_s8(out + i, pq_add_16(a8, b8, &c1, &c2, mo, nro, off_o, lo, hi, mode1, mode2, clamp), n - i);
    }
}

/* The input's mode on the left-shift-20 path (its shift is <= 0, validated). */
static int pq_add_mode(int32_t mult, int32_t shift)
{
    return shift != 0 ? PQ_ADD_R : (mult == (int32_t)1 << 30 ? PQ_ADD_HALF : PQ_ADD_R0);
}

/* The left-shift-20 path's instantiations, inputs ordered so that the second one's mode is the
 * cheaper (HALF < R0 < R). */
static void pq_add_s8_neon_20_any(const pq_add_params *p, int32_t n, const int8_t *in1, const int8_t *in2,
                                  int8_t *out)
{
    int32_t o1 = p->input1_offset, m1 = p->input1_multiplier, s1 = p->input1_shift;
    int32_t o2 = p->input2_offset, m2 = p->input2_multiplier, s2 = p->input2_shift;
    int k1 = pq_add_mode(m1, s1), k2 = pq_add_mode(m2, s2);
    const int clamp = p->act_min != -128 || p->act_max != 127;
    if (k1 < k2) {
        const int8_t *tp = in1;
        int32_t t;
        in1 = in2, in2 = tp;
        t = o1, o1 = o2, o2 = t;
        t = m1, m1 = m2, m2 = t;
        t = s1, s1 = s2, s2 = t;
        t = k1, k1 = k2, k2 = t;
    }
#define PQ_ADD_CASE(a, b)                                                                                            \
    if (k1 == (a) && k2 == (b)) {                                                                                    \
        if (clamp) {                                                                                                 \
            pq_add_s8_neon_20(p, n, in1, in2, out, o1, m1, s1, o2, m2, s2, (a), (b), 1);                             \
        } else {                                                                                                     \
            pq_add_s8_neon_20(p, n, in1, in2, out, o1, m1, s1, o2, m2, s2, (a), (b), 0);                             \
        }                                                                                                            \
        return;                                                                                                      \
    }
    PQ_ADD_CASE(PQ_ADD_HALF, PQ_ADD_HALF)
    PQ_ADD_CASE(PQ_ADD_R0, PQ_ADD_HALF)
    PQ_ADD_CASE(PQ_ADD_R, PQ_ADD_HALF)
    PQ_ADD_CASE(PQ_ADD_R0, PQ_ADD_R0)
    PQ_ADD_CASE(PQ_ADD_R, PQ_ADD_R0)
    if (clamp) {
        pq_add_s8_neon_20(p, n, in1, in2, out, o1, m1, s1, o2, m2, s2, PQ_ADD_R, PQ_ADD_R, 1);
    } else {
        pq_add_s8_neon_20(p, n, in1, in2, out, o1, m1, s1, o2, m2, s2, PQ_ADD_R, PQ_ADD_R, 0);
    }
#undef PQ_ADD_CASE
}

void pq_add_s8_neon(const pq_add_params *p, int32_t n, const int8_t *in1, const int8_t *in2, int8_t *out)
{
    const pq_rq4 r1 = pq_rq4_uniform(p->input1_multiplier, p->input1_shift);
    const pq_rq4 r2 = pq_rq4_uniform(p->input2_multiplier, p->input2_shift);
    const pq_rq4 ro = pq_rq4_uniform(p->output_multiplier, p->output_shift);
    const int l1 = p->input1_shift > 0, l2 = p->input2_shift > 0;
    const int32x4_t off1 = vdupq_n_s32(p->input1_offset);
    const int32x4_t off2 = vdupq_n_s32(p->input2_offset);
    const int32x4_t ls = vdupq_n_s32(p->left_shift);
    pq_rqc qc;
    int32_t i, v;
    if (p->left_shift == 20 && p->output_shift < 0) { /* input shifts are <= 0 (validated) */
        pq_add_s8_neon_20_any(p, n, in1, in2, out);
        return;
    }
    qc.offset = vdupq_n_s32(p->output_offset);
    qc.act_min = vdupq_n_s32(p->act_min);
    qc.act_max = vdupq_n_s32(p->act_max);
    qc.any_lshift = p->output_shift > 0;
    for (i = 0; i < n; i += 16) {
        const int32_t cnt = n - i < 16 ? n - i : 16;
        int16x8_t a16[2], b16[2];
        int32x4_t y[4];
        int8x16_t a8, b8;
        pq_add_load2(in1 + i, in2 + i, cnt, &a8, &b8);
        a16[0] = vmovl_s8(vget_low_s8(a8));
        a16[1] = vmovl_high_s8(a8);
        b16[0] = vmovl_s8(vget_low_s8(b8));
        b16[1] = vmovl_high_s8(b8);
        PQ_NUNROLL
        for (v = 0; v < 4; ++v) {
            const int16x4_t av = v & 1 ? vget_high_s16(a16[v / 2]) : vget_low_s16(a16[v / 2]);
            const int16x4_t bv = v & 1 ? vget_high_s16(b16[v / 2]) : vget_low_s16(b16[v / 2]);
            const int32x4_t sum = vaddq_s32(pq_mbqm4(&r1, l1, pq_in4(av, off1, ls)), pq_mbqm4(&r2, l2, pq_in4(bv, off2, ls)));
            y[v] = pq_rq4_apply(&ro, &qc, sum);
        }
        pq_store_s8(out + i, pq_narrow16(y[0], y[1], y[2], y[3]), cnt);
    }
}

#else
/* ISO C forbids an empty translation unit. */
typedef int pq_add_s8_neon_unused;
#endif
