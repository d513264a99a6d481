/// Where one model lives, and the id it will be known by.
public struct ModelLocation: Equatable, Sendable {
    public var id: String
    /// The `.safetensors` file, or the folder holding the model's weights.
    public var path: String
    public init(id: String, path: String) { self.id = id; self.path = path }
}

public enum ModelLoader {
    /// Expands user paths into models, in the order given.
    ///
    /// - A `.safetensors` file is one model; its id is the file name without `.safetensors`.
    /// - A folder is one model when it holds weights (see `load`); its id is the folder name.
    /// - A folder holding no weights itself expands to its immediate entries that are models —
    ///   sub-folders with weights and `.safetensors` files — sorted by name; hidden entries are
    ///   skipped. A folder with several loose `.safetensors` files and no index is such a
    ///   collection (one loose file, by Hugging Face convention, makes the folder one model).
    ///
    /// - Throws: `.io` for a path that does not exist; `.invalidArgument` for a folder with no
    ///   models, a path that is neither, or two models with the same id; `.format` for a folder
    ///   whose weights are ambiguous.
    public static func expand(_ paths: [String]) throws -> [ModelLocation] {
        var locations: [ModelLocation] = []
        for path in paths {
            switch try FileSystem.kind(of: path) {
            case .file:
                guard let id = singleFileID(path) else {
                    throw ModelTreeError.invalidArgument("\(path): not a .safetensors file or a folder")
                }
                locations.append(ModelLocation(id: id, path: path))
            case .directory:
                if try weights(in: path) != nil {
                    locations.append(ModelLocation(id: FileSystem.lastComponent(path), path: path))
                    continue
                }
                var found = false
                for name in try FileSystem.list(path) {
                    let child = FileSystem.join(path, name)
                    // A dangling link beside the models is not our business.
                    switch try? FileSystem.kind(of: child) {
                    case .directory?:
                        guard try weights(in: child) != nil else { continue }
                        locations.append(ModelLocation(id: name, path: child))
                    case .file?:
                        guard let id = singleFileID(child) else { continue }
                        locations.append(ModelLocation(id: id, path: child))
                    default:
                        continue
                    }
                    found = true
                }
                guard found else { throw ModelTreeError.invalidArgument("\(path): no models found") }
            case .other:
                throw ModelTreeError.invalidArgument("\(path): not a .safetensors file or a folder")
            }
        }
        var seen: [String: String] = [:]
        for location in locations {
            if let first = seen.updateValue(location.path, forKey: location.id) {
                throw ModelTreeError.invalidArgument("two models have the id '\(location.id)': \(first) and \(location.path)")
            }
        }
        return locations
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
                throw ModelTreeError.format("\(location.path): no model.safetensors, *.safetensors.index.json or *.safetensors file")
            }
            weights = found
        default:
            weights = .single(location.path)
        }
        switch weights {
        case .single(let file):
            let st = try SafetensorsFile(path: file)
            return try Model(id: location.id, path: location.path, tensors: st.tensors, owners: [st])
        case .sharded(let index):
            return try loadSharded(id: location.id, folder: location.path, index: index)
        }
    }

    /// What a model folder's weights are stored as.
    enum Weights: Equatable {
        case single(String)
        /// The path of the `*.safetensors.index.json` file.
        case sharded(String)
    }

    /// The weights a folder holds, nil if none; see `load` for the precedence.
    /// - Throws: `.format` listing the candidates when there are several and nothing decides.
    static func weights(in folder: String) throws -> Weights? {
        // Sub-folders are skipped; a name that cannot be stat'ed (a dangling link left by an
        // interrupted download) is kept, so that loading it reports the I/O error.
        let names = try FileSystem.list(folder).filter {
            ($0.hasSuffix(".safetensors") || $0.hasSuffix(".safetensors.index.json"))
                && (try? FileSystem.kind(of: FileSystem.join(folder, $0))) ?? .file == .file
        }
        if names.contains("model.safetensors") {
            return .single(FileSystem.join(folder, "model.safetensors"))
        }
        let indexes = names.filter { $0.hasSuffix(".safetensors.index.json") }
        if indexes.count > 1 {
            throw ModelTreeError.format("\(folder): several shard indexes, cannot tell which is the model: \(indexes.joined(separator: ", "))")
        }
        if let index = indexes.first { return .sharded(FileSystem.join(folder, index)) }
        let files = names.filter { $0.hasSuffix(".safetensors") }
        if files.count > 1 {
            // Several loose files: a collection of single-file models — unless they are shards
            // that lost their index, which must not be compared as separate models.
            if let shard = files.first(where: looksLikeShard) {
                throw ModelTreeError.format("\(folder): \(shard) is one shard of a model but the folder has no *.safetensors.index.json")
            }
            return nil
        }
        return files.first.map { .single(FileSystem.join(folder, $0)) }
    }

    /// Whether a file name has the shard form `<stem>-00001-of-00004.safetensors`.
    static func looksLikeShard(_ name: String) -> Bool {
        let parts = name.dropLast(".safetensors".count).split(separator: "-")
        guard parts.count >= 3 else { return false }
        let n = parts.count
        return parts[n - 2] == "of" && parts[n - 1].allSatisfy(\.isNumber) && parts[n - 3].allSatisfy(\.isNumber)
    }

    /// The id of a single-file model, or nil if `path` is not a `.safetensors` file name.
    private static func singleFileID(_ path: String) -> String? {
        let name = FileSystem.lastComponent(path)
        guard name.hasSuffix(".safetensors"), name.count > ".safetensors".count else { return nil }
        return String(name.dropLast(".safetensors".count))
    }

    /// Opens every shard named by the index once and checks that the index and the shards agree
    /// tensor for tensor, so a stale or hand-edited index cannot silently drop or misplace weights.
    private static func loadSharded(id: String, folder: String, index indexPath: String) throws -> Model {
        let weightMap = try readWeightMap(indexPath)
        // The tensors each shard should hold, gathered once: filtering the whole map for every
        // shard cost shards × tensors (98 s for an index of 65,000 one-tensor shards).
        var expected: [String: [String]] = [:]
        for (tensor, shard) in weightMap { expected[shard, default: []].append(tensor) }
        var shards: [SafetensorsFile] = []
        var tensors: [TensorView] = []
        for shardName in expected.keys.sorted() {
            let shard = try SafetensorsFile(path: FileSystem.join(folder, shardName))
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
            shards.append(shard)
        }
        return try Model(id: id, path: folder, tensors: tensors, owners: shards)
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
