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
    uint8_t dtype;    /* pq_dtype: 1 = int8, 2 = int32, 3 = int16, 4 = int64, 5 = int4 (docs/FORMAT.md) */
    uint8_t rank;
    uint8_t is_const;
    uint8_t reserved_;
    int32_t dims[PQ_MAX_DIMS]; /* `rank` entries */
} pq_tensor;

/* Tensor dtypes (docs/FORMAT.md). int4 is packed two per byte, element 2k in the low nibble. */
typedef enum { PQ_DT_INT8 = 1, PQ_DT_INT32 = 2, PQ_DT_INT16 = 3, PQ_DT_INT64 = 4, PQ_DT_INT4 = 5 } pq_dtype;

/* An op's dtype variant (pq_variants.def): decided by its tensors' dtypes alone, so the
 * validator, the interpreter, Python and export-c agree on which kernel an op runs. */
typedef enum { PQ_VARIANT_s8 = 0, PQ_VARIANT_s16 = 1, PQ_VARIANT_s4 = 2, PQ_N_VARIANTS } pq_variant;
/* `dtype_bits`: bit d set when one of the op's tensors has dtype d. */
static inline int pq_variant_of(uint32_t dtype_bits) {
    if (dtype_bits & (1u << PQ_DT_INT16)) return PQ_VARIANT_s16;
    if (dtype_bits & (1u << PQ_DT_INT4)) return PQ_VARIANT_s4;
    return PQ_VARIANT_s8;
}

struct pq_op_kernel_;

/* One op of a prepared model. */
typedef struct {
    const void *params;  /* the op record's params: the kernel's parameter struct (pq_params.h) */
    const int32_t *io;   /* n_inputs input tensor indices (-1: absent), then the output's */
    uint16_t opcode;
    uint16_t n_inputs;
    const struct pq_op_kernel_ *entry; /* the op's kernels for its dtype variant (pq_op_kernel_find) */
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

/* What every convolution kernel (CONV_2D, DEPTHWISE_CONV_2D; s8, s16, s4) takes from its node:
 * inputs x, filter, bias (NULL when absent), multipliers, shifts; the output; NHWC dims. The
 * _eval entries cast the data pointers (shifts among them) to their variant's types. */
typedef struct {
    const pq_conv_params *p;
    const int32_t *mult;
    const void *shift; /* int32, or int8 for the int4-weight (s4) variants */
    pq_dims in, filter, out;
    const void *x, *w, *bias;
    const pq_tensor *bias_tensor; /* NULL when absent: its dtype picks a 16x8 conv's sums */
    void *y;
} pq_conv_operands;

static inline pq_conv_operands pq_conv_operands_of(const pq_node *node, const pq_tensor *t) {
    pq_conv_operands a;
    const pq_tensor *x = pq_node_input(node, t, 0), *w = pq_node_input(node, t, 1);
    const pq_tensor *b = pq_node_input(node, t, 2), *y = pq_node_output(node, t);
    a.p = (const pq_conv_params *)node->params;
    a.mult = (const int32_t *)t[node->io[3]].data;
    a.shift = t[node->io[4]].data;
    a.in = pq_tensor_dims4(x);
    a.filter = pq_tensor_dims4(w);
    a.out = pq_tensor_dims4(y);
    a.x = x->data;
    a.w = w->data;
    a.bias = b ? b->data : NULL;
    a.bias_tensor = b;
    a.y = y->data;
    return a;
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

/* The kernels of one op for one dtype variant. */
typedef struct pq_op_kernel_ {
    const char *kernel;            /* the reference kernel's C name, "pq_conv2d_s16" */
    pq_eval_fn eval;               /* its interpreter entry */
    const struct pq_fast_op *fast; /* NULL: the variant has only its reference kernel */
} pq_op_kernel;

/* A registry entry. */
typedef struct {
    uint16_t code;
    uint8_t n_inputs;      /* the fewest inputs */
    uint8_t max_inputs;    /* 0: exactly n_inputs */
    int8_t optional_input; /* the input that may be absent, or -1 */
    uint8_t n_params;      /* int32 values of the op record's params used */
    const char *name;      /* "CONV_2D" */
    const char *params_type;                /* "pq_conv_params" */
    const char *const *param_names;         /* n_params names, file order */
} pq_op_info;

/* The entry of op code `code`, or NULL when no op has it. */
const pq_op_info *pq_op_find(uint32_t code);
/* The kernels of op `code` for dtype variant `variant`, or NULL when it has none. */
const pq_op_kernel *pq_op_kernel_find(uint32_t code, int variant);
/* The variant's name, "s8", "s16", "s4" ("" out of range). */
const char *pq_variant_name(int variant);

/* Every op's reference entry, declared from the registry. */
#define PQ_OP(code, NAME, name, ...) pq_status pq_##name##_s8_eval(const pq_node *node, const pq_tensor *tensors);
#include "pq_ops.def"
#undef PQ_OP
#define PQ_VARIANT(NAME, name, variant, ...) \
    pq_status pq_##name##_##variant##_eval(const pq_node *node, const pq_tensor *tensors);
#include "pq_variants.def"
#undef PQ_VARIANT

#ifdef __cplusplus
}
#endif

#endif /* PQ_OP_H */
