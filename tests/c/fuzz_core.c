/*
 * libFuzzer target for the C core: a hostile buffer through validate, plan, prepare and
 * invoke. The environment variable PQ_FUZZ_ISA picks the kernels: unset or -1 the
 * reference kernels, else that pq_isa's fast kernels (pq_fast.h; 1 = avx2).
 *
 *     clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *         -D_POSIX_C_SOURCE=200112L -DPQ_WITH_FAST_KERNELS=1 -I runtime/kernels/include \
 *         tests/c/fuzz_core.c $(find runtime/kernels/src -name '*.c') -pthread -o fuzz_core
 *     PQ_FUZZ_ISA=1 ./fuzz_core -max_len=60000 CORPUS_DIR     # seeds: any .picoq files
 *
 * The CRC is not checked (a mutant would rarely get past it); every other rule is.
 * tests/test_core_sanitized.py runs it briefly on the repo's models.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pq_interp.h"

static int fuzz_isa = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    const char *isa = getenv("PQ_FUZZ_ISA");
    (void)argc;
    (void)argv;
    fuzz_isa = isa ? atoi(isa) : -1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t buf[1 << 20] __attribute__((aligned(64)));
    pq_interp_options opt = pq_interp_defaults();
    pq_interp_sizes sz;
    pq_model_error err;
    pq_interp it;
    void *state = NULL, *arena = NULL;
    if (size > sizeof buf) return 0;
    memcpy(buf, data, size);
    opt.max_arena = 1u << 22;
    if (fuzz_isa >= 0) {
        opt.kernels = PQ_KERNEL_FAST;
        opt.isa = fuzz_isa;
    }
    if (pq_model_validate_flags(buf, (uint32_t)size, opt.max_arena, PQ_MODEL_SKIP_CRC, &err) != PQ_MODEL_OK) return 0;
    opt.validated = 1;
    if (pq_interp_plan(buf, (uint32_t)size, &opt, &sz, &err) != PQ_INTERP_OK) return 0;
    if (posix_memalign(&state, 64, sz.state_bytes + 64) || posix_memalign(&arena, 64, sz.arena_bytes + 64)) {
        free(state);
        return 0;
    }
    if (pq_interp_prepare(&it, buf, (uint32_t)size, &opt, state, sz.state_bytes, (uint8_t *)arena, sz.arena_bytes,
                          &err) == PQ_INTERP_OK) {
        memset(arena, 0x5a, sz.arena_bytes);
        pq_interp_invoke(&it);
    }
    free(state);
    free(arena);
    return 0;
}
