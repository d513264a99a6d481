/// What a reader hands the loader for one model: its tensors as views, whatever keeps their
/// bytes alive, the format's name and what the file says about itself (`Model.format`,
/// `Model.metadata`).
struct ReadWeights {
    var tensors: [TensorView]
    var owners: [any AnyObject & Sendable]
    var format: String
    var metadata: [(key: String, value: String)] = []
}

/// Bytes a reader decoded from a file (an ONNX initializer's typed field), kept for the life of
/// the model whose views point into them.
///
/// `@unchecked Sendable`: written once at creation, only read afterwards.
final class OwnedBytes: @unchecked Sendable {
    let buffer: UnsafeMutableRawBufferPointer

    init(_ bytes: [UInt8]) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(1, bytes.count), alignment: 16)
        bytes.withUnsafeBytes { if let base = $0.baseAddress { buffer.baseAddress!.copyMemory(from: base, byteCount: bytes.count) } }
        self.buffer = buffer
        count = bytes.count
    }

    let count: Int
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: buffer.baseAddress, count: count) }

    deinit { buffer.deallocate() }
}
