/*
 * The fast-vs-reference cases of ADD, MUL, MEAN and SOFTMAX (tests/c/fast_vs_reference.c
 * runs them as the ops "add", "mul", "mean" and "softmax"). Each case draws its shapes and
 * parameters within what the validator accepts, runs the reference kernel, then the
 * op's fast hooks (pq_<name>_s8_fast_op) on every supported ISA through fvr_run_fast.
 *   mul      ranks 1..6, every broadcast (each input whole or 1 along each dim, inputs
 *            of lower rank), squeeze-excitation gates and scalars often; offsets over
 *            [-127, 128], shifts over [-31, 14], multipliers 0 .. INT32_MAX and 2^30.
 *   add      same shapes (one flat run) or the broadcasts of mul, up to 20,000 elements (several
 *            chunks of the fast loop); TFLite's parameters: left shift 20 mostly, input
 *            shifts <= 0, output shifts over [-31, 30].
 *   mean     ranks 1..6, the reduced axes one block (dims of extent 1 anywhere, marked
 *            either way), keep_dims both ways, shifts up to the validator's bound.
 *   softmax  rows of 1..511 values (up to 511 the sum of exps cannot overflow the
 *            reference's range check), input shifts over [0, 31], diff_min anywhere
 *            in [-256, 0].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fvr.h"

/* An input offset (-zero point): the ends of [-127, 128] often. */
int32_t fvr_offset(fvr_rng *r)
{
    static const int32_t ends[] = {-127, 128, 0};
    return fvr_range(r, 0, 2) == 0 ? fvr_pick(r, ends, 3) : fvr_range(r, -127, 128);
}

int32_t fvr_multiplier(fvr_rng *r)
{
    switch (fvr_range(r, 0, 7)) {
    case 0:
        return 1 << 30; /* rounding ties */
    case 1:
        return fvr_range(r, 0, 1) ? INT32_MAX : fvr_range(r, 0, 3);
    case 2:
        return fvr_range(r, 0, INT32_MAX);
    default:
        return fvr_range(r, 1 << 30, INT32_MAX);
    }
}

/* Up to `rank` dims of at most `max_count` elements in all, extents of 1 often. */
static void arith_shape(fvr_rng *r, int rank, int32_t max_count, int32_t *dims)
{
    static const int32_t ext[] = {1, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 24, 33, 64, 96};
    int32_t count = 1;
    int k;
    for (k = rank - 1; k >= 0; --k) {
        int32_t e = fvr_pick(r, ext, (int32_t)(sizeof ext / sizeof ext[0]));
        while (e > 1 && count * e > max_count) --e;
        dims[k] = e;
        count *= e;
    }
}

/* The reference kernel's status `ref`, then the op's fast hooks on every supported ISA over
 * t[0 .. n_inputs] (inputs, then the output, whose data each ISA gets fresh). */
void fvr_run_all_isas(const char *name, pq_status ref, const pq_fast_op *op, const void *params, int n_inputs,
                      pq_tensor *t, const int8_t *want, const char *desc, fvr_check_fn check)
{
    static const int32_t io[3] = {0, 1, 2};
    const size_t n = (size_t)t[n_inputs].count;
    pq_node nd;
    int isa;
    if (ref != PQ_OK) {
        fprintf(stderr, "%s: the reference kernel failed: %s\n", name, desc);
        exit(1);
    }
    memset(&nd, 0, sizeof nd);
    nd.params = params;
    nd.io = io;
    nd.n_inputs = (uint16_t)n_inputs;
    nd.n_parts = 1;
    for (isa = 0; isa < PQ_ISA_COUNT; ++isa) {
        int8_t *got;
        if (!pq_isa_supported(isa)) continue;
        got = (int8_t *)fvr_alloc(n);
        t[n_inputs].data = got;
        fvr_run_fast(op, &nd, t, isa, desc);
        check(isa, want, got, n, desc);
    }
}

int8_t *fvr_binary_tensors(fvr_rng *r, pq_tensor *t, int rank, const int32_t *out, const int32_t *sa, int rank_a,
                           const int32_t *sb, int rank_b)
{
    int k;
    t[0] = fvr_tensor_of(NULL, rank_a, sa + (rank - rank_a));
    t[1] = fvr_tensor_of(NULL, rank_b, sb + (rank - rank_b));
    t[2] = fvr_tensor_of(NULL, rank, out);
    for (k = 0; k < 2; ++k) {
        t[k].data = fvr_alloc((size_t)t[k].count);
        fvr_fill_s8(r, (int8_t *)t[k].data, (size_t)t[k].count);
    }
    return (int8_t *)fvr_alloc((size_t)t[2].count);
}

/* Shapes of a broadcasting binary op: the output out[rank], the inputs' (aligned right) sa / sb
 * of ranks *rank_a / *rank_b. mode 0..1: squeeze-excitation (b whole on the last dim only), 2: b a
 * scalar, else each input whole or 1 along each dim at random (a broadcast, b whole, half the
 * time); 9: up to 6 * max_count / 600 elements (several chunks of the fast loops). */
static void arith_broadcast(fvr_rng *r, int rank, int32_t mode, int32_t max_count, int32_t *out, int32_t *sa,
                            int32_t *sb, int *rank_a, int *rank_b)
{
    int k;
    arith_shape(r, rank, mode < 8 ? max_count : 10 * max_count, out);
    for (k = 0; k < rank; ++k) {
        const int last = k == rank - 1;
        sa[k] = mode >= 3 && fvr_range(r, 0, 3) == 0 ? 1 : out[k];
        sb[k] = mode < 2 ? (last ? out[k] : 1) : (mode == 2 ? 1 : (fvr_range(r, 0, 1) ? 1 : out[k]));
    }
    if (mode >= 3 && fvr_range(r, 0, 1)) {
        for (k = 0; k < rank; ++k) { /* swap: a broadcast, b whole */
            const int32_t s = sa[k];
            sa[k] = sb[k];
            sb[k] = s;
        }
    }
    for (k = 0; k < rank; ++k) { /* the output is the broadcast of the two */
        if (sa[k] == 1 && sb[k] == 1) out[k] = 1;
    }
    /* Leading 1s may be absent from an input's own shape. */
    *rank_a = *rank_b = rank;
    while (*rank_a > 1 && sa[rank - *rank_a] == 1 && fvr_range(r, 0, 1)) --*rank_a;
    while (*rank_b > 1 && sb[rank - *rank_b] == 1 && fvr_range(r, 0, 1)) --*rank_b;
}

/* A binary case's tensors t[0..2] (inputs aligned right to the output's rank, of ranks rank_a /
 * rank_b), the inputs random, *want the output's buffer; the shapes described in buf. Returns
 * the description's length. */
static int arith_binary_tensors(fvr_rng *r, int rank, const int32_t *out, const int32_t *sa, int rank_a,
                                const int32_t *sb, int rank_b, pq_tensor *t, int8_t **want, char *buf, size_t n)
{
    *want = fvr_binary_tensors(r, t, rank, out, sa, rank_a, sb, rank_b);
    return snprintf(buf, n,
                    "rank %d out %ldx%ldx%ldx%ldx%ldx%ld a %ldx%ldx%ldx%ldx%ldx%ld (rank %d) b %ldx%ldx%ldx%ldx%ldx%ld "
                    "(rank %d) ",
                    rank, (long)out[0], (long)out[1], (long)out[2], (long)out[3], (long)out[4], (long)out[5],
                    (long)sa[0], (long)sa[1], (long)sa[2], (long)sa[3], (long)sa[4], (long)sa[5], rank_a, (long)sb[0],
                    (long)sb[1], (long)sb[2], (long)sb[3], (long)sb[4], (long)sb[5], rank_b);
}

void fvr_case_mul(fvr_rng *r, long index, fvr_check_fn check)
{
    const int rank = fvr_range(r, 1, PQ_MAX_DIMS);
    const int32_t mode = fvr_range(r, 0, 9);
    int32_t out[PQ_MAX_DIMS] = {0}, sa[PQ_MAX_DIMS] = {0}, sb[PQ_MAX_DIMS] = {0};
    int rank_a, rank_b, at;
    pq_mul_params p;
    pq_tensor t[3];
    int8_t *want;
    char desc[400];
    (void)index;
    arith_broadcast(r, rank, mode, 600, out, sa, sb, &rank_a, &rank_b);
    memset(&p, 0, sizeof p);
    p.input1_offset = fvr_offset(r);
    p.input2_offset = fvr_offset(r);
    p.output_offset = fvr_range(r, -128, 127);
    p.output_multiplier = fvr_multiplier(r);
    p.output_shift = fvr_range(r, 0, 3) ? fvr_range(r, -16, -4) : fvr_range(r, -31, 14);
    p.act_min = fvr_range(r, 0, 1) ? -128 : fvr_range(r, -128, 127);
    p.act_max = fvr_range(r, 0, 1) ? 127 : fvr_range(r, p.act_min, 127);
    at = arith_binary_tensors(r, rank, out, sa, rank_a, sb, rank_b, t, &want, desc, sizeof desc);
    snprintf(desc + at, sizeof desc - (size_t)at, "offsets %ld %ld %ld mult %ld shift %ld clamp [%ld, %ld]",
             (long)p.input1_offset, (long)p.input2_offset, (long)p.output_offset, (long)p.output_multiplier,
             (long)p.output_shift, (long)p.act_min, (long)p.act_max);
    fvr_run_all_isas("mul", pq_mul_s8(&p, rank, sa, t[0].data, sb, t[1].data, out, want), &pq_mul_s8_fast_op, &p, 2, t, want, desc,
                 check);
}

/* A multiplier of TFLite's ADD: [2^30, 2^31) mostly; 2^30 (rounding ties) or, when `any`, anything >= 0. */
static int32_t add_multiplier(fvr_rng *r, int any)
{
    if (!fvr_range(r, 0, 7)) return any ? fvr_range(r, 0, INT32_MAX) : (1 << 30);
    return fvr_range(r, 1 << 30, INT32_MAX);
}

void fvr_case_add(fvr_rng *r, long index, fvr_check_fn check)
{
    const int32_t mode = fvr_range(r, 0, 13);
    int rank = 1, rank_a = 1, rank_b = 1, at;
    int32_t out[PQ_MAX_DIMS] = {0}, sa[PQ_MAX_DIMS] = {0}, sb[PQ_MAX_DIMS] = {0};
    pq_add_params p;
    pq_tensor t[3];
    int8_t *want;
    char desc[500];
    (void)index;
    if (mode < 4) { /* same shapes, one flat run (the common residual add) */
        out[0] = sa[0] = sb[0] = mode < 3 ? fvr_range(r, 1, 300) : fvr_range(r, 300, 10000);
    } else {
        rank = fvr_range(r, 1, PQ_MAX_DIMS);
        arith_broadcast(r, rank, mode - 4, 2000, out, sa, sb, &rank_a, &rank_b);
    }
    memset(&p, 0, sizeof p);
    p.input1_offset = fvr_offset(r);
    p.input2_offset = fvr_offset(r);
    p.output_offset = fvr_range(r, -128, 127);
    p.left_shift = fvr_range(r, 0, 3) ? 20 : fvr_range(r, 0, 20);
    p.input1_multiplier = add_multiplier(r, 0);
    p.input2_multiplier = add_multiplier(r, 1);
    p.input1_shift = fvr_range(r, 0, 5) ? fvr_range(r, -3, 0) : fvr_range(r, -31, 0);
    p.input2_shift = fvr_range(r, 0, 5) ? fvr_range(r, -3, 0) : fvr_range(r, -31, 0);
    if (fvr_range(r, 0, 3) == 0) {
        /* TFLite's own: the larger-scale input gets multiplier 1/2 (2^30, shift 0), both when the
         * scales are equal (the NEON kernel's exact (x + offset) << 19 path). */
        const int32_t which = fvr_range(r, 0, 2);
        if (which != 1) p.input1_multiplier = 1 << 30, p.input1_shift = 0;
        if (which != 0) p.input2_multiplier = 1 << 30, p.input2_shift = 0;
    }
    p.output_multiplier = add_multiplier(r, 0);
    at = fvr_range(r, 0, 9);
    p.output_shift = at < 7 ? fvr_range(r, -24, -12) : (at < 9 ? fvr_range(r, -31, 0) : fvr_range(r, 1, 30));
    p.act_min = fvr_range(r, 0, 1) ? -128 : fvr_range(r, -128, 127);
    p.act_max = fvr_range(r, 0, 1) ? 127 : fvr_range(r, p.act_min, 127);
    at = arith_binary_tensors(r, rank, out, sa, rank_a, sb, rank_b, t, &want, desc, sizeof desc);
    snprintf(desc + at, sizeof desc - (size_t)at,
             "offsets %ld %ld %ld left_shift %ld mults %ld/%ld %ld/%ld %ld/%ld clamp [%ld, %ld]", (long)p.input1_offset,
             (long)p.input2_offset, (long)p.output_offset, (long)p.left_shift, (long)p.input1_multiplier,
             (long)p.input1_shift, (long)p.input2_multiplier, (long)p.input2_shift, (long)p.output_multiplier,
             (long)p.output_shift, (long)p.act_min, (long)p.act_max);
    fvr_run_all_isas("add", pq_add_s8(&p, rank, sa, t[0].data, sb, t[1].data, out, want), &pq_add_s8_fast_op, &p, 2, t, want, desc,
                 check);
}

void fvr_case_mean(fvr_rng *r, long index, fvr_check_fn check)
{
    const int rank = fvr_range(r, 1, PQ_MAX_DIMS);
    int32_t in[PQ_MAX_DIMS], out[PQ_MAX_DIMS];
    int32_t lo = fvr_range(r, 0, rank - 1), hi, count = 1, max_left = 0, k, n_out = 0;
    pq_mean_params p;
    pq_tensor t[2];
    int8_t *x, *want;
    char desc[300];
    (void)index;
    /* Global average pooling of NHWC half the time. */
    if (rank == 4 && fvr_range(r, 0, 1)) {
        static const int32_t hw[] = {1, 2, 3, 5, 7, 12, 14};
        in[0] = fvr_range(r, 0, 3) ? 1 : 2;
        in[1] = fvr_pick(r, hw, 7);
        in[2] = fvr_pick(r, hw, 7);
        in[3] = fvr_range(r, 1, 160);
        lo = 1;
        hi = 2;
    } else {
        arith_shape(r, rank, 4000, in);
        hi = fvr_range(r, lo, rank - 1);
    }
    memset(&p, 0, sizeof p);
    for (k = 0; k < rank; ++k) {
        /* The block [lo, hi], and dims of extent 1 anywhere marked either way. */
        if ((k >= lo && k <= hi) || (in[k] == 1 && fvr_range(r, 0, 1))) {
            p.axis_mask |= 1 << k;
            count *= in[k];
        }
    }
    p.keep_dims = fvr_range(r, 0, 1);
    for (k = 0; k < rank; ++k) {
        if (!((p.axis_mask >> k) & 1)) {
            out[n_out++] = in[k];
        } else if (p.keep_dims) {
            out[n_out++] = 1;
        }
    }
    if (n_out == 0) out[n_out++] = 1; /* a scalar mean as a 1-element tensor */
    while (((256 * (int64_t)count) << (max_left + 1)) < ((int64_t)1 << 31) && max_left < 30) ++max_left;
    p.input_offset = fvr_offset(r);
    p.output_offset = fvr_range(r, -128, 127);
    p.multiplier = fvr_multiplier(r);
    p.shift = fvr_range(r, 0, 3) ? fvr_range(r, -12, 0) : fvr_range(r, -31, max_left);
    t[0] = fvr_tensor_of(NULL, rank, in);
    t[1] = fvr_tensor_of(NULL, n_out, out);
    x = (int8_t *)fvr_alloc((size_t)t[0].count);
    want = (int8_t *)fvr_alloc((size_t)t[1].count);
    fvr_fill_s8(r, x, (size_t)t[0].count);
    t[0].data = x;
    snprintf(desc, sizeof desc,
             "in %ldx%ldx%ldx%ldx%ldx%ld (rank %d) axis_mask 0x%lx keep_dims %ld offsets %ld %ld mult %ld shift %ld",
             (long)in[0], (long)in[1], (long)in[2], (long)in[3], (long)in[4], (long)in[5], rank, (long)p.axis_mask,
             (long)p.keep_dims, (long)p.input_offset, (long)p.output_offset, (long)p.multiplier, (long)p.shift);
    fvr_run_all_isas("mean", pq_mean_s8(&p, rank, in, p.axis_mask, x, want), &pq_mean_s8_fast_op, &p, 1, t, want, desc,
                 check);
}

void fvr_case_softmax(fvr_rng *r, long index, fvr_check_fn check)
{
    static const int32_t depths[] = {1, 2, 3, 10, 12, 16, 31, 64, 100, 255, 256, 511};
    const int32_t depth = fvr_range(r, 0, 1) ? fvr_pick(r, depths, 12) : fvr_range(r, 1, 511);
    const int32_t rows = fvr_range(r, 0, 3) ? fvr_range(r, 1, 4) : fvr_range(r, 5, 40);
    const int32_t shape[2] = {rows, depth};
    pq_softmax_params p;
    pq_tensor t[2];
    int8_t *x, *want;
    char desc[200];
    (void)index;
    memset(&p, 0, sizeof p);
    p.input_multiplier = fvr_multiplier(r);
    p.input_left_shift = fvr_range(r, 0, 2) ? fvr_range(r, 18, 28) : fvr_range(r, 0, 31);
    p.diff_min = fvr_range(r, 0, 3) ? -fvr_range(r, 0, 256) : fvr_range(r, -300, 0);
    t[0] = fvr_tensor_of(NULL, 2, shape);
    t[1] = fvr_tensor_of(NULL, 2, shape);
    x = (int8_t *)fvr_alloc((size_t)t[0].count);
    want = (int8_t *)fvr_alloc((size_t)t[1].count);
    fvr_fill_s8(r, x, (size_t)t[0].count);
    t[0].data = x;
    snprintf(desc, sizeof desc, "rows %ld depth %ld input_multiplier %ld input_left_shift %ld diff_min %ld",
             (long)rows, (long)depth, (long)p.input_multiplier, (long)p.input_left_shift, (long)p.diff_min);
    fvr_run_all_isas("softmax", pq_softmax_s8(&p, rows, depth, x, want), &pq_softmax_s8_fast_op, &p, 1, t, want, desc,
                 check);
}
