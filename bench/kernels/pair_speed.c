/* pair_speed.c — the pair kernels' speed on one block of the driver's size, per kernel set, one
 * thread: mtk_pair_block (direct) and mtk_gram_block (Gram form, kappa 1/64) on n rows of a
 * family (a Laplace-like root, every row a parent's row plus a perturbation of ~10 % of the
 * spread, so that no pair falls back), best of 9 rounds of this thread's CPU time. Prints
 * G pair-elements/s (n(n−1)/2 · len per call).
 *
 *   make -C bench/kernels pair-speed                 every set this CPU runs, the driver's shapes
 *   .build/bench-kernels/pair-speed avx512 128 1024  one set, n, row length
 *
 * Compare builds by running two binaries in turn (`git stash`, rebuild): the machine is shared,
 * read ratios taken in one run, not absolute figures.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "modeltree_kernels.h"

static double thread_cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static unsigned long long state = 7;
static double uniform(void)
{
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return ((double)(state >> 11) + 0.5) * 0x1p-53;
}

static void measure(const mtk_kernels *k, size_t n, size_t len)
{
    const size_t stride = len + MTK_ROW_PAD;
    float *rows = malloc((n * stride + len) * sizeof(float));
    float *scratch = malloc((n * (len + MTK_ROW_PAD) + len) * sizeof(float));
    double *norms = malloc(n * sizeof(double)), *ss = calloc(n * n, sizeof(double));
    if (!rows || !scratch || !norms || !ss) { fprintf(stderr, "out of memory\n"); exit(1); }
    for (size_t i = 0; i < len; i++) rows[i] = (float)(0.02 * log(uniform()) * (uniform() < 0.5 ? -1 : 1));
    for (size_t r = 1; r < n; r++)
        for (size_t i = 0; i < len; i++)
            rows[r * stride + i] = rows[((r - 1) / 4) * stride + i] + (float)(0.004 * (uniform() - 0.5));
    const double pairs = (double)n * (double)(n - 1) / 2 * (double)len;
    const int reps = (int)(2e8 / pairs) + 1;
    double direct = 1e30, gram = 1e30;
    size_t fallbacks = 0;
    for (int round = 0; round < 9; round++) {
        double t0 = thread_cpu();
        for (int r = 0; r < reps; r++) k->pair_block(rows, stride, n, len, NULL, ss, NULL);
        double t = (thread_cpu() - t0) / reps;
        if (t < direct) direct = t;
        t0 = thread_cpu();
        for (int r = 0; r < reps; r++) fallbacks = k->gram_block(rows, stride, n, len, NULL, 1.0 / 64, scratch, norms, ss);
        t = (thread_cpu() - t0) / reps;
        if (t < gram) gram = t;
    }
    printf("| %s | %zu | %zu | %.1f | %.1f | %zu |\n", k->name, n, len, pairs / direct / 1e9, pairs / gram / 1e9, fallbacks);
    free(rows); free(scratch); free(norms); free(ss);
}

int main(int argc, char **argv)
{
    printf("| set | n | row | direct (G/s) | Gram (G/s) | Gram fallbacks |\n|---|---|---|---|---|---|\n");
    if (argc == 4) {
        measure(mtk_kernels_named(argv[1]), (size_t)atoi(argv[2]), (size_t)atoi(argv[3]));
        return 0;
    }
    /* The driver's block for n models (PairwiseStatistics.blockSize): ≤ 512 KiB of rows. */
    static const size_t shapes[][2] = {{8, 8192}, {32, 4096}, {96, 1024}, {128, 1024}, {256, 512}, {384, 256}, {512, 256}};
    static const mtk_isa sets[] = {MTK_ISA_AVX512, MTK_ISA_AVX2, MTK_ISA_NEON, MTK_ISA_SSE2};
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
        const mtk_kernels *k = mtk_kernels_for(sets[s]);
        if (!k) continue;
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) measure(k, shapes[i][0], shapes[i][1]);
    }
    return 0;
}
