/* gram_study.c — the accuracy of the Gram form of the pair sums, against the Double
 * loop, on one block of families of several shapes, for every kernel set this CPU runs.
 *
 * For each pair: the relative error of Σ (a − b)² from N_a + N_b − 2·D_ab, and the cancellation
 * ratio (N_a + N_b) / Σ (a − b)² that bounds it (N: squared norms about the reference). With
 * kappa = −∞ every pair is accepted; with kappa = 1/64 a pair whose ratio exceeds 64 falls back
 * to the direct kernel. Prints one line per family, reference (column mean or first row), kappa.
 *
 *   make -C bench/kernels gram-study
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "modeltree_kernels.h"

static unsigned long long state = 1;
static double uniform(void)
{
    state += 0x9E3779B97F4A7C15ull;
    unsigned long long z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) * 0x1p-53;
}
static double gaussian(void) { return sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform()); }

enum { N = 16, LEN = 4096 };
static const char *shapes[] = {
    "siblings, deltas 1e-6 of the weights", "a chain of fine-tunes, steps 1e-6", "siblings, deltas 1e-2",
    "a binary tree, steps 10 %", "two families far apart", "duplicates and BF16-rounded copies",
};

/* Row r of family `shape` (row 0: Laplace-like weights of spread 0.02). */
static void make_family(int shape, float *rows)
{
    for (size_t i = 0; i < LEN; i++) rows[i] = (float)(gaussian() * 0.02);
    for (size_t r = 1; r < N; r++)
        for (size_t i = 0; i < LEN; i++) {
            const double base = rows[i];
            double v;
            switch (shape) {
            case 0: v = base * (1 + 1e-6 * gaussian()); break;
            case 1: v = rows[(r - 1) * LEN + i] * (1 + 1e-6 * gaussian()); break;
            case 2: v = base + 0.02 * 1e-2 * gaussian(); break;
            case 3: v = rows[((r - 1) / 2) * LEN + i] + 0.002 * gaussian(); break;
            case 4: v = (r < N / 2 ? base : -base + 0.01) + 0.0002 * gaussian(); break;
            default:
                v = r % 4 == 1 ? rows[(r - 1) * LEN + i]
                  : r % 4 == 2 ? rows[(r - 2) * LEN + i] * (1 + 0x1p-9 * (uniform() - 0.5))
                  : base + 0.002 * gaussian();
            }
            rows[r * LEN + i] = (float)v;
        }
}

int main(void)
{
    static float rows[N * LEN], scratch[N * (LEN + MTK_ROW_PAD) + LEN];
    const mtk_isa isas[] = {MTK_ISA_SSE2, MTK_ISA_AVX2, MTK_ISA_AVX512, MTK_ISA_NEON, MTK_ISA_PORTABLE};
    for (size_t s = 0; s < sizeof isas / sizeof isas[0]; s++) {
        const mtk_kernels *k = mtk_kernels_for(isas[s]);
        if (!k) continue;
        printf("\n%s: %d rows of %d floats\n\n", k->name, N, LEN);
        printf("| family | reference | kappa | fallbacks | worst relative error | its ratio | largest ratio | direct kernel's worst |\n");
        printf("|---|---|---|---|---|---|---|---|\n");
        for (int shape = 0; shape < 6; shape++) {
            state = 1 + (unsigned long long)shape;
            make_family(shape, rows);
            for (int first = 0; first < 2; first++)
                for (int checked = 0; checked < 2; checked++) {
                    double ss[N * N] = {0}, direct[N * N] = {0}, norms[N];
                    const size_t fallbacks = k->gram_block(rows, LEN, N, LEN, first ? rows : NULL,
                                                           checked ? 1.0 / 64 : -INFINITY, scratch, norms, ss);
                    k->pair_block(rows, LEN, N, LEN, NULL, direct, NULL);
                    double worst = 0, ratioThere = 0, largest = 0, worstDirect = 0;
                    for (size_t a = 0; a < N; a++)
                        for (size_t b = a + 1; b < N; b++) {
                            double e = 0;
                            for (size_t i = 0; i < LEN; i++) {
                                const double d = (double)rows[a * LEN + i] - (double)rows[b * LEN + i];
                                e += d * d;
                            }
                            const double err = e > 0 ? fabs(ss[a * N + b] - e) / e : fabs(ss[a * N + b]);
                            const double errDirect = e > 0 ? fabs(direct[a * N + b] - e) / e : fabs(direct[a * N + b]);
                            const double ratio = e > 0 ? (norms[a] + norms[b]) / e : 0;
                            if (err > worst) { worst = err; ratioThere = ratio; }
                            if (ratio > largest) largest = ratio;
                            if (errDirect > worstDirect) worstDirect = errDirect;
                        }
                    printf("| %s | %s | %s | %zu / %d | %.1e | %.3g | %.3g | %.1e |\n", shapes[shape],
                           first ? "first row" : "mean", checked ? "1/64" : "none", fallbacks, N * (N - 1) / 2,
                           worst, ratioThere, largest, worstDirect);
                }
        }
    }
    return 0;
}
