/// A PEFT LoRA adapter folder (`adapter_config.json` + `adapter_model.safetensors` or `.bin`), as
/// the updates it makes to its base model: for each adapted module, ΔW = B·A·scale under the
/// base's tensor name (`LoRAPair`), computed block of rows by block of rows (`deltaRows`) — never
/// for a whole model at once.
///
/// peft (`peft/tuners/lora/layer.py`, `get_delta_weight`) names the factors
/// `base_model.model.<module>.lora_A.weight` ([r, in]) and `….lora_B.weight` ([out, r]) — with
/// the adapter's name before `.weight` in some files (`lora_A.default.weight`) — and an
/// embedding's `….lora_embedding_A` ([r, vocab]) and `….lora_embedding_B` ([dim, r]), whose
/// update is (B·A)ᵀ, as is a `fan_in_fan_out` layer's (GPT-2's Conv1D stores [in, out]). The
/// scale is lora_alpha / r, or lora_alpha / √r with rsLoRA, r and alpha taken from
/// `rank_pattern` and `alpha_pattern` when a key matches the module. `lora_B.bias` (lora_bias)
/// adds scale × bias to the module's bias. Every other tensor — `modules_to_save`, and an
/// embedding's `base_layer` that peft saves beside its factors (when the vocabulary may have
/// been resized) — is a full tensor that replaces the base's; a target both replaced and
/// updated is the replacement plus ΔW.
public struct LoRAAdapter: Sendable {
    public let config: LoRAConfig
    /// One per adapted module, sorted by target.
    public let pairs: [LoRAPair]
    /// Bias updates (lora_bias), sorted by target.
    public let biases: [LoRABias]
    /// Full tensors that replace the base's: (name in the adapter file, base tensor name). A
    /// pair's update applies to the replacement when its target is replaced too.
    public let replacements: [(adapterName: String, target: String)]

    static let maxConfigLength = 1_000_000

    /// Reads the folder: the config, and the names and shapes of the weights file's tensors.
    /// - Throws: `.io` when a file cannot be read; `.format` naming the file otherwise.
    static func open(folder: String) throws -> LoRAAdapter {
        let configPath = FileSystem.join(folder, "adapter_config.json")
        let text = try CheckpointFile(path: configPath).readAll(limit: maxConfigLength) {
            ModelTreeError.format("\(configPath): \($0) bytes, over the limit of \(maxConfigLength) bytes for an adapter config")
        }
        let config = try prefixingFormatErrors(configPath) { try text.withUnsafeBytes { try LoRAConfig.parse($0) } }
        let safetensors = FileSystem.join(folder, "adapter_model.safetensors")
        let bin = FileSystem.join(folder, "adapter_model.bin")
        let tensors: [(name: String, shape: [Int])]
        let weights: String
        if (try? FileSystem.kind(of: safetensors)) == .file {
            weights = safetensors
            tensors = try SafetensorsFile(path: safetensors).tensors.map { ($0.name, $0.shape) }
        } else if (try? FileSystem.kind(of: bin)) == .file {
            weights = bin
            tensors = try TorchCheckpoint.open(path: bin).checkpoint.tensors.map { ($0.name, $0.shape) }
        } else {
            throw ModelTreeError.format("\(folder): an adapter_config.json without adapter_model.safetensors or adapter_model.bin")
        }
        return try prefixingFormatErrors(weights) { try pair(config: config, tensors: tensors) }
    }

    /// Pairs the factors of an adapter whose tensors are `tensors` (names and shapes).
    /// - Throws: `.format` for a factor without its partner, shapes that do not multiply, a rank
    ///   that contradicts the config, DoRA magnitudes, or an unknown LoRA tensor.
    static func pair(config: LoRAConfig, tensors: [(name: String, shape: [Int])]) throws -> LoRAAdapter {
        struct Factors { var a: (String, [Int])?, b: (String, [Int])?, bias: (String, [Int])?, embedding = false }
        var modules: [String: Factors] = [:]
        var replacements: [(String, String)] = []
        var adapterName: String?
        for (name, shape) in tensors {
            let stripped = name.hasPrefix("base_model.model.") ? String(name.dropFirst("base_model.model.".count)) : name
            guard let (module, role, adapter) = Self.role(stripped) else {
                var parts = stripped.split(separator: ".", omittingEmptySubsequences: false)
                if parts.contains(where: { $0.hasPrefix("lora_") }) {
                    throw ModelTreeError.format("tensor '\(name)' is not a LoRA factor libmodeltree knows (lora_A, lora_B, lora_embedding_A/B)")
                }
                // A full tensor: modules_to_save (under ….modules_to_save.<adapter>. in some
                // files) or an embedding's base_layer.
                if let i = parts.firstIndex(of: "modules_to_save") { parts.removeSubrange(i..<Swift.min(i + 2, parts.count - 1)) }
                if let i = parts.firstIndex(of: "base_layer"), i < parts.count - 1 { parts.remove(at: i) }
                let target = parts.joined(separator: ".")
                replacements.append((name, target))
                continue
            }
            if let adapter {
                if let known = adapterName, known != adapter {
                    throw ModelTreeError.format("tensors of two adapters ('\(known)' and '\(adapter)') in one file")
                }
                adapterName = adapter
            }
            var f = modules[module, default: Factors()]
            switch role {
            case "A", "embedding_A":
                guard f.a == nil else { throw ModelTreeError.format("module '\(module)' has two lora_A tensors") }
                f.a = (name, shape)
            case "B", "embedding_B":
                guard f.b == nil else { throw ModelTreeError.format("module '\(module)' has two lora_B tensors") }
                f.b = (name, shape)
            case "bias": f.bias = (name, shape)
            case "magnitude":
                throw ModelTreeError.format("tensor '\(name)' is a DoRA magnitude: DoRA's update depends on the base weights, which libmodeltree does not combine")
            default: break
            }
            if role.hasPrefix("embedding") { f.embedding = true }
            modules[module] = f
        }

        var pairs: [LoRAPair] = [], biases: [LoRABias] = []
        for (module, f) in modules {
            guard let (aName, aShape) = f.a else { throw ModelTreeError.format("module '\(module)' has lora_B but no lora_A") }
            guard let (bName, bShape) = f.b else { throw ModelTreeError.format("module '\(module)' has lora_A but no lora_B") }
            func bad(_ why: String) -> ModelTreeError { .format("module '\(module)': \(why)") }
            guard aShape.count >= 2, bShape.count >= 2, bShape[2...].allSatisfy({ $0 == 1 }) else {
                throw bad("lora_A \(aShape) and lora_B \(bShape) are not [r, in…] and [out, r]")
            }
            let rank = aShape[0]
            guard rank > 0, bShape[1] == rank else { throw bad("lora_A \(aShape) and lora_B \(bShape) do not share a rank") }
            let configured = try config.rank(module: module)
            guard configured == rank else { throw bad("rank \(rank), but adapter_config.json gives r = \(configured)") }
            let scale = try config.scale(module: module, rank: rank)
            let transposed = f.embedding || config.fanInFanOut
            if transposed && aShape.count != 2 { throw bad("a transposed update of a \(aShape.count)-D lora_A") }
            let shape = transposed ? [aShape[1], bShape[0]] : [bShape[0]] + aShape[1...]
            pairs.append(LoRAPair(target: module + ".weight", a: aName, b: bName, rank: rank, scale: scale,
                                  transposed: transposed, shape: shape))
            if let (biasName, biasShape) = f.bias {
                guard biasShape == [bShape[0]] else { throw bad("lora_B.bias \(biasShape) does not match lora_B \(bShape)") }
                biases.append(LoRABias(target: module + ".bias", bias: biasName, scale: scale))
            }
        }
        pairs.sort { $0.target < $1.target }
        biases.sort { $0.target < $1.target }
        return LoRAAdapter(config: config, pairs: pairs, biases: biases, replacements: replacements.sorted { $0.1 < $1.1 })
    }

    /// The module, the factor's role and the adapter name of a LoRA tensor name (after the
    /// `base_model.model.` prefix), or nil for a full tensor.
    private static func role(_ name: String) -> (module: String, role: String, adapter: String?)? {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let roles = ["lora_A": "A", "lora_B": "B", "lora_embedding_A": "embedding_A", "lora_embedding_B": "embedding_B",
                     "lora_magnitude_vector": "magnitude"]
        guard let i = parts.lastIndex(where: { roles[$0] != nil }), i > 0 else { return nil }
        let module = parts[..<i].joined(separator: ".")
        let rest = Array(parts[(i + 1)...])
        var role = roles[parts[i]]!
        // After the role: [adapter] then "weight"/"bias" for lora_A/B; [adapter] alone for the
        // embedding factors and the magnitude.
        var adapter: String?
        var tail = rest
        if role == "A" || role == "B" {
            guard let last = tail.popLast(), last == "weight" || (last == "bias" && role == "B") else { return nil }
            if last == "bias" { role = "bias" }
        } else if tail.last == "weight" {
            tail.removeLast()
        }
        switch tail.count {
        case 0: break
        case 1: adapter = tail[0]
        default: return nil
        }
        return (module, role, adapter)
    }
}

/// One adapted module: ΔW = B·A·scale (or its transpose) has `shape`, the base tensor's shape.
public struct LoRAPair: Sendable, Equatable {
    /// The base tensor updated (`model.layers.0.self_attn.q_proj.weight`).
    public let target: String
    /// The factors' names in the adapter file.
    public let a: String, b: String
    public let rank: Int
    public let scale: Double
    /// ΔW = (B·A)ᵀ·scale (an embedding, or fan_in_fan_out).
    public let transposed: Bool
    public let shape: [Int]

    /// Rows `rows` of ΔW (row-major, `shape[1…]` flattened) into `target`, from the whole of A
    /// ([r, k] row-major, k the product of A's other dimensions) and B ([out, r]).
    ///
    /// Each element is a sum of `rank` products, accumulated in Double and rounded once; O(rows ×
    /// columns × rank). A and B are small (rank × a dimension), so the caller decodes them once.
    public func deltaRows(_ rows: Range<Int>, a: UnsafeBufferPointer<Float>, b: UnsafeBufferPointer<Float>,
                          into target: UnsafeMutablePointer<Float>) {
        let r = rank, k = a.count / r, out = b.count / r
        var acc = [Double](repeating: 0, count: transposed ? out : k)
        for (n, row) in rows.enumerated() {
            for j in acc.indices { acc[j] = 0 }
            if transposed {
                // ΔWᵀ[row, o] = Σ_q A[q, row] · B[o, q]
                for q in 0..<r {
                    let aq = Double(a[q * k + row])
                    for o in 0..<out { acc[o] += aq * Double(b[o * r + q]) }
                }
            } else {
                // ΔW[row, j] = Σ_q B[row, q] · A[q, j]
                for q in 0..<r {
                    let bq = Double(b[row * r + q])
                    for j in 0..<k { acc[j] += bq * Double(a[q * k + j]) }
                }
            }
            let y = target + n * acc.count
            for j in acc.indices { y[j] = Float(acc[j] * scale) }
        }
    }
}

/// A bias update (lora_bias): Δbias = scale × `bias`.
public struct LoRABias: Sendable, Equatable {
    public let target: String
    public let bias: String
    public let scale: Double
}

/// The parts of `adapter_config.json` that decide the update, and the base-model claim.
public struct LoRAConfig: Sendable, Equatable {
    public let rank: Int
    public let alpha: Double
    public let useRSLoRA: Bool
    public let fanInFanOut: Bool
    /// `target_modules` as a list of names, or nil when it is a regular expression or absent.
    public let targetModules: [String]?
    /// `target_modules` when it is a regular expression (kept as text, never evaluated).
    public let targetModulesPattern: String?
    public let modulesToSave: [String]
    /// `base_model_name_or_path`: the claim an audit judges against the weights.
    public let baseModel: String?
    /// `rank_pattern` and `alpha_pattern`, in file order (the first matching key wins, as in peft).
    public let rankPattern: [(key: String, rank: Int)]
    public let alphaPattern: [(key: String, alpha: Double)]

    public static func == (x: LoRAConfig, y: LoRAConfig) -> Bool {
        x.rank == y.rank && x.alpha == y.alpha && x.useRSLoRA == y.useRSLoRA && x.fanInFanOut == y.fanInFanOut
            && x.targetModules == y.targetModules && x.targetModulesPattern == y.targetModulesPattern
            && x.modulesToSave == y.modulesToSave && x.baseModel == y.baseModel
            && x.rankPattern.elementsEqual(y.rankPattern, by: ==) && x.alphaPattern.elementsEqual(y.alphaPattern, by: ==)
    }

    /// Parses the JSON of an `adapter_config.json`.
    /// - Throws: `.format` for malformed JSON, a type that is not LoRA (`peft_type`), DoRA, or a
    ///   field of the wrong kind.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws -> LoRAConfig {
        let root = try JSONParser.parse(bytes, maxDepth: 16)
        guard case .object = root else { throw ModelTreeError.format("not a JSON object") }
        let type = root["peft_type"]
        guard case .string(let peftType)? = type else {
            throw ModelTreeError.format("no 'peft_type': cannot tell what kind of adapter this is")
        }
        guard peftType == "LORA" else {
            throw ModelTreeError.format("peft_type '\(peftType)' is not LoRA: libmodeltree reads LoRA adapters only")
        }
        if root["use_dora"] == .bool(true) {
            throw ModelTreeError.format("use_dora is true: DoRA's update depends on the base weights, which libmodeltree does not combine")
        }
        func number(_ key: String) throws -> Double {
            guard case .number(let v)? = root[key], v.isFinite else { throw ModelTreeError.format("'\(key)' is not a number") }
            return v
        }
        func flag(_ key: String) throws -> Bool {
            switch root[key] {
            case nil, .null?: return false
            case .bool(let b)?: return b
            default: throw ModelTreeError.format("'\(key)' is not true or false")
            }
        }
        func strings(_ key: String) throws -> [String]? {
            switch root[key] {
            case nil, .null?: return nil
            case .array(let items)?:
                return try items.map {
                    guard case .string(let s) = $0 else { throw ModelTreeError.format("'\(key)' holds something other than names") }
                    return s
                }
            default: throw ModelTreeError.format("'\(key)' is not a list of names")
            }
        }
        func patterns(_ key: String) throws -> [(String, Double)] {
            switch root[key] {
            case nil, .null?: return []
            case .object(let members)?:
                return try members.map {
                    guard case .number(let v) = $0.value, v.isFinite else { throw ModelTreeError.format("'\(key)' maps '\($0.key)' to something other than a number") }
                    return ($0.key, v)
                }
            default: throw ModelTreeError.format("'\(key)' is not an object")
            }
        }
        let r = try number("r")
        guard r >= 1, r <= 0x1p30, r.rounded() == r else { throw ModelTreeError.format("'r' is \(r), not a positive integer") }
        let alpha = try number("lora_alpha")
        var pattern: String?
        var targets: [String]?
        if case .string(let s)? = root["target_modules"] { pattern = s } else { targets = try strings("target_modules") }
        let base: String?
        switch root["base_model_name_or_path"] {
        case .string(let s)?: base = s
        case nil, .null?: base = nil
        default: throw ModelTreeError.format("'base_model_name_or_path' is not a string")
        }
        let rankPattern = try patterns("rank_pattern").map { key, v in
            guard v >= 1, v <= 0x1p30, v.rounded() == v else {
                throw ModelTreeError.format("'rank_pattern' maps '\(key)' to \(v), not a positive integer")
            }
            return (key: key, rank: Int(v))
        }
        let config = LoRAConfig(rank: Int(r), alpha: alpha, useRSLoRA: try flag("use_rslora"), fanInFanOut: try flag("fan_in_fan_out"),
                                targetModules: targets, targetModulesPattern: pattern, modulesToSave: try strings("modules_to_save") ?? [],
                                baseModel: base, rankPattern: rankPattern,
                                alphaPattern: try patterns("alpha_pattern").map { (key: $0.0, alpha: $0.1) })
        for key in config.rankPattern.map(\.key) + config.alphaPattern.map(\.key) { try checkLiteral(key) }
        return config
    }

    /// The rank peft gives `module`: rank_pattern's first matching key, else r.
    func rank(module: String) throws -> Int {
        rankPattern.first { Self.matches($0.key, module) }?.rank ?? rank
    }

    /// The scale of `module`'s update: alpha / rank (alpha / √rank with rsLoRA), alpha from
    /// alpha_pattern's first matching key.
    func scale(module: String, rank: Int) throws -> Double {
        let a = alphaPattern.first { Self.matches($0.key, module) }?.alpha ?? alpha
        return useRSLoRA ? a / Double(rank).squareRoot() : a / Double(rank)
    }

    /// peft matches a pattern key against a module name as the regular expression
    /// `(.*\.)?(key)$`; libmodeltree takes keys literally: the whole name, or its end after a dot.
    static func matches(_ key: String, _ module: String) -> Bool {
        module == key || module.hasSuffix("." + key)
    }

    /// Refuses a pattern key that uses regular-expression syntax beyond the literal dot.
    private static func checkLiteral(_ key: String) throws {
        if let c = key.first(where: { "^$*+?()[]{}|\\".contains($0) }) {
            throw ModelTreeError.format("pattern key '\(key)' uses the regular-expression syntax '\(c)', which libmodeltree does not evaluate")
        }
    }
}
