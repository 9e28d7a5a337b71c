/*
 * The fast-vs-reference harness's side of the binding: a case's operands as
 * the interpreter core's tensors and node, planned, prepared and run through
 * the op's own fast hooks (pq_fast_ops.h), as pq_interp_prepare does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fvr.h"

/* A tensor of `rank` (<= PQ_MAX_DIMS) dims[] over `data`, of dtype 1 (int8) or 2 (int32). */
pq_tensor fvr_tensor_dims(const void *data, int dtype, int rank, const int32_t *dims)
{
    pq_tensor t;
    int k;
    memset(&t, 0, sizeof t);
    t.data = (void *)(uintptr_t)data;
    t.dtype = (uint8_t)dtype;
    t.rank = (uint8_t)rank;
    t.count = 1;
    for (k = 0; k < rank; ++k) {
        t.dims[k] = dims[k];
        t.count *= dims[k];
    }
    return t;
}

/* An int8 tensor of `rank` dims over `data`. */
pq_tensor fvr_tensor_of(const void *data, int rank, const int32_t *dims)
{
    return fvr_tensor_dims(data, 1, rank, dims);
}

pq_tensor fvr_tensor(const void *data, int rank, int32_t d0, int32_t d1, int32_t d2, int32_t d3)
{
    const int32_t d[4] = {d0, d1, d2, d3};
    return fvr_tensor_of(data, rank, d);
}

/* Plan and prepare `op` on `isa` as the interpreter does (state and scratch guarded), then run
 * it whole; `what` names the op when its hooks refuse the case. */
void fvr_run_fast(const pq_fast_op *op, pq_node *nd, const pq_tensor *t, int isa, const char *what)
{
    size_t state_bytes = 0, scratch_bytes = 0;
    void *state;
    if (!op->plan(nd, t, isa, &state_bytes, &scratch_bytes)) {
        fprintf(stderr, "%s: the fast kernel refused a case it must take on isa %s\n", what,
                pq_isa_traits_get(isa)->name);
        exit(1);
    }
    state = state_bytes ? fvr_alloc_zero(state_bytes) : NULL;
    if (op->prepare(nd, t, isa, state) != PQ_OK ||
        op->eval(nd, t, scratch_bytes ? fvr_alloc(scratch_bytes) : NULL, 0, 1) != PQ_OK) {
        fprintf(stderr, "%s: the fast kernel failed on isa %s\n", what, pq_isa_traits_get(isa)->name);
        exit(1);
    }
}

/* A CONV_2D / DEPTHWISE_CONV_2D node over tensors 0..5 (input, filter, bias, mult, shift, output). */
void fvr_conv_node(const fvr_conv *cv, const int8_t *in, int8_t *out, pq_tensor *t, int32_t *io, pq_node *nd)
{
    const int32_t n_mult = cv->out_dims.c;
    int k;
    t[0] = fvr_tensor(in, 4, cv->in_dims.n, cv->in_dims.h, cv->in_dims.w, cv->in_dims.c);
    t[1] = fvr_tensor(cv->filter, 4, cv->filter_dims.n, cv->filter_dims.h, cv->filter_dims.w, cv->filter_dims.c);
    t[2] = fvr_tensor(cv->bias, 1, cv->out_dims.c, 0, 0, 0);
    t[3] = fvr_tensor(cv->mult, 1, n_mult, 0, 0, 0);
    t[4] = fvr_tensor(cv->shift, 1, n_mult, 0, 0, 0);
    t[5] = fvr_tensor(out, 4, cv->out_dims.n, cv->out_dims.h, cv->out_dims.w, cv->out_dims.c);
    for (k = 0; k < 6; ++k) {
        io[k] = k;
    }
    io[2] = cv->bias != NULL ? 2 : -1;
    memset(nd, 0, sizeof *nd);
    nd->params = &cv->p;
    nd->io = io;
    nd->n_inputs = 5;
    nd->n_parts = 1;
}

