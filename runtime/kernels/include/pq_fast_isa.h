/*
 * Internal to the fast kernels: the ISA-specific entry points the portable
 * dispatchers call. Each is defined in its own file, compiled with a target
 * attribute on x86-64 (AVX2, AVX-512) or aarch64 (NEON is baseline, dot
 * product by attribute) and absent elsewhere (pq_isa_supported says 0 there).
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

/* GEMM row blocks: rows per block and scratch bytes per row of k values. */
#define PQ_GEMM_MR_PORTABLE 2
#define PQ_GEMM_MR_AVX2 4
#define PQ_GEMM_MR_AVX512 8
#define PQ_GEMM_MR_AMX 32
/* AMX scratch after its MR x kp panel: a 16 x 16 int32 accumulator buffer and the tile configuration. */
#define PQ_AMX_TAIL_BYTES (1024u + 64u)

/* Group g's GEMM of a CONV_2D plan: its packed weights and per-channel
 * constants lie at fixed strides after group 0's (pq_conv2d_s8_fast.c). */
pq_gemm_s8_plan pq_conv2d_group_plan(const pq_conv2d_fast_plan *plan, int32_t g);
/* Rows and columns of the zero-point-padded image in which every tap of every
 * output pixel lies (CONV_2D and DEPTHWISE_CONV_2D). */
void pq_padded_hw(const pq_conv_params *p, const pq_dims *in, const pq_dims *filter, const pq_dims *out,
                  int32_t *hp, int32_t *wp);

void pq_gemm_s8_portable(const pq_gemm_s8_plan *plan, int32_t m, const int8_t *a, int32_t lda, int8_t *out,
                         int32_t ldo);
#if PQ_HAVE_X86_SIMD
void pq_gemm_s8_avx2(const pq_gemm_s8_plan *plan, int32_t m, const int8_t *a, int32_t lda, int8_t *out,
                     int32_t ldo, void *scratch);
/* Up to PQ_GEMM_MR_AVX2 rows read in place as int16: row r's k values are
 * `taps` runs of kt int16 (kt even, taps * kt == kp) at origin[r] +
 * tap_off[t] bytes. All MR origins must be readable. */
void pq_gemm_s8_avx2_block(const pq_gemm_s8_plan *plan, int32_t rows, const int16_t *const *origin,
                           const ptrdiff_t *tap_off, int32_t taps, int32_t kt, int8_t *out, int32_t ldo);
/* One image (h x w x c) sign-extended into a (hp x wp x c) int16 buffer at
 * row offset top and column offset left, the border filled with zp. */
void pq_pad_widen_avx2(const int8_t *img, int32_t h, int32_t w, int32_t c, int32_t top, int32_t left, int32_t hp,
                       int32_t wp, int8_t zp, int16_t *dst);
void pq_gemm_s8_avx512vnni(const pq_gemm_s8_plan *plan, int32_t m, const int8_t *a, int32_t lda, int8_t *out,
                           int32_t ldo, void *scratch);
/* Up to PQ_GEMM_MR_AVX512 rows read in place, already flipped (x ^ 0x80):
 * row r's k values are `taps` runs of kt bytes (kt % 4 == 0, taps * kt == kp)
 * at origin[r] + tap_off[t]. All MR origins must be readable (repeat a row
 * past `rows`). */
void pq_gemm_s8_avx512vnni_block(const pq_gemm_s8_plan *plan, int32_t rows, const int8_t *const *origin,
                                 const ptrdiff_t *tap_off, int32_t taps, int32_t kt, int8_t *out, int32_t ldo);
/* rows x k int8 -> rows x kp bytes flipped (x ^ 0x80), k..kp filled with 0x80. */
void pq_panel_flip_avx512(int32_t rows, int32_t k, int32_t kp, const int8_t *a, int32_t lda, int8_t *panel);
/* AMX: a plain GEMM (scratch: PQ_GEMM_MR_AMX * kp + PQ_AMX_TAIL_BYTES), and a
 * block of up to PQ_GEMM_MR_AMX rows read from flipped runs as
 * pq_gemm_s8_avx512vnni_block reads them (work: the same size). */
void pq_gemm_s8_amx(const pq_gemm_s8_plan *plan, int32_t m, const int8_t *a, int32_t lda, int8_t *out, int32_t ldo,
                    void *scratch);
void pq_gemm_s8_amx_block(const pq_gemm_s8_plan *plan, int32_t rows, const int8_t *const *origin,
                          const ptrdiff_t *tap_off, int32_t taps, int32_t kt, int8_t *out, int32_t ldo, void *work);
/* Load the tile configuration before pq_gemm_s8_amx_block calls (kept in `work`), release after. */
void pq_amx_begin(const pq_gemm_s8_plan *plan, void *work);
void pq_amx_end(void);
/* One image (h x w x c) into a (hp x wp x c) buffer at row offset top and
 * column offset left, every byte flipped (x ^ 0x80), the border filled with
 * the flipped zero point. */
void pq_pad_flip_avx512(const int8_t *img, int32_t h, int32_t w, int32_t c, int32_t top, int32_t left, int32_t hp,
                        int32_t wp, int8_t zp, int8_t *dst);
/* Depthwise, AVX2: one image, read from its padded int16 copy
 * (pq_pad_widen_avx2; wp columns, 64 bytes of slack at the end). */
void pq_dwconv_s8_avx2(const pq_dwconv_fast_plan *plan, const int16_t *padded, int32_t wp, int8_t *out);
/* Depthwise, AVX-512: one image, read from its padded flipped copy
 * (pq_pad_flip_avx512; wp columns, 64 bytes of slack at the end). */
void pq_dwconv_s8_avx512(const pq_dwconv_fast_plan *plan, const int8_t *padded, int32_t wp, int8_t *out);
/* im2col rows (pq_im2col.h) with AVX2 / AVX-512 copies. */
void pq_im2col_s8_avx2(const pq_conv2d_fast_plan *plan, const int8_t *in, int32_t m0, int32_t rows, int32_t c_base,
                       int8_t pad, int8_t *dst);
void pq_im2col_s8_avx512(const pq_conv2d_fast_plan *plan, const int8_t *in, int32_t m0, int32_t rows,
                         int32_t c_base, int8_t pad, int8_t *dst);
void pq_add_s8_avx2(const pq_add_params *p, int32_t n, const int8_t *in1, const int8_t *in2, int8_t *out);
void pq_add_s8_avx512(const pq_add_params *p, int32_t n, const int8_t *in1, const int8_t *in2, int8_t *out);
#endif

/* ---- aarch64 NEON (pq_*_neon*.c) ------------------------------------------ */

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

#define PQ_ISA_IS_NEON(isa) ((isa) == PQ_ISA_NEON || (isa) == PQ_ISA_NEON_DOT)
/* GEMM rows per block, and the k granule both NEON kernels pack to (one q register of int8). */
#define PQ_GEMM_MR_NEON 4
#define PQ_GEMM_KC_NEON 16

/* Packing for the NEON kernels: portable C, built everywhere (pq_pack_neon.c).
 * GEMM: per group of 4 channels a panel of kp * 4 bytes, kp = k rounded up to
 * 16; NEON [kp/16][4][16] (each channel's 16 consecutive k), NEON_DOT
 * [kp/4][4][4] (each channel's 4 consecutive k: one sdot operand).
 * Depthwise: int16 weights, per block of 16 channels (8 for a last block of
 * 8) [taps][16 or 8]; channels padded to a multiple of 8 with zero weights. */
void pq_gemm_s8_pack_neon(int isa, int32_t n, int32_t k, const int8_t *w, int8_t *packed);
void pq_dwconv_s8_pack_neon(int32_t taps, int32_t c, const int8_t *filter, int8_t *packed);
/* Scratch of the NEON depthwise: the zero-point-padded int16 image plus slack. */
size_t pq_dwconv_s8_neon_scratch_size(const pq_dwconv_fast_plan *plan);

#if PQ_HAVE_NEON
void pq_gemm_s8_neon(const pq_gemm_s8_plan *plan, int32_t m, const int8_t *a, int32_t lda, int8_t *out,
                     int32_t ldo);
/* Up to PQ_GEMM_MR_NEON rows read in place: row r's k values are `taps` runs
 * of kt int8 at origin[r] + tap_off[t], with kt % 16 == 0 or taps == 1. All
 * MR origins must be readable (repeat a row past `rows`). */
void pq_gemm_s8_neon_block(const pq_gemm_s8_plan *plan, int32_t rows, const int8_t *const *origin,
                           const ptrdiff_t *tap_off, int32_t taps, int32_t kt, int8_t *out, int32_t ldo);
/* One image (h x w x c) into an (hp x wp x c) buffer at row offset top and
 * column offset left, the border filled with zp: what pq_conv2d_s8_fast.c's
 * in-place feeds (PQ_FEED_TAPS / PQ_FEED_ROWS) read on both NEON ISAs. */
void pq_pad_s8_neon(const int8_t *img, int32_t h, int32_t w, int32_t c, int32_t top, int32_t left, int32_t hp,
                    int32_t wp, int8_t zp, int8_t *dst);
/* Depthwise: pads each image into scratch as int16, then runs the channel blocks. */
void pq_dwconv_s8_neon(const pq_dwconv_fast_plan *plan, const int8_t *in, int8_t *out, void *scratch);
void pq_add_s8_neon(const pq_add_params *p, int32_t n, const int8_t *in1, const int8_t *in2, int8_t *out);
/* im2col rows (pq_im2col.h) with NEON copies. */
void pq_im2col_s8_neon(const pq_conv2d_fast_plan *plan, const int8_t *in, int32_t m0, int32_t rows, int32_t c_base,
                       int8_t pad, int8_t *dst);
#endif
#if PQ_HAVE_NEON_DOT
void pq_gemm_s8_neon_dot(const pq_gemm_s8_plan *plan, int32_t m, const int8_t *a, int32_t lda, int8_t *out,
                         int32_t ldo);
void pq_gemm_s8_neon_dot_block(const pq_gemm_s8_plan *plan, int32_t rows, const int8_t *const *origin,
                               const ptrdiff_t *tap_off, int32_t taps, int32_t kt, int8_t *out, int32_t ldo);
#endif

#ifdef __cplusplus
}
#endif

#endif /* PQ_FAST_ISA_H */
