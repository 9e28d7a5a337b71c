/*
 * fast_vs_reference's 16x8 cases (int16 activations, int8 weights, int64 or int32 bias):
 * CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED through their fast hooks
 * (pq_<name>_s16_fast_op) on every ISA, against pq_<name>_s16, byte for byte. On aarch64 the
 * NEON and NEON dot-product ISAs run src/arch/arm/pq_s16_neon.c, so these are its tests.
 *
 * What the NEON code could get wrong, and the cases aimed at it: channel counts around 4
 * (4 filter rows per call, then one at a time) and reduction depths around 4, 8 and
 * 8 * PQ_S16_CHUNK = 1024 (the 4-wide step, the scalar tail, the int32 lanes' flush into int64),
 * extreme values (-32768 inputs times -128 weights plus FULLY_CONNECTED's filter offset: the
 * largest products, which overflow an int32 lane after 171 of them), and depths past 2048.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fvr.h"

static const int32_t k_edges[] = {1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 15, 16, 17, 24, 31, 32, 33, 63, 64, 65};
#define N_EDGES ((int32_t)(sizeof k_edges / sizeof k_edges[0]))

static int32_t channels(fvr_rng *r, int32_t hi)
{
    const int32_t c = fvr_range(r, 0, 1) ? fvr_pick(r, k_edges, N_EDGES) : fvr_range(r, 1, hi);
    return c > hi ? hi : c;
}

/* Random int16 values: uniform, only the extremes, constant or small. */
static int16_t *gen_s16(fvr_rng *r, size_t n)
{
    int16_t *v = (int16_t *)fvr_alloc(n * sizeof *v);
    const int32_t mode = fvr_range(r, 0, 7);
    const int16_t konst = (int16_t)fvr_range(r, -32768, 32767);
    size_t i;
    for (i = 0; i < n; ++i) {
        if (mode == 0) {
            v[i] = (fvr_next(r) & 1) ? -32768 : 32767;
        } else if (mode == 1) {
            v[i] = -32768;
        } else if (mode == 2) {
            v[i] = konst;
        } else if (mode == 3) {
            v[i] = (int16_t)fvr_range(r, -300, 300);
        } else {
            v[i] = (int16_t)fvr_range(r, -32768, 32767);
        }
    }
    return v;
}

static int8_t *gen_w(fvr_rng *r, size_t n)
{
    int8_t *w = (int8_t *)fvr_alloc(n);
    fvr_fill_s8(r, w, n);
    return w;
}

/* NULL, or an int64 bias: small, near +-2^40, or anywhere (the sums wrap as the reference's). */
static int64_t *gen_bias64(fvr_rng *r, int32_t n)
{
    const int32_t mode = fvr_range(r, 0, 3);
    int64_t *b;
    int32_t i;
    if (mode == 0) return NULL;
    b = (int64_t *)fvr_alloc((size_t)n * sizeof *b);
    for (i = 0; i < n; ++i) {
        if (mode == 1) {
            b[i] = fvr_range(r, -3000000, 3000000);
        } else if (mode == 2) {
            b[i] = (int64_t)fvr_range(r, -1024, 1024) << 30;
        } else {
            b[i] = (int64_t)fvr_next(r);
        }
    }
    return b;
}

/* (multiplier, shift) pairs for pq_mbqm64: shift in [-31, 7] (the validator's range), mostly
 * aimed at outputs of int16 size for a depth of k; multipliers mostly in [2^30, 2^31). */
static void gen_mults(fvr_rng *r, int32_t n, int32_t k, int32_t *m, int32_t *s)
{
    int32_t i, bits = 0;
    while ((1 << bits) < k && bits < 30) ++bits;
    for (i = 0; i < n; ++i) {
        const int32_t mode = fvr_range(r, 0, 9);
        int32_t sh = mode < 7 ? -(7 + bits / 2) + fvr_range(r, -3, 3) : fvr_range(r, -31, 7);
        s[i] = sh < -31 ? -31 : (sh > 7 ? 7 : sh);
        m[i] = mode == 9 ? fvr_range(r, 0, INT32_MAX) : (mode == 8 ? INT32_MAX : fvr_range(r, 1 << 30, INT32_MAX));
    }
}

static void gen_clamp16(fvr_rng *r, int32_t *lo, int32_t *hi)
{
    switch (fvr_range(r, 0, 2)) {
    case 0:
        *lo = -32768, *hi = 32767;
        break;
    case 1:
        *lo = 0, *hi = 32767;
        break;
    default:
        *lo = fvr_range(r, -32768, 32767);
        *hi = fvr_range(r, *lo, 32767);
    }
}

/* One spatial axis: padding before and the output size for an input of `in`, filter k, stride
 * s, dilation d (padding up to the dilated filter's extent less one, on either side). */
static void gen_axis(fvr_rng *r, int32_t in, int32_t k, int32_t s, int32_t d, int32_t *pad, int32_t *out)
{
    const int32_t eff = (k - 1) * d + 1;
    int32_t after;
    *pad = fvr_range(r, 0, eff - 1);
    after = fvr_range(r, 0, eff - 1);
    if (in + *pad + after < eff) after = eff - in - *pad;
    *out = (in + *pad + after - eff) / s + 1;
}

static void run_isas(const pq_fast_op *op, const void *params, pq_tensor *t, const int32_t *io, int n_inputs,
                     const int16_t *want, size_t n, const char *desc, fvr_check_fn check)
{
    pq_node nd;
    int isa;
    memset(&nd, 0, sizeof nd);
    nd.params = params;
    nd.io = io;
    nd.n_inputs = (uint16_t)n_inputs;
    nd.n_parts = 1;
    for (isa = 0; isa < PQ_ISA_COUNT; ++isa) {
        int16_t *got;
        if (!pq_isa_supported(isa)) continue;
        got = (int16_t *)fvr_alloc(n * sizeof *got);
        t[n_inputs].data = got;
        fvr_run_fast(op, &nd, t, isa, desc);
        check(isa, (const int8_t *)want, (int8_t *)got, n * sizeof *got, desc);
    }
}

/* CONV_2D (depthwise 0) or DEPTHWISE_CONV_2D 16x8; `extreme`: CONV_2D 3x3 x 240 deep (2,160)
 * over a 3x3 image of -32768 with -128 weights, every product 2^22 and of one sign: 2,160 of
 * them overflow int32 more than four times, so any lane kept too long shows. */
static void conv_case(fvr_rng *r, int depthwise, int extreme, fvr_check_fn check)
{
    static const int32_t ks[] = {1, 1, 2, 3, 3, 5};
    static const int32_t strides[] = {1, 1, 2, 3};
    static const int32_t dils[] = {1, 1, 1, 2};
    static const int32_t groups_of[] = {1, 1, 1, 1, 2, 3};
    static const int32_t mults[] = {1, 1, 1, 2, 3};
    pq_conv_params p;
    pq_dims in, f, out;
    pq_tensor t[6];
    int32_t io[6] = {0, 1, 2, 3, 4, 5};
    const int32_t groups = depthwise || extreme ? 1 : fvr_pick(r, groups_of, 6);
    const int32_t dm = depthwise ? fvr_pick(r, mults, 5) : 1;
    const int bias32 = !depthwise && fvr_range(r, 0, 3) == 0;
    int32_t cin, cout, k, *mult, *shift;
    int16_t *x, *want;
    int8_t *w;
    void *bias;
    size_t n_out;
    char desc[400];
    memset(&p, 0, sizeof p);
    in.n = fvr_range(r, 1, 2);
    in.h = fvr_range(r, 1, 10);
    in.w = fvr_range(r, 1, 10);
    f.h = fvr_pick(r, ks, 6);
    f.w = fvr_pick(r, ks, 6);
    if (!depthwise && fvr_range(r, 0, 3) == 0) f.h = f.w = 1; /* pointwise: read in place */
    p.stride_h = fvr_pick(r, strides, 4), p.stride_w = fvr_pick(r, strides, 4);
    p.dilation_h = fvr_pick(r, dils, 4), p.dilation_w = fvr_pick(r, dils, 4);
    p.depth_multiplier = dm;
    if (depthwise) {
        cin = channels(r, 40);
        cout = cin * dm;
    } else {
        int32_t per_in = channels(r, 40), per_out = channels(r, 20);
        if (fvr_range(r, 0, 5) == 0) { /* a depth past 1024 (the int32 lanes' flush): 3x3 x 114+, small image */
            f.h = f.w = 3;
            per_in = fvr_range(r, 114, 240);
            per_out = channels(r, 9);
            in.h = fvr_range(r, 1, 4);
            in.w = fvr_range(r, 1, 4);
        }
        cin = groups * per_in;
        cout = groups * per_out;
    }
    in.c = cin;
    f.n = depthwise ? 1 : cout;
    f.c = depthwise ? cout : cin / groups;
    if (extreme) {
        in.n = 1, in.h = in.w = 3, f.h = f.w = 3, in.c = cin = f.c = 240, out.c = cout = f.n = 5;
        p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
    }
    gen_axis(r, in.h, f.h, p.stride_h, p.dilation_h, &p.pad_h, &out.h);
    gen_axis(r, in.w, f.w, p.stride_w, p.dilation_w, &p.pad_w, &out.w);
    if (extreme) { /* SAME: 9 output pixels, 4 pairs and one alone */
        p.pad_h = p.pad_w = 1;
        out.h = out.w = 3;
    }
    out.n = in.n, out.c = cout;
    gen_clamp16(r, &p.act_min, &p.act_max);
    k = f.h * f.w * (depthwise ? 1 : f.c);
    x = gen_s16(r, (size_t)in.n * (size_t)in.h * (size_t)in.w * (size_t)in.c);
    w = gen_w(r, (size_t)f.n * (size_t)f.h * (size_t)f.w * (size_t)f.c);
    if (extreme) {
        memset(w, 0x80, (size_t)f.n * (size_t)f.h * (size_t)f.w * (size_t)f.c); /* -128 */
        for (k = 0; k < in.h * in.w * in.c; ++k) x[k] = -32768;
        k = f.h * f.w * f.c;
    }
    mult = (int32_t *)fvr_alloc((size_t)cout * sizeof *mult);
    shift = (int32_t *)fvr_alloc((size_t)cout * sizeof *shift);
    gen_mults(r, cout, k, mult, shift);
    if (bias32) {
        int32_t i, *b = fvr_range(r, 0, 1) ? (int32_t *)fvr_alloc((size_t)cout * sizeof *b) : NULL;
        for (i = 0; b != NULL && i < cout; ++i) b[i] = (int32_t)(uint32_t)fvr_next(r);
        bias = b;
    } else {
        bias = gen_bias64(r, cout);
    }
    n_out = (size_t)out.n * (size_t)out.h * (size_t)out.w * (size_t)out.c;
    want = (int16_t *)fvr_alloc(n_out * sizeof *want);
    snprintf(desc, sizeof desc,
             "%s16x8 in %ldx%ldx%ldx%ld filter %ldx%ldx%ldx%ld out %ldx%ldx%ld stride %ld,%ld dilation %ld,%ld "
             "pad %ld,%ld groups %ld dm %ld bias %s clamp [%ld, %ld]",
             depthwise ? "depthwise " : "conv ", (long)in.n, (long)in.h, (long)in.w, (long)in.c, (long)f.n,
             (long)f.h, (long)f.w, (long)f.c, (long)out.h, (long)out.w, (long)out.c, (long)p.stride_h,
             (long)p.stride_w, (long)p.dilation_h, (long)p.dilation_w, (long)p.pad_h, (long)p.pad_w, (long)groups,
             (long)dm, bias == NULL ? "none" : (bias32 ? "int32" : "int64"), (long)p.act_min, (long)p.act_max);
    if ((depthwise ? pq_depthwise_conv2d_s16(&p, mult, shift, &in, x, &f, w, (const int64_t *)bias, &out, want)
                   : pq_conv2d_s16(&p, mult, shift, &in, x, &f, w, bias32 ? (const int32_t *)bias : NULL,
                                   bias32 ? NULL : (const int64_t *)bias, &out, want)) != PQ_OK) {
        fprintf(stderr, "the reference kernel failed: %s\n", desc);
        exit(1);
    }
    t[0] = fvr_tensor_dims(x, PQ_DT_INT16, 4, (const int32_t[]){in.n, in.h, in.w, in.c});
    t[1] = fvr_tensor_dims(w, PQ_DT_INT8, 4, (const int32_t[]){f.n, f.h, f.w, f.c});
    t[2] = fvr_tensor_dims(bias, bias32 ? PQ_DT_INT32 : PQ_DT_INT64, 1, &cout);
    t[3] = fvr_tensor_dims(mult, PQ_DT_INT32, 1, &cout);
    t[4] = fvr_tensor_dims(shift, PQ_DT_INT32, 1, &cout);
    t[5] = fvr_tensor_dims(NULL, PQ_DT_INT16, 4, (const int32_t[]){out.n, out.h, out.w, out.c});
    io[2] = bias != NULL ? 2 : -1;
    run_isas(depthwise ? &pq_depthwise_conv2d_s16_fast_op : &pq_conv2d_s16_fast_op, &p, t, io, 5, want, n_out, desc,
             check);
}

void fvr_case_conv_s16(fvr_rng *r, long index, fvr_check_fn check)
{
    conv_case(r, 0, index == 0, check);
}

void fvr_case_dw_s16(fvr_rng *r, long index, fvr_check_fn check)
{
    (void)index;
    conv_case(r, 1, 0, check);
}

/* FULLY_CONNECTED 16x8; case 0 is 2,500 deep at the largest products (-32768 * (-128 - 255)). */
void fvr_case_fc_s16(fvr_rng *r, long index, fvr_check_fn check)
{
    pq_fc_params p;
    pq_tensor t[6];
    int32_t io[6] = {0, 1, 2, 3, 4, 5};
    const int32_t mode = fvr_range(r, 0, 9);
    int32_t batches = fvr_range(r, 1, 3), k, n, n_mult, *mult, *shift;
    int16_t *x, *want;
    int8_t *w;
    int64_t *bias;
    char desc[200];
    memset(&p, 0, sizeof p);
    k = mode < 6 ? channels(r, 300) : (mode < 9 ? fvr_range(r, 1000, 1100) : fvr_range(r, 1100, 2600));
    n = channels(r, 70);
    p.per_channel = fvr_range(r, 0, 1);
    /* 0 in every 16x8 model (the validator's rule); the fast kernel folds any offset into its
     * widened weights, up to 255 in magnitude (pq_s16_fast.h's bound) */
    p.filter_offset = fvr_range(r, 0, 3) == 0 ? fvr_range(r, -255, 255) : 0;
    gen_clamp16(r, &p.act_min, &p.act_max);
    if (index == 0) {
        batches = 2, k = 2500, n = 6;
        p.filter_offset = -255;
    }
    x = gen_s16(r, (size_t)batches * (size_t)k);
    w = gen_w(r, (size_t)n * (size_t)k);
    if (index == 0) {
        int32_t i;
        for (i = 0; i < k; ++i) {
            x[i] = -32768;
            w[i] = -128; /* (-128 - 255) * -32768 per product, 2,500 of them: far past int32 */
            w[(size_t)k + (size_t)i] = 127;
            w[2 * (size_t)k + (size_t)i] = (i & 1) ? 127 : -128;
        }
    }
    n_mult = p.per_channel ? n : 1;
    mult = (int32_t *)fvr_alloc((size_t)n_mult * sizeof *mult);
    shift = (int32_t *)fvr_alloc((size_t)n_mult * sizeof *shift);
    gen_mults(r, n_mult, k, mult, shift);
    bias = gen_bias64(r, n);
    want = (int16_t *)fvr_alloc((size_t)batches * (size_t)n * sizeof *want);
    snprintf(desc, sizeof desc, "fc 16x8 batches %ld k %ld n %ld per_channel %ld filter_offset %ld bias %s",
             (long)batches, (long)k, (long)n, (long)p.per_channel, (long)p.filter_offset, bias ? "yes" : "no");
    if (pq_fully_connected_s16(&p, mult, shift, batches, k, n, x, w, bias, want) != PQ_OK) {
        fprintf(stderr, "the reference kernel failed: %s\n", desc);
        exit(1);
    }
    t[0] = fvr_tensor_dims(x, PQ_DT_INT16, 2, (const int32_t[]){batches, k});
    t[1] = fvr_tensor_dims(w, PQ_DT_INT8, 2, (const int32_t[]){n, k});
    t[2] = fvr_tensor_dims(bias, PQ_DT_INT64, 1, &n);
    t[3] = fvr_tensor_dims(mult, PQ_DT_INT32, 1, &n_mult);
    t[4] = fvr_tensor_dims(shift, PQ_DT_INT32, 1, &n_mult);
    t[5] = fvr_tensor_dims(NULL, PQ_DT_INT16, 2, (const int32_t[]){batches, n});
    io[2] = bias != NULL ? 2 : -1;
    run_isas(&pq_fully_connected_s16_fast_op, &p, t, io, 5, want, (size_t)batches * (size_t)n, desc, check);
}
