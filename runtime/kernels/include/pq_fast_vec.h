/*
 * Internal to the portable fast kernels whose loops the compiler vectorises (MUL,
 * MEAN, SOFTMAX: src/fast/pq_{mul,mean,softmax}_s8_fast.c): a branch-free
 * SaturatingRoundingDoublingHighMul, and the AVX2 build of such loops.
 *
 * The extension is compiled for baseline x86-64 (SSE2: no signed 32x32->64-bit
 * vector multiply), so each kernel's loop is written once as an always-inline
 * function and compiled twice: plainly, and inside a function with
 * target("avx2") where GCC vectorises the same C with vpmuldq on 8 lanes
 * (measured 2-4x faster than the SSE2 code on MUL), and a third time with AVX-512
 * (16 lanes, 64-bit lane shifts) for the AVX-512 VNNI and AMX isas (a 16x8 ADD of 256
 * values 10-20% faster than its AVX2 build on Zen 4); aarch64 has Advanced SIMD as
 * baseline (smull), so there the plain build is the vector one.
 */
#ifndef PQ_FAST_VEC_H
#define PQ_FAST_VEC_H

#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"
#include "pq_fixedpoint.h"

/* PQ_VEC_BUILDS(name, params, args): the builds of the always-inline loop function
 * `pq_status name params`, called as name args: name##_plain, and on x86 name##_avx2 and
 * name##_avx512. PQ_VEC_CALL(level, name, args) runs the build pq_vec_avx2 chose: 2 the
 * AVX-512 one, 1 the AVX2 one, 0 the plain one. */
#if PQ_HAVE_X86_SIMD
#define PQ_VEC_AVX2 1
#define PQ_VEC_BUILDS(name, params, args)                                                             \
    static pq_status name##_plain params { return name args; }                                       \
    __attribute__((target("avx2"))) static pq_status name##_avx2 params { return name args; }        \
    __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512dq"))) static pq_status name##_avx512 \
        params { return name args; }
#define PQ_VEC_CALL(avx2, name, args) \
    ((avx2) == 2 ? name##_avx512 args : (avx2) ? name##_avx2 args : name##_plain args)
#else
#define PQ_VEC_AVX2 0
#define PQ_VEC_BUILDS(name, params, args) static pq_status name##_plain params { return name args; }
#define PQ_VEC_CALL(avx2, name, args) ((void)(avx2), name##_plain args)
#endif

/* Which build `isa`'s loops run: 2 AVX-512, 1 AVX2, 0 plain (callers keep it as a flag). */
static inline int pq_vec_avx2(int isa)
{
    if (!PQ_VEC_AVX2) return 0;
    return isa == PQ_ISA_AVX512VNNI || isa == PQ_ISA_AMX ? 2 : isa == PQ_ISA_AVX2;
}

/* pq_srdhm for every (a, b) but a == b == INT32_MIN (its saturation case, which needs two
 * negative operands: callers pass a multiplier >= 0): round(a * b / 2^31) as the floor of
 * (a * b + 2^30) / 2^31, which equals gemmlowp's nudge-then-truncate for both signs. Only the
 * low 32 bits of the shifted sum are kept, so a logical shift serves (AVX2 has no 64-bit
 * arithmetic shift). */
PQ_INLINE int32_t pq_srdhm_vec(int32_t a, int32_t b)
{
    const int64_t ab = (int64_t)a * (int64_t)b + ((int64_t)1 << 30);
    return pq_wrap_i32((uint32_t)((uint64_t)ab >> 31));
}

/* pq_srdhm_vec(x * 2^15, m) for an int16 x and m >= 0 (the int16 ADD's input scaling at TFLM's
 * left shift of 15), in int32 lanes: floor((x * m * 2^15 + 2^30) / 2^31) = floor((x * m + 2^15)
 * / 2^16) = x * mh + floor((x * ml + 2^15) / 2^16) with m = mh * 2^16 + ml, where
 * |x * mh| <= 2^30 and |x * ml + 2^15| < 2^31: no 64-bit product (tests/c/srdhm_x15_check.c
 * checks it against pq_srdhm_vec for every x). */
PQ_INLINE int32_t pq_srdhm_x15(int32_t x, int32_t mh, int32_t ml)
{
    return x * mh + ((x * ml + 32768) >> 16);
}

/* pq_mbqm with the shift split into left = max(shift, 0) and right = max(-shift, 0), for a
 * multiplier >= 0 and x * 2^left inside int32 (the plans check both). */
PQ_INLINE int32_t pq_mbqm_vec(int32_t x, int32_t multiplier, int32_t left, int32_t right)
{
    return pq_rdpot(pq_srdhm_vec(x * (int32_t)((uint32_t)1 << left), multiplier), right);
}

#endif /* PQ_FAST_VEC_H */
