/*
 * Load-time preparation for the aarch64 NEON kernels: weight packing and the
 * depthwise scratch size (layouts in pq_fast_isa.h). Portable C, compiled on
 * every architecture so the dispatchers in pq_gemm_s8.c and
 * pq_depthwise_conv2d_s8_fast.c need no #if; only aarch64 ever runs the
 * kernels that read these layouts.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"

static int8_t pq_w_or_0(int32_t n, int32_t k, const int8_t *w, int32_t c, int32_t kk)
{
    return (c < n && kk < k) ? w[(size_t)c * (size_t)k + (size_t)kk] : 0;
}

void pq_gemm_s8_pack_neon(int isa, int32_t n, int32_t k, const int8_t *w, int8_t *packed)
{
    /* Both kernels take 16 consecutive k of an input row per load (one q
     * register); the k granule of a weight group differs: 16 for smull /
     * sadalp (a channel's 16 weights against the row's 16 values), 4 for sdot
     * (vdotq_laneq_s32 multiplies 4 channels' 4 weights by one 4-byte group
     * of the row). Padding (channels >= n, k >= the real k) is zero. */
    const int32_t np = pq_gemm_s8_np(isa, n);
    const int32_t kp = pq_gemm_s8_kp(isa, k);
    const int32_t kg = isa == PQ_ISA_NEON_DOT ? 4 : PQ_GEMM_KC_NEON;
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

void pq_dwconv_s8_pack_neon(int32_t taps, int32_t c, const int8_t *filter, int8_t *packed)
{
    /* Sign-extended to int16 once here: the kernel multiplies int16 inputs by
     * int16 weights into int32 (smlal), exact for any int8 pair. */
    const int32_t cp = pq_dwconv_s8_cp(PQ_ISA_NEON, c);
    int16_t *p16 = (int16_t *)(void *)packed;
    size_t i = 0;
    int32_t blk, t, ch;
    for (blk = 0; blk < cp; blk += 16) {
        const int32_t bw = cp - blk < 16 ? cp - blk : 16;
        for (t = 0; t < taps; ++t) {
            for (ch = blk; ch < blk + bw; ++ch) {
                p16[i++] = ch < c ? filter[(size_t)t * (size_t)c + (size_t)ch] : 0;
            }
        }
    }
}

size_t pq_dwconv_s8_neon_scratch_size(const pq_dwconv_fast_plan *plan)
{
    /* A block's loads run up to cp - c int16 past a pixel's channels (against
     * zero weights): 14 bytes at most, inside the 64 of slack. */
    int32_t hp, wp;
    pq_padded_hw(&plan->p, &plan->in_dims, &plan->filter_dims, &plan->out_dims, &hp, &wp);
    return ((size_t)hp * (size_t)wp * (size_t)plan->in_dims.c * 2u + 64u + 63u) / 64u * 64u;
}
