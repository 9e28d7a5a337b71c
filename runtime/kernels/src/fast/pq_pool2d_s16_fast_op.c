/*
 * AVERAGE_POOL_2D and MAX_POOL_2D 16x8's fast hooks (pq_fast_ops.h): portable C on every isa.
 * The reference (pq_pool_ref.h) walks one channel at a time through the window; here each
 * window tap is a row of `depth` contiguous channels, which GCC vectorises: a running max in
 * the output pixel itself, or int32 sums in scratch (depth values) that then take the
 * reference's rounding division and clamp. Integer addition in wrapping uint32 is the
 * reference's sum in any order, so the bytes are the same. The loops are built plain and with
 * AVX2 on x86 (PQ_VEC_BUILDS). State: whether to run the AVX2 build.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_elem.h"
#include "pq_fast_bind.h"
#include "pq_fast_vec.h"
#include "pq_fixedpoint.h"
#include "pq_pool_window.h"

static int pool16_ok(const pq_node *node, const pq_tensor *t) {
    const pq_tensor *x = &t[node->io[0]], *y = &t[node->io[1]];
    return node->n_inputs == 1 && x->rank == 4 && y->rank == 4 && x->dims[0] == y->dims[0] &&
           x->dims[3] == y->dims[3];
}

typedef struct {
    int32_t avx2;
} pool16_state;

static int avg16_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes, size_t *scratch_bytes) {
    (void)isa;
    if (!pool16_ok(node, t)) return 0;
    *state_bytes = sizeof(pool16_state);
    *scratch_bytes = sizeof(uint32_t) * (size_t)t[node->io[0]].dims[3]; /* one sum per channel */
    return 1;
}

static int max16_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes, size_t *scratch_bytes) {
    (void)isa;
    if (!pool16_ok(node, t)) return 0;
    *state_bytes = sizeof(pool16_state);
    *scratch_bytes = 0;
    return 1;
}

static pq_status pool16_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    ((pool16_state *)state)->avx2 = pq_vec_avx2(isa);
    return pq_fast_prepared(node, pool16_ok(node, t) ? PQ_OK : PQ_ERR_PARAM, state);
}

/* The output pixels in order, with each pixel's window clipped to the image. */
#define POOL16_PIXELS(BODY)                                                                                    \
    do {                                                                                                       \
        const pq_dims in = pq_tensor_dims4(&t[node->io[0]]), out = pq_tensor_dims4(&t[node->io[1]]);         \
        const pq_pool_params *p = (const pq_pool_params *)node->params;                                       \
        const int16_t *x = (const int16_t *)PQ_IN(node, t, 0);                                               \
        int16_t *y = (int16_t *)PQ_OUT(node, t);                                                             \
        const int32_t depth = in.c;                                                                            \
        int32_t b, oy, ox, fy, fx, c;                                                                          \
        for (b = 0; b < in.n; ++b) {                                                                           \
            for (oy = 0; oy < out.h; ++oy) {                                                                   \
                for (ox = 0; ox < out.w; ++ox) {                                                               \
                    const pq_pool_window win = pq_pool_window_at(p, in.h, in.w, oy, ox);                       \
                    int16_t *o = y + (((int64_t)b * out.h + oy) * out.w + ox) * depth;                         \
                    const int16_t *img = x + (int64_t)b * in.h * in.w * depth;                                 \
                    BODY                                                                                       \
                }                                                                                              \
            }                                                                                                  \
        }                                                                                                      \
    } while (0)

PQ_INLINE pq_status avg16_loops(const pq_node *node, const pq_tensor *t, uint32_t *sum) {
    POOL16_PIXELS({
        const int32_t count = (win.fy_end - win.fy_start) * (win.fx_end - win.fx_start);
        /* TFLM fails on an empty window (the validator refuses those): as the reference */
        if (win.fy_end <= win.fy_start || win.fx_end <= win.fx_start) return PQ_ERR_PARAM;
        for (c = 0; c < depth; ++c) sum[c] = 0;
        for (fy = win.fy_start; fy < win.fy_end; ++fy) {
            for (fx = win.fx_start; fx < win.fx_end; ++fx) {
                const int16_t *tap = img + ((int64_t)(win.y0 + fy) * in.w + win.x0 + fx) * depth;
                for (c = 0; c < depth; ++c) sum[c] += (uint32_t)(int32_t)tap[c];
            }
        }
        for (c = 0; c < depth; ++c) {
            const int32_t acc = pq_pool_average(sum[c], count);
            o[c] = (int16_t)pq_clamp(acc, p->act_min, p->act_max);
        }
    });
    return PQ_OK;
}

PQ_INLINE pq_status max16_loops(const pq_node *node, const pq_tensor *t) {
    POOL16_PIXELS({
        for (c = 0; c < depth; ++c) o[c] = (int16_t)pq_elem_min(1); /* TFLM's lowest() start */
        for (fy = win.fy_start; fy < win.fy_end; ++fy) {
            for (fx = win.fx_start; fx < win.fx_end; ++fx) {
                const int16_t *tap = img + ((int64_t)(win.y0 + fy) * in.w + win.x0 + fx) * depth;
                for (c = 0; c < depth; ++c) o[c] = tap[c] > o[c] ? tap[c] : o[c];
            }
        }
        for (c = 0; c < depth; ++c) o[c] = (int16_t)pq_clamp(o[c], p->act_min, p->act_max);
    });
    return PQ_OK;
}

PQ_VEC_BUILDS(avg16_loops, (const pq_node *node, const pq_tensor *t, uint32_t *sum), (node, t, sum))
PQ_VEC_BUILDS(max16_loops, (const pq_node *node, const pq_tensor *t), (node, t))

static pq_status avg16_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    (void)part;
    (void)n_parts;
    return PQ_VEC_CALL(((const pool16_state *)node->fast)->avx2, avg16_loops, (node, t, (uint32_t *)scratch));
}

static pq_status max16_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    (void)scratch;
    (void)part;
    (void)n_parts;
    return PQ_VEC_CALL(((const pool16_state *)node->fast)->avx2, max16_loops, (node, t));
}

static const char *avg16_name(const pq_node *node) {
    (void)node;
    return "fast-avgpool-s16";
}

static const char *max16_name(const pq_node *node) {
    (void)node;
    return "fast-maxpool-s16";
}

const pq_fast_op pq_avg_pool2d_s16_fast_op = {avg16_plan, pool16_prepare, avg16_eval, NULL, avg16_name};
const pq_fast_op pq_max_pool2d_s16_fast_op = {max16_plan, pool16_prepare, max16_eval, NULL, max16_name};
