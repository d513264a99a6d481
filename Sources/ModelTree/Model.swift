/// One tensor of a model: its name, type and shape, and where its bytes are — in a checkpoint
/// file, read on demand (`CheckpointFile`), or in memory a caller lends. The bytes stay
/// available as long as the `Model` that holds the view is alive.
public struct TensorView: @unchecked Sendable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    let source: Source

    /// Where the `count * dtype.size` bytes (little-endian, row-major) are.
    enum Source {
        case memory(UnsafeRawBufferPointer)
        /// At byte `offset` of the file.
        case file(CheckpointFile, offset: Int)
    }

    /// A tensor in memory: `bytes` must hold exactly `count * dtype.size` bytes.
    public init(name: String, dtype: DType, shape: [Int], bytes: UnsafeRawBufferPointer) {
        self.init(name: name, dtype: dtype, shape: shape, source: .memory(bytes))
    }

    init(name: String, dtype: DType, shape: [Int], source: Source) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.source = source
    }

    /// Number of elements (the product of the shape; 1 for a scalar, 0 when a dimension is 0,
    /// which a validated shape may pair with dimensions whose product would overflow).
    public var count: Int { shape.contains(0) ? 0 : shape.reduce(1, *) }

    /// The bytes, when the tensor is in memory; nil when it is read from a file on demand.
    public var memory: UnsafeRawBufferPointer? {
        if case .memory(let bytes) = source { return bytes }
        return nil
    }

    /// The raw bytes of the elements in `range`: in place for a tensor in memory; read from its
    /// file into `buffer` (which must hold `range.count * dtype.size` bytes) otherwise.
    /// - Parameter prefetch: see `CheckpointFile.read`; for a pass that reads on in order.
    /// - Throws: `.io` when the file cannot be read or has changed since it was opened.
    func bytes(_ range: Range<Int>, buffer: UnsafeMutableRawPointer, prefetch: Bool = false) throws -> UnsafeRawPointer {
        switch source {
        case .memory(let bytes):
            guard let base = bytes.baseAddress else { return UnsafeRawPointer(buffer) }   // no elements
            return base + range.lowerBound * dtype.size
        case .file(let file, let offset):
            try file.read(into: buffer, count: range.count * dtype.size,
                          at: offset + range.lowerBound * dtype.size, prefetch: prefetch)
            return UnsafeRawPointer(buffer)
        }
    }

    /// The elements in `range` decoded to Float into `target` (floating dtypes only). A file is
    /// read in pieces of at most 1 MiB, so the buffer stays small whatever the tensor's size.
    /// - Throws: `.io` when the file cannot be read or has changed since it was opened.
    public func decode(_ range: Range<Int>, into target: UnsafeMutablePointer<Float>) throws {
        guard !range.isEmpty else { return }
        if case .memory = source {
            dtype.decode(try bytes(range, buffer: UnsafeMutableRawPointer(target)), count: range.count, into: target)
            return
        }
        let piece = Swift.min(range.count, Swift.max(1, (1 << 20) / dtype.size))
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: piece * dtype.size, alignment: 16)
        defer { buffer.deallocate() }
        var start = range.lowerBound
        while start < range.upperBound {
            let end = Swift.min(range.upperBound, start + piece)
            let raw = try bytes(start..<end, buffer: buffer, prefetch: end < range.upperBound)
            dtype.decode(raw, count: end - start, into: target + (start - range.lowerBound))
            start = end
        }
    }

    /// The whole tensor decoded to row-major Float (floating dtypes only).
    public func decode() throws -> [Float] {
        try [Float](unsafeUninitializedCapacity: count) { values, initialized in
            if let base = values.baseAddress { try decode(0..<count, into: base) }
            initialized = count
        }
    }

    /// The tensor's raw bytes (little-endian, row-major), read from its file if need be.
    public func readBytes() throws -> [UInt8] {
        let n = count * dtype.size
        return try [UInt8](unsafeUninitializedCapacity: n) { out, initialized in
            if let base = out.baseAddress {
                let raw = try bytes(0..<count, buffer: base)
                if raw != UnsafeRawPointer(base) { base.update(from: raw.assumingMemoryBound(to: UInt8.self), count: n) }
            }
            initialized = n
        }
    }
}

/// One model of a collection: an id and its named tensors.
///
/// The model keeps alive whatever backs its tensor bytes (`owners`: the files, or a caller's
/// token for borrowed memory).
public final class Model: @unchecked Sendable {
    /// The caller's name for the model (by default the last path component).
    public let id: String
    /// Where it was read from; nil for tensors handed over in memory.
    public let path: String?
    /// Tensors sorted by name, names unique.
    public let tensors: [TensorView]
    private let owners: [AnyObject]
    private let index: [String: Int]

    /// - Throws: `ModelTreeError.format` if two tensors share a name.
    public init(id: String, path: String?, tensors: [TensorView], owners: [AnyObject]) throws {
        let sorted = tensors.sorted { $0.name < $1.name }
        var index = [String: Int](minimumCapacity: sorted.count)
        for (i, t) in sorted.enumerated() {
            if index.updateValue(i, forKey: t.name) != nil {
                throw ModelTreeError.format("model '\(id)': tensor '\(t.name)' appears twice")
            }
        }
        self.id = id
        self.path = path
        self.tensors = sorted
        self.owners = owners
        self.index = index
    }

    public func tensor(named name: String) -> TensorView? {
        index[name].map { tensors[$0] }
    }
}
