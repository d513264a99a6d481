/*
 * test_modeltree.c — the C test suite of libmodeltree, written against include/modeltree.h only.
 *
 *   test_modeltree [--zoo DIR --zoo-json FILE] [--hub EXE] [--hub-cpp EXE] [--test-hpp EXE] [--libdir DIR]
 *                  [--toolchain DIR] [--tmp DIR] [--cli EXE] [NAME-FILTER ...]
 *
 * --zoo-json is the output of `modeltree-cli recover DIR --format json` run from the same working
 * directory (paths appear in the JSON). --cli is the CLI built from the same sources; by default
 * .build-dist/release/modeltree-cli when it exists (where mk/c.mk builds it). Tests whose inputs
 * are not given are skipped.
 */
#define _POSIX_C_SOURCE 200809L

#include <modeltree.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "st_files.h"

static const char *g_zoo, *g_zoo_json, *g_hub, *g_hub_cpp, *g_test_hpp, *g_libdir, *g_toolchain, *g_cli;
static const char *g_tmp = "/tmp";

/* ============================================================================================
 * Helpers
 * ========================================================================================== */

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *s = malloc(cap);
    size_t got;
    while ((got = fread(s + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 2) s = realloc(s, cap *= 2);
    }
    fclose(f);
    s[len] = 0;
    return s;
}

/* Runs a shell command, returning its stdout (malloc'ed) and exit status. */
static char *run_command(const char *command, int *status) {
    FILE *p = popen(command, "r");
    if (!p) { *status = -1; return NULL; }
    size_t cap = 4096, len = 0, got;
    char *s = malloc(cap);
    while ((got = fread(s + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (cap - len < 2) s = realloc(s, cap *= 2);
    }
    s[len] = 0;
    *status = pclose(p);
    return s;
}

static char *make_temp_dir(void) {
    char *dir = malloc(strlen(g_tmp) + 32);
    sprintf(dir, "%s/modeltree-c-XXXXXX", g_tmp);
    if (!mkdtemp(dir)) { free(dir); return NULL; }
    return dir;
}

static void remove_tree(const char *dir) {
    char command[4200];
    if (getenv("MODELTREE_TEST_KEEP")) { fprintf(stderr, "    kept %s\n", dir); return; }
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    if (system(command) != 0) fprintf(stderr, "    could not remove %s\n", dir);
}

/* Deterministic pseudo-random normals (xorshift64* + Box-Muller). */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double uniform01(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return ((rng_state * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}
static double normal(void) {
    double u = uniform01(), v = uniform01();
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* ---- a synthetic zoo held in memory ------------------------------------------------------ */

enum { SYN_MODELS = 6, SYN_TENSORS = 4, SYN_DIM = 32 };

/* Two families: a0 -> a1 -> a3, a0 -> a2; b0 -> b1. Parents given by index (-1: root). The ids
 * sort in index order, so a folder of them expands in the same order as syn_add adds them (the
 * last bits of some results depend on the order of the models). */
static const char *const syn_ids[SYN_MODELS] = {"a0", "a1", "a2", "a3", "b0", "b1"};
static const int syn_parent[SYN_MODELS] = {-1, 0, 0, 1, -1, 4};
static const char *const syn_names[SYN_TENSORS] = {"blocks.0.attn.weight", "blocks.1.attn.weight",
                                                   "head.weight", "blocks.0.bias"};
static const int64_t syn_shapes[SYN_TENSORS][2] = {{SYN_DIM, SYN_DIM}, {SYN_DIM, SYN_DIM},
                                                   {10, SYN_DIM}, {SYN_DIM, 0}};
static const size_t syn_ndims[SYN_TENSORS] = {2, 2, 2, 1};

typedef struct syn_zoo {
    float *data[SYN_MODELS][SYN_TENSORS];
    size_t count[SYN_TENSORS];
} syn_zoo;

static void syn_make(syn_zoo *z) {
    rng_state = 0x9E3779B97F4A7C15ull;
    for (int t = 0; t < SYN_TENSORS; t++) {
        z->count[t] = (size_t)syn_shapes[t][0] * (syn_ndims[t] == 2 ? (size_t)syn_shapes[t][1] : 1);
        for (int m = 0; m < SYN_MODELS; m++) {
            z->data[m][t] = malloc(z->count[t] * sizeof(float));
            for (size_t k = 0; k < z->count[t]; k++) {
                /* roots: heavy-tailed weights; children: the parent plus a smaller update */
                double x = syn_parent[m] < 0 ? normal() * (1.0 + 0.5 * normal() * normal())
                                             : z->data[syn_parent[m]][t][k] + 0.05 * normal();
                z->data[m][t][k] = (float)x;
            }
        }
    }
}

static void syn_free(syn_zoo *z) {
    for (int m = 0; m < SYN_MODELS; m++)
        for (int t = 0; t < SYN_TENSORS; t++) free(z->data[m][t]);
}

static st_tensor syn_tensor(const syn_zoo *z, int m, int t) {
    st_tensor s;
    memset(&s, 0, sizeof s);
    s.name = (char *)syn_names[t];
    s.dtype = MODELTREE_DTYPE_F32;
    s.ndim = syn_ndims[t];
    s.shape[0] = syn_shapes[t][0];
    s.shape[1] = syn_shapes[t][1];
    s.data = z->data[m][t];
    s.nbytes = z->count[t] * sizeof(float);
    return s;
}

/* Adds every synthetic model, from memory, in index order. */
static int syn_add(modeltree_collection_t *c, const syn_zoo *z) {
    for (int m = 0; m < SYN_MODELS; m++)
        for (int t = 0; t < SYN_TENSORS; t++) {
            st_tensor s = syn_tensor(z, m, t);
            if (modeltree_collection_add_tensor(c, syn_ids[m], s.name, s.dtype, s.shape, s.ndim,
                                                s.data, s.nbytes) != MODELTREE_OK)
                return -1;
        }
    return 0;
}

/* A new collection holding the synthetic models (lent from z), or NULL. */
static modeltree_collection_t *syn_collection(const syn_zoo *z) {
    modeltree_collection_t *c = NULL;
    if (modeltree_collection_create(&c) != MODELTREE_OK) return NULL;
    if (syn_add(c, z) != 0) {
        modeltree_collection_free(c);
        return NULL;
    }
    return c;
}

/* Writes the synthetic models as <dir>/<id>/model.safetensors. */
static int syn_write(const syn_zoo *z, const char *dir) {
    for (int m = 0; m < SYN_MODELS; m++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, syn_ids[m]);
        if (mkdir(path, 0755) != 0) return -1;
        strcat(path, "/model.safetensors");
        st_tensor ts[SYN_TENSORS];
        for (int t = 0; t < SYN_TENSORS; t++) ts[t] = syn_tensor(z, m, t);
        if (st_write(path, ts, SYN_TENSORS) != 0) return -1;
    }
    return 0;
}

/* Recovers the synthetic zoo from memory. */
static modeltree_graph_t *syn_recover(const syn_zoo *z, const modeltree_options_t *opts) {
    modeltree_collection_t *c = syn_collection(z);
    modeltree_graph_t *g = NULL;
    if (c && modeltree_recover(&g, c, opts) != MODELTREE_OK)
        fprintf(stderr, "    recover: %s\n", modeltree_last_error_message());
    modeltree_collection_free(c);
    return g;
}

/* Equal as values, or both NaN. */
static int same_double(double x, double y) { return x == y || (isnan(x) && isnan(y)); }

/* Checks that two graphs agree model by model (matched by id): parents, distances, kurtosis,
 * trees, metric, tensors. `exact` asks for bit-identical numbers. */
static void check_same_graph(const modeltree_graph_t *a, const modeltree_graph_t *b, int exact) {
    size_t n = modeltree_graph_model_count(a);
    CHECK(n > 0);
    CHECK(modeltree_graph_model_count(b) == n);
    if (modeltree_graph_model_count(b) != n) return;
    CHECK(modeltree_graph_metric(a) == modeltree_graph_metric(b));
    CHECK(modeltree_graph_tree_count(a) == modeltree_graph_tree_count(b));
    CHECK(modeltree_graph_tensor_count(a) == modeltree_graph_tensor_count(b));
    for (size_t k = 0; k < modeltree_graph_tensor_count(a); k++)
        CHECK(strcmp(modeltree_graph_tensor_name(a, k), modeltree_graph_tensor_name(b, k)) == 0);
    size_t *map = malloc(n * sizeof *map);
    for (size_t i = 0; i < n; i++) {
        int64_t j = modeltree_graph_find(b, modeltree_graph_model_id(a, i));
        CHECK(j >= 0);
        map[i] = j >= 0 ? (size_t)j : 0;
    }
    double tol = exact ? 0.0 : 1e-9;
#define SAME(x, y) (exact ? ((x) == (y) || (isnan(x) && isnan(y))) \
                          : (fabs((x) - (y)) <= tol * (1 + fabs(x)) || (isnan(x) && isnan(y))))
    for (size_t i = 0; i < n; i++) {
        int64_t pa = modeltree_graph_parent(a, i), pb = modeltree_graph_parent(b, map[i]);
        CHECK((pa < 0 && pb < 0) || (pa >= 0 && pb >= 0 && map[pa] == (size_t)pb));
        CHECK(SAME(modeltree_graph_edge_distance(a, i), modeltree_graph_edge_distance(b, map[i])));
        CHECK(SAME(modeltree_graph_edge_confidence(a, i), modeltree_graph_edge_confidence(b, map[i])));
        CHECK(SAME(modeltree_graph_model_kurtosis(a, i), modeltree_graph_model_kurtosis(b, map[i])));
        CHECK(modeltree_graph_edge_unsure(a, i) == modeltree_graph_edge_unsure(b, map[i]));
    }
    double *da = malloc(n * n * sizeof *da), *db = malloc(n * n * sizeof *db);
    CHECK(modeltree_graph_distances(a, da, n * n) == n * n);
    CHECK(modeltree_graph_distances(b, db, n * n) == n * n);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) CHECK(SAME(da[i * n + j], db[map[i] * n + map[j]]));
#undef SAME
    free(da);
    free(db);
    free(map);
}

/* Structural invariants every graph must satisfy, checked through the accessors alone. */
static void check_graph_invariants(const modeltree_graph_t *g) {
    size_t n = modeltree_graph_model_count(g), trees = modeltree_graph_tree_count(g);
    CHECK(n > 0);
    CHECK(trees >= 1 && trees <= n);
    CHECK(modeltree_graph_metric(g) != MODELTREE_METRIC_AUTO);
    CHECK(modeltree_graph_tensor_count(g) > 0);
    double *d = malloc(n * n * sizeof *d);
    CHECK(modeltree_graph_distances(g, d, n * n) == n * n);
    size_t roots = 0;
    for (size_t i = 0; i < n; i++) {
        const char *id = modeltree_graph_model_id(g, i);
        CHECK(id != NULL && modeltree_graph_find(g, id) == (int64_t)i);
        int64_t p = modeltree_graph_parent(g, i);
        int64_t t = modeltree_graph_tree_of(g, i);
        CHECK(p >= -1 && p < (int64_t)n && p != (int64_t)i);
        CHECK(t >= 0 && t < (int64_t)trees);
        CHECK(d[i * n + i] == 0);
        for (size_t j = 0; j < n; j++) CHECK(d[i * n + j] == d[j * n + i] && d[i * n + j] >= 0);
        if (p < 0) {
            roots++;
            CHECK(isnan(modeltree_graph_edge_distance(g, i)));
            CHECK(isnan(modeltree_graph_edge_confidence(g, i)));
            CHECK(!modeltree_graph_edge_unsure(g, i));
            CHECK(modeltree_graph_tree_root(g, (size_t)t) == (int64_t)i);
        } else {
            double c = modeltree_graph_edge_confidence(g, i);
            CHECK(modeltree_graph_edge_distance(g, i) == d[p * (int64_t)n + (int64_t)i]);
            CHECK(c >= 0 && c <= 1);
            CHECK(modeltree_graph_tree_of(g, (size_t)p) == t);
        }
        /* following parents reaches the tree's root within n steps (no cycle) */
        int64_t k = (int64_t)i;
        size_t steps = 0;
        while (modeltree_graph_parent(g, (size_t)k) >= 0 && steps <= n) {
            k = modeltree_graph_parent(g, (size_t)k);
            steps++;
        }
        CHECK(steps <= n && modeltree_graph_tree_root(g, (size_t)t) == k);
    }
    CHECK(roots == trees);
    for (size_t t = 0; t < trees; t++)
        CHECK(modeltree_graph_tree_direction(g, t) == MODELTREE_DIRECTION_FINETUNE ||
              modeltree_graph_tree_direction(g, t) == MODELTREE_DIRECTION_GENERALIZATION);
    free(d);
}

/* ============================================================================================
 * Version, statuses, messages
 * ========================================================================================== */

static void test_version(void) {
    CHECK(modeltree_version_number() == MODELTREE_VERSION_NUMBER);
    CHECK(MODELTREE_VERSION_NUMBER ==
          MODELTREE_VERSION_MAJOR * 10000 + MODELTREE_VERSION_MINOR * 100 + MODELTREE_VERSION_PATCH);
    CHECK(strcmp(modeltree_version_string(), MODELTREE_VERSION_STRING) == 0);
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", MODELTREE_VERSION_MAJOR, MODELTREE_VERSION_MINOR,
             MODELTREE_VERSION_PATCH);
    CHECK(strcmp(modeltree_version_string(), expected) == 0);
    CHECK(modeltree_version_string() == modeltree_version_string()); /* static */
}

/* The header's rule: the same MAJOR, and a library at least as new as the header. */
/* The kernel set: a known name, static; MODELTREE_KERNEL forces a set every CPU runs
 * (mk/c.mk runs this test again with MODELTREE_KERNEL=portable). */
static void test_kernel_name(void) {
    const char *name = modeltree_kernel_name();
    CHECK(name != NULL);
    static const char *const sets[] = {"avx512", "avx2", "sse2", "neon", "portable"};
    int known = 0;
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) known |= strcmp(name, sets[i]) == 0;
    CHECK(known);
    CHECK(modeltree_kernel_name() == name);                     /* static, chosen once */
    const char *wanted = getenv("MODELTREE_KERNEL");
#if defined(__x86_64__)
    if (wanted && strcmp(wanted, "sse2") == 0) CHECK(strcmp(name, "sse2") == 0);
#endif
    if (wanted && strcmp(wanted, "portable") == 0) CHECK(strcmp(name, "portable") == 0);
}

static void test_version_compatible(void) {
    const uint32_t v = MODELTREE_VERSION_NUMBER, major = v / 10000 * 10000;
    CHECK(modeltree_version_compatible(v));
    CHECK(modeltree_version_compatible(major));            /* built with an older minor: served */
    if (v % 10000 > 0) CHECK(modeltree_version_compatible(v - 1));
    CHECK(!modeltree_version_compatible(v + 1));           /* built with a newer header: refused */
    CHECK(!modeltree_version_compatible(v + 100));
    CHECK(!modeltree_version_compatible(major + 10000));   /* another MAJOR, either way */
    if (major > 0) CHECK(!modeltree_version_compatible(major - 10000));
    CHECK(!modeltree_version_compatible(UINT32_MAX));
}

static void test_status_values_are_pinned(void) {
    CHECK(MODELTREE_OK == 0);
    CHECK(MODELTREE_INVALID_ARGUMENT == 1);
    CHECK(MODELTREE_IO == 2);
    CHECK(MODELTREE_FORMAT == 3);
    CHECK(MODELTREE_INCOMPATIBLE_MODELS == 4);
    CHECK(MODELTREE_OUT_OF_MEMORY == 5);
    CHECK(MODELTREE_CANCELLED == 6);
    CHECK(MODELTREE_INTERNAL == 7);
    CHECK(MODELTREE_DTYPE_F32 == 1 && MODELTREE_DTYPE_F64 == 2 && MODELTREE_DTYPE_F16 == 3 &&
          MODELTREE_DTYPE_BF16 == 4);
    CHECK(MODELTREE_METRIC_AUTO == 0 && MODELTREE_METRIC_RMS == 1 && MODELTREE_METRIC_MAX == 2 &&
          MODELTREE_METRIC_RANK == 3);
    CHECK(MODELTREE_DIRECTION_AUTO == 0 && MODELTREE_DIRECTION_FINETUNE == 1 &&
          MODELTREE_DIRECTION_GENERALIZATION == 2);
}

static void test_status_strings(void) {
    const char *seen[8];
    for (int s = 0; s <= 7; s++) {
        seen[s] = modeltree_status_string((modeltree_status_t)s);
        CHECK(seen[s] != NULL && seen[s][0] != 0);
        for (int k = 0; k < s; k++) CHECK(strcmp(seen[k], seen[s]) != 0);
    }
    CHECK(strcmp(modeltree_status_string(MODELTREE_OK), "ok") == 0);
    CHECK(strcmp(modeltree_status_string((modeltree_status_t)8), "unknown status") == 0);
    CHECK(strcmp(modeltree_status_string((modeltree_status_t)-1), "unknown status") == 0);
    CHECK(strcmp(modeltree_status_string((modeltree_status_t)0x7fffffff), "unknown status") == 0);
}

static void *fail_once(void *arg) {
    modeltree_status_t s = modeltree_collection_create(NULL);
    char **out = arg;
    *out = strdup(modeltree_last_error_message());
    return (void *)(intptr_t)s;
}

static void test_last_error_message_is_per_thread(void) {
    CHECK(strcmp(modeltree_last_error_message(), "") == 0); /* nothing failed yet */
    modeltree_collection_t *c = NULL;
    REQUIRE_OK(modeltree_collection_create(&c));
    CHECK(strcmp(modeltree_last_error_message(), "") == 0); /* success leaves it alone */
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_collection_add_path(c, NULL, NULL));
    char *mine = strdup(modeltree_last_error_message());
    CHECK(strstr(mine, "path") != NULL);

    pthread_t thread;
    char *theirs = NULL;
    void *result = NULL;
    REQUIRE(pthread_create(&thread, NULL, fail_once, &theirs) == 0);
    REQUIRE(pthread_join(thread, &result) == 0);
    CHECK((modeltree_status_t)(intptr_t)result == MODELTREE_INVALID_ARGUMENT);
    CHECK(theirs && strstr(theirs, "out") != NULL);
    CHECK(strcmp(modeltree_last_error_message(), mine) == 0); /* the other thread's failure */

    CHECK(modeltree_collection_model_count(c) == 0);
    CHECK(strcmp(modeltree_last_error_message(), mine) == 0); /* successes leave it */
    free(mine);
    free(theirs);
    modeltree_collection_free(c);
}

/* ============================================================================================
 * Collections: building and misuse
 * ========================================================================================== */

static void test_collection_create_free(void) {
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_collection_create(NULL));
    CHECK(modeltree_last_error_message()[0] != 0);
    modeltree_collection_free(NULL);
    CHECK(modeltree_collection_model_count(NULL) == 0);
    modeltree_collection_t *c = (modeltree_collection_t *)&c; /* garbage that must be replaced */
    REQUIRE_OK(modeltree_collection_create(&c));
    CHECK(c != NULL && c != (modeltree_collection_t *)&c);
    CHECK(modeltree_collection_model_count(c) == 0);
    modeltree_collection_free(c);
}

static void test_add_tensor_builds_models(void) {
    modeltree_collection_t *c = NULL;
    REQUIRE_OK(modeltree_collection_create(&c));
    float w[6] = {1, 2, 3, 4, 5, 6};
    int64_t shape[2] = {2, 3};
    REQUIRE_OK(modeltree_collection_add_tensor(c, "m1", "w", MODELTREE_DTYPE_F32, shape, 2, w, sizeof w));
    REQUIRE_OK(modeltree_collection_add_tensor(c, "m2", "w", MODELTREE_DTYPE_F32, shape, 2, w, sizeof w));
    REQUIRE_OK(modeltree_collection_add_tensor(c, "m1", "v", MODELTREE_DTYPE_F32, shape, 2, w, sizeof w));
    CHECK(modeltree_collection_model_count(c) == 2);
    /* a scalar: ndim 0, shape may be NULL */
    REQUIRE_OK(modeltree_collection_add_tensor(c, "m1", "scale", MODELTREE_DTYPE_F32, NULL, 0, w, 4));
    /* an empty tensor: data may be NULL when data_size is 0 */
    int64_t empty[2] = {0, 7};
    REQUIRE_OK(modeltree_collection_add_tensor(c, "m1", "empty", MODELTREE_DTYPE_F64, empty, 2, NULL, 0));
    /* every dtype, any alignment */
    unsigned char bytes[64] = {0};
    int64_t three = 3;
    REQUIRE_OK(modeltree_collection_add_tensor(c, "m3", "f64", MODELTREE_DTYPE_F64, &three, 1, bytes + 1, 24));
    REQUIRE_OK(modeltree_collection_add_tensor(c, "m3", "f16", MODELTREE_DTYPE_F16, &three, 1, bytes + 1, 6));
    REQUIRE_OK(modeltree_collection_add_tensor(c, "m3", "bf16", MODELTREE_DTYPE_BF16, &three, 1, bytes + 3, 6));
    CHECK(modeltree_collection_model_count(c) == 3);
    /* names are copied: the caller's buffers may change */
    char id[8] = "m4", name[8] = "w";
    REQUIRE_OK(modeltree_collection_add_tensor(c, id, name, MODELTREE_DTYPE_F32, shape, 2, w, sizeof w));
    strcpy(id, "zz");
    strcpy(name, "zz");
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, /* "m4" still has a tensor "w" */
                 modeltree_collection_add_tensor(c, "m4", "w", MODELTREE_DTYPE_F32, shape, 2, w, sizeof w));
    CHECK(modeltree_collection_model_count(c) == 4);
    modeltree_collection_free(c);
}

static void test_add_tensor_misuse(void) {
    modeltree_collection_t *c = NULL;
    REQUIRE_OK(modeltree_collection_create(&c));
    float w[6] = {1, 2, 3, 4, 5, 6};
    int64_t shape[2] = {2, 3};
    const modeltree_dtype_t F32 = MODELTREE_DTYPE_F32;
#define BAD(call) CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, call)
    BAD(modeltree_collection_add_tensor(NULL, "m", "w", F32, shape, 2, w, sizeof w));
    BAD(modeltree_collection_add_tensor(c, NULL, "w", F32, shape, 2, w, sizeof w));
    BAD(modeltree_collection_add_tensor(c, "m", NULL, F32, shape, 2, w, sizeof w));
    BAD(modeltree_collection_add_tensor(c, "", "w", F32, shape, 2, w, sizeof w));
    BAD(modeltree_collection_add_tensor(c, "m", "", F32, shape, 2, w, sizeof w));
    BAD(modeltree_collection_add_tensor(c, "m\xff", "w", F32, shape, 2, w, sizeof w)); /* not UTF-8 */
    BAD(modeltree_collection_add_tensor(c, "m", "w\xc3", F32, shape, 2, w, sizeof w));
    /* unknown dtypes */
    BAD(modeltree_collection_add_tensor(c, "m", "w", (modeltree_dtype_t)0, shape, 2, w, sizeof w));
    BAD(modeltree_collection_add_tensor(c, "m", "w", (modeltree_dtype_t)5, shape, 2, w, sizeof w));
    BAD(modeltree_collection_add_tensor(c, "m", "w", (modeltree_dtype_t)-1, shape, 2, w, sizeof w));
    CHECK(strstr(modeltree_last_error_message(), "dtype") != NULL);
    /* shapes */
    int64_t negative[2] = {-2, -3};
    BAD(modeltree_collection_add_tensor(c, "m", "w", F32, negative, 2, w, sizeof w));
    CHECK(strstr(modeltree_last_error_message(), "negative") != NULL);
    int64_t huge[2] = {INT64_MAX, INT64_MAX};
    BAD(modeltree_collection_add_tensor(c, "m", "w", F32, huge, 2, w, sizeof w));
    int64_t big[3] = {1 << 30, 1 << 30, 1 << 30};
    BAD(modeltree_collection_add_tensor(c, "m", "w", F32, big, 3, w, sizeof w));
    BAD(modeltree_collection_add_tensor(c, "m", "w", F32, NULL, 2, w, sizeof w));
    BAD(modeltree_collection_add_tensor(c, "m", "w", F32, shape, MODELTREE_MAX_NDIM + 1, w, sizeof w));
    BAD(modeltree_collection_add_tensor(c, "m", "w", F32, shape, SIZE_MAX, w, sizeof w));
    /* data and its size */
    BAD(modeltree_collection_add_tensor(c, "m", "w", F32, shape, 2, w, sizeof w - 4));
    CHECK(strstr(modeltree_last_error_message(), "24 bytes") != NULL);
    BAD(modeltree_collection_add_tensor(c, "m", "w", F32, shape, 2, w, sizeof w + 4));
    BAD(modeltree_collection_add_tensor(c, "m", "w", F32, shape, 2, w, 0));
    BAD(modeltree_collection_add_tensor(c, "m", "w", F32, shape, 2, w, SIZE_MAX));
    BAD(modeltree_collection_add_tensor(c, "m", "w", MODELTREE_DTYPE_F64, shape, 2, w, sizeof w)); /* wrong dtype */
    BAD(modeltree_collection_add_tensor(c, "m", "w", F32, shape, 1, w, sizeof w)); /* wrong ndim */
    BAD(modeltree_collection_add_tensor(c, "m", "w", F32, shape, 2, NULL, sizeof w));
    BAD(modeltree_collection_add_tensor(c, "m", "w", F32, shape, 2, (const void *)(uintptr_t)(UINTPTR_MAX - 8), 24));
    CHECK(modeltree_collection_model_count(c) == 0); /* nothing was added by a failed call */
    /* the same tensor twice */
    REQUIRE_OK(modeltree_collection_add_tensor(c, "m", "w", F32, shape, 2, w, sizeof w));
    BAD(modeltree_collection_add_tensor(c, "m", "w", F32, shape, 2, w, sizeof w));
    CHECK(strstr(modeltree_last_error_message(), "already") != NULL);
    CHECK(modeltree_collection_model_count(c) == 1);
#undef BAD
    modeltree_collection_free(c);
}

static void test_add_path(void) {
    char *dir = make_temp_dir();
    REQUIRE(dir != NULL);
    syn_zoo z;
    syn_make(&z);
    REQUIRE(syn_write(&z, dir) == 0);
    char path[4200], file[4200];

    modeltree_collection_t *c = NULL;
    REQUIRE_OK(modeltree_collection_create(&c));
    /* a parent folder expands to its models */
    REQUIRE_OK(modeltree_collection_add_path(c, NULL, dir));
    CHECK(modeltree_collection_model_count(c) == SYN_MODELS);
    /* adding them again: every id is taken, nothing is added */
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_collection_add_path(c, NULL, dir));
    snprintf(path, sizeof path, "%s/a1", dir);
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_collection_add_path(c, NULL, path));
    CHECK(strstr(modeltree_last_error_message(), "'a1'") != NULL);
    /* a model folder under a new id, and a file under a new id */
    REQUIRE_OK(modeltree_collection_add_path(c, "a-again", path));
    snprintf(file, sizeof file, "%s/a2/model.safetensors", dir);
    REQUIRE_OK(modeltree_collection_add_path(c, "b-file", file));
    CHECK(modeltree_collection_model_count(c) == SYN_MODELS + 2);
    /* a parent folder with an explicit id is ambiguous */
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_collection_add_path(c, "all", dir));
    /* an id of a path model cannot be extended with tensors, nor a memory model's id reused */
    float w[4] = {0};
    int64_t shape[2] = {2, 2};
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT,
                 modeltree_collection_add_tensor(c, "a-again", "x", MODELTREE_DTYPE_F32, shape, 2, w, sizeof w));
    REQUIRE_OK(modeltree_collection_add_tensor(c, "mem", "x", MODELTREE_DTYPE_F32, shape, 2, w, sizeof w));
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_collection_add_path(c, "mem", path));
    CHECK(modeltree_collection_model_count(c) == SYN_MODELS + 3);

    /* NULLs, bad strings, missing and malformed files */
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_collection_add_path(NULL, NULL, dir));
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_collection_add_path(c, NULL, NULL));
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_collection_add_path(c, NULL, ""));
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_collection_add_path(c, "", path));
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_collection_add_path(c, NULL, "/tmp/\xff\xfe"));
    snprintf(path, sizeof path, "%s/does-not-exist", dir);
    CHECK_STATUS(MODELTREE_IO, modeltree_collection_add_path(c, NULL, path));
    snprintf(path, sizeof path, "%s/bad", dir);
    REQUIRE(mkdir(path, 0755) == 0);
    snprintf(file, sizeof file, "%s/bad/model.safetensors", dir);
    FILE *f = fopen(file, "wb");
    REQUIRE(f != NULL);
    fputs("\x10\0\0\0\0\0\0\0{\"w\": [1, 2, 3", f); /* header runs past the end */
    fclose(f);
    CHECK_STATUS(MODELTREE_FORMAT, modeltree_collection_add_path(c, NULL, path));
    CHECK(strstr(modeltree_last_error_message(), "model.safetensors") != NULL);
    /* a folder with one bad model among good ones: nothing is added */
    modeltree_collection_t *d = NULL;
    REQUIRE_OK(modeltree_collection_create(&d));
    CHECK(modeltree_collection_add_path(d, NULL, dir) != MODELTREE_OK);
    CHECK(modeltree_collection_model_count(d) == 0);
    modeltree_collection_free(d);
    CHECK(modeltree_collection_model_count(c) == SYN_MODELS + 3);

    modeltree_collection_free(c);
    syn_free(&z);
    remove_tree(dir);
    free(dir);
}

/* The formats other than safetensors, from the committed typed zoo 2 (run from the repository's
 * root, as make does): GGUF Q8_0/Q4_K_M/F16 files, a torch.save fine-tune and an int8 ONNX export
 * are added by add_path like safetensors, and each export is recovered next to the model
 * truth.json names as its source; a malformed GGUF is MODELTREE_FORMAT naming the file. */
static void test_add_path_formats(void) {
    static const char *zoo = "examples/typed_zoo2";
    static const struct { const char *id, *source; } models[] = {
        {"fx", NULL}, {"fx-food", NULL}, {"fx-sports", NULL}, {"fx-food-love", NULL},
        {"fx-food-Q8_0.gguf", "fx-food"}, {"fx-Q4_K_M.gguf", "fx"}, {"fx-sports-F16.gguf", "fx-sports"},
        {"fx-food-love-int8.onnx", "fx-food-love"},
    };
    const size_t count = sizeof models / sizeof models[0];
    struct stat sb;
    if (stat(zoo, &sb) != 0) harness_skip("examples/typed_zoo2 not found: run from the repository's root");
    modeltree_collection_t *c = NULL;
    REQUIRE_OK(modeltree_collection_create(&c));
    char path[4200];
    for (size_t i = 0; i < count; i++) {
        snprintf(path, sizeof path, "%s/%s", zoo, models[i].id);
        REQUIRE_OK(modeltree_collection_add_path(c, NULL, path));
    }
    CHECK(modeltree_collection_model_count(c) == count);
    modeltree_options_t o;
    modeltree_options_init(&o);
    modeltree_graph_t *g = NULL;
    REQUIRE_OK(modeltree_recover(&g, c, &o));
    check_graph_invariants(g);
    int64_t index[16];
    for (size_t i = 0; i < count; i++) {
        index[i] = -1;
        for (size_t k = 0; k < count; k++)
            if (strcmp(modeltree_graph_model_id(g, k), models[i].id) == 0) index[i] = (int64_t)k;
        REQUIRE(index[i] >= 0);
    }
    for (size_t i = 0; i < count; i++) {
        if (!models[i].source) continue;
        int64_t s = -1;
        for (size_t k = 0; k < count; k++)
            if (strcmp(models[k].id, models[i].source) == 0) s = index[k];
        CHECK(modeltree_graph_parent(g, (size_t)index[i]) == s || modeltree_graph_parent(g, (size_t)s) == index[i]);
    }
    modeltree_graph_free(g);

    char *dir = make_temp_dir();
    REQUIRE(dir != NULL);
    snprintf(path, sizeof path, "%s/bad.gguf", dir);
    FILE *f = fopen(path, "wb");
    REQUIRE(f != NULL);
    fwrite("GGUF\3\0\0\0\0\0", 1, 10, f); /* cut inside the tensor count */
    fclose(f);
    CHECK_STATUS(MODELTREE_FORMAT, modeltree_collection_add_path(c, NULL, path));
    CHECK(strstr(modeltree_last_error_message(), "bad.gguf") != NULL);
    CHECK(modeltree_collection_model_count(c) == count);
    modeltree_collection_free(c);
    remove_tree(dir);
    free(dir);
}

/* ============================================================================================
 * Options and recovery misuse
 * ========================================================================================== */

static void test_options_init(void) {
    modeltree_options_t o;
    memset(&o, 0xAB, sizeof o);
    modeltree_options_init(&o);
    CHECK(o.struct_size == sizeof(modeltree_options_t));
    CHECK(o.metric == MODELTREE_METRIC_AUTO);
    CHECK(o.direction == MODELTREE_DIRECTION_AUTO);
    CHECK(o.lambda == 0.3);
    CHECK(o.trees == 0);
    CHECK(o.include == NULL && o.include_count == 0);
    CHECK(o.exclude == NULL && o.exclude_count == 0);
    CHECK(o.progress == NULL && o.user_data == NULL);
    CHECK(o.threads == 0 && o.max_models == 0 && o.memory_budget == 0);
    modeltree_options_init(NULL);
}

/* A caller built with the 0.1 header passes a struct that ends at user_data: it works, and
 * nothing past its end is read (the struct lives in a buffer of exactly that size, which the
 * sanitizer build checks). */
static void test_options_of_0_1(void) {
    syn_zoo z;
    syn_make(&z);
    modeltree_collection_t *c = syn_collection(&z);
    REQUIRE(c != NULL);
    const size_t size = offsetof(modeltree_options_t, threads);
    CHECK(size == offsetof(modeltree_options_t, user_data) + sizeof(void *));
    modeltree_options_t full;
    modeltree_options_init(&full);
    full.struct_size = size;
    full.metric = MODELTREE_METRIC_RMS;
    modeltree_options_t *old = malloc(size);
    REQUIRE(old != NULL);
    memcpy(old, &full, size);
    modeltree_graph_t *g = NULL, *h = NULL;
    REQUIRE_OK(modeltree_recover(&g, c, old));
    CHECK(modeltree_graph_metric(g) == MODELTREE_METRIC_RMS);
    full.struct_size = sizeof full;
    REQUIRE_OK(modeltree_recover(&h, c, &full));
    check_same_graph(g, h, 1);
    free(old);
    modeltree_graph_free(g);
    modeltree_graph_free(h);
    modeltree_collection_free(c);
    syn_free(&z);
}

/* The options added in 0.2: threads change nothing, max_models and memory_budget are limits that
 * fail before anything is read, with messages naming them as the struct does. */
static void test_threads_and_limits(void) {
    syn_zoo z;
    syn_make(&z);
    modeltree_collection_t *c = syn_collection(&z);
    REQUIRE(c != NULL);
    modeltree_options_t o;
    modeltree_options_init(&o);
    o.threads = 1;
    modeltree_graph_t *one = NULL, *g = NULL;
    REQUIRE_OK(modeltree_recover(&one, c, &o));
    uint32_t counts[3] = {2, 3, 1000};
    for (int k = 0; k < 3; k++) {
        o.threads = counts[k];
        REQUIRE_OK(modeltree_recover(&g, c, &o));
        check_same_graph(one, g, 1);
        modeltree_graph_free(g);
        g = NULL;
    }
    modeltree_options_init(&o);
    o.max_models = SYN_MODELS - 1;
    g = (modeltree_graph_t *)&g;
    CHECK_STATUS(MODELTREE_OUT_OF_MEMORY, modeltree_recover(&g, c, &o));
    CHECK(g == NULL);
    CHECK(strstr(modeltree_last_error_message(), "max_models") == modeltree_last_error_message());
    o.max_models = SYN_MODELS;
    REQUIRE_OK(modeltree_recover(&g, c, &o));
    modeltree_graph_free(g);
    modeltree_options_init(&o);
    o.memory_budget = 1000;
    g = (modeltree_graph_t *)&g;
    CHECK_STATUS(MODELTREE_OUT_OF_MEMORY, modeltree_recover(&g, c, &o));
    CHECK(g == NULL);
    CHECK(strstr(modeltree_last_error_message(), "memory_budget is 1000 bytes") != NULL);
    o.memory_budget = UINT64_MAX;
    REQUIRE_OK(modeltree_recover(&g, c, &o));
    check_same_graph(one, g, 1);
    modeltree_graph_free(g);
    /* an option's message names it as the struct spells it, never as a command-line flag */
    modeltree_options_init(&o);
    o.lambda = -1;
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_recover(&g, c, &o));
    CHECK(strstr(modeltree_last_error_message(), "lambda must be a finite number") != NULL);
    CHECK(strstr(modeltree_last_error_message(), "--") == NULL);
    modeltree_graph_free(one);
    modeltree_collection_free(c);
    syn_free(&z);
}

static void test_recover_misuse(void) {
    syn_zoo z;
    syn_make(&z);
    modeltree_collection_t *c = NULL, *empty = NULL;
    modeltree_graph_t *g = (modeltree_graph_t *)&g;
    REQUIRE_OK(modeltree_collection_create(&c));
    REQUIRE_OK(modeltree_collection_create(&empty));
    REQUIRE(syn_add(c, &z) == 0);
#define BAD(call) CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, call); CHECK(g == NULL); g = (modeltree_graph_t *)&g
    BAD(modeltree_recover(&g, NULL, NULL));
    BAD(modeltree_recover(&g, empty, NULL));
    CHECK(strstr(modeltree_last_error_message(), "empty") != NULL);
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_recover(NULL, c, NULL));

    modeltree_options_t o;
    modeltree_options_init(&o);
    o.struct_size = 0;
    BAD(modeltree_recover(&g, c, &o));
    CHECK(strstr(modeltree_last_error_message(), "struct_size") != NULL);
    o.struct_size = sizeof o - 8;
    BAD(modeltree_recover(&g, c, &o));
    o.struct_size = sizeof o + 8;
    BAD(modeltree_recover(&g, c, &o));
    o.struct_size = SIZE_MAX;
    BAD(modeltree_recover(&g, c, &o));

    modeltree_options_init(&o);
    o.metric = (modeltree_metric_t)4;
    BAD(modeltree_recover(&g, c, &o));
    modeltree_options_init(&o);
    o.direction = (modeltree_direction_t)-1;
    BAD(modeltree_recover(&g, c, &o));
    modeltree_options_init(&o);
    o.lambda = -1;
    BAD(modeltree_recover(&g, c, &o));
    o.lambda = NAN;
    BAD(modeltree_recover(&g, c, &o));
    o.lambda = INFINITY;
    BAD(modeltree_recover(&g, c, &o));
    modeltree_options_init(&o);
    o.trees = SYN_MODELS + 1;
    BAD(modeltree_recover(&g, c, &o));
    modeltree_options_init(&o);
    o.include_count = 1;
    BAD(modeltree_recover(&g, c, &o));
    const char *patterns[2] = {"blocks.*", NULL};
    o.include = patterns;
    o.include_count = 2;
    BAD(modeltree_recover(&g, c, &o));
    const char *bad_utf8[1] = {"\xff*"};
    modeltree_options_init(&o);
    o.exclude = bad_utf8;
    o.exclude_count = 1;
    BAD(modeltree_recover(&g, c, &o));
    o.exclude_count = SIZE_MAX;
    BAD(modeltree_recover(&g, c, &o));
#undef BAD
    /* a pattern that matches nothing: the models share no selected tensor */
    const char *nothing[1] = {"no-such-tensor"};
    modeltree_options_init(&o);
    o.include = nothing;
    o.include_count = 1;
    g = (modeltree_graph_t *)&g;
    CHECK_STATUS(MODELTREE_INCOMPATIBLE_MODELS, modeltree_recover(&g, c, &o));
    CHECK(g == NULL);
    /* models with no matrix to compare */
    modeltree_collection_t *d = NULL;
    REQUIRE_OK(modeltree_collection_create(&d));
    float w[4] = {1, 2, 3, 4};
    int64_t s4[1] = {4};
    REQUIRE_OK(modeltree_collection_add_tensor(d, "x", "bias", MODELTREE_DTYPE_F32, s4, 1, w, sizeof w));
    REQUIRE_OK(modeltree_collection_add_tensor(d, "y", "bias", MODELTREE_DTYPE_F32, s4, 1, w, sizeof w));
    g = (modeltree_graph_t *)&g;
    CHECK_STATUS(MODELTREE_INCOMPATIBLE_MODELS, modeltree_recover(&g, d, NULL));
    CHECK(g == NULL);
    modeltree_collection_free(d);
    modeltree_collection_free(empty);
    modeltree_collection_free(c);
    syn_free(&z);
}

static void test_graph_accessors_misuse(void) {
    double d[4];
    char *json = (char *)&d;
    CHECK(modeltree_graph_model_count(NULL) == 0);
    CHECK(modeltree_graph_model_id(NULL, 0) == NULL);
    CHECK(modeltree_graph_model_path(NULL, 0) == NULL);
    CHECK(modeltree_graph_find(NULL, "a0") == MODELTREE_INDEX_INVALID);
    CHECK(isnan(modeltree_graph_model_kurtosis(NULL, 0)));
    CHECK(modeltree_graph_parent(NULL, 0) == MODELTREE_INDEX_INVALID);
    CHECK(isnan(modeltree_graph_edge_distance(NULL, 0)));
    CHECK(isnan(modeltree_graph_edge_confidence(NULL, 0)));
    CHECK(!modeltree_graph_edge_unsure(NULL, 0));
    CHECK(modeltree_graph_distances(NULL, d, 4) == 0);
    CHECK(modeltree_graph_metric(NULL) == MODELTREE_METRIC_AUTO);
    CHECK(modeltree_graph_tree_count(NULL) == 0);
    CHECK(modeltree_graph_tree_root(NULL, 0) == MODELTREE_INDEX_INVALID);
    CHECK(modeltree_graph_tree_of(NULL, 0) == MODELTREE_INDEX_INVALID);
    CHECK(modeltree_graph_tree_direction(NULL, 0) == MODELTREE_DIRECTION_AUTO);
    CHECK(!modeltree_graph_tree_direction_unsure(NULL, 0));
    CHECK(modeltree_graph_tensor_count(NULL) == 0);
    CHECK(modeltree_graph_tensor_name(NULL, 0) == NULL);
    CHECK(modeltree_graph_warning_count(NULL) == 0);
    CHECK(modeltree_graph_warning(NULL, 0) == NULL);
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_graph_to_json(&json, NULL));
    CHECK(json == NULL);
    modeltree_graph_free(NULL);
    modeltree_string_free(NULL);

    syn_zoo z;
    syn_make(&z);
    modeltree_graph_t *g = syn_recover(&z, NULL);
    REQUIRE(g != NULL);
    size_t n = modeltree_graph_model_count(g), trees = modeltree_graph_tree_count(g);
    CHECK(n == SYN_MODELS);
    size_t bad[3] = {n, n + 1, SIZE_MAX};
    for (int k = 0; k < 3; k++) {
        size_t i = bad[k];
        CHECK(modeltree_graph_model_id(g, i) == NULL);
        CHECK(modeltree_graph_model_path(g, i) == NULL);
        CHECK(isnan(modeltree_graph_model_kurtosis(g, i)));
        CHECK(modeltree_graph_parent(g, i) == MODELTREE_INDEX_INVALID);
        CHECK(isnan(modeltree_graph_edge_distance(g, i)));
        CHECK(isnan(modeltree_graph_edge_confidence(g, i)));
        CHECK(!modeltree_graph_edge_unsure(g, i));
        CHECK(modeltree_graph_tree_of(g, i) == MODELTREE_INDEX_INVALID);
        CHECK(modeltree_graph_tree_root(g, trees + (i - n)) == MODELTREE_INDEX_INVALID);
        CHECK(modeltree_graph_tree_direction(g, trees + (i - n)) == MODELTREE_DIRECTION_AUTO);
        CHECK(modeltree_graph_tensor_name(g, modeltree_graph_tensor_count(g) + (i - n)) == NULL);
        CHECK(modeltree_graph_warning(g, modeltree_graph_warning_count(g) + (i - n)) == NULL);
    }
    CHECK(modeltree_graph_find(g, NULL) == MODELTREE_INDEX_INVALID);
    CHECK(modeltree_graph_find(g, "nobody") == -1);
    CHECK(modeltree_graph_find(g, "\xff") == -1);
    /* distances: a size query, a short buffer (untouched), then the whole matrix */
    CHECK(modeltree_graph_distances(g, NULL, 0) == n * n);
    CHECK(modeltree_graph_distances(g, NULL, SIZE_MAX) == n * n);
    double *m = malloc((n * n + 1) * sizeof *m);
    for (size_t k = 0; k <= n * n; k++) m[k] = -7;
    CHECK(modeltree_graph_distances(g, m, n * n - 1) == n * n);
    for (size_t k = 0; k <= n * n; k++) CHECK(m[k] == -7);
    CHECK(modeltree_graph_distances(g, m, n * n + 1) == n * n);
    CHECK(m[n * n] == -7 && m[1] >= 0);
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_graph_to_json(NULL, g));
    free(m);
    modeltree_graph_free(g);
    syn_free(&z);
}

/* The audit of Tests/fixtures/audit/zoo (Tests/fixtures/audit/make_audit.py): each claim's
 * verdict as that script derives it from the constructed graph, and every accessor's answer for
 * a NULL graph and an index out of range. */
static void test_audit(void) {
    static const char *zoo = "Tests/fixtures/audit/zoo";
    struct stat sb;
    if (stat(zoo, &sb) != 0) harness_skip("Tests/fixtures/audit/zoo not found: run from the repository's root");
    CHECK(modeltree_graph_audit_count(NULL) == 0);
    CHECK(modeltree_graph_audit_model(NULL, 0) == MODELTREE_INDEX_INVALID);
    CHECK(modeltree_graph_audit_source(NULL, 0) == NULL);
    CHECK(modeltree_graph_audit_claimed(NULL, 0) == NULL);
    CHECK(modeltree_graph_audit_relation(NULL, 0) == NULL);
    CHECK(modeltree_graph_audit_verdict(NULL, 0) == MODELTREE_VERDICT_NONE);
    CHECK(modeltree_graph_audit_recovered(NULL, 0) == MODELTREE_INDEX_INVALID);
    CHECK(modeltree_graph_audit_evidence(NULL, 0) == NULL);
    CHECK(isnan(modeltree_graph_audit_confidence(NULL, 0)));
    CHECK(!modeltree_graph_model_unclaimed(NULL, 0));
    CHECK(isnan(modeltree_score_audit(NULL, NULL, NULL, NULL, NULL)));

    modeltree_collection_t *c = NULL;
    REQUIRE_OK(modeltree_collection_create(&c));
    REQUIRE_OK(modeltree_collection_add_path(c, NULL, zoo));
    modeltree_graph_t *g = NULL;
    REQUIRE_OK(modeltree_recover(&g, c, NULL));
    modeltree_collection_free(c);
    static const struct { const char *model, *source, *claimed, *relation; modeltree_verdict_t verdict; const char *recovered; } want[] = {
        {"ft-a", "readme", "org/base", "finetune", MODELTREE_VERDICT_AGREES, "base"},
        {"ft-a", "config", "/data/models/base", NULL, MODELTREE_VERDICT_AGREES, "base"},
        {"ft-a-F16.gguf", "gguf", "https://huggingface.co/org/ft-a", NULL, MODELTREE_VERDICT_AGREES, "ft-a"},
        {"ft-a-child", "readme", "org/base", NULL, MODELTREE_VERDICT_CONTRADICTS, "ft-a"},
        {"ft-a-child", "config", "org/ft-a-copy", NULL, MODELTREE_VERDICT_AGREES, "ft-a"},
        {"ft-a-copy", "readme", "org/base", NULL, MODELTREE_VERDICT_AGREES, "base"},
        {"ft-b", "readme", "org/ft-a", NULL, MODELTREE_VERDICT_CONTRADICTS, "base"},
        {"ft-b", "config", "meta-llama/Llama-3.2-1B", NULL, MODELTREE_VERDICT_UNSUPPORTED, "base"},
        {"ft-b-F16.gguf", "gguf", "https://huggingface.co/org/base", NULL, MODELTREE_VERDICT_CONTRADICTS, "ft-b"},
        {"ft-c", "readme", "https://huggingface.co/org/ft-a-copy", NULL, MODELTREE_VERDICT_CONTRADICTS, "base"},
        {"ft-c", "adapter_config", "base", NULL, MODELTREE_VERDICT_AGREES, "base"},
    };
    size_t count = modeltree_graph_audit_count(g);
    CHECK(count == sizeof want / sizeof want[0]);
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
        int found = 0;
        for (size_t k = 0; k < count; k++) {
            int64_t m = modeltree_graph_audit_model(g, k);
            REQUIRE(m >= 0);
            if (strcmp(modeltree_graph_model_id(g, (size_t)m), want[w].model) != 0
                || strcmp(modeltree_graph_audit_source(g, k), want[w].source) != 0
                || strcmp(modeltree_graph_audit_claimed(g, k), want[w].claimed) != 0) continue;
            found = 1;
            const char *relation = modeltree_graph_audit_relation(g, k);
            CHECK(want[w].relation ? relation && strcmp(relation, want[w].relation) == 0 : relation == NULL);
            CHECK(modeltree_graph_audit_verdict(g, k) == want[w].verdict);
            CHECK(modeltree_graph_audit_recovered(g, k) == modeltree_graph_find(g, want[w].recovered));
            const char *evidence = modeltree_graph_audit_evidence(g, k);
            CHECK(evidence != NULL && strchr(evidence, '\n') == NULL && strstr(evidence, want[w].recovered) != NULL);
            double confidence = modeltree_graph_audit_confidence(g, k);
            CHECK(confidence >= 0 && confidence <= 1);
        }
        if (!found) fprintf(stderr, "  no claim %s %s %s\n", want[w].model, want[w].source, want[w].claimed);
        CHECK(found);
    }
    size_t n = modeltree_graph_model_count(g);
    for (size_t i = 0; i < n; i++)
        CHECK(modeltree_graph_model_unclaimed(g, i) == (strcmp(modeltree_graph_model_id(g, i), "base") == 0));
    size_t bad[3] = {count, count + 1, SIZE_MAX};
    for (int k = 0; k < 3; k++) {
        CHECK(modeltree_graph_audit_model(g, bad[k]) == MODELTREE_INDEX_INVALID);
        CHECK(modeltree_graph_audit_source(g, bad[k]) == NULL);
        CHECK(modeltree_graph_audit_claimed(g, bad[k]) == NULL);
        CHECK(modeltree_graph_audit_relation(g, bad[k]) == NULL);
        CHECK(modeltree_graph_audit_verdict(g, bad[k]) == MODELTREE_VERDICT_NONE);
        CHECK(modeltree_graph_audit_recovered(g, bad[k]) == MODELTREE_INDEX_INVALID);
        CHECK(modeltree_graph_audit_evidence(g, bad[k]) == NULL);
        CHECK(isnan(modeltree_graph_audit_confidence(g, bad[k])));
        CHECK(!modeltree_graph_model_unclaimed(g, n + (bad[k] - count)));
    }
    /* scored against the fixture's truth: every claim right, the one unclaimed model found */
    modeltree_score_t *s = NULL;
    REQUIRE_OK(modeltree_graph_evaluate_file(&s, g, "Tests/fixtures/audit/truth.json"));
    size_t correct = 99, total = 99, uc = 99, ut = 99;
    CHECK(modeltree_score_audit(s, &correct, &total, &uc, &ut) == 1.0);
    CHECK(correct == 11 && total == 11 && uc == 1 && ut == 1);
    modeltree_score_free(s);
    /* an untyped truth lists no claims: NaN, zeros written */
    const char *parents[1] = {"base"}, *children[1] = {"ft-a"};
    REQUIRE_OK(modeltree_graph_evaluate(&s, g, parents, children, 1, NULL, 0));
    correct = total = uc = ut = 99;
    CHECK(isnan(modeltree_score_audit(s, &correct, &total, &uc, &ut)));
    CHECK(correct == 0 && total == 0 && uc == 0 && ut == 0);
    modeltree_score_free(s);
    modeltree_graph_free(g);
}

/* ============================================================================================
 * Recovery
 * ========================================================================================== */

/* A byte copy of a1 under another id, added last: one duplicate group {a1, a1-copy}, a1 (first
 * given) standing in for it; the others have no copy. */
static void test_duplicates(void) {
    syn_zoo z;
    syn_make(&z);
    modeltree_collection_t *c = syn_collection(&z);
    REQUIRE(c != NULL);
    for (int t = 0; t < SYN_TENSORS; t++) {
        st_tensor s = syn_tensor(&z, 1, t);
        REQUIRE_OK(modeltree_collection_add_tensor(c, "a1-copy", s.name, s.dtype, s.shape, s.ndim, s.data, s.nbytes));
    }
    modeltree_graph_t *g = NULL;
    REQUIRE_OK(modeltree_recover(&g, c, NULL));
    modeltree_collection_free(c);
    REQUIRE(modeltree_graph_model_count(g) == SYN_MODELS + 1);
    for (size_t i = 0; i < SYN_MODELS; i++)
        CHECK(modeltree_graph_duplicate_of(g, i) == (i == 1 ? 1 : MODELTREE_NO_PARENT));
    CHECK(modeltree_graph_duplicate_of(g, SYN_MODELS) == 1);
    CHECK(modeltree_graph_parent(g, SYN_MODELS) == 1);
    CHECK(modeltree_graph_edge_unsure(g, SYN_MODELS));
    CHECK(modeltree_graph_duplicate_of(g, SYN_MODELS + 1) == MODELTREE_INDEX_INVALID);
    CHECK(modeltree_graph_duplicate_of(NULL, 0) == MODELTREE_INDEX_INVALID);
    char *json = NULL;
    REQUIRE_OK(modeltree_graph_render(&json, g, MODELTREE_FORMAT_JSON, NULL));
    CHECK(strstr(json, "\"duplicates\": [[\"a1\", \"a1-copy\"]],") != NULL);
    CHECK(strstr(json, "\"child\": \"a1-copy\"") == NULL);
    modeltree_string_free(json);
    modeltree_graph_free(g);
    syn_free(&z);
}

/* A merge added last: 0.6 * a2 + 0.4 * a3 in F32, so its fitted coefficients are the
 * construction's to within F32 rounding. The per-edge accessors list every relation grouped by
 * child, the merge's two edges with their coefficients (largest first, the primary edge that
 * modeltree_graph_parent gives), the others with NaN; every accessor is NULL and range safe. */
static void test_edges_one_by_one(void) {
    syn_zoo z;
    syn_make(&z);
    modeltree_collection_t *c = syn_collection(&z);
    REQUIRE(c != NULL);
    float *mix[SYN_TENSORS];
    for (int t = 0; t < SYN_TENSORS; t++) {
        st_tensor s = syn_tensor(&z, 2, t);
        mix[t] = malloc(z.count[t] * sizeof(float));
        for (size_t k = 0; k < z.count[t]; k++)
            mix[t][k] = (float)(0.6 * z.data[2][t][k] + 0.4 * z.data[3][t][k]);
        REQUIRE_OK(modeltree_collection_add_tensor(c, "mix", s.name, s.dtype, s.shape, s.ndim, mix[t], s.nbytes));
    }
    modeltree_graph_t *g = NULL;
    REQUIRE_OK(modeltree_recover(&g, c, NULL));
    modeltree_collection_free(c);
    const size_t n = modeltree_graph_model_count(g), m = SYN_MODELS;   /* mix is model m */
    const size_t count = modeltree_graph_edge_count(g);
    CHECK(count == (n - 2) + 1);          /* two roots; the merge has one edge more than a child */
    int64_t last_child = -1;
    int merge_edges = 0;
    double sum = 0;
    for (size_t e = 0; e < count; e++) {
        int64_t p = modeltree_graph_edge_parent(g, e), ch = modeltree_graph_edge_child(g, e);
        REQUIRE(p >= 0 && (size_t)p < n && ch >= 0 && (size_t)ch < n && p != ch);
        CHECK(ch >= last_child);
        double coefficient = modeltree_graph_edge_coefficient(g, e);
        if (ch == (int64_t)m) {
            CHECK(modeltree_graph_edge_type(g, e) == MODELTREE_EDGE_MERGE);
            CHECK(p == (merge_edges == 0 ? 2 : 3));
            CHECK(fabs(coefficient - (p == 2 ? 0.6 : 0.4)) < 1e-3);
            CHECK(modeltree_graph_edge_residual_ratio(g, e) < 0.25);
            sum += coefficient;
            merge_edges++;
        } else {
            CHECK(modeltree_graph_edge_type(g, e) == MODELTREE_EDGE_FINETUNE);
            CHECK(p == syn_parent[ch]);
            CHECK(isnan(coefficient) && isnan(modeltree_graph_edge_residual_ratio(g, e)));
            CHECK(modeltree_graph_edge_distance_at(g, e) == modeltree_graph_edge_distance(g, (size_t)ch));
            CHECK(modeltree_graph_edge_confidence_at(g, e) == modeltree_graph_edge_confidence(g, (size_t)ch));
            CHECK(modeltree_graph_edge_unsure_at(g, e) == modeltree_graph_edge_unsure(g, (size_t)ch));
        }
        if (ch != last_child) CHECK(modeltree_graph_parent(g, (size_t)ch) == p);   /* primary first */
        last_child = ch;
    }
    CHECK(merge_edges == 2);
    CHECK(fabs(sum - 1) < 1e-9);
    /* Out of range and NULL. */
    CHECK(modeltree_graph_edge_count(NULL) == 0);
    const size_t bad[] = {count, count + 1, (size_t)-1};
    for (int k = 0; k < 3; k++) {
        CHECK(modeltree_graph_edge_parent(g, bad[k]) == MODELTREE_INDEX_INVALID);
        CHECK(modeltree_graph_edge_child(g, bad[k]) == MODELTREE_INDEX_INVALID);
        CHECK(modeltree_graph_edge_type(g, bad[k]) == MODELTREE_EDGE_FINETUNE);
        CHECK(isnan(modeltree_graph_edge_distance_at(g, bad[k])));
        CHECK(isnan(modeltree_graph_edge_confidence_at(g, bad[k])));
        CHECK(isnan(modeltree_graph_edge_raw_confidence(g, bad[k])));
        CHECK(!modeltree_graph_edge_unsure_at(g, bad[k]));
        CHECK(isnan(modeltree_graph_edge_coefficient(g, bad[k])));
        CHECK(isnan(modeltree_graph_edge_residual_ratio(g, bad[k])));
    }
    CHECK(modeltree_graph_edge_parent(NULL, 0) == MODELTREE_INDEX_INVALID);
    CHECK(modeltree_graph_edge_child(NULL, 0) == MODELTREE_INDEX_INVALID);
    CHECK(modeltree_graph_edge_type(NULL, 0) == MODELTREE_EDGE_FINETUNE);
    CHECK(isnan(modeltree_graph_edge_distance_at(NULL, 0)) && isnan(modeltree_graph_edge_confidence_at(NULL, 0)));
    CHECK(!modeltree_graph_edge_unsure_at(NULL, 0) && isnan(modeltree_graph_edge_raw_confidence(NULL, 0)));
    CHECK(isnan(modeltree_graph_edge_coefficient(NULL, 0)) && isnan(modeltree_graph_edge_residual_ratio(NULL, 0)));
    modeltree_graph_free(g);
    for (int t = 0; t < SYN_TENSORS; t++) free(mix[t]);
    syn_free(&z);
}

/* Four fine-tunes of a base that is not given (independent updates of one size: nearly
 * orthogonal, so they meet at the base at right angles): the graph holds a latent node after the
 * models, their parent; with the base given there is none. */
enum { LAT_KIDS = 4, LAT_TENSORS = 3, LAT_SIZE = 32 * 32 };
static void test_latent_parent(void) {
    static float base[LAT_TENSORS][LAT_SIZE], kid[LAT_KIDS][LAT_TENSORS][LAT_SIZE];
    for (int t = 0; t < LAT_TENSORS; t++)
        for (int k = 0; k < LAT_SIZE; k++) base[t][k] = (float)(0.05 * normal());
    for (int m = 0; m < LAT_KIDS; m++)
        for (int t = 0; t < LAT_TENSORS; t++)
            for (int k = 0; k < LAT_SIZE; k++) kid[m][t][k] = base[t][k] + (float)(0.01 * normal());
    const int64_t shape[2] = {32, 32};
    const char *names[LAT_TENSORS] = {"l0.w", "l1.w", "l2.w"};
    for (int with_base = 0; with_base < 2; with_base++) {
        modeltree_collection_t *c = NULL;
        REQUIRE_OK(modeltree_collection_create(&c));
        char id[16];
        for (int m = 0; m < LAT_KIDS; m++) {
            snprintf(id, sizeof id, "kid%d", m);
            for (int t = 0; t < LAT_TENSORS; t++)
                REQUIRE_OK(modeltree_collection_add_tensor(c, id, names[t], MODELTREE_DTYPE_F32, shape, 2, kid[m][t], sizeof kid[m][t]));
        }
        if (with_base)
            for (int t = 0; t < LAT_TENSORS; t++)
                REQUIRE_OK(modeltree_collection_add_tensor(c, "zbase", names[t], MODELTREE_DTYPE_F32, shape, 2, base[t], sizeof base[t]));
        modeltree_graph_t *g = NULL;
        REQUIRE_OK(modeltree_recover(&g, c, NULL));
        modeltree_collection_free(c);
        REQUIRE(modeltree_graph_model_count(g) == LAT_KIDS + 1);
        size_t parent = LAT_KIDS;          /* the latent node, or the base: both come last */
        CHECK(modeltree_graph_model_latent(g, parent) == !with_base);
        CHECK(strcmp(modeltree_graph_model_id(g, parent), with_base ? "zbase" : "latent-1") == 0);
        if (!with_base) {
            CHECK(modeltree_graph_model_path(g, parent) == NULL);
            CHECK(isnan(modeltree_graph_model_kurtosis(g, parent)));
        }
        CHECK(modeltree_graph_parent(g, parent) == MODELTREE_NO_PARENT);
        for (size_t m = 0; m < LAT_KIDS; m++) {
            CHECK(!modeltree_graph_model_latent(g, m));
            CHECK(modeltree_graph_parent(g, m) == (int64_t)parent);
            CHECK(modeltree_graph_edge_layer_count(g, m) == 0);
        }
        CHECK(!modeltree_graph_model_latent(g, LAT_KIDS + 1));
        CHECK(!modeltree_graph_model_latent(g, SIZE_MAX));
        int64_t pairs[4] = {7, 7, 7, 7};
        CHECK(modeltree_graph_edge_layers(g, 0, pairs, 2) == 0);
        CHECK(pairs[0] == 7);
        CHECK(modeltree_graph_edge_layers(g, 0, NULL, 0) == 0);
        modeltree_graph_free(g);
    }
    CHECK(!modeltree_graph_model_latent(NULL, 0));
    CHECK(modeltree_graph_edge_layer_count(NULL, 0) == 0);
    CHECK(modeltree_graph_edge_layers(NULL, 0, NULL, 0) == 0);
}

static void test_recover_synthetic(void) {
    syn_zoo z;
    syn_make(&z);
    modeltree_options_t o;
    modeltree_options_init(&o);
    o.metric = MODELTREE_METRIC_RMS;
    modeltree_graph_t *g = syn_recover(&z, &o);
    REQUIRE(g != NULL);
    check_graph_invariants(g);
    size_t n = modeltree_graph_model_count(g);
    REQUIRE(n == SYN_MODELS);
    CHECK(modeltree_graph_metric(g) == MODELTREE_METRIC_RMS);
    for (size_t i = 0; i < n; i++) {
        CHECK(strcmp(modeltree_graph_model_id(g, i), syn_ids[i]) == 0); /* order of first add */
        CHECK(modeltree_graph_model_path(g, i) == NULL);                 /* from memory */
        CHECK(isfinite(modeltree_graph_model_kurtosis(g, i)));
    }
    /* the two families are found and kept apart */
    CHECK(modeltree_graph_tree_count(g) == 2);
    CHECK(modeltree_graph_tree_of(g, 0) == modeltree_graph_tree_of(g, 3));
    CHECK(modeltree_graph_tree_of(g, 0) != modeltree_graph_tree_of(g, 4));
    /* the default selection keeps the square matrices only */
    CHECK(modeltree_graph_tensor_count(g) == 2);
    CHECK(strcmp(modeltree_graph_tensor_name(g, 0), "blocks.0.attn.weight") == 0);
    CHECK(strcmp(modeltree_graph_tensor_name(g, 1), "blocks.1.attn.weight") == 0);
    /* RMS distances equal an independent computation: mean over tensors of RMS(difference) */
    double *d = malloc(n * n * sizeof *d);
    CHECK(modeltree_graph_distances(g, d, n * n) == n * n);
    for (size_t a = 0; a < n; a++)
        for (size_t b = 0; b < n; b++) {
            double sum = 0;
            for (int t = 0; t < 2; t++) {
                double ss = 0;
                for (size_t k = 0; k < z.count[t]; k++) {
                    double x = (double)z.data[a][t][k] - (double)z.data[b][t][k];
                    ss += x * x;
                }
                sum += sqrt(ss / (double)z.count[t]);
            }
            double expected = sum / 2;
            CHECK(fabs(d[a * n + b] - expected) <= 1e-6 * expected + 1e-12);
        }
    free(d);
    /* the JSON has every model */
    char *json = NULL;
    REQUIRE_OK(modeltree_graph_to_json(&json, g));
    REQUIRE(json != NULL);
    CHECK(json[0] == '{');
    for (size_t i = 0; i < n; i++) {
        char needle[64];
        snprintf(needle, sizeof needle, "\"id\": \"%s\"", syn_ids[i]);
        CHECK(strstr(json, needle) != NULL);
    }
    CHECK(strstr(json, "\"metric\": \"rms\"") != NULL);
    modeltree_string_free(json);
    modeltree_graph_free(g);
    syn_free(&z);
}

static void test_options_are_honoured(void) {
    syn_zoo z;
    syn_make(&z);
    modeltree_options_t o;
    modeltree_options_init(&o);
    /* include: every tensor named blocks.*; exclude wins over include */
    const char *include[1] = {"blocks.*"};
    const char *exclude[1] = {"*.1.*"};
    o.include = include;
    o.include_count = 1;
    o.exclude = exclude;
    o.exclude_count = 1;
    o.metric = MODELTREE_METRIC_MAX;
    o.direction = MODELTREE_DIRECTION_GENERALIZATION;
    o.trees = 1;
    modeltree_graph_t *g = syn_recover(&z, &o);
    REQUIRE(g != NULL);
    check_graph_invariants(g);
    CHECK(modeltree_graph_metric(g) == MODELTREE_METRIC_MAX);
    CHECK(modeltree_graph_tree_count(g) == 1);
    CHECK(modeltree_graph_tree_direction(g, 0) == MODELTREE_DIRECTION_GENERALIZATION);
    CHECK(modeltree_graph_tensor_count(g) == 2);
    CHECK(strcmp(modeltree_graph_tensor_name(g, 0), "blocks.0.attn.weight") == 0);
    CHECK(strcmp(modeltree_graph_tensor_name(g, 1), "blocks.0.bias") == 0);
    modeltree_graph_free(g);
    syn_free(&z);
}

/* Models of two architectures in one collection are recovered apart: separate trees, and an
 * infinite distance between them (they are never compared). */
static void test_different_architectures(void) {
    syn_zoo z;
    syn_make(&z);
    modeltree_collection_t *c = syn_collection(&z);
    REQUIRE(c != NULL);
    static float other[2][24 * 12];
    for (int m = 0; m < 2; m++)
        for (int k = 0; k < 24 * 12; k++) other[m][k] = (float)(m == 0 ? normal() : other[0][k] + 0.01 * normal());
    int64_t shape[2] = {24, 12};
    REQUIRE_OK(modeltree_collection_add_tensor(c, "mlp", "fc.weight", MODELTREE_DTYPE_F32, shape, 2, other[0], sizeof other[0]));
    REQUIRE_OK(modeltree_collection_add_tensor(c, "mlp-ft", "fc.weight", MODELTREE_DTYPE_F32, shape, 2, other[1], sizeof other[1]));
    modeltree_graph_t *g = NULL;
    REQUIRE_OK(modeltree_recover(&g, c, NULL));
    check_graph_invariants(g);
    size_t n = modeltree_graph_model_count(g);
    CHECK(n == SYN_MODELS + 2);
    int64_t mlp = modeltree_graph_find(g, "mlp"), ft = modeltree_graph_find(g, "mlp-ft");
    REQUIRE(mlp >= 0 && ft >= 0);
    CHECK(modeltree_graph_tree_of(g, (size_t)mlp) == modeltree_graph_tree_of(g, (size_t)ft));
    for (size_t i = 0; i < SYN_MODELS; i++) CHECK(modeltree_graph_tree_of(g, i) != modeltree_graph_tree_of(g, (size_t)mlp));
    double *d = malloc(n * n * sizeof *d);
    CHECK(modeltree_graph_distances(g, d, n * n) == n * n);
    CHECK(isinf(d[0 * n + (size_t)mlp]) && isinf(d[(size_t)ft * n + 1]));
    CHECK(isfinite(d[(size_t)mlp * n + (size_t)ft]));
    CHECK(modeltree_graph_warning_count(g) >= 1);
    free(d);
    modeltree_graph_free(g);
    modeltree_collection_free(c);
    syn_free(&z);
}

/* Lent memory is only read: after recoveries the caller's page-aligned buffers hold exactly what
 * they held before. */
static void test_lent_memory_is_not_written(void) {
    enum { MODELS = 3, SIDE = 512 };
    const size_t count = (size_t)SIDE * SIDE, bytes = count * sizeof(float);
    float *lent[MODELS], *copy[MODELS];
    modeltree_collection_t *c = NULL;
    REQUIRE_OK(modeltree_collection_create(&c));
    int64_t shape[2] = {SIDE, SIDE};
    for (int m = 0; m < MODELS; m++) {
        lent[m] = NULL;
        REQUIRE(posix_memalign((void **)&lent[m], 4096, bytes) == 0);
        for (size_t k = 0; k < count; k++) lent[m][k] = (float)(m == 0 ? normal() : lent[0][k] + 0.01 * normal());
        copy[m] = malloc(bytes);
        memcpy(copy[m], lent[m], bytes);
        char id[8];
        snprintf(id, sizeof id, "m%d", m);
        REQUIRE_OK(modeltree_collection_add_tensor(c, id, "w", MODELTREE_DTYPE_F32, shape, 2, lent[m], bytes));
        REQUIRE_OK(modeltree_collection_add_tensor(c, id, "w2", MODELTREE_DTYPE_F32, shape, 2, lent[m], bytes));
    }
    modeltree_metric_t metrics[3] = {MODELTREE_METRIC_AUTO, MODELTREE_METRIC_MAX, MODELTREE_METRIC_RANK};
    for (int k = 0; k < 3; k++) {
        modeltree_options_t o;
        modeltree_options_init(&o);
        o.metric = metrics[k];
        modeltree_graph_t *g = NULL;
        CHECK_STATUS(MODELTREE_OK, modeltree_recover(&g, c, &o));
        modeltree_graph_free(g);
    }
    for (int m = 0; m < MODELS; m++) {
        CHECK(memcmp(copy[m], lent[m], bytes) == 0);
        free(copy[m]);
    }
    modeltree_collection_free(c);
    for (int m = 0; m < MODELS; m++) free(lent[m]);
}

/* A host that used the library and then forks (Python's multiprocessing, a pre-forking hub
 * server) gets a child that can use it with threads. The Swift runtime caches each thread's
 * kernel TID for its swift_once locks, and fork() copies the forking thread's cache into the
 * child: there a once taken by the child's main thread carries the parent's TID, and a second
 * thread contending for it spins with it forever (the kernel's PI futex refuses an owner of
 * another process). Sources/ModelTreeRuntime resets the cache in the child. Each child runs the
 * rank sketches on 4 threads, whose first-time lazy initialisations contend. */
static void test_forked_child_uses_threads(void) {
    modeltree_options_t o;
    modeltree_options_init(&o);               /* the library used on this (the forking) thread */
    CHECK(modeltree_version_string() != NULL);
    for (int round = 0; round < 12; round++) {
        fflush(NULL);
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            alarm(60);
            test_lent_memory_is_not_written();
            _exit(harness_failures ? 1 : 0);
        }
        int status = 0;
        REQUIRE(waitpid(pid, &status, 0) == pid);
        if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            fprintf(stderr, "    round %d: the forked child %s\n", round,
                    WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? "hung" : "failed");
            CHECK(!"a forked child ran the library to the end");
            return;
        }
    }
}

/* The same weights handed over as F64 give bit-identical results (F32 -> F64 is exact), and as
 * F16/BF16 a valid graph. */
static void test_dtypes(void) {
    syn_zoo z;
    syn_make(&z);
    modeltree_graph_t *g32 = syn_recover(&z, NULL);
    REQUIRE(g32 != NULL);
    modeltree_dtype_t types[3] = {MODELTREE_DTYPE_F64, MODELTREE_DTYPE_F16, MODELTREE_DTYPE_BF16};
    for (int k = 0; k < 3; k++) {
        modeltree_collection_t *c = NULL;
        REQUIRE_OK(modeltree_collection_create(&c));
        void *buffers[SYN_MODELS][SYN_TENSORS];
        for (int m = 0; m < SYN_MODELS; m++)
            for (int t = 0; t < SYN_TENSORS; t++) {
                size_t count = z.count[t], size = st_dtype_size(types[k]);
                unsigned char *b = malloc(count * size);
                for (size_t e = 0; e < count; e++) {
                    float f = z.data[m][t][e];
                    uint32_t u;
                    memcpy(&u, &f, 4);
                    if (types[k] == MODELTREE_DTYPE_F64) {
                        double x = f;
                        memcpy(b + 8 * e, &x, 8);
                    } else if (types[k] == MODELTREE_DTYPE_BF16) {
                        uint16_t h = (uint16_t)(u >> 16);
                        memcpy(b + 2 * e, &h, 2);
                    } else { /* F16 by truncation, values well inside the normal range */
                        uint32_t sign = (u >> 16) & 0x8000u;
                        int exp = (int)((u >> 23) & 0xFF) - 127 + 15;
                        uint16_t h = (uint16_t)(exp <= 0 ? sign : exp >= 31 ? (sign | 0x7BFFu)
                                                : (sign | ((uint32_t)exp << 10) | ((u >> 13) & 0x3FFu)));
                        memcpy(b + 2 * e, &h, 2);
                    }
                }
                buffers[m][t] = b;
                st_tensor s = syn_tensor(&z, m, t);
                CHECK_STATUS(MODELTREE_OK, modeltree_collection_add_tensor(c, syn_ids[m], s.name, types[k], s.shape,
                                                                           s.ndim, b, count * size));
            }
        modeltree_graph_t *g = NULL;
        CHECK_STATUS(MODELTREE_OK, modeltree_recover(&g, c, NULL));
        if (g) {
            check_graph_invariants(g);
            if (types[k] == MODELTREE_DTYPE_F64) check_same_graph(g32, g, 1);
            else CHECK(modeltree_graph_tree_count(g) == 2);
        }
        modeltree_graph_free(g);
        modeltree_collection_free(c);
        for (int m = 0; m < SYN_MODELS; m++)
            for (int t = 0; t < SYN_TENSORS; t++) free(buffers[m][t]);
    }
    modeltree_graph_free(g32);
    syn_free(&z);
}

static void test_memory_equals_files_synthetic(void) {
    char *dir = make_temp_dir();
    REQUIRE(dir != NULL);
    syn_zoo z;
    syn_make(&z);
    REQUIRE(syn_write(&z, dir) == 0);
    modeltree_collection_t *c = NULL;
    modeltree_graph_t *from_files = NULL;
    REQUIRE_OK(modeltree_collection_create(&c));
    REQUIRE_OK(modeltree_collection_add_path(c, NULL, dir));
    REQUIRE_OK(modeltree_recover(&from_files, c, NULL));
    modeltree_collection_free(c); /* the graph outlives its collection */
    modeltree_graph_t *from_memory = syn_recover(&z, NULL);
    REQUIRE(from_memory != NULL);
    check_graph_invariants(from_files);
    check_same_graph(from_files, from_memory, 1);
    for (size_t i = 0; i < modeltree_graph_model_count(from_files); i++) {
        const char *p = modeltree_graph_model_path(from_files, i);
        char expected[4200];
        snprintf(expected, sizeof expected, "%s/%s", dir, modeltree_graph_model_id(from_files, i));
        CHECK(p != NULL && strcmp(p, expected) == 0);
    }
    modeltree_graph_free(from_files);
    modeltree_graph_free(from_memory);
    syn_free(&z);
    remove_tree(dir);
    free(dir);
}

/* ---- progress and cancellation ---------------------------------------------------------- */

typedef struct progress_log {
    pthread_t thread;
    int calls, wrong_thread, bad_values;
    int cancel_at; /* cancel on this call (1-based); 0 never */
    double last;
} progress_log;

static int32_t on_progress(double fraction, const char *stage, void *user_data) {
    progress_log *log = user_data;
    log->calls++;
    if (!pthread_equal(pthread_self(), log->thread)) log->wrong_thread++;
    if (!(fraction >= 0 && fraction <= 1) || fraction < log->last || stage == NULL || stage[0] == 0)
        log->bad_values++;
    log->last = fraction;
    return log->cancel_at != 0 && log->calls >= log->cancel_at ? 1 : 0;
}

static void test_progress_and_cancel(void) {
    syn_zoo z;
    syn_make(&z);
    modeltree_collection_t *c = syn_collection(&z);
    REQUIRE(c != NULL);
    modeltree_options_t o;
    modeltree_options_init(&o);
    o.progress = on_progress;

    progress_log full = {pthread_self(), 0, 0, 0, 0, 0};
    o.user_data = &full;
    modeltree_graph_t *g = NULL;
    REQUIRE_OK(modeltree_recover(&g, c, &o));
    CHECK(full.calls >= 2);
    CHECK(full.wrong_thread == 0);
    CHECK(full.bad_values == 0);
    CHECK(full.last == 1.0);
    modeltree_graph_free(g);

    for (int at = 1; at <= full.calls; at++) {
        progress_log cancel = {pthread_self(), 0, 0, 0, at, 0};
        o.user_data = &cancel;
        g = (modeltree_graph_t *)&g;
        CHECK_STATUS(MODELTREE_CANCELLED, modeltree_recover(&g, c, &o));
        CHECK(g == NULL);
        CHECK(cancel.calls == at); /* no call after the one that cancelled */
        CHECK(strstr(modeltree_last_error_message(), "cancel") != NULL);
    }
    modeltree_collection_free(c);
    syn_free(&z);
}

/* ---- threads ---------------------------------------------------------------------------- */

typedef struct job {
    const syn_zoo *zoo;
    const modeltree_collection_t *shared; /* recover this one if set, else build one */
    modeltree_graph_t *graph;
    modeltree_status_t status;
    progress_log log;
} job;

static void *recover_job(void *arg) {
    job *j = arg;
    modeltree_options_t o;
    modeltree_options_init(&o);
    j->log.thread = pthread_self();
    o.progress = on_progress;
    o.user_data = &j->log;
    if (j->shared) {
        j->status = modeltree_recover(&j->graph, j->shared, &o);
    } else {
        modeltree_collection_t *c = NULL;
        j->status = modeltree_collection_create(&c);
        if (j->status == MODELTREE_OK) j->status = syn_add(c, j->zoo) == 0 ? MODELTREE_OK : MODELTREE_INTERNAL;
        if (j->status == MODELTREE_OK) j->status = modeltree_recover(&j->graph, c, &o);
        modeltree_collection_free(c);
    }
    return NULL;
}

/* Reads a whole graph through every accessor and returns its JSON (malloc'ed). */
static void *read_graph(void *arg) {
    const modeltree_graph_t *g = arg;
    size_t n = modeltree_graph_model_count(g);
    double sum = 0;
    for (int round = 0; round < 50; round++)
        for (size_t i = 0; i < n; i++) {
            sum += (double)modeltree_graph_parent(g, i) + (double)strlen(modeltree_graph_model_id(g, i));
            sum += (double)modeltree_graph_tree_of(g, i) + (double)modeltree_graph_find(g, modeltree_graph_model_id(g, i));
        }
    char *json = NULL;
    if (modeltree_graph_to_json(&json, g) != MODELTREE_OK || sum < 0) return NULL;
    return json;
}

static void test_two_threads(void) {
    syn_zoo z;
    syn_make(&z);
    modeltree_graph_t *reference = syn_recover(&z, NULL);
    REQUIRE(reference != NULL);
    modeltree_collection_t *shared = NULL;
    REQUIRE_OK(modeltree_collection_create(&shared));
    REQUIRE(syn_add(shared, &z) == 0);
    /* two collections on two threads, then two threads on one shared collection */
    for (int round = 0; round < 2; round++) {
        job jobs[2];
        pthread_t threads[2];
        memset(jobs, 0, sizeof jobs);
        for (int k = 0; k < 2; k++) {
            jobs[k].zoo = &z;
            jobs[k].shared = round == 1 ? shared : NULL;
            REQUIRE(pthread_create(&threads[k], NULL, recover_job, &jobs[k]) == 0);
        }
        for (int k = 0; k < 2; k++) REQUIRE(pthread_join(threads[k], NULL) == 0);
        for (int k = 0; k < 2; k++) {
            CHECK_STATUS(MODELTREE_OK, jobs[k].status);
            CHECK(jobs[k].log.wrong_thread == 0 && jobs[k].log.calls > 0);
            if (jobs[k].graph) check_same_graph(reference, jobs[k].graph, 1);
            modeltree_graph_free(jobs[k].graph);
        }
    }
    /* one graph read by two threads at once */
    pthread_t readers[2];
    void *json[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) REQUIRE(pthread_create(&readers[k], NULL, read_graph, reference) == 0);
    for (int k = 0; k < 2; k++) REQUIRE(pthread_join(readers[k], &json[k]) == 0);
    CHECK(json[0] && json[1] && strcmp(json[0], json[1]) == 0);
    modeltree_string_free(json[0]);
    modeltree_string_free(json[1]);
    modeltree_collection_free(shared);
    modeltree_graph_free(reference);
    syn_free(&z);
}

/* ============================================================================================
 * Bulk accessors, rendering, scores
 * ========================================================================================== */

/* Each bulk accessor gives what its per-model accessor gives, in one call, with the size and
 * capacity pattern of modeltree_graph_distances; unsure follows the graph's threshold. */
static void test_bulk_accessors(void) {
    syn_zoo z;
    syn_make(&z);
    modeltree_graph_t *g = syn_recover(&z, NULL);
    REQUIRE(g != NULL);
    size_t n = modeltree_graph_model_count(g);
    int64_t parents[SYN_MODELS + 1], trees[SYN_MODELS + 1];
    double dist[SYN_MODELS + 1], conf[SYN_MODELS + 1];
    bool unsure[SYN_MODELS + 1];
    modeltree_edge_type_t types[SYN_MODELS + 1];
    CHECK(modeltree_graph_parents(g, NULL, 0) == n);
    for (size_t i = 0; i <= n; i++) parents[i] = 77;
    CHECK(modeltree_graph_parents(g, parents, n - 1) == n); /* too small: nothing written */
    for (size_t i = 0; i <= n; i++) CHECK(parents[i] == 77);
    CHECK(modeltree_graph_parents(g, parents, n + 1) == n);
    CHECK(parents[n] == 77);
    CHECK(modeltree_graph_model_trees(g, trees, n) == n);
    CHECK(modeltree_graph_edge_distances(g, dist, n) == n);
    CHECK(modeltree_graph_edge_confidences(g, conf, n) == n);
    CHECK(modeltree_graph_edges_unsure(g, unsure, n) == n);
    CHECK(modeltree_graph_edge_types(g, types, n) == n);
    double threshold = modeltree_graph_unsure_threshold(g);
    CHECK(threshold > 0 && threshold < 1);
    for (size_t i = 0; i < n; i++) {
        CHECK(parents[i] == modeltree_graph_parent(g, i));
        CHECK(trees[i] == modeltree_graph_tree_of(g, i));
        CHECK(same_double(dist[i], modeltree_graph_edge_distance(g, i)));
        CHECK(same_double(conf[i], modeltree_graph_edge_confidence(g, i)));
        CHECK(unsure[i] == modeltree_graph_edge_unsure(g, i));
        CHECK(types[i] == MODELTREE_EDGE_FINETUNE);
        if (parents[i] >= 0) {
            int64_t t = trees[i];
            bool guessed = modeltree_graph_tree_direction_unsure(g, (size_t)t);
            CHECK(unsure[i] == (conf[i] < threshold || guessed));
        }
    }
    CHECK(modeltree_graph_parents(NULL, parents, n) == 0);
    CHECK(modeltree_graph_edges_unsure(NULL, unsure, n) == 0);
    CHECK(isnan(modeltree_graph_unsure_threshold(NULL)));
    modeltree_graph_free(g);
    syn_free(&z);
}

static void test_render(void) {
    syn_zoo z;
    syn_make(&z);
    modeltree_graph_t *g = syn_recover(&z, NULL);
    REQUIRE(g != NULL);
    char *json = NULL, *rendered = (char *)&json;
    REQUIRE_OK(modeltree_graph_to_json(&json, g));
    REQUIRE_OK(modeltree_graph_render(&rendered, g, MODELTREE_FORMAT_JSON, NULL));
    CHECK(strcmp(json, rendered) == 0);
    CHECK(strstr(json, "\"type\": \"finetune\"") != NULL);
    modeltree_string_free(rendered);
    REQUIRE_OK(modeltree_graph_render(&rendered, g, MODELTREE_FORMAT_TEXT, NULL));
    CHECK(strncmp(rendered, "6 models, 2 trees; metric ", 26) == 0);
    CHECK(strstr(rendered, "\nTree 1: 4 models") != NULL && strstr(rendered, "\nTree 2: 2 models") != NULL);
    modeltree_string_free(rendered);
    REQUIRE_OK(modeltree_graph_render(&rendered, g, MODELTREE_FORMAT_DOT, NULL));
    CHECK(strncmp(rendered, "digraph modeltree {\n", 20) == 0);
    size_t arrows = 0;
    for (const char *p = rendered; (p = strstr(p, " -> ")) != NULL; p++) arrows++;
    CHECK(arrows == SYN_MODELS - 2);
    modeltree_string_free(rendered);
    /* The pictures: one titled box per model, one edge group per edge; the page holds the same
     * picture and the script that explores it. */
    for (int html = 0; html < 2; html++) {
        REQUIRE_OK(modeltree_graph_render(&rendered, g, html ? MODELTREE_FORMAT_HTML : MODELTREE_FORMAT_SVG, NULL));
        CHECK(strncmp(rendered, html ? "<!DOCTYPE html>\n" : "<svg xmlns=\"http://www.w3.org/2000/svg\"", html ? 16 : 39) == 0);
        size_t edges = 0;
        for (const char *p = rendered; (p = strstr(p, "<g class=\"mt-edge\" data-route=")) != NULL; p++) edges++;
        CHECK(edges == SYN_MODELS - 2);
        for (size_t i = 0; i < SYN_MODELS; i++) {
            char title[64];
            snprintf(title, sizeof title, "<title>%s</title>", modeltree_graph_model_id(g, i));
            CHECK(strstr(rendered, title) != NULL);
        }
        CHECK((strstr(rendered, "<script") != NULL) == html);
        modeltree_string_free(rendered);
    }
    rendered = (char *)&json;
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT,
                 modeltree_graph_render(&rendered, g, (modeltree_format_t)(MODELTREE_FORMAT_HTML + 1), NULL));
    CHECK(rendered == NULL);
    CHECK(strstr(modeltree_last_error_message(), "unknown format 5") != NULL);
    rendered = (char *)&json;
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_graph_render(&rendered, NULL, MODELTREE_FORMAT_JSON, NULL));
    CHECK(rendered == NULL);
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_graph_render(NULL, g, MODELTREE_FORMAT_JSON, NULL));
    modeltree_string_free(json);
    modeltree_graph_free(g);
    syn_free(&z);
}

/* Checks a score against counts computed by hand: overall and per true tree (roots in order). */
static void check_score(const modeltree_score_t *s, size_t correct, size_t total, size_t trees,
                        const char *const *roots, const size_t *tree_correct, const size_t *tree_total) {
    CHECK(modeltree_score_correct(s) == correct);
    CHECK(modeltree_score_total(s) == total);
    CHECK(modeltree_score_accuracy(s) == (total ? (double)correct / (double)total : 1.0));
    REQUIRE(modeltree_score_tree_count(s) == trees);
    size_t c[8] = {0}, t[8] = {0};
    double a[8] = {0};
    CHECK(modeltree_score_trees(s, c, t, a, 8) == trees);
    for (size_t k = 0; k < trees; k++) {
        CHECK(strcmp(modeltree_score_tree_root(s, k), roots[k]) == 0);
        CHECK(c[k] == tree_correct[k] && t[k] == tree_total[k]);
        CHECK(a[k] == (t[k] ? (double)c[k] / (double)t[k] : 1.0));
    }
    CHECK(modeltree_score_tree_root(s, trees) == NULL);
    CHECK(modeltree_score_trees(s, NULL, NULL, NULL, 0) == trees);
}

/* The synthetic zoo is recovered exactly (test_recover_synthetic): a truth that moves a2 under a1
 * makes 3 of its 4 edges right, and its trees are the recovered ones (ARI 1); one that splits b1
 * off into a tree of its own gives an ARI computed by hand. The same truth as arrays, as a JSON
 * document and as a file scores the same. */
static void test_evaluate(void) {
    syn_zoo z;
    syn_make(&z);
    modeltree_graph_t *g = syn_recover(&z, NULL);
    REQUIRE(g != NULL);
    for (size_t i = 0; i < SYN_MODELS; i++)
        REQUIRE(modeltree_graph_parent(g, i) == syn_parent[i]);
    const char *parents[4] = {"a0", "a1", "a1", "b0"}, *children[4] = {"a1", "a2", "a3", "b1"};
    const char *roots[2] = {"a0", "b0"};
    const size_t tc[2] = {2, 1}, tt[2] = {3, 1};
    modeltree_score_t *s = NULL;
    REQUIRE_OK(modeltree_graph_evaluate(&s, g, parents, children, 4, roots, 2));
    check_score(s, 3, 4, 2, roots, tc, tt);
    CHECK(modeltree_score_ari(s) == 1.0);
    /* rendered with the graph: the CLI's score lines and keys */
    char *text = NULL;
    REQUIRE_OK(modeltree_graph_render(&text, g, MODELTREE_FORMAT_JSON, s));
    CHECK(strstr(text, "\"score\": {\"correct\": 3, \"total\": 4, \"accuracy\": 0.75, \"ari\": 1, ") != NULL);
    modeltree_string_free(text);
    REQUIRE_OK(modeltree_graph_render(&text, g, MODELTREE_FORMAT_TEXT, s));
    CHECK(strstr(text, "\n\nEdge accuracy: 3/4 (75.0%), adjusted Rand index of the trees 1.000\n  tree of a0: 2/3 (66.7%)\n"
                       "  tree of b0: 1/1 (100.0%)\n") != NULL);
    modeltree_string_free(text);
    modeltree_score_free(s);

    /* b1 a tree of its own: recovered {a0..a3} {b0 b1} against true {a0..a3} {b0} {b1}. Pairs
     * agreeing 6 + 0; recovered 6 + 1 = 7, true 6; expected 7 * 6 / 15 = 2.8; max 6.5;
     * ARI = (6 - 2.8) / (6.5 - 2.8) = 3.2 / 3.7. */
    const char *split_roots[3] = {"a0", "b0", "b1"};
    const size_t sc[3] = {3, 0, 0}, st[3] = {3, 0, 0};
    const char *doc = "{\"edges\": [[\"a0\", \"a1\"], [\"a0\", \"a2\"], [\"a1\", \"a3\"]], \"roots\": [\"b0\", \"b1\", \"a0\"]}";
    REQUIRE_OK(modeltree_graph_evaluate_json(&s, g, doc));
    check_score(s, 3, 3, 3, split_roots, sc, st);
    CHECK(fabs(modeltree_score_ari(s) - 3.2 / 3.7) < 1e-12);
    modeltree_score_free(s);

    /* Typed, counted by hand: of the truth's 4 relations (a0->a1, a1->a3 quantized, the latent
     * node over a2, the pair b0 = b1) only a0->a1 is recovered with its type; the graph reports
     * 4 (a0->a1, a0->a2, a1->a3 as finetune, and b0->b1 between two true copies, which can
     * match nothing): F1 of 1/4 and 1/4. */
    const char *typed = "{\"edges\": [[\"a0\", \"a1\"], {\"parent\": \"a1\", \"child\": \"a3\", \"type\": \"quantized\"}],"
                        " \"duplicates\": [[\"b0\", \"b1\"]], \"latent\": [{\"children\": [\"a2\"]}]}";
    REQUIRE_OK(modeltree_graph_evaluate_json(&s, g, typed));
    size_t right = 9, truth_count = 9, reported = 9;
    CHECK(fabs(modeltree_score_typed(s, &right, &truth_count, &reported) - 0.25) < 1e-12);
    CHECK(right == 1 && truth_count == 4 && reported == 4);
    CHECK(modeltree_score_type_recall(s, "finetune", &right, &truth_count) == 0.5 && right == 1 && truth_count == 2);
    CHECK(modeltree_score_type_recall(s, "quantized", NULL, &truth_count) == 0.0 && truth_count == 1);
    CHECK(modeltree_score_type_recall(s, "duplicate", &right, NULL) == 0.0 && right == 0);
    CHECK(isnan(modeltree_score_type_recall(s, "merge", &right, &truth_count)) && right == 0 && truth_count == 0);
    CHECK(isnan(modeltree_score_type_recall(s, NULL, NULL, NULL)));
    CHECK(isnan(modeltree_score_type_recall(NULL, "finetune", NULL, NULL)));
    CHECK(isnan(modeltree_score_typed(NULL, &right, NULL, NULL)));
    modeltree_score_free(s);
    char *dir = make_temp_dir();
    REQUIRE(dir != NULL);
    char path[4200];
    snprintf(path, sizeof path, "%s/truth.json", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    fputs(doc, f);
    fclose(f);
    REQUIRE_OK(modeltree_graph_evaluate_file(&s, g, path));
    check_score(s, 3, 3, 3, split_roots, sc, st);
    modeltree_score_free(s);

    /* failures: each names what is wrong */
    s = (modeltree_score_t *)&s;
    snprintf(path, sizeof path, "%s/missing.json", dir);
    CHECK_STATUS(MODELTREE_IO, modeltree_graph_evaluate_file(&s, g, path));
    CHECK(s == NULL && strstr(modeltree_last_error_message(), "No such file") != NULL);
    snprintf(path, sizeof path, "%s/bad.json", dir);
    f = fopen(path, "w");
    REQUIRE(f != NULL);
    fputs("{\"edges\": 3}", f);
    fclose(f);
    CHECK_STATUS(MODELTREE_FORMAT, modeltree_graph_evaluate_file(&s, g, path));
    CHECK(strstr(modeltree_last_error_message(), path) != NULL);
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_graph_evaluate_json(&s, g, "{\"edges\": [], \"root\": []}"));
    CHECK(strstr(modeltree_last_error_message(), "unknown key") != NULL);
    const char *unknown[1] = {"zz"};
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_graph_evaluate(&s, g, parents, unknown, 1, NULL, 0));
    CHECK(strstr(modeltree_last_error_message(), "not among the models: zz") != NULL);
    const char *twice[2] = {"a1", "a1"}, *from[2] = {"a0", "b0"};
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_graph_evaluate(&s, g, from, twice, 2, NULL, 0));
    CHECK(strstr(modeltree_last_error_message(), "two parents") != NULL);
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_graph_evaluate(&s, g, NULL, children, 1, NULL, 0));
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_graph_evaluate(&s, NULL, parents, children, 1, NULL, 0));
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_graph_evaluate(NULL, g, parents, children, 1, NULL, 0));
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_graph_evaluate_json(&s, g, NULL));
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_graph_evaluate_file(&s, g, NULL));
    CHECK(s == NULL);
    /* a NULL score reads as nothing */
    CHECK(modeltree_score_correct(NULL) == 0 && modeltree_score_total(NULL) == 0);
    CHECK(isnan(modeltree_score_accuracy(NULL)) && isnan(modeltree_score_ari(NULL)));
    CHECK(modeltree_score_tree_count(NULL) == 0 && modeltree_score_tree_root(NULL, 0) == NULL);
    CHECK(modeltree_score_trees(NULL, NULL, NULL, NULL, 0) == 0);
    modeltree_score_free(NULL);
    remove_tree(dir);
    free(dir);
    modeltree_graph_free(g);
    syn_free(&z);
}

/* ============================================================================================
 * The example zoo (needs --zoo and --zoo-json)
 * ========================================================================================== */

static modeltree_graph_t *zoo_from_files(void) {
    modeltree_collection_t *c = NULL;
    modeltree_graph_t *g = NULL;
    if (modeltree_collection_create(&c) != MODELTREE_OK) return NULL;
    if (modeltree_collection_add_path(c, NULL, g_zoo) != MODELTREE_OK ||
        modeltree_recover(&g, c, NULL) != MODELTREE_OK)
        fprintf(stderr, "    %s: %s\n", g_zoo, modeltree_last_error_message());
    modeltree_collection_free(c);
    return g;
}

/* The zoo recovered through the ABI, and in *cli_json the CLI's JSON of it (--zoo-json); skips
 * the test without them; NULL (and the JSON freed) when either cannot be had. */
static modeltree_graph_t *zoo_and_cli_json(char **cli_json) {
    if (!g_zoo || !g_zoo_json) harness_skip("needs --zoo and --zoo-json");
    *cli_json = read_text(g_zoo_json);
    modeltree_graph_t *g = *cli_json != NULL && (*cli_json)[0] == '{' ? zoo_from_files() : NULL;
    if (g == NULL) { free(*cli_json); *cli_json = NULL; }
    return g;
}

static void test_zoo_json_equals_cli(void) {
    char *expected = NULL;
    modeltree_graph_t *g = zoo_and_cli_json(&expected);
    REQUIRE(g != NULL);
    check_graph_invariants(g);
    char *json = NULL;
    REQUIRE_OK(modeltree_graph_to_json(&json, g));
    CHECK(strcmp(json, expected) == 0);
    if (strcmp(json, expected) != 0) {
        size_t k = 0;
        while (json[k] && json[k] == expected[k]) k++;
        fprintf(stderr, "    first difference at byte %zu:\n    ABI: %.80s\n    CLI: %.80s\n", k, json + k,
                expected + k);
    }
    modeltree_string_free(json);
    modeltree_graph_free(g);
    free(expected);
}

/* The number after `"key": ` in the JSON object that starts at `from` and ends at its line's end;
 * NaN when the line has no such key. */
static double json_line_number(const char *from, const char *key) {
    const char *end = strchr(from, '\n');
    const char *at = strstr(from, key);
    if (at == NULL || (end != NULL && at > end)) return NAN;
    return strtod(at + strlen(key), NULL);
}

/* Every edge's raw (uncalibrated) and calibrated confidence through the ABI is the CLI's JSON's
 * `raw_confidence` and `confidence` for the same parent and child, to the last bit (the JSON
 * writes the shortest digits that read back exactly); and on the zoo calibration moves some
 * edge's value, so the raw accessor cannot be the calibrated one in disguise. */
static void test_zoo_raw_confidence_equals_cli(void) {
    char *json = NULL;
    modeltree_graph_t *g = zoo_and_cli_json(&json);
    REQUIRE(g != NULL);
    const size_t count = modeltree_graph_edge_count(g);
    size_t listed = 0, moved = 0;
    for (const char *at = json; (at = strstr(at, "\"raw_confidence\": ")) != NULL; at++) listed++;
    CHECK(count > 0 && listed == count);
    for (size_t e = 0; e < count; e++) {
        const char *p = modeltree_graph_model_id(g, (size_t)modeltree_graph_edge_parent(g, e));
        const char *c = modeltree_graph_model_id(g, (size_t)modeltree_graph_edge_child(g, e));
        char head[1200];
        snprintf(head, sizeof head, "{\"parent\": \"%s\", \"child\": \"%s\", ", p, c);
        const char *line = strstr(json, head);
        CHECK(line != NULL);
        if (line == NULL) { fprintf(stderr, "    no edge %s -> %s in the CLI's JSON\n", p, c); continue; }
        double raw = modeltree_graph_edge_raw_confidence(g, e), calibrated = modeltree_graph_edge_confidence_at(g, e);
        CHECK(raw == json_line_number(line, "\"raw_confidence\": "));
        CHECK(calibrated == json_line_number(line, "\"confidence\": "));
        CHECK(raw >= 0 && raw <= 1);
        if (raw != calibrated) moved++;
    }
    CHECK(moved > 0);
    modeltree_graph_free(g);
    free(json);
}

/* What the CLI prints for `recover ZOO --format FORMAT --quiet [--truth TRUTH]`, and what the
 * C++ wrapper prints through test_hpp's render mode: both must equal the C rendering, byte for
 * byte (the Python package's test does the same for Python), with and without a truth. */
static void test_render_equals_cli_and_cpp(void) {
    if (!g_zoo || !g_cli) harness_skip("needs --zoo and --cli");
    modeltree_graph_t *g = zoo_from_files();
    REQUIRE(g != NULL);
    char truth[4200];
    snprintf(truth, sizeof truth, "%s/truth.json", g_zoo);
    static const char *const names[5] = {"json", "text", "dot", "svg", "html"};
    static const modeltree_format_t formats[5] = {MODELTREE_FORMAT_JSON, MODELTREE_FORMAT_TEXT, MODELTREE_FORMAT_DOT,
                                                  MODELTREE_FORMAT_SVG, MODELTREE_FORMAT_HTML};
    for (int with_truth = 0; with_truth < 2; with_truth++) {
        modeltree_score_t *s = NULL;
        if (with_truth) REQUIRE_OK(modeltree_graph_evaluate_file(&s, g, truth));
        for (int f = 0; f < 5; f++) {
            char *mine = NULL;
            REQUIRE_OK(modeltree_graph_render(&mine, g, formats[f], s));
            char command[9000];
            int status = 0;
            snprintf(command, sizeof command, "'%s' recover '%s' --format %s --quiet%s%s%s", g_cli, g_zoo, names[f],
                     with_truth ? " --truth '" : "", with_truth ? truth : "", with_truth ? "'" : "");
            char *cli = run_command(command, &status);
            CHECK(status == 0 && cli && strcmp(cli, mine) == 0);
            if (cli && strcmp(cli, mine) != 0) fprintf(stderr, "    %s: the C rendering differs from the CLI's\n", command);
            free(cli);
            if (g_test_hpp) {
                snprintf(command, sizeof command, "'%s' --render %s '%s'%s%s%s", g_test_hpp, names[f], g_zoo,
                         with_truth ? " '" : "", with_truth ? truth : "", with_truth ? "'" : "");
                char *cpp = run_command(command, &status);
                CHECK(status == 0 && cpp && strcmp(cpp, mine) == 0);
                if (cpp && strcmp(cpp, mine) != 0) fprintf(stderr, "    %s: the C++ rendering differs\n", command);
                free(cpp);
            }
            modeltree_string_free(mine);
        }
        modeltree_score_free(s);
    }
    modeltree_graph_free(g);
}

/* FNV-1a over every tensor's bytes of a model. */
static uint64_t fnv1a(const st_model *m) {
    uint64_t h = 14695981039346656037ull;
    for (size_t t = 0; t < m->count; t++) {
        const unsigned char *b = m->tensors[t].data;
        for (size_t k = 0; k < m->tensors[t].nbytes; k++) h = (h ^ b[k]) * 1099511628211ull;
    }
    return h;
}

static int by_string(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void test_zoo_memory_equals_files(void) {
    if (!g_zoo) harness_skip("needs --zoo");
    modeltree_graph_t *from_files = zoo_from_files();
    REQUIRE(from_files != NULL);
    /* read every model folder of the zoo ourselves and hand the tensors over from memory */
    DIR *d = opendir(g_zoo);
    REQUIRE(d != NULL);
    char *names[512];
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && count < 512) {
        char path[4200];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", g_zoo, e->d_name);
        if (e->d_name[0] != '.' && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) names[count++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, count, sizeof *names, by_string);
    st_model *models = calloc(count, sizeof *models);
    modeltree_collection_t *c = NULL;
    REQUIRE_OK(modeltree_collection_create(&c));
    for (size_t m = 0; m < count; m++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", g_zoo, names[m]);
        CHECK(st_model_read(&models[m], names[m], path) == 0);
        for (size_t t = 0; t < models[m].count; t++) {
            const st_tensor *s = &models[m].tensors[t];
            CHECK_STATUS(MODELTREE_OK, modeltree_collection_add_tensor(c, names[m], s->name, s->dtype, s->shape,
                                                                       s->ndim, s->data, s->nbytes));
        }
    }
    CHECK(modeltree_collection_model_count(c) == modeltree_graph_model_count(from_files));
    uint64_t before = 0, after = 0;
    for (size_t m = 0; m < count; m++) before ^= fnv1a(&models[m]) + m;
    modeltree_graph_t *from_memory = NULL;
    CHECK_STATUS(MODELTREE_OK, modeltree_recover(&from_memory, c, NULL));
    for (size_t m = 0; m < count; m++) after ^= fnv1a(&models[m]) + m;
    CHECK(before == after); /* lent memory is only read */
    if (from_memory) {
        check_same_graph(from_files, from_memory, 1);
        for (size_t i = 0; i < modeltree_graph_model_count(from_memory); i++)
            CHECK(modeltree_graph_model_path(from_memory, i) == NULL);
    }
    modeltree_graph_free(from_memory);
    modeltree_collection_free(c); /* after the recovery; the buffers after the collection */
    for (size_t m = 0; m < count; m++) {
        st_model_free(&models[m]);
        free(names[m]);
    }
    free(models);
    modeltree_graph_free(from_files);
}

/* Checks a hub's output ("child<TAB>parent<TAB>..." lines, "-" for a root) against the graph. */
static void check_hub_output(const char *output, const modeltree_graph_t *g) {
    size_t n = modeltree_graph_model_count(g), lines = 0;
    const char *line = output;
    while (line && *line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (line[0] != '#' && len > 0) {
            char child[512] = "", parent[512] = "";
            const char *tab1 = memchr(line, '\t', len);
            CHECK(tab1 != NULL);
            if (tab1) {
                const char *tab2 = memchr(tab1 + 1, '\t', len - (size_t)(tab1 + 1 - line));
                size_t plen = (tab2 ? (size_t)(tab2 - tab1 - 1) : len - (size_t)(tab1 + 1 - line));
                snprintf(child, sizeof child, "%.*s", (int)(tab1 - line), line);
                snprintf(parent, sizeof parent, "%.*s", (int)plen, tab1 + 1);
                int64_t i = modeltree_graph_find(g, child);
                CHECK(i >= 0);
                if (i >= 0) {
                    int64_t p = modeltree_graph_parent(g, (size_t)i);
                    CHECK(p < 0 ? strcmp(parent, "-") == 0
                                : strcmp(parent, modeltree_graph_model_id(g, (size_t)p)) == 0);
                }
                lines++;
            }
        }
        line = end ? end + 1 : NULL;
    }
    CHECK(lines == n);
}

static void run_hub(const char *exe, const char *wrapper) {
    if (!g_zoo || !exe) harness_skip("needs --zoo and the example's path");
    modeltree_graph_t *g = zoo_from_files();
    REQUIRE(g != NULL);
    char command[8600];
    snprintf(command, sizeof command, wrapper, exe, g_zoo);
    int status = 0;
    char *output = run_command(command, &status);
    REQUIRE(output != NULL);
    CHECK(status == 0);
    if (status != 0) fprintf(stderr, "    `%s` exited with %d:\n%s\n", command, status, output);
    check_hub_output(output, g);
    free(output);
    modeltree_graph_free(g);
}

static void test_example_hub_c(void) { run_hub(g_hub, "'%s' '%s'"); }
static void test_example_hub_cpp(void) { run_hub(g_hub_cpp, "'%s' '%s'"); }

/* The C++ wrapper's own checks (Tests/c/test_hpp.cpp), built against the installed headers. */
static void test_cpp_wrapper(void) {
    if (!g_test_hpp) harness_skip("needs --test-hpp");
    char command[4200];
    snprintf(command, sizeof command, "'%s'", g_test_hpp);
    CHECK(system(command) == 0);
}

/* The installed library needs nothing from the toolchain: ldd names none of its paths, the
 * soname is set, and only modeltree_* symbols are exported. */
static void test_installed_library(void) {
    if (!g_libdir || !g_toolchain) harness_skip("needs --libdir and --toolchain");
    char command[4400];
    int status = 0;
    snprintf(command, sizeof command, "ldd '%s/libmodeltree.so' 2>&1", g_libdir);
    char *out = run_command(command, &status);
    REQUIRE(out != NULL);
    CHECK(status == 0);
    CHECK(strstr(out, g_toolchain) == NULL);
    CHECK(strstr(out, "not found") == NULL);
    CHECK(strstr(out, "swift") == NULL);
    if (strstr(out, g_toolchain) || strstr(out, "not found")) fprintf(stderr, "    ldd:\n%s\n", out);
    free(out);
    snprintf(command, sizeof command, "readelf -d '%s/libmodeltree.so' 2>&1", g_libdir);
    out = run_command(command, &status);
    CHECK(out && strstr(out, "Library soname: [libmodeltree.so.0]") != NULL);
    CHECK(out && strstr(out, g_toolchain) == NULL); /* a RUNPATH of $ORIGIN at most */
    free(out);
    /* every defined dynamic symbol, whatever its binding: only modeltree_* (and the version
     * node). A local one is not bindable, but it still names the library's insides to every
     * `nm -D`, and it once came from the linker despite the version script (Package.swift). */
    snprintf(command, sizeof command,
             "nm -D --defined-only '%s/libmodeltree.so' | awk '{print $NF}' | sed 's/@.*//' "
             "| grep -v -e '^modeltree_' -e '^MODELTREE_0$'", g_libdir);
    out = run_command(command, &status);
    CHECK(out && out[0] == 0);
    if (out && out[0]) fprintf(stderr, "    unexpected exports:\n%.2000s\n", out);
    free(out);
}

/* The C example runs with the toolchain's folder hidden under an empty tmpfs (needs root). */
static void test_hub_without_toolchain(void) {
    if (!g_zoo || !g_hub || !g_toolchain) harness_skip("needs --zoo, --hub and --toolchain");
    if (geteuid() != 0) harness_skip("needs root for unshare --mount");
    if (system("unshare --mount true 2>/dev/null") != 0) harness_skip("unshare --mount is not permitted here");
    char wrapper[4400];
    snprintf(wrapper, sizeof wrapper,
             "unshare --mount sh -c 'mount -t tmpfs none %s && test ! -e %s/usr && exec \"$0\" \"$1\"' %%s %%s",
             g_toolchain, g_toolchain);
    run_hub(g_hub, wrapper);
}

/* ============================================================================================ */

static const test_case tests[] = {
    {"version", test_version},
    {"version_compatible", test_version_compatible},
    {"kernel_name", test_kernel_name},
    {"status_values_are_pinned", test_status_values_are_pinned},
    {"status_strings", test_status_strings},
    {"last_error_message_is_per_thread", test_last_error_message_is_per_thread},
    {"collection_create_free", test_collection_create_free},
    {"add_tensor_builds_models", test_add_tensor_builds_models},
    {"add_tensor_misuse", test_add_tensor_misuse},
    {"add_path", test_add_path},
    {"add_path_formats", test_add_path_formats},
    {"options_init", test_options_init},
    {"options_of_0_1", test_options_of_0_1},
    {"threads_and_limits", test_threads_and_limits},
    {"recover_misuse", test_recover_misuse},
    {"graph_accessors_misuse", test_graph_accessors_misuse},
    {"recover_synthetic", test_recover_synthetic},
    {"duplicates", test_duplicates},
    {"audit", test_audit},
    {"edges_one_by_one", test_edges_one_by_one},
    {"latent_parent", test_latent_parent},
    {"options_are_honoured", test_options_are_honoured},
    {"different_architectures", test_different_architectures},
    {"dtypes", test_dtypes},
    {"lent_memory_is_not_written", test_lent_memory_is_not_written},
    {"forked_child_uses_threads", test_forked_child_uses_threads},
    {"memory_equals_files_synthetic", test_memory_equals_files_synthetic},
    {"progress_and_cancel", test_progress_and_cancel},
    {"two_threads", test_two_threads},
    {"bulk_accessors", test_bulk_accessors},
    {"render", test_render},
    {"evaluate", test_evaluate},
    {"zoo_json_equals_cli", test_zoo_json_equals_cli},
    {"zoo_raw_confidence_equals_cli", test_zoo_raw_confidence_equals_cli},
    {"render_equals_cli_and_cpp", test_render_equals_cli_and_cpp},
    {"zoo_memory_equals_files", test_zoo_memory_equals_files},
    {"example_hub_c", test_example_hub_c},
    {"example_hub_cpp", test_example_hub_cpp},
    {"cpp_wrapper", test_cpp_wrapper},
    {"installed_library", test_installed_library},
    {"hub_without_toolchain", test_hub_without_toolchain},
};

int main(int argc, char **argv) {
    char **filters = malloc((size_t)argc * sizeof *filters);
    int filter_count = 0;
    for (int i = 1; i < argc; i++) {
        const char **target = NULL;
        if (strcmp(argv[i], "--zoo") == 0) target = &g_zoo;
        else if (strcmp(argv[i], "--zoo-json") == 0) target = &g_zoo_json;
        else if (strcmp(argv[i], "--hub") == 0) target = &g_hub;
        else if (strcmp(argv[i], "--hub-cpp") == 0) target = &g_hub_cpp;
        else if (strcmp(argv[i], "--test-hpp") == 0) target = &g_test_hpp;
        else if (strcmp(argv[i], "--libdir") == 0) target = &g_libdir;
        else if (strcmp(argv[i], "--toolchain") == 0) target = &g_toolchain;
        else if (strcmp(argv[i], "--tmp") == 0) target = &g_tmp;
        else if (strcmp(argv[i], "--cli") == 0) target = &g_cli;
        if (target) {
            if (i + 1 >= argc) { fprintf(stderr, "%s needs a value\n", argv[i]); return 2; }
            *target = argv[++i];
        } else {
            filters[filter_count++] = argv[i];
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int rc = harness_run(tests, sizeof tests / sizeof tests[0], filters, filter_count);
    free(filters);
    return rc;
}
