/*
 * pq_model_validate, once the records passed: the data flow (every arena tensor
 * read was written before, nothing written twice, graph outputs produced), the
 * arena plan (no two live tensors share bytes; a RESHAPE may alias its input, a SLICE
 * the contiguous run of its input it takes),
 * format 1.1's scratch plan (SCRA), and the dispatch to each op's contract
 * through the registry (pq_ops.def).
 */
#include "pq_contract.h"

/* ---- data flow, by rescanning instead of sets ----
 * Each helper first reads the workspace's table when there is one (c->ix, pq_model_index.c:
 * the same answer, computed once); else it rescans the records, as firmware does. */
static int is_graph_input(const pqv_ctx *c, int32_t t) {
    uint32_t k;
    if (PQV_IX(c)) return c->ix->io[t] & PQV_IO_IN;
    for (k = 0; k < c->n_in; k++) {
        if (grio(c, k) == t) return 1;
    }
    return 0;
}
static int is_graph_output(const pqv_ctx *c, int32_t t) {
    uint32_t k;
    if (PQV_IX(c)) return (c->ix->io[t] & PQV_IO_OUT) != 0;
    for (k = 0; k < c->n_out; k++) {
        if (grio(c, c->n_in + k) == t) return 1;
    }
    return 0;
}
/* Is t produced before op i runs: a graph input or an output of an earlier op. */
static int produced_before(const pqv_ctx *c, int32_t t, uint32_t i) {
    uint32_t j;
    if (is_graph_input(c, t)) return 1;
    if (PQV_IX(c)) return c->ix->producer[t] >= 0 && (uint32_t)c->ix->producer[t] < i;
    for (j = 0; j < i; j++) {
        if (op_output(c, j) == t) return 1;
    }
    return 0;
}

/* An arena tensor's lifetime: the first and last op that touches it (-1 for a graph
 * input; n_ops for a graph output). 0 when t is neither a graph input nor touched by an op. */
static int lifetime(const pqv_ctx *c, int32_t t, int64_t *first, int64_t *last) {
    int used = is_graph_input(c, t);
    uint32_t i, k;
    *first = -1;
    *last = -1;
    if (PQV_IX(c)) return pqv_index_life(c, t, first, last);
    for (i = 0; i < c->n_ops; i++) {
        uint32_t n = op_n_in(c, i) + 1;
        for (k = 0; k < n; k++) {
            if (op_input(c, i, k) == t) {
                if (!used) *first = i;
                used = 1;
                *last = i;
                break;
            }
        }
    }
    if (used && is_graph_output(c, t)) *last = c->n_ops;
    return used;
}

/* The byte offset in its input of SLICE op j's box when the box is one contiguous run of the
 * input's bytes (the dims outside its innermost cut one extent 1, those inside whole), the
 * input is int8 or int16 of the output's rank and dtype, and each begin keeps the box inside;
 * else -1. The records are valid by now (ranks <= 6, dims in [1, 2^24]); the op's contract has
 * not run, so the begins are checked here too: the product stays below 2^31 * 2. */
static int64_t slice_run_offset(const pqv_ctx *c, uint32_t j) {
    const uint8_t *x, *y;
    int32_t d, rank, cut;
    int64_t off = 0, stride;
    if (op_n_in(c, j) != 1 || op_input(c, j, 0) < 0) return -1;
    x = tensor_rec(c, (uint32_t)op_input(c, j, 0));
    y = tensor_rec(c, (uint32_t)op_output(c, j));
    if (x[0] != y[0] || x[1] != y[1] || (x[0] != DT_INT8 && x[0] != DT_INT16)) return -1;
    rank = x[1];
    stride = x[0] == DT_INT16 ? 2 : 1;
    for (cut = rank - 1; cut >= 0 && rdi32(x + 12 + 4 * cut) == rdi32(y + 12 + 4 * cut); cut--) {
    }
    for (d = rank - 1; d >= 0; d--) {
        const int32_t in = rdi32(x + 12 + 4 * d), out = rdi32(y + 12 + 4 * d), b = op_param(c, j, (uint32_t)d);
        if (out < 1 || out > in || b < 0 || b > in - out) return -1;
        if ((d < cut && out != 1) || (d > cut && out != in)) return -1;
        off += (int64_t)b * stride;
        stride *= in;
    }
    return off;
}

/* The tensor whose arena bytes op j's output shares, one step: a RESHAPE's input when the
 * output sits at its offset, a SLICE's when the output sits inside it at the offset of its
 * box's contiguous run; else -1. */
static int32_t alias_parent(const pqv_ctx *c, uint32_t j) {
    int32_t x, t = op_output(c, j);
    int64_t delta = 0;
    if (op_code(c, j) == PQ_OP_SLICE) {
        delta = slice_run_offset(c, j);
        if (delta < 0) return -1;
    } else if (op_code(c, j) != PQ_OP_RESHAPE) {
        return -1;
    }
    x = op_input(c, j, 0);
    if (t_kind(c, x) != KIND_ARENA || (int64_t)t_offset(c, x) + delta != (int64_t)t_offset(c, t)) return -1;
    return x;
}

/* The tensor whose arena bytes t shares: follow alias_parent from t's (first) producer back
 * to the first tensor that aliases none (its alias group's root). The data flow is valid by
 * now, so each step goes to an earlier op. */
static int32_t alias_root(const pqv_ctx *c, int32_t t) {
    uint32_t steps, j;
    if (PQV_IX(c)) return c->ix->root[t];
    for (steps = 0; steps <= c->n_ops; steps++) {
        int32_t x;
        for (j = 0; j < c->n_ops && op_output(c, j) != t; j++) {
        }
        if (j == c->n_ops || (x = alias_parent(c, j)) < 0) return t;
        t = x;
    }
    return t;
}

/* The arena plan: each alias group is merged into one span (its root's bytes, which hold
 * every member's: a RESHAPE's are its input's, a SLICE's a run inside them; the hull of their
 * lifetimes); two spans must not share bytes while both are live. Here, for each group root r
 * (in place of sorting), every tensor s of another group that starts inside r's bytes and is
 * live during r's span is a conflict: two tensors of different groups whose bytes and lives
 * meet have one's start inside the other's bytes, so inside its group's span, and its life
 * meets that group's hull; so this finds every such pair. */
/* The span of the alias group whose root is r: returns 0 when r is no group root (a
 * constant, never used, or aliasing another tensor); else its bytes [*o, *end) and
 * the hull [*fr, *lr] of its members' lifetimes. */
static int group_span(const pqv_ctx *c, int32_t r, uint32_t *o, int64_t *end, int64_t *fr, int64_t *lr) {
    int32_t t, n = (int32_t)c->n_tensors;
    int64_t f, l;
    if (t_kind(c, r) != KIND_ARENA || !lifetime(c, r, fr, lr) || alias_root(c, r) != r) return 0;
    *o = t_offset(c, r);
    *end = (int64_t)*o + t_nbytes(c, r);
    if (PQV_IX(c)) { /* r's aliases by index, the same test on each as below (the rest fail it) */
        int32_t p;
        for (p = c->ix->head[r]; p < c->ix->head[r + 1]; p++) {
            t = c->ix->list[p];
            if (t_kind(c, t) != KIND_ARENA || t_offset(c, t) < *o || (int64_t)t_offset(c, t) >= *end) continue;
            if (!lifetime(c, t, &f, &l)) continue;
            if (f < *fr) *fr = f;
            if (l > *lr) *lr = l;
            if ((int64_t)t_offset(c, t) + t_nbytes(c, t) > *end) *end = (int64_t)t_offset(c, t) + t_nbytes(c, t);
        }
        return 1;
    }
    for (t = 0; t < n; t++) { /* the group: members start inside the root's bytes */
        if (t == r || t_kind(c, t) != KIND_ARENA || t_offset(c, t) < *o || (int64_t)t_offset(c, t) >= *end) continue;
        if (!lifetime(c, t, &f, &l) || alias_root(c, t) != r) continue;
        if (f < *fr) *fr = f;
        if (l > *lr) *lr = l;
        if ((int64_t)t_offset(c, t) + t_nbytes(c, t) > *end) *end = (int64_t)t_offset(c, t) + t_nbytes(c, t);
    }
    return 1;
}

/* With the workspace: the least index t the loop below would fail at, or -1. ix->order holds
 * the arena tensors with a lifetime by (offset, first use): for each offset in [o, end), skip
 * the prefix whose last uses all precede fr (max_last < fr), stop at the first use past lr;
 * what is left meets [fr, lr] (in a valid plan, r's own group alone). */
static int32_t first_overlap_ix(const pqv_ctx *c, int32_t r, uint32_t o, int64_t end, int64_t fr, int64_t lr) {
    const pqv_index *ix = c->ix;
    uint32_t p = pqv_index_bound(c, 0, o, 0), q, s;
    int32_t best = -1;
    while (p < ix->n_order && (int64_t)t_offset(c, ix->order[p]) < end) {
        uint32_t lo = p, hi;
        q = pqv_index_bound(c, p, t_offset(c, ix->order[p]), 1); /* past this offset's entries */
        for (hi = q; lo < hi;) { /* the first s in [p, q) with max_last >= fr (non-decreasing) */
            uint32_t mid = lo + (hi - lo) / 2u;
            if (ix->max_last[mid] < fr) {
                lo = mid + 1u;
            } else {
                hi = mid;
            }
        }
        for (s = lo; s < q; s++) {
            int32_t t = ix->order[s];
            int64_t f, l;
            lifetime(c, t, &f, &l);
            if (f > lr) break;
            if (fr > l || ix->root[t] == r || (best >= 0 && t > best)) continue;
            best = t;
        }
        p = q;
    }
    return best;
}

/* Without the workspace: the least index t of another group that starts inside [o, end) and
 * is live in [fr, lr], or -1. */
static int32_t first_overlap_scan(const pqv_ctx *c, int32_t r, uint32_t o, int64_t end, int64_t fr, int64_t lr) {
    int32_t t, n = (int32_t)c->n_tensors;
    for (t = 0; t < n; t++) {
        int64_t f, l;
        if (t_kind(c, t) != KIND_ARENA || t_offset(c, t) < o || (int64_t)t_offset(c, t) >= end) continue;
        if (!lifetime(c, t, &f, &l) || f > lr || fr > l) continue;
        if (alias_root(c, t) != r) return t;
    }
    return -1;
}

static int check_arena_plan(const pqv_ctx *c) {
    int32_t r, t, n = (int32_t)c->n_tensors;
    for (r = 0; r < n; r++) {
        int64_t fr, lr, end;
        uint32_t o;
        if (!group_span(c, r, &o, &end, &fr, &lr)) continue;
        t = PQV_IX(c) ? first_overlap_ix(c, r, o, end, fr, lr) : first_overlap_scan(c, r, o, end, fr, lr);
        if (t >= 0) {
            return pqv_fail(c, PQ_MODEL_E_TENSOR_ARENA_OVERLAP, (uint32_t)alias_root(c, t), NO_OFFSET, t_offset(c, t),
                            "arena bytes overlap another tensor while both are live");
        }
    }
    return PQ_MODEL_OK;
}

/* SCRA holds one record per op; size 0 has offset 0; each offset is
 * 64-aligned and the bytes lie inside the arena (compared without wraparound). */
int pqv_check_scratch_records(const pqv_ctx *c) {
    uint32_t i;
    if (!c->has_scra) return PQ_MODEL_OK;
    if ((uint64_t)c->n_ops * PQV_SCRATCH_SIZE != c->scra_size) {
        return pqv_fail(c, PQ_MODEL_E_SECTION_SIZE, (c->scra_at - PQV_HEADER_SIZE) / PQV_SECTION_SIZE, c->scra_at + 8,
                    c->scra_size, "must hold one 8-byte record per op");
    }
    for (i = 0; i < c->n_ops; i++) {
        uint32_t at = c->scra_off + PQV_SCRATCH_SIZE * i, off = rd32(c->b + at), size = rd32(c->b + at + 4);
        if (size == 0 && off != 0) {
            return pqv_fail(c, PQ_MODEL_E_SCRATCH_OFFSET, i, at, off, "must be 0 when the size is 0");
        }
        if (off % 64u || off > c->arena || size > c->arena - off) {
            return pqv_fail(c, PQ_MODEL_E_SCRATCH_OFFSET, i, at, off, "not 64-aligned or past the arena");
        }
    }
    return PQ_MODEL_OK;
}

/* The scratch plan: op i's scratch shares no byte with a tensor group live during
 * op i (its lifetime hull contains i). Scratch of different ops may overlap. */
static int check_scratch_plan(const pqv_ctx *c) {
    int32_t r, n = (int32_t)c->n_tensors;
    uint32_t i;
    if (!c->has_scra) return PQ_MODEL_OK;
    for (r = 0; r < n; r++) {
        int64_t fr, lr, end;
        uint32_t o;
        if (!group_span(c, r, &o, &end, &fr, &lr)) continue;
        /* with the workspace, only the ops of the group's lifetime (the others are skipped below) */
        for (i = PQV_IX(c) && fr > 0 ? (uint32_t)fr : 0u; i < c->n_ops && !(PQV_IX(c) && (int64_t)i > lr); i++) {
            uint32_t at = c->scra_off + PQV_SCRATCH_SIZE * i, so = rd32(c->b + at), sn = rd32(c->b + at + 4);
            if (sn == 0 || (int64_t)i < fr || (int64_t)i > lr) continue;
            if ((int64_t)o < (int64_t)so + sn && (int64_t)so < end) {
                return pqv_fail(c, PQ_MODEL_E_SCRATCH_OVERLAP, i, at, so, "overlaps a tensor live during the op");
            }
        }
    }
    return PQ_MODEL_OK;
}

static int names_equal(const pqv_ctx *c, uint32_t a, uint32_t b) {
    const uint8_t *ra = tensor_rec(c, a), *rb = tensor_rec(c, b);
    uint32_t n = rd32(ra + 8), k;
    const uint8_t *sa = c->b + c->off[S_STRS] + rd32(ra + 4), *sb = c->b + c->off[S_STRS] + rd32(rb + 4);
    if (rd32(rb + 8) != n) return 0;
    for (k = 0; k < n && sa[k] == sb[k]; k++) {
    }
    return k == n;
}

/* The first graph input (outputs 0) or output (1) k listed at an earlier position too, or -1. */
static int32_t first_dup_io(const pqv_ctx *c, int outputs) {
    const uint32_t base = outputs ? c->n_in : 0u, n = outputs ? c->n_out : c->n_in;
    uint32_t k, j;
    if (PQV_IX(c)) return pqv_index_dup_io(c, outputs);
    for (k = 0; k < n; k++) {
        for (j = 0; j < k; j++) {
            if (grio(c, base + j) == grio(c, base + k)) return (int32_t)k;
        }
    }
    return -1;
}

/* The first tensor k whose name an earlier tensor has, or -1. */
static int32_t first_dup_name(const pqv_ctx *c) {
    uint32_t k, j;
    if (PQV_IX(c)) return pqv_index_dup_name(c);
    for (k = 0; k < c->n_tensors; k++) {
        for (j = 0; j < k; j++) {
            if (names_equal(c, j, k)) return (int32_t)k;
        }
    }
    return -1;
}

int pqv_check_graph(const pqv_ctx *c) {
    uint32_t i, k;
    int32_t dup;
    if (PQV_IX(c)) pqv_index_flow(c);
    for (k = 0; k < c->n_in; k++) {
        int32_t t = grio(c, k);
        if (t_kind(c, t) == KIND_CONST) {
            return pqv_fail(c, PQ_MODEL_E_GRAPH_INPUT_CONST, k, NO_OFFSET, t, "a graph input cannot be a constant");
        }
    }
    for (i = 0; i < c->n_ops; i++) {
        uint32_t at = op_at(c, i), n_in = op_n_in(c, i);
        int32_t y = op_output(c, i);
        for (k = 0; k < n_in; k++) {
            int32_t t = op_input(c, i, k);
            if (t == -1) continue;
            if (t_kind(c, t) != KIND_CONST && !produced_before(c, t, i)) {
                return pqv_fail(c, PQ_MODEL_E_OP_READ_BEFORE_WRITE, i, at, t, "tensor read before it is produced");
            }
        }
        if (t_kind(c, y) == KIND_CONST) {
            return pqv_fail(c, PQ_MODEL_E_OP_WRITES_CONST, i, at, y, "op writes a constant tensor");
        }
        if (produced_before(c, y, i)) return pqv_fail(c, PQ_MODEL_E_OP_WRITES_TWICE, i, at, y, "tensor produced twice");
        for (k = 0; k < n_in; k++) {
            if (op_input(c, i, k) == y) {
                return pqv_fail(c, PQ_MODEL_E_OP_WRITES_INPUT, i, at, y, "tensor is input and output");
            }
        }
    }
    for (k = 0; k < c->n_out; k++) {
        int32_t t = grio(c, c->n_in + k);
        if (!produced_before(c, t, c->n_ops)) {
            return pqv_fail(c, PQ_MODEL_E_GRAPH_OUTPUT_UNPRODUCED, k, NO_OFFSET, t, "output tensor is never produced");
        }
    }
    if ((dup = first_dup_io(c, 0)) >= 0) {
        return pqv_fail(c, PQ_MODEL_E_GRAPH_INPUT_DUPLICATE, (uint32_t)dup, NO_OFFSET, grio(c, (uint32_t)dup),
                        "a tensor is listed twice");
    }
    if ((dup = first_dup_io(c, 1)) >= 0) {
        return pqv_fail(c, PQ_MODEL_E_GRAPH_OUTPUT_DUPLICATE, (uint32_t)dup, NO_OFFSET,
                        grio(c, c->n_in + (uint32_t)dup), "a tensor is listed twice");
    }
    if ((dup = first_dup_name(c)) >= 0) {
        return pqv_fail(c, PQ_MODEL_E_TENSOR_NAME_DUPLICATE, (uint32_t)dup, NO_OFFSET,
                        rd32(tensor_rec(c, (uint32_t)dup) + 4), "duplicate tensor name");
    }
    if (PQV_IX(c)) pqv_index_alias(c, alias_parent);
    TRY(check_arena_plan(c));
    return check_scratch_plan(c);
}


/* ---- each op's contract, dispatched through the registry ---- */
/* The op's dtype variant (pq_variant_of), from its tensors' dtypes. */
static int op_variant(const pqv_ctx *c, uint32_t i) {
    uint32_t k, dtype_bits = 0;
    for (k = 0; k <= op_n_in(c, i); k++) {
        int32_t t = op_input(c, i, k);
        if (t >= 0) dtype_bits |= 1u << (tensor_rec(c, (uint32_t)t)[0] & 31u);
    }
    return pq_variant_of(dtype_bits);
}

int pqv_check_contract(const pqv_ctx *c, uint32_t i) {
    pq_contract_ctx o;
    int variant = op_variant(c, i);
    o.c = c;
    o.i = i;
    o.at = op_at(c, i);
    if (pq_op_kernel_find(op_code(c, i), variant) == NULL) {
        return pqv_fail(c, PQ_MODEL_E_OP_DTYPES, i, o.at, variant,
                        variant == PQ_VARIANT_s16 ? "the op has no kernel for int16 tensors"
                                                  : "the op has no kernel for int4 tensors");
    }
    if (variant != PQ_VARIANT_s8) {
        switch (op_code(c, i) * PQ_N_VARIANTS + (uint32_t)variant) {
#define PQ_VARIANT(NAME, name, v, contract, fast) \
    case PQ_OP_##NAME * PQ_N_VARIANTS + PQ_VARIANT_##v: return contract(&o);
#include "pq_variants.def"
#undef PQ_VARIANT
        default: return pqv_fail(c, PQ_MODEL_E_OP_DTYPES, i, o.at, variant, "no contract"); /* unreachable */
        }
    }
    switch (op_code(c, i)) {
#define PQ_OP(code, NAME, name, n_in, max_in, opt, params_t, PARAMS, contract, fast) \
    case code: return contract(&o);
#include "pq_ops.def"
#undef PQ_OP
    default: return pqv_fail(c, PQ_MODEL_E_OP_OPCODE, i, o.at, op_code(c, i), "unknown op code"); /* unreachable */
    }
}
