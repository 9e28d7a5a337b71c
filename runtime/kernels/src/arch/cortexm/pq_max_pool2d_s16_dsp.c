/*
 * MAX_POOL_2D, 16x8, for Cortex-M cores with the DSP extension: the values of
 * pq_max_pool2d_s16 (ref/pq_max_pool2d_s16.c), byte for byte, no scratch.
 *
 * Channels go two to a word: SSUB16 of a tap's word and the running max sets the GE flags
 * of each halfword lane where the tap is at least the max, and SEL takes those lanes, so
 * the running max of 2 channels is two instructions a tap; a pass keeps four words (8
 * channels), then one word (2 channels) at a time, then a last odd channel alone. The max
 * starts at -32768 (TFLM's lowest()) and is then clamped exactly as the reference clamps
 * it, lane by lane: v < act_min ? act_min : (v > act_max ? act_max : v); skipped when the
 * clamp is the whole int16 range (tested once per call). Only the taps inside the image
 * are visited, as runs of taps (pq_pool_runs_of, which counts in elements: a window as
 * wide as the image is one run). act_min and act_max must be int16 values (validated).
 * Words are read with LDR from 2-aligned addresses (unaligned LDR, see pq_kernels_dsp.h).
 */
#include <stdint.h>
#include <string.h>

#include "pq_dsp.h"
#include "pq_dsp16.h"

#if PQ_DSP
#include "pq_pool_window.h"

#define LOWEST2 0x80008000u /* -32768 in both lanes */

/* Both halfword lanes of v clamped as pq_clamp does it (lo2, hi2: act_min, act_max in
 * each lane): min(v, hi) where v >= lo, else lo. The reference's order, even for lo > hi. */
PQ_INLINE uint32_t clamp2(uint32_t v, uint32_t lo2, uint32_t hi2)
{
    uint32_t t;
    (void)__ssub16(v, hi2); /* GE: v >= hi, per lane */
    t = __sel(hi2, v);
    (void)__ssub16(v, lo2); /* GE: v >= lo */
    return __sel(t, lo2);
}

/* The max over the window's taps (t->runs >= 1 runs of t->len >= 1 taps; t->stride and
 * depth in int16 elements) of the channels at q: 8 of them in m[0 .. 4) (words 4), 2 in
 * m[0] (words 1), or q[0] alone as a value in m[0] (words 0). A call of its own, out of
 * the kernel's loop nest (registers). Inline assembly where PQ_DSP_ASM: 15 instructions a
 * tap for 8 channels, 12 registers. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void max_window(const int16_t *q, const pq_pool_runs *t, int32_t depth, int words, uint32_t *m)
{
    int32_t runs = t->runs;
    const int32_t len = t->len;
    const int32_t skip = t->stride - len * depth; /* elements from a run's end to the next's start */
    uint32_t m0 = LOWEST2, m1 = LOWEST2, m2 = LOWEST2, m3 = LOWEST2;
    int32_t v = -32768;
#if PQ_DSP_ASM
    if (words != 0) {
        const int32_t step = 2 * depth, skip2 = 2 * skip; /* in bytes */
        uint32_t x, d;
        int32_t n;
        if (words == 4) {
            __asm__ volatile("1:\n\t"
                             "mov %[n], %[len]\n\t"
                             "2:\n\t"
                             "ldr %[x], [%[q]]\n\t"
                             "ssub16 %[d], %[x], %[m0]\n\t"
                             "sel %[m0], %[x], %[m0]\n\t"
                             "ldr %[x], [%[q], #4]\n\t"
                             "ssub16 %[d], %[x], %[m1]\n\t"
                             "sel %[m1], %[x], %[m1]\n\t"
                             "ldr %[x], [%[q], #8]\n\t"
                             "ssub16 %[d], %[x], %[m2]\n\t"
                             "sel %[m2], %[x], %[m2]\n\t"
                             "ldr %[x], [%[q], #12]\n\t"
                             "ssub16 %[d], %[x], %[m3]\n\t"
                             "sel %[m3], %[x], %[m3]\n\t"
                             "add %[q], %[q], %[step]\n\t"
                             "subs %[n], %[n], #1\n\t"
                             "bne 2b\n\t"
                             "add %[q], %[q], %[skip]\n\t"
                             "subs %[runs], %[runs], #1\n\t"
                             "bne 1b\n\t"
                             : [m0] "+r"(m0), [m1] "+r"(m1), [m2] "+r"(m2), [m3] "+r"(m3), [q] "+r"(q),
                               [runs] "+r"(runs), [n] "=&r"(n), [x] "=&r"(x), [d] "=&r"(d)
                             : [len] "r"(len), [step] "r"(step), [skip] "r"(skip2)
                             : "cc", "memory");
        } else {
            __asm__ volatile("1:\n\t"
                             "mov %[n], %[len]\n\t"
                             "2:\n\t"
                             "ldr %[x], [%[q]]\n\t"
                             "add %[q], %[q], %[step]\n\t"
                             "ssub16 %[d], %[x], %[m0]\n\t"
                             "sel %[m0], %[x], %[m0]\n\t"
                             "subs %[n], %[n], #1\n\t"
                             "bne 2b\n\t"
                             "add %[q], %[q], %[skip]\n\t"
                             "subs %[runs], %[runs], #1\n\t"
                             "bne 1b\n\t"
                             : [m0] "+r"(m0), [q] "+r"(q), [runs] "+r"(runs), [n] "=&r"(n), [x] "=&r"(x),
                               [d] "=&r"(d)
                             : [len] "r"(len), [step] "r"(step), [skip] "r"(skip2)
                             : "cc", "memory");
        }
        m[0] = m0;
        m[1] = m1;
        m[2] = m2;
        m[3] = m3;
        return;
    }
#endif
    for (;;) {
        int32_t o = 0, n = len;
        do {
            if (words == 0) {
                v = q[o] > v ? q[o] : v;
            } else {
                uint32_t x = pq_dsp16_ld2(q + o);
                (void)__ssub16(x, m0); /* GE: x >= m0, per lane */
                m0 = __sel(x, m0);
                if (words == 4) {
                    x = pq_dsp16_ld2(q + o + 2);
                    (void)__ssub16(x, m1);
                    m1 = __sel(x, m1);
                    x = pq_dsp16_ld2(q + o + 4);
                    (void)__ssub16(x, m2);
                    m2 = __sel(x, m2);
                    x = pq_dsp16_ld2(q + o + 6);
                    (void)__ssub16(x, m3);
                    m3 = __sel(x, m3);
                }
            }
            o += depth;
        } while (--n != 0);
        if (--runs == 0) {
            break;
        }
        q += o + skip; /* the next run's first tap */
    }
    m[0] = words == 0 ? (uint32_t)v : m0;
    m[1] = m1;
    m[2] = m2;
    m[3] = m3;
}

pq_status pq_max_pool2d_s16_dsp(const pq_pool_params *p, const pq_dims *in_dims, const int16_t *in,
                                const pq_dims *out_dims, int16_t *out)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, depth = in_dims->c;
    const int32_t out_h = out_dims->h, out_w = out_dims->w;
    const int32_t lo = p->act_min, hi = p->act_max;
    const uint32_t lo2 = 0x00010001u * (uint16_t)lo, hi2 = 0x00010001u * (uint16_t)hi;
    const int full = lo == -32768 && hi == 32767;
    int16_t *po = out;
    int32_t b, oy, ox, c, n;

    for (b = 0; b < in_dims->n; ++b) {
        const int16_t *in_b = in + b * in_h * in_w * depth;
        for (oy = 0; oy < out_h; ++oy) {
            for (ox = 0; ox < out_w; ++ox, po += depth) {
                const pq_pool_window w = pq_pool_window_at(p, in_h, in_w, oy, ox);
                const pq_pool_runs t = pq_pool_runs_of(&w, in_w, depth);
                const int16_t *pi = in_b + t.first;
                if (t.runs <= 0 || t.len <= 0) {
                    /* No tap inside (refused at load): the reference's -32768, clamped. */
                    for (c = 0; c < depth; ++c) {
                        po[c] = (int16_t)pq_clamp(-32768, lo, hi);
                    }
                    continue;
                }
                for (c = 0; c < depth; c += n) {
                    /* 8 channels a pass, then 2, then the last odd one */
                    const int words = depth - c >= 8 ? 4 : (depth - c >= 2 ? 1 : 0);
                    uint32_t m[4];
                    int k;
                    max_window(pi + c, &t, depth, words, m);
                    if (words == 0) {
                        po[c] = (int16_t)pq_clamp((int32_t)m[0], lo, hi);
                        n = 1;
                        continue;
                    }
                    for (k = 0; k < words; ++k) {
                        m[k] = full ? m[k] : clamp2(m[k], lo2, hi2);
                    }
                    memcpy(po + c, m, (size_t)(4 * words));
                    n = 2 * words;
                }
            }
        }
    }
    return PQ_OK;
}

#else
typedef int pq_max_pool2d_s16_dsp_unused; /* ISO C: a translation unit is not empty */
#endif /* PQ_DSP */
