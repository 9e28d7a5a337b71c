/*
 * Lane checks of the NEON requantization (pq_requant_neon.h) against the
 * scalar reference (pq_fixedpoint.h), on aarch64:
 *   - vqrdmulhq_s32 == pq_srdhm for every sign combination, on exact ties
 *     (a * b = odd * 2^30, where "half toward +inf" and "half away from zero"
 *     would differ for negative products), on the extremes INT32_MIN,
 *     INT32_MAX, 0, +-1 (INT32_MIN * INT32_MIN saturating to INT32_MAX) and on
 *     random pairs, negative multipliers included;
 *   - pq_mbqm4 == pq_mbqm for multipliers >= 0 (what the loader admits) and
 *     shifts -31..30, on RDPOT ties of both signs (v = odd * 2^(r-1)), the
 *     extremes and random values.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fvr.h"
#include "pq_fast_isa.h"
#include "pq_fixedpoint.h"

#if PQ_HAVE_NEON
#include <arm_neon.h>

#include "pq_requant_neon.h"

static const int32_t k_extremes[] = {INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX - 1, INT32_MAX,
                                     1 << 30, -(1 << 30), (1 << 30) + 1, -(1 << 30) - 1};
#define N_EXT ((int32_t)(sizeof k_extremes / sizeof k_extremes[0]))

/* A random int32, often an extreme, a power of two times an odd number, or small. */
static int32_t fvr_i32(fvr_rng *r)
{
    const int32_t mode = fvr_range(r, 0, 5);
    if (mode == 0) {
        return fvr_pick(r, k_extremes, N_EXT);
    }
    if (mode == 1) {
        return fvr_range(r, -300, 300);
    }
    return (int32_t)(uint32_t)fvr_next(r);
}

/* a, b with a * b = odd * 2^30: an exact SRDHM tie, both signs. */
static void fvr_srdhm_tie(fvr_rng *r, int32_t *a, int32_t *b)
{
    const int32_t e = fvr_range(r, 0, 30);
    /* odd values small enough that odd * 2^e and odd * 2^(30-e) fit in int32 */
    const int32_t ma = e >= 30 ? 1 : (int32_t)(((uint32_t)fvr_next(r) % (1u << (30 - e))) | 1u);
    const int32_t mb = e <= 0 ? 1 : (int32_t)(((uint32_t)fvr_next(r) % (1u << e)) | 1u);
    *a = (int32_t)((uint32_t)ma << e) * ((fvr_next(r) & 1) ? -1 : 1);
    *b = (int32_t)((uint32_t)mb << (30 - e)) * ((fvr_next(r) & 1) ? -1 : 1);
}

static void fvr_fail(const char *what, int32_t x, int32_t m, int32_t s, int32_t want, int32_t got)
{
    fprintf(stderr, "MISMATCH %s: x=%ld mult=%ld shift=%ld: reference %ld, neon %ld\n", what, (long)x, (long)m,
            (long)s, (long)want, (long)got);
    exit(1);
}

long fvr_check_requant_neon(fvr_rng *r, long n)
{
    long done = 0;
    int32_t i, j;
    /* Every pair of extremes, once. */
    for (i = 0; i < N_EXT; ++i) {
        for (j = 0; j < N_EXT; ++j) {
            const int32_t got = vgetq_lane_s32(vqrdmulhq_s32(vdupq_n_s32(k_extremes[i]), vdupq_n_s32(k_extremes[j])), 0);
            if (got != pq_srdhm(k_extremes[i], k_extremes[j])) {
                fvr_fail("srdhm", k_extremes[i], k_extremes[j], 0, pq_srdhm(k_extremes[i], k_extremes[j]), got);
            }
            ++done;
        }
    }
    while (done < n) {
        int32_t x[4], m[4], s[4], got[4];
        int32x4_t v;
        int lane;
        pq_rq4 q;
        /* SRDHM: ties and random pairs, any signs. */
        for (lane = 0; lane < 4; ++lane) {
            if (lane & 1) {
                fvr_srdhm_tie(r, &x[lane], &m[lane]);
            } else {
                x[lane] = fvr_i32(r);
                m[lane] = fvr_i32(r);
            }
        }
        vst1q_s32(got, vqrdmulhq_s32(vld1q_s32(x), vld1q_s32(m)));
        for (lane = 0; lane < 4; ++lane) {
            if (got[lane] != pq_srdhm(x[lane], m[lane])) {
                fvr_fail("srdhm", x[lane], m[lane], 0, pq_srdhm(x[lane], m[lane]), got[lane]);
            }
        }
        /* MBQM: per-lane constants, multipliers >= 0, shifts -31..30. */
        for (lane = 0; lane < 4; ++lane) {
            const int32_t mode = fvr_range(r, 0, 3);
            s[lane] = fvr_range(r, 0, 3) ? fvr_range(r, -31, 0) : fvr_range(r, -31, 30);
            m[lane] = mode == 0 ? (1 << 30) : (mode == 1 ? fvr_range(r, 0, INT32_MAX) : fvr_range(r, 1 << 30, INT32_MAX));
            if (fvr_range(r, 0, 7) == 0) {
                m[lane] = fvr_pick(r, k_extremes + 3, 4) & INT32_MAX; /* 0, 1, INT32_MAX - 1, INT32_MAX */
            }
            x[lane] = fvr_i32(r);
        }
        {
            int32_t ls[4], nrs[4];
            for (lane = 0; lane < 4; ++lane) {
                ls[lane] = s[lane] > 0 ? s[lane] : 0;
                nrs[lane] = s[lane] > 0 ? 0 : s[lane];
            }
            q.bias = vdupq_n_s32(0);
            q.mult = vld1q_s32(m);
            q.lshift = vld1q_s32(ls);
            q.nrshift = vld1q_s32(nrs);
        }
        v = pq_mbqm4(&q, 1, vld1q_s32(x));
        vst1q_s32(got, v);
        for (lane = 0; lane < 4; ++lane) {
            if (got[lane] != pq_mbqm(x[lane], m[lane], s[lane])) {
                fvr_fail("mbqm", x[lane], m[lane], s[lane], pq_mbqm(x[lane], m[lane], s[lane]), got[lane]);
            }
        }
        /* RDPOT ties: with M = 2^30, SRDHM(x, M) = floor((x + 1) / 2), so
         * x = +-odd * 2^r gives +-odd * 2^(r-1), an exact tie of RDPOT by r. */
        for (lane = 0; lane < 4; ++lane) {
            const int32_t rr = fvr_range(r, 1, 29);
            const int32_t odd = (int32_t)((uint32_t)fvr_next(r) % (1u << (29 - rr))) | 1;
            s[lane] = -rr;
            m[lane] = 1 << 30;
            x[lane] = (int32_t)((uint32_t)odd << rr) * ((fvr_next(r) & 1) ? -1 : 1);
        }
        {
            int32_t nrs[4];
            for (lane = 0; lane < 4; ++lane) {
                nrs[lane] = s[lane];
            }
            q.mult = vdupq_n_s32(1 << 30);
            q.lshift = vdupq_n_s32(0);
            q.nrshift = vld1q_s32(nrs);
        }
        vst1q_s32(got, pq_mbqm4(&q, 0, vld1q_s32(x)));
        for (lane = 0; lane < 4; ++lane) {
            if (got[lane] != pq_mbqm(x[lane], m[lane], s[lane])) {
                fvr_fail("rdpot tie", x[lane], m[lane], s[lane], pq_mbqm(x[lane], m[lane], s[lane]), got[lane]);
            }
        }
        done += 12;
    }
    return done;
}

#else
long fvr_check_requant_neon(fvr_rng *r, long n)
{
    (void)r;
    (void)n;
    return 0;
}
#endif
