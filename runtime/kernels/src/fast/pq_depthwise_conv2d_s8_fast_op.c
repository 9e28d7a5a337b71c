/*
 * DEPTHWISE_CONV_2D's fast hooks (pq_fast_ops.h): any depth multiplier (the
 * kernels convolve the input with its channels repeated, pq_fast.h), on the
 * isa's non-GEMM kernel (pq_isa_traits.h kernel_isa). State: the plan, the packed weights, then the folded biases and the four per-channel
 * arrays, all in the kernel's lane order (pq_dwconv_s8_order).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"
#include "pq_fast_isa.h" /* pq_padded_copy_ok */
#include "pq_fast_split.h"

static int dw_geometry(const pq_node *node, const pq_tensor *t, int isa, pq_dwconv_fast_plan *pl) {
    const pq_conv_params *p = (const pq_conv_params *)node->params;
    const pq_isa_traits *tr;
    const pq_dims fd = pq_tensor_dims4(&t[node->io[1]]);
    const int op_isa = isa;
    isa = pq_isa_traits_get(isa)->kernel_isa; /* AMX tiles are for GEMMs */
    tr = pq_isa_traits_get(isa);
    if (p->depth_multiplier < 1 || -p->input_offset < -128 || -p->input_offset > 127) return 0;
    if (tr->dw_max_taps && fd.h * fd.w > tr->dw_max_taps) return 0; /* the kernel's tap table */
    memset(pl, 0, sizeof *pl);
    pl->in_dims = pq_tensor_dims4(&t[node->io[0]]);
    pl->out_dims = pq_tensor_dims4(&t[node->io[node->n_inputs]]);
    /* The kernels see the input with each channel repeated depth_multiplier times (validated
     * shapes: a guard only). */
    if ((int64_t)pl->out_dims.c != (int64_t)pl->in_dims.c * p->depth_multiplier || fd.c != pl->out_dims.c) return 0;
    pl->mult = p->depth_multiplier;
    pl->in_dims.c = pl->out_dims.c;
    if (tr->dw_pad.elem && !pq_padded_copy_ok(p, &pl->in_dims, &fd, &pl->out_dims)) return 0;
    pl->isa = isa;
    pl->op_isa = op_isa;
    pl->p = *p;
    pl->filter_dims = fd;
    pl->cp = pq_dwconv_s8_cp(isa, pl->in_dims.c);
    return 1;
}

static pq_dwconv_fast_plan *dw_layout(pq_bump *b, const pq_dwconv_fast_plan *pl) {
    const int32_t taps = pl->filter_dims.h * pl->filter_dims.w;
    pq_dwconv_fast_plan *s = (pq_dwconv_fast_plan *)pq_bump_take(b, sizeof *s);
    int8_t *w = (int8_t *)pq_bump_take(b, pq_dwconv_s8_packed_size(pl->isa, taps, pl->in_dims.c));
    int32_t *bias = (int32_t *)pq_bump_take(b, (size_t)pl->cp * sizeof(int32_t));
    int32_t *arr = (int32_t *)pq_bump_take(b, 4u * (size_t)pl->cp * sizeof(int32_t));
    if (s == NULL) return NULL;
    *s = *pl;
    s->w = w;
    s->rq.bias = bias;
    s->rq.mult = arr; /* pq_fast_requant fills the rest */
    return s;
}

static int dw_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes, size_t *scratch_bytes) {
    pq_dwconv_fast_plan pl;
    pq_bump b = {NULL, 0};
    if (!dw_geometry(node, t, isa, &pl)) return 0;
    dw_layout(&b, &pl);
    *state_bytes = b.used;
    *scratch_bytes = pq_dwconv_s8_fast_scratch_size(&pl);
    return 1;
}

static pq_status dw_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    const int32_t *bias_in = node->io[2] < 0 ? NULL : (const int32_t *)t[node->io[2]].data;
    pq_dwconv_fast_plan pl, *s;
    pq_bump b = {(uint8_t *)state, 0};
    int32_t c, cp, taps;
    if (!dw_geometry(node, t, isa, &pl)) return PQ_ERR_PARAM;
    s = dw_layout(&b, &pl);
    c = s->in_dims.c;
    cp = s->cp;
    taps = s->filter_dims.h * s->filter_dims.w;
    pq_dwconv_s8_pack(s->isa, taps, c, PQ_IN(node, t, 1), (int8_t *)s->w);
    pq_dwconv_s8_fold_bias(s->isa, taps, c, cp, PQ_IN(node, t, 1), bias_in, s->p.input_offset, (int32_t *)s->rq.bias);
    pq_fast_requant(&s->rq, (int32_t *)s->rq.mult, c, cp, (const int32_t *)t[node->io[3]].data,
                    (const int32_t *)t[node->io[4]].data, 1, s->p.output_offset, s->p.act_min, s->p.act_max);
    /* The kernels hold channels in their own lane order: store the constants in it. */
    pq_dwconv_s8_order(s->isa, c, cp, (int32_t *)s->rq.bias);
    pq_dwconv_s8_order(s->isa, c, cp, (int32_t *)s->rq.mult);
    pq_dwconv_s8_order(s->isa, c, cp, (int32_t *)s->rq.lshift);
    pq_dwconv_s8_order(s->isa, c, cp, (int32_t *)s->rq.rshift);
    pq_dwconv_s8_order(s->isa, c, cp, (int32_t *)s->rq.rmask);
    pq_dwconv_s8_facts(s, PQ_IN(node, t, 1));
    node->fast = s;
    return PQ_OK;
}

static void dw_split(pq_node *node, const pq_tensor *t, int isa, int32_t num_threads, int64_t min_parallel_ns) {
    const pq_dwconv_fast_plan *pl = (const pq_dwconv_fast_plan *)node->fast;
    pq_split_shape sh;
    (void)t;
    sh.m = pl->out_dims.n * pl->out_dims.h * pl->out_dims.w;
    sh.macs = (int64_t)sh.m * pl->out_dims.c * pl->filter_dims.h * pl->filter_dims.w;
    sh.dw = 1;
    sh.rows = pq_dwconv_s8_fast_split_rows(pl, &sh.unit);
    sh.cols = 0;
    pq_fast_split_choose(node, &sh, isa, num_threads, min_parallel_ns);
}

static pq_status dw_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    const pq_dwconv_fast_plan *pl = (const pq_dwconv_fast_plan *)node->fast;
    if (n_parts <= 1) return pq_depthwise_conv2d_s8_fast(pl, PQ_IN(node, t, 0), PQ_OUT(node, t), scratch);
    return pq_depthwise_conv2d_s8_fast_part(pl, PQ_IN(node, t, 0), PQ_OUT(node, t), scratch, part, n_parts);
}

static const char *dw_name(const pq_node *node) {
    (void)node;
    return "fast-depthwise";
}

const pq_fast_op pq_depthwise_conv2d_s8_fast_op = {dw_plan, dw_prepare, dw_eval, dw_split, dw_name};
