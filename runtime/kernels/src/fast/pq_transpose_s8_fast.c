/*
 * TRANSPOSE as block copies (same bytes as pq_transpose_s8: a transpose only moves bytes, so
 * any order of the moves gives them). The plan simplifies the permutation first:
 *   - size-1 dims are dropped (they change no offset);
 *   - input dims that follow each other in the output too are one dim (NCHW -> NHWC is
 *     [N, C, H*W] -> [N, H*W, C]; ShuffleNet's channel shuffle [N, H, W, g, c/g] ->
 *     [N, H, W, c/g, g] is [N*H*W, g, c/g] -> [N*H*W, c/g, g]).
 * What is left is one of three shapes of work:
 *   COPY   one dim: the permutation moves nothing, one memcpy;
 *   RUNS   the last dim stays last: contiguous runs of its length, each a memcpy when long;
 *   TILES  the input's last dim (stride 1 in the input) is output dim `inner`, and the output's
 *          last dim (stride 1 in the output) comes from a strided input dim: a 2-D transpose
 *          between the two under an odometer over the remaining dims, in square tiles that stay
 *          in L1 whichever side is strided, each moved in 8 x 8 byte blocks through eight
 *          64-bit registers. A 2-D transpose with 2, 3 or 4 rows on one side (a channel shuffle
 *          of 2 to 4 groups; RGB images between NHWC and NCHW) is an interleave or a
 *          de-interleave of whole rows instead, with the width a constant: compilers vectorise
 *          those loops.
 * Portable C for every ISA (the 8 x 8 blocks assume little-endian, as the whole core does).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pq_fast.h"

#define TILE 32       /* bytes of a tile's side: 32 x 32 in, 32 x 32 out, in L1 */
#define MEMCPY_RUN 32 /* runs from this length are copied by memcpy, shorter by a loop */

pq_status pq_transpose_s8_fast_plan(int32_t rank, const int32_t *in_shape, const int32_t *perm,
                                    pq_transpose_fast_plan *plan)
{
    int32_t shape[PQ_MAX_DIMS], axis_of[PQ_MAX_DIMS]; /* kept input dims: size, new index */
    int32_t p[PQ_MAX_DIMS], group_size[PQ_MAX_DIMS], group_first[PQ_MAX_DIMS];
    int32_t in_stride[PQ_MAX_DIMS], order[PQ_MAX_DIMS];
    int32_t seen = 0, kept = 0, n = 0, groups = 0, stride = 1;
    int64_t count = 1;
    int32_t d, i, j;

    if (rank < 1 || rank > PQ_MAX_DIMS) return PQ_ERR_PARAM;
    for (d = 0; d < rank; ++d) {
        if (in_shape[d] < 1 || perm[d] < 0 || perm[d] >= rank || (seen & (1 << perm[d]))) return PQ_ERR_PARAM;
        seen |= 1 << perm[d];
        count *= in_shape[d];
        if (count > INT32_MAX) return PQ_ERR_PARAM; /* no tensor is that large */
    }
    memset(plan, 0, sizeof *plan);
    plan->count = (int32_t)count;
    /* Drop size-1 dims: axis_of[d] is input dim d's index among the kept ones. */
    for (d = 0; d < rank; ++d) {
        axis_of[d] = in_shape[d] > 1 ? kept++ : -1;
        if (in_shape[d] > 1) shape[axis_of[d]] = in_shape[d];
    }
    for (d = 0; d < rank; ++d) {
        if (axis_of[perm[d]] >= 0) p[n++] = axis_of[perm[d]];
    }
    /* Merge runs of output dims whose input dims are consecutive: group g covers kept input
     * dims group_first[g] .. + its length, group_size[g] elements. */
    for (i = 0; i < n; ++i) {
        if (i > 0 && p[i] == p[i - 1] + 1) {
            group_size[groups - 1] *= shape[p[i]];
        } else {
            group_first[groups] = p[i];
            group_size[groups++] = shape[p[i]];
        }
    }
    if (groups <= 1) {
        plan->mode = PQ_TRANSPOSE_COPY;
        plan->rank = 1;
        plan->out_shape[0] = (int32_t)count;
        plan->in_step[0] = plan->out_stride[0] = 1;
        return PQ_OK;
    }
    /* order[g]: group g's place in the input (groups ordered by their first input dim). */
    for (i = 0; i < groups; ++i) {
        order[i] = 0;
        for (j = 0; j < groups; ++j) order[i] += group_first[j] < group_first[i];
    }
    /* Input strides of the merged input dims, last first. */
    for (d = groups - 1; d >= 0; --d) {
        for (i = 0; i < groups; ++i) {
            if (order[i] == d) {
                in_stride[d] = stride;
                stride *= group_size[i];
            }
        }
    }
    plan->rank = groups;
    stride = 1;
    for (d = groups - 1; d >= 0; --d) {
        plan->out_shape[d] = group_size[d];
        plan->in_step[d] = in_stride[order[d]];
        plan->out_stride[d] = stride;
        stride *= group_size[d];
        if (order[d] == groups - 1) plan->inner = d;
    }
    plan->mode = plan->inner == groups - 1 ? PQ_TRANSPOSE_RUNS : PQ_TRANSPOSE_TILES;
    return PQ_OK;
}

/* The 8 x 8 bytes of x[0..7] (row i in x[i], byte j at bits 8j: little-endian loads)
 * transposed in place: swap 4x4 blocks, then 2x2, then single bytes, across word pairs. */
static inline void transpose_8x8(uint64_t *x)
{
    static const uint64_t m4 = 0x00000000FFFFFFFFull, m2 = 0x0000FFFF0000FFFFull, m1 = 0x00FF00FF00FF00FFull;
    int i;
    for (i = 0; i < 4; ++i) {
        const uint64_t t = ((x[i] >> 32) ^ x[i + 4]) & m4;
        x[i] ^= t << 32;
        x[i + 4] ^= t;
    }
    for (i = 0; i < 8; i += (i & 1) ? 3 : 1) {
        const uint64_t t = ((x[i] >> 16) ^ x[i + 2]) & m2;
        x[i] ^= t << 16;
        x[i + 2] ^= t;
    }
    for (i = 0; i < 8; i += 2) {
        const uint64_t t = ((x[i] >> 8) ^ x[i + 1]) & m1;
        x[i] ^= t << 8;
        x[i + 1] ^= t;
    }
}

/* out[a * out_a + b] = in[a + b * in_b] for a < na, b < nb: 8 x 8 blocks through registers,
 * in TILE x TILE tiles, the edges byte by byte. */
static void tiles(const int8_t *in, int8_t *out, size_t na, size_t nb, size_t out_a, size_t in_b)
{
    size_t a0, b0, a, b;
    for (b0 = 0; b0 < nb; b0 += TILE) {
        const size_t b1 = b0 + TILE < nb ? b0 + TILE : nb;
        for (a0 = 0; a0 < na; a0 += TILE) {
            const size_t a1 = a0 + TILE < na ? a0 + TILE : na;
            const size_t a8 = a0 + (a1 - a0) / 8 * 8, b8 = b0 + (b1 - b0) / 8 * 8;
            for (b = b0; b < b8; b += 8) {
                for (a = a0; a < a8; a += 8) {
                    uint64_t x[8];
                    int i;
                    for (i = 0; i < 8; ++i) memcpy(&x[i], in + a + (b + (size_t)i) * in_b, 8);
                    transpose_8x8(x);
                    for (i = 0; i < 8; ++i) memcpy(out + (a + (size_t)i) * out_a + b, &x[i], 8);
                }
            }
            for (a = a0; a < a1; ++a) {
                const int8_t *src = in + a;
                int8_t *dst = out + a * out_a;
                for (b = a < a8 ? b8 : b0; b < b1; ++b) dst[b] = src[b * in_b];
            }
        }
    }
}

/* The same with nb == out_a == WIDTH, a constant: whole output rows interleaving WIDTH input
 * rows, a loop compilers vectorise. */
static inline void interleave(const int8_t *in, int8_t *out, size_t na, size_t in_b, size_t width)
{
    size_t a, b;
    for (a = 0; a < na; ++a) {
        for (b = 0; b < width; ++b) out[a * width + b] = in[a + b * in_b];
    }
}

/* The converse, na == in_b == WIDTH: WIDTH output rows from interleaved input rows. */
static inline void deinterleave(const int8_t *in, int8_t *out, size_t nb, size_t out_a, size_t width)
{
    size_t a, b;
    for (a = 0; a < width; ++a) {
        for (b = 0; b < nb; ++b) out[a * out_a + b] = in[a + b * width];
    }
}

static void transpose_2d(const int8_t *in, int8_t *out, size_t na, size_t nb, size_t out_a, size_t in_b)
{
    if (in_b == na && na == 2) {
        deinterleave(in, out, nb, out_a, 2);
    } else if (in_b == na && na == 3) {
        deinterleave(in, out, nb, out_a, 3);
    } else if (in_b == na && na == 4) {
        deinterleave(in, out, nb, out_a, 4);
    } else if (out_a == nb && nb == 2) {
        interleave(in, out, na, in_b, 2);
    } else if (out_a == nb && nb == 3) {
        interleave(in, out, na, in_b, 3);
    } else if (out_a == nb && nb == 4) {
        interleave(in, out, na, in_b, 4);
    } else {
        tiles(in, out, na, nb, out_a, in_b);
    }
}

pq_status pq_transpose_s8_fast(const pq_transpose_fast_plan *plan, const int8_t *in, int8_t *out)
{
    const int32_t rank = plan->rank, last = rank - 1;
    int32_t outer_dims[PQ_MAX_DIMS], idx[PQ_MAX_DIMS];
    int32_t n_outer = 0, d, k;
    size_t in_off = 0, out_off = 0, block, blocks = 1, i;

    if (plan->mode == PQ_TRANSPOSE_COPY) {
        memcpy(out, in, (size_t)plan->count);
        return PQ_OK;
    }
    /* The dims the odometer walks: all but the last (RUNS) or all but the tile's two (TILES). */
    for (d = 0; d < last; ++d) {
        if (plan->mode == PQ_TRANSPOSE_RUNS || d != plan->inner) {
            outer_dims[n_outer++] = d;
            blocks *= (size_t)plan->out_shape[d];
        }
        idx[d] = 0;
    }
    block = (size_t)plan->out_shape[last];
    for (i = 0; i < blocks; ++i) {
        if (plan->mode == PQ_TRANSPOSE_RUNS) {
            if (block >= MEMCPY_RUN) {
                memcpy(out + out_off, in + in_off, block);
            } else {
                size_t j;
                for (j = 0; j < block; ++j) out[out_off + j] = in[in_off + j];
            }
        } else {
            transpose_2d(in + in_off, out + out_off, (size_t)plan->out_shape[plan->inner], block,
                         (size_t)plan->out_stride[plan->inner], (size_t)plan->in_step[last]);
        }
        for (k = n_outer - 1; k >= 0; --k) {
            d = outer_dims[k];
            if (idx[d] + 1 < plan->out_shape[d]) {
                ++idx[d];
                in_off += (size_t)plan->in_step[d];
                out_off += (size_t)plan->out_stride[d];
                break;
            }
            in_off -= (size_t)plan->in_step[d] * (size_t)idx[d];
            out_off -= (size_t)plan->out_stride[d] * (size_t)idx[d];
            idx[d] = 0;
        }
    }
    return PQ_OK;
}
