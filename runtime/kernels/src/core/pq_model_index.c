/*
 * The validator's optional workspace (pq_model_validate_ws): per-tensor facts computed once,
 * in O(tensors + OPIO entries) plus two sorts of O(n log n), which the graph checks
 * (pq_model_graph.c) then read in O(1) instead of rescanning the records. Each table holds
 * exactly what the rescanning helper it replaces returns, so the verdict is the same.
 * No malloc, no recursion: the caller's buffer, and a heap sort.
 */
#include "pq_contract.h"

#define N_INT32_TABLES 7u /* producer, first_touch, last_touch, root, head (+1), list, order */

size_t pqv_index_bytes(uint32_t n_tensors) {
    return (size_t)4u * (N_INT32_TABLES * (size_t)n_tensors + 1u) + (size_t)n_tensors + 3u;
}

void pqv_index_carve(pqv_index *ix, void *ws, uint32_t n) {
    /* int32 tables first, from the first 4-aligned byte (the +3 of pqv_index_bytes) */
    int32_t *p = (int32_t *)(void *)((uint8_t *)ws + ((4u - (uint32_t)((uintptr_t)ws & 3u)) & 3u));
    ix->producer = p;
    ix->first_touch = p + n;
    ix->last_touch = p + 2u * n;
    ix->root = p + 3u * n;
    ix->head = p + 4u * n; /* n + 1 entries */
    ix->list = p + 5u * n + 1u;
    ix->order = p + 6u * n + 1u;
    ix->io = (uint8_t *)(p + 7u * n + 1u);
    ix->n_order = 0;
}

void pqv_index_flow(const pqv_ctx *c) {
    pqv_index *ix = c->ix;
    uint32_t t, i, k;
    for (t = 0; t < c->n_tensors; t++) {
        ix->producer[t] = ix->first_touch[t] = ix->last_touch[t] = -1;
        ix->io[t] = 0;
    }
    for (k = 0; k < c->n_in; k++) ix->io[grio(c, k)] |= PQV_IO_IN; /* GRIO is range-checked by now */
    for (k = 0; k < c->n_out; k++) ix->io[grio(c, c->n_in + k)] |= PQV_IO_OUT;
    for (i = 0; i < c->n_ops; i++) { /* OPIO entries are -1 (an optional input) or in range */
        uint32_t n = op_n_in(c, i) + 1;
        int32_t y = op_output(c, i);
        for (k = 0; k < n; k++) {
            int32_t v = op_input(c, i, k);
            if (v < 0) continue;
            if (ix->first_touch[v] < 0) ix->first_touch[v] = (int32_t)i;
            ix->last_touch[v] = (int32_t)i;
        }
        if (y >= 0 && ix->producer[y] < 0) ix->producer[y] = (int32_t)i;
    }
}

int32_t pqv_index_dup_io(const pqv_ctx *c, int out) {
    const uint8_t seen = out ? PQV_IO_SEEN_OUT : PQV_IO_SEEN_IN;
    uint32_t k, n = out ? c->n_out : c->n_in, base = out ? c->n_in : 0u;
    for (k = 0; k < n; k++) {
        int32_t t = grio(c, base + k);
        if (c->ix->io[t] & seen) return (int32_t)k;
        c->ix->io[t] |= seen;
    }
    return -1;
}

/* ---- heap sort of tensor indices (in place, no recursion) ---- */
typedef int (*pqv_less)(const pqv_ctx *c, int32_t a, int32_t b);

static void sift_down(const pqv_ctx *c, int32_t *a, uint32_t root, uint32_t n, pqv_less less) {
    for (;;) {
        uint32_t child = 2u * root + 1u;
        int32_t tmp;
        if (child >= n) return;
        if (child + 1u < n && less(c, a[child], a[child + 1u])) child++;
        if (!less(c, a[root], a[child])) return;
        tmp = a[root];
        a[root] = a[child];
        a[child] = tmp;
        root = child;
    }
}

static void heap_sort(const pqv_ctx *c, int32_t *a, uint32_t n, pqv_less less) {
    uint32_t i;
    for (i = n / 2u; i > 0; i--) sift_down(c, a, i - 1u, n, less);
    for (i = n; i > 1; i--) {
        int32_t tmp = a[0];
        a[0] = a[i - 1u];
        a[i - 1u] = tmp;
        sift_down(c, a, 0, i - 1u, less);
    }
}

/* Names (checked: inside STRS, at most 1024 bytes) as bytes, shorter first on a common
 * prefix; ties by index, so every key is distinct. */
static int name_cmp(const pqv_ctx *c, int32_t a, int32_t b) {
    const uint8_t *ra = tensor_rec(c, (uint32_t)a), *rb = tensor_rec(c, (uint32_t)b);
    uint32_t na = rd32(ra + 8), nb = rd32(rb + 8), k, n = na < nb ? na : nb;
    const uint8_t *sa = c->b + c->off[S_STRS] + rd32(ra + 4), *sb = c->b + c->off[S_STRS] + rd32(rb + 4);
    for (k = 0; k < n; k++) {
        if (sa[k] != sb[k]) return sa[k] < sb[k] ? -1 : 1;
    }
    return na == nb ? 0 : na < nb ? -1 : 1;
}
static int name_less(const pqv_ctx *c, int32_t a, int32_t b) {
    int d = name_cmp(c, a, b);
    return d != 0 ? d < 0 : a < b;
}

/* The rescanning check fails at the least k with an equal name at some j < k: the second
 * tensor (by index) of some run of equal names; sorted by (name, index), that is the second
 * entry of a run, and the answer the least of those. */
int32_t pqv_index_dup_name(const pqv_ctx *c) {
    int32_t *a = c->ix->order, best = -1;
    uint32_t k, n = c->n_tensors;
    for (k = 0; k < n; k++) a[k] = (int32_t)k;
    heap_sort(c, a, n, name_less);
    for (k = 1; k < n; k++) {
        if (name_cmp(c, a[k - 1u], a[k]) == 0 && (k < 2u || name_cmp(c, a[k - 2u], a[k - 1u]) != 0) &&
            (best < 0 || a[k] < best)) {
            best = a[k];
        }
    }
    return best;
}

static int offset_less(const pqv_ctx *c, int32_t a, int32_t b) {
    uint32_t oa = t_offset(c, a), ob = t_offset(c, b);
    return oa != ob ? oa < ob : a < b;
}

void pqv_index_alias(const pqv_ctx *c, int32_t (*parent)(const pqv_ctx *c, uint32_t j)) {
    pqv_index *ix = c->ix;
    uint32_t t, j, n = c->n_tensors;
    /* Roots in op order: the data flow passed, so an alias's input was produced by an earlier
     * op (or is a graph input, produced by none), whose root is final by then. */
    for (t = 0; t < n; t++) ix->root[t] = (int32_t)t;
    for (j = 0; j < c->n_ops; j++) {
        int32_t y = op_output(c, j), x;
        if (ix->producer[y] != (int32_t)j) continue; /* alias_root follows the first producer */
        x = parent(c, j);
        if (x >= 0) ix->root[y] = ix->root[x];
    }
    /* Each root's aliases by index: a counting sort on root (stable). */
    for (t = 0; t <= n; t++) ix->head[t] = 0;
    for (t = 0; t < n; t++) {
        if (ix->root[t] != (int32_t)t) ix->head[ix->root[t] + 1]++;
    }
    for (t = 0; t < n; t++) ix->head[t + 1] += ix->head[t];
    for (t = 0; t < n; t++) { /* order[] as the fill pointers for now */
        ix->order[t] = ix->head[t];
    }
    for (t = 0; t < n; t++) {
        if (ix->root[t] != (int32_t)t) ix->list[ix->order[ix->root[t]]++] = (int32_t)t;
    }
    /* The arena tensors by (offset, index). */
    ix->n_order = 0;
    for (t = 0; t < n; t++) {
        if (t_kind(c, (int32_t)t) == KIND_ARENA) ix->order[ix->n_order++] = (int32_t)t;
    }
    heap_sort(c, ix->order, ix->n_order, offset_less);
}

uint32_t pqv_index_lower_bound(const pqv_ctx *c, uint32_t o) {
    uint32_t lo = 0, hi = c->ix->n_order;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2u;
        if (t_offset(c, c->ix->order[mid]) < o) {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    return lo;
}
