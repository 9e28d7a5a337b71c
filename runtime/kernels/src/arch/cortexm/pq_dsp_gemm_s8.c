/*
 * The dot-product blocks of the Cortex-M DSP kernels (pq_dsp.h): filter rows
 * against one or two columns, four int8 values per SMLAD pair, then the
 * requantization of pq_conv2d_s8 / pq_fully_connected_s8.
 *
 * CONV_2D's column pairs arrive widened and interleaved (pq_conv2d_s8_dsp builds
 * them once per pixel pair), so a pass of two filter rows by two columns costs
 * two LDRD, two filter loads, four SXTB16 and eight SMLAD for 16 multiply-
 * accumulates. FULLY_CONNECTED's one column is read in place as int8 and widened
 * with SXTAB16, which adds the input offset in the same instruction. Sums wrap in
 * 32 bits as the reference's do (SMLAD's additions wrap; they only set the sticky
 * Q flag). A row length that is not a multiple of 4 ends with a partial word built
 * from the row's last bytes, never read past it.
 *
 * The two inner loops are inline assembly where PQ_DSP_ASM says so (pq_dsp.h).
 */
#include <stdint.h>

#include "pq_dsp.h"

#if PQ_DSP

/* What turns row r's dot products into output bytes, read once per row: locals,
 * because every int8 output store may alias the parameter block as far as the
 * compiler knows, which would reload each field for every byte. */
typedef struct {
    int32_t mult, shift, bias;
} row_rq;

PQ_INLINE row_rq row_params(const pq_dsp_gemm *g, int32_t r)
{
    row_rq q;
    const int32_t c = g->per_channel ? r : 0;
    q.mult = g->mult[c];
    q.shift = g->shift[c];
    q.bias = g->bias != NULL ? g->bias[r] : 0;
    return q;
}

/* The output byte of one dot product (out_offset, act_min, act_max: locals too). */
#define PQ_FINISH(q, acc) \
    pq_dsp_out((int32_t)((uint32_t)(acc) + (uint32_t)(q).bias), (q).mult, (q).shift, out_offset, act_min, act_max)
#define PQ_FINISH_FULL(q, acc) \
    pq_dsp_out_full((int32_t)((uint32_t)(acc) + (uint32_t)(q).bias), (q).mult, (q).shift, out_offset)

/* The last n (1..3) values of a row as a word, zero above: the partial group. */
PQ_INLINE uint32_t tail_word(const int8_t *p, int32_t n)
{
    uint32_t v = 0;
    while (n-- > 0) {
        v = (v << 8) | (uint8_t)p[n];
    }
    return v;
}

/* acc + dot(4 filter values in word w, 4 column values in the pair (lo, hi)). */
PQ_INLINE int32_t mac4(int32_t acc, uint32_t w, int32_t lo, int32_t hi)
{
    return __smlad(__sxtb16(w), lo, __smlad(pq_dsp_sxtb16_ror8(w), hi, acc));
}

/* n >= 1 groups: rows p0, p1 against the column pair at *pc; pointers advance. */
PQ_INLINE void pass_2x2(const int32_t **pc, const int8_t **p0, const int8_t **p1, int32_t n, int32_t acc[4])
{
    int32_t c00 = acc[0], c01 = acc[1], c10 = acc[2], c11 = acc[3];
    const int32_t *c = *pc;
    const int8_t *w0 = *p0, *w1 = *p1;
#if PQ_DSP_ASM
    int32_t al, ah, bl, bh, w, wl;
    __asm__ volatile(
        "1:\n\t"
        "ldrd %[al], %[ah], [%[c]], #16\n\t"
        "ldrd %[bl], %[bh], [%[c], #-8]\n\t"
        "ldr %[w], [%[w0]], #4\n\t"
        "sxtb16 %[wl], %[w]\n\t"
        "sxtb16 %[w], %[w], ror #8\n\t"
        "smlad %[c00], %[w], %[ah], %[c00]\n\t"
        "smlad %[c00], %[wl], %[al], %[c00]\n\t"
        "smlad %[c01], %[w], %[bh], %[c01]\n\t"
        "smlad %[c01], %[wl], %[bl], %[c01]\n\t"
        "ldr %[w], [%[w1]], #4\n\t"
        "sxtb16 %[wl], %[w]\n\t"
        "sxtb16 %[w], %[w], ror #8\n\t"
        "smlad %[c10], %[w], %[ah], %[c10]\n\t"
        "smlad %[c10], %[wl], %[al], %[c10]\n\t"
        "smlad %[c11], %[w], %[bh], %[c11]\n\t"
        "smlad %[c11], %[wl], %[bl], %[c11]\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        : [c00] "+r"(c00), [c01] "+r"(c01), [c10] "+r"(c10), [c11] "+r"(c11), [c] "+r"(c), [w0] "+r"(w0),
          [w1] "+r"(w1), [n] "+r"(n), [al] "=&r"(al), [ah] "=&r"(ah), [bl] "=&r"(bl), [bh] "=&r"(bh),
          [w] "=&r"(w), [wl] "=&r"(wl)
        :
        : "cc", "memory");
#else
    for (; n > 0; --n, c += 4, w0 += 4, w1 += 4) {
        const uint32_t wa = pq_dsp_ld4(w0), wb = pq_dsp_ld4(w1);
        c00 = mac4(c00, wa, c[0], c[1]);
        c01 = mac4(c01, wa, c[2], c[3]);
        c10 = mac4(c10, wb, c[0], c[1]);
        c11 = mac4(c11, wb, c[2], c[3]);
    }
#endif
    *pc = c;
    *p0 = w0;
    *p1 = w1;
    acc[0] = c00;
    acc[1] = c01;
    acc[2] = c10;
    acc[3] = c11;
}

void pq_dsp_gemm_2cols(const pq_dsp_gemm *g, const int8_t *filter, int32_t rows, const int32_t *cols, int8_t *out)
{
    const int32_t k = g->k, k4 = k >> 2, rem = k & 3, stride = g->out_stride;
    const int32_t out_offset = g->out_offset, act_min = g->act_min, act_max = g->act_max;
    const int32_t full = act_min == -128 && act_max == 127;
    int32_t r = g->first_row;
    const int32_t end = r + rows;
    const int8_t *w0 = filter + r * k;

    for (; r + 1 < end; r += 2, w0 += 2 * k) {
        const int8_t *p0 = w0, *p1 = w0 + k;
        const int32_t *c = cols;
        row_rq q0, q1;
        int32_t acc[4] = {0, 0, 0, 0}; /* row 0 x col a, row 0 x col b, row 1 x a, row 1 x b */
        if (k4 > 0) {
            pass_2x2(&c, &p0, &p1, k4, acc);
        }
        if (rem) {
            const uint32_t wa = tail_word(p0, rem), wb = tail_word(p1, rem);
            acc[0] = mac4(acc[0], wa, c[0], c[1]);
            acc[1] = mac4(acc[1], wa, c[2], c[3]);
            acc[2] = mac4(acc[2], wb, c[0], c[1]);
            acc[3] = mac4(acc[3], wb, c[2], c[3]);
        }
        q0 = row_params(g, r);
        q1 = row_params(g, r + 1);
        if (full) {
            out[r] = PQ_FINISH_FULL(q0, acc[0]);
            out[r + 1] = PQ_FINISH_FULL(q1, acc[2]);
            out[stride + r] = PQ_FINISH_FULL(q0, acc[1]);
            out[stride + r + 1] = PQ_FINISH_FULL(q1, acc[3]);
        } else {
            out[r] = PQ_FINISH(q0, acc[0]);
            out[r + 1] = PQ_FINISH(q1, acc[2]);
            out[stride + r] = PQ_FINISH(q0, acc[1]);
            out[stride + r + 1] = PQ_FINISH(q1, acc[3]);
        }
    }
    if (r < end) { /* an odd row count: the last row against both columns */
        const int8_t *p0 = w0;
        const int32_t *c = cols;
        int32_t acc0 = 0, acc1 = 0, i;
        row_rq q0;
        for (i = k4; i > 0; --i, c += 4, p0 += 4) {
            const uint32_t w = pq_dsp_ld4(p0);
            acc0 = mac4(acc0, w, c[0], c[1]);
            acc1 = mac4(acc1, w, c[2], c[3]);
        }
        if (rem) {
            const uint32_t w = tail_word(p0, rem);
            acc0 = mac4(acc0, w, c[0], c[1]);
            acc1 = mac4(acc1, w, c[2], c[3]);
        }
        q0 = row_params(g, r);
        out[r] = PQ_FINISH(q0, acc0);
        out[stride + r] = PQ_FINISH(q0, acc1);
    }
}

/* n >= 1 groups: rows p0, p1 against the int8 column px (offset pair off2). */
PQ_INLINE void pass_2x1(const int8_t **px, const int8_t **p0, const int8_t **p1, int32_t n, int32_t off2,
                        int32_t acc[2])
{
    int32_t c0 = acc[0], c1 = acc[1];
    const int8_t *x = *px, *w0 = *p0, *w1 = *p1;
#if PQ_DSP_ASM
    int32_t v, vl, w, wl;
    __asm__ volatile(
        "1:\n\t"
        "ldr %[v], [%[x]], #4\n\t"
        "sxtab16 %[vl], %[off2], %[v]\n\t"
        "sxtab16 %[v], %[off2], %[v], ror #8\n\t"
        "ldr %[w], [%[w0]], #4\n\t"
        "sxtb16 %[wl], %[w]\n\t"
        "sxtb16 %[w], %[w], ror #8\n\t"
        "smlad %[c0], %[w], %[v], %[c0]\n\t"
        "smlad %[c0], %[wl], %[vl], %[c0]\n\t"
        "ldr %[w], [%[w1]], #4\n\t"
        "sxtb16 %[wl], %[w]\n\t"
        "sxtb16 %[w], %[w], ror #8\n\t"
        "smlad %[c1], %[w], %[v], %[c1]\n\t"
        "smlad %[c1], %[wl], %[vl], %[c1]\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        : [c0] "+r"(c0), [c1] "+r"(c1), [x] "+r"(x), [w0] "+r"(w0), [w1] "+r"(w1), [n] "+r"(n), [v] "=&r"(v),
          [vl] "=&r"(vl), [w] "=&r"(w), [wl] "=&r"(wl)
        : [off2] "r"(off2)
        : "cc", "memory");
#else
    for (; n > 0; --n, x += 4, w0 += 4, w1 += 4) {
        const uint32_t v = pq_dsp_ld4(x);
        const int32_t lo = __sxtab16(off2, v), hi = pq_dsp_sxtab16_ror8(off2, v);
        c0 = mac4(c0, pq_dsp_ld4(w0), lo, hi);
        c1 = mac4(c1, pq_dsp_ld4(w1), lo, hi);
    }
#endif
    *px = x;
    *p0 = w0;
    *p1 = w1;
    acc[0] = c0;
    acc[1] = c1;
}

/* One output byte of pq_dsp_gemv_s8: a call, not inlined, because FULLY_CONNECTED has
 * few outputs per multiply-accumulate and its kernel is most of a small model's flash. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static int8_t gemv_out(const pq_dsp_gemm *g, int32_t r, int32_t acc)
{
    const row_rq q = row_params(g, r);
    return pq_dsp_out((int32_t)((uint32_t)acc + (uint32_t)q.bias), q.mult, q.shift, g->out_offset, g->act_min,
                      g->act_max);
}

void pq_dsp_gemv_s8(const pq_dsp_gemm *g, const int8_t *filter, int32_t rows, const int8_t *x, int8_t *out)
{
    const int32_t k = g->k, k4 = k >> 2, rem = k & 3, off2 = pq_dsp_pair(g->in_offset);
    const int32_t end = g->first_row + rows;
    int32_t r;

    /* Rows in pairs; an odd last row pairs with itself and its second result is dropped. */
    for (r = g->first_row; r < end; r += 2) {
        const int8_t *px = x, *p0 = filter + r * k, *p1 = r + 1 < end ? p0 + k : p0;
        int32_t acc[2] = {0, 0};
        if (k4 > 0) {
            pass_2x1(&px, &p0, &p1, k4, off2, acc);
        }
        if (rem) {
            /* Past the row's end the column widens to the offset, the filter to 0. */
            const uint32_t v = tail_word(px, rem);
            const int32_t lo = __sxtab16(off2, v), hi = pq_dsp_sxtab16_ror8(off2, v);
            acc[0] = mac4(acc[0], tail_word(p0, rem), lo, hi);
            acc[1] = mac4(acc[1], tail_word(p1, rem), lo, hi);
        }
        out[r] = gemv_out(g, r, acc[0]);
        if (r + 1 < end) {
            out[r + 1] = gemv_out(g, r + 1, acc[1]);
        }
    }
}

#else
typedef int pq_dsp_gemm_s8_unused; /* ISO C: a translation unit is not empty */
#endif /* PQ_DSP */
