/*
 * MultiplyByQuantizedMultiplier + output offset + clamp on 4 int32 lanes at
 * once (aarch64 Advanced SIMD), each lane with its own channel's constants.
 * Internal to the NEON fast kernels (with their narrowing stores and tail
 * loads); include only inside `#if PQ_HAVE_NEON`, after <arm_neon.h>.
 *
 * Lane-exact translation of pq_mbqm (pq_fixedpoint.h), the way gemmlowp's
 * fixedpoint_neon.h does it:
 *   x <<= lshift   vshlq_s32 by a non-negative count wraps like x * 2^lshift.
 *   SRDHM(x, M)    vqrdmulhq_s32. It computes sat((2*x*M + 2^31) >> 32) in
 *                  full precision, i.e. floor((x*M + 2^30) / 2^31): round half
 *                  toward +infinity. gemmlowp's reference, whose nudge looks
 *                  like "half away from zero", is the same function: for
 *                  x*M < 0 it truncates (x*M + 1 - 2^30) / 2^31 toward zero,
 *                  which is ceil((x*M + 1 - 2^30) / 2^31) = floor((x*M + 2^30)
 *                  / 2^31). The one overflow, INT32_MIN * INT32_MIN, saturates
 *                  to INT32_MAX in both. (tests/c checks ties of both signs and
 *                  the extremes lane by lane against pq_srdhm.)
 *   RDPOT(v, r)    vrshlq_s32(v, -r) rounds half up, in full precision (no
 *                  overflow at INT32_MAX). Subtracting 1 from negative v first
 *                  turns that into half away from zero: for v < 0,
 *                  floor((v - 1 + 2^(r-1)) / 2^r) is v / 2^r rounded half away.
 *                  The subtraction saturates only at v = INT32_MIN, whose
 *                  result floor((INT32_MIN + 2^(r-1)) / 2^r) = -2^(31-r) is the
 *                  exact one anyway. r = 0 needs no fix-up: (v & -0) >> 31 = 0.
 *                  v never is INT32_MIN here: SRDHM's most negative result is
 *                  -2^31 * (2^31 - 1) / 2^31 = INT32_MIN + 1 (INT32_MIN * INT32_MIN
 *                  saturates the other way), so the subtraction is one plain
 *                  shift-and-accumulate (ssra) that cannot wrap.
 * Accumulators come in with the bias already added.
 */
#ifndef PQ_REQUANT_NEON_H
#define PQ_REQUANT_NEON_H

#define PQ_NAI static inline __attribute__((always_inline))
/* C99 _Pragma: complete unrolling of the register-blocked loops, so the
 * accumulator arrays become registers. */
#define PQ_NUNROLL _Pragma("GCC unroll 16")

/* Per-channel constants of 4 channels, loaded once and reused for many rows. */
typedef struct {
    int32x4_t bias, mult, lshift, nrshift; /* nrshift = -rshift: vrshlq shifts right by a negative count */
} pq_rq4;

/* The per-call constants, in registers: int8 stores may alias the plan. */
typedef struct {
    int32x4_t offset, act_min, act_max;
    int8x16_t act_min8, act_max8; /* the same bounds on int8 lanes (they lie in [-128, 127]) */
    int16x8_t offset16;           /* output_offset on int16 lanes (pq_narrow16_offset_clamp) */
    int any_lshift;
} pq_rqc;

PQ_NAI pq_rqc pq_rqc_load(const pq_requant *q)
{
    pq_rqc c;
    c.offset = vdupq_n_s32(q->output_offset);
    c.act_min = vdupq_n_s32(q->act_min);
    c.act_max = vdupq_n_s32(q->act_max);
    c.act_min8 = vdupq_n_s8((int8_t)q->act_min);
    c.act_max8 = vdupq_n_s8((int8_t)q->act_max);
    c.offset16 = vdupq_n_s16((int16_t)q->output_offset);
    c.any_lshift = q->any_lshift;
    return c;
}

PQ_NAI pq_rq4 pq_rq4_load(const pq_requant *q, int32_t c0)
{
    pq_rq4 r;
    r.bias = vld1q_s32(q->bias + c0);
    r.mult = vld1q_s32(q->mult + c0);
    r.lshift = vld1q_s32(q->lshift + c0);
    r.nrshift = vnegq_s32(vld1q_s32(q->rshift + c0));
    return r;
}

/* Same constants in every lane (ADD's per-tensor rescales). */
PQ_NAI pq_rq4 pq_rq4_uniform(int32_t mult, int32_t shift)
{
    pq_rq4 r;
    r.bias = vdupq_n_s32(0);
    r.mult = vdupq_n_s32(mult);
    r.lshift = vdupq_n_s32(shift > 0 ? shift : 0);
    r.nrshift = vdupq_n_s32(shift > 0 ? 0 : shift);
    return r;
}

/* pq_mbqm on 4 lanes. */
PQ_NAI int32x4_t pq_mbqm4(const pq_rq4 *r, int any_lshift, int32x4_t x)
{
    int32x4_t fix;
    if (any_lshift) {
        x = vshlq_s32(x, r->lshift);
    }
    x = vqrdmulhq_s32(x, r->mult);
    fix = vandq_s32(x, r->nrshift); /* sign bit set where x < 0 and r > 0 */
    return vrshlq_s32(vsraq_n_s32(x, fix, 31), r->nrshift);
}

/* acc already holds the bias. Returns int8 values in int32 lanes. */
PQ_NAI int32x4_t pq_rq4_apply(const pq_rq4 *r, const pq_rqc *c, int32x4_t acc)
{
    const int32x4_t v = vaddq_s32(pq_mbqm4(r, c->any_lshift, acc), c->offset); /* wraps, as the reference */
    return vminq_s32(vmaxq_s32(v, c->act_min), c->act_max);
}

/* pq_rq4_apply without the clamp: pq_narrow16_clamp does it on 16 int8 lanes at once. */
PQ_NAI int32x4_t pq_rq4_offset(const pq_rq4 *r, const pq_rqc *c, int32x4_t acc)
{
    return vaddq_s32(pq_mbqm4(r, c->any_lshift, acc), c->offset); /* wraps, as the reference */
}

/* Four vectors of int32 lanes -> 16 bytes in order, clamped to [act_min, act_max].
 * Saturating narrows (sqxtn) to int16 then int8 keep every value's order and move
 * only values outside [-128, 127] to its ends, so clamping the int8 lanes to bounds
 * inside [-128, 127] gives the int32 clamp's result. */
PQ_NAI int8x16_t pq_narrow16_clamp(const pq_rqc *c, int32x4_t a, int32x4_t b, int32x4_t d, int32x4_t e)
{
    const int16x8_t ab = vqmovn_high_s32(vqmovn_s32(a), b);
    const int16x8_t de = vqmovn_high_s32(vqmovn_s32(d), e);
    const int8x16_t v = vqmovn_high_s16(vqmovn_s16(ab), de);
    return vminq_s8(vmaxq_s8(v, c->act_min8), c->act_max8);
}

/* pq_mbqm4 when every lane's right shift is >= 1 (pq_requant.all_rshift, so no
 * left shift): the fix-up's mask is the sign of x itself. */
PQ_NAI int32x4_t pq_mbqm4_rshift(const pq_rq4 *r, int32x4_t x)
{
    x = vqrdmulhq_s32(x, r->mult);
    return vrshlq_s32(vsraq_n_s32(x, x, 31), r->nrshift);
}

/* pq_narrow16_clamp of pq_mbqm4_rshift's results, adding the output offset
 * after the first narrowing, on 8 lanes at once (pq_requant.all_rshift: the
 * results lie in [-2^30, 2^30] and the offset in [-128, 127], so the int32
 * sum cannot wrap, and a result that int16 saturates stays, offset added with
 * saturation, beyond [-128, 127] on its side, where the clamp sends the sum). */
PQ_NAI int8x16_t pq_narrow16_offset_clamp(const pq_rqc *c, int32x4_t a, int32x4_t b, int32x4_t d, int32x4_t e)
{
    const int16x8_t ab = vqaddq_s16(vqmovn_high_s32(vqmovn_s32(a), b), c->offset16);
    const int16x8_t de = vqaddq_s16(vqmovn_high_s32(vqmovn_s32(d), e), c->offset16);
    const int8x16_t v = vqmovn_high_s16(vqmovn_s16(ab), de);
    return vminq_s8(vmaxq_s8(v, c->act_min8), c->act_max8);
}

/* Four vectors of int8 values in int32 lanes -> 16 bytes in order (the values
 * are already clamped to int8, so the narrowing moves are exact). */
PQ_NAI int8x16_t pq_narrow16(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d)
{
    const int16x8_t ab = vcombine_s16(vmovn_s32(a), vmovn_s32(b));
    const int16x8_t cd = vcombine_s16(vmovn_s32(c), vmovn_s32(d));
    return vcombine_s8(vmovn_s16(ab), vmovn_s16(cd));
}

/* The first `count` bytes of v to dst; never writes past dst + count. */
PQ_NAI void pq_store_s8(int8_t *dst, int8x16_t v, int32_t count)
{
    if (count >= 16) {
        vst1q_s8(dst, v);
    } else if (count == 8) {
        vst1_s8(dst, vget_low_s8(v));
    } else if (count == 4) {
        const uint32_t word = vgetq_lane_u32(vreinterpretq_u32_s8(v), 0);
        __builtin_memcpy(dst, &word, 4);
    } else {
        int8_t tmp[16];
        int32_t i;
        vst1q_s8(tmp, v);
        for (i = 0; i < count; ++i) {
            dst[i] = tmp[i];
        }
    }
}

/* The n (1..15) values before `end` in lanes 0..n-1, zeros above; `avail`
 * bytes before `end` are readable (avail >= n). With 16 of them, one load of
 * the 16 bytes ending at `end` and a table lookup that moves the last n down
 * (indices 16 and up give 0); with 8 to 15 (a plain GEMM row of k < 16), 8-byte
 * loads, the one ending at `end` shifted down by the bytes before the n (ushl by
 * a negative count: a logical right shift that brings zeros in); else a byte
 * copy. Nothing outside [end - n, end) is used. */
PQ_NAI int8x16_t pq_load_tail(const int8_t *end, int32_t n, int32_t avail)
{
    if (n == 8) {
        return vcombine_s8(vld1_s8(end - 8), vdup_n_s8(0)); /* one 8-byte load */
    } else if (avail >= 16) {
        const uint8x16_t iota = vcombine_u8(vcreate_u8(0x0706050403020100ull), vcreate_u8(0x0F0E0D0C0B0A0908ull));
        return vqtbl1q_s8(vld1q_s8(end - 16), vaddq_u8(iota, vdupq_n_u8((uint8_t)(16 - n))));
    } else if (avail >= 8) {
        /* The last min(n, 8) bytes' 8-byte word, down by the bytes before them. */
        const int8x8_t last = vld1_s8(end - 8);
        const int64x1_t down = vdup_n_s64(-8 * (int64_t)(n > 8 ? 16 - n : 8 - n));
        const int8x8_t hi = vreinterpret_s8_u64(vshl_u64(vreinterpret_u64_s8(last), down));
        return n > 8 ? vcombine_s8(vld1_s8(end - n), hi) : vcombine_s8(hi, vdup_n_s8(0));
    } else {
        int8_t tmp[16];
        int32_t i;
        for (i = 0; i < 16; ++i) {
            tmp[i] = i < n ? end[i - n] : 0;
        }
        return vld1q_s8(tmp);
    }
}

#endif /* PQ_REQUANT_NEON_H */
