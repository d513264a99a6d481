/*
 * test_index.c — the C tests of the hub index (modeltree_index_*, modeltree_signature_*,
 * modeltree_parents_*), written against include/modeltree.h only.
 *
 *   test_index [--zoo DIR] [--tmp DIR] [NAME-FILTER ...]
 *
 * Synthetic families are made in memory and lent to the library (modeltree_collection_add_tensor);
 * their true graph is known, and every index answer is checked against modeltree_recover over the
 * same models. The crash test kills a process with SIGKILL while it adds; the concurrency tests
 * add from several processes and several threads into one index file.
 */
#define _POSIX_C_SOURCE 200809L

#include <modeltree.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static const char *g_zoo;
static const char *g_tmp = "/tmp";

/* ============================================================================================
 * Synthetic families, in memory
 * ========================================================================================== */

/* FAMILIES trees of MEMBERS models each: member 0 is the root; member k > 0 is fine-tuned from
 * member (k - 1) / 2 (a binary tree). Tensors: two square ones (the distance tensors; the second
 * larger than 2 × 2048 elements, so that it is sketched, not kept), a head and a bias. */
enum { FAMILIES = 3, MEMBERS = 5, MODELS = FAMILIES * MEMBERS, TENSORS = 4 };
static const char *const tensor_names[TENSORS] = {"blocks.0.attn.weight", "blocks.1.attn.weight", "head.weight", "norm.bias"};
static const int64_t tensor_shapes[TENSORS][2] = {{32, 32}, {80, 80}, {10, 32}, {32, 1}};
static const size_t tensor_ndims[TENSORS] = {2, 2, 2, 1};

typedef struct zoo {
    char ids[MODELS][16];
    int parent[MODELS];
    float *data[MODELS][TENSORS];
    size_t count[TENSORS];
} zoo;

static uint64_t rng_state;
static double uniform01(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}
static double normal(void) {
    double u = uniform01(), v = uniform01();
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static void zoo_make(zoo *z) {
    rng_state = 0x2545F4914F6CDD1Dull;
    for (int t = 0; t < TENSORS; t++) z->count[t] = (size_t)(tensor_shapes[t][0] * tensor_shapes[t][1]);
    for (int f = 0; f < FAMILIES; f++) {
        for (int k = 0; k < MEMBERS; k++) {
            int m = f * MEMBERS + k;
            snprintf(z->ids[m], sizeof z->ids[m], "f%d-m%d", f, k);
            z->parent[m] = k == 0 ? -1 : f * MEMBERS + (k - 1) / 2;
            for (int t = 0; t < TENSORS; t++) {
                z->data[m][t] = malloc(z->count[t] * sizeof(float));
                for (size_t i = 0; i < z->count[t]; i++) {
                    /* roots: heavy tails (fine-tuning lowers kurtosis); children: the parent plus
                     * an update of a third of the weights' spread */
                    double x = z->parent[m] < 0 ? normal() * (1.0 + 0.7 * normal() * normal())
                                                : z->data[z->parent[m]][t][i] + 0.3 * normal();
                    z->data[m][t][i] = (float)x;
                }
            }
        }
    }
}

static void zoo_free(zoo *z) {
    for (int m = 0; m < MODELS; m++)
        for (int t = 0; t < TENSORS; t++) free(z->data[m][t]);
}

/* Lends model m's tensors to collection c. */
static int zoo_lend(modeltree_collection_t *c, const zoo *z, int m) {
    for (int t = 0; t < TENSORS; t++)
        if (modeltree_collection_add_tensor(c, z->ids[m], tensor_names[t], MODELTREE_DTYPE_F32, tensor_shapes[t],
                                            tensor_ndims[t], z->data[m][t], z->count[t] * sizeof(float)) != MODELTREE_OK)
            return -1;
    return 0;
}

/* A collection of the models whose bit is set in `which` (all: ~0u), lent from z. */
static modeltree_collection_t *zoo_collection(const zoo *z, unsigned which) {
    modeltree_collection_t *c = NULL;
    if (modeltree_collection_create(&c) != MODELTREE_OK) return NULL;
    for (int m = 0; m < MODELS; m++)
        if ((which >> m & 1u) && zoo_lend(c, z, m) != 0) {
            modeltree_collection_free(c);
            return NULL;
        }
    return c;
}

/* The signature of model m. */
static modeltree_signature_t *zoo_signature(const zoo *z, int m) {
    modeltree_collection_t *c = zoo_collection(z, 1u << m);
    modeltree_signature_t *s = NULL;
    if (c && modeltree_signature_compute(&s, c, z->ids[m], NULL) != MODELTREE_OK)
        fprintf(stderr, "    signature: %s\n", modeltree_last_error_message());
    modeltree_collection_free(c);
    return s;
}

/* modeltree_recover over every model: the reference every index answer is checked against. */
static modeltree_graph_t *zoo_recover(const zoo *z) {
    modeltree_collection_t *c = zoo_collection(z, ~0u);
    modeltree_graph_t *g = NULL;
    if (c && modeltree_recover(&g, c, NULL) != MODELTREE_OK) fprintf(stderr, "    recover: %s\n", modeltree_last_error_message());
    modeltree_collection_free(c);
    return g;
}

/* The parent id of model `id` in a graph, or NULL for a root. */
static const char *graph_parent(const modeltree_graph_t *g, const char *id) {
    int64_t i = modeltree_graph_find(g, id);
    if (i < 0) return "(absent)";
    int64_t p = modeltree_graph_parent(g, (size_t)i);
    return p < 0 ? NULL : modeltree_graph_model_id(g, (size_t)p);
}

static int same_string(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

/* Checks that graph g has recover's parent for every model of `want`, and the same metric. */
static void check_graph_equals(const modeltree_graph_t *g, const modeltree_graph_t *want) {
    CHECK(modeltree_graph_model_count(g) == modeltree_graph_model_count(want));
    CHECK(modeltree_graph_metric(g) == modeltree_graph_metric(want));
    CHECK(modeltree_graph_tree_count(g) == modeltree_graph_tree_count(want));
    for (size_t i = 0; i < modeltree_graph_model_count(want); i++) {
        const char *id = modeltree_graph_model_id(want, i);
        if (!same_string(graph_parent(g, id), graph_parent(want, id))) {
            char what[256];
            snprintf(what, sizeof what, "parent of %s: index %s, recover %s", id, graph_parent(g, id) ? graph_parent(g, id) : "(root)",
                     graph_parent(want, id) ? graph_parent(want, id) : "(root)");
            harness_fail(__FILE__, __LINE__, what);
        }
    }
}

static char *temp_dir(void) {
    char *dir = malloc(strlen(g_tmp) + 32);
    sprintf(dir, "%s/modeltree-index-XXXXXX", g_tmp);
    if (!mkdtemp(dir)) { free(dir); return NULL; }
    return dir;
}

static void remove_tree(char *dir) {
    char command[4200];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    if (system(command) != 0) fprintf(stderr, "    could not remove %s\n", dir);
    free(dir);
}

/* <dir>/index.db */
static void index_path(char *out, size_t size, const char *dir) { snprintf(out, size, "%s/index.db", dir); }

/* What the crash and concurrency tests share: the zoo, recover's graph of it, an index file in a
 * fresh folder. */
typedef struct fixture {
    zoo z;
    modeltree_graph_t *want;
    char *dir;
    char db[4200];
} fixture;

static int fixture_make(fixture *f) {
    zoo_make(&f->z);
    f->want = zoo_recover(&f->z);
    f->dir = temp_dir();
    if (f->dir) index_path(f->db, sizeof f->db, f->dir);
    return f->want != NULL && f->dir != NULL;
}

static void fixture_free(fixture *f) {
    if (f->dir) remove_tree(f->dir);
    modeltree_graph_free(f->want);
    zoo_free(&f->z);
}

/* Opens the index file and checks its graph against recover's. */
static void check_index_file(const fixture *f) {
    modeltree_index_t *ix = NULL;
    REQUIRE_OK(modeltree_index_open(&ix, f->db, NULL));
    modeltree_graph_t *g = NULL;
    CHECK_STATUS(MODELTREE_OK, modeltree_index_graph(&g, ix, NULL));
    if (g) check_graph_equals(g, f->want);
    modeltree_graph_free(g);
    modeltree_index_close(ix);
}

/* ============================================================================================
 * Options, misuse
 * ========================================================================================== */

static void test_options_init(void) {
    modeltree_index_options_t o;
    memset(&o, 0xAB, sizeof o);
    modeltree_index_options_init(&o);
    CHECK(o.struct_size == sizeof o);
    CHECK(o.busy_timeout_ms > 0 && o.threads == 0);
    CHECK(o.distance_buckets > 0 && o.distance_buckets % o.coarse_buckets == 0);
    CHECK(o.rank_rows >= o.rank_columns && o.rank_columns % o.rank_hits == 0);
    modeltree_index_options_init(NULL); /* ignored */
}

static void test_misuse(void) {
    modeltree_index_t *ix = (modeltree_index_t *)1;
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_index_open(NULL, "x.db", NULL));
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_index_open(&ix, NULL, NULL));
    CHECK(ix == NULL);
    modeltree_index_options_t o;
    modeltree_index_options_init(&o);
    o.struct_size = 3;
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_index_open(&ix, ":memory:", &o));
    CHECK(strstr(modeltree_last_error_message(), "struct_size") != NULL);
    modeltree_index_options_init(&o);
    o.coarse_buckets = 3; /* does not divide the distance buckets */
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_index_open(&ix, ":memory:", &o));
    CHECK(strstr(modeltree_last_error_message(), "coarse buckets") != NULL);

    REQUIRE_OK(modeltree_index_open(&ix, ":memory:", NULL));
    size_t n = 7;
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_index_model_count(NULL, ix));
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_index_model_count(&n, NULL));
    CHECK(n == 0);
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_index_add_path(NULL, NULL, "x"));
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_index_add_path(ix, NULL, NULL));
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_index_add_collection(ix, NULL));
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_index_add_signature(ix, NULL, NULL));
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_index_remove(ix, "nobody"));
    CHECK(strstr(modeltree_last_error_message(), "nobody") != NULL);
    modeltree_parents_t *p = (modeltree_parents_t *)1;
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_index_parent(&p, ix, "nobody", 3, NULL));
    CHECK(p == NULL);
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_index_parent_of_signature(&p, ix, NULL, 3, NULL));
    modeltree_graph_t *g = (modeltree_graph_t *)1;
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_index_graph(&g, ix, NULL)); /* empty */
    CHECK(g == NULL);
    modeltree_signature_t *s = (modeltree_signature_t *)1;
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_signature_compute(&s, NULL, "a", NULL));
    CHECK(s == NULL);
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_signature_deserialize(&s, NULL, 4));
    void *bytes = (void *)1;
    size_t size = 9;
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_signature_serialize(&bytes, &size, NULL));
    CHECK(bytes == NULL && size == 0);
    /* NULL-safe accessors and frees */
    CHECK(modeltree_parents_count(NULL) == 0 && modeltree_parents_id(NULL, 0) == NULL);
    CHECK(isnan(modeltree_parents_distance(NULL, 0)) && !modeltree_parents_indexed(NULL));
    CHECK(modeltree_index_entries_count(NULL) == 0 && modeltree_index_entries_id(NULL, 0) == NULL);
    CHECK(modeltree_signature_model_id(NULL) == NULL && modeltree_signature_hash(NULL) == 0);
    modeltree_parents_free(NULL);
    modeltree_index_entries_free(NULL);
    modeltree_signature_free(NULL);
    modeltree_bytes_free(NULL);
    modeltree_index_close(NULL);
    modeltree_index_close(ix);
}

/* A file that is not an index is refused, and left as it was. */
static void test_not_an_index(void) {
    char *dir = temp_dir();
    REQUIRE(dir != NULL);
    char path[4200];
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    for (int i = 0; i < 100; i++) fputs("these are not the bytes of a database\n", f);
    fclose(f);
    modeltree_index_t *ix = NULL;
    CHECK_STATUS(MODELTREE_FORMAT, modeltree_index_open(&ix, path, NULL));
    CHECK(ix == NULL);
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size == 100 * 38);
    snprintf(path, sizeof path, "%s/no/such/folder/index.db", dir);
    CHECK_STATUS(MODELTREE_IO, modeltree_index_open(&ix, path, NULL));
    remove_tree(dir);
}

/* ============================================================================================
 * Signatures
 * ========================================================================================== */

static void test_signature_round_trip(void) {
    zoo z;
    zoo_make(&z);
    modeltree_signature_t *s = zoo_signature(&z, 3);
    REQUIRE(s != NULL);
    CHECK(strcmp(modeltree_signature_model_id(s), z.ids[3]) == 0);
    void *bytes = NULL;
    size_t size = 0;
    REQUIRE_OK(modeltree_signature_serialize(&bytes, &size, s));
    CHECK(size > 16 && memcmp(bytes, "MTSIGNAT", 8) == 0);
    modeltree_signature_t *back = NULL;
    REQUIRE_OK(modeltree_signature_deserialize(&back, bytes, size));
    CHECK(modeltree_signature_hash(back) == modeltree_signature_hash(s));
    void *again = NULL;
    size_t again_size = 0;
    REQUIRE_OK(modeltree_signature_serialize(&again, &again_size, back));
    CHECK(again_size == size && memcmp(again, bytes, size) == 0);
    /* Same weights, same hash; other weights, another hash. */
    modeltree_signature_t *same = zoo_signature(&z, 3), *other = zoo_signature(&z, 4);
    CHECK(modeltree_signature_hash(same) == modeltree_signature_hash(s));
    CHECK(modeltree_signature_hash(other) != modeltree_signature_hash(s));
    modeltree_signature_free(same);
    modeltree_signature_free(other);
    modeltree_bytes_free(again);
    modeltree_signature_free(back);
    modeltree_bytes_free(bytes);
    modeltree_signature_free(s);
    zoo_free(&z);
}

/* Flipped, truncated, lengthened and foreign bytes are refused with a message, never a crash. */
static void test_signature_corrupt_or_foreign(void) {
    zoo z;
    zoo_make(&z);
    modeltree_signature_t *s = zoo_signature(&z, 0);
    REQUIRE(s != NULL);
    unsigned char *bytes = NULL;
    size_t size = 0;
    REQUIRE_OK(modeltree_signature_serialize((void **)&bytes, &size, s));
    unsigned char *copy = malloc(size + 1);
    modeltree_signature_t *back = NULL;
    /* every 97th byte flipped in turn: a header field or a checksummed payload */
    for (size_t at = 0; at < size; at += 97) {
        memcpy(copy, bytes, size);
        copy[at] ^= 0x5A;
        modeltree_status_t status = modeltree_signature_deserialize(&back, copy, size);
        CHECK(status == MODELTREE_FORMAT && back == NULL);
        modeltree_signature_free(back);
        back = NULL;
    }
    memcpy(copy, bytes, size);
    CHECK_STATUS(MODELTREE_FORMAT, modeltree_signature_deserialize(&back, copy, size - 1));
    CHECK(strstr(modeltree_last_error_message(), "truncated") != NULL);
    copy[size] = 0;
    CHECK_STATUS(MODELTREE_FORMAT, modeltree_signature_deserialize(&back, copy, size + 1));
    CHECK(strstr(modeltree_last_error_message(), "after the end") != NULL);
    copy[8] = 2; /* format version 2 */
    CHECK_STATUS(MODELTREE_FORMAT, modeltree_signature_deserialize(&back, copy, size));
    CHECK(strstr(modeltree_last_error_message(), "newer than this library reads") != NULL);
    CHECK_STATUS(MODELTREE_FORMAT, modeltree_signature_deserialize(&back, "MTSIG", 5));
    CHECK_STATUS(MODELTREE_FORMAT, modeltree_signature_deserialize(&back, "", 0));
    /* A signature of other sketch sizes does not go into an index. */
    modeltree_index_options_t o;
    modeltree_index_options_init(&o);
    o.distance_buckets = 512;
    modeltree_collection_t *c = zoo_collection(&z, 1u);
    modeltree_signature_t *small = NULL;
    REQUIRE_OK(modeltree_signature_compute(&small, c, z.ids[0], &o));
    modeltree_index_t *ix = NULL;
    REQUIRE_OK(modeltree_index_open(&ix, ":memory:", NULL));
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_index_add_signature(ix, small, NULL));
    CHECK(strstr(modeltree_last_error_message(), "sketch sizes") != NULL);
    modeltree_index_close(ix);
    modeltree_signature_free(small);
    modeltree_collection_free(c);
    free(copy);
    modeltree_bytes_free(bytes);
    modeltree_signature_free(s);
    zoo_free(&z);
}

/* ============================================================================================
 * The index against recover
 * ========================================================================================== */

/* Adds every model (lent), then: graph == recover, each model's parent == its graph edge, list and
 * count, duplicates, remove. */
static void test_index_equals_recover(void) {
    zoo z;
    zoo_make(&z);
    modeltree_graph_t *want = zoo_recover(&z);
    REQUIRE(want != NULL);
    modeltree_index_t *ix = NULL;
    REQUIRE_OK(modeltree_index_open(&ix, ":memory:", NULL));
    modeltree_collection_t *c = zoo_collection(&z, ~0u);
    REQUIRE_OK(modeltree_index_add_collection(ix, c));
    size_t n = 0;
    REQUIRE_OK(modeltree_index_model_count(&n, ix));
    CHECK(n == MODELS);
    modeltree_graph_t *g = NULL;
    REQUIRE_OK(modeltree_index_graph(&g, ix, NULL));
    check_graph_equals(g, want);
    /* the true graph, too */
    for (int m = 0; m < MODELS; m++)
        CHECK(same_string(graph_parent(g, z.ids[m]), z.parent[m] < 0 ? NULL : z.ids[z.parent[m]]));
    /* families are at +infinity from one another */
    double *d = malloc(MODELS * MODELS * sizeof *d);
    CHECK(modeltree_graph_distances(g, d, MODELS * MODELS) == MODELS * MODELS);
    int64_t a = modeltree_graph_find(g, "f0-m1"), b = modeltree_graph_find(g, "f1-m1");
    CHECK(isinf(d[a * MODELS + b]) && isfinite(d[a * MODELS + modeltree_graph_find(g, "f0-m0")]));
    free(d);

    for (int m = 0; m < MODELS; m++) {
        modeltree_parents_t *p = NULL;
        REQUIRE_OK(modeltree_index_parent(&p, ix, z.ids[m], 2, NULL));
        CHECK(modeltree_parents_indexed(p));
        CHECK(strcmp(modeltree_parents_model_id(p), z.ids[m]) == 0);
        const char *want_parent = graph_parent(want, z.ids[m]);
        if (want_parent) {
            CHECK(modeltree_parents_count(p) >= 1 && modeltree_parents_count(p) <= 3);
            CHECK(same_string(modeltree_parents_id(p, 0), want_parent));
            int64_t i = modeltree_graph_find(g, z.ids[m]);
            CHECK(fabs(modeltree_parents_distance(p, 0) - modeltree_graph_edge_distance(g, (size_t)i)) < 1e-9);
            CHECK(fabs(modeltree_parents_confidence(p, 0) - modeltree_graph_edge_confidence(g, (size_t)i)) < 1e-9);
            if (modeltree_parents_count(p) > 1) {
                CHECK(isnan(modeltree_parents_confidence(p, 1)));
                CHECK(modeltree_parents_distance(p, 1) >= 0);
            }
        } else {
            CHECK(modeltree_parents_count(p) == 0);
        }
        CHECK(modeltree_parents_relatives(p) == MEMBERS - 1);
        CHECK(modeltree_parents_metric(p) == modeltree_graph_metric(want));
        CHECK(modeltree_parents_duplicate_count(p) == 0);
        modeltree_parents_free(p);
    }

    /* A copy under another id is a duplicate. */
    modeltree_signature_t *copy = zoo_signature(&z, 7);
    REQUIRE_OK(modeltree_index_add_signature(ix, copy, "f1-m2-copy"));
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_index_add_signature(ix, copy, "f1-m2-copy"));
    CHECK(strstr(modeltree_last_error_message(), "already in the index") != NULL);
    modeltree_parents_t *p = NULL;
    REQUIRE_OK(modeltree_index_parent(&p, ix, "f1-m2-copy", 0, NULL));
    CHECK(modeltree_parents_duplicate_count(p) == 1 && strcmp(modeltree_parents_duplicate(p, 0), z.ids[7]) == 0);
    modeltree_parents_free(p);

    modeltree_index_entries_t *e = NULL;
    REQUIRE_OK(modeltree_index_list(&e, ix));
    CHECK(modeltree_index_entries_count(e) == MODELS + 1);
    CHECK(strcmp(modeltree_index_entries_id(e, 0), "f0-m0") == 0);
    CHECK(modeltree_index_entries_path(e, 0) == NULL && strcmp(modeltree_index_entries_format(e, 0), "memory") == 0);
    CHECK(modeltree_index_entries_state(e, 0) == MODELTREE_FILES_MEMORY);
    CHECK(modeltree_index_entries_family(e, 0) == modeltree_index_entries_family(e, 1));   /* f0-m0, f0-m1 */
    CHECK(modeltree_index_entries_family(e, 0) != modeltree_index_entries_family(e, MEMBERS)); /* f1-m0 */
    CHECK(modeltree_index_entries_id(e, MODELS + 1) == NULL && modeltree_index_entries_family(e, MODELS + 1) == -1);
    modeltree_index_entries_free(e);

    REQUIRE_OK(modeltree_index_remove(ix, "f1-m2-copy"));
    REQUIRE_OK(modeltree_index_model_count(&n, ix));
    CHECK(n == MODELS);
    /* removing a leaf leaves the others' parents as recover gives them without it */
    REQUIRE_OK(modeltree_index_remove(ix, "f2-m4"));
    modeltree_graph_t *g2 = NULL;
    REQUIRE_OK(modeltree_index_graph(&g2, ix, NULL));
    CHECK(modeltree_graph_find(g2, "f2-m4") == -1 && modeltree_graph_model_count(g2) == MODELS - 1);
    for (int m = 0; m < MODELS; m++)
        if (m != 14) CHECK(same_string(graph_parent(g2, z.ids[m]), graph_parent(want, z.ids[m])));
    modeltree_graph_free(g2);

    modeltree_signature_free(copy);
    modeltree_graph_free(g);
    modeltree_collection_free(c);
    modeltree_index_close(ix);
    modeltree_graph_free(want);
    zoo_free(&z);
}

/* A candidate upload: each leaf, left out of the index, gets the parent recover gives it. */
static void test_candidate_upload(void) {
    zoo z;
    zoo_make(&z);
    modeltree_graph_t *want = zoo_recover(&z);
    REQUIRE(want != NULL);
    for (int leaf = 0; leaf < MODELS; leaf++) {
        if ((leaf % MEMBERS) < 2) continue; /* members 2, 3, 4 are leaves */
        modeltree_index_t *ix = NULL;
        REQUIRE_OK(modeltree_index_open(&ix, ":memory:", NULL));
        modeltree_collection_t *c = zoo_collection(&z, ~0u & ~(1u << leaf));
        REQUIRE_OK(modeltree_index_add_collection(ix, c));
        modeltree_signature_t *s = zoo_signature(&z, leaf);
        modeltree_parents_t *p = NULL;
        REQUIRE_OK(modeltree_index_parent_of_signature(&p, ix, s, 1, NULL));
        CHECK(!modeltree_parents_indexed(p));
        CHECK(modeltree_parents_count(p) >= 1 && same_string(modeltree_parents_id(p, 0), graph_parent(want, z.ids[leaf])));
        CHECK(modeltree_parents_relatives(p) == MEMBERS - 1);
        size_t n = 0;
        REQUIRE_OK(modeltree_index_model_count(&n, ix));
        CHECK(n == MODELS - 1); /* asking adds nothing */
        modeltree_parents_free(p);
        modeltree_signature_free(s);
        modeltree_collection_free(c);
        modeltree_index_close(ix);
    }
    /* A model of no indexed family has no parent and no relatives. */
    modeltree_index_t *ix = NULL;
    REQUIRE_OK(modeltree_index_open(&ix, ":memory:", NULL));
    modeltree_collection_t *c = zoo_collection(&z, (1u << MEMBERS) - 1); /* family 0 only */
    REQUIRE_OK(modeltree_index_add_collection(ix, c));
    modeltree_signature_t *s = zoo_signature(&z, MEMBERS + 1);
    modeltree_parents_t *p = NULL;
    REQUIRE_OK(modeltree_index_parent_of_signature(&p, ix, s, 3, NULL));
    CHECK(modeltree_parents_count(p) == 0 && modeltree_parents_relatives(p) == 0);
    modeltree_parents_free(p);
    modeltree_signature_free(s);
    modeltree_collection_free(c);
    modeltree_index_close(ix);
    modeltree_graph_free(want);
    zoo_free(&z);
}

/* A copy of the example zoo in dir/zoo (its path into `path`) and the graph recover gives it;
 * NULL (a failed check recorded) if either fails. */
static modeltree_graph_t *copy_zoo(const char *dir, char *path, size_t size) {
    char command[9000];
    snprintf(command, sizeof command, "cp -r '%s' '%s/zoo'", g_zoo, dir);
    snprintf(path, size, "%s/zoo", dir);
    modeltree_collection_t *c = NULL;
    modeltree_graph_t *g = NULL;
    CHECK(system(command) == 0);
    CHECK_STATUS(MODELTREE_OK, modeltree_collection_create(&c));
    CHECK_STATUS(MODELTREE_OK, modeltree_collection_add_path(c, NULL, path));
    CHECK_STATUS(MODELTREE_OK, modeltree_recover(&g, c, NULL));
    modeltree_collection_free(c);
    return g;
}

/* add_path_noted: what a folder holds but cannot be read is named, never silently skipped; the
 * readable models are added all the same. */
static void test_add_path_notes_unread(void) {
    if (!g_zoo) harness_skip("--zoo not given");
    char *dir = temp_dir();
    REQUIRE(dir != NULL);
    char path[4200], file[4300];
    modeltree_graph_t *want = copy_zoo(dir, path, sizeof path);
    REQUIRE(want != NULL);
    /* Two entries the loader does not read: Keras weights, and a GGUF that lost its extension. */
    snprintf(file, sizeof file, "%s/keras.h5", path);
    FILE *f = fopen(file, "wb");
    REQUIRE(f != NULL);
    fputs("\x89HDF\r\n\x1a\n", f);
    fclose(f);
    snprintf(file, sizeof file, "%s/renamed", path);
    REQUIRE((f = fopen(file, "wb")) != NULL);
    fwrite("GGUF\3\0\0\0\0\0\0\0", 1, 12, f);
    fclose(f);

    char db[4200];
    index_path(db, sizeof db, dir);
    modeltree_index_t *ix = NULL;
    REQUIRE_OK(modeltree_index_open(&ix, db, NULL));
    char *notes = (char *)0x1;
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_index_add_path_noted(NULL, NULL, path, &notes));
    CHECK(notes == NULL);
    REQUIRE_OK(modeltree_index_add_path_noted(ix, NULL, path, &notes));
    REQUIRE(notes != NULL);
    /* One line per unread entry, each naming its path and what it looks like. */
    snprintf(file, sizeof file, "%s/keras.h5: ", path);
    CHECK(strstr(notes, file) != NULL && strstr(notes, "HDF5") != NULL);
    snprintf(file, sizeof file, "%s/renamed: ", path);
    CHECK(strstr(notes, file) != NULL && strstr(notes, ".gguf") != NULL);
    CHECK(strchr(notes, '\n') != NULL && strchr(strchr(notes, '\n') + 1, '\n') == NULL);
    modeltree_string_free(notes);
    /* The readable models are all there: the graph is the collection's. */
    modeltree_graph_t *g = NULL;
    REQUIRE_OK(modeltree_index_graph(&g, ix, NULL));
    check_graph_equals(g, want);
    modeltree_graph_free(g);
    /* One model by id: nothing to note; a NULL notes pointer is allowed. */
    snprintf(file, sizeof file, "%s/%s", path, modeltree_graph_model_id(want, 0));
    notes = (char *)0x1;
    CHECK_STATUS(MODELTREE_INVALID_ARGUMENT, modeltree_index_add_path_noted(ix, modeltree_graph_model_id(want, 0), file, &notes));
    CHECK(notes == NULL);   /* already indexed: an error, and no notes */
    modeltree_index_close(ix);
    remove(db);
    REQUIRE_OK(modeltree_index_open(&ix, db, NULL));
    REQUIRE_OK(modeltree_index_add_path_noted(ix, NULL, path, NULL));
    modeltree_index_close(ix);
    modeltree_graph_free(want);
    remove_tree(dir);
}

/* The example zoo from its files: graph == recover; verify sees a changed and a vanished file. */
static void test_zoo_files_and_verify(void) {
    if (!g_zoo) harness_skip("--zoo not given");
    char *dir = temp_dir();
    REQUIRE(dir != NULL);
    char command[9000], path[4200];
    modeltree_graph_t *want = copy_zoo(dir, path, sizeof path);
    REQUIRE(want != NULL);

    char db[4200];
    index_path(db, sizeof db, dir);
    modeltree_index_t *ix = NULL;
    REQUIRE_OK(modeltree_index_open(&ix, db, NULL));
    REQUIRE_OK(modeltree_index_add_path(ix, NULL, path));
    modeltree_graph_t *g = NULL;
    REQUIRE_OK(modeltree_index_graph(&g, ix, NULL));
    check_graph_equals(g, want);
    CHECK(strstr(modeltree_graph_model_path(g, 0), "/zoo/") != NULL);
    modeltree_graph_free(g);
    modeltree_index_close(ix);

    /* reopened: still the same graph */
    REQUIRE_OK(modeltree_index_open(&ix, db, NULL));
    REQUIRE_OK(modeltree_index_graph(&g, ix, NULL));
    check_graph_equals(g, want);
    modeltree_graph_free(g);

    modeltree_index_entries_t *e = NULL;
    REQUIRE_OK(modeltree_index_verify(&e, ix));
    for (size_t i = 0; i < modeltree_index_entries_count(e); i++) CHECK(modeltree_index_entries_state(e, i) == MODELTREE_FILES_UNCHANGED);
    modeltree_index_entries_free(e);
    snprintf(command, sizeof command, "printf x >> '%s/vit-a/model.safetensors' && rm -r '%s/vit-b'", path, path);
    REQUIRE(system(command) == 0);
    REQUIRE_OK(modeltree_index_verify(&e, ix));
    int changed = 0, missing = 0;
    for (size_t i = 0; i < modeltree_index_entries_count(e); i++) {
        const char *id = modeltree_index_entries_id(e, i);
        modeltree_files_state_t st = modeltree_index_entries_state(e, i);
        if (strcmp(id, "vit-a") == 0) {
            changed = st == MODELTREE_FILES_CHANGED && strstr(modeltree_index_entries_detail(e, i), "size changed") != NULL;
        } else if (strcmp(id, "vit-b") == 0) {
            missing = st == MODELTREE_FILES_MISSING && strstr(modeltree_index_entries_detail(e, i), "vanished") != NULL;
        } else {
            CHECK(st == MODELTREE_FILES_UNCHANGED && modeltree_index_entries_detail(e, i)[0] == 0);
        }
    }
    CHECK(changed && missing);
    modeltree_index_entries_free(e);
    /* the graph needs no file: the signatures are in the index */
    REQUIRE_OK(modeltree_index_graph(&g, ix, NULL));
    check_graph_equals(g, want);
    modeltree_graph_free(g);
    modeltree_index_close(ix);
    modeltree_graph_free(want);
    remove_tree(dir);
}

/* ============================================================================================
 * Crash and concurrency
 * ========================================================================================== */

/* In a child process: adds the models whose bit is set in `which` to the index at `db`, one by
 * one; exits 0 when all went in. */
static void add_in_child(const zoo *z, const char *db, unsigned which) {
    modeltree_index_t *ix = NULL;
    if (modeltree_index_open(&ix, db, NULL) != MODELTREE_OK) {
        fprintf(stderr, "    child: %s\n", modeltree_last_error_message());
        _exit(3);
    }
    for (int m = 0; m < MODELS; m++) {
        if (!(which >> m & 1u)) continue;
        modeltree_collection_t *c = zoo_collection(z, 1u << m);
        modeltree_status_t status = modeltree_index_add_collection(ix, c);
        modeltree_collection_free(c);
        if (status != MODELTREE_OK && !strstr(modeltree_last_error_message(), "already in the index")) {
            fprintf(stderr, "    child adding %s: %s\n", z->ids[m], modeltree_last_error_message());
            _exit(4);
        }
    }
    modeltree_index_close(ix);
    _exit(0);
}

/* The models now in the index, as a bit set; -1 when the index is not valid. */
static long indexed_models(const zoo *z, const char *db) {
    modeltree_index_t *ix = NULL;
    if (modeltree_index_open(&ix, db, NULL) != MODELTREE_OK) return -1;
    modeltree_index_entries_t *e = NULL;
    long set = 0;
    if (modeltree_index_verify(&e, ix) != MODELTREE_OK) {
        fprintf(stderr, "    verify: %s\n", modeltree_last_error_message());
        set = -1;
    }
    for (size_t i = 0; set >= 0 && i < modeltree_index_entries_count(e); i++) {
        for (int m = 0; m < MODELS; m++)
            if (strcmp(modeltree_index_entries_id(e, i), z->ids[m]) == 0) set |= 1L << m;
        /* fully in: its signature and its parent query work */
        modeltree_parents_t *p = NULL;
        modeltree_signature_t *s = NULL;
        if (modeltree_index_parent(&p, ix, modeltree_index_entries_id(e, i), 1, NULL) != MODELTREE_OK ||
            modeltree_index_signature(&s, ix, modeltree_index_entries_id(e, i)) != MODELTREE_OK) {
            fprintf(stderr, "    %s is in partly: %s\n", modeltree_index_entries_id(e, i), modeltree_last_error_message());
            set = -1;
        }
        modeltree_parents_free(p);
        modeltree_signature_free(s);
    }
    modeltree_index_entries_free(e);
    modeltree_index_close(ix);
    return set;
}

/* kill -9 in the middle of adds, again and again: the index stays valid, each model fully in or
 * fully out, and once all are in the graph is recover's. */
static void test_kill_during_add(void) {
    fixture f;
    REQUIRE(fixture_make(&f));
    long in = 0;
    int kills = 0;
    for (int round = 0; round < 40 && in != (1L << MODELS) - 1; round++) {
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) add_in_child(&f.z, f.db, (unsigned)(((1L << MODELS) - 1) & ~in));
        /* kill after 1 to 40 ms: inside a signature, a transaction or a commit */
        struct timespec pause = {0, (long)(1 + (round * 7) % 40) * 1000000L};
        nanosleep(&pause, NULL);
        if (kill(pid, SIGKILL) == 0) kills++;
        int status = 0;
        waitpid(pid, &status, 0);
        long now = indexed_models(&f.z, f.db);
        REQUIRE(now >= 0);
        CHECK((now & in) == in); /* nothing committed was lost */
        in = now;
    }
    CHECK(kills > 0);
    if (in != (1L << MODELS) - 1) {   /* finish without interruption */
        pid_t pid = fork();
        if (pid == 0) add_in_child(&f.z, f.db, (unsigned)(((1L << MODELS) - 1) & ~in));
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    check_index_file(&f);
    fixture_free(&f);
}

/* Four processes add at once (interleaved subsets): nothing is lost, the graph is recover's. */
static void test_processes_add_at_once(void) {
    fixture f;
    REQUIRE(fixture_make(&f));
    enum { WRITERS = 4 };
    pid_t pids[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        unsigned which = 0;
        for (int m = w; m < MODELS; m += WRITERS) which |= 1u << m;
        pids[w] = fork();
        REQUIRE(pids[w] >= 0);
        if (pids[w] == 0) add_in_child(&f.z, f.db, which);
    }
    for (int w = 0; w < WRITERS; w++) {
        int status = 0;
        waitpid(pids[w], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    CHECK(indexed_models(&f.z, f.db) == (1L << MODELS) - 1);
    check_index_file(&f);
    fixture_free(&f);
}

typedef struct thread_job {
    const zoo *z;
    const char *db;
    unsigned which;
    int failed;
    const modeltree_signature_t *shared; /* one signature read by every thread */
} thread_job;

static void *add_in_thread(void *arg) {
    thread_job *job = arg;
    modeltree_index_t *ix = NULL;
    if (modeltree_index_open(&ix, job->db, NULL) != MODELTREE_OK) { job->failed = 1; return NULL; }
    for (int m = 0; m < MODELS; m++) {
        if (!(job->which >> m & 1u)) continue;
        modeltree_collection_t *c = zoo_collection(job->z, 1u << m);
        if (modeltree_index_add_collection(ix, c) != MODELTREE_OK) {
            fprintf(stderr, "    thread adding %s: %s\n", job->z->ids[m], modeltree_last_error_message());
            job->failed = 1;
        }
        modeltree_collection_free(c);
        modeltree_parents_t *p = NULL;
        if (modeltree_index_parent_of_signature(&p, ix, job->shared, 1, NULL) != MODELTREE_OK) {
            fprintf(stderr, "    thread asking: %s\n", modeltree_last_error_message());
            job->failed = 1;
        }
        modeltree_parents_free(p);
    }
    modeltree_index_close(ix);
    return NULL;
}

/* Threads, each with its own handle on one file, add and ask at once (the ThreadSanitizer build
 * runs this one). */
static void test_threads_add_at_once(void) {
    fixture f;
    REQUIRE(fixture_make(&f));
    modeltree_signature_t *shared = zoo_signature(&f.z, 2);
    enum { THREADS = 3 };
    pthread_t threads[THREADS];
    thread_job jobs[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = (thread_job){&f.z, f.db, 0, 0, shared};
        for (int m = t; m < MODELS; m += THREADS) jobs[t].which |= 1u << m;
        REQUIRE(pthread_create(&threads[t], NULL, add_in_thread, &jobs[t]) == 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        CHECK(!jobs[t].failed);
    }
    check_index_file(&f);
    modeltree_signature_free(shared);
    fixture_free(&f);
}

static const test_case tests[] = {
    {"options_init", test_options_init},
    {"misuse", test_misuse},
    {"not_an_index", test_not_an_index},
    {"signature_round_trip", test_signature_round_trip},
    {"signature_corrupt_or_foreign", test_signature_corrupt_or_foreign},
    {"index_equals_recover", test_index_equals_recover},
    {"candidate_upload", test_candidate_upload},
    {"add_path_notes_unread", test_add_path_notes_unread},
    {"zoo_files_and_verify", test_zoo_files_and_verify},
    {"kill_during_add", test_kill_during_add},
    {"processes_add_at_once", test_processes_add_at_once},
    {"threads_add_at_once", test_threads_add_at_once},
};

int main(int argc, char **argv) {
    char **filters = malloc((size_t)argc * sizeof *filters);
    int filter_count = 0;
    for (int i = 1; i < argc; i++) {
        const char **target = NULL;
        if (strcmp(argv[i], "--zoo") == 0) target = &g_zoo;
        else if (strcmp(argv[i], "--tmp") == 0) target = &g_tmp;
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
