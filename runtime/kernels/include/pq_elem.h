/*
 * Element access for the reference kernels that one body serves at two activation dtypes
 * (int8, and int16 for the 16x8 variants): `wide` is a constant at each call site, so an
 * inlined body compiles to plain int8 or int16 loads and stores.
 */
#ifndef PQ_ELEM_H
#define PQ_ELEM_H

#include <stdint.h>

static inline int32_t pq_elem_load(const void *base, int32_t i, int wide)
{
    return wide ? (int32_t)((const int16_t *)base)[i] : (int32_t)((const int8_t *)base)[i];
}

/* v already inside the element type's range. */
static inline void pq_elem_store(void *base, int32_t i, int32_t v, int wide)
{
    if (wide) {
        ((int16_t *)base)[i] = (int16_t)v;
    } else {
        ((int8_t *)base)[i] = (int8_t)v;
    }
}

/* The element type's lowest and highest values. */
static inline int32_t pq_elem_min(int wide) { return wide ? -32768 : -128; }
static inline int32_t pq_elem_max(int wide) { return wide ? 32767 : 127; }

#endif /* PQ_ELEM_H */
