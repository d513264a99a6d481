/// A `torch.save` checkpoint (`pytorch_model.bin`, `*.pt`) whose state dict has been read
/// without executing anything: where each tensor's elements are, validated. No tensor byte is
/// read here.
///
/// The format (torch/serialization.py, `_save` and `_load`): a zip archive (`ZipArchive`) whose
/// entries sit under one folder — `<archive>/data.pkl`, the pickled object; `<archive>/data/<key>`,
/// each storage's raw little-endian bytes; `<archive>/byteorder` ("little"), `<archive>/version`.
/// The pickle rebuilds tensors by calling `torch._utils._rebuild_tensor_v2(storage, offset, size,
/// stride, requires_grad, hooks[, metadata])` (or `_rebuild_tensor_v3` with a dtype, for dtypes
/// without a typed storage) on storages loaded through persistent ids `('storage', torch.FloatStorage,
/// key, location, numel)`.
///
/// `data.pkl` is run by `PickleMachine` with a policy that allows only those names: the
/// rebuilders, `_rebuild_parameter(_with_state)`, `collections.OrderedDict`, `torch.Size`,
/// `_codecs.encode`, and the storage and dtype types as values; every other global is refused
/// by name before anything could call it ("refusing to call os.system from data.pkl"). The
/// result must be a dict of tensors (a state dict); a training checkpoint whose top level holds
/// no tensor but a `state_dict`, `model` or `module` dict of them is read through that entry.
///
/// Checked: `data.pkl` at most 100,000,000 bytes, its CRC-32, the pickle machine's own bounds
/// (which allow at most 1,000,000 tensors, ≈ 150 bytes each while the checkpoint is open);
/// byte order little-endian; each storage's entry exists and holds exactly its numel × element
/// size bytes, and a key loaded twice has the same type and size; each tensor's shape and
/// strides are non-negative (at most 64 dimensions), and its last element lies inside its storage
/// (strides, offsets, views and shared storages honoured: tied weights are two names of one view).
public struct TorchCheckpoint: Sendable {
    /// The tensors of the state dict, sorted by name.
    public let tensors: [TorchTensorInfo]
    public let storages: [TorchStorage]
    /// Top-level keys of the state dict whose values are not tensors (`_metadata` attributes are
    /// not keys), sorted.
    public let otherKeys: [String]
    /// When the tensors came from a nested dict: its key (`state_dict`).
    public let nestedUnder: String?

    static let maxPickleLength = 100_000_000
    static let maxRank = 64

    /// Reads the archive in `source`. Errors carry the reason only; `open(path:)` adds the path.
    static func parse(_ source: ByteSource) throws -> TorchCheckpoint {
        if source.size >= 2 {
            let start = try source.bytes(count: 2, at: 0)
            if start[0] == 0x80 && start[1] <= 5 {
                throw ModelTreeError.format("a torch.save file in the legacy format (before torch 1.6, a bare pickle), which libmodeltree does not read; load and re-save it with a current torch")
            }
        }
        let zip = try ZipArchive.parse(source)
        let pickles = zip.entries.filter { $0.name.hasSuffix("/data.pkl") && $0.name.split(separator: "/", omittingEmptySubsequences: false).count == 2 }
        guard pickles.count == 1 else {
            throw ModelTreeError.format(pickles.isEmpty ? "a zip archive without <archive>/data.pkl: not a torch.save checkpoint"
                                                        : "several <archive>/data.pkl entries: \(pickles.map(\.name).joined(separator: ", "))")
        }
        let prefix = String(pickles[0].name.dropLast("data.pkl".count))
        if zip.entry(prefix + "constants.pkl") != nil {
            throw ModelTreeError.format("a TorchScript archive (torch.jit.save), not a state dict saved by torch.save")
        }
        let pickle = try zip.read(pickles[0], from: source, limit: maxPickleLength)
        if let order = zip.entry(prefix + "byteorder") {
            let text = try zip.read(order, from: source, limit: 16)
            guard text == Array("little".utf8) else {
                throw ModelTreeError.format("byteorder is '\(String(decoding: text, as: UTF8.self))': only little-endian checkpoints are read")
            }
        }
        var policy = StateDictPolicy(archive: zip, prefix: prefix)
        var machine = PickleMachine(pickle, source: "data.pkl")
        let root = try machine.run(&policy)
        return try stateDict(root, machine: machine, policy: policy)
    }

    /// Opens `path` and reads its state dict (the directory, `data.pkl` and the small records only).
    /// - Throws: `.io` when the file cannot be read; `.format("<path>: <reason>")` otherwise.
    static func open(path: String) throws -> (file: CheckpointFile, checkpoint: TorchCheckpoint) {
        let file = try CheckpointFile(path: path)
        return (file, try prefixingFormatErrors(path) { try parse(file) })
    }

    /// The state dict from the pickle's result (the pickle fuzz target calls it directly).
    static func stateDict(_ root: PickleValue, machine: PickleMachine, policy: StateDictPolicy) throws -> TorchCheckpoint {
        func entries(_ value: PickleValue) -> [(PickleValue, PickleValue)]? {
            guard case .object(let i) = value, case .dict(let keys, let values, _, _) = machine.objects[i] else { return nil }
            return Array(zip(keys, values))
        }
        guard var items = entries(root) else {
            throw ModelTreeError.format("data.pkl holds \(machine.kindName(root)), not a dict of tensors")
        }
        func isTensor(_ v: PickleValue) -> Bool { if case .external("tensor", _) = v { return true }; return false }
        var nested: String?
        if !items.contains(where: { isTensor($0.1) }) {
            for key in ["state_dict", "model", "module"] {
                if let (_, inner) = items.first(where: { $0.0 == .string(key) }), let innerItems = entries(inner),
                   innerItems.contains(where: { isTensor($0.1) }) {
                    items = innerItems
                    nested = key
                    break
                }
            }
        }
        var tensors: [TorchTensorInfo] = []
        var others: [String] = []
        var seen = Set<String>()
        for (key, value) in items {
            let name: String
            switch key {
            case .string(let s): name = s
            case .int(let n): name = String(n)
            default: throw ModelTreeError.format("data.pkl: a state dict key that is \(machine.kindName(key)), not a name")
            }
            guard seen.insert(name).inserted else { throw ModelTreeError.format("data.pkl: the state dict holds '\(name)' twice") }
            if case .external("tensor", let t) = value {
                tensors.append(policy.tensors[t].named(name))
            } else {
                others.append(name)
            }
        }
        if tensors.isEmpty {
            throw ModelTreeError.format("data.pkl holds a dict without tensors (keys: \(others.prefix(8).joined(separator: ", "))\(others.count > 8 ? ", …" : ""))")
        }
        tensors.sort { $0.name < $1.name }
        return TorchCheckpoint(tensors: tensors, storages: policy.storages, otherKeys: others.sorted(), nestedUnder: nested)
    }
}

/// One storage of a checkpoint: `byteCount` bytes at `offset` of the file.
public struct TorchStorage: Sendable, Equatable {
    /// Its key in `data/`.
    public let key: String
    /// The element type of a typed storage (`torch.FloatStorage`); nil for an untyped one.
    public let dtype: DType?
    public let offset: Int
    public let byteCount: Int
}

/// One tensor of a state dict: a view of a storage.
public struct TorchTensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    /// numpy/PyTorch order.
    public let shape: [Int]
    /// In elements, one per dimension.
    public let strides: [Int]
    /// The element of the storage where element [0, 0, …] is.
    public let storageOffset: Int
    /// Index into `TorchCheckpoint.storages`.
    public let storage: Int

    public var elementCount: Int { checkedProduct(shape) ?? 0 }

    /// Whether the elements are the row-major run starting at `storageOffset` (dimensions of
    /// size 1 have any stride), so that a range of elements is one range of bytes.
    public var isContiguous: Bool {
        var expected = 1
        for (size, stride) in zip(shape, strides).reversed() where size != 1 {
            guard stride == expected else { return false }
            expected *= size
        }
        return true
    }

    /// The offset of element `index` (a multi-index) within the storage, in elements.
    public func storageIndex(_ index: [Int]) -> Int {
        zip(index, strides).reduce(storageOffset) { $0 + $1.0 * $1.1 }
    }

    func named(_ name: String) -> TorchTensorInfo {
        TorchTensorInfo(name: name, dtype: dtype, shape: shape, strides: strides, storageOffset: storageOffset, storage: storage)
    }
}

/// What `data.pkl` may call: torch's rebuilders over the archive's storages, and nothing else.
struct StateDictPolicy: PickleCallee {
    let archive: ZipArchive
    let prefix: String
    private(set) var storages: [TorchStorage] = []
    private var storageIndex: [String: Int] = [:]
    /// Rebuilt tensors (their names come from the dict that holds them).
    private(set) var tensors: [TorchTensorInfo] = []

    init(archive: ZipArchive, prefix: String) {
        self.archive = archive
        self.prefix = prefix
    }

    /// The legacy typed storages and the dtypes, by their pickled names.
    static let storageTypes: [String: DType] = [
        "torch.DoubleStorage": .f64, "torch.FloatStorage": .f32, "torch.HalfStorage": .f16, "torch.BFloat16Storage": .bf16,
        "torch.LongStorage": .i64, "torch.IntStorage": .i32, "torch.ShortStorage": .i16, "torch.CharStorage": .i8,
        "torch.ByteStorage": .u8, "torch.BoolStorage": .bool,
    ]
    static let untypedStorages: Set<String> = ["torch.storage.UntypedStorage", "torch.UntypedStorage"]
    static let dtypes: [String: DType] = [
        "torch.float64": .f64, "torch.float32": .f32, "torch.float16": .f16, "torch.bfloat16": .bf16,
        "torch.int64": .i64, "torch.int32": .i32, "torch.int16": .i16, "torch.int8": .i8, "torch.uint8": .u8,
        "torch.bool": .bool, "torch.uint16": .u16, "torch.uint32": .u32, "torch.uint64": .u64,
        "torch.float8_e4m3fn": .f8e4m3, "torch.float8_e5m2": .f8e5m2,
    ]
    static let functions: Set<String> = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
        "torch._utils._rebuild_tensor", "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
        "torch.Size", "_codecs.encode",
    ]

    func allows(_ global: String) -> Bool {
        Self.functions.contains(global) || Self.storageTypes[global] != nil || Self.untypedStorages.contains(global)
            || Self.dtypes[global] != nil
    }

    mutating func persistentLoad(_ id: PickleValue, machine: inout PickleMachine) throws -> PickleValue {
        func bad(_ why: String) -> ModelTreeError { .format("data.pkl: a persistent id \(why)") }
        guard case .tuple(let parts) = id, parts.count == 5, parts[0] == .string("storage") else {
            throw bad("that is not ('storage', type, key, location, numel)")
        }
        guard case .global(let type) = parts[1], Self.storageTypes[type] != nil || Self.untypedStorages.contains(type) else {
            throw bad("whose storage type is \(machine.kindName(parts[1]))")
        }
        guard case .string(let key) = parts[2], !key.isEmpty, !key.contains("/"), !key.contains("\0"), key != ".", key != ".." else {
            throw bad("whose key is not a plain name")
        }
        guard case .int(let numel) = parts[4], numel >= 0 else { throw bad("whose element count is not a non-negative integer") }
        let dtype = Self.storageTypes[type]                 // nil: untyped, numel counts bytes
        guard let byteCount = checkedProduct(numel, dtype?.size ?? 1) else { throw bad("whose size overflows") }
        if let existing = storageIndex[key] {
            let s = storages[existing]
            guard s.dtype == dtype, s.byteCount == byteCount else {
                throw ModelTreeError.format("data.pkl: storage '\(key)' is loaded twice with different types or sizes")
            }
            return .external(kind: "storage", index: existing)
        }
        guard let entry = archive.entry(prefix + "data/" + key) else {
            throw ModelTreeError.format("data.pkl: storage '\(key)' has no entry \(prefix)data/\(key) in the archive")
        }
        try ZipArchive.requireStored(entry)
        guard entry.size == byteCount else {
            throw ModelTreeError.format("data.pkl: storage '\(key)' holds \(numel) \(dtype.map { "elements of \($0.rawValue)" } ?? "bytes") (\(byteCount) bytes) but its entry has \(entry.size) bytes")
        }
        storages.append(TorchStorage(key: key, dtype: dtype, offset: entry.dataOffset, byteCount: byteCount))
        storageIndex[key] = storages.count - 1
        return .external(kind: "storage", index: storages.count - 1)
    }

    mutating func call(_ callee: String, _ args: [PickleValue], machine: inout PickleMachine) throws -> PickleValue {
        func bad(_ why: String) -> ModelTreeError { .format("data.pkl: \(callee) \(why)") }
        switch callee {
        case "collections.OrderedDict":
            let dict = try machine.newObject(.dict(keys: [], values: [], ordered: true, attributes: [:]))
            if args.isEmpty { return dict }
            // OrderedDict(pairs)
            guard args.count == 1 else { throw bad("with \(args.count) arguments") }
            var items: [PickleValue] = []
            let pairs: [PickleValue]
            switch args[0] {
            case .tuple(let t): pairs = t
            case .object(let i):
                guard case .list(let l) = machine.objects[i] else { throw bad("of \(machine.kindName(args[0]))") }
                pairs = l
            default: throw bad("of \(machine.kindName(args[0]))")
            }
            for pair in pairs {
                guard case .tuple(let kv) = pair, kv.count == 2 else { throw bad("of something other than (key, value) pairs") }
                items += kv
            }
            try machine.setItems(dict, items)
            return dict
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v3":
            let arity = callee.hasSuffix("v2") ? 6...7 : callee.hasSuffix("v3") ? 7...8 : 4...4
            guard arity.contains(args.count) else { throw bad("with \(args.count) arguments") }
            guard case .external("storage", let s) = args[0] else { throw bad("of \(machine.kindName(args[0])), not a storage") }
            let storage = storages[s]
            var dtype = storage.dtype
            if callee.hasSuffix("v3") {
                guard case .global(let name) = args[6], let d = Self.dtypes[name] else {
                    throw bad("with dtype \(machine.kindName(args[6])), which libmodeltree does not read")
                }
                dtype = d
            }
            guard let dtype else { throw bad("on an untyped storage without a dtype") }
            guard case .int(let offset) = args[1], offset >= 0 else { throw bad("with a storage offset that is not a non-negative integer") }
            guard let shape = Self.integers(args[2]), let strides = Self.integers(args[3]) else {
                throw bad("with a size or stride that is not a tuple of non-negative integers")
            }
            guard shape.count == strides.count else { throw bad("with \(shape.count) sizes but \(strides.count) strides") }
            guard shape.count <= TorchCheckpoint.maxRank else { throw bad("with \(shape.count) dimensions, more than \(TorchCheckpoint.maxRank)") }
            // The last element must lie inside the storage (nothing is read for an empty tensor).
            if checkedProduct(shape) == nil { throw bad("with size \(shape), whose element count overflows") }
            if !shape.contains(0) {
                var last = offset
                for (size, stride) in zip(shape, strides) {
                    guard let step = checkedProduct(size - 1, stride), let next = checkedSum(last, step) else {
                        throw bad("with size \(shape) and stride \(strides), whose extent overflows")
                    }
                    last = next
                }
                guard let end = checkedProduct(last, dtype.size).flatMap({ checkedSum($0, dtype.size) }), end <= storage.byteCount else {
                    throw bad("with offset \(offset), size \(shape) and stride \(strides) of \(dtype.rawValue): past the end of storage '\(storage.key)' (\(storage.byteCount) bytes)")
                }
            }
            tensors.append(TorchTensorInfo(name: "", dtype: dtype, shape: shape, strides: strides, storageOffset: offset, storage: s))
            return .external(kind: "tensor", index: tensors.count - 1)
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            guard args.count == (callee.hasSuffix("state") ? 4 : 3), case .external("tensor", _) = args[0] else {
                throw bad("not on a tensor, or with \(args.count) arguments")
            }
            return args[0]
        case "torch.Size":
            guard args.count == 1, Self.integers(args[0]) != nil else { throw bad("of something other than a tuple of sizes") }
            return args[0]
        case "_codecs.encode":
            guard args.count == 2, case .string(let text) = args[0], case .string(let encoding) = args[1] else {
                throw bad("with arguments other than (text, encoding)")
            }
            switch encoding.lowercased() {
            case "latin1", "latin-1", "iso-8859-1":
                var out: [UInt8] = []
                for scalar in text.unicodeScalars {
                    guard scalar.value < 256 else { throw bad("of a character beyond Latin-1") }
                    out.append(UInt8(scalar.value))
                }
                return .bytes(out)
            case "utf-8", "utf8": return .bytes(Array(text.utf8))
            default: throw bad("with encoding '\(encoding)'")
            }
        default:
            // A storage or dtype type is allowed as a value, never called.
            throw bad("is a type, not something data.pkl may call")
        }
    }

    /// A tuple of non-negative integers.
    private static func integers(_ v: PickleValue) -> [Int]? {
        guard case .tuple(let items) = v else { return nil }
        var out: [Int] = []
        for item in items {
            guard case .int(let n) = item, n >= 0 else { return nil }
            out.append(n)
        }
        return out
    }
}
