/*
 * int8 GEMM, aarch64 dot-product kernel (ARMv8.2 sdot: Cortex-A55/A76/A78,
 * Neoverse; Raspberry Pi 5, Jetson Orin). Packed layout in pq_pack_neon.c:
 * per group of 4 channels, [kp/4][4][4] int8, so one 16-byte load holds 4
 * channels' weights for 4 consecutive k.
 *
 * vdotq_laneq_s32(acc, w, x, q) adds, to each of acc's 4 lanes (4 channels),
 * the dot product of that channel's 4 weights with the row's 4 values at
 * group q of the 16-byte register x: 16 exact int8 products per instruction,
 * summed in int32 (wrapping modulo 2^32 like the reference). Accumulators
 * start at the folded bias; each holds one row's 4 channels, ready for the
 * 4-lane requantization.
 *
 * Blocks: 4 rows x 16 channels (16 accumulators + 4 row + 4 weight registers
 * of the 32), and for a single row 1 x 32 channels (8 sdot chains); the
 * weights of a group and chunk, 64 bytes, come in one ld1 of 4 registers. Rows
 * are read in place 16 bytes at a time; the last k % 16 values straight into a
 * register (pq_load_tail), multiplied only by the groups of 4 k that hold some.
 * The 4 x 16 blocks of whole chunks with right shifts only (the convolutions of
 * the usual models) run in inline assembly instead (pq_blocks_4x16_asm).
 * Compiled for armv8.2-a+dotprod by attribute;
 * only called when pq_isa_supported(PQ_ISA_NEON_DOT) says so.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"

#if PQ_HAVE_NEON_DOT
#include <arm_neon.h>

#include "pq_requant_neon.h"

#if defined(__ARM_FEATURE_DOTPROD)
#define PQ_T_DOT
#else
#define PQ_T_DOT __attribute__((target("arch=armv8.2-a+dotprod")))
#endif

#define MR PQ_GEMM_MR_NEON
#define KC PQ_GEMM_KC_NEON

/* Group q of the 4 in a 16-k chunk, for one group of 4 channels whose 4 x 16
 * weights wv were loaded by one ld1 of 4 registers. The lane must be a literal
 * (an immediate of the instruction), so the four are spelt out rather than
 * left to loop unrolling, which -O0 would not do. */
#define PQ_DOT_GROUP(q)                                                                                              \
    do {                                                                                                             \
        PQ_NUNROLL                                                                                                   \
        for (r = 0; r < mr; ++r) {                                                                                   \
            acc[r * nb + g] = vdotq_laneq_s32(acc[r * nb + g], wv.val[q], x[r], (q));                                \
        }                                                                                                            \
    } while (0)

/* One chunk of 16 k: x[r] the rows' values, w[g] the groups' panels at it.
 * Group by group, so only one group's 4 weight registers are live: 4 x 16
 * (16 accumulators, 4 rows, 4 weights) uses 24 of the 32 registers, and each
 * group's 64 bytes of weights cost one load instruction. `lanes` (1..4, a
 * constant): the groups of 4 k that hold values, the rest of the chunk being
 * zero weights (a run's last k % 16), left out with their loads. */
PQ_NAI PQ_T_DOT void pq_chunk(int32x4_t *acc, const int8x16_t *x, const int8_t *const *w, const int mr,
                              const int nb, const int lanes)
{
    int r, g;
    PQ_NUNROLL
    for (g = 0; g < nb; ++g) {
        int8x16x4_t wv;
        if (lanes == 4) {
            wv = vld1q_s8_x4(w[g]);
        } else if (lanes == 3) {
            const int8x16x3_t w3 = vld1q_s8_x3(w[g]);
            wv.val[0] = w3.val[0], wv.val[1] = w3.val[1], wv.val[2] = w3.val[2], wv.val[3] = w3.val[2];
        } else if (lanes == 2) {
            const int8x16x2_t w2 = vld1q_s8_x2(w[g]);
            wv.val[0] = w2.val[0], wv.val[1] = w2.val[1], wv.val[2] = w2.val[1], wv.val[3] = w2.val[1];
        } else {
            wv.val[0] = wv.val[1] = wv.val[2] = wv.val[3] = vld1q_s8(w[g]);
        }
        PQ_DOT_GROUP(0);
        if (lanes > 1) {
            PQ_DOT_GROUP(1);
        }
        if (lanes > 2) {
            PQ_DOT_GROUP(2);
        }
        if (lanes > 3) {
            PQ_DOT_GROUP(3);
        }
    }
}

/* The last kt % 16 values of a run (a plain GEMM row: taps == 1), zero-extended,
 * against zero-padded weights: only the groups of 4 k that hold some. */
PQ_NAI PQ_T_DOT void pq_tail_chunk(int32x4_t *acc, const int8_t *const *p, const int8_t *const *w, int32_t kt,
                                   int32_t n, const int mr, const int nb)
{
    int8x16_t x[MR];
    int r;
    PQ_NUNROLL
    for (r = 0; r < mr; ++r) {
        x[r] = pq_load_tail(p[r] + kt, n, kt);
    }
    switch ((n + 3) / 4) {
    case 1:
        pq_chunk(acc, x, w, mr, nb, 1);
        break;
    case 2:
        pq_chunk(acc, x, w, mr, nb, 2);
        break;
    case 3:
        pq_chunk(acc, x, w, mr, nb, 3);
        break;
    default:
        pq_chunk(acc, x, w, mr, nb, 4);
        break;
    }
}

/* nb vectors of 4 int32 from src, 4 per ld1 instruction. */
PQ_NAI PQ_T_DOT void pq_load_s32(const int32_t *src, int32x4_t *dst, const int nb)
{
    int g = 0;
    PQ_NUNROLL
    for (; g + 4 <= nb; g += 4) {
        const int32x4x4_t v = vld1q_s32_x4(src + 4 * g);
        dst[g] = v.val[0], dst[g + 1] = v.val[1], dst[g + 2] = v.val[2], dst[g + 3] = v.val[3];
    }
    if (nb - g == 3) {
        const int32x4x3_t v = vld1q_s32_x3(src + 4 * g);
        dst[g] = v.val[0], dst[g + 1] = v.val[1], dst[g + 2] = v.val[2];
    } else if (nb - g == 2) {
        const int32x4x2_t v = vld1q_s32_x2(src + 4 * g);
        dst[g] = v.val[0], dst[g + 1] = v.val[1];
    } else if (nb - g == 1) {
        dst[g] = vld1q_s32(src + 4 * g);
    }
}

/* One row's nb requantized groups of 4 channels narrowed to int8 and stored, the
 * first `nc` of them (16 channels per store, the last vectors zero-filled). */
PQ_NAI PQ_T_DOT void pq_store_row(const pq_rqc *qc, const int32x4_t *a, int8_t *dst, int32_t nc, const int all_rshift,
                                  const int nb)
{
    int g;
    PQ_NUNROLL
    for (g = 0; g < nb; g += 4) {
        const int32x4_t z = vdupq_n_s32(0);
        const int32x4_t b = g + 1 < nb ? a[g + 1] : z, c = g + 2 < nb ? a[g + 2] : z, d = g + 3 < nb ? a[g + 3] : z;
        const int8x16_t v = all_rshift ? pq_narrow16_offset_clamp(qc, a[g], b, c, d) : pq_narrow16_clamp(qc, a[g], b, c, d);
        const int32_t left = nc - 4 * g;
        const int32_t width = nb - g < 4 ? 4 * (nb - g) : 16;
        pq_store_s8(dst + 4 * g, v, left < width ? left : width);
    }
}

/* `mr` rows x `nb` groups of 4 channels from n0; constants at each call. */
PQ_NAI PQ_T_DOT void pq_ukernel(const pq_gemm_s8_plan *plan, const pq_rqc *qc, const int8_t *const *origin,
                                const ptrdiff_t *tap_off, int32_t taps, int32_t kt, int32_t n0, int32_t rows,
                                int8_t *out, int32_t ldo, const int mr, const int nb, const int8_t *w0,
                                const size_t panel, const int all_rshift, const int small)
{
    const int32_t kfull = kt / KC * KC;
    const int8_t *w[8];
    int32x4_t acc[16];
    int8x16_t x[MR];
    const int8_t *p[MR];
    int32_t t, kk, nc;
    int r, g;
    int32x4_t v[8], v2[8];
    pq_load_s32(plan->rq.bias + n0, v, nb);
    PQ_NUNROLL
    for (g = 0; g < nb; ++g) {
        w[g] = w0 + (size_t)g * panel;
        PQ_NUNROLL
        for (r = 0; r < mr; ++r) {
            acc[r * nb + g] = v[g];
        }
    }
    /* One loop over every chunk of every tap (not a loop per tap): GCC then
     * keeps the accumulators in the same registers throughout instead of
     * shuffling them at each tap's loop entry and exit. */
    PQ_NUNROLL
    for (r = 0; r < mr; ++r) {
        p[r] = origin[r] + tap_off[0];
    }
    t = 0;
    kk = 0;
    if (small) {
        /* kt < 16 and taps == 1 (a plain GEMM row of k < 16): one chunk, no loop. */
        pq_tail_chunk(acc, p, w, kt, kt, mr, nb);
    }
    for (; !small;) {
        if (kk < kfull) {
            PQ_NUNROLL
            for (r = 0; r < mr; ++r) {
                x[r] = vld1q_s8(p[r] + kk);
            }
            kk += KC;
        } else {
            if (kfull < kt) {
                pq_tail_chunk(acc, p, w, kt, kt - kfull, mr, nb);
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
        pq_chunk(acc, x, w, mr, nb, 4);
        PQ_NUNROLL
        for (g = 0; g < nb; ++g) {
            w[g] += 4 * KC;
        }
    }
    nc = plan->n - n0;
    pq_load_s32(plan->rq.mult + n0, v, nb);
    pq_load_s32(plan->rq.rshift + n0, v2, nb);
    PQ_NUNROLL
    for (g = 0; g < nb; ++g) {
        pq_rq4 q;
        q.mult = v[g];
        q.nrshift = vnegq_s32(v2[g]);
        q.lshift = qc->any_lshift ? vld1q_s32(plan->rq.lshift + n0 + 4 * g) : vdupq_n_s32(0);
        PQ_NUNROLL
        for (r = 0; r < mr; ++r) {
            acc[r * nb + g] = all_rshift ? pq_mbqm4_rshift(&q, acc[r * nb + g]) : pq_rq4_offset(&q, qc, acc[r * nb + g]);
        }
    }
    if (rows == mr && nc >= 4 * nb) {
        /* Every row and channel of the block exists (all blocks but a GEMM's last):
         * whole-vector stores, no per-row tests. */
        PQ_NUNROLL
        for (r = 0; r < mr; ++r) {
            pq_store_row(qc, acc + r * nb, out + (size_t)r * (size_t)ldo + (size_t)n0, 4 * nb, all_rshift, nb);
        }
    } else {
        PQ_NUNROLL
        for (r = 0; r < mr; ++r) {
            if (r < rows) {
                pq_store_row(qc, acc + r * nb, out + (size_t)r * (size_t)ldo + (size_t)n0, nc, all_rshift, nb);
            }
        }
    }
}

/* The 4 x 16 blocks in assembly where they are most of the work: whole chunks
 * only (kt a multiple of 16: every conv feed reading taps in place, and plain
 * GEMMs of such k), a right shift in every channel (plan->rq.all_rshift), every
 * row and channel stored. GCC 12 keeps the C above at 75 instructions per chunk
 * (64 sdot) plus per-tap and per-block moves; unrolled over two chunks it rotates
 * the accumulators between registers instead (about 78 per chunk). Here, with
 * fixed registers: v16..v31 the accumulators (v(16 + 4r + g): row r, group g of
 * 4 channels, each row's 4 set by one load of the bias), v(4 + 3r + c) row r's
 * chunk c of three (one ld1 of 48 bytes per row), v0..v3 one group's weights for
 * one chunk. Per tap: chunks three at a time (210 instructions per 192 sdot),
 * then the last one or two. Then exactly pq_mbqm4_rshift and
 * pq_narrow16_offset_clamp (pq_requant_neon.h), and one 16-byte store per row.
 * `k` (pq_blocks_rq) holds the 16 channels' bias, then act_min8, act_max8 and
 * offset16 of pq_rqc (16 bytes each), then the multipliers and the negated right
 * shifts: one pointer walks through them (an asm statement takes at most 30
 * operands). */
#define PQ_SDOT(a, l, x) "sdot v" #a ".4s, v" #l ".16b, v" #x ".4b[" #l "]\n\t"
#define PQ_SDOT_L(a, x, l) PQ_SDOT(a, l, x)
/* One group's 4 accumulators (a0..a3) += its weights v0..v3 at the 4 rows' chunk (x0..x3). */
#define PQ_DOT16(a0, a1, a2, a3, x0, x1, x2, x3)                                                                    \
    PQ_SDOT_L(a0, x0, 0) PQ_SDOT_L(a1, x1, 0) PQ_SDOT_L(a2, x2, 0) PQ_SDOT_L(a3, x3, 0)                          \
    PQ_SDOT_L(a0, x0, 1) PQ_SDOT_L(a1, x1, 1) PQ_SDOT_L(a2, x2, 1) PQ_SDOT_L(a3, x3, 1)                          \
    PQ_SDOT_L(a0, x0, 2) PQ_SDOT_L(a1, x1, 2) PQ_SDOT_L(a2, x2, 2) PQ_SDOT_L(a3, x3, 2)                          \
    PQ_SDOT_L(a0, x0, 3) PQ_SDOT_L(a1, x1, 3) PQ_SDOT_L(a2, x2, 3) PQ_SDOT_L(a3, x3, 3)
/* Group g's weights for the next chunk (its pointer w<g> moves past them), then its 16 sdot
 * with the rows' chunk c (registers 4 + c, 7 + c, 10 + c, 13 + c). */
#define PQ_GDOT(g, a0, a1, a2, a3, x0, x1, x2, x3)                                                                 \
    "ld1 {v0.16b, v1.16b, v2.16b, v3.16b}, [%[w" #g "]], #64\n\t" PQ_DOT16(a0, a1, a2, a3, x0, x1, x2, x3)
#define PQ_G0(x0, x1, x2, x3) PQ_GDOT(0, 16, 20, 24, 28, x0, x1, x2, x3)
#define PQ_G1(x0, x1, x2, x3) PQ_GDOT(1, 17, 21, 25, 29, x0, x1, x2, x3)
#define PQ_G2(x0, x1, x2, x3) PQ_GDOT(2, 18, 22, 26, 30, x0, x1, x2, x3)
#define PQ_G3(x0, x1, x2, x3) PQ_GDOT(3, 19, 23, 27, 31, x0, x1, x2, x3)
/* Group G's chunks 0, 0..1 or 0..2, group by group (each group's weights for consecutive
 * chunks are consecutive). */
#define PQ_C1(G) G(4, 7, 10, 13)
#define PQ_C2(G) G(4, 7, 10, 13) G(5, 8, 11, 14)
#define PQ_C3(G) G(4, 7, 10, 13) G(5, 8, 11, 14) G(6, 9, 12, 15)
#define PQ_CHUNKS(C) C(PQ_G0) C(PQ_G1) C(PQ_G2) C(PQ_G3)
/* The rows' next 1, 2 or 3 chunks (n: 16, 32 or 48 bytes) into registers 4 + 3r ... */
#define PQ_XLOAD(regs0, regs1, regs2, regs3, n)                                                                     \
    "ld1 {" regs0 "}, [%[q0]], #" n "\n\t"                                                                      \
    "ld1 {" regs1 "}, [%[q1]], #" n "\n\t"                                                                      \
    "ld1 {" regs2 "}, [%[q2]], #" n "\n\t"                                                                      \
    "ld1 {" regs3 "}, [%[q3]], #" n "\n\t"
/* op on row r's 4 accumulators (a0..a3), each with its group's constants v0..v3. */
#define PQ_RQ_ROW(op, a0, a1, a2, a3)                                                                              \
    op " v" #a0 ".4s, v" #a0 ".4s, v0.4s\n\t" op " v" #a1 ".4s, v" #a1 ".4s, v1.4s\n\t" op " v" #a2 ".4s, v" #a2  \
       ".4s, v2.4s\n\t" op " v" #a3 ".4s, v" #a3 ".4s, v3.4s\n\t"
#define PQ_RQ_ALL(op)                                                                                               \
    PQ_RQ_ROW(op, 16, 17, 18, 19) PQ_RQ_ROW(op, 20, 21, 22, 23) PQ_RQ_ROW(op, 24, 25, 26, 27)                     \
    PQ_RQ_ROW(op, 28, 29, 30, 31)
#define PQ_FIX(a) "ssra v" #a ".4s, v" #a ".4s, #31\n\t"
#define PQ_FIX_ALL                                                                                                  \
    PQ_FIX(16) PQ_FIX(17) PQ_FIX(18) PQ_FIX(19) PQ_FIX(20) PQ_FIX(21) PQ_FIX(22) PQ_FIX(23) PQ_FIX(24) PQ_FIX(25) \
    PQ_FIX(26) PQ_FIX(27) PQ_FIX(28) PQ_FIX(29) PQ_FIX(30) PQ_FIX(31)
/* A row (its accumulators a, b, c, d: groups 0..3) narrowed, offset (v6), clamped (`clamp`:
 * smax and smin with v4 and v5, left out when the bounds are -128 and 127, which the
 * saturating narrow already gives), stored. */
#define PQ_ROW_STORE(a, b, c, d, clamp)                                                                             \
    "sqxtn v8.4h, v" #a ".4s\n\t"                                                                               \
    "sqxtn2 v8.8h, v" #b ".4s\n\t"                                                                              \
    "sqxtn v9.4h, v" #c ".4s\n\t"                                                                               \
    "sqxtn2 v9.8h, v" #d ".4s\n\t"                                                                              \
    "sqadd v8.8h, v8.8h, v6.8h\n\t"                                                                             \
    "sqadd v9.8h, v9.8h, v6.8h\n\t"                                                                             \
    "sqxtn v8.8b, v8.8h\n\t"                                                                                    \
    "sqxtn2 v8.16b, v9.8h\n\t" clamp "st1 {v8.16b}, [%[out]], %[ldo]\n\t"
#define PQ_CLAMP "smax v8.16b, v8.16b, v4.16b\n\tsmin v8.16b, v8.16b, v5.16b\n\t"

/* A tap's 3 chunks. */
#define PQ_ONE_TRIPLE                                                                                               \
    PQ_XLOAD("v4.16b, v5.16b, v6.16b", "v7.16b, v8.16b, v9.16b", "v10.16b, v11.16b, v12.16b",                       \
             "v13.16b, v14.16b, v15.16b", "48") PQ_CHUNKS(PQ_C3)
/* A tap's chunks, three at a time (%[triples] of them, at least 1). */
#define PQ_TRIPLES                                                                                                  \
    "mov %[off], %[triples]\n\t"                                                                                \
    "3:\n\t" PQ_XLOAD("v4.16b, v5.16b, v6.16b", "v7.16b, v8.16b, v9.16b", "v10.16b, v11.16b, v12.16b",              \
                      "v13.16b, v14.16b, v15.16b", "48") PQ_CHUNKS(PQ_C3) "subs %[off], %[off], #1\n\t"             \
    "b.ne 3b\n\t"
/* Any count of chunks: %[triples] triples (maybe none), then %[rem] (0 to 2) more. */
#define PQ_ANY_CHUNKS                                                                                               \
    "cbz %[triples], 6f\n\t" PQ_TRIPLES "6:\n\t"                                                                       \
    "cbz %[rem], 4f\n\t"                                                                                            \
    "tbnz %[rem], #1, 7f\n\t" PQ_XLOAD("v4.16b", "v7.16b", "v10.16b", "v13.16b", "16") PQ_CHUNKS(PQ_C1)             \
    "b 4f\n\t"                                                                                                      \
    "7:\n\t" PQ_XLOAD("v4.16b, v5.16b", "v7.16b, v8.16b", "v10.16b, v11.16b", "v13.16b, v14.16b", "32")            \
        PQ_CHUNKS(PQ_C2) "4:\n\t"

/* `blocks` blocks of 4 rows (rp[4 * b ..]) x 16 channels, the rows' outputs ldo
 * apart from out; clamp as PQ_ROW_STORE; each tap's chunks by `tap` (PQ_ONE_TRIPLE or
 * PQ_TRIPLES when their count is 3 or a multiple of 3: without the loop or the tests of
 * PQ_ANY_CHUNKS, about 3 instructions per tap of a 3x3 convolution of 16 channels). */
#define PQ_BLOCKS_ASM(clamp, tap)                                                                                        \
    __asm__ volatile(                                                                                               \
        "5:\n\t"                                                                                                    \
        "ldp %[o0], %[o1], [%[rp]], #16\n\t"                                                                        \
        "ldp %[o2], %[o3], [%[rp]], #16\n\t"                                                                        \
        "ld1 {v16.4s, v17.4s, v18.4s, v19.4s}, [%[k]]\n\t"                                                          \
        "ld1 {v20.4s, v21.4s, v22.4s, v23.4s}, [%[k]]\n\t"                                                          \
        "ld1 {v24.4s, v25.4s, v26.4s, v27.4s}, [%[k]]\n\t"                                                          \
        "ld1 {v28.4s, v29.4s, v30.4s, v31.4s}, [%[k]]\n\t"                                                          \
        "mov %[w0], %[w]\n\t"                                                                                       \
        "add %[w1], %[w], %[panel]\n\t"                                                                             \
        "add %[w2], %[w1], %[panel]\n\t"                                                                            \
        "add %[w3], %[w2], %[panel]\n\t"                                                                            \
        "mov %[tp], %[tap_off]\n\t"                                                                                 \
        "1:\n\t"                                                                                                    \
        "ldr %[off], [%[tp]], #8\n\t"                                                                               \
        "add %[q0], %[o0], %[off]\n\t"                                                                              \
        "add %[q1], %[o1], %[off]\n\t"                                                                              \
        "add %[q2], %[o2], %[off]\n\t"                                                                              \
        "add %[q3], %[o3], %[off]\n\t"                                                                              \
        tap                                                                                                         \
        "cmp %[tp], %[tend]\n\t"                                                                                    \
        "b.ne 1b\n\t"                                                                                               \
        "add %[off], %[k], #64\n\t"                                                                                 \
        "ld1 {v4.16b, v5.16b, v6.16b}, [%[off]], #48\n\t"                                                           \
        "ld1 {v0.4s, v1.4s, v2.4s, v3.4s}, [%[off]], #64\n\t" PQ_RQ_ALL("sqrdmulh") PQ_FIX_ALL                      \
        "ld1 {v0.4s, v1.4s, v2.4s, v3.4s}, [%[off]]\n\t" PQ_RQ_ALL("srshl") PQ_ROW_STORE(16, 17, 18, 19, clamp)     \
            PQ_ROW_STORE(20, 21, 22, 23, clamp) PQ_ROW_STORE(24, 25, 26, 27, clamp)                                 \
                PQ_ROW_STORE(28, 29, 30, 31, clamp) "subs %[blocks], %[blocks], #1\n\t"                             \
        "b.ne 5b\n\t"                                                                                               \
        : [rp] "+r"(rp), [out] "+r"(out), [blocks] "+r"(blocks), [o0] "=&r"(o0), [o1] "=&r"(o1), [o2] "=&r"(o2), \
          [o3] "=&r"(o3), [q0] "=&r"(q0), [q1] "=&r"(q1), [q2] "=&r"(q2), [q3] "=&r"(q3), [w0] "=&r"(w0),         \
          [w1] "=&r"(w1), [w2] "=&r"(w2), [w3] "=&r"(w3), [off] "=&r"(off), [tp] "=&r"(tp)                         \
        : [tap_off] "r"(tap_off), [tend] "r"(tap_off + taps), [triples] "r"(chunks / 3), [rem] "r"(chunks % 3),     \
          [w] "r"(w), [panel] "r"(panel), [k] "r"(k), [ldo] "r"(ld)                                                 \
        : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13",  \
          "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", \
          "v29", "v30", "v31")

PQ_NAI PQ_T_DOT void pq_blocks_4x16_asm(const int8_t *const *rp, uint64_t blocks, const ptrdiff_t *tap_off,
                                        int32_t taps, int32_t kt, const int8_t *w, size_t panel, const int32_t *k,
                                        int8_t *out, int32_t ldo, int clamp)
{
    const uint64_t chunks = (uint64_t)(kt / KC);
    const ptrdiff_t ld = ldo;
    const int8_t *o0, *o1, *o2, *o3, *q0, *q1, *q2, *q3, *w0, *w1, *w2, *w3;
    const ptrdiff_t *tp;
    ptrdiff_t off;
    if (chunks == 3) {
        if (clamp) {
            PQ_BLOCKS_ASM(PQ_CLAMP, PQ_ONE_TRIPLE);
        } else {
            PQ_BLOCKS_ASM("", PQ_ONE_TRIPLE);
        }
    } else if (chunks % 3 == 0) {
        if (clamp) {
            PQ_BLOCKS_ASM(PQ_CLAMP, PQ_TRIPLES);
        } else {
            PQ_BLOCKS_ASM("", PQ_TRIPLES);
        }
    } else if (clamp) {
        PQ_BLOCKS_ASM(PQ_CLAMP, PQ_ANY_CHUNKS);
    } else {
        PQ_BLOCKS_ASM("", PQ_ANY_CHUNKS);
    }
}

/* Channels [n0, n1) in blocks of 4 * nb, each for every mr rows of the `rows`
 * (rp[0 .. rows rounded up to mr]): the weights' address once per column block. */
PQ_NAI PQ_T_DOT void pq_blocks_rq(const pq_gemm_s8_plan *plan, const pq_rqc *qc, int32_t rows,
                                  const int8_t *const *rp, const ptrdiff_t *tap_off, int32_t taps, int32_t kt,
                                  int32_t n0, int32_t n1, int8_t *out, int32_t ldo, const int mr, const int nb,
                                  const int all_rshift, const int small)
{
    const size_t panel = (size_t)plan->kp * 4u;
    const int by_asm = mr == 4 && nb == 4 && all_rshift && !small && kt >= KC && kt % KC == 0;
    int32_t k[60];
    int32_t c, q0;
    /* Bounds of -128 and 127: no clamp (the saturating narrow gives them). */
    const int clamp = vminvq_s8(qc->act_min8) != -128 || vmaxvq_s8(qc->act_max8) != 127;
    if (by_asm) {
        vst1q_s8((int8_t *)(void *)(k + 16), qc->act_min8);
        vst1q_s8((int8_t *)(void *)(k + 20), qc->act_max8);
        vst1q_s8((int8_t *)(void *)(k + 24), vreinterpretq_s8_s16(qc->offset16));
    }
    for (c = n0; c < n1; c += 4 * nb) {
        const int8_t *w0 = plan->w + (size_t)(c / 4) * panel;
        if (by_asm) {
            /* The column block's bias, multipliers and negated right shifts in k, as
             * pq_blocks_4x16_asm reads them. */
            int32x4x4_t v = vld1q_s32_x4(plan->rq.rshift + c);
            vst1q_s32_x4(k, vld1q_s32_x4(plan->rq.bias + c));
            vst1q_s32_x4(k + 28, vld1q_s32_x4(plan->rq.mult + c));
            v.val[0] = vnegq_s32(v.val[0]);
            v.val[1] = vnegq_s32(v.val[1]);
            v.val[2] = vnegq_s32(v.val[2]);
            v.val[3] = vnegq_s32(v.val[3]);
            vst1q_s32_x4(k + 44, v);
        }
        q0 = 0;
        if (by_asm && plan->n - c >= 16 && rows >= mr) {
            pq_blocks_4x16_asm(rp, (uint64_t)(rows / mr), tap_off, taps, kt, w0, panel, k, out + (size_t)c, ldo, clamp);
            q0 = rows / mr * mr;
        }
        for (; q0 < rows; q0 += mr) {
            pq_ukernel(plan, qc, rp + q0, tap_off, taps, kt, c, rows - q0 < mr ? rows - q0 : mr,
                       out + (size_t)q0 * (size_t)ldo, ldo, mr, nb, w0, panel, all_rshift, small);
        }
    }
}

/* The same for origin[0 .. rows - 1] (rows <= PQ_GEMM_ROWS_NEON), the variant picked once
 * per call; out of line, one function per block shape (pq_blocks_MRxNB below). */
PQ_NAI PQ_T_DOT void pq_blocks(const pq_gemm_s8_plan *plan, int32_t rows, const int8_t *const *origin,
                               const ptrdiff_t *tap_off, int32_t taps, int32_t kt, int32_t n0, int32_t n1,
                               int8_t *out, int32_t ldo, const int mr, const int nb)
{
    const pq_rqc qc = pq_rqc_load(&plan->rq);
    const int8_t *rp[PQ_GEMM_ROWS_NEON + MR];
    const int8_t *const *rows_p = origin;
    int32_t q0;
    if (rows % mr != 0) {
        /* A last short quad repeats its last row: read, computed, never stored. */
        for (q0 = 0; q0 < rows + mr - 1; ++q0) {
            rp[q0] = origin[q0 < rows ? q0 : rows - 1];
        }
        rows_p = rp;
    }
    /* The requantization's variant chosen once per call, not per block; k < 16 in one
     * chunk, a variant of its own. */
    if (kt < KC && taps == 1) {
        if (plan->rq.all_rshift) {
            pq_blocks_rq(plan, &qc, rows, rows_p, tap_off, taps, kt, n0, n1, out, ldo, mr, nb, 1, 1);
        } else {
            pq_blocks_rq(plan, &qc, rows, rows_p, tap_off, taps, kt, n0, n1, out, ldo, mr, nb, 0, 1);
        }
    } else if (plan->rq.all_rshift) {
        pq_blocks_rq(plan, &qc, rows, rows_p, tap_off, taps, kt, n0, n1, out, ldo, mr, nb, 1, 0);
    } else {
        pq_blocks_rq(plan, &qc, rows, rows_p, tap_off, taps, kt, n0, n1, out, ldo, mr, nb, 0, 0);
    }
}

#define PQ_DOT_BLOCKS(MRV, NB)                                                                                       \
    static __attribute__((noinline)) PQ_T_DOT void pq_blocks_##MRV##x##NB(                                          \
        const pq_gemm_s8_plan *plan, int32_t rows, const int8_t *const *origin, const ptrdiff_t *tap_off,            \
        int32_t taps, int32_t kt, int32_t n0, int32_t n1, int8_t *out, int32_t ldo)                                  \
    {                                                                                                                \
        pq_blocks(plan, rows, origin, tap_off, taps, kt, n0, n1, out, ldo, MRV, NB);                                 \
    }
PQ_DOT_BLOCKS(4, 4)
PQ_DOT_BLOCKS(4, 3)
PQ_DOT_BLOCKS(4, 2)
PQ_DOT_BLOCKS(4, 1)
PQ_DOT_BLOCKS(1, 8)
PQ_DOT_BLOCKS(1, 4)
PQ_DOT_BLOCKS(1, 3)
PQ_DOT_BLOCKS(1, 2)
PQ_DOT_BLOCKS(1, 1)

/* One row (FULLY_CONNECTED at batch 1): 32 channels at a time, then 16, then the last 4, 8 or 12. */
static PQ_T_DOT void pq_one_row(const pq_gemm_s8_plan *plan, const int8_t *const *origin, const ptrdiff_t *tap_off,
                                int32_t taps, int32_t kt, int8_t *out, int32_t ldo)
{
    const int32_t np = plan->np;
    int32_t n0 = np / 32 * 32;
    if (n0 > 0) {
        pq_blocks_1x8(plan, 1, origin, tap_off, taps, kt, 0, n0, out, ldo);
    }
    if (np - n0 >= 16) {
        pq_blocks_1x4(plan, 1, origin, tap_off, taps, kt, n0, n0 + 16, out, ldo);
        n0 += 16;
    }
    if (np - n0 == 12) {
        pq_blocks_1x3(plan, 1, origin, tap_off, taps, kt, n0, np, out, ldo);
    } else if (np - n0 == 8) {
        pq_blocks_1x2(plan, 1, origin, tap_off, taps, kt, n0, np, out, ldo);
    } else if (np - n0 == 4) {
        pq_blocks_1x1(plan, 1, origin, tap_off, taps, kt, n0, np, out, ldo);
    }
}

/* The driver's blocks are PQ_GEMM_ROWS_NEON rows (one call for 64 rows), computed MR
 * rows x 16 channels at a time, the last 4, 8 or 12 channels in one block (each row
 * chunk loaded once); a last single row on its own. */
PQ_T_DOT void pq_gemm_s8_neon_dot_block(const pq_gemm_s8_plan *plan, int32_t rows, const int8_t *const *origin,
                                        const ptrdiff_t *tap_off, int32_t taps, int32_t kt, int8_t *out, int32_t ldo,
                                        void *work)
{
    const int32_t np = plan->np, n0 = np / 16 * 16, quads = rows % MR == 1 ? rows - 1 : rows;
    (void)work;
    if (quads > 0) {
        if (n0 > 0) {
            pq_blocks_4x4(plan, quads, origin, tap_off, taps, kt, 0, n0, out, ldo);
        }
        if (np - n0 == 12) {
            pq_blocks_4x3(plan, quads, origin, tap_off, taps, kt, n0, np, out, ldo);
        } else if (np - n0 == 8) {
            pq_blocks_4x2(plan, quads, origin, tap_off, taps, kt, n0, np, out, ldo);
        } else if (np - n0 == 4) {
            pq_blocks_4x1(plan, quads, origin, tap_off, taps, kt, n0, np, out, ldo);
        }
    }
    if (quads < rows) {
        pq_one_row(plan, origin + quads, tap_off, taps, kt, out + (size_t)quads * (size_t)ldo, ldo);
    }
}

PQ_T_DOT void pq_gemm_s8_neon_dot(const pq_gemm_s8_plan *plan, int32_t m, const int8_t *a, int32_t lda, int8_t *out,
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
        pq_gemm_s8_neon_dot_block(plan, rows, rp, &no_off, 1, plan->k, out + (size_t)m0 * (size_t)ldo, ldo, NULL);
    }
}

#else
/* ISO C forbids an empty translation unit. */
typedef int pq_gemm_s8_neon_dot_unused;
#endif
