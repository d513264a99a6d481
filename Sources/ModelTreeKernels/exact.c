/* exact.c — the double-precision pair sum, the fallback of every float kernel. */
#include <math.h>
#include "modeltree_kernels.h"

#pragma STDC FP_CONTRACT OFF

void mtk_pair_exact(const float *x, const float *y, size_t count, double *ss, double *maxabs)
{
    double sum = 0, largest = 0;
    for (size_t i = 0; i < count; i++) {
        const double d = (double)x[i] - (double)y[i];
        sum += d * d;
        if (fabs(d) > largest) largest = fabs(d);
    }
    *ss = sum;
    *maxabs = largest;
}
