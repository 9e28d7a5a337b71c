/*
 * The fast-vs-reference harness (tests/c/fast_vs_reference.c and fvr_*.c):
 * shared declarations. Host/cross test code, not kernel code: it may use
 * libc, mmap and malloc.
 */
#ifndef FVR_H
#define FVR_H

#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_ops.h"
#include "pq_isa_traits.h"
#include "pq_kernels.h"

/* ---- reproducible randomness (splitmix64) ---- */
typedef struct {
    uint64_t s;
} fvr_rng;

uint64_t fvr_next(fvr_rng *r);
int32_t fvr_range(fvr_rng *r, int32_t lo, int32_t hi); /* uniform in [lo, hi] */
int32_t fvr_pick(fvr_rng *r, const int32_t *values, int32_t n);
void fvr_fill_s8(fvr_rng *r, int8_t *dst, size_t n); /* random int8, sometimes extreme patterns */

/* ---- guarded buffers ----
 * fvr_alloc(n) returns a buffer between two inaccessible pages: alternately
 * its first byte past round_up(n, 16) starts the page after it (16 bytes: the
 * arena's tensor alignment, so a kernel may read to the end of a tensor's
 * 16-byte granule, as it may in the interpreter's arena, and no further), or
 * its first byte ends the page before it. Start is 16-aligned; 64-aligned
 * when n is a multiple of 64 (packed weights, scratch). Filled with a junk
 * byte. fvr_free_all() releases every buffer of the current case. */
void *fvr_alloc(size_t n);
/* Zeroed, as the interpreter's load-time buffers (packed weights, constants). */
void *fvr_alloc_zero(size_t n);
void fvr_free_all(void);

/* ---- one case's operands (the binding is the interpreter's: pq_<name>_s8_fast_op hooks) ---- */

typedef struct {
    pq_conv_params p;
    pq_dims in_dims, filter_dims, out_dims;
    const int8_t *filter;
    const int32_t *bias; /* may be NULL */
    const int32_t *mult, *shift;
} fvr_conv;

typedef struct {
    pq_fc_params p;
    int32_t batches, k, n;
    const int8_t *filter;
    const int32_t *bias;
    const int32_t *mult, *shift; /* n entries, or 1 when !p.per_channel */
} fvr_fc;

/* A tensor of `rank` (<= 4) dims over `data`, int8. */
pq_tensor fvr_tensor(const void *data, int rank, int32_t d0, int32_t d1, int32_t d2, int32_t d3);
/* The same for any rank up to PQ_MAX_DIMS, dims in an array. */
pq_tensor fvr_tensor_of(const void *data, int rank, const int32_t *dims);
/* A tensor of `rank` (<= PQ_MAX_DIMS) dims[] over `data`, of dtype 1 (int8) or 2 (int32). */
pq_tensor fvr_tensor_dims(const void *data, int dtype, int rank, const int32_t *dims);
/* Plan and prepare `op` on `isa` as the interpreter does (state and scratch guarded), then run
 * it whole; exits 1 naming `what` when the hooks refuse or fail. */
void fvr_run_fast(const pq_fast_op *op, pq_node *nd, const pq_tensor *t, int isa, const char *what);
/* A CONV_2D / DEPTHWISE_CONV_2D node over t[0..5] (input, filter, bias, mult, shift, output). */
void fvr_conv_node(const fvr_conv *cv, const int8_t *in, int8_t *out, pq_tensor *t, int32_t *io, pq_node *nd);

/* ---- ops whose cases live in files of their own (fvr_arith.c: ADD, MUL, MEAN, SOFTMAX) ----
 * Each draws case `index` from r, runs the reference kernel, then the op's fast hooks on every
 * supported ISA, handing each ISA's output to `check` (which exits 1 on a mismatch). */
typedef void (*fvr_check_fn)(int isa, const int8_t *want, int8_t *got, size_t n, const char *desc);
void fvr_case_add(fvr_rng *r, long index, fvr_check_fn check);
void fvr_case_mul(fvr_rng *r, long index, fvr_check_fn check);
void fvr_case_mean(fvr_rng *r, long index, fvr_check_fn check);
void fvr_case_softmax(fvr_rng *r, long index, fvr_check_fn check);
/* fvr_matmul.c: BATCH_MATMUL and GATHER. */
void fvr_case_batch_matmul(fvr_rng *r, long index, fvr_check_fn check);
void fvr_case_gather(fvr_rng *r, long index, fvr_check_fn check);
/* fvr_s16.c: the 16x8 CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED (int16 outputs, compared as bytes). */
void fvr_case_conv_s16(fvr_rng *r, long index, fvr_check_fn check);
void fvr_case_dw_s16(fvr_rng *r, long index, fvr_check_fn check);
void fvr_case_fc_s16(fvr_rng *r, long index, fvr_check_fn check);
/* What the cases of fvr_arith.c and fvr_matmul.c share: an input offset (-zero point, the ends
 * of [-127, 128] often), a Q31 multiplier (ties, 0, extremes often), and the run of the op's
 * fast hooks on every supported ISA over t[0 .. n_inputs] (inputs, then the output) after the
 * reference kernel's status `ref`. */
int32_t fvr_offset(fvr_rng *r);
/* t[0], t[1]: random int8 operands of rank_a / rank_b dims, the last ones of sa[] / sb[] (of
 * `rank` entries); t[2]: the output, `rank` dims out[], its data left to each run. Returns a
 * buffer for the reference's output. */
int8_t *fvr_binary_tensors(fvr_rng *r, pq_tensor *t, int rank, const int32_t *out, const int32_t *sa, int rank_a,
                           const int32_t *sb, int rank_b);
int32_t fvr_multiplier(fvr_rng *r);
void fvr_run_all_isas(const char *name, pq_status ref, const pq_fast_op *op, const void *params, int n_inputs,
                      pq_tensor *t, const int8_t *want, const char *desc, fvr_check_fn check);
/* ---- data-movement cases (fvr_move.c): CONCATENATION, PAD, TRANSPOSE, RESHAPE ---- */
enum { FVR_CONCAT, FVR_PAD, FVR_TRANSPOSE, FVR_RESHAPE };
typedef struct {
    const pq_fast_op *op;                        /* the op's fast hooks */
    pq_status (*eval)(const pq_node *, const pq_tensor *); /* its reference entry */
    pq_node nd;
    pq_tensor t[PQ_MAX_CONCAT_INPUTS + 2];       /* inputs, then the output (tensor `out`) */
    int32_t io[PQ_MAX_CONCAT_INPUTS + 2];
    int out;
    union {
        pq_concat_params concat;
        pq_pad_params pad;
        pq_transpose_params transpose;
    } params;
    int8_t *want; /* the reference's output, n bytes */
    size_t n;
    char desc[256];
} fvr_move_case;
/* A random case of op `which` (FVR_*) and its reference output. */
void fvr_move_gen(fvr_rng *r, int which, fvr_move_case *c);
/* The fast kernel's output on `isa`, in a fresh guarded buffer. */
int8_t *fvr_move_run(fvr_move_case *c, int isa);

/* ---- lane checks of the NEON requantization (aarch64; elsewhere returns 0) ---- */
/* Returns the number of lanes checked; on a mismatch prints it and exits 1. */
long fvr_check_requant_neon(fvr_rng *r, long n);


#endif /* FVR_H */
