/*
 * HARD_SWISH, int8: x * relu6(x + 3) / 6.
 *
 * Matches TFLite tensorflow/lite/kernels/internal/reference/hard_swish.h,
 * reference_ops::HardSwish<int8_t>(const HardSwishParams&, ...), as called by
 * tensorflow/lite/micro/kernels/hard_swish.cc with the parameters of
 * hard_swish_common.cc (HardSwishPrepare): QuantizeMultiplier of
 * hires_input_scale / output_scale and of hires_input_scale / (3 / 32768), where
 * hires_input_scale = input_scale / 128, each cut to an int16 multiplier by
 * DownScaleInt32ToInt16Multiplier. All arithmetic is int16 fixed point (held
 * in int32 here, with TFLite's int16 narrowing made explicit).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fixedpoint.h"
#include "pq_kernels.h"
#include "pq_op.h"

/* gemmlowp SaturatingRoundingDoublingHighMul<int16_t>: a, b in int16. */
static int32_t hs_srdhm16(int32_t a, int32_t b)
{
    int32_t ab;
    if (a == -32768 && b == -32768) {
        return 32767;
    }
    ab = a * b; /* |ab| <= 2^30 */
    /* C division truncates toward zero, as gemmlowp relies on. */
    return (ab + (ab >= 0 ? (1 << 14) : (1 - (1 << 14)))) / (1 << 15);
}

/* reference_ops::SaturatingDoublingHighMul (int16): rounds toward zero. */
static int32_t hs_sdhm16(int32_t a, int32_t b)
{
    if (a == -32768 && b == -32768) {
        return 32767;
    }
    return (a * b) / (1 << 15);
}

/* reference_ops::SaturatingLeftShift (int16): value * 2^amount, clamped to int16. */
static int32_t hs_sat_shl16(int32_t value, int32_t amount)
{
    const int64_t r = (int64_t)value * ((int64_t)1 << amount);
    return r > 32767 ? 32767 : (r < -32768 ? -32768 : (int32_t)r);
}

/* int16_t narrowing of an int: two's-complement wrap, as every TFLM compiler does. */
static int32_t hs_wrap16(int32_t v)
{
    return (int32_t)(((uint32_t)v + 32768u) & 0xFFFFu) - 32768;
}

pq_status pq_hard_swish_s8(const pq_hard_swish_params *p, int32_t size, const int8_t *in, int8_t *out)
{
    const int32_t relu_shift = p->reluish_shift;
    int32_t i;
    if (relu_shift < -15 || relu_shift > 30 || p->output_shift < -15 || p->output_shift > 0) {
        return PQ_ERR_PARAM;
    }
    for (i = 0; i < size; ++i) {
        /* input_offset in [-255, 255]: |v * 128| <= 32640 fits int16. */
        const int32_t input_value = (int32_t)in[i] + p->input_offset;
        const int32_t hires = input_value * (1 << 7);
        const int32_t preshift_output = hs_srdhm16(hires, p->output_multiplier);
        int32_t reluish = hires;
        int32_t value;
        if (relu_shift > 0) {
            reluish = hs_sat_shl16(reluish, relu_shift - 1);
        }
        reluish = hs_srdhm16(reluish, p->reluish_multiplier);
        if (relu_shift > 0) {
            reluish = hs_sat_shl16(reluish, 1);
        }
        if (relu_shift < 0) {
            reluish = pq_rdpot(reluish, -relu_shift);
        }
        /* [-1, 1] -> [0, 1] in Q15: (r + 2^15) >> 1 of a value >= 0. */
        reluish = (reluish + (1 << 15)) >> 1;
        value = pq_rdpot(hs_sdhm16(reluish, preshift_output), -p->output_shift);
        /* int16_t output_value += output_zero_point: narrows (wraps) before the clamp. */
        value = hs_wrap16(value + p->output_offset);
        out[i] = (int8_t)pq_clamp(value, -128, 127);
    }
    return PQ_OK;
}

pq_status pq_hard_swish_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *y = pq_node_output(node, t);
    return pq_hard_swish_s8((const pq_hard_swish_params *)node->params, x->count, (const int8_t *)x->data, (int8_t *)y->data);
}
