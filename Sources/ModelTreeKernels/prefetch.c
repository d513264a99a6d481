/* prefetch.c — asking the caches for bytes a pass reads next (see mtk_prefetch). */
#include "modeltree_kernels.h"

void mtk_prefetch(const void *p, size_t bytes)
{
    if (!p || bytes == 0) return;
    /* Every line the range touches, from the one holding its first byte. Locality 2 (x86:
     * prefetcht1, towards L2): the bytes are wanted after a whole pair step, which streams the
     * block's rows through L1 meanwhile. */
    const char *first = (const char *)((size_t)p & ~(size_t)(MTK_CACHE_LINE - 1));
    const char *end = (const char *)p + bytes;
    for (const char *line = first; line < end; line += MTK_CACHE_LINE) __builtin_prefetch(line, 0, 2);
}
