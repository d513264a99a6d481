import Testing
@testable import ModelTree

@Suite struct JSONTests {
    private func parse(_ text: String, maxDepth: Int = 64) throws -> JSONValue {
        try JSONParser.parse(text, maxDepth: maxDepth)
    }

    private func parseBytes(_ bytes: [UInt8], maxDepth: Int = 64) throws -> JSONValue {
        try bytes.withUnsafeBytes { try JSONParser.parse($0, maxDepth: maxDepth) }
    }

    @Test func scalarsAndContainers() throws {
        #expect(try parse("null") == .null)
        #expect(try parse(" true ") == .bool(true))
        #expect(try parse("\tfalse\r\n") == .bool(false))
        #expect(try parse("[]") == .array([]))
        #expect(try parse("{}") == .object([]))
        #expect(try parse(#"[1, "a", [null], {"k": false}]"#)
                == .array([.number(1), .string("a"), .array([.null]), .object([("k", .bool(false))])]))
        let object = try parse(#"{"b": 2, "a": {"c": [3]}}"#)
        #expect(object["b"] == .number(2))
        #expect(object["a"]?["c"] == .array([.number(3)]))
        #expect(object["z"] == nil)
        #expect(JSONValue.number(1)["a"] == nil)
        guard case .object(let members) = object else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["b", "a"])   // file order kept
    }

    @Test func equalityIgnoresMemberOrder() throws {
        #expect(try parse(#"{"a": 1, "b": [2]}"#) == parse(#"{"b": [2], "a": 1}"#))
        #expect(try parse(#"{"a": 1}"#) != parse(#"{"a": 2}"#))
        #expect(try parse(#"{"a": 1}"#) != parse(#"{"b": 1}"#))
        #expect(try parse(#"{"a": 1}"#) != parse(#"{"a": 1, "b": 1}"#))
        #expect(try parse("[1, 2]") != parse("[2, 1]"))
        #expect(JSONValue.null != .bool(false))
    }

    @Test func numbers() throws {
        let cases: [(String, Double)] = [
            ("0", 0), ("-0", -0.0), ("7", 7), ("-12.5e-1", -1.25), ("1E+2", 100), ("1e2", 100),
            ("0.1", 0.1), ("4503599627370497", 4503599627370497), ("2.5E-3", 0.0025),
            ("9007199254740993", 9007199254740992),   // nearest Double, as any JSON reader
        ]
        for (text, value) in cases {
            #expect(try parse(text) == .number(value), "\(text)")
        }
        for bad in ["01", "-01", "00", "-", "+1", ".5", "1.", "1.e3", "1e", "1e+", "NaN", "Infinity", "-Infinity", "0x10", "1_000"] {
            expectError(.format) { _ = try parse(bad) }
        }
        expectError(.format, "leading zero", "byte 1") { _ = try parse("[01]") }
        expectError(.format, "out of range") { _ = try parse("1e400") }
        expectError(.format, "out of range") { _ = try parse("-1e400") }
    }

    @Test func strings() throws {
        #expect(try parse(#""a\"b\\c\/d\b\f\n\r\t""#) == .string("a\"b\\c/d\u{8}\u{c}\n\r\t"))
        #expect(try parse(#""\u00e9\u4E2D""#) == .string("é中"))
        #expect(try parse(#""\ud83d\ude00""#) == .string("😀"))     // surrogate pair
        #expect(try parse(#""\u0000""#) == .string("\u{0}"))
        #expect(try parse("\"é中😀\"") == .string("é中😀"))      // raw UTF-8
        expectError(.format, "unpaired surrogate") { _ = try parse(#""\ud83d""#) }
        expectError(.format, "unpaired surrogate") { _ = try parse(#""\ud83dx""#) }
        expectError(.format, "unpaired surrogate") { _ = try parse(#""\ud83d\u0041""#) }
        expectError(.format, "unpaired surrogate") { _ = try parse(#""\ude00""#) }
        expectError(.format, "invalid escape", "byte 2") { _ = try parse(#""a\x""#) }
        expectError(.format, "hex digit") { _ = try parse(#""\u12g4""#) }
        expectError(.format, "control character", "byte 2") { _ = try parse("\"a\nb\"") }
        expectError(.format, "unterminated string", "byte 0") { _ = try parse("\"abc") }
        expectError(.format, "unterminated") { _ = try parse("\"\\u12") }
    }

    @Test func invalidUTF8IsRejectedWithItsOffset() throws {
        let quote = UInt8(ascii: "\"")
        let bad: [[UInt8]] = [
            [0x80],                     // continuation byte without a lead
            [0xC0, 0x80],               // overlong NUL
            [0xC1, 0xBF],               // overlong
            [0xE0, 0x80, 0x80],         // overlong 3-byte
            [0xED, 0xA0, 0x80],         // UTF-16 surrogate U+D800 encoded in UTF-8
            [0xF0, 0x80, 0x80, 0x80],   // overlong 4-byte
            [0xF4, 0x90, 0x80, 0x80],   // above U+10FFFF
            [0xF5, 0x80, 0x80, 0x80],   // invalid lead byte
            [0xFF],
            [0xE2, 0x82],               // truncated (then the closing quote)
            [0xC3, 0x28],               // bad continuation
        ]
        for sequence in bad {
            expectError(.format, "invalid UTF-8", "byte 2") { _ = try parseBytes([quote, 0x61] + sequence + [quote]) }
        }
        // Non-ASCII outside strings is a syntax error.
        expectError(.format, "byte 0") { _ = try parseBytes([0xC3, 0xA9]) }
        // Boundary values of each sequence length are accepted.
        let good: [([UInt8], String)] = [
            ([0xC2, 0x80], "\u{80}"), ([0xDF, 0xBF], "\u{7FF}"), ([0xE0, 0xA0, 0x80], "\u{800}"),
            ([0xED, 0x9F, 0xBF], "\u{D7FF}"), ([0xEE, 0x80, 0x80], "\u{E000}"), ([0xEF, 0xBF, 0xBF], "\u{FFFF}"),
            ([0xF0, 0x90, 0x80, 0x80], "\u{10000}"), ([0xF4, 0x8F, 0xBF, 0xBF], "\u{10FFFF}"),
        ]
        for (sequence, expected) in good {
            #expect(try parseBytes([quote] + sequence + [quote]) == .string(expected))
        }
    }

    @Test func syntaxErrorsNameTheirOffset() {
        expectError(.format, "expected ',' or ']'", "byte 3") { _ = try parse("[1 2]") }
        expectError(.format, "expected a value", "byte 4") { _ = try parse("[1, x]") }
        expectError(.format, "byte 3") { _ = try parse("[1,]") }
        expectError(.format, "expected a string key") { _ = try parse(#"{"a": 1,}"#) }
        expectError(.format, "expected ':'") { _ = try parse(#"{"a" 1}"#) }
        expectError(.format, "expected a string key") { _ = try parse("{1: 2}") }
        expectError(.format, "unexpected end") { _ = try parse("[1") }
        expectError(.format, "unexpected end") { _ = try parse(#"{"a":"#) }
        expectError(.format, "unexpected end") { _ = try parse("") }
        expectError(.format, "unexpected end") { _ = try parse("   ") }
        expectError(.format, "invalid literal") { _ = try parse("nul") }
        expectError(.format, "unexpected character", "byte 0") { _ = try parse("True") }
        expectError(.format, "trailing characters", "byte 2") { _ = try parse("1 x") }
        expectError(.format, "trailing characters") { _ = try parse("{} {}") }
        expectError(.format, "trailing characters") { _ = try parse("[]]") }
        expectError(.format, "trailing characters") { _ = try parseBytes([0x31, 0x00]) }
    }

    @Test func duplicateKeysAreRejectedByName() throws {
        expectError(.format, "duplicate key 'a'", "byte 9") { _ = try parse(#"{"a": 1, "a": 2}"#) }
        expectError(.format, "duplicate key 'w'") { _ = try parse(#"{"x": {"w": 1, "v": 2, "w": 3}}"#) }
        // Escapes are decoded before comparing: "\u0061" is "a".
        expectError(.format, "duplicate key 'a'") { _ = try parse(#"{"a": 1, "\u0061": 2}"#) }
        // The same key in different objects is fine.
        #expect(try parse(#"[{"a": 1}, {"a": 2}, {"b": {"a": 3}, "a": 4}]"#) != .null)
    }

    @Test func depthIsCapped() throws {
        #expect(try parse("[[[]]]", maxDepth: 3) == .array([.array([.array([])])]))
        expectError(.format, "nesting deeper than 3", "byte 3") { _ = try parse("[[[[]]]]", maxDepth: 3) }
        expectError(.format, "nesting deeper than 2") { _ = try parse(#"{"a": {"b": {}}}"#, maxDepth: 2) }
        #expect(try parse(#"{"a": {"b": {}}}"#, maxDepth: 3)["a"]?["b"] == .object([]))
        expectError(.format, "nesting deeper than 0") { _ = try parse("[]", maxDepth: 0) }
        #expect(try parse("1", maxDepth: 0) == .number(1))
    }

    @Test func hostileNestingDoesNotOverflowTheStack() {
        let n = 100_000
        expectError(.format, "nesting deeper than 64") { _ = try parse(String(repeating: "[", count: n)) }
        expectError(.format, "nesting deeper than 64") { _ = try parse(String(repeating: #"{"a":"#, count: n)) }
        // Balanced, too: the error comes at the first level past the cap, long before the end.
        expectError(.format, "nesting deeper than 64") {
            _ = try parse(String(repeating: "[", count: n) + String(repeating: "]", count: n))
        }
        // The parser itself is iterative: a generous cap still parses deep input.
        #expect(throws: Never.self) {
            _ = try parse(String(repeating: "[", count: 1_000) + String(repeating: "]", count: 1_000), maxDepth: 1_000)
        }
    }
}
