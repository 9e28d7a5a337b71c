/*
 * Harness utilities: seeded randomness and page-guarded buffers (an
 * electric-fence allocator: reads or writes past a buffer's 16-byte granule,
 * or before its start, fault, under qemu-user too, where sanitizers are not
 * available).
 */
#define _DEFAULT_SOURCE 1 /* mmap's MAP_ANONYMOUS under -std=c99 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fvr.h"


uint64_t fvr_next(fvr_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int32_t fvr_range(fvr_rng *r, int32_t lo, int32_t hi)
{
    const uint64_t span = (uint64_t)((int64_t)hi - (int64_t)lo) + 1u;
    return (int32_t)((int64_t)lo + (int64_t)(fvr_next(r) % span));
}

int32_t fvr_pick(fvr_rng *r, const int32_t *values, int32_t n)
{
    return values[fvr_range(r, 0, n - 1)];
}

void fvr_fill_s8(fvr_rng *r, int8_t *dst, size_t n)
{
    /* Mostly uniform; sometimes only the extremes (the products that overflow
     * int16 pair sums and push accumulators furthest), sometimes constant,
     * sometimes [-127, 127] with the extremes -127 and 127 often (TFLite's
     * symmetric weights: the NEON kernel's int16 pair sums, pq_gemm_s8_pair16). */
    const int32_t mode = fvr_range(r, 0, 9);
    const int8_t konst = (int8_t)fvr_range(r, -128, 127);
    size_t i;
    for (i = 0; i < n; ++i) {
        if (mode == 0) {
            dst[i] = (fvr_next(r) & 1) ? -128 : 127;
        } else if (mode == 1) {
            dst[i] = -128;
        } else if (mode == 2) {
            dst[i] = konst;
        } else if (mode == 3) {
            const int32_t v = fvr_range(r, -130, 130);
            dst[i] = (int8_t)(v < -127 ? -127 : (v > 127 ? 127 : v));
        } else {
            dst[i] = (int8_t)fvr_range(r, -128, 127);
        }
    }
}

typedef struct {
    void *base;
    size_t len;
} fvr_map;

static fvr_map g_maps[256];
static int g_nmaps;

void *fvr_alloc(size_t n)
{
    /* [guard page][body][guard page]; the buffer sits flush against the end
     * guard or, every other allocation, against the front one, so reads past
     * the end and before the start both fault, each half the time. */
    static int front;
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t need = (n + 15u) / 16u * 16u;
    const size_t body = (need + page - 1u) / page * page;
    uint8_t *base;
    if (g_nmaps == (int)(sizeof g_maps / sizeof g_maps[0])) {
        fprintf(stderr, "fvr_alloc: too many buffers in one case\n");
        exit(2);
    }
    base = (uint8_t *)mmap(NULL, body + 2u * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == (uint8_t *)MAP_FAILED || mprotect(base, page, PROT_NONE) != 0 ||
        mprotect(base + page + body, page, PROT_NONE) != 0) {
        perror("fvr_alloc");
        exit(2);
    }
    g_maps[g_nmaps].base = base;
    g_maps[g_nmaps].len = body + 2u * page;
    ++g_nmaps;
    /* Junk, not zeros: a kernel must not depend on what it did not write. */
    memset(base + page, 0x5A, body);
    front = !front;
    return front ? base + page : base + page + body - need;
}

void *fvr_alloc_zero(size_t n)
{
    void *p = fvr_alloc(n);
    memset(p, 0, n);
    return p;
}

void fvr_free_all(void)
{
    int i;
    for (i = 0; i < g_nmaps; ++i) {
        munmap(g_maps[i].base, g_maps[i].len);
    }
    g_nmaps = 0;
}
