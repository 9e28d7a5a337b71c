/*
 * Load-time preparation for the aarch64 NEON kernels: weight packing (layouts
 * in pq_fast_isa.h). Plain C, named by the NEON entries of pq_isa_traits.c.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"

#if PQ_HAVE_NEON

/* Both kernels take 16 consecutive k of an input row per load (one q register); the k granule of
 * a weight group, kg, differs: 16 for smull / sadalp (a channel's 16 weights against the row's 16
 * values), 4 for sdot (vdotq_laneq_s32 multiplies 4 channels' 4 weights by one 4-byte group of
 * the row). Padding (channels >= n, k >= the real k) is zero. */
static void pq_pack_groups_of_4(int32_t n, int32_t k, int32_t np, int32_t kp, int32_t kg, const int8_t *w,
                                int8_t *packed)
{
    size_t i = 0;
    int32_t g, kk, j, e;
    for (g = 0; g < np; g += 4) {
        for (kk = 0; kk < kp; kk += kg) {
            for (j = 0; j < 4; ++j) {
                for (e = 0; e < kg; ++e) {
                    packed[i++] = pq_w_or_0(n, k, w, g + j, kk + e);
                }
            }
        }
    }
}

void pq_gemm_s8_pack_neon(int32_t n, int32_t k, int32_t np, int32_t kp, const int8_t *w, int8_t *packed)
{
    pq_pack_groups_of_4(n, k, np, kp, PQ_GEMM_KC_NEON, w, packed);
}

void pq_gemm_s8_pack_neon_dot(int32_t n, int32_t k, int32_t np, int32_t kp, const int8_t *w, int8_t *packed)
{
    pq_pack_groups_of_4(n, k, np, kp, 4, w, packed);
}

#else
/* ISO C forbids an empty translation unit. */
typedef int pq_pack_neon_unused;
#endif
