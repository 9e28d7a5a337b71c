/*
 * pq_srdhm_x15 (pq_fast_vec.h: the int16 ADD's input scaling in int32 lanes) against
 * pq_srdhm_vec(x * 2^15, m) for every int16 x and the multipliers given as arguments plus
 * edge ones. Prints "OK <count>" or the first mismatch and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>

#include "pq_fast_vec.h"

static int check(int32_t m, long *count)
{
    int32_t x;
    for (x = -32768; x <= 32767; ++x) {
        const int32_t want = pq_srdhm_vec(x * 32768, m);
        const int32_t got = pq_srdhm_x15(x, m >> 16, m & 0xFFFF);
        if (got != want) {
            printf("MISMATCH x=%ld m=%ld: %ld, want %ld\n", (long)x, (long)m, (long)got, (long)want);
            return 0;
        }
        ++*count;
    }
    return 1;
}

int main(int argc, char **argv)
{
    static const int32_t edges[] = {0, 1, 2, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x10001, 0x40000000, 0x7FFF8000,
                                    0x7FFFFFFF, 0x7FFF0001, 0x12345678, 0x0000FFFF, 0x5555AAAB};
    long count = 0;
    int i;
    for (i = 0; i < (int)(sizeof edges / sizeof edges[0]); ++i) {
        if (!check(edges[i], &count)) return 1;
    }
    for (i = 1; i < argc; ++i) {
        if (!check((int32_t)strtol(argv[i], NULL, 0), &count)) return 1;
    }
    printf("OK %ld\n", count);
    return 0;
}
