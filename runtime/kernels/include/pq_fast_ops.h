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
     * needs. Pure arithmetic: reads shapes, parameters and nothing else (the activations'
     * data pointers may be NULL), writes only the outputs. */
    int (*plan)(const pq_node *node, const pq_tensor *tensors, int isa, size_t *state_bytes,
                size_t *scratch_bytes);
    /* Fill `state` (state_bytes, 64-byte aligned) and point node->fast at the plan. */
    pq_status (*prepare)(pq_node *node, const pq_tensor *tensors, int isa, void *state);
    /* Run the op, or part `part` of n_parts when it is split over threads (node->split). */
    pq_status (*eval)(const pq_node *node, const pq_tensor *tensors, void *scratch, int32_t part,
                      int32_t n_parts);
    /* After prepare: choose node->split, n_parts and col_unit for num_threads threads (integer
     * cost estimate, pq_fast_bind.h). NULL: the op always runs on one thread. */
    void (*split)(pq_node *node, const pq_tensor *tensors, int isa, int32_t num_threads,
                  int64_t min_parallel_ns);
    /* After prepare: which kernel runs, e.g. "fast-conv-1x1" (Interpreter.op_kernels). */
    const char *(*name)(const pq_node *node);
} pq_fast_op;

/* The ops whose registry line says PQ_FAST(name): src/fast/pq_<name>_s8_fast_op.c. */
extern const pq_fast_op pq_conv2d_s8_fast_op;
extern const pq_fast_op pq_depthwise_conv2d_s8_fast_op;
extern const pq_fast_op pq_fully_connected_s8_fast_op;
extern const pq_fast_op pq_add_s8_fast_op;
extern const pq_fast_op pq_avg_pool2d_s8_fast_op;
extern const pq_fast_op pq_max_pool2d_s8_fast_op;
extern const pq_fast_op pq_lut_s8_fast_op; /* every element-wise unary op: a 256-entry table */
extern const pq_fast_op pq_prelu_s8_fast_op; /* a 256-entry table per channel */
extern const pq_fast_op pq_mul_s8_fast_op;
extern const pq_fast_op pq_mean_s8_fast_op;
extern const pq_fast_op pq_softmax_s8_fast_op;
extern const pq_fast_op pq_slice_s8_fast_op;
extern const pq_fast_op pq_layer_norm_s8_fast_op;
extern const pq_fast_op pq_concatenation_s8_fast_op;
extern const pq_fast_op pq_pad_s8_fast_op;
extern const pq_fast_op pq_transpose_s8_fast_op;
extern const pq_fast_op pq_resize_nearest_s8_fast_op;
extern const pq_fast_op pq_resize_bilinear_s8_fast_op; /* ops14: the reference loop, hoisted per row */
extern const pq_fast_op pq_transpose_conv_s8_fast_op;  /* ops14: tap lists per output pixel */
extern const pq_fast_op pq_reshape_s8_fast_op; /* "alias" (nothing to move) or one memcpy */
extern const pq_fast_op pq_batch_matmul_s8_fast_op;
extern const pq_fast_op pq_gather_s8_fast_op;
/* The dtype variants' hooks (pq_variants.def: PQ_FAST_VARIANT(name, variant)),
 * src/fast/pq_<name>_<variant>_fast_op.c. */
extern const pq_fast_op pq_conv2d_s16_fast_op;
extern const pq_fast_op pq_depthwise_conv2d_s16_fast_op;
extern const pq_fast_op pq_fully_connected_s16_fast_op;
/* int4 weights (pq_variants.def s4): the int8 hooks on the filter unpacked at prepare */
extern const pq_fast_op pq_conv2d_s4_fast_op;
extern const pq_fast_op pq_depthwise_conv2d_s4_fast_op;
extern const pq_fast_op pq_fully_connected_s4_fast_op;
/* s16elem: the 16x8 variants' hooks (pq_variants.def), portable C on every isa. */
extern const pq_fast_op pq_add_s16_fast_op;
extern const pq_fast_op pq_mul_s16_fast_op;
extern const pq_fast_op pq_avg_pool2d_s16_fast_op;
extern const pq_fast_op pq_max_pool2d_s16_fast_op;
extern const pq_fast_op pq_mean_s16_fast_op;
extern const pq_fast_op pq_reshape_s16_fast_op;
extern const pq_fast_op pq_concatenation_s16_fast_op;
extern const pq_fast_op pq_slice_s16_fast_op; /* the s8 byte copies, the innermost extent doubled */
extern const pq_fast_op pq_pad_s16_fast_op;       /* the same */
extern const pq_fast_op pq_transpose_s16_fast_op; /* the s8 plan, each value an axis of 2 bytes */
extern const pq_fast_op pq_softmax_s16_fast_op;   /* the reference's steps, 64-bit ones vectorised */
/* s16lut: the s16 element-wise ops (LOGISTIC, TANH, QUANTIZE) as a table of every input value */
extern const pq_fast_op pq_lut16_s16_fast_op;

#define PQ_NO_FAST NULL
#ifdef PQ_WITH_FAST_KERNELS
#define PQ_FAST(name) (&pq_##name##_s8_fast_op)
#define PQ_FAST_VARIANT(name, variant) (&pq_##name##_##variant##_fast_op)
int pq_isa_supported(int isa);
#define pq_fast_isa_available(isa) pq_isa_supported(isa)
#else
#define PQ_FAST(name) NULL
#define PQ_FAST_VARIANT(name, variant) NULL
#define pq_fast_isa_available(isa) ((void)(isa), 0)
#endif

#ifdef __cplusplus
}
#endif

#endif /* PQ_FAST_OPS_H */
