/*
 * ADD, vectorised over elements (same bytes as pq_add_s8), with every
 * broadcast the reference takes. Every element goes through TFLite's three
 * rescales (two inputs, then the sum), lane by lane, with the exact
 * MultiplyByQuantizedMultiplier of pq_requant_x86.h (pq_requant_neon.h on
 * aarch64), in the isa's same-shape loop (pq_isa_traits.h add).
 *
 * A broadcast becomes same-shape calls over chunks of output rows
 * (pq_add_fast_plan): which input elements pair up is all broadcasting
 * changes, so each chunk's operands are the input rows as broadcasting pairs
 * them, read in place where an input is as long as the output and otherwise
 * gathered into scratch (row copies, or one value repeated). A row shorter
 * than the vector width would waste most of each step; a chunk of many rows
 * does not. Squeeze-excitation's x[1, H, W, C] + g[1, 1, 1, C] reads x in
 * place against C-value rows of g tiled once per run.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pq_fast.h"
#include "pq_fast_vec.h"
#include "pq_isa_traits.h"

/* Whether add_plain is exact for p: |x + offset| * 2^left_shift stays below 2^30 for both
 * inputs and every shift is a right shift (TFLite's int8 ADD: offsets within +-255 once
 * validated, left shift 20, shifts <= 0), so no step wraps: each rescaled input keeps below
 * 2^30 in magnitude (|SRDHM(x, M)| <= |x|), their sum below 2^31, and SRDHM never meets
 * its saturating case (INT32_MIN twice). */
static int add_plain_ok(const pq_add_params *p)
{
    const int64_t m1 = 128 + (p->input1_offset < 0 ? -(int64_t)p->input1_offset : p->input1_offset);
    const int64_t m2 = 128 + (p->input2_offset < 0 ? -(int64_t)p->input2_offset : p->input2_offset);
    if (p->left_shift < 0 || p->left_shift > 20 || m1 > 65536 || m2 > 65536) return 0;
    if (p->input1_shift > 0 || p->input1_shift < -31 || p->input2_shift > 0 || p->input2_shift < -31) return 0;
    if (p->output_shift > 0 || p->output_shift < -31 || p->output_offset < -128 || p->output_offset > 127) return 0;
    return (m1 << p->left_shift) < ((int64_t)1 << 30) && (m2 << p->left_shift) < ((int64_t)1 << 30);
}

/* Portable: pq_add_s8's pq_add_one in plain int32 steps (add_plain_ok), branch-free, which
 * compilers vectorise (aarch64: smull; x86's portable build: SSE2). */
static void add_plain(const pq_add_params *p, int32_t n, const int8_t *a, const int8_t *b, int8_t *y)
{
    const int32_t o1 = p->input1_offset, o2 = p->input2_offset, ls = p->left_shift;
    const int32_t m1 = p->input1_multiplier, m2 = p->input2_multiplier, mo = p->output_multiplier;
    const int32_t r1 = -p->input1_shift, r2 = -p->input2_shift, ro = -p->output_shift;
    const int32_t oo = p->output_offset, lo = p->act_min, hi = p->act_max;
    int32_t i;
    for (i = 0; i < n; ++i) {
        const int32_t s1 = pq_rdpot(pq_srdhm_vec((a[i] + o1) * (1 << ls), m1), r1);
        const int32_t s2 = pq_rdpot(pq_srdhm_vec((b[i] + o2) * (1 << ls), m2), r2);
        y[i] = (int8_t)pq_clamp(pq_rdpot(pq_srdhm_vec(s1 + s2, mo), ro) + oo, lo, hi);
    }
}

pq_status pq_add_s8_fast(int isa, const pq_add_params *p, int32_t n, const int8_t *in1, const int8_t *in2,
                         int8_t *out)
{
    const pq_add_fn add = pq_isa_traits_get(pq_isa_traits_get(isa)->kernel_isa)->add;
    if (add != NULL) {
        add(p, n, in1, in2, out);
        return PQ_OK;
    }
    if (add_plain_ok(p)) {
        add_plain(p, n, in1, in2, out);
        return PQ_OK;
    }
    /* Parameters no valid file has: the reference kernel on a flat shape (its no-broadcast loop). */
    return pq_add_s8(p, 1, &n, in1, &n, in2, &n, out);
}

static int32_t add_count(int32_t rank, const int32_t *shape)
{
    int32_t d, c = 1;
    for (d = 0; d < rank; ++d) c *= shape[d]; /* <= the output's count: shapes broadcast */
    return c;
}

int pq_add_s8_fast_plan(int isa, int32_t rank, const int32_t *in1_shape, const int32_t *in2_shape,
                        const int32_t *out_shape, const pq_add_params *p, pq_add_fast_plan *plan)
{
    int32_t ext[PQ_MAX_DIMS], whole1[PQ_MAX_DIMS], whole2[PQ_MAX_DIMS];
    const int32_t n = pq_broadcast_collapse(rank, in1_shape, in2_shape, out_shape, ext, whole1, whole2);
    int32_t k, s1, s2, count1, count2, outer_b = 0;
    pq_broadcast *w = &plan->walk;
    if (n < 0) return 0;
    memset(plan, 0, sizeof *plan);
    plan->isa = pq_isa_traits_get(isa)->kernel_isa;
    plan->total = add_count(rank, out_shape);
    count1 = add_count(rank, in1_shape);
    count2 = add_count(rank, in2_shape);
    /* a: the input as long as the output when there is one, else one whole along the row. */
    plan->swap = n > 0 && (count1 != plan->total ? count2 == plan->total || !whole1[0] : 0);
    plan->p = *p;
    if (plan->swap) {
        const int32_t c = count1;
        count1 = count2;
        count2 = c;
        plan->p.input1_offset = p->input2_offset, plan->p.input2_offset = p->input1_offset;
        plan->p.input1_multiplier = p->input2_multiplier, plan->p.input2_multiplier = p->input1_multiplier;
        plan->p.input1_shift = p->input2_shift, plan->p.input2_shift = p->input1_shift;
        for (k = 0; k < n; ++k) {
            const int32_t t = whole1[k];
            whole1[k] = whole2[k];
            whole2[k] = t;
        }
    }
    plan->len = n > 0 ? ext[0] : 1;
    plan->rows = plan->total / plan->len;
    plan->chunk = plan->total < PQ_ADD_CHUNK ? plan->total : PQ_ADD_CHUNK;
    plan->b_row = n == 0 || whole2[0];
    plan->a_flat = count1 == plan->total;
    plan->b_flat = count2 == plan->total;
    /* The odometer over dims 1 .. n - 1, outermost first; strides in elements of each input. */
    s1 = plan->len;
    s2 = plan->b_row ? plan->len : 1;
    w->rank = n > 1 ? n - 1 : 0;
    w->total = plan->rows;
    for (k = 1; k < n; ++k) {
        const int32_t o = n - 1 - k;
        w->dims[o] = ext[k];
        w->stride1[o] = whole1[k] ? s1 : 0;
        w->stride2[o] = whole2[k] ? s2 : 0;
        outer_b |= whole2[k];
        s1 *= whole1[k] ? ext[k] : 1;
        s2 *= whole2[k] ? ext[k] : 1;
    }
    plan->b_fixed = !outer_b;
    return 1;
}

size_t pq_add_s8_fast_scratch_size(const pq_add_fast_plan *plan)
{
    const size_t one = ((size_t)plan->chunk + 63u) / 64u * 64u;
    return plan->a_flat && plan->b_flat ? 0 : 2u * one;
}

/* Row `j` of a chunk: input b's row at offset `off`, whole or one value repeated. */
static void add_gather_row(int8_t *dst, const int8_t *src, int32_t off, int32_t len, int32_t whole)
{
    if (whole) {
        memcpy(dst, src + off, (size_t)len);
    } else {
        memset(dst, (unsigned char)src[off], (size_t)len);
    }
}

pq_status pq_add_s8_fast_run(const pq_add_fast_plan *plan, const int8_t *in1, const int8_t *in2, int8_t *out,
                             void *scratch)
{
    const pq_add_params *p = &plan->p;
    const int8_t *a = plan->swap ? in2 : in1, *b = plan->swap ? in1 : in2;
    const int32_t len = plan->len, chunk = plan->chunk;
    int8_t *sa = (int8_t *)scratch; /* NULL when both inputs are read in place */
    int8_t *sb = sa != NULL ? sa + ((size_t)chunk + 63u) / 64u * 64u : NULL;
    pq_broadcast w = plan->walk;
    int32_t r, j, i, per, nr;
    pq_status st = PQ_OK;
    if (len >= chunk) { /* long rows: a in place; b in place or one value repeated */
        for (r = 0; r < plan->rows && st == PQ_OK; ++r) {
            int8_t *o = out + (size_t)r * (size_t)len;
            if (plan->b_row) {
                st = pq_add_s8_fast(plan->isa, p, len, a + w.off1, b + w.off2, o);
            } else {
                memset(sb, (unsigned char)b[w.off2], (size_t)chunk);
                for (i = 0; i < len && st == PQ_OK; i += chunk) {
                    st = pq_add_s8_fast(plan->isa, p, len - i < chunk ? len - i : chunk, a + w.off1 + i, sb, o + i);
                }
            }
            pq_broadcast_next(&w);
        }
        return st;
    }
    /* Short rows, `per` to a chunk. */
    per = chunk / len;
    if (plan->b_fixed && !plan->b_flat) { /* every row of b is its first: tile it once */
        for (j = 0; j < per; ++j) add_gather_row(sb + (size_t)j * (size_t)len, b, 0, len, plan->b_row);
    }
    for (r = 0; r < plan->rows && st == PQ_OK; r += nr) {
        const size_t at = (size_t)r * (size_t)len;
        nr = plan->rows - r < per ? plan->rows - r : per;
        if (!plan->a_flat || !(plan->b_flat || plan->b_fixed)) {
            for (j = 0; j < nr; ++j) {
                if (!plan->a_flat) memcpy(sa + (size_t)j * (size_t)len, a + w.off1, (size_t)len);
                if (!plan->b_flat && !plan->b_fixed) add_gather_row(sb + (size_t)j * (size_t)len, b, w.off2, len, plan->b_row);
                pq_broadcast_next(&w);
            }
        }
        st = pq_add_s8_fast(plan->isa, p, nr * len, plan->a_flat ? a + at : sa, plan->b_flat ? b + at : sb, out + at);
    }
    return st;
}
