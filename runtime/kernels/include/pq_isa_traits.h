/*
 * Instruction sets as data: one entry per pq_isa (pq_fast.h) with everything
 * the fast ops' binding (src/fast/pq_*_fast_op.c), the portable drivers
 * (pq_gemm_s8.c, pq_conv2d_s8_fast.c, pq_depthwise_conv2d_s8_fast.c,
 * pq_add_s8_fast.c) and the extension need to know about it: packing
 * granules, the kernels (as functions), the padded-image formats. Adding an
 * ISA is its kernel files (declared in pq_fast_isa.h), its detection in
 * pq_isa_supported and one entry in pq_isa_traits.c.
 *
 * Functions compiled with target attributes are only called when
 * pq_isa_supported(isa) says so. An entry whose kernel files compile to
 * nothing on this architecture has available == 0 and NULL functions (its
 * sizes stay plain arithmetic: the converter plans scratch for every ISA).
 */
#ifndef PQ_ISA_TRAITS_H
#define PQ_ISA_TRAITS_H

#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A plain GEMM over m rows of a (row stride lda); scratch: pq_gemm_s8_scratch_size. */
typedef void (*pq_gemm_fn)(const pq_gemm_s8_plan *plan, int32_t m, const int8_t *a, int32_t lda, int8_t *out,
                           int32_t ldo, void *scratch);
/* Up to `mr` rows read in place from a padded image (conv_pad's format): row r's k values are `taps`
 * runs of kt values at origin[r] + tap_off[t] bytes; all mr origins readable (repeat a row past
 * `rows`). work: the block_work bytes after the tap offsets (AMX's tile panel), else unused. */
typedef void (*pq_gemm_block_fn)(const pq_gemm_s8_plan *plan, int32_t rows, const int8_t *const *origin,
                                 const ptrdiff_t *tap_off, int32_t taps, int32_t kt, int8_t *out, int32_t ldo,
                                 void *work);
typedef void (*pq_gemm_pack_fn)(int32_t n, int32_t k, int32_t np, int32_t kp, const int8_t *w, int8_t *packed);
typedef void (*pq_im2col_fn)(const pq_conv2d_fast_plan *plan, const int8_t *in, int32_t m0, int32_t rows,
                             int32_t c_base, int8_t pad, int8_t *dst);
/* CONV_2D PQ_FEED_IM2ROW: `count` GEMM rows of k bytes (k a multiple of 16, at least runs * len)
 * from a padded image, row i the `runs` runs of `len` bytes at src + i * step + t * run_step, one
 * after another, then any bytes up to k (read against zero weights). It may read up to 15 bytes
 * past each run and write up to 15 past the last row (pq_conv2d_s8_fast.c leaves the slack). */
typedef void (*pq_im2row_fn)(const int8_t *src, ptrdiff_t step, int32_t count, ptrdiff_t run_step, int32_t runs,
                             int32_t len, int32_t k, int8_t *dst);
/* Depthwise: one image from its padded copy (dw_pad's format, wp columns, 64 bytes of slack). */
typedef void (*pq_dw_fn)(const pq_dwconv_fast_plan *plan, const void *padded, int32_t wp, int8_t *out);
typedef void (*pq_dw_pack_fn)(int32_t taps, int32_t c, int32_t cp, const int8_t *filter, int8_t *packed);
typedef void (*pq_add_fn)(const pq_add_params *p, int32_t n, const int8_t *in1, const int8_t *in2, int8_t *out);

/* Rows of a zero-point-padded image: n input values converted into the image's values, and n
 * values of the zero point zp (converted the same way). */
typedef void (*pq_pad_copy_fn)(void *dst, const int8_t *src, size_t n);
typedef void (*pq_pad_fill_fn)(void *dst, int8_t zp, size_t n);
typedef struct {
    int32_t elem; /* bytes per value: 1 (int8, or flipped x ^ 0x80), 2 (int16) */
    pq_pad_copy_fn copy;
    pq_pad_fill_fn fill;
} pq_pad_format;

typedef struct {
    const char *name;         /* Interpreter(isa=...): "portable", "avx2", ... */
    int32_t available;        /* its kernels are in this build (0: NULL functions, never supported) */
    int32_t granule;          /* CONV_2D in-place feeds: bytes per tap run (0: no in-place feed, im2col) */
    int32_t rows_pad_limited; /* ROWS feed only when padding a filter row to the granule adds <= 1/8 */
    int32_t amx_tiles;        /* GEMMs on AMX tiles where they pay (pq_amx_pays), else on gemm_fallback */
    int32_t gemm_fallback;    /* the GEMM isa where tiles do not pay (same packing granule) */
    int32_t kernel_isa;       /* the isa the non-GEMM kernels (depthwise, ADD, AVERAGE_POOL_2D) run */
    int32_t dw_max_taps;      /* depthwise: the kernel's tap table (0: any number of taps) */
    /* Threads: output channels per column block (a multiple of the packing granule as wide as the
     * GEMM's widest register tile): col_unit_few for m <= few_rows GEMM rows, col_unit above;
     * 0: the packing granule (pq_gemm_s8_np(isa, 1)). */
    int32_t few_rows, col_unit_few, col_unit;
    /* Threads: one-thread cost estimate, ns per 1000 multiply-accumulates (GEMM-shaped ops,
     * DEPTHWISE_CONV_2D), measured on the MLPerf Tiny layers (pq_fast_split_choose). */
    int32_t gemm_ns_per_kmac, dw_ns_per_kmac;

    /* GEMM: channels padded to np_granule, k to kp_granule; w_elem bytes per packed weight (and
     * per value of the row panel: panel_rows x kp values plus panel_tail bytes of scratch). */
    int32_t np_granule, kp_granule, w_elem, panel_rows, panel_tail;
    /* The kernels feed x + input_flip (u8 x s8 dot products take x ^ 0x80): folded into the bias. */
    int32_t input_flip;
    pq_gemm_pack_fn pack;
    pq_gemm_fn gemm;
    pq_im2col_fn im2col; /* CONV_2D im2col rows with this ISA's copies */
    pq_im2row_fn im2row; /* CONV_2D whole filter rows from conv_pad's image (NULL: no IM2ROW feed) */
    /* CONV_2D in-place feeds (granule != 0): blocks of mr rows from a conv_pad image; AMX loads
     * its tile configuration around each image (block_begin / block_end) and takes block_work
     * (the GEMM's scratch) after the tap offsets. */
    int32_t mr, block_work;
    pq_gemm_block_fn gemm_block;
    void (*block_begin)(const pq_gemm_s8_plan *plan, void *work);
    void (*block_end)(void);
    pq_pad_format conv_pad;

    /* DEPTHWISE_CONV_2D (read on kernel_isa's entry): channels padded to dw_cp_granule; packed
     * size cp x taps rounded up to dw_tap_group x dw_w_elem bytes; per-channel constants permuted
     * within blocks of dw_block channels by dw_lane (NULL: natural order). dw NULL: the portable
     * walk over the unpadded input. */
    int32_t dw_cp_granule, dw_tap_group, dw_w_elem, dw_block;
    int32_t (*dw_lane)(int32_t i);
    pq_dw_pack_fn dw_pack;
    pq_dw_fn dw;
    pq_pad_format dw_pad;
    int32_t dw_col_work; /* dw's scratch after the padded image: this many bytes per padded column, + 4 */

    pq_add_fn add; /* same-shape ADD (NULL: the reference kernel) */
} pq_isa_traits;

/* The entry of `isa` (0 .. PQ_ISA_COUNT - 1), or NULL. */
const pq_isa_traits *pq_isa_traits_get(int isa);

/* One image (h x w x c int8) into an (hp x wp x c) image of f's values at row offset top and
 * column offset left, the border filled with zp (pq_pad_image.c). */
void pq_pad_image(const pq_pad_format *f, const int8_t *img, int32_t h, int32_t w, int32_t c, int32_t top,
                  int32_t left, int32_t hp, int32_t wp, int8_t zp, void *dst);
/* Portable row copies / fills of padded images (int8 values, int16 values). */
void pq_pad_copy_s8(void *dst, const int8_t *src, size_t n);
void pq_pad_fill_s8(void *dst, int8_t zp, size_t n);
void pq_pad_fill_s16(void *dst, int8_t zp, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* PQ_ISA_TRAITS_H */
