/*
 * TRANSPOSE_CONV's fast hooks (pq_fast_ops.h) and kernel. The reference gathers per output
 * value, finding each filter tap's input pixel with a division for every output channel; here
 * the taps that reach an output pixel are listed once (rows, then columns, then their
 * product, in the op's scratch) and every output channel reuses the list. The input offset is
 * taken out of the inner loop: sum w * (x + off) = sum w * x + off * sum w, in wrapping 32-bit
 * arithmetic where that identity is exact, so the bytes are the reference's (and TFLM's).
 * Scratch: 2 * (kh + kw + kh * kw) int32, the tap lists (filters up to 2^16 taps).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"
#include "pq_fixedpoint.h"
#include "pq_kernels.h"

typedef struct {
    int32_t unused; /* the hooks need a state block to point node->fast at */
} tc_state;

static size_t tc_scratch(const pq_tensor *w) {
    const size_t kh = (size_t)w->dims[1], kw = (size_t)w->dims[2];
    return 2u * (kh + kw + kh * kw) * sizeof(int32_t);
}

static int tc_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes, size_t *scratch_bytes) {
    const pq_tensor *w = &t[node->io[1]];
    (void)isa;
    /* Filters of more than 2^16 taps keep the reference kernel: the tap list's scratch must
     * stay small (and its size computable in a 32-bit size_t). */
    if ((int64_t)w->dims[1] * w->dims[2] > (1 << 16)) return 0;
    *state_bytes = sizeof(tc_state);
    *scratch_bytes = tc_scratch(w);
    return 1;
}

static pq_status tc_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    (void)t;
    (void)isa;
    node->fast = state;
    return PQ_OK;
}

/* The (input coordinate, filter tap) pairs that reach output coordinate o: at most k. */
static int32_t tc_taps(int32_t o, int32_t k, int32_t pad, int32_t stride, int32_t in_size, int32_t *taps) {
    int32_t f, n = 0;
    for (f = 0; f < k; ++f) {
        const int32_t t = o + pad - f; /* < 2^25 (contract) */
        if (t >= 0 && t % stride == 0 && t / stride < in_size) {
            taps[2 * n] = t / stride;
            taps[2 * n + 1] = f;
            ++n;
        }
    }
    return n;
}

static pq_status tc_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    const pq_conv_operands a = pq_conv_operands_of(node, t);
    const pq_conv_params *p = a.p;
    const int32_t ih = a.in.h, iw = a.in.w, ic = a.in.c, kh = a.filter.h, kw = a.filter.w;
    const int32_t *mult = a.mult, *shift = (const int32_t *)a.shift, *bias = (const int32_t *)a.bias;
    const int8_t *in = (const int8_t *)a.x, *filter = (const int8_t *)a.w;
    int8_t *out = (int8_t *)a.y;
    int32_t *rows = (int32_t *)scratch, *cols = rows + 2 * kh, *taps = cols + 2 * kw;
    int32_t b, oy, ox, oc, i, j, k;
    (void)part;
    (void)n_parts;
    if (p->stride_h <= 0 || p->stride_w <= 0) return PQ_ERR_PARAM;
    for (b = 0; b < a.in.n; ++b) {
        const int8_t *image = in + (size_t)b * (size_t)ih * (size_t)iw * (size_t)ic;
        for (oy = 0; oy < a.out.h; ++oy) {
            const int32_t n_rows = tc_taps(oy, kh, p->pad_h, p->stride_h, ih, rows);
            for (ox = 0; ox < a.out.w; ++ox) {
                const int32_t n_cols = tc_taps(ox, kw, p->pad_w, p->stride_w, iw, cols);
                int32_t n = 0;
                for (i = 0; i < n_rows; ++i) { /* (input pixel, filter tap) of each pair */
                    for (j = 0; j < n_cols; ++j) {
                        taps[2 * n] = rows[2 * i] * iw + cols[2 * j];
                        taps[2 * n + 1] = rows[2 * i + 1] * kw + cols[2 * j + 1];
                        ++n;
                    }
                }
                for (oc = 0; oc < a.out.c; ++oc) {
                    const int8_t *wo = filter + (size_t)oc * (size_t)kh * (size_t)kw * (size_t)ic;
                    uint32_t acc = 0, wsum = 0;
                    int32_t v;
                    for (k = 0; k < n; ++k) {
                        const int8_t *xp = image + (size_t)taps[2 * k] * (size_t)ic;
                        const int8_t *wp = wo + (size_t)taps[2 * k + 1] * (size_t)ic;
                        for (i = 0; i < ic; ++i) {
                            acc += (uint32_t)((int32_t)wp[i] * (int32_t)xp[i]);
                            wsum += (uint32_t)(int32_t)wp[i];
                        }
                    }
                    acc += wsum * (uint32_t)p->input_offset;
                    if (bias != NULL) acc += (uint32_t)bias[oc];
                    v = pq_mbqm(pq_wrap_i32(acc), mult[oc], shift[oc]);
                    v = pq_wrap_i32((uint32_t)v + (uint32_t)p->output_offset);
                    *out++ = (int8_t)pq_clamp(v, p->act_min, p->act_max);
                }
            }
        }
    }
    return PQ_OK;
}

static const char *tc_name(const pq_node *node) {
    (void)node;
    return "fast-transpose-conv";
}

const pq_fast_op pq_transpose_conv_s8_fast_op = {tc_plan, tc_prepare, tc_eval, NULL, tc_name};
