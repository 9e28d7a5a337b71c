/*
 * The per-ISA traits table (pq_isa_traits.h). Costs: the NEON entries take
 * the portable costs until an Arm board measures them. An ISA's functions
 * exist only where its kernel files compile (PQ_X86 / PQ_NEON / PQ_NEON_DOT:
 * NULL elsewhere, and available 0).
 */
#include <stddef.h>

#include "pq_fast_isa.h"
#include "pq_isa_traits.h"

#if PQ_HAVE_X86_SIMD
#define PQ_X86(f) f
#else
#define PQ_X86(f) NULL
#endif
#if PQ_HAVE_NEON
#define PQ_NEON(f) f
#else
#define PQ_NEON(f) NULL
#endif
#if PQ_HAVE_NEON_DOT
#define PQ_NEON_DOT(f) f
#else
#define PQ_NEON_DOT(f) NULL
#endif

static const pq_isa_traits TRAITS[PQ_ISA_COUNT] = {
    [PQ_ISA_PORTABLE] = {.name = "portable",
                         .available = 1,
                         .gemm_fallback = PQ_ISA_PORTABLE,
                         .kernel_isa = PQ_ISA_PORTABLE,
                         .gemm_ns_per_kmac = 200,
                         .dw_ns_per_kmac = 1000,
                         .np_granule = 4,
                         .kp_granule = 1,
                         .w_elem = 1,
                         .pack = pq_gemm_s8_pack_portable,
                         .gemm = pq_gemm_s8_portable,
                         .im2col = pq_im2col_s8_portable,
                         .dw_cp_granule = 1,
                         .dw_tap_group = 1,
                         .dw_w_elem = 1,
                         .dw_block = 1,
                         .dw_pack = pq_dwconv_s8_pack_portable},
    [PQ_ISA_AVX2] = {.name = "avx2",
                     .available = PQ_HAVE_X86_SIMD,
                     .granule = 2,
                     .gemm_fallback = PQ_ISA_AVX2,
                     .kernel_isa = PQ_ISA_AVX2,
                     .few_rows = 1,
                     .col_unit_few = 32,
                     .col_unit = 16,
                     .gemm_ns_per_kmac = 25,
                     .dw_ns_per_kmac = 100,
                     /* int16 weights and inputs: vpmaddwd */
                     .np_granule = 8,
                     .kp_granule = 2,
                     .w_elem = 2,
                     .panel_rows = PQ_GEMM_MR_AVX2,
                     .pack = PQ_X86(pq_gemm_s8_pack_avx2),
                     .gemm = PQ_X86(pq_gemm_s8_avx2),
                     .im2col = PQ_X86(pq_im2col_s8_avx2),
                     .mr = PQ_GEMM_MR_AVX2,
                     .gemm_block = PQ_X86(pq_gemm_s8_avx2_block),
                     .conv_pad = {2, PQ_X86(pq_pad_copy_widen_avx2), pq_pad_fill_s16},
                     .dw_cp_granule = 16,
                     .dw_tap_group = 2,
                     .dw_w_elem = 2,
                     .dw_block = 16,
                     .dw_lane = PQ_X86(pq_dw_lane_avx2),
                     .dw_pack = PQ_X86(pq_dwconv_s8_pack_avx2),
                     .dw = PQ_X86(pq_dwconv_s8_avx2),
                     .dw_pad = {2, PQ_X86(pq_pad_copy_widen_avx2), pq_pad_fill_s16},
                     .add = PQ_X86(pq_add_s8_avx2)},
    [PQ_ISA_AVX512VNNI] = {.name = "avx512vnni",
                           .available = PQ_HAVE_X86_SIMD,
                           .granule = 4,
                           .gemm_fallback = PQ_ISA_AVX512VNNI,
                           .kernel_isa = PQ_ISA_AVX512VNNI,
                           .dw_max_taps = 256,
                           .few_rows = 2,
                           .col_unit_few = 128,
                           .col_unit = 64,
                           .gemm_ns_per_kmac = 8,
                           .dw_ns_per_kmac = 60,
                           /* u8 x s8 vpdpbusd: inputs flipped to x ^ 0x80 */
                           .np_granule = 16,
                           .kp_granule = 4,
                           .w_elem = 1,
                           .panel_rows = PQ_GEMM_MR_AVX512,
                           .input_flip = 128,
                           .pack = PQ_X86(pq_gemm_s8_pack_vnni),
                           .gemm = PQ_X86(pq_gemm_s8_avx512vnni),
                           .im2col = PQ_X86(pq_im2col_s8_avx512),
                           .mr = PQ_GEMM_MR_AVX512,
                           .gemm_block = PQ_X86(pq_gemm_s8_avx512vnni_block),
                           .conv_pad = {1, PQ_X86(pq_pad_copy_flip_avx512), PQ_X86(pq_pad_fill_flip_avx512)},
                           .dw_cp_granule = 64,
                           .dw_tap_group = 4,
                           .dw_w_elem = 1,
                           .dw_block = 64,
                           .dw_lane = PQ_X86(pq_dw_lane_avx512),
                           .dw_pack = PQ_X86(pq_dwconv_s8_pack_avx512),
                           .dw = PQ_X86(pq_dwconv_s8_avx512),
                           .dw_pad = {1, PQ_X86(pq_pad_copy_flip_avx512), PQ_X86(pq_pad_fill_flip_avx512)},
                           .add = PQ_X86(pq_add_s8_avx512)},
    [PQ_ISA_NEON] = {.name = "neon",
                     .available = PQ_HAVE_NEON,
                     .granule = 16,
                     .rows_pad_limited = 1,
                     .gemm_fallback = PQ_ISA_NEON,
                     .kernel_isa = PQ_ISA_NEON,
                     .gemm_ns_per_kmac = 200,
                     .dw_ns_per_kmac = 1000,
                     .np_granule = 4,
                     .kp_granule = PQ_GEMM_KC_NEON,
                     .w_elem = 1,
                     .pack = PQ_NEON(pq_gemm_s8_pack_neon),
                     .gemm = PQ_NEON(pq_gemm_s8_neon),
                     .im2col = PQ_NEON(pq_im2col_s8_neon),
                     .im2row = PQ_NEON(pq_im2row_s8_neon),
                     .mr = PQ_GEMM_ROWS_NEON,
                     .gemm_block = PQ_NEON(pq_gemm_s8_neon_block),
                     .conv_pad = {1, PQ_NEON(pq_pad_copy_s8_neon), pq_pad_fill_s8},
                     /* int8 weights and inputs (smull / smlal pairs), natural channel order */
                     .dw_cp_granule = 8,
                     .dw_tap_group = 1,
                     .dw_w_elem = 1,
                     .dw_block = 1,
                     .dw_pack = PQ_NEON(pq_dwconv_s8_pack_neon8),
                     .dw = PQ_NEON(pq_dwconv_s8_neon),
                     .dw_pad = {1, PQ_NEON(pq_pad_copy_s8_neon), pq_pad_fill_s8},
                     .dw_col_work = 64, /* NEON_DOT's sdot rows (pq_depthwise_conv2d_s8_neon.c) */
                     .add = PQ_NEON(pq_add_s8_neon)},
    /* sdot GEMMs; depthwise and ADD on NEON's kernels. */
    [PQ_ISA_NEON_DOT] = {.name = "neon_dot",
                         .available = PQ_HAVE_NEON_DOT,
                         .granule = 16,
                         .rows_pad_limited = 1,
                         .gemm_fallback = PQ_ISA_NEON_DOT,
                         .kernel_isa = PQ_ISA_NEON,
                         .gemm_ns_per_kmac = 200,
                         .dw_ns_per_kmac = 1000,
                         .np_granule = 4,
                         .kp_granule = PQ_GEMM_KC_NEON,
                         .w_elem = 1,
                         .pack = PQ_NEON_DOT(pq_gemm_s8_pack_neon_dot),
                         .gemm = PQ_NEON_DOT(pq_gemm_s8_neon_dot),
                         .im2col = PQ_NEON_DOT(pq_im2col_s8_neon),
                         .im2row = PQ_NEON_DOT(pq_im2row_s8_neon),
                         .mr = PQ_GEMM_ROWS_NEON,
                         .gemm_block = PQ_NEON_DOT(pq_gemm_s8_neon_dot_block),
                         .conv_pad = {1, PQ_NEON_DOT(pq_pad_copy_s8_neon), pq_pad_fill_s8}},
    /* AMX tiles for the GEMMs that pay (2 tiles of 16 columns: AVX-512's column blocks), on the
     * AVX-512 VNNI data (k padded to a tile row); the rest on AVX-512 VNNI. */
    [PQ_ISA_AMX] = {.name = "amx",
                    .available = PQ_HAVE_X86_SIMD,
                    .granule = 4,
                    .amx_tiles = 1,
                    .gemm_fallback = PQ_ISA_AVX512VNNI,
                    .kernel_isa = PQ_ISA_AVX512VNNI,
                    .few_rows = 2,
                    .col_unit_few = 128,
                    .col_unit = 64,
                    .gemm_ns_per_kmac = 3,
                    .dw_ns_per_kmac = 60,
                    .np_granule = 16,
                    .kp_granule = 64,
                    .w_elem = 1,
                    .panel_rows = PQ_GEMM_MR_AMX,
                    .panel_tail = PQ_AMX_TAIL_BYTES,
                    .input_flip = 128,
                    .pack = PQ_X86(pq_gemm_s8_pack_vnni),
                    .gemm = PQ_X86(pq_gemm_s8_amx),
                    .im2col = PQ_X86(pq_im2col_s8_avx512),
                    .mr = PQ_GEMM_MR_AMX,
                    .block_work = 1,
                    .gemm_block = PQ_X86(pq_gemm_s8_amx_block),
                    .block_begin = PQ_X86(pq_amx_begin),
                    .block_end = PQ_X86(pq_amx_end),
                    .conv_pad = {1, PQ_X86(pq_pad_copy_flip_avx512), PQ_X86(pq_pad_fill_flip_avx512)}},
};

const pq_isa_traits *pq_isa_traits_get(int isa) {
    return isa >= 0 && isa < PQ_ISA_COUNT ? &TRAITS[isa] : NULL;
}
