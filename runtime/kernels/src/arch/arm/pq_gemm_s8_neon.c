/*
 * int8 GEMM, aarch64 Advanced SIMD kernel (ARMv8.0: Cortex-A53/A57/A72, i.e.
 * Raspberry Pi 3/4, i.MX8M, Jetson Nano). Packed layout in pq_pack_neon.c:
 * per group of 4 channels, [kp/16][4][16] int8.
 *
 * Each accumulator is one (row, channel) pair and holds 4 int32 partial sums:
 * per 16 k, smull / smull2 multiply the row's 16 int8 values by the
 * channel's 16 weights into 2 x 8 int16 products (exact: |x * w| <= 2^14)
 * and sadalp adds each pair of products into an int32 lane (exact: 2^15 fits
 * int32). Never two products summed in int16 (smlal): (-128 * -128) * 2 =
 * 32768 overflows it, and a .picoq file may hold -128 weights. At the end,
 * three pairwise adds (addp) turn 4 channels' partial sums into one vector of
 * 4 channels, the bias is added and the requantization runs on 4 lanes.
 * All sums wrap modulo 2^32 like the reference's. When the plan says no
 * weight is -128 (pair16, as TFLite's symmetric [-127, 127] weights), every
 * product is at most 128 * 127 in magnitude and smlal2 adds products k and
 * k + 8 in int16 first: 3 instructions per 16 products instead of 4.
 *
 * Blocks: 4 rows x 4 channels (16 accumulators + 4 row + 4 weight registers
 * of the 32), and for a single row (FULLY_CONNECTED at batch 1) 1 row x 16
 * channels. Rows are read in place, 16 bytes at a time; the last k % 16
 * values of each row come zero-extended from pq_load_tail, which reads
 * nothing past a row (up to 8 of them multiplied by smull alone). The first
 * chunk of a block sets the accumulators (saddlp), so none are zeroed.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"

#if PQ_HAVE_NEON
#include <arm_neon.h>

/* GCC's first scheduling pass hoists the multiplies of a chunk ahead of
 * their accumulations and runs out of the 32 vector registers: 5 spill
 * stores and 6 extra loads in the 64-multiply inner loop (GCC 12 -O2/-O3).
 * Without it the loop is 64 multiply / accumulate + 9 loads + 7 others. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-schedule-insns")
#endif

#include "pq_requant_neon.h"

#define MR PQ_GEMM_MR_NEON
#define KC PQ_GEMM_KC_NEON

/* 4 bytes to dst, any alignment. */
PQ_NAI void pq_store_u32(int8_t *dst, uint32_t word)
{
    __builtin_memcpy(dst, &word, 4);
}

/* acc + the pairwise sums of p (sadalp); for the first chunk of a block,
 * `first` (a constant), the pairwise sums alone (saddlp): the accumulators
 * need no zeroing. */
PQ_NAI int32x4_t pq_pairs(int32x4_t acc, int16x8_t p, const int first)
{
    return first ? vpaddlq_s16(p) : vpadalq_s16(acc, p);
}

/* One row's 16 values x against one group's 4 x 16 weights wv, into its 4
 * accumulators a[j] (channel j). `half` (a constant): only the first 8 k hold
 * values (a run's last k % 16 <= 8, the rest zero weights and zero values), so
 * the upper products (smull2) are left out. */
PQ_NAI void pq_row_group(int32x4_t *a, int8x16_t x, const int8x16_t *wv, const int pair16, const int half,
                         const int first)
{
    int j;
    PQ_NUNROLL
    for (j = 0; j < 4; ++j) {
        const int16x8_t lo = vmull_s8(vget_low_s8(x), vget_low_s8(wv[j]));
        if (half) {
            a[j] = pq_pairs(a[j], lo, first);
        } else if (pair16) {
            /* No -128 weight: products k and k + 8 summed in int16 (smlal2) are exact. */
            a[j] = pq_pairs(a[j], vmlal_high_s8(lo, x, wv[j]), first);
        } else {
            a[j] = vpadalq_s16(pq_pairs(a[j], lo, first), vmull_high_s8(x, wv[j]));
        }
    }
}

/* One k chunk: the rows' values at xp[r] + kk, or with xp NULL the vectors
 * x[r]; against the groups' panels w[g] at this chunk (4 x 16 weights each,
 * loaded once and used for every row). acc[r * 4 * nb + 4 * g + j] is row r,
 * channel 4 * g + j. */
PQ_NAI void pq_chunk(int32x4_t *acc, const int8_t *const *xp, int32_t kk, const int8x16_t *x,
                     const int8_t *const *w, const int mr, const int nb, const int pair16, const int half,
                     const int first)
{
    int r, g;
    PQ_NUNROLL
    for (g = 0; g < nb; ++g) {
        const int8x16x4_t wq = vld1q_s8_x4(w[g]); /* one ld1 of 4 registers */
        const int8x16_t wv[4] = {wq.val[0], wq.val[1], wq.val[2], wq.val[3]};
        PQ_NUNROLL
        for (r = 0; r < mr; ++r) {
            pq_row_group(acc + r * 4 * nb + 4 * g, xp != NULL ? vld1q_s8(xp[r] + kk) : x[r], wv, pair16, half, first);
        }
    }
}

/* `mr` rows (row pointers rp, the ones past `rows` repeat the last) x `nb`
 * groups of 4 channels from channel n0; mr and nb are constants at each call. */
PQ_NAI void pq_ukernel(const pq_gemm_s8_plan *plan, const pq_rqc *qc, const int8_t *const *origin,
                       const ptrdiff_t *tap_off, int32_t taps, int32_t kt, int32_t n0, int32_t rows,
                       int8_t *out, int32_t ldo, const int mr, const int nb, const int pair16, const int small)
{
    const int32_t kfull = kt / KC * KC;
    const int all_rshift = plan->rq.all_rshift;
    const size_t panel = (size_t)plan->kp * 4u; /* bytes per group of 4 channels */
    const int8_t *w[4];
    const int8_t *p[MR];
    int32x4_t acc[16];
    int32_t t, kk, nc;
    int r, g, i;
    PQ_NUNROLL
    for (g = 0; g < nb; ++g) {
        w[g] = plan->w + (size_t)(n0 / 4 + g) * panel;
    }
    PQ_NUNROLL
    for (r = 0; r < mr; ++r) {
        p[r] = origin[r] + tap_off[0];
    }
    t = 0;
    kk = 0;
    if (kfull > 0) {
        /* The first chunk sets the accumulators. */
        pq_chunk(acc, p, 0, NULL, w, mr, nb, pair16, 0, 1);
        PQ_NUNROLL
        for (g = 0; g < nb; ++g) {
            w[g] += 4 * KC;
        }
        kk = KC;
    } else if (small) {
        /* kt < 16 and taps == 1 (a plain GEMM row of k < 16): its values are the block's
         * only chunk, which sets the accumulators; no loop. */
        int8x16_t x[MR];
        PQ_NUNROLL
        for (r = 0; r < mr; ++r) {
            x[r] = pq_load_tail(p[r] + kt, kt, kt);
        }
        if (kt <= 8) {
            pq_chunk(acc, NULL, 0, x, w, mr, nb, pair16, 1, 1);
        } else {
            pq_chunk(acc, NULL, 0, x, w, mr, nb, pair16, 0, 1);
        }
    } else {
        PQ_NUNROLL
        for (i = 0; i < mr * 4 * nb; ++i) {
            acc[i] = vdupq_n_s32(0);
        }
    }
    /* One loop over every chunk of every tap (as in the sdot kernel): no
     * accumulator moves at each tap's loop entry and exit. */
    for (; !small;) {
        if (kk < kfull) {
            pq_chunk(acc, p, kk, NULL, w, mr, nb, pair16, 0, 0);
            kk += KC;
        } else {
            if (kfull < kt) {
                /* The last kt % 16 values of a run (a plain GEMM row: taps == 1),
                 * zero-extended, against zero-padded weights: up to 8 of them from
                 * registers, more through a 16-byte buffer per row (fewer register
                 * moves in GCC 12's code for the full chunk). */
                int8x16_t x[MR];
                int8_t tail[MR][KC];
                const int8_t *tp[MR];
                PQ_NUNROLL
                for (r = 0; r < mr; ++r) {
                    x[r] = pq_load_tail(p[r] + kt, kt - kfull, kt);
                    tp[r] = tail[r];
                }
                if (kt - kfull <= 8) {
                    pq_chunk(acc, NULL, 0, x, w, mr, nb, pair16, 1, 0);
                } else {
                    PQ_NUNROLL
                    for (r = 0; r < mr; ++r) {
                        vst1q_s8(tail[r], x[r]);
                    }
                    pq_chunk(acc, tp, 0, NULL, w, mr, nb, pair16, 0, 0);
                }
                PQ_NUNROLL
                for (g = 0; g < nb; ++g) {
                    w[g] += 4 * KC;
                }
            }
            if (++t >= taps) {
                break;
            }
            PQ_NUNROLL
            for (r = 0; r < mr; ++r) {
                p[r] = origin[r] + tap_off[t];
            }
            kk = 0;
            continue;
        }
        PQ_NUNROLL
        for (g = 0; g < nb; ++g) {
            w[g] += 4 * KC;
        }
    }
    nc = plan->n - n0; /* channels of this block that exist */
    PQ_NUNROLL
    for (g = 0; g < nb; ++g) {
        const pq_rq4 q = pq_rq4_load(&plan->rq, n0 + 4 * g);
        PQ_NUNROLL
        for (r = 0; r < mr; ++r) {
            const int32x4_t *a = acc + r * 4 * nb + 4 * g;
            /* addp thrice: lane j = the sum of channel j's 4 partial sums. */
            const int32x4_t s = vpaddq_s32(vpaddq_s32(a[0], a[1]), vpaddq_s32(a[2], a[3]));
            acc[r * 4 * nb + 4 * g] =
                all_rshift ? pq_mbqm4_rshift(&q, vaddq_s32(s, q.bias)) : pq_rq4_offset(&q, qc, vaddq_s32(s, q.bias));
        }
    }
    if (mr == 4 && nb == 1) {
        /* 4 rows x 4 channels narrowed and clamped as one vector (row r in bytes
         * 4r .. 4r + 3), then 4 bytes per row. */
        const int8x16_t v = all_rshift ? pq_narrow16_offset_clamp(qc, acc[0], acc[4], acc[8], acc[12])
                                       : pq_narrow16_clamp(qc, acc[0], acc[4], acc[8], acc[12]);
        if (nc >= 4) {
            const uint32x4_t v32 = vreinterpretq_u32_s8(v);
            pq_store_u32(out + (size_t)n0, vgetq_lane_u32(v32, 0));
            if (rows > 1) {
                pq_store_u32(out + (size_t)ldo + (size_t)n0, vgetq_lane_u32(v32, 1));
            }
            if (rows > 2) {
                pq_store_u32(out + 2 * (size_t)ldo + (size_t)n0, vgetq_lane_u32(v32, 2));
            }
            if (rows > 3) {
                pq_store_u32(out + 3 * (size_t)ldo + (size_t)n0, vgetq_lane_u32(v32, 3));
            }
        } else {
            int8_t tmp[16];
            int32_t i;
            vst1q_s8(tmp, v);
            for (r = 0; r < rows; ++r) {
                for (i = 0; i < nc; ++i) {
                    out[(size_t)r * (size_t)ldo + (size_t)(n0 + i)] = tmp[4 * r + i];
                }
            }
        }
        return;
    }
    PQ_NUNROLL
    for (r = 0; r < mr; ++r) {
        if (r < rows) {
            const int32x4_t *a = acc + r * 4 * nb;
            const int32x4_t z = vdupq_n_s32(0);
            const int32x4_t b = nb > 1 ? a[4] : z, c = nb > 2 ? a[8] : z, d = nb > 3 ? a[12] : z;
            const int8x16_t v =
                all_rshift ? pq_narrow16_offset_clamp(qc, a[0], b, c, d) : pq_narrow16_clamp(qc, a[0], b, c, d);
            pq_store_s8(out + (size_t)r * (size_t)ldo + (size_t)n0, v, nc < 4 * nb ? nc : 4 * nb);
        }
    }
}

/* Up to MR rows (origin[0 .. MR - 1], the ones past `rows` repeating the last). */
PQ_NAI void pq_block(const pq_gemm_s8_plan *plan, const pq_rqc *qc, int32_t rows, const int8_t *const *origin,
                     const ptrdiff_t *tap_off, int32_t taps, int32_t kt, int8_t *out, int32_t ldo, const int pair16,
                     const int small)
{
    const int32_t np = plan->np;
    int32_t n0 = 0;
    if (rows == 1) {
        for (; n0 + 16 <= np; n0 += 16) {
            pq_ukernel(plan, qc, origin, tap_off, taps, kt, n0, rows, out, ldo, 1, 4, pair16, small);
        }
        for (; n0 < np; n0 += 4) {
            pq_ukernel(plan, qc, origin, tap_off, taps, kt, n0, rows, out, ldo, 1, 1, pair16, small);
        }
        return;
    }
    for (; n0 < np; n0 += 4) {
        pq_ukernel(plan, qc, origin, tap_off, taps, kt, n0, rows, out, ldo, MR, 1, pair16, small);
    }
}

/* The driver's blocks are PQ_GEMM_ROWS_NEON rows (one call and one load of the
 * constants for 64 rows), computed MR at a time. */
PQ_NAI void pq_rows(const pq_gemm_s8_plan *plan, int32_t rows, const int8_t *const *origin, const ptrdiff_t *tap_off,
                    int32_t taps, int32_t kt, int8_t *out, int32_t ldo, const int pair16, const int small)
{
    const pq_rqc qc = pq_rqc_load(&plan->rq);
    int32_t q0;
    for (q0 = 0; q0 < rows; q0 += MR) {
        pq_block(plan, &qc, rows - q0 < MR ? rows - q0 : MR, origin + q0, tap_off, taps, kt,
                 out + (size_t)q0 * (size_t)ldo, ldo, pair16, small);
    }
}

void pq_gemm_s8_neon_block(const pq_gemm_s8_plan *plan, int32_t rows, const int8_t *const *origin,
                           const ptrdiff_t *tap_off, int32_t taps, int32_t kt, int8_t *out, int32_t ldo,
                           void *work)
{
    (void)work;
    /* Four variants: pair16, and k < 16 in one chunk (kept apart so the others' code is unchanged). */
    if (kt < KC && taps == 1) {
        if (plan->pair16) {
            pq_rows(plan, rows, origin, tap_off, taps, kt, out, ldo, 1, 1);
        } else {
            pq_rows(plan, rows, origin, tap_off, taps, kt, out, ldo, 0, 1);
        }
    } else if (plan->pair16) {
        pq_rows(plan, rows, origin, tap_off, taps, kt, out, ldo, 1, 0);
    } else {
        pq_rows(plan, rows, origin, tap_off, taps, kt, out, ldo, 0, 0);
    }
}

void pq_gemm_s8_neon(const pq_gemm_s8_plan *plan, int32_t m, const int8_t *a, int32_t lda, int8_t *out,
                     int32_t ldo, void *scratch)
{
    const ptrdiff_t no_off = 0;
    const int8_t *rp[PQ_GEMM_ROWS_NEON];
    int32_t m0, r;
    (void)scratch;
    for (m0 = 0; m0 < m; m0 += PQ_GEMM_ROWS_NEON) {
        const int32_t rows = m - m0 < PQ_GEMM_ROWS_NEON ? m - m0 : PQ_GEMM_ROWS_NEON;
        /* Rows past the end of the last block of MR repeat the last row: read, computed,
         * never stored. */
        for (r = 0; r < (rows + MR - 1) / MR * MR; ++r) {
            rp[r] = a + (size_t)(m0 + (r < rows ? r : rows - 1)) * (size_t)lda;
        }
        pq_gemm_s8_neon_block(plan, rows, rp, &no_off, 1, plan->k, out + (size_t)m0 * (size_t)ldo, ldo, NULL);
    }
}

#else
/* ISO C forbids an empty translation unit. */
typedef int pq_gemm_s8_neon_unused;
#endif
