/* Memory-bandwidth probe for the benchmark: the time to read the given files' bytes once.
 *
 *   probe FILE...                  prints {"bytes": B, "seconds": S, "threads": T}
 *   probe --pread FILE...          the same bytes read with pread(2) instead of mapped
 *   probe --pread-reopen FILE...   pread, each read opening, checking (fstat) and closing its file
 *
 * Every file is mapped read-only and summed as 64-bit words by T threads (the online
 * processors), each summing a contiguous share of every file; the sum is printed to stderr so
 * that the reads cannot be optimised away. Run it on files already in the page cache: it
 * measures the reading floor of a zero-copy pass over the weights, page faults included (a floor
 * for modeltree-cli too, which copies what it reads with pread).
 *
 * --pread is the floor of a reader that never maps files (modeltree-cli: a file truncated under
 * a mapping is a SIGBUS in the host): each thread reads its share of every file in pieces of
 * 128 KiB (the pass's read of one model's segment of 65,536 BF16 elements) into one buffer of its
 * own and sums it there; --pread-reopen also opens the file, checks it with fstat and closes it
 * around every read, as CheckpointFile does. The gap between the three is what reading through
 * pread costs before any arithmetic. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct file { const uint64_t *words; size_t count; size_t bytes; const char *path; int fd; };
struct job { struct file *files; int nfiles; int index; int threads; uint64_t sum; };

enum { MODE_MAP, MODE_PREAD, MODE_PREAD_REOPEN };
static int mode = MODE_MAP;
enum { PIECE = 128 << 10 };

/* The pread modes: the thread's share of every file (whole pieces), PIECE bytes at a time into
 * one buffer, summed there. */
static void *run_pread(void *arg) {
    struct job *j = arg;
    uint64_t *buffer = aligned_alloc(64, PIECE);
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int f = 0; f < j->nfiles; f++) {
        size_t n = j->files[f].bytes, share = (n / PIECE + j->threads) / j->threads * PIECE;
        size_t begin = share * j->index, end = begin + share > n ? n : begin + share;
        for (size_t at = begin; at < end; at += PIECE) {
            size_t want = end - at < PIECE ? end - at : PIECE;
            int fd = j->files[f].fd;
            struct stat st;
            if (mode == MODE_PREAD_REOPEN && (fd = open(j->files[f].path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
                perror(j->files[f].path);
                exit(2);
            }
            if (pread(fd, buffer, want, (off_t)at) != (ssize_t)want) { perror(j->files[f].path); exit(2); }
            if (mode == MODE_PREAD_REOPEN) {
                if (fstat(fd, &st) != 0) { perror(j->files[f].path); exit(2); }
                close(fd);
            }
            size_t words = want / 8, i = 0;
            for (; i + 4 <= words; i += 4) { s0 += buffer[i]; s1 += buffer[i + 1]; s2 += buffer[i + 2]; s3 += buffer[i + 3]; }
            for (; i < words; i++) s0 += buffer[i];
        }
    }
    free(buffer);
    j->sum = s0 + s1 + s2 + s3;
    return NULL;
}

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
    if (argc > 1 && strcmp(argv[1], "--pread") == 0) { mode = MODE_PREAD; argv++; argc--; }
    else if (argc > 1 && strcmp(argv[1], "--pread-reopen") == 0) { mode = MODE_PREAD_REOPEN; argv++; argc--; }
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
        files[f].path = argv[f + 1];
        files[f].fd = fd;
        total += files[f].bytes;
        if (mode != MODE_MAP) continue;                 /* the descriptor is the pread modes' */
        files[f].words = files[f].bytes ? mmap(NULL, files[f].bytes, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
        if (files[f].words == MAP_FAILED) { perror("mmap"); return 2; }
        close(fd);
    }
    pthread_t *ids = calloc(threads, sizeof *ids);
    struct job *jobs = calloc(threads, sizeof *jobs);
    for (int t = 0; t < threads; t++) {
        jobs[t] = (struct job){files, nfiles, t, threads, 0};
        pthread_create(&ids[t], NULL, mode == MODE_MAP ? run : run_pread, &jobs[t]);
    }
    uint64_t sum = 0;
    for (int t = 0; t < threads; t++) { pthread_join(ids[t], NULL); sum += jobs[t].sum; }
    double seconds = now() - t0;
    fprintf(stderr, "checksum %llu\n", (unsigned long long)sum);
    printf("{\"bytes\": %zu, \"seconds\": %.6f, \"threads\": %d}\n", total, seconds, threads);
    return 0;
}
