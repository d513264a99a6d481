// test_hpp.cpp — checks of the C++17 wrapper (bindings/c/modeltree.hpp). Run by the C suite
// (test "cpp_wrapper"); exits 0 when every check holds, prints the failed ones otherwise.
#include <modeltree.hpp>

#include <cmath>
#include <cstdio>
#include <algorithm>
#include <cstdint>
#include <cstdlib>
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

// `test_hpp --render FORMAT DIR [TRUTH]` prints the recovery of DIR as the wrapper renders it (for
// the C suite, which compares it with the CLI's and the C ABI's bytes).
static int render(const std::string &format, const char *dir, const char *truth) {
    const modeltree_format_t f = format == "json"   ? MODELTREE_FORMAT_JSON
                                 : format == "text" ? MODELTREE_FORMAT_TEXT
                                 : format == "svg"  ? MODELTREE_FORMAT_SVG
                                 : format == "html" ? MODELTREE_FORMAT_HTML
                                                    : MODELTREE_FORMAT_DOT;
    modeltree::collection models;
    models.add_path(dir);
    modeltree::graph g = modeltree::recover(models);
    if (truth) {
        modeltree::score s = g.evaluate(truth);
        std::fputs(g.render(f, &s).c_str(), stdout);
    } else {
        std::fputs(g.render(f).c_str(), stdout);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 4 && std::string(argv[1]) == "--render") {
        try {
            return render(argv[2], argv[3], argc >= 5 ? argv[4] : nullptr);
        } catch (const std::exception &e) {
            std::fprintf(stderr, "test_hpp --render: %s\n", e.what());
            return 1;
        }
    }
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
    EXPECT(std::string(modeltree_last_error_message()).find("lambda must be") == 0);

    // Unset options keep the library's defaults: setting only the metric changes nothing else.
    modeltree::options only_metric;
    only_metric.metric = MODELTREE_METRIC_RMS;
    only_metric.threads = 1;
    modeltree::options all_set;
    modeltree_options_t defaults;
    modeltree_options_init(&defaults);
    all_set.metric = MODELTREE_METRIC_RMS;
    all_set.direction = defaults.direction;
    all_set.lambda = defaults.lambda;
    all_set.trees = defaults.trees;
    EXPECT(modeltree::recover(models, only_metric).json() == modeltree::recover(models, all_set).json());

    // The bulk accessors give what the per-model accessors give.
    modeltree::graph h = modeltree::recover(models);
    auto parents = h.parents();
    auto distances = h.edge_distances(), confidences = h.edge_confidences();
    auto unsure = h.edges_unsure();
    auto trees = h.model_trees();
    EXPECT(parents.size() == 6 && distances.size() == 6 && unsure.size() == 6 && trees.size() == 6);
    for (std::size_t i = 0; i < h.size(); ++i) {
        auto p = h.parent(i);
        EXPECT(p ? parents[i] == static_cast<std::int64_t>(*p) : parents[i] == MODELTREE_NO_PARENT);
        EXPECT(p ? distances[i] == h.edge_distance(i) : std::isnan(distances[i]));
        EXPECT(p ? confidences[i] == h.edge_confidence(i) : std::isnan(confidences[i]));
        EXPECT(unsure[i] == h.edge_unsure(i));
        EXPECT(trees[i] == static_cast<std::int64_t>(h.tree_of(i)));
    }
    EXPECT(h.unsure_threshold() > 0 && h.unsure_threshold() < 1);
    // The edges one by one: here one per child, each the per-model accessors' primary edge.
    auto edges = h.edges();
    EXPECT(edges.size() == 4);
    for (const auto &e : edges) {
        EXPECT(h.parent(e.child) && *h.parent(e.child) == e.parent && e.type == MODELTREE_EDGE_FINETUNE);
        EXPECT(e.distance == h.edge_distance(e.child) && e.confidence == h.edge_confidence(e.child));
        EXPECT(e.unsure == h.edge_unsure(e.child) && !e.coefficient && !e.residual_ratio);
    }
    // Their raw confidences are the JSON's `raw_confidence`s, edge by edge in the JSON's order (the
    // JSON is the CLI's: test zoo_json_equals_cli), read back exactly from the shortest digits.
    const std::string doc = h.json(), key = "\"raw_confidence\": ";
    std::size_t at = 0;
    for (const auto &e : edges) {
        at = doc.find(key, at);
        EXPECT(at != std::string::npos);
        if (at == std::string::npos) break;
        at += key.size();
        EXPECT(e.raw_confidence == std::strtod(doc.c_str() + at, nullptr) && e.raw_confidence >= 0 && e.raw_confidence <= 1);
    }
    EXPECT(doc.find(key, at) == std::string::npos);

    // Scores: a truth with one wrong edge (y2 under y1 instead of y0), as arrays and as JSON.
    std::vector<std::pair<std::string, std::string>> truth;
    for (std::size_t i = 0; i < h.size(); ++i)
        if (auto p = h.parent(i)) truth.emplace_back(std::string(h.id(*p)), std::string(h.id(i)));
    modeltree::score exact = h.evaluate(truth);
    EXPECT(exact.correct() == 4 && exact.total() == 4 && exact.accuracy() == 1 && exact.ari() == 1);
    std::vector<std::string> roots{std::string(h.id(h.tree_root(0))), std::string(h.id(h.tree_root(1)))};
    std::sort(roots.begin(), roots.end());
    EXPECT(exact.trees().size() == 2 && exact.trees()[0].root == roots[0] && exact.trees()[1].root == roots[1]);
    EXPECT(h.render(MODELTREE_FORMAT_TEXT, &exact) == h.text() + "\nEdge accuracy: 4/4 (100.0%), adjusted Rand index of the trees 1.000\n"
                                                              "  tree of " + roots[0] + ": 2/2 (100.0%)\n  tree of " + roots[1] + ": 2/2 (100.0%)\n"
                                                              "Typed relations: F1 1.000 (precision 4/4, recall 4/4); recall by type: finetune 4/4\n");
    EXPECT(exact.typed().correct == 4 && exact.typed().truth == 4 && exact.typed().reported == 4 && exact.typed().f1 == 1);
    EXPECT(exact.type_recall("finetune") == 1 && std::isnan(exact.type_recall("quantized")));
    for (std::size_t i = 0; i < h.size(); ++i) EXPECT(!h.duplicate_of(i));
    // Two families of fine-tunes with their roots given: no latent node, no layer map.
    for (std::size_t i = 0; i < h.size(); ++i) EXPECT(!h.latent(i) && h.edge_layers(i).empty());
    modeltree::score json = h.evaluate_json(R"({"edges": [["x0", "x1"], ["x0", "x2"]], "roots": ["y0", "y1", "y2"]})");
    std::size_t under_x0 = 0;
    for (std::size_t i : {std::size_t(1), std::size_t(2)})
        if (auto p = h.parent(i); p && *p == 0) ++under_x0;
    EXPECT(json.correct() == under_x0 && json.total() == 2);
    EXPECT(json.trees().size() == 4);  // x0, y0, y1, y2
    EXPECT(status_of([&] { (void)h.evaluate_json("{\"edges\": [[\"x0\", \"nobody\"]]}"); }) == MODELTREE_INVALID_ARGUMENT);
    EXPECT(status_of([&] { (void)h.evaluate("/nonexistent/truth.json"); }) == MODELTREE_IO);
    EXPECT(h.dot().rfind("digraph modeltree {", 0) == 0 && h.render(MODELTREE_FORMAT_JSON) == h.json());
    EXPECT(h.svg().rfind("<svg xmlns=", 0) == 0 && h.svg() == h.render(MODELTREE_FORMAT_SVG));
    EXPECT(h.html().rfind("<!DOCTYPE html>", 0) == 0 && h.html().find(h.id(0)) != std::string::npos);
    EXPECT(h.render(MODELTREE_FORMAT_SVG, &exact).find("edges right 4/4") != std::string::npos);

    // The audit: none for models from memory; the fixture's claims judged as its truth says
    // (Tests/fixtures/audit/make_audit.py; the suite runs from the repository's root).
    EXPECT(h.audit().empty() && !h.unclaimed(0));
    EXPECT(std::isnan(exact.audit().accuracy) && exact.audit().total == 0);
    {
        modeltree::collection zoo;
        zoo.add_path("Tests/fixtures/audit/zoo");
        modeltree::graph a = modeltree::recover(zoo);
        std::vector<modeltree::graph::claim> claims = a.audit();
        EXPECT(claims.size() == 11);
        std::size_t seen = 0;
        for (const auto &c : claims) {
            if (a.id(c.model) != "ft-b-F16.gguf") continue;
            ++seen;
            EXPECT(c.source == "gguf" && c.claimed == "https://huggingface.co/org/base" && c.relation.empty());
            EXPECT(c.verdict == MODELTREE_VERDICT_CONTRADICTS && c.recovered && a.id(*c.recovered) == "ft-b");
            EXPECT(c.evidence.find("grandparent") != std::string_view::npos && c.confidence >= 0 && c.confidence <= 1);
        }
        EXPECT(seen == 1);
        for (std::size_t i = 0; i < a.size(); ++i) EXPECT(a.unclaimed(i) == (a.id(i) == "base"));
        bool thrown = false;
        try { (void)a.unclaimed(a.size()); } catch (const std::out_of_range &) { thrown = true; }
        EXPECT(thrown);
        modeltree::score::audit_score s = a.evaluate("Tests/fixtures/audit/truth.json").audit();
        EXPECT(s.correct == 11 && s.total == 11 && s.accuracy == 1 && s.unclaimed_correct == 1 && s.unclaimed_total == 1);
    }

    if (failures) std::fprintf(stderr, "%d C++ wrapper checks failed\n", failures);
    return failures ? 1 : 0;
}
