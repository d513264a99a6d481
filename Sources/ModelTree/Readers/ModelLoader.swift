/// Where one model lives, and the id it will be known by.
public struct ModelLocation: Equatable, Sendable {
    public var id: String
    /// The weights file (`.safetensors`, `.gguf`, `.bin`/`.pt`/`.pth`, `.onnx`, a shard index),
    /// or the folder holding the model's weights.
    public var path: String
    public init(id: String, path: String) { self.id = id; self.path = path }
}

public enum ModelLoader {
    /// Expands user paths into models, in the order given.
    ///
    /// - A `.safetensors` file is one model; its id is the file name without `.safetensors`.
    /// - A `.gguf`, `.bin`, `.pt`, `.pth` or `.onnx` file is one model; its id is the file name
    ///   (extension kept: the GGUF exports of a model sit beside its folder under its name).
    /// - A `*.safetensors.index.json` or `*.bin.index.json` file is the sharded model of its
    ///   folder; its id is the folder's name.
    /// - A folder is one model when it holds weights (see `load`); its id is the folder name.
    /// - A folder holding no weights itself expands to its immediate entries that are models —
    ///   sub-folders with weights and `.safetensors` files — sorted by name; hidden entries are
    ///   skipped. A folder with several loose weight files and no index is such a
    ///   collection (one loose file, by Hugging Face convention, makes the folder one model).
    /// - A folder taken as one model must not also hold models in sub-folders: `zoo/` with
    ///   `base.safetensors` beside `zoo/ft1/` and `zoo/ft2/` reads as a collection of three to
    ///   one person and as the model "zoo" to another (and a Trainer's output folder holds its
    ///   final weights beside `checkpoint-*/` folders). Either reading would leave models out
    ///   without a word, so it is an error that says what to pass instead.
    ///
    /// - Throws: `.io` for a path that does not exist; `.invalidArgument` for a folder with no
    ///   models, a path that is neither, a model folder that also holds models, or two models
    ///   with the same id; `.format` for a folder whose weights are ambiguous.
    public static func expand(_ paths: [String]) throws -> [ModelLocation] {
        try survey(paths).locations
    }

    /// The models at the user's paths (`expand`), and a note for each entry of a folder of
    /// models that looks like a model but is not read: weights in a format libmodeltree does not
    /// read (`.h5`, `.ckpt`, `.tflite`, …), a GGUF, safetensors or torch file that lost its
    /// extension, a sub-folder with a `config.json` or such weights but nothing readable, a
    /// sub-folder whose models sit deeper (down to `UnreadEntries.nestingLevels` more levels). A
    /// collection must never lose a model without a word; the notes are the words (the CLI and
    /// `modeltree_recover` show them as warnings).
    public static func survey(_ paths: [String]) throws -> (locations: [ModelLocation], notes: [String]) {
        var locations: [ModelLocation] = []
        var notes: [String] = []
        for path in paths {
            switch try FileSystem.kind(of: path) {
            case .file:
                guard let id = fileModelID(path) else {
                    throw notAModel(path)
                }
                locations.append(ModelLocation(id: id, path: path))
            case .directory:
                if let own = try weights(in: path) {
                    try refuseNestedModels(path, own)
                    locations.append(ModelLocation(id: FileSystem.lastComponent(path), path: path))
                    continue
                }
                var found = false
                for name in try FileSystem.list(path) {
                    let child = FileSystem.join(path, name)
                    // A dangling link beside the models is not our business.
                    switch try? FileSystem.kind(of: child) {
                    case .directory?:
                        guard let own = try weights(in: child) else {
                            notes += UnreadEntries.folderNote(child).map { [$0] } ?? []
                            continue
                        }
                        try refuseNestedModels(child, own)
                        locations.append(ModelLocation(id: name, path: child))
                    case .file?:
                        guard let id = singleFileID(child) else {
                            notes += UnreadEntries.fileNote(child).map { [$0] } ?? []
                            continue
                        }
                        locations.append(ModelLocation(id: id, path: child))
                    default:
                        continue
                    }
                    found = true
                }
                guard found else {
                    // What was there and why it was not read is the useful part of this error.
                    let why = notes.filter { $0.hasPrefix(path) }
                    throw ModelTreeError.invalidArgument("\(path): no models found" + (why.isEmpty ? "" : " (" + why.joined(separator: "; ") + ")"))
                }
            case .other:
                throw notAModel(path)
            }
        }
        var seen: [String: String] = [:]
        for location in locations {
            if let first = seen.updateValue(location.path, forKey: location.id) {
                throw ModelTreeError.invalidArgument("two models have the id '\(location.id)': \(first) and \(location.path)")
            }
        }
        return (locations, notes)
    }

    /// What one path given with an optional id holds: the one model `id` names (`single`, no
    /// notes), or the models of a file or folder as `survey` finds them, with its notes.
    public static func survey(_ path: String, id: String?) throws -> (locations: [ModelLocation], notes: [String]) {
        if let id { return ([try single(path, id: id)], []) }
        return try survey([path])
    }

    /// The one model at `path`, known as `id`: a `.safetensors` file, a shard index, or a folder
    /// holding weights — a folder of models is refused, since an id names one model. (A model
    /// folder that also holds models in sub-folders is taken as the one model asked for.)
    /// The corresponding C function is `modeltree_collection_add_path` with a model id.
    /// - Throws: `.io` for a path that does not exist; `.invalidArgument` for a folder of models
    ///   (saying how many it holds) or a path that is neither.
    public static func single(_ path: String, id: String) throws -> ModelLocation {
        switch try FileSystem.kind(of: path) {
        case .file:
            guard fileModelID(path) != nil else {
                throw notAModel(path)
            }
        case .directory:
            if try weights(in: path) == nil {
                let inside = (try? expand([path]).count).map { "it holds \($0) models" } ?? "it holds no model of its own"
                throw ModelTreeError.invalidArgument("'\(path)' is not a single model (\(inside)); give no id to add each model of a folder")
            }
        case .other:
            throw notAModel(path)
        }
        return ModelLocation(id: id, path: path)
    }

    /// Refuses a folder that holds weights of its own (`own`) and models in sub-folders.
    private static func refuseNestedModels(_ folder: String, _ own: Weights) throws {
        let nested = try FileSystem.list(folder).filter { name in
            let sub = FileSystem.join(folder, name)
            guard (try? FileSystem.kind(of: sub)) == .directory else { return false }
            return (try? weights(in: sub)) != nil
        }
        guard !nested.isEmpty else { return }
        let file = own.path
        let shown = nested.prefix(5).map { FileSystem.join(folder, $0) }.joined(separator: ", ") + (nested.count > 5 ? ", …" : "")
        throw ModelTreeError.invalidArgument(
            "\(folder) holds the weights of one model (\(file)) and models in sub-folders (\(shown)): "
            + "it is neither one model nor a folder of models, and either reading would leave models out; "
            + "pass the models one by one (\(file) and each sub-folder), or move the sub-folders elsewhere")
    }

    /// Opens a model and validates its headers (its tensors are read later, on demand).
    ///
    /// `location.path` is a `.safetensors` file, or a folder that holds, in this order of
    /// precedence (that of Hugging Face transformers' `from_pretrained`): `model.safetensors`;
    /// one `*.safetensors.index.json` naming the shards (`{"metadata": {…}, "weight_map":
    /// {tensor: shard file}}`); or exactly one `*.safetensors` file.
    /// - Throws: `.io` when a file cannot be read (a missing shard included); `.format` for a
    ///   malformed file or index, or a folder without (or with ambiguous) weights.
    public static func load(_ location: ModelLocation) throws -> Model {
        let weights: Weights
        switch try FileSystem.kind(of: location.path) {
        case .directory:
            guard let found = try self.weights(in: location.path) else {
                throw ModelTreeError.format("\(location.path): no model.safetensors, *.safetensors.index.json, *.safetensors, pytorch_model.bin(.index.json), model.onnx or adapter_config.json")
            }
            weights = found
        default:
            weights = isShardIndex(location.path) ? .sharded(location.path) : file(location.path)
        }
        let read: ReadWeights
        switch weights {
        case .sharded(let index):
            read = try readSharded(folder: FileSystem.parent(index), index: index)
        default:
            read = try readFile(weights)
        }
        return try Model(id: location.id, path: location.path, tensors: read.tensors, owners: read.owners,
                         format: read.format, metadata: read.metadata)
    }

    /// The reader of one weights file (or adapter folder).
    static func readFile(_ weights: Weights) throws -> ReadWeights {
        switch weights {
        case .safetensors(let file):
            let st = try SafetensorsFile(path: file)
            return ReadWeights(tensors: st.tensors, owners: [st], format: "safetensors",
                               metadata: st.metadata.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        case .gguf(let file): return try GGUFWeights.read(path: file)
        case .torch(let file): return try TorchWeights.read(path: file)
        case .onnx(let file): return try ONNXWeights.read(path: file)
        case .adapter(let folder): return try AdapterWeights.read(folder: folder)
        case .sharded(let index): return try readSharded(folder: FileSystem.parent(index), index: index)
        }
    }

    /// The error for a path that is neither a file of a format we read nor a folder.
    private static func notAModel(_ path: String) -> ModelTreeError {
        .invalidArgument("\(path): not a model file (\(fileExtensions.joined(separator: ", "))) or a folder")
    }

    /// The file-name endings of the model files the loader reads (`file`); messages list them
    /// from here so that a new format is named everywhere at once.
    static let fileExtensions = [".safetensors", ".gguf", ".bin", ".pt", ".pth", ".onnx"]

    /// What a weights file given by path is, by its extension (anything else is read as
    /// safetensors, whose reader names what the file really is).
    static func file(_ path: String) -> Weights {
        let name = FileSystem.lastComponent(path)
        if name.hasSuffix(".gguf") { return .gguf(path) }
        if name.hasSuffix(".onnx") { return .onnx(path) }
        if name.hasSuffix(".bin") || name.hasSuffix(".pt") || name.hasSuffix(".pth") { return .torch(path) }
        return .safetensors(path)
    }

    /// What a model folder's weights are stored as.
    enum Weights: Equatable {
        case safetensors(String)
        /// The path of the `*.safetensors.index.json` or `*.bin.index.json` file.
        case sharded(String)
        case gguf(String)
        case torch(String)
        case onnx(String)
        /// The folder of a PEFT adapter.
        case adapter(String)

        var path: String {
            switch self {
            case .safetensors(let p), .sharded(let p), .gguf(let p), .torch(let p), .onnx(let p), .adapter(let p): return p
            }
        }
    }

    /// Whether a file name is one the loader reads as weights (or a shard index).
    static func isWeightsFile(_ name: String) -> Bool {
        (fileExtensions + [".safetensors.index.json", ".bin.index.json"]).contains { name.hasSuffix($0) }
    }

    /// The weights a folder holds, nil if none; see `load` for the precedence. A PEFT adapter
    /// (`adapter_config.json` beside `adapter_model.safetensors` or `.bin`) comes first, since its
    /// weights file would otherwise read as a model; after the safetensors rules come
    /// `pytorch_model.bin`, `pytorch_model.bin.index.json` and `model.onnx`, as in
    /// transformers and optimum. Loose `.gguf`, `.onnx`, `.bin` and `.pt` files are models of a
    /// collection folder, not the folder's weights.
    /// - Throws: `.format` listing the candidates when there are several and nothing decides.
    static func weights(in folder: String) throws -> Weights? {
        // Sub-folders are skipped; a name that cannot be stat'ed (a dangling link left by an
        // interrupted download) is kept, so that loading it reports the I/O error.
        let all = try FileSystem.list(folder).filter {
            (try? FileSystem.kind(of: FileSystem.join(folder, $0))) ?? .file == .file
        }
        if all.contains("adapter_config.json") && (all.contains("adapter_model.safetensors") || all.contains("adapter_model.bin")) {
            return .adapter(folder)
        }
        let names = all.filter { $0.hasSuffix(".safetensors") || $0.hasSuffix(".safetensors.index.json") }
        if names.contains("model.safetensors") {
            return .safetensors(FileSystem.join(folder, "model.safetensors"))
        }
        let indexes = names.filter { $0.hasSuffix(".safetensors.index.json") }
        if indexes.count > 1 {
            throw ModelTreeError.format("\(folder): several shard indexes, cannot tell which is the model: \(indexes.joined(separator: ", "))")
        }
        if let index = indexes.first { return .sharded(FileSystem.join(folder, index)) }
        let files = names.filter { $0.hasSuffix(".safetensors") }
        if files.isEmpty {
            if all.contains("pytorch_model.bin") { return .torch(FileSystem.join(folder, "pytorch_model.bin")) }
            if all.contains("pytorch_model.bin.index.json") { return .sharded(FileSystem.join(folder, "pytorch_model.bin.index.json")) }
            if all.contains("model.onnx") { return .onnx(FileSystem.join(folder, "model.onnx")) }
        }
        if files.count > 1 {
            // Several loose files: a collection of single-file models — unless they are shards
            // that lost their index, which must not be compared as separate models.
            if let shard = files.first(where: looksLikeShard) {
                throw ModelTreeError.format("\(folder): \(shard) is one shard of a model but the folder has no *.safetensors.index.json")
            }
            return nil
        }
        return files.first.map { .safetensors(FileSystem.join(folder, $0)) }
    }

    /// Whether a file name has the shard form `<stem>-00001-of-00004.safetensors`.
    static func looksLikeShard(_ name: String) -> Bool {
        let parts = name.dropLast(".safetensors".count).split(separator: "-")
        guard parts.count >= 3 else { return false }
        let n = parts.count
        return parts[n - 2] == "of" && parts[n - 1].allSatisfy(\.isNumber) && parts[n - 3].allSatisfy(\.isNumber)
    }

    /// Whether a file name is that of a shard index (of safetensors or of torch.save shards).
    static func isShardIndex(_ path: String) -> Bool {
        [".safetensors.index.json", ".bin.index.json"].contains { path.hasSuffix($0) && FileSystem.lastComponent(path).count > $0.count }
    }

    /// The id of the model a file given by itself is: a `.safetensors` file's name without the
    /// extension, a shard index's folder name; nil for any other file.
    private static func fileModelID(_ path: String) -> String? {
        if isShardIndex(path) { return FileSystem.lastComponent(FileSystem.parent(path)) }
        return singleFileID(path)
    }

    /// The id of a single-file model: a `.safetensors` file's name without the extension, a
    /// `.gguf`, `.onnx`, `.bin`, `.pt` or `.pth` file's whole name; nil for any other file.
    private static func singleFileID(_ path: String) -> String? {
        let name = FileSystem.lastComponent(path)
        if name.hasSuffix(".safetensors") {
            return name.count > ".safetensors".count ? String(name.dropLast(".safetensors".count)) : nil
        }
        let other = [".gguf", ".onnx", ".bin", ".pt", ".pth"]
        guard other.contains(where: { name.hasSuffix($0) && name.count > $0.count }), !name.hasSuffix(".index.json") else { return nil }
        return name
    }

    /// Opens every shard named by the index once and checks that the index and the shards agree
    /// tensor for tensor, so a stale or hand-edited index cannot silently drop or misplace weights.
    private static func readSharded(folder: String, index indexPath: String) throws -> ReadWeights {
        let weightMap = try readWeightMap(indexPath)
        // The tensors each shard should hold, gathered once: filtering the whole map for every
        // shard cost shards × tensors, minutes for an index of tens of thousands of shards.
        var expected: [String: [String]] = [:]
        for (tensor, shard) in weightMap { expected[shard, default: []].append(tensor) }
        var owners: [any AnyObject & Sendable] = []
        var tensors: [TensorView] = []
        var format = "safetensors"
        for shardName in expected.keys.sorted() {
            let shard = try readFile(file(FileSystem.join(folder, shardName)))
            format = shard.format
            for t in shard.tensors {
                guard let mapped = weightMap[t.name] else {
                    throw ModelTreeError.format("\(indexPath): tensor '\(t.name)' is in shard \(shardName) but not in the weight_map")
                }
                guard mapped == shardName else {
                    throw ModelTreeError.format("\(indexPath): tensor '\(t.name)' is in shard \(shardName) but the weight_map puts it in \(mapped)")
                }
            }
            let present = Set(shard.tensors.map(\.name))
            if let missing = expected[shardName, default: []].filter({ !present.contains($0) }).min() {
                throw ModelTreeError.format("\(indexPath): tensor '\(missing)' is mapped to shard \(shardName) but that shard does not contain it")
            }
            tensors += shard.tensors
            owners += shard.owners
        }
        return ReadWeights(tensors: tensors, owners: owners, format: format)
    }

    /// Reads `weight_map` from a shard index, rejecting shard names that leave the folder.
    private static func readWeightMap(_ indexPath: String) throws -> [String: String] {
        // Parsing costs up to ~10× the text in memory; real indexes are kilobytes to a few MB.
        let text = try CheckpointFile(path: indexPath).readAll(limit: maxIndexLength) { size in
            ModelTreeError.format("\(indexPath): \(size) bytes, over the limit of \(maxIndexLength) bytes for a shard index")
        }
        return try text.withUnsafeBytes { try weightMap(parsing: $0, indexPath: indexPath) }
    }

    /// The largest shard index read: the safetensors header's cap (`SafetensorsFile.maxHeaderLength`).
    static let maxIndexLength = SafetensorsFile.maxHeaderLength

    /// `weight_map` (tensor → shard file name) from the bytes of a shard index; `indexPath`
    /// only prefixes the messages. Separate from the file so the fuzz target can call it.
    static func weightMap(parsing bytes: UnsafeRawBufferPointer, indexPath: String) throws -> [String: String] {
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes)
        } catch ModelTreeError.format(let reason) {
            throw ModelTreeError.format("\(indexPath): \(reason)")
        }
        guard case .object(let members)? = root["weight_map"] else {
            throw ModelTreeError.format("\(indexPath): no 'weight_map' object")
        }
        guard !members.isEmpty else { throw ModelTreeError.format("\(indexPath): 'weight_map' is empty") }
        var map: [String: String] = [:]
        for (tensor, value) in members {
            guard case .string(let shard) = value else {
                throw ModelTreeError.format("\(indexPath): weight_map entry for '\(tensor)' is not a string")
            }
            // A shard must be a plain file name beside the index: a hostile index must not make
            // us open files elsewhere ('/', '..'), and a NUL would truncate the C path.
            guard !shard.isEmpty, shard != ".", shard != "..", !shard.contains("/"), !shard.contains("\0") else {
                throw ModelTreeError.format("\(indexPath): shard name '\(shard)' for tensor '\(tensor)' is not a plain file name in the same folder")
            }
            map[tensor] = shard
        }
        return map
    }
}
