/*
 * Which instruction sets the fast kernels may use on this CPU, decided at run
 * time so one build serves every x86-64 or aarch64 machine (the extension is
 * compiled without -march; the AVX2 / AVX-512 / dot-product functions carry
 * target attributes).
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE 1 /* syscall() */
#endif
#include <stdint.h>

#include "pq_fast.h"
#include "pq_fast_isa.h"
#include "pq_isa_traits.h"

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
#elif PQ_HAVE_X86_SIMD
static int pq_amx_permitted(void)
{
    return 0; /* no way to ask for the tile state here */
}
#endif

#if PQ_HAVE_X86_SIMD
#include <cpuid.h>
/* AMX-TILE and AMX-INT8 (CPUID leaf 7, EDX bits 24 and 25), read directly: older compilers
 * (clang 14) do not know them as __builtin_cpu_supports names. The OS side is
 * pq_amx_permitted's request for the tile state. */
static int pq_cpu_has_amx_int8(void)
{
    unsigned int a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        return 0;
    }
    return (d >> 24 & 1u) && (d >> 25 & 1u);
}
#endif

#if PQ_HAVE_NEON_DOT && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1UL << 20) /* Linux arch/arm64 uapi hwcap.h */
#endif
#endif

int pq_isa_supported(int isa)
{
    const pq_isa_traits *tr = pq_isa_traits_get(isa);
    if (tr == NULL || !tr->available) {
        return 0; /* its kernels are not in this build */
    }
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
        return pq_isa_supported(PQ_ISA_AVX512VNNI) && pq_cpu_has_amx_int8() && pq_amx_permitted()
                   ? 1
                   : 0;
    }
#endif
#if PQ_HAVE_NEON
    /* Advanced SIMD is mandatory on aarch64 (and the compiler already uses it). */
    if (isa == PQ_ISA_NEON) {
        return 1;
    }
#endif
#if PQ_HAVE_NEON_DOT
    if (isa == PQ_ISA_NEON_DOT) {
#if defined(__ARM_FEATURE_DOTPROD)
        return 1; /* the whole build already requires it */
#elif defined(__linux__)
        /* The kernel's view of ID_AA64ISAR0_EL1.DP (user space may not read it). */
        return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) ? 1 : 0;
#else
        return 0;
#endif
    }
#endif
    return 0;
}
