/// How pairwise distances between models are measured.
public enum Metric: String, CaseIterable, Sendable {
    /// Decide from the data: `rank` when every model's nearest neighbour differs from it by a
    /// low-rank update in every tensor (a LoRA family), else `rms`.
    case auto
    /// Mean over tensors of the RMS of the difference (the ICLR 2025 release).
    case rms
    /// Max over tensors of max|Δ| / (max − min) of the pair's weights (the paper's first release).
    case max
    /// Sum over tensors of the numerical rank of the difference (LoRA families).
    case rank
}

/// Which way kurtosis moves from parent to child.
public enum DirectionMode: String, CaseIterable, Sendable {
    /// Decide per tree from the data (see `Recovery`).
    case auto
    /// Fine-tuning lowers kurtosis: the parent has the higher kurtosis.
    case finetune
    /// Further general training raises kurtosis: the parent has the lower kurtosis.
    case generalization
}

/// The options of one recovery. The defaults need no tuning, and live here only:
/// `modeltree_options_init` copies them, and the bindings and the CLI start from it and change
/// only what their caller set.
///
/// `validate` checks them, once for every caller. Its messages name an option as the C struct
/// and the Python keyword spell it (`lambda`, `trees`, `threads`, `max_models`,
/// `memory_budget`), first in the message, so that a front end can put its own spelling in its
/// place (the CLI says `--lambda`).
public struct RecoveryOptions: Sendable {
    public var metric: Metric = .auto
    public var direction: DirectionMode = .auto
    /// Weight λ of the kurtosis penalty in M = D + λ · mean(D) · K (Horwitz et al.: 0.3); finite, ≥ 0.
    public var lambda: Double = 0.3
    /// Number of trees; nil finds it from the data. At least 1, at most the number of models.
    public var trees: Int? = nil
    /// Glob patterns (fnmatch: `*`, `?`, `[…]`) on tensor names. When `include` is non-empty only
    /// matching tensors are used (any number of dimensions); otherwise the default selection applies.
    public var include: [String] = []
    /// Glob patterns of tensors never used.
    public var exclude: [String] = []
    /// Worker threads of this recovery; nil: one per online processor. At most 64 are used.
    /// Results do not depend on it.
    public var threads: Int? = nil
    /// The most models one recovery accepts (more is `.outOfMemory`); nil: no limit.
    public var maxModels: Int? = nil
    /// The working memory a recovery may plan for, in bytes: buffers, pairwise matrices,
    /// sketches — not the weights, which are read in pieces. Estimated before any weight is read
    /// (`WorkingMemory`); threads are dropped until the estimate fits, and a recovery that does
    /// not fit on one thread is `.outOfMemory`. nil: no budget.
    public var memoryBudget: Int? = nil
    /// Called from the thread that called `recover`, with the fraction done in [0, 1] and the
    /// stage's name. Return `false` to cancel: `recover` then throws `ModelTreeError.cancelled`.
    public var progress: (@Sendable (_ fraction: Double, _ stage: String) -> Bool)? = nil
    /// The vector kernels of this recovery: the process's (`kernelName()`), unless a test forces
    /// another set to compare their graphs in one process.
    var kernels: KernelSet = .active

    /// The models (by id) whose edge confidence is wanted; nil: every model's. The others get
    /// NaN. The hub index's parent queries ask for one.
    package var confidenceFor: Set<String>? = nil

    /// Whether `recover` types quantized copies from their storage grids (`QuantizedCopies`),
    /// which needs the weights. The hub index keeps signatures, not weights, and types nothing
    /// yet: its tests compare its graph with a recovery that does not either.
    package var typesQuantizedCopies = true

    /// Whether `recover` infers latent parents (`LatentParents`, from the exact distances) and
    /// layer subsets (`LayerSubsets`, from the layers' weights). The hub index does neither: its
    /// tests compare its graph with a recovery that does not either.
    package var infersLatentParentsAndLayerSubsets = true
    /// Whether `recover` hangs each un-merged adapter from its base (`AdapterAttachment`), an
    /// architecture group of its own until then; which needs the weights. The hub index does
    /// neither: its tests compare its graph with a recovery that does not either.
    package var attachesAdapters = true
    /// Whether `recover` orders pairs whose rows one model holds as the other's scaled by weight
    /// decay (`UntouchedRows`), which needs the weights. The hub index keeps no rows: its tests
    /// compare its graph with a recovery that does not either.
    package var ordersByUntouchedRows = true

    public init() {}

    /// Checks every option on its own.
    /// - Throws: `.invalidArgument` naming the first bad option.
    public func validate() throws {
        func bad(_ message: String) -> ModelTreeError { .invalidArgument(message) }
        guard lambda.isFinite && lambda >= 0 else { throw bad("lambda must be a finite number ≥ 0, got \(lambda)") }
        if let trees, trees < 1 {
            throw bad("trees must be at least 1, got \(trees) (leave it unset to find the number of trees from the data)")
        }
        if let threads, threads < 1 { throw bad("threads must be at least 1, got \(threads)") }
        if let maxModels, maxModels < 1 { throw bad("max_models must be at least 1, got \(maxModels)") }
        if let memoryBudget, memoryBudget < 1 { throw bad("memory_budget must be at least 1 byte, got \(memoryBudget)") }
    }

    /// Checks the options against the models they will be applied to.
    /// - Throws: `.invalidArgument` as `validate()`, or for more trees than models;
    ///   `.outOfMemory` for more models than `maxModels`.
    func validate(modelCount n: Int) throws {
        try validate()
        if let trees, trees > n {
            throw ModelTreeError.invalidArgument("trees is \(trees), more than the \(n) model\(n == 1 ? "" : "s")")
        }
        if let maxModels, n > maxModels {
            throw ModelTreeError.outOfMemory("max_models is \(maxModels), and \(n) models were given")
        }
    }

    /// The thread count to run with.
    var resolvedThreads: Int { Swift.min(threads ?? defaultThreadCount, maxThreads) }
}
