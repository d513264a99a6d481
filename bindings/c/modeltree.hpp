// modeltree.hpp — a header-only C++17 wrapper over include/modeltree.h.
//
// Owning, move-only classes (modeltree::collection, modeltree::graph) free their handles in
// their destructors; every failed call throws modeltree::error carrying the status and the
// library's message; ids come back as std::string_view into the graph (valid while it lives).
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
}  // namespace detail

/// The version of the loaded library, "MAJOR.MINOR.PATCH".
inline std::string_view version() { return modeltree_version_string(); }

/// Whether the loaded library is the version this header describes.
inline bool version_matches() noexcept { return modeltree_version_number() == MODELTREE_VERSION_NUMBER; }

/// A mutable set of models (owns a modeltree_collection_t). Move-only.
class collection {
public:
    collection() { detail::check(modeltree_collection_create(&handle_)); }
    collection(collection &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    collection &operator=(collection &&other) noexcept {
        std::swap(handle_, other.handle_);
        return *this;
    }
    collection(const collection &) = delete;
    collection &operator=(const collection &) = delete;
    ~collection() { modeltree_collection_free(handle_); }

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
    /// The C handle, still owned by this object.
    const modeltree_collection_t *get() const noexcept { return handle_; }
    modeltree_collection_t *get() noexcept { return handle_; }

private:
    modeltree_collection_t *handle_ = nullptr;
};

/// Options of a recovery; the defaults need no tuning.
struct options {
    modeltree_metric_t metric = MODELTREE_METRIC_AUTO;
    modeltree_direction_t direction = MODELTREE_DIRECTION_AUTO;
    double lambda = 0.3;
    std::uint32_t trees = 0;  ///< 0: found from the data
    std::vector<std::string> include;
    std::vector<std::string> exclude;
    /// Called on the recovering thread with (fraction, stage); return false to cancel. An
    /// exception it throws cancels the recovery and is rethrown by recover().
    std::function<bool(double, std::string_view)> progress;
};

/// An immutable Model Graph (owns a modeltree_graph_t). Move-only; safe to read from many threads.
class graph {
public:
    /// Takes ownership of a C handle.
    explicit graph(modeltree_graph_t *handle) noexcept : handle_(handle) {}
    graph(graph &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    graph &operator=(graph &&other) noexcept {
        std::swap(handle_, other.handle_);
        return *this;
    }
    graph(const graph &) = delete;
    graph &operator=(const graph &) = delete;
    ~graph() { modeltree_graph_free(handle_); }

    /// Number of models.
    std::size_t size() const noexcept { return modeltree_graph_model_count(handle_); }
    /// The id of model i, valid while this graph lives. Throws std::out_of_range.
    std::string_view id(std::size_t i) const { return text(modeltree_graph_model_id(handle_, at(i))); }
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
    /// Distance to the parent (NaN for a root).
    double edge_distance(std::size_t i) const { return modeltree_graph_edge_distance(handle_, at(i)); }
    /// Confidence in [0, 1] of the edge into model i (NaN for a root).
    double edge_confidence(std::size_t i) const { return modeltree_graph_edge_confidence(handle_, at(i)); }
    /// Whether the edge into model i is too unsure to trust.
    bool edge_unsure(std::size_t i) const { return modeltree_graph_edge_unsure(handle_, at(i)); }
    /// Mean excess kurtosis of model i.
    double kurtosis(std::size_t i) const { return modeltree_graph_model_kurtosis(handle_, at(i)); }
    /// The n x n distance matrix, row-major.
    std::vector<double> distances() const {
        std::vector<double> d(modeltree_graph_distances(handle_, nullptr, 0));
        modeltree_graph_distances(handle_, d.data(), d.size());
        return d;
    }
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
    /// Warnings left by the recovery.
    std::vector<std::string_view> warnings() const {
        std::vector<std::string_view> lines;
        for (std::size_t k = 0; k < modeltree_graph_warning_count(handle_); ++k)
            lines.emplace_back(modeltree_graph_warning(handle_, k));
        return lines;
    }
    /// The CLI's JSON document.
    std::string json() const {
        char *raw = nullptr;
        detail::check(modeltree_graph_to_json(&raw, handle_));
        std::unique_ptr<char, void (*)(char *)> owned(raw, modeltree_string_free);
        return std::string(owned.get());
    }
    /// The C handle, still owned by this object.
    const modeltree_graph_t *get() const noexcept { return handle_; }

private:
    std::size_t at(std::size_t i) const {
        if (i >= size()) throw std::out_of_range("modeltree::graph: model index out of range");
        return i;
    }
    static std::string_view text(const char *s) { return s ? std::string_view(s) : std::string_view(); }

    modeltree_graph_t *handle_ = nullptr;
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
    modeltree_options_init(&c);
    c.metric = opts.metric;
    c.direction = opts.direction;
    c.lambda = opts.lambda;
    c.trees = opts.trees;
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
