/*
 * Cortex-M example for the over-the-air case: the model is a .picoq file held as bytes
 * in flash (model.S) instead of compiled-in C, run by the interpreter core
 * (runtime/kernels/include/pq_interp.h) with the reference kernels. main validates and
 * sizes it (pq_interp_plan), prepares it into one static pool (state, then arena), and
 * runs it on every input vector embedded in flash (../cortex-m/inputs.S: each vector
 * is all the model's inputs back to back), printing each vector's outputs, all of them
 * in order, as one line of decimal bytes over semihosting. A file that does not
 * validate, or needs more memory than the pool holds, is refused with a message.
 * Without embedded inputs it runs once on all-zero inputs (the build to measure).
 */
#include <stdint.h>
#include <string.h>

#include "pq_interp.h"
#include "semihosting.h"

#ifndef POOL_BYTES
#define POOL_BYTES 262144u
#endif

extern const uint8_t ota_model_start[], ota_model_end[]; /* model.S */
extern const int8_t fw_inputs_start[], fw_inputs_end[];  /* ../cortex-m/inputs.S */

/* The interpreter's state and arena, carved from one buffer a model fits in or not. */
static uint8_t pool[POOL_BYTES] __attribute__((aligned(64)));
static pq_interp it;

static uint32_t tensor_bytes(const pq_tensor *t)
{
    return (uint32_t)t->count * (t->dtype == 2 ? 4u : 1u);
}

static void print_model_error(const pq_model_error *err)
{
    sh_write0("# model refused: ");
    sh_write0(err->field);
    if (err->param != NULL) { /* PQ_MODEL_E_OP_PARAM: which parameter (op.params.act_max) */
        sh_write0(".");
        sh_write0(err->param);
    }
    sh_write0("\n# why: ");
    sh_write0(err->why);
    sh_write0("\n");
    sh_print_info("# record: ", err->index);
    sh_print_info("# byte offset: ", (int32_t)err->offset);
    sh_print_info("# value: ", (int32_t)err->value);
}

static int failed(const char *what, int status, const pq_model_error *err)
{
    sh_write0(what);
    sh_write0(pq_interp_status_text(status));
    sh_write0("\n");
    if (status == PQ_INTERP_E_MODEL && err != NULL) {
        print_model_error(err);
    }
    return 1;
}

/* Run once on `in` (all inputs back to back; NULL: zeros) and print the outputs. */
static int run_one(const int8_t *in)
{
    uint32_t i;
    int status;
    for (i = 0; i < it.n_inputs; i++) {
        const pq_tensor *t = pq_interp_input(&it, i);
        if (in == NULL) {
            memset(t->data, 0, tensor_bytes(t));
        } else {
            memcpy(t->data, in, tensor_bytes(t));
            in += tensor_bytes(t);
        }
    }
    status = pq_interp_invoke(&it);
    if (status != PQ_INTERP_OK) {
        sh_print_info("# invoke failed at op ", it.failed_op);
        return failed("# invoke: ", status, NULL);
    }
    for (i = 0; i < it.n_outputs; i++) {
        const pq_tensor *t = pq_interp_output(&it, i);
        sh_print_bytes((const int8_t *)t->data, (int32_t)tensor_bytes(t), i + 1 < it.n_outputs ? " " : "\n");
    }
    return 0;
}

int main(void)
{
    const uint32_t len = (uint32_t)(ota_model_end - ota_model_start);
    pq_interp_options opt = pq_interp_defaults();
    pq_interp_sizes sz;
    pq_model_error err;
    size_t state_bytes;
    uint32_t i, in_bytes = 0, n;
    int status;

    opt.max_arena = POOL_BYTES;
    sh_print_info("# model bytes: ", (int32_t)len);
    status = pq_interp_plan(ota_model_start, len, &opt, &sz, &err);
    if (status != PQ_INTERP_OK) {
        return failed("# plan: ", status, &err);
    }
    state_bytes = (sz.state_bytes + 63u) & ~(size_t)63u; /* the arena starts 64-byte aligned */
    sh_print_info("# state bytes: ", (int32_t)sz.state_bytes);
    sh_print_info("# arena bytes: ", (int32_t)sz.arena_bytes);
    if (sz.arena_bytes > sizeof pool - state_bytes || state_bytes > sizeof pool) {
        sh_print_info("# the model needs more memory than the pool's bytes: ", (int32_t)sizeof pool);
        return 1;
    }
    opt.validated = 1; /* pq_interp_plan just did */
    status = pq_interp_prepare(&it, ota_model_start, len, &opt, pool, sz.state_bytes, pool + state_bytes,
                               sz.arena_bytes, &err);
    if (status != PQ_INTERP_OK) {
        return failed("# prepare: ", status, &err);
    }
    for (i = 0; i < it.n_inputs; i++) {
        in_bytes += tensor_bytes(pq_interp_input(&it, i));
    }
    n = (uint32_t)(fw_inputs_end - fw_inputs_start) / in_bytes;
    sh_print_info("# inputs: ", (int32_t)n);
    if (n == 0 && run_one(NULL) != 0) {
        return 1;
    }
    for (i = 0; i < n; i++) {
        if (run_one(fw_inputs_start + i * in_bytes) != 0) {
            return 1;
        }
    }
    sh_print_info("# stack bytes used: ", sh_stack_used());
    return 0;
}
