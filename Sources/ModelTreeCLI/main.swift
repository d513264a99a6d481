import ArgumentParser
import CModelTree
import Foundation
import ModelTree
import Synchronization

extension Metric: ExpressibleByArgument {}
extension DirectionMode: ExpressibleByArgument {}
extension OutputFormat: ExpressibleByArgument {}

/// The version of include/modeltree.h, the one source of every copy of it.
let version = "\(MODELTREE_VERSION_MAJOR).\(MODELTREE_VERSION_MINOR).\(MODELTREE_VERSION_PATCH)"

struct ModelTreeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modeltree-cli",
        abstract: "Recover the Model Graph (which model was trained from which) of a collection of neural networks from their weights.",
        // The library's version and the kernels this process runs (MODELTREE_KERNEL forces a set).
        version: "\(version) (kernels: \(kernelName()))",
        subcommands: [Recover.self, IndexCommand.self, Inspect.self],
        defaultSubcommand: Recover.self)
}

/// The library's defaults, shown in the help; never restated here.
private let defaults = RecoveryOptions()

struct Recover: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recover the Model Graph of a set of checkpoints.",
        discussion: """
        A model is a Hugging Face folder (model.safetensors, or shards with model.safetensors.index.json; \
        pytorch_model.bin; model.onnx), a PEFT adapter folder, a single .safetensors, .gguf, .bin/.pt or \
        .onnx file, or a shard index; a folder that holds no weights itself stands for the models inside \
        it. Only the weights are read (a torch.save pickle is never run). MODELTREE_THREADS, when set, is \
        the default of --threads.
        """)

    @Argument(help: "Model folders and files (.safetensors, .gguf, .bin, .pt, .onnx), or folders of models.")
    var paths: [String]

    @Option(help: "Output format: text, json, dot, svg (a picture) or html (a page to explore it in a browser).")
    var format: OutputFormat = .text

    @Option(help: "Score against a known graph: {\"edges\": [[parent, child], ...], \"roots\": [...]}.")
    var truth: String?

    @Option(help: "Distance: auto (detect LoRA families), rms, max, or rank (LoRA). (default: \(defaults.metric.rawValue))")
    var metric: Metric?

    @Option(help: "Kurtosis direction: auto (per tree), finetune, or generalization. (default: \(defaults.direction.rawValue))")
    var direction: DirectionMode?

    // Unconditional: "--lambda -1" is a value to refuse with a reason, not a missing value.
    @Option(name: .customLong("lambda"), parsing: .unconditional,
            help: "Weight of the kurtosis penalty, finite and ≥ 0. (default: \(defaults.lambda))")
    var lambda: Double?

    @Option(parsing: .unconditional, help: "Number of trees (default: found from the data).")
    var trees: Int?

    @Option(help: "Use only tensors whose name matches this glob (repeatable).")
    var include: [String] = []

    @Option(help: "Never use tensors whose name matches this glob (repeatable).")
    var exclude: [String] = []

    @Option(parsing: .unconditional, help: "Worker threads (default: MODELTREE_THREADS, else one per processor).")
    var threads: Int?

    @Option(parsing: .unconditional, help: "Refuse more models than this (default: no limit).")
    var maxModels: Int?

    @Option(parsing: .unconditional, help: "Working memory the recovery may plan for, in bytes (default: no budget).")
    var memoryBudget: Int?

    @Flag(help: "No progress on stderr.")
    var quiet = false

    /// The command line's options for the library: what was given, over the library's defaults.
    var options: RecoveryOptions {
        var options = RecoveryOptions()
        if let metric { options.metric = metric }
        if let direction { options.direction = direction }
        if let lambda { options.lambda = lambda }
        options.trees = trees
        options.include = include
        options.exclude = exclude
        // MODELTREE_THREADS, when it holds a count, is the default of --threads (read here only).
        options.threads = threads ?? ProcessInfo.processInfo.environment["MODELTREE_THREADS"].flatMap { Int($0) }.flatMap { $0 >= 1 ? $0 : nil }
        options.maxModels = maxModels
        options.memoryBudget = memoryBudget
        return options
    }

    /// The library validates the options; its messages name them as C and Python do, and get the
    /// flags' names here.
    func validate() throws {
        do {
            try options.validate()
        } catch let error as ModelTreeError {
            throw ValidationError(Self.flagged(error.message))
        }
    }

    func run() throws {
        do {
            var options = self.options
            if !quiet && isatty(2) != 0 {
                let bar = Progress()
                options.progress = { fraction, stage in bar.report(fraction, stage) }
            }

            // Read the truth first: a bad truth file should fail before minutes of reading weights.
            let known = try truth.map { try Truth(contentsOf: $0) }
            let (locations, unread) = try ModelLoader.survey(paths)
            let models = try locations.map(ModelLoader.load)
            let graph = try ModelTree.recover(models, options: options).prepending(warnings: unread)
            if options.progress != nil { FileHandle.standardError.write("\r\u{1B}[K".data(using: .utf8)!) }
            let score = try known.map { try graph.score(against: $0) }
            print(graph.render(format, score: score), terminator: "")
        } catch let error as ModelTreeError {
            FileHandle.standardError.write("modeltree-cli: error: \(Self.flagged(error.message))\n".data(using: .utf8)!)
            throw ExitCode(2)
        }
    }

    /// `message` with the option it starts with (the library's spelling) written as its flag.
    static func flagged(_ message: String) -> String {
        for (option, flag) in [("lambda", "--lambda"), ("trees", "--trees"), ("threads", "--threads"),
                               ("max_models", "--max-models"), ("memory_budget", "--memory-budget")]
        where message.hasPrefix(option + " ") {
            return flag + message.dropFirst(option.count)
        }
        return message
    }
}

/// Progress on stderr, redrawn in place at most every 100 ms.
final class Progress: Sendable {
    private let last = Mutex(0.0)

    func report(_ fraction: Double, _ stage: String) -> Bool {
        let now = Date().timeIntervalSince1970
        let due = last.withLock { last in
            guard now - last >= 0.1 || fraction >= 1 else { return false }
            last = now
            return true
        }
        if due {
            FileHandle.standardError.write("\r\u{1B}[K\(stage) \(Int(fraction * 100))%".data(using: .utf8)!)
        }
        return true
    }
}

// The entry point (main.swift runs top to bottom; the commands live in this and other files).
ModelTreeCommand.main()
