/* kernels_sse2.c — the kernels compiled for SSE2, the x86-64 baseline (no target attribute needed). */
#if defined(__x86_64__)
#include <immintrin.h>
#include "isa_begin.h"
#include "simd_sse2.h"
#include "kernels.inc"
#include "isa_end.h"
#include "table.h"
MTK_DEFINE_TABLE(sse2, MTK_ISA_SSE2)
#endif
