/*
 * CONV_2D on aarch64 without im2col (PQ_FEED_TAPS / PQ_FEED_ROWS, both NEON
 * ISAs): pq_conv2d_s8_fast.c's in-place driver, shared with x86, copies each
 * image once into scratch with a border of input zero points (whose product
 * with the folded bias term is exactly 0: pq_pad_image over the row copy
 * below), then the
 * GEMM kernels read every output pixel's taps in place, at row origin + tap
 * offset. The loader picks these feeds only when each run of k values is a
 * multiple of 16 bytes (or, for ROWS, padded to one with at most 1/8 zero
 * weights), the chunk the NEON kernels load, so no chunk straddles two runs;
 * a padded run reads up to 15 bytes past it, into the next pixel or the 64
 * bytes of slack after the copy. The im2col it replaces cost as many
 * instructions as the sdot GEMM itself on a 16-channel 3x3 convolution (its
 * per-pixel bookkeeping, not its copies).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"

#if PQ_HAVE_NEON
#include <arm_neon.h>

/* A padded image's row (pq_pad_image, CONV_2D's and DEPTHWISE_CONV_2D's int8 images): n bytes
 * as they are, 64 per ld1 / st1 of 4 registers. */
void pq_pad_copy_s8_neon(void *dst, const int8_t *src, size_t n)
{
    int8_t *d = (int8_t *)dst;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        vst1q_s8_x4(d + i, vld1q_s8_x4(src + i));
    }
    for (; i + 16 <= n; i += 16) {
        vst1q_s8(d + i, vld1q_s8(src + i));
    }
    for (; i < n; ++i) {
        d[i] = src[i];
    }
}

#else
/* ISO C forbids an empty translation unit. */
typedef int pq_conv2d_s8_neon_unused;
#endif
