/*
 * Runs one .picoq file through the C interpreter core on one kernel choice, for
 * tests/test_core_sanitized.py (built with -fsanitize=address,undefined):
 *
 *     pq_core MODEL.picoq ISA [RUNS]
 *
 * ISA is -1 for the reference kernels, else a pq_isa (pq_fast.h). Inputs are
 * pseudo-random int8 bytes (xorshift), a new draw for each of RUNS invokes. Exit 0
 * when the model ran or was refused cleanly (a refusal prints one line), 1 on a
 * usage or I/O error; a sanitizer report aborts the process.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pq_interp.h"

static void *aligned(size_t n) {
    void *p = NULL;
    return posix_memalign(&p, 64, n ? (n + 63) / 64 * 64 : 64) == 0 ? p : NULL;
}

int main(int argc, char **argv) {
    pq_interp_options opt = pq_interp_defaults();
    pq_interp_sizes sz;
    pq_model_error err;
    pq_interp it;
    uint32_t state = 0x9E3779B9u, i, k;
    int runs = argc > 3 ? atoi(argv[3]) : 2, r, rc;
    uint8_t *buf, *arena;
    void *mem;
    long len;
    FILE *f;
    if (argc < 3 || (f = fopen(argv[1], "rb")) == NULL) {
        fprintf(stderr, "usage: pq_core MODEL.picoq ISA [RUNS]\n");
        return 1;
    }
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = aligned((size_t)len);
    if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) return 1;
    fclose(f);
    if (atoi(argv[2]) >= 0) {
        opt.kernels = PQ_KERNEL_FAST;
        opt.isa = atoi(argv[2]);
    }
    rc = pq_interp_plan(buf, (uint32_t)len, &opt, &sz, &err);
    if (rc != PQ_INTERP_OK) {
        printf("refused: %s %s\n", pq_interp_status_text(rc), rc == PQ_INTERP_E_MODEL ? err.field : "");
        free(buf);
        return 0;
    }
    mem = aligned(sz.state_bytes);
    arena = aligned(sz.arena_bytes);
    opt.validated = 1;
    rc = pq_interp_prepare(&it, buf, (uint32_t)len, &opt, mem, sz.state_bytes, arena, sz.arena_bytes, &err);
    if (rc != PQ_INTERP_OK) {
        printf("refused: %s\n", pq_interp_status_text(rc));
        runs = 0;
    }
    memset(arena, 0x5a, sz.arena_bytes); /* whatever the arena held before */
    for (r = 0; r < runs; r++) {
        for (i = 0; i < it.n_inputs; i++) {
            const pq_tensor *x = pq_interp_input(&it, i);
            for (k = 0; k < (uint32_t)x->count; k++) {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                ((uint8_t *)x->data)[k] = (uint8_t)state;
            }
        }
        rc = pq_interp_invoke(&it);
        if (rc != PQ_INTERP_OK) printf("op %d: %s\n", (int)it.failed_op, pq_interp_status_text(rc));
    }
    if (runs > 0) printf("ok\n");
    free(buf);
    free(mem);
    free(arena);
    return 0;
}
