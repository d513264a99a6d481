/* kernels_avx512.c — the kernels compiled for AVX-512 F + BW + VL (x86-64 only). VL lets the
 * compiler give 256-bit operations (the tiles' flushes and sums) the EVEX form, which reaches all
 * 32 registers: with VEX forms only, reaching registers 0-15, the Gram tile spilled an
 * accumulator (bench/kernels/README.md). */
#if defined(__x86_64__)
#include <immintrin.h>
#define MTK_ISA_TARGET "avx512f,avx512bw,avx512vl,avx2,fma,f16c"
#include "isa_begin.h"
#include "simd_avx512.h"
#include "kernels.inc"
#include "isa_end.h"
#include "table.h"
MTK_DEFINE_TABLE(avx512, MTK_ISA_AVX512)
#endif
