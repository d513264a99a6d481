/// What a model card's YAML front matter says the model was made from: Hugging Face's
/// `base_model:` (one name or a list) and `base_model_relation:` — read by a small, strict reader
/// of just these keys, not a YAML parser (the core has none, and a card is a stranger's text).
///
/// What is accepted (YAML 1.2 where it is used; anything else is refused with a reason, never
/// guessed at):
/// - the card starts with a line `---` (after an optional UTF-8 byte order mark); the front matter
///   ends at the next line that is `---` or `...`. Lines end in LF, CRLF or CR;
/// - a top-level entry is a line at column 0 of the form `key:` or `key: value` (the key plain or
///   simply quoted); blank lines and `#` comments are skipped; lines that are indented or start
///   with `-` belong to the entry above. Only `base_model` and `base_model_relation` are read:
///   the other entries (widgets, eval results, any YAML at all) are skipped without a look;
/// - a value is a scalar on the key's line — plain (up to a ` #` comment), 'single-quoted' (`''`
///   for a quote) or "double-quoted" (escapes `\"`, `\\`, `\/`, `\t`, `\n`) — or `~`, `null` or
///   nothing (no claim); or a flow sequence `[a, 'b', "c"]` on the key's line; or, when the key's
///   line has no value, a block sequence of `- item` lines (each item a scalar as above) below it.
///
/// Refused (`problem` says which, and no claim of that key is kept): tags, anchors and aliases
/// (`!`, `&`, `*`), block scalars (`|`, `>`), a scalar or flow sequence over several lines,
/// nested sequences or mappings, a key given twice, a tab in an indentation, text that is not
/// UTF-8, control characters in a value, front matter not closed within the first `maxBytes` of the card.
public struct FrontMatter: Equatable, Sendable {
    /// The names `base_model:` gives, in order (empty strings dropped).
    public var baseModels: [String] = []
    /// `base_model_relation:`, when given (Hugging Face: adapter, merge, quantized, finetune).
    public var relation: String?
    /// Why some of the front matter could not be read; nil when all of it could.
    public var problem: String?

    /// How much of a card is read: front matter sits at its top, and a card may be megabytes.
    public static let maxBytes = 256 << 10

    public init(baseModels: [String] = [], relation: String? = nil, problem: String? = nil) {
        self.baseModels = baseModels; self.relation = relation; self.problem = problem
    }

    /// Reads the front matter at the start of `text` (a card without front matter claims nothing).
    /// O(n) in the length of the text; never traps.
    public init(parsing text: Substring) {
        // YAML's line breaks are LF, CRLF and a lone CR (YAML 1.2 §5.4); "\r\n" is one Character to Swift.
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
        guard var first = lines.first else { return }
        if first.hasPrefix("\u{FEFF}") { first = first.dropFirst() }
        guard first == "---" else { return }
        lines.removeFirst()
        guard let end = lines.firstIndex(where: { $0 == "---" || $0 == "..." }) else {
            problem = "the front matter (from the first line '---') is not closed by a line '---' within the first \(Self.maxBytes) bytes"
            return
        }
        var reader = _FrontMatterReader(lines: Array(lines[..<end]))
        reader.read()
        baseModels = reader.models.filter { !$0.isEmpty }
        relation = reader.relation
        problem = reader.problems.isEmpty ? nil : reader.problems.joined(separator: "; ")
        if reader.refusedModels { baseModels = [] }
        if reader.refusedRelation { relation = nil }
    }

    public init(parsing text: String) { self.init(parsing: text[...]) }
}

/// The line-by-line reading behind `FrontMatter.init(parsing:)`.
private struct _FrontMatterReader {
    let lines: [Substring]
    var models: [String] = []
    var relation: String?
    var problems: [String] = []
    var refusedModels = false
    var refusedRelation = false

    init(lines: [Substring]) { self.lines = lines }

    /// Why a value cannot be read (the reading of its key stops).
    struct Refusal: Error { var reason: String }

    mutating func read() {
        var seen = Set<String>()
        var i = 0
        while i < lines.count {
            let line = lines[i]
            i += 1
            guard let key = Self.topLevelKey(line) else { continue }
            // The entry's own lines: the indented, `-` and blank ones up to the next top-level line.
            var body: [Substring] = []
            while i < lines.count, Self.topLevelKey(lines[i]) == nil, !Self.isTopLevelOther(lines[i]) {
                body.append(lines[i]); i += 1
            }
            guard key.name == "base_model" || key.name == "base_model_relation" else { continue }
            guard seen.insert(key.name).inserted else {
                refuse(key.name, "'\(key.name)' is given twice")
                continue
            }
            do {
                let values = try Self.values(inline: key.rest, body: body)
                if key.name == "base_model" {
                    models = values ?? []
                } else if let values {
                    guard values.count == 1 else { throw Refusal(reason: "a list, not one relation") }
                    relation = values[0]
                }
            } catch let refusal as Refusal {
                refuse(key.name, "'\(key.name)': \(refusal.reason)")
            } catch {
                refuse(key.name, "'\(key.name)': unreadable")
            }
        }
    }

    private mutating func refuse(_ key: String, _ reason: String) {
        problems.append(reason)
        if key == "base_model" { refusedModels = true } else { refusedRelation = true }
    }

    /// A line at column 0 that is neither a key, a comment nor a sequence item: plain text that
    /// is no YAML we read; it ends the entry above it.
    static func isTopLevelOther(_ line: Substring) -> Bool {
        guard let c = line.first else { return false }
        return c != " " && c != "\t" && c != "#" && c != "-"
    }

    /// `key` and what follows its colon, for a line at column 0 of the form `key:` / `key: …`.
    static func topLevelKey(_ line: Substring) -> (name: String, rest: Substring)? {
        guard let c = line.first, c != " ", c != "\t", c != "#", c != "-" else { return nil }
        if c == "\"" || c == "'" {
            // A simply quoted key: "base_model": …
            let body = line.dropFirst()
            guard let close = body.firstIndex(of: c) else { return nil }
            let after = body[body.index(after: close)...]
            guard after.hasPrefix(":") else { return nil }
            let rest = after.dropFirst()
            guard rest.isEmpty || rest.first == " " || rest.first == "\t" else { return nil }
            return (String(body[..<close]), rest)
        }
        var index = line.startIndex
        while index < line.endIndex {
            if line[index] == ":" {
                let next = line.index(after: index)
                if next == line.endIndex || line[next] == " " || line[next] == "\t" {
                    return (String(line[..<index]), line[next...])
                }
            }
            index = line.index(after: index)
        }
        return nil
    }

    /// The strings a value holds: one for a scalar, several for a sequence, nil for null.
    static func values(inline: Substring, body: [Substring]) throws -> [String]? {
        let content = body.filter { !isBlankOrComment($0) }
        let text = trimmed(inline)
        if !text.isEmpty && text.first != "#" {
            if text.first == "|" || text.first == ">" { throw Refusal(reason: "a block scalar, not a name") }
            guard content.isEmpty else {
                throw Refusal(reason: text.first == "[" ? "a flow sequence over several lines" : "a value over several lines")
            }
            if text.first == "[" { return try flowSequence(text) }
            let (value, rest) = try scalar(text, inFlow: false)
            guard endsLine(rest) else { throw Refusal(reason: "unexpected text after the value") }
            return value.map { [$0] }
        }
        guard !content.isEmpty else { return nil }     // `key:` and nothing: null
        // A block sequence: every line an item `- scalar` at one indentation.
        var indentation: Int?
        var items: [String] = []
        for line in content {
            let spaces = line.prefix { $0 == " " }
            if line.dropFirst(spaces.count).first == "\t" { throw Refusal(reason: "a tab in an indentation") }
            let item = line.dropFirst(spaces.count)
            guard item == "-" || item.hasPrefix("- ") else {
                throw Refusal(reason: indentation == nil ? "a mapping or a value over several lines, not a name or a list of names"
                                                          : "an item over several lines")
            }
            if let indentation, indentation != spaces.count { throw Refusal(reason: "list items at different indentations") }
            indentation = spaces.count
            let text = trimmed(item.dropFirst())
            if text.isEmpty || text.first == "#" { continue }          // an empty item: null
            if text.first == "[" || text.hasPrefix("- ") || text == "-" { throw Refusal(reason: "a nested sequence") }
            let (value, rest) = try scalar(text, inFlow: false)
            guard endsLine(rest) else { throw Refusal(reason: "unexpected text after a list item") }
            if let value { items.append(value) }
        }
        return items
    }

    /// `[a, 'b', "c"]` on one line.
    static func flowSequence(_ text: Substring) throws -> [String] {
        var rest = trimmed(text.dropFirst())
        var items: [String] = []
        if rest.first == "]" {
            guard endsLine(rest.dropFirst()) else { throw Refusal(reason: "unexpected text after ']'") }
            return []
        }
        while true {
            guard let c = rest.first else { throw Refusal(reason: "a flow sequence over several lines") }
            if c == "[" || c == "{" { throw Refusal(reason: "a nested sequence or mapping") }
            let (value, after) = try scalar(rest, inFlow: true)
            if let value { items.append(value) }
            rest = trimmed(after)
            guard let separator = rest.first else { throw Refusal(reason: "a flow sequence over several lines") }
            rest = trimmed(rest.dropFirst())
            if separator == "]" {
                guard endsLine(rest) else { throw Refusal(reason: "unexpected text after ']'") }
                return items
            }
            guard separator == "," else { throw Refusal(reason: "expected ',' or ']' in a flow sequence") }
            if rest.first == "]" {                                  // a trailing comma: [a, b, ]
                guard endsLine(rest.dropFirst()) else { throw Refusal(reason: "unexpected text after ']'") }
                return items
            }
        }
    }

    /// One scalar at the start of `text` (trimmed on the left) and what follows it; nil for null.
    static func scalar(_ text: Substring, inFlow: Bool) throws -> (String?, Substring) {
        guard let c = text.first else { return (nil, text) }
        switch c {
        case "'":
            var out = ""
            var rest = text.dropFirst()
            while true {
                guard let close = rest.firstIndex(of: "'") else { throw Refusal(reason: "a quoted value over several lines") }
                out += rest[..<close]
                rest = rest[rest.index(after: close)...]
                guard rest.first == "'" else { return (try utf8(out), rest) }
                out += "'"; rest = rest.dropFirst()
            }
        case "\"":
            var out = ""
            var rest = text.dropFirst()
            while let ch = rest.first {
                rest = rest.dropFirst()
                if ch == "\"" { return (try utf8(out), rest) }
                guard ch == "\\" else { out.append(ch); continue }
                guard let escaped = rest.first else { break }
                rest = rest.dropFirst()
                switch escaped {
                case "\"", "\\", "/": out.append(escaped)
                case "t": out.append("\t")
                case "n": out.append("\n")
                default: throw Refusal(reason: "an escape '\\\(escaped)' this reader does not decode")
                }
            }
            throw Refusal(reason: "a quoted value over several lines")
        case "!", "&", "*": throw Refusal(reason: "tags, anchors and aliases are not read")
        case "|", ">": throw Refusal(reason: "a block scalar, not a name")
        case "{": throw Refusal(reason: "a mapping, not a name")
        case "@", "`", "%": throw Refusal(reason: "a plain value may not start with '\(c)'")
        default:
            // Plain: up to a comment (` #`), or in a sequence up to ',' or ']'.
            var end = text.startIndex
            var previous: Character = " "
            while end < text.endIndex {
                let ch = text[end]
                if ch == "#" && (previous == " " || previous == "\t") { break }
                if inFlow && (ch == "," || ch == "]") { break }
                if inFlow && (ch == "[" || ch == "{") { throw Refusal(reason: "a nested sequence or mapping") }
                previous = ch
                end = text.index(after: end)
            }
            let value = trimmed(text[..<end])
            if value.contains(": ") || value.hasSuffix(":") { throw Refusal(reason: "a mapping, not a name") }
            if ["~", "null", "Null", "NULL"].contains(value) { return (nil, text[end...]) }
            return (try utf8(String(value)), text[value.endIndex...])
        }
    }

    /// `s`, unless it holds a character decoded from bytes that were not UTF-8, or a control
    /// character (YAML allows none but tab in a document, §5.1; a name has no tab either).
    static func utf8(_ s: String) throws -> String {
        guard !s.unicodeScalars.contains("\u{FFFD}") else { throw Refusal(reason: "not valid UTF-8") }
        guard !s.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else {
            throw Refusal(reason: "a control character in a name")
        }
        return s
    }

    static func trimmed(_ s: Substring) -> Substring {
        var s = s
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }

    /// Whether nothing but spaces and a comment (a `#` after a space) is left on the line.
    static func endsLine(_ rest: Substring) -> Bool {
        let t = trimmed(rest)
        return t.isEmpty || (t.first == "#" && t.startIndex != rest.startIndex)
    }

    static func isBlankOrComment(_ line: Substring) -> Bool {
        let t = trimmed(line)
        return t.isEmpty || t.first == "#"
    }
}
