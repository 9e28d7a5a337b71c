/*
 * BATCH_MATMUL, int8 x int8 -> int8, both operands activations with per-tensor quantization.
 *
 * Matches TFLite Micro tensorflow/lite/micro/kernels/batch_matmul.cc (EvalInt8, which runs
 * reference_ops::BatchMatMul of tensorflow/lite/kernels/internal/reference/batch_matmul.h with
 * the operands transposed so both are row-major over the reduction): one int32 accumulator of
 * (lhs + lhs_offset) * (rhs + rhs_offset) per output, MultiplyByQuantizedMultiplier, the output
 * zero point, a clamp to [-128, 127]. Sums commute and wrap alike, so the order of the k loop
 * and the transposes do not change a byte. Batch dims broadcast (an operand's dim of 1 repeats).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_broadcast.h"
#include "pq_fixedpoint.h"
#include "pq_kernels.h"
#include "pq_op.h"

pq_status pq_batch_matmul_s8(const pq_batch_matmul_params *p, int32_t rank, const int32_t *lhs_shape,
                             const int8_t *lhs, const int32_t *rhs_shape, const int8_t *rhs,
                             const int32_t *out_shape, int8_t *out)
{
    int32_t lb[PQ_MAX_DIMS], rb[PQ_MAX_DIMS], ob[PQ_MAX_DIMS];
    int32_t d, nb, m, k, n, i, j, kk, bi;
    /* element (i, k) of lhs and (k, j) of rhs: i * l_i + k * l_k, k * r_k + j * r_j */
    int32_t l_i, l_k, r_k, r_j;
    pq_broadcast b;
    if (rank < 2 || rank > 5 || (uint32_t)p->adj_x > 1u || (uint32_t)p->adj_y > 1u) return PQ_ERR_PARAM;
    m = lhs_shape[rank - 2 + p->adj_x];
    k = lhs_shape[rank - 1 - p->adj_x];
    n = rhs_shape[rank - 1 - p->adj_y];
    if (rhs_shape[rank - 2 + p->adj_y] != k || out_shape[rank - 2] != m || out_shape[rank - 1] != n) {
        return PQ_ERR_PARAM;
    }
    l_i = p->adj_x ? 1 : k;
    l_k = p->adj_x ? m : 1;
    r_k = p->adj_y ? 1 : n;
    r_j = p->adj_y ? k : 1;
    /* The batch dims (one dim of 1 for plain matrices) walked as a broadcast: off1 and off2 are
     * matrix numbers of lhs and rhs. */
    nb = rank > 2 ? rank - 2 : 1;
    for (d = 0; d < nb; ++d) {
        lb[d] = rank > 2 ? lhs_shape[d] : 1;
        rb[d] = rank > 2 ? rhs_shape[d] : 1;
        ob[d] = rank > 2 ? out_shape[d] : 1;
    }
    if (pq_broadcast_init(&b, nb, lb, rb, ob) != PQ_OK) return PQ_ERR_PARAM;
    for (bi = 0; bi < b.total; ++bi) {
        const int8_t *a = lhs + (size_t)b.off1 * (size_t)m * (size_t)k;
        const int8_t *w = rhs + (size_t)b.off2 * (size_t)k * (size_t)n;
        for (i = 0; i < m; ++i) {
            for (j = 0; j < n; ++j) {
                uint32_t acc = 0;
                int32_t v;
                for (kk = 0; kk < k; ++kk) {
                    const int32_t x = a[(size_t)i * (size_t)l_i + (size_t)kk * (size_t)l_k];
                    const int32_t y = w[(size_t)kk * (size_t)r_k + (size_t)j * (size_t)r_j];
                    /* wrapping 32-bit arithmetic, as the reference's int32 (pq_wrap_i32) */
                    acc += ((uint32_t)x + (uint32_t)p->lhs_offset) * ((uint32_t)y + (uint32_t)p->rhs_offset);
                }
                v = pq_mbqm(pq_wrap_i32(acc), p->output_multiplier, p->output_shift);
                v = pq_wrap_i32((uint32_t)v + (uint32_t)p->output_offset);
                *out++ = (int8_t)pq_clamp(v, -128, 127);
            }
        }
        pq_broadcast_next(&b);
    }
    return PQ_OK;
}

pq_status pq_batch_matmul_s8_eval(const pq_node *node, const pq_tensor *t)
{
    const pq_tensor *a = pq_node_input(node, t, 0), *b = pq_node_input(node, t, 1), *y = pq_node_output(node, t);
    int32_t sa[PQ_MAX_DIMS], sb[PQ_MAX_DIMS];
    pq_broadcast_shapes(a, b, y->rank, sa, sb);
    return pq_batch_matmul_s8((const pq_batch_matmul_params *)node->params, y->rank, sa, (const int8_t *)a->data,
                              sb, (const int8_t *)b->data, y->dims, (int8_t *)y->data);
}
