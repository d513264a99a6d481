/* dispatch.c — which kernel set runs: what the CPU and the OS support, and MODELTREE_KERNEL.
 *
 * x86-64: cpuid says what the CPU has, xgetbv whether the OS saves the registers (a CPU with
 * AVX-512 under an OS or hypervisor that does not enable the ZMM state must not run it).
 * aarch64: NEON always. Elsewhere: the portable set. The choice is made once (pthread_once) and
 * never changes for the life of the process.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "table.h"

#if defined(__x86_64__)
#include <cpuid.h>

static unsigned long long xgetbv0(void)
{
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static int x86_supports(mtk_isa isa)
{
    unsigned int a, b, c, d;
    if (isa == MTK_ISA_PORTABLE || isa == MTK_ISA_SSE2) return 1;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    if (!osxsave || !avx || !fma || !f16c) return 0;
    const unsigned long long xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return 0;                   /* XMM and YMM state */
    if (__get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    const int avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1, avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
    if (isa == MTK_ISA_AVX2) return avx2;
    if (isa == MTK_ISA_AVX512)   /* VL: 256-bit operations in EVEX form, on all 32 registers */
        return avx2 && avx512f && avx512bw && avx512vl && (xcr0 & 0xE0) == 0xE0;   /* opmask, ZMM0-15, ZMM16-31 */
    return 0;
}
#endif

/* The table of a set compiled into this build, whether or not this CPU can run it. */
static const mtk_kernels *compiled(mtk_isa isa)
{
    switch (isa) {
    case MTK_ISA_PORTABLE: return &mtk_kernels_portable;
#if defined(__x86_64__)
    case MTK_ISA_SSE2: return &mtk_kernels_sse2;
    case MTK_ISA_AVX2: return &mtk_kernels_avx2;
    case MTK_ISA_AVX512: return &mtk_kernels_avx512;
#endif
#if defined(__aarch64__)
    case MTK_ISA_NEON: return &mtk_kernels_neon;
#endif
    default: return NULL;
    }
}

const mtk_kernels *mtk_kernels_for(mtk_isa isa)
{
    const mtk_kernels *k = compiled(isa);
#if defined(__x86_64__)
    if (k && !x86_supports(isa)) return NULL;
#endif
    return k;
}

/* This architecture's sets, best first. */
static const mtk_isa preference[] = {
#if defined(__x86_64__)
    MTK_ISA_AVX512, MTK_ISA_AVX2, MTK_ISA_SSE2,
#endif
#if defined(__aarch64__)
    MTK_ISA_NEON,
#endif
    MTK_ISA_PORTABLE,
};

const mtk_kernels *mtk_kernels_named(const char *wanted)
{
    const size_t count = sizeof preference / sizeof preference[0];
    size_t first = 0;
    if (wanted && *wanted)
        for (size_t i = 0; i < count; i++)
            if (strcmp(compiled(preference[i])->name, wanted) == 0) { first = i; break; }
    for (size_t i = first; i < count; i++) {
        const mtk_kernels *k = mtk_kernels_for(preference[i]);
        if (k) return k;
    }
    return &mtk_kernels_portable;
}

static const mtk_kernels *active;
static pthread_once_t active_once = PTHREAD_ONCE_INIT;

static void choose(void) { active = mtk_kernels_named(getenv("MODELTREE_KERNEL")); }

const mtk_kernels *mtk_kernels_active(void)
{
    pthread_once(&active_once, choose);
    return active;
}
