/*
 * pq_validate FILE...: validate .picoq files with pq_model_validate, as a
 * firmware loader would after receiving one (host build, for tests and for
 * checking a file before sending it over the air).
 *
 *   gcc -std=c99 -I runtime/kernels/include tests/c/pq_validate_main.c \
 *       runtime/kernels/src/core/[a-z_]*.c runtime/kernels/src/ref/[a-z_0-9]*.c -o pq_validate
 *
 * Prints "FILE: ok arena=N tensors=T ops=O" or "FILE: refused FIELD index=I
 * offset=B value=V: WHY" per file (FIELD "op.params.NAME" for a parameter); exits 0 when all are valid, 1 when one is not,
 * 2 on an I/O error. The file is read into a buffer of exactly its size, so
 * a sanitizer build catches any read past the end.
 */
#include <stdio.h>
#include <stdlib.h>

#include "pq_model.h"

static int check(const char *path) {
    FILE *f = fopen(path, "rb");
    long size;
    uint8_t *buf;
    pq_model_error err;
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
        (unsigned long)size > 0xFFFFFFFFul) {
        fprintf(stderr, "%s: cannot read\n", path);
        if (f) fclose(f);
        return 2;
    }
    buf = (uint8_t *)malloc(size > 0 ? (size_t)size : 1u);
    if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "%s: cannot read\n", path);
        free(buf);
        fclose(f);
        return 2;
    }
    fclose(f);
    if (pq_model_validate(buf, (uint32_t)size, PQ_MODEL_DEFAULT_MAX_ARENA, &err) == PQ_MODEL_OK) {
        printf("%s: ok arena=%lu tensors=%lu ops=%lu\n", path, (unsigned long)pq_model_arena_size(buf),
               (unsigned long)pq_model_num_tensors(buf), (unsigned long)pq_model_num_ops(buf));
        free(buf);
        return 0;
    }
    printf("%s: refused %s%s%s index=%ld offset=%lld value=%lld: %s\n", path, err.field, err.param ? "." : "",
           err.param ? err.param : "", (long)err.index, (long long)err.offset, (long long)err.value, err.why);
    free(buf);
    return 1;
}

int main(int argc, char **argv) {
    int i, worst = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE.picoq...\n", argv[0]);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        int rc = check(argv[i]);
        if (rc > worst) worst = rc;
    }
    return worst;
}
