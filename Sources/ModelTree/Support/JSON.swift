/// A parsed JSON value. Objects keep their keys in file order (duplicates are rejected by the parser).
///
/// The reader needs JSON for two untrusted inputs, the safetensors header and the shard index
/// (`model.safetensors.index.json`); a small parser of our own keeps Foundation out of the core.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    /// Structural equality; object members compare as a set (JSON objects are unordered, RFC 8259 §4).
    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            guard x.count == y.count else { return false }
            var other = [String: JSONValue](minimumCapacity: y.count)
            for member in y { other[member.key] = member.value }
            return x.allSatisfy { other[$0.key] == $0.value }
        default: return false
        }
    }

    /// The value for `key` when this is an object (linear search; iterate `.object` for many keys).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }
}

public enum JSONParser {
    /// Parses one JSON document (RFC 8259) from UTF-8 bytes.
    ///
    /// O(n) time. The parser is iterative (an explicit stack of open containers), so hostile
    /// nesting costs an error, never the call stack. Keep `maxDepth` modest all the same: the
    /// returned value is an enum tree whose destruction recurses once per level.
    /// - Parameters:
    ///   - bytes: the document; whitespace may surround the value, nothing else may follow it.
    ///   - maxDepth: the deepest nesting of arrays and objects accepted (a top-level `[]` is depth 1).
    ///   - maxArrayLength: the most elements an array may hold. Each element costs more memory
    ///     than its two bytes of text (`0,`), so a caller that knows its arrays are short says so.
    /// - Throws: `ModelTreeError.format` with the byte offset: invalid UTF-8, syntax error,
    ///   nesting deeper than `maxDepth`, an array longer than `maxArrayLength`, duplicate object
    ///   key, trailing garbage.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 64,
                             maxArrayLength: Int = .max) throws -> JSONValue {
        var parser = _JSONParser(bytes: bytes, maxDepth: maxDepth, maxArrayLength: maxArrayLength)
        return try parser.parseDocument()
    }

    public static func parse(_ text: String, maxDepth: Int = 64, maxArrayLength: Int = .max) throws -> JSONValue {
        var text = text
        return try text.withUTF8 { try parse(UnsafeRawBufferPointer($0), maxDepth: maxDepth, maxArrayLength: maxArrayLength) }
    }
}

/// The parser's state: a cursor over the bytes and the containers that are still open.
private struct _JSONParser {
    /// An array or object that has been opened and not yet closed (a class, so that appending
    /// to the innermost one on the stack happens in place).
    private final class Container {
        let isArray: Bool
        var elements: [JSONValue] = []
        var members: [(key: String, value: JSONValue)] = []
        /// The object's keys so far, for the duplicate check.
        var keys: Set<String> = []
        /// The object key whose value is being parsed.
        var pendingKey = ""

        init(isArray: Bool) { self.isArray = isArray }
        var close: UInt8 { isArray ? UInt8(ascii: "]") : UInt8(ascii: "}") }
        var value: JSONValue { isArray ? .array(elements) : .object(members) }
    }

    let bytes: UnsafeRawBufferPointer
    let maxDepth: Int
    let maxArrayLength: Int
    var pos = 0

    init(bytes: UnsafeRawBufferPointer, maxDepth: Int, maxArrayLength: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
        self.maxArrayLength = maxArrayLength
    }

    private func fail(_ what: String, at offset: Int? = nil) -> ModelTreeError {
        .format("JSON: \(what) at byte \(offset ?? pos)")
    }

    private var peek: UInt8? { pos < bytes.count ? bytes[pos] : nil }

    private mutating func skipWhitespace() {
        while let c = peek, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { pos += 1 }
    }

    private mutating func expect(_ c: UInt8, _ what: String) throws {
        skipWhitespace()
        guard peek == c else { throw fail(peek == nil ? "unexpected end, expected \(what)" : "expected \(what)") }
        pos += 1
    }

    mutating func parseDocument() throws -> JSONValue {
        var stack: [Container] = []
        nextValue: while true {
            skipWhitespace()
            var value: JSONValue
            if let open = peek, open == UInt8(ascii: "[") || open == UInt8(ascii: "{") {
                guard stack.count < maxDepth else { throw fail("nesting deeper than \(maxDepth)") }
                pos += 1
                skipWhitespace()
                let container = Container(isArray: open == UInt8(ascii: "["))
                if peek == container.close {
                    pos += 1
                    value = container.value
                } else {
                    if !container.isArray { container.pendingKey = try parseKey(into: &container.keys) }
                    stack.append(container)
                    continue nextValue
                }
            } else {
                value = try parseScalar()
            }
            // A value is complete: hand it to the innermost open container, closing as many as end here.
            while let top = stack.last {
                if top.isArray {
                    guard top.elements.count < maxArrayLength else { throw fail("array longer than \(maxArrayLength) elements") }
                    top.elements.append(value)
                } else { top.members.append((top.pendingKey, value)) }
                skipWhitespace()
                if peek == UInt8(ascii: ",") {
                    pos += 1
                    if !top.isArray { top.pendingKey = try parseKey(into: &top.keys) }
                    continue nextValue
                }
                let close = Character(Unicode.Scalar(top.close))
                guard peek == top.close else {
                    throw fail(peek == nil ? "unexpected end, expected ',' or '\(close)'" : "expected ',' or '\(close)'")
                }
                pos += 1
                value = top.value
                stack.removeLast()
            }
            skipWhitespace()
            guard pos == bytes.count else { throw fail("trailing characters after the value") }
            return value
        }
    }

    /// Parses `"key" :` inside an object whose keys so far are `keys`, rejecting a repeated key:
    /// RFC 8259 §4 leaves duplicates to the implementation, and in a safetensors header a second
    /// entry for one tensor name would silently shadow the first.
    private mutating func parseKey(into keys: inout Set<String>) throws -> String {
        skipWhitespace()
        let start = pos
        guard peek == UInt8(ascii: "\"") else { throw fail(peek == nil ? "unexpected end, expected a string key" : "expected a string key") }
        let key = try parseString()
        guard keys.insert(key).inserted else { throw fail("duplicate key '\(key)'", at: start) }
        try expect(UInt8(ascii: ":"), "':'")
        return key
    }

    private mutating func parseScalar() throws -> JSONValue {
        guard let c = peek else { throw fail("unexpected end, expected a value") }
        switch c {
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw fail("unexpected character, expected a value")
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let start = pos
        for i in 0..<word.utf8CodeUnitCount {
            guard peek == word.utf8Start[i] else { throw fail("invalid literal, expected '\(word)'", at: start) }
            pos += 1
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?` (RFC 8259 §6); the value must be finite.
    private mutating func parseNumber() throws -> Double {
        let start = pos
        func digits(_ p: inout _JSONParser) -> Int {
            let from = p.pos
            while let c = p.peek, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") { p.pos += 1 }
            return p.pos - from
        }
        if peek == UInt8(ascii: "-") { pos += 1 }
        if peek == UInt8(ascii: "0") {
            pos += 1
            if let c = peek, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") { throw fail("leading zero in number", at: start) }
        } else if digits(&self) == 0 {
            throw fail("invalid number", at: start)
        }
        if peek == UInt8(ascii: ".") {
            pos += 1
            guard digits(&self) > 0 else { throw fail("expected a digit after '.'") }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            pos += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { pos += 1 }
            guard digits(&self) > 0 else { throw fail("expected a digit in the exponent") }
        }
        // The grammar above is a subset of what Double's parser accepts, so this cannot fail.
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw fail("number out of range", at: start) }
        return value
    }

    /// Parses a string starting at its opening quote: escapes (with UTF-16 surrogate pairs) are
    /// decoded, raw bytes are validated as UTF-8, control characters are rejected (RFC 8259 §7).
    private mutating func parseString() throws -> String {
        let start = pos
        pos += 1
        var out: [UInt8] = []
        while true {
            guard let c = peek else { throw fail("unterminated string", at: start) }
            switch c {
            case UInt8(ascii: "\""):
                pos += 1
                return String(decoding: out, as: UTF8.self)    // already validated
            case UInt8(ascii: "\\"):
                pos += 1
                try parseEscape(into: &out)
            case 0..<0x20:
                throw fail("unescaped control character in string")
            case 0..<0x80:
                out.append(c)
                pos += 1
            default:
                let n = try utf8SequenceLength()
                out.append(contentsOf: bytes[pos..<pos + n])
                pos += n
            }
        }
    }

    private mutating func parseEscape(into out: inout [UInt8]) throws {
        let escapeStart = pos - 1
        guard let c = peek else { throw fail("unterminated string") }
        pos += 1
        let simple: UInt8?
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): simple = c
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"): simple = nil
        default: throw fail("invalid escape", at: escapeStart)
        }
        if let simple { out.append(simple); return }
        var scalar = UInt32(try hex4())
        if (0xD800...0xDBFF).contains(scalar) {
            // A high surrogate must be followed by an escaped low surrogate (RFC 8259 §7).
            guard peek == UInt8(ascii: "\\"), pos + 1 < bytes.count, bytes[pos + 1] == UInt8(ascii: "u") else {
                throw fail("unpaired surrogate \\u\(String(scalar, radix: 16))", at: escapeStart)
            }
            pos += 2
            let low = UInt32(try hex4())
            guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired surrogate \\u\(String(scalar, radix: 16))", at: escapeStart) }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00...0xDFFF).contains(scalar) {
            throw fail("unpaired surrogate \\u\(String(scalar, radix: 16))", at: escapeStart)
        }
        out.append(contentsOf: Unicode.Scalar(scalar)!.utf8)
    }

    private mutating func hex4() throws -> UInt16 {
        var value: UInt16 = 0
        for _ in 0..<4 {
            guard let c = peek else { throw fail("unterminated \\u escape") }
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: throw fail("invalid hex digit in \\u escape")
            }
            value = value << 4 | UInt16(digit)
            pos += 1
        }
        return value
    }

    /// Length of the well-formed UTF-8 sequence at `pos` (lead byte ≥ 0x80), per the table of
    /// well-formed byte sequences in The Unicode Standard §3.9 (Table 3-7): no overlong forms,
    /// no surrogates, nothing above U+10FFFF.
    private func utf8SequenceLength() throws -> Int {
        let lead = bytes[pos]
        let n: Int
        var low: UInt8 = 0x80, high: UInt8 = 0xBF      // range of the second byte
        switch lead {
        case 0xC2...0xDF: n = 2
        case 0xE0: n = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: n = 3
        case 0xED: n = 3; high = 0x9F
        case 0xF0: n = 4; low = 0x90
        case 0xF1...0xF3: n = 4
        case 0xF4: n = 4; high = 0x8F
        default: throw fail("invalid UTF-8")
        }
        guard pos + n <= bytes.count else { throw fail("invalid UTF-8 (truncated sequence)") }
        guard (low...high).contains(bytes[pos + 1]) else { throw fail("invalid UTF-8") }
        for i in 2..<max(n, 2) where !(0x80...0xBF).contains(bytes[pos + i]) { throw fail("invalid UTF-8") }
        return n
    }
}
