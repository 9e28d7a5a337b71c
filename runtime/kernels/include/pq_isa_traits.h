/*
 * Instruction sets as data: one entry per pq_isa (pq_fast.h) with everything
 * the fast ops' binding (src/fast/pq_*_fast_op.c) and the extension need to
 * know about it. Adding an ISA is its kernel files plus one entry here (and
 * its branch in the kernels' own dispatch, pq_gemm_s8.c and friends).
 */
#ifndef PQ_ISA_TRAITS_H
#define PQ_ISA_TRAITS_H

#include <stdint.h>

#include "pq_fast.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *name;         /* Interpreter(isa=...): "portable", "avx2", ... */
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
} pq_isa_traits;

/* The entry of `isa` (0 .. PQ_ISA_COUNT - 1), or NULL. */
const pq_isa_traits *pq_isa_traits_get(int isa);

#ifdef __cplusplus
}
#endif

#endif /* PQ_ISA_TRAITS_H */
