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

/// The options of one recovery. The defaults need no tuning.
public struct RecoveryOptions: Sendable {
    public var metric: Metric = .auto
    public var direction: DirectionMode = .auto
    /// Weight λ of the kurtosis penalty in M = D + λ · mean(D) · K.
    public var lambda: Double = 0.3
    /// Number of trees; 0 finds it from the data.
    public var trees: Int = 0
    /// Glob patterns (fnmatch: `*`, `?`, `[…]`) on tensor names. When `include` is non-empty only
    /// matching tensors are used (any rank ≥ 2); otherwise the default selection applies.
    public var include: [String] = []
    /// Glob patterns of tensors never used.
    public var exclude: [String] = []
    /// Called from the thread that called `recover`, with the fraction done in [0, 1] and the
    /// stage's name. Return `false` to cancel: `recover` then throws `ModelTreeError.cancelled`.
    public var progress: (@Sendable (_ fraction: Double, _ stage: String) -> Bool)? = nil

    public init() {}
}
