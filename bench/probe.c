/* Memory-bandwidth probe for the benchmark: the time to read the given files' bytes once.
 *
 *   probe FILE...   prints {"bytes": B, "seconds": S, "threads": T}
 *
 * Every file is mapped read-only and summed as 64-bit words by T threads (the online
 * processors), each summing a contiguous share of every file; the sum is printed to stderr so
 * that the reads cannot be optimised away. Run it on files already in the page cache: it
 * measures the reading floor of a zero-copy pass over the weights, page faults included (a floor
 * for modeltree-cli too, which copies what it reads with pread). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct file { const uint64_t *words; size_t count; size_t bytes; };
struct job { struct file *files; int nfiles; int index; int threads; uint64_t sum; };

static void *run(void *arg) {
    struct job *j = arg;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int f = 0; f < j->nfiles; f++) {
        size_t n = j->files[f].count, share = (n + j->threads - 1) / j->threads;
        size_t begin = share * j->index, end = begin + share > n ? n : begin + share;
        const uint64_t *w = j->files[f].words;
        size_t i = begin;
        for (; i + 4 <= end; i += 4) { s0 += w[i]; s1 += w[i + 1]; s2 += w[i + 2]; s3 += w[i + 3]; }
        for (; i < end; i++) s0 += w[i];
    }
    j->sum = s0 + s1 + s2 + s3;
    return NULL;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    int nfiles = argc - 1, threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (getenv("PROBE_THREADS")) threads = atoi(getenv("PROBE_THREADS"));
    if (threads < 1) threads = 1;
    struct file *files = calloc(nfiles, sizeof *files);
    size_t total = 0;
    double t0 = now();
    for (int f = 0; f < nfiles; f++) {
        int fd = open(argv[f + 1], O_RDONLY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) { perror(argv[f + 1]); return 2; }
        files[f].bytes = (size_t)st.st_size;
        files[f].count = files[f].bytes / 8;
        files[f].words = files[f].bytes ? mmap(NULL, files[f].bytes, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
        if (files[f].words == MAP_FAILED) { perror("mmap"); return 2; }
        close(fd);
        total += files[f].bytes;
    }
    pthread_t *ids = calloc(threads, sizeof *ids);
    struct job *jobs = calloc(threads, sizeof *jobs);
    for (int t = 0; t < threads; t++) {
        jobs[t] = (struct job){files, nfiles, t, threads, 0};
        pthread_create(&ids[t], NULL, run, &jobs[t]);
    }
    uint64_t sum = 0;
    for (int t = 0; t < threads; t++) { pthread_join(ids[t], NULL); sum += jobs[t].sum; }
    double seconds = now() - t0;
    fprintf(stderr, "checksum %llu\n", (unsigned long long)sum);
    printf("{\"bytes\": %zu, \"seconds\": %.6f, \"threads\": %d}\n", total, seconds, threads);
    return 0;
}
