// hub.cpp — the C example (examples/c/hub.c) with the C++17 RAII wrapper: audit a folder of
// uploaded models and print each model's parent.
//
//     c++ -std=c++17 hub.cpp $(pkg-config --cflags --libs modeltree) -o hub-cpp
//     ./hub-cpp uploads/
//
// Output: one tab-separated line per model (model, parent or "-", distance, confidence, "unsure"),
// '#' lines for the summary; progress on stderr when it is a terminal.
#include <modeltree.hpp>

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " FOLDER-OR-MODEL...\n";
        return 2;
    }
    if (!modeltree::version_matches()) {  // the header's compatibility rule, as examples/c/hub.c
        std::cerr << "hub-cpp: built against modeltree " << MODELTREE_VERSION_STRING << ", which the loaded library "
                  << modeltree::version() << " does not serve\n";
        return 1;
    }
    try {
        modeltree::collection uploads;
        for (int i = 1; i < argc; ++i) uploads.add_path(argv[i]);

        modeltree::options options;
        if (isatty(2)) {
            options.progress = [](double fraction, std::string_view stage) {
                std::fprintf(stderr, "\r\033[K%.*s %3d%%", static_cast<int>(stage.size()), stage.data(),
                             static_cast<int>(fraction * 100));
                return true;  // false would cancel: recover() then throws MODELTREE_CANCELLED
            };
        }
        modeltree::graph g = modeltree::recover(uploads, options);
        if (isatty(2)) std::cerr << "\r\033[K";

        std::cout << "# " << g.size() << " models, " << g.tree_count() << " families\n";
        for (std::size_t i = 0; i < g.size(); ++i) {
            if (auto parent = g.parent(i)) {
                std::cout << g.id(i) << '\t' << g.id(*parent) << '\t' << std::setprecision(6)
                          << std::defaultfloat << g.edge_distance(i) << '\t' << std::fixed << std::setprecision(3)
                          << g.edge_confidence(i) << (g.edge_unsure(i) ? "\tunsure" : "") << '\n';
            } else {
                std::cout << g.id(i) << "\t-\n";
            }
        }
        for (std::string_view w : g.warnings()) std::cout << "# warning: " << w << '\n';
    } catch (const modeltree::error &e) {
        std::cerr << "hub-cpp: " << e.what() << " (status " << e.status() << ")\n";
        return 1;
    }
    return 0;
}
