// test_hpp.cpp — checks of the C++17 wrapper (bindings/c/modeltree.hpp). Run by the C suite
// (test "cpp_wrapper"); exits 0 when every check holds, prints the failed ones otherwise.
#include <modeltree.hpp>

#include <cmath>
#include <cstdio>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

static int failures = 0;
#define EXPECT(cond) \
    do { if (!(cond)) { ++failures; std::fprintf(stderr, "test_hpp.cpp:%d: %s\n", __LINE__, #cond); } } while (0)

// Runs `f` and returns the status of the modeltree::error it throws (MODELTREE_OK if none).
template <class F> static modeltree_status_t status_of(F &&f) {
    try {
        f();
    } catch (const modeltree::error &e) {
        EXPECT(std::string(e.what()).find(modeltree_status_string(e.status())) == 0);
        return e.status();
    }
    return MODELTREE_OK;
}

int main() {
    EXPECT(modeltree::version_matches());
    EXPECT(modeltree::version() == MODELTREE_VERSION_STRING);

    // Two families of three 16 x 16 models each: a root and two fine-tunes.
    std::mt19937 rng(7);
    std::normal_distribution<float> normal;
    const std::vector<std::int64_t> shape{16, 16};
    std::vector<std::vector<float>> weights;
    std::vector<std::string> ids{"x0", "x1", "x2", "y0", "y1", "y2"};
    for (int m = 0; m < 6; ++m) {
        std::vector<float> w(256);
        for (std::size_t k = 0; k < w.size(); ++k)
            w[k] = m % 3 == 0 ? normal(rng) : weights[static_cast<std::size_t>(m - m % 3)][k] + 0.05f * normal(rng);
        weights.push_back(std::move(w));
    }
    modeltree::collection models;
    for (std::size_t m = 0; m < 6; ++m) {
        models.add_tensor(ids[m], "layer.weight", shape, weights[m].data(), weights[m].size());
        models.add_tensor(ids[m], "layer2.weight", shape, weights[m].data(), weights[m].size());
    }
    EXPECT(models.size() == 6);

    // Misuse becomes modeltree::error with the C status.
    EXPECT(status_of([&] { models.add_tensor("x0", "layer.weight", shape, weights[0].data(), 256); }) ==
           MODELTREE_INVALID_ARGUMENT);
    EXPECT(status_of([&] { models.add_tensor("z", "w", shape, weights[0].data(), 255); }) == MODELTREE_INVALID_ARGUMENT);
    EXPECT(status_of([&] { models.add_path("/nonexistent/modeltree"); }) == MODELTREE_IO);
    EXPECT(status_of([&] { modeltree::collection empty; modeltree::recover(empty); }) == MODELTREE_INVALID_ARGUMENT);

    modeltree::graph g = modeltree::recover(models);
    EXPECT(g.size() == 6);
    EXPECT(g.tree_count() == 2);
    EXPECT(g.metric() != MODELTREE_METRIC_AUTO);
    for (std::size_t i = 0; i < g.size(); ++i) {
        EXPECT(g.id(i) == ids[i]);
        EXPECT(g.find(g.id(i)) == i);
        EXPECT(g.path(i).empty());
        if (auto p = g.parent(i)) {
            EXPECT(g.tree_of(*p) == g.tree_of(i));
            EXPECT(g.edge_distance(i) >= 0);
        } else {
            EXPECT(std::isnan(g.edge_distance(i)));
            EXPECT(g.tree_root(g.tree_of(i)) == i);
        }
    }
    EXPECT(g.distances().size() == 36);
    EXPECT(g.tensors().size() == 2);
    EXPECT(!g.find("nobody"));
    EXPECT(g.json().find("\"id\": \"x0\"") != std::string::npos);
    bool threw = false;
    try { (void)g.id(6); } catch (const std::out_of_range &) { threw = true; }
    EXPECT(threw);

    // Moves transfer ownership; the moved-from graph is empty.
    modeltree::graph moved = std::move(g);
    EXPECT(moved.size() == 6 && g.size() == 0);

    // Progress: false cancels; an exception cancels and comes back out of recover().
    modeltree::options opts;
    int calls = 0;
    opts.progress = [&](double fraction, std::string_view stage) {
        ++calls;
        EXPECT(fraction >= 0 && fraction <= 1 && !stage.empty());
        return true;
    };
    modeltree::graph with_progress = modeltree::recover(models, opts);
    EXPECT(calls > 0);
    opts.progress = [](double, std::string_view) { return false; };
    EXPECT(status_of([&] { modeltree::recover(models, opts); }) == MODELTREE_CANCELLED);
    opts.progress = [](double, std::string_view) -> bool { throw std::runtime_error("stop here"); };
    std::string message;
    try { modeltree::recover(models, opts); } catch (const std::runtime_error &e) { message = e.what(); }
    EXPECT(message == "stop here");

    // Options reach the library.
    modeltree::options rms;
    rms.metric = MODELTREE_METRIC_RMS;
    rms.include = {"layer.*"};
    rms.trees = 1;
    modeltree::graph one = modeltree::recover(models, rms);
    EXPECT(one.metric() == MODELTREE_METRIC_RMS && one.tree_count() == 1 && one.tensors().size() == 1);
    rms.lambda = -1;
    EXPECT(status_of([&] { modeltree::recover(models, rms); }) == MODELTREE_INVALID_ARGUMENT);

    if (failures) std::fprintf(stderr, "%d C++ wrapper checks failed\n", failures);
    return failures ? 1 : 0;
}
