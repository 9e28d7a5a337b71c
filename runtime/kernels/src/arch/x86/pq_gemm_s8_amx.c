/*
 * int8 GEMM on Intel AMX tiles (Sapphire Rapids and later).
 *
 * tdpbusd multiplies a 16 x 64 tile of unsigned bytes by a 64 x 16 tile of
 * signed bytes (stored as 16 rows of 16 channels x 4 bytes) and adds the
 * 16 x 16 int32 products to an accumulator tile without saturation, exactly
 * as vpdpbusd does lane by lane. So this path uses the AVX-512 VNNI data
 * as is: inputs flipped to x ^ 0x80 (unsigned), the bias folded with
 * input_offset - 128, and the VNNI weight layout [np/16][kp/4][16][4], whose
 * 16 consecutive 64-byte rows are one B tile. Only k is padded further, to a
 * multiple of 64 (one tile row), with zero weights.
 *
 * A block of up to 32 rows is first laid out as a panel of kp bytes per row
 * (flipped GEMM rows, or the filter runs of a convolution copied from its
 * padded image), then 2 x 2 tiles of 16 rows x 16 channels accumulate over
 * k, are stored to a 1 KB buffer and requantized with the AVX-512 code.
 * Rows of the panel past `rows` are computed and never stored.
 *
 * Tile state is per thread: pq_gemm_s8_amx loads the tile configuration and
 * releases the tiles before returning; a convolution brackets its blocks
 * with pq_amx_begin / pq_amx_end (ldtilecfg costs as much as a few tiles). Linux makes a process ask for the
 * tile data state once (pq_isa.c); pq_isa_supported reports AMX only then.
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"

#if PQ_HAVE_X86_SIMD
#include <immintrin.h>

#include "pq_asan.h"
#include "pq_requant_x86.h"

#define PQ_T_AMX __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vnni,amx-tile,amx-int8")))
#define MR PQ_GEMM_MR_AMX
/* Tiles: C00 C01 C10 C11 = 0..3 (row block, channel block), A0 A1 = 4, 5, B0 B1 = 6, 7. */
#define TC00 0
#define TC01 1
#define TC10 2
#define TC11 3
#define TA0 4
#define TA1 5
#define TB0 6
#define TB1 7

/* After the panel in the scratch (PQ_AMX_TAIL_BYTES): the accumulator buffer and the configuration. */
#define PQ_AMX_CBUF_BYTES 1024u

/* Palette 1, eight tiles of 16 rows x 64 bytes. */
static PQ_T_AMX void pq_amx_configure(uint8_t *cfg)
{
    int32_t i;
    for (i = 0; i < 64; ++i) {
        cfg[i] = 0;
    }
    cfg[0] = 1;
    for (i = 0; i < 8; ++i) {
        cfg[16 + 2 * i] = 64; /* bytes per row, u16 little-endian */
        cfg[48 + i] = 16;     /* rows */
    }
    _tile_loadconfig(cfg);
}

/* One 16 x 16 accumulator tile (stored at cbuf) -> int8 rows of channels [c0, c0 + 16). */
static PQ_T_AMX void pq_amx_requant(const pq_gemm_s8_plan *plan, const int32_t *cbuf, int32_t rows, int32_t c0,
                                    int8_t *out, int32_t ldo)
{
    const int32_t nc = plan->n - c0;
    const __mmask16 sm = nc >= 16 ? (__mmask16)0xFFFF : (nc > 0 ? (__mmask16)((1u << nc) - 1u) : 0);
    const pq_rq16 q = pq_rq16_load(&plan->rq, c0);
    int32_t r;
    if (nc <= 0) {
        return;
    }
    for (r = 0; r < rows; ++r) {
        /* The tiles started at zero: the folded bias is added here (wrapping, as starting from it). */
        const __m512i acc = _mm512_add_epi32(_mm512_loadu_si512((const void *)(cbuf + 16 * r)), q.bias);
        const __m512i y = pq_rq16_apply(&q, &plan->rq, acc);
        PQ_ASAN_STORE(out + (size_t)r * (size_t)ldo + (size_t)c0, nc < 16 ? nc : 16);
        _mm512_mask_cvtsepi32_storeu_epi8(out + (size_t)r * (size_t)ldo + (size_t)c0, sm, y);
    }
}

/* The panel (rows x kp, up to 32 rows) against every channel block. */
static PQ_T_AMX void pq_amx_panel(const pq_gemm_s8_plan *plan, int32_t rows, const int8_t *panel, int8_t *out,
                                  int32_t ldo, int32_t *cbuf)
{
    const int32_t kp = plan->kp;
    const size_t bstride = (size_t)kp * 16u; /* bytes of one 16-channel block of weights */
    const int two_rows = rows > 16;
    const int32_t rows0 = rows > 16 ? 16 : rows;
    int32_t n0, kc;
    for (n0 = 0; n0 < plan->np; n0 += 32) {
        const int8_t *w0 = plan->w + (size_t)(n0 / 16) * bstride;
        const int8_t *w1 = w0 + bstride;
        const int two_cols = n0 + 16 < plan->np;
        _tile_zero(TC00);
        _tile_zero(TC01);
        _tile_zero(TC10);
        _tile_zero(TC11);
        for (kc = 0; kc < kp; kc += 64) {
            _tile_loadd(TA0, panel + kc, kp);
            _tile_loadd(TB0, w0 + (size_t)kc * 16u, 64);
            _tile_dpbusd(TC00, TA0, TB0);
            if (two_cols) {
                _tile_loadd(TB1, w1 + (size_t)kc * 16u, 64);
                _tile_dpbusd(TC01, TA0, TB1);
            }
            if (two_rows) {
                _tile_loadd(TA1, panel + (size_t)16 * (size_t)kp + (size_t)kc, kp);
                _tile_dpbusd(TC10, TA1, TB0);
                if (two_cols) {
                    _tile_dpbusd(TC11, TA1, TB1);
                }
            }
        }
        _tile_stored(TC00, cbuf, 64);
        pq_amx_requant(plan, cbuf, rows0, n0, out, ldo);
        if (two_cols) {
            _tile_stored(TC01, cbuf, 64);
            pq_amx_requant(plan, cbuf, rows0, n0 + 16, out, ldo);
        }
        if (two_rows) {
            int8_t *out1 = out + (size_t)16 * (size_t)ldo;
            _tile_stored(TC10, cbuf, 64);
            pq_amx_requant(plan, cbuf, rows - 16, n0, out1, ldo);
            if (two_cols) {
                _tile_stored(TC11, cbuf, 64);
                pq_amx_requant(plan, cbuf, rows - 16, n0 + 16, out1, ldo);
            }
        }
    }
}

PQ_T_AMX void pq_gemm_s8_amx(const pq_gemm_s8_plan *plan, int32_t m, const int8_t *a, int32_t lda, int8_t *out,
                             int32_t ldo, void *scratch)
{
    int8_t *panel = (int8_t *)scratch;
    int32_t *cbuf = (int32_t *)(void *)(panel + (size_t)MR * (size_t)plan->kp);
    uint8_t *cfg = (uint8_t *)(void *)(cbuf + PQ_AMX_CBUF_BYTES / 4u);
    int32_t m0;
    if (m < 16) {
        /* A tile row block would be mostly idle: the VNNI kernel reads the
         * same packing (it only sees more zero-weight k) and panel layout. */
        pq_gemm_s8_avx512vnni(plan, m, a, lda, out, ldo, scratch);
        return;
    }
    pq_amx_configure(cfg);
    for (m0 = 0; m0 < m; m0 += MR) {
        const int32_t rows = m - m0 < MR ? m - m0 : MR;
        pq_panel_flip_avx512(rows, plan->k, plan->kp, a + (size_t)m0 * (size_t)lda, lda, panel);
        pq_amx_panel(plan, rows, panel, out + (size_t)m0 * (size_t)ldo, ldo, cbuf);
    }
    _tile_release();
}

PQ_T_AMX void pq_gemm_s8_amx_block(const pq_gemm_s8_plan *plan, int32_t rows, const int8_t *const *origin,
                                   const ptrdiff_t *tap_off, int32_t taps, int32_t kt, int8_t *out, int32_t ldo,
                                   void *work)
{
    const int32_t kp = plan->kp;
    const int32_t kused = taps * kt;
    int8_t *panel = (int8_t *)work;
    int32_t *cbuf = (int32_t *)(void *)(panel + (size_t)MR * (size_t)kp);
    int32_t r, t, k0;
    /* Row r of the panel: the taps' runs back to back (the GEMM's k order),
     * then the padding to kp, which meets zero weights. */
    for (r = 0; r < rows; ++r) {
        int8_t *dst = panel + (size_t)r * (size_t)kp;
        for (t = 0; t < taps; ++t) {
            const int8_t *src = origin[r] + tap_off[t];
            int8_t *d = dst + (size_t)t * (size_t)kt;
            for (k0 = 0; k0 < kt; k0 += 64) {
                const int32_t nk = kt - k0 < 64 ? kt - k0 : 64;
                const __mmask64 mk = nk == 64 ? ~(__mmask64)0 : (((__mmask64)1 << nk) - 1);
                PQ_ASAN_LOAD(src + k0, nk);
                PQ_ASAN_STORE(d + k0, nk);
                _mm512_mask_storeu_epi8(d + k0, mk, _mm512_maskz_loadu_epi8(mk, src + k0));
            }
        }
        for (k0 = kused; k0 < kp; ++k0) {
            dst[k0] = 0;
        }
    }
    pq_amx_panel(plan, rows, panel, out, ldo, cbuf);
}

PQ_T_AMX void pq_amx_begin(const pq_gemm_s8_plan *plan, void *work)
{
    pq_amx_configure((uint8_t *)work + (size_t)MR * (size_t)plan->kp + PQ_AMX_CBUF_BYTES);
}

PQ_T_AMX void pq_amx_end(void)
{
    _tile_release();
}

#else
/* ISO C forbids an empty translation unit. */
typedef int pq_gemm_s8_amx_unused;
#endif
