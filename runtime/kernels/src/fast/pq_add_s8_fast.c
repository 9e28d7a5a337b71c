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
#include "pq_isa_traits.h"

pq_status pq_add_s8_fast(int isa, const pq_add_params *p, int32_t n, const int8_t *in1, const int8_t *in2,
                         int8_t *out)
{
    const pq_add_fn add = pq_isa_traits_get(pq_isa_traits_get(isa)->kernel_isa)->add;
    if (add != NULL) {
        add(p, n, in1, in2, out);
        return PQ_OK;
    }
    /* Portable: the reference kernel on a flat shape (its no-broadcast loop). */
    return pq_add_s8(p, 1, &n, in1, &n, in2, &n, out);
}
