/* kernels_avx512.c — the kernels compiled for AVX-512 F + BW (x86-64 only). */
#if defined(__x86_64__)
#include <immintrin.h>
#define MTK_ISA_TARGET "avx512f,avx512bw,avx2,fma,f16c"
#include "isa_begin.h"
#include "simd_avx512.h"
#include "kernels.inc"
#include "isa_end.h"
#include "table.h"
MTK_DEFINE_TABLE(avx512, MTK_ISA_AVX512)
#endif
