import Foundation

/// The committed fixtures under `Tests/fixtures/` (made by the scripts beside them).
enum Fixtures {
    /// `Tests/fixtures/<relative>`.
    static func path(_ relative: String) -> String {
        URL(fileURLWithPath: #filePath)                  // Tests/ModelTreeTests/Support/Fixtures.swift
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fixtures").appendingPathComponent(relative).path
    }

    static func bytes(_ relative: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(relative))))
    }

    /// A JSON fixture through Foundation's parser (independent of the library's).
    static func json(_ relative: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path(relative))))
    }
}

/// Little-endian byte strings for hand-built binary fixtures.
enum LE {
    static func u16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func f32(_ v: Float) -> [UInt8] { u32(v.bitPattern) }
    static func f32s(_ v: [Float]) -> [UInt8] { v.flatMap(f32) }
}
