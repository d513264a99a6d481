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
    /// What the weights were read from: "safetensors", "gguf", "pytorch", "onnx", "peft", or
    /// "memory" for tensors a caller handed over.
    public let format: String
    /// What the file says about itself, in its order: GGUF's key/value metadata (arrays as their
    /// type and length), safetensors' `__metadata__`, an adapter's `base_model_name_or_path`,
    /// `r`, `lora_alpha`, an ONNX producer. Claims such as `general.base_model.0.repo_url` are
    /// kept here for the audit, never used to place an edge.
    public let metadata: [(key: String, value: String)]
    private let owners: [any AnyObject & Sendable]
    private let index: [String: Int]

    /// - Throws: `ModelTreeError.format` if two tensors share a name.
    public init(id: String, path: String?, tensors: [TensorView], owners: [any AnyObject & Sendable],
                format: String = "memory", metadata: [(key: String, value: String)] = []) throws {
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
        self.format = format
        self.metadata = metadata
        self.index = index
    }

    /// The same model (id, path, owners, format, metadata) with other views of its tensors.
    func replacingTensors(_ tensors: [TensorView]) throws -> Model {
        try Model(id: id, path: path, tensors: tensors, owners: owners, format: format, metadata: metadata)
    }

    /// Whether the model is an un-merged PEFT adapter (read from its folder, format "peft"): its
    /// tensors are updates to a base (and the copies it saves), not weights of a model of their own.
    public var isAdapter: Bool { format == "peft" }

    public func tensor(named name: String) -> TensorView? {
        index[name].map { tensors[$0] }
    }
}
