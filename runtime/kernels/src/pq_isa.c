/*
 * Which instruction sets the fast kernels may use on this CPU, decided at run
 * time so one build serves every x86-64 machine (the extension is compiled
 * without -march; the AVX2 / AVX-512 functions carry target attributes).
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE 1 /* syscall() */
#endif
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"

#if PQ_HAVE_X86_SIMD && defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#define PQ_ARCH_REQ_XCOMP_PERM 0x1023
#define PQ_XFEATURE_XTILEDATA 18

/* Linux keeps AMX tile data disabled until the process asks for it (the
 * state is 8 KB per thread); asking twice is harmless. 1 when granted. */
static int pq_amx_permitted(void)
{
    static int state = -1;
    if (state < 0) {
        state = syscall(SYS_arch_prctl, PQ_ARCH_REQ_XCOMP_PERM, PQ_XFEATURE_XTILEDATA) == 0 ? 1 : 0;
    }
    return state;
}
#else
static int pq_amx_permitted(void)
{
    return 0;
}
#endif

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
    if (isa == PQ_ISA_AMX) {
        return pq_isa_supported(PQ_ISA_AVX512VNNI) && __builtin_cpu_supports("amx-tile") &&
                       __builtin_cpu_supports("amx-int8") && pq_amx_permitted()
                   ? 1
                   : 0;
    }
#endif
    return 0;
}
