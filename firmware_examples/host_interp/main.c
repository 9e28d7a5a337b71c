/*
 * run_model: run a .picoq file through the interpreter core with the reference kernels.
 *
 *     run_model MODEL.picoq INPUT.bin OUTPUT.bin
 *
 * INPUT.bin holds the model's inputs as raw bytes (int8), all of them in graph order,
 * back to back; OUTPUT.bin receives the outputs the same way. Any problem (a file that
 * cannot be read, a model the validator refuses, an input of the wrong size) ends the
 * run with status 1 and one line on stderr naming it.
 *
 * Plain stdio and malloc live here only: the core never allocates, it is handed the
 * model (16-byte aligned), its state and its arena (64-byte aligned).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pq_interp.h"

static const char *prog = "run_model";

/* One line on stderr, "run_model: " first; returns the exit status 1. */
static int fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

/* `n` bytes (at least 1) at an `align`-byte boundary inside a block kept in *raw for free(). */
static uint8_t *alloc_aligned(size_t n, size_t align, void **raw)
{
    uintptr_t p;
    *raw = malloc(n + align);
    if (*raw == NULL) {
        return NULL;
    }
    p = ((uintptr_t)*raw + align - 1u) & ~(uintptr_t)(align - 1u);
    return (uint8_t *)p;
}

/* The whole file at a 16-byte boundary; NULL (and a message) when it cannot be read. */
static uint8_t *read_file(const char *path, size_t *len, void **raw)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long size = 0;
    if (f == NULL) {
        fail("%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fail("%s: cannot read (not a regular file?)", path);
    } else if ((unsigned long)size > 0xFFFFFFFFul) {
        fail("%s: larger than 4 GiB", path);
    } else if ((buf = alloc_aligned((size_t)size, 16, raw)) == NULL) {
        fail("%s: out of memory", path);
    } else if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fail("%s: cannot read", path);
        free(*raw);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)size;
    return buf;
}

static size_t tensor_bytes(const pq_tensor *t)
{
    return (size_t)t->count * (t->dtype == 2 ? 4u : 1u);
}

/* "MODEL: invalid .picoq file: field tensor.dims of record 3 at byte 212 (value -1): dimensions
 * must be in [1, 2^24], unused ones 0"; a parameter is named as op.params.act_max */
static int model_refused(const char *path, const char *step, int status, const pq_model_error *err)
{
    char record[32] = "", offset[40] = "";
    if (status != PQ_INTERP_E_MODEL) {
        return fail("%s: %s: %s", path, step, pq_interp_status_text(status));
    }
    if (err->index >= 0) {
        snprintf(record, sizeof record, " of record %ld", (long)err->index);
    }
    if (err->offset >= 0) {
        snprintf(offset, sizeof offset, " at byte %lld", (long long)err->offset);
    }
    return fail("%s: invalid .picoq file: field %s%s%s%s%s (value %lld): %s", path,
                err->field != NULL ? err->field : pq_model_field_name(err->code), err->param ? "." : "",
                err->param ? err->param : "", record, offset, (long long)err->value, err->why ? err->why : "");
}

int main(int argc, char **argv)
{
    pq_interp_options opt = pq_interp_defaults();
    pq_interp_sizes sz;
    pq_model_error err;
    pq_interp it;
    void *model_raw, *input_raw, *state_raw, *arena_raw;
    uint8_t *model, *input, *state, *arena;
    size_t model_len, input_len, need = 0, at = 0;
    uint32_t i;
    int status;
    FILE *out;

    if (argc != 4) {
        fprintf(stderr, "usage: %s MODEL.picoq INPUT.bin OUTPUT.bin  (inputs and outputs as raw int8 bytes)\n",
                argc > 0 ? argv[0] : prog);
        return 2;
    }
    if ((model = read_file(argv[1], &model_len, &model_raw)) == NULL) {
        return 1;
    }
    if (model_len > 0xFFFFFFFFu) {
        return fail("%s: larger than 4 GiB", argv[1]);
    }
    status = pq_interp_plan(model, (uint32_t)model_len, &opt, &sz, &err);
    if (status != PQ_INTERP_OK) {
        return model_refused(argv[1], "plan", status, &err);
    }
    state = alloc_aligned(sz.state_bytes, 64, &state_raw);
    arena = alloc_aligned(sz.arena_bytes, 64, &arena_raw);
    if (state == NULL || arena == NULL) {
        return fail("%s: out of memory for the state and arena", argv[1]);
    }
    opt.validated = 1; /* pq_interp_plan just validated this very buffer */
    status = pq_interp_prepare(&it, model, (uint32_t)model_len, &opt, state, sz.state_bytes, arena, sz.arena_bytes,
                               &err);
    if (status != PQ_INTERP_OK) {
        return model_refused(argv[1], "prepare", status, &err);
    }

    if ((input = read_file(argv[2], &input_len, &input_raw)) == NULL) {
        return 1;
    }
    for (i = 0; i < it.n_inputs; i++) {
        need += tensor_bytes(pq_interp_input(&it, i));
    }
    if (input_len != need) {
        return fail("%s: %lu bytes, but the model's %lu input(s) take %lu bytes", argv[2], (unsigned long)input_len,
                    (unsigned long)it.n_inputs, (unsigned long)need);
    }
    for (i = 0; i < it.n_inputs; i++) {
        const pq_tensor *t = pq_interp_input(&it, i);
        memcpy(t->data, input + at, tensor_bytes(t));
        at += tensor_bytes(t);
    }

    status = pq_interp_invoke(&it);
    if (status != PQ_INTERP_OK) {
        const pq_op_info *op = it.failed_op >= 0 ? pq_op_find(it.nodes[it.failed_op].opcode) : NULL;
        return fail("%s: invoke failed at op %ld %s: %s", argv[1], (long)it.failed_op, op != NULL ? op->name : "?",
                    pq_interp_status_text(status));
    }

    if ((out = fopen(argv[3], "wb")) == NULL) {
        return fail("%s: cannot open for writing: %s", argv[3], strerror(errno));
    }
    for (i = 0; i < it.n_outputs; i++) {
        const pq_tensor *t = pq_interp_output(&it, i);
        if (fwrite(t->data, 1, tensor_bytes(t), out) != tensor_bytes(t)) {
            fclose(out);
            return fail("%s: write failed", argv[3]);
        }
    }
    if (fclose(out) != 0) {
        return fail("%s: write failed", argv[3]);
    }
    free(input_raw);
    free(arena_raw);
    free(state_raw);
    free(model_raw);
    return 0;
}
