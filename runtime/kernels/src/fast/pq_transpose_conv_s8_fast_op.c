/*
 * TRANSPOSE_CONV's fast hooks (pq_fast_ops.h) and kernel. The reference gathers per output
 * value, finding each filter tap's input pixel with a division for every output channel; here
 * the taps that reach an output pixel are listed once (rows, then columns, then their
 * product, in the op's scratch) and every output channel reuses the list. The input offset is
 * taken out of the inner loop: sum w * (x + off) = sum w * x + off * sum w, in wrapping 32-bit
 * arithmetic where that identity is exact, so the bytes are the reference's (and TFLM's).
 *
 * On AVX-512, where every shift is a right shift (pq_mbqm_vec exact), prepare lays the filter
 * out as [tap][in channel][out channel] (int32) with each tap's filter sums beside it, and an
 * output pixel adds each input value times its weight row into all output channels at once
 * (16 a register, the tail masked), then requantizes them there (even and odd 64-bit lanes). A 1-D decoder's upsampling layer (16 -> 16 channels, 4 taps, 64 outputs) went
 * from 13.5 to about 2 us. Elsewhere each output value is its own dot product, as before.
 * Scratch: 2 * (kh + kw + kh * kw) int32, the tap lists (filters up to 2^16 taps).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast_bind.h"
#include "pq_fast_isa.h"
#include "pq_fast_vec.h"
#include "pq_fixedpoint.h"
#include "pq_kernels.h"

#if PQ_HAVE_X86_SIMD
#include <immintrin.h>

#include "pq_requant_x86.h"
#endif

/* Filters above this many weights keep the dot-product path (the re-laid-out copy, 4 bytes a
 * weight, is state: 16 MB at most). */
#define TC_MAX_ROW_WEIGHTS (1 << 22)

typedef struct {
    int32_t rows; /* 1: the row path (AVX-512; wt, wsum, bias, right set), 0: dot products */
    int32_t taps, ic, oc;
    int32_t *wt;   /* [tap][ic][oc] */
    int32_t *wsum; /* [tap][oc]: each tap's filter sums over the input channels */
    int32_t *bias, *right; /* [oc]: the bias (0 when absent), the right shift */
} tc_state;

static size_t align16(size_t n) { return (n + 15u) / 16u * 16u; }

/* Whether the row path applies: AVX-512, every shift a right one (pq_mbqm_vec's exact case)
 * with a multiplier >= 0, and the copy under the cap. */
static int tc_rows_ok(const pq_node *node, const pq_tensor *t, int isa) {
    const pq_conv_operands a = pq_conv_operands_of(node, t);
    const int32_t *shift = (const int32_t *)a.shift;
    int32_t c;
    if (pq_vec_avx2(isa) != 2) return 0;
    if ((int64_t)a.filter.h * a.filter.w * a.in.c * a.out.c > TC_MAX_ROW_WEIGHTS) return 0;
    for (c = 0; c < a.out.c; ++c) {
        if (shift[c] > 0 || shift[c] < -31 || a.mult[c] < 0) return 0;
    }
    return 1;
}

static size_t tc_state_bytes(const pq_node *node, const pq_tensor *t, int rows) {
    const pq_conv_operands a = pq_conv_operands_of(node, t);
    const size_t taps = (size_t)a.filter.h * (size_t)a.filter.w, ic = (size_t)a.in.c, oc = (size_t)a.out.c;
    if (!rows) return sizeof(tc_state);
    return align16(sizeof(tc_state)) + align16(taps * ic * oc * 4u) + align16(taps * oc * 4u) + 2u * align16(oc * 4u);
}

static size_t tc_scratch(const pq_tensor *w, const pq_tensor *y) {
    const size_t kh = (size_t)w->dims[1], kw = (size_t)w->dims[2];
    (void)y;
    return 2u * (kh + kw + kh * kw) * sizeof(int32_t);
}

static int tc_plan(const pq_node *node, const pq_tensor *t, int isa, size_t *state_bytes, size_t *scratch_bytes) {
    const pq_tensor *w = &t[node->io[1]];
    /* Filters of more than 2^16 taps keep the reference kernel: the tap list's scratch must
     * stay small (and its size computable in a 32-bit size_t). */
    if ((int64_t)w->dims[1] * w->dims[2] > (1 << 16)) return 0;
    *state_bytes = tc_state_bytes(node, t, tc_rows_ok(node, t, isa));
    *scratch_bytes = tc_scratch(w, &t[node->io[node->n_inputs]]);
    return 1;
}

static pq_status tc_prepare(pq_node *node, const pq_tensor *t, int isa, void *state) {
    const pq_conv_operands a = pq_conv_operands_of(node, t);
    tc_state *s = (tc_state *)state;
    const int8_t *filter = (const int8_t *)a.w;
    const int32_t *bias = (const int32_t *)a.bias, *shift = (const int32_t *)a.shift;
    int32_t k, i, c;
    s->rows = tc_rows_ok(node, t, isa);
    s->taps = a.filter.h * a.filter.w;
    s->ic = a.in.c;
    s->oc = a.out.c;
    if (s->rows) {
        const size_t taps = (size_t)s->taps, ic = (size_t)s->ic, oc = (size_t)s->oc;
        uint8_t *base = (uint8_t *)state + align16(sizeof(tc_state));
        s->wt = (int32_t *)(void *)base;
        s->wsum = (int32_t *)(void *)(base + align16(taps * ic * oc * 4u));
        s->bias = (int32_t *)(void *)((uint8_t *)s->wsum + align16(taps * oc * 4u));
        s->right = (int32_t *)(void *)((uint8_t *)s->bias + align16(oc * 4u));
        for (c = 0; c < s->oc; ++c) { /* filter [oc][kh][kw][ic] */
            const int8_t *wo = filter + (size_t)c * taps * ic;
            for (k = 0; k < s->taps; ++k) {
                uint32_t sum = 0;
                for (i = 0; i < s->ic; ++i) {
                    const int8_t v = wo[(size_t)k * ic + (size_t)i];
                    s->wt[((size_t)k * ic + (size_t)i) * oc + (size_t)c] = v;
                    sum += (uint32_t)(int32_t)v;
                }
                s->wsum[(size_t)k * oc + (size_t)c] = pq_wrap_i32(sum);
            }
            s->bias[c] = bias != NULL ? bias[c] : 0;
            s->right[c] = -shift[c];
        }
    }
    node->fast = state;
    return PQ_OK;
}

/* The (input coordinate, filter tap) pairs that reach output coordinate o: at most k. */
static int32_t tc_taps(int32_t o, int32_t k, int32_t pad, int32_t stride, int32_t in_size, int32_t *taps) {
    int32_t f, n = 0;
    for (f = 0; f < k; ++f) {
        const int32_t t = o + pad - f; /* < 2^25 (contract) */
        if (t >= 0 && t % stride == 0 && t / stride < in_size) {
            taps[2 * n] = t / stride;
            taps[2 * n + 1] = f;
            ++n;
        }
    }
    return n;
}

#if PQ_HAVE_X86_SIMD
/* Output channels c .. c + 15 (live) of one pixel: (sum + wsum * input_offset + bias), then
 * pq_mbqm_vec with no left shift and right[c] right, the output offset and the clamp, as int8.
 * The rounding doubling high multiply on 64-bit lanes: even lanes, then odd ones. */
PQ_T_AVX512 PQ_AI void tc_requant(const tc_state *s, const pq_conv_operands *a, int32_t c, __mmask16 live,
                                  __m512i sum, __m512i wsum, int8_t *out)
{
    const pq_conv_params *p = a->p;
    const __m512i one = _mm512_set1_epi32(1), nudge = _mm512_set1_epi64((int64_t)1 << 30);
    const __m512i m = _mm512_maskz_loadu_epi32(live, a->mult + c);
    const __m512i right = _mm512_maskz_loadu_epi32(live, s->right + c);
    const __m512i mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, right), one);
    __m512i x = _mm512_add_epi32(_mm512_add_epi32(sum, _mm512_mullo_epi32(wsum, _mm512_set1_epi32(p->input_offset))),
                                 _mm512_maskz_loadu_epi32(live, s->bias + c));
    const __m512i ev = _mm512_srai_epi64(_mm512_add_epi64(_mm512_mul_epi32(x, m), nudge), 31);
    const __m512i od = _mm512_srai_epi64(
        _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), _mm512_srli_epi64(m, 32)), nudge), 31);
    __m512i rem, thr;
    x = _mm512_mask_blend_epi32((__mmask16)0xAAAA, ev, _mm512_slli_epi64(od, 32)); /* low halves, in order */
    rem = _mm512_and_si512(x, mask);
    thr = _mm512_add_epi32(_mm512_srli_epi32(mask, 1), _mm512_srli_epi32(x, 31)); /* + 1 where x < 0 */
    x = _mm512_add_epi32(_mm512_srav_epi32(x, right), _mm512_maskz_set1_epi32(_mm512_cmpgt_epi32_mask(rem, thr), 1));
    x = _mm512_add_epi32(x, _mm512_set1_epi32(p->output_offset));
    x = _mm512_min_epi32(_mm512_max_epi32(x, _mm512_set1_epi32(p->act_min)), _mm512_set1_epi32(p->act_max));
    _mm512_mask_cvtepi32_storeu_epi8(out, live, x);
}

/* Output pixel by output pixel, 16 output channels a register (the tail masked): the sums
 * over the pixel's taps and input channels stay in the register (a sum through memory waits
 * on its own masked store every step), the filter sums beside them; then the row is
 * requantized (tc_requant). `lists` holds the tap lists. */
PQ_T_AVX512 static void tc_rows(const tc_state *s, const pq_conv_operands *a, int32_t *lists)
{
    const pq_conv_params *p = a->p;
    const int32_t ih = a->in.h, iw = a->in.w, ic = s->ic, oc = s->oc, kh = a->filter.h, kw = a->filter.w;
    const int8_t *in = (const int8_t *)a->x;
    int8_t *out = (int8_t *)a->y;
    int32_t *rows = lists, *cols = rows + 2 * kh, *taps = cols + 2 * kw;
    int32_t b, oy, ox, c, i, j, k, n;
    for (b = 0; b < a->in.n; ++b) {
        const int8_t *image = in + (size_t)b * (size_t)ih * (size_t)iw * (size_t)ic;
        for (oy = 0; oy < a->out.h; ++oy) {
            const int32_t n_rows = tc_taps(oy, kh, p->pad_h, p->stride_h, ih, rows);
            for (ox = 0; ox < a->out.w; ++ox, out += oc) {
                const int32_t n_cols = tc_taps(ox, kw, p->pad_w, p->stride_w, iw, cols);
                n = 0;
                for (i = 0; i < n_rows; ++i) {
                    for (j = 0; j < n_cols; ++j, ++n) {
                        taps[2 * n] = rows[2 * i] * iw + cols[2 * j];
                        taps[2 * n + 1] = rows[2 * i + 1] * kw + cols[2 * j + 1];
                    }
                }
                for (c = 0; c < oc; c += 16) {
                    const __mmask16 live = oc - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (oc - c)) - 1u);
                    __m512i sum = _mm512_setzero_si512(), wsum = _mm512_setzero_si512();
                    for (i = 0; i < n; ++i) {
                        const int8_t *xp = image + (size_t)taps[2 * i] * (size_t)ic;
                        const int32_t *wk = s->wt + (size_t)taps[2 * i + 1] * (size_t)ic * (size_t)oc + c;
                        for (k = 0; k < ic; ++k) {
                            const __m512i w = _mm512_maskz_loadu_epi32(live, wk + (size_t)k * (size_t)oc);
                            sum = _mm512_add_epi32(sum, _mm512_mullo_epi32(w, _mm512_set1_epi32(xp[k])));
                        }
                        wsum = _mm512_add_epi32(
                            wsum, _mm512_maskz_loadu_epi32(live, s->wsum + (size_t)taps[2 * i + 1] * (size_t)oc + c));
                    }
                    tc_requant(s, a, c, live, sum, wsum, out + c);
                }
            }
        }
    }
}
#endif

static pq_status tc_eval(const pq_node *node, const pq_tensor *t, void *scratch, int32_t part, int32_t n_parts) {
    const pq_conv_operands a = pq_conv_operands_of(node, t);
    const pq_conv_params *p = a.p;
    const int32_t ih = a.in.h, iw = a.in.w, ic = a.in.c, kh = a.filter.h, kw = a.filter.w;
    const int32_t *mult = a.mult, *shift = (const int32_t *)a.shift, *bias = (const int32_t *)a.bias;
    const int8_t *in = (const int8_t *)a.x, *filter = (const int8_t *)a.w;
    int8_t *out = (int8_t *)a.y;
    int32_t *rows = (int32_t *)scratch, *cols = rows + 2 * kh, *taps = cols + 2 * kw;
    const tc_state *s = (const tc_state *)node->fast;
    int32_t b, oy, ox, oc, i, j, k;
    (void)part;
    (void)n_parts;
    if (p->stride_h <= 0 || p->stride_w <= 0) return PQ_ERR_PARAM;
#if PQ_HAVE_X86_SIMD
    if (s->rows) {
        tc_rows(s, &a, rows);
        return PQ_OK;
    }
#else
    (void)s;
#endif
    for (b = 0; b < a.in.n; ++b) {
        const int8_t *image = in + (size_t)b * (size_t)ih * (size_t)iw * (size_t)ic;
        for (oy = 0; oy < a.out.h; ++oy) {
            const int32_t n_rows = tc_taps(oy, kh, p->pad_h, p->stride_h, ih, rows);
            for (ox = 0; ox < a.out.w; ++ox) {
                const int32_t n_cols = tc_taps(ox, kw, p->pad_w, p->stride_w, iw, cols);
                int32_t n = 0;
                for (i = 0; i < n_rows; ++i) { /* (input pixel, filter tap) of each pair */
                    for (j = 0; j < n_cols; ++j) {
                        taps[2 * n] = rows[2 * i] * iw + cols[2 * j];
                        taps[2 * n + 1] = rows[2 * i + 1] * kw + cols[2 * j + 1];
                        ++n;
                    }
                }
                for (oc = 0; oc < a.out.c; ++oc) {
                    const int8_t *wo = filter + (size_t)oc * (size_t)kh * (size_t)kw * (size_t)ic;
                    uint32_t acc = 0, wsum = 0;
                    int32_t v;
                    for (k = 0; k < n; ++k) {
                        const int8_t *xp = image + (size_t)taps[2 * k] * (size_t)ic;
                        const int8_t *wp = wo + (size_t)taps[2 * k + 1] * (size_t)ic;
                        for (i = 0; i < ic; ++i) {
                            acc += (uint32_t)((int32_t)wp[i] * (int32_t)xp[i]);
                            wsum += (uint32_t)(int32_t)wp[i];
                        }
                    }
                    acc += wsum * (uint32_t)p->input_offset;
                    if (bias != NULL) acc += (uint32_t)bias[oc];
                    v = pq_mbqm(pq_wrap_i32(acc), mult[oc], shift[oc]);
                    v = pq_wrap_i32((uint32_t)v + (uint32_t)p->output_offset);
                    *out++ = (int8_t)pq_clamp(v, p->act_min, p->act_max);
                }
            }
        }
    }
    return PQ_OK;
}

static const char *tc_name(const pq_node *node) {
    (void)node;
    return "fast-transpose-conv";
}

const pq_fast_op pq_transpose_conv_s8_fast_op = {tc_plan, tc_prepare, tc_eval, NULL, tc_name};
