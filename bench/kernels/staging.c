/* staging.c — how the pass should read: the CPU time of reading BF16 weights from the page cache
 * with pread and widening them to float, block by block across n files, as the pair pass does
 * (segments of 65,536 elements; each model's part of a segment staged in reads of R elements;
 * blocks of B elements decoded model after model), for several R, in one run.
 *
 *   staging B MAX_ELEMENTS FILE...     (a family's .safetensors files, warm in the page cache)
 *
 * Every read opens the file, checks it with fstat before and after, and closes it, as
 * CheckpointFile.read does (so that a replaced or truncated file is an error, and a collection
 * may hold more files than the process may keep open); "kept" reads through one descriptor per
 * file instead, the cost of those calls. The data starts at byte 4,096 of each file (inside the
 * tensors of gen_family.py's files: which bytes does not matter for the cost). Reported: this
 * thread's CPU time, and how much of it was in the reads. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

enum { SEGMENT = 65536, OFFSET = 4096 };

static void read_part(const char *path, int kept_fd, void *buffer, size_t bytes, off_t at)
{
    if (kept_fd >= 0) {
        if (pread(kept_fd, buffer, bytes, at) != (ssize_t)bytes) { perror(path); exit(1); }
        return;
    }
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 || fstat(fd, &st) != 0 || pread(fd, buffer, bytes, at) != (ssize_t)bytes || fstat(fd, &st) != 0) {
        perror(path);
        exit(1);
    }
    close(fd);
}

/* One configuration: reads of `stage` elements per model (at most a segment). */
static void run(char **names, int n, const int *fds, size_t stage, size_t block, size_t elements, const char *label)
{
    uint16_t *staging = aligned_alloc(64, (size_t)n * stage * 2);
    float *rows = aligned_alloc(64, (size_t)n * block * 4);
    size_t *first = malloc((size_t)n * sizeof *first);
    for (int m = 0; m < n; m++) first[m] = (size_t)-1;
    double sink = 0, reading = 0;
    long reads = 0;
    const double t0 = cpu();
    for (size_t segment = 0; segment < elements; segment += SEGMENT) {
        for (size_t b = segment; b < segment + SEGMENT; b += block) {
            for (int m = 0; m < n; m++) {
                if (first[m] == (size_t)-1 || b < first[m] || b + block > first[m] + stage) {
                    const double r0 = cpu();
                    read_part(names[m], fds ? fds[m] : -1, staging + (size_t)m * stage, stage * 2, OFFSET + (off_t)b * 2);
                    reading += cpu() - r0;
                    reads++;
                    first[m] = b;
                }
                const uint16_t *src = staging + (size_t)m * stage + (b - first[m]);
                float *row = rows + (size_t)m * block;
                for (size_t i = 0; i < block; i++) {
                    const uint32_t w = (uint32_t)src[i] << 16;
                    memcpy(row + i, &w, 4);
                }
            }
            sink += rows[block / 2];
        }
    }
    const double t = cpu() - t0;
    printf("| %d | %zu | %zu KiB | %s | %ld | %.3f s | %.3f s | %.2f |\n", n, block, stage * 2 / 1024, label, reads, t,
           reading, (double)n * elements * 2 / t / 1e9);
    if (sink == 42) printf(" ");
    free(staging); free(rows); free(first);
}

int main(int argc, char **argv)
{
    if (argc < 4) { fprintf(stderr, "usage: staging BLOCK MAX_ELEMENTS FILE...\n"); return 2; }
    const size_t block = strtoul(argv[1], NULL, 10);
    size_t elements = strtoul(argv[2], NULL, 10) / SEGMENT * SEGMENT;
    char **names = argv + 3;
    const int n = argc - 3;
    int *fds = malloc((size_t)n * sizeof *fds);
    for (int m = 0; m < n; m++) {
        struct stat st;
        fds[m] = open(names[m], O_RDONLY | O_CLOEXEC);
        if (fds[m] < 0 || fstat(fds[m], &st) != 0) { perror(names[m]); return 1; }
        const size_t have = ((size_t)st.st_size - OFFSET) / 2 / SEGMENT * SEGMENT;
        if (have < elements) elements = have;
    }
    printf("| models | block | read | descriptors | reads | CPU | of it in reads | GB/s of BF16 |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    for (size_t stage = block; stage <= SEGMENT; stage *= 4) {
        run(names, n, NULL, stage, block, elements, "opened per read");
        if (stage == block || stage == SEGMENT) run(names, n, fds, stage, block, elements, "kept");
    }
    return 0;
}
