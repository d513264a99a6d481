/// Where a model's files say what it was made from.
public enum ClaimSource: String, CaseIterable, Sendable {
    /// README.md's YAML front matter, `base_model:` (`FrontMatter`).
    case readme
    /// config.json's `_name_or_path` (the name transformers loaded the model from before saving it).
    case config
    /// adapter_config.json's `base_model_name_or_path` (the base PEFT trained the adapter on).
    case adapterConfig = "adapter_config"
    /// GGUF metadata `general.base_model.{i}.repo_url` (or `.name` when there is no URL).
    case gguf
}

/// One statement of a model's files about its origin: a name, path or URL of another model.
/// A claim is never evidence: the audit (`ModelGraph.audit`) judges it against the weights.
public struct OriginClaim: Sendable, Equatable {
    public var source: ClaimSource
    /// As written: `org/name`, `https://huggingface.co/org/name`, `/data/models/name`, `name`.
    public var claimed: String
    /// `base_model_relation:` of the card (readme claims only), when given.
    public var relation: String?
    public init(source: ClaimSource, claimed: String, relation: String? = nil) {
        self.source = source; self.claimed = claimed; self.relation = relation
    }
}

/// Reads the claims a model's files make (the files beside its weights are read here, and only
/// their claims; a file that cannot be read is a problem noted, never an error of the recovery).
///
/// Which files speak for a model:
/// - a model folder (a Hugging Face folder, a PEFT adapter folder): its README.md, config.json and
///   adapter_config.json;
/// - a `.gguf` file: its metadata `general.base_model.count` and `general.base_model.{i}.*`, one
///   claim per i (`repo_url`, else `name`; `organization` alone names no model);
/// - any weights file given by itself: the README.md and config.json beside it only when that
///   folder is the model's own — when the loader would read the folder as this very model
///   (`ModelLoader.weights(in:)` names the file, e.g. `fx/model.safetensors`). Loose files of a
///   collection folder share it with other models, and a card there speaks for the collection or
///   for some other model; taking it as each file's claim would invent claims. (A GGUF is never
///   its folder's own weights, so only its metadata speaks for it.)
public enum Claims {
    /// The largest config.json or adapter_config.json read (real ones are a few KB).
    static let maxConfigBytes = 4 << 20

    /// The claims of the model at `path`, in the order readme, config, adapter_config, gguf, and
    /// one-line notes on files that could not be read (naming the file).
    /// - Parameter metadata: the GGUF metadata already read with the weights (`Model.metadata`),
    ///   which spares opening the file again; nil reads the header.
    public static func read(path: String, ggufMetadata metadata: [(key: String, value: String)]? = nil)
        -> (claims: [OriginClaim], problems: [String]) {
        var claims: [OriginClaim] = [], problems: [String] = []
        let folder: String?
        switch try? FileSystem.kind(of: path) {
        case .directory?:
            folder = path
        case .file?:
            folder = ownsFolder(path) ? FileSystem.parent(path) : nil
        default:
            return ([], ["\(path): cannot be read, so neither can its claims"])
        }
        if let folder {
            readme(FileSystem.join(folder, "README.md"), &claims, &problems)
            jsonString(FileSystem.join(folder, "config.json"), key: "_name_or_path", source: .config, &claims, &problems)
            jsonString(FileSystem.join(folder, "adapter_config.json"), key: "base_model_name_or_path", source: .adapterConfig,
                       &claims, &problems)
        }
        if path.hasSuffix(".gguf"), (try? FileSystem.kind(of: path)) == .file {
            if let metadata {
                gguf(metadata, path, &claims, &problems)
            } else {
                do {
                    gguf(GGUFWeights.metadata(try GGUFFile.open(path: path).gguf), path, &claims, &problems)
                } catch let error as ModelTreeError {
                    problems.append("\(path): \(error.message); its claims are not read")
                } catch {
                    problems.append("\(path): unreadable; its claims are not read")
                }
            }
        }
        return (claims, problems)
    }

    /// Whether the folder holding the weights file `path` is the model's own (see the type).
    static func ownsFolder(_ path: String) -> Bool {
        let folder = FileSystem.parent(path)
        guard let weights = try? ModelLoader.weights(in: folder) else { return false }
        return FileSystem.lastComponent(weights.path) == FileSystem.lastComponent(path)
    }

    /// The first `limit` bytes of the file at `path` (nil when there is no file; a problem when
    /// there is one that cannot be read).
    private static func contents(_ path: String, limit: Int, whole: Bool, _ problems: inout [String]) -> [UInt8]? {
        guard (try? FileSystem.kind(of: path)) == .file else { return nil }
        do {
            let file = try CheckpointFile(path: path)
            if whole && file.size > limit {
                problems.append("\(path): \(file.size) bytes, over the limit of \(limit) for a card file; its claims are not read")
                return nil
            }
            return try file.bytes(count: Swift.min(file.size, limit), at: 0)
        } catch let error as ModelTreeError {
            problems.append("\(error.message); its claims are not read")
        } catch {
            problems.append("\(path): unreadable; its claims are not read")
        }
        return nil
    }

    private static func readme(_ path: String, _ claims: inout [OriginClaim], _ problems: inout [String]) {
        guard let bytes = contents(path, limit: FrontMatter.maxBytes, whole: false, &problems) else { return }
        let card = FrontMatter(parsing: String(decoding: bytes, as: UTF8.self))
        if let problem = card.problem { problems.append("\(path): front matter: \(problem)") }
        claims += card.baseModels.map { OriginClaim(source: .readme, claimed: $0, relation: card.relation) }
    }

    private static func jsonString(_ path: String, key: String, source: ClaimSource,
                                   _ claims: inout [OriginClaim], _ problems: inout [String]) {
        guard let bytes = contents(path, limit: maxConfigBytes, whole: true, &problems) else { return }
        let root: JSONValue
        do {
            root = try bytes.withUnsafeBytes { try JSONParser.parse($0) }
        } catch let error as ModelTreeError {
            problems.append("\(path): \(error.message); its claims are not read")
            return
        } catch {
            problems.append("\(path): not JSON; its claims are not read")
            return
        }
        switch root[key] {
        case nil, .null?: return
        case .string(let s)?:
            let name = trimmedName(s)
            if !name.isEmpty { claims.append(OriginClaim(source: source, claimed: name)) }
        default:
            problems.append("\(path): '\(key)' is not a string; it is not read as a claim")
        }
    }

    private static func gguf(_ metadata: [(key: String, value: String)], _ path: String,
                             _ claims: inout [OriginClaim], _ problems: inout [String]) {
        var values: [String: String] = [:]
        for entry in metadata where entry.key.hasPrefix("general.base_model.") { values[entry.key] = entry.value }
        guard let text = values["general.base_model.count"] else { return }
        guard let count = Int(text), count >= 0 else {
            problems.append("\(path): 'general.base_model.count' is \(text), not a count; its claims are not read")
            return
        }
        // The count is the file's word: only keys that exist are read, so a huge count costs nothing.
        for i in 0..<Swift.min(count, values.count) {
            let url = values["general.base_model.\(i).repo_url"].map(trimmedName) ?? ""
            let name = values["general.base_model.\(i).name"].map(trimmedName) ?? ""
            if !url.isEmpty || !name.isEmpty {
                claims.append(OriginClaim(source: .gguf, claimed: url.isEmpty ? name : url))
            } else {
                problems.append("\(path): 'general.base_model.\(i)' has neither a repo_url nor a name; it claims nothing")
            }
        }
    }

    /// A name as written, without the spaces around it.
    static func trimmedName(_ s: String) -> String {
        var t = Substring(s)
        while let c = t.first, c == " " || c == "\t" || c == "\n" || c == "\r" { t = t.dropFirst() }
        while let c = t.last, c == " " || c == "\t" || c == "\n" || c == "\r" { t = t.dropLast() }
        return String(t)
    }
}
