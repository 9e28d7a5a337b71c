/*
 * The op table: one pq_op_info per line of the registry (pq_ops.def), indexed
 * by op code. Python reads it through the extension (picoq.runtime.format.OPS),
 * the interpreter core dispatches through it.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_ops.h"
#include "pq_op.h"

/* Each op's parameter names, in file order. */
#define PQ_OP(code, NAME, name, n_in, max_in, opt_in, params_t, PARAMS, contract, fast) \
    static const char *const name##_param_names[PQ_PARAM_COUNT(PARAMS) + 1] = {PARAMS(PQ_PARAM_NAME_) NULL};
#include "pq_ops.def"
#undef PQ_OP

/* Every op's values fit its struct (the interpreter points the struct at them). */
#define PQ_OP(code, NAME, name, n_in, max_in, opt_in, params_t, PARAMS, contract, fast) \
    PQ_STATIC_ASSERT(4 * PQ_PARAM_COUNT(PARAMS) <= sizeof(params_t), name##_params_fit);
#include "pq_ops.def"
#undef PQ_OP

static const pq_op_info OP_TABLE[PQ_OP_MAX_CODE + 1] = {
#define PQ_OP(code, NAME, name, n_in, max_in, opt_in, params_t, PARAMS, contract, fast)                       \
    [code] = {code, n_in, max_in, opt_in, PQ_PARAM_COUNT(PARAMS), #NAME, #params_t, name##_param_names},
#include "pq_ops.def"
#undef PQ_OP
};

/* Each op's kernels by dtype variant: its s8 line in pq_ops.def, the others in pq_variants.def. */
static const pq_op_kernel KERNEL_TABLE[PQ_OP_MAX_CODE + 1][PQ_N_VARIANTS] = {
#define PQ_OP(code, NAME, name, n_in, max_in, opt_in, params_t, PARAMS, contract, fast) \
    [code][PQ_VARIANT_s8] = {"pq_" #name "_s8", pq_##name##_s8_eval, fast},
#include "pq_ops.def"
#undef PQ_OP
#define PQ_VARIANT(NAME, name, variant, contract, fast) \
    [PQ_OP_##NAME][PQ_VARIANT_##variant] = {"pq_" #name "_" #variant, pq_##name##_##variant##_eval, fast},
#include "pq_variants.def"
#undef PQ_VARIANT
};

const pq_op_kernel *pq_op_kernel_find(uint32_t code, int variant) {
    if (pq_op_find(code) == NULL || variant < 0 || variant >= PQ_N_VARIANTS) return NULL;
    return KERNEL_TABLE[code][variant].eval != NULL ? &KERNEL_TABLE[code][variant] : NULL;
}

const char *pq_variant_name(int variant) {
    static const char *const NAMES[PQ_N_VARIANTS] = {"s8", "s16", "s4"};
    return variant >= 0 && variant < PQ_N_VARIANTS ? NAMES[variant] : "";
}

const pq_op_info *pq_op_find(uint32_t code) {
    if (code == 0 || code > PQ_OP_MAX_CODE || OP_TABLE[code].code != code) return NULL;
    return &OP_TABLE[code];
}
