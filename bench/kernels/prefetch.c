/* prefetch.c — whether the pair pass should prefetch the staged bytes it decodes next, and how:
 * the CPU time of the pass's inner loop on a family's BF16 files with each placement, in one run.
 *
 *   prefetch SEGMENTS FILE...     (n ≤ 256 .safetensors files, warm in the page cache)
 *
 * The loop is PairwiseStatistics.segmentPartial's, with the library's kernels (the best set this
 * CPU runs): two threads, each reading a segment of 65,536 elements of every model in one pread
 * per model (opening the file around it, as CheckpointFile does), then, block by block (the
 * driver's block for n), decoding each model's block, its moments, and the pair step over the
 * n blocks. Placements of mtk_prefetch:
 *   none   — none (the pass before session 6);
 *   next   — every model's next block, after the decoding and before the pair step;
 *   ahead  — while decoding model m, model m + 8's current block;
 *   both   — next and ahead (the pass since session 6).
 * Reported per placement, summed over the threads: CPU time, and of it the reads, the decoding
 * with the moments, and the pair step (each timed by the thread's CPU clock). The data starts at
 * byte 4,096 of each file (inside gen_family.py's tensors: which bytes does not matter). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "modeltree_kernels.h"

enum { SEGMENT = 65536, OFFSET = 4096, AHEAD = 8, MAX_MODELS = 256 };
enum { NEXT = 1, AHEAD_OF_DECODE = 2 };

static char **names;
static int models, segments, placement;
static size_t block;
static const mtk_kernels *kernels;

static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void read_part(const char *path, void *buffer, size_t bytes, off_t at)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 || fstat(fd, &st) != 0 || pread(fd, buffer, bytes, at) != (ssize_t)bytes || fstat(fd, &st) != 0) {
        perror(path);
        exit(1);
    }
    posix_fadvise(fd, at + (off_t)bytes, (off_t)bytes, POSIX_FADV_WILLNEED);
    close(fd);
}

typedef struct { int thread; double cpu, reads, decoding, pairs, sink; } job;

static void *work(void *arg)
{
    job *j = arg;
    const size_t stride = block + MTK_ROW_PAD;
    uint16_t *staged[MAX_MODELS];
    for (int m = 0; m < models; m++) staged[m] = aligned_alloc(64, SEGMENT * 2);
    float *rows = aligned_alloc(64, (size_t)models * stride * sizeof(float));
    double *ss = calloc((size_t)models * models, sizeof(double));
    const double start = cpu();
    for (int s = 0; s < segments; s++) {
        const size_t segment = (size_t)(j->thread + 2 * s);
        for (size_t b = 0; b < SEGMENT; b += block) {
            const double t0 = cpu();
            for (int m = 0; m < models; m++) {
                if (b == 0) {
                    const double r0 = cpu();
                    read_part(names[m], staged[m], SEGMENT * 2, (off_t)(OFFSET + segment * SEGMENT * 2));
                    j->reads += cpu() - r0;
                }
                kernels->decode_bf16(staged[m] + b, block, rows + (size_t)m * stride);
                if ((placement & AHEAD_OF_DECODE) && b > 0 && m + AHEAD < models) mtk_prefetch(staged[m + AHEAD] + b, block * 2);
                double sums[4] = {0};
                float extremes[2] = {0};
                kernels->moments(rows + (size_t)m * stride, block, 0.f, 0, sums, extremes);
                j->sink += sums[1];
            }
            const double t1 = cpu();
            j->decoding += t1 - t0;
            if ((placement & NEXT) && b + block < SEGMENT)
                for (int m = 0; m < models; m++) mtk_prefetch(staged[m] + b + block, block * 2);
            kernels->pair_block(rows, stride, (size_t)models, block, NULL, ss, NULL);
            j->pairs += cpu() - t1;
        }
    }
    j->cpu = cpu() - start;
    j->decoding -= j->reads;
    j->sink += ss[1];
    for (int m = 0; m < models; m++) free(staged[m]);
    free(rows);
    free(ss);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: prefetch SEGMENTS FILE...\n");
        return 2;
    }
    segments = atoi(argv[1]);
    names = argv + 2;
    models = argc - 2 < MAX_MODELS ? argc - 2 : MAX_MODELS;
    kernels = mtk_kernels_active();
    /* The driver's block (PairwiseStatistics.blockSize): n blocks within 512 KiB. */
    for (block = 8192; block > 256 && block * (size_t)models * 4 > 524288; block /= 2) {}
    printf("%d models, block %zu, %s kernels, %d segments per thread\n\n", models, block, kernels->name, segments);
    printf("| round | prefetch | CPU | reads | decoding and moments | pair step |\n|---|---|---|---|---|---|\n");
    static const char *labels[] = {"none", "next", "ahead", "both"};
    for (int round = 1; round <= 3; round++)
        for (placement = 0; placement < 4; placement++) {
            job jobs[2] = {{.thread = 0}, {.thread = 1}};
            pthread_t threads[2];
            for (int t = 0; t < 2; t++) pthread_create(&threads[t], NULL, work, &jobs[t]);
            for (int t = 0; t < 2; t++) pthread_join(threads[t], NULL);
            printf("| %d | %s | %.3f s | %.3f s | %.3f s | %.3f s |\n", round, labels[placement],
                   jobs[0].cpu + jobs[1].cpu, jobs[0].reads + jobs[1].reads,
                   jobs[0].decoding + jobs[1].decoding, jobs[0].pairs + jobs[1].pairs);
        }
    return 0;
}
