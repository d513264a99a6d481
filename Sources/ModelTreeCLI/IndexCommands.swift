import ArgumentParser
import Foundation
import ModelTree
import ModelTreeIndex

/// `modeltree-cli index …`: a hub's index of models (ModelTreeIndex.HubIndex).
struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Keep models in an index file (SQLite) and ask for any model's parent in milliseconds.",
        discussion: """
        DB is the index file; it is made when missing. A model's signature (moments, linear sketches and \
        content hashes) is computed from one read of its weights; the parent queries and the graph use \
        signatures only. Several processes may use one index at once.
        """,
        subcommands: [Add.self, Remove.self, Parent.self, Graph.self, List.self, Verify.self, SignatureFile.self])

    /// The index at `path`, opened as this CLI opens every index.
    static func open(_ path: String, threads: Int? = nil) throws -> HubIndex {
        var options = HubIndex.Options()
        options.createdBy = "modeltree-cli \(version)"
        options.threads = threads ?? ProcessInfo.processInfo.environment["MODELTREE_THREADS"].flatMap { Int($0) }.flatMap { $0 >= 1 ? $0 : nil }
        return try HubIndex(path: path, options: options)
    }

    /// Runs `body`, turning the library's errors into the CLI's one-line message and exit code 2.
    static func run(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as ModelTreeError {
            FileHandle.standardError.write("modeltree-cli: error: \(Recover.flagged(error.message))\n".data(using: .utf8)!)
            throw ExitCode(2)
        }
    }

    /// A signature read from a file `modeltree-cli index signature` wrote.
    static func readSignature(_ path: String) throws -> ModelSignature {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelTreeError.io("\(path): cannot be read")
        }
        do {
            return try data.withUnsafeBytes { try ModelSignature(bytes: $0) }
        } catch ModelTreeError.format(let reason) {
            throw ModelTreeError.format("\(path): \(reason)")
        }
    }

    /// The one model at `path`, known as `id` (default: its folder or file name).
    static func oneModel(_ path: String, id: String?) throws -> ModelLocation {
        if let id { return try ModelLoader.single(path, id: id) }
        let found = try ModelLoader.expand([path])
        guard found.count == 1 else { throw ModelTreeError.invalidArgument("'\(path)' holds \(found.count) models; give one model") }
        return found[0]
    }

    /// Whether a path names a signature file rather than a model.
    static func isSignatureFile(_ path: String) -> Bool { path.hasSuffix(".mtsig") }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add models (folders, .safetensors files, folders of models, or .mtsig signature files).")
        @Argument(help: "The index file.") var db: String
        @Argument(help: "Models to add, each read once.") var paths: [String]
        @Option(help: "The id of the one model given (default: its folder or file name).") var id: String?
        @Option(parsing: .unconditional, help: "Worker threads for the signatures (default: MODELTREE_THREADS, else one per processor).")
        var threads: Int?

        func validate() throws {
            if id != nil && paths.count != 1 { throw ValidationError("--id names one model: give one path") }
        }

        func run() throws {
            try IndexCommand.run {
                let index = try IndexCommand.open(db, threads: threads)
                defer { index.close() }
                for path in paths {
                    if IndexCommand.isSignatureFile(path) {
                        report(try index.add(try IndexCommand.readSignature(path), id: id))
                        continue
                    }
                    let (locations, unread) = try ModelLoader.survey(path, id: id)
                    for note in unread { FileHandle.standardError.write("warning: \(note)\n".data(using: .utf8)!) }
                    for location in locations { report(try index.add(model: try ModelLoader.load(location))) }
                }
            }
        }

        private func report(_ added: HubIndex.Added) {
            var line = "added \(added.id): "
            switch added.joinedFamilies {
            case 0: line += "a new family"
            case 1: line += "family of \(added.familySize)"
            default: line += "links \(added.joinedFamilies) families into one of \(added.familySize)"
            }
            if !added.duplicates.isEmpty { line += "; same weights as \(added.duplicates.joined(separator: ", "))" }
            print(line)
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove models by id.")
        @Argument(help: "The index file.") var db: String
        @Argument(help: "Ids of indexed models.") var ids: [String]

        func run() throws {
            try IndexCommand.run {
                let index = try IndexCommand.open(db)
                defer { index.close() }
                for id in ids {
                    try index.remove(id)
                    print("removed \(id)")
                }
            }
        }
    }

    struct Parent: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The parent of a model: an indexed id, or a model not in the index (a path or a .mtsig file), which is not added.")
        @Argument(help: "The index file.") var db: String
        @Argument(help: "An indexed model's id, or the path of a model or signature file.") var model: String
        @Option(help: "The id of a model given by path (default: its folder or file name).") var id: String?
        @Option(help: "Other relatives to list after the chosen parent.") var alternatives: Int = 3
        @Option(help: "Output format: text or json.") var format: OutputFormat = .text
        @Option(help: "Distance: auto, rms or rank.") var metric: Metric?
        @Option(help: "Kurtosis direction: auto, finetune or generalization.") var direction: DirectionMode?

        func validate() throws {
            guard alternatives >= 0 else { throw ValidationError("--alternatives must be ≥ 0") }
            guard format != .dot else { throw ValidationError("--format is text or json for a parent") }
        }

        func run() throws {
            try IndexCommand.run {
                let index = try IndexCommand.open(db)
                defer { index.close() }
                var options = RecoveryOptions()
                if let metric { options.metric = metric }
                if let direction { options.direction = direction }
                let answer: HubIndex.Parent
                if try index.contains(model) {
                    answer = try index.parent(of: model, alternatives: alternatives, options: options)
                } else if FileManager.default.fileExists(atPath: model) {
                    let signature = IndexCommand.isSignatureFile(model)
                        ? try IndexCommand.readSignature(model)
                        : try ModelSignature.compute(try ModelLoader.load(try IndexCommand.oneModel(model, id: id)),
                                                     parameters: index.parameters, threads: index.threads)
                    answer = try index.parent(of: id.map(signature.renamed) ?? signature, alternatives: alternatives, options: options)
                } else {
                    throw ModelTreeError.invalidArgument("no model '\(model)' in the index \(db), and no such path")
                }
                print(format == .json ? Self.json(answer) : Self.text(answer))
            }
        }

        static func text(_ a: HubIndex.Parent) -> String {
            let what = a.indexed ? "" : " (not in the index)"
            var out: String
            if let p = a.parents.first {
                out = "\(a.model)\(what) <- \(p.id)  \(p.type.rawValue), distance \(Self.number(p.distance)) (\(a.metric.rawValue)), "
                    + "confidence \(String(format: "%.2f", p.confidence))\(p.unsure ? "  UNSURE" : "")"
                for q in a.parents.dropFirst() { out += "\n  next: \(q.id), distance \(Self.number(q.distance))" }
            } else {
                out = a.relatives > 0 ? "\(a.model)\(what): a root (no parent among \(a.relatives) relatives)"
                                      : "\(a.model)\(what): no relative in the index"
            }
            if !a.duplicates.isEmpty { out += "\nsame weights as: \(a.duplicates.joined(separator: ", "))" }
            return out
        }

        static func json(_ a: HubIndex.Parent) -> String {
            func string(_ s: String) -> String {
                let escaped = s.unicodeScalars.map { u -> String in
                    switch u {
                    case "\"": return "\\\""
                    case "\\": return "\\\\"
                    case _ where u.value < 0x20: return String(format: "\\u%04x", u.value)
                    default: return String(u)
                    }
                }.joined()
                return "\"" + escaped + "\""
            }
            func num(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }
            let parents = a.parents.map {
                "{\"id\": \(string($0.id)), \"type\": \(string($0.type.rawValue)), \"distance\": \(num($0.distance)), "
                    + "\"confidence\": \(num($0.confidence)), \"unsure\": \($0.unsure)}"
            }
            return "{\"model\": \(string(a.model)), \"indexed\": \(a.indexed), \"parents\": [\(parents.joined(separator: ", "))], "
                + "\"relatives\": \(a.relatives), \"metric\": \(string(a.metric.rawValue)), "
                + "\"duplicates\": [\(a.duplicates.map(string).joined(separator: ", "))]}"
        }

        static func number(_ x: Double) -> String { String(format: "%.4g", x) }
    }

    struct Graph: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The Model Graph of every indexed model, from signatures only (as `recover` prints it).")
        @Argument(help: "The index file.") var db: String
        @Option(help: "Output format: text, json or dot.") var format: OutputFormat = .text
        @Option(help: "Score against a known graph: {\"edges\": [[parent, child], ...], \"roots\": [...]}.") var truth: String?
        @Option(help: "Distance: auto, rms or rank.") var metric: Metric?
        @Option(help: "Kurtosis direction: auto, finetune or generalization.") var direction: DirectionMode?
        @Option(name: .customLong("lambda"), parsing: .unconditional, help: "Weight of the kurtosis penalty, finite and ≥ 0.")
        var lambda: Double?
        @Flag(help: "No progress on stderr.") var quiet = false

        func run() throws {
            try IndexCommand.run {
                var options = RecoveryOptions()
                if let metric { options.metric = metric }
                if let direction { options.direction = direction }
                if let lambda { options.lambda = lambda }
                try options.validate()
                let known = try truth.map { try Truth(contentsOf: $0) }
                if !quiet && isatty(2) != 0 {
                    let bar = Progress()
                    options.progress = { fraction, stage in bar.report(fraction, stage) }
                }
                let index = try IndexCommand.open(db)
                defer { index.close() }
                let graph = try index.graph(options: options)
                if options.progress != nil { FileHandle.standardError.write("\r\u{1B}[K".data(using: .utf8)!) }
                let score = try known.map { try graph.score(against: $0) }
                print(graph.render(format, score: score), terminator: "")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the indexed models.")
        @Argument(help: "The index file.") var db: String

        func run() throws {
            try IndexCommand.run {
                let index = try IndexCommand.open(db)
                defer { index.close() }
                let entries = try index.list()
                for e in entries {
                    print("\(e.id)\tfamily \(e.family)\t\(e.format)\t\(e.signatureBytes) bytes\t\(e.path ?? "(memory)")")
                }
                let families = Set(entries.map(\.family)).count
                print("\(entries.count) model\(entries.count == 1 ? "" : "s") in \(families) famil\(families == 1 ? "y" : "ies")")
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the index file, and which indexed models' files changed or vanished (exit status 1 if any).")
        @Argument(help: "The index file.") var db: String

        func run() throws {
            var changed = 0
            try IndexCommand.run {
                let index = try IndexCommand.open(db)
                defer { index.close() }
                let checked = try index.verify()
                for v in checked where v.state == .changed || v.state == .missing {
                    print("\(v.id): \(v.state.rawValue): \(v.detail)")
                    changed += 1
                }
                print("index \(db): ok; \(checked.count) models, \(changed) with changed or missing files")
            }
            if changed > 0 { throw ExitCode(1) }
        }
    }

    struct SignatureFile: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "signature",
            abstract: "Compute a model's signature into a file (.mtsig), to add it to an index elsewhere.")
        @Argument(help: "The model (a folder or a .safetensors file).") var path: String
        @Option(name: .shortAndLong, help: "The signature file to write.") var output: String
        @Option(help: "The model's id (default: its folder or file name).") var id: String?
        @Option(help: "Sign with the sketch sizes of this index (default: the library's).") var index: String?

        func run() throws {
            try IndexCommand.run {
                var parameters = ModelSignature.Parameters.standard
                if let index {
                    let opened = try IndexCommand.open(index)
                    parameters = opened.parameters
                    opened.close()
                }
                let signature = try ModelSignature.compute(try ModelLoader.load(try IndexCommand.oneModel(path, id: id)),
                                                           parameters: parameters)
                let bytes = try signature.serialized()
                guard FileManager.default.createFile(atPath: output, contents: Data(bytes)) else {
                    throw ModelTreeError.io("\(output): cannot be written")
                }
                print("wrote \(output): signature of \(signature.id), \(bytes.count) bytes")
            }
        }
    }
}
