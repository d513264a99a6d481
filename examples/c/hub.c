/*
 * hub.c — audit a folder of uploaded models: which one was fine-tuned from which.
 *
 *     cc -std=c99 hub.c $(pkg-config --cflags --libs modeltree) -o hub
 *     ./hub uploads/            # a folder of model folders (or .safetensors files)
 *
 * Prints one line per model, tab-separated: the model, its parent ("-" for a root), then the
 * edge's distance and confidence and "unsure" when the edge should be checked by a person.
 * Lines starting with '#' are a summary. Exit status: 0, 1 on a library error, 2 on bad usage.
 */
#include <modeltree.h>

#include <stdio.h>

/* Reports a failed call with the library's message and returns 1. */
static int fail(const char *what, modeltree_status_t status) {
    fprintf(stderr, "hub: %s: %s: %s\n", what, modeltree_status_string(status),
            modeltree_last_error_message());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s FOLDER-OR-MODEL...\n", argv[0]);
        return 2;
    }
    /* The header's compatibility rule, applied by the library: same major, a version at least
     * the header's. A library that fails it may lack functions this program calls. */
    if (!modeltree_version_compatible(MODELTREE_VERSION_NUMBER)) {
        fprintf(stderr, "hub: built against modeltree %s, which the loaded library %s does not serve\n",
                MODELTREE_VERSION_STRING, modeltree_version_string());
        return 1;
    }

    modeltree_collection_t *uploads = NULL;
    modeltree_graph_t *graph = NULL;
    modeltree_status_t status = modeltree_collection_create(&uploads);
    if (status != MODELTREE_OK) return fail("create", status);

    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        /* NULL id: a folder of uploads expands to the models inside it */
        status = modeltree_collection_add_path(uploads, NULL, argv[i]);
        if (status != MODELTREE_OK) rc = fail(argv[i], status);
    }
    if (rc == 0) {
        status = modeltree_recover(&graph, uploads, NULL); /* NULL: default options */
        if (status != MODELTREE_OK) rc = fail("recover", status);
    }
    if (rc == 0) {
        size_t n = modeltree_graph_model_count(graph);
        printf("# %zu models, %zu families\n", n, modeltree_graph_tree_count(graph));
        for (size_t i = 0; i < n; i++) {
            int64_t parent = modeltree_graph_parent(graph, i);
            if (parent == MODELTREE_NO_PARENT) {
                printf("%s\t-\n", modeltree_graph_model_id(graph, i));
            } else {
                printf("%s\t%s\t%.6g\t%.3f%s\n", modeltree_graph_model_id(graph, i),
                       modeltree_graph_model_id(graph, (size_t)parent),
                       modeltree_graph_edge_distance(graph, i), modeltree_graph_edge_confidence(graph, i),
                       modeltree_graph_edge_unsure(graph, i) ? "\tunsure" : "");
            }
        }
        for (size_t k = 0; k < modeltree_graph_warning_count(graph); k++)
            printf("# warning: %s\n", modeltree_graph_warning(graph, k));
    }
    modeltree_graph_free(graph);    /* both are NULL-safe */
    modeltree_collection_free(uploads);
    return rc;
}
