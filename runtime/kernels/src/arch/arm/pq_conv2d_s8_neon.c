/*
 * CONV_2D on aarch64 without im2col (PQ_FEED_TAPS / PQ_FEED_ROWS, both NEON
 * ISAs): pq_conv2d_s8_fast.c's in-place driver, shared with x86, copies each
 * image once into scratch with a border of input zero points (whose product
 * with the folded bias term is exactly 0) with pq_pad_s8_neon below, then the
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

/* One image (h x w x c) into an (hp x wp x c) buffer at row offset top and
 * column offset left, the border filled with zp. */
void pq_pad_s8_neon(const int8_t *img, int32_t h, int32_t w, int32_t c, int32_t top, int32_t left,
                    int32_t hp, int32_t wp, int8_t zp, int8_t *dst)
{
    const size_t row = (size_t)w * (size_t)c;
    const size_t prow = (size_t)wp * (size_t)c;
    const size_t lpad = (size_t)left * (size_t)c;
    int32_t y;
    size_t i;
    for (y = 0; y < hp; ++y, dst += prow) {
        const int32_t iy = y - top;
        const int8_t *src;
        if (iy < 0 || iy >= h) {
            for (i = 0; i < prow; ++i) {
                dst[i] = zp;
            }
            continue;
        }
        src = img + (size_t)iy * row;
        for (i = 0; i < lpad; ++i) {
            dst[i] = zp;
        }
        for (i = 0; i + 16 <= row; i += 16) {
            vst1q_s8(dst + lpad + i, vld1q_s8(src + i));
        }
        for (; i < row; ++i) {
            dst[lpad + i] = src[i];
        }
        for (i = lpad + row; i < prow; ++i) {
            dst[i] = zp;
        }
    }
}

#else
/* ISO C forbids an empty translation unit. */
typedef int pq_conv2d_s8_neon_unused;
#endif
