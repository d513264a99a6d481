import Foundation

/// Writes safetensors fixtures for the reader's tests, independently of the reader: the header is
/// assembled as text and the layout follows the format description (huggingface/safetensors
/// README): u64 LE header length, JSON header, data section.
enum SafetensorsWriter {
    struct Tensor {
        var name: String
        var dtype: String
        var shape: [Int]
        var bytes: [UInt8]
    }

    /// The bytes of a well-formed file holding `tensors` back to back in the given order.
    /// - Parameters:
    ///   - padding: spaces appended to the header (writers pad it to align the data section).
    ///   - leading: bytes of an extra U8 tensor named "_pad" placed first, to misalign the rest.
    static func file(_ tensors: [Tensor], metadata: [String: String]? = nil, padding: Int = 0) -> [UInt8] {
        var entries: [String] = []
        if let metadata {
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\(quote($0.key)):\(quote($0.value))" }
            entries.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        var data: [UInt8] = []
        for t in tensors {
            entries.append("\(quote(t.name)):{\"dtype\":\"\(t.dtype)\",\"shape\":\(t.shape),\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}")
            offset += t.bytes.count
            data += t.bytes
        }
        let header = "{" + entries.joined(separator: ",") + "}" + String(repeating: " ", count: padding)
        return raw(header: Array(header.utf8), data: data)
    }

    /// A file from a header given verbatim (for hostile headers) and a data section.
    static func raw(header: [UInt8], data: [UInt8], declaredLength: UInt64? = nil) -> [UInt8] {
        let n = declaredLength ?? UInt64(header.count)
        return withUnsafeBytes(of: n.littleEndian) { Array($0) } + header + data
    }

    static func raw(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
        raw(header: Array(header.utf8), data: data, declaredLength: declaredLength)
    }

    static func quote(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// Little-endian bytes of fixed-width values.
    static func bytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    }
}

/// A fresh temporary folder, removed when the object dies.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("modeltree-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `bytes` at `relative` (creating folders) and returns the full path.
    @discardableResult
    func write(_ relative: String, _ bytes: [UInt8]) throws -> String {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: full, contents: Data(bytes)) else {
            throw CocoaError(.fileWriteUnknown)
        }
        return full
    }

    @discardableResult
    func write(_ relative: String, text: String) throws -> String { try write(relative, Array(text.utf8)) }

    @discardableResult
    func mkdir(_ relative: String) throws -> String {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        return full
    }
}
