/*
 * The fast-vs-reference harness's data-movement cases: CONCATENATION, PAD, TRANSPOSE and
 * RESHAPE. Each case is a node and its tensors as the interpreter binds them; the reference
 * output comes from the op's own interpreter entry (pq_<name>_s8_eval) on that node, the fast
 * one from its fast hooks (pq_<name>_s8_fast_op) through fvr_run_fast, into a fresh guarded
 * buffer per ISA. Cases: ranks 1 to 6 with size-1 dims, every axis and permutation, pads of 0
 * to 3 per side, up to 64 concatenated inputs, each on the output's quantization (copied) or
 * with a random requant row in the validator's ranges (a table).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fvr.h"
#include "pq_op.h"

/* Random dims in [1, hi], 1 about a third of the time (the kernels merge those away). */
static void gen_dims(fvr_rng *r, int rank, int32_t hi, int32_t *dims)
{
    int k;
    for (k = 0; k < rank; ++k) {
        dims[k] = fvr_range(r, 0, 2) == 0 ? 1 : fvr_range(r, 1, hi);
    }
}

static int8_t *random_s8(fvr_rng *r, size_t n)
{
    int8_t *x = (int8_t *)fvr_alloc(n);
    fvr_fill_s8(r, x, n);
    return x;
}

/* Node with n_in inputs (tensors 0..n_in-1) and output tensor n_in. */
static void node_of(fvr_move_case *c, uint16_t opcode, int n_in, const void *params)
{
    int k;
    for (k = 0; k <= n_in; ++k) {
        c->io[k] = k;
    }
    memset(&c->nd, 0, sizeof c->nd);
    c->nd.opcode = opcode;
    c->nd.params = params;
    c->nd.io = c->io;
    c->nd.n_inputs = (uint16_t)n_in;
    c->nd.n_parts = 1;
    c->out = n_in;
}

/* A one-input op: random input of dims, output of out_dims, the op's hooks and reference entry. */
static void unary_case(fvr_rng *r, fvr_move_case *c, int rank, const int32_t *dims, const int32_t *out_dims,
                       uint16_t opcode, const pq_fast_op *op, pq_status (*eval)(const pq_node *, const pq_tensor *))
{
    c->t[0] = fvr_tensor_dims(NULL, 1, rank, dims);
    c->t[0].data = random_s8(r, (size_t)c->t[0].count);
    c->t[1] = fvr_tensor_dims(NULL, 1, rank, out_dims);
    node_of(c, opcode, 1, &c->params);
    c->op = op;
    c->eval = eval;
}

static void gen_concat(fvr_rng *r, fvr_move_case *c)
{
    pq_concat_params *p = &c->params.concat;
    const int rank = (int)fvr_range(r, 1, 5);
    const int32_t n = fvr_range(r, 0, 9) == 0 ? PQ_MAX_CONCAT_INPUTS : fvr_range(r, 2, 12);
    const int32_t mode = fvr_range(r, 0, 2); /* all copied, all requantized, mixed */
    int32_t dims[PQ_MAX_DIMS], out_dims[PQ_MAX_DIMS];
    int32_t *requant = (int32_t *)fvr_alloc((size_t)n * 3u * sizeof(int32_t));
    const int32_t rq_dims[2] = {n, 3};
    int32_t k;
    gen_dims(r, rank, n > 12 ? 3 : 6, dims);
    memcpy(out_dims, dims, sizeof dims);
    p->axis = fvr_range(r, 0, rank - 1);
    p->output_offset = fvr_range(r, -128, 127);
    out_dims[p->axis] = 0;
    for (k = 0; k < n; ++k) {
        int32_t *rq = requant + 3 * k;
        dims[p->axis] = fvr_range(r, 1, 4);
        out_dims[p->axis] += dims[p->axis];
        c->t[k] = fvr_tensor_dims(NULL, 1, rank, dims);
        c->t[k].data = random_s8(r, (size_t)c->t[k].count);
        if (mode == 0 || (mode == 2 && fvr_range(r, 0, 1))) {
            rq[0] = 1 << 30, rq[1] = 1, rq[2] = -p->output_offset; /* the output's quantization */
        } else {
            rq[0] = fvr_range(r, 0, 9) == 0 ? 0 : fvr_range(r, 1 << 30, INT32_MAX);
            rq[1] = fvr_range(r, -31, 22);
            rq[2] = fvr_range(r, -127, 128);
        }
    }
    c->t[n] = fvr_tensor_dims(requant, 2, 2, rq_dims);
    c->t[n].is_const = 1;
    c->t[n + 1] = fvr_tensor_dims(NULL, 1, rank, out_dims);
    node_of(c, PQ_OP_CONCATENATION, (int)n + 1, p);
    c->op = &pq_concatenation_s8_fast_op;
    c->eval = pq_concatenation_s8_eval;
    snprintf(c->desc, sizeof c->desc, "%ld inputs, rank %d, axis %ld, output %ld bytes, requant mode %ld", (long)n,
             rank, (long)p->axis, (long)c->t[n + 1].count, (long)mode);
}

static void gen_pad(fvr_rng *r, fvr_move_case *c)
{
    pq_pad_params *p = &c->params.pad;
    const int rank = (int)fvr_range(r, 1, PQ_MAX_DIMS);
    const int none = fvr_range(r, 0, 6) == 0;
    int32_t dims[PQ_MAX_DIMS], out_dims[PQ_MAX_DIMS];
    int k;
    memset(p, 0, sizeof *p);
    gen_dims(r, rank, 7, dims);
    p->pad_value = fvr_range(r, -128, 127);
    for (k = 0; k < rank; ++k) {
        p->pads[k][0] = none || fvr_range(r, 0, 1) ? 0 : fvr_range(r, 1, 3);
        p->pads[k][1] = none || fvr_range(r, 0, 1) ? 0 : fvr_range(r, 1, 3);
        out_dims[k] = p->pads[k][0] + dims[k] + p->pads[k][1];
    }
    unary_case(r, c, rank, dims, out_dims, PQ_OP_PAD, &pq_pad_s8_fast_op, pq_pad_s8_eval);
    snprintf(c->desc, sizeof c->desc, "rank %d, in %ld bytes, out %ld bytes, pads of dim 0 %ld %ld, value %ld", rank,
             (long)c->t[0].count, (long)c->t[1].count, (long)p->pads[0][0], (long)p->pads[0][1], (long)p->pad_value);
}

static void gen_transpose(fvr_rng *r, fvr_move_case *c)
{
    /* NCHW -> NHWC, NHWC -> NCHW, a channel shuffle [N, H, W, g, c/g] -> [N, H, W, c/g, g]. */
    static const int32_t named[3][PQ_MAX_DIMS] = {{0, 2, 3, 1}, {0, 3, 1, 2}, {0, 1, 2, 4, 3}};
    pq_transpose_params *p = &c->params.transpose;
    const int32_t kind = fvr_range(r, 0, 5);
    const int rank = kind < 3 ? (kind == 2 ? 5 : 4) : (int)fvr_range(r, 1, PQ_MAX_DIMS);
    int32_t dims[PQ_MAX_DIMS], out_dims[PQ_MAX_DIMS];
    int k;
    memset(p, 0, sizeof *p);
    gen_dims(r, rank, rank <= 2 ? 70 : (rank <= 4 ? 12 : 5), dims);
    for (k = 0; k < rank; ++k) {
        p->perm[k] = kind < 3 ? named[kind][k] : k;
    }
    for (k = rank - 1; kind >= 3 && k > 0; --k) { /* Fisher-Yates */
        const int32_t j = fvr_range(r, 0, k), s = p->perm[k];
        p->perm[k] = p->perm[j];
        p->perm[j] = s;
    }
    for (k = 0; k < rank; ++k) {
        out_dims[k] = dims[p->perm[k]];
    }
    unary_case(r, c, rank, dims, out_dims, PQ_OP_TRANSPOSE, &pq_transpose_s8_fast_op, pq_transpose_s8_eval);
    snprintf(c->desc, sizeof c->desc, "in %ldx%ldx%ldx%ldx%ldx%ld (rank %d) perm %ld %ld %ld %ld %ld %ld",
             (long)dims[0], (long)(rank > 1 ? dims[1] : 1), (long)(rank > 2 ? dims[2] : 1),
             (long)(rank > 3 ? dims[3] : 1), (long)(rank > 4 ? dims[4] : 1), (long)(rank > 5 ? dims[5] : 1), rank,
             (long)p->perm[0], (long)p->perm[1], (long)p->perm[2], (long)p->perm[3], (long)p->perm[4],
             (long)p->perm[5]);
}

static void gen_reshape(fvr_rng *r, fvr_move_case *c)
{
    const int32_t n = fvr_range(r, 0, 3) == 0 ? fvr_range(r, 1000, 20000) : fvr_range(r, 1, 300);
    /* One dim in and out: the shape does not matter to the bytes. */
    unary_case(r, c, 1, &n, &n, PQ_OP_RESHAPE, &pq_reshape_s8_fast_op, pq_reshape_s8_eval);
    snprintf(c->desc, sizeof c->desc, "%ld bytes", (long)n);
}

void fvr_move_gen(fvr_rng *r, int which, fvr_move_case *c)
{
    memset(c, 0, sizeof *c);
    switch (which) {
    case FVR_CONCAT:
        gen_concat(r, c);
        break;
    case FVR_PAD:
        gen_pad(r, c);
        break;
    case FVR_TRANSPOSE:
        gen_transpose(r, c);
        break;
    default:
        gen_reshape(r, c);
    }
    c->n = (size_t)c->t[c->out].count;
    c->want = (int8_t *)fvr_alloc(c->n);
    c->t[c->out].data = c->want;
    if (c->eval(&c->nd, c->t) != PQ_OK) {
        fprintf(stderr, "%s: the reference kernel refused the case\n", c->desc);
        exit(1);
    }
}

int8_t *fvr_move_run(fvr_move_case *c, int isa)
{
    int8_t *got = (int8_t *)fvr_alloc(c->n);
    c->t[c->out].data = got;
    fvr_run_fast(c->op, &c->nd, c->t, isa, c->desc);
    return got;
}
