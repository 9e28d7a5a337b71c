/*
 * The reference CONCATENATION, shared by the int8 kernel and its 16x8 variant (pq_elem.h
 * gives the element width, a constant of each kernel): rows of each input, requantized by
 * its (multiplier, shift, input_offset) row unless that row is the identity, and clamped to
 * the element type. See src/ref/pq_concatenation_s8.c for the arithmetic.
 */
#ifndef PQ_CONCAT_REF_H
#define PQ_CONCAT_REF_H

#include <stdint.h>
#include <string.h>

#include "pq_elem.h"
#include "pq_fixedpoint.h"
#include "pq_kernels.h"
#include "pq_op.h"

static inline pq_status pq_concatenation_ref(int32_t n_inputs, const void *const *inputs, const int32_t *axis_sizes,
                                             const int32_t *requant, int32_t output_offset, int32_t outer,
                                             int32_t inner, void *out, int wide)
{
    const int32_t lo = pq_elem_min(wide), hi = pq_elem_max(wide);
    int32_t out_row = 0, dst = 0;
    int32_t i, o, j;

    for (i = 0; i < n_inputs; ++i) {
        if (axis_sizes[i] < 0) {
            return PQ_ERR_PARAM;
        }
        out_row += axis_sizes[i] * inner; /* <= output size: no overflow */
    }
    for (o = 0; o < outer; ++o) {
        for (i = 0; i < n_inputs; ++i) {
            const int32_t chunk = axis_sizes[i] * inner, src = o * chunk;
            const int32_t multiplier = requant[3 * i];
            const int32_t shift = requant[3 * i + 1];
            const int32_t input_offset = requant[3 * i + 2];
            if (multiplier == ((int32_t)1 << 30) && shift == 1 && input_offset == -output_offset) {
                const size_t width = wide ? 2u : 1u;
                memcpy((char *)out + (size_t)dst * width, (const char *)inputs[i] + (size_t)src * width,
                       (size_t)chunk * width);
            } else {
                for (j = 0; j < chunk; ++j) {
                    /* the validator bounds input_offset and shift so x + offset, shifted, fits int32 */
                    const int32_t v = pq_mbqm(pq_elem_load(inputs[i], src + j, wide) + input_offset, multiplier, shift);
                    pq_elem_store(out, dst + j, pq_clamp(v + output_offset, lo, hi), wide);
                }
            }
            dst += chunk;
        }
    }
    return PQ_OK;
}

/* The interpreter entry of both kernels: the data inputs, then the requant table. */
static inline pq_status pq_concatenation_eval_ref(const pq_node *node, const pq_tensor *t, int wide)
{
    const pq_concat_params *p = (const pq_concat_params *)node->params;
    const pq_tensor *y = pq_node_output(node, t);
    const int32_t n = (int32_t)node->n_inputs - 1; /* data inputs; the last input is the requant table */
    const void *inputs[PQ_MAX_CONCAT_INPUTS];
    int32_t axis_sizes[PQ_MAX_CONCAT_INPUTS];
    int32_t outer = 1, inner = 1, k;
    for (k = 0; k < n; ++k) {
        inputs[k] = t[node->io[k]].data;
        axis_sizes[k] = t[node->io[k]].dims[p->axis];
    }
    for (k = 0; k < (int32_t)y->rank; ++k) {
        if (k < p->axis) outer *= y->dims[k];
        if (k > p->axis) inner *= y->dims[k];
    }
    return pq_concatenation_ref(n, inputs, axis_sizes, (const int32_t *)t[node->io[n]].data, p->output_offset, outer,
                                inner, y->data, wide);
}

#endif /* PQ_CONCAT_REF_H */
