/// The Hugging Face name of a GGUF tensor, and how its values were changed on the way.
///
/// llama.cpp's `convert_hf_to_gguf.py` renames every tensor (`model.layers.3.self_attn.q_proj.weight`
/// becomes `blk.3.attn_q.weight`; gguf-py's `tensor_mapping.py` is the public list) and, for some
/// architectures, changes values: comparing a GGUF with its source must undo both. The tables
/// below are ours, written for the Llama (Mistral, Mixtral's dense layers), Qwen2/Qwen3, Gemma
/// (1, 2, 3), Phi-3, GPT-2 and BERT families; FormatsNamesTests checks each entry against
/// gguf-py's own HF → GGUF map.
public struct HFTensorName: Equatable, Sendable {
    /// The name in the Hugging Face checkpoint (`model.layers.0.self_attn.q_proj.weight`).
    public let name: String
    /// Other spellings of the same tensor in Hugging Face checkpoints of the family (GPT-2's
    /// `h.0.attn.c_attn.weight` beside `transformer.h.0.attn.c_attn.weight`; BERT's
    /// `bert.`-prefixed names in task heads' checkpoints).
    public let aliases: [String]
    /// How the GGUF values derive from the Hugging Face ones.
    public let transform: GGUFTransform
}

/// What the converter did to a tensor's values (besides its encoding).
public enum GGUFTransform: Equatable, Sendable {
    /// Nothing: the same matrix.
    case none
    /// The rows were permuted by `permute(weights, n_head, n_head_kv)` for rotary embeddings
    /// (Llama-family q and k projections, weights and biases): within each of `heads` heads of
    /// 2·h rows, HF row `j·h + i` became GGUF row `2i + j`. `TensorNames.ggufRow` inverts it.
    case permutedRows(heads: Int)
    /// The GGUF matrix is the HF one transposed (GPT-2's `Conv1D` weights, stored [in, out] by
    /// Hugging Face and [out, in] by llama.cpp).
    case transposed
    /// GGUF = HF + 1 (Gemma's RMSNorm weights: Hugging Face computes `x · (1 + w)`, llama.cpp
    /// stores the `1 + w` it multiplies by).
    case plusOne
}

/// Maps the tensor names of one GGUF file to Hugging Face names (`huggingFace(_:)`).
public struct GGUFNameMap: Sendable {
    /// `general.architecture`.
    public let architecture: String
    private let family: Family
    /// Per layer, when the file says (a scalar applies to every layer).
    private let headCount: HeadCounts?
    private let headCountKV: HeadCounts?

    /// The families with a table.
    public static let architectures = ["llama", "qwen2", "qwen3", "gemma", "gemma2", "gemma3", "phi3", "gpt2", "bert"]

    /// The map for `file`, from its `general.architecture` and `<arch>.attention.head_count(_kv)`.
    /// - Throws: `.format` when the architecture is missing or has no table, or a head count is
    ///   not a positive integer (or array of them).
    public init(_ file: GGUFFile) throws {
        guard let arch = file.value("general.architecture")?.string else {
            throw ModelTreeError.format("no 'general.architecture' string: cannot tell the tensors' Hugging Face names")
        }
        guard let family = Family(architecture: arch) else {
            throw ModelTreeError.format("architecture '\(arch)' has no tensor-name table (known: \(Self.architectures.joined(separator: ", ")))")
        }
        architecture = arch
        self.family = family
        headCount = try HeadCounts(file.value("\(arch).attention.head_count"), key: "\(arch).attention.head_count")
        headCountKV = try HeadCounts(file.value("\(arch).attention.head_count_kv"), key: "\(arch).attention.head_count_kv") ?? headCount
    }

    /// The Hugging Face name of the GGUF tensor `name`, or nil when the table has none (tensors
    /// the converter made up, such as `rope_freqs.weight`, or names of another family).
    /// - Throws: `.format` when the tensor was permuted but the file gives no head count for its layer.
    public func huggingFace(_ name: String) throws -> HFTensorName? {
        var layer: Int?
        var rest = Substring(name)
        if name.hasPrefix("blk.") {
            let afterBlk = name.dropFirst(4)
            guard let dot = afterBlk.firstIndex(of: "."), let n = Int(afterBlk[..<dot]), n >= 0,
                  afterBlk[..<dot].allSatisfy(\.isASCII) else { return nil }
            layer = n
            rest = afterBlk[afterBlk.index(after: dot)...]
        }
        // Split "attn_q.weight" into the module and its parameter.
        guard let dot = rest.lastIndex(of: ".") else { return nil }
        let module = String(rest[..<dot]), parameter = String(rest[rest.index(after: dot)...])
        guard parameter == "weight" || parameter == "bias" else { return nil }
        guard let entry = family.table(layered: layer != nil)[module] else { return nil }
        let names = entry.hf.map { template -> String in
            let base = layer.map { template.replacingLayer($0) } ?? template
            return base + "." + parameter
        }
        var transform = GGUFTransform.none
        switch entry.change {
        case .none: break
        case .transposedWeight: if parameter == "weight" { transform = .transposed }
        case .plusOne: if parameter == "weight" { transform = .plusOne }
        case .permuteQ, .permuteK:
            guard let layer else { break }
            let counts = entry.change == .permuteQ ? headCount : headCountKV
            let key = entry.change == .permuteQ ? "head_count" : "head_count_kv"
            guard let heads = counts?.at(layer) else {
                throw ModelTreeError.format("tensor '\(name)': no \(architecture).attention.\(key) for layer \(layer), needed to undo the rotary permutation")
            }
            transform = .permutedRows(heads: heads)
        }
        return HFTensorName(name: names[0], aliases: Array(names.dropFirst()), transform: transform)
    }

    /// A head count, one for all layers or one per layer.
    private enum HeadCounts: Sendable {
        case all(Int)
        case perLayer([Int])

        init?(_ value: GGUFValue?, key: String) throws {
            guard let value else { return nil }
            if let n = value.integer {
                guard n > 0 else { throw ModelTreeError.format("'\(key)' is \(n), not a positive head count") }
                self = .all(n)
                return
            }
            guard case .array(let array) = value, let elements = array.elements else {
                throw ModelTreeError.format("'\(key)' is neither an integer nor an array of integers")
            }
            var counts: [Int] = []
            for element in elements {
                guard let n = element.integer, n >= 0 else {
                    throw ModelTreeError.format("'\(key)' holds \(element), not a head count")
                }
                counts.append(n)
            }
            self = .perLayer(counts)
        }

        /// The count for `layer`; nil past the array or for a layer without attention (0 heads).
        func at(_ layer: Int) -> Int? {
            switch self {
            case .all(let n): return n
            case .perLayer(let counts): return layer < counts.count && counts[layer] > 0 ? counts[layer] : nil
            }
        }
    }

    /// What the converter did to a module's tensors.
    private enum Change { case none, permuteQ, permuteK, transposedWeight, plusOne }

    /// One row of a table: the Hugging Face spellings (the first is the name given; `{L}` is the
    /// layer) and the change.
    private struct Entry {
        var hf: [String]
        var change: Change = .none
    }

    private enum Family: Sendable {
        case llama(permuted: Bool, qkNorm: Bool)
        case gemma(version: Int)
        case phi3, gpt2, bert

        init?(architecture: String) {
            switch architecture {
            case "llama": self = .llama(permuted: true, qkNorm: false)
            case "qwen2": self = .llama(permuted: false, qkNorm: false)
            case "qwen3": self = .llama(permuted: false, qkNorm: true)
            case "gemma": self = .gemma(version: 1)
            case "gemma2": self = .gemma(version: 2)
            case "gemma3": self = .gemma(version: 3)
            case "phi3": self = .phi3
            case "gpt2": self = .gpt2
            case "bert": self = .bert
            default: return nil
            }
        }

        /// The table for tensors outside the blocks, or inside (`blk.N.`).
        func table(layered: Bool) -> [String: Entry] {
            switch self {
            case .llama(let permuted, let qkNorm):
                if !layered { return decoderTop }
                var t = decoderBlock
                if permuted {
                    t["attn_q"]!.change = .permuteQ
                    t["attn_k"]!.change = .permuteK
                }
                if qkNorm {
                    t["attn_q_norm"] = Entry(hf: ["model.layers.{L}.self_attn.q_norm"])
                    t["attn_k_norm"] = Entry(hf: ["model.layers.{L}.self_attn.k_norm"])
                }
                return t
            case .gemma(let version):
                // Gemma ties the output to the embedding, so the top has no `output`.
                var t = layered ? decoderBlock : decoderTop.filter { $0.key != "output" }
                if layered && version >= 2 {
                    t["post_attention_norm"] = Entry(hf: ["model.layers.{L}.post_attention_layernorm"])
                    t["ffn_norm"] = Entry(hf: ["model.layers.{L}.pre_feedforward_layernorm"])
                    t["post_ffw_norm"] = Entry(hf: ["model.layers.{L}.post_feedforward_layernorm"])
                }
                if layered && version >= 3 {
                    t["attn_q_norm"] = Entry(hf: ["model.layers.{L}.self_attn.q_norm"])
                    t["attn_k_norm"] = Entry(hf: ["model.layers.{L}.self_attn.k_norm"])
                }
                for key in t.keys where key.hasSuffix("norm") { t[key]!.change = .plusOne }
                return t
            case .phi3:
                if !layered { return decoderTop }
                return ["attn_norm": Entry(hf: ["model.layers.{L}.input_layernorm"]),
                        "attn_qkv": Entry(hf: ["model.layers.{L}.self_attn.qkv_proj"]),
                        "attn_output": Entry(hf: ["model.layers.{L}.self_attn.o_proj"]),
                        "ffn_norm": Entry(hf: ["model.layers.{L}.post_attention_layernorm"]),
                        // Phi-3 keeps gate and up in one matrix, and so does the GGUF (under ffn_up).
                        "ffn_up": Entry(hf: ["model.layers.{L}.mlp.gate_up_proj"]),
                        "ffn_down": Entry(hf: ["model.layers.{L}.mlp.down_proj"])]
            case .gpt2:
                func both(_ name: String, _ change: Change = .none) -> Entry {
                    Entry(hf: ["transformer." + name, name], change: change)
                }
                if !layered {
                    return ["token_embd": both("wte"), "position_embd": both("wpe"), "output_norm": both("ln_f"),
                            "output": Entry(hf: ["lm_head"])]
                }
                return ["attn_norm": both("h.{L}.ln_1"),
                        "attn_qkv": both("h.{L}.attn.c_attn", .transposedWeight),
                        "attn_output": both("h.{L}.attn.c_proj", .transposedWeight),
                        "ffn_norm": both("h.{L}.ln_2"),
                        "ffn_up": both("h.{L}.mlp.c_fc", .transposedWeight),
                        "ffn_down": both("h.{L}.mlp.c_proj", .transposedWeight)]
            case .bert:
                func both(_ name: String) -> Entry { Entry(hf: [name, "bert." + name]) }
                if !layered {
                    return ["token_embd": both("embeddings.word_embeddings"),
                            "token_types": both("embeddings.token_type_embeddings"),
                            "position_embd": both("embeddings.position_embeddings"),
                            "token_embd_norm": both("embeddings.LayerNorm")]
                }
                return ["attn_q": both("encoder.layer.{L}.attention.self.query"),
                        "attn_k": both("encoder.layer.{L}.attention.self.key"),
                        "attn_v": both("encoder.layer.{L}.attention.self.value"),
                        "attn_output": both("encoder.layer.{L}.attention.output.dense"),
                        "attn_output_norm": both("encoder.layer.{L}.attention.output.LayerNorm"),
                        "ffn_up": both("encoder.layer.{L}.intermediate.dense"),
                        "ffn_down": both("encoder.layer.{L}.output.dense"),
                        "layer_output_norm": both("encoder.layer.{L}.output.LayerNorm")]
            }
        }

        private var decoderTop: [String: Entry] {
            ["token_embd": Entry(hf: ["model.embed_tokens"]), "output_norm": Entry(hf: ["model.norm"]),
             "output": Entry(hf: ["lm_head"])]
        }

        private var decoderBlock: [String: Entry] {
            ["attn_norm": Entry(hf: ["model.layers.{L}.input_layernorm"]),
             "attn_q": Entry(hf: ["model.layers.{L}.self_attn.q_proj"]),
             "attn_k": Entry(hf: ["model.layers.{L}.self_attn.k_proj"]),
             "attn_v": Entry(hf: ["model.layers.{L}.self_attn.v_proj"]),
             "attn_output": Entry(hf: ["model.layers.{L}.self_attn.o_proj"]),
             "ffn_norm": Entry(hf: ["model.layers.{L}.post_attention_layernorm"]),
             "ffn_gate": Entry(hf: ["model.layers.{L}.mlp.gate_proj"]),
             "ffn_up": Entry(hf: ["model.layers.{L}.mlp.up_proj"]),
             "ffn_down": Entry(hf: ["model.layers.{L}.mlp.down_proj"])]
        }
    }
}

private extension String {
    /// The template with its `{L}` replaced by the layer number.
    func replacingLayer(_ layer: Int) -> String {
        var out = ""
        var rest = Substring(self)
        while let brace = rest.firstIndex(of: "{") {
            out += rest[..<brace]
            if rest[brace...].hasPrefix("{L}") {
                out += String(layer)
                rest = rest[rest.index(brace, offsetBy: 3)...]
            } else {
                out += "{"
                rest = rest[rest.index(after: brace)...]
            }
        }
        return out + rest
    }
}

/// The rotary permutation of the Llama family's q and k projections, and its inverse.
public enum TensorNames {
    /// The GGUF row that holds Hugging Face row `row` of a tensor of `rows` rows permuted with
    /// `heads` heads (`GGUFTransform.permutedRows`).
    ///
    /// `convert_hf_to_gguf.py` applies `w.reshape(heads, 2, h, …).swapaxes(1, 2).reshape(w.shape)`
    /// with h = rows / heads / 2: Hugging Face keeps each head's rotary pairs in two halves (row
    /// j·h + i of the head, j < 2), ggml interleaves them (row 2i + j). O(1).
    /// - Precondition: `rows` is a multiple of `2 · heads` (checked by `rowMap`), `row < rows`.
    public static func ggufRow(_ row: Int, rows: Int, heads: Int) -> Int {
        let headRows = rows / heads, h = headRows / 2
        let head = row / headRows, r = row % headRows
        return head * headRows + 2 * (r % h) + r / h
    }

    /// `ggufRow` for every Hugging Face row: the row map that presents a permuted GGUF tensor in
    /// Hugging Face order (view row r = GGUF row `map[r]`).
    /// - Throws: `.format` when `rows` is not a multiple of `2 · heads`.
    public static func rowMap(rows: Int, heads: Int, tensor: String) throws -> [Int] {
        guard heads > 0, rows > 0, rows % (2 * heads) == 0 else {
            throw ModelTreeError.format("tensor '\(tensor)': \(rows) rows cannot be \(heads) heads of rotary pairs, so its permutation cannot be undone")
        }
        return (0..<rows).map { ggufRow($0, rows: rows, heads: heads) }
    }
}
