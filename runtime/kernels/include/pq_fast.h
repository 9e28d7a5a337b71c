/*
 * picoq fast kernels: int8 GEMM with packed weights, fused requantization, a
 * channel-vectorised depthwise convolution, the CONV_2D / FULLY_CONNECTED
 * drivers built on them, and element-wise ADD and AVERAGE_POOL_2D loops.
 *
 * They give the same bytes as the reference kernels in pq_kernels.h (tests
 * compare the two on random shapes); they differ only in speed and in needing
 * preparation at load time:
 *   - weights are packed once into the layout of the chosen ISA,
 *   - the input zero point is folded into a per-channel bias:
 *       sum_k w*(x + input_offset) + bias = sum_k w*x + (bias + input_offset*sum_k w),
 *     all in wrapping 32-bit arithmetic, so the result is the reference's
 *     modulo 2^32, i.e. the same int32 (the reference wraps the same way).
 *     Taps outside the image are fed the input zero point, whose term
 *     w*(zp + input_offset) is exactly 0, as the reference's skipped tap.
 *   - requantization constants are expanded per channel (pq_requant_s8).
 * Kernels never allocate: the caller provides `scratch` of the size the
 * *_scratch_size functions return (bytes, 64-byte aligned pointer). Its
 * contents on entry do not matter (the picoq runtime places it in arena bytes
 * other tensors used before). The size functions and the *_np/_kp/_cp/
 * _packed_size ones are plain arithmetic for every isa value, compiled without
 * target attributes: the converter calls them for every ISA, including ones the
 * CPU it runs on lacks, to plan scratch into the file's arena.
 *
 * ISA: the portable C path is always built and always correct. On x86-64 an
 * AVX2 path, an AVX-512 VNNI path and an AMX path (GEMMs only) are compiled
 * with per-function target attributes (no -march flag). On aarch64 the NEON path is baseline (Advanced
 * SIMD is part of the architecture) and the dot-product path is compiled with
 * a target attribute (arch=armv8.2-a+dotprod) and enabled when the kernel
 * reports HWCAP_ASIMDDP (Cortex-A55/A76/A78 and later: Raspberry Pi 5, Jetson
 * Orin; not A53/A57/A72: Raspberry Pi 3/4, i.MX8M, Jetson Nano). Each ISA's
 * sources compile to nothing on other architectures. The caller picks one at
 * load time with pq_isa_supported(). Data packed for one ISA must be run with
 * that ISA.
 */
#ifndef PQ_FAST_H
#define PQ_FAST_H

#include <stddef.h>
#include <stdint.h>

#include "pq_broadcast.h"
#include "pq_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    PQ_ISA_PORTABLE = 0,   /* plain C99, vectorised by the compiler where it can */
    PQ_ISA_AVX2 = 1,       /* x86-64 AVX2: int16 multiply-add (vpmaddwd) */
    PQ_ISA_AVX512VNNI = 2, /* x86-64 AVX-512 F/BW/VL + VNNI: u8 x s8 dot products (vpdpbusd) */
    PQ_ISA_NEON = 3,       /* aarch64 Advanced SIMD: int8 x int8 -> int16 products (smull), pairwise into int32 (sadalp) */
    PQ_ISA_NEON_DOT = 4,   /* aarch64 ARMv8.2 dot product: s8 x s8 four-way dot products into int32 (sdot) */
    PQ_ISA_AMX = 5         /* AVX-512 VNNI + AMX-INT8 tiles for the GEMMs (tdpbusd); the other
                              kernels run their AVX-512 VNNI code, which the caller passes them */
} pq_isa;

/* Ids 0 .. PQ_ISA_COUNT - 1; the converter sizes scratch for each of them. */
#define PQ_ISA_COUNT 6

/* 1 when this build and this CPU (and OS) can run `isa`. Portable is always 1. */
int pq_isa_supported(int isa);

/* ---- requantization constants, per output channel ------------------------ */

/* Per-channel constants of MultiplyByQuantizedMultiplier, padded to `np`
 * channels (the padding requantizes to something harmless that is never stored). */
typedef struct {
    const int32_t *bias;     /* folded bias, see pq_gemm_s8_fold_bias */
    const int32_t *mult;     /* Q31 multiplier, >= 0 */
    const int32_t *lshift;   /* max(shift, 0) */
    const int32_t *rshift;   /* max(-shift, 0) */
    const int32_t *rmask;    /* (1 << rshift) - 1: RoundingDivideByPOT's remainder mask */
    int32_t any_lshift;      /* 0 when every lshift is 0 (skip the multiply by 2^lshift) */
    int32_t all_rshift;      /* 1 when every rshift is >= 1 and output_offset lies in [-128, 127]
                                (pq_requant_flags): results before the offset lie in [-2^30, 2^30],
                                so the offset may be added after a saturating narrowing; 0: unknown */
    int32_t output_offset;
    int32_t act_min, act_max;
} pq_requant;

/* Expand `n` (mult, shift) pairs, or one pair when per_channel == 0, into the
 * four arrays of `np` entries each (np >= n; extra entries copy channel n-1). */
void pq_requant_expand(int32_t n, int32_t np, const int32_t *mult, const int32_t *shift, int32_t per_channel,
                       int32_t *out_mult, int32_t *out_lshift, int32_t *out_rshift, int32_t *out_rmask);

/* Set q->any_lshift and q->all_rshift from the np entries of q->lshift and q->rshift and from
 * q->output_offset. */
void pq_requant_flags(pq_requant *q, int32_t np);

/* Requantize `n` int32 accumulators (bias not yet added) of channels
 * [c0, c0 + n) of `q` to int8, exactly as pq_mbqm + offset + clamp. Portable C. */
void pq_requant_row_s8(const pq_requant *q, int32_t c0, int32_t n, const int32_t *acc, int8_t *out);

/* ---- GEMM: out[m, n] = requant(sum_k a[m, k] * w[n, k] + bias'[n]) ------ */

/* One GEMM's constant operands, prepared at load time for one ISA. */
typedef struct {
    int32_t isa;
    int32_t n, k;       /* output channels, reduction depth */
    int32_t np, kp;     /* n and k padded to the ISA's packing granule */
    const int8_t *w;    /* pq_gemm_s8_pack output */
    pq_requant rq;      /* bias holds np folded biases */
    int32_t pair16;     /* 1: no weight is -128, so two int8 x int8 products sum inside int16
                           (pq_gemm_s8_pair16; NEON's smull + smlal2); 0: unknown */
} pq_gemm_s8_plan;

/* Padded sizes of an (n x k) weight matrix packed for `isa`. */
int32_t pq_gemm_s8_np(int isa, int32_t n);
int32_t pq_gemm_s8_kp(int isa, int32_t k);
/* Bytes of the packed weights, 64-byte multiple. */
size_t pq_gemm_s8_packed_size(int isa, int32_t n, int32_t k);
/* 1 when none of the count weights is -128: |x * w| <= 128 * 127 for every int8 x, so the sum of
 * two such products fits int16 (pq_gemm_s8_plan.pair16). */
int32_t pq_gemm_s8_pair16(size_t count, const int8_t *w);
/* w: n rows of k int8 weights (row stride k). Writes pq_gemm_s8_packed_size bytes. */
void pq_gemm_s8_pack(int isa, int32_t n, int32_t k, const int8_t *w, int8_t *packed);
/* np biases: bias[c] (0 if bias is NULL) + input_offset * sum_k w[c, k], with
 * the offset the ISA's kernel expects (AVX-512 VNNI feeds x + 128 as unsigned
 * bytes, so it folds input_offset - 128). Padding channels get 0. */
void pq_gemm_s8_fold_bias(int isa, int32_t n, int32_t np, int32_t k, const int8_t *w, const int32_t *bias,
                          int32_t input_offset, int32_t *out);

/* Rows of the GEMM processed per block; scratch holds one block of input rows
 * in the kernel's layout. */
size_t pq_gemm_s8_scratch_size(int isa, int32_t k);
/* a: m rows of k int8 values, row stride lda >= k. out: m rows, row stride ldo. */
void pq_gemm_s8(const pq_gemm_s8_plan *plan, int32_t m, const int8_t *a, int32_t lda, int8_t *out, int32_t ldo,
                void *scratch);

/* ---- CONV_2D ------------------------------------------------------------- */

typedef struct {
    pq_conv_params p;
    pq_dims in_dims, filter_dims, out_dims;
    int32_t groups;
    int32_t direct;     /* how rows are fed: PQ_FEED_* below */
    int32_t chunk_rows; /* PQ_FEED_IM2COL / PQ_FEED_IM2ROW: rows built per GEMM call */
    int32_t taps, kt;   /* PQ_FEED_TAPS / PQ_FEED_ROWS: k = taps runs of kt values (IM2ROW: k is
                         * taps runs of kt values, the sum padded with zeros to gemm.k) */
    pq_gemm_s8_plan gemm;       /* group 0; group g uses the arrays below at offset g */
    size_t w_group_stride;      /* bytes of packed weights per group */
    int32_t ch_group_stride;    /* entries of the per-channel arrays per group (np) */
} pq_conv2d_fast_plan;

/* How pq_conv2d_s8_fast feeds GEMM rows (see pq_conv2d_s8_fast.c). TAPS and
 * ROWS are for the SIMD ISAs; ROWS packs each filter row's f_w * f_c
 * weights padded with zeros to kt (pq_gemm_s8_pad_runs); IM2ROW (ISAs with an
 * im2row kernel) packs the whole filter padded with zeros to gemm.k. */
enum {
    PQ_FEED_IM2COL = 0,
    PQ_FEED_DIRECT = 1,
    PQ_FEED_STRIDED = 2,
    PQ_FEED_TAPS = 3,
    PQ_FEED_ROWS = 4,
    PQ_FEED_IM2ROW = 5
};

/* n rows of runs x len weights -> n rows of runs x padded (zeros after each run). */
void pq_gemm_s8_pad_runs(int32_t n, int32_t runs, int32_t len, int32_t padded, const int8_t *w, int8_t *out);

/* Bytes of scratch pq_conv2d_s8_fast needs for this plan (64-byte multiple). */
size_t pq_conv2d_s8_fast_scratch_size(const pq_conv2d_fast_plan *plan);
pq_status pq_conv2d_s8_fast(const pq_conv2d_fast_plan *plan, const int8_t *in, int8_t *out, void *scratch);

/* ---- FULLY_CONNECTED (filter_offset 0) ----------------------------------- */

pq_status pq_fully_connected_s8_fast(const pq_gemm_s8_plan *plan, int32_t batches, const int8_t *in, int8_t *out,
                                     void *scratch);

/* ---- DEPTHWISE_CONV_2D, any depth multiplier, kernel, stride, dilation ---- */

typedef struct {
    int32_t isa;        /* the kernel's (pq_isa_traits.h kernel_isa) */
    int32_t op_isa;     /* the op's: PQ_ISA_NEON_DOT runs NEON's kernel, which may use sdot */
    pq_conv_params p;
    pq_dims in_dims, filter_dims, out_dims;
    int32_t cp;         /* channels padded to the ISA's block */
    const int8_t *w;    /* pq_dwconv_s8_pack output */
    pq_requant rq;      /* cp entries each, in pq_dwconv_s8_order's order; bias folded */
    /* Facts of the filter and constants, for kernels that can use them (set by prepare):
     * pair16: no channel has weight -128 at both taps 2i and 2i + 1, so the sum of those two
     * int8 x int8 products always fits int16; rshift_min: the smallest right shift. */
    int32_t pair16, rshift_min;
    /* Depth multiplier: in_dims.c counts the output's channels, the input having in_dims.c / mult;
     * output channel oc reads input channel oc / mult, so a run above 1 copies each image with
     * every channel repeated mult times into scratch and convolves that with multiplier 1. */
    int32_t mult;
} pq_dwconv_fast_plan;

int32_t pq_dwconv_s8_cp(int isa, int32_t c);
size_t pq_dwconv_s8_packed_size(int isa, int32_t taps, int32_t c);
/* filter [1, kh, kw, c] (taps = kh * kw), packed for the ISA's channel blocks. */
void pq_dwconv_s8_pack(int isa, int32_t taps, int32_t c, const int8_t *filter, int8_t *packed);
/* cp biases: bias[c] (0 if NULL) + offset * sum_t filter[t, c], offset being
 * input_offset (input_offset - 128 for AVX-512, which feeds x + 128). */
void pq_dwconv_s8_fold_bias(int isa, int32_t taps, int32_t c, int32_t cp, const int8_t *filter,
                            const int32_t *bias, int32_t input_offset, int32_t *out);
/* Reorder cp per-channel values of c channels (in place) into the order the
 * ISA's kernel holds channels in its accumulators (identity for portable). */
void pq_dwconv_s8_order(int isa, int32_t c, int32_t cp, int32_t *values);
/* plan->pair16 and plan->rshift_min from the filter [taps, c] and plan->rq. */
void pq_dwconv_s8_facts(pq_dwconv_fast_plan *plan, const int8_t *filter);
/* SIMD kernels: bytes of scratch the padded image takes (64-byte multiple); the kernel's own
 * work (pq_isa_traits.h dw_col_work) follows it. */
size_t pq_dwconv_s8_padded_bytes(const pq_dwconv_fast_plan *plan);
size_t pq_dwconv_s8_fast_scratch_size(const pq_dwconv_fast_plan *plan);
pq_status pq_depthwise_conv2d_s8_fast(const pq_dwconv_fast_plan *plan, const int8_t *in, int8_t *out,
                                      void *scratch);

/* ---- AVERAGE_POOL_2D ----------------------------------------------------- */

/* Same arguments as pq_avg_pool2d_s8, plus in_dims->c uint32 sums of scratch. Portable C. */
pq_status pq_avg_pool2d_s8_fast(const pq_pool_params *p, const pq_dims *in_dims, const int8_t *in,
                                const pq_dims *out_dims, int8_t *out, uint32_t *sum);

/* ---- MAX_POOL_2D --------------------------------------------------------- */

/* Same arguments as pq_max_pool2d_s8. Portable C. */
pq_status pq_max_pool2d_s8_fast(const pq_pool_params *p, const pq_dims *in_dims, const int8_t *in,
                                const pq_dims *out_dims, int8_t *out);

/* ---- ADD, with every broadcast ---------------------------------------------- */

/* n elements of in1 + in2 (same shapes); the portable ISA runs pq_add_s8. */
pq_status pq_add_s8_fast(int isa, const pq_add_params *p, int32_t n, const int8_t *in1, const int8_t *in2,
                         int8_t *out);

/* Elements per call of the same-shape loop, and scratch bytes per gathered input, at most. */
#define PQ_ADD_CHUNK 4096

/* A broadcasting ADD as rows of `len` output elements, along which input a is whole (a is the
 * op's second input when swap, its parameters exchanged in p: the sum is symmetric); each row
 * adds `len` elements of b, or one repeated (!b_row). An odometer over the outer dims (walk)
 * gives each input's row offset. Chunks of up to PQ_ADD_CHUNK elements go to the isa's
 * same-shape loop: rows of an input as long as the output (a_flat, b_flat) are read in place,
 * others gathered into scratch (b's once per run when it is the same for every row: b_fixed,
 * as squeeze-excitation's [1, 1, 1, C] gate or a bias vector). */
typedef struct {
    int32_t isa, swap;
    pq_add_params p;
    int32_t total, len, rows, chunk;
    int32_t b_row, a_flat, b_flat, b_fixed;
    pq_broadcast walk; /* the outer dims, outermost first; off1 / off2 of a / b */
} pq_add_fast_plan;

/* The plan of an ADD whose inputs (shapes aligned right to the output's rank) broadcast to the
 * output; 0 when they do not. */
int pq_add_s8_fast_plan(int isa, int32_t rank, const int32_t *in1_shape, const int32_t *in2_shape,
                        const int32_t *out_shape, const pq_add_params *p, pq_add_fast_plan *plan);
size_t pq_add_s8_fast_scratch_size(const pq_add_fast_plan *plan);
pq_status pq_add_s8_fast_run(const pq_add_fast_plan *plan, const int8_t *in1, const int8_t *in2, int8_t *out,
                             void *scratch);

/* ---- MUL, MEAN, SOFTMAX: portable loops, AVX2 builds on x86 (pq_fast_vec.h) ---- */

/* A broadcasting MUL as rows of `inner` output elements: row r multiplies `inner` elements of
 * in1 by `inner` elements of in2 (b_scalar 0) or by one element of in2 (b_scalar 1), at element
 * offsets walked by an odometer over the outer dims. in1 / in2 may be exchanged (the product
 * commutes) so that in1 is the input whole along the row. */
typedef struct {
    int32_t avx2;      /* pq_vec_avx2(isa) */
    int32_t swap;      /* in1 is the op's second input */
    int32_t b_scalar;
    int32_t inner;     /* elements per row */
    int32_t n_outer;   /* outer dims, outermost first */
    int32_t dims[PQ_MAX_DIMS], stride1[PQ_MAX_DIMS], stride2[PQ_MAX_DIMS];
} pq_mul_fast_plan;

/* The plan of a MUL whose inputs (shapes aligned right to the output's rank) broadcast to the
 * output; 0 when the shapes do not broadcast. Adjacent dims along which each input is either
 * whole or broadcast alike merge into one. */
int pq_mul_s8_fast_plan(int isa, int32_t rank, const int32_t *in1_shape, const int32_t *in2_shape,
                        const int32_t *out_shape, pq_mul_fast_plan *plan);
/* Whether the fast loops take these parameters (every int32 step stays in range). */
int pq_mul_s8_fast_params_ok(const pq_mul_params *p);
pq_status pq_mul_s8_fast(const pq_mul_fast_plan *plan, const pq_mul_params *p, const int8_t *in1, const int8_t *in2,
                         int8_t *out);

/* MEAN over one block of adjacent dims (dims of extent 1 count as either kind): the input as
 * [outer, count, inner], each output the mean of `count` values `inner` apart. */
typedef struct {
    int32_t avx2;
    int32_t outer, count, inner;
} pq_mean_fast_plan;

/* 0 when the reduced dims are not one block, or the parameters could take an int32 step out of
 * range. */
int pq_mean_s8_fast_plan(int isa, int32_t rank, const int32_t *shape, const pq_mean_params *p,
                         pq_mean_fast_plan *plan);
/* sum: plan->inner int32 of scratch. */
pq_status pq_mean_s8_fast(const pq_mean_fast_plan *plan, const pq_mean_params *p, const int8_t *in, int8_t *out,
                          int32_t *sum);

/* SOFTMAX over the last dim as `outer` rows of `depth`: a value's exp depends only on its
 * difference d = max - x in [0, 255] from its row's maximum, so it is read from tables of the
 * reference's own function (pq_softmax.h). */
typedef struct {
    int32_t avx2;
    int32_t outer, depth;
    int32_t exps[256];     /* pq_sm_exp(-d): Q0; 0 where -d < diff_min (the reference skips those) */
    int32_t exps_q12[256]; /* the same rounded to Q12: what each adds to its row's sum */
} pq_softmax_fast_plan;

/* 0 when the parameters are outside what the reference kernel runs. */
int pq_softmax_s8_fast_plan(int isa, int32_t outer, int32_t depth, const pq_softmax_params *p,
                            pq_softmax_fast_plan *plan);
/* exps: depth int32 of scratch. */
pq_status pq_softmax_s8_fast(const pq_softmax_fast_plan *plan, const int8_t *in, int8_t *out, int32_t *exps);
/* ---- data movement: CONCATENATION, PAD, TRANSPOSE ------------------------ */
/* Portable C on every ISA: memcpy / memset of the longest runs the shapes allow (libc's are
 * already vectorised), tables for requantized bytes. Each plan is built by its _plan function
 * from the reference kernel's arguments, which it checks as the reference does (PQ_ERR_PARAM:
 * leave the op to the reference kernel). */

/* CONCATENATION: per input, its block of chunk[i] = axis_size[i] * inner bytes in each of
 * `outer` output rows, copied (table[i] < 0: the input has the output's quantization, the
 * reference's exact identity) or mapped through the 256-byte table tables + 256 * table[i]
 * (indexed by the input byte as unsigned), which the caller fills from the reference
 * arithmetic. */
typedef struct {
    int32_t n_inputs, outer, out_row, n_tables;
    int32_t chunk[PQ_MAX_CONCAT_INPUTS];
    int32_t table[PQ_MAX_CONCAT_INPUTS];
} pq_concat_fast_plan;
/* The plan of pq_concatenation_s8's arguments (requant: n_inputs rows of multiplier, shift,
 * input_offset); n_tables is how many inputs need a table. */
pq_status pq_concatenation_s8_fast_plan(int32_t n_inputs, const int32_t *axis_sizes, const int32_t *requant,
                                        int32_t output_offset, int32_t outer, int32_t inner,
                                        pq_concat_fast_plan *plan);
pq_status pq_concatenation_s8_fast(const pq_concat_fast_plan *plan, const uint8_t *tables,
                                   const int8_t *const *inputs, int8_t *out);

/* PAD (constant): dims with no padding merged into the dim before them, so each level of the
 * copy is a memset of the padding before, the input's rows (memcpy at the last level), a
 * memset of the padding after. */
typedef struct {
    int32_t rank, pad_value;
    int32_t in_shape[PQ_MAX_DIMS], before[PQ_MAX_DIMS], after[PQ_MAX_DIMS];
    int32_t in_stride[PQ_MAX_DIMS], out_stride[PQ_MAX_DIMS];
} pq_pad_fast_plan;
/* The plan of pq_pad_s8's arguments. */
pq_status pq_pad_s8_fast_plan(const pq_pad_params *p, int32_t rank, const int32_t *in_shape,
                              pq_pad_fast_plan *plan);
pq_status pq_pad_s8_fast(const pq_pad_fast_plan *plan, const int8_t *in, int8_t *out);

/* TRANSPOSE: size-1 dims dropped and input dims that stay adjacent in the output merged, then
 * one of: a single copy (the permutation moves nothing), contiguous runs (the last dim stays
 * last) copied whole, or tiles of the 2-D transpose between the input's last dim and the
 * output's last dim, under an odometer over the other dims. */
enum { PQ_TRANSPOSE_COPY = 0, PQ_TRANSPOSE_RUNS = 1, PQ_TRANSPOSE_TILES = 2 };
typedef struct {
    int32_t mode, rank, count;
    int32_t inner; /* TILES: the output dim that is the input's last (input stride 1) */
    int32_t out_shape[PQ_MAX_DIMS];
    int32_t in_step[PQ_MAX_DIMS];    /* input stride of output dim d */
    int32_t out_stride[PQ_MAX_DIMS]; /* output stride of output dim d */
} pq_transpose_fast_plan;
/* The plan of pq_transpose_s8's arguments. */
pq_status pq_transpose_s8_fast_plan(int32_t rank, const int32_t *in_shape, const int32_t *perm,
                                    pq_transpose_fast_plan *plan);
pq_status pq_transpose_s8_fast(const pq_transpose_fast_plan *plan, const int8_t *in, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* PQ_FAST_H */
