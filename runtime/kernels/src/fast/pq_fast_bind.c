/*
 * What the fast ops' hooks share (pq_fast_bind.h): the AMX choice, the
 * requantization constants, the thread split.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"
#include "pq_fast_split.h"

int pq_amx_pays(int feed, int32_t n, int32_t k, int32_t m) {
    if (feed == PQ_FEED_STRIDED || m < 32) return 0;
    /* Each block first copies its rows' filter runs into a tile panel. */
    if (feed == PQ_FEED_ROWS || feed == PQ_FEED_TAPS) return n > 16 && k >= 64;
    return 1;
}

int pq_gemm_isa(int isa, int feed, int32_t n, int32_t k, int32_t m) {
    const pq_isa_traits *tr = pq_isa_traits_get(isa);
    if (tr->amx_tiles && !pq_amx_pays(feed, n, k, m)) return tr->gemm_fallback; /* same feed and data */
    return isa;
}

void pq_fast_requant(pq_requant *rq, int32_t *arr, int32_t n, int32_t np, const int32_t *mult, const int32_t *shift,
                     int32_t per_channel, int32_t output_offset, int32_t act_min, int32_t act_max) {
    rq->output_offset = output_offset;
    rq->act_min = act_min;
    rq->act_max = act_max;
    if (arr == NULL) return;
    pq_requant_expand(n, np, mult, shift, per_channel, arr, arr + np, arr + 2 * np, arr + 3 * np);
    rq->mult = arr;
    rq->lshift = arr + np;
    rq->rshift = arr + 2 * np;
    rq->rmask = arr + 3 * np;
    pq_requant_flags(rq, np);
}

int32_t pq_fast_col_unit(int isa, int32_t m) {
    const pq_isa_traits *tr = pq_isa_traits_get(isa);
    if (tr->col_unit == 0) return pq_gemm_s8_np(isa, 1);
    return m <= tr->few_rows ? tr->col_unit_few : tr->col_unit;
}

/* The largest part of the best split of `total` items in blocks of `unit` over 2..threads
 * parts (the fewest parts reaching it); *parts = 1 and `total` when no split shortens it. */
static int32_t best_split(int32_t total, int32_t unit, int32_t threads, int32_t *parts) {
    int32_t best = total, n, p, lo, hi;
    *parts = 1;
    for (n = 2; n <= threads; ++n) {
        int32_t largest = 0;
        for (p = 0; p < n; ++p) {
            pq_split_range(total, unit, p, n, &lo, &hi);
            if (hi - lo > largest) largest = hi - lo;
        }
        if (largest > 0 && largest < best) {
            best = largest;
            *parts = n;
        }
    }
    return best;
}

void pq_fast_split_choose(pq_node *node, const pq_split_shape *s, int isa, int32_t num_threads,
                          int64_t min_parallel_ns) {
    const pq_isa_traits *tr = pq_isa_traits_get(isa);
    const int64_t cost = s->dw ? tr->dw_ns_per_kmac : tr->gemm_ns_per_kmac;
    int32_t r_parts, c_parts = 1, r_big, c_big = 0, col_unit = 0;
    node->split = PQ_SPLIT_NONE;
    node->n_parts = 1;
    node->col_unit = 0;
    if (num_threads < 2 || s->macs * cost < min_parallel_ns * 1000) return;
    r_big = best_split(s->rows, s->unit, num_threads, &r_parts);
    if (s->cols) {
        col_unit = pq_fast_col_unit(isa, s->m);
        c_big = best_split(s->cols, col_unit, num_threads, &c_parts);
    }
    /* Speedups total / largest part; rows on a tie: a channel split has every part read (and pad)
     * the whole input. */
    if (r_parts > 1 && (c_parts == 1 || (int64_t)s->rows * c_big >= (int64_t)s->cols * r_big)) {
        node->split = PQ_SPLIT_ROWS;
        node->n_parts = r_parts;
    } else if (c_parts > 1) {
        node->split = PQ_SPLIT_COLS;
        node->n_parts = c_parts;
        node->col_unit = col_unit;
    }
}
