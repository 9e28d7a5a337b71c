/*
 * QUANTIZE, int8 -> int8: a change of scale and zero point, as TFLite Micro's QUANTIZE kernel
 * does for integer input (quantize_common.cc: QuantizeMultiplier((double)s_in / s_out) in
 * Prepare, reference_ops::Requantize in Eval). A float QUANTIZE at a graph input is the graph
 * boundary instead (the converter drops it; Interpreter.run quantizes in numpy).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_kernels.h"
#include "pq_op.h"
#include "pq_requantize.h"

pq_status pq_quantize_s8(const pq_quantize_params *p, int32_t size, const int8_t *in, int8_t *out)
{
    int32_t i;
    for (i = 0; i < size; ++i) out[i] = (int8_t)pq_requantize(p, in[i], -128, 127);
    return PQ_OK;
}

pq_status pq_quantize_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *y = pq_node_output(node, t);
    return pq_quantize_s8((const pq_quantize_params *)node->params, x->count, (const int8_t *)x->data,
                          (int8_t *)y->data);
}
