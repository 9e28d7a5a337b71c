/*
 * What the interpreter core knows of an op: its registry entry (pq_ops.def) and
 * the one calling convention every op's interpreter entry uses,
 *
 *     pq_status pq_<name>_s8_eval(const pq_node *node, const pq_tensor *tensors);
 *
 * `tensors` is the model's tensor table (data pointer and shape of each tensor,
 * bound once at prepare); `node` points into the file for everything else: its
 * tensor indices (the OPIO section) and its parameter struct (the op record).
 * An _eval function only turns those into the kernel's arguments: shapes and
 * parameters were checked by the validator, so it trusts them.
 */
#ifndef PQ_OP_H
#define PQ_OP_H

#include <stddef.h>
#include <stdint.h>

#include "pq_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Op codes, from the registry: PQ_OP_CONV_2D = 1, ... */
typedef enum {
#define PQ_OP(code, NAME, ...) PQ_OP_##NAME = code,
#include "pq_ops.def"
#undef PQ_OP
    PQ_OP_END_
} pq_opcode;
#define PQ_OP_MAX_CODE (PQ_OP_END_ - 1)

/* One tensor of a prepared model. */
typedef struct {
    void *data;       /* in the arena or in the file; NULL for an absent optional input */
    int32_t count;    /* elements */
    uint8_t dtype;    /* 1 = int8, 2 = int32 (docs/FORMAT.md) */
    uint8_t rank;
    uint8_t is_const;
    uint8_t reserved_;
    int32_t dims[PQ_MAX_DIMS]; /* `rank` entries */
} pq_tensor;

/* One op of a prepared model. */
typedef struct {
    const void *params;  /* the op record's params: the kernel's parameter struct (pq_params.h) */
    const int32_t *io;   /* n_inputs input tensor indices (-1: absent), then the output's */
    uint16_t opcode;
    uint16_t n_inputs;
    int32_t kernel;      /* PQ_KERNEL_REFERENCE or PQ_KERNEL_FAST: what runs */
    void *fast;          /* PQ_KERNEL_FAST: the op's prepared plan (pq_fast_ops.h) */
    void *scratch;       /* PQ_KERNEL_FAST: the op's scratch in the arena */
    int32_t split, n_parts, col_unit; /* several threads: how the output is divided (pq_fast_split.h) */
} pq_node;

enum { PQ_KERNEL_REFERENCE = 0, PQ_KERNEL_FAST = 1 };

typedef pq_status (*pq_eval_fn)(const pq_node *node, const pq_tensor *tensors);

/* The op's k-th input (NULL when absent) and its output. */
static inline const pq_tensor *pq_node_input(const pq_node *node, const pq_tensor *tensors, int k) {
    return node->io[k] < 0 ? NULL : &tensors[node->io[k]];
}
static inline const pq_tensor *pq_node_output(const pq_node *node, const pq_tensor *tensors) {
    return &tensors[node->io[node->n_inputs]];
}
/* A rank-4 tensor as NHWC dims. */
static inline pq_dims pq_tensor_dims4(const pq_tensor *t) {
    pq_dims d;
    d.n = t->dims[0];
    d.h = t->dims[1];
    d.w = t->dims[2];
    d.c = t->dims[3];
    return d;
}

/* Two inputs' shapes aligned right to the output's rank, 1 where an input has no dim
 * (the broadcasting binary ops). */
static inline void pq_broadcast_shapes(const pq_tensor *a, const pq_tensor *b, int32_t rank, int32_t *sa,
                                       int32_t *sb) {
    int32_t d;
    for (d = 0; d < rank; ++d) {
        const int32_t da = d - (rank - (int32_t)a->rank), db = d - (rank - (int32_t)b->rank);
        sa[d] = da < 0 ? 1 : a->dims[da];
        sb[d] = db < 0 ? 1 : b->dims[db];
    }
}

struct pq_fast_op; /* pq_fast_ops.h */

/* A registry entry. */
typedef struct {
    uint16_t code;
    uint8_t n_inputs;      /* the fewest inputs */
    uint8_t max_inputs;    /* 0: exactly n_inputs */
    int8_t optional_input; /* the input that may be absent, or -1 */
    uint8_t n_params;      /* int32 values of the op record's params used */
    const char *name;      /* "CONV_2D" */
    const char *kernel;    /* the reference kernel's C name, "pq_conv2d_s8" */
    const char *params_type;                /* "pq_conv_params" */
    const char *const *param_names;         /* n_params names, file order */
    pq_eval_fn eval;                        /* the reference kernel's entry */
    const struct pq_fast_op *fast;          /* NULL: the op has only its reference kernel */
} pq_op_info;

/* The entry of op code `code`, or NULL when no op has it. */
const pq_op_info *pq_op_find(uint32_t code);

/* Every op's reference entry, declared from the registry. */
#define PQ_OP(code, NAME, name, ...) pq_status pq_##name##_s8_eval(const pq_node *node, const pq_tensor *tensors);
#include "pq_ops.def"
#undef PQ_OP

#ifdef __cplusplus
}
#endif

#endif /* PQ_OP_H */
