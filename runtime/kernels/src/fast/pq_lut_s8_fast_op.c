/*
 * The fast hooks (pq_fast_ops.h) of every element-wise int8 op whose output byte depends only
 * on its input byte (LOGISTIC, TANH, HARD_SWISH, LEAKY_RELU, LOOKUP_TABLE, QUANTIZE): an int8 input has
 * 256 values, so `prepare` runs the op's own reference kernel once on all of them (other
 * inputs, which must be constants, as they are) and `eval` is a table lookup. The outputs are
 * byte-identical to the reference kernel's by construction, whatever its arithmetic, and an
 * op added later of that kind gets a fast kernel by naming PQ_FAST(lut) in its registry line.
 *
 * State: the 256-byte table (indexed by the input byte as unsigned) and the element count.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pq_fast_bind.h"

#define LUT_MAX_INPUTS 4

typedef struct {
    uint8_t table[256];
    int32_t n;
} lut_state;

static int lut_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes, size_t *scratch_bytes) {
    int32_t k;
    (void)isa;
    if (node->n_inputs < 1 || node->n_inputs > LUT_MAX_INPUTS) return 0;
    if (t[node->io[0]].count != t[node->io[node->n_inputs]].count) return 0;
    for (k = 1; k < node->n_inputs; ++k) {
        if (node->io[k] >= 0 && !t[node->io[k]].is_const) return 0; /* the output byte must depend on x alone */
    }
    *state_bytes = sizeof(lut_state);
    *scratch_bytes = 0;
    return 1;
}

pq_status pq_fast_run_on(const pq_node *node, const pq_tensor *t, const pq_tensor *input1, int variant,
                         const void *x, int32_t n, void *y) {
    const pq_op_kernel *op = pq_op_kernel_find(node->opcode, variant);
    pq_tensor tt[LUT_MAX_INPUTS + 1];
    int32_t io[LUT_MAX_INPUTS + 1];
    const int32_t n_in = node->n_inputs, out = n_in;
    pq_node one = *node;
    int32_t k;
    if (op == NULL || n_in < 1 || n_in > LUT_MAX_INPUTS) return PQ_ERR_PARAM;
    /* x and y as n-element vectors (an element-wise op reads nothing else of them); the
     * constant inputs as they are, or input 1 as the caller gives it. */
    for (k = 0; k <= n_in; ++k) {
        io[k] = node->io[k] < 0 ? -1 : k;
        if (node->io[k] >= 0) tt[k] = t[node->io[k]];
    }
    if (input1 != NULL && n_in > 1) tt[1] = *input1;
    tt[0].data = (void *)(uintptr_t)x; /* read only: the kernel's input */
    tt[out].data = y;
    tt[0].count = tt[out].count = n;
    tt[0].rank = tt[out].rank = 1;
    tt[0].dims[0] = tt[out].dims[0] = n;
    one.io = io;
    one.kernel = PQ_KERNEL_REFERENCE;
    one.fast = NULL;
    return op->eval(&one, tt);
}

pq_status pq_fast_tabulate(const pq_node *node, const pq_tensor *t, const pq_tensor *input1, uint8_t *table) {
    int8_t every[256];
    int32_t k;
    for (k = 0; k < 256; ++k) every[k] = (int8_t)(uint8_t)k; /* byte k holds the input whose bits are k */
    return pq_fast_run_on(node, t, input1, PQ_VARIANT_s8, every, 256, table);
}

static pq_status lut_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    lut_state *s = (lut_state *)state;
    const pq_status st = pq_fast_tabulate(node, t, NULL, s->table);
    (void)isa;
    if (st != PQ_OK) return st;
    s->n = t[node->io[0]].count;
    node->fast = s;
    return PQ_OK;
}

static pq_status lut_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    const lut_state *s = (const lut_state *)node->fast;
    const uint8_t *x = (const uint8_t *)PQ_IN(node, t, 0);
    uint8_t *y = (uint8_t *)PQ_OUT(node, t);
    int32_t i;
    (void)scratch;
    (void)part;
    (void)n_parts;
    for (i = 0; i < s->n; ++i) y[i] = s->table[x[i]];
    return PQ_OK;
}

static const char *lut_name(const pq_node *node) {
    (void)node;
    return "fast-lut";
}

const pq_fast_op pq_lut_s8_fast_op = {lut_plan, lut_prepare, lut_eval, NULL, lut_name};
