/*
 * RESIZE_NEAREST_NEIGHBOR, int8, NHWC: output pixel (y, x) is input pixel (rows[y], cols[x]),
 * copied. The converter computes the two index tables from the shapes with the source's own
 * rule (TFLite's GetNearestNeighbor in float32, ONNX Resize's coordinate and rounding modes),
 * so no float is left in the kernel; the validator proves every index inside the input.
 * Matches TFLite Micro tensorflow/lite/micro/kernels/resize_nearest_neighbor.cc (a copy).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_resize_nearest_s8(int32_t batches, int32_t in_h, int32_t in_w, int32_t depth, int32_t out_h,
                               int32_t out_w, const int32_t *rows, const int32_t *cols, const int8_t *in, int8_t *out)
{
    int32_t b, y, x;
    for (b = 0; b < batches; ++b) {
        for (y = 0; y < out_h; ++y) {
            const int8_t *row = in + ((size_t)b * (size_t)in_h + (size_t)rows[y]) * (size_t)in_w * (size_t)depth;
            for (x = 0; x < out_w; ++x) {
                memcpy(out, row + (size_t)cols[x] * (size_t)depth, (size_t)depth);
                out += depth;
            }
        }
    }
    return PQ_OK;
}

pq_status pq_resize_nearest_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *y = pq_node_output(node, t);
    const int32_t *rows = (const int32_t *)pq_node_input(node, t, 1)->data;
    const int32_t *cols = (const int32_t *)pq_node_input(node, t, 2)->data;
    return pq_resize_nearest_s8(x->dims[0], x->dims[1], x->dims[2], x->dims[3], y->dims[1], y->dims[2], rows, cols,
                                (const int8_t *)x->data, (int8_t *)y->data);
}
