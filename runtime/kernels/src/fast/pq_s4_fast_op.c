/*
 * The fast hooks of the int4-weight ops (pq_variants.def s4): CONV_2D, DEPTHWISE_CONV_2D and
 * FULLY_CONNECTED run their int8 fast kernels on the filter unpacked once, at prepare, into
 * the tail of the op's state; the int8 hooks' prepare then packs that copy like any int8
 * filter. The s4 reference kernels do the int8 kernels' arithmetic on the same values (TFLM
 * too: it unpacks, then runs its int8 kernels), so the bytes are the same. The fast kernels
 * are for hosts: the state, like the int8 ops' packed weights, is RAM; the file (flash on a
 * microcontroller, where the reference kernels read the nibbles in place) stays packed.
 * The int8 shifts (the s4 contracts) are widened to int32 beside the filter for the same
 * prepare, which copies them into its own requantization arrays.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"
#include "pq_kernels.h"

#define S4_ALIGN 64u
#define S4_MAX_IO 6 /* CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED: 5 inputs and the output */

static size_t align_up(size_t n) { return (n + S4_ALIGN - 1u) / S4_ALIGN * S4_ALIGN; }

/* The bytes after the int8 op's own state: the unpacked filter, then the widened shifts. */
static size_t s4_tail(const pq_node *node, const pq_tensor *t) {
    return align_up((size_t)t[node->io[1]].count) + align_up(sizeof(int32_t) * (size_t)t[node->io[4]].count);
}

/* The int8 op's plan (it reads the filter's shape, never its int8 values: pq_fully_connected's
 * int8-weight test takes an int4 filter as free of -128), plus the tail. */
static int s4_plan(const pq_fast_op *s8, const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes,
                   size_t *scratch_bytes) {
    if (node->n_inputs + 1 > S4_MAX_IO || !s8->plan(node, t, isa, state_bytes, scratch_bytes)) return 0;
    *state_bytes = align_up(*state_bytes) + s4_tail(node, t);
    return 1;
}

static pq_status s4_prepare(const pq_fast_op *s8, pq_node *node, const pq_tensor *t, int isa, void *state) {
    pq_tensor local[S4_MAX_IO];
    int32_t io[S4_MAX_IO], k, i;
    pq_node ln = *node;
    size_t st, sc;
    const pq_tensor *f = &t[node->io[1]], *sh = &t[node->io[4]];
    int8_t *w;
    int32_t *shift;
    pq_status rc;
    if (!s4_plan(s8, node, t, isa, &st, &sc)) return PQ_ERR_PARAM;
    w = (int8_t *)state + (st - s4_tail(node, t));
    shift = (int32_t *)(void *)(w + align_up((size_t)f->count));
    for (i = 0; i < f->count; i++) w[i] = (int8_t)pq_int4_at((const uint8_t *)f->data, i);
    for (i = 0; i < sh->count; i++) shift[i] = ((const int8_t *)sh->data)[i];
    /* The int8 hooks see the op's tensors with the filter replaced by its int8 copy. */
    for (k = 0; k <= node->n_inputs; k++) {
        io[k] = node->io[k] < 0 ? -1 : k;
        if (node->io[k] >= 0) local[k] = t[node->io[k]];
    }
    local[1].data = w;
    local[1].dtype = PQ_DT_INT8;
    local[4].data = shift;
    local[4].dtype = PQ_DT_INT32;
    ln.io = io;
    rc = s8->prepare(&ln, local, isa, state);
    node->fast = ln.fast; /* the int8 plan: eval, split and name read it and the activations */
    return rc;
}

#define PQ_S4_FAST_OP(op)                                                                               \
    static int op##_s4_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes,      \
                              size_t *scratch_bytes) {                                                    \
        return s4_plan(&pq_##op##_s8_fast_op, node, t, isa, state_bytes, scratch_bytes);                \
    }                                                                                                     \
    static pq_status op##_s4_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {         \
        return s4_prepare(&pq_##op##_s8_fast_op, node, t, isa, state);                                  \
    }                                                                                                     \
    static pq_status op##_s4_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, \
                                    int32_t n_parts) {                                                    \
        return pq_##op##_s8_fast_op.eval(node, t, scratch, part, n_parts);                              \
    }                                                                                                     \
    static void op##_s4_split(pq_node *node, const pq_tensor *t, int isa, int32_t num_threads,          \
                                int64_t min_parallel_ns) {                                                \
        pq_##op##_s8_fast_op.split(node, t, isa, num_threads, min_parallel_ns);                         \
    }                                                                                                     \
    static const char *op##_s4_name(const pq_node *node) { return pq_##op##_s8_fast_op.name(node); }  \
    const pq_fast_op pq_##op##_s4_fast_op = {op##_s4_plan, op##_s4_prepare, op##_s4_eval,         \
                                               op##_s4_split, op##_s4_name};

PQ_S4_FAST_OP(conv2d)
PQ_S4_FAST_OP(depthwise_conv2d)
PQ_S4_FAST_OP(fully_connected)
