/// A read-only view of one tensor's bytes, wherever they live (a memory-mapped file or memory a
/// caller lends). The bytes stay valid as long as the `Model` that holds the view is alive.
public struct TensorView: @unchecked Sendable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Exactly `count * dtype.size` bytes, little-endian, row-major.
    public let bytes: UnsafeRawBufferPointer

    public init(name: String, dtype: DType, shape: [Int], bytes: UnsafeRawBufferPointer) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// Number of elements (the product of the shape; 1 for a scalar).
    public var count: Int { shape.reduce(1, *) }
}

/// One model of a collection: an id and its named tensors.
///
/// The model keeps alive whatever backs its tensor bytes (`owners`: file mappings, or a caller's
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
