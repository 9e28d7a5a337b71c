/*
 * CONCATENATION, 16x8 (int16 activations, zero point 0), along any axis.
 *
 * TFLite Micro's tensorflow/lite/micro/kernels/concatenation.cc runs int16 through
 * EvalUnquantized<int16_t> (reference_ops::Concatenation): a copy of the raw values, whatever
 * the inputs' scales (its Prepare records no quantization for int16). picoq's converter
 * therefore imports an int16 CONCATENATION only when every input has the output's scale,
 * which makes each requant row the identity and this kernel a copy (pq_concat_ref.h). A
 * non-identity row (a file from elsewhere) is applied as for int8, offsets 0, clamped to int16.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_concat_ref.h"
#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_concatenation_s16_eval(const pq_node *node, const pq_tensor *t) { return pq_concatenation_eval_ref(node, t, 1); }
