/// Encodes protobuf messages field by field from the wire-format description (protobuf.dev,
/// "Encoding"), independently of the reader, for hand-built and hostile ONNX models.
enum PB {
    static func varint(_ v: UInt64) -> [UInt8] {
        var v = v, out: [UInt8] = []
        repeat {
            let b = UInt8(v & 0x7F)
            v >>= 7
            out.append(v == 0 ? b : b | 0x80)
        } while v != 0
        return out
    }

    static func key(_ field: Int, _ wire: Int) -> [UInt8] { varint(UInt64(field << 3 | wire)) }
    static func int(_ field: Int, _ v: Int64) -> [UInt8] { key(field, 0) + varint(UInt64(bitPattern: v)) }
    static func bytes(_ field: Int, _ payload: [UInt8]) -> [UInt8] { key(field, 2) + varint(UInt64(payload.count)) + payload }
    static func string(_ field: Int, _ s: String) -> [UInt8] { bytes(field, Array(s.utf8)) }
    static func fixed32(_ field: Int, _ v: UInt32) -> [UInt8] { key(field, 5) + LE.u32(v) }
    static func packed(_ field: Int, _ values: [Int64]) -> [UInt8] { bytes(field, values.flatMap { varint(UInt64(bitPattern: $0)) }) }

    /// A TensorProto: dims (packed), data_type, name, then `rest` (data fields).
    static func tensor(_ name: String, type: Int, dims: [Int64], _ rest: [UInt8] = []) -> [UInt8] {
        (dims.isEmpty ? [] : packed(1, dims)) + int(2, Int64(type)) + string(8, name) + rest
    }

    /// external_data entries (StringStringEntryProto) and data_location = EXTERNAL.
    static func external(_ entries: [(String, String)]) -> [UInt8] {
        entries.flatMap { bytes(13, string(1, $0.0) + string(2, $0.1)) } + int(14, 1)
    }

    /// A NodeProto.
    static func node(_ op: String, _ inputs: [String], _ outputs: [String], ints: [(String, Int64)] = []) -> [UInt8] {
        inputs.flatMap { string(1, $0) } + outputs.flatMap { string(2, $0) } + string(4, op)
            + ints.flatMap { bytes(5, string(1, $0.0) + int(3, $0.1) + int(20, 2)) }
    }

    /// A ModelProto (ir_version 8) whose graph holds `initializers` and `nodes` (each encoded).
    static func model(initializers: [[UInt8]], nodes: [[UInt8]] = []) -> [UInt8] {
        let graph = nodes.flatMap { bytes(1, $0) } + string(2, "g") + initializers.flatMap { bytes(5, $0) }
        return int(1, 8) + bytes(7, graph)
    }
}
