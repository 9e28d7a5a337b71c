/*
 * The validator's optional workspace (pq_model_validate_ws): per-tensor facts computed once,
 * in O(tensors + OPIO entries) plus two sorts of O(n log n), which the graph checks
 * (pq_model_graph.c) then read in O(1) instead of rescanning the records. Each table holds
 * exactly what the rescanning helper it replaces returns, so the verdict is the same.
 * No malloc, no recursion: the caller's buffer, and a heap sort.
 */
#include "pq_contract.h"

#define N_INT32_TABLES 8u /* producer, first_touch, last_touch, root, head (+1), list, order, max_last */

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
    ix->max_last = p + 7u * n + 1u;
    ix->io = (uint8_t *)(p + 8u * n + 1u);
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
/* Sorted by (hash, name, index): names of long common prefixes (an unrolled graph's) are
 * compared whole only when their hashes meet. ix->max_last holds the hashes for now. */
static int name_less(const pqv_ctx *c, int32_t a, int32_t b) {
    int d;
    if (c->ix->max_last[a] != c->ix->max_last[b]) return c->ix->max_last[a] < c->ix->max_last[b];
    d = name_cmp(c, a, b);
    return d != 0 ? d < 0 : a < b;
}

static int same_name(const pqv_ctx *c, int32_t a, int32_t b) {
    return c->ix->max_last[a] == c->ix->max_last[b] && name_cmp(c, a, b) == 0;
}

/* The rescanning check fails at the least k with an equal name at some j < k: the second
 * tensor (by index) of some run of equal names; sorted by (hash, name, index), equal names
 * are runs, that is the second entry of one, and the answer the least of those. */
int32_t pqv_index_dup_name(const pqv_ctx *c) {
    int32_t *a = c->ix->order, best = -1;
    uint32_t k, n = c->n_tensors;
    for (k = 0; k < n; k++) {
        const uint8_t *r = tensor_rec(c, k), *str = c->b + c->off[S_STRS] + rd32(r + 4);
        uint32_t h = 2166136261u, j, len = rd32(r + 8); /* FNV-1a */
        for (j = 0; j < len; j++) h = (h ^ str[j]) * 16777619u;
        c->ix->max_last[k] = to_i32(h);
        a[k] = (int32_t)k;
    }
    heap_sort(c, a, n, name_less);
    for (k = 1; k < n; k++) {
        if (same_name(c, a[k - 1u], a[k]) && (k < 2u || !same_name(c, a[k - 2u], a[k - 1u])) &&
            (best < 0 || a[k] < best)) {
            best = a[k];
        }
    }
    return best;
}

int pqv_index_life(const pqv_ctx *c, int32_t t, int64_t *first, int64_t *last) {
    const pqv_index *ix = c->ix;
    int used = (ix->io[t] & PQV_IO_IN) != 0;
    *first = -1;
    *last = -1;
    if (ix->first_touch[t] >= 0) {
        if (!used) *first = ix->first_touch[t];
        used = 1;
        *last = ix->last_touch[t];
    }
    if (used && (ix->io[t] & PQV_IO_OUT)) *last = c->n_ops;
    return used;
}

/* By offset, then first use (then index: distinct keys). */
static int offset_less(const pqv_ctx *c, int32_t a, int32_t b) {
    uint32_t oa = t_offset(c, a), ob = t_offset(c, b);
    int64_t fa, fb, l;
    if (oa != ob) return oa < ob;
    pqv_index_life(c, a, &fa, &l);
    pqv_index_life(c, b, &fb, &l);
    return fa != fb ? fa < fb : a < b;
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
    /* The arena tensors with a lifetime (the arena plan skips the others) by (offset, first
     * use, index); max_last: the latest last use so far among those at the same offset. */
    ix->n_order = 0;
    for (t = 0; t < n; t++) {
        int64_t f, l;
        if (t_kind(c, (int32_t)t) == KIND_ARENA && pqv_index_life(c, (int32_t)t, &f, &l)) {
            ix->order[ix->n_order++] = (int32_t)t;
        }
    }
    heap_sort(c, ix->order, ix->n_order, offset_less);
    for (j = 0; j < ix->n_order; j++) {
        int64_t f, l;
        pqv_index_life(c, ix->order[j], &f, &l);
        if (j > 0 && t_offset(c, ix->order[j - 1u]) == t_offset(c, ix->order[j]) && ix->max_last[j - 1u] > l) {
            l = ix->max_last[j - 1u];
        }
        ix->max_last[j] = (int32_t)l;
    }
}

uint32_t pqv_index_bound(const pqv_ctx *c, uint32_t from, uint32_t o, int upper) {
    uint32_t lo = from, hi = c->ix->n_order;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2u;
        uint32_t om = t_offset(c, c->ix->order[mid]);
        if (upper ? om <= o : om < o) {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    return lo;
}
