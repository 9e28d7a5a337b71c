/*
 * fast_vs_reference: the fast kernels (pq_fast.h) against the reference
 * kernels (pq_kernels.h), byte for byte, on every ISA this build and CPU run
 * (pq_isa_supported): portable, AVX2 and AVX-512 VNNI on x86-64; portable,
 * NEON and NEON dot product on aarch64. This is how the NEON kernels are
 * tested on an x86 machine: tests/test_neon_kernels.py cross-compiles it and
 * runs it under qemu-aarch64 with and without the dot-product extension.
 *
 *   cc -O2 -std=c99 -I runtime/kernels/include tests/c/fast_vs_reference.c
 *      tests/c/fvr_*.c runtime/kernels/src/(every .c)
 *      -o fast_vs_reference
 *   ./fast_vs_reference [--cases N] [--seed S] [--requant N] [--case OP:I] [--perturb]
 *
 * For each op (conv2d, depthwise, fc; add, mul, mean, softmax in fvr_arith.c; the data-movement
 * ops of fvr_move.c: concat, pad, transpose, reshape; batch_matmul and gather in fvr_matmul.c;
 * the 16x8 conv2d_s16, depthwise_s16 and fc_s16 in fvr_s16.c)
 * N random cases (default 200),
 * each derived from (seed, op, index) alone, so `--case conv2d:17` reruns
 * one. Cases draw shapes, strides, paddings (SAME, VALID, explicit),
 * dilations, groups, batches, channel counts around and off the vector
 * widths, zero points over all of [-128, 127], weights and inputs with -128
 * and extreme patterns, per-channel or per-tensor multipliers including 0, 1,
 * 2^30 (exact rounding ties), INT32_MAX, shifts from -31 to 30 (left shifts
 * wrap), biases near the int32 limits (accumulators wrap) and clamps. The
 * kernels are planned, prepared and run through the interpreter core's own
 * hooks (pq_<name>_s8_fast_op, pq_fast_ops.h). Every tensor, prepared state
 * block and scratch buffer ends at an inaccessible page, so a read or write
 * past one faults. --requant N also checks N lanes of the NEON
 * requantization against the scalar fixed point (aarch64 only).
 *
 * Exit 0 and a summary when all outputs are identical; on the first
 * mismatch, a description and exit 1. --perturb flips one byte of the best
 * ISA's first fast output before comparing (a canary: the run must fail).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fvr.h"
#include "pq_fast.h"
#include "pq_kernels.h"

enum {
    OP_CONV,
    OP_DW,
    OP_FC,
    OP_ADD,
    OP_MUL,
    OP_MEAN,
    OP_SOFTMAX,
    OP_CONCAT,
    OP_PAD,
    OP_TRANSPOSE,
    OP_RESHAPE,
    OP_BATCH_MATMUL,
    OP_GATHER,
    OP_CONV_S16, /* fvr_s16.c */
    OP_DW_S16,
    OP_FC_S16,
    OP_COUNT
};
static const char *const k_op_names[OP_COUNT] = {"conv2d",  "depthwise", "fc",        "add",          "mul",
                                                 "mean",    "softmax",   "concat",    "pad",          "transpose",
                                                 "reshape", "batch_matmul", "gather",
                                                 "conv2d_s16", "depthwise_s16", "fc_s16"};
/* The ops whose cases are in their own files (fvr.h), by op (the data-movement ops: below). */
static void (*const k_op_cases[OP_COUNT])(fvr_rng *, long, fvr_check_fn) = {
    NULL, NULL, NULL, fvr_case_add, fvr_case_mul, fvr_case_mean, fvr_case_softmax, NULL, NULL, NULL, NULL,
    fvr_case_batch_matmul, fvr_case_gather, fvr_case_conv_s16, fvr_case_dw_s16, fvr_case_fc_s16};

static int g_perturb; /* the ISA whose first output gets one wrong byte, or -1 */
static long g_counts[PQ_ISA_COUNT][OP_COUNT];
static long g_feeds[PQ_ISA_COUNT][7]; /* PQ_FEED_*, then ROWS with runs padded */

/* ---- random parameters --------------------------------------------------- */

static int32_t gen_channels(fvr_rng *r, int32_t lo, int32_t hi)
{
    static const int32_t edges[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 20, 24, 31, 32, 33, 47, 63, 64, 65, 72};
    int32_t c = fvr_range(r, 0, 1) ? fvr_pick(r, edges, (int32_t)(sizeof edges / sizeof edges[0]))
                                   : fvr_range(r, lo, hi);
    return c < lo ? lo : (c > hi ? hi : c);
}

/* floor(log2(v)) for v >= 1 */
static int32_t ilog2(int64_t v)
{
    int32_t b = 0;
    while (v > 1) {
        v >>= 1;
        ++b;
    }
    return b;
}

/* One (multiplier, shift) pair; k is the reduction depth, to aim the natural
 * shifts at outputs that use the int8 range. */
static void gen_mult_shift(fvr_rng *r, int32_t k, int32_t *m, int32_t *s)
{
    const int32_t mode = fvr_range(r, 0, 19);
    const int32_t natural = -(14 + ilog2(k) / 2 - 7) + fvr_range(r, -3, 3);
    if (mode < 14) {
        *s = natural < -31 ? -31 : (natural > 30 ? 30 : natural);
    } else if (mode < 16) {
        *s = fvr_range(r, 1, 30); /* left shifts: x << s wraps */
    } else if (mode < 18) {
        *s = fvr_range(r, 0, 1) ? -31 : 30;
    } else {
        *s = fvr_range(r, -31, 30);
    }
    switch (fvr_range(r, 0, 9)) {
    case 0:
        *m = 1 << 30; /* SRDHM and RDPOT ties */
        break;
    case 1:
        *m = fvr_range(r, 0, 2) == 0 ? 0 : (fvr_range(r, 0, 1) ? 1 : INT32_MAX);
        break;
    case 2:
        *m = fvr_range(r, 0, INT32_MAX);
        break;
    default:
        *m = fvr_range(r, 1 << 30, INT32_MAX); /* QuantizeMultiplier's range */
    }
}

static void gen_mults(fvr_rng *r, int32_t n, int32_t k, int per_channel, int32_t *m, int32_t *s)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        if (per_channel || i == 0) {
            gen_mult_shift(r, k, &m[i], &s[i]);
        } else {
            m[i] = m[0];
            s[i] = s[0];
        }
    }
}

/* NULL, small, or anywhere in int32 (sums wrap). */
static int32_t *gen_bias(fvr_rng *r, int32_t n)
{
    const int32_t mode = fvr_range(r, 0, 3);
    int32_t *b;
    int32_t i;
    if (mode == 0) {
        return NULL;
    }
    b = (int32_t *)fvr_alloc((size_t)n * sizeof(int32_t));
    for (i = 0; i < n; ++i) {
        if (mode == 1) {
            b[i] = fvr_range(r, -30000, 30000);
        } else if (mode == 2) {
            b[i] = fvr_range(r, 0, 1) ? INT32_MAX - fvr_range(r, 0, 100000) : INT32_MIN + fvr_range(r, 0, 100000);
        } else {
            b[i] = (int32_t)(uint32_t)fvr_next(r);
        }
    }
    return b;
}

static int32_t gen_zero_point(fvr_rng *r)
{
    static const int32_t ends[] = {-128, 127};
    const int32_t mode = fvr_range(r, 0, 3);
    return mode == 0 ? fvr_pick(r, ends, 2) : (mode == 1 ? fvr_range(r, -20, 20) : fvr_range(r, -128, 127));
}

static void gen_clamp(fvr_rng *r, int32_t out_offset, int32_t *lo, int32_t *hi)
{
    switch (fvr_range(r, 0, 3)) {
    case 0:
        *lo = -128, *hi = 127;
        break;
    case 1: /* RELU */
        *lo = out_offset, *hi = 127;
        break;
    case 2: /* RELU6-like */
        *lo = out_offset;
        *hi = out_offset + fvr_range(r, 0, 127);
        *hi = *hi > 127 ? 127 : *hi;
        break;
    default:
        *lo = fvr_range(r, -128, 127);
        *hi = fvr_range(r, *lo, 127);
    }
}

/* One spatial axis: filter size, stride, dilation, padding mode -> pad_before and out. */
static void gen_axis(fvr_rng *r, int32_t in, int32_t *k, int32_t s, int32_t d, int32_t mode, int32_t *pad,
                     int32_t *out)
{
    int32_t eff;
    if (mode == 1 && (*k - 1) * d + 1 > in) { /* VALID: the dilated filter must fit */
        *k = (in - 1) / d + 1;
    }
    eff = (*k - 1) * d + 1;
    if (mode == 0) { /* SAME, as TFLite's ComputePaddingWithOffset */
        int32_t total;
        *out = (in + s - 1) / s;
        total = (*out - 1) * s + eff - in;
        *pad = total > 0 ? total / 2 : 0;
    } else if (mode == 1) {
        *pad = 0;
        *out = (in - eff) / s + 1;
    } else { /* explicit, asymmetric (ONNX pads) */
        int32_t after = fvr_range(r, 0, eff - 1);
        *pad = fvr_range(r, 0, eff - 1);
        if (in + *pad + after < eff) {
            after = eff - in - *pad;
        }
        *out = (in + *pad + after - eff) / s + 1;
    }
}

/* A CONV_2D (depthwise == 0) or DEPTHWISE_CONV_2D (depth multiplier 1 mostly, else 2, 3 or 4) case. */
static void gen_conv(fvr_rng *r, int depthwise, fvr_conv *cv, int8_t **in)
{
    static const int32_t ks[] = {1, 1, 2, 3, 3, 3, 4, 5};
    static const int32_t strides[] = {1, 1, 1, 2, 2, 3};
    static const int32_t dils[] = {1, 1, 1, 1, 2, 3};
    static const int32_t groups_of[] = {1, 1, 1, 1, 2, 3, 4};
    static const int32_t batches[] = {1, 1, 1, 2, 3};
    static const int32_t multipliers[] = {1, 1, 1, 2, 3, 4};
    const int32_t dm = depthwise ? fvr_pick(r, multipliers, 6) : 1;
    const int big = fvr_range(r, 0, 9) == 0;
    /* The shapes of the NEON dot-product kernel's assembly blocks (pq_gemm_s8_neon_dot.c:
     * 4 rows x 16 channels, whole 16-byte chunks, every channel's shift a right shift):
     * 16 to 96 input channels (1 to 6 chunks per tap, or f_w times that per filter row:
     * the three-chunk loads and the one or two after, none), 16 or more output channels
     * (not always a multiple of 16), any filter (one tap or many), pixels in any count. */
    const int tile = !depthwise && fvr_range(r, 0, 4) == 0;
    const int32_t groups = depthwise || tile ? 1 : fvr_pick(r, groups_of, 7);
    const int32_t mode = fvr_range(r, 0, 2);
    int32_t h = fvr_range(r, 1, big ? 40 : 14), w = fvr_range(r, 1, big ? 40 : 14);
    int32_t kh = fvr_pick(r, ks, 8), kw = fvr_pick(r, ks, 8);
    int32_t dh = fvr_pick(r, dils, 6), dw = fvr_pick(r, dils, 6);
    const int32_t sh = fvr_pick(r, strides, 6), sw = fvr_pick(r, strides, 6);
    int32_t cin, cout, n_mult, k, i;
    int32_t *mult, *shift, *bias;
    int8_t *filter;
    pq_conv_params *p = &cv->p;
    if (!depthwise && fvr_range(r, 0, 5) == 0) { /* pointwise, as in most of a MobileNet */
        kh = kw = 1;
    }
    if (depthwise && fvr_range(r, 0, 1)) { /* the 3x3 filters models use */
        kh = kw = 3;
        dh = dw = 1;
        h = h < 3 ? 3 : h;
        w = w < 3 ? 3 : w;
    }
    cin = depthwise ? gen_channels(r, 1, (big ? 140 : 80) / dm) : groups * gen_channels(r, 1, groups == 1 ? (big ? 140 : 40) : 12);
    if (!depthwise && fvr_range(r, 0, 3) == 0) { /* runs of 16-byte multiples: NEON reads taps in place */
        cin = groups * 16 * fvr_range(r, 1, groups == 1 ? 4 : 2);
    }
    if (tile) {
        cin = 16 * fvr_range(r, 1, 6);
    }
    if (depthwise) {
        cout = cin * dm;
    } else if (tile) {
        cout = gen_channels(r, 16, big ? 140 : 70);
    } else {
        const int32_t per_group = gen_channels(r, 1, big ? 140 : 70) / groups;
        cout = groups * (per_group > 0 ? per_group : 1);
    }
    memset(cv, 0, sizeof *cv);
    p->stride_h = sh, p->stride_w = sw;
    p->dilation_h = dh, p->dilation_w = dw;
    p->depth_multiplier = dm;
    cv->in_dims.n = fvr_pick(r, batches, 5);
    cv->in_dims.h = h, cv->in_dims.w = w, cv->in_dims.c = cin;
    gen_axis(r, h, &kh, sh, dh, mode, &p->pad_h, &cv->out_dims.h);
    gen_axis(r, w, &kw, sw, dw, mode, &p->pad_w, &cv->out_dims.w);
    cv->out_dims.n = cv->in_dims.n;
    cv->out_dims.c = cout;
    cv->filter_dims.n = depthwise ? 1 : cout;
    cv->filter_dims.h = kh, cv->filter_dims.w = kw;
    cv->filter_dims.c = depthwise ? cout : cin / groups;
    p->input_offset = -gen_zero_point(r);
    p->output_offset = fvr_range(r, -128, 127);
    gen_clamp(r, p->output_offset, &p->act_min, &p->act_max);
    k = kh * kw * (depthwise ? 1 : cin / groups);
    filter = (int8_t *)fvr_alloc((size_t)kh * (size_t)kw * (size_t)cv->filter_dims.c * (size_t)cv->filter_dims.n);
    fvr_fill_s8(r, filter, (size_t)kh * (size_t)kw * (size_t)cv->filter_dims.c * (size_t)cv->filter_dims.n);
    n_mult = cout;
    mult = (int32_t *)fvr_alloc((size_t)n_mult * sizeof(int32_t));
    shift = (int32_t *)fvr_alloc((size_t)n_mult * sizeof(int32_t));
    gen_mults(r, n_mult, k, fvr_range(r, 0, 3) != 0, mult, shift);
    for (i = 0; tile && i < n_mult; ++i) {
        shift[i] = shift[i] < 0 ? shift[i] : -fvr_range(r, 1, 31);
    }
    bias = gen_bias(r, cout);
    cv->filter = filter;
    cv->bias = bias;
    cv->mult = mult;
    cv->shift = shift;
    *in = (int8_t *)fvr_alloc((size_t)cv->in_dims.n * (size_t)h * (size_t)w * (size_t)cin);
    fvr_fill_s8(r, *in, (size_t)cv->in_dims.n * (size_t)h * (size_t)w * (size_t)cin);
}

static void describe_conv(char *buf, size_t n, const fvr_conv *cv)
{
    snprintf(buf, n,
             "in %ldx%ldx%ldx%ld filter %ldx%ldx%ldx%ld out %ldx%ldx%ldx%ld stride %ld,%ld dilation %ld,%ld "
             "pad %ld,%ld input_offset %ld output_offset %ld clamp [%ld, %ld] bias %s mult[0] %ld shift[0] %ld",
             (long)cv->in_dims.n, (long)cv->in_dims.h, (long)cv->in_dims.w, (long)cv->in_dims.c,
             (long)cv->filter_dims.n, (long)cv->filter_dims.h, (long)cv->filter_dims.w, (long)cv->filter_dims.c,
             (long)cv->out_dims.n, (long)cv->out_dims.h, (long)cv->out_dims.w, (long)cv->out_dims.c,
             (long)cv->p.stride_h, (long)cv->p.stride_w, (long)cv->p.dilation_h, (long)cv->p.dilation_w,
             (long)cv->p.pad_h, (long)cv->p.pad_w, (long)cv->p.input_offset, (long)cv->p.output_offset,
             (long)cv->p.act_min, (long)cv->p.act_max, cv->bias ? "yes" : "no", (long)cv->mult[0], (long)cv->shift[0]);
}

/* A FULLY_CONNECTED case; index 0 is the 70,000-deep one whose sums wrap int32 several times. */
static void gen_fc(fvr_rng *r, long index, fvr_fc *f, int8_t **in)
{
    static const int32_t batches[] = {1, 1, 1, 2, 3, 4, 5, 9};
    const int32_t mode = fvr_range(r, 0, 9);
    int32_t n_mult;
    int8_t *filter;
    int32_t *mult, *shift;
    memset(f, 0, sizeof *f);
    f->batches = fvr_pick(r, batches, 8);
    f->k = mode < 6 ? gen_channels(r, 1, 300) : (mode < 9 ? fvr_range(r, 300, 700) : fvr_range(r, 700, 2500));
    f->n = gen_channels(r, 1, 200);
    f->p.per_channel = fvr_range(r, 0, 1);
    f->p.input_offset = -gen_zero_point(r);
    f->p.output_offset = fvr_range(r, -128, 127);
    gen_clamp(r, f->p.output_offset, &f->p.act_min, &f->p.act_max);
    if (index == 0) {
        f->batches = 2, f->k = 70000, f->n = 5;
        f->p.input_offset = 128;
    }
    filter = (int8_t *)fvr_alloc((size_t)f->n * (size_t)f->k);
    fvr_fill_s8(r, filter, (size_t)f->n * (size_t)f->k);
    *in = (int8_t *)fvr_alloc((size_t)f->batches * (size_t)f->k);
    fvr_fill_s8(r, *in, (size_t)f->batches * (size_t)f->k);
    if (index == 0) {
        int32_t i;
        for (i = 0; i < f->k; ++i) {
            filter[i] = 127;
            filter[f->k + i] = -128;
            filter[2 * f->k + i] = (i & 1) ? 127 : -128;
            (*in)[i] = 127; /* x + 128 = 255 */
        }
    }
    n_mult = f->p.per_channel ? f->n : 1;
    mult = (int32_t *)fvr_alloc((size_t)n_mult * sizeof(int32_t));
    shift = (int32_t *)fvr_alloc((size_t)n_mult * sizeof(int32_t));
    gen_mults(r, n_mult, f->k, 1, mult, shift);
    f->filter = filter;
    f->bias = gen_bias(r, f->n);
    f->mult = mult;
    f->shift = shift;
}

/* ---- comparison ---------------------------------------------------------- */

static void compare(int op, long index, int isa, const int8_t *want, int8_t *got, size_t n, const char *desc,
                    unsigned long long seed)
{
    size_t i;
    if (g_perturb == isa && n > 0) {
        got[n / 2] ^= 1; /* the canary: one wrong byte must be caught */
        g_perturb = -1;
    }
    for (i = 0; i < n; ++i) {
        if (want[i] != got[i]) {
            size_t bad = 0, j;
            for (j = i; j < n; ++j) {
                bad += want[j] != got[j];
            }
            fprintf(stderr,
                    "MISMATCH %s case %ld (rerun: --seed %llu --case %s:%ld) on isa %s: %lu of %lu bytes differ, "
                    "first at %lu: fast %d, reference %d\n  %s\n",
                    k_op_names[op], index, seed, k_op_names[op], index, pq_isa_traits_get(isa)->name, (unsigned long)bad,
                    (unsigned long)n, (unsigned long)i, got[i], want[i], desc);
            exit(1);
        }
    }
    ++g_counts[isa][op];
}

/* The case compare() reports for the ops of k_op_cases. */
static int g_case_op;
static long g_case_index;
static unsigned long long g_case_seed;

static void check_case(int isa, const int8_t *want, int8_t *got, size_t n, const char *desc)
{
    compare(g_case_op, g_case_index, isa, want, got, n, desc, g_case_seed);
}

static void run_case(int op, long index, unsigned long long seed)
{
    fvr_rng r;
    char desc[512];
    int isa;
    r.s = seed * 0x100000001B3ull + (unsigned long long)op * 0x10000000ull + (unsigned long long)index;
    fvr_next(&r);
    if (k_op_cases[op] != NULL) {
        g_case_op = op;
        g_case_index = index;
        g_case_seed = seed;
        k_op_cases[op](&r, index, check_case);
    } else if (op == OP_CONV || op == OP_DW) {
        fvr_conv cv;
        int8_t *in, *want;
        size_t out_n;
        gen_conv(&r, op == OP_DW, &cv, &in);
        out_n = (size_t)cv.out_dims.n * (size_t)cv.out_dims.h * (size_t)cv.out_dims.w * (size_t)cv.out_dims.c;
        want = (int8_t *)fvr_alloc(out_n);
        describe_conv(desc, sizeof desc, &cv);
        if (op == OP_CONV) {
            pq_conv2d_s8(&cv.p, cv.mult, cv.shift, &cv.in_dims, in, &cv.filter_dims, cv.filter, cv.bias, &cv.out_dims,
                         want);
        } else {
            pq_depthwise_conv2d_s8(&cv.p, cv.mult, cv.shift, &cv.in_dims, in, &cv.filter_dims, cv.filter, cv.bias,
                                   &cv.out_dims, want);
        }
        for (isa = 0; isa < PQ_ISA_COUNT; ++isa) {
            int8_t *got = (int8_t *)fvr_alloc(out_n);
            pq_tensor t[6];
            int32_t io[6];
            pq_node nd;
            if (!pq_isa_supported(isa)) {
                continue;
            }
            fvr_conv_node(&cv, in, got, t, io, &nd);
            if (op == OP_CONV) {
                const pq_conv2d_fast_plan *pl;
                fvr_run_fast(&pq_conv2d_s8_fast_op, &nd, t, isa, desc);
                pl = (const pq_conv2d_fast_plan *)nd.fast; /* the op's state starts with its plan */
                ++g_feeds[isa][pl->direct];
                g_feeds[isa][6] += pl->direct == PQ_FEED_ROWS && pl->kt != cv.filter_dims.w * cv.filter_dims.c;
            } else {
                fvr_run_fast(&pq_depthwise_conv2d_s8_fast_op, &nd, t, isa, desc);
            }
            compare(op, index, isa, want, got, out_n, desc, seed);
        }
    } else if (op == OP_FC) {
        fvr_fc f;
        int8_t *in, *want;
        size_t out_n;
        gen_fc(&r, index, &f, &in);
        out_n = (size_t)f.batches * (size_t)f.n;
        want = (int8_t *)fvr_alloc(out_n);
        snprintf(desc, sizeof desc,
                 "batches %ld k %ld n %ld per_channel %ld input_offset %ld output_offset %ld clamp [%ld, %ld] "
                 "bias %s mult[0] %ld shift[0] %ld",
                 (long)f.batches, (long)f.k, (long)f.n, (long)f.p.per_channel, (long)f.p.input_offset,
                 (long)f.p.output_offset, (long)f.p.act_min, (long)f.p.act_max, f.bias ? "yes" : "no",
                 (long)f.mult[0], (long)f.shift[0]);
        pq_fully_connected_s8(&f.p, f.mult, f.shift, f.batches, f.k, f.n, in, f.filter, f.bias, want);
        for (isa = 0; isa < PQ_ISA_COUNT; ++isa) {
            const int32_t n_mult = f.p.per_channel ? f.n : 1;
            const int32_t io[6] = {0, 1, f.bias != NULL ? 2 : -1, 3, 4, 5};
            pq_tensor t[6];
            pq_node nd;
            int8_t *got;
            if (!pq_isa_supported(isa)) {
                continue;
            }
            got = (int8_t *)fvr_alloc(out_n);
            t[0] = fvr_tensor(in, 2, f.batches, f.k, 0, 0);
            t[1] = fvr_tensor(f.filter, 2, f.n, f.k, 0, 0);
            t[2] = fvr_tensor(f.bias, 1, f.n, 0, 0, 0);
            t[3] = fvr_tensor(f.mult, 1, n_mult, 0, 0, 0);
            t[4] = fvr_tensor(f.shift, 1, n_mult, 0, 0, 0);
            t[5] = fvr_tensor(got, 2, f.batches, f.n, 0, 0);
            memset(&nd, 0, sizeof nd);
            nd.params = &f.p;
            nd.io = io;
            nd.n_inputs = 5;
            nd.n_parts = 1;
            fvr_run_fast(&pq_fully_connected_s8_fast_op, &nd, t, isa, desc);
            compare(op, index, isa, want, got, out_n, desc, seed);
        }
    } else { /* fvr_move.c */
        fvr_move_case mc;
        fvr_move_gen(&r, FVR_CONCAT + (op - OP_CONCAT), &mc);
        for (isa = 0; isa < PQ_ISA_COUNT; ++isa) {
            if (pq_isa_supported(isa)) {
                compare(op, index, isa, mc.want, fvr_move_run(&mc, isa), mc.n, mc.desc, seed);
            }
        }
    }
    fvr_free_all();
}

int main(int argc, char **argv)
{
    long cases = 200, requant = 0, only_index = -1;
    unsigned long long seed = 1;
    int only_op = -1, perturb = 0, i, op, isa;
    long c;
    for (i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--cases") == 0 && i + 1 < argc) {
            cases = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--requant") == 0 && i + 1 < argc) {
            requant = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--perturb") == 0) {
            perturb = 1;
        } else if (strcmp(argv[i], "--case") == 0 && i + 1 < argc) {
            const char *colon = strchr(argv[++i], ':');
            for (op = 0; op < OP_COUNT && colon; ++op) {
                if ((size_t)(colon - argv[i]) == strlen(k_op_names[op]) &&
                    strncmp(argv[i], k_op_names[op], strlen(k_op_names[op])) == 0) {
                    only_op = op;
                    only_index = strtol(colon + 1, NULL, 10);
                }
            }
            if (only_op < 0) {
                fprintf(stderr, "--case wants OP:INDEX, OP one of conv2d, depthwise, fc, add, mul, mean, softmax, "
                                "concat, pad, transpose, reshape, batch_matmul, gather, conv2d_s16, depthwise_s16, fc_s16\n");
                return 2;
            }
        } else {
            fprintf(stderr, "usage: %s [--cases N] [--seed S] [--requant N] [--case OP:I] [--perturb]\n", argv[0]);
            return 2;
        }
    }
    printf("isas:");
    g_perturb = -1;
    for (isa = 0; isa < PQ_ISA_COUNT; ++isa) {
        if (pq_isa_supported(isa)) {
            printf(" %s", pq_isa_traits_get(isa)->name);
            g_perturb = perturb ? isa : -1; /* the best ISA */
        }
    }
    printf("\n");
    if (requant > 0) {
        fvr_rng r;
        long lanes;
        r.s = seed;
        lanes = fvr_check_requant_neon(&r, requant);
        printf("requant lanes checked: %ld\n", lanes);
    }
    for (op = 0; op < OP_COUNT; ++op) {
        if (only_op >= 0 && op != only_op) {
            continue;
        }
        for (c = 0; c < cases; ++c) {
            if (only_index < 0 || c == only_index) {
                run_case(op, c, seed);
            }
        }
    }
    for (isa = 0; isa < PQ_ISA_COUNT; ++isa) {
        if (!pq_isa_supported(isa)) {
            continue;
        }
        printf("%s:", pq_isa_traits_get(isa)->name);
        for (op = 0; op < OP_COUNT; ++op) {
            printf(" %s %ld", k_op_names[op], g_counts[isa][op]);
        }
        printf(" (conv feeds: im2col %ld, 1x1 %ld, strided %ld, taps %ld, rows %ld of which padded %ld, im2row %ld)\n",
               g_feeds[isa][0], g_feeds[isa][1], g_feeds[isa][2], g_feeds[isa][3], g_feeds[isa][4], g_feeds[isa][6],
               g_feeds[isa][5]);
    }
    printf("OK: every fast output byte-identical to the reference\n");
    return 0;
}
