/*
 * test_concurrency.c — libmodeltree used from several threads at once, as include/modeltree.h's
 * threading contract allows, with the library's own worker threads running too
 * (MODELTREE_THREADS > 1). `make test-c-tsan` builds the library and this program with
 * ThreadSanitizer; any report ends the run. The tests check results too, not only the absence
 * of reports: what the threads recover equals a recovery made alone, on one worker thread,
 * before they start; what they read from a shared graph equals what the main thread read.
 *
 *   test_concurrency --zoo DIR [NAME-FILTER ...]
 *
 * DIR is a folder of models (examples/zoo). Each recovery asks for MODELTREE_THREADS worker
 * threads (4 unless the variable is set) through modeltree_options_t.threads: the library itself
 * reads no environment variable.
 */
#define _POSIX_C_SOURCE 200809L

#include <modeltree.h>

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "st_files.h"

/** Threads that call the library at once in each test (the machine may have fewer cores). */
enum { THREADS = 4 };

static const char *g_zoo;
/** Worker threads each recovery asks the library for (from MODELTREE_THREADS, read in main). */
static uint32_t g_workers = 4;
/** The threads recover_json asks for: g_workers, or 1 inside alone(). */
static uint32_t g_call_threads = 4;

/* ============================================================================================
 * The zoo, from files and in memory
 * ========================================================================================== */

static int by_string(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The zoo's models read into memory by the tests' own reader, in the order add_path uses. */
typedef struct zoo_memory {
    st_model *models;
    size_t count;
} zoo_memory;

static int zoo_memory_read(zoo_memory *z) {
    z->models = NULL;
    z->count = 0;
    DIR *d = opendir(g_zoo);
    if (!d) return -1;
    char *names[256];
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && count < 256) {
        if (e->d_name[0] == '.') continue;
        char probe[4200];
        snprintf(probe, sizeof probe, "%s/%s/model.safetensors", g_zoo, e->d_name);
        FILE *f = fopen(probe, "rb");
        if (!f) continue;
        fclose(f);
        names[count++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, count, sizeof *names, by_string);
    z->models = calloc(count, sizeof *z->models);
    int failed = 0;
    for (size_t m = 0; m < count; m++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", g_zoo, names[m]);
        if (!failed && st_model_read(&z->models[m], names[m], path) == 0) z->count = m + 1;
        else failed = 1;
        free(names[m]);
    }
    return failed || count == 0 ? -1 : 0;
}

static void zoo_memory_free(zoo_memory *z) {
    for (size_t m = 0; m < z->count; m++) st_model_free(&z->models[m]);
    free(z->models);
}

/* Lends the models' tensors to c (the same memory may be lent to several collections at once:
 * the library only reads it). */
static modeltree_status_t zoo_memory_add(modeltree_collection_t *c, const zoo_memory *z) {
    for (size_t m = 0; m < z->count; m++)
        for (size_t t = 0; t < z->models[m].count; t++) {
            const st_tensor *s = &z->models[m].tensors[t];
            modeltree_status_t status = modeltree_collection_add_tensor(
                c, z->models[m].id, s->name, s->dtype, s->shape, s->ndim, s->data, s->nbytes);
            if (status != MODELTREE_OK) return status;
        }
    return MODELTREE_OK;
}

/* ============================================================================================
 * Helpers
 * ========================================================================================== */

/* The graph's JSON (owned by the library's allocator), or NULL. */
static char *graph_json(const modeltree_graph_t *g) {
    char *json = NULL;
    if (!g || modeltree_graph_to_json(&json, g) != MODELTREE_OK) return NULL;
    return json;
}

/* Recovers c with options o (NULL: the defaults) on g_call_threads worker threads, and returns
 * the JSON, or NULL with *status set. */
static char *recover_json(const modeltree_collection_t *c, const modeltree_options_t *o,
                          modeltree_status_t *status) {
    modeltree_options_t opts;
    if (o) opts = *o;
    else modeltree_options_init(&opts);
    opts.threads = g_call_threads;
    modeltree_graph_t *g = NULL;
    *status = modeltree_recover(&g, c, &opts);
    char *json = *status == MODELTREE_OK ? graph_json(g) : NULL;
    modeltree_graph_free(g);
    return json;
}

/* Runs `body` with its recoveries on one worker thread (called while this process has no other
 * thread, so that the global it sets is not shared). */
static char *alone(char *(*body)(void *), void *arg) {
    g_call_threads = 1;
    char *result = body(arg);
    g_call_threads = g_workers;
    return result;
}

static char *files_reference(void *o) {
    modeltree_collection_t *c = NULL;
    modeltree_status_t status = modeltree_collection_create(&c);
    if (status == MODELTREE_OK) status = modeltree_collection_add_path(c, NULL, g_zoo);
    char *json = status == MODELTREE_OK ? recover_json(c, o, &status) : NULL;
    modeltree_collection_free(c);
    return json;
}

static char *memory_reference(void *z) {
    modeltree_collection_t *c = NULL;
    modeltree_status_t status = modeltree_collection_create(&c);
    if (status == MODELTREE_OK) status = zoo_memory_add(c, z);
    char *json = status == MODELTREE_OK ? recover_json(c, NULL, &status) : NULL;
    modeltree_collection_free(c);
    return json;
}

/* Records a failure seen on a worker thread; checked by the main thread after the join (the
 * harness's CHECK counter is not meant for several threads). */
typedef struct outcome {
    int failures;
    char first[512];
} outcome;

static void fail(outcome *o, const char *what, modeltree_status_t status) {
    if (o->failures++ == 0)
        snprintf(o->first, sizeof o->first, "%s (status %d %s; message: %s)", what, (int)status,
                 modeltree_status_string(status), modeltree_last_error_message());
}

static void check_outcome(const outcome *o, size_t thread) {
    if (o->failures) {
        char what[640];
        snprintf(what, sizeof what, "thread %zu: %d failures, first: %s", thread, o->failures, o->first);
        harness_fail(__FILE__, __LINE__, what);
    }
}

/* Starts count threads on body(args[k]) behind a barrier, so that they call the library at the
 * same moment, and joins them. */
typedef struct start {
    pthread_barrier_t *barrier;
    void *(*body)(void *);
    void *arg;
} start;

static void *started(void *p) {
    start *s = p;
    pthread_barrier_wait(s->barrier);
    return s->body(s->arg);
}

static int run_threads(size_t count, void *(*body)(void *), void *args, size_t arg_size) {
    pthread_barrier_t barrier;
    pthread_t ids[THREADS];
    start starts[THREADS];
    if (count > THREADS || pthread_barrier_init(&barrier, NULL, (unsigned)count) != 0) return -1;
    size_t created = 0;
    for (; created < count; created++) {
        starts[created] = (start){&barrier, body, (char *)args + created * arg_size};
        if (pthread_create(&ids[created], NULL, started, &starts[created]) != 0) break;
    }
    if (created < count) { /* cannot happen here; fail without waiting on the barrier forever */
        fprintf(stderr, "    pthread_create failed\n");
        exit(1);
    }
    for (size_t k = 0; k < count; k++) pthread_join(ids[k], NULL);
    pthread_barrier_destroy(&barrier);
    return 0;
}

/* ============================================================================================
 * Tests
 * ========================================================================================== */

/* Independent collections, two from the zoo's files and two from the same models in memory,
 * each built and recovered on its own thread, twice. */
typedef struct independent {
    const zoo_memory *memory; /* NULL: from files */
    const char *expected;
    outcome out;
} independent;

static void *independent_job(void *p) {
    independent *j = p;
    for (int round = 0; round < 2; round++) {
        modeltree_collection_t *c = NULL;
        modeltree_status_t s = modeltree_collection_create(&c);
        if (s == MODELTREE_OK)
            s = j->memory ? zoo_memory_add(c, j->memory) : modeltree_collection_add_path(c, NULL, g_zoo);
        if (s != MODELTREE_OK) { fail(&j->out, "building the collection", s); modeltree_collection_free(c); break; }
        char *json = recover_json(c, NULL, &s);
        modeltree_collection_free(c);
        if (!json) fail(&j->out, "modeltree_recover", s);
        else if (strcmp(json, j->expected) != 0) fail(&j->out, "the JSON differs from the reference", s);
        modeltree_string_free(json);
    }
    if (strcmp(modeltree_last_error_message(), "") != 0) fail(&j->out, "a message on a thread where nothing failed", 0);
    return NULL;
}

static void test_independent_collections(void) {
    zoo_memory z;
    REQUIRE(zoo_memory_read(&z) == 0);
    char *from_files = alone(files_reference, NULL);
    char *from_memory = alone(memory_reference, &z);
    REQUIRE(from_files != NULL && from_memory != NULL);
    CHECK(strcmp(from_files, from_memory) != 0); /* paths: the JSON tells the two apart */
    independent jobs[THREADS];
    for (size_t k = 0; k < THREADS; k++)
        jobs[k] = (independent){k % 2 ? &z : NULL, k % 2 ? from_memory : from_files, {0, ""}};
    REQUIRE(run_threads(THREADS, independent_job, jobs, sizeof *jobs) == 0);
    for (size_t k = 0; k < THREADS; k++) check_outcome(&jobs[k].out, k);
    modeltree_string_free(from_files);
    modeltree_string_free(from_memory);
    zoo_memory_free(&z);
}

/* One built collection (files and lent memory together) recovered by every thread at once, each
 * with its own options, three times. */
typedef struct shared {
    const modeltree_collection_t *c;
    modeltree_options_t options;
    const char *expected;
    outcome out;
} shared;

static void *shared_job(void *p) {
    shared *j = p;
    for (int round = 0; round < 3; round++) {
        modeltree_status_t s;
        char *json = recover_json(j->c, &j->options, &s);
        if (!json) fail(&j->out, "modeltree_recover", s);
        else if (strcmp(json, j->expected) != 0) fail(&j->out, "the JSON differs from the reference", s);
        modeltree_string_free(json);
    }
    return NULL;
}

static char *shared_reference(void *j) {
    modeltree_status_t s;
    shared *job = j;
    return recover_json(job->c, &job->options, &s);
}

static void test_shared_collection(void) {
    zoo_memory z;
    REQUIRE(zoo_memory_read(&z) == 0);
    /* the zoo from files, plus a copy of its first models from memory under other ids */
    modeltree_collection_t *c = NULL;
    REQUIRE_OK(modeltree_collection_create(&c));
    REQUIRE_OK(modeltree_collection_add_path(c, NULL, g_zoo));
    for (size_t m = 0; m < z.count && m < 3; m++) {
        char id[300];
        snprintf(id, sizeof id, "copy-of-%s", z.models[m].id);
        for (size_t t = 0; t < z.models[m].count; t++) {
            const st_tensor *s = &z.models[m].tensors[t];
            REQUIRE_OK(modeltree_collection_add_tensor(c, id, s->name, s->dtype, s->shape, s->ndim,
                                                       s->data, s->nbytes));
        }
    }
    static const modeltree_metric_t metrics[THREADS] = {MODELTREE_METRIC_AUTO, MODELTREE_METRIC_RMS,
                                                        MODELTREE_METRIC_MAX, MODELTREE_METRIC_AUTO};
    shared jobs[THREADS];
    for (size_t k = 0; k < THREADS; k++) {
        jobs[k] = (shared){c, {0}, NULL, {0, ""}};
        modeltree_options_init(&jobs[k].options);
        jobs[k].options.metric = metrics[k];
        if (k == 3) jobs[k].options.direction = MODELTREE_DIRECTION_FINETUNE;
        jobs[k].expected = alone(shared_reference, &jobs[k]);
        REQUIRE(jobs[k].expected != NULL);
    }
    CHECK(strcmp(jobs[1].expected, jobs[2].expected) != 0); /* the options do reach the library */
    REQUIRE(run_threads(THREADS, shared_job, jobs, sizeof *jobs) == 0);
    for (size_t k = 0; k < THREADS; k++) {
        check_outcome(&jobs[k].out, k);
        modeltree_string_free((char *)jobs[k].expected);
    }
    modeltree_collection_free(c);
    zoo_memory_free(&z);
}

/* One graph read by every thread at once through every accessor and modeltree_graph_to_json;
 * each thread's digest of what it read equals the main thread's. */
static size_t digest(const modeltree_graph_t *g, char *out, size_t capacity) {
    size_t len = 0;
#define ADD(...) do { if (len < capacity) len += (size_t)snprintf(out + len, capacity - len, __VA_ARGS__); } while (0)
    size_t n = modeltree_graph_model_count(g);
    ADD("n=%zu metric=%d trees=%zu tensors=%zu warnings=%zu\n", n, (int)modeltree_graph_metric(g),
        modeltree_graph_tree_count(g), modeltree_graph_tensor_count(g), modeltree_graph_warning_count(g));
    for (size_t i = 0; i < n; i++) {
        const char *id = modeltree_graph_model_id(g, i), *path = modeltree_graph_model_path(g, i);
        ADD("%s %s find=%lld parent=%lld tree=%lld k=%.17g d=%.17g c=%.17g u=%d\n", id, path ? path : "-",
            (long long)modeltree_graph_find(g, id), (long long)modeltree_graph_parent(g, i),
            (long long)modeltree_graph_tree_of(g, i), modeltree_graph_model_kurtosis(g, i),
            modeltree_graph_edge_distance(g, i), modeltree_graph_edge_confidence(g, i),
            (int)modeltree_graph_edge_unsure(g, i));
    }
    for (size_t t = 0; t < modeltree_graph_tree_count(g); t++)
        ADD("tree %zu root=%lld dir=%d unsure=%d\n", t, (long long)modeltree_graph_tree_root(g, t),
            (int)modeltree_graph_tree_direction(g, t), (int)modeltree_graph_tree_direction_unsure(g, t));
    for (size_t k = 0; k < modeltree_graph_tensor_count(g); k++) ADD("%s\n", modeltree_graph_tensor_name(g, k));
    for (size_t k = 0; k < modeltree_graph_warning_count(g); k++) ADD("%s\n", modeltree_graph_warning(g, k));
    size_t cells = modeltree_graph_distances(g, NULL, 0);
    double *d = malloc((cells ? cells : 1) * sizeof *d);
    if (modeltree_graph_distances(g, d, cells) == cells)
        for (size_t k = 0; k < cells; k++) ADD("%.17g ", d[k]);
    free(d);
    /* The bulk accessors and every rendering, read at once by all the threads too. */
    int64_t *parents = malloc((n ? n : 1) * sizeof *parents), *trees = malloc((n ? n : 1) * sizeof *trees);
    double *dist = malloc((n ? n : 1) * sizeof *dist), *conf = malloc((n ? n : 1) * sizeof *conf);
    bool *unsure = malloc(n ? n : 1);
    if (modeltree_graph_parents(g, parents, n) == n && modeltree_graph_model_trees(g, trees, n) == n &&
        modeltree_graph_edge_distances(g, dist, n) == n && modeltree_graph_edge_confidences(g, conf, n) == n &&
        modeltree_graph_edges_unsure(g, unsure, n) == n)
        for (size_t i = 0; i < n; i++)
            ADD("%lld %lld %.17g %.17g %d\n", (long long)parents[i], (long long)trees[i], dist[i], conf[i], (int)unsure[i]);
    free(parents); free(trees); free(dist); free(conf); free(unsure);
    static const modeltree_format_t formats[5] = {MODELTREE_FORMAT_JSON, MODELTREE_FORMAT_TEXT, MODELTREE_FORMAT_DOT,
                                                  MODELTREE_FORMAT_SVG, MODELTREE_FORMAT_HTML};
    for (size_t f = 0; f < 5; f++) {
        char *text = NULL;
        if (modeltree_graph_render(&text, g, formats[f], NULL) != MODELTREE_OK) ADD("(no rendering %zu)", f);
        else ADD("\n%s", text);
        modeltree_string_free(text);
    }
#undef ADD
    return len;
}

enum { DIGEST_SIZE = 1 << 18 };

typedef struct reader {
    const modeltree_graph_t *g;
    const char *expected;
    outcome out;
} reader;

static void *reader_job(void *p) {
    reader *j = p;
    char *mine = malloc(DIGEST_SIZE);
    for (int round = 0; round < 20; round++) {
        size_t len = digest(j->g, mine, DIGEST_SIZE);
        if (len >= DIGEST_SIZE) { fail(&j->out, "the digest does not fit", 0); break; }
        if (strcmp(mine, j->expected) != 0) { fail(&j->out, "the digest differs from the main thread's", 0); break; }
    }
    free(mine);
    return NULL;
}

static void test_shared_graph(void) {
    modeltree_collection_t *c = NULL;
    modeltree_graph_t *g = NULL;
    REQUIRE_OK(modeltree_collection_create(&c));
    REQUIRE_OK(modeltree_collection_add_path(c, NULL, g_zoo));
    REQUIRE_OK(modeltree_recover(&g, c, NULL));
    modeltree_collection_free(c); /* the graph outlives its collection */
    char *expected = malloc(DIGEST_SIZE);
    size_t len = digest(g, expected, DIGEST_SIZE);
    REQUIRE(len < DIGEST_SIZE);
    CHECK(strstr(expected, "(no JSON)") == NULL);
    reader jobs[THREADS];
    for (size_t k = 0; k < THREADS; k++) jobs[k] = (reader){g, expected, {0, ""}};
    REQUIRE(run_threads(THREADS, reader_job, jobs, sizeof *jobs) == 0);
    for (size_t k = 0; k < THREADS; k++) check_outcome(&jobs[k].out, k);
    modeltree_graph_free(g); /* by one thread, after the readers are done */
    free(expected);
}

/* Cancellation while other threads recover the same collection: thread 0's progress callback
 * blocks on its first call until the main thread asks it to stop, then cancels; threads 1.. run
 * to completion meanwhile. Each callback checks it runs on its own recovering thread. */
typedef struct progress {
    pthread_t thread;
    int calls, wrong_thread, bad_values;
    double last;
    atomic_int *started, *stop; /* thread 0 only */
} progress;

static int32_t on_progress(double fraction, const char *stage, void *user_data) {
    progress *p = user_data;
    p->calls++;
    if (!pthread_equal(pthread_self(), p->thread)) p->wrong_thread++;
    if (!(fraction >= 0 && fraction <= 1) || fraction < p->last || !stage || !stage[0]) p->bad_values++;
    p->last = fraction;
    if (!p->stop) return 0;
    atomic_store(p->started, 1);
    for (int waited = 0; !atomic_load(p->stop) && waited < 60000; waited++)
        nanosleep(&(struct timespec){0, 1000000}, NULL); /* at most a minute */
    return 1;
}

typedef struct canceller {
    const modeltree_collection_t *c;
    const char *expected;
    progress log;
    outcome out;
} canceller;

static void *cancel_job(void *p) {
    canceller *j = p;
    modeltree_options_t o;
    modeltree_options_init(&o);
    o.threads = g_workers;
    o.progress = on_progress;
    o.user_data = &j->log;
    j->log.thread = pthread_self();
    modeltree_graph_t *g = (modeltree_graph_t *)&g; /* must come back NULL on failure */
    modeltree_status_t s = modeltree_recover(&g, j->c, &o);
    if (j->log.stop) {
        if (s != MODELTREE_CANCELLED) fail(&j->out, "the cancelled recovery's status", s);
        if (g != NULL) fail(&j->out, "out is not NULL after the cancellation", s);
        if (j->log.calls != 1) fail(&j->out, "progress was called again after it cancelled", s);
        if (!strstr(modeltree_last_error_message(), "cancel")) fail(&j->out, "the message does not say cancelled", s);
    } else {
        char *json = s == MODELTREE_OK ? graph_json(g) : NULL;
        if (!json) fail(&j->out, "modeltree_recover", s);
        else if (strcmp(json, j->expected) != 0) fail(&j->out, "the JSON differs from the reference", s);
        modeltree_string_free(json);
        if (s == MODELTREE_OK) modeltree_graph_free(g);
        if (j->log.calls < 2 || j->log.last != 1.0) fail(&j->out, "progress was not reported to the end", s);
        if (strcmp(modeltree_last_error_message(), "") != 0)
            fail(&j->out, "another thread's cancellation shows in this thread's message", s);
    }
    if (j->log.wrong_thread) fail(&j->out, "progress was called on another thread", s);
    if (j->log.bad_values) fail(&j->out, "progress gave a bad fraction or stage", s);
    return NULL;
}

static void test_cancel_while_others_run(void) {
    modeltree_collection_t *c = NULL;
    REQUIRE_OK(modeltree_collection_create(&c));
    REQUIRE_OK(modeltree_collection_add_path(c, NULL, g_zoo));
    char *expected = alone(files_reference, NULL);
    REQUIRE(expected != NULL);
    for (int round = 0; round < 2; round++) {
        atomic_int started = 0, stop = 0;
        canceller jobs[THREADS];
        pthread_t ids[THREADS];
        for (size_t k = 0; k < THREADS; k++) {
            jobs[k] = (canceller){c, expected, {0}, {0, ""}};
            if (k == 0) { jobs[k].log.started = &started; jobs[k].log.stop = &stop; }
        }
        for (size_t k = 0; k < THREADS; k++) REQUIRE(pthread_create(&ids[k], NULL, cancel_job, &jobs[k]) == 0);
        /* wait until thread 0 is inside modeltree_recover, let the others start, then cancel */
        for (int waited = 0; !atomic_load(&started) && waited < 60000; waited++)
            nanosleep(&(struct timespec){0, 1000000}, NULL);
        CHECK(atomic_load(&started)); /* else thread 0 never reported progress: it is not blocked */
        if (round == 1) nanosleep(&(struct timespec){0, 50000000}, NULL);
        atomic_store(&stop, 1);
        for (size_t k = 0; k < THREADS; k++) pthread_join(ids[k], NULL);
        for (size_t k = 0; k < THREADS; k++) check_outcome(&jobs[k].out, k);
    }
    modeltree_string_free(expected);
    modeltree_collection_free(c);
}

/* Every thread fails over and over, each with its own message, and finds its own message in
 * modeltree_last_error_message while the others fail too; successful calls leave it alone. */
typedef struct failer {
    size_t index;
    outcome out;
} failer;

static void *failing_job(void *p) {
    failer *j = p;
    if (strcmp(modeltree_last_error_message(), "") != 0) fail(&j->out, "a new thread's message is not empty", 0);
    modeltree_collection_t *empty = NULL;
    modeltree_status_t s = modeltree_collection_create(&empty);
    if (s != MODELTREE_OK) { fail(&j->out, "modeltree_collection_create", s); return NULL; }
    for (int round = 0; round < 50; round++) {
        char path[128];
        snprintf(path, sizeof path, "/nonexistent/modeltree-thread-%zu-round-%d", j->index, round);
        modeltree_collection_t *c = NULL;
        s = modeltree_collection_create(&c);
        if (s == MODELTREE_OK) s = modeltree_collection_add_path(c, NULL, path);
        if (s != MODELTREE_IO) fail(&j->out, "add_path of a missing file", s);
        (void)modeltree_collection_model_count(c);           /* cannot fail: leaves the message */
        modeltree_collection_free(c);
        if (!strstr(modeltree_last_error_message(), path)) fail(&j->out, "the message does not name this thread's path", s);
        if (round % 5 == 0) {
            modeltree_graph_t *g = NULL;
            s = modeltree_recover(&g, empty, NULL);
            if (s != MODELTREE_INVALID_ARGUMENT || g) fail(&j->out, "recovering an empty collection", s);
            if (!strstr(modeltree_last_error_message(), "empty")) fail(&j->out, "the message does not say empty", s);
        }
    }
    modeltree_collection_free(empty);
    return NULL;
}

static void test_error_messages_per_thread(void) {
    failer jobs[THREADS];
    for (size_t k = 0; k < THREADS; k++) jobs[k] = (failer){k, {0, ""}};
    REQUIRE(run_threads(THREADS, failing_job, jobs, sizeof *jobs) == 0);
    for (size_t k = 0; k < THREADS; k++) check_outcome(&jobs[k].out, k);
    CHECK(strcmp(modeltree_last_error_message(), "") == 0); /* the main thread failed nowhere */
}

/* ============================================================================================ */

static const test_case tests[] = {
    {"independent_collections", test_independent_collections},
    {"shared_collection", test_shared_collection},
    {"shared_graph", test_shared_graph},
    {"cancel_while_others_run", test_cancel_while_others_run},
    {"error_messages_per_thread", test_error_messages_per_thread},
};

int main(int argc, char **argv) {
    char **filters = malloc((size_t)argc * sizeof *filters);
    int filter_count = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--zoo") == 0 && i + 1 < argc) g_zoo = argv[++i];
        else filters[filter_count++] = argv[i];
    }
    if (!g_zoo) {
        fprintf(stderr, "usage: test_concurrency --zoo DIR [NAME-FILTER ...]\n");
        return 2;
    }
    /* The library's own workers run too: each recovery asks for g_workers of them. */
    const char *threads = getenv("MODELTREE_THREADS");
    if (threads && atoi(threads) >= 1) g_workers = (uint32_t)atoi(threads);
    g_call_threads = g_workers;
    printf("test_concurrency: %d threads calling the library, %u worker threads each\n", THREADS, g_workers);
    if (g_workers < 2) fprintf(stderr, "warning: fewer than 2 worker threads: the library's workers do not run\n");
    int status = harness_run(tests, sizeof tests / sizeof *tests, filters, filter_count);
    free(filters);
    return status;
}
