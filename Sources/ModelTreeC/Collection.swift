// modeltree_collection_*: a mutable set of models, from files (headers validated when added, tensors read at each recovery) or
// from tensors lent by the caller (gathered per model, turned into `Model`s at each recovery).
import CModelTree
import ModelTree

/// What a `modeltree_collection_t *` points at (a retained, opaque Swift object).
final class _Collection {
    /// One model of the collection, in the order it was first added.
    enum Entry {
        /// Loaded by `modeltree_collection_add_path`; immutable.
        case file(Model)
        /// Tensors lent by `modeltree_collection_add_tensor`; grows by reference.
        case memory(_MemoryModel)
    }

    /// A model built tensor by tensor from the caller's memory.
    final class _MemoryModel {
        let id: String
        /// In the order they were added.
        var tensors: [TensorView]
        var names: Set<String>
        init(id: String, first: TensorView) {
            self.id = id
            self.tensors = [first]
            self.names = [first.name]
        }
    }

    private(set) var entries: [Entry] = []
    /// Entries of folders given to `modeltree_collection_add_path` that look like models but were
    /// not read (`ModelLoader.survey`): the graph's first warnings.
    private(set) var unread: [String] = []
    /// Model id → index in `entries`.
    private var index: [String: Int] = [:]

    var count: Int { entries.count }

    /// Adds models loaded from files, all or none, with the notes on what their folder held
    /// that was not read.
    /// - Throws: invalid argument if an id is already used (in the collection or in `models`).
    func add(_ models: [Model], unread notes: [String] = [], function: StaticString) throws {
        var seen = Set<String>()
        for model in models {
            guard index[model.id] == nil, seen.insert(model.id).inserted else {
                throw ModelTreeError.invalidArgument(
                    "\(function): model '\(model.id)' is already in the collection")
            }
        }
        for model in models {
            index[model.id] = entries.count
            entries.append(.file(model))
        }
        unread += notes
    }

    /// Adds one borrowed tensor to the in-memory model `id`, creating it if needed.
    /// - Throws: invalid argument if `id` names a model from a file, or the tensor name is taken.
    func add(_ tensor: TensorView, to id: String, function: StaticString) throws {
        guard let i = index[id] else {
            index[id] = entries.count
            entries.append(.memory(_MemoryModel(id: id, first: tensor)))
            return
        }
        guard case .memory(let model) = entries[i] else {
            throw ModelTreeError.invalidArgument(
                "\(function): model '\(id)' was added from a path; its tensors cannot be extended")
        }
        guard model.names.insert(tensor.name).inserted else {
            throw ModelTreeError.invalidArgument(
                "\(function): model '\(id)' already has a tensor '\(tensor.name)'")
        }
        model.tensors.append(tensor)
    }

    /// The models, in the order they were first added. Reads only; safe from concurrent recoveries.
    func models() throws -> [Model] {
        try entries.map { entry in
            switch entry {
            case .file(let model):
                return model
            case .memory(let model):
                // The caller's memory is borrowed until the collection is freed: nothing to own.
                return try Model(id: model.id, path: nil, tensors: model.tensors, owners: [])
            }
        }
    }
}

extension _Collection {
    /// The collection behind a handle, or an invalid-argument error for NULL.
    static func from(_ handle: OpaquePointer?, _ function: StaticString) throws -> _Collection {
        let handle = try _required(handle, "collection", function)
        return _Handle.borrow(handle, as: _Collection.self)
    }
}

/// The C function `modeltree_collection_create`.
@c @implementation
public func modeltree_collection_create(_ out: UnsafeMutablePointer<OpaquePointer?>!) -> modeltree_status_t {
    _catching {
        let out = try _required(out, "out", "modeltree_collection_create")
        out.pointee = nil
        out.pointee = _Handle.make(_Collection())
    }
}

/// The C function `modeltree_collection_free`.
@c @implementation
public func modeltree_collection_free(_ c: OpaquePointer!) {
    guard let c else { return }
    _Handle.release(c, as: _Collection.self)
}

/// The C function `modeltree_collection_model_count`.
@c @implementation
public func modeltree_collection_model_count(_ c: OpaquePointer!) -> Int {
    guard let c else { return 0 }
    return _Handle.borrow(c, as: _Collection.self).count
}

/// The C function `modeltree_collection_add_path`: expands (no id) or takes exactly one model
/// (with an id), loads every model, then adds all of them or none.
@c @implementation
public func modeltree_collection_add_path(
    _ c: OpaquePointer!, _ model_id: UnsafePointer<CChar>!, _ path: UnsafePointer<CChar>!
) -> modeltree_status_t {
    _catching {
        let function: StaticString = "modeltree_collection_add_path"
        let collection = try _Collection.from(c, function)
        let path = try _string(path, "path", function)
        let id = try model_id.map { try _string($0, "model_id", function) }
        let (locations, unread) = try id.map { ([try ModelLoader.single(path, id: $0)], []) } ?? ModelLoader.survey([path])
        try collection.add(locations.map(ModelLoader.load), unread: unread, function: function)
    }
}

/// The C function `modeltree_collection_add_tensor`: validates everything about the tensor, then
/// records a view of the caller's bytes (no copy).
@c @implementation
public func modeltree_collection_add_tensor(
    _ c: OpaquePointer!, _ model_id: UnsafePointer<CChar>!, _ tensor_name: UnsafePointer<CChar>!,
    _ dtype: modeltree_dtype_t, _ shape: UnsafePointer<Int64>!, _ ndim: Int,
    _ data: UnsafeRawPointer!, _ data_size: Int
) -> modeltree_status_t {
    _catching {
        let function: StaticString = "modeltree_collection_add_tensor"
        let collection = try _Collection.from(c, function)
        let id = try _string(model_id, "model_id", function)
        let name = try _string(tensor_name, "tensor_name", function)
        guard let type = dtype._dtype else {
            throw ModelTreeError.invalidArgument("\(function): unknown dtype \(dtype.rawValue)")
        }
        // size_t arrives as Int: a value above Int.max shows up negative.
        guard ndim >= 0, ndim <= Int(MODELTREE_MAX_NDIM) else {
            throw ModelTreeError.invalidArgument(
                "\(function): ndim \(UInt(bitPattern: ndim)) exceeds \(MODELTREE_MAX_NDIM)")
        }
        var dims: [Int] = []
        if ndim > 0 {
            let shape = try _required(shape, "shape", function)
            for k in 0..<ndim {
                guard shape[k] >= 0, let dim = Int(exactly: shape[k]) else {
                    throw ModelTreeError.invalidArgument("\(function): shape[\(k)] is \(shape[k]), negative")
                }
                dims.append(dim)
            }
        }
        if data_size > 0 {
            let start = try _required(data, "data", function)
            guard UInt(bitPattern: start).addingReportingOverflow(UInt(bitPattern: data_size)).overflow == false else {
                throw ModelTreeError.invalidArgument("\(function): data + data_size wraps around")
            }
        }
        // size_t arrives as Int: a value above Int.max is negative, and no shape needs that much.
        let bytes = UnsafeRawBufferPointer(start: data_size > 0 ? data : nil, count: Swift.max(data_size, 0))
        let view: TensorView
        do {
            guard data_size >= 0 else {
                throw ModelTreeError.invalidArgument("tensor '\(name)': data_size \(UInt(bitPattern: data_size)) exceeds the address space")
            }
            view = try TensorView(name: name, dtype: type, shape: dims, bytes: bytes)
        } catch ModelTreeError.invalidArgument(let reason) {
            throw ModelTreeError.invalidArgument("\(function): \(reason)")
        }
        try collection.add(view, to: id, function: function)
    }
}
