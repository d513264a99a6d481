/* isa_begin.h — common prelude of the per-instruction-set kernel files (kernels_<isa>.c).
 *
 * Each kernels_<isa>.c defines MTK_ISA_TARGET (a target("…") feature string, or nothing for the
 * compiler's baseline), includes its intrinsics header, then this file, then its simd_<isa>.h and
 * the kernel bodies (*.inc), and ends with isa_end.h. The pragma gives every function between
 * here and isa_end.h the instruction set, so the rest of the library, compiled for the baseline,
 * never executes an instruction the CPU may lack: the dispatcher calls these functions only after
 * cpuid said yes. Everything defined here is static: no copy compiled for one set can be picked by
 * the linker for another (the classic hazard of compiling shared inline code with -mavx2).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "modeltree_kernels.h"

#if defined(MTK_ISA_TARGET)
#  if defined(__clang__)
#    define MTK_PRAGMA(x) _Pragma(#x)
#    define MTK_TARGET_PUSH(t) MTK_PRAGMA(clang attribute push(__attribute__((target(t))), apply_to = function))
#    define MTK_TARGET_POP MTK_PRAGMA(clang attribute pop)
#  elif defined(__GNUC__)
#    define MTK_PRAGMA(x) _Pragma(#x)
#    define MTK_TARGET_PUSH(t) MTK_PRAGMA(GCC push_options) MTK_PRAGMA(GCC target(t))
#    define MTK_TARGET_POP MTK_PRAGMA(GCC pop_options)
#  else
#    error "per-function instruction sets need clang or GCC"
#  endif
MTK_TARGET_PUSH(MTK_ISA_TARGET)
#endif

/* Products and sums are rounded as written: a*b+c is never fused behind our back (the kernels
 * use FMA explicitly where they mean it), so -O0 and -O2 builds give the same bits. */
#pragma STDC FP_CONTRACT OFF

#define MTK_INLINE static inline __attribute__((always_inline))
#define MTK_MIN(a, b) ((a) < (b) ? (a) : (b))
