/*
 * The per-ISA traits table (pq_isa_traits.h). Costs: the NEON entries take
 * the portable costs until an Arm board measures them.
 */
#include <stddef.h>

#include "pq_isa_traits.h"

static const pq_isa_traits TRAITS[PQ_ISA_COUNT] = {
    [PQ_ISA_PORTABLE] = {.name = "portable",
                         .gemm_fallback = PQ_ISA_PORTABLE,
                         .kernel_isa = PQ_ISA_PORTABLE,
                         .gemm_ns_per_kmac = 200,
                         .dw_ns_per_kmac = 1000},
    [PQ_ISA_AVX2] = {.name = "avx2",
                     .granule = 2,
                     .gemm_fallback = PQ_ISA_AVX2,
                     .kernel_isa = PQ_ISA_AVX2,
                     .few_rows = 1,
                     .col_unit_few = 32,
                     .col_unit = 16,
                     .gemm_ns_per_kmac = 25,
                     .dw_ns_per_kmac = 100},
    [PQ_ISA_AVX512VNNI] = {.name = "avx512vnni",
                           .granule = 4,
                           .gemm_fallback = PQ_ISA_AVX512VNNI,
                           .kernel_isa = PQ_ISA_AVX512VNNI,
                           .dw_max_taps = 256,
                           .few_rows = 2,
                           .col_unit_few = 128,
                           .col_unit = 64,
                           .gemm_ns_per_kmac = 8,
                           .dw_ns_per_kmac = 60},
    [PQ_ISA_NEON] = {.name = "neon",
                     .granule = 16,
                     .rows_pad_limited = 1,
                     .gemm_fallback = PQ_ISA_NEON,
                     .kernel_isa = PQ_ISA_NEON,
                     .gemm_ns_per_kmac = 200,
                     .dw_ns_per_kmac = 1000},
    [PQ_ISA_NEON_DOT] = {.name = "neon_dot",
                         .granule = 16,
                         .rows_pad_limited = 1,
                         .gemm_fallback = PQ_ISA_NEON_DOT,
                         .kernel_isa = PQ_ISA_NEON_DOT,
                         .gemm_ns_per_kmac = 200,
                         .dw_ns_per_kmac = 1000},
    /* AMX tiles for the GEMMs that pay (2 tiles of 16 columns: AVX-512's column blocks). */
    [PQ_ISA_AMX] = {.name = "amx",
                    .granule = 4,
                    .amx_tiles = 1,
                    .gemm_fallback = PQ_ISA_AVX512VNNI,
                    .kernel_isa = PQ_ISA_AVX512VNNI,
                    .few_rows = 2,
                    .col_unit_few = 128,
                    .col_unit = 64,
                    .gemm_ns_per_kmac = 3,
                    .dw_ns_per_kmac = 60},
};

const pq_isa_traits *pq_isa_traits_get(int isa) {
    return isa >= 0 && isa < PQ_ISA_COUNT ? &TRAITS[isa] : NULL;
}
