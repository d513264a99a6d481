import Glibc
import XCTest
@testable import ModelTree

/// How long the pictures of 200 (and 1,000) models take: not a test (nothing is asserted about
/// time), a measurement that runs only with MODELTREE_BENCH_RENDER=1:
///
///     MODELTREE_BENCH_RENDER=1 swift test -c release -Xswiftc -enable-testing --filter RenderBenchmark
///
/// Prints the median of several runs of the layout alone, the SVG and the HTML (each including the
/// layout), next to the time to write the same graph's text lines in a plain loop (a same-run
/// baseline for the machine's speed).
final class RenderBenchmark: XCTestCase {
    func seconds(_ body: () throws -> Void) rethrows -> Double {
        var times: [Double] = []
        for _ in 0..<7 {
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
        for (models, families, merges) in [(200, 6, 5), (200, 1, 0), (1000, 8, 20)] {
            let d = SampleDrawings.random(models: models, families: families, merges: merges, duplicates: 3, seed: 42)
            var size = 0
            let baseline = seconds {
                var text = ""
                for n in d.nodes { text += Markup.xml(n.label.joined(separator: " ")) + "\n" }
                size = text.utf8.count
            }
            let layout = try seconds { _ = try Layout(d) }
            let svg = try seconds { size = try d.svg().utf8.count }
            let html = try seconds { size = try d.html().utf8.count }
            print(String(repeating: "-", count: 3), "\(models) models, \(families) families, \(merges) merges:",
                  "layout \(Formatting.fixed(layout * 1000, 1)) ms, svg \(Formatting.fixed(svg * 1000, 1)) ms,",
                  "html \(Formatting.fixed(html * 1000, 1)) ms (\(size / 1024) KiB); escaping the labels alone \(Formatting.fixed(baseline * 1000, 2)) ms")
        }
    }
}
