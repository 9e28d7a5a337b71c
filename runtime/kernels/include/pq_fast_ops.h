/*
 * The fast-kernel hooks of an op (the `fast` column of pq_ops.def): how the
 * interpreter core plans, prepares and runs an op's fast kernel on one
 * instruction set. An op without them (PQ_NO_FAST) always runs its reference
 * kernel.
 */
#ifndef PQ_FAST_OPS_H
#define PQ_FAST_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "pq_op.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pq_fast_op {
    /* Whether the op's parameters allow its fast kernel on `isa`; if so, the bytes of
     * prepared state (plan, packed weights, per-channel constants) and of scratch it
     * needs. Pure arithmetic: touches no memory but the outputs. */
    int (*plan)(const pq_node *node, const pq_tensor *tensors, int isa, size_t *state_bytes,
                size_t *scratch_bytes);
    /* Fill `state` (state_bytes, 64-byte aligned) and point node->fast at the plan. */
    pq_status (*prepare)(pq_node *node, const pq_tensor *tensors, int isa, void *state);
    /* Run the op, or one part of it when it is split over threads (part < n_parts). */
    pq_status (*eval)(const pq_node *node, const pq_tensor *tensors, void *scratch, int32_t part,
                      int32_t n_parts);
} pq_fast_op;

#define PQ_NO_FAST NULL
#define PQ_FAST(name) NULL

#ifdef __cplusplus
}
#endif

#endif /* PQ_FAST_OPS_H */
