/* table.h — the kernel table each kernels_<isa>.c defines for dispatch.c. Hidden: the tables are
 * reached only through mtk_kernels_active() / mtk_kernels_for(). */
#ifndef MTK_TABLE_H
#define MTK_TABLE_H
#include "modeltree_kernels.h"

#define MTK_HIDDEN __attribute__((visibility("hidden")))
#define MTK_DEFINE_TABLE(suffix, isa_value)                                               \
    MTK_HIDDEN const mtk_kernels mtk_kernels_##suffix = {                                 \
        #suffix, isa_value, pair_block_##suffix, gram_block_##suffix, moments_##suffix,   \
        gemm_f32_##suffix, gemm_f64_##suffix, decode_bf16_##suffix, decode_f16_##suffix,   \
        decode_f32_##suffix, decode_f64_##suffix, reflect_##suffix,                       \
    };

MTK_HIDDEN extern const mtk_kernels mtk_kernels_portable;
#if defined(__x86_64__)
MTK_HIDDEN extern const mtk_kernels mtk_kernels_sse2;
MTK_HIDDEN extern const mtk_kernels mtk_kernels_avx2;
MTK_HIDDEN extern const mtk_kernels mtk_kernels_avx512;
#endif
#if defined(__aarch64__)
MTK_HIDDEN extern const mtk_kernels mtk_kernels_neon;
#endif
#endif
