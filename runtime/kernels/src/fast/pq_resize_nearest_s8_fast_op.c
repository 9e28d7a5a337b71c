/*
 * RESIZE_NEAREST_NEIGHBOR's fast hooks (pq_fast_ops.h): an output row whose source row is the
 * previous output row's (every other row of a 2x upsampling) is one copy of that row, and
 * within a row a run of pixels from one source pixel is built by doubling copies. Same bytes
 * as the reference kernel: both only copy input bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pq_fast_bind.h"

static int rn_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes, size_t *scratch_bytes) {
    (void)node;
    (void)t;
    (void)isa;
    *state_bytes = 0; /* eval reads the node's tensors alone */
    *scratch_bytes = 0;
    return 1;
}

static pq_status rn_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    (void)node;
    (void)t;
    (void)isa;
    (void)state;
    return PQ_OK;
}

/* One output row: out_w pixels of `depth` bytes from input row `row`. */
static void rn_row(int8_t *out, const int8_t *row, const int32_t *cols, int32_t out_w, size_t depth) {
    int32_t x = 0;
    while (x < out_w) {
        int32_t run = 1, have = 1;
        while (x + run < out_w && cols[x + run] == cols[x]) ++run;
        memcpy(out, row + (size_t)cols[x] * depth, depth);
        while (have < run) { /* double what is there: log2(run) copies */
            const int32_t n = have < run - have ? have : run - have;
            memcpy(out + (size_t)have * depth, out, (size_t)n * depth);
            have += n;
        }
        out += (size_t)run * depth;
        x += run;
    }
}

static pq_status rn_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    const pq_tensor *x = &t[node->io[0]], *y = &t[node->io[3]];
    const int32_t *rows = (const int32_t *)t[node->io[1]].data, *cols = (const int32_t *)t[node->io[2]].data;
    const size_t depth = (size_t)x->dims[3], in_row = (size_t)x->dims[2] * depth, out_row = (size_t)y->dims[2] * depth;
    const int8_t *in = (const int8_t *)x->data;
    int8_t *out = (int8_t *)y->data;
    int32_t b, r;
    (void)scratch;
    (void)part;
    (void)n_parts;
    for (b = 0; b < x->dims[0]; ++b) {
        for (r = 0; r < y->dims[1]; ++r) {
            if (r > 0 && rows[r] == rows[r - 1]) {
                memcpy(out, out - out_row, out_row);
            } else {
                rn_row(out, in + ((size_t)b * (size_t)x->dims[1] + (size_t)rows[r]) * in_row, cols, y->dims[2], depth);
            }
            out += out_row;
        }
    }
    return PQ_OK;
}

static const char *rn_name(const pq_node *node) {
    (void)node;
    return "fast-resize-nearest";
}

const pq_fast_op pq_resize_nearest_s8_fast_op = {rn_plan, rn_prepare, rn_eval, NULL, rn_name};
