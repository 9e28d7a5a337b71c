/*
 * Internal to the fast ops' hooks (src/fast/pq_*_fast_op.c): what binding a
 * fast kernel to a node shares across ops. Plain arithmetic, no malloc, no
 * float.
 *
 * One layout function per op serves both hooks: `plan` runs it over a NULL
 * base and reads the bytes it took; `prepare` runs it over the state block
 * the core hands it and fills the pieces.
 */
#ifndef PQ_FAST_BIND_H
#define PQ_FAST_BIND_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pq_fast.h"
#include "pq_fast_ops.h"
#include "pq_isa_traits.h"

#ifdef __cplusplus
extern "C" {
#endif

/* im2col rows gathered per GEMM call: about this many bytes of scratch (stays in L1/L2). */
#define PQ_IM2COL_CHUNK_BYTES 16384

/* Bump allocation of 64-byte aligned, zeroed pieces; base NULL: counting only (plan). */
typedef struct {
    uint8_t *base;
    size_t used;
} pq_bump;

static inline void *pq_bump_take(pq_bump *b, size_t n) {
    uint8_t *p = b->base != NULL ? b->base + b->used : NULL;
    n = (n + 63u) / 64u * 64u;
    if (p != NULL) memset(p, 0, n);
    b->used += n;
    return p;
}

/* The hooks of an op whose prepared state is one plan struct built from the node (no scratch):
 * `plan` answers with the planner's status st and the struct's size, `prepare` points the node
 * at the struct the planner filled. */
static inline int pq_fast_plan_sized(pq_status st, size_t bytes, size_t *state_bytes, size_t *scratch_bytes) {
    if (st != PQ_OK) return 0;
    *state_bytes = bytes;
    *scratch_bytes = 0;
    return 1;
}
static inline pq_status pq_fast_prepared(pq_node *node, pq_status st, void *state) {
    if (st != PQ_OK) return PQ_ERR_PARAM;
    node->fast = state;
    return PQ_OK;
}

/* The table of an element-wise op (pq_lut_s8_fast_op.c): table[b] is the op's reference kernel's
 * output for the int8 input whose bits are b, its other inputs as the node has them, input 1
 * replaced by *input1 when that is not NULL (PRELU: one alpha value at a time). */
pq_status pq_fast_tabulate(const pq_node *node, const pq_tensor *t, const pq_tensor *input1, uint8_t *table);
/* The op's `variant` reference kernel on the n values at x (of the op's input dtype) into y (of
 * its output dtype), other inputs as for pq_fast_tabulate: what a table is built from. */
pq_status pq_fast_run_on(const pq_node *node, const pq_tensor *t, const pq_tensor *input1, int variant,
                         const void *x, int32_t n, void *y);

/* A node's k-th input / its output data. */
#define PQ_IN(node, t, k) ((const int8_t *)(t)[(node)->io[k]].data)
#define PQ_OUT(node, t) ((int8_t *)(t)[(node)->io[(node)->n_inputs]].data)

/* Whether AMX tiles beat the AVX-512 VNNI kernel on one GEMM (measured per layer on the MLPerf
 * models): a tile computes 16 rows x 16 channels x 64 k at once, so few channels, a short k or
 * few rows leave it idle, and per-output-row GEMMs (strided 1x1) pay its setup once per row. */
int pq_amx_pays(int feed, int32_t n, int32_t k, int32_t m);

/* The GEMM isa of `isa` for one GEMM: AMX only where it pays, else the fallback. */
int pq_gemm_isa(int isa, int feed, int32_t n, int32_t k, int32_t m);

/* rq's per-channel arrays in `arr` (4 * np int32: mult, lshift, rshift, rmask; NULL: only the
 * pointers are not set) for n channels padded to np; rq->bias is the caller's. */
void pq_fast_requant(pq_requant *rq, int32_t *arr, int32_t n, int32_t np, const int32_t *mult, const int32_t *shift,
                     int32_t per_channel, int32_t output_offset, int32_t act_min, int32_t act_max);

/* What a split may divide, for pq_fast_split_choose. */
typedef struct {
    int64_t macs;   /* multiply-accumulates of the whole op */
    int32_t dw;     /* 1: DEPTHWISE_CONV_2D's cost per MAC */
    int32_t rows;   /* output rows (pixels or batches) a rows split divides ... */
    int32_t unit;   /* ... in blocks of unit */
    int32_t cols;   /* output channels a channel split divides (0: none) */
    int32_t m;      /* GEMM rows (the column blocks' width depends on it) */
} pq_split_shape;

/* Choose how the op's output is divided among num_threads threads (node->split, n_parts,
 * col_unit): output rows where they divide evenly enough, else output channels, in blocks that
 * keep the GEMM's register tiles whole; nothing estimated under min_parallel_ns on one thread. */
void pq_fast_split_choose(pq_node *node, const pq_split_shape *s, int isa, int32_t num_threads,
                          int64_t min_parallel_ns);

/* Output channels per column block on `isa` for m GEMM rows (pq_isa_traits.h). */
int32_t pq_fast_col_unit(int isa, int32_t m);

#ifdef __cplusplus
}
#endif

#endif /* PQ_FAST_BIND_H */
