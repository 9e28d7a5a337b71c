/*
 * dsp_vs_reference: the Cortex-M DSP-extension kernels (pq_kernels_dsp.h,
 * src/arch/cortexm) against the portable reference kernels (pq_kernels.h, src/ref),
 * byte for byte, bare metal on a Cortex-M4 under QEMU (mps2-an386, semihosting).
 * Built and run by tests/test_dsp_kernels.py through tests/c/dsp_vs_reference.mk:
 *
 *   make -f tests/c/dsp_vs_reference.mk BUILD=/tmp/dvr OPT=-O2
 *   qemu-system-arm -M mps2-an386 ... -semihosting-config enable=on,target=native,
 *       arg=dvr,arg=--cases,arg=1000,arg=--seed,arg=7 -kernel /tmp/dvr/fw.elf
 *
 * Arguments: [--cases N] [--seed S] [--requant N] [--op OP] [--case OP:I]
 *            [--selftest flip|overread|underread|overwrite[:I]]
 *
 * For each op (conv2d, depthwise, fc, add, maxpool, avgpool) N random cases (default
 * 1000), each derived from (seed, op, index) alone, so `--case conv2d:17` reruns one.
 * Every case draws its parameters over the ranges the validator lets through
 * (src/core/pq_contracts_*.c) and the DSP kernels' own preconditions
 * (pq_kernels_dsp.h): batches 1-2 (FC 1-3); channel counts
 * with the odd ones (1, 2, 3, 5, 7 ... 40); filters 1x1 to 5x5, non-square ones and
 * 10x4, 4x10, 1x7, 7x1; strides and dilations 1-3; SAME, VALID and explicit
 * (asymmetric) paddings with an output size the validator accepts
 * (pqv_conv_out_size_ok); grouped convolutions; weights and inputs uniform or at
 * -128 / 127; biases NULL, small, near the int32 limits or anything; input offsets
 * over [-127, 128] (CONV_2D) or [-255, 255], output offsets over [-255, 255];
 * multipliers 0, 2^30, INT32_MAX or in [2^30, 2^31); shifts aimed at int8 outputs or
 * anywhere in [-31, 30]; clamps over random sub-ranges; FULLY_CONNECTED per-channel or
 * per-tensor with depths 1-300; ADD of 1-200 values with every parameter over its range;
 * MAX_POOL_2D and AVERAGE_POOL_2D with windows 1x1 to 8x8 (non-square too), strides
 * 1-3, the same paddings, channel counts 1-48 and now and then 64-256, clamps over
 * random sub-ranges or the full range, and one case in 12 a window of hundreds of taps
 * or a row of 257-600 (the DSP average's int16 lanes take 256 taps a pass).
 *
 * Every operand lives in an MPU-guarded buffer (dvr_m4.h): a load or store just past
 * a buffer's end or just before its start faults and the fault is reported with the
 * case; stores further away are caught by canary bytes around each buffer. The
 * operands must not change, and the output is pre-filled with junk, so a byte the
 * kernel does not write shows as a mismatch. Before the cases, the documented
 * refusals (pq_kernels_dsp.h) are checked: PQ_ERR_PARAM and an untouched output; the
 * pooling edges the random cases miss (windows with no tap inside, which the validator
 * refuses; 255-270 taps and runs of several int16 passes, all -128, all 127 or mixed)
 * through both pooling ops against the reference's status and bytes; and
 * --requant N (default 200,000) values go through the DSP kernels' requantization
 * (pq_dsp_requant, pq_dsp_out, pq_dsp_out_full) and the reference's (pq_mbqm, offset,
 * clamp), with small accumulators and small right shifts so that rounding ties of both
 * signs are common (a random kernel case meets one only now and then).
 *
 * conv2d_s4, depthwise_s4 and fc_s4 (dsp4) draw their cases as conv2d, depthwise and fc
 * do, with packed int4 filters (every nibble drawn: an odd count leaves junk in the last
 * high nibble; odd row lengths and channel counts start rows and taps mid-byte) and int8
 * shifts, against pq_conv2d_s4, pq_depthwise_conv2d_s4 and pq_fully_connected_s4.
 *
 * conv2d_s16, depthwise_s16, fc_s16 and add_s16 (dsp16) draw their shapes as conv2d,
 * depthwise, fc and add do, with the 16x8 contracts' parameters (offsets 0, int16 clamps,
 * int64 biases or CONV_2D's int32 one, shifts up to 7 on the int64 path, depth multipliers
 * 1-3) and int16 inputs, one case in 10 with sums longer than one int32 chunk of the DSP
 * kernels (pq_dsp16.h), often at their largest products; against pq_conv2d_s16,
 * pq_depthwise_conv2d_s16, pq_fully_connected_s16 and pq_add_s16. "requant16" checks the
 * kernels' int64 requantization against pq_mbqm64 as "requant" does the int8 one.
 *
 * maxpool_s16 and avgpool_s16 (dsppool16) draw their shapes as maxpool and avgpool do, with
 * int16 clamps and int16 inputs (the fills above), against pq_max_pool2d_s16 and
 * pq_avg_pool2d_s16; "pool edges s16" runs their edges (empty windows, the MLPerf Tiny
 * 16x8 pool shapes, sums past int32 that wrap as the reference's uint32 sum).
 *
 * Prints one line per op, "conv2d: 1000 cases, 0 mismatches, 0 guard errors", and the
 * full parameters of each op's first failing case; exits 0 when everything matched,
 * 1 on a mismatch or guard error, 2 on a harness error, 3 on a fault.
 * --selftest makes the first case run (or case I) fail on purpose (a flipped output
 * byte, a load one past the input or one before it, a store one past the output): the
 * run must fail.
 *
 * Built without the DSP extension (-mcpu=cortex-m3, PQ_DSP 0: the _dsp files are
 * empty), the same harness runs the portable kernels against themselves, guards and
 * all: the portable firmware path.
 */
#include <stdint.h>
#include <string.h>

#include "dvr_m4.h"
#include "pq_dsp.h"
#include "pq_dsp16.h"
#include "pq_fixedpoint.h"
#include "pq_kernels.h"
#include "pq_kernels_dsp.h"
#include "semihosting.h"

/* Slots: the ops above, then (dsp4) the int4-weight variants of the first three, then
 * (dsp16) the 16x8 variants of the first four, which draw their cases as those ops do
 * (c->op is the base op, c->slot the slot; c->s4 / c->s16 the variant). */
enum {
    OP_CONV, OP_DW, OP_FC, OP_ADD, OP_MAXPOOL, OP_AVGPOOL,
    OP_CONV4, OP_DW4, OP_FC4,
    OP_CONV16, OP_DW16, OP_FC16, OP_ADD16,
    OP_MAXPOOL16, OP_AVGPOOL16, /* dsppool16 */
    OP_COUNT
};
static const char *const k_op_names[OP_COUNT] = {"conv2d", "depthwise", "fc", "add", "maxpool", "avgpool",
                                                 "conv2d_s4", "depthwise_s4", "fc_s4",
                                                 "conv2d_s16", "depthwise_s16", "fc_s16", "add_s16",
                                                 "maxpool_s16", "avgpool_s16"};

#define CONV_MAC_BUDGET 40000 /* multiply-accumulates of one CONV_2D case (QEMU time) */
#define POOL_TAP_BUDGET 24000 /* window taps x channels of one pooling case (QEMU time) */
#define WANT_MAX (64 * 1024)  /* the reference output, unguarded */

#define N_ELEMS(a) ((int32_t)(sizeof(a) / sizeof((a)[0])))

static void harness_exit(void)
{
    dvr_flush();
    sh_exit(2);
}

/* ---- reproducible randomness (splitmix64) ---------------------------------- */

typedef struct {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* uniform in [lo, hi] */
static int32_t rr(rng *r, int32_t lo, int32_t hi)
{
    const uint64_t span = (uint64_t)((int64_t)hi - (int64_t)lo) + 1u;
    return (int32_t)((int64_t)lo + (int64_t)(rng_next(r) % span));
}

static int32_t pick(rng *r, const int32_t *values, int32_t n)
{
    return values[rr(r, 0, n - 1)];
}

/* ---- one case ------------------------------------------------------------- */

typedef struct {
    int op;   /* the base op: OP_CONV for OP_CONV4 too, ... */
    int slot; /* the op slot, k_op_names[slot] */
    int s4;   /* int4 weights: filter packed two values a byte, shift8 */
    long index;
    /* CONV_2D / DEPTHWISE_CONV_2D */
    pq_conv_params cp;
    pq_dims in_dims, filter_dims, out_dims;
    int32_t groups, pad_after_h, pad_after_w;
    const char *pad_mode_h, *pad_mode_w;
    /* FULLY_CONNECTED */
    pq_fc_params fp;
    int32_t batches, depth, out_depth;
    /* ADD */
    pq_add_params ap;
    int32_t size;
    /* MAX_POOL_2D / AVERAGE_POOL_2D (shapes in in_dims, out_dims; pads and modes as above) */
    pq_pool_params pp;
    /* operands (guarded) */
    int8_t *in, *in2, *filter, *got;
    int32_t *bias, *mult, *shift;
    int8_t *shift8; /* the int8 shifts of the s4 kernels (a copy of shift) */
    void *scratch;
    int32_t n_in, n_filter, n_mult, n_out, scratch_bytes;
    const char *in_fill, *filter_fill, *bias_fill;
    /* dsp16: the 16x8 case (slot OP_CONV16...; in, got, n_in, n_out in bytes) */
    int s16; /* the slot is `slot` above */
    int64_t *bias64;
    int32_t n_bias;
    /* outcome */
    int32_t want_status, got_status, n_bad, first_bad;
} dvr_case;

static dvr_case g_case;
static int32_t g_shift32[512]; /* an s4 case's shifts as drawn (dsp4) */
/* dsp16 (defined in the dsp16 block) */
static void gen_operands_s16(rng *r, dvr_case *c, int force_in, int force_out);
static void adjust_conv_s16(rng *r, dvr_case *c);
static void adjust_fc_s16(rng *r, dvr_case *c);
static void adjust_add_s16(rng *r, dvr_case *c);
static void cover_s16(const dvr_case *c, long *k);
static int8_t g_want[WANT_MAX];
static unsigned long long g_seed = 1;
static const char *g_selftest; /* NULL, "flip", "overread", "underread", "overwrite" */
static long g_selftest_index = -1; /* the case it plants its fault in; -1: the first one run */
static int g_selftest_done;
static long g_cases[OP_COUNT], g_mismatches[OP_COUNT], g_guard_errors[OP_COUNT];
static long g_cover[OP_COUNT][8];
static const char *const k_cover_names[OP_COUNT][8] = {
    {"grouped", "dilated", "non-square filter", "strided", "no bias", "odd pixel count", "explicit pads",
     "all-padding pixels"},
    {"3x3 window inside", "dilated", "channels % 4 != 0", "strided", "no bias", "non-square filter", "explicit pads",
     "all-padding pixels"},
    {"per-channel", "depth % 4 != 0", "odd out_depth", "batches > 1", "no bias", "input offset |o| > 128", "", ""},
    {"left_shift < 20", "output shift > 0", "a multiplier 0", "input shift < -8", "", "", "", ""},
    {"channels % 4 != 0", "padding in a window", "strided", "non-square window", "full act range",
     "a window over 64 taps", "one run (full width)", "batches > 1"},
    {"channels % 4 != 0", "padding in a window", "strided", "non-square window", "full act range",
     "a window over 256 taps", "a run over 256 taps", "batches > 1"},
    {"grouped", "dilated", "non-square filter", "strided", "no bias", "odd pixel count", "explicit pads",
     "odd filter row length"},
    {"3x3 window inside", "dilated", "channels % 4 != 0", "strided", "no bias", "non-square filter", "explicit pads",
     "odd channel count"},
    {"per-channel", "depth % 8 != 0", "odd out_depth", "batches > 1", "no bias", "input offset |o| > 128",
     "odd depth", ""},
    /* dsp16 */
    {"grouped", "dilated", "K > 508", "strided", "no bias", "odd pixel count", "int32 bias",
     "all-padding pixels"},
    {"3x3 window inside", "dilated", "channels % 4 != 0", "strided", "no bias", "depth multiplier > 1",
     "window > 511 taps", "all-padding pixels"},
    {"per-channel", "depth % 4 != 0", "odd out_depth", "batches > 1", "no bias", "depth > 508", "", ""},
    {"left_shift < 15", "output shift > 0", "a multiplier 0", "input shift < -8", "full act range", "", "", ""},
    /* dsppool16 */
    {"odd channel count", "padding in a window", "strided", "non-square window", "full act range",
     "a window over 64 taps", "one run (full width)", "batches > 1"},
    {"odd channel count", "padding in a window", "strided", "non-square window", "full act range",
     "a window over 256 taps", "one run (full width)", "batches > 1"}};

/* ---- random parameters ---------------------------------------------------- */

static int32_t gen_channels(rng *r, int32_t lo, int32_t hi)
{
    static const int32_t edges[] = {1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 13, 15, 16, 17, 23, 31, 32, 33, 40};
    const int32_t c = rr(r, 0, 1) ? pick(r, edges, N_ELEMS(edges)) : rr(r, lo, hi);
    return c < lo ? lo : (c > hi ? hi : c);
}

static const char *gen_fill(rng *r, int8_t *dst, int32_t n)
{
    static const char *const names[] = {"uniform", "-128/127", "all -128", "all 127", "constant", "sparse", "small"};
    const int32_t mode = rr(r, 0, 11) < 5 ? 0 : rr(r, 1, 6);
    const int8_t konst = (int8_t)rr(r, -128, 127);
    int32_t i;
    for (i = 0; i < n; ++i) {
        switch (mode) {
        case 0:
            dst[i] = (int8_t)rr(r, -128, 127);
            break;
        case 1:
            dst[i] = (rng_next(r) & 1) ? -128 : 127;
            break;
        case 2:
            dst[i] = -128;
            break;
        case 3:
            dst[i] = 127;
            break;
        case 4:
            dst[i] = konst;
            break;
        case 5:
            dst[i] = rr(r, 0, 7) == 0 ? (int8_t)((rng_next(r) & 1) ? -128 : 127) : 0;
            break;
        default: /* small sums: outputs inside the clamp even after small right shifts (rounding ties) */
            dst[i] = (int8_t)rr(r, -2, 2);
        }
    }
    return names[mode];
}

/* Packed int4 values (two a byte, element 2k in the low nibble) in n bytes: uniform,
 * the extremes -8 / 7, all -8, all 7, a constant, sparse, small. Every nibble is drawn,
 * so an odd element count leaves junk in the last high nibble, which no kernel may use. */
static const char *gen_fill4(rng *r, uint8_t *dst, int32_t n)
{
    static const char *const names[] = {"int4 uniform", "int4 -8/7", "int4 all -8", "int4 all 7",
                                        "int4 constant", "int4 sparse", "int4 small"};
    const int32_t mode = rr(r, 0, 11) < 5 ? 0 : rr(r, 1, 6);
    const int32_t konst = rr(r, -8, 7);
    int32_t i, half;
    for (i = 0; i < n; ++i) {
        uint32_t byte = 0;
        for (half = 0; half < 2; ++half) {
            int32_t v;
            switch (mode) {
            case 0:
                v = rr(r, -8, 7);
                break;
            case 1:
                v = (rng_next(r) & 1) ? -8 : 7;
                break;
            case 2:
                v = -8;
                break;
            case 3:
                v = 7;
                break;
            case 4:
                v = konst;
                break;
            case 5:
                v = rr(r, 0, 7) == 0 ? ((rng_next(r) & 1) ? -8 : 7) : 0;
                break;
            default:
                v = rr(r, -2, 2);
            }
            byte |= ((uint32_t)v & 0x0Fu) << (4 * half);
        }
        dst[i] = (uint8_t)byte;
    }
    return names[mode];
}

/* An offset in [lo, hi], often at its ends or near 0. */
static int32_t gen_offset(rng *r, int32_t lo, int32_t hi)
{
    switch (rr(r, 0, 5)) {
    case 0:
        return rr(r, 0, 1) ? lo : hi;
    case 1:
        return rr(r, -8, 8);
    default:
        return rr(r, lo, hi);
    }
}

static int32_t ilog2(int64_t v)
{
    int32_t b = 0;
    while (v > 1) {
        v >>= 1;
        ++b;
    }
    return b;
}

/* A Q31 multiplier as the validator takes it: 0 or in [2^30, 2^31). */
static int32_t gen_q31(rng *r)
{
    switch (rr(r, 0, 11)) {
    case 0:
        return 0;
    case 1:
        return 1 << 30; /* rounding ties */
    case 2:
        return INT32_MAX;
    case 3:
        return (1 << 30) + rr(r, 1, 3);
    default:
        return rr(r, 1 << 30, INT32_MAX);
    }
}

/* A shift in [-31, 30]: mostly aimed at outputs in int8 range for sums of depth k. */
static int32_t gen_shift(rng *r, int32_t k)
{
    const int32_t natural = -(14 + ilog2(k) / 2 - 6) + rr(r, -3, 3);
    switch (rr(r, 0, 11)) {
    case 0:
        return rr(r, 0, 1) ? -31 : 30;
    case 1:
        return rr(r, 1, 30); /* left shifts: the accumulator wraps */
    case 2:
        return rr(r, -31, 30);
    case 3:
    case 4:
        return rr(r, -4, 0); /* small right shifts: rounding ties of either sign are common */
    default:
        return natural < -31 ? -31 : (natural > 30 ? 30 : natural);
    }
}

static void gen_mults(rng *r, int32_t n, int32_t k, int32_t *m, int32_t *s)
{
    const int same = rr(r, 0, 4) == 0; /* a per-tensor layer repeats one pair */
    int32_t i;
    for (i = 0; i < n; ++i) {
        if (same && i > 0) {
            m[i] = m[0];
            s[i] = s[0];
        } else {
            m[i] = gen_q31(r);
            s[i] = gen_shift(r, k);
        }
    }
}

/* 0: NULL; the others fill b[n]. */
static int32_t gen_bias_mode(rng *r)
{
    return rr(r, 0, 3);
}

static const char *gen_bias(rng *r, int32_t mode, int32_t *b, int32_t n)
{
    static const char *const names[] = {"NULL", "small", "near int32 limits", "any int32"};
    int32_t i;
    for (i = 0; i < n; ++i) {
        if (mode == 1) {
            b[i] = rr(r, -40000, 40000);
        } else if (mode == 2) {
            b[i] = rr(r, 0, 1) ? INT32_MAX - rr(r, 0, 100000) : INT32_MIN + rr(r, 0, 100000);
        } else {
            b[i] = (int32_t)(uint32_t)rng_next(r);
        }
    }
    return names[mode];
}

static void gen_clamp(rng *r, int32_t out_offset, int32_t *lo, int32_t *hi)
{
    const int32_t zp = out_offset < -128 ? -128 : (out_offset > 127 ? 127 : out_offset);
    switch (rr(r, 0, 6)) {
    case 0:
        *lo = -128, *hi = 127;
        break;
    case 1: /* RELU */
        *lo = zp, *hi = 127;
        break;
    case 2: /* RELU6-like */
        *lo = zp;
        *hi = rr(r, zp, 127);
        break;
    case 3: /* one value */
        *lo = *hi = rr(r, -128, 127);
        break;
    case 4: /* one side only: not the whole int8 range, which kernels may special-case */
        *lo = -128;
        *hi = rr(r, -128, 126);
        break;
    case 5:
        *lo = rr(r, -127, 127);
        *hi = 127;
        break;
    default:
        *lo = rr(r, -128, 127);
        *hi = rr(r, *lo, 127);
    }
}

/* The validator's rule (pqv_conv_out_size_ok), restated. */
static int out_size_ok(int32_t in, int32_t k, int32_t stride, int32_t dilation, int32_t pad, int32_t out)
{
    const int32_t eff = (k - 1) * dilation + 1;
    int32_t pad_after;
    if (!(pad >= 0 && pad < eff && out >= 1)) {
        return 0;
    }
    pad_after = (out - 1) * stride + eff - in - pad;
    return -stride < pad_after && pad_after <= eff - 1;
}

static int32_t ceil_div(int32_t a, int32_t b) /* b > 0 */
{
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

/* One spatial axis: padding mode -> pad before, output size, pad after. */
static const char *gen_axis(rng *r, int32_t in, int32_t k, int32_t s, int32_t d, int32_t *pad, int32_t *out,
                            int32_t *pad_after)
{
    const int32_t eff = (k - 1) * d + 1;
    int32_t mode = rr(r, 0, 2);
    const char *name;
    if (mode == 1 && eff > in) {
        mode = 0;
    }
    if (mode == 0) { /* SAME, as TFLite's ComputePaddingWithOffset: the odd pad goes after */
        const int32_t o = (in + s - 1) / s, total = (o - 1) * s + eff - in;
        *out = o;
        *pad = total > 0 ? total / 2 : 0;
        name = "SAME";
    } else if (mode == 1) {
        *pad = 0;
        *out = (in - eff) / s + 1;
        name = "VALID";
    } else { /* explicit: pad before anywhere in [0, eff), any output size the rule allows */
        int32_t lo, hi;
        *pad = rr(r, 0, eff - 1);
        lo = ceil_div(in + *pad - eff - s + 1, s);
        lo = lo < 0 ? 0 : lo;
        hi = (in + *pad - 1) / s;
        *out = rr(r, lo, hi) + 1;
        name = "explicit";
    }
    *pad_after = (*out - 1) * s + eff - in - *pad;
    return name;
}

static void gen_filter_size(rng *r, int32_t *kh, int32_t *kw)
{
    static const int32_t square[] = {1, 1, 2, 3, 3, 3, 4, 5};
    static const int32_t odd[][2] = {{10, 4}, {4, 10}, {1, 7}, {7, 1}, {1, 3}, {3, 1}, {2, 5}, {5, 2}, {1, 5}, {6, 2}};
    const int32_t mode = rr(r, 0, 9);
    if (mode < 5) {
        *kh = *kw = pick(r, square, N_ELEMS(square));
    } else if (mode < 8) {
        *kh = rr(r, 1, 5);
        *kw = rr(r, 1, 5);
    } else {
        const int32_t i = rr(r, 0, N_ELEMS(odd) - 1);
        *kh = odd[i][0];
        *kw = odd[i][1];
    }
}

/* Shapes and parameters of a CONV_2D or DEPTHWISE_CONV_2D case (no operands yet). */
static void gen_conv_shape(rng *r, dvr_case *c)
{
    static const int32_t groups_of[] = {1, 1, 1, 1, 1, 2, 2, 3, 4, 5};
    static const int32_t strides[] = {1, 1, 1, 2, 2, 3};
    static const int32_t dils[] = {1, 1, 1, 1, 2, 3};
    const int dw = c->op == OP_DW;
    int attempt;
    for (attempt = 0;; ++attempt) {
        const int big = rr(r, 0, 7) == 0;
        int32_t kh, kw, h, w, dh, dwl, sh, sw, fc, cin, cout, macs;
        const int32_t groups = dw ? 1 : pick(r, groups_of, N_ELEMS(groups_of));
        gen_filter_size(r, &kh, &kw);
        sh = pick(r, strides, N_ELEMS(strides));
        sw = pick(r, strides, N_ELEMS(strides));
        dh = pick(r, dils, N_ELEMS(dils));
        dwl = pick(r, dils, N_ELEMS(dils));
        h = rr(r, 1, big ? 24 : 12);
        w = rr(r, 1, big ? 24 : 12);
        if (rr(r, 0, 9) == 0) { /* a thin input under a dilated filter: pixels with no tap inside */
            h = rr(r, 1, 2);
            dh = rr(r, 2, 3);
        }
        if (rr(r, 0, 9) == 0) {
            w = rr(r, 1, 2);
            dwl = rr(r, 2, 3);
        }
        if (!dw && rr(r, 0, 5) == 0) { /* pointwise */
            kh = kw = 1;
        }
        if (dw && rr(r, 0, 2) == 0) { /* the unrolled 3x3 path: dilation 1, windows inside */
            kh = kw = 3;
            dh = dwl = 1;
            h = h < 3 ? 3 : h;
            w = w < 3 ? 3 : w;
        }
        fc = dw ? 1 : gen_channels(r, 1, groups == 1 ? 40 : 12);
        cin = dw ? gen_channels(r, 1, big ? 64 : 40) : groups * fc;
        cout = dw ? cin : groups * gen_channels(r, 1, groups == 1 ? 40 : 12);
        memset(&c->cp, 0, sizeof c->cp);
        c->cp.stride_h = sh, c->cp.stride_w = sw;
        c->cp.dilation_h = dh, c->cp.dilation_w = dwl;
        c->cp.depth_multiplier = dw ? 1 : 0;
        c->groups = groups;
        c->in_dims.n = rr(r, 0, 3) == 0 ? 2 : 1;
        c->in_dims.h = h, c->in_dims.w = w, c->in_dims.c = cin;
        c->pad_mode_h = gen_axis(r, h, kh, sh, dh, &c->cp.pad_h, &c->out_dims.h, &c->pad_after_h);
        c->pad_mode_w = gen_axis(r, w, kw, sw, dwl, &c->cp.pad_w, &c->out_dims.w, &c->pad_after_w);
        c->out_dims.n = c->in_dims.n;
        c->out_dims.c = cout;
        c->filter_dims.n = dw ? 1 : cout;
        c->filter_dims.h = kh, c->filter_dims.w = kw;
        c->filter_dims.c = dw ? cin : fc;
        macs = c->out_dims.n * c->out_dims.h * c->out_dims.w * cout * kh * kw * fc;
        if (macs <= (dw ? CONV_MAC_BUDGET / 2 : CONV_MAC_BUDGET) || attempt > 100) {
            break;
        }
    }
    c->cp.input_offset = dw ? gen_offset(r, -255, 255) : gen_offset(r, -127, 128);
    c->cp.output_offset = gen_offset(r, -255, 255);
    gen_clamp(r, c->cp.output_offset, &c->cp.act_min, &c->cp.act_max);
}

/* Shapes and parameters of a MAX_POOL_2D or AVERAGE_POOL_2D case (no operands yet):
 * windows 1x1 to 8x8, non-square ones too; strides 1-3; SAME, VALID and explicit
 * (asymmetric) paddings the validator accepts (pqv_conv_out_size_ok, dilation 1);
 * batches 1-2; channel counts with the odd ones; clamps over random sub-ranges of int8
 * and the full range. One case in 12 has a window of hundreds of taps (a global pool
 * of up to 24x24, where the DSP average needs several int16 passes), one in 12 a row
 * of 257-600 taps (one run longer than a pass). */
static void gen_pool_shape(rng *r, dvr_case *c)
{
    static const int32_t strides[] = {1, 1, 2, 2, 3};
    static const int32_t wide[] = {48, 64, 96, 256};
    const int32_t mode = rr(r, 0, 11);
    int attempt;
    for (attempt = 0;; ++attempt) {
        int32_t kh, kw, h, w, sh, sw, ch;
        int64_t work;
        if (mode == 0) { /* a window of hundreds of taps, often the whole image */
            h = rr(r, 10, 24);
            w = rr(r, 10, 24);
            kh = rr(r, 0, 1) ? h : rr(r, 8, h);
            kw = rr(r, 0, 1) ? w : rr(r, 8, w);
            sh = rr(r, 0, 1) ? kh : rr(r, 1, 3);
            sw = rr(r, 0, 1) ? kw : rr(r, 1, 3);
            ch = gen_channels(r, 1, 12);
        } else if (mode == 1) { /* a row of 257-600 taps: one run longer than an int16 pass */
            h = rr(r, 1, 3);
            w = rr(r, 257, 600);
            kh = rr(r, 1, h);
            kw = rr(r, 0, 1) ? w : rr(r, 257, w);
            sh = rr(r, 1, 3);
            sw = rr(r, 0, 1) ? kw : rr(r, 1, 3);
            ch = gen_channels(r, 1, 9);
        } else {
            const int big = rr(r, 0, 7) == 0;
            if (rr(r, 0, 2) == 0) {
                kh = kw = rr(r, 1, 8);
            } else {
                kh = rr(r, 1, 8);
                kw = rr(r, 1, 8);
            }
            sh = pick(r, strides, N_ELEMS(strides));
            sw = pick(r, strides, N_ELEMS(strides));
            h = rr(r, 1, big ? 20 : 12);
            w = rr(r, 1, big ? 20 : 12);
            ch = rr(r, 0, 9) == 0 ? pick(r, wide, N_ELEMS(wide)) : gen_channels(r, 1, 48);
        }
        memset(&c->pp, 0, sizeof c->pp);
        c->pp.stride_h = sh, c->pp.stride_w = sw;
        c->pp.filter_h = kh, c->pp.filter_w = kw;
        c->in_dims.n = rr(r, 0, 3) == 0 ? 2 : 1;
        c->in_dims.h = h, c->in_dims.w = w, c->in_dims.c = ch;
        c->pad_mode_h = gen_axis(r, h, kh, sh, 1, &c->pp.pad_h, &c->out_dims.h, &c->pad_after_h);
        c->pad_mode_w = gen_axis(r, w, kw, sw, 1, &c->pp.pad_w, &c->out_dims.w, &c->pad_after_w);
        c->out_dims.n = c->in_dims.n;
        c->out_dims.c = ch;
        work = (int64_t)c->out_dims.n * c->out_dims.h * c->out_dims.w * (kh < h ? kh : h) * (kw < w ? kw : w) * ch;
        if (work <= POOL_TAP_BUDGET || attempt > 100) {
            break;
        }
    }
    gen_clamp(r, rr(r, -128, 127), &c->pp.act_min, &c->pp.act_max);
}

/* ---- guarded operands ----------------------------------------------------- */

/* Drawn even when forced (--selftest), so a case's operands stay those of its index. */
static int flush_front(rng *r, int forced)
{
    const int front = (int)(rng_next(r) & 1);
    return forced >= 0 ? forced : front;
}

/* Junk in an output or scratch buffer: the kernel must not depend on it or leave it. */
static void junk(rng *r, void *p, int32_t n)
{
    uint8_t *b = (uint8_t *)p;
    const uint8_t j = (uint8_t)rr(r, 0, 255);
    int32_t i;
    for (i = 0; i < n; ++i) {
        b[i] = (uint8_t)(j + 37 * i);
    }
}

static uint32_t fnv(uint32_t h, const void *p, int32_t n)
{
    const uint8_t *b = (const uint8_t *)p;
    int32_t i;
    for (i = 0; i < n; ++i) {
        h = (h ^ b[i]) * 16777619u;
    }
    return h;
}

static uint32_t operands_hash(const dvr_case *c)
{
    uint32_t h = 2166136261u;
    h = fnv(h, c->in, c->n_in);
    if (c->in2 != NULL) {
        h = fnv(h, c->in2, c->n_in);
    }
    if (c->filter != NULL) {
        h = fnv(h, c->filter, c->n_filter);
    }
    if (c->bias != NULL) {
        h = fnv(h, c->bias, c->n_out > 0 ? 4 * (c->op == OP_FC ? c->out_depth : c->out_dims.c) : 0);
    }
    if (c->bias64 != NULL) { /* dsp16 */
        h = fnv(h, c->bias64, 8 * c->n_bias);
    }
    if (c->mult != NULL) {
        h = fnv(h, c->mult, 4 * c->n_mult);
        h = fnv(h, c->shift, 4 * c->n_mult);
    }
    if (c->shift8 != NULL) {
        h = fnv(h, c->shift8, c->n_mult);
    }
    return h;
}

/* The --selftest fault to plant in case c, or NULL. */
static const char *selftest_for(const dvr_case *c)
{
    if (g_selftest == NULL || g_selftest_done || (g_selftest_index >= 0 && c->index != g_selftest_index)) {
        return NULL;
    }
    return g_selftest;
}

/* Draws the case's operands into guarded buffers (the buffers a planted fault needs
 * against a guard or canaries where it needs them). */
static void gen_operands(rng *r, dvr_case *c, const char *selftest)
{
    const int sel_in = selftest != NULL && (strcmp(selftest, "overread") == 0 || strcmp(selftest, "underread") == 0);
    const int force_in = sel_in ? strcmp(selftest, "underread") == 0 : -1;
    const int force_out = selftest != NULL && strcmp(selftest, "overwrite") == 0 ? 1 : -1;
    int32_t channels, k, bias_mode;
    if (c->s16) {
        gen_operands_s16(r, c, force_in, force_out);
        return;
    }
    dvr_guard_reset();
    c->in2 = NULL;
    c->filter = NULL;
    c->bias = NULL;
    c->mult = c->shift = NULL;
    c->shift8 = NULL;
    c->scratch = NULL;
    c->n_mult = 0;
    c->bias_fill = "NULL";
    c->filter_fill = "-";
    if (c->op == OP_MAXPOOL || c->op == OP_AVGPOOL) {
        c->n_in = c->in_dims.n * c->in_dims.h * c->in_dims.w * c->in_dims.c;
        c->n_out = c->out_dims.n * c->out_dims.h * c->out_dims.w * c->out_dims.c;
        c->in = (int8_t *)dvr_guard_alloc("input", c->n_in, flush_front(r, force_in));
        c->got = (int8_t *)dvr_guard_alloc("output", c->n_out, flush_front(r, force_out));
        c->in_fill = gen_fill(r, c->in, c->n_in);
    } else if (c->op == OP_ADD) {
        c->n_in = c->n_out = c->size;
        c->in = (int8_t *)dvr_guard_alloc("input1", c->n_in, flush_front(r, force_in));
        c->in2 = (int8_t *)dvr_guard_alloc("input2", c->n_in, flush_front(r, -1));
        c->got = (int8_t *)dvr_guard_alloc("output", c->n_out, flush_front(r, force_out));
        c->in_fill = gen_fill(r, c->in, c->n_in);
        c->filter_fill = gen_fill(r, c->in2, c->n_in);
    } else {
        if (c->op == OP_FC) {
            c->n_in = c->batches * c->depth;
            c->n_filter = c->out_depth * c->depth;
            c->n_out = c->batches * c->out_depth;
            c->n_mult = c->fp.per_channel ? c->out_depth : 1;
            channels = c->out_depth;
            k = c->depth;
        } else {
            c->n_in = c->in_dims.n * c->in_dims.h * c->in_dims.w * c->in_dims.c;
            c->n_filter = c->filter_dims.n * c->filter_dims.h * c->filter_dims.w * c->filter_dims.c;
            c->n_out = c->out_dims.n * c->out_dims.h * c->out_dims.w * c->out_dims.c;
            c->n_mult = channels = c->out_dims.c;
            k = c->filter_dims.h * c->filter_dims.w * (c->op == OP_DW ? 1 : c->filter_dims.c);
        }
        if (c->s4) { /* n_filter: bytes, two values each, the last one's high nibble junk when odd */
            c->n_filter = (c->n_filter + 1) / 2;
        }
        c->in = (int8_t *)dvr_guard_alloc("input", c->n_in, flush_front(r, force_in));
        c->filter = (int8_t *)dvr_guard_alloc("filter", c->n_filter, flush_front(r, -1));
        bias_mode = gen_bias_mode(r);
        if (bias_mode != 0) {
            c->bias = (int32_t *)dvr_guard_alloc("bias", 4 * channels, flush_front(r, -1));
            c->bias_fill = gen_bias(r, bias_mode, c->bias, channels);
        }
        c->mult = (int32_t *)dvr_guard_alloc("multipliers", 4 * c->n_mult, flush_front(r, -1));
        if (c->s4) {
            /* The s4 kernels read int8 shifts, guarded; the int32 draw stays in
             * g_shift32 (the MPU has no region for a slot more). */
            int32_t i;
            if (c->n_mult > N_ELEMS(g_shift32)) {
                dvr_puts("harness error: more channels than g_shift32\n");
                harness_exit();
            }
            c->shift = g_shift32;
            c->shift8 = (int8_t *)dvr_guard_alloc("shifts", c->n_mult, flush_front(r, -1));
            gen_mults(r, c->n_mult, k, c->mult, c->shift);
            for (i = 0; i < c->n_mult; ++i) {
                c->shift8[i] = (int8_t)c->shift[i]; /* [-31, 30] */
            }
        } else {
            c->shift = (int32_t *)dvr_guard_alloc("shifts", 4 * c->n_mult, flush_front(r, -1));
            gen_mults(r, c->n_mult, k, c->mult, c->shift);
        }
        c->got = (int8_t *)dvr_guard_alloc("output", c->n_out, flush_front(r, force_out));
        if (c->op == OP_CONV) {
            c->scratch_bytes =
                c->s4 ? PQ_CONV2D_S4_DSP_SCRATCH(c->filter_dims.h, c->filter_dims.w, c->filter_dims.c)
                      : PQ_CONV2D_S8_DSP_SCRATCH(c->filter_dims.h, c->filter_dims.w, c->filter_dims.c);
            c->scratch = dvr_guard_alloc("scratch", c->scratch_bytes, flush_front(r, -1));
            junk(r, c->scratch, c->scratch_bytes);
        }
        c->in_fill = gen_fill(r, c->in, c->n_in);
        c->filter_fill = c->s4 ? gen_fill4(r, (uint8_t *)c->filter, c->n_filter)
                               : gen_fill(r, c->filter, c->n_filter);
    }
    junk(r, c->got, c->n_out);
}

/* ---- the case's description (mismatch and fault reports) ------------------ */

static void put_kv(const char *key, int32_t v)
{
    dvr_puts(" ");
    dvr_puts(key);
    dvr_puts(" ");
    dvr_putl(v);
}

static void put_array(const char *name, const int32_t *a, int32_t n)
{
    int32_t i;
    dvr_puts("  ");
    dvr_puts(name);
    dvr_puts(" [");
    dvr_putl(n);
    dvr_puts("]:");
    for (i = 0; i < n; ++i) {
        dvr_puts(" ");
        dvr_putl(a[i]);
    }
    dvr_puts("\n");
}

static void put_dims(const char *name, const pq_dims *d)
{
    dvr_puts(" ");
    dvr_puts(name);
    dvr_puts(" ");
    dvr_putl(d->n);
    dvr_puts("x");
    dvr_putl(d->h);
    dvr_puts("x");
    dvr_putl(d->w);
    dvr_puts("x");
    dvr_putl(d->c);
}

static void describe(void)
{
    const dvr_case *c = &g_case;
    dvr_puts("  ");
    dvr_puts(k_op_names[c->slot]);
    dvr_puts(" case ");
    dvr_putl((int32_t)c->index);
    dvr_puts(" (rerun: --seed ");
    dvr_putu((uint32_t)g_seed, 0);
    dvr_puts(" --case ");
    dvr_puts(k_op_names[c->slot]);
    dvr_puts(":");
    dvr_putl((int32_t)c->index);
    dvr_puts(")\n ");
    if (c->op == OP_CONV || c->op == OP_DW) {
        const pq_conv_params *p = &c->cp;
        put_dims("in", &c->in_dims);
        put_dims("filter", &c->filter_dims);
        put_dims("out", &c->out_dims);
        put_kv("groups", c->groups);
        put_kv("depth_multiplier", p->depth_multiplier);
        dvr_puts("\n ");
        put_kv("stride_h", p->stride_h);
        put_kv("stride_w", p->stride_w);
        put_kv("dilation_h", p->dilation_h);
        put_kv("dilation_w", p->dilation_w);
        put_kv("pad_h", p->pad_h);
        put_kv("pad_w", p->pad_w);
        dvr_puts(" (");
        dvr_puts(c->pad_mode_h);
        dvr_puts(", ");
        dvr_puts(c->pad_mode_w);
        dvr_puts("; pads after");
        put_kv("h", c->pad_after_h);
        put_kv("w", c->pad_after_w);
        dvr_puts(")\n ");
        put_kv("input_offset", p->input_offset);
        put_kv("output_offset", p->output_offset);
        put_kv("act_min", p->act_min);
        put_kv("act_max", p->act_max);
        if (c->op == OP_CONV) {
            put_kv("scratch_bytes", c->scratch_bytes);
        }
    } else if (c->op == OP_MAXPOOL || c->op == OP_AVGPOOL) {
        const pq_pool_params *p = &c->pp;
        put_dims("in", &c->in_dims);
        put_dims("out", &c->out_dims);
        put_kv("filter_h", p->filter_h);
        put_kv("filter_w", p->filter_w);
        dvr_puts("\n ");
        put_kv("stride_h", p->stride_h);
        put_kv("stride_w", p->stride_w);
        put_kv("pad_h", p->pad_h);
        put_kv("pad_w", p->pad_w);
        dvr_puts(" (");
        dvr_puts(c->pad_mode_h);
        dvr_puts(", ");
        dvr_puts(c->pad_mode_w);
        dvr_puts("; pads after");
        put_kv("h", c->pad_after_h);
        put_kv("w", c->pad_after_w);
        dvr_puts(")");
        put_kv("act_min", p->act_min);
        put_kv("act_max", p->act_max);
    } else if (c->op == OP_FC) {
        const pq_fc_params *p = &c->fp;
        put_kv("batches", c->batches);
        put_kv("accum_depth", c->depth);
        put_kv("out_depth", c->out_depth);
        put_kv("per_channel", p->per_channel);
        put_kv("input_offset", p->input_offset);
        put_kv("filter_offset", p->filter_offset);
        put_kv("output_offset", p->output_offset);
        put_kv("act_min", p->act_min);
        put_kv("act_max", p->act_max);
    } else {
        const pq_add_params *p = &c->ap;
        put_kv("size", c->size);
        put_kv("input1_offset", p->input1_offset);
        put_kv("input2_offset", p->input2_offset);
        put_kv("output_offset", p->output_offset);
        put_kv("left_shift", p->left_shift);
        dvr_puts("\n ");
        put_kv("input1_multiplier", p->input1_multiplier);
        put_kv("input1_shift", p->input1_shift);
        put_kv("input2_multiplier", p->input2_multiplier);
        put_kv("input2_shift", p->input2_shift);
        put_kv("output_multiplier", p->output_multiplier);
        put_kv("output_shift", p->output_shift);
        put_kv("act_min", p->act_min);
        put_kv("act_max", p->act_max);
    }
    if (c->s16) {
        dvr_puts("\n  16x8: in, out int16");
        if (c->op != OP_MAXPOOL && c->op != OP_AVGPOOL) { /* dsppool16: pools have no bias */
            dvr_puts("; bias ");
            dvr_puts(c->bias64 != NULL ? "int64" : (c->bias != NULL ? "int32" : "none"));
        }
    }
    dvr_puts("\n  fills: input ");
    dvr_puts(c->in_fill);
    if (c->op != OP_MAXPOOL && c->op != OP_AVGPOOL) {
        dvr_puts(c->op == OP_ADD ? ", input2 " : ", filter ");
        dvr_puts(c->filter_fill);
        dvr_puts(", bias ");
        dvr_puts(c->bias_fill);
    }
    dvr_puts("\n");
    if (c->mult != NULL) {
        put_array("multipliers", c->mult, c->n_mult);
        put_array(c->s4 ? "shifts (passed as int8)" : "shifts", c->shift, c->n_mult);
    }
    if (c->bias != NULL) {
        put_array("bias", c->bias, c->op == OP_FC ? c->out_depth : c->out_dims.c);
    }
    dvr_flush();
}

/* Where output byte i is, in words. */
static void describe_index(const dvr_case *c, int32_t i)
{
    dvr_puts(c->s16 ? " (byte of int16 output" : " (output");
    i = c->s16 ? i / 2 : i;
    if (c->op == OP_CONV || c->op == OP_DW || c->op == OP_MAXPOOL || c->op == OP_AVGPOOL) {
        const int32_t ch = c->out_dims.c, w = c->out_dims.w, h = c->out_dims.h;
        put_kv("b", i / (ch * w * h));
        put_kv("y", i / (ch * w) % h);
        put_kv("x", i / ch % w);
        put_kv("c", i % ch);
    } else if (c->op == OP_FC) {
        put_kv("b", i / c->out_depth);
        put_kv("o", i % c->out_depth);
    } else {
        put_kv("i", i);
        put_kv("in1", c->s16 ? ((const int16_t *)c->in)[i] : c->in[i]);
        put_kv("in2", c->s16 ? ((const int16_t *)c->in2)[i] : c->in2[i]);
    }
    dvr_puts(")");
}

/* ---- running a case ------------------------------------------------------- */

static pq_status run_reference_s16(const dvr_case *c, int8_t *out);
static pq_status run_dsp_s16(const dvr_case *c, int8_t *out);

static pq_status run_reference(const dvr_case *c, int8_t *out)
{
    const uint8_t *f4 = (const uint8_t *)c->filter;
    if (c->s4) {
        switch (c->op) {
        case OP_CONV:
            return pq_conv2d_s4(&c->cp, c->mult, c->shift8, &c->in_dims, c->in, &c->filter_dims, f4, c->bias,
                                &c->out_dims, out);
        case OP_DW:
            return pq_depthwise_conv2d_s4(&c->cp, c->mult, c->shift8, &c->in_dims, c->in, &c->filter_dims, f4,
                                          c->bias, &c->out_dims, out);
        default:
            return pq_fully_connected_s4(&c->fp, c->mult, c->shift8, c->batches, c->depth, c->out_depth, c->in, f4,
                                         c->bias, out);
        }
    }
    if (c->s16) {
        return run_reference_s16(c, out);
    }
    switch (c->op) {
    case OP_CONV:
        return pq_conv2d_s8(&c->cp, c->mult, c->shift, &c->in_dims, c->in, &c->filter_dims, c->filter, c->bias,
                            &c->out_dims, out);
    case OP_DW:
        return pq_depthwise_conv2d_s8(&c->cp, c->mult, c->shift, &c->in_dims, c->in, &c->filter_dims, c->filter,
                                      c->bias, &c->out_dims, out);
    case OP_FC:
        return pq_fully_connected_s8(&c->fp, c->mult, c->shift, c->batches, c->depth, c->out_depth, c->in,
                                     c->filter, c->bias, out);
    case OP_MAXPOOL:
        return pq_max_pool2d_s8(&c->pp, &c->in_dims, c->in, &c->out_dims, out);
    case OP_AVGPOOL:
        return pq_avg_pool2d_s8(&c->pp, &c->in_dims, c->in, &c->out_dims, out);
    default:
        return pq_add_s8(&c->ap, 1, &c->size, c->in, &c->size, c->in2, &c->size, out);
    }
}

static pq_status run_dsp(const dvr_case *c, int8_t *out)
{
    if (c->s16) {
        return run_dsp_s16(c, out);
    }
#if PQ_DSP
    const uint8_t *f4 = (const uint8_t *)c->filter;
    if (c->s4) {
        switch (c->op) {
        case OP_CONV:
            return pq_conv2d_s4_dsp(&c->cp, c->mult, c->shift8, &c->in_dims, c->in, &c->filter_dims, f4, c->bias,
                                    &c->out_dims, out, c->scratch, c->scratch_bytes);
        case OP_DW:
            return pq_depthwise_conv2d_s4_dsp(&c->cp, c->mult, c->shift8, &c->in_dims, c->in, &c->filter_dims, f4,
                                              c->bias, &c->out_dims, out);
        default:
            return pq_fully_connected_s4_dsp(&c->fp, c->mult, c->shift8, c->batches, c->depth, c->out_depth, c->in,
                                             f4, c->bias, out);
        }
    }
    switch (c->op) {
    case OP_CONV:
        return pq_conv2d_s8_dsp(&c->cp, c->mult, c->shift, &c->in_dims, c->in, &c->filter_dims, c->filter, c->bias,
                                &c->out_dims, out, c->scratch, c->scratch_bytes);
    case OP_DW:
        return pq_depthwise_conv2d_s8_dsp(&c->cp, c->mult, c->shift, &c->in_dims, c->in, &c->filter_dims, c->filter,
                                          c->bias, &c->out_dims, out);
    case OP_FC:
        return pq_fully_connected_s8_dsp(&c->fp, c->mult, c->shift, c->batches, c->depth, c->out_depth, c->in,
                                         c->filter, c->bias, out);
    case OP_MAXPOOL:
        return pq_max_pool2d_s8_dsp(&c->pp, &c->in_dims, c->in, &c->out_dims, out);
    case OP_AVGPOOL:
        return pq_avg_pool2d_s8_dsp(&c->pp, &c->in_dims, c->in, &c->out_dims, out);
    default:
        return pq_add_s8_dsp(&c->ap, c->size, c->in, c->in2, out);
    }
#else
    return run_reference(c, out); /* no DSP extension: the portable path, guards and all */
#endif
}

/* Whether the first or last output position of an axis has no tap inside the input. */
static int axis_has_empty(int32_t in, int32_t k, int32_t s, int32_t d, int32_t pad, int32_t out)
{
    int32_t j, f;
    for (j = 0; j < 2; ++j) {
        const int32_t origin = (j == 0 ? 0 : out - 1) * s - pad;
        int inside = 0;
        for (f = 0; f < k; ++f) {
            inside |= origin + f * d >= 0 && origin + f * d < in;
        }
        if (!inside) {
            return 1;
        }
    }
    return 0;
}

/* The longest window extent along an axis, clipped to the input (padding excluded). */
static int32_t axis_max_taps(int32_t in, int32_t k, int32_t s, int32_t pad, int32_t out)
{
    int32_t o, best = 0;
    for (o = 0; o < out; ++o) {
        const int32_t origin = o * s - pad;
        const int32_t lo = origin < 0 ? 0 : origin, hi = origin + k < in ? origin + k : in;
        best = hi - lo > best ? hi - lo : best;
    }
    return best;
}

/* ---- dsp16: the 16x8 cases (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED) ------------
 * Shapes as the int8 cases', then what the 16x8 contracts (src/core/pq_contracts_conv.c)
 * change: input and output offsets 0; clamps over int16 sub-ranges; int16 inputs (uniform,
 * at -32768 / 32767, small, sparse); biases NULL, int64 (small, near the int64 limits, any)
 * or, for CONV_2D only, int32 (the int8 cases' fills: TFLM's wrapping int32 sum); shifts up
 * to 7 with an int64 bias or none, up to 30 with an int32 one; depth multipliers 1-3. One
 * case in 10 makes the sums long enough to need several int32 chunks (pq_dsp16.h): a
 * CONV_2D with K over 508, a DEPTHWISE_CONV_2D window of over 511 taps, an FC depth over
 * 508. in, got, n_in and n_out count bytes, so guards, hashes and comparisons are bytewise. */

static int32_t gen_shift_s16(rng *r, int32_t k, int32_t max_shift)
{
    const int32_t natural = -(6 + ilog2(k) / 2) + rr(r, -3, 3);
    int32_t s;
    switch (rr(r, 0, 11)) {
    case 0:
        s = rr(r, 0, 1) ? -31 : max_shift;
        break;
    case 1:
        s = rr(r, 1, max_shift); /* left shifts */
        break;
    case 2:
        s = rr(r, -31, max_shift);
        break;
    case 3:
    case 4:
        s = rr(r, -4, 0); /* small right shifts: rounding ties */
        break;
    default:
        s = natural;
    }
    return s < -31 ? -31 : (s > max_shift ? max_shift : s);
}

static void gen_clamp_s16(rng *r, int32_t *lo, int32_t *hi)
{
    switch (rr(r, 0, 5)) {
    case 0:
    case 1:
        *lo = -32768, *hi = 32767;
        break;
    case 2: /* RELU */
        *lo = 0, *hi = 32767;
        break;
    case 3:
        *lo = *hi = rr(r, -32768, 32767);
        break;
    default:
        *lo = rr(r, -32768, 32767);
        *hi = rr(r, *lo, 32767);
    }
}

static const char *gen_fill_s16(rng *r, int16_t *dst, int32_t n)
{
    static const char *const names[] = {"uniform", "-32768/32767", "all -32768", "small", "sparse", "int8 range"};
    const int32_t mode = rr(r, 0, 9) < 5 ? 0 : rr(r, 1, 5);
    int32_t i;
    for (i = 0; i < n; ++i) {
        int32_t v;
        switch (mode) {
        case 0:
            v = rr(r, -32768, 32767);
            break;
        case 1:
            v = (rng_next(r) & 1) ? -32768 : 32767;
            break;
        case 2:
            v = -32768;
            break;
        case 3:
            v = rr(r, -2, 2);
            break;
        case 4:
            v = rr(r, 0, 7) == 0 ? ((rng_next(r) & 1) ? -32768 : 32767) : 0;
            break;
        default:
            v = rr(r, -128, 127);
        }
        dst[i] = (int16_t)v;
    }
    return names[mode];
}

/* After gen_conv_shape: the 16x8 contract's parameters, depth multipliers, long sums. */
static void adjust_conv_s16(rng *r, dvr_case *c)
{
    pq_conv_params *p = &c->cp;
    const int dw = c->op == OP_DW;
    if (rr(r, 0, 9) == 0) { /* sums of several int32 chunks: few outputs, long sums */
        const int32_t kh = dw ? rr(r, 20, 26) : rr(r, 1, 4), kw = dw ? rr(r, 20, 26) : rr(r, 1, 4);
        const int32_t dh = rr(r, -2, 2), dwd = rr(r, -2, 2);
        const int32_t h = kh + dh > 0 ? kh + dh : 1, w = kw + dwd > 0 ? kw + dwd : 1;
        const int32_t fc = dw ? 1 : (kh * kw > 4 ? rr(r, 40, 100) : rr(r, 300, 600));
        p->stride_h = p->stride_w = rr(r, 1, 2);
        p->dilation_h = p->dilation_w = 1;
        c->groups = 1;
        c->in_dims.n = 1;
        c->in_dims.h = h, c->in_dims.w = w;
        c->in_dims.c = dw ? rr(r, 1, 6) : fc;
        c->pad_mode_h = gen_axis(r, h, kh, p->stride_h, 1, &p->pad_h, &c->out_dims.h, &c->pad_after_h);
        c->pad_mode_w = gen_axis(r, w, kw, p->stride_w, 1, &p->pad_w, &c->out_dims.w, &c->pad_after_w);
        c->out_dims.n = 1;
        c->out_dims.c = dw ? c->in_dims.c : rr(r, 1, 5);
        c->filter_dims.n = dw ? 1 : c->out_dims.c;
        c->filter_dims.h = kh, c->filter_dims.w = kw;
        c->filter_dims.c = dw ? c->in_dims.c : fc;
    }
    if (dw && rr(r, 0, 3) == 0) { /* depth multiplier 2 or 3 (the 16x8 DSP depthwise takes any) */
        p->depth_multiplier = rr(r, 2, 3);
        c->out_dims.c = c->filter_dims.c = c->in_dims.c * p->depth_multiplier;
    }
    p->input_offset = p->output_offset = 0;
    gen_clamp_s16(r, &p->act_min, &p->act_max);
}

static void adjust_fc_s16(rng *r, dvr_case *c)
{
    if (rr(r, 0, 9) == 0) { /* sums of several int32 chunks */
        c->depth = rr(r, 509, 1300);
        c->out_depth = rr(r, 1, 9);
    }
    c->fp.input_offset = c->fp.output_offset = 0;
    c->fp.filter_offset = 0; /* the DSP kernel's precondition */
    gen_clamp_s16(r, &c->fp.act_min, &c->fp.act_max);
}

/* After the int8 ADD's parameters: the 16x8 contract's (offsets 0, left_shift <= 15, TFLM's
 * 15 mostly, the output rescale near 2^-(left_shift + 1)), int16 clamps. */
static void adjust_add_s16(rng *r, dvr_case *c)
{
    pq_add_params *p = &c->ap;
    p->input1_offset = p->input2_offset = p->output_offset = 0;
    p->left_shift = rr(r, 0, 2) ? 15 : rr(r, 0, 15);
    if (rr(r, 0, 2)) {
        p->output_shift = -p->left_shift + rr(r, -4, 2);
    }
    gen_clamp_s16(r, &p->act_min, &p->act_max);
}

static void gen_operands_s16(rng *r, dvr_case *c, int force_in, int force_out)
{
    int32_t n_in, n_out, channels, k, i, bias_mode, wide;
    dvr_guard_reset();
    c->in2 = NULL;
    c->bias = NULL;
    c->bias64 = NULL;
    c->scratch = NULL;
    c->bias_fill = "NULL";
    if (c->op == OP_MAXPOOL || c->op == OP_AVGPOOL) { /* dsppool16: int16 input and output */
        c->filter = NULL;
        c->mult = c->shift = NULL;
        c->n_mult = 0;
        n_in = c->in_dims.n * c->in_dims.h * c->in_dims.w * c->in_dims.c;
        c->n_in = 2 * n_in;
        c->n_out = 2 * c->out_dims.n * c->out_dims.h * c->out_dims.w * c->out_dims.c;
        c->in = (int8_t *)dvr_guard_alloc("input", c->n_in, flush_front(r, force_in));
        c->got = (int8_t *)dvr_guard_alloc("output", c->n_out, flush_front(r, force_out));
        c->in_fill = gen_fill_s16(r, (int16_t *)c->in, n_in);
        junk(r, c->got, c->n_out);
        return;
    }
    if (c->op == OP_ADD) {
        c->filter = NULL;
        c->mult = c->shift = NULL;
        c->n_mult = 0;
        c->n_in = c->n_out = 2 * c->size;
        c->in = (int8_t *)dvr_guard_alloc("input1", c->n_in, flush_front(r, force_in));
        c->in2 = (int8_t *)dvr_guard_alloc("input2", c->n_in, flush_front(r, -1));
        c->got = (int8_t *)dvr_guard_alloc("output", c->n_out, flush_front(r, force_out));
        c->in_fill = gen_fill_s16(r, (int16_t *)c->in, c->size);
        c->filter_fill = gen_fill_s16(r, (int16_t *)c->in2, c->size);
        junk(r, c->got, c->n_out);
        return;
    }
    if (c->op == OP_FC) {
        n_in = c->batches * c->depth;
        n_out = c->batches * c->out_depth;
        c->n_filter = c->out_depth * c->depth;
        c->n_mult = c->fp.per_channel ? c->out_depth : 1;
        channels = c->out_depth;
        k = c->depth;
    } else {
        n_in = c->in_dims.n * c->in_dims.h * c->in_dims.w * c->in_dims.c;
        n_out = c->out_dims.n * c->out_dims.h * c->out_dims.w * c->out_dims.c;
        c->n_filter = c->filter_dims.n * c->filter_dims.h * c->filter_dims.w * c->filter_dims.c;
        c->n_mult = channels = c->out_dims.c;
        k = c->filter_dims.h * c->filter_dims.w * (c->op == OP_DW ? 1 : c->filter_dims.c);
    }
    c->n_in = 2 * n_in;
    c->n_out = 2 * n_out;
    c->n_bias = channels;
    c->in = (int8_t *)dvr_guard_alloc("input", c->n_in, flush_front(r, force_in));
    c->filter = (int8_t *)dvr_guard_alloc("filter", c->n_filter, flush_front(r, -1));
    bias_mode = gen_bias_mode(r);
    wide = !(c->op == OP_CONV && bias_mode != 0 && rr(r, 0, 1)); /* CONV_2D: an int32 bias half the time */
    if (bias_mode != 0 && !wide) {
        c->bias = (int32_t *)dvr_guard_alloc("bias", 4 * channels, flush_front(r, -1));
        c->bias_fill = gen_bias(r, bias_mode, c->bias, channels);
    } else if (bias_mode != 0) {
        static const char *const names[] = {"NULL", "small int64", "near int64 limits", "any int64"};
        c->bias64 = (int64_t *)dvr_guard_alloc("bias", 8 * channels, flush_front(r, -1));
        for (i = 0; i < channels; ++i) {
            const uint64_t any = rng_next(r);
            c->bias64[i] = bias_mode == 1   ? rr(r, -3000000, 3000000)
                           : bias_mode == 2 ? (rr(r, 0, 1) ? INT64_MAX - rr(r, 0, 100000)
                                                           : INT64_MIN + rr(r, 0, 100000))
                                            : (int64_t)any;
        }
        c->bias_fill = names[bias_mode];
    }
    c->mult = (int32_t *)dvr_guard_alloc("multipliers", 4 * c->n_mult, flush_front(r, -1));
    c->shift = (int32_t *)dvr_guard_alloc("shifts", 4 * c->n_mult, flush_front(r, -1));
    for (i = 0; i < c->n_mult; ++i) {
        c->mult[i] = gen_q31(r);
        c->shift[i] = gen_shift_s16(r, k, wide ? 7 : 30); /* the validator's ranges */
    }
    c->got = (int8_t *)dvr_guard_alloc("output", c->n_out, flush_front(r, force_out));
    if (c->op == OP_CONV) {
        c->scratch_bytes =
            PQ_CONV2D_S16_DSP_SCRATCH(c->filter_dims.h, c->filter_dims.w, c->filter_dims.c, c->out_dims.c);
        c->scratch = dvr_guard_alloc("scratch", c->scratch_bytes, flush_front(r, -1));
        junk(r, c->scratch, c->scratch_bytes);
    }
    c->in_fill = gen_fill_s16(r, (int16_t *)c->in, n_in);
    c->filter_fill = gen_fill(r, c->filter, c->n_filter);
    if ((c->op == OP_DW ? c->filter_dims.h * c->filter_dims.w : k) > 508 && rr(r, 0, 1)) {
        /* A long sum at its largest, (-32768) * (-128) = 2^22 a product: past int32 after 512
         * products, so a chunk too long (pq_dsp16.h) shows. */
        for (i = 0; i < n_in; ++i) {
            ((int16_t *)c->in)[i] = -32768;
        }
        memset(c->filter, 0x80, (size_t)c->n_filter);
        c->in_fill = "all -32768 (a long sum)";
        c->filter_fill = "all -128";
    }
    junk(r, c->got, c->n_out);
}

static pq_status run_reference_s16(const dvr_case *c, int8_t *out)
{
    const int16_t *x = (const int16_t *)c->in;
    int16_t *y = (int16_t *)out;
    switch (c->op) {
    case OP_MAXPOOL: /* dsppool16 */
        return pq_max_pool2d_s16(&c->pp, &c->in_dims, x, &c->out_dims, y);
    case OP_AVGPOOL:
        return pq_avg_pool2d_s16(&c->pp, &c->in_dims, x, &c->out_dims, y);
    case OP_ADD:
        return pq_add_s16(&c->ap, 1, &c->size, x, &c->size, (const int16_t *)c->in2, &c->size, y);
    case OP_CONV:
        return pq_conv2d_s16(&c->cp, c->mult, c->shift, &c->in_dims, x, &c->filter_dims, c->filter, c->bias,
                             c->bias64, &c->out_dims, y);
    case OP_DW:
        return pq_depthwise_conv2d_s16(&c->cp, c->mult, c->shift, &c->in_dims, x, &c->filter_dims, c->filter,
                                       c->bias64, &c->out_dims, y);
    default:
        return pq_fully_connected_s16(&c->fp, c->mult, c->shift, c->batches, c->depth, c->out_depth, x, c->filter,
                                      c->bias64, y);
    }
}

static pq_status run_dsp_s16(const dvr_case *c, int8_t *out)
{
#if PQ_DSP
    const int16_t *x = (const int16_t *)c->in;
    int16_t *y = (int16_t *)out;
    switch (c->op) {
    case OP_MAXPOOL: /* dsppool16 */
        return pq_max_pool2d_s16_dsp(&c->pp, &c->in_dims, x, &c->out_dims, y);
    case OP_AVGPOOL:
        return pq_avg_pool2d_s16_dsp(&c->pp, &c->in_dims, x, &c->out_dims, y);
    case OP_ADD:
        return pq_add_s16_dsp(&c->ap, c->size, x, (const int16_t *)c->in2, y);
    case OP_CONV:
        return pq_conv2d_s16_dsp(&c->cp, c->mult, c->shift, &c->in_dims, x, &c->filter_dims, c->filter, c->bias,
                                 c->bias64, &c->out_dims, y, c->scratch, c->scratch_bytes);
    case OP_DW:
        return pq_depthwise_conv2d_s16_dsp(&c->cp, c->mult, c->shift, &c->in_dims, x, &c->filter_dims, c->filter,
                                           c->bias64, &c->out_dims, y);
    default:
        return pq_fully_connected_s16_dsp(&c->fp, c->mult, c->shift, c->batches, c->depth, c->out_depth, x,
                                          c->filter, c->bias64, y);
    }
#else
    return run_reference_s16(c, out);
#endif
}

static void cover_s16(const dvr_case *c, long *k)
{
    if (c->op == OP_ADD) {
        const pq_add_params *p = &c->ap;
        k[0] += p->left_shift < 15;
        k[1] += p->output_shift > 0;
        k[2] += p->input1_multiplier == 0 || p->input2_multiplier == 0 || p->output_multiplier == 0;
        k[3] += p->input1_shift < -8 || p->input2_shift < -8;
        k[4] += p->act_min == -32768 && p->act_max == 32767;
    } else if (c->op == OP_FC) {
        k[0] += c->fp.per_channel;
        k[1] += (c->depth & 3) != 0;
        k[2] += c->out_depth & 1;
        k[3] += c->batches > 1;
        k[4] += c->bias == NULL && c->bias64 == NULL;
        k[5] += c->depth > 508;
    } else {
        const pq_conv_params *p = &c->cp;
        k[1] += p->dilation_h > 1 || p->dilation_w > 1;
        k[3] += p->stride_h > 1 || p->stride_w > 1;
        k[4] += c->bias == NULL && c->bias64 == NULL;
        k[7] += axis_has_empty(c->in_dims.h, c->filter_dims.h, p->stride_h, p->dilation_h, p->pad_h,
                               c->out_dims.h) ||
                axis_has_empty(c->in_dims.w, c->filter_dims.w, p->stride_w, p->dilation_w, p->pad_w, c->out_dims.w);
        if (c->op == OP_CONV) {
            k[0] += c->groups > 1;
            k[2] += c->filter_dims.h * c->filter_dims.w * c->filter_dims.c > 508; /* several chunks */
            k[5] += (c->out_dims.h * c->out_dims.w) & 1;
            k[6] += c->bias != NULL;
        } else {
            k[0] += c->filter_dims.h == 3 && c->filter_dims.w == 3 && p->dilation_h == 1 && p->dilation_w == 1 &&
                    c->in_dims.h >= 3 && c->in_dims.w >= 3;
            k[2] += (c->out_dims.c & 3) != 0;
            k[5] += p->depth_multiplier > 1;
            k[6] += c->filter_dims.h * c->filter_dims.w > 511; /* several chunks */
        }
    }
}
/* ---- end dsp16 ---------------------------------------------------------------------- */

static void cover(dvr_case *c)
{
    long *k = g_cover[c->slot];
    if (c->s16 && c->op != OP_MAXPOOL && c->op != OP_AVGPOOL) { /* dsppool16: the pools below */
        cover_s16(c, k);
        return;
    }
    if (c->op == OP_MAXPOOL || c->op == OP_AVGPOOL) {
        const pq_pool_params *p = &c->pp;
        const int32_t rows = axis_max_taps(c->in_dims.h, p->filter_h, p->stride_h, p->pad_h, c->out_dims.h);
        const int32_t cols = axis_max_taps(c->in_dims.w, p->filter_w, p->stride_w, p->pad_w, c->out_dims.w);
        /* the longest run of taps the DSP kernels walk: a window as wide as the image is one */
        const int32_t run = cols == c->in_dims.w ? rows * cols : cols;
        k[0] += c->s16 ? (c->in_dims.c & 1) != 0 : (c->in_dims.c & 3) != 0; /* dsppool16: s16 */
        k[1] += p->pad_h > 0 || p->pad_w > 0 || c->pad_after_h > 0 || c->pad_after_w > 0;
        k[2] += p->stride_h > 1 || p->stride_w > 1;
        k[3] += p->filter_h != p->filter_w;
        k[4] += c->s16 ? p->act_min == -32768 && p->act_max == 32767 : p->act_min == -128 && p->act_max == 127;
        k[5] += rows * cols > (c->op == OP_AVGPOOL ? 256 : 64);
        k[6] += c->op == OP_AVGPOOL && !c->s16 ? run > 256 : cols == c->in_dims.w;
        k[7] += c->in_dims.n > 1;
    } else if (c->op == OP_CONV || c->op == OP_DW) {
        const pq_conv_params *p = &c->cp;
        /* an output pixel whose every tap is padding (the first or last row or column) */
        const int all_pad = axis_has_empty(c->in_dims.h, c->filter_dims.h, p->stride_h, p->dilation_h, p->pad_h,
                                           c->out_dims.h) ||
                            axis_has_empty(c->in_dims.w, c->filter_dims.w, p->stride_w, p->dilation_w, p->pad_w,
                                           c->out_dims.w);
        k[1] += p->dilation_h > 1 || p->dilation_w > 1;
        k[3] += p->stride_h > 1 || p->stride_w > 1;
        k[4] += c->bias == NULL;
        k[6] += c->pad_mode_h[0] == 'e' || c->pad_mode_w[0] == 'e';
        k[7] += all_pad;
        if (c->op == OP_CONV) {
            k[0] += c->groups > 1;
            k[2] += c->filter_dims.h != c->filter_dims.w;
            k[5] += (c->out_dims.h * c->out_dims.w) & 1;
        } else {
            k[0] += c->filter_dims.h == 3 && c->filter_dims.w == 3 && p->dilation_h == 1 && p->dilation_w == 1 &&
                    c->in_dims.h >= 3 && c->in_dims.w >= 3;
            k[2] += (c->in_dims.c & 3) != 0;
            k[5] += c->filter_dims.h != c->filter_dims.w;
        }
    } else if (c->op == OP_FC) {
        k[0] += c->fp.per_channel;
        k[1] += (c->depth & 3) != 0;
        k[2] += c->out_depth & 1;
        k[3] += c->batches > 1;
        k[4] += c->bias == NULL;
        k[5] += c->fp.input_offset > 128 || c->fp.input_offset < -128;
    } else {
        const pq_add_params *p = &c->ap;
        k[0] += p->left_shift < 20;
        k[1] += p->output_shift > 0;
        k[2] += p->input1_multiplier == 0 || p->input2_multiplier == 0 || p->output_multiplier == 0;
        k[3] += p->input1_shift < -8 || p->input2_shift < -8;
    }
}

/* The int4 slots' own edges (dsp4): rows or taps that start in a high nibble. */
static void cover_s4(dvr_case *c)
{
    long *k = g_cover[c->slot];
    if (c->op == OP_CONV) {
        k[7] += (c->filter_dims.h * c->filter_dims.w * c->filter_dims.c) & 1;
    } else if (c->op == OP_DW) {
        k[7] += c->in_dims.c & 1;
    } else if (c->op == OP_FC) {
        k[1] = k[1] - ((c->depth & 3) != 0) + ((c->depth & 7) != 0);
        k[6] += c->depth & 1;
    }
}

static void gen_case(rng *r, dvr_case *c)
{
    if (c->op == OP_MAXPOOL || c->op == OP_AVGPOOL) {
        gen_pool_shape(r, c);
        if (c->s16) { /* dsppool16: an int16 clamp */
            gen_clamp_s16(r, &c->pp.act_min, &c->pp.act_max);
        }
        if (!out_size_ok(c->in_dims.h, c->pp.filter_h, c->pp.stride_h, 1, c->pp.pad_h, c->out_dims.h) ||
            !out_size_ok(c->in_dims.w, c->pp.filter_w, c->pp.stride_w, 1, c->pp.pad_w, c->out_dims.w)) {
            dvr_puts("harness error: an output size the validator refuses\n");
            describe();
            dvr_flush();
            harness_exit();
        }
    } else if (c->op == OP_CONV || c->op == OP_DW) {
        gen_conv_shape(r, c);
        if (c->s16) {
            adjust_conv_s16(r, c);
        }
        if (!out_size_ok(c->in_dims.h, c->filter_dims.h, c->cp.stride_h, c->cp.dilation_h, c->cp.pad_h,
                         c->out_dims.h) ||
            !out_size_ok(c->in_dims.w, c->filter_dims.w, c->cp.stride_w, c->cp.dilation_w, c->cp.pad_w,
                         c->out_dims.w)) {
            dvr_puts("harness error: an output size the validator refuses\n");
            describe();
            dvr_flush();
            harness_exit();
        }
    } else if (c->op == OP_FC) {
        static const int32_t batches[] = {1, 1, 1, 2, 2, 3};
        const int32_t mode = rr(r, 0, 3);
        memset(&c->fp, 0, sizeof c->fp);
        c->batches = pick(r, batches, N_ELEMS(batches));
        c->depth = mode == 0 ? gen_channels(r, 1, 40) : rr(r, 1, 300);
        c->out_depth = rr(r, 0, 1) ? gen_channels(r, 1, 40) : rr(r, 1, 64);
        c->fp.per_channel = rr(r, 0, 1);
        if (c->s16) {
            adjust_fc_s16(r, c);
            return;
        }
        c->fp.input_offset = gen_offset(r, -255, 255);
        c->fp.filter_offset = 0; /* the DSP kernel's precondition */
        c->fp.output_offset = gen_offset(r, -255, 255);
        gen_clamp(r, c->fp.output_offset, &c->fp.act_min, &c->fp.act_max);
    } else {
        static const int32_t small[] = {1, 2, 3, 4, 5, 7, 8, 9};
        pq_add_params *p = &c->ap;
        int32_t mode;
        memset(p, 0, sizeof *p);
        c->size = rr(r, 0, 3) == 0 ? pick(r, small, N_ELEMS(small)) : rr(r, 1, 200);
        p->input1_offset = gen_offset(r, -255, 255);
        p->input2_offset = gen_offset(r, -255, 255);
        p->output_offset = gen_offset(r, -255, 255);
        p->left_shift = rr(r, 0, 1) ? 20 : rr(r, 0, 20);
        p->input1_multiplier = gen_q31(r);
        p->input2_multiplier = gen_q31(r);
        p->output_multiplier = gen_q31(r);
        p->input1_shift = rr(r, 0, 2) ? rr(r, -4, 0) : rr(r, -31, 0);
        p->input2_shift = rr(r, 0, 2) ? rr(r, -4, 0) : rr(r, -31, 0);
        mode = rr(r, 0, 9);
        /* TFLite's output rescale is near 2^-(left_shift + 1); elsewhere anywhere in [-31, 30] */
        p->output_shift = mode < 6 ? -p->left_shift + rr(r, -4, 2) : (mode < 8 ? rr(r, -31, 0) : rr(r, 1, 30));
        p->output_shift = p->output_shift < -31 ? -31 : (p->output_shift > 30 ? 30 : p->output_shift);
        gen_clamp(r, p->output_offset, &p->act_min, &p->act_max);
        if (c->s16) {
            adjust_add_s16(r, c);
        }
    }
}

static void run_case(int op, long index)
{
    dvr_case *c = &g_case;
    rng r;
    uint32_t hash;
    const char *bad_slot;
    int32_t at, i;
    r.s = g_seed * 0x100000001B3ull + (unsigned long long)op * 0x10000000ull + (unsigned long long)index;
    rng_next(&r);
    memset(c, 0, sizeof *c);
    c->slot = op;
    c->s4 = op >= OP_CONV4 && op <= OP_FC4;
    c->s16 = op == OP_CONV16 || op == OP_DW16 || op == OP_FC16 || op == OP_ADD16;
    c->s16 |= op == OP_MAXPOOL16 || op == OP_AVGPOOL16; /* dsppool16 */
    c->op = op == OP_MAXPOOL16 ? OP_MAXPOOL : (op == OP_AVGPOOL16 ? OP_AVGPOOL : op); /* dsppool16 */
    c->op = op == OP_CONV4 ? OP_CONV : (op == OP_DW4 ? OP_DW : (op == OP_FC4 ? OP_FC : c->op));
    c->op = op == OP_CONV16 ? OP_CONV : op == OP_DW16 ? OP_DW : op == OP_FC16 ? OP_FC : op == OP_ADD16 ? OP_ADD : c->op;
    c->index = index;
    const char *selftest;
    gen_case(&r, c);
    selftest = selftest_for(c);
    gen_operands(&r, c, selftest);
    if (c->n_out > WANT_MAX) {
        dvr_puts("harness error: output larger than WANT_MAX\n");
        describe();
        harness_exit();
    }
    cover(c);
    if (c->s4) {
        cover_s4(c);
    }
    for (i = 0; i < c->n_out; ++i) { /* a byte neither kernel writes differs too */
        g_want[i] = (int8_t)~c->got[i];
    }
    hash = operands_hash(c);
    dvr_on_fault = describe;
    dvr_guard_arm();

    dvr_running = "reference kernel";
    c->want_status = run_reference(c, g_want);
    dvr_running = "dsp kernel";
    c->got_status = run_dsp(c, c->got);
    if (selftest != NULL) {
        volatile int8_t sink;
        g_selftest_done = 1;
        if (strcmp(selftest, "flip") == 0) {
            c->got[c->n_out / 2] ^= 1;
        } else if (strcmp(selftest, "overread") == 0) {
            sink = ((volatile const int8_t *)c->in)[c->n_in]; /* one past the end: the guard */
            (void)sink;
        } else if (strcmp(selftest, "underread") == 0) {
            sink = ((volatile const int8_t *)c->in)[-1]; /* one before the start: the guard */
            (void)sink;
        } else if (strcmp(selftest, "overwrite") == 0) {
            c->got[c->n_out] = (int8_t)~c->got[c->n_out]; /* past the end, inside the canaries */
        }
    }
    dvr_running = "harness";
    dvr_guard_disarm();

    ++g_cases[op];
    bad_slot = dvr_guard_check(&at);
    if (bad_slot == NULL && operands_hash(c) != hash) {
        bad_slot = "an operand (changed)";
        at = 0;
    }
    c->n_bad = 0;
    c->first_bad = -1;
    for (i = 0; i < c->n_out; ++i) {
        if (g_want[i] != c->got[i]) {
            c->first_bad = c->first_bad < 0 ? i : c->first_bad;
            ++c->n_bad;
        }
    }
    if (bad_slot != NULL) {
        if (g_guard_errors[op]++ == 0) {
            dvr_puts("GUARD ERROR ");
            dvr_puts(k_op_names[op]);
            dvr_puts(": a byte around ");
            dvr_puts(bad_slot);
            dvr_puts(" changed, at offset ");
            dvr_putl(at);
            dvr_puts(" from its start\n");
            describe();
        }
    }
    if (c->n_bad > 0 || c->want_status != PQ_OK || c->got_status != PQ_OK) {
        if (g_mismatches[op]++ == 0) {
            dvr_puts("MISMATCH ");
            dvr_puts(k_op_names[op]);
            put_kv("status: dsp", c->got_status);
            put_kv("reference", c->want_status);
            dvr_puts("; ");
            dvr_putl(c->n_bad);
            dvr_puts(" of ");
            dvr_putl(c->n_out);
            dvr_puts(" bytes differ");
            if (c->first_bad >= 0) {
                dvr_puts(", first at ");
                dvr_putl(c->first_bad);
                describe_index(c, c->first_bad);
                put_kv(": dsp", c->got[c->first_bad]);
                put_kv("reference", g_want[c->first_bad]);
            }
            dvr_puts("\n");
            describe();
        }
    }
    dvr_on_fault = NULL;
}

/* ---- the documented refusals (pq_kernels_dsp.h) ------------------------------ */

#if PQ_DSP
static int g_refusals, g_refusals_ok;

static void expect_refusal(const char *what, pq_status st, const int8_t *out, int32_t n)
{
    int32_t i;
    int ok = st == PQ_ERR_PARAM;
    for (i = 0; i < n; ++i) {
        ok = ok && out[i] == 0x5A;
    }
    ++g_refusals;
    g_refusals_ok += ok;
    if (!ok) {
        dvr_puts("REFUSAL NOT AS DOCUMENTED: ");
        dvr_puts(what);
        put_kv(": status", st);
        dvr_puts(" (want PQ_ERR_PARAM and an untouched output)\n");
        dvr_flush();
    }
}

/* A 3x3 CONV_2D of 5 channels on a 4x4 input (SAME), a DEPTHWISE_CONV_2D of multiplier 2,
 * a FULLY_CONNECTED with a filter offset: each refused, its output untouched. */
static void check_refusals(void)
{
    static int8_t in[4 * 4 * 10], filter[2 * 3 * 3 * 10], out[4 * 4 * 10];
    static int32_t mult[10], shift[10], scratch[64];
    const pq_dims in_dims = {1, 4, 4, 5}, filter_dims = {2, 3, 3, 5}, out_dims = {1, 4, 4, 2};
    const pq_dims dw_in = {1, 4, 4, 5}, dw_filter = {1, 3, 3, 10}, dw_out = {1, 4, 4, 10};
    const int32_t need = PQ_CONV2D_S8_DSP_SCRATCH(3, 3, 5);
    pq_conv_params p;
    pq_fc_params f;
    int32_t i;
    for (i = 0; i < 10; ++i) {
        mult[i] = 1 << 30;
        shift[i] = -8;
    }
    memset(&p, 0, sizeof p);
    p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
    p.pad_h = p.pad_w = 1;
    p.act_min = -128;
    p.act_max = 127;
#define CONV(scr, bytes) \
    (memset(out, 0x5A, sizeof out), \
     pq_conv2d_s8_dsp(&p, mult, shift, &in_dims, in, &filter_dims, filter, NULL, &out_dims, out, (scr), (bytes)))
    expect_refusal("CONV_2D scratch 1 byte short", CONV(scratch, need - 1), out, (int32_t)sizeof out);
    expect_refusal("CONV_2D scratch not 4-aligned", CONV((int8_t *)scratch + 2, need), out, (int32_t)sizeof out);
    expect_refusal("CONV_2D scratch NULL", CONV(NULL, need), out, (int32_t)sizeof out);
    p.input_offset = 129;
    expect_refusal("CONV_2D input_offset 129", CONV(scratch, need), out, (int32_t)sizeof out);
    p.input_offset = -128;
    expect_refusal("CONV_2D input_offset -128", CONV(scratch, need), out, (int32_t)sizeof out);
#undef CONV
    p.input_offset = 0;
    p.depth_multiplier = 2;
    memset(out, 0x5A, sizeof out);
    expect_refusal("DEPTHWISE_CONV_2D depth_multiplier 2",
                   pq_depthwise_conv2d_s8_dsp(&p, mult, shift, &dw_in, in, &dw_filter, filter, NULL, &dw_out, out),
                   out, (int32_t)sizeof out);
    memset(&f, 0, sizeof f);
    f.filter_offset = 1;
    f.act_min = -128;
    f.act_max = 127;
    memset(out, 0x5A, sizeof out);
    expect_refusal("FULLY_CONNECTED filter_offset 1",
                   pq_fully_connected_s8_dsp(&f, mult, shift, 2, 9, 5, in, filter, NULL, out), out,
                   (int32_t)sizeof out);
    /* dsp16: the 16x8 CONV_2D's scratch, the 16x8 FC's filter offset */
    {
        static int16_t in16[4 * 4 * 5], out16[4 * 4 * 5];
        const int32_t need16 = PQ_CONV2D_S16_DSP_SCRATCH(3, 3, 5, 2);
        p.depth_multiplier = 0;
        p.act_min = -32768;
        p.act_max = 32767;
#define CONV16(scr, bytes)                                                                                       \
    (memset(out16, 0x5A, sizeof out16), pq_conv2d_s16_dsp(&p, mult, shift, &in_dims, in16, &filter_dims, filter, \
                                                          NULL, NULL, &out_dims, out16, (scr), (bytes)))
        expect_refusal("CONV_2D 16x8 scratch 1 byte short", CONV16(scratch, need16 - 1), (const int8_t *)out16,
                       (int32_t)sizeof out16);
        expect_refusal("CONV_2D 16x8 scratch not 4-aligned", CONV16((int8_t *)scratch + 2, need16),
                       (const int8_t *)out16, (int32_t)sizeof out16);
#undef CONV16
        f.act_min = -32768;
        f.act_max = 32767;
        memset(out16, 0x5A, sizeof out16);
        expect_refusal("FULLY_CONNECTED 16x8 filter_offset 1",
                       pq_fully_connected_s16_dsp(&f, mult, shift, 2, 9, 5, in16, filter, NULL, out16),
                       (const int8_t *)out16, (int32_t)sizeof out16);
    }
    dvr_puts("refusals: ");
    dvr_putl(g_refusals_ok);
    /* (dsp4: the s4 kernels' refusals are counted on their own line, check_refusals_s4) */
    dvr_puts(" of ");
    dvr_putl(g_refusals);
    dvr_puts(" as documented\n");
    dvr_flush();
}
#endif

#if PQ_DSP
/* ---- dsp4: the s4 kernels' documented refusals (pq_kernels_dsp.h), as check_refusals ---- */
static void check_refusals_s4(void)
{
    static int8_t in[4 * 4 * 10], out[4 * 4 * 10], shift[10];
    static uint8_t filter[2 * 3 * 3 * 10 / 2];
    static int32_t mult[10], scratch[64];
    const pq_dims in_dims = {1, 4, 4, 5}, filter_dims = {2, 3, 3, 5}, out_dims = {1, 4, 4, 2};
    const pq_dims dw_in = {1, 4, 4, 5}, dw_filter = {1, 3, 3, 10}, dw_out = {1, 4, 4, 10};
    const int32_t need = PQ_CONV2D_S4_DSP_SCRATCH(3, 3, 5);
    const int before = g_refusals, before_ok = g_refusals_ok;
    pq_conv_params p;
    pq_fc_params f;
    int32_t i;
    for (i = 0; i < 10; ++i) {
        mult[i] = 1 << 30;
        shift[i] = -8;
    }
    memset(&p, 0, sizeof p);
    p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
    p.pad_h = p.pad_w = 1;
    p.act_min = -128;
    p.act_max = 127;
#define CONV4(scr, bytes) \
    (memset(out, 0x5A, sizeof out), \
     pq_conv2d_s4_dsp(&p, mult, shift, &in_dims, in, &filter_dims, filter, NULL, &out_dims, out, (scr), (bytes)))
    expect_refusal("CONV_2D s4 scratch 1 byte short", CONV4(scratch, need - 1), out, (int32_t)sizeof out);
    expect_refusal("CONV_2D s4 scratch not 4-aligned", CONV4((int8_t *)scratch + 2, need), out, (int32_t)sizeof out);
    expect_refusal("CONV_2D s4 scratch NULL", CONV4(NULL, need), out, (int32_t)sizeof out);
    p.input_offset = 129;
    expect_refusal("CONV_2D s4 input_offset 129", CONV4(scratch, need), out, (int32_t)sizeof out);
    p.input_offset = -128;
    expect_refusal("CONV_2D s4 input_offset -128", CONV4(scratch, need), out, (int32_t)sizeof out);
#undef CONV4
    p.input_offset = 0;
    p.depth_multiplier = 2;
    memset(out, 0x5A, sizeof out);
    expect_refusal("DEPTHWISE_CONV_2D s4 depth_multiplier 2",
                   pq_depthwise_conv2d_s4_dsp(&p, mult, shift, &dw_in, in, &dw_filter, filter, NULL, &dw_out, out),
                   out, (int32_t)sizeof out);
    memset(&f, 0, sizeof f);
    f.filter_offset = 1;
    f.act_min = -128;
    f.act_max = 127;
    memset(out, 0x5A, sizeof out);
    expect_refusal("FULLY_CONNECTED s4 filter_offset 1",
                   pq_fully_connected_s4_dsp(&f, mult, shift, 2, 9, 5, in, filter, NULL, out), out,
                   (int32_t)sizeof out);
    dvr_puts("refusals s4: ");
    dvr_putl(g_refusals_ok - before_ok);
    dvr_puts(" of ");
    dvr_putl(g_refusals - before);
    dvr_puts(" as documented\n");
    dvr_flush();
}
#endif

#if PQ_DSP
static int g_edges, g_edges_ok;

/* Both pooling ops on one input, reference and DSP, outputs pre-filled alike: the same
 * status (PQ_OK, or expect_avg for AVERAGE_POOL_2D), the same output bytes. */
static void pool_edge(const char *what, const char *fill, const pq_pool_params *pp, const pq_dims *in_dims, const int8_t *in,
                      const pq_dims *out_dims, pq_status expect_avg)
{
    static int8_t want[64], got[64];
    const int32_t n = out_dims->n * out_dims->h * out_dims->w * out_dims->c;
    int op;
    for (op = 0; op < 2; ++op) {
        pq_status st_want, st_got;
        int ok;
        memset(want, 0x5A, sizeof want);
        memset(got, 0x5A, sizeof got);
        if (op == 0) {
            st_want = pq_max_pool2d_s8(pp, in_dims, in, out_dims, want);
            st_got = pq_max_pool2d_s8_dsp(pp, in_dims, in, out_dims, got);
        } else {
            st_want = pq_avg_pool2d_s8(pp, in_dims, in, out_dims, want);
            st_got = pq_avg_pool2d_s8_dsp(pp, in_dims, in, out_dims, got);
        }
        ok = n <= (int32_t)sizeof want && st_want == (op == 0 ? PQ_OK : expect_avg) && st_got == st_want &&
             memcmp(want, got, sizeof want) == 0;
        ++g_edges;
        g_edges_ok += ok;
        if (!ok) {
            dvr_puts("POOL EDGE NOT AS THE REFERENCE: ");
            dvr_puts(op == 0 ? "maxpool " : "avgpool ");
            dvr_puts(what);
            dvr_puts(fill);
            put_kv(": status dsp", st_got);
            put_kv("reference", st_want);
            dvr_puts("\n");
            dvr_flush();
        }
    }
}

/* What the random cases meet rarely or never, each through both pooling ops:
 *  - windows with no tap inside the image, which the validator refuses (the DSP kernels
 *    must still do what the reference does): a 2x3 input of 5 channels, a 1x1 window,
 *    stride 3 down: output row 1 reads input row 3. MAX_POOL_2D writes -128 clamped there;
 *    AVERAGE_POOL_2D returns PQ_ERR_PARAM at that row, with row 0 written;
 *  - the int16 lanes' limit in the DSP average: 255, 256, 257 and 270 taps, runs of 600
 *    and of 290 taps (several passes), all -128 (256 of them sum to -32768), all 127, or
 *    mixed; 13 channels (8 + 4 + 1 a pass). */
static void check_pool_edges(void)
{
    static const struct {
        int32_t h, w, fh, fw;
        const char *what;
    } shapes[] = {
        {1, 256, 1, 256, "a 1x256 window"},
        {1, 257, 1, 257, "a 1x257 window"},
        {16, 16, 16, 16, "a 16x16 window"},
        {17, 16, 17, 15, "a 17x15 window"},
        {18, 16, 18, 15, "an 18x15 window"},
        {2, 300, 2, 300, "a 2x300 window"},
        {3, 300, 3, 290, "a 3x290 window"},
    };
    static const char *const fills[] = {" of -128", " of 127", ", mixed"};
    static int8_t in[3 * 300 * 13];
    pq_pool_params pp;
    pq_dims in_dims = {1, 2, 3, 5};
    pq_dims out_dims = {1, 2, 3, 5};
    int32_t i, k, f;
    memset(&pp, 0, sizeof pp);
    pp.stride_h = 3;
    pp.stride_w = pp.filter_h = pp.filter_w = 1;
    pp.act_min = -100;
    pp.act_max = 90;
    for (i = 0; i < (int32_t)sizeof in; ++i) {
        in[i] = (int8_t)(i * 37 - 128);
    }
    pool_edge("empty windows", "", &pp, &in_dims, in, &out_dims, PQ_ERR_PARAM);
    pp.act_min = -128;
    pp.act_max = 127;
    for (k = 0; k < N_ELEMS(shapes); ++k) {
        in_dims.h = shapes[k].h, in_dims.w = shapes[k].w, in_dims.c = 13;
        out_dims.h = out_dims.w = 1, out_dims.c = 13;
        pp.filter_h = pp.stride_h = shapes[k].fh;
        pp.filter_w = pp.stride_w = shapes[k].fw;
        for (f = 0; f < N_ELEMS(fills); ++f) {
            for (i = 0; i < shapes[k].h * shapes[k].w * 13; ++i) {
                in[i] = (int8_t)(f == 0 ? -128 : (f == 1 ? 127 : (i * 37 + (i >> 3)) % 256 - 128));
            }
            pool_edge(shapes[k].what, fills[f], &pp, &in_dims, in, &out_dims, PQ_OK);
        }
    }
    dvr_puts("pool edges: ");
    dvr_putl(g_edges_ok);
    dvr_puts(" of ");
    dvr_putl(g_edges);
    dvr_puts(" as the reference\n");
    dvr_flush();
}
#endif

#if PQ_DSP
/* ---- dsppool16: the 16x8 pools' edges, as check_pool_edges ----------------------------- */

/* Both 16x8 pooling ops on one input, reference and DSP, outputs pre-filled alike: the same
 * status (PQ_OK, or expect_avg for AVERAGE_POOL_2D), the same output bytes. */
static void pool_edge_s16(const char *what, const char *fill, const pq_pool_params *pp, const pq_dims *in_dims,
                          const int16_t *in, const pq_dims *out_dims, pq_status expect_avg)
{
    static int16_t want[128], got[128];
    const int32_t n = out_dims->n * out_dims->h * out_dims->w * out_dims->c;
    int op;
    for (op = 0; op < 2; ++op) {
        pq_status st_want, st_got;
        int ok;
        memset(want, 0x5A, sizeof want);
        memset(got, 0x5A, sizeof got);
        if (op == 0) {
            st_want = pq_max_pool2d_s16(pp, in_dims, in, out_dims, want);
            st_got = pq_max_pool2d_s16_dsp(pp, in_dims, in, out_dims, got);
        } else {
            st_want = pq_avg_pool2d_s16(pp, in_dims, in, out_dims, want);
            st_got = pq_avg_pool2d_s16_dsp(pp, in_dims, in, out_dims, got);
        }
        ok = n <= N_ELEMS(want) && st_want == (op == 0 ? PQ_OK : expect_avg) && st_got == st_want &&
             memcmp(want, got, sizeof want) == 0;
        ++g_edges;
        g_edges_ok += ok;
        if (!ok) {
            dvr_puts("POOL EDGE NOT AS THE REFERENCE: ");
            dvr_puts(op == 0 ? "maxpool_s16 " : "avgpool_s16 ");
            dvr_puts(what);
            dvr_puts(fill);
            put_kv(": status dsp", st_got);
            put_kv("reference", st_want);
            dvr_puts("\n");
            dvr_flush();
        }
    }
}

/* What the random 16x8 cases meet rarely or never, each through both pooling ops, 11
 * channels (a pass of 8, one of 2, the last odd one) unless said:
 *  - windows with no tap inside the image (the validator refuses them), as the int8 edge:
 *    MAX_POOL_2D writes -32768 clamped there, AVERAGE_POOL_2D returns PQ_ERR_PARAM;
 *  - the MLPerf Tiny 16x8 shapes: KWS's global 5x25, IC's 8x8, a 3x3 stride-2 SAME max
 *    pool (padding in the windows), a 2x2, all -32768, all 32767 or mixed, clamped to the
 *    whole int16 range or to [-20000, 25000];
 *  - sums past int32, which wrap in the reference (a uint32 sum): 65540 taps of -32768
 *    or of 32767, as one run (a window as wide as the image) and as two runs. */
static void check_pool_edges_s16(void)
{
    static const struct {
        int32_t h, w, fh, fw, stride, pad;
        const char *what;
    } shapes[] = {
        {5, 25, 5, 25, 1, 0, "a global 5x25 window"},      {8, 8, 8, 8, 1, 0, "a global 8x8 window"},
        {6, 5, 3, 3, 2, 1, "3x3 windows, stride 2, SAME"}, {4, 6, 2, 2, 2, 0, "2x2 windows"},
        {2, 32770, 2, 32770, 1, 0, "a sum past int32, one run"},
        {2, 32771, 2, 32770, 1, 0, "a sum past int32, two runs"},
    };
    static const char *const fills[] = {" of -32768", " of 32767", ", mixed"};
    static int16_t in[2 * 32771 * 11];
    const int before = g_edges, before_ok = g_edges_ok;
    pq_pool_params pp;
    pq_dims in_dims = {1, 2, 3, 5};
    pq_dims out_dims = {1, 1, 1, 5};
    int32_t i, k, f, n;
    memset(&pp, 0, sizeof pp);
    pp.stride_h = 3;
    pp.stride_w = pp.filter_h = pp.filter_w = 1;
    pp.act_min = -30000;
    pp.act_max = 29000;
    out_dims.h = 2, out_dims.w = 3;
    for (i = 0; i < 2 * 3 * 5; ++i) {
        in[i] = (int16_t)(i * 2731 - 32768);
    }
    pool_edge_s16("empty windows", "", &pp, &in_dims, in, &out_dims, PQ_ERR_PARAM);
    for (k = 0; k < N_ELEMS(shapes); ++k) {
        in_dims.h = shapes[k].h, in_dims.w = shapes[k].w, in_dims.c = 11;
        pp.filter_h = shapes[k].fh, pp.filter_w = shapes[k].fw;
        pp.stride_h = pp.stride_w = shapes[k].stride;
        pp.pad_h = pp.pad_w = shapes[k].pad;
        out_dims.h = (shapes[k].h + 2 * shapes[k].pad - shapes[k].fh) / shapes[k].stride + 1;
        out_dims.w = (shapes[k].w + 2 * shapes[k].pad - shapes[k].fw) / shapes[k].stride + 1;
        out_dims.c = 11;
        n = shapes[k].h * shapes[k].w * 11;
        for (f = 0; f < N_ELEMS(fills); ++f) {
            if (f == 2 && shapes[k].w > 1000) {
                continue; /* the wrapping sums: a constant fill */
            }
            for (i = 0; i < n; ++i) {
                in[i] = (int16_t)(f == 0 ? -32768 : (f == 1 ? 32767 : (i * 7919 + (i >> 3)) % 65536 - 32768));
            }
            pp.act_min = -32768, pp.act_max = 32767;
            pool_edge_s16(shapes[k].what, fills[f], &pp, &in_dims, in, &out_dims, PQ_OK);
            pp.act_min = -20000, pp.act_max = 25000;
            pool_edge_s16(shapes[k].what, fills[f], &pp, &in_dims, in, &out_dims, PQ_OK);
        }
    }
    dvr_puts("pool edges s16: ");
    dvr_putl(g_edges_ok - before_ok);
    dvr_puts(" of ");
    dvr_putl(g_edges - before);
    dvr_puts(" as the reference\n");
    dvr_flush();
}
/* ---- end dsppool16 ---------------------------------------------------------------------- */
#endif

/* ---- the requantization alone (pq_dsp.h) against pq_mbqm (pq_fixedpoint.h) ---- */

#if PQ_DSP
/* n random (accumulator, multiplier, shift, output offset, clamp) values through pq_dsp_out
 * and the reference kernels' steps: accumulators small (rounding ties are 1 in 2^right),
 * odd multiples of powers of two, near the int32 limits or anywhere. Returns the mismatches. */
static long check_requant(rng *r, long n)
{
    long i, bad = 0;
    for (i = 0; i < n; ++i) {
        int32_t acc, m, sh, off, lo, hi, want, got, want_full, got_full;
        switch (rr(r, 0, 3)) {
        case 0:
            acc = rr(r, -4096, 4096);
            break;
        case 1:
            acc = (int32_t)((uint32_t)(2 * rr(r, -1000, 1000) + 1) << rr(r, 0, 21));
            break;
        case 2:
            acc = rr(r, 0, 1) ? INT32_MAX - rr(r, 0, 1000) : INT32_MIN + rr(r, 0, 1000);
            break;
        default:
            acc = (int32_t)(uint32_t)rng_next(r);
        }
        m = gen_q31(r);
        sh = rr(r, 0, 1) ? rr(r, -31, 30) : rr(r, -6, 0);
        off = gen_offset(r, -255, 255);
        gen_clamp(r, off, &lo, &hi);
        want = pq_clamp(pq_wrap_i32((uint32_t)pq_mbqm(acc, m, sh) + (uint32_t)off), lo, hi);
        got = pq_dsp_out(acc, m, sh, off, lo, hi);
        /* the kernels' shortcut for a clamp of the whole int8 range (SSAT) */
        want_full = pq_clamp(pq_wrap_i32((uint32_t)pq_mbqm(acc, m, sh) + (uint32_t)off), -128, 127);
        got_full = pq_dsp_out_full(acc, m, sh, off);
        if (pq_dsp_requant(acc, m, sh) != pq_mbqm(acc, m, sh) || got != want || got_full != want_full) {
            if (bad++ == 0) {
                dvr_puts("MISMATCH requant");
                put_kv("acc", acc);
                put_kv("multiplier", m);
                put_kv("shift", sh);
                put_kv(": pq_dsp_requant", pq_dsp_requant(acc, m, sh));
                put_kv("pq_mbqm", pq_mbqm(acc, m, sh));
                put_kv("; offset", off);
                put_kv("clamp", lo);
                put_kv("..", hi);
                put_kv(": pq_dsp_out", got);
                put_kv("reference", want);
                put_kv("; pq_dsp_out_full", got_full);
                put_kv("reference", want_full);
                dvr_puts("\n");
                dvr_flush();
            }
        }
    }
    return bad;
}

/* dsp16: the 16x8 int64 requantization (pq_dsp16_ch_of, the bias folded in, then
 * pq_dsp16_apply) against pq_mbqm64 of the wrapped sum + bias, on sums near rounding ties,
 * near +-2^31, near the int64 limits and anywhere, biases none, small or any, every shift
 * of [-31, 7] (total shifts of 8 to 46, both halves of the word split); sums inside int32
 * through pq_dsp16_apply32 too. */
static long check_requant_s16(rng *r, long n)
{
    long i, bad = 0;
    for (i = 0; i < n; ++i) {
        int64_t sum, bias;
        int32_t m, sh, want, got, mode;
        pq_dsp16_ch q;
        switch (rr(r, 0, 4)) {
        case 0:
            sum = rr(r, -70000, 70000);
            break;
        case 1: /* an odd number times a power of two: ties after the shift */
            sum = (int64_t)(2 * rr(r, -100000, 100000) + 1) * ((int64_t)1 << rr(r, 0, 40));
            break;
        case 2:
            sum = (int64_t)rr(r, -3, 3) * ((int64_t)1 << 31) + rr(r, -1000, 1000);
            break;
        case 3:
            sum = rr(r, 0, 1) ? INT64_MAX - rr(r, 0, 1000) : INT64_MIN + rr(r, 0, 1000);
            break;
        default:
            sum = (int64_t)rng_next(r);
        }
        mode = rr(r, 0, 3);
        bias = mode == 0 ? 0 : (mode == 1 ? rr(r, -3000000, 3000000) : (int64_t)rng_next(r));
        m = gen_q31(r);
        if (rr(r, 0, 3) == 0) {
            m = (int32_t)(0x7FFF0000 - 0x8000 + rr(r, -2, 2) * 0x8000); /* near the Q15 cap */
        }
        sh = rr(r, -31, 7);
        q = pq_dsp16_ch_of(m, sh, mode == 0 ? NULL : &bias);
        want = pq_mbqm64(pq_wrap_i64((uint64_t)sum + (uint64_t)bias), m, sh);
        got = pq_dsp16_apply((uint64_t)sum, &q);
        if (sum >= INT32_MIN && sum <= INT32_MAX && pq_dsp16_apply32((int32_t)sum, &q) != want) {
            got = ~want; /* the int32 entry (sums of one chunk) differs */
        }
        if (got != want) {
            if (bad++ == 0) {
                dvr_puts("MISMATCH requant16");
                put_kv("sum_hi", (int32_t)(sum >> 32));
                put_kv("sum_lo", (int32_t)sum);
                put_kv("bias_hi", (int32_t)(bias >> 32));
                put_kv("bias_lo", (int32_t)bias);
                put_kv("multiplier", m);
                put_kv("shift", sh);
                put_kv(": pq_dsp16_apply", got);
                put_kv("pq_mbqm64", want);
                dvr_puts("\n");
                dvr_flush();
            }
        }
    }
    return bad;
}
#endif

/* ---- main ----------------------------------------------------------------- */

static int parse_num(const char *s, unsigned long long *v)
{
    unsigned long long x = 0;
    if (*s == '\0') {
        return 0;
    }
    for (; *s != '\0'; ++s) {
        if (*s < '0' || *s > '9') {
            return 0;
        }
        x = x * 10u + (unsigned long long)(*s - '0');
    }
    *v = x;
    return 1;
}

static int usage(void)
{
    dvr_puts("usage: [--cases N] [--seed S] [--requant N] [--op OP] [--case OP:I]"
             " [--selftest flip|overread|underread|overwrite[:I]]\n");
    dvr_flush();
    return 2;
}

int main(void)
{
    char *words[16];
    const int n_words = dvr_cmdline(words, 16);
    unsigned long long cases = 1000, requant = 200000, only_index = 0, v;
    int only_op = -1, failed = 0, op, i;
    long k;
    for (i = 0; i < n_words; ++i) {
        const char *w = words[i];
        const char *arg = i + 1 < n_words ? words[i + 1] : "";
        if (strcmp(w, "--cases") == 0 && parse_num(arg, &cases)) {
            ++i;
        } else if (strcmp(w, "--seed") == 0 && parse_num(arg, &g_seed)) {
            ++i;
        } else if (strcmp(w, "--requant") == 0 && parse_num(arg, &requant)) {
            ++i;
        } else if (strcmp(w, "--op") == 0 && *arg != '\0') {
            for (op = 0; op < OP_COUNT && strcmp(arg, k_op_names[op]) != 0; ++op) {
            }
            if (op == OP_COUNT) {
                return usage();
            }
            only_op = op;
            only_index = ~0ull; /* every index */
            ++i;
        } else if (strcmp(w, "--selftest") == 0 && *arg != '\0') {
            char *colon = strchr(words[i + 1], ':');
            if (colon != NULL) {
                *colon = '\0';
                if (!parse_num(colon + 1, &v)) {
                    return usage();
                }
                g_selftest_index = (long)v;
            }
            g_selftest = words[i + 1];
            ++i;
        } else if (strcmp(w, "--case") == 0) {
            for (op = 0; op < OP_COUNT; ++op) {
                const size_t len = strlen(k_op_names[op]);
                if (strncmp(arg, k_op_names[op], len) == 0 && arg[len] == ':' && parse_num(arg + len + 1, &v)) {
                    only_op = op;
                    only_index = v;
                }
            }
            if (only_op < 0) {
                return usage();
            }
            ++i;
        } else if (w[0] == '-' || i > 0) {
            return usage();
        } /* else the program's name */
    }
    dvr_puts(PQ_DSP ? "dsp_vs_reference: DSP kernels (PQ_DSP 1)" : "dsp_vs_reference: no DSP extension (PQ_DSP 0),"
                                                                    " portable kernels against themselves");
    dvr_puts(", seed ");
    dvr_putu((uint32_t)g_seed, 0);
    dvr_puts(", ");
    dvr_putu((uint32_t)cases, 0);
    dvr_puts(" cases per op\n");
    dvr_flush();
#if PQ_DSP
    check_refusals();
    check_refusals_s4(); /* dsp4 */
    failed |= g_refusals_ok != g_refusals;
    check_pool_edges();
    check_pool_edges_s16(); /* dsppool16 */
    failed |= g_edges_ok != g_edges;
    if (only_op < 0 && requant > 0) {
        rng r;
        long bad;
        r.s = g_seed * 0x100000001B3ull + 0xFEEDull;
        bad = check_requant(&r, (long)requant);
        dvr_puts("requant: ");
        dvr_putl((int32_t)requant);
        dvr_puts(" values, ");
        dvr_putl((int32_t)bad);
        dvr_puts(" mismatches\n");
        dvr_flush();
        failed |= bad != 0;
        bad = check_requant_s16(&r, (long)requant); /* dsp16 */
        dvr_puts("requant16: ");
        dvr_putl((int32_t)requant);
        dvr_puts(" values, ");
        dvr_putl((int32_t)bad);
        dvr_puts(" mismatches\n");
        dvr_flush();
        failed |= bad != 0;
    }
#endif
    for (op = 0; op < OP_COUNT; ++op) {
        if (only_op >= 0 && op != only_op) {
            continue;
        }
        for (k = 0; k < (long)cases; ++k) {
            if (only_op < 0 || only_index == ~0ull || (unsigned long long)k == only_index) {
                run_case(op, k);
            }
        }
        dvr_puts(k_op_names[op]);
        dvr_puts(": ");
        dvr_putl((int32_t)g_cases[op]);
        dvr_puts(" cases, ");
        dvr_putl((int32_t)g_mismatches[op]);
        dvr_puts(" mismatches, ");
        dvr_putl((int32_t)g_guard_errors[op]);
        dvr_puts(" guard errors\n# ");
        dvr_puts(k_op_names[op]);
        dvr_puts(" cases with:");
        for (i = 0; i < 8 && k_cover_names[op][i][0] != '\0'; ++i) {
            dvr_puts(i ? ", " : " ");
            dvr_puts(k_cover_names[op][i]);
            dvr_puts(" ");
            dvr_putl((int32_t)g_cover[op][i]);
        }
        dvr_puts("\n");
        dvr_flush();
        failed |= g_mismatches[op] != 0 || g_guard_errors[op] != 0;
    }
    dvr_puts(failed ? "FAILED\n" : "OK: every output byte-identical to the reference, every guard intact\n");
    dvr_flush();
    return failed ? 1 : 0;
}
