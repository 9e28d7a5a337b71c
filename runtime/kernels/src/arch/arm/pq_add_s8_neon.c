/*
 * ADD (same shapes), aarch64 Advanced SIMD, 16 elements per step; see
 * pq_add_s8_fast.c. Per element, as pq_add_s8's pq_add_one:
 *   s_i = MBQM((x_i + offset_i) * 2^left_shift, M_i, shift_i)
 *   out = clamp(MBQM(s_1 + s_2, M_o, shift_o) + output_offset)
 * all in wrapping int32 lanes (pq_requant_neon.h). A tail shorter than 16 is
 * copied into zero-filled buffers: nothing past the tensors is read or written.
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
    int32_t i, j, v;
    qc.offset = vdupq_n_s32(p->output_offset);
    qc.act_min = vdupq_n_s32(p->act_min);
    qc.act_max = vdupq_n_s32(p->act_max);
    qc.any_lshift = p->output_shift > 0;
    for (i = 0; i < n; i += 16) {
        const int32_t cnt = n - i < 16 ? n - i : 16;
        int8_t b1[16], b2[16];
        const int8_t *s1 = in1 + i, *s2 = in2 + i;
        int16x8_t a16[2], b16[2];
        int32x4_t y[4];
        int8x16_t a8, b8;
        if (cnt < 16) {
            for (j = 0; j < 16; ++j) {
                b1[j] = j < cnt ? s1[j] : 0;
                b2[j] = j < cnt ? s2[j] : 0;
            }
            s1 = b1;
            s2 = b2;
        }
        a8 = vld1q_s8(s1);
        b8 = vld1q_s8(s2);
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
