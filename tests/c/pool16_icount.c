/*
 * pool16_icount: the 16x8 pools' portable kernels (pq_avg_pool2d_s16, pq_max_pool2d_s16) and
 * their Cortex-M DSP twins (pq_*_pool2d_s16_dsp) on the pool shapes of the MLPerf Tiny 16x8
 * models, one call each between two marker calls, so tests/c/pool16_icount.py can count the
 * instructions of each call in QEMU's exec trace (mps2-an386, Cortex-M4). Each DSP call's
 * output is compared with the portable one's: a count of a wrong kernel is no count.
 * A measurement, not a test; nothing here is timed.
 */
#include <stdint.h>
#include <string.h>

#include "pq_kernels.h"
#include "pq_kernels_dsp.h"
#include "semihosting.h"

typedef struct {
    const char *name;
    int max; /* MAX_POOL_2D, else AVERAGE_POOL_2D */
    int32_t h, w, c, fh, fw, stride, pad, out_h, out_w;
} shape;

static const shape k_shapes[] = {
    {"KWS avg 5x25x64 -> 1x1x64", 0, 25, 5, 64, 25, 5, 1, 0, 1, 1},
    {"IC avg 8x8x64 -> 1x1x64", 0, 8, 8, 64, 8, 8, 1, 0, 1, 1},
    {"VWW avg 3x3x256 -> 1x1x256", 0, 3, 3, 256, 3, 3, 1, 0, 1, 1},
    {"avg 2x2/2 16x16x16 -> 8x8x16", 0, 16, 16, 16, 2, 2, 2, 0, 8, 8},
    {"max 3x3/2 SAME 16x16x32 -> 8x8x32", 1, 16, 16, 32, 3, 3, 2, 0, 8, 8},
    {"max 2x2/2 16x16x16 -> 8x8x16", 1, 16, 16, 16, 2, 2, 2, 0, 8, 8},
    {"max 3x3/1 SAME 10x10x3 -> 10x10x3", 1, 10, 10, 3, 3, 3, 1, 1, 10, 10},
};

static int16_t g_in[16 * 16 * 32], g_want[8 * 8 * 32 + 2048], g_got[8 * 8 * 32 + 2048];

/* The markers: the trace counts what runs between a call of mark_begin and one of mark_end. */
__attribute__((noinline)) void mark_begin(int32_t id)
{
    __asm__ volatile("" ::"r"(id) : "memory");
}
__attribute__((noinline)) void mark_end(int32_t id)
{
    __asm__ volatile("" ::"r"(id) : "memory");
}

static pq_status call(const shape *s, int dsp, const pq_pool_params *p, const pq_dims *in_dims,
                      const pq_dims *out_dims, int16_t *out, int32_t id)
{
    pq_status st;
    mark_begin(id);
    if (s->max) {
        st = dsp ? pq_max_pool2d_s16_dsp(p, in_dims, g_in, out_dims, out) : pq_max_pool2d_s16(p, in_dims, g_in, out_dims, out);
    } else {
        st = dsp ? pq_avg_pool2d_s16_dsp(p, in_dims, g_in, out_dims, out) : pq_avg_pool2d_s16(p, in_dims, g_in, out_dims, out);
    }
    mark_end(id);
    return st;
}

int main(void)
{
    uint32_t seed = 12345u;
    int32_t i, k, bad = 0;
    for (i = 0; i < (int32_t)(sizeof g_in / sizeof g_in[0]); ++i) {
        seed = seed * 1664525u + 1013904223u;
        g_in[i] = (int16_t)(seed >> 16);
    }
    mark_begin(-1); /* the markers' own cost: nothing between them */
    mark_end(-1);
    for (k = 0; k < (int32_t)(sizeof k_shapes / sizeof k_shapes[0]); ++k) {
        const shape *s = &k_shapes[k];
        const pq_dims in_dims = {1, s->h, s->w, s->c}, out_dims = {1, s->out_h, s->out_w, s->c};
        const int32_t n = s->out_h * s->out_w * s->c;
        pq_pool_params p;
        pq_status a, b;
        memset(&p, 0, sizeof p);
        p.stride_h = p.stride_w = s->stride;
        p.filter_h = s->fh, p.filter_w = s->fw;
        p.pad_h = p.pad_w = s->pad;
        p.act_min = -32768, p.act_max = 32767;
        a = call(s, 0, &p, &in_dims, &out_dims, g_want, 2 * k);
        b = call(s, 1, &p, &in_dims, &out_dims, g_got, 2 * k + 1);
        sh_write0("# ");
        sh_write0(s->name);
        if (a != PQ_OK || b != PQ_OK || memcmp(g_want, g_got, (size_t)(2 * n)) != 0) {
            sh_write0(": MISMATCH");
            bad = 1;
        }
        sh_write0("\n");
    }
    sh_exit(bad);
}
