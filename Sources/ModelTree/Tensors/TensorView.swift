/// One tensor of a model: its name and shape, and the source its elements are decoded from — a
/// checkpoint file read on demand, memory a caller lends, or (see `TensorSource`) an encoding or
/// computation over those. Whatever backs the elements stays available as long as the `Model`
/// that holds the view is alive.
public struct TensorView: Sendable {
    public let name: String
    public let shape: [Int]
    /// Where the elements come from and how they become Float: the one way they are read.
    let source: any TensorSource

    /// The ranges the passes decode start at multiples of this many elements and end at one or at
    /// the tensor's end, so that they cover whole blocks of any block-quantized encoding (GGUF's
    /// blocks hold 32 or 256 elements).
    static let rangeAlignment = 256

    /// A tensor in memory: `bytes` must hold exactly `count * dtype.size` bytes (little-endian,
    /// row-major), and must stay valid and unchanged while a `Model` holding the view lives.
    /// - Throws: `.invalidArgument` when the shape's byte count overflows or differs from
    ///   `bytes.count`, naming the tensor.
    public init(name: String, dtype: DType, shape: [Int], bytes: UnsafeRawBufferPointer) throws {
        guard let needed = dtype.byteCount(shape: shape) else {
            throw ModelTreeError.invalidArgument("tensor '\(name)': shape \(shape) of \(dtype.rawValue) overflows the address space")
        }
        guard needed == bytes.count else {
            throw ModelTreeError.invalidArgument(
                "tensor '\(name)' of shape \(shape) and dtype \(dtype.rawValue) needs \(needed) bytes, the buffer holds \(bytes.count)")
        }
        self.init(name: name, shape: shape, source: StoredElements(dtype: dtype, storage: .memory(bytes)))
    }

    /// A view over any source; the reader that made the source has checked its size.
    init(name: String, shape: [Int], source: any TensorSource) {
        self.name = name
        self.shape = shape
        self.source = source
    }

    /// Number of elements (the product of the shape; 1 for a scalar, 0 when a dimension is 0,
    /// which a validated shape may pair with dimensions whose product would overflow).
    public var count: Int { shape.contains(0) ? 0 : shape.reduce(1, *) }

    /// The element type when the values are stored as plain elements (safetensors, caller
    /// memory); nil for an encoded or computed tensor.
    public var dtype: DType? { (source as? StoredElements)?.dtype }

    /// Whether the values are weights a recovery may compare (see `TensorSource.isWeight`).
    public var isWeight: Bool { source.isWeight }

    /// The rounding the storage adds to each value, relative to it (`TensorSource.unitRoundoff`).
    public var unitRoundoff: Double { source.unitRoundoff }

    /// The stored type's name, for messages ("F32", …).
    public var typeName: String { source.typeName }

    /// The bytes, when the tensor is stored as elements in memory; nil otherwise.
    public var memory: UnsafeRawBufferPointer? {
        guard let stored = source as? StoredElements, case .memory(let bytes) = stored.storage else { return nil }
        return bytes
    }

    /// The elements in `range` decoded to Float into `target`, through a cursor of its own that
    /// reads a file in pieces of at most 1 MiB, or of the range's size (8 bytes an element, the
    /// widest stored type) when smaller (the passes use `StreamingPass` instead).
    /// - Throws: `.io` when the file cannot be read or has changed since it was opened.
    public func decode(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>) throws {
        guard !range.isEmpty else { return }
        let cursor = TensorCursor(capacity: range.count >= 1 << 17 ? 1 << 20 : range.count * 8)
        cursor.window = range
        try source.decode(range, into: target, cursor: cursor)
    }

    /// The whole tensor decoded to row-major Float.
    public func decode() throws -> [Float] {
        try [Float](unsafeUninitializedCapacity: count) { values, initialized in
            if let base = values.baseAddress { try decode(0..<count, into: base) }
            initialized = count
        }
    }

    /// The stored bytes (little-endian, row-major) of a tensor stored as elements, read from its
    /// file if need be.
    /// - Throws: `.invalidArgument` for an encoded or computed tensor; `.io` as `decode`.
    public func readBytes() throws -> [UInt8] {
        guard let stored = source as? StoredElements else {
            throw ModelTreeError.invalidArgument("tensor '\(name)' (\(typeName)) is not stored as plain elements")
        }
        return try stored.storage.readAll(count * stored.dtype.size)
    }
}
