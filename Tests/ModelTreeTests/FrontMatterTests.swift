import XCTest
@testable import ModelTree

/// The strict front-matter reader: what it reads (expected values written from YAML's meaning,
/// by hand), what it refuses, and that hostile text never traps it.
final class FrontMatterTests: XCTestCase {
    func read(_ text: String) -> FrontMatter { FrontMatter(parsing: text) }

    func testScalarsOfEveryQuotingStyle() {
        XCTAssertEqual(read("---\nbase_model: org/a\n---\n# x").baseModels, ["org/a"])
        XCTAssertEqual(read("---\nbase_model: 'org/it''s'\n---\n").baseModels, ["org/it's"])
        XCTAssertEqual(read("---\nbase_model: \"org/a\\\"b\"\n---\n").baseModels, ["org/a\"b"])
        XCTAssertEqual(read("---\nbase_model: https://huggingface.co/org/a\n---\n").baseModels, ["https://huggingface.co/org/a"])
        XCTAssertEqual(read("---\nbase_model: org/a # a comment\n---\n").baseModels, ["org/a"])
        XCTAssertEqual(read("---\nbase_model: org/a#not-a-comment\n---\n").baseModels, ["org/a#not-a-comment"])
        XCTAssertEqual(read("---\nbase_model: 'org/a'   # after quotes\n---\n").baseModels, ["org/a"])
        XCTAssertEqual(read("---\n\"base_model\": org/a\n---\n").baseModels, ["org/a"])
    }

    func testSequences() {
        XCTAssertEqual(read("---\nbase_model:\n- org/a\n- 'org/b'\n---\n").baseModels, ["org/a", "org/b"])
        XCTAssertEqual(read("---\nbase_model:\n  - org/a   # first\n\n  # between\n  - \"org/b\"\nlicense: mit\n---\n").baseModels,
                       ["org/a", "org/b"])
        XCTAssertEqual(read("---\nbase_model: [org/a, 'org/b', \"org/c\"]\n---\n").baseModels, ["org/a", "org/b", "org/c"])
        XCTAssertEqual(read("---\nbase_model: [org/a, org/b, ]\n---\n").baseModels, ["org/a", "org/b"])
        XCTAssertEqual(read("---\nbase_model: []\n---\n").baseModels, [])
    }

    func testRelationAndOtherKeys() {
        let card = read("""
            ---
            license: apache-2.0
            widget:
            - text: "base_model: not/this"
              base_model: nor/this
            model-index:
            - name: x
              results: [{a: 1}]
            base_model: org/a
            base_model_relation: quantized
            tags: [a, b]
            ---
            body base_model: no
            """)
        XCTAssertEqual(card, FrontMatter(baseModels: ["org/a"], relation: "quantized", problem: nil))
    }

    func testLineEndingsByteOrderMarkAndAbsence() {
        XCTAssertEqual(read("\u{FEFF}---\r\nbase_model: org/a\r\n---\r\n").baseModels, ["org/a"])
        XCTAssertEqual(read("---\r\nbase_model:\r\n- org/a\r\n- org/b\r\n...\r\n").baseModels, ["org/a", "org/b"])
        XCTAssertEqual(read("---\rbase_model:\r- org/a\r---\r").baseModels, ["org/a"])      // a lone CR ends a line
        XCTAssertEqual(read("# A card\nbase_model: org/a\n"), FrontMatter())
        XCTAssertEqual(read(""), FrontMatter())
        XCTAssertEqual(read(" ---\nbase_model: org/a\n---\n"), FrontMatter())     // not at column 0: no front matter
    }

    func testNullsClaimNothing() {
        for value in ["", " ~", " null", " NULL", " # only a comment"] {
            XCTAssertEqual(read("---\nbase_model:\(value)\n---\n"), FrontMatter(), "value '\(value)'")
        }
        XCTAssertEqual(read("---\nbase_model: ''\n---\n").baseModels, [])    // an empty name is no claim
        XCTAssertEqual(read("---\nbase_model:\n- \n- org/a\n---\n").baseModels, ["org/a"])
    }

    func testRefusalsSayWhyAndKeepNothingOfThatKey() {
        let refused: [(String, String)] = [
            ("base_model: !!str org/a", "tags"),
            ("base_model: &x org/a", "anchors"),
            ("base_model: *x", "aliases"),
            ("base_model: |\n  org/a", "block scalar"),
            ("base_model: >\n  org/a", "block scalar"),
            ("base_model: org/a\n  continued", "several lines"),
            ("base_model: [org/a,\n  org/b]", "several lines"),
            ("base_model: 'org/a", "several lines"),
            ("base_model: {name: org/a}", "mapping"),
            ("base_model:\n  name: org/a", "mapping"),
            ("base_model:\n- [org/a]", "nested"),
            ("base_model:\n- - org/a", "nested"),
            ("base_model:\n- org/a\n  - org/b", "different indentations"),
            ("base_model:\n- org/a\n\t- org/b", "tab"),
            ("base_model: org/a\nbase_model: org/b", "twice"),
            ("base_model: \"org\\x41\"", "escape"),
            ("base_model: [org/a] trailing", "after"),
            ("base_model: key: value", "mapping"),
        ]
        for (yaml, reason) in refused {
            let card = read("---\n\(yaml)\nbase_model_relation: merge\n---\n")
            XCTAssertEqual(card.baseModels, [], yaml)
            XCTAssertEqual(card.relation, "merge", yaml)            // other keys still read
            XCTAssertTrue(card.problem?.contains(reason) ?? false, "\(yaml): \(card.problem ?? "no problem")")
        }
        let unclosed = read("---\nbase_model: org/a\n")
        XCTAssertEqual(unclosed.baseModels, [])
        XCTAssertTrue(unclosed.problem?.contains("not closed") ?? false)
        let relationList = read("---\nbase_model: org/a\nbase_model_relation: [a, b]\n---\n")
        XCTAssertEqual(relationList.baseModels, ["org/a"])
        XCTAssertNil(relationList.relation)
        XCTAssertNotNil(relationList.problem)
    }

    func testControlCharactersAreRefused() {
        for c in ["\u{0}", "\u{1B}", "\u{7F}", "\u{85}", "\t"] {
            let card = read("---\nbase_model: \"org/a\(c)b\"\n---\n")
            XCTAssertEqual(card.baseModels, [], "U+\(String(c.unicodeScalars.first!.value, radix: 16))")
            XCTAssertTrue(card.problem?.contains("control character") ?? false)
        }
    }

    func testInvalidUTF8IsRefused() {
        let bytes = Array("---\nbase_model: org/".utf8) + [0xFF, 0xFE] + Array("\n---\n".utf8)
        let card = FrontMatter(parsing: String(decoding: bytes, as: UTF8.self))
        XCTAssertEqual(card.baseModels, [])
        XCTAssertTrue(card.problem?.contains("UTF-8") ?? false)
    }

    /// Front matter generated from a grammar of what the reader accepts, with the names it must
    /// read known by construction; then the same texts cut and mutated at random, which must never
    /// trap and never yield a name holding a line break.
    func testGeneratedAndMutatedFrontMatter() {
        var rng = SplitMix64(seed: 0xA0D1)
        let alphabet = Array("abcXYZ019-_./:@")
        func name() -> String {
            let n = Int.random(in: 1...12, using: &rng)
            var s = String((0..<n).map { _ in alphabet.randomElement(using: &rng)! })
            while s.hasSuffix(":") || s.first == "@" || s.first == "-" || s.contains(": ") { s = "m" + s.dropLast() }
            return s
        }
        func written(_ s: String) -> String {
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: return s
            case 1: return "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
            default: return "\"" + s + "\""
            }
        }
        for round in 0..<400 {
            let names = (0..<Int.random(in: 1...4, using: &rng)).map { _ in name() }
            var text = "---\nlicense: mit\n"
            switch Int.random(in: 0..<3, using: &rng) {
            case 0 where names.count == 1: text += "base_model: \(written(names[0]))\n"
            case 1: text += "base_model: [" + names.map { written($0) }.joined(separator: ", ") + "]\n"
            default:
                let indent = String(repeating: " ", count: Int.random(in: 0...3, using: &rng))
                text += "base_model:\n" + names.map { "\(indent)- \(written($0))\n" }.joined()
            }
            text += "tags:\n- x\n---\n# card\n"
            let card = read(text)
            XCTAssertEqual(card.baseModels, names, "round \(round): \(text)")
            XCTAssertNil(card.problem, "round \(round): \(text)")

            var bytes = Array(text.utf8)
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: bytes[at] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes.insert(Array("\n-[]{}'\"#:|>&*! \t\r".utf8).randomElement(using: &rng)!, at: at)
                case 2: bytes.remove(at: at)
                default: bytes = Array(bytes[..<at])
                }
                if bytes.isEmpty { break }
            }
            let mutated = FrontMatter(parsing: String(decoding: bytes, as: UTF8.self))
            for m in mutated.baseModels {
                XCTAssertFalse(m.isEmpty || m.contains("\n") || m.contains("\r"), "round \(round): \(m)")
            }
        }
    }

    func testLongHostileTextEndsQuickly() {
        let lines = String(repeating: "base_model:\n" + String(repeating: "- [[[[\n", count: 10), count: 2_000)
        let card = read("---\n" + lines + "---\n")
        XCTAssertEqual(card.baseModels, [])
        XCTAssertNotNil(card.problem)
        XCTAssertEqual(read("---\n" + String(repeating: "x", count: 300_000)).baseModels, [])
    }
}
