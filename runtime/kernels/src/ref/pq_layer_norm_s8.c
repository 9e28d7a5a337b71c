/*
 * LAYER_NORM, int8: each row of the last axis (length n, 1 <= n <= PQ_LAYER_NORM_MAX_ROW)
 * normalised to mean 0 and variance 1, times gamma[c], plus beta[c]. picoq's own op (TFLite
 * has no int8 layer norm builtin); the arithmetic is written down in docs/FORMAT.md
 * ("LAYER_NORM arithmetic") and every step is an integer one:
 *
 *   s = sum x, q = sum x^2                       (the input's zero point cancels in x - mean)
 *   v = n*q - s^2                                (= n^2 * variance, in input LSB^2; < 2^44)
 *   w = v * 2^16 + eps_multiplier * 2^eps_shift  (eps folded in by the converter; < 2^61)
 *   r = isqrt(w * 4^k), k >= 0 the least putting w * 4^k in [2^60, 2^62): r in [2^30, 2^31)
 *   m = round(2^61 / r)                          (1/sqrt(w) ~ m * 2^(k - 61), m in (2^30, 2^31])
 *   z = round((n*x - s) * m / 2^(33 - k))        (d / sqrt(w / 2^16) with 20 fraction bits)
 *   y = clamp(output_offset + round((z * gamma[c] + beta[c] * 2^20) / 2^(20 + shift)), -128, 127)
 *
 * Rounding is half up (add half, arithmetic shift right). w = 0 only for a constant row
 * without eps, whose n*x - s are all 0: z = 0 and y is beta's. The bounds (docs/FORMAT.md):
 * |n*x - s| < 255 * 2^15, |z| < 2^28, |z * gamma + beta * 2^20| < 2^60 for any int32
 * gamma, beta; so nothing overflows int64 whatever the constants hold.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_kernels.h"
#include "pq_op.h"

#define LN_Z_BITS 20 /* fraction bits of the normalised value z */
#define LN_V_BITS 16 /* fraction bits of the variance w (so eps needs no coarser rounding) */

/* A row's scale, from its sum s and sum of squares q: 1/sqrt(var + eps) ~ m * 2^(k - 61)
 * (m = 0 for a constant row without eps), z_shift = 33 - k. */
typedef struct {
    int64_t s, m;
    int32_t n, z_shift;
} ln_row;

/* floor((v + 2^(sh-1)) / 2^sh), half-up rounding, 1 <= sh <= 51, |v| < 2^61. An arithmetic
 * right shift of a negative value: implementation-defined in C99, arithmetic on every
 * compiler picoq supports (as pq_rdpot relies on); no 64-bit division on 32-bit cores. */
static int64_t round_shift(int64_t v, int sh)
{
    return (v + ((int64_t)1 << (sh - 1))) >> sh;
}

/* The normalised value of x in Q20: round((n*x - s) * m / 2^z_shift), |z| < 2^27.5. */
static int64_t ln_z(const ln_row *r, int32_t x)
{
    return round_shift(((int64_t)r->n * x - r->s) * r->m, r->z_shift);
}

/* The output: output_offset + round((z * gamma + beta * 2^20) / 2^(20 + shift)), clamped. */
static int8_t ln_out(const pq_layer_norm_params *p, int64_t z, int32_t gamma, int32_t beta)
{
    const int64_t acc = z * gamma + (int64_t)beta * ((int64_t)1 << LN_Z_BITS);
    const int64_t out = p->output_offset + round_shift(acc, LN_Z_BITS + p->shift);
    return (int8_t)(out < -128 ? -128 : out > 127 ? 127 : out);
}

/* floor(sqrt(w)) for w < 2^62, one result bit at a time. */
static uint32_t isqrt62(uint64_t w)
{
    uint64_t root = 0, bit = (uint64_t)1 << 60;
    while (bit > w) bit >>= 2;
    while (bit != 0) {
        if (w >= root + bit) {
            w -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    return (uint32_t)root;
}

/* A row's scale from its sums (of int8 values); PQ_ERR_PARAM for params outside the contract. */
static pq_status row_scale(const pq_layer_norm_params *p, int32_t n, int64_t s, int64_t q, ln_row *row)
{
    int64_t w;
    int32_t k = 0;
    if (n < 1 || n > PQ_LAYER_NORM_MAX_ROW || p->shift < 0 || p->shift > 31 || p->eps_multiplier < 0 ||
        p->eps_shift < 0 || p->eps_shift > 29) {
        return PQ_ERR_PARAM;
    }
    w = ((int64_t)n * q - s * s) * ((int64_t)1 << LN_V_BITS) +
        (int64_t)p->eps_multiplier * ((int64_t)1 << p->eps_shift);
    row->m = 0;
    if (w > 0) {
        uint32_t r;
        while ((w << (2 * k)) < ((int64_t)1 << 60)) ++k; /* w < 2^61, so w * 4^k < 2^62 */
        r = isqrt62((uint64_t)w << (2 * k));
        row->m = (((int64_t)1 << 61) + (int64_t)(r >> 1)) / (int64_t)r; /* in (2^30, 2^31] */
    }
    /* z = d / sqrt(w / 2^16) = d * m * 2^(k + 8 - 61); in Q20: shift right by 33 - k >= 3 */
    row->z_shift = 61 - LN_V_BITS / 2 - k - LN_Z_BITS;
    row->n = n;
    row->s = s;
    return PQ_OK;
}

pq_status pq_layer_norm_s8(const pq_layer_norm_params *p, int32_t rows, int32_t n, const int32_t *gamma,
                           const int32_t *beta, const int8_t *x, int8_t *y)
{
    int32_t r, c;
    for (r = 0; r < rows; ++r) {
        const int8_t *row = x + (size_t)r * n;
        int8_t *out = y + (size_t)r * n;
        int64_t s = 0, q = 0;
        ln_row scale;
        pq_status st;
        for (c = 0; c < n; ++c) {
            s += row[c];
            q += (int32_t)row[c] * row[c];
        }
        st = row_scale(p, n, s, q, &scale);
        if (st != PQ_OK) return st;
        for (c = 0; c < n; ++c) out[c] = ln_out(p, ln_z(&scale, row[c]), gamma[c], beta[c]);
    }
    return PQ_OK;
}

pq_status pq_layer_norm_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *x = pq_node_input(node, t, 0), *y = pq_node_output(node, t);
    const pq_tensor *gamma = pq_node_input(node, t, 1), *beta = pq_node_input(node, t, 2);
    const int32_t n = x->dims[x->rank - 1];
    return pq_layer_norm_s8((const pq_layer_norm_params *)node->params, x->count / n, n,
                            (const int32_t *)gamma->data, (const int32_t *)beta->data, (const int8_t *)x->data,
                            (int8_t *)y->data);
}
