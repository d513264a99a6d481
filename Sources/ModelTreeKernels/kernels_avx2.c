/* kernels_avx2.c — the kernels compiled for AVX2 + FMA (and F16C, which every AVX2 CPU has; x86-64 only). */
#if defined(__x86_64__)
#include <immintrin.h>
#define MTK_ISA_TARGET "avx2,fma,f16c"
#include "isa_begin.h"
#include "simd_avx2.h"
#include "kernels.inc"
#include "isa_end.h"
#include "table.h"
MTK_DEFINE_TABLE(avx2, MTK_ISA_AVX2)
#endif
