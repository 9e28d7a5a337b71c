/*
 * CONV_2D's fast hooks (pq_fast_ops.h): which feed and GEMM the op's
 * parameters allow on an instruction set, its packed weights, folded biases
 * and requantization constants in the state block, its thread split, and the
 * call into pq_conv2d_s8_fast.
 *
 * State: the plan, then the packed weights (every group's at w_group_stride),
 * the folded biases and the four per-channel arrays (every group's at np);
 * with the ROWS feed and filter rows that need padding, or IM2ROW and a
 * filter that does, the padded weights packing reads (used at prepare only).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"
#include "pq_fast_isa.h" /* pq_padded_copy_ok */
#include "pq_fast_split.h"

typedef struct {
    pq_conv2d_fast_plan pl;
    int8_t *w_padded; /* ROWS / IM2ROW with padded runs: the weights pq_gemm_s8_pad_runs wrote */
} conv_state;

/* The geometry of the op's fast plan on `isa`; 0 when its parameters do not allow one. */
static int conv_geometry(const pq_node *node, const pq_tensor *t, int isa, pq_conv2d_fast_plan *pl) {
    const pq_conv_params *p = (const pq_conv_params *)node->params;
    const pq_isa_traits *tr = pq_isa_traits_get(isa);
    const pq_dims in = pq_tensor_dims4(&t[node->io[0]]), fd = pq_tensor_dims4(&t[node->io[1]]);
    const pq_dims out = pq_tensor_dims4(&t[node->io[node->n_inputs]]);
    const int32_t granule = tr->granule, row = fd.w * fd.c;
    const int32_t groups = in.c / fd.c, fpg = out.c / groups;
    const int row_ok = !tr->rows_pad_limited || (row + 15) / 16 * 16 * 8 <= row * 9;
    const int padded_ok = pq_padded_copy_ok(p, &in, &fd, &out);
    int32_t k = fd.h * fd.w * fd.c, m, chunk, np;
    /* Out-of-image taps are fed the zero point as an int8: it must be one. */
    if (-p->input_offset < -128 || -p->input_offset > 127) return 0;
    memset(pl, 0, sizeof *pl);
    pl->p = *p;
    pl->p.depth_multiplier = 1; /* CONV_2D's record leaves it 0; the plan's params read as the binding's */
    pl->in_dims = in;
    pl->filter_dims = fd;
    pl->out_dims = out;
    pl->groups = groups;
    pl->taps = 1;
    pl->kt = k;
    /* The SIMD kernels read taps in place from a padded copy of the input, in runs of whole
     * granules: a whole filter row per run when its taps are adjacent (padded with zero weights),
     * else a tap per run. */
    if (fd.h == 1 && fd.w == 1 && groups == 1 && p->pad_h == 0 && p->pad_w == 0) {
        pl->direct = p->stride_h == 1 && p->stride_w == 1 ? PQ_FEED_DIRECT : PQ_FEED_STRIDED;
    } else if (granule && groups == 1 && p->dilation_w == 1 && row_ok) {
        pl->direct = PQ_FEED_ROWS;
        pl->taps = fd.h;
        pl->kt = (row + granule - 1) / granule * granule;
        k = pl->taps * pl->kt; /* each filter row's weights padded to kt */
    } else if (granule && fd.c % granule == 0) {
        pl->direct = PQ_FEED_TAPS;
        pl->taps = fd.h * fd.w;
        pl->kt = fd.c;
    } else if (tr->im2row != NULL && groups == 1 && p->dilation_w == 1 && padded_ok) {
        /* The filter rows' runs gathered one after another, their sum padded to 16 (zero weights). */
        pl->direct = PQ_FEED_IM2ROW;
        pl->taps = fd.h;
        pl->kt = row;
        k = (k + 15) / 16 * 16;
    } else {
        pl->direct = PQ_FEED_IM2COL;
    }
    if ((pl->direct == PQ_FEED_ROWS || pl->direct == PQ_FEED_TAPS) && !padded_ok) return 0;
    m = out.n * out.h * out.w;
    isa = pq_gemm_isa(isa, pl->direct, fpg, k, m);
    np = pq_gemm_s8_np(isa, fpg);
    /* A multiple of 8 rows (every ISA's row block) of about PQ_IM2COL_CHUNK_BYTES, at most m rounded up. */
    chunk = PQ_IM2COL_CHUNK_BYTES / k / 8 * 8;
    chunk = chunk > 8 ? chunk : 8;
    pl->chunk_rows = chunk < (m + 7) / 8 * 8 ? chunk : (m + 7) / 8 * 8;
    pl->gemm.isa = isa;
    pl->gemm.n = fpg;
    pl->gemm.k = k;
    pl->gemm.np = np;
    pl->gemm.kp = pq_gemm_s8_kp(isa, k);
    pl->w_group_stride = pq_gemm_s8_packed_size(isa, fpg, k);
    pl->ch_group_stride = np;
    return 1;
}

/* The packed GEMM's k values per output channel as runs of len weights, each padded with zeros
 * to `to` (to == len: the filter as it is): ROWS pads each filter row, IM2ROW the whole filter. */
static void conv_runs(const pq_conv2d_fast_plan *pl, int32_t *runs, int32_t *len, int32_t *to) {
    const int32_t row = pl->filter_dims.w * pl->filter_dims.c;
    *runs = 1;
    *len = pl->filter_dims.h * row;
    *to = *len;
    if (pl->direct == PQ_FEED_ROWS) {
        *runs = pl->taps;
        *len = row;
        *to = pl->kt;
    } else if (pl->direct == PQ_FEED_IM2ROW) {
        *to = pl->gemm.k;
    }
}

/* The state's pieces over `b` (base NULL: sizes only). */
static conv_state *conv_layout(pq_bump *b, const pq_conv2d_fast_plan *pl) {
    const size_t ch = (size_t)pl->groups * (size_t)pl->gemm.np;
    conv_state *s = (conv_state *)pq_bump_take(b, sizeof(conv_state));
    int8_t *w = (int8_t *)pq_bump_take(b, pl->w_group_stride * (size_t)pl->groups);
    int32_t *bias = (int32_t *)pq_bump_take(b, ch * sizeof(int32_t));
    int32_t *arr = (int32_t *)pq_bump_take(b, 4u * ch * sizeof(int32_t));
    int8_t *padded = NULL;
    int32_t runs, len, to;
    conv_runs(pl, &runs, &len, &to);
    if (to != len) {
        padded = (int8_t *)pq_bump_take(b, (size_t)pl->out_dims.c * (size_t)runs * (size_t)to);
    }
    if (s == NULL) return NULL;
    s->pl = *pl;
    s->w_padded = padded;
    s->pl.gemm.w = w;
    s->pl.gemm.rq.bias = bias;
    s->pl.gemm.rq.mult = arr;
    s->pl.gemm.rq.lshift = arr + ch;
    s->pl.gemm.rq.rshift = arr + 2 * ch;
    s->pl.gemm.rq.rmask = arr + 3 * ch;
    return s;
}

static int conv_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes, size_t *scratch_bytes) {
    pq_conv2d_fast_plan pl;
    pq_bump b = {NULL, 0};
    if (!conv_geometry(node, t, isa, &pl)) return 0;
    conv_layout(&b, &pl);
    *state_bytes = b.used;
    *scratch_bytes = pq_conv2d_s8_fast_scratch_size(&pl);
    return 1;
}

static pq_status conv_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    const int32_t *mult = (const int32_t *)t[node->io[3]].data, *shift = (const int32_t *)t[node->io[4]].data;
    const int32_t *bias_in = node->io[2] < 0 ? NULL : (const int32_t *)t[node->io[2]].data;
    pq_conv2d_fast_plan pl;
    pq_bump b = {(uint8_t *)state, 0};
    conv_state *s;
    pq_gemm_s8_plan *g;
    const int8_t *w_all = PQ_IN(node, t, 1);
    int32_t gi, fpg, np, k, runs, len, to;
    size_t ch;
    if (!conv_geometry(node, t, isa, &pl)) return PQ_ERR_PARAM;
    s = conv_layout(&b, &pl);
    g = &s->pl.gemm;
    fpg = g->n;
    np = g->np;
    k = g->k;
    ch = (size_t)pl.groups * (size_t)np;
    if (s->w_padded != NULL) { /* runs of weights padded with zeros: k is runs * to */
        conv_runs(&pl, &runs, &len, &to);
        pq_gemm_s8_pad_runs(pl.out_dims.c, runs, len, to, w_all, s->w_padded);
        w_all = s->w_padded;
    }
    for (gi = 0; gi < pl.groups; ++gi) {
        const int8_t *w_g = w_all + (size_t)gi * (size_t)fpg * (size_t)k;
        const int32_t *b_g = bias_in != NULL ? bias_in + gi * fpg : NULL;
        pq_gemm_s8_pack(g->isa, fpg, k, w_g, (int8_t *)g->w + (size_t)gi * pl.w_group_stride);
        pq_gemm_s8_fold_bias(g->isa, fpg, np, k, w_g, b_g, pl.p.input_offset, (int32_t *)g->rq.bias + gi * np);
        pq_requant_expand(fpg, np, mult + gi * fpg, shift + gi * fpg, 1, (int32_t *)g->rq.mult + gi * np,
                          (int32_t *)g->rq.lshift + gi * np, (int32_t *)g->rq.rshift + gi * np,
                          (int32_t *)g->rq.rmask + gi * np);
    }
    g->pair16 = pq_gemm_s8_pair16((size_t)pl.groups * (size_t)fpg * (size_t)k, w_all);
    g->rq.output_offset = pl.p.output_offset;
    pq_requant_flags(&g->rq, (int32_t)ch);
    g->rq.act_min = pl.p.act_min;
    g->rq.act_max = pl.p.act_max;
    node->fast = s;
    return PQ_OK;
}

static void conv_split(pq_node *node, const pq_tensor *t, int isa, int32_t num_threads, int64_t min_parallel_ns) {
    const conv_state *s = (const conv_state *)node->fast;
    const pq_conv2d_fast_plan *pl = &s->pl;
    pq_split_shape sh;
    (void)t;
    sh.m = pl->out_dims.n * pl->out_dims.h * pl->out_dims.w;
    sh.macs = (int64_t)sh.m * pl->out_dims.c * pl->filter_dims.h * pl->filter_dims.w * pl->filter_dims.c;
    sh.dw = 0;
    sh.rows = pq_conv2d_s8_fast_split_rows(pl, &sh.unit);
    sh.cols = pl->groups == 1 ? pl->out_dims.c : 0;
    pq_fast_split_choose(node, &sh, isa, num_threads, min_parallel_ns);
}

static pq_status conv_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    const pq_conv2d_fast_plan *pl = &((const conv_state *)node->fast)->pl;
    if (n_parts <= 1) return pq_conv2d_s8_fast(pl, PQ_IN(node, t, 0), PQ_OUT(node, t), scratch);
    return pq_conv2d_s8_fast_part(pl, PQ_IN(node, t, 0), PQ_OUT(node, t), scratch, node->split, node->col_unit, part,
                                  n_parts);
}

static const char *conv_name(const pq_node *node) {
    static const char *const names[2][6] = {
        {"fast-conv-im2col", "fast-conv-1x1", "fast-conv-1x1-strided", "fast-conv-taps", "fast-conv-rows",
         "fast-conv-im2row"},
        {"fast-conv-im2col-amx", "fast-conv-1x1-amx", "fast-conv-1x1-strided-amx", "fast-conv-taps-amx",
         "fast-conv-rows-amx", "fast-conv-im2row-amx"}};
    const pq_conv2d_fast_plan *pl = &((const conv_state *)node->fast)->pl;
    return names[pq_isa_traits_get(pl->gemm.isa)->amx_tiles != 0][pl->direct];
}

const pq_fast_op pq_conv2d_s8_fast_op = {conv_plan, conv_prepare, conv_eval, conv_split, conv_name};
