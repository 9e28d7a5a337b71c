/*
 * ADD of two same-shape int8 tensors, vectorised over elements (same bytes as
 * pq_add_s8). Broadcasting adds stay on the reference kernel. Every element
 * goes through TFLite's three rescales (two inputs, then the sum), lane by
 * lane, with the exact MultiplyByQuantizedMultiplier of pq_requant_x86.h
 * (pq_requant_neon.h on aarch64).
 */
#include <stddef.h>
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"

pq_status pq_add_s8_fast(int isa, const pq_add_params *p, int32_t n, const int8_t *in1, const int8_t *in2,
                         int8_t *out)
{
#if PQ_HAVE_X86_SIMD
    if (isa == PQ_ISA_AVX512VNNI) {
        pq_add_s8_avx512(p, n, in1, in2, out);
        return PQ_OK;
    }
    if (isa == PQ_ISA_AVX2) {
        pq_add_s8_avx2(p, n, in1, in2, out);
        return PQ_OK;
    }
#endif
#if PQ_HAVE_NEON
    if (PQ_ISA_IS_NEON(isa)) {
        pq_add_s8_neon(p, n, in1, in2, out);
        return PQ_OK;
    }
#endif
    (void)isa;
    /* Portable: the reference kernel on a flat shape (its no-broadcast loop). */
    return pq_add_s8(p, 1, &n, in1, &n, in2, &n, out);
}
