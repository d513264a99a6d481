/* modeltree_kernels.h — the vector kernels of the streaming pass, selected at run time.
 *
 * Internal to libmodeltree (the Swift core imports this as the module ModelTreeKernels): none of
 * these symbols is exported from libmodeltree.so (the version script keeps only `modeltree_*`),
 * hence the different prefix, `mtk_`.
 *
 * Every kernel exists in several instruction sets: portable SSE2 (the x86-64 baseline), AVX2 +
 * FMA + F16C, AVX-512 (F, BW) on x86-64; NEON on aarch64; plain C elsewhere. `mtk_kernels_active()`
 * picks the best one the CPU and the OS support, once, unless the environment variable
 * MODELTREE_KERNEL (sse2 | avx2 | avx512 | neon | portable) asks for another; a request the CPU
 * cannot honour falls back to the best supported set below it, an unknown name to the default.
 *
 * Results are deterministic for a given input and kernel set (fixed summation order, no
 * dependence on alignment, threads or time); different sets round differently (4, 8 or 16
 * lanes; FMA or not), within the accuracy each kernel documents.
 *
 * Accuracy contract of the sums (the pass's, unchanged by the C kernels): terms are computed in float and
 * accumulated in float over runs of at most MTK_RUN_TERMS terms per vector lane, then flushed
 * into double (the pair kernels first add the two halves of a run's lanes in float), so a sum
 * is exact to float rounding of each term plus ~(MTK_RUN_TERMS + 1)·u of the run, never the cancellation of a long float sum (the Gram form bounds its cancellation: see
 * mtk_gram_block_fn). A float square or sum that overflows is redone in double (see
 * mtk_pair_block_fn). Thread safety: every kernel is reentrant; the selection is made once,
 * thread-safely. No kernel allocates memory except the products (gemm_f32, gemm_f64: one
 * malloc'd packing buffer per call; they return -1 when it cannot be had).
 */
#ifndef MODELTREE_KERNELS_H
#define MODELTREE_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Terms a float vector lane accumulates before it is flushed into double. */
#define MTK_RUN_TERMS 32

/** Floats of padding after each row of a block (64 bytes): rows whose stride is a power of two
 *  of 4 KiB or more map to the same L1 sets, and a register tile reads 8 of them at once. The
 *  Gram form pads its centred rows so; callers pad theirs (`StreamingPass.Worker.stride`). */
#define MTK_ROW_PAD 16

/** Instruction sets, in the order of preference on their architecture. */
typedef enum {
    MTK_ISA_PORTABLE = 0,   /* plain C: any CPU */
    MTK_ISA_SSE2 = 1,       /* x86-64 baseline: 4 lanes, no FMA */
    MTK_ISA_AVX2 = 2,       /* AVX2 + FMA: 8 lanes */
    MTK_ISA_AVX512 = 3,     /* AVX-512 F + BW + VL: 16 lanes, masked tails */
    MTK_ISA_NEON = 4,       /* aarch64 Advanced SIMD: 4 lanes, FMA */
} mtk_isa;

/** Pair statistics over one block of n rows of `len` floats (row r at rows + r·stride).
 *  For every pair a < b: ss[a·n + b] += Σ (x_a − x_b)², and, when `maxabs` is not NULL,
 *  maxabs[a·n + b] = max(maxabs[a·n + b], max |x_a − x_b|). Other entries are untouched.
 *  `finite` (NULL: every row) flags the rows with no NaN or infinity: a pair of finite rows
 *  whose float sums overflow (|x| beyond ~1.8e19) is recomputed in double; a pair with a
 *  non-finite row keeps whatever the float arithmetic gave (NaN or infinity; the pass skips
 *  such tensors). Cost: n(n−1)/2 · len pair-elements, 2 vector operations each with FMA
 *  (4 with the maximum), rows read from cache in register tiles. */
typedef void (*mtk_pair_block_fn)(const float *rows, size_t stride, size_t n, size_t len,
                                  const unsigned char *finite, double *ss, double *maxabs);

/** The Gram form of mtk_pair_block's sums, for rows close to a reference: with c_r = x_r − ref
 *  (ref NULL: the mean of the n rows, column by column), Σ (x_a − x_b)² = N_a + N_b − 2·D_ab
 *  with N_a = Σ c_a², D_ab = Σ c_a·c_b: one FMA per pair-element instead of a subtraction and
 *  an FMA. Adds that to ss[a·n + b] (a < b) exactly where it is as accurate as the direct
 *  kernel's within a factor 1/`kappa`: where the block's N_a + N_b ≤ (Σ (x_a − x_b)²) / kappa
 *  as the Gram form computes it (cancellation bounded); every other pair (near-duplicates,
 *  pairs far from the reference, overflow) is computed by the direct kernel on the same block.
 *  `scratch` holds n·(len + MTK_ROW_PAD) + len floats and `norms` n doubles (work
 *  space). Requires finite rows
 *  (the caller checks, as for moments). Returns the number of pairs that fell back to the
 *  direct kernel; their sums are bit for bit mtk_pair_block's. */
typedef size_t (*mtk_gram_block_fn)(const float *rows, size_t stride, size_t n, size_t len,
                                    const float *ref, double kappa, float *scratch, double *norms,
                                    double *ss);

/** Power sums of d = x − shift (computed in float) over `count` floats: sums[0..3] += Σ d,
 *  Σ d², Σ d³, Σ d⁴ (float runs flushed into double, as above); when `extremes` is nonzero,
 *  minmax[0] = min(minmax[0], min x), minmax[1] = max(minmax[1], max x). NaN or infinity in x
 *  make the sums or extremes non-finite, which is how the caller detects them. */
typedef void (*mtk_moments_fn)(const float *x, size_t count, float shift, int extremes,
                               double sums[4], float minmax[2]);

/** C = A·B for row-major A (m × k, row stride lda), B (k × n, ldb), C (m × n, ldc), in float
 *  or double: every C entry is Σ_l A[i,l]·B[l,j] accumulated in the type in order of l (FMA
 *  where the set has it). C is overwritten. Returns 0, or -1 when the packing buffer cannot be
 *  allocated (C untouched). */
typedef int (*mtk_gemm_f32_fn)(size_t m, size_t n, size_t k, const float *a, size_t lda,
                               const float *b, size_t ldb, float *c, size_t ldc);
typedef int (*mtk_gemm_f64_fn)(size_t m, size_t n, size_t k, const double *a, size_t lda,
                               const double *b, size_t ldb, double *c, size_t ldc);

/** Stored elements to float: `count` little-endian elements of one type at `source` (any
 *  alignment) into `target`. BF16, F16 and F32 are exact (every set gives the same floats; a
 *  NaN stays a NaN, its payload may be quietened); F64 is rounded to nearest, as a cast. */
typedef void (*mtk_decode_fn)(const void *source, size_t count, float *target);

/** One Householder step of a pivoted QR on a column-major matrix: for each of `cols` columns
 *  x_j (the `len` doubles at a + j·lda), x_j −= (2·(v·x_j)/vtv)·v, v the `len` doubles at `v`
 *  (vtv = v·v > 0). The dot product in the set's double lanes (FMA where it has it), summed in a
 *  fixed order: deterministic per set. */
typedef void (*mtk_reflect_fn)(const double *v, size_t len, double vtv, double *a, size_t lda, size_t cols);

/** One instruction set's kernels. */
typedef struct {
    const char *name;       /* "sse2", "avx2", "avx512", "neon", "portable" */
    mtk_isa isa;
    mtk_pair_block_fn pair_block;
    mtk_gram_block_fn gram_block;
    mtk_moments_fn moments;
    mtk_gemm_f32_fn gemm_f32;
    mtk_gemm_f64_fn gemm_f64;
    mtk_decode_fn decode_bf16, decode_f16, decode_f32, decode_f64;
    mtk_reflect_fn reflect;
} mtk_kernels;

/** The kernels in use: chosen on the first call (CPU, OS and MODELTREE_KERNEL), then fixed for
 *  the life of the process. Never NULL. */
const mtk_kernels *mtk_kernels_active(void);

/** The kernels of one instruction set, or NULL when it is not compiled in or this CPU (or OS)
 *  cannot run it. For tests and benchmarks that compare sets in one process. */
const mtk_kernels *mtk_kernels_for(mtk_isa isa);

/** The set MODELTREE_KERNEL=`name` selects (NULL or "": the best): that set if this CPU runs
 *  it, else the best supported set below it (avx512 on an AVX2-only CPU gives avx2); an
 *  unknown name gives the best. mtk_kernels_active() is this, applied once to the environment. */
const mtk_kernels *mtk_kernels_named(const char *name);

/** Bytes of a cache line (the step of mtk_prefetch). */
#define MTK_CACHE_LINE 64

/** Asks the caches to fetch the `bytes` at `p` in the background (prefetch hints, one per cache
 *  line): no effect on any result, and never a fault, whatever the address. For the staged bytes a
 *  pass decodes next: between two blocks of one model it compares every pair of models, long
 *  enough for the bytes to arrive from memory, which they would otherwise be waited for. */
void mtk_prefetch(const void *p, size_t bytes);

/** Σ (x − y)² and max |x − y| in double over `count` floats: the exact fallback. */
void mtk_pair_exact(const float *x, const float *y, size_t count, double *ss, double *maxabs);

#ifdef __cplusplus
}
#endif
#endif
