/// Every failure the engine reports. Each case maps one-to-one onto a `modeltree_status_t` value of
/// `include/modeltree.h`, and carries the one-line message a user sees.
public enum ModelTreeError: Error, Equatable, CustomStringConvertible {
    /// The caller passed something that can never work (an empty collection, a bad option).
    case invalidArgument(String)
    /// The file system refused: a path that does not exist, a read that failed.
    case io(String)
    /// A checkpoint or JSON file is malformed.
    case format(String)
    /// The models cannot be compared (no tensor in common, …).
    case incompatibleModels(String)
    /// An allocation the engine needed was refused or would exceed a limit.
    case outOfMemory(String)
    /// The progress callback asked to stop.
    case cancelled
    /// A bug in the engine: an invariant did not hold.
    case `internal`(String)

    /// The message on one line: names quoted from files or callers may hold line breaks and other
    /// control characters, which come out escaped (`singleLine`).
    public var message: String {
        switch self {
        case .invalidArgument(let m), .io(let m), .format(let m), .incompatibleModels(let m),
             .outOfMemory(let m), .internal(let m):
            return singleLine(m)
        case .cancelled:
            return "cancelled by the progress callback"
        }
    }

    public var description: String { message }
}

/// `text` with every control character (C0, DEL, C1, and the Unicode line and paragraph
/// separators) written as an escape — `\n`, `\r`, `\t` or `\u{…}` — so that a message quoting a
/// hostile tensor name stays one line in a log or on a terminal.
public func singleLine(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: isControl) else { return text }
    var out = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where isControl(scalar): out += "\\u{" + String(scalar.value, radix: 16) + "}"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}

private func isControl(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
}
