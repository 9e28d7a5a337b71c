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

/* Fast kernels are linked only into builds that define PQ_WITH_FAST_KERNELS (the Python
 * extension; CMake's PICOQ_FAST_KERNELS): firmware gets the reference kernels alone, and
 * PQ_KERNEL_FAST is refused there as an unavailable option. */
#define PQ_NO_FAST NULL
#ifdef PQ_WITH_FAST_KERNELS
#define PQ_FAST(name) NULL /* the hooks land with the fast ops' binding */
int pq_isa_supported(int isa);
#define pq_fast_isa_available(isa) pq_isa_supported(isa)
#else
#define PQ_FAST(name) NULL
#define pq_fast_isa_available(isa) ((void)(isa), 0)
#endif

#ifdef __cplusplus
}
#endif

#endif /* PQ_FAST_OPS_H */
