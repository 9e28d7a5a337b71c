/*
 * The fast-vs-reference cases of BATCH_MATMUL and GATHER (tests/c/fast_vs_reference.c runs
 * them as "batch_matmul" and "gather"), drawn within what the validator accepts:
 *   batch_matmul  ranks 2..5 for each operand, batch dims broadcast either way (an operand's
 *                 dim of 1, or missing leading dims), m, k, n around and off the GEMM granules
 *                 (1 .. 72), adj_x / adj_y, offsets over [-127, 128] with rhs_offset 0 often
 *                 (the one-call path), multipliers 0 .. INT32_MAX, shifts over [-31, 30].
 *   gather        ranks 1..6, any axis, batch_dims 0..2, indices of rank batch_dims..
 *                 batch_dims + 2 anywhere in the axis (constant, as the contract wants);
 *                 rows of one byte (the last axis) often.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fvr.h"

static int32_t matmul_dim(fvr_rng *r)
{
    static const int32_t edges[] = {1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 72};
    return fvr_range(r, 0, 1) ? fvr_pick(r, edges, (int32_t)(sizeof edges / sizeof edges[0])) : fvr_range(r, 1, 40);
}

void fvr_case_batch_matmul(fvr_rng *r, long index, fvr_check_fn check)
{
    const int rank = fvr_range(r, 2, 5);
    int32_t la[PQ_MAX_DIMS], lb[PQ_MAX_DIMS], out[PQ_MAX_DIMS], sa[PQ_MAX_DIMS], sb[PQ_MAX_DIMS];
    int32_t m = matmul_dim(r), k = matmul_dim(r), n = matmul_dim(r);
    int rank_a = rank, rank_b = rank, d;
    pq_batch_matmul_params p;
    pq_tensor t[3];
    int8_t *a, *b, *want;
    char desc[400];
    (void)index;
    for (d = 0; d < rank - 2; ++d) { /* batch dims: each operand whole or 1 */
        out[d] = fvr_range(r, 1, 3);
        la[d] = fvr_range(r, 0, 3) == 0 ? 1 : out[d];
        lb[d] = fvr_range(r, 0, 3) == 0 ? 1 : out[d];
        if (la[d] == 1 && lb[d] == 1) out[d] = 1;
    }
    memset(&p, 0, sizeof p);
    p.adj_x = fvr_range(r, 0, 1);
    p.adj_y = fvr_range(r, 0, 1);
    la[rank - 2 + p.adj_x] = m;
    la[rank - 1 - p.adj_x] = k;
    lb[rank - 2 + p.adj_y] = k;
    lb[rank - 1 - p.adj_y] = n;
    out[rank - 2] = m;
    out[rank - 1] = n;
    while (rank_a > 2 && la[rank - rank_a] == 1 && fvr_range(r, 0, 1)) --rank_a;
    while (rank_b > 2 && lb[rank - rank_b] == 1 && fvr_range(r, 0, 1)) --rank_b;
    p.lhs_offset = fvr_offset(r);
    p.rhs_offset = fvr_range(r, 0, 2) == 0 ? 0 : fvr_offset(r);
    p.output_offset = fvr_range(r, -128, 127);
    p.output_multiplier = fvr_multiplier(r);
    p.output_shift = fvr_range(r, 0, 3) ? fvr_range(r, -16, -4) : fvr_range(r, -31, 30);
    want = fvr_binary_tensors(r, t, rank, out, la, rank_a, lb, rank_b);
    a = (int8_t *)t[0].data;
    b = (int8_t *)t[1].data;
    for (d = 0; d < rank; ++d) { /* the operands' shapes aligned to the output's rank */
        sa[d] = d < rank - rank_a ? 1 : la[d];
        sb[d] = d < rank - rank_b ? 1 : lb[d];
    }
    snprintf(desc, sizeof desc,
             "rank %d (a %d, b %d) batch %ldx%ldx%ld m %ld k %ld n %ld adj %ld %ld offsets %ld %ld %ld mult %ld "
             "shift %ld",
             rank, rank_a, rank_b, (long)(rank > 2 ? out[0] : 1), (long)(rank > 3 ? out[1] : 1),
             (long)(rank > 4 ? out[2] : 1), (long)m, (long)k, (long)n, (long)p.adj_x, (long)p.adj_y,
             (long)p.lhs_offset, (long)p.rhs_offset, (long)p.output_offset, (long)p.output_multiplier,
             (long)p.output_shift);
    fvr_run_all_isas("batch_matmul", pq_batch_matmul_s8(&p, rank, sa, a, sb, b, out, want),
                     &pq_batch_matmul_s8_fast_op, &p, 2, t, want, desc, check);
}

void fvr_case_gather(fvr_rng *r, long index, fvr_check_fn check)
{
    const int rank = fvr_range(r, 1, PQ_MAX_DIMS);
    int32_t xs[PQ_MAX_DIMS], is[PQ_MAX_DIMS], ys[PQ_MAX_DIMS];
    int32_t batch = 1, outer = 1, inner = 1, n_index = 1, count, i;
    int bd, axis, irank, d, yr = 0;
    pq_gather_params p;
    pq_tensor t[3];
    int8_t *x, *want;
    int32_t *idx;
    char desc[300];
    (void)index;
    for (d = 0; d < rank; ++d) xs[d] = fvr_range(r, 1, rank > 4 ? 4 : 9);
    bd = fvr_range(r, 0, rank - 1 < 2 ? rank - 1 : 2);
    axis = fvr_range(r, 0, 2) == 0 ? rank - 1 : fvr_range(r, bd, rank - 1);
    irank = bd + fvr_range(r, 0, 2);
    if (irank == 0) irank = 1; /* constants have rank >= 1 */
    if (rank + irank - 1 - bd > PQ_MAX_DIMS) irank = bd + PQ_MAX_DIMS - rank + 1;
    for (d = 0; d < irank; ++d) is[d] = d < bd ? xs[d] : fvr_range(r, 1, 5);
    for (d = 0; d < axis; ++d) ys[yr++] = xs[d];
    for (d = bd; d < irank; ++d) ys[yr++] = is[d];
    for (d = axis + 1; d < rank; ++d) ys[yr++] = xs[d];
    for (d = 0; d < bd; ++d) batch *= xs[d];
    for (d = bd; d < axis; ++d) outer *= xs[d];
    for (d = axis + 1; d < rank; ++d) inner *= xs[d];
    for (d = bd; d < irank; ++d) n_index *= is[d];
    memset(&p, 0, sizeof p);
    p.axis = axis;
    p.batch_dims = bd;
    t[0] = fvr_tensor_of(NULL, rank, xs);
    t[1] = fvr_tensor_dims(NULL, 2, irank, is);
    t[1].is_const = 1;
    t[2] = fvr_tensor_of(NULL, yr, ys);
    count = t[1].count;
    x = (int8_t *)fvr_alloc((size_t)t[0].count);
    idx = (int32_t *)fvr_alloc((size_t)count * sizeof(int32_t));
    want = (int8_t *)fvr_alloc((size_t)t[2].count);
    fvr_fill_s8(r, x, (size_t)t[0].count);
    for (i = 0; i < count; ++i) idx[i] = fvr_range(r, 0, xs[axis] - 1);
    t[0].data = x;
    t[1].data = idx;
    snprintf(desc, sizeof desc, "rank %d axis %d batch_dims %d indices rank %d: batch %ld outer %ld axis %ld inner %ld "
             "n_index %ld", rank, axis, bd, irank, (long)batch, (long)outer, (long)xs[axis], (long)inner,
             (long)n_index);
    fvr_run_all_isas("gather", pq_gather_s8(batch, outer, xs[axis], inner, n_index, idx, x, want),
                     &pq_gather_s8_fast_op, &p, 2, t, want, desc, check);
}
