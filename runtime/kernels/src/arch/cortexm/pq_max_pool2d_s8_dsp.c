/*
 * MAX_POOL_2D for Cortex-M cores with the DSP extension: the bytes of pq_max_pool2d_s8
 * (ref/pq_max_pool2d_s8.c), no scratch.
 *
 * Channels go four to a word: SSUB8 of a tap's word and the running max sets a GE flag
 * in each byte lane where the tap is at least the max, and SEL takes those lanes, so the
 * running max of 4 channels is two instructions a tap; a pass keeps two words (8
 * channels). The max starts at -128 (TFLM's lowest()) and is then clamped exactly as
 * the reference clamps it, lane by lane: v < act_min ? act_min : (v > act_max ? act_max
 * : v); skipped when the clamp is the whole int8 range (tested once per call). Only the
 * taps inside the image are visited, as runs of taps (pq_pool_runs_of: a window as wide
 * as the image is one run). Channels past the last multiple of 4 go one at a time.
 * act_min and act_max must be int8 values (validated).
 */
#include <stdint.h>
#include <string.h>

#include "pq_dsp.h"

#if PQ_DSP
#include "pq_pool_window.h"

/* Every byte lane of v clamped as pq_clamp does it (lo4, hi4: act_min, act_max in each
 * lane): min(v, hi) where v >= lo, else lo. The reference's order, even for lo > hi. */
PQ_INLINE uint32_t clamp4(uint32_t v, uint32_t lo4, uint32_t hi4)
{
    uint32_t t;
    (void)__ssub8(v, hi4); /* GE: v >= hi */
    t = __sel(hi4, v);
    (void)__ssub8(v, lo4); /* GE: v >= lo */
    return __sel(t, lo4);
}

/* The max over the window's taps (t->runs >= 1 runs of t->len >= 1) of the channels at q:
 * 8 of them in m[0], m[1] (words 2), 4 in m[0] (words 1), or q[0] alone as a value (words
 * 0). A call of its own: inlined in the kernel's loop nest, gcc 12 -Os spills the running
 * max around SSUB8 (15 instructions a tap). Inline assembly where PQ_DSP_ASM, one loop per
 * word count, 9 instructions a tap for 8 channels (gcc keeps the test of `words` inside
 * the C loop: 12). */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void max_window(const int8_t *q, const pq_pool_runs *t, int32_t depth, int words, uint32_t *m)
{
    int32_t runs = t->runs;
    const int32_t len = t->len;
    const int32_t skip = t->stride - len * depth; /* from a run's end to the next run's start */
    uint32_t m0 = 0x80808080u, m1 = 0x80808080u; /* TFLM starts from lowest(): -128 */
    int32_t v = -128;
#if PQ_DSP_ASM
    if (words != 0) {
        uint32_t x, y, d;
        int32_t n;
        if (words == 2) {
            __asm__ volatile("1:\n\t"
                             "mov %[n], %[len]\n\t"
                             "2:\n\t"
                             "ldr %[x], [%[q]]\n\t"
                             "ldr %[y], [%[q], #4]\n\t"
                             "add %[q], %[q], %[depth]\n\t"
                             "ssub8 %[d], %[x], %[m0]\n\t"
                             "sel %[m0], %[x], %[m0]\n\t"
                             "ssub8 %[d], %[y], %[m1]\n\t"
                             "sel %[m1], %[y], %[m1]\n\t"
                             "subs %[n], %[n], #1\n\t"
                             "bne 2b\n\t"
                             "add %[q], %[q], %[skip]\n\t"
                             "subs %[runs], %[runs], #1\n\t"
                             "bne 1b\n\t"
                             : [m0] "+r"(m0), [m1] "+r"(m1), [q] "+r"(q), [runs] "+r"(runs), [n] "=&r"(n),
                               [x] "=&r"(x), [y] "=&r"(y), [d] "=&r"(d)
                             : [len] "r"(len), [depth] "r"(depth), [skip] "r"(skip)
                             : "cc", "memory");
        } else {
            __asm__ volatile("1:\n\t"
                             "mov %[n], %[len]\n\t"
                             "2:\n\t"
                             "ldr %[x], [%[q]]\n\t"
                             "add %[q], %[q], %[depth]\n\t"
                             "ssub8 %[d], %[x], %[m0]\n\t"
                             "sel %[m0], %[x], %[m0]\n\t"
                             "subs %[n], %[n], #1\n\t"
                             "bne 2b\n\t"
                             "add %[q], %[q], %[skip]\n\t"
                             "subs %[runs], %[runs], #1\n\t"
                             "bne 1b\n\t"
                             : [m0] "+r"(m0), [q] "+r"(q), [runs] "+r"(runs), [n] "=&r"(n), [x] "=&r"(x),
                               [d] "=&r"(d)
                             : [len] "r"(len), [depth] "r"(depth), [skip] "r"(skip)
                             : "cc", "memory");
        }
        m[0] = m0;
        m[1] = m1;
        return;
    }
#endif
    for (;;) {
        int32_t o = 0, n = len;
        do {
            if (words == 0) {
                v = q[o] > v ? q[o] : v;
            } else {
                const uint32_t x = pq_dsp_ld4(q + o);
                (void)__ssub8(x, m0); /* GE: x >= m0, per lane */
                m0 = __sel(x, m0);
                if (words == 2) {
                    const uint32_t y = pq_dsp_ld4(q + o + 4);
                    (void)__ssub8(y, m1);
                    m1 = __sel(y, m1);
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
}

pq_status pq_max_pool2d_s8_dsp(const pq_pool_params *p, const pq_dims *in_dims, const int8_t *in,
                               const pq_dims *out_dims, int8_t *out)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, depth = in_dims->c;
    const int32_t out_h = out_dims->h, out_w = out_dims->w;
    const int32_t lo = p->act_min, hi = p->act_max;
    const uint32_t lo4 = 0x01010101u * (uint8_t)lo, hi4 = 0x01010101u * (uint8_t)hi;
    const int full = lo == -128 && hi == 127;
    int8_t *po = out;
    int32_t b, oy, ox, c, n;

    for (b = 0; b < in_dims->n; ++b) {
        const int8_t *in_b = in + b * in_h * in_w * depth;
        for (oy = 0; oy < out_h; ++oy) {
            for (ox = 0; ox < out_w; ++ox, po += depth) {
                const pq_pool_window w = pq_pool_window_at(p, in_h, in_w, oy, ox);
                const pq_pool_runs t = pq_pool_runs_of(&w, in_w, depth);
                const int8_t *pi = in_b + t.first;
                if (t.runs <= 0 || t.len <= 0) {
                    /* No tap inside (refused at load): the reference's -128, clamped. */
                    for (c = 0; c < depth; ++c) {
                        po[c] = (int8_t)pq_clamp(-128, lo, hi);
                    }
                    continue;
                }
                for (c = 0; c < depth; c += n) {
                    /* 8 channels a pass, then 4, then the ones past the last multiple of 4 */
                    const int words = depth - c >= 8 ? 2 : (depth - c >= 4 ? 1 : 0);
                    uint32_t m[2];
                    max_window(pi + c, &t, depth, words, m);
                    if (words == 0) {
                        po[c] = (int8_t)pq_clamp((int32_t)m[0], lo, hi);
                        n = 1;
                        continue;
                    }
                    if (!full) {
                        m[0] = clamp4(m[0], lo4, hi4);
                        m[1] = clamp4(m[1], lo4, hi4);
                    }
                    memcpy(po + c, &m[0], 4);
                    if (words == 2) {
                        memcpy(po + c + 4, &m[1], 4);
                    }
                    n = 4 * words;
                }
            }
        }
    }
    return PQ_OK;
}

#else
typedef int pq_max_pool2d_s8_dsp_unused; /* ISO C: a translation unit is not empty */
#endif /* PQ_DSP */
