/*
 * Splitting one fast CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED into parts
 * that can run at the same time on several threads (the interpreter's
 * num_threads; pq_threadpool.h runs them). Each part writes its own slice of
 * the output and reads only the input and constants, so parts need no
 * synchronisation; each needs its own scratch of the size the op's
 * *_scratch_size function gives.
 *
 * A part is computed by the unchanged fast kernel on a restricted plan:
 *   rows     output rows [r0, r1) of an image are a convolution of their own:
 *            the input rows they read (a window), with the window's part of
 *            the padding, into those output rows. Rows are counted over the
 *            batch (image b's row y is row b * out_h + y). A 1x1 convolution
 *            that runs as one plain GEMM, and FULLY_CONNECTED, split GEMM
 *            rows (pixels, batches) in blocks of PQ_SPLIT_GEMM_ROWS instead.
 *   columns  output channels [c0, c1) (c0 a multiple of the packing granule)
 *            are a GEMM with a slice of the packed weights and of the
 *            per-channel constants, writing at column c0 with the full row
 *            stride (one group only).
 * Every output value is computed from the same operands by the same code in
 * the same order, so the bytes do not depend on the split.
 */
#ifndef PQ_FAST_SPLIT_H
#define PQ_FAST_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { PQ_SPLIT_NONE = 0, PQ_SPLIT_ROWS = 1, PQ_SPLIT_COLS = 2 };

/* GEMM rows per block when plain GEMM rows are split (every ISA's row block divides it). */
#define PQ_SPLIT_GEMM_ROWS 8

/* Items [*lo, *hi) of part `part` of `parts` over `total` items taken in
 * blocks of `unit` (the last block may be short): whole blocks, as evenly as
 * they go, larger parts first; a part may be empty when there are fewer
 * blocks than parts. */
void pq_split_range(int32_t total, int32_t unit, int32_t part, int32_t parts, int32_t *lo, int32_t *hi);

/* What a rows split divides: returns the number of items and sets *unit. */
int32_t pq_conv2d_s8_fast_split_rows(const pq_conv2d_fast_plan *plan, int32_t *unit);
int32_t pq_dwconv_s8_fast_split_rows(const pq_dwconv_fast_plan *plan, int32_t *unit);

/* The plan of output channels [c0, c1) of `plan` (c0 a multiple of pq_gemm_s8_np's granule). */
void pq_gemm_s8_plan_cols(const pq_gemm_s8_plan *plan, int32_t c0, int32_t c1, pq_gemm_s8_plan *sub);

/* Part `part` of `parts`. split: PQ_SPLIT_ROWS or PQ_SPLIT_COLS (groups == 1
 * only); col_unit: channels per column block, a multiple of the granule. */
pq_status pq_conv2d_s8_fast_part(const pq_conv2d_fast_plan *plan, const int8_t *in, int8_t *out, void *scratch,
                                 int32_t split, int32_t col_unit, int32_t part, int32_t parts);
/* Rows only. */
pq_status pq_depthwise_conv2d_s8_fast_part(const pq_dwconv_fast_plan *plan, const int8_t *in, int8_t *out,
                                           void *scratch, int32_t part, int32_t parts);
pq_status pq_fully_connected_s8_fast_part(const pq_gemm_s8_plan *plan, int32_t batches, const int8_t *in, int8_t *out,
                                          void *scratch, int32_t split, int32_t col_unit, int32_t part,
                                          int32_t parts);

#ifdef __cplusplus
}
#endif

#endif /* PQ_FAST_SPLIT_H */
