/*
 * DEPTHWISE_CONV_2D 16x8's fast hooks (pq_fast_ops.h): per output pixel, one int32 lane per
 * output channel, each tap inside the image a vectorised multiply-accumulate (pq_s16_fast.h)
 * of the tap's weights (widened to int16 at prepare, [taps][out_c]) with the input pixel (a
 * depth multiplier above 1 repeats each input channel into scratch first). Up to
 * PQ_S16_DW_MAX_TAPS taps the lanes hold the reference's int64 sums exactly; a larger filter
 * stays on the reference kernel. On NEON at depth multiplier 1 the pixel's taps inside the image
 * are listed instead and summed in registers, 8 channels at a time (pq_s16_dw_pixel_fn). Then
 * the bias and pq_mbqm64 (its constants per channel taken at prepare: pq_s16_rq), as the
 * reference.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pq_fast_bind.h"
#include "pq_fixedpoint.h"
#include "pq_s16_fast.h"

typedef struct {
    pq_dims in, out;
    int32_t f_h, f_w, dm;
    pq_s16_mac_fn mac;
    pq_s16_dw_pixel_fn pixel; /* NULL: tap by tap with mac */
    const int16_t *w; /* [f_h * f_w][out_c]: the filter widened */
    const pq_s16_rq *rq; /* [out_c]: the requantization's constants (pq_s16_fast.h) */
} dw16_state;

/* The state laid out by b (base NULL: sizes only; else filled, *out pointing at it). */
static pq_status dw16_layout(const pq_node *node, const pq_tensor *t, int isa, pq_bump *b, void **out) {
    const pq_tensor *w = &t[node->io[1]];
    dw16_state *s = (dw16_state *)pq_bump_take(b, sizeof *s);
    dw16_state g;
    int16_t *wk;
    pq_s16_rq *rq;
    g.in = pq_tensor_dims4(&t[node->io[0]]);
    g.out = pq_tensor_dims4(&t[node->io[node->n_inputs]]);
    g.f_h = w->dims[1];
    g.f_w = w->dims[2];
    g.dm = ((const pq_conv_params *)node->params)->depth_multiplier;
    if ((int64_t)g.f_h * g.f_w > PQ_S16_DW_MAX_TAPS || g.out.c != g.in.c * g.dm) return PQ_ERR_PARAM;
    g.mac = pq_s16_mac_for(isa);
    g.pixel = g.dm == 1 ? pq_s16_dw_pixel_for(isa) : NULL;
    wk = (int16_t *)pq_bump_take(b, (size_t)g.f_h * (size_t)g.f_w * (size_t)g.out.c * sizeof(int16_t));
    rq = (pq_s16_rq *)pq_bump_take(b, (size_t)g.out.c * sizeof(pq_s16_rq));
    if (s != NULL) {
        pq_s16_widen((const int8_t *)w->data, 0, g.f_h * g.f_w * g.out.c, wk);
        pq_s16_rq_fill(rq, (const int32_t *)t[node->io[3]].data, (const int32_t *)t[node->io[4]].data, g.out.c);
        g.w = wk;
        g.rq = rq;
        *s = g;
        *out = s;
    }
    return PQ_OK;
}

/* The scratch: the pixel's tap list (an input pointer and a weight pointer per tap), then the
 * int32 lanes and the repeated input (int16), rounded up to 8 bytes: a buffer that ends on an
 * 8-byte boundary starts on one, and the lanes follow the pointers aligned. */
static size_t dw16_list_bytes(const pq_tensor *t, const pq_node *node) {
    const int32_t *f = t[node->io[1]].dims;
    return 2u * (size_t)f[1] * (size_t)f[2] * sizeof(const int16_t *);
}
static size_t dw16_lanes_bytes(const pq_tensor *t, const pq_node *node) {
    const size_t c = (size_t)t[node->io[node->n_inputs]].dims[3];
    return (c * (sizeof(int32_t) + sizeof(int16_t)) + 7u) & ~(size_t)7u;
}

static int dw16_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes,
                       size_t *scratch_bytes) {
    return pq_s16_plan(node, t, isa, dw16_layout, dw16_list_bytes(t, node) + dw16_lanes_bytes(t, node), state_bytes,
                       scratch_bytes);
}

static pq_status dw16_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    return pq_s16_prepare(node, t, isa, state, dw16_layout);
}

/* The taps of the output pixel at (y0, x0) inside the image: their input pixels and weights
 * into px_of and w_of; returns how many. */
static int32_t dw16_list(const dw16_state *s, const pq_conv_params *p, const int16_t *img, int32_t y0, int32_t x0,
                         const int16_t **px_of, const int16_t **w_of) {
    int32_t n = 0, fy, fx;
    for (fy = 0; fy < s->f_h; ++fy) {
        const int32_t iy = y0 + p->dilation_h * fy;
        if (iy < 0 || iy >= s->in.h) continue;
        for (fx = 0; fx < s->f_w; ++fx) {
            const int32_t ix = x0 + p->dilation_w * fx;
            if (ix < 0 || ix >= s->in.w) continue;
            px_of[n] = img + ((size_t)iy * (size_t)s->in.w + (size_t)ix) * (size_t)s->in.c;
            w_of[n++] = s->w + (size_t)(fy * s->f_w + fx) * (size_t)s->out.c;
        }
    }
    return n;
}

/* The same pixel tap by tap: acc zeroed, then each tap inside the image multiply-added. */
static void dw16_add_taps(const dw16_state *s, const pq_conv_params *p, const int16_t *img, int32_t y0, int32_t x0,
                          int32_t *acc, int16_t *rep) {
    const int32_t c = s->out.c;
    int32_t fy, fx, k;
    memset(acc, 0, (size_t)c * sizeof *acc);
    for (fy = 0; fy < s->f_h; ++fy) {
        const int32_t iy = y0 + p->dilation_h * fy;
        if (iy < 0 || iy >= s->in.h) continue;
        for (fx = 0; fx < s->f_w; ++fx) {
            const int32_t ix = x0 + p->dilation_w * fx;
            const int16_t *px;
            if (ix < 0 || ix >= s->in.w) continue;
            px = img + ((size_t)iy * (size_t)s->in.w + (size_t)ix) * (size_t)s->in.c;
            if (s->dm != 1) { /* output channel k reads input channel k / dm */
                for (k = 0; k < c; ++k) rep[k] = px[k / s->dm];
                px = rep;
            }
            s->mac(acc, s->w + (size_t)(fy * s->f_w + fx) * (size_t)c, px, c);
        }
    }
}

static pq_status dw16_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    const dw16_state *s = (const dw16_state *)node->fast;
    const pq_conv_params *p = (const pq_conv_params *)node->params;
    const int64_t *bias = node->io[2] >= 0 ? (const int64_t *)t[node->io[2]].data : NULL;
    const int16_t *in = (const int16_t *)t[node->io[0]].data;
    int16_t *out = (int16_t *)t[node->io[node->n_inputs]].data;
    const int32_t c = s->out.c;
    const int16_t **px_of = (const int16_t **)scratch, **w_of = px_of + (size_t)s->f_h * (size_t)s->f_w;
    int32_t *acc = (int32_t *)(w_of + (size_t)s->f_h * (size_t)s->f_w);
    int16_t *rep = (int16_t *)(acc + c);
    int32_t b, oy, ox, k;
    (void)part;
    (void)n_parts;
    for (b = 0; b < s->in.n; ++b) {
        const int16_t *img = in + (size_t)b * (size_t)s->in.h * (size_t)s->in.w * (size_t)s->in.c;
        for (oy = 0; oy < s->out.h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            for (ox = 0; ox < s->out.w; ++ox, out += c) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                if (s->pixel != NULL) {
                    s->pixel(acc, px_of, w_of, dw16_list(s, p, img, y0, x0, px_of, w_of), c);
                } else {
                    dw16_add_taps(s, p, img, y0, x0, acc, rep);
                }
                for (k = 0; k < c; ++k) {
                    uint64_t u = (uint64_t)(int64_t)acc[k];
                    if (bias != NULL) u += (uint64_t)bias[k];
                    out[k] = (int16_t)pq_clamp(pq_s16_rq_apply(u, &s->rq[k]), p->act_min, p->act_max);
                }
            }
        }
    }
    return PQ_OK;
}

static const char *dw16_name(const pq_node *node) {
    (void)node;
    return "fast-depthwise-s16";
}

const pq_fast_op pq_depthwise_conv2d_s16_fast_op = {dw16_plan, dw16_prepare, dw16_eval, NULL, dw16_name};
