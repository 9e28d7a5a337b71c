/*
 * AddressSanitizer sees ordinary loads and stores, including the plain SIMD
 * ones (GCC implements them as dereferences), but not AVX-512 masked moves,
 * which are compiler builtins. In a sanitized build the x86 kernels announce
 * the exact bytes each masked move touches, so an out-of-bounds one is
 * reported like any other. Nothing in other builds. Internal to the kernels.
 */
#ifndef PQ_ASAN_H
#define PQ_ASAN_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
/* Exported by the ASan runtime: the checks its instrumentation calls. */
void __asan_loadN(void *p, size_t size);
void __asan_storeN(void *p, size_t size);
#define PQ_ASAN_LOAD(p, n) ((n) > 0 ? __asan_loadN((void *)(p), (size_t)(n)) : (void)0)
#define PQ_ASAN_STORE(p, n) ((n) > 0 ? __asan_storeN((void *)(p), (size_t)(n)) : (void)0)
#else
#define PQ_ASAN_LOAD(p, n) ((void)0)
#define PQ_ASAN_STORE(p, n) ((void)0)
#endif

#endif /* PQ_ASAN_H */
