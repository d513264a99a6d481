/*
 * modeltree.h — the C interface of libmodeltree.
 *
 * libmodeltree recovers the Model Graph of a collection of neural networks (which model was
 * fine-tuned from which) from their weights alone. This header is the library's only public
 * contract with C, C++ and every other language that loads libmodeltree.so; it is C99 and needs
 * nothing beyond <stdint.h>, <stddef.h> and <stdbool.h>.
 *
 * Typical use:
 *
 *     modeltree_collection_t *c = NULL;
 *     modeltree_graph_t *g = NULL;
 *     if (modeltree_collection_create(&c) != MODELTREE_OK) ...;
 *     if (modeltree_collection_add_path(c, NULL, "uploads/") != MODELTREE_OK)
 *         fprintf(stderr, "%s\n", modeltree_last_error_message());
 *     if (modeltree_recover(&g, c, NULL) == MODELTREE_OK)
 *         for (size_t i = 0; i < modeltree_graph_model_count(g); i++)
 *             printf("%s <- %lld\n", modeltree_graph_model_id(g, i),
 *                    (long long)modeltree_graph_parent(g, i));
 *     modeltree_graph_free(g);
 *     modeltree_collection_free(c);
 *
 * Conventions
 * -----------
 * - Every exported symbol starts with `modeltree_` (functions, `modeltree_<object>_<verb>`),
 *   `modeltree_..._t` (types) or `MODELTREE_` (macros). Nothing else is exported.
 * - A call that can fail returns a modeltree_status_t; MODELTREE_OK is 0. On failure it also
 *   records a message for the calling thread (modeltree_last_error_message) and sets every
 *   out-parameter it was given to NULL, so a cleanup path may free it unconditionally.
 * - Such calls write their results through out-parameters placed first, then take the handle,
 *   then the inputs. Accessors that cannot fail in correct use (modeltree_graph_*) take the
 *   handle first and return the value directly; their misuse result is documented per function.
 * - Handles are opaque. Each is created by a `_create` or producing call and released by its
 *   `_free`, which accepts NULL. Passing a handle that was already freed, or a pointer that is not
 *   a handle, is undefined behaviour (as for every C library); NULL is always detected.
 * - Ownership is written on every pointer parameter and result, in one vocabulary:
 *     "borrowed for the call"    the library reads it only during the call;
 *     "borrowed until X"         the library keeps the pointer and reads it until X happens;
 *     "copied"                   the library takes a copy during the call;
 *     "owned by X"               X releases it; the caller must not free it;
 *     "owned by the caller"      release it with the named modeltree_..._free function, never
 *                                with free() or delete (the allocators must not be mixed).
 * - Strings are NUL-terminated UTF-8. Strings that are not valid UTF-8 are rejected with
 *   MODELTREE_INVALID_ARGUMENT.
 * - No call ever aborts the host process because of bad arguments: NULL pointers, sizes that
 *   overflow or disagree, unknown enum values and out-of-range indices are reported as statuses.
 *   (Like most libraries, the process does stop if the system refuses a small allocation.)
 *
 * Threading
 * ---------
 * - The library has no global mutable state; it may be used from any number of threads at once.
 * - A collection is used by one thread at a time while it is modified (create, add_*, free).
 *   Once built, the same collection may be read by several concurrent modeltree_recover calls,
 *   provided no thread modifies or frees it meanwhile.
 * - A graph is immutable: every modeltree_graph_* accessor may be called from any number of
 *   threads at once, until one thread calls modeltree_graph_free.
 * - Error messages are per thread: modeltree_last_error_message describes the last failure on
 *   the calling thread only.
 * - The progress callback runs on the thread that called modeltree_recover, never on another.
 *
 * Versioning
 * ----------
 * The library's soname is libmodeltree.so.0. Within it the ABI only grows: functions are only
 * added; statuses, dtypes and other enum values are only appended; modeltree_options_t only
 * grows at its end, and its `struct_size` field tells the library which version of the struct a
 * caller was built with (every released size keeps working).
 *
 * The compatibility rule, the one every binding applies: a program built against this header
 * runs with a loaded library when the library's MAJOR equals the header's and the library's
 * version number is at least the header's (a newer minor or patch only adds). Check it with
 * modeltree_version_compatible(MODELTREE_VERSION_NUMBER) before anything else.
 */
#ifndef MODELTREE_H
#define MODELTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks a function exported by libmodeltree.so (default visibility on ELF and Mach-O). */
#if defined(__GNUC__) || defined(__clang__)
#  define MODELTREE_API __attribute__((visibility("default")))
#else
#  define MODELTREE_API
#endif

/* ============================================================================================
 * Version
 * ========================================================================================== */

/** Major version of this header (incompatible changes; also the soname's number). */
#define MODELTREE_VERSION_MAJOR 0
/** Minor version of this header (compatible additions). */
#define MODELTREE_VERSION_MINOR 4
/** Patch version of this header (fixes only). */
#define MODELTREE_VERSION_PATCH 0
/** The version as one number: MAJOR * 10000 + MINOR * 100 + PATCH (1.2.3 would be 10203). */
#define MODELTREE_VERSION_NUMBER \
    (MODELTREE_VERSION_MAJOR * 10000 + MODELTREE_VERSION_MINOR * 100 + MODELTREE_VERSION_PATCH)
/** Turns the argument into a string literal after macro expansion (for MODELTREE_VERSION_STRING). */
#define MODELTREE_STRINGIFY(x) MODELTREE_STRINGIFY_(x)
/** Helper of MODELTREE_STRINGIFY; not for direct use. */
#define MODELTREE_STRINGIFY_(x) #x
/** The version as a string literal, "MAJOR.MINOR.PATCH" (such as "1.2.3"). */
#define MODELTREE_VERSION_STRING \
    MODELTREE_STRINGIFY(MODELTREE_VERSION_MAJOR) "." \
    MODELTREE_STRINGIFY(MODELTREE_VERSION_MINOR) "." \
    MODELTREE_STRINGIFY(MODELTREE_VERSION_PATCH)

/**
 * The version of the loaded library as one number (see MODELTREE_VERSION_NUMBER).
 *
 * A binding compares it with MODELTREE_VERSION_NUMBER of the header it was built with.
 * Never fails; may be called before anything else.
 */
MODELTREE_API uint32_t modeltree_version_number(void);

/**
 * The version of the loaded library as "MAJOR.MINOR.PATCH".
 *
 * @return a static string, owned by the library, valid for the life of the process.
 */
MODELTREE_API const char *modeltree_version_string(void);

/**
 * Whether the loaded library serves a program built against the header of version
 * `header_version` (a MODELTREE_VERSION_NUMBER): the same MAJOR, and a library version number at
 * least as large (see "Versioning" above). Every binding calls it with the number of the header
 * it was built with, and refuses to run when it returns false.
 *
 * Never fails; may be called before anything else.
 * @since 0.2
 */
MODELTREE_API bool modeltree_version_compatible(uint32_t header_version);

/* ============================================================================================
 * Status codes and error messages
 * ========================================================================================== */

/** The result of every call that can fail. The values are pinned; new ones are only appended. */
typedef enum modeltree_status {
    /** Success. */
    MODELTREE_OK = 0,
    /** The caller passed something that can never work: a NULL pointer, a size that disagrees
     *  with a shape, an unknown enum value, a model added twice, an empty collection … */
    MODELTREE_INVALID_ARGUMENT = 1,
    /** The file system refused: a path that does not exist, a read that failed. */
    MODELTREE_IO = 2,
    /** A checkpoint or index file is malformed. */
    MODELTREE_FORMAT = 3,
    /** The models cannot be compared (for example, no tensor is shared by all of them). */
    MODELTREE_INCOMPATIBLE_MODELS = 4,
    /** An allocation the library needed was refused or would exceed a limit. */
    MODELTREE_OUT_OF_MEMORY = 5,
    /** The progress callback returned non-zero. */
    MODELTREE_CANCELLED = 6,
    /** A bug in the library: an internal invariant did not hold. Please report it. */
    MODELTREE_INTERNAL = 7
} modeltree_status_t;

/**
 * A short, static English description of a status ("ok", "invalid argument", …).
 *
 * @param status any value; values this library does not know give "unknown status".
 * @return a static string, owned by the library, valid for the life of the process; never NULL.
 */
MODELTREE_API const char *modeltree_status_string(modeltree_status_t status);

/**
 * The detail of the last failed call made on the calling thread, as one line of UTF-8.
 *
 * Successful calls leave it unchanged; a thread on which nothing has failed gets "".
 *
 * @return a string owned by the library and the calling thread, valid until the next failing
 *         modeltree_ call on the same thread or the thread's exit; never NULL. Copy it to keep it.
 */
MODELTREE_API const char *modeltree_last_error_message(void);

/* ============================================================================================
 * Element types, metrics, directions
 * ========================================================================================== */

/**
 * Element type of a tensor handed over in memory. Values are little-endian (the host order on
 * every platform the library supports). The values are pinned; 0 is never a valid dtype, so a
 * zero-initialised variable is caught.
 */
typedef enum modeltree_dtype {
    /** IEEE 754 binary32 (float). */
    MODELTREE_DTYPE_F32 = 1,
    /** IEEE 754 binary64 (double). */
    MODELTREE_DTYPE_F64 = 2,
    /** IEEE 754 binary16 (half). */
    MODELTREE_DTYPE_F16 = 3,
    /** bfloat16: the upper 16 bits of a binary32. */
    MODELTREE_DTYPE_BF16 = 4
} modeltree_dtype_t;

/** How the distance between two models is measured. The values are pinned. */
typedef enum modeltree_metric {
    /** Decide from the data: RANK when every model differs from its nearest neighbour by a
     *  low-rank update in every tensor (a LoRA family), else RMS. The default. */
    MODELTREE_METRIC_AUTO = 0,
    /** Mean over tensors of the RMS of the difference (Horwitz et al., ICLR 2025). */
    MODELTREE_METRIC_RMS = 1,
    /** Max over tensors of max|delta| / (max - min) of the pair's weights (the paper's first
     *  release). */
    MODELTREE_METRIC_MAX = 2,
    /** Sum over tensors of the numerical rank of the difference (LoRA families). */
    MODELTREE_METRIC_RANK = 3
} modeltree_metric_t;

/** Which way kurtosis moves from a parent to its child. The values are pinned. */
typedef enum modeltree_direction {
    /** Decide per tree from the data. The default. */
    MODELTREE_DIRECTION_AUTO = 0,
    /** Fine-tuning lowers kurtosis: the parent has the higher kurtosis. */
    MODELTREE_DIRECTION_FINETUNE = 1,
    /** Further general training raises kurtosis: the parent has the lower kurtosis. */
    MODELTREE_DIRECTION_GENERALIZATION = 2
} modeltree_direction_t;

/**
 * The relation an edge stands for. The values are pinned; new ones are only appended. This
 * version produces FINETUNE, QUANTIZED and (since 0.4) LAYER_SUBSET, with its layer map
 * (modeltree_graph_edge_layers); ADAPTER and MERGE are named by typed truth files
 * (modeltree_score_type_recall) and produced by later versions. Value-identical
 * models are not an edge but a group (modeltree_graph_duplicate_of).
 * @since 0.2
 */
typedef enum modeltree_edge_type {
    /** A full fine-tune, a merged LoRA adapter, or continued pre-training. */
    MODELTREE_EDGE_FINETUNE = 0,
    /** An un-merged PEFT adapter folder, the child of the base it loads onto. @since 0.3 */
    MODELTREE_EDGE_ADAPTER = 1,
    /** A lower-precision copy: GGUF of any type, an int8 export, a BF16/F16 cast. @since 0.3 */
    MODELTREE_EDGE_QUANTIZED = 2,
    /** One of several parents of a merged model. @since 0.3 */
    MODELTREE_EDGE_MERGE = 3,
    /** A smaller model initialised from some of the parent's layers. @since 0.3 */
    MODELTREE_EDGE_LAYER_SUBSET = 4
} modeltree_edge_type_t;

/**
 * A text form of a graph (modeltree_graph_render). The values are pinned; new ones (SVG, HTML)
 * are only appended.
 * @since 0.2
 */
typedef enum modeltree_format {
    /** The JSON document of `modeltree-cli recover --format json`. */
    MODELTREE_FORMAT_JSON = 0,
    /** The trees drawn for people, as `modeltree-cli recover` prints them. */
    MODELTREE_FORMAT_TEXT = 1,
    /** A Graphviz digraph, as `modeltree-cli recover --format dot` prints it. */
    MODELTREE_FORMAT_DOT = 2,
    /**
     * A self-contained SVG picture (no script, font or external reference): one box per model
     * with its id and kurtosis, roots marked, one family per tree, edges labelled with distance
     * and confidence, styled by type, unsure ones dashed, a legend; with a score, its line.
     * @since 0.2
     */
    MODELTREE_FORMAT_SVG = 3,
    /**
     * A self-contained HTML page of the same picture with pan, zoom, a search box for a model id
     * and the evidence of what is clicked (runner-up parent, direction votes, LoRA rank), the
     * warnings and the score. Nothing is fetched: a Content-Security-Policy forbids it.
     * @since 0.2
     */
    MODELTREE_FORMAT_HTML = 4
} modeltree_format_t;

/* ============================================================================================
 * Collections of models
 * ========================================================================================== */

/** An opaque, mutable set of models to recover the graph of. */
typedef struct modeltree_collection modeltree_collection_t;

/** The largest number of dimensions modeltree_collection_add_tensor accepts. */
#define MODELTREE_MAX_NDIM 64

/**
 * Creates an empty collection.
 *
 * @param out receives the new collection, owned by the caller (free it with
 *            modeltree_collection_free); set to NULL on failure. Must not be NULL.
 * @return MODELTREE_OK, MODELTREE_INVALID_ARGUMENT (out is NULL) or MODELTREE_OUT_OF_MEMORY.
 */
MODELTREE_API modeltree_status_t modeltree_collection_create(modeltree_collection_t **out);

/**
 * Frees a collection, its hold on its files, and its hold on memory lent by add_tensor (that
 * memory may be released by the caller once this returns). Graphs recovered from the collection
 * stay valid. NULL is ignored.
 *
 * @param c the collection, owned by the caller; invalid after the call.
 */
MODELTREE_API void modeltree_collection_free(modeltree_collection_t *c);

/**
 * Adds models stored on disk, reading and validating their headers now, so that
 * unreadable or malformed files fail here rather than in modeltree_recover. Tensors are read
 * later, by modeltree_recover, with pread(2): no file is memory-mapped and none is kept open, so
 * a file truncated meanwhile is an error, never a SIGBUS in the host process.
 *
 * Formats: safetensors; GGUF (dequantized block by block,
 * tensors under their Hugging Face names with Llama q/k rows un-permuted); torch.save checkpoints
 * (`.bin`, `.pt`, `.pth`, read without running their pickle: any global but torch's tensor
 * rebuilders is refused); ONNX initializers (int8 weights dequantized as the graph says; names
 * matched to the other models' by name or content at modeltree_recover); PEFT LoRA adapter
 * folders (`adapter_config.json` + `adapter_model.safetensors`/`.bin`: the updates B·A·scale
 * under the base's tensor names).
 *
 * With model_id == NULL, path is expanded, as by `modeltree-cli recover PATH`:
 * - a `.safetensors` file is one model, its id the file name without `.safetensors`;
 * - a `.gguf`, `.bin`, `.pt`, `.pth` or `.onnx` file is one model, its id the whole file name;
 * - a `*.safetensors.index.json` or `*.bin.index.json` file is the sharded model of its folder,
 *   its id the folder's name;
 * - a folder holding weights (a PEFT adapter; `model.safetensors`, a `*.safetensors.index.json`
 *   naming shards, or a single loose `*.safetensors` file; `pytorch_model.bin`,
 *   `pytorch_model.bin.index.json`, `model.onnx`) is one model, its id the folder's name;
 * - any other folder — a folder of uploads — adds each model directly inside it (sub-folders
 *   holding weights, and loose model files), sorted by name; hidden entries are skipped.
 * A folder that holds weights and also models in sub-folders is MODELTREE_INVALID_ARGUMENT: it
 * reads as one model or as a folder of models, and either reading would leave models out; the
 * message says what to pass instead.
 * With a model_id, path must be exactly one model (a folder of models is rejected with
 * MODELTREE_INVALID_ARGUMENT) and the model is known by that id; a model folder's sub-folders
 * are then not looked at.
 *
 * The call is atomic: if any model fails to load or any id is already in the collection
 * (MODELTREE_INVALID_ARGUMENT), nothing is added.
 *
 * @param c        the collection; must not be NULL.
 * @param model_id the id to give the model, or NULL to take it from the path; copied.
 * @param path     a file or folder; copied. The files must stay as they are until the last
 *                 modeltree_recover on the collection: one removed, replaced, truncated, extended
 *                 or rewritten since this call makes modeltree_recover fail with MODELTREE_IO.
 * @return MODELTREE_OK, MODELTREE_INVALID_ARGUMENT, MODELTREE_IO, MODELTREE_FORMAT or
 *         MODELTREE_OUT_OF_MEMORY.
 */
MODELTREE_API modeltree_status_t modeltree_collection_add_path(modeltree_collection_t *c,
                                                               const char *model_id,
                                                               const char *path);

/**
 * Adds one tensor held in the caller's memory to the model `model_id`, creating that model on
 * its first tensor. Call it once per tensor of a state dict; a model's tensors may be added in
 * any order, interleaved with other models'.
 *
 * The data is NOT copied: a training pipeline can hand over its weights without doubling its
 * memory. The bytes must stay valid and unchanged until the collection is freed; the library
 * reads them only inside modeltree_recover.
 *
 * The `data_size` argument is the length of `data` in bytes. It lets the library reject a shape
 * that disagrees with the buffer (a transposed or truncated tensor, a wrong dtype) instead of
 * reading past the caller's buffer. It must equal product(shape) * element size.
 *
 * @param c           the collection; must not be NULL.
 * @param model_id    the model's id, non-empty; copied. It must not name a model added by
 *                    modeltree_collection_add_path (MODELTREE_INVALID_ARGUMENT).
 * @param tensor_name the tensor's name (as in a state dict, e.g. "blocks.0.attn.qkv.weight"),
 *                    non-empty, not yet used in this model (else MODELTREE_INVALID_ARGUMENT);
 *                    copied.
 * @param dtype       one of the modeltree_dtype_t values.
 * @param shape       ndim sizes, each >= 0, row-major (C-contiguous, the last dimension varies
 *                    fastest); borrowed for the call (copied). May be NULL when ndim is 0.
 * @param ndim        number of dimensions, 0 (a scalar) to MODELTREE_MAX_NDIM.
 * @param data        the elements, little-endian, any alignment; borrowed until the collection is
 *                    freed, and must not change meanwhile. May be NULL only when data_size is 0.
 * @param data_size   the length of data in bytes.
 * @return MODELTREE_OK, MODELTREE_INVALID_ARGUMENT (NULL pointer, unknown dtype, negative or
 *         overflowing shape, data_size mismatch, duplicate tensor, id of a model from a path) or
 *         MODELTREE_OUT_OF_MEMORY. On failure nothing is added.
 */
MODELTREE_API modeltree_status_t modeltree_collection_add_tensor(modeltree_collection_t *c,
                                                                 const char *model_id,
                                                                 const char *tensor_name,
                                                                 modeltree_dtype_t dtype,
                                                                 const int64_t *shape,
                                                                 size_t ndim,
                                                                 const void *data,
                                                                 size_t data_size);

/**
 * The number of models in a collection (from paths and from memory).
 *
 * @param c the collection, borrowed for the call.
 * @return the count; 0 if c is NULL.
 */
MODELTREE_API size_t modeltree_collection_model_count(const modeltree_collection_t *c);

/* ============================================================================================
 * Options
 * ========================================================================================== */

/**
 * Reports progress during modeltree_recover and lets the caller cancel it.
 *
 * Called on the thread that called modeltree_recover, a few times per stage, with fractions
 * that never decrease. It must not free the collection being recovered, and must not unwind
 * through the library (no longjmp, no C++ exception): catch inside, return non-zero.
 *
 * @param fraction  the share of the work done, in [0, 1].
 * @param stage     a short English name of the current stage ("reading weights", "building
 *                  trees", …; not part of the contract); borrowed for the call.
 * @param user_data the options' user_data, passed through untouched.
 * @return 0 to continue; any other value cancels: modeltree_recover returns MODELTREE_CANCELLED.
 */
typedef int32_t (*modeltree_progress_fn)(double fraction, const char *stage, void *user_data);

/**
 * Options of one recovery. Fill it with modeltree_options_init, then change the fields you
 * need. The struct only grows at its end; `struct_size` tells the library which fields exist.
 */
typedef struct modeltree_options {
    /** sizeof(modeltree_options_t) as the caller compiled it; set by modeltree_options_init. */
    size_t struct_size;
    /** The distance between models. Default MODELTREE_METRIC_AUTO. */
    modeltree_metric_t metric;
    /** Which way kurtosis moves from parent to child. Default MODELTREE_DIRECTION_AUTO. */
    modeltree_direction_t direction;
    /** Weight lambda of the kurtosis penalty in M = D + lambda * mean(D) * K; finite and >= 0.
     *  Default 0.3 (Horwitz et al.). */
    double lambda;
    /** Number of trees (families) to find; 0 finds it from the data. Default 0. */
    uint32_t trees;
    /** Glob patterns (fnmatch: `*`, `?`, `[...]`) on tensor names. When include_count > 0 only
     *  matching tensors are used (any rank >= 2); otherwise the default selection applies.
     *  An array of include_count strings, borrowed for the modeltree_recover call. */
    const char *const *include;
    /** Number of strings in include; include may be NULL when this is 0. */
    size_t include_count;
    /** Glob patterns of tensors never used; borrowed for the modeltree_recover call. */
    const char *const *exclude;
    /** Number of strings in exclude; exclude may be NULL when this is 0. */
    size_t exclude_count;
    /** Called with progress on the calling thread; NULL for none. Default NULL. */
    modeltree_progress_fn progress;
    /** Passed to progress untouched; borrowed (never dereferenced by the library). */
    void *user_data;

    /* ---- since 0.2 (a 0.1 struct ends here, and still works: these then take their defaults) */

    /** Worker threads of this recovery; 0 for one per online processor. At most 64 are used;
     *  results do not depend on it. (The library reads no environment variable.) Default 0. */
    uint32_t threads;
    /** The most models one recovery accepts (more is MODELTREE_OUT_OF_MEMORY); 0 for no limit.
     *  Default 0. */
    uint32_t max_models;
    /** The working memory a recovery may plan for, in bytes: its buffers, pairwise matrices and
     *  sketches, not the weights (read in pieces). Estimated before any weight is read; threads
     *  are dropped until the estimate fits, and a recovery that does not fit on one thread is
     *  MODELTREE_OUT_OF_MEMORY. 0 for no budget. Default 0. */
    uint64_t memory_budget;
} modeltree_options_t;

/**
 * Sets every field of *opts to its default and struct_size to sizeof(modeltree_options_t).
 * The defaults live in the library: a binding starts from this and changes only what its caller
 * set, so that it never restates one.
 *
 * @param opts the struct to fill, borrowed for the call; NULL is ignored.
 */
MODELTREE_API void modeltree_options_init(modeltree_options_t *opts);

/* ============================================================================================
 * Recovery
 * ========================================================================================== */

/** An opaque, immutable Model Graph: a forest over the models of a collection. */
typedef struct modeltree_graph modeltree_graph_t;

/**
 * Recovers the Model Graph of the models in a collection from their weights.
 *
 * Pairwise distances over the tensors all models share, kurtosis for the direction of each edge,
 * a minimum spanning arborescence per tree (Chu-Liu/Edmonds). Takes time proportional to the
 * number of model pairs times the size of the shared tensors; memory stays near n times the
 * largest tensor.
 *
 * @param out  receives the graph, owned by the caller (free it with modeltree_graph_free); set to
 *             NULL on failure. Must not be NULL.
 * @param c    the collection, borrowed for the call; must hold at least one model.
 * @param opts options, borrowed for the call, or NULL for the defaults. opts->struct_size must be
 *             the size of a released version of modeltree_options_t: that of 0.1 (the struct up
 *             to user_data) or sizeof(modeltree_options_t); anything else is
 *             MODELTREE_INVALID_ARGUMENT. An option's message names it as the struct spells it
 *             ("lambda must be a finite number ≥ 0, got -1").
 * @return MODELTREE_OK, MODELTREE_INVALID_ARGUMENT (NULL pointer, empty collection, bad option),
 *         MODELTREE_INCOMPATIBLE_MODELS, MODELTREE_CANCELLED, MODELTREE_OUT_OF_MEMORY (more
 *         models than max_models, or more memory than memory_budget),
 *         MODELTREE_IO (a model's file can no longer be read, or changed since it was added),
 *         MODELTREE_FORMAT or MODELTREE_INTERNAL.
 */
MODELTREE_API modeltree_status_t modeltree_recover(modeltree_graph_t **out,
                                                   const modeltree_collection_t *c,
                                                   const modeltree_options_t *opts);

/**
 * Frees a graph and every string its accessors returned. NULL is ignored.
 *
 * @param g the graph, owned by the caller; invalid after the call.
 */
MODELTREE_API void modeltree_graph_free(modeltree_graph_t *g);

/* ============================================================================================
 * Reading a graph
 *
 * Models are numbered 0 .. model_count - 1; trees 0 .. tree_count - 1, ordered by their
 * smallest member. Strings returned are owned by the graph and valid until modeltree_graph_free.
 * These accessors do not touch the thread's last error message.
 * ========================================================================================== */

/** Returned by index-valued accessors for a NULL graph or an index out of range. */
#define MODELTREE_INDEX_INVALID ((int64_t)-2)
/** Returned by modeltree_graph_parent for a root (a model with no parent in the collection). */
#define MODELTREE_NO_PARENT ((int64_t)-1)

/**
 * The number of models in the graph. Since 0.4 this counts latent nodes too (parents that are
 * not in the collection, modeltree_graph_model_latent): they come after the collection's models.
 * @param g the graph, borrowed for the call.
 * @return the count; 0 if g is NULL.
 */
MODELTREE_API size_t modeltree_graph_model_count(const modeltree_graph_t *g);

/**
 * The id of model i.
 * @param g the graph, borrowed for the call.
 * @param i a model index.
 * @return a string owned by the graph; NULL if g is NULL or i is out of range.
 */
MODELTREE_API const char *modeltree_graph_model_id(const modeltree_graph_t *g, size_t i);

/**
 * The index of the model whose id is model_id.
 * @param g        the graph, borrowed for the call.
 * @param model_id the id to look for, borrowed for the call.
 * @return the index; -1 if no model has that id; MODELTREE_INDEX_INVALID if g or model_id is NULL.
 */
MODELTREE_API int64_t modeltree_graph_find(const modeltree_graph_t *g, const char *model_id);

/**
 * The path model i was read from.
 * @param g the graph, borrowed for the call.
 * @param i a model index.
 * @return a string owned by the graph; NULL for a model added from memory, for a NULL graph or
 *         for an index out of range.
 */
MODELTREE_API const char *modeltree_graph_model_path(const modeltree_graph_t *g, size_t i);

/**
 * The mean excess (Fisher) kurtosis of model i over the tensors used.
 * @param g the graph, borrowed for the call.
 * @param i a model index.
 * @return the kurtosis; NaN for a NULL graph or an index out of range.
 */
MODELTREE_API double modeltree_graph_model_kurtosis(const modeltree_graph_t *g, size_t i);

/**
 * The parent of model i.
 * @param g the graph, borrowed for the call.
 * @param i a model index.
 * @return the parent's index; MODELTREE_NO_PARENT (-1) for a root; MODELTREE_INDEX_INVALID (-2)
 *         for a NULL graph or an index out of range.
 */
MODELTREE_API int64_t modeltree_graph_parent(const modeltree_graph_t *g, size_t i);

/**
 * The group of value-identical models model i belongs to, by its stand-in: every compared
 * tensor of model i equals the stand-in's, element by element. The stand-in is the group's
 * member first given to the collection; it holds the group's place in the tree, and the other
 * members are its children by an edge that is not a relation (distance 0, confidence 0, unsure):
 * nothing in the weights tells which copy came first.
 * @param g the graph, borrowed for the call.
 * @param i a model index.
 * @return the stand-in's index (i itself for the stand-in); MODELTREE_NO_PARENT (-1) for a model
 *         without a copy; MODELTREE_INDEX_INVALID (-2) for a NULL graph or an index out of range.
 * @since 0.3
 */
MODELTREE_API int64_t modeltree_graph_duplicate_of(const modeltree_graph_t *g, size_t i);

/**
 * Whether node i is a latent parent: not a model of the collection, but the parent its children
 * share, inferred from their weights (they meet at a point none of them is). Latent nodes come
 * after the collection's models, with ids "latent-1", "latent-2" ... (skipping ids models use),
 * no path (NULL), NaN kurtosis and edges of type FINETUNE to their children; a latent node is the
 * root of its family, or the child of its own inferred parent.
 * @param g the graph, borrowed for the call.
 * @param i a node index.
 * @return true for a latent node; false for a model of the collection, a NULL graph or an index
 *         out of range.
 * @since 0.4
 */
MODELTREE_API bool modeltree_graph_model_latent(const modeltree_graph_t *g, size_t i);

/**
 * The number of layer pairs of the layer map of the edge into model i (its primary edge): for a
 * LAYER_SUBSET edge, the child's layers, each initialised from one layer of the parent.
 * @param g the graph, borrowed for the call.
 * @param i a model index (the child of the edge).
 * @return the number of (child layer, parent layer) pairs; 0 for an edge of another type, a root,
 *         a NULL graph or an index out of range.
 * @since 0.4
 */
MODELTREE_API size_t modeltree_graph_edge_layer_count(const modeltree_graph_t *g, size_t i);

/**
 * The layer map of the edge into model i (its primary edge), as (child layer, parent layer)
 * pairs flattened: out[2k] is a child layer's index, out[2k + 1] the parent layer it came from.
 * @param g the graph, borrowed for the call.
 * @param i a model index (the child of the edge).
 * @param out where to write up to capacity pairs (2 * capacity values); may be NULL when
 *        capacity is 0.
 * @param capacity the number of pairs out can hold.
 * @return the number of pairs of the map (as modeltree_graph_edge_layer_count), even when more
 *         than capacity: call with capacity 0 to learn the size. 0 for a NULL graph, an index out
 *         of range, or an edge without a map.
 * @since 0.4
 */
MODELTREE_API size_t modeltree_graph_edge_layers(const modeltree_graph_t *g, size_t i, int64_t *out, size_t capacity);

/**
 * The distance, in the metric used (modeltree_graph_metric), between model i and its parent.
 * @param g the graph, borrowed for the call.
 * @param i a model index.
 * @return the distance (>= 0); NaN for a root, a NULL graph or an index out of range.
 */
MODELTREE_API double modeltree_graph_edge_distance(const modeltree_graph_t *g, size_t i);

/**
 * The confidence, in [0, 1], of the edge from model i's parent to model i: calibrated, the share
 * of the edges of its relation family and raw confidence that were right on the example zoos
 * the library was measured on (tools/calibrate.py; the JSON keeps the raw value).
 * @param g the graph, borrowed for the call.
 * @param i a model index.
 * @return the confidence; NaN for a root, a NULL graph or an index out of range.
 */
MODELTREE_API double modeltree_graph_edge_confidence(const modeltree_graph_t *g, size_t i);

/**
 * Whether the edge into model i has too low a confidence to be trusted (a hub may want a human
 * to look at it).
 * @param g the graph, borrowed for the call.
 * @param i a model index.
 * @return true for an unsure edge; false for a sure edge, a root, a NULL graph or an index out
 *         of range.
 */
MODELTREE_API bool modeltree_graph_edge_unsure(const modeltree_graph_t *g, size_t i);

/**
 * The pairwise distance matrix, row-major n x n (n = model_count; symmetric, zero diagonal), in
 * the metric used. Models of different architectures (sharing too few tensors) are never
 * compared and are at +infinity from one another; they always fall in different trees.
 *
 * Call with out = NULL to learn the size, allocate, call again. Writes only when capacity is
 * large enough, all or nothing.
 *
 * @param g        the graph, borrowed for the call.
 * @param out      an array of capacity doubles, borrowed for the call; may be NULL.
 * @param capacity the number of doubles out can hold.
 * @return the number of doubles the matrix has (n * n), whether or not it was written; 0 if g is
 *         NULL.
 */
MODELTREE_API size_t modeltree_graph_distances(const modeltree_graph_t *g, double *out,
                                               size_t capacity);

/*
 * Bulk accessors: one value per model, in one call, with the pattern of modeltree_graph_distances
 * (call with out = NULL to learn the count; writes only when capacity >= the count, all or
 * nothing; returns the model count whether or not it wrote, 0 for a NULL graph). Each gives what
 * the per-model accessor of the same name gives for every i, the edge being model i's primary
 * edge: this version gives every model one parent at most.
 */

/** modeltree_graph_parent of every model (MODELTREE_NO_PARENT for a root). @since 0.2 */
MODELTREE_API size_t modeltree_graph_parents(const modeltree_graph_t *g, int64_t *out, size_t capacity);
/** modeltree_graph_edge_distance of every model (NaN for a root). @since 0.2 */
MODELTREE_API size_t modeltree_graph_edge_distances(const modeltree_graph_t *g, double *out, size_t capacity);
/** modeltree_graph_edge_confidence of every model (NaN for a root). @since 0.2 */
MODELTREE_API size_t modeltree_graph_edge_confidences(const modeltree_graph_t *g, double *out, size_t capacity);
/** modeltree_graph_edge_unsure of every model (false for a root). @since 0.2 */
MODELTREE_API size_t modeltree_graph_edges_unsure(const modeltree_graph_t *g, bool *out, size_t capacity);
/** The type of the edge into every model (MODELTREE_EDGE_FINETUNE for a root, which has none:
 *  read modeltree_graph_parents to tell). @since 0.2 */
MODELTREE_API size_t modeltree_graph_edge_types(const modeltree_graph_t *g, modeltree_edge_type_t *out,
                                                size_t capacity);
/** modeltree_graph_tree_of of every model. @since 0.2 */
MODELTREE_API size_t modeltree_graph_model_trees(const modeltree_graph_t *g, int64_t *out, size_t capacity);

/*
 * Edges one by one: every relation of the graph, e in [0, modeltree_graph_edge_count), grouped
 * by child in ascending order, a child's primary edge first (the one modeltree_graph_parent
 * gives). A merge has one edge per parent (MODELTREE_EDGE_MERGE, each with its coefficient, the
 * largest first); the edges that only hang a duplicate from its group's stand-in are not
 * relations and are not listed (modeltree_graph_duplicate_of). The per-model accessors above
 * keep meaning "the primary edge into model i". Each accessor returns its "none" value for a
 * NULL graph or an edge index out of range: MODELTREE_INDEX_INVALID, NaN, false, or
 * MODELTREE_EDGE_FINETUNE.
 */

/** The number of edges (relations); 0 for a NULL graph. @since 0.4 */
MODELTREE_API size_t modeltree_graph_edge_count(const modeltree_graph_t *g);
/** The parent (a model index) of edge e. @since 0.4 */
MODELTREE_API int64_t modeltree_graph_edge_parent(const modeltree_graph_t *g, size_t e);
/** The child (a model index) of edge e. @since 0.4 */
MODELTREE_API int64_t modeltree_graph_edge_child(const modeltree_graph_t *g, size_t e);
/** The type of edge e. @since 0.4 */
MODELTREE_API modeltree_edge_type_t modeltree_graph_edge_type(const modeltree_graph_t *g, size_t e);
/** The distance of edge e, in the metric used. @since 0.4 */
MODELTREE_API double modeltree_graph_edge_distance_at(const modeltree_graph_t *g, size_t e);
/** The confidence, in [0, 1], of edge e. @since 0.4 */
MODELTREE_API double modeltree_graph_edge_confidence_at(const modeltree_graph_t *g, size_t e);
/**
 * The raw confidence, in [0, 1], of edge e: the recovery's own measure before calibration (the
 * JSON's `raw_confidence`), from which modeltree_graph_edge_confidence_at's calibrated value is
 * read off its relation family's table (tools/calibrate.py). For callers that recalibrate on
 * their own collections; the calibrated value is the one that means what it says. @since 0.4
 */
MODELTREE_API double modeltree_graph_edge_raw_confidence(const modeltree_graph_t *g, size_t e);
/** Whether edge e is unsure. @since 0.4 */
MODELTREE_API bool modeltree_graph_edge_unsure_at(const modeltree_graph_t *g, size_t e);
/**
 * A merge edge's fitted coefficient of its parent (a merge's coefficients sum to 1); NaN for
 * every other type of edge. @since 0.4
 */
MODELTREE_API double modeltree_graph_edge_coefficient(const modeltree_graph_t *g, size_t e);
/**
 * For a merge edge: the RMS residual of the fitted combination over the child's distance to its
 * nearest model (the same for each of the child's merge edges; merges are accepted below 0.25);
 * NaN for every other type of edge. @since 0.4
 */
MODELTREE_API double modeltree_graph_edge_residual_ratio(const modeltree_graph_t *g, size_t e);

/**
 * The confidence below which the recovery judged an edge unsure, measured with the calibration
 * (an edge is also unsure in a tree whose direction could not be told, or when the weights cannot
 * tell its parent from another candidate).
 * @param g the graph, borrowed for the call.
 * @return the threshold in [0, 1]; NaN if g is NULL.
 * @since 0.2
 */
MODELTREE_API double modeltree_graph_unsure_threshold(const modeltree_graph_t *g);

/**
 * The metric the distances were measured in (never MODELTREE_METRIC_AUTO for a valid graph).
 * When models of different architectures were recovered apart and their groups chose different
 * metrics, this is the first group's and a warning says so.
 * @param g the graph, borrowed for the call.
 * @return the metric; MODELTREE_METRIC_AUTO if g is NULL.
 */
MODELTREE_API modeltree_metric_t modeltree_graph_metric(const modeltree_graph_t *g);

/**
 * The number of trees (model families) in the graph, one root each.
 * @param g the graph, borrowed for the call.
 * @return the count; 0 if g is NULL.
 */
MODELTREE_API size_t modeltree_graph_tree_count(const modeltree_graph_t *g);

/**
 * The root of tree t.
 * @param g the graph, borrowed for the call.
 * @param t a tree index.
 * @return a model index; MODELTREE_INDEX_INVALID for a NULL graph or t out of range.
 */
MODELTREE_API int64_t modeltree_graph_tree_root(const modeltree_graph_t *g, size_t t);

/**
 * The tree model i belongs to.
 * @param g the graph, borrowed for the call.
 * @param i a model index.
 * @return a tree index; MODELTREE_INDEX_INVALID for a NULL graph or i out of range.
 */
MODELTREE_API int64_t modeltree_graph_tree_of(const modeltree_graph_t *g, size_t i);

/**
 * The direction used in tree t (never MODELTREE_DIRECTION_AUTO for a valid tree).
 * @param g the graph, borrowed for the call.
 * @param t a tree index.
 * @return the direction; MODELTREE_DIRECTION_AUTO for a NULL graph or t out of range.
 */
MODELTREE_API modeltree_direction_t modeltree_graph_tree_direction(const modeltree_graph_t *g,
                                                                   size_t t);

/**
 * Whether the automatic direction of tree t was a guess (the data could not tell).
 * @param g the graph, borrowed for the call.
 * @param t a tree index.
 * @return true for a guessed direction; false otherwise, for a NULL graph or t out of range.
 */
MODELTREE_API bool modeltree_graph_tree_direction_unsure(const modeltree_graph_t *g, size_t t);

/**
 * The number of tensors the distances were computed over.
 * @param g the graph, borrowed for the call.
 * @return the count; 0 if g is NULL.
 */
MODELTREE_API size_t modeltree_graph_tensor_count(const modeltree_graph_t *g);

/**
 * The name of tensor k of those used.
 * @param g the graph, borrowed for the call.
 * @param k a tensor index.
 * @return a string owned by the graph; NULL for a NULL graph or k out of range.
 */
MODELTREE_API const char *modeltree_graph_tensor_name(const modeltree_graph_t *g, size_t k);

/**
 * The number of warnings the recovery left (skipped tensors, duplicates, unsure decisions).
 * @param g the graph, borrowed for the call.
 * @return the count; 0 if g is NULL.
 */
MODELTREE_API size_t modeltree_graph_warning_count(const modeltree_graph_t *g);

/**
 * Warning k, one line of English.
 * @param g the graph, borrowed for the call.
 * @param k a warning index.
 * @return a string owned by the graph; NULL for a NULL graph or k out of range.
 */
MODELTREE_API const char *modeltree_graph_warning(const modeltree_graph_t *g, size_t k);

/* ============================================================================================
 * The audit: what the models' files claim they were made from, judged by the weights
 *
 * For each model read from a path, every claim of its files — README.md front matter
 * `base_model:` (and `base_model_relation:`), config.json `_name_or_path`, adapter_config.json
 * `base_model_name_or_path`, GGUF `general.base_model.{i}.repo_url` (or `.name`) — is resolved to
 * a model of the collection (the claim's path, else its last path component against the ids and
 * the paths' last components, exact first, then ignoring ASCII case) and judged against the
 * recovered edges. Claims never place an edge. Claims are numbered 0 .. count-1, in model order.
 * These accessors do not touch the thread's last error message.
 * ========================================================================================== */

/** The verdict on one claim. The values are pinned; new ones are only appended. @since 0.4 */
typedef enum modeltree_verdict {
    /** Returned for a NULL graph or a claim index out of range. */
    MODELTREE_VERDICT_NONE = -1,
    /** The claimed model (or an identical copy of it) is a recovered parent, by any edge type. */
    MODELTREE_VERDICT_AGREES = 0,
    /** The claimed model is in the collection and is not a recovered parent. */
    MODELTREE_VERDICT_CONTRADICTS = 1,
    /** The claim names no model of the collection, or several (the evidence lists them). */
    MODELTREE_VERDICT_UNSUPPORTED = 2
} modeltree_verdict_t;

/**
 * The number of claims the models' files make.
 * @param g the graph, borrowed for the call.
 * @return the count; 0 if g is NULL (and for models added from memory, whose files are unknown).
 * @since 0.4
 */
MODELTREE_API size_t modeltree_graph_audit_count(const modeltree_graph_t *g);

/**
 * The model whose files make claim k.
 * @return a model index; MODELTREE_INDEX_INVALID for a NULL graph or k out of range.
 * @since 0.4
 */
MODELTREE_API int64_t modeltree_graph_audit_model(const modeltree_graph_t *g, size_t k);

/**
 * Where claim k was read: "readme", "config", "adapter_config" or "gguf".
 * @return a string owned by the graph; NULL for a NULL graph or k out of range.
 * @since 0.4
 */
MODELTREE_API const char *modeltree_graph_audit_source(const modeltree_graph_t *g, size_t k);

/**
 * What claim k names, as written in the file (a hub id, a URL, a path or a name).
 * @return a string owned by the graph; NULL for a NULL graph or k out of range.
 * @since 0.4
 */
MODELTREE_API const char *modeltree_graph_audit_claimed(const modeltree_graph_t *g, size_t k);

/**
 * The card's `base_model_relation:` that came with claim k.
 * @return a string owned by the graph; NULL when the card gave none, for a NULL graph or k out
 *         of range.
 * @since 0.4
 */
MODELTREE_API const char *modeltree_graph_audit_relation(const modeltree_graph_t *g, size_t k);

/**
 * The verdict on claim k.
 * @return the verdict; MODELTREE_VERDICT_NONE for a NULL graph or k out of range.
 * @since 0.4
 */
MODELTREE_API modeltree_verdict_t modeltree_graph_audit_verdict(const modeltree_graph_t *g, size_t k);

/**
 * The recovered parent the verdict on claim k rests on: the claimed model's place when the claim
 * agrees, else the model's primary parent, which the weights point to instead.
 * @return a model index; MODELTREE_NO_PARENT (-1) when the weights make the model a root;
 *         MODELTREE_INDEX_INVALID (-2) for a NULL graph or k out of range.
 * @since 0.4
 */
MODELTREE_API int64_t modeltree_graph_audit_recovered(const modeltree_graph_t *g, size_t k);

/**
 * The evidence of the verdict on claim k, one line of English: the edge (type, distance,
 * confidence) and where the claimed model sits (its grandparent, its child, its sibling …).
 * @return a string owned by the graph; NULL for a NULL graph or k out of range.
 * @since 0.4
 */
MODELTREE_API const char *modeltree_graph_audit_evidence(const modeltree_graph_t *g, size_t k);

/**
 * The confidence of the edge the verdict on claim k rests on: an unsure edge still gives a
 * verdict, and this says how much it weighs.
 * @return the confidence in [0, 1]; NaN when there is no such edge (a root), for a NULL graph or
 *         k out of range.
 * @since 0.4
 */
MODELTREE_API double modeltree_graph_audit_confidence(const modeltree_graph_t *g, size_t k);

/**
 * Whether model i was read from a path whose files claim nothing about its origin.
 * @return true if so; false for a model with claims, a model added from memory, a NULL graph or
 *         i out of range.
 * @since 0.4
 */
MODELTREE_API bool modeltree_graph_model_unclaimed(const modeltree_graph_t *g, size_t i);

/**
 * The graph as a JSON document, byte for byte the output of `modeltree-cli recover --format json`
 * for the same models and options.
 *
 * @param out receives a NUL-terminated UTF-8 string, owned by the caller (free it with
 *            modeltree_string_free); set to NULL on failure. Must not be NULL.
 * @param g   the graph, borrowed for the call; must not be NULL.
 * @return MODELTREE_OK, MODELTREE_INVALID_ARGUMENT or MODELTREE_OUT_OF_MEMORY.
 */
MODELTREE_API modeltree_status_t modeltree_graph_to_json(char **out, const modeltree_graph_t *g);

/* ============================================================================================
 * Scores against a known graph
 *
 * A truth lists true edges parent -> child and, optionally, roots (needed only for models that
 * have no edge: trees of one). A recovered edge is correct when the recovered parent of a true
 * child is its true parent (direction included, as in Horwitz et al.). The file form is
 * {"edges": [["parent", "child"], ...], "roots": ["id", ...]}.
 * ========================================================================================== */

/** An opaque, immutable score of a graph against a truth. @since 0.2 */
typedef struct modeltree_score modeltree_score_t;

/**
 * Scores a graph against a truth file.
 *
 * @param out  receives the score, owned by the caller (free it with modeltree_score_free); set
 *             to NULL on failure. Must not be NULL.
 * @param g    the graph, borrowed for the call; must not be NULL.
 * @param path the truth file, borrowed for the call.
 * @return MODELTREE_OK; MODELTREE_IO when the file cannot be read (the message says why);
 *         MODELTREE_FORMAT when it is not valid JSON or not a truth (the message names the file);
 *         MODELTREE_INVALID_ARGUMENT for NULL pointers, or a truth that names ids the graph does
 *         not have or whose edges are not a forest; MODELTREE_OUT_OF_MEMORY.
 * @since 0.2
 */
MODELTREE_API modeltree_status_t modeltree_graph_evaluate_file(modeltree_score_t **out,
                                                              const modeltree_graph_t *g,
                                                              const char *path);

/**
 * Scores a graph against a truth given as a JSON document (the file's form, in memory; what a
 * binding passes for a dictionary).
 *
 * @param out      as modeltree_graph_evaluate_file.
 * @param g        the graph, borrowed for the call; must not be NULL.
 * @param document the truth as NUL-terminated UTF-8 JSON, borrowed for the call.
 * @return MODELTREE_OK; MODELTREE_INVALID_ARGUMENT for NULL pointers, a document that is not a
 *         truth, ids the graph does not have, or edges that are not a forest;
 *         MODELTREE_OUT_OF_MEMORY.
 * @since 0.2
 */
MODELTREE_API modeltree_status_t modeltree_graph_evaluate_json(modeltree_score_t **out,
                                                              const modeltree_graph_t *g,
                                                              const char *document);

/**
 * Scores a graph against true edges given as arrays.
 *
 * @param out        as modeltree_graph_evaluate_file.
 * @param g          the graph, borrowed for the call; must not be NULL.
 * @param parents    edge_count model ids, borrowed for the call; may be NULL when edge_count is 0.
 * @param children   edge_count model ids: edge k runs from parents[k] to children[k].
 * @param edge_count the number of true edges.
 * @param roots      root_count model ids (true roots; needed only for trees of one model);
 *                   borrowed for the call; may be NULL when root_count is 0.
 * @param root_count the number of roots.
 * @return MODELTREE_OK; MODELTREE_INVALID_ARGUMENT for NULL pointers, strings that are not UTF-8,
 *         ids the graph does not have, or edges that are not a forest; MODELTREE_OUT_OF_MEMORY.
 * @since 0.2
 */
MODELTREE_API modeltree_status_t modeltree_graph_evaluate(modeltree_score_t **out,
                                                         const modeltree_graph_t *g,
                                                         const char *const *parents,
                                                         const char *const *children,
                                                         size_t edge_count,
                                                         const char *const *roots,
                                                         size_t root_count);

/**
 * Frees a score and every string its accessors returned. NULL is ignored.
 * @param s the score, owned by the caller; invalid after the call.
 * @since 0.2
 */
MODELTREE_API void modeltree_score_free(modeltree_score_t *s);

/*
 * Reading a score. True trees are named by their root and ordered by that name (byte order);
 * strings returned are owned by the score and valid until modeltree_score_free. These accessors
 * do not touch the thread's last error message; for a NULL score they return 0 (counts), NaN
 * (fractions) or NULL (strings).
 */

/** The number of true edges whose child got its true parent. @since 0.2 */
MODELTREE_API size_t modeltree_score_correct(const modeltree_score_t *s);
/** The number of true edges. @since 0.2 */
MODELTREE_API size_t modeltree_score_total(const modeltree_score_t *s);
/** correct / total, 1 when there is no true edge. @since 0.2 */
MODELTREE_API double modeltree_score_accuracy(const modeltree_score_t *s);
/** The adjusted Rand index (Hubert & Arabie 1985) of the recovered trees against the true ones,
 *  over every model of the graph (models the truth does not name are trees of one). @since 0.2 */
MODELTREE_API double modeltree_score_ari(const modeltree_score_t *s);
/** The number of true trees. @since 0.2 */
MODELTREE_API size_t modeltree_score_tree_count(const modeltree_score_t *s);
/** The root id of true tree t; NULL for t out of range. @since 0.2 */
MODELTREE_API const char *modeltree_score_tree_root(const modeltree_score_t *s, size_t t);

/**
 * Per true tree, in one call: correct and total edges, and accuracy (correct / total, 1 for a
 * tree without edges). Each non-NULL array receives tree_count values when capacity is at least
 * tree_count (all or nothing), as modeltree_graph_distances does.
 *
 * @param s        the score, borrowed for the call.
 * @param correct  an array of capacity values, or NULL.
 * @param total    an array of capacity values, or NULL.
 * @param accuracy an array of capacity values, or NULL.
 * @param capacity the number of values each non-NULL array holds.
 * @return the number of true trees, whether or not anything was written; 0 if s is NULL.
 * @since 0.2
 */
MODELTREE_API size_t modeltree_score_trees(const modeltree_score_t *s, size_t *correct, size_t *total,
                                           double *accuracy, size_t capacity);

/**
 * The typed score: relations (typed edges, a latent node's edges, one "duplicate" per pair of
 * models in a duplicate group) recovered with parent, child and type right, where a model stands
 * for either copy of its true duplicate group and a latent node is known by its children. An
 * untyped truth's edges are finetune relations.
 *
 * @param s        the score, borrowed for the call.
 * @param correct  receives the relations recovered right, or NULL.
 * @param truth    receives the relations the truth holds, or NULL.
 * @param reported receives the relations the graph reports, or NULL.
 * @return the F1 of precision correct / reported (1 when nothing is reported) and recall
 *         correct / truth (1 when the truth holds none); NaN (and nothing written) if s is NULL.
 * @since 0.3
 */
MODELTREE_API double modeltree_score_typed(const modeltree_score_t *s, size_t *correct, size_t *truth,
                                           size_t *reported);

/**
 * The recall of one kind of relation: of the true relations of that kind, the share recovered
 * with that kind.
 *
 * @param s       the score, borrowed for the call.
 * @param type    "finetune", "adapter", "quantized", "merge", "layer-subset" or "duplicate",
 *                borrowed for the call.
 * @param correct receives the relations of the kind recovered right, or NULL.
 * @param total   receives the relations of the kind the truth holds, or NULL.
 * @return correct / total; NaN (and 0 written) when the truth holds none, the type is not one
 *         of these names, or s or type is NULL.
 * @since 0.3
 */
MODELTREE_API double modeltree_score_type_recall(const modeltree_score_t *s, const char *type, size_t *correct,
                                                 size_t *total);

/**
 * The audit's score: the truth's claims (matched by model, source and claimed text) reported
 * with the true verdict, and the truth's unclaimed models found claiming nothing.
 *
 * @param s                 the score, borrowed for the call.
 * @param correct           receives the claims with the true verdict, or NULL.
 * @param total             receives the claims the truth lists, or NULL.
 * @param unclaimed_correct receives the truth's unclaimed models also found unclaimed, or NULL.
 * @param unclaimed_total   receives the truth's unclaimed models, or NULL.
 * @return correct / total; NaN (and 0 written) when the truth lists no claims, or s is NULL.
 * @since 0.4
 */
MODELTREE_API double modeltree_score_audit(const modeltree_score_t *s, size_t *correct, size_t *total,
                                           size_t *unclaimed_correct, size_t *unclaimed_total);

/* ============================================================================================
 * Rendering
 * ========================================================================================== */

/**
 * A text form of a graph, optionally with its score: byte for byte what `modeltree-cli recover
 * --format FORMAT [--truth FILE]` prints for the same models and options (JSON gains a "score"
 * object; TEXT the score's lines after a blank line; DOT a graph label; SVG a line under the
 * title; HTML a table beside the picture).
 *
 * @param out    receives a NUL-terminated UTF-8 string, owned by the caller (free it with
 *               modeltree_string_free); set to NULL on failure. Must not be NULL.
 * @param g      the graph, borrowed for the call; must not be NULL.
 * @param format one of the modeltree_format_t values.
 * @param score  a score of this graph (modeltree_graph_evaluate*), borrowed for the call, or NULL
 *               for none.
 * @return MODELTREE_OK, MODELTREE_INVALID_ARGUMENT (NULL out or g, unknown format) or
 *         MODELTREE_OUT_OF_MEMORY.
 * @since 0.2
 */
MODELTREE_API modeltree_status_t modeltree_graph_render(char **out, const modeltree_graph_t *g,
                                                       modeltree_format_t format,
                                                       const modeltree_score_t *score);

/**
 * Frees a string the library returned as owned by the caller (modeltree_graph_to_json,
 * modeltree_graph_render). NULL is ignored.
 *
 * @param s the string, owned by the caller; invalid after the call.
 */
MODELTREE_API void modeltree_string_free(char *s);

/* ============================================================================================
 * Hub index (since 0.3)
 *
 * A hub's index of models in one SQLite file: each model's signature (moments, linear sketches
 * and content hashes, from one read of its weights), grouped into families of related models, so
 * that the parent of a model — indexed, or a candidate upload — is found in milliseconds without
 * reading any other model's weights, and the whole graph is recovered from signatures alone.
 *
 *     modeltree_index_t *ix = NULL;
 *     modeltree_parents_t *who = NULL;
 *     if (modeltree_index_open(&ix, "hub.mtindex", NULL) == MODELTREE_OK &&
 *         modeltree_index_add_path(ix, NULL, "uploads/") == MODELTREE_OK &&
 *         modeltree_index_parent(&who, ix, "new-model", 3, NULL) == MODELTREE_OK &&
 *         modeltree_parents_count(who) > 0)
 *         printf("%s <- %s\n", "new-model", modeltree_parents_id(who, 0));
 *     modeltree_parents_free(who);
 *     modeltree_index_close(ix);
 *
 * An index handle is used by one thread at a time; any number of handles, in any number of
 * processes, may use one index file at once: a write waits for the others (up to the busy
 * timeout), and a process killed during an add leaves the model fully in or fully out.
 * Signatures, parent answers and entry lists are immutable and may be shared between threads.
 * The index file may be copied to another machine: its contents are little-endian throughout.
 * libmodeltree links SQLite in itself (it needs no libsqlite3 at run time); do not open an index
 * file with another copy of SQLite in the same process while a handle has it open (POSIX locks
 * are per process: that copy's close would drop this one's locks).
 * ========================================================================================== */

/** An opaque, open index file. @since 0.3 */
typedef struct modeltree_index modeltree_index_t;
/** An opaque, immutable signature of one model. @since 0.3 */
typedef struct modeltree_signature modeltree_signature_t;
/** An opaque, immutable answer to a parent query. @since 0.3 */
typedef struct modeltree_parents modeltree_parents_t;
/** An opaque, immutable list of indexed models (modeltree_index_list, modeltree_index_verify). @since 0.3 */
typedef struct modeltree_index_entries modeltree_index_entries_t;

/**
 * Options of an index and of the signatures computed for it. Fill it with
 * modeltree_index_options_init; the struct only grows at its end.
 * @since 0.3
 */
typedef struct modeltree_index_options {
    /** sizeof(modeltree_index_options_t) as the caller compiled it. */
    size_t struct_size;
    /** How long a write waits for another process's, in milliseconds. Default 60000. */
    uint32_t busy_timeout_ms;
    /** Threads that compute signatures; 0 for one per online processor. Default 0. */
    uint32_t threads;
    /** Sketch sizes of a new index (an existing index keeps its own): buckets of a tensor's
     *  distance sketch, of the coarse sketch of the candidate search (a divisor of the former),
     *  rows and columns of a tensor's rank sketch, and non-zeros per coordinate of its sparse
     *  embeddings (rows and columns are multiples of it). Defaults: the library's. */
    uint32_t distance_buckets;
    uint32_t coarse_buckets;
    uint32_t rank_rows;
    uint32_t rank_columns;
    uint32_t rank_hits;
} modeltree_index_options_t;

/**
 * Sets every field of *opts to its default and struct_size to sizeof(modeltree_index_options_t).
 * @param opts the struct to fill, borrowed for the call; NULL is ignored.
 * @since 0.3
 */
MODELTREE_API void modeltree_index_options_init(modeltree_index_options_t *opts);

/**
 * Opens the index file at path, making an empty one when none exists (":memory:" keeps one in
 * memory until it is closed).
 *
 * @param out  receives the index, owned by the caller (close it with modeltree_index_close); set
 *             to NULL on failure. Must not be NULL.
 * @param path the file, borrowed for the call.
 * @param opts options, borrowed for the call, or NULL for the defaults.
 * @return MODELTREE_OK; MODELTREE_IO when it cannot be opened or made; MODELTREE_FORMAT for a
 *         file that is not an index, or an index of a newer schema than this library reads;
 *         MODELTREE_INVALID_ARGUMENT for NULL pointers or bad options.
 * @since 0.3
 */
MODELTREE_API modeltree_status_t modeltree_index_open(modeltree_index_t **out, const char *path,
                                                      const modeltree_index_options_t *opts);

/**
 * The options an index was opened with, its own sketch sizes included (those of the file, which
 * may differ from the ones given to modeltree_index_open): pass them to
 * modeltree_signature_compute to sign models for this index, here or elsewhere.
 *
 * @param out  the struct to fill (its struct_size is set), borrowed for the call; must not be NULL.
 * @param ix   the index.
 * @return MODELTREE_OK or MODELTREE_INVALID_ARGUMENT.
 * @since 0.3
 */
MODELTREE_API modeltree_status_t modeltree_index_get_options(modeltree_index_options_t *out,
                                                             const modeltree_index_t *ix);

/**
 * Closes an index. NULL is ignored. Signatures, answers, graphs and lists it gave stay valid.
 * @param ix the index, owned by the caller; invalid after the call.
 * @since 0.3
 */
MODELTREE_API void modeltree_index_close(modeltree_index_t *ix);

/**
 * Computes the signature of one model of a collection (from a path, or from tensors lent with
 * modeltree_collection_add_tensor), reading its weights once. The collection is only read.
 *
 * @param out      receives the signature, owned by the caller (free it with
 *                 modeltree_signature_free); set to NULL on failure. Must not be NULL.
 * @param c        the collection, borrowed for the call.
 * @param model_id the model's id in the collection, borrowed for the call.
 * @param opts     sketch sizes and threads, borrowed for the call, or NULL for the defaults
 *                 (the defaults of a new index: sign with an index's own sizes to add there).
 * @return MODELTREE_OK; MODELTREE_INVALID_ARGUMENT (NULL pointer, unknown id, bad options, a
 *         model without floating-point tensors); MODELTREE_IO (a file changed or is unreadable).
 * @since 0.3
 */
MODELTREE_API modeltree_status_t modeltree_signature_compute(modeltree_signature_t **out,
                                                             const modeltree_collection_t *c,
                                                             const char *model_id,
                                                             const modeltree_index_options_t *opts);

/**
 * The signature as a portable byte string (versioned, little-endian, with checksums), to store
 * or send to another machine.
 *
 * @param out      receives the bytes, owned by the caller (free them with modeltree_bytes_free);
 *                 set to NULL on failure. Must not be NULL.
 * @param out_size receives their number. Must not be NULL.
 * @param s        the signature, borrowed for the call.
 * @return MODELTREE_OK, MODELTREE_INVALID_ARGUMENT or MODELTREE_OUT_OF_MEMORY.
 * @since 0.3
 */
MODELTREE_API modeltree_status_t modeltree_signature_serialize(void **out, size_t *out_size,
                                                               const modeltree_signature_t *s);

/**
 * Reads a signature from the bytes modeltree_signature_serialize wrote (on any machine).
 *
 * @param out  receives the signature, owned by the caller; set to NULL on failure.
 * @param data size bytes, borrowed for the call; may be NULL only when size is 0.
 * @param size the number of bytes.
 * @return MODELTREE_OK; MODELTREE_FORMAT for bytes that are not a signature, of another format
 *         version, truncated or corrupt (the message says which); MODELTREE_INVALID_ARGUMENT.
 * @since 0.3
 */
MODELTREE_API modeltree_status_t modeltree_signature_deserialize(modeltree_signature_t **out,
                                                                 const void *data, size_t size);

/** The id of the model a signature was computed for; a string owned by the signature, NULL for
 *  a NULL signature. @since 0.3 */
MODELTREE_API const char *modeltree_signature_model_id(const modeltree_signature_t *s);
/** The content hash of the model's weights (equal for duplicates); 0 for NULL. @since 0.3 */
MODELTREE_API uint64_t modeltree_signature_hash(const modeltree_signature_t *s);
/** Frees a signature. NULL is ignored. @since 0.3 */
MODELTREE_API void modeltree_signature_free(modeltree_signature_t *s);
/** Frees bytes the library returned as owned by the caller (modeltree_signature_serialize).
 *  NULL is ignored. @since 0.3 */
MODELTREE_API void modeltree_bytes_free(void *p);

/**
 * Adds the models stored at path to the index, reading each once: path is expanded as by
 * modeltree_collection_add_path (with model_id NULL, a folder of models adds each). Each model
 * is added in its own transaction; on failure the models before it stay added.
 *
 * @param ix       the index; must not be NULL.
 * @param model_id the id of the one model at path, or NULL to take ids from the path.
 * @param path     a file or folder, borrowed for the call.
 * @return MODELTREE_OK; MODELTREE_INVALID_ARGUMENT (an id already indexed, …); MODELTREE_IO;
 *         MODELTREE_FORMAT.
 * @since 0.3
 */
MODELTREE_API modeltree_status_t modeltree_index_add_path(modeltree_index_t *ix, const char *model_id,
                                                          const char *path);

/**
 * As modeltree_index_add_path, and says what a folder of models held that was not read: weights
 * of other frameworks (.h5, .ckpt, …), a GGUF, safetensors or torch file that lost its extension,
 * a sub-folder with a config.json but no weights, models one level deeper. Such entries are never
 * added; without this call a C caller would not hear of them.
 *
 * @param notes receives one line per unread entry, naming its path and why, joined by '\n', in
 *              malloc'ed memory (free with modeltree_string_free); NULL when nothing was left out,
 *              on failure, and for a single model (model_id not NULL). May be NULL.
 * @return as modeltree_index_add_path.
 * @since 0.4
 */
MODELTREE_API modeltree_status_t modeltree_index_add_path_noted(modeltree_index_t *ix, const char *model_id,
                                                                const char *path, char **notes);

/**
 * Adds every model of a collection (paths, or tensors lent by the caller: a training pipeline's
 * weights in memory), reading each once. The collection is only read.
 * @return as modeltree_index_add_path.
 * @since 0.3
 */
MODELTREE_API modeltree_status_t modeltree_index_add_collection(modeltree_index_t *ix,
                                                                const modeltree_collection_t *c);

/**
 * Adds a model by its signature (computed here or on another machine), known as model_id (NULL:
 * the signature's own id).
 * @return MODELTREE_OK; MODELTREE_INVALID_ARGUMENT (NULL pointers, an id already indexed, a
 *         signature of other sketch sizes than the index's); MODELTREE_IO.
 * @since 0.3
 */
MODELTREE_API modeltree_status_t modeltree_index_add_signature(modeltree_index_t *ix,
                                                               const modeltree_signature_t *s,
                                                               const char *model_id);

/**
 * Removes an indexed model and everything kept about it.
 * @return MODELTREE_OK; MODELTREE_INVALID_ARGUMENT (NULL pointers, an id not indexed); MODELTREE_IO.
 * @since 0.3
 */
MODELTREE_API modeltree_status_t modeltree_index_remove(modeltree_index_t *ix, const char *model_id);

/**
 * The number of indexed models.
 * @param out receives the count. Must not be NULL.
 * @return MODELTREE_OK, MODELTREE_INVALID_ARGUMENT or MODELTREE_IO.
 * @since 0.3
 */
MODELTREE_API modeltree_status_t modeltree_index_model_count(size_t *out, modeltree_index_t *ix);

/**
 * A copy of the signature of an indexed model (to add it to another index).
 * @param out receives the signature, owned by the caller; set to NULL on failure.
 * @return MODELTREE_OK; MODELTREE_INVALID_ARGUMENT (an id not indexed); MODELTREE_FORMAT (a
 *         damaged row); MODELTREE_IO.
 * @since 0.3
 */
MODELTREE_API modeltree_status_t modeltree_index_signature(modeltree_signature_t **out,
                                                           modeltree_index_t *ix, const char *model_id);

/** The state of an indexed model's files (modeltree_index_verify). The values are pinned. @since 0.3 */
typedef enum modeltree_files_state {
    /** The files are as they were when the model was added (and for modeltree_index_list). */
    MODELTREE_FILES_UNCHANGED = 0,
    /** Some file was rewritten, resized or replaced. */
    MODELTREE_FILES_CHANGED = 1,
    /** Every file is gone. */
    MODELTREE_FILES_MISSING = 2,
    /** The model was given from memory: no file to check. */
    MODELTREE_FILES_MEMORY = 3
} modeltree_files_state_t;

/**
 * Every indexed model, by id.
 * @param out receives the list, owned by the caller (free it with modeltree_index_entries_free);
 *            set to NULL on failure.
 * @return MODELTREE_OK, MODELTREE_INVALID_ARGUMENT or MODELTREE_IO.
 * @since 0.3
 */
MODELTREE_API modeltree_status_t modeltree_index_list(modeltree_index_entries_t **out, modeltree_index_t *ix);

/**
 * Every indexed model with the state of its files now (which changed or vanished since they were
 * added), after checking the index file itself.
 * @return as modeltree_index_list; MODELTREE_FORMAT when the index file is damaged.
 * @since 0.3
 */
MODELTREE_API modeltree_status_t modeltree_index_verify(modeltree_index_entries_t **out, modeltree_index_t *ix);

/*
 * Reading a list of entries. Strings are owned by the list and valid until it is freed; for a
 * NULL list or an index out of range: 0, NULL, -1 or MODELTREE_FILES_UNCHANGED.
 */
/** The number of entries. @since 0.3 */
MODELTREE_API size_t modeltree_index_entries_count(const modeltree_index_entries_t *e);
/** The model id of entry i. @since 0.3 */
MODELTREE_API const char *modeltree_index_entries_id(const modeltree_index_entries_t *e, size_t i);
/** Where entry i was read from; NULL for a model given from memory. @since 0.3 */
MODELTREE_API const char *modeltree_index_entries_path(const modeltree_index_entries_t *e, size_t i);
/** The reader that read entry i ("safetensors", "memory", …). @since 0.3 */
MODELTREE_API const char *modeltree_index_entries_format(const modeltree_index_entries_t *e, size_t i);
/** The family of entry i (a number; models compared with one another share it). @since 0.3 */
MODELTREE_API int64_t modeltree_index_entries_family(const modeltree_index_entries_t *e, size_t i);
/** The state of entry i's files. @since 0.3 */
MODELTREE_API modeltree_files_state_t modeltree_index_entries_state(const modeltree_index_entries_t *e, size_t i);
/** What changed in entry i's files, one line ("" when nothing). @since 0.3 */
MODELTREE_API const char *modeltree_index_entries_detail(const modeltree_index_entries_t *e, size_t i);
/** Frees a list. NULL is ignored. @since 0.3 */
MODELTREE_API void modeltree_index_entries_free(modeltree_index_entries_t *e);

/**
 * The parent of an indexed model: its family solved as modeltree_recover solves a tree, from
 * the kept statistics (milliseconds; no weight is read).
 *
 * @param out          receives the answer, owned by the caller (free it with
 *                     modeltree_parents_free); set to NULL on failure. Must not be NULL.
 * @param ix           the index.
 * @param model_id     an indexed model's id, borrowed for the call.
 * @param alternatives how many other relatives to list after the chosen parent.
 * @param opts         recovery options (metric, direction, lambda), borrowed for the call, or NULL.
 * @return MODELTREE_OK; MODELTREE_INVALID_ARGUMENT (an id not indexed, bad options); MODELTREE_IO;
 *         MODELTREE_FORMAT (a damaged row).
 * @since 0.3
 */
MODELTREE_API modeltree_status_t modeltree_index_parent(modeltree_parents_t **out, modeltree_index_t *ix,
                                                        const char *model_id, size_t alternatives,
                                                        const modeltree_options_t *opts);

/**
 * The parent a model not in the index would have ("who is this upload?"): the families it
 * belongs to are found by the candidate search and solved with it. The index is not changed.
 * @param s the candidate's signature (computed with the index's sketch sizes), borrowed.
 * @return as modeltree_index_parent; MODELTREE_INVALID_ARGUMENT for other sketch sizes.
 * @since 0.3
 */
MODELTREE_API modeltree_status_t modeltree_index_parent_of_signature(modeltree_parents_t **out,
                                                                     modeltree_index_t *ix,
                                                                     const modeltree_signature_t *s,
                                                                     size_t alternatives,
                                                                     const modeltree_options_t *opts);

/*
 * Reading an answer. Candidate 0 is the chosen parent, the others the nearest other relatives of
 * its tree; no candidate means a root (no parent among its relatives, or no relative at all).
 * Strings are owned by the answer; for a NULL answer or an index out of range: 0, NULL, NaN,
 * false or MODELTREE_EDGE_FINETUNE.
 */
/** The model asked about. @since 0.3 */
MODELTREE_API const char *modeltree_parents_model_id(const modeltree_parents_t *p);
/** Whether it is indexed (false: a candidate upload). @since 0.3 */
MODELTREE_API bool modeltree_parents_indexed(const modeltree_parents_t *p);
/** The number of candidates. @since 0.3 */
MODELTREE_API size_t modeltree_parents_count(const modeltree_parents_t *p);
/** The id of candidate k. @since 0.3 */
MODELTREE_API const char *modeltree_parents_id(const modeltree_parents_t *p, size_t k);
/** The type of the edge from candidate k. @since 0.3 */
MODELTREE_API modeltree_edge_type_t modeltree_parents_type(const modeltree_parents_t *p, size_t k);
/** The distance to candidate k, in modeltree_parents_metric. @since 0.3 */
MODELTREE_API double modeltree_parents_distance(const modeltree_parents_t *p, size_t k);
/** The confidence in [0, 1] of candidate 0's edge; NaN for the other candidates. @since 0.3 */
MODELTREE_API double modeltree_parents_confidence(const modeltree_parents_t *p, size_t k);
/** Whether candidate 0's edge is unsure; false for the others. @since 0.3 */
MODELTREE_API bool modeltree_parents_unsure(const modeltree_parents_t *p, size_t k);
/** The metric of the distances. @since 0.3 */
MODELTREE_API modeltree_metric_t modeltree_parents_metric(const modeltree_parents_t *p);
/** How many indexed models the model was compared with (its family). @since 0.3 */
MODELTREE_API size_t modeltree_parents_relatives(const modeltree_parents_t *p);
/** The number of indexed models with the same weights. @since 0.3 */
MODELTREE_API size_t modeltree_parents_duplicate_count(const modeltree_parents_t *p);
/** The id of duplicate k. @since 0.3 */
MODELTREE_API const char *modeltree_parents_duplicate(const modeltree_parents_t *p, size_t k);
/** Frees an answer. NULL is ignored. @since 0.3 */
MODELTREE_API void modeltree_parents_free(modeltree_parents_t *p);

/**
 * The Model Graph of every indexed model, from signatures and kept statistics only: each family
 * analysed as modeltree_recover analyses a collection. Read it with the modeltree_graph_*
 * accessors; models of different families are at +infinity from one another
 * (modeltree_graph_distances). The graph is also kept in the index.
 *
 * @param out  receives the graph, owned by the caller (free it with modeltree_graph_free).
 * @param ix   the index.
 * @param opts options (metric, direction, lambda, progress), borrowed for the call, or NULL;
 *             trees, include and exclude need the weights: MODELTREE_INVALID_ARGUMENT.
 * @return MODELTREE_OK; MODELTREE_INVALID_ARGUMENT (an empty index, bad options); MODELTREE_IO;
 *         MODELTREE_FORMAT; MODELTREE_CANCELLED; MODELTREE_INCOMPATIBLE_MODELS.
 * @since 0.3
 */
MODELTREE_API modeltree_status_t modeltree_index_graph(modeltree_graph_t **out, modeltree_index_t *ix,
                                                       const modeltree_options_t *opts);

/* ============================================================================================
 * The vector kernels
 * ========================================================================================== */

/**
 * The instruction set of the vector kernels this process runs: "avx512", "avx2" or "sse2" on
 * x86-64, "neon" on aarch64, "portable" elsewhere — for reports and bug reports.
 *
 * The library takes the best set the CPU and the operating system support when it first needs
 * one, unless the environment variable MODELTREE_KERNEL names another (sse2, avx2, avx512, neon
 * or portable; a set the CPU lacks gives the best one below it, an unknown name the best). The
 * variable is read once, at that moment, and the choice holds for the life of the process. The
 * recovered graph does not depend on it: every set gives the same edges, with distances that
 * agree to about 1e-6 (they round differently).
 *
 * Never fails; may be called before anything else (it then makes the choice).
 * @return a static string, owned by the library, valid for the life of the process.
 * @since 0.2
 */
MODELTREE_API const char *modeltree_kernel_name(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MODELTREE_H */
