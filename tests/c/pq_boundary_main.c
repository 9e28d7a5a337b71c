/*
 * Driver for runtime/boundary/pq_boundary.c on a machine the extension cannot run on
 * (tests/test_float_boundary.py cross-builds it for aarch64 and runs it under qemu).
 *
 *   pq_boundary_main IN OUT
 *
 * IN is a list of jobs, each: uint64 n, float scale, int32 zero_point, n float32 values,
 * the same n values as float64. For each job OUT gets: int32 NaN flag and n int8 from
 * pq_quantize_f32_s8, the same from pq_quantize_f64_s8, and the 256 float32 values of
 * pq_dequantize_s8_f32 on -128..127. Native byte order; the test compares it all with
 * its numpy oracles. Exits 0, or 1 on a short or unreadable file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "pq_boundary.h"

static int job(FILE *in, FILE *out)
{
    uint64_t n;
    float scale, y[256];
    int32_t zp, nan;
    int8_t all[256];
    float *x;
    double *xd;
    int8_t *q;
    int i, ok;
    if (fread(&n, sizeof n, 1, in) != 1) return 0;
    if (fread(&scale, sizeof scale, 1, in) != 1 || fread(&zp, sizeof zp, 1, in) != 1) return -1;
    x = malloc(n * sizeof *x + 1);
    xd = malloc(n * sizeof *xd + 1);
    q = malloc(n + 1);
    ok = x && xd && q && fread(x, sizeof *x, n, in) == n && fread(xd, sizeof *xd, n, in) == n;
    if (ok) {
        nan = pq_quantize_f32_s8(x, q, n, scale, zp);
        fwrite(&nan, sizeof nan, 1, out);
        fwrite(q, 1, n, out);
        nan = pq_quantize_f64_s8(xd, q, n, scale, zp);
        fwrite(&nan, sizeof nan, 1, out);
        fwrite(q, 1, n, out);
        for (i = 0; i < 256; i++) all[i] = (int8_t)(i - 128);
        pq_dequantize_s8_f32(all, y, 256, scale, zp);
        fwrite(y, sizeof *y, 256, out);
    }
    free(x);
    free(xd);
    free(q);
    return ok ? 1 : -1;
}

int main(int argc, char **argv)
{
    FILE *in, *out;
    int rc;
    if (argc != 3 || !(in = fopen(argv[1], "rb")) || !(out = fopen(argv[2], "wb"))) return 1;
    while ((rc = job(in, out)) > 0) {
    }
    fclose(in);
    return fclose(out) == 0 && rc == 0 ? 0 : 1;
}
