/*
 * The dot-product blocks of the Cortex-M DSP kernels for packed int4 weights
 * (pq_dsp_s4.h): filter rows read in place, 8 nibbles a word, against one or two
 * columns, then the requantization of pq_conv2d_s4 / pq_fully_connected_s4.
 *
 * A word of 8 weights costs one load, one EOR and four ANDs (shifted operands) to
 * become 4 SMLAD pairs: as many instructions as the int8 kernels spend on 8 weights
 * (two loads, four SXTB16), for half the flash read. A row that starts in a high
 * nibble (odd row length, odd row index) is read with its word shifted down and the
 * fifth byte's nibble on top. Sums wrap in 32 bits as the reference's do.
 */
#include <stdint.h>

#include "pq_dsp_s4.h"

#if PQ_DSP

/* Row r's multiplier, shift and bias, read once into locals (int8 output stores may
 * alias the parameter block as far as the compiler knows). */
typedef struct {
    int32_t mult, shift, bias;
} row_rq;

PQ_INLINE row_rq row_params(const pq_dsp_gemm_s4 *g, int32_t r)
{
    row_rq q;
    const int32_t c = g->per_channel ? r : 0;
    q.mult = g->mult[c];
    q.shift = g->shift[c];
    q.bias = g->bias != NULL ? g->bias[r] : 0;
    return q;
}

/* The output byte of a dot product whose sum(u * x) is acc and correction corr
 * (8 * the column's sum): acc - corr is sum(e * x) modulo 2^32. */
PQ_INLINE int8_t finish(row_rq q, int32_t acc, uint32_t corr, int32_t out_offset, int32_t lo, int32_t hi)
{
    const int32_t v = (int32_t)((uint32_t)acc - corr + (uint32_t)q.bias);
    if (lo == -128 && hi == 127) {
        return pq_dsp_out_full(v, q.mult, q.shift, out_offset);
    }
    return pq_dsp_out(v, q.mult, q.shift, out_offset, lo, hi);
}

/* The column pair at c, as a, b values of pq_s4_mac8. */
#define PQ_COL_A(c) (c)[0], (c)[2], (c)[4], (c)[6]
#define PQ_COL_B(c) (c)[1], (c)[3], (c)[5], (c)[7]

#if PQ_DSP_ASM
/* The next filter word of a row into w, the row pointer p advanced by 4: a row starting
 * in a low nibble loads it; one starting in a high nibble shifts it down and puts the
 * low nibble of the fifth byte on top (t: a scratch register). */
#define PQ_S4_LD_EVEN(w, p) "ldr %[" w "], [%[" p "]], #4\n\t"
#define PQ_S4_LD_ODD(w, p)                    \
    "ldr %[" w "], [%[" p "]], #4\n\t"        \
    "ldrb %[t], [%[" p "]]\n\t"               \
    "lsl %[t], %[t], #28\n\t"                 \
    "orr %[" w "], %[t], %[" w "], lsr #4\n\t"
/* One of the 4 pairs (shift 0, 4, 8, 12) of both rows against the column pair (ca, cb). */
#define PQ_S4_STEP_2X2(ld, sh)                           \
    ld "and %[t], %[mask], %[w0]" sh "\n\t"              \
    "smlad %[c00], %[t], %[ca], %[c00]\n\t"              \
    "smlad %[c01], %[t], %[cb], %[c01]\n\t"              \
    "and %[t], %[mask], %[w1]" sh "\n\t"                 \
    "smlad %[c10], %[t], %[ca], %[c10]\n\t"              \
    "smlad %[c11], %[t], %[cb], %[c11]\n\t"
/* n >= 1 groups: 2 filter loads, 2 EOR, 4 LDRD, 8 AND, 16 SMLAD and the loop, 34
 * instructions for 32 multiply-accumulates when both rows start in a low nibble. */
#define PQ_S4_LOOP_2X2(ld0, ld1)                                                                          \
    __asm__ volatile("1:\n\t" ld0 ld1 "eor %[w0], %[w0], #0x88888888\n\t"                                 \
                     "eor %[w1], %[w1], #0x88888888\n\t" PQ_S4_STEP_2X2("ldrd %[ca], %[cb], [%[c]], #32\n\t", "") \
                         PQ_S4_STEP_2X2("ldrd %[ca], %[cb], [%[c], #-24]\n\t", ", lsr #4")                \
                             PQ_S4_STEP_2X2("ldrd %[ca], %[cb], [%[c], #-16]\n\t", ", lsr #8")            \
                                 PQ_S4_STEP_2X2("ldrd %[ca], %[cb], [%[c], #-8]\n\t", ", lsr #12")        \
                     "subs %[n], %[n], #1\n\t"                                                            \
                     "bne 1b\n\t"                                                                         \
                     : [c00] "+r"(c00), [c01] "+r"(c01), [c10] "+r"(c10), [c11] "+r"(c11), [c] "+r"(c),    \
                       [p0] "+r"(p0), [p1] "+r"(p1), [n] "+r"(k8), [w0] "=&r"(w0), [w1] "=&r"(w1),         \
                       [ca] "=&r"(ca), [cb] "=&r"(cb), [t] "=&r"(t)                                       \
                     : [mask] "r"(mask)                                                                   \
                     : "cc", "memory")
#endif

/* k8 >= 1 groups of rows from elements e0 and e1 against the column pair at c. The
 * phases are constants where inlined, so each case runs its own loop. */
PQ_INLINE void pass_2x2(const uint8_t *filter, int32_t e0, int32_t e1, int32_t odd0, int32_t odd1, int32_t k8,
                        const int32_t *c, int32_t acc[4])
{
    const uint8_t *p0 = filter + ((uint32_t)e0 >> 1), *p1 = filter + ((uint32_t)e1 >> 1);
    int32_t c00 = 0, c01 = 0, c10 = 0, c11 = 0;
#if PQ_DSP_ASM
    const uint32_t mask = PQ_S4_LANES;
    uint32_t w0, w1, t;
    int32_t ca, cb;
    if (!odd0 && !odd1) {
        PQ_S4_LOOP_2X2(PQ_S4_LD_EVEN("w0", "p0"), PQ_S4_LD_EVEN("w1", "p1"));
    } else if (odd0) {
        PQ_S4_LOOP_2X2(PQ_S4_LD_ODD("w0", "p0"), PQ_S4_LD_EVEN("w1", "p1"));
    } else {
        PQ_S4_LOOP_2X2(PQ_S4_LD_EVEN("w0", "p0"), PQ_S4_LD_ODD("w1", "p1"));
    }
    (void)odd1;
#else
    for (; k8 > 0; --k8, p0 += 4, p1 += 4, c += 8) {
        uint32_t w0, w1;
        memcpy(&w0, p0, 4);
        memcpy(&w1, p1, 4);
        if (odd0) {
            w0 = (w0 >> 4) | ((uint32_t)p0[4] << 28);
        }
        if (odd1) {
            w1 = (w1 >> 4) | ((uint32_t)p1[4] << 28);
        }
        w0 ^= PQ_S4_BIAS8;
        w1 ^= PQ_S4_BIAS8;
        c00 = pq_s4_mac8(c00, w0, PQ_COL_A(c));
        c01 = pq_s4_mac8(c01, w0, PQ_COL_B(c));
        c10 = pq_s4_mac8(c10, w1, PQ_COL_A(c));
        c11 = pq_s4_mac8(c11, w1, PQ_COL_B(c));
    }
#endif
    acc[0] = c00;
    acc[1] = c01;
    acc[2] = c10;
    acc[3] = c11;
}

void pq_dsp_gemm_s4_2cols(const pq_dsp_gemm_s4 *g, const uint8_t *filter, int32_t rows, const int32_t *cols,
                          int32_t sum_a, int32_t sum_b, int8_t *out)
{
    const int32_t k = g->k, k8 = k >> 3, rem = k & 7, stride = g->out_stride;
    const int32_t out_offset = g->out_offset, lo = g->act_min, hi = g->act_max;
    const uint32_t corr_a = 8u * (uint32_t)sum_a, corr_b = 8u * (uint32_t)sum_b;
    const int32_t *tail_c = cols + 8 * k8;
    int32_t r = g->first_row;
    const int32_t end = r + rows;

    for (; r + 1 < end; r += 2) {
        const int32_t e0 = r * k, e1 = e0 + k;
        int32_t acc[4] = {0, 0, 0, 0}; /* row 0 x col a, row 0 x col b, row 1 x a, row 1 x b */
        row_rq q0, q1;
        if (k8 > 0) {
            /* e1 = e0 + k: both start in a low nibble (k even), or one of them does */
            if (((e0 | e1) & 1) == 0) {
                pass_2x2(filter, e0, e1, 0, 0, k8, cols, acc);
            } else if (e0 & 1) {
                pass_2x2(filter, e0, e1, 1, 0, k8, cols, acc);
            } else {
                pass_2x2(filter, e0, e1, 0, 1, k8, cols, acc);
            }
        }
        if (rem) {
            /* row r's tail has row r + 1 after it, row r + 1's has row r + 2 if in this block:
             * at least k >= 8 values, so the tail's word read stays inside the filter */
            const uint32_t w0 = pq_s4_tail_fast(filter, e0 + 8 * k8, rem, k8 > 0);
            const uint32_t w1 = pq_s4_tail_fast(filter, e1 + 8 * k8, rem, k8 > 0 && r + 2 < end);
            acc[0] = pq_s4_mac8(acc[0], w0, PQ_COL_A(tail_c));
            acc[1] = pq_s4_mac8(acc[1], w0, PQ_COL_B(tail_c));
            acc[2] = pq_s4_mac8(acc[2], w1, PQ_COL_A(tail_c));
            acc[3] = pq_s4_mac8(acc[3], w1, PQ_COL_B(tail_c));
        }
        q0 = row_params(g, r);
        q1 = row_params(g, r + 1);
        out[r] = finish(q0, acc[0], corr_a, out_offset, lo, hi);
        out[r + 1] = finish(q1, acc[2], corr_a, out_offset, lo, hi);
        out[stride + r] = finish(q0, acc[1], corr_b, out_offset, lo, hi);
        out[stride + r + 1] = finish(q1, acc[3], corr_b, out_offset, lo, hi);
    }
    if (r < end) { /* an odd row count: the last row against both columns */
        const int32_t e0 = r * k;
        const int32_t *c = cols;
        int32_t acc0 = 0, acc1 = 0, i;
        row_rq q0;
        for (i = 0; i < k8; ++i, c += 8) {
            const uint32_t w = pq_s4_ld8(filter, e0 + 8 * i) ^ PQ_S4_BIAS8;
            acc0 = pq_s4_mac8(acc0, w, PQ_COL_A(c));
            acc1 = pq_s4_mac8(acc1, w, PQ_COL_B(c));
        }
        if (rem) {
            const uint32_t w = pq_s4_tail(filter, e0 + 8 * k8, rem);
            acc0 = pq_s4_mac8(acc0, w, PQ_COL_A(c));
            acc1 = pq_s4_mac8(acc1, w, PQ_COL_B(c));
        }
        q0 = row_params(g, r);
        out[r] = finish(q0, acc0, corr_a, out_offset, lo, hi);
        out[stride + r] = finish(q0, acc1, corr_b, out_offset, lo, hi);
    }
}

/* 8 int8 column values at x, offset pair off2 added, as the pairs (x4, x0), (x5, x1),
 * (x6, x2), (x7, x3) of pq_s4_mac8: SXTAB16 gives (x2, x0) ... (x7, x5), PKHBT and
 * PKHTB regroup them. */
PQ_INLINE void column8(const int8_t *x, int32_t off2, int32_t c[4])
{
    const uint32_t a = pq_dsp_ld4(x), b = pq_dsp_ld4(x + 4);
    const uint32_t la = (uint32_t)__sxtab16(off2, a), ha = (uint32_t)pq_dsp_sxtab16_ror8(off2, a);
    const uint32_t lb = (uint32_t)__sxtab16(off2, b), hb = (uint32_t)pq_dsp_sxtab16_ror8(off2, b);
    c[0] = (int32_t)((la & 0xFFFFu) | (lb << 16));
    c[1] = (int32_t)((ha & 0xFFFFu) | (hb << 16));
    c[2] = (int32_t)((lb & 0xFFFF0000u) | (la >> 16));
    c[3] = (int32_t)((hb & 0xFFFF0000u) | (ha >> 16));
}

#if PQ_DSP_ASM
/* One row's 8 nibbles (already in w, XORed here) against the column pairs (ca, cb, cc, cd). */
#define PQ_S4_ROW_2X1(acc)                          \
    "eor %[w], %[w], #0x88888888\n\t"               \
    "and %[t], %[w], %[mask]\n\t"                   \
    "smlad %[" acc "], %[t], %[ca], %[" acc "]\n\t"  \
    "and %[t], %[mask], %[w], lsr #4\n\t"           \
    "smlad %[" acc "], %[t], %[cb], %[" acc "]\n\t" \
    "and %[t], %[mask], %[w], lsr #8\n\t"           \
    "smlad %[" acc "], %[t], %[cc], %[" acc "]\n\t" \
    "and %[t], %[mask], %[w], lsr #12\n\t"          \
    "smlad %[" acc "], %[t], %[cd], %[" acc "]\n\t"
/* n >= 1 groups: 8 column values widened and regrouped (2 LDR, 4 SXTAB16, 4 PKH), then
 * each row's word: 32 instructions for 16 multiply-accumulates when both rows start in
 * a low nibble. */
#define PQ_S4_LOOP_2X1(ld0, ld1)                                                                     \
    __asm__ volatile("1:\n\t"                                                                        \
                     "ldr %[w], [%[x]], #4\n\t"                                                      \
                     "ldr %[cd], [%[x]], #4\n\t"                                                     \
                     "sxtab16 %[cb], %[off2], %[w]\n\t"                                              \
                     "sxtab16 %[w], %[off2], %[w], ror #8\n\t"                                       \
                     "sxtab16 %[cc], %[off2], %[cd]\n\t"                                             \
                     "sxtab16 %[cd], %[off2], %[cd], ror #8\n\t"                                     \
                     "pkhbt %[ca], %[cb], %[cc], lsl #16\n\t"                                        \
                     "pkhtb %[cc], %[cc], %[cb], asr #16\n\t"                                        \
                     "pkhbt %[cb], %[w], %[cd], lsl #16\n\t"                                         \
                     "pkhtb %[cd], %[cd], %[w], asr #16\n\t" ld0 PQ_S4_ROW_2X1("a0")                \
                         ld1 PQ_S4_ROW_2X1("a1") "subs %[n], %[n], #1\n\t"                           \
                                                 "bne 1b\n\t"                                        \
                     : [a0] "+r"(a0), [a1] "+r"(a1), [x] "+r"(x), [p0] "+r"(p0), [p1] "+r"(p1),      \
                       [n] "+r"(k8), [w] "=&r"(w), [t] "=&r"(t), [ca] "=&r"(ca), [cb] "=&r"(cb),     \
                       [cc] "=&r"(cc), [cd] "=&r"(cd)                                                \
                     : [mask] "r"(mask), [off2] "r"(off2)                                            \
                     : "cc", "memory")
#endif

/* k8 >= 1 groups: rows from elements e0, e1 against the int8 column x. */
PQ_INLINE void pass_2x1(const uint8_t *filter, int32_t e0, int32_t e1, int32_t odd0, int32_t odd1, int32_t k8,
                        const int8_t *x, int32_t off2, int32_t acc[2])
{
    const uint8_t *p0 = filter + ((uint32_t)e0 >> 1), *p1 = filter + ((uint32_t)e1 >> 1);
    int32_t a0 = 0, a1 = 0;
#if PQ_DSP_ASM
    const uint32_t mask = PQ_S4_LANES;
    uint32_t w, t;
    int32_t ca, cb, cc, cd;
    if (!odd0 && !odd1) {
        PQ_S4_LOOP_2X1(PQ_S4_LD_EVEN("w", "p0"), PQ_S4_LD_EVEN("w", "p1"));
    } else if (odd0 && odd1) { /* the odd last row paired with itself */
        PQ_S4_LOOP_2X1(PQ_S4_LD_ODD("w", "p0"), PQ_S4_LD_ODD("w", "p1"));
    } else if (odd0) {
        PQ_S4_LOOP_2X1(PQ_S4_LD_ODD("w", "p0"), PQ_S4_LD_EVEN("w", "p1"));
    } else {
        PQ_S4_LOOP_2X1(PQ_S4_LD_EVEN("w", "p0"), PQ_S4_LD_ODD("w", "p1"));
    }
#else
    int32_t c[4];
    for (; k8 > 0; --k8, p0 += 4, p1 += 4, x += 8) {
        uint32_t w0, w1;
        column8(x, off2, c);
        memcpy(&w0, p0, 4);
        memcpy(&w1, p1, 4);
        if (odd0) {
            w0 = (w0 >> 4) | ((uint32_t)p0[4] << 28);
        }
        if (odd1) {
            w1 = (w1 >> 4) | ((uint32_t)p1[4] << 28);
        }
        a0 = pq_s4_mac8(a0, w0 ^ PQ_S4_BIAS8, c[0], c[1], c[2], c[3]);
        a1 = pq_s4_mac8(a1, w1 ^ PQ_S4_BIAS8, c[0], c[1], c[2], c[3]);
    }
#endif
    acc[0] = a0;
    acc[1] = a1;
}

/* One output byte of pq_dsp_gemv_s4: a call, not inlined (few outputs per multiply-
 * accumulate in FULLY_CONNECTED; flash matters more). */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static int8_t gemv_out(const pq_dsp_gemm_s4 *g, int32_t r, int32_t acc, uint32_t corr)
{
    return finish(row_params(g, r), acc, corr, g->out_offset, g->act_min, g->act_max);
}

void pq_dsp_gemv_s4(const pq_dsp_gemm_s4 *g, const uint8_t *filter, int32_t rows, const int8_t *x, int8_t *out)
{
    const int32_t k = g->k, k8 = k >> 3, off = g->in_offset, off2 = pq_dsp_pair(off);
    const int32_t end = g->first_row + rows;
    uint32_t sum = (uint32_t)k * (uint32_t)off, corr;
    int32_t r, d;

    /* the column's sum of x + offset, once per column: 4 values an SXTB16 pair of SMLAD */
    for (d = 0; d + 4 <= k; d += 4) {
        const uint32_t v = pq_dsp_ld4(x + d);
        sum = (uint32_t)__smlad(__sxtb16(v), 0x00010001, (int32_t)sum);
        sum = (uint32_t)__smlad(pq_dsp_sxtb16_ror8(v), 0x00010001, (int32_t)sum);
    }
    for (; d < k; ++d) {
        sum += (uint32_t)x[d];
    }
    corr = 8u * sum;
    /* Rows in pairs; an odd last row pairs with itself and its second result is dropped. */
    for (r = g->first_row; r < end; r += 2) {
        const int32_t e0 = r * k, e1 = r + 1 < end ? e0 + k : e0;
        int32_t acc[2] = {0, 0};
        if (k8 > 0) {
            if (((e0 | e1) & 1) == 0) {
                pass_2x1(filter, e0, e1, 0, 0, k8, x, off2, acc);
            } else if ((e0 & e1) & 1) {
                pass_2x1(filter, e0, e1, 1, 1, k8, x, off2, acc);
            } else if (e0 & 1) {
                pass_2x1(filter, e0, e1, 1, 0, k8, x, off2, acc);
            } else {
                pass_2x1(filter, e0, e1, 0, 1, k8, x, off2, acc);
            }
        }
        for (d = 8 * k8; d < k; ++d) { /* the last k % 8 values one at a time (fewer
                                         * instructions than a masked word here) */
            const uint32_t xv = (uint32_t)x[d] + (uint32_t)off;
            const uint32_t b0 = filter[(uint32_t)(e0 + d) >> 1], b1 = filter[(uint32_t)(e1 + d) >> 1];
            acc[0] = (int32_t)((uint32_t)acc[0] + ((((e0 + d) & 1) ? b0 >> 4 : b0 & 0x0Fu) ^ 8u) * xv);
            acc[1] = (int32_t)((uint32_t)acc[1] + ((((e1 + d) & 1) ? b1 >> 4 : b1 & 0x0Fu) ^ 8u) * xv);
        }
        out[r] = gemv_out(g, r, acc[0], corr);
        if (r + 1 < end) {
            out[r + 1] = gemv_out(g, r + 1, acc[1], corr);
        }
    }
}

#else
typedef int pq_dsp_gemm_s4_unused; /* ISO C: a translation unit is not empty */
#endif /* PQ_DSP */
