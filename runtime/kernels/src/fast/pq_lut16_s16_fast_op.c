/*
 * The fast hook of the s16 element-wise ops whose output depends on the input value alone
 * (LOGISTIC and TANH s16, QUANTIZE with an int16 side): `prepare` runs the op's own s16
 * reference kernel on every input value (256 for an int8 input, 65,536 for an int16 one, in
 * chunks of 256) and `eval` is a lookup, so the bytes are the reference kernel's by
 * construction, as pq_lut_s8_fast_op.c does for int8.
 *
 * An int16 table is 64 or 128 KB and its building runs the kernel 65,536 times: planned only
 * for tensors of at least PQ_LUT16_MIN_COUNT values, where the lookups repay it. A smaller
 * int16 LOGISTIC or TANH (a recurrent cell's gates, every step) runs the reference arithmetic
 * 8 values a step on AVX2 instead (pq_sigmoid16_avx2: no table of its own; 16 on AVX-512,
 * pq_sigmoid16_avx512, from the table's 1 KB of interpolation pairs), and a smaller
 * QUANTIZE from int16 (a requantization between 16x8 layers, a 16x8 island's int8 exit) the
 * reference's MBQM in a loop the compiler vectorises (PQ_VEC_BUILDS), where pq_mbqm_vec is exact:
 * a multiplier >= 0 and |x + input offset| * 2^left inside int32.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pq_fast_bind.h"
#include "pq_fast_isa.h"
#include "pq_fast_vec.h"
#include "pq_sigmoid16.h"

#define LUT16_MAX_INPUTS 4
#define PQ_LUT16_MIN_COUNT 16384
#define CHUNK 256

typedef struct {
    int32_t n, in16, out16;
    int32_t interp; /* 1: LOGISTIC, 2: TANH by pq_sigmoid16_avx2, 3: QUANTIZE by requant16 (no
                     * table); 0: the table */
    int32_t level;  /* requant16's build (pq_vec_avx2) */
    pq_sigmoid16_scale sc; /* interp's input scaling, taken at prepare */
    uint32_t pairs[PQ_SIGMOID16_TABLE]; /* interp on AVX-512 (level 2): the table as pq_sigmoid16_pairs */
    uint8_t table[]; /* entries (256 or 65,536) of 1 or 2 bytes, indexed by the input's bits */
} lut16_state;

static int dtype_ok(uint8_t dt) { return dt == PQ_DT_INT8 || dt == PQ_DT_INT16; }

/* 1 (LOGISTIC) or 2 (TANH) when the node, int16 to int16, can run pq_sigmoid16_avx2; else 0. */
static int interp_op(const pq_node *node, const pq_tensor *x, const pq_tensor *y, int isa) {
#if PQ_HAVE_X86_SIMD
    pq_sigmoid16_scale sc;
    if (!pq_vec_avx2(isa) || x->dtype != PQ_DT_INT16 || y->dtype != PQ_DT_INT16) return 0;
    if (node->opcode != PQ_OP_LOGISTIC && node->opcode != PQ_OP_TANH) return 0;
    if (node->n_inputs != 2 || node->io[1] < 0) return 0; /* the sigmoid table */
    if (pq_sigmoid16_scale_of((const pq_logistic_params *)node->params, &sc) != PQ_OK) return 0;
    return node->opcode == PQ_OP_LOGISTIC ? 1 : 2;
#else
    (void)node, (void)x, (void)y, (void)isa;
    return 0;
#endif
}

/* Whether the node is a QUANTIZE from int16 that requant16 computes exactly (pq_mbqm_vec's
 * bounds: |x + input_offset| <= 65536, so a left shift <= 14). */
static int requant_op(const pq_node *node, const pq_tensor *x) {
    const pq_quantize_params *p = (const pq_quantize_params *)node->params;
    if (node->opcode != PQ_OP_QUANTIZE || node->n_inputs != 1 || x->dtype != PQ_DT_INT16) return 0;
    return p->multiplier >= 0 && p->shift <= 14 && p->shift >= -31 && p->input_offset >= -32768 &&
           p->input_offset <= 32768;
}

/* pq_requantize of each int16 value into int16 or int8 outputs, vectorisable. */
PQ_INLINE pq_status requant16(const pq_quantize_params *p, int32_t n, const int16_t *x, void *out, int32_t out16) {
    const int32_t m = p->multiplier, off = p->input_offset, zo = p->output_offset;
    const int32_t left = p->shift > 0 ? p->shift : 0, right = p->shift > 0 ? 0 : -p->shift;
    int32_t i;
    if (out16) {
        int16_t *y = (int16_t *)out;
        for (i = 0; i < n; ++i) {
            const uint32_t v = (uint32_t)pq_mbqm_vec((int32_t)x[i] + off, m, left, right) + (uint32_t)zo;
            y[i] = (int16_t)pq_clamp(pq_wrap_i32(v), -32768, 32767);
        }
    } else {
        int8_t *y = (int8_t *)out;
        for (i = 0; i < n; ++i) {
            const uint32_t v = (uint32_t)pq_mbqm_vec((int32_t)x[i] + off, m, left, right) + (uint32_t)zo;
            y[i] = (int8_t)pq_clamp(pq_wrap_i32(v), -128, 127);
        }
    }
    return PQ_OK;
}

PQ_VEC_BUILDS(requant16, (const pq_quantize_params *p, int32_t n, const int16_t *x, void *out, int32_t out16),
              (p, n, x, out, out16))

static int lut16_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes, size_t *scratch_bytes) {
    const pq_tensor *x, *y;
    size_t entries;
    int32_t k;
    if (node->n_inputs < 1 || node->n_inputs > LUT16_MAX_INPUTS) return 0;
    x = &t[node->io[0]];
    y = &t[node->io[node->n_inputs]];
    if (x->count != y->count || !dtype_ok(x->dtype) || !dtype_ok(y->dtype)) return 0;
    if (x->dtype != PQ_DT_INT16 && y->dtype != PQ_DT_INT16) return 0; /* int8 -> int8 is the s8 kernel's */
    for (k = 1; k < node->n_inputs; ++k) {
        if (node->io[k] >= 0 && !t[node->io[k]].is_const) return 0; /* the output must depend on x alone */
    }
    if (x->dtype == PQ_DT_INT16 && x->count < PQ_LUT16_MIN_COUNT) {
        if (!interp_op(node, x, y, isa) && !requant_op(node, x)) return 0;
        *state_bytes = sizeof(lut16_state);
        *scratch_bytes = 0;
        return 1;
    }
    entries = x->dtype == PQ_DT_INT16 ? 65536u : 256u;
    *state_bytes = sizeof(lut16_state) + entries * (y->dtype == PQ_DT_INT16 ? 2u : 1u);
    *scratch_bytes = 0;
    return 1;
}

static pq_status lut16_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    lut16_state *s = (lut16_state *)state;
    const pq_tensor *x = &t[node->io[0]], *y = &t[node->io[node->n_inputs]];
    const int32_t entries = x->dtype == PQ_DT_INT16 ? 65536 : 256, width = y->dtype == PQ_DT_INT16 ? 2 : 1;
    int32_t base, k;
    s->n = x->count;
    s->in16 = x->dtype == PQ_DT_INT16;
    s->out16 = width == 2;
    s->interp = x->dtype == PQ_DT_INT16 && x->count < PQ_LUT16_MIN_COUNT ? interp_op(node, x, y, isa) : 0;
    s->level = pq_vec_avx2(isa);
    if (s->interp) {
        (void)pq_sigmoid16_scale_of((const pq_logistic_params *)node->params, &s->sc); /* interp_op checked it */
        if (s->level == 2) pq_sigmoid16_pairs((const int16_t *)(const void *)PQ_IN(node, t, 1), s->pairs);
        node->fast = s;
        return PQ_OK;
    }
    if (x->dtype == PQ_DT_INT16 && x->count < PQ_LUT16_MIN_COUNT) {
        if (!requant_op(node, x)) return PQ_ERR_PARAM;
        s->interp = 3;
        node->fast = s;
        return PQ_OK;
    }
    for (base = 0; base < entries; base += CHUNK) {
        int16_t x16[CHUNK];
        int8_t x8[CHUNK];
        pq_status st;
        for (k = 0; k < CHUNK; ++k) { /* entry base + k holds the input whose bits are base + k */
            const uint32_t bits = (uint32_t)(base + k);
            x16[k] = (int16_t)(bits >= 0x8000u ? (int32_t)bits - 0x10000 : (int32_t)bits);
            x8[k] = (int8_t)(bits >= 0x80u ? (int32_t)bits - 0x100 : (int32_t)bits);
        }
        st = pq_fast_run_on(node, t, NULL, PQ_VARIANT_s16, s->in16 ? (const void *)x16 : (const void *)x8, CHUNK,
                            s->table + (size_t)base * (size_t)width);
        if (st != PQ_OK) return PQ_ERR_PARAM;
    }
    node->fast = s;
    return PQ_OK;
}

static pq_status lut16_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    const lut16_state *s = (const lut16_state *)node->fast;
    const void *xv = PQ_IN(node, t, 0);
    void *yv = PQ_OUT(node, t);
    int32_t i;
    (void)scratch;
    (void)part;
    (void)n_parts;
    if (s->interp == 3) {
        return PQ_VEC_CALL(s->level, requant16,
                           ((const pq_quantize_params *)node->params, s->n, (const int16_t *)xv, yv, s->out16));
    }
#if PQ_HAVE_X86_SIMD
    if (s->interp) {
        const pq_logistic_params *p = (const pq_logistic_params *)node->params;
        const int16_t *tab = (const int16_t *)PQ_IN(node, t, 1), *x = (const int16_t *)xv;
        int16_t *y = (int16_t *)yv;
        if (s->level == 2) {
            pq_sigmoid16_avx512(&s->sc, s->interp == 2, s->n, s->pairs, x, y);
            return PQ_OK;
        }
        i = pq_sigmoid16_avx2(&s->sc, s->interp == 2, s->n, tab, x, y);
        return pq_sigmoid16_run(p, s->n - i, tab, x + i, y + i, s->interp == 2); /* the tail */
    }
#endif
    if (s->out16) {
        const int16_t *tab = (const int16_t *)(const void *)s->table;
        int16_t *y = (int16_t *)yv;
        if (s->in16) {
            const uint16_t *x = (const uint16_t *)xv;
            for (i = 0; i < s->n; ++i) y[i] = tab[x[i]];
        } else {
            const uint8_t *x = (const uint8_t *)xv;
            for (i = 0; i < s->n; ++i) y[i] = tab[x[i]];
        }
    } else {
        const uint16_t *x = (const uint16_t *)xv; /* an int8 output with an s16 variant: x is int16 */
        uint8_t *y = (uint8_t *)yv;
        for (i = 0; i < s->n; ++i) y[i] = s->table[x[i]];
    }
    return PQ_OK;
}

static const char *lut16_name(const pq_node *node) {
    const lut16_state *s = (const lut16_state *)node->fast;
    if (s == NULL || !s->interp) return "fast-lut16";
    return s->interp == 3 ? "fast-requant16" : "fast-sigmoid16";
}

const pq_fast_op pq_lut16_s16_fast_op = {lut16_plan, lut16_prepare, lut16_eval, NULL, lut16_name};
