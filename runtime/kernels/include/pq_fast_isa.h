/*
 * Internal to the fast kernels: the ISA-specific entry points, which the
 * traits table (pq_isa_traits.c) names and the portable drivers call through
 * it. Each is defined in its own file, compiled with a target attribute on
 * x86-64 (AVX2, AVX-512) or aarch64 (NEON is baseline, dot product by
 * attribute) and absent elsewhere (its traits entry has NULL there and
 * pq_isa_supported says 0).
 */
#ifndef PQ_FAST_ISA_H
#define PQ_FAST_ISA_H

#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define PQ_HAVE_X86_SIMD 1
#else
#define PQ_HAVE_X86_SIMD 0
#endif

#if defined(__GNUC__) && defined(__aarch64__) && defined(__ARM_NEON)
#define PQ_HAVE_NEON 1
#else
#define PQ_HAVE_NEON 0
#endif
/* The sdot kernel needs the dot-product intrinsics in a function compiled
 * for armv8.2-a+dotprod while the rest of the build targets armv8-a: GCC's
 * arm_neon.h allows that from GCC 8; clang only when the whole build has the
 * feature (-march=...+dotprod), older clang's arm_neon.h hides them otherwise. */
#if PQ_HAVE_NEON && (defined(__ARM_FEATURE_DOTPROD) || (!defined(__clang__) && __GNUC__ >= 8))
#define PQ_HAVE_NEON_DOT 1
#else
#define PQ_HAVE_NEON_DOT 0
#endif

/* GEMM row blocks: rows per block and scratch bytes per row of k values. */
#define PQ_GEMM_MR_AVX2 4
#define PQ_GEMM_MR_AVX512 8
#define PQ_GEMM_MR_AMX 32
/* The most rows of any ISA's in-place block (pq_isa_traits mr). */
#define PQ_GEMM_MR_MAX 128
/* NEON: rows per block, and the k granule both NEON kernels pack to (one q register of int8). */
#define PQ_GEMM_MR_NEON 4
/* NEON: rows per call of the block kernels (pq_isa_traits mr), MR_NEON at a time inside: 64
 * halves the per-call cost (constants, registers saved, the block-shape dispatch) of 32
 * (MLPerf Tiny IC on Cortex-A76: 15,000 of 1.25 M instructions). */
#define PQ_GEMM_ROWS_NEON 128
#define PQ_GEMM_KC_NEON 16
/* AMX scratch after its MR x kp panel: a 16 x 16 int32 accumulator buffer and the tile configuration. */
#define PQ_AMX_TAIL_BYTES (1024u + 64u)

/* Group g's GEMM of a CONV_2D plan: its packed weights and per-channel
 * constants lie at fixed strides after group 0's (pq_conv2d_s8_fast.c). */
pq_gemm_s8_plan pq_conv2d_group_plan(const pq_conv2d_fast_plan *plan, int32_t g);
/* Rows and columns of the zero-point-padded image in which every tap of every
 * output pixel lies (CONV_2D and DEPTHWISE_CONV_2D). */
void pq_padded_hw(const pq_conv_params *p, const pq_dims *in, const pq_dims *filter, const pq_dims *out,
                  int32_t *hp, int32_t *wp);
/* 1 when that padded image is at most 4 times the input's with an undilated filter's
 * padding around it (never smaller: without dilation it always is). Windows dilated far
 * past the image would make the copy, the op's scratch, grow without bound (a 5 KB file
 * asked for 2 GB); their taps mostly read padding, and the reference kernel, which clips
 * each tap, runs them instead. */
int pq_padded_copy_ok(const pq_conv_params *p, const pq_dims *in, const pq_dims *filter, const pq_dims *out);

/* Weight w[c][kk] of n rows of k, 0 outside (the packings' zero padding). */
static inline int8_t pq_w_or_0(int32_t n, int32_t k, const int8_t *w, int32_t c, int32_t kk)
{
    return (c < n && kk < k) ? w[(size_t)c * (size_t)k + (size_t)kk] : 0;
}

/* The x86 GEMM packings (load time, plain C): w as [np/block][kp/group][block][group], each
 * block of channels' weights of each group of k side by side; elem 1: int8, 2: int16. */
static inline void pq_pack_blocks(int32_t n, int32_t k, int32_t np, int32_t kp, int32_t block, int32_t group,
                                  int32_t elem, const int8_t *w, int8_t *packed)
{
    size_t i = 0;
    int32_t b, kk, j, e;
    for (b = 0; b < np; b += block) {
        for (kk = 0; kk < kp; kk += group) {
            for (j = 0; j < block; ++j) {
                for (e = 0; e < group; ++e, ++i) {
                    const int8_t v = pq_w_or_0(n, k, w, b + j, kk + e);
                    if (elem == 2) {
                        ((int16_t *)(void *)packed)[i] = v;
                    } else {
                        packed[i] = v;
                    }
                }
            }
        }
    }
}

/* The kernels of each ISA, as its pq_isa_traits entry (pq_isa_traits.c) names them; the
 * function types and their contracts are pq_isa_traits.h's (pq_gemm_fn, pq_gemm_block_fn,
 * pq_gemm_pack_fn, pq_im2col_fn, pq_dw_fn, pq_dw_pack_fn, pq_add_fn, pq_pad_copy_fn / _fill_fn). */

/* ---- portable C (src/fast) ------------------------------------------------- */

void pq_gemm_s8_pack_portable(int32_t n, int32_t k, int32_t np, int32_t kp, const int8_t *w, int8_t *packed);
void pq_gemm_s8_portable(const pq_gemm_s8_plan *plan, int32_t m, const int8_t *a, int32_t lda, int8_t *out,
                         int32_t ldo, void *scratch);
void pq_im2col_s8_portable(const pq_conv2d_fast_plan *plan, const int8_t *in, int32_t m0, int32_t rows,
                           int32_t c_base, int8_t pad, int8_t *dst);
void pq_dwconv_s8_pack_portable(int32_t taps, int32_t c, int32_t cp, const int8_t *filter, int8_t *packed);

/* ---- x86-64: AVX2, AVX-512 VNNI, AMX (src/arch/x86) ------------------------- */

#if PQ_HAVE_X86_SIMD
/* GEMM packing (load time, no target attribute): AVX2 [np/8][kp/2][8][2] int16; AVX-512 VNNI and
 * AMX [np/16][kp/4][16][4] int8. */
void pq_gemm_s8_pack_avx2(int32_t n, int32_t k, int32_t np, int32_t kp, const int8_t *w, int8_t *packed);
void pq_gemm_s8_pack_vnni(int32_t n, int32_t k, int32_t np, int32_t kp, const int8_t *w, int8_t *packed);
/* AVX2 reads int16 (origin and tap offsets in bytes; kt even); AVX-512 VNNI and AMX read bytes
 * flipped to x ^ 0x80 (kt % 4 == 0). AMX: plain GEMM scratch PQ_GEMM_MR_AMX * kp +
 * PQ_AMX_TAIL_BYTES, the same as the blocks' work. */
void pq_gemm_s8_avx2(const pq_gemm_s8_plan *plan, int32_t m, const int8_t *a, int32_t lda, int8_t *out,
                     int32_t ldo, void *scratch);
void pq_gemm_s8_avx2_block(const pq_gemm_s8_plan *plan, int32_t rows, const int8_t *const *origin,
                           const ptrdiff_t *tap_off, int32_t taps, int32_t kt, int8_t *out, int32_t ldo, void *work);
void pq_gemm_s8_avx512vnni(const pq_gemm_s8_plan *plan, int32_t m, const int8_t *a, int32_t lda, int8_t *out,
                           int32_t ldo, void *scratch);
void pq_gemm_s8_avx512vnni_block(const pq_gemm_s8_plan *plan, int32_t rows, const int8_t *const *origin,
                                 const ptrdiff_t *tap_off, int32_t taps, int32_t kt, int8_t *out, int32_t ldo,
                                 void *work);
/* rows x k int8 -> rows x kp bytes flipped (x ^ 0x80), k..kp filled with 0x80. */
void pq_panel_flip_avx512(int32_t rows, int32_t k, int32_t kp, const int8_t *a, int32_t lda, int8_t *panel);
void pq_gemm_s8_amx(const pq_gemm_s8_plan *plan, int32_t m, const int8_t *a, int32_t lda, int8_t *out, int32_t ldo,
                    void *scratch);
void pq_gemm_s8_amx_block(const pq_gemm_s8_plan *plan, int32_t rows, const int8_t *const *origin,
                          const ptrdiff_t *tap_off, int32_t taps, int32_t kt, int8_t *out, int32_t ldo, void *work);
/* Load the tile configuration before pq_gemm_s8_amx_block calls (kept in `work`), release after. */
void pq_amx_begin(const pq_gemm_s8_plan *plan, void *work);
void pq_amx_end(void);
/* Padded-image rows: AVX2 sign-extends to int16; AVX-512 flips every byte (the zero point too). */
void pq_pad_copy_widen_avx2(void *dst, const int8_t *src, size_t n);
void pq_pad_copy_flip_avx512(void *dst, const int8_t *src, size_t n);
void pq_pad_fill_flip_avx512(void *dst, int8_t zp, size_t n);
/* Depthwise (layouts in pq_depthwise_conv2d_s8_x86.c): AVX2 reads the int16 image, AVX-512 the
 * flipped one; lanes: the position within its block of the lane that holds channel i. */
void pq_dwconv_s8_avx2(const pq_dwconv_fast_plan *plan, const void *padded, int32_t wp, int8_t *out);
void pq_dwconv_s8_avx512(const pq_dwconv_fast_plan *plan, const void *padded, int32_t wp, int8_t *out);
void pq_dwconv_s8_pack_avx2(int32_t taps, int32_t c, int32_t cp, const int8_t *filter, int8_t *packed);
void pq_dwconv_s8_pack_avx512(int32_t taps, int32_t c, int32_t cp, const int8_t *filter, int8_t *packed);
int32_t pq_dw_lane_avx2(int32_t i);
int32_t pq_dw_lane_avx512(int32_t i);
/* im2col rows (pq_im2col.h) with AVX2 / AVX-512 copies. */
void pq_im2col_s8_avx2(const pq_conv2d_fast_plan *plan, const int8_t *in, int32_t m0, int32_t rows, int32_t c_base,
                       int8_t pad, int8_t *dst);
void pq_im2col_s8_avx512(const pq_conv2d_fast_plan *plan, const int8_t *in, int32_t m0, int32_t rows,
                         int32_t c_base, int8_t pad, int8_t *dst);
/* FULLY_CONNECTED at a few batches, no weight -128 (pq_fully_connected_s8_avx2.c): weights packed
 * [np/8][kp/4][8][4] int8 (np, kp: n, k rounded up to 8, 4); m rows of a (row stride lda), output
 * channels [c0, c1) (c0 a multiple of 8) to out (row stride ldo). Needs no scratch. */
void pq_fc_s8_pack_i8_avx2(int32_t n, int32_t k, int32_t np, int32_t kp, const int8_t *w, int8_t *packed);
void pq_fc_s8_i8_avx2(const pq_gemm_s8_plan *plan, int32_t m, const int8_t *a, int32_t lda, int8_t *out,
                      int32_t ldo, int32_t c0, int32_t c1);
void pq_add_s8_avx2(const pq_add_params *p, int32_t n, const int8_t *in1, const int8_t *in2, int8_t *out);
void pq_add_s8_avx512(const pq_add_params *p, int32_t n, const int8_t *in1, const int8_t *in2, int8_t *out);
#endif

/* ---- aarch64 NEON (src/arch/arm) -------------------------------------------- */

#if PQ_HAVE_NEON
/* GEMM packing: per group of 4 channels a panel of kp * 4 bytes; NEON [kp/16][4][16] (each
 * channel's 16 consecutive k), NEON_DOT [kp/4][4][4] (each channel's 4 consecutive k: one sdot
 * operand). Depthwise: int16 weights, per block of 16 channels (8 for a last block of 8)
 * [taps][16 or 8]; channels padded to a multiple of 8 with zero weights. */
void pq_gemm_s8_pack_neon(int32_t n, int32_t k, int32_t np, int32_t kp, const int8_t *w, int8_t *packed);
void pq_gemm_s8_pack_neon_dot(int32_t n, int32_t k, int32_t np, int32_t kp, const int8_t *w, int8_t *packed);
void pq_dwconv_s8_pack_neon8(int32_t taps, int32_t c, int32_t cp, const int8_t *filter, int8_t *packed);
/* Blocks read int8 runs with kt % 16 == 0 or taps == 1. */
void pq_gemm_s8_neon(const pq_gemm_s8_plan *plan, int32_t m, const int8_t *a, int32_t lda, int8_t *out,
                     int32_t ldo, void *scratch);
void pq_gemm_s8_neon_block(const pq_gemm_s8_plan *plan, int32_t rows, const int8_t *const *origin,
                           const ptrdiff_t *tap_off, int32_t taps, int32_t kt, int8_t *out, int32_t ldo, void *work);
/* Padded-image rows: int8 as they are (CONV_2D), sign-extended to int16 (depthwise). */
void pq_pad_copy_s8_neon(void *dst, const int8_t *src, size_t n);
void pq_dwconv_s8_neon(const pq_dwconv_fast_plan *plan, const void *padded, int32_t wp, int8_t *out);
void pq_add_s8_neon(const pq_add_params *p, int32_t n, const int8_t *in1, const int8_t *in2, int8_t *out);
void pq_im2col_s8_neon(const pq_conv2d_fast_plan *plan, const int8_t *in, int32_t m0, int32_t rows, int32_t c_base,
                       int8_t pad, int8_t *dst);
void pq_im2row_s8_neon(const int8_t *src, ptrdiff_t step, int32_t count, ptrdiff_t run_step, int32_t runs, int32_t len,
                       int32_t k, int8_t *dst);
#endif
#if PQ_HAVE_NEON_DOT
void pq_gemm_s8_neon_dot(const pq_gemm_s8_plan *plan, int32_t m, const int8_t *a, int32_t lda, int8_t *out,
                         int32_t ldo, void *scratch);
void pq_gemm_s8_neon_dot_block(const pq_gemm_s8_plan *plan, int32_t rows, const int8_t *const *origin,
                               const ptrdiff_t *tap_off, int32_t taps, int32_t kt, int8_t *out, int32_t ldo,
                               void *work);
#endif

#ifdef __cplusplus
}
#endif

#endif /* PQ_FAST_ISA_H */
