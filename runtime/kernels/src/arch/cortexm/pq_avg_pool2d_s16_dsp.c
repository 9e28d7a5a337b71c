/*
 * AVERAGE_POOL_2D, 16x8, for Cortex-M cores with the DSP extension: the values of
 * pq_avg_pool2d_s16 (ref/pq_avg_pool2d_s16.c), byte for byte, no scratch.
 *
 * Channels go two to a word, each summed in a 32-bit register of its own: SXTAH adds a
 * word's low halfword, sign-extended, and SXTAH with ROR #16 its high one, so the sums of
 * 2 channels are two instructions a tap (and a third, the load). 32-bit sums are the
 * reference's exactly: it sums in uint32 and wraps, as these adds do, and no narrower lane
 * (SADD16, SMLAD's halves) would hold a sum of many int16 values. A pass keeps eight
 * sums (8 channels: 15 instructions a tap), then one word (2 channels), then a last odd
 * channel alone. Then the reference's own
 * rounding (pq_pool_average: half the count added away from zero, C's truncating division
 * by the count of taps inside the image) and its clamp; one SSAT when the clamp is the
 * whole int16 range. Only the taps inside the image are visited, as runs of taps
 * (pq_pool_runs_of, in elements: a window as wide as the image is one run, so a global
 * pool is one loop). A window with no tap inside (refused at load) returns PQ_ERR_PARAM
 * with the pixels before it written, as the reference does.
 * Words are read with LDR from 2-aligned addresses (unaligned LDR, see pq_kernels_dsp.h).
 */
#include <stdint.h>

#include "pq_dsp.h"
#include "pq_dsp16.h"

#if PQ_DSP
#include "pq_pool_window.h"

/* One output pixel: its window's taps and what turns a sum into an output value. */
typedef struct {
    pq_pool_runs t; /* runs of t.len taps, t.stride elements apart (start to start) */
    int32_t depth, count, lo, hi;
} avg_pixel;

/* s[0 .. 8): the sums of the 8 channels at q over the window's runs (t->runs, t->len >= 1;
 * stride in elements), from 0. Inline assembly where PQ_DSP_ASM: 13 registers, so the
 * outer loop's counters (len, the skip from a run's end to the next run, the runs left) are
 * read from memory, once a run. */
PQ_INLINE void sum_window8(const int16_t *q, const pq_pool_runs *t, int32_t depth, uint32_t *s)
{
    uint32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
#if PQ_DSP_ASM
    const int32_t step = 2 * depth; /* bytes from a tap to the next */
    int32_t ctl[3];                 /* len, skip in bytes, runs */
    uint32_t x;
    int32_t n;
    ctl[0] = t->len;
    ctl[1] = 2 * (t->stride - t->len * depth);
    ctl[2] = t->runs;
    __asm__ volatile("1:\n\t"
                     "ldr %[n], [%[ctl]]\n\t"
                     "2:\n\t"
                     "ldr %[x], [%[q]]\n\t"
                     "sxtah %[a0], %[a0], %[x]\n\t"
                     "sxtah %[a1], %[a1], %[x], ror #16\n\t"
                     "ldr %[x], [%[q], #4]\n\t"
                     "sxtah %[a2], %[a2], %[x]\n\t"
                     "sxtah %[a3], %[a3], %[x], ror #16\n\t"
                     "ldr %[x], [%[q], #8]\n\t"
                     "sxtah %[a4], %[a4], %[x]\n\t"
                     "sxtah %[a5], %[a5], %[x], ror #16\n\t"
                     "ldr %[x], [%[q], #12]\n\t"
                     "sxtah %[a6], %[a6], %[x]\n\t"
                     "sxtah %[a7], %[a7], %[x], ror #16\n\t"
                     "add %[q], %[q], %[step]\n\t"
                     "subs %[n], %[n], #1\n\t"
                     "bne 2b\n\t"
                     "ldr %[x], [%[ctl], #4]\n\t"
                     "add %[q], %[q], %[x]\n\t"
                     "ldr %[x], [%[ctl], #8]\n\t"
                     "subs %[x], %[x], #1\n\t"
                     "str %[x], [%[ctl], #8]\n\t"
                     "bne 1b\n\t"
                     : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [a4] "+r"(a4), [a5] "+r"(a5),
                       [a6] "+r"(a6), [a7] "+r"(a7), [q] "+r"(q), [n] "=&r"(n), [x] "=&r"(x)
                     : [step] "r"(step), [ctl] "r"(ctl)
                     : "cc", "memory");
#else
    int32_t r, o;
    for (r = 0; r < t->runs; ++r, q += t->stride) {
        for (o = 0; o < t->len * depth; o += depth) {
            uint32_t x0, x1, x2, x3;
            memcpy(&x0, q + o, 4);
            memcpy(&x1, q + o + 2, 4);
            memcpy(&x2, q + o + 4, 4);
            memcpy(&x3, q + o + 6, 4);
            a0 += (uint32_t)(int32_t)(int16_t)x0; /* the low lane, sign-extended */
            a1 += (uint32_t)((int32_t)x0 >> 16);  /* the high lane (arithmetic shift) */
            a2 += (uint32_t)(int32_t)(int16_t)x1;
            a3 += (uint32_t)((int32_t)x1 >> 16);
            a4 += (uint32_t)(int32_t)(int16_t)x2;
            a5 += (uint32_t)((int32_t)x2 >> 16);
            a6 += (uint32_t)(int32_t)(int16_t)x3;
            a7 += (uint32_t)((int32_t)x3 >> 16);
        }
    }
#endif
    s[0] = a0, s[1] = a1, s[2] = a2, s[3] = a3, s[4] = a4, s[5] = a5, s[6] = a6, s[7] = a7;
}

/* s[0], s[1]: the sums of the 2 channels at q over the window's runs (t->runs, t->len >=
 * 1; stride in elements), from 0. */
PQ_INLINE void sum_window2(const int16_t *q, const pq_pool_runs *t, int32_t depth, uint32_t *s)
{
    uint32_t a0 = 0, a1 = 0;
    int32_t runs = t->runs;
    const int32_t len = t->len;
#if PQ_DSP_ASM
    const int32_t step = 2 * depth, skip = 2 * (t->stride - len * depth); /* bytes */
    uint32_t x;
    int32_t n;
    __asm__ volatile("1:\n\t"
                     "mov %[n], %[len]\n\t"
                     "2:\n\t"
                     "ldr %[x], [%[q]]\n\t"
                     "add %[q], %[q], %[step]\n\t"
                     "sxtah %[a0], %[a0], %[x]\n\t"
                     "sxtah %[a1], %[a1], %[x], ror #16\n\t"
                     "subs %[n], %[n], #1\n\t"
                     "bne 2b\n\t"
                     "add %[q], %[q], %[skip]\n\t"
                     "subs %[runs], %[runs], #1\n\t"
                     "bne 1b\n\t"
                     : [a0] "+r"(a0), [a1] "+r"(a1), [q] "+r"(q), [runs] "+r"(runs), [n] "=&r"(n), [x] "=&r"(x)
                     : [len] "r"(len), [step] "r"(step), [skip] "r"(skip)
                     : "cc", "memory");
#else
    for (; runs > 0; --runs, q += t->stride) {
        int32_t o;
        for (o = 0; o < len * depth; o += depth) {
            const uint32_t x = pq_dsp16_ld2(q + o);
            a0 += (uint32_t)(int32_t)(int16_t)x;
            a1 += (uint32_t)((int32_t)x >> 16);
        }
    }
#endif
    s[0] = a0;
    s[1] = a1;
}

/* po[0 .. n) from the channels' sums s[0 .. n): the reference's rounding and division
 * (pq_pool_average), then its clamp; one SSAT when the clamp is the whole int16 range. */
PQ_INLINE void avg_finish(const uint32_t *s, int32_t n, const avg_pixel *g, int16_t *po)
{
    const int32_t count = g->count, lo = g->lo, hi = g->hi;
    int32_t j;
    if (lo == -32768 && hi == 32767) {
        for (j = 0; j < n; ++j) {
            po[j] = (int16_t)__ssat(pq_pool_average(s[j], count), 16);
        }
    } else {
        for (j = 0; j < n; ++j) {
            po[j] = (int16_t)pq_clamp(pq_pool_average(s[j], count), lo, hi);
        }
    }
}

/* Output values po[0 .. depth) of pixel g, its window's first tap at pi. A call of its
 * own, out of the kernel's loop nest (registers). */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void avg_channels(const int16_t *pi, const avg_pixel *g, int16_t *po)
{
    const int32_t depth = g->depth, runs = g->t.runs, len = g->t.len, stride = g->t.stride;
    uint32_t s[8];
    int32_t c = 0, r;
    for (; depth - c >= 8; c += 8) {
        sum_window8(pi + c, &g->t, depth, s);
        avg_finish(s, 8, g, po + c);
    }
    for (; depth - c >= 2; c += 2) {
        sum_window2(pi + c, &g->t, depth, s);
        avg_finish(s, 2, g, po + c);
    }
    if (c < depth) { /* the last odd channel */
        uint32_t sum = 0;
        int32_t o;
        for (r = 0; r < runs; ++r) {
            for (o = 0; o < len * depth; o += depth) {
                sum += (uint32_t)pi[c + r * stride + o];
            }
        }
        avg_finish(&sum, 1, g, po + c);
    }
}

pq_status pq_avg_pool2d_s16_dsp(const pq_pool_params *p, const pq_dims *in_dims, const int16_t *in,
                                const pq_dims *out_dims, int16_t *out)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, depth = in_dims->c;
    avg_pixel g;
    int16_t *po = out;
    int32_t b, oy, ox;

    g.depth = depth;
    g.lo = p->act_min;
    g.hi = p->act_max;
    for (b = 0; b < in_dims->n; ++b) {
        const int16_t *in_b = in + b * in_h * in_w * depth;
        for (oy = 0; oy < out_dims->h; ++oy) {
            for (ox = 0; ox < out_dims->w; ++ox, po += depth) {
                const pq_pool_window w = pq_pool_window_at(p, in_h, in_w, oy, ox);
                g.t = pq_pool_runs_of(&w, in_w, depth);
                if (g.t.runs <= 0 || g.t.len <= 0) {
                    /* TFLM returns false (kTfLiteError) on an empty window; outputs
                     * already written stay written, as there. */
                    return PQ_ERR_PARAM;
                }
                g.count = g.t.runs * g.t.len;
                avg_channels(in_b + g.t.first, &g, po);
            }
        }
    }
    return PQ_OK;
}

#else
typedef int pq_avg_pool2d_s16_dsp_unused; /* ISO C: a translation unit is not empty */
#endif /* PQ_DSP */
