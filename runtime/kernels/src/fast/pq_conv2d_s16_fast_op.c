/*
 * CONV_2D 16x8's fast hooks (pq_fast_ops.h): per output pixel and group, the receptive field
 * gathered into one int16 row (zeros for taps outside the image, which add nothing, as the
 * reference's skipped taps), then the row's vectorised dot products (pq_s16_fast.h) against
 * the group's output channels' filters, widened to int16 at prepare, in one call for two
 * output pixels at a time (NEON loads each filter value once for both pixels and each row
 * value once for 4 channels). A 1x1 filter of one group reads the input pixel in place. The sums are the reference's integers, so the requantization
 * (int32 bias: pq_mbqm on the low 32 bits; int64 bias or none: pq_mbqm64, its per-channel
 * constants taken at prepare as pq_s16_rq) gives its bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pq_fast_bind.h"
#include "pq_fixedpoint.h"
#include "pq_s16_fast.h"

typedef struct {
    pq_dims in, out;
    int32_t f_h, f_w, f_c, groups, per_group, k;
    pq_s16_dots_fn dots;   /* one pixel (the last of an odd count) */
    pq_s16_dots2_fn dots2; /* two pixels */
    const int16_t *w; /* [out_c][k]: the filter widened */
    const pq_s16_rq *rq; /* [out_c]: the int64 requantization's constants (pq_s16_fast.h) */
} conv16_state;

/* The scratch: two pixels' int64 sums for a group (per_group each), then two receptive fields
 * of int16, each's bytes rounded up to 8 so that a buffer ending on an 8-byte boundary starts
 * on one and the second field stays aligned. */
static size_t conv16_sums_bytes(const pq_tensor *t, const pq_node *node) {
    const int32_t *f = t[node->io[1]].dims;
    const int32_t groups = f[3] > 0 ? t[node->io[0]].dims[3] / f[3] : 0;
    const int32_t per_group = groups > 0 ? t[node->io[node->n_inputs]].dims[3] / groups : 0;
    return (size_t)(per_group > 0 ? per_group : 0) * sizeof(int64_t);
}

/* The state laid out by b (base NULL: sizes only; else filled, *out pointing at it). */
static pq_status conv16_layout(const pq_node *node, const pq_tensor *t, int isa, pq_bump *b, void **out) {
    const pq_tensor *x = &t[node->io[0]], *w = &t[node->io[1]], *y = &t[node->io[node->n_inputs]];
    conv16_state *s = (conv16_state *)pq_bump_take(b, sizeof *s);
    conv16_state g;
    int16_t *wk;
    pq_s16_rq *rq;
    g.in = pq_tensor_dims4(x);
    g.out = pq_tensor_dims4(y);
    g.f_h = w->dims[1];
    g.f_w = w->dims[2];
    g.f_c = w->dims[3];
    if (g.f_c <= 0 || (g.groups = g.in.c / g.f_c) <= 0 || (g.per_group = g.out.c / g.groups) <= 0) {
        return PQ_ERR_PARAM;
    }
    g.k = g.f_h * g.f_w * g.f_c;
    g.dots = pq_s16_dots_for(isa);
    g.dots2 = pq_s16_dots2_for(isa);
    wk = (int16_t *)pq_bump_take(b, (size_t)g.out.c * (size_t)g.k * sizeof(int16_t));
    rq = (pq_s16_rq *)pq_bump_take(b, (size_t)g.out.c * sizeof(pq_s16_rq));
    if (s != NULL) {
        pq_s16_widen((const int8_t *)w->data, 0, g.out.c * g.k, wk);
        pq_s16_rq_fill(rq, (const int32_t *)t[node->io[3]].data, (const int32_t *)t[node->io[4]].data, g.out.c);
        g.w = wk;
        g.rq = rq;
        *s = g;
        *out = s;
    }
    return PQ_OK;
}

static int conv16_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes,
                       size_t *scratch_bytes) {
    const int32_t *f = t[node->io[1]].dims; /* a receptive field, f_h x f_w x f_c */
    const size_t row = ((size_t)f[1] * (size_t)f[2] * (size_t)f[3] * sizeof(int16_t) + 7u) & ~(size_t)7u;
    return pq_s16_plan(node, t, isa, conv16_layout, 2u * (conv16_sums_bytes(t, node) + row), state_bytes, scratch_bytes);
}

static pq_status conv16_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    return pq_s16_prepare(node, t, isa, state, conv16_layout);
}

/* The receptive field of output (oy, ox) for group g: k int16 values, zeros outside. */
static void gather_row(const conv16_state *s, const pq_conv_params *p, const int16_t *img, int32_t oy, int32_t ox,
                       int32_t g, int16_t *row) {
    const int32_t y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;
    int32_t fy, fx;
    for (fy = 0; fy < s->f_h; ++fy) {
        const int32_t in_y = y0 + p->dilation_h * fy;
        for (fx = 0; fx < s->f_w; ++fx) {
            const int32_t in_x = x0 + p->dilation_w * fx;
            int16_t *dst = row + (size_t)(fy * s->f_w + fx) * (size_t)s->f_c;
            if (in_y < 0 || in_y >= s->in.h || in_x < 0 || in_x >= s->in.w) {
                memset(dst, 0, (size_t)s->f_c * sizeof *dst);
            } else {
                memcpy(dst, img + ((size_t)in_y * (size_t)s->in.w + (size_t)in_x) * (size_t)s->in.c + (size_t)g * (size_t)s->f_c,
                       (size_t)s->f_c * sizeof *dst);
            }
        }
    }
}

/* Output pixel pix's receptive field for group g: the input pixel in place (a 1x1 filter of one
 * group, inside the image), else gathered into row (zeros outside the image). */
static const int16_t *conv16_field(const conv16_state *s, const pq_conv_params *p, const int16_t *img, int32_t pix,
                                   int32_t g, int16_t *row) {
    const int32_t oy = pix / s->out.w, ox = pix % s->out.w;
    if (s->f_h == 1 && s->f_w == 1 && s->groups == 1) {
        const int32_t iy = oy * p->stride_h - p->pad_h, ix = ox * p->stride_w - p->pad_w;
        if (iy < 0 || iy >= s->in.h || ix < 0 || ix >= s->in.w) {
            memset(row, 0, (size_t)s->k * sizeof *row);
            return row;
        }
        return img + ((size_t)iy * (size_t)s->in.w + (size_t)ix) * (size_t)s->in.c;
    }
    gather_row(s, p, img, oy, ox, g, row);
    return row;
}

/* One pixel's outputs of group g from its sums: the bias, the requantization, the clamp. */
static void conv16_requant(const conv16_state *s, const pq_node *node, const pq_tensor *t, const int64_t *sums,
                           int32_t g, int16_t *out) {
    const pq_conv_params *p = (const pq_conv_params *)node->params;
    const int32_t *mult = (const int32_t *)t[node->io[3]].data, *shift = (const int32_t *)t[node->io[4]].data;
    const pq_tensor *bt = node->io[2] >= 0 ? &t[node->io[2]] : NULL;
    const int32_t *bias32 = bt != NULL && bt->dtype == PQ_DT_INT32 ? (const int32_t *)bt->data : NULL;
    const int64_t *bias64 = bt != NULL && bt->dtype != PQ_DT_INT32 ? (const int64_t *)bt->data : NULL;
    const int32_t lo = p->act_min, hi = p->act_max, n = s->per_group, c0 = g * n;
    const pq_s16_rq *rq = s->rq + c0;
    int32_t j;
    out += c0;
    /* one loop per bias kind, so that the per-output work has no branch but the clamp's */
    if (bias32 != NULL) {
        for (j = 0; j < n; ++j) {
            const int32_t v = pq_mbqm(pq_wrap_i32((uint32_t)sums[j] + (uint32_t)bias32[c0 + j]), mult[c0 + j],
                                      shift[c0 + j]);
            out[j] = (int16_t)pq_clamp(v, lo, hi);
        }
    } else if (bias64 != NULL) {
        for (j = 0; j < n; ++j) {
            out[j] = (int16_t)pq_clamp(pq_s16_rq_apply((uint64_t)sums[j] + (uint64_t)bias64[c0 + j], &rq[j]), lo, hi);
        }
    } else {
        for (j = 0; j < n; ++j) out[j] = (int16_t)pq_clamp(pq_s16_rq_apply((uint64_t)sums[j], &rq[j]), lo, hi);
    }
}

static pq_status conv16_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    const conv16_state *s = (const conv16_state *)node->fast;
    const pq_conv_params *p = (const pq_conv_params *)node->params;
    const int16_t *in = (const int16_t *)t[node->io[0]].data;
    int16_t *out = (int16_t *)t[node->io[node->n_inputs]].data;
    const size_t row_bytes = ((size_t)s->k * sizeof(int16_t) + 7u) & ~(size_t)7u;
    int64_t *sums0 = (int64_t *)scratch, *sums1 = sums0 + s->per_group;
    int16_t *row0 = (int16_t *)(sums1 + s->per_group);
    int16_t *row1 = (int16_t *)((uint8_t *)row0 + row_bytes);
    const int32_t pixels = s->out.h * s->out.w;
    int32_t b, pix, g;
    (void)part;
    (void)n_parts;
    for (b = 0; b < s->in.n; ++b) {
        const int16_t *img = in + (size_t)b * (size_t)s->in.h * (size_t)s->in.w * (size_t)s->in.c;
        int16_t *ob = out + (size_t)b * (size_t)pixels * (size_t)s->out.c;
        for (pix = 0; pix < pixels; pix += 2) {
            for (g = 0; g < s->groups; ++g) {
                const int16_t *w = s->w + (size_t)g * (size_t)s->per_group * (size_t)s->k;
                const int16_t *r0 = conv16_field(s, p, img, pix, g, row0);
                if (pix + 1 < pixels) {
                    const int16_t *r1 = conv16_field(s, p, img, pix + 1, g, row1);
                    s->dots2(r0, r1, w, s->k, s->per_group, sums0, sums1);
                    conv16_requant(s, node, t, sums1, g, ob + (size_t)(pix + 1) * (size_t)s->out.c);
                } else {
                    s->dots(r0, w, s->k, s->per_group, sums0);
                }
                conv16_requant(s, node, t, sums0, g, ob + (size_t)pix * (size_t)s->out.c);
            }
        }
    }
    return PQ_OK;
}

static const char *conv16_name(const pq_node *node) {
    (void)node;
    return "fast-conv-s16";
}

const pq_fast_op pq_conv2d_s16_fast_op = {conv16_plan, conv16_prepare, conv16_eval, NULL, conv16_name};
