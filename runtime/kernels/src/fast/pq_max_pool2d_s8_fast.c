/*
 * MAX_POOL_2D with the channel loop innermost (same bytes as pq_max_pool2d_s8):
 * each output pixel's `depth` bytes start at -128 (TFLM's lowest()) and take the
 * running maximum of every window pixel's `depth` consecutive bytes, a loop compilers
 * vectorise (pmaxsb / smax, or compare and select); then the fused activation clamps.
 * The window is the reference's (pq_pool_window_at): taps outside the image are skipped.
 * Portable C for every ISA.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fixedpoint.h"
#include "pq_pool_window.h"

pq_status pq_max_pool2d_s8_fast(const pq_pool_params *p, const pq_dims *in_dims, const int8_t *in,
                                const pq_dims *out_dims, int8_t *out)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, depth = in_dims->c;
    const int32_t out_h = out_dims->h, out_w = out_dims->w;
    const int32_t act_min = p->act_min, act_max = p->act_max;
    int32_t b, oy, ox, c, fy, fx;
    for (b = 0; b < in_dims->n; ++b) {
        const int8_t *image = in + (size_t)b * (size_t)in_h * (size_t)in_w * (size_t)depth;
        for (oy = 0; oy < out_h; ++oy) {
            for (ox = 0; ox < out_w; ++ox) {
                const pq_pool_window win = pq_pool_window_at(p, in_h, in_w, oy, ox);
                int8_t *o = out + (((size_t)b * (size_t)out_h + (size_t)oy) * (size_t)out_w + (size_t)ox) *
                                      (size_t)depth;
                for (c = 0; c < depth; ++c) o[c] = -128;
                for (fy = win.fy_start; fy < win.fy_end; ++fy) {
                    for (fx = win.fx_start; fx < win.fx_end; ++fx) {
                        const int8_t *px =
                            image + ((size_t)(win.y0 + fy) * (size_t)in_w + (size_t)(win.x0 + fx)) * (size_t)depth;
                        for (c = 0; c < depth; ++c) o[c] = px[c] > o[c] ? px[c] : o[c];
                    }
                }
                for (c = 0; c < depth; ++c) o[c] = (int8_t)pq_clamp(o[c], act_min, act_max);
            }
        }
    }
    return PQ_OK;
}
