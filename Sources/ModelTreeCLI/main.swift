import ArgumentParser
import Foundation
import ModelTree

extension Metric: ExpressibleByArgument {}
extension DirectionMode: ExpressibleByArgument {}

enum OutputFormat: String, CaseIterable, ExpressibleByArgument {
    case text, json, dot
}

@main
struct ModelTreeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modeltree-cli",
        abstract: "Recover the Model Graph (which model was trained from which) of a collection of neural networks from their weights.",
        version: "0.1.0",
        subcommands: [Recover.self],
        defaultSubcommand: Recover.self)
}

struct Recover: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recover the Model Graph of a set of checkpoints.",
        discussion: """
        A model is a Hugging Face folder (model.safetensors, or shards with model.safetensors.index.json) \
        or a single .safetensors file; a folder that holds no weights itself stands for the models inside it. \
        Only the weights are read.
        """)

    @Argument(help: "Model folders, .safetensors files, or folders of models.")
    var paths: [String]

    @Option(help: "Output format: text, json or dot.")
    var format: OutputFormat = .text

    @Option(help: "Score against a known graph: {\"edges\": [[parent, child], ...], \"roots\": [...]}.")
    var truth: String?

    @Option(help: "Distance: auto (detect LoRA families), rms, max, or rank (LoRA).")
    var metric: Metric = .auto

    @Option(help: "Kurtosis direction: auto (per tree), finetune, or generalization.")
    var direction: DirectionMode = .auto

    @Option(name: .customLong("lambda"), help: "Weight of the kurtosis penalty.")
    var lambda: Double = 0.3

    @Option(help: "Number of trees (default: found from the data).")
    var trees: Int?

    @Option(help: "Use only tensors whose name matches this glob (repeatable).")
    var include: [String] = []

    @Option(help: "Never use tensors whose name matches this glob (repeatable).")
    var exclude: [String] = []

    @Flag(help: "No progress on stderr.")
    var quiet = false

    func validate() throws {
        if let t = trees, t < 1 { throw ValidationError("--trees must be at least 1") }
        if !lambda.isFinite || lambda < 0 { throw ValidationError("--lambda must be a finite number ≥ 0") }
    }

    func run() throws {
        do {
            var options = RecoveryOptions()
            options.metric = metric
            options.direction = direction
            options.lambda = lambda
            options.trees = trees ?? 0
            options.include = include
            options.exclude = exclude
            if !quiet && isatty(2) != 0 {
                let bar = Progress()
                options.progress = { fraction, stage in bar.report(fraction, stage) }
            }

            // Read the truth first: a bad truth file should fail before minutes of reading weights.
            let known = try truth.map(Self.loadTruth)
            let locations = try ModelLoader.expand(paths)
            let models = try locations.map(ModelLoader.load)
            let graph = try ModelTree.recover(models, options: options)
            if options.progress != nil { FileHandle.standardError.write("\r\u{1B}[K".data(using: .utf8)!) }
            let score = try known.map { try Scoring.score(ids: graph.ids, parent: graph.parent, truth: $0) }

            switch format {
            case .json: print(graph.json(score: score), terminator: "")
            case .dot: print(graph.dot(), terminator: "")
            case .text:
                print(graph.text(), terminator: "")
                if let score { print("\n" + score.text(), terminator: "") }
            }
        } catch let error as ModelTreeError {
            FileHandle.standardError.write("modeltree-cli: error: \(error.message)\n".data(using: .utf8)!)
            throw ExitCode(2)
        }
    }

    static func loadTruth(_ path: String) throws -> Truth {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelTreeError.io("\(path): cannot read the truth file")
        }
        let value = try data.withUnsafeBytes { try JSONParser.parse($0) }
        do {
            return try Truth(json: value)
        } catch let error as ModelTreeError {
            throw ModelTreeError.format("\(path): \(error.message)")
        }
    }
}

/// Progress on stderr, redrawn in place at most every 100 ms.
final class Progress: @unchecked Sendable {
    private var last = 0.0
    func report(_ fraction: Double, _ stage: String) -> Bool {
        let now = Date().timeIntervalSince1970
        if now - last >= 0.1 || fraction >= 1 {
            last = now
            let line = "\r\u{1B}[K\(stage) \(Int(fraction * 100))%"
            FileHandle.standardError.write(line.data(using: .utf8)!)
        }
        return true
    }
}
