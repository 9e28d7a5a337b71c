/*
 * The dot-product blocks of the 16x8 Cortex-M DSP kernels (pq_dsp16.h): int8 filter
 * rows against one or two int16 columns, two products per SMLAD, then the 16x8
 * requantization of the reference kernels.
 *
 * CONV_2D's column pairs arrive already in SMLAD lane order (pq_conv2d_s16_dsp builds
 * them once per pixel pair), so a pass of two filter rows by two columns is the int8
 * kernel's: two LDRD, two filter loads, four SXTB16 and eight SMLAD for 16 multiply-
 * accumulates. FULLY_CONNECTED's column is read in place and put in lane order with
 * PKHBT / PKHTB, once for two rows. Sums run in int32 for at most PQ_DSP16_CHUNK_GROUPS
 * groups (exact, see pq_dsp16.h) and are then added to 64-bit totals. A row length that
 * is not a multiple of 4 ends with a partial group built from the row's last values,
 * never read past it.
 */
#include <stdint.h>

#include "pq_dsp16.h"

#if PQ_DSP

int32_t pq_dsp16_take_both(uint32_t lo, uint32_t hi, int32_t t)
{
    return (int32_t)((lo >> t) | (hi << (32 - t))); /* t in [8, 15] */
}

/* Row r's outputs for the sums sa and sb of its products (columns a and b), as the reference
 * turns them into int16 values: the int32 path with an int32 bias, the int64 one otherwise. */
static void out_row(const pq_dsp16_gemm *g, int32_t r, uint64_t sa, uint64_t sb, int16_t *oa, int16_t *ob)
{
    const int32_t c = g->per_channel ? r : 0;
    int32_t va, vb;
    if (g->bias32 != NULL) { /* TFLM's int32 accumulator: the low 32 bits, wrapping */
        const uint32_t b = (uint32_t)g->bias32[r];
        va = pq_dsp_requant((int32_t)((uint32_t)sa + b), g->mult[c], g->shift[c]);
        vb = pq_dsp_requant((int32_t)((uint32_t)sb + b), g->mult[c], g->shift[c]);
    } else if (g->ch != NULL) { /* the int64 path, precomputed per row */
        va = pq_dsp16_apply(sa, &g->ch[r]);
        vb = pq_dsp16_apply(sb, &g->ch[r]);
    } else {
        const pq_dsp16_ch q = pq_dsp16_ch_of(g->mult[c], g->shift[c], g->bias64 != NULL ? &g->bias64[r] : NULL);
        va = pq_dsp16_apply(sa, &q);
        vb = pq_dsp16_apply(sb, &q);
    }
    *oa = pq_dsp16_clamp(va, g->act_min, g->act_max);
    *ob = pq_dsp16_clamp(vb, g->act_min, g->act_max);
}

/* out_row for sums that fit int32 (k <= PQ_DSP16_CHUNK_VALUES): as they are. */
static void out_row32(const pq_dsp16_gemm *g, int32_t r, int32_t sa, int32_t sb, int16_t *oa, int16_t *ob)
{
    int32_t va, vb;
    if (g->ch != NULL) { /* the int64 path, precomputed per row */
        va = pq_dsp16_apply32(sa, &g->ch[r]);
        vb = pq_dsp16_apply32(sb, &g->ch[r]);
    } else {
        out_row(g, r, (uint64_t)(int64_t)sa, (uint64_t)(int64_t)sb, oa, ob);
        return;
    }
    if (g->clamp_kind == PQ_DSP16_CLAMP_RELU) {
        *oa = (int16_t)__usat(va, 15);
        *ob = (int16_t)__usat(vb, 15);
    } else if (g->clamp_kind == PQ_DSP16_CLAMP_FULL) {
        *oa = (int16_t)__ssat(va, 16);
        *ob = (int16_t)__ssat(vb, 16);
    } else {
        *oa = pq_dsp16_clamp(va, g->act_min, g->act_max);
        *ob = pq_dsp16_clamp(vb, g->act_min, g->act_max);
    }
}

int16_t pq_dsp16_out(const pq_dsp16_gemm *g, int32_t r, uint64_t sum)
{
    const int32_t c = g->per_channel ? r : 0;
    int32_t v;
    if (g->bias32 != NULL) {
        v = pq_dsp_requant((int32_t)((uint32_t)sum + (uint32_t)g->bias32[r]), g->mult[c], g->shift[c]);
    } else {
        const pq_dsp16_ch q = pq_dsp16_ch_of(g->mult[c], g->shift[c], g->bias64 != NULL ? &g->bias64[r] : NULL);
        v = pq_dsp16_apply(sum, &q);
    }
    return pq_dsp16_clamp(v, g->act_min, g->act_max);
}

/* The last n (1..3) int8 values of a row as a word, zero above: the partial group. */
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

/* A 32-bit partial sum added to a 64-bit total (sign-extended). */
#define PQ_ADD64(total, part) ((total) += (uint64_t)(int64_t)(part))

/* n in [1, PQ_DSP16_CHUNK_GROUPS] groups: rows p0, p1 against the column pair at *pc,
 * sums from 0 into acc; pointers advance. The loop of the int8 kernel's pass_2x2. */
PQ_INLINE void pass_2x2(const int32_t **pc, const int8_t **p0, const int8_t **p1, int32_t n, int32_t acc[4])
{
    int32_t c00 = 0, c01 = 0, c10 = 0, c11 = 0;
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

void pq_dsp16_gemm_2cols(const pq_dsp16_gemm *g, const int8_t *filter, int32_t rows, const int32_t *cols,
                         int16_t *out)
{
    const int32_t k = g->k, k4 = k >> 2, rem = k & 3, stride = g->out_stride;
    int32_t r = g->first_row;
    const int32_t end = r + rows;

    if (k <= PQ_DSP16_CHUNK_VALUES) { /* every sum fits int32 (pq_dsp16.h): one chunk, no 64-bit totals */
        for (; r < end; r += 2) {
            const int8_t *p0 = filter + r * k, *p1 = r + 1 < end ? p0 + k : p0;
            const int32_t *c = cols;
            int32_t acc[4] = {0, 0, 0, 0};
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
            out_row32(g, r, acc[0], acc[1], &out[r], &out[stride + r]);
            if (r + 1 < end) {
                out_row32(g, r + 1, acc[2], acc[3], &out[r + 1], &out[stride + r + 1]);
            }
        }
        return;
    }
    /* Rows in pairs; an odd last row pairs with itself and its second results are dropped. */
    for (; r < end; r += 2) {
        const int8_t *p0 = filter + r * k, *p1 = r + 1 < end ? p0 + k : p0;
        const int32_t *c = cols;
        uint64_t s00 = 0, s01 = 0, s10 = 0, s11 = 0; /* row 0 x col a, row 0 x b, row 1 x a, row 1 x b */
        int32_t left, acc[4];
        for (left = k4; left > 0; left -= PQ_DSP16_CHUNK_GROUPS) {
            pass_2x2(&c, &p0, &p1, left < PQ_DSP16_CHUNK_GROUPS ? left : PQ_DSP16_CHUNK_GROUPS, acc);
            PQ_ADD64(s00, acc[0]);
            PQ_ADD64(s01, acc[1]);
            PQ_ADD64(s10, acc[2]);
            PQ_ADD64(s11, acc[3]);
        }
        if (rem) { /* the column's padding is 0, the filter's tail word too */
            const uint32_t wa = tail_word(p0, rem), wb = tail_word(p1, rem);
            PQ_ADD64(s00, mac4(0, wa, c[0], c[1]));
            PQ_ADD64(s01, mac4(0, wa, c[2], c[3]));
            PQ_ADD64(s10, mac4(0, wb, c[0], c[1]));
            PQ_ADD64(s11, mac4(0, wb, c[2], c[3]));
        }
        out_row(g, r, s00, s01, &out[r], &out[stride + r]);
        if (r + 1 < end) {
            out_row(g, r + 1, s10, s11, &out[r + 1], &out[stride + r + 1]);
        }
    }
}

/* n in [1, PQ_DSP16_CHUNK_GROUPS] groups: rows p0, p1 against the int16 column at *px,
 * sums from 0 into acc; pointers advance. */
PQ_INLINE void pass_2x1(const int16_t **px, const int8_t **p0, const int8_t **p1, int32_t n, int32_t acc[2])
{
    int32_t c0 = 0, c1 = 0;
    const int16_t *x = *px;
    const int8_t *w0 = *p0, *w1 = *p1;
#if PQ_DSP_ASM
    int32_t xa, xb, lo, w, wl;
    __asm__ volatile(
        "1:\n\t"
        "ldr %[xa], [%[x]], #8\n\t"
        "ldr %[xb], [%[x], #-4]\n\t"
        "pkhbt %[lo], %[xa], %[xb], lsl #16\n\t"
        "pkhtb %[xb], %[xb], %[xa], asr #16\n\t"
        "ldr %[w], [%[w0]], #4\n\t"
        "sxtb16 %[wl], %[w]\n\t"
        "sxtb16 %[w], %[w], ror #8\n\t"
        "smlad %[c0], %[w], %[xb], %[c0]\n\t"
        "smlad %[c0], %[wl], %[lo], %[c0]\n\t"
        "ldr %[w], [%[w1]], #4\n\t"
        "sxtb16 %[wl], %[w]\n\t"
        "sxtb16 %[w], %[w], ror #8\n\t"
        "smlad %[c1], %[w], %[xb], %[c1]\n\t"
        "smlad %[c1], %[wl], %[lo], %[c1]\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        : [c0] "+r"(c0), [c1] "+r"(c1), [x] "+r"(x), [w0] "+r"(w0), [w1] "+r"(w1), [n] "+r"(n), [xa] "=&r"(xa),
          [xb] "=&r"(xb), [lo] "=&r"(lo), [w] "=&r"(w), [wl] "=&r"(wl)
        :
        : "cc", "memory");
#else
    for (; n > 0; --n, x += 4, w0 += 4, w1 += 4) {
        const uint32_t x01 = pq_dsp16_ld2(x), x23 = pq_dsp16_ld2(x + 2);
        const int32_t lo = pq_dsp16_lo(x01, x23), hi = pq_dsp16_hi(x01, x23);
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

void pq_dsp16_gemv(const pq_dsp16_gemm *g, const int8_t *filter, int32_t rows, const int16_t *x, int16_t *out)
{
    const int32_t k = g->k, k4 = k >> 2, rem = k & 3;
    const int32_t end = g->first_row + rows;
    int32_t r;

    for (r = g->first_row; r < end; r += 2) {
        const int16_t *px = x;
        const int8_t *p0 = filter + r * k, *p1 = r + 1 < end ? p0 + k : p0;
        uint64_t s0 = 0, s1 = 0;
        int32_t left, acc[2];
        for (left = k4; left > 0; left -= PQ_DSP16_CHUNK_GROUPS) {
            pass_2x1(&px, &p0, &p1, left < PQ_DSP16_CHUNK_GROUPS ? left : PQ_DSP16_CHUNK_GROUPS, acc);
            PQ_ADD64(s0, acc[0]);
            PQ_ADD64(s1, acc[1]);
        }
        if (rem) { /* the last 1-3 values, read one by one; lanes past the row are 0 */
            const uint32_t x0 = (uint16_t)px[0], x1 = rem > 1 ? (uint16_t)px[1] : 0u;
            const uint32_t x2 = rem > 2 ? (uint16_t)px[2] : 0u;
            const int32_t lo = (int32_t)(x0 | (x2 << 16)), hi = (int32_t)x1;
            PQ_ADD64(s0, mac4(0, tail_word(p0, rem), lo, hi));
            PQ_ADD64(s1, mac4(0, tail_word(p1, rem), lo, hi));
        }
        out[r] = pq_dsp16_out(g, r, s0);
        if (r + 1 < end) {
            out[r + 1] = pq_dsp16_out(g, r + 1, s1);
        }
    }
}

#else
typedef int pq_dsp_gemm_s16_unused; /* ISO C: a translation unit is not empty */
#endif /* PQ_DSP */
