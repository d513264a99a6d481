/// One model of a collection: an id and its named tensors.
///
/// The model keeps alive whatever backs its tensor bytes (`owners`: the files, or a caller's
/// token for borrowed memory).
public final class Model: Sendable {
    /// The caller's name for the model (by default the last path component).
    public let id: String
    /// Where it was read from; nil for tensors handed over in memory.
    public let path: String?
    /// Tensors sorted by name, names unique.
    public let tensors: [TensorView]
    private let owners: [any AnyObject & Sendable]
    private let index: [String: Int]

    /// - Throws: `ModelTreeError.format` if two tensors share a name.
    public init(id: String, path: String?, tensors: [TensorView], owners: [any AnyObject & Sendable]) throws {
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
