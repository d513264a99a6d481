/* kernels_neon.c — the kernels for aarch64 Advanced SIMD (part of every aarch64 CPU: no
 * run-time check needed). */
#if defined(__aarch64__)
#include <arm_neon.h>
#include "isa_begin.h"
#include "simd_neon.h"
#include "kernels.inc"
#include "isa_end.h"
#include "table.h"
MTK_DEFINE_TABLE(neon, MTK_ISA_NEON)
#endif
