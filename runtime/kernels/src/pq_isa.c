/*
 * Which instruction sets the fast kernels may use on this CPU, decided at run
 * time so one build serves every x86-64 machine (the extension is compiled
 * without -march; the AVX2 / AVX-512 functions carry target attributes).
 */
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"

int pq_isa_supported(int isa)
{
    if (isa == PQ_ISA_PORTABLE) {
        return 1;
    }
#if PQ_HAVE_X86_SIMD
    /* __builtin_cpu_supports also checks that the OS saves the wide
     * registers (XGETBV), so a CPU flag alone does not enable a path. */
    __builtin_cpu_init();
    if (isa == PQ_ISA_AVX2) {
        return __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    if (isa == PQ_ISA_AVX512VNNI) {
        return (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f") &&
                __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                __builtin_cpu_supports("avx512vnni"))
                   ? 1
                   : 0;
    }
#endif
    return 0;
}
