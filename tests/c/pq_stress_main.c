/*
 * Create / run / free cycles of the C interpreter core, for tests/test_stress.py (built with
 * -fsanitize=address,undefined and LeakSanitizer on, and with -fsanitize=thread):
 *
 *     pq_stress MODEL.picoq CYCLES THREADS [leak]
 *
 * THREADS POSIX threads (1: the main thread alone) each run CYCLES cycles at once on the same
 * model buffer (constants are read in place by every interpreter): plan, allocate the state
 * and the arena (malloc), prepare, invoke on four pseudo-random inputs, compare each output
 * byte for byte with the reference kernels' output computed first, free. The cycles rotate
 * over the reference kernels and the fast kernels on every instruction set this CPU runs at
 * 1, 2 and 3 threads with every op split (min_parallel_ns 0): a pool of workers
 * (pq_threadpool.h) with their own scratch buffers is started and stopped in each cycle of
 * 2 or 3 threads. Every 7th cycle also has prepare refuse a state or arena one byte short, and
 * plan a truncated buffer. With LeakSanitizer, anything of this not freed is reported at exit.
 * `leak` (the canary that shows LeakSanitizer is live) forgets to free one state block.
 * Prints "ok" and exits 0, or names the first difference and exits 1; a sanitizer report
 * aborts the process.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pq_fast.h"
#include "pq_interp.h"
#include "pq_threadpool.h"

#define N_INPUTS 4
#define MAX_CONFIGS (1 + 3 * PQ_ISA_COUNT)

typedef struct {
    int32_t kernels, isa, threads;
} config;

static const uint8_t *g_model;
static uint32_t g_len;
static long g_cycles;
static config g_configs[MAX_CONFIGS];
static int g_n_configs;
static uint8_t *g_inputs[N_INPUTS];  /* one buffer per input draw: every graph input back to back */
static uint8_t *g_want[N_INPUTS];    /* the reference kernels' outputs back to back */
static size_t g_in_bytes, g_out_bytes;
static int g_leak;

static void *aligned(size_t n) {
    void *p = NULL;
    return posix_memalign(&p, 64, n ? (n + 63) / 64 * 64 : 64) == 0 ? p : NULL;
}

static int parallel(void *pool, pq_part_fn task, void *ctx, int32_t n_parts) {
    return pq_threadpool_run((pq_threadpool *)pool, (pq_task_fn)task, ctx, n_parts);
}

/* One interpreter of configuration `c`: prepared, its inputs run, freed. With `want` NULL,
 * the outputs are stored in g_want instead (the reference run). 0, or 1 on a difference. */
static int cycle(const config *c, long n, int check_errors) {
    pq_interp_options opt = pq_interp_defaults();
    pq_interp_sizes sz;
    pq_model_error err;
    pq_interp it;
    pq_threadpool *pool = NULL;
    void *pool_mem = NULL, *state, *scratch[PQ_THREADPOOL_MAX];
    uint8_t *arena;
    int rc, k, t, bad = 0;
    uint32_t i;
    size_t at;
    memset(scratch, 0, sizeof scratch);
    opt.kernels = c->kernels;
    opt.isa = c->isa;
    opt.num_threads = c->threads;
    opt.min_parallel_ns = 0;
    opt.thread_scratch = scratch;
    if (check_errors && pq_interp_plan(g_model, g_len / 2, &opt, &sz, &err) == PQ_INTERP_OK) {
        printf("cycle %ld: half the file was planned\n", n);
        return 1;
    }
    rc = pq_interp_plan(g_model, g_len, &opt, &sz, &err);
    if (rc != PQ_INTERP_OK) {
        printf("cycle %ld: plan: %s\n", n, pq_interp_status_text(rc));
        return 1;
    }
    state = aligned(sz.state_bytes);
    arena = aligned(sz.arena_bytes);
    if (state == NULL || arena == NULL) return 1;
    opt.validated = 1;
    if (check_errors) {
        if (sz.state_bytes > 0 &&
            pq_interp_prepare(&it, g_model, g_len, &opt, state, sz.state_bytes - 1, arena, sz.arena_bytes,
                              &err) != PQ_INTERP_E_STATE_SIZE) {
            printf("cycle %ld: a short state was taken\n", n);
            bad = 1;
        }
        if (pq_interp_prepare(&it, g_model, g_len, &opt, state, sz.state_bytes, arena, sz.arena_bytes - 1,
                              &err) != PQ_INTERP_E_ARENA_SIZE) {
            printf("cycle %ld: a short arena was taken\n", n);
            bad = 1;
        }
    }
    rc = pq_interp_prepare(&it, g_model, g_len, &opt, state, sz.state_bytes, arena, sz.arena_bytes, &err);
    if (rc != PQ_INTERP_OK) {
        printf("cycle %ld: prepare: %s\n", n, pq_interp_status_text(rc));
        bad = 1;
        goto out;
    }
    if (c->threads > 1) {
        int32_t most = 1;
        for (i = 0; i < it.n_ops; i++) {
            if (it.nodes[i].n_parts > most) most = it.nodes[i].n_parts;
        }
        if (most > 1) { /* as the extension does: a pool for the largest split */
            for (t = 1; t < most; t++) {
                scratch[t] = aligned(sz.scratch_bytes);
            }
            pool_mem = malloc(pq_threadpool_size());
            if (pool_mem == NULL || pq_threadpool_init(pool_mem, most, &pool) != 0) {
                printf("cycle %ld: no pool of %d threads\n", n, (int)most);
                bad = 1;
                goto out;
            }
            it.options.parallel = parallel;
            it.options.parallel_ctx = pool;
        }
    }
    for (k = 0; k < N_INPUTS && !bad; k++) {
        for (i = 0, at = 0; i < it.n_inputs; i++) {
            const pq_tensor *x = pq_interp_input(&it, i);
            memcpy(x->data, g_inputs[k] + at, (size_t)x->count);
            at += (size_t)x->count;
        }
        rc = pq_interp_invoke(&it);
        if (rc != PQ_INTERP_OK) {
            printf("cycle %ld: op %d: %s\n", n, (int)it.failed_op, pq_interp_status_text(rc));
            bad = 1;
            break;
        }
        for (i = 0, at = 0; i < it.n_outputs; i++) {
            const pq_tensor *y = pq_interp_output(&it, i);
            if (g_want[k] == NULL) {
                if (i == 0) g_want[k] = malloc(g_out_bytes ? g_out_bytes : 1);
                memcpy(g_want[k] + at, y->data, (size_t)y->count);
            } else if (memcmp(g_want[k] + at, y->data, (size_t)y->count) != 0) {
                printf("cycle %ld: kernels %d isa %d threads %d: output %u of input %d differs\n", n,
                       (int)c->kernels, (int)c->isa, (int)c->threads, i, k);
                bad = 1;
            }
            at += (size_t)y->count;
        }
    }
out:
    if (pool != NULL) pq_threadpool_destroy(pool);
    free(pool_mem);
    for (t = 0; t < PQ_THREADPOOL_MAX; t++) free(scratch[t]);
    if (g_leak && n == 0) {
        g_leak = 0; /* the canary: this block is lost */
    } else {
        free(state);
    }
    free(arena);
    return bad;
}

static void *worker(void *arg) {
    const long seed = (long)(intptr_t)arg;
    long n;
    for (n = 0; n < g_cycles; n++) {
        const config *c = &g_configs[(n + seed) % g_n_configs];
        if (cycle(c, n, n % 7 == 3)) return (void *)1;
    }
    return NULL;
}

int main(int argc, char **argv) {
    pq_interp_options opt = pq_interp_defaults();
    pq_interp_sizes sz;
    pq_model_error err;
    pq_interp it;
    pthread_t threads[64];
    uint32_t state = 0x9E3779B9u, i;
    int n_threads, t, k, isa, nt, bad = 0;
    size_t b;
    void *mem;
    uint8_t *buf, *arena;
    long len;
    FILE *f;
    if (argc < 4 || (f = fopen(argv[1], "rb")) == NULL) {
        fprintf(stderr, "usage: pq_stress MODEL.picoq CYCLES THREADS [leak]\n");
        return 1;
    }
    g_cycles = atol(argv[2]);
    n_threads = atoi(argv[3]);
    g_leak = argc > 4 && strcmp(argv[4], "leak") == 0;
    if (n_threads < 1 || n_threads > 64) return 1;
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = aligned((size_t)len);
    if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) return 1;
    fclose(f);
    g_model = buf;
    g_len = (uint32_t)len;
    /* Input and output sizes from a reference interpreter (it is the first cycle's config too). */
    if (pq_interp_plan(buf, g_len, &opt, &sz, &err) != PQ_INTERP_OK) return 1;
    mem = aligned(sz.state_bytes);
    arena = aligned(sz.arena_bytes);
    if (pq_interp_prepare(&it, buf, g_len, &opt, mem, sz.state_bytes, arena, sz.arena_bytes, &err)) return 1;
    for (i = 0; i < it.n_inputs; i++) g_in_bytes += (size_t)pq_interp_input(&it, i)->count;
    for (i = 0; i < it.n_outputs; i++) g_out_bytes += (size_t)pq_interp_output(&it, i)->count;
    free(mem);
    free(arena);
    for (k = 0; k < N_INPUTS; k++) {
        g_inputs[k] = malloc(g_in_bytes ? g_in_bytes : 1);
        for (b = 0; b < g_in_bytes; b++) {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            g_inputs[k][b] = (uint8_t)state;
        }
    }
    g_configs[g_n_configs].kernels = PQ_KERNEL_REFERENCE;
    g_configs[g_n_configs++].threads = 1;
    if (cycle(&g_configs[0], -1, 0)) return 1; /* fills g_want */
    for (nt = 1; nt <= 3; nt++) {
        for (isa = 0; isa < PQ_ISA_COUNT; isa++) {
            if (!pq_isa_supported(isa)) continue;
            g_configs[g_n_configs].kernels = PQ_KERNEL_FAST;
            g_configs[g_n_configs].isa = isa;
            g_configs[g_n_configs++].threads = nt;
        }
    }
    for (t = 1; t < n_threads; t++) {
        if (pthread_create(&threads[t], NULL, worker, (void *)(intptr_t)t) != 0) return 1;
    }
    bad = worker((void *)0) != NULL;
    for (t = 1; t < n_threads; t++) {
        void *r;
        pthread_join(threads[t], &r);
        bad |= r != NULL;
    }
    for (k = 0; k < N_INPUTS; k++) {
        free(g_inputs[k]);
        free(g_want[k]);
    }
    free(buf);
    if (!bad) printf("ok\n");
    return bad;
}
