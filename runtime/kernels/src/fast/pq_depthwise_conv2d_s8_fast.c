/*
 * DEPTHWISE_CONV_2D, vectorised over channels (same bytes as
 * pq_depthwise_conv2d_s8). A depth multiplier above 1 runs as multiplier 1 over
 * a copy of each image with every channel repeated (pq_dw_multiplied): output
 * channel oc = ic * multiplier + m reads input channel ic, and the filter,
 * bias and per-channel constants are already laid out by output channel.
 *
 * For each output pixel, tap t reads one input pixel's c channels (or, for a
 * tap outside the image, the input zero point, whose contribution with the
 * folded bias is exactly 0), and every channel sums its own taps:
 *   acc[c] = bias'[c] + sum_t w[t, c] * x_t[c],  bias' = bias + input_offset * sum_t w[t, c].
 * Portable: along an output row, pixels whose taps all lie inside the image
 * form one run (each tap advancing stride_w * c bytes per pixel); border
 * pixels point their outside taps at a row of zero-point bytes.
 * SIMD kernels read a zero-point-padded copy of each image (pq_pad_image, in
 * the ISA's dw_pad format: int16 for AVX2's vpmaddwd, int8 for NEON's smull,
 * sign-flipped bytes for AVX-512's vpdpbusd,
 * which multiplies unsigned inputs by signed weights four taps at a time), so
 * every output pixel is interior and a block's weights stay in registers
 * along a row.
 *
 * Packed weights:
 *   portable  [taps][c], the filter itself.
 *   AVX2      blocks of 16 channels, pairs of taps (vpmaddwd sums pairs): per
 *             block and pair, 16 int16 "lo" then 16 "hi", lo holding
 *             (w[t0, ch], w[t1, ch]) for ch = 8l + 0..3 of each 128-bit lane l
 *             and hi for ch = 8l + 4..7: the order vpunpcklwd / vpunpckhwd give
 *             the inputs.
 *   AVX-512   blocks of 64 channels, groups of 4 taps: per block and group, 4
 *             vectors V0..V3 of 64 bytes, where dword i of 128-bit lane l of
 *             V_j holds (w[t0, ch], .., w[t3, ch]) for ch = 16l + 4j + i: the
 *             order two rounds of byte / word unpacks give 4 tap rows.
 *   NEON      int8, blocks of 16 channels [taps][16] (8 for a last block of 8;
 *             pq_depthwise_conv2d_s8_neon.c), in channel order; channels padded
 *             to a multiple of 8.
 * Per-channel constants are stored in the same orders (pq_dwconv_s8_order),
 * so the kernels load them as they are. The packings and lane orders lie with
 * each ISA's kernels; their granules in pq_isa_traits.c.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"
#include "pq_fixedpoint.h" /* PQ_INLINE */
#include "pq_isa_traits.h"

/* The entry whose depthwise kernel `isa` runs (AMX: AVX-512 VNNI's). */
static const pq_isa_traits *pq_dw_traits(int isa)
{
    return pq_isa_traits_get(pq_isa_traits_get(isa)->kernel_isa);
}

int32_t pq_dwconv_s8_cp(int isa, int32_t c)
{
    const int32_t b = pq_dw_traits(isa)->dw_cp_granule;
    return (c + b - 1) / b * b;
}

size_t pq_dwconv_s8_packed_size(int isa, int32_t taps, int32_t c)
{
    const pq_isa_traits *tr = pq_dw_traits(isa);
    const size_t groups = (size_t)((taps + tr->dw_tap_group - 1) / tr->dw_tap_group);
    const size_t bytes = (size_t)pq_dwconv_s8_cp(isa, c) * groups * (size_t)tr->dw_tap_group * (size_t)tr->dw_w_elem;
    return (bytes + 63u) / 64u * 64u;
}

void pq_dwconv_s8_order(int isa, int32_t c, int32_t cp, int32_t *values)
{
    const pq_isa_traits *tr = pq_dw_traits(isa);
    const int32_t bw = tr->dw_block;
    int32_t tmp[64];
    int32_t blk, i;
    if (tr->dw_lane == NULL) {
        return;
    }
    /* Fewer channels than a block, dividing it: lane i serves channel i % c (a vector holds
     * block / c pixels when the stride allows). */
    if (c < bw && bw % c == 0) {
        for (i = c; i < cp; ++i) {
            values[i] = values[i % c];
        }
    }
    for (blk = 0; blk < cp; blk += bw) {
        for (i = 0; i < bw; ++i) {
            tmp[tr->dw_lane(i)] = values[blk + i];
        }
        for (i = 0; i < bw; ++i) {
            values[blk + i] = tmp[i];
        }
    }
}

void pq_dwconv_s8_pack(int isa, int32_t taps, int32_t c, const int8_t *filter, int8_t *packed)
{
    pq_dw_traits(isa)->dw_pack(taps, c, pq_dwconv_s8_cp(isa, c), filter, packed);
}

void pq_dwconv_s8_pack_portable(int32_t taps, int32_t c, int32_t cp, const int8_t *filter, int8_t *packed)
{
    int32_t t, ch;
    for (t = 0; t < taps; ++t) {
        for (ch = 0; ch < cp; ++ch) {
            packed[(size_t)t * (size_t)cp + (size_t)ch] = filter[(size_t)t * (size_t)c + (size_t)ch];
        }
    }
}

void pq_dwconv_s8_fold_bias(int isa, int32_t taps, int32_t c, int32_t cp, const int8_t *filter,
                            const int32_t *bias, int32_t input_offset, int32_t *out)
{
    /* AVX-512 feeds x + 128 as unsigned bytes: fold input_offset - 128. */
    const uint32_t off = (uint32_t)input_offset - (uint32_t)pq_dw_traits(isa)->input_flip;
    int32_t ch, t;
    for (ch = 0; ch < cp; ++ch) {
        uint32_t acc = 0;
        if (ch < c) {
            acc = bias != NULL ? (uint32_t)bias[ch] : 0u;
            for (t = 0; t < taps; ++t) {
                acc += off * (uint32_t)(int32_t)filter[(size_t)t * (size_t)c + (size_t)ch];
            }
        }
        out[ch] = acc <= 0x7FFFFFFFu ? (int32_t)acc : -(int32_t)(~acc) - 1;
    }
}

void pq_dwconv_s8_facts(pq_dwconv_fast_plan *plan, const int8_t *filter)
{
    const int32_t taps = plan->filter_dims.h * plan->filter_dims.w, c = plan->in_dims.c;
    int32_t t, ch;
    plan->pair16 = 1;
    for (t = 0; t + 1 < taps; t += 2) {
        for (ch = 0; ch < c; ++ch) {
            if (filter[(size_t)t * (size_t)c + (size_t)ch] == -128 && filter[(size_t)(t + 1) * (size_t)c + (size_t)ch] == -128) {
                plan->pair16 = 0;
            }
        }
    }
    plan->rshift_min = 31;
    for (ch = 0; ch < plan->cp; ++ch) {
        plan->rshift_min = plan->rq.rshift[ch] < plan->rshift_min ? plan->rq.rshift[ch] : plan->rshift_min;
    }
}

/* Scratch layout: tap pointers | zero-point row | per-ISA part. */
static size_t pq_up64(size_t v)
{
    return (v + 63u) / 64u * 64u;
}

static size_t pq_dw_ptrs_bytes(const pq_dwconv_fast_plan *plan)
{
    return pq_up64((size_t)plan->filter_dims.h * (size_t)plan->filter_dims.w * sizeof(const int8_t *));
}

static size_t pq_dw_zp_bytes(const pq_dwconv_fast_plan *plan)
{
    /* A run of interior pixels walks a zero-point tap along a whole input row. */
    return pq_up64((size_t)plan->in_dims.w * (size_t)plan->in_dims.c + (size_t)plan->cp);
}

/* SIMD: the padded image (dw_pad: AVX2 int16, NEON int8, AVX-512 flipped bytes),
 * with 64 bytes of slack (a block's loads may run past the last pixel's
 * channels, against zero weights). */
size_t pq_dwconv_s8_padded_bytes(const pq_dwconv_fast_plan *plan)
{
    const size_t esz = (size_t)pq_dw_traits(plan->isa)->dw_pad.elem;
    int32_t hp, wp;
    pq_padded_hw(&plan->p, &plan->in_dims, &plan->filter_dims, &plan->out_dims, &hp, &wp);
    return pq_up64((size_t)hp * (size_t)wp * (size_t)plan->in_dims.c * esz + 64u);
}

/* What a multiplier-1 run needs. */
static size_t pq_dw_base_bytes(const pq_dwconv_fast_plan *plan)
{
    if (pq_dw_traits(plan->isa)->dw_pad.elem != 0) {
        int32_t hp, wp;
        pq_padded_hw(&plan->p, &plan->in_dims, &plan->filter_dims, &plan->out_dims, &hp, &wp);
        return pq_dwconv_s8_padded_bytes(plan) +
               pq_up64(((size_t)wp + 4u) * (size_t)pq_dw_traits(plan->isa)->dw_col_work);
    }
    /* Portable: tap pointers, a zero-point row, cp running sums. */
    return pq_dw_ptrs_bytes(plan) + pq_dw_zp_bytes(plan) + pq_up64((size_t)plan->cp * sizeof(uint32_t));
}

/* Multiplier above 1: after the base, one image with its channels repeated. */
static size_t pq_dw_expanded_bytes(const pq_dwconv_fast_plan *plan)
{
    return plan->mult > 1 ? pq_up64((size_t)plan->in_dims.h * (size_t)plan->in_dims.w * (size_t)plan->in_dims.c) : 0;
}

size_t pq_dwconv_s8_fast_scratch_size(const pq_dwconv_fast_plan *plan)
{
    return pq_dw_base_bytes(plan) + pq_dw_expanded_bytes(plan);
}

/* n_px pixels of cin channels -> each channel `mult` times in a row (output channel oc reads input
 * channel oc / mult). Constant multipliers let the compiler unroll the inner loop. */
PQ_INLINE void pq_dw_repeat(const int8_t *in, size_t n, int32_t mult, int8_t *out)
{
    size_t i;
    int32_t m;
    for (i = 0; i < n; ++i) {
        for (m = 0; m < mult; ++m) {
            out[i * (size_t)mult + (size_t)m] = in[i];
        }
    }
}

static void pq_dw_expand(const int8_t *in, size_t n, int32_t mult, int8_t *out)
{
    switch (mult) {
    case 2:
        pq_dw_repeat(in, n, 2, out);
        break;
    case 3:
        pq_dw_repeat(in, n, 3, out);
        break;
    case 4:
        pq_dw_repeat(in, n, 4, out);
        break;
    default:
        pq_dw_repeat(in, n, mult, out);
    }
}

/* Depth multiplier above 1: each image expanded, then convolved with multiplier 1. */
static pq_status pq_dw_multiplied(const pq_dwconv_fast_plan *plan, const int8_t *in, int8_t *out, void *scratch)
{
    pq_dwconv_fast_plan sub = *plan;
    const size_t n_in = (size_t)plan->in_dims.h * (size_t)plan->in_dims.w * (size_t)(plan->in_dims.c / plan->mult);
    const size_t n_out = (size_t)plan->out_dims.h * (size_t)plan->out_dims.w * (size_t)plan->out_dims.c;
    int8_t *expanded = (int8_t *)scratch + pq_dw_base_bytes(plan);
    int32_t b;
    pq_status st = PQ_OK;
    sub.mult = 1;
    sub.in_dims.n = sub.out_dims.n = 1;
    for (b = 0; b < plan->in_dims.n && st == PQ_OK; ++b) {
        pq_dw_expand(in + (size_t)b * n_in, n_in, plan->mult, expanded);
        st = pq_depthwise_conv2d_s8_fast(&sub, expanded, out + (size_t)b * n_out, scratch);
    }
    return st;
}

/* Portable: channel loops over uint32 sums (wrapping like the reference),
 * which compilers vectorise. */
static void pq_dwconv_s8_portable(const pq_dwconv_fast_plan *plan, int32_t taps, const int8_t *const *tap_ptr,
                                  int32_t n_px, int32_t step, int8_t *out, uint32_t *acc)
{
    const int32_t c = plan->in_dims.c;
    int32_t px, t, ch;
    for (px = 0; px < n_px; ++px) {
        for (ch = 0; ch < c; ++ch) {
            acc[ch] = 0;
        }
        for (t = 0; t < taps; ++t) {
            const int8_t *x = tap_ptr[t] + (size_t)px * (size_t)step;
            const int8_t *w = plan->w + (size_t)t * (size_t)c;
            for (ch = 0; ch < c; ++ch) {
                acc[ch] += (uint32_t)((int32_t)x[ch] * (int32_t)w[ch]);
            }
        }
        pq_requant_row_s8(&plan->rq, 0, c, (const int32_t *)(const void *)acc, out + (size_t)px * (size_t)c);
    }
}

pq_status pq_depthwise_conv2d_s8_fast(const pq_dwconv_fast_plan *plan, const int8_t *in, int8_t *out,
                                      void *scratch)
{
    const pq_conv_params *p = &plan->p;
    const pq_isa_traits *tr = pq_dw_traits(plan->isa);
    const int32_t in_h = plan->in_dims.h, in_w = plan->in_dims.w, c = plan->in_dims.c;
    const int32_t f_h = plan->filter_dims.h, f_w = plan->filter_dims.w;
    const int32_t out_h = plan->out_dims.h, out_w = plan->out_dims.w;
    const int32_t taps = f_h * f_w;
    const int32_t step = p->stride_w * c;
    const int8_t **ptrs = (const int8_t **)scratch;
    int8_t *zp_row = (int8_t *)scratch + pq_dw_ptrs_bytes(plan);
    uint8_t *extra = (uint8_t *)zp_row + pq_dw_zp_bytes(plan);
    const size_t zp_len = pq_dw_zp_bytes(plan);
    /* First and one-past-last output column whose taps are all inside the row. */
    const int32_t span = (f_w - 1) * p->dilation_w;
    int32_t ox_lo = (p->pad_w + p->stride_w - 1) / p->stride_w;
    int32_t ox_hi = in_w - 1 + p->pad_w - span >= 0 ? (in_w - 1 + p->pad_w - span) / p->stride_w + 1 : 0;
    size_t i;
    int32_t b, oy, ox, fy, fx;

    if (plan->mult > 1) {
        return pq_dw_multiplied(plan, in, out, scratch);
    }
    if (tr->dw_pad.elem != 0) {
        /* Zero-point-padded copy of each image, then every output pixel is interior. */
        const int8_t zp = (int8_t)(-p->input_offset);
        int32_t hp, wp;
        pq_padded_hw(p, &plan->in_dims, &plan->filter_dims, &plan->out_dims, &hp, &wp);
        for (b = 0; b < plan->in_dims.n; ++b) {
            const int8_t *in_b = in + (size_t)b * (size_t)in_h * (size_t)in_w * (size_t)c;
            pq_pad_image(&tr->dw_pad, in_b, in_h, in_w, c, p->pad_h, p->pad_w, hp, wp, zp, scratch);
            tr->dw(plan, scratch, wp, out + (size_t)b * (size_t)out_h * (size_t)out_w * (size_t)c);
        }
        return PQ_OK;
    }
    if (ox_hi > out_w) {
        ox_hi = out_w;
    }
    if (ox_lo > ox_hi) {
        ox_lo = ox_hi;
    }
    for (i = 0; i < zp_len; ++i) {
        zp_row[i] = (int8_t)(-p->input_offset); /* in [-128, 127]: the loader checks */
    }
    for (b = 0; b < plan->in_dims.n; ++b) {
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            int8_t *orow = out + ((size_t)b * (size_t)out_h + (size_t)oy) * (size_t)out_w * (size_t)c;
            ox = 0;
            while (ox < out_w) {
                /* One interior run, or a single border pixel. */
                const int32_t run = (ox == ox_lo && ox_hi > ox_lo) ? ox_hi - ox_lo : 1;
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                int32_t t = 0;
                for (fy = 0; fy < f_h; ++fy) {
                    const int32_t iy = y0 + fy * p->dilation_h;
                    const int row_in = iy >= 0 && iy < in_h;
                    for (fx = 0; fx < f_w; ++fx) {
                        const int32_t ix = x0 + fx * p->dilation_w;
                        if (row_in && ix >= 0 && ix < in_w) {
                            ptrs[t] = in + (((size_t)b * (size_t)in_h + (size_t)iy) * (size_t)in_w + (size_t)ix) *
                                               (size_t)c;
                        } else if (ix >= 0 && ix < in_w) {
                            /* Row outside the image: a zero-point row that can be walked like an input row. */
                            ptrs[t] = zp_row + (size_t)ix * (size_t)c;
                        } else {
                            ptrs[t] = zp_row; /* only in single-pixel runs */
                        }
                        ++t;
                    }
                }
                pq_dwconv_s8_portable(plan, taps, ptrs, run, step, orow + (size_t)ox * (size_t)c,
                                      (uint32_t *)(void *)extra);
                ox += run;
            }
        }
    }
    return PQ_OK;
}
