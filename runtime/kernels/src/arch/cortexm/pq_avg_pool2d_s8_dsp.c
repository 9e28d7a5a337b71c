/*
 * AVERAGE_POOL_2D for Cortex-M cores with the DSP extension: the bytes of
 * pq_avg_pool2d_s8 (ref/pq_avg_pool2d_s8.c), no scratch.
 *
 * Channels go four to a word: SXTAB16 adds a tap's bytes 0 and 2, and (rotated by 8)
 * bytes 1 and 3, to two pairs of int16 lanes, so the sums of 4 channels are two
 * instructions a tap; a pass keeps two words (8 channels). A lane holds the exact sum of
 * up to 256 taps of [-128, 127] (|sum| <= 32768, and -32768 only from 256 taps of -128),
 * so a window of more taps is summed 256 taps at a time, each pass widened into 32-bit
 * sums (uint32, wrapping as the reference's). Then the reference's own rounding: half
 * the count added away from zero, C's truncating division by the count of taps inside
 * the image, the clamp. Only those taps are visited, as runs of taps (pq_pool_runs_of: a
 * window as wide as the image is one run). Channels past the last multiple of 4 go one at
 * a time. A window with no tap inside (refused at load) returns PQ_ERR_PARAM with the
 * pixels before it written, as the reference does.
 */
#include <stdint.h>

#include "pq_dsp.h"

#if PQ_DSP
#include "pq_pool_window.h"

#define SUM_TAPS 256 /* taps an int16 lane sums exactly */

/* s[0 .. 4 * words) += the sums of the channels at q over `runs` runs of `len` taps (runs *
 * len <= SUM_TAPS; runs, len >= 1): the taps of a run `depth` bytes apart, `skip` bytes
 * from a run's end to the next run's start. words 2: 8 channels, 1: 4, 0: q[0] alone.
 * Inline assembly where PQ_DSP_ASM (pq_dsp.h), one loop per word count: 9 instructions a
 * tap for 8 channels (gcc 12 -Os keeps the test of `words` inside the C loop). */
PQ_INLINE void sum_taps(const int8_t *q, int32_t runs, int32_t len, int32_t depth, int32_t skip, int words,
                        uint32_t *s)
{
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0; /* lanes (c0, c2), (c1, c3), (c4, c6), (c5, c7) */
#if PQ_DSP_ASM
    if (words != 0) {
        uint32_t x, y;
        int32_t n;
        if (words == 2) {
            __asm__ volatile("1:\n\t"
                             "mov %[n], %[len]\n\t"
                             "2:\n\t"
                             "ldr %[x], [%[q]]\n\t"
                             "ldr %[y], [%[q], #4]\n\t"
                             "add %[q], %[q], %[depth]\n\t"
                             "sxtab16 %[a0], %[a0], %[x]\n\t"
                             "sxtab16 %[a1], %[a1], %[x], ror #8\n\t"
                             "sxtab16 %[a2], %[a2], %[y]\n\t"
                             "sxtab16 %[a3], %[a3], %[y], ror #8\n\t"
                             "subs %[n], %[n], #1\n\t"
                             "bne 2b\n\t"
                             "add %[q], %[q], %[skip]\n\t"
                             "subs %[runs], %[runs], #1\n\t"
                             "bne 1b\n\t"
                             : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [q] "+r"(q),
                               [runs] "+r"(runs), [n] "=&r"(n), [x] "=&r"(x), [y] "=&r"(y)
                             : [len] "r"(len), [depth] "r"(depth), [skip] "r"(skip)
                             : "cc", "memory");
        } else {
            __asm__ volatile("1:\n\t"
                             "mov %[n], %[len]\n\t"
                             "2:\n\t"
                             "ldr %[x], [%[q]]\n\t"
                             "add %[q], %[q], %[depth]\n\t"
                             "sxtab16 %[a0], %[a0], %[x]\n\t"
                             "sxtab16 %[a1], %[a1], %[x], ror #8\n\t"
                             "subs %[n], %[n], #1\n\t"
                             "bne 2b\n\t"
                             "add %[q], %[q], %[skip]\n\t"
                             "subs %[runs], %[runs], #1\n\t"
                             "bne 1b\n\t"
                             : [a0] "+r"(a0), [a1] "+r"(a1), [q] "+r"(q), [runs] "+r"(runs), [n] "=&r"(n),
                               [x] "=&r"(x)
                             : [len] "r"(len), [depth] "r"(depth), [skip] "r"(skip)
                             : "cc", "memory");
        }
    } else
#endif
    {
        for (;;) {
            int32_t o = 0, n = len;
            do {
                if (words == 0) {
                    a0 += q[o];
                } else {
                    const uint32_t x = pq_dsp_ld4(q + o);
                    a0 = __sxtab16(a0, x);
                    a1 = pq_dsp_sxtab16_ror8(a1, x);
                    if (words == 2) {
                        const uint32_t y = pq_dsp_ld4(q + o + 4);
                        a2 = __sxtab16(a2, y);
                        a3 = pq_dsp_sxtab16_ror8(a3, y);
                    }
                }
                o += depth;
            } while (--n != 0);
            if (--runs == 0) {
                break;
            }
            q += o + skip; /* the next run's first tap */
        }
    }
    if (words == 0) {
        s[0] += (uint32_t)a0;
        return;
    }
    /* The int16 lanes, sign-extended (the high lane by the arithmetic shift). */
    s[0] += (uint32_t)(int32_t)(int16_t)a0;
    s[1] += (uint32_t)(int32_t)(int16_t)a1;
    s[2] += (uint32_t)(a0 >> 16);
    s[3] += (uint32_t)(a1 >> 16);
    if (words == 2) {
        s[4] += (uint32_t)(int32_t)(int16_t)a2;
        s[5] += (uint32_t)(int32_t)(int16_t)a3;
        s[6] += (uint32_t)(a2 >> 16);
        s[7] += (uint32_t)(a3 >> 16);
    }
}

/* One output pixel: its window's taps and what turns a sum into an output byte. */
typedef struct {
    pq_pool_runs t;           /* runs of t.len taps, t.stride bytes apart */
    int32_t piece, per_pass;  /* a pass: per_pass runs of piece taps, or a piece of a longer run */
    int32_t depth, count, lo, hi;
} avg_pixel;

/* po[0 .. n) from the channels' sums s[0 .. n): the reference's rounding (half the count
 * added away from zero, C's truncating division by the count), then its clamp; one SSAT
 * when the clamp is the whole int8 range. A call of its own: after the tap loop's
 * assembly, gcc 12 -Os would reload every constant from the stack for each channel. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void avg_finish(const uint32_t *s, int32_t n, const avg_pixel *g, int8_t *po)
{
    const int32_t count = g->count, lo = g->lo, hi = g->hi;
    const uint32_t half = (uint32_t)(count / 2);
    int32_t j;
    if (lo == -128 && hi == 127) {
        for (j = 0; j < n; ++j) {
            const int32_t avg = (int32_t)((int32_t)s[j] > 0 ? s[j] + half : s[j] - half) / count;
            po[j] = (int8_t)__ssat(avg, 8);
        }
    } else {
        for (j = 0; j < n; ++j) {
            const int32_t avg = (int32_t)((int32_t)s[j] > 0 ? s[j] + half : s[j] - half) / count;
            po[j] = (int8_t)pq_clamp(avg, lo, hi);
        }
    }
}

/* Output bytes po[0 .. depth) of pixel g, its window's first tap at pi. A call of its own,
 * out of the kernel's loop nest (registers). */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void avg_channels(const int8_t *pi, const avg_pixel *g, int8_t *po)
{
    const int32_t depth = g->depth, runs = g->t.runs, len = g->t.len, stride = g->t.stride;
    int32_t c, n;
    for (c = 0; c < depth; c += n) {
        /* 8 channels a pass, then 4, then the ones past the last multiple of 4 */
        const int words = depth - c >= 8 ? 2 : (depth - c >= 4 ? 1 : 0);
        uint32_t s[8];
        int32_t r = 0, k = 0;
        s[0] = s[1] = s[2] = s[3] = s[4] = s[5] = s[6] = s[7] = 0;
        /* The taps in passes of at most SUM_TAPS: every realistic window is one pass. */
        for (;;) {
            const int32_t pass_runs = runs - r < g->per_pass ? runs - r : g->per_pass;
            const int32_t pass_len = len - k < g->piece ? len - k : g->piece;
            sum_taps(pi + c + r * stride + k * depth, pass_runs, pass_len, depth, stride - pass_len * depth, words,
                     s);
            k += g->piece;
            if (k >= len) {
                k = 0;
                r += g->per_pass;
                if (r >= runs) {
                    break;
                }
            }
        }
        n = words == 0 ? 1 : 4 * words;
        avg_finish(s, n, g, po + c);
    }
}

pq_status pq_avg_pool2d_s8_dsp(const pq_pool_params *p, const pq_dims *in_dims, const int8_t *in,
                               const pq_dims *out_dims, int8_t *out)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, depth = in_dims->c;
    avg_pixel g;
    int8_t *po = out;
    int32_t b, oy, ox;

    g.depth = depth;
    g.lo = p->act_min;
    g.hi = p->act_max;
    for (b = 0; b < in_dims->n; ++b) {
        const int8_t *in_b = in + b * in_h * in_w * depth;
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
                g.piece = g.t.len < SUM_TAPS ? g.t.len : SUM_TAPS;
                g.per_pass = SUM_TAPS / g.piece;
                avg_channels(in_b + g.t.first, &g, po);
            }
        }
    }
    return PQ_OK;
}

#else
typedef int pq_avg_pool2d_s8_dsp_unused; /* ISO C: a translation unit is not empty */
#endif /* PQ_DSP */
