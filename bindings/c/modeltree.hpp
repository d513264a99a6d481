// modeltree.hpp — a header-only C++17 wrapper over include/modeltree.h.
//
// Owning, move-only classes (modeltree::collection, modeltree::graph, modeltree::score) free their
// handles in their destructors; every failed call throws modeltree::error carrying the status and
// the library's message; ids come back as std::string_view into the graph (valid while it lives).
// Defaults, validation, scoring and rendering are the library's: this header only forwards.
//
//     modeltree::collection uploads;
//     uploads.add_path("uploads/");
//     modeltree::graph g = modeltree::recover(uploads);
//     for (std::size_t i = 0; i < g.size(); ++i)
//         if (auto p = g.parent(i)) std::cout << g.id(i) << " <- " << g.id(*p) << '\n';
//
// Threading is that of the C API: a collection is modified by one thread at a time; a graph may
// be read by any number of threads at once.
#ifndef MODELTREE_HPP
#define MODELTREE_HPP

#include "modeltree.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace modeltree {

/// A failed call: the status and the library's message for it.
class error : public std::runtime_error {
public:
    error(modeltree_status_t status, const std::string &message)
        : std::runtime_error(message), status_(status) {}
    /// The C status (never MODELTREE_OK).
    modeltree_status_t status() const noexcept { return status_; }

private:
    modeltree_status_t status_;
};

namespace detail {
/// Throws modeltree::error for a failed status, with "<status>: <message>".
inline void check(modeltree_status_t status) {
    if (status != MODELTREE_OK)
        throw error(status, std::string(modeltree_status_string(status)) + ": " +
                                modeltree_last_error_message());
}
/// Owns one C handle: move-only, released with `Free` when destroyed (which accepts NULL).
template <class T, void (*Free)(T *)> class owner {
public:
    owner(owner &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    owner &operator=(owner &&other) noexcept {
        std::swap(handle_, other.handle_);
        return *this;
    }
    owner(const owner &) = delete;
    owner &operator=(const owner &) = delete;
    ~owner() { Free(handle_); }
    /// The C handle, still owned by this object.
    const T *get() const noexcept { return handle_; }

protected:
    explicit owner(T *handle = nullptr) noexcept : handle_(handle) {}
    T *handle_;
};
}  // namespace detail

/// The version of the loaded library, "MAJOR.MINOR.PATCH".
inline std::string_view version() { return modeltree_version_string(); }

/// Whether the loaded library serves this header (the header's compatibility rule, applied by the
/// library: the same MAJOR, and a library at least as new).
inline bool version_matches() noexcept { return modeltree_version_compatible(MODELTREE_VERSION_NUMBER); }

/// A mutable set of models (owns a modeltree_collection_t). Move-only.
class collection : public detail::owner<modeltree_collection_t, modeltree_collection_free> {
public:
    collection() { detail::check(modeltree_collection_create(&handle_)); }

    /// Adds the model(s) at `path`: a folder of models expands to each (ids from the names).
    void add_path(std::string_view path) { detail::check(modeltree_collection_add_path(handle_, nullptr, std::string(path).c_str())); }
    /// Adds the single model at `path` under `id`.
    void add_path(std::string_view id, std::string_view path) {
        detail::check(modeltree_collection_add_path(handle_, std::string(id).c_str(), std::string(path).c_str()));
    }
    /// Lends one tensor of model `id`: `data` (size_bytes long) is not copied and must stay valid
    /// and unchanged while this collection lives.
    void add_tensor(std::string_view id, std::string_view name, modeltree_dtype_t type, const std::vector<std::int64_t> &shape,
                    const void *data, std::size_t size_bytes) {
        detail::check(modeltree_collection_add_tensor(handle_, std::string(id).c_str(), std::string(name).c_str(), type,
                                                      shape.data(), shape.size(), data, size_bytes));
    }
    /// Lends a float32 tensor; see the general overload.
    void add_tensor(std::string_view id, std::string_view name, const std::vector<std::int64_t> &shape,
                    const float *data, std::size_t count) {
        add_tensor(id, name, MODELTREE_DTYPE_F32, shape, data, count * sizeof(float));
    }
    /// Lends a float64 tensor; see the general overload.
    void add_tensor(std::string_view id, std::string_view name, const std::vector<std::int64_t> &shape,
                    const double *data, std::size_t count) {
        add_tensor(id, name, MODELTREE_DTYPE_F64, shape, data, count * sizeof(double));
    }

    /// Number of models.
    std::size_t size() const noexcept { return modeltree_collection_model_count(handle_); }
    using owner::get;
    /// The C handle, still owned by this object.
    modeltree_collection_t *get() noexcept { return handle_; }
};

/// Options of a recovery. Each unset field keeps the library's default (modeltree_options_init);
/// the library validates what is set (see modeltree_options_t for the meaning of each).
struct options {
    std::optional<modeltree_metric_t> metric;
    std::optional<modeltree_direction_t> direction;
    std::optional<double> lambda;
    std::optional<std::uint32_t> trees;          ///< unset (or 0, as in C): found from the data
    std::optional<std::uint32_t> threads;        ///< unset: one per processor
    std::optional<std::uint32_t> max_models;     ///< unset: no limit
    std::optional<std::uint64_t> memory_budget;  ///< bytes; unset: no budget
    std::vector<std::string> include;
    std::vector<std::string> exclude;
    /// Called on the recovering thread with (fraction, stage); return false to cancel. An
    /// exception it throws cancels the recovery and is rethrown by recover().
    std::function<bool(double, std::string_view)> progress;
};

/// The score of a graph against a known one (owns a modeltree_score_t). Move-only.
class score : public detail::owner<modeltree_score_t, modeltree_score_free> {
public:
    /// One true tree, named by its root.
    struct tree {
        std::string_view root;  ///< valid while the score lives
        std::size_t correct, total;
        double accuracy;
    };

    /// Takes ownership of a C handle.
    explicit score(modeltree_score_t *handle) noexcept : owner(handle) {}

    /// True edges whose child got its true parent.
    std::size_t correct() const noexcept { return modeltree_score_correct(handle_); }
    /// True edges.
    std::size_t total() const noexcept { return modeltree_score_total(handle_); }
    /// correct / total (1 without true edges).
    double accuracy() const noexcept { return modeltree_score_accuracy(handle_); }
    /// Adjusted Rand index of the recovered trees against the true ones.
    double ari() const noexcept { return modeltree_score_ari(handle_); }
    /// Per true tree, ordered by root.
    std::vector<tree> trees() const {
        std::size_t n = modeltree_score_tree_count(handle_);
        std::vector<std::size_t> correct(n), total(n);
        std::vector<double> accuracy(n);
        modeltree_score_trees(handle_, correct.data(), total.data(), accuracy.data(), n);
        std::vector<tree> out;
        for (std::size_t t = 0; t < n; ++t)
            out.push_back({modeltree_score_tree_root(handle_, t), correct[t], total[t], accuracy[t]});
        return out;
    }
    /// Typed relations recovered with parent, child and type right (modeltree_score_typed).
    struct typed_score {
        std::size_t correct, truth, reported;
        double f1;
    };
    typed_score typed() const noexcept {
        typed_score t{0, 0, 0, 0};
        t.f1 = modeltree_score_typed(handle_, &t.correct, &t.truth, &t.reported);
        return t;
    }
    /// Recall of one kind ("finetune", "quantized", "duplicate", ...); NaN when the truth has none.
    double type_recall(const std::string &type) const noexcept {
        return modeltree_score_type_recall(handle_, type.c_str(), nullptr, nullptr);
    }
    /// The audit's claims with the true verdict, and the truth's unclaimed models found
    /// (modeltree_score_audit); accuracy NaN when the truth lists no claims.
    struct audit_score {
        std::size_t correct, total, unclaimed_correct, unclaimed_total;
        double accuracy;
    };
    audit_score audit() const noexcept {
        audit_score a{0, 0, 0, 0, 0};
        a.accuracy = modeltree_score_audit(handle_, &a.correct, &a.total, &a.unclaimed_correct, &a.unclaimed_total);
        return a;
    }
};

/// An immutable Model Graph (owns a modeltree_graph_t). Move-only; safe to read from many threads.
class graph : public detail::owner<modeltree_graph_t, modeltree_graph_free> {
public:
    /// Takes ownership of a C handle.
    explicit graph(modeltree_graph_t *handle) noexcept : owner(handle) {}

    /// Number of models.
    std::size_t size() const noexcept { return modeltree_graph_model_count(handle_); }
    /// The id of model i, valid while this graph lives. Throws std::out_of_range.
    std::string_view id(std::size_t i) const { return view_of(modeltree_graph_model_id(handle_, at(i))); }
    /// The path model i was read from; empty for a model given from memory.
    std::string_view path(std::size_t i) const {
        const char *p = modeltree_graph_model_path(handle_, at(i));
        return p ? std::string_view(p) : std::string_view();
    }
    /// The index of the model with this id, if any.
    std::optional<std::size_t> find(std::string_view id) const {
        std::int64_t i = modeltree_graph_find(handle_, std::string(id).c_str());
        return i >= 0 ? std::optional<std::size_t>(static_cast<std::size_t>(i)) : std::nullopt;
    }
    /// The parent of model i; nullopt for a root.
    std::optional<std::size_t> parent(std::size_t i) const {
        std::int64_t p = modeltree_graph_parent(handle_, at(i));
        return p >= 0 ? std::optional<std::size_t>(static_cast<std::size_t>(p)) : std::nullopt;
    }
    /// The stand-in of model i's group of value-identical models (i itself for the stand-in);
    /// nullopt for a model without a copy.
    std::optional<std::size_t> duplicate_of(std::size_t i) const {
        std::int64_t d = modeltree_graph_duplicate_of(handle_, at(i));
        return d >= 0 ? std::optional<std::size_t>(static_cast<std::size_t>(d)) : std::nullopt;
    }
    /// Whether node i is a latent parent (not a model of the collection; after the models). @since 0.4
    bool latent(std::size_t i) const { return modeltree_graph_model_latent(handle_, at(i)); }
    /// The layer map of the edge into model i, (child layer, parent layer) pairs; empty unless the
    /// edge is a layer subset. @since 0.4
    std::vector<std::pair<std::int64_t, std::int64_t>> edge_layers(std::size_t i) const {
        std::size_t n = modeltree_graph_edge_layers(handle_, at(i), nullptr, 0);
        std::vector<std::int64_t> flat(2 * n);
        n = std::min(n, modeltree_graph_edge_layers(handle_, at(i), flat.data(), n));
        std::vector<std::pair<std::int64_t, std::int64_t>> pairs;
        for (std::size_t k = 0; k < n; k++) pairs.emplace_back(flat[2 * k], flat[2 * k + 1]);
        return pairs;
    }
    /// Distance to the parent (NaN for a root).
    double edge_distance(std::size_t i) const { return modeltree_graph_edge_distance(handle_, at(i)); }
    /// Confidence in [0, 1] of the edge into model i (NaN for a root).
    double edge_confidence(std::size_t i) const { return modeltree_graph_edge_confidence(handle_, at(i)); }
    /// Whether the edge into model i is too unsure to trust.
    bool edge_unsure(std::size_t i) const { return modeltree_graph_edge_unsure(handle_, at(i)); }
    /// Mean excess kurtosis of model i.
    double kurtosis(std::size_t i) const { return modeltree_graph_model_kurtosis(handle_, at(i)); }
    /// One relation of the graph (modeltree_graph_edge_*): a merge has one per parent.
    struct edge {
        std::size_t parent;
        std::size_t child;
        modeltree_edge_type_t type;
        double distance;
        double confidence;
        bool unsure;
        /// A merge's fitted coefficient of this parent; nullopt for other types.
        std::optional<double> coefficient;
        /// A merge's residual ratio (the fit's residual over the child's nearest distance).
        std::optional<double> residual_ratio;
        /// The confidence before calibration (modeltree_graph_edge_raw_confidence; @since 0.4).
        /// Last, so that the members above keep their positions.
        double raw_confidence;
    };
    /// Every relation, grouped by child, a child's primary edge first (@since 0.4).
    std::vector<edge> edges() const {
        std::vector<edge> out;
        std::size_t count = modeltree_graph_edge_count(handle_);
        out.reserve(count);
        for (std::size_t e = 0; e < count; ++e) {
            double c = modeltree_graph_edge_coefficient(handle_, e), r = modeltree_graph_edge_residual_ratio(handle_, e);
            out.push_back(edge{static_cast<std::size_t>(modeltree_graph_edge_parent(handle_, e)),
                               static_cast<std::size_t>(modeltree_graph_edge_child(handle_, e)),
                               modeltree_graph_edge_type(handle_, e), modeltree_graph_edge_distance_at(handle_, e),
                               modeltree_graph_edge_confidence_at(handle_, e), modeltree_graph_edge_unsure_at(handle_, e),
                               c == c ? std::optional<double>(c) : std::nullopt,
                               r == r ? std::optional<double>(r) : std::nullopt,
                               modeltree_graph_edge_raw_confidence(handle_, e)});
        }
        return out;
    }
    /// The n x n distance matrix, row-major.
    std::vector<double> distances() const { return bulk<double>(modeltree_graph_distances); }
    /// The parent of every model (MODELTREE_NO_PARENT for a root), in one call.
    std::vector<std::int64_t> parents() const { return bulk<std::int64_t>(modeltree_graph_parents); }
    /// The distance to its parent of every model (NaN for a root).
    std::vector<double> edge_distances() const { return bulk<double>(modeltree_graph_edge_distances); }
    /// The confidence of the edge into every model (NaN for a root).
    std::vector<double> edge_confidences() const { return bulk<double>(modeltree_graph_edge_confidences); }
    /// Whether the edge into every model is unsure (false for a root).
    std::vector<bool> edges_unsure() const {
        std::size_t n = size();
        std::unique_ptr<bool[]> flags(new bool[n ? n : 1]);
        modeltree_graph_edges_unsure(handle_, flags.get(), n);
        return std::vector<bool>(flags.get(), flags.get() + n);
    }
    /// The tree of every model.
    std::vector<std::int64_t> model_trees() const { return bulk<std::int64_t>(modeltree_graph_model_trees); }
    /// The confidence below which an edge was judged unsure.
    double unsure_threshold() const noexcept { return modeltree_graph_unsure_threshold(handle_); }
    /// The metric the distances are in.
    modeltree_metric_t metric() const noexcept { return modeltree_graph_metric(handle_); }
    /// Number of trees (families).
    std::size_t tree_count() const noexcept { return modeltree_graph_tree_count(handle_); }
    /// The root of tree t.
    std::size_t tree_root(std::size_t t) const {
        std::int64_t r = modeltree_graph_tree_root(handle_, t);
        if (r < 0) throw std::out_of_range("modeltree::graph::tree_root: tree index out of range");
        return static_cast<std::size_t>(r);
    }
    /// The tree model i belongs to.
    std::size_t tree_of(std::size_t i) const { return static_cast<std::size_t>(modeltree_graph_tree_of(handle_, at(i))); }
    /// Names of the tensors compared.
    std::vector<std::string_view> tensors() const {
        std::vector<std::string_view> names;
        for (std::size_t k = 0; k < modeltree_graph_tensor_count(handle_); ++k)
            names.emplace_back(modeltree_graph_tensor_name(handle_, k));
        return names;
    }
    /// One claim of a model's files about its origin, judged by the weights (modeltree_graph_audit_*).
    /// The strings are valid while this graph lives.
    struct claim {
        std::size_t model;
        std::string_view source;    ///< "readme", "config", "adapter_config" or "gguf"
        std::string_view claimed;   ///< as written in the file
        std::string_view relation;  ///< the card's base_model_relation; empty when none
        modeltree_verdict_t verdict;
        std::optional<std::size_t> recovered;  ///< the parent the verdict rests on; nullopt for a root
        std::string_view evidence;
        double confidence;          ///< of the edge from `recovered`; NaN when none
    };
    /// Every claim, in model order.
    std::vector<claim> audit() const {
        std::vector<claim> out;
        for (std::size_t k = 0; k < modeltree_graph_audit_count(handle_); ++k) {
            const char *relation = modeltree_graph_audit_relation(handle_, k);
            std::int64_t recovered = modeltree_graph_audit_recovered(handle_, k);
            out.push_back({static_cast<std::size_t>(modeltree_graph_audit_model(handle_, k)),
                           modeltree_graph_audit_source(handle_, k), modeltree_graph_audit_claimed(handle_, k),
                           relation ? std::string_view(relation) : std::string_view(), modeltree_graph_audit_verdict(handle_, k),
                           recovered >= 0 ? std::optional<std::size_t>(static_cast<std::size_t>(recovered)) : std::nullopt,
                           modeltree_graph_audit_evidence(handle_, k), modeltree_graph_audit_confidence(handle_, k)});
        }
        return out;
    }
    /// Whether model i was read from a path whose files claim nothing about its origin.
    bool unclaimed(std::size_t i) const { return modeltree_graph_model_unclaimed(handle_, at(i)); }
    /// Warnings left by the recovery.
    std::vector<std::string_view> warnings() const {
        std::vector<std::string_view> lines;
        for (std::size_t k = 0; k < modeltree_graph_warning_count(handle_); ++k)
            lines.emplace_back(modeltree_graph_warning(handle_, k));
        return lines;
    }
    /// The graph as the CLI prints it in `format`, with `with` scored when given.
    std::string render(modeltree_format_t format, const score *with = nullptr) const {
        char *raw = nullptr;
        detail::check(modeltree_graph_render(&raw, handle_, format, with ? with->get() : nullptr));
        std::unique_ptr<char, void (*)(char *)> owned(raw, modeltree_string_free);
        return std::string(owned.get());
    }
    /// The CLI's JSON document.
    std::string json() const { return render(MODELTREE_FORMAT_JSON); }
    /// The trees drawn for people, as the CLI prints them.
    std::string text() const { return render(MODELTREE_FORMAT_TEXT); }
    /// A Graphviz digraph.
    std::string dot() const { return render(MODELTREE_FORMAT_DOT); }
    /// A self-contained SVG picture of the graph.
    std::string svg() const { return render(MODELTREE_FORMAT_SVG); }
    /// A self-contained HTML page to explore the graph in a browser (pan, zoom, search, evidence).
    std::string html() const { return render(MODELTREE_FORMAT_HTML); }

    /// Scores the graph against a truth file ({"edges": [[parent, child], ...], "roots": [...]}).
    score evaluate(std::string_view truth_path) const {
        modeltree_score_t *out = nullptr;
        detail::check(modeltree_graph_evaluate_file(&out, handle_, std::string(truth_path).c_str()));
        return score(out);
    }
    /// Scores the graph against a truth given as a JSON document.
    score evaluate_json(std::string_view document) const {
        modeltree_score_t *out = nullptr;
        detail::check(modeltree_graph_evaluate_json(&out, handle_, std::string(document).c_str()));
        return score(out);
    }
    /// Scores the graph against true edges (parent, child) and roots (needed for trees of one).
    score evaluate(const std::vector<std::pair<std::string, std::string>> &edges,
                   const std::vector<std::string> &roots = {}) const {
        std::vector<const char *> parents, children, root_ids;
        for (const auto &e : edges) {
            parents.push_back(e.first.c_str());
            children.push_back(e.second.c_str());
        }
        for (const auto &r : roots) root_ids.push_back(r.c_str());
        modeltree_score_t *out = nullptr;
        detail::check(modeltree_graph_evaluate(&out, handle_, parents.data(), children.data(), edges.size(),
                                               root_ids.data(), root_ids.size()));
        return score(out);
    }
private:
    std::size_t at(std::size_t i) const {
        if (i >= size()) throw std::out_of_range("modeltree::graph: model index out of range");
        return i;
    }
    static std::string_view view_of(const char *s) { return s ? std::string_view(s) : std::string_view(); }
    template <class T> std::vector<T> bulk(std::size_t (*accessor)(const modeltree_graph_t *, T *, std::size_t)) const {
        std::vector<T> values(accessor(handle_, nullptr, 0));
        accessor(handle_, values.data(), values.size());
        return values;
    }
};

/// Recovers the Model Graph of a collection. Throws modeltree::error (MODELTREE_CANCELLED when
/// the progress callback returned false), or rethrows what the progress callback threw.
inline graph recover(const collection &models, const options &opts = options()) {
    std::vector<const char *> include, exclude;
    for (const auto &p : opts.include) include.push_back(p.c_str());
    for (const auto &p : opts.exclude) exclude.push_back(p.c_str());
    struct bridge {
        const options *opts;
        std::exception_ptr thrown;
        static std::int32_t call(double fraction, const char *stage, void *user_data) {
            auto *self = static_cast<bridge *>(user_data);
            try {  // no exception may unwind through the C library
                return self->opts->progress(fraction, stage) ? 0 : 1;
            } catch (...) {
                self->thrown = std::current_exception();
                return 1;
            }
        }
    } state{&opts, nullptr};

    modeltree_options_t c;
    modeltree_options_init(&c);  // the library's defaults; only what the caller set changes
    if (opts.metric) c.metric = *opts.metric;
    if (opts.direction) c.direction = *opts.direction;
    if (opts.lambda) c.lambda = *opts.lambda;
    if (opts.trees) c.trees = *opts.trees;
    if (opts.threads) c.threads = *opts.threads;
    if (opts.max_models) c.max_models = *opts.max_models;
    if (opts.memory_budget) c.memory_budget = *opts.memory_budget;
    c.include = include.data();
    c.include_count = include.size();
    c.exclude = exclude.data();
    c.exclude_count = exclude.size();
    if (opts.progress) {
        c.progress = &bridge::call;
        c.user_data = &state;
    }
    modeltree_graph_t *out = nullptr;
    modeltree_status_t status = modeltree_recover(&out, models.get(), &c);
    if (state.thrown) {
        modeltree_graph_free(out);
        std::rethrow_exception(state.thrown);
    }
    detail::check(status);
    return graph(out);
}

}  // namespace modeltree

#endif  // MODELTREE_HPP
