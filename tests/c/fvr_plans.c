/*
 * Load-time binding of the fast kernels, a C transcription of
 * runtime/_interp.pyx (Core._bind_conv_fast, _bind_dw_fast, _bind_fc_fast,
 * _requant): feeding mode, packing, bias folding, requantization constants
 * and scratch size, for one ISA. Keep the two in step: the harness tests the
 * kernels under the plans the interpreter builds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fvr.h"
#include "pq_fast_isa.h"

/* _interp.pyx IM2COL_CHUNK_BYTES */
#define FVR_IM2COL_CHUNK_BYTES 16384

static void fvr_requant(pq_requant *rq, int32_t n, int32_t np, const int32_t *mult, const int32_t *shift,
                        int32_t per_channel, int32_t output_offset, int32_t act_min, int32_t act_max)
{
    int32_t *arr = (int32_t *)fvr_alloc_zero(4u * (size_t)np * sizeof(int32_t));
    int32_t c;
    pq_requant_expand(n, np, mult, shift, per_channel, arr, arr + np, arr + 2 * np, arr + 3 * np);
    rq->mult = arr;
    rq->lshift = arr + np;
    rq->rshift = arr + 2 * np;
    rq->rmask = arr + 3 * np;
    rq->any_lshift = 0;
    for (c = 0; c < np; ++c) {
        if (arr[np + c] != 0) {
            rq->any_lshift = 1;
        }
    }
    rq->output_offset = output_offset;
    rq->act_min = act_min;
    rq->act_max = act_max;
}

size_t fvr_bind_conv(int isa, const fvr_conv *cv, pq_conv2d_fast_plan *pl)
{
    pq_gemm_s8_plan *g = &pl->gemm;
    const pq_dims *fd = &cv->filter_dims;
    const int32_t groups = cv->in_dims.c / fd->c;
    const int32_t fpg = cv->out_dims.c / groups;
    const int one_by_one = fd->h == 1 && fd->w == 1 && groups == 1;
    /* AMX here takes every GEMM (the loader keeps small ones on AVX-512 VNNI: a speed choice). */
    const int32_t granule = (isa == PQ_ISA_AVX512VNNI || isa == PQ_ISA_AMX)
                                ? 4
                                : (isa == PQ_ISA_AVX2 ? 2 : (PQ_ISA_IS_NEON(isa) ? 16 : 0));
    const int32_t row = fd->w * fd->c;
    const int8_t *w_all = cv->filter;
    int32_t k = fd->h * fd->w * fd->c;
    int32_t np, m, chunk, gi;
    int32_t *bias, *arr;
    int8_t *packed;
    memset(pl, 0, sizeof *pl);
    pl->p = cv->p;
    pl->in_dims = cv->in_dims;
    pl->filter_dims = cv->filter_dims;
    pl->out_dims = cv->out_dims;
    pl->groups = groups;
    pl->taps = 1;
    pl->kt = k;
    if (one_by_one && cv->p.pad_h == 0 && cv->p.pad_w == 0) {
        pl->direct = cv->p.stride_h == 1 && cv->p.stride_w == 1 ? PQ_FEED_DIRECT : PQ_FEED_STRIDED;
    } else if (granule && groups == 1 && cv->p.dilation_w == 1 &&
               (granule < 16 || (row + 15) / 16 * 16 * 8 <= row * 9)) {
        pl->direct = PQ_FEED_ROWS;
        pl->taps = fd->h;
        pl->kt = (fd->w * fd->c + granule - 1) / granule * granule;
    } else if (granule && fd->c % granule == 0) {
        pl->direct = PQ_FEED_TAPS;
        pl->taps = fd->h * fd->w;
        pl->kt = fd->c;
    } else {
        pl->direct = PQ_FEED_IM2COL;
    }
    if (pl->direct == PQ_FEED_ROWS && pl->kt != fd->w * fd->c) {
        int8_t *tmp = (int8_t *)fvr_alloc((size_t)cv->out_dims.c * (size_t)pl->taps * (size_t)pl->kt);
        pq_gemm_s8_pad_runs(cv->out_dims.c, pl->taps, fd->w * fd->c, pl->kt, cv->filter, tmp);
        w_all = tmp;
        k = pl->taps * pl->kt;
    }
    np = pq_gemm_s8_np(isa, fpg);
    m = cv->out_dims.n * cv->out_dims.h * cv->out_dims.w;
    chunk = FVR_IM2COL_CHUNK_BYTES / k / 8 * 8;
    chunk = chunk > 8 ? chunk : 8;
    pl->chunk_rows = chunk < (m + 7) / 8 * 8 ? chunk : (m + 7) / 8 * 8;
    g->isa = isa;
    g->n = fpg;
    g->k = k;
    g->np = np;
    g->kp = pq_gemm_s8_kp(isa, k);
    pl->w_group_stride = pq_gemm_s8_packed_size(isa, fpg, k);
    pl->ch_group_stride = np;
    packed = (int8_t *)fvr_alloc_zero(pl->w_group_stride * (size_t)groups);
    bias = (int32_t *)fvr_alloc_zero((size_t)groups * (size_t)np * sizeof(int32_t));
    g->w = packed;
    g->rq.bias = bias;
    arr = (int32_t *)fvr_alloc_zero(4u * (size_t)groups * (size_t)np * sizeof(int32_t));
    g->rq.mult = arr;
    g->rq.lshift = arr + groups * np;
    g->rq.rshift = arr + 2 * groups * np;
    g->rq.rmask = arr + 3 * groups * np;
    g->rq.any_lshift = 0;
    for (gi = 0; gi < groups; ++gi) {
        const int8_t *w_g = w_all + (size_t)gi * (size_t)fpg * (size_t)k;
        const int32_t *b_g = cv->bias != NULL ? cv->bias + gi * fpg : NULL;
        pq_gemm_s8_pack(isa, fpg, k, w_g, packed + (size_t)gi * pl->w_group_stride);
        pq_gemm_s8_fold_bias(isa, fpg, np, k, w_g, b_g, cv->p.input_offset, bias + gi * np);
        pq_requant_expand(fpg, np, cv->mult + gi * fpg, cv->shift + gi * fpg, 1, arr + gi * np,
                          arr + groups * np + gi * np, arr + 2 * groups * np + gi * np, arr + 3 * groups * np + gi * np);
    }
    for (gi = 0; gi < groups * np; ++gi) {
        if (g->rq.lshift[gi] != 0) {
            g->rq.any_lshift = 1;
        }
    }
    g->rq.output_offset = cv->p.output_offset;
    g->rq.act_min = cv->p.act_min;
    g->rq.act_max = cv->p.act_max;
    return pq_conv2d_s8_fast_scratch_size(pl);
}

size_t fvr_bind_dw(int isa_in, const fvr_conv *cv, pq_dwconv_fast_plan *pl)
{
    /* AMX is for GEMMs: the loader runs depthwise on its AVX-512 VNNI kernel. */
    const int isa = isa_in == PQ_ISA_AMX ? PQ_ISA_AVX512VNNI : isa_in;
    const int32_t c = cv->in_dims.c;
    const int32_t taps = cv->filter_dims.h * cv->filter_dims.w;
    const int32_t cp = pq_dwconv_s8_cp(isa, c);
    int8_t *packed;
    int32_t *bias;
    memset(pl, 0, sizeof *pl);
    pl->isa = isa;
    pl->p = cv->p;
    pl->in_dims = cv->in_dims;
    pl->filter_dims = cv->filter_dims;
    pl->out_dims = cv->out_dims;
    pl->cp = cp;
    packed = (int8_t *)fvr_alloc_zero(pq_dwconv_s8_packed_size(isa, taps, c));
    pq_dwconv_s8_pack(isa, taps, c, cv->filter, packed);
    bias = (int32_t *)fvr_alloc_zero((size_t)cp * sizeof(int32_t));
    pq_dwconv_s8_fold_bias(isa, taps, c, cp, cv->filter, cv->bias, cv->p.input_offset, bias);
    pl->w = packed;
    pl->rq.bias = bias;
    fvr_requant(&pl->rq, c, cp, cv->mult, cv->shift, 1, cv->p.output_offset, cv->p.act_min, cv->p.act_max);
    pq_dwconv_s8_order(isa, c, cp, (int32_t *)pl->rq.bias);
    pq_dwconv_s8_order(isa, c, cp, (int32_t *)pl->rq.mult);
    pq_dwconv_s8_order(isa, c, cp, (int32_t *)pl->rq.lshift);
    pq_dwconv_s8_order(isa, c, cp, (int32_t *)pl->rq.rshift);
    pq_dwconv_s8_order(isa, c, cp, (int32_t *)pl->rq.rmask);
    return pq_dwconv_s8_fast_scratch_size(pl);
}

size_t fvr_bind_fc(int isa, const fvr_fc *f, pq_gemm_s8_plan *g)
{
    const int32_t np = pq_gemm_s8_np(isa, f->n);
    int8_t *packed;
    int32_t *bias;
    memset(g, 0, sizeof *g);
    g->isa = isa;
    g->n = f->n;
    g->k = f->k;
    g->np = np;
    g->kp = pq_gemm_s8_kp(isa, f->k);
    packed = (int8_t *)fvr_alloc_zero(pq_gemm_s8_packed_size(isa, f->n, f->k));
    pq_gemm_s8_pack(isa, f->n, f->k, f->filter, packed);
    bias = (int32_t *)fvr_alloc_zero((size_t)np * sizeof(int32_t));
    pq_gemm_s8_fold_bias(isa, f->n, np, f->k, f->filter, f->bias, f->p.input_offset, bias);
    g->w = packed;
    g->rq.bias = bias;
    fvr_requant(&g->rq, f->n, np, f->mult, f->shift, f->p.per_channel, f->p.output_offset, f->p.act_min,
                f->p.act_max);
    return pq_gemm_s8_scratch_size(isa, f->k);
}
