/*
 * RESIZE_BILINEAR, int8, NHWC, TFLite Micro's integer arithmetic (reference_ops::
 * ResizeBilinearInteger): each output pixel mixes four input pixels with 10-bit weights and
 * rounds the 20-bit sum half away from zero. The converter computes, per output row and per
 * output column, the triple (low index, high index, weight) that TFLM's
 * ComputeInterpolationValuesInteger derives from the shapes and the align_corners /
 * half_pixel_centers flags (or ONNX Resize's coordinate mode), so the kernel needs no scale
 * arithmetic; the validator proves every index inside the input and every weight in
 * [-512, 1023] (TFLM's own range), which keeps the int32 sum below 2^31.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_resize_bilinear_s8(int32_t batches, int32_t in_h, int32_t in_w, int32_t depth, int32_t out_h,
                                int32_t out_w, const int32_t *rows, const int32_t *cols, const int8_t *in, int8_t *out)
{
    const size_t row_bytes = (size_t)in_w * (size_t)depth;
    int32_t b, y, x, c;
    for (b = 0; b < batches; ++b) {
        const int8_t *image = in + (size_t)b * (size_t)in_h * row_bytes;
        for (y = 0; y < out_h; ++y) {
            /* TFLM's (1 << 10) - (input_y - (1 << 10) * y0) and input_y - (1 << 10) * y0 */
            const int32_t wy = rows[3 * y + 2], vy = 1024 - wy;
            const int8_t *r0 = image + (size_t)rows[3 * y] * row_bytes;
            const int8_t *r1 = image + (size_t)rows[3 * y + 1] * row_bytes;
            for (x = 0; x < out_w; ++x) {
                const int32_t wx = cols[3 * x + 2], vx = 1024 - wx;
                const size_t c0 = (size_t)cols[3 * x] * (size_t)depth, c1 = (size_t)cols[3 * x + 1] * (size_t)depth;
                for (c = 0; c < depth; ++c) {
                    /* Each term is at most 128 * 1536 * 1536 < 2^29: the sum fits int32 */
                    const int32_t sum = r0[c0 + c] * vy * vx + r1[c0 + c] * wy * vx + r0[c1 + c] * vy * wx +
                                        r1[c1 + c] * wy * wx;
                    /* TFLM without TFLITE_SINGLE_ROUNDING: add +-2^19, divide truncating */
                    int32_t v = (sum + (sum > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20);
                    /* Only a hostile table (weights that do not mix two pixels of one row) can
                     * leave int8; clamp so it cannot wrap. */
                    v = v < -128 ? -128 : v > 127 ? 127 : v;
                    *out++ = (int8_t)v;
                }
            }
        }
    }
    return PQ_OK;
}

pq_status pq_resize_bilinear_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *y = pq_node_output(node, t);
    const int32_t *rows = (const int32_t *)pq_node_input(node, t, 1)->data;
    const int32_t *cols = (const int32_t *)pq_node_input(node, t, 2)->data;
    return pq_resize_bilinear_s8(x->dims[0], x->dims[1], x->dims[2], x->dims[3], y->dims[1], y->dims[2], rows, cols,
                                 (const int8_t *)x->data, (int8_t *)y->data);
}
