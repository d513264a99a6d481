// OWNER: reader helper. Stub signatures; replace the bodies.

/// A parsed JSON value. Objects keep their keys in file order (duplicates are rejected by the parser).
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool { fatalError("stub") }

    /// The value for `key` when this is an object.
    public subscript(key: String) -> JSONValue? { fatalError("stub") }
}

public enum JSONParser {
    /// Parses one JSON document (RFC 8259) from UTF-8 bytes.
    /// - Throws: `ModelTreeError.format` with the byte offset: invalid UTF-8, syntax error,
    ///   nesting deeper than `maxDepth`, duplicate object key, trailing garbage.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 64) throws -> JSONValue { fatalError("stub") }
    public static func parse(_ text: String, maxDepth: Int = 64) throws -> JSONValue { fatalError("stub") }
}
