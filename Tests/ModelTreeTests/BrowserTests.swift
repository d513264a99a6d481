import Foundation
import XCTest
@testable import ModelTree

/// The pictures in a real browser: headless Chromium (Debian's `chromium`) loads the HTML and SVG of
/// the typed supply chain, hostile ids, 200 models, 1,000 (collapsed) and a base with 150 leaf
/// fine-tunes (a grid) through `tools/browser_check.py`, which asserts no console error, no network
/// request, every model id in the rendered DOM, no overlapping boxes and no text wider than its box
/// in the real font, and working controls; it writes a screenshot of each page to the artifacts
/// folder (`Artifacts`). The example zoos as the CLI draws them are Tests/python/test_pictures.py's;
/// the notebook frame, bindings/python/tests/test_pictures.py's.
///
/// Without Chromium the test is skipped with a message, unless MODELTREE_REQUIRE_BROWSER=1 (CI sets
/// it), where a missing browser fails.
final class BrowserTests: XCTestCase {
    func chromium() -> String? {
        if let env = ProcessInfo.processInfo.environment["MODELTREE_CHROMIUM"], !env.isEmpty { return env }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
                let candidate = "\(dir)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        return nil
    }

    func testPicturesInHeadlessChromium() throws {
        guard let browser = chromium() else {
            if ProcessInfo.processInfo.environment["MODELTREE_REQUIRE_BROWSER"] == "1" {
                XCTFail("MODELTREE_REQUIRE_BROWSER=1 but no Chromium was found: apt-get install chromium")
                return
            }
            throw XCTSkip("Chromium is not installed (apt-get install chromium); the browser test of the pictures is skipped")
        }
        let samples: [(String, Drawing)] = [("supply-chain", SampleDrawings.supplyChain()), ("hostile-ids", SampleDrawings.hostile()),
                                            ("random-200", SampleDrawings.random(models: 200, families: 6, merges: 5, duplicates: 3, seed: 7)),
                                            ("random-1000-collapsed", SampleDrawings.random(models: 1000, families: 5, merges: 10, seed: 8)),
                                            ("fan-out-150", SampleDrawings.star(leaves: 150, subtrees: 3))]
        var arguments = [SampleDrawings.root + "/tools/browser_check.py", "--screenshots", Artifacts.directory]
        var idFiles: [String] = []
        for (name, d) in samples {
            arguments += ["--html", try Artifacts.write(name + ".html", try d.html())]
            let ids = "[" + d.nodes.compactMap(\.id).map(Formatting.jsonString).joined(separator: ", ") + "]"
            idFiles.append(try Artifacts.write(name + ".ids.json", ids))
        }
        for (name, d) in samples {
            arguments += ["--svg", try Artifacts.write(name + ".svg", try d.svg())]
        }
        for file in idFiles + idFiles { arguments += ["--ids", file] }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["MODELTREE_CHROMIUM"] = browser
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0, "browser check failed:\n\(text.prefix(6000))")
        guard let report = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            XCTFail("no report from the browser check:\n\(text.prefix(2000))")
            return
        }
        XCTAssertEqual((report["problems"] as? [String]) ?? ["missing"], [])
        let pages = report["pages"] as? [[String: Any]] ?? []
        XCTAssertEqual(pages.count, samples.count)
        for (page, (name, d)) in zip(pages, samples) {
            XCTAssertEqual(page["missing_ids"] as? [String], [], name)
            XCTAssertEqual(page["boxes"] as? Int, try Layout(d).boxes.count, name)
            let shot = page["screenshot"] as? String ?? ""
            XCTAssertGreaterThan((try? FileManager.default.attributesOfItem(atPath: shot)[.size] as? Int) ?? 0, 10_000, "\(name): no screenshot at \(shot)")
        }
        print("browser check: \(pages.count) pages in \(report["seconds"] ?? "?") s; screenshots in \(Artifacts.directory)")
    }
}
