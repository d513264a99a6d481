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
#include <float.h>
#include <math.h>
#include <stdint.h>
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

/* One stored element, little-endian at any address, to float, on any host (the scalar tails of
 * the decode kernels, and the whole of the portable set). F16 and BF16 are widened exactly
 * (subnormal halves included, by the exact subtraction of 2^-14); F64 is rounded to nearest. */
MTK_INLINE uint32_t mtk_le16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
MTK_INLINE float mtk_float_bits(uint32_t b) { float f; memcpy(&f, &b, sizeof f); return f; }
MTK_INLINE uint32_t mtk_bits_of(float f) { uint32_t b; memcpy(&b, &f, sizeof b); return b; }
MTK_INLINE float mtk_bf16_one(const unsigned char *p) { return mtk_float_bits(mtk_le16(p) << 16); }
MTK_INLINE float mtk_f16_one(const unsigned char *p)
{
    const uint32_t h = mtk_le16(p), sign = (h & 0x8000u) << 16, rest = (h & 0x7FFFu) << 13, exp = h & 0x7C00u;
    uint32_t bits;
    if (exp == 0x7C00u) bits = rest | 0x7F800000u;                             /* inf, NaN */
    else if (exp == 0) bits = mtk_bits_of(mtk_float_bits(rest | 113u << 23) - mtk_float_bits(113u << 23));
    else bits = rest + (112u << 23);                                           /* rebias 15 -> 127 */
    return mtk_float_bits(sign | bits);
}
MTK_INLINE float mtk_f32_one(const unsigned char *p)
{
    return mtk_float_bits(mtk_le16(p) | mtk_le16(p + 2) << 16);
}
MTK_INLINE float mtk_f64_one(const unsigned char *p)
{
    uint64_t b = 0;
    for (int i = 7; i >= 0; i--) b = b << 8 | p[i];
    double d;
    memcpy(&d, &b, sizeof d);
    return (float)d;
}
