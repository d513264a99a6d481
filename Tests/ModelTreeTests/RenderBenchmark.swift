import Glibc
import XCTest
@testable import ModelTree

/// How long the pictures of 200 models (and of 1,000) take: not a test (nothing is asserted about
/// time), a measurement that runs only with MODELTREE_BENCH_RENDER=1:
///
///     MODELTREE_BENCH_RENDER=1 swift test -c release -Xswiftc -enable-testing --filter RenderBenchmark
///
/// Prints the median of several runs of the layout alone, the SVG and the HTML (each including the
/// layout), next to the time to write the same graph's text lines in a plain loop (a same-run
/// baseline for the machine's speed).
final class RenderBenchmark: XCTestCase {
    /// MODELTREE_BENCH_RENDER=once: each render once, first case only, for instruction counts:
    ///
    ///     MODELTREE_BENCH_RENDER=once valgrind --tool=callgrind --toggle-collect='*7DrawingV4html*' \
    ///         .build/release/modeltreePackageTests.xctest ModelTreeTests.RenderBenchmark
    var once: Bool { getenv("MODELTREE_BENCH_RENDER").map { String(cString: $0) } == "once" }

    func seconds(_ body: () throws -> Void) rethrows -> Double {
        var times: [Double] = []
        for _ in 0..<(once ? 1 : 7) {
            var a = timespec(), b = timespec()
            clock_gettime(CLOCK_MONOTONIC, &a)
            try body()
            clock_gettime(CLOCK_MONOTONIC, &b)
            times.append(Double(b.tv_sec - a.tv_sec) + Double(b.tv_nsec - a.tv_nsec) * 1e-9)
        }
        return times.sorted()[times.count / 2]
    }

    func testRenderTimes() throws {
        guard getenv("MODELTREE_BENCH_RENDER") != nil else { throw XCTSkip("set MODELTREE_BENCH_RENDER=1 to measure the renderers") }
        let cases: [(String, Drawing)] = [
            ("200 models, 6 families, 5 merges", SampleDrawings.random(models: 200, families: 6, merges: 5, duplicates: 3, seed: 42)),
            ("200 models, 1 family", SampleDrawings.random(models: 200, families: 1, seed: 42)),
            ("200 models, a base with 196 leaves (grid)", SampleDrawings.star(leaves: 196, subtrees: 1)),
            ("1,000 models (collapsed to 250 boxes)", SampleDrawings.random(models: 1000, families: 8, merges: 20, seed: 42)),
        ]
        for (name, d) in cases.prefix(once ? 1 : cases.count) {
            var size = 0
            let baseline = seconds {
                var text = ""
                for n in d.nodes { text += Markup.xml(n.label.joined(separator: " ")) + "\n" }
                size = text.utf8.count
            }
            let layout = try seconds { _ = try Layout(d) }
            let svg = try seconds { size = try d.svg().utf8.count }
            let html = try seconds { size = try d.html().utf8.count }
            print(String(repeating: "-", count: 3), name + ":",
                  "layout \(Formatting.fixed(layout * 1000, 1)) ms, svg \(Formatting.fixed(svg * 1000, 1)) ms,",
                  "html \(Formatting.fixed(html * 1000, 1)) ms (\(size / 1024) KiB); escaping the labels alone \(Formatting.fixed(baseline * 1000, 2)) ms")
        }
    }
}
