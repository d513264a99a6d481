/// What relation analysis knows about the models of one architecture group: per-model, per-tensor
/// moments, pairwise distances and correlations for the pairs that were measured, and the rank
/// evidence of the LoRA distance. Everything after the reading of weights — the metric, the
/// trees, the direction, the arborescence, the confidences (`RelationAnalysis`) — reads this value
/// and nothing else, so that one implementation serves both ways of obtaining it:
///
/// - `recover`: the exact streaming pass over the weights (`PairwiseStatistics`,
///   `DirectionEvidence`, `RankDistances`), which measures every pair: one block of all models.
/// - the hub index: the stored signatures of the models (`ModelSignature`), whose linear sketches
///   estimate the same pair statistics; pairs are measured only within the families that the
///   candidate search found (`FamilyIndex`): one block per family.
///
/// Typed relations (quantization grids, merges, latent parents) extend this value with fields of
/// their own; what is here is what today's relations need.
struct RelationEvidence {
    /// One model: its id and where it was read from (nil for caller memory).
    struct Model: Sendable, Equatable {
        var id: String
        var path: String?
    }

    /// Models whose pairs were measured: a dense block of pair statistics, in local indices.
    /// Pairs of models in different blocks were not measured; they are unrelated (correlation at
    /// most 1/2, as the candidate search established) and never share a tree.
    struct PairBlock {
        /// Ascending model indices.
        var members: [Int]
        /// Mean over the distance tensors of RMS(W_a − W_b).
        var rms: SquareMatrix<Double>
        /// Mean over the distance tensors of the Pearson correlation of the two models' weights.
        var correlation: SquareMatrix<Double>
        /// Max over tensors of max|W_a − W_b| / (range of both); nil when it was not measured
        /// (it needs the weights themselves: the exact pass with the `max` metric only).
        var maxNormalized: SquareMatrix<Double>?
        /// Mean over the distance tensors of the mean squared difference, Σ_t ‖W_a − W_b‖²_t / n_t:
        /// a squared Euclidean distance (of the inner product Σ_t ⟨x, y⟩_t / n_t), so the
        /// geometry of affine combinations (`Merges`) follows from it alone (the exact pass's
        /// sums, or the index's estimated from signatures). Nil when not measured.
        var meanSquare: SquareMatrix<Double>? = nil
    }

    var models: [Model]
    /// The distance tensors that entered (selected, finite in every model), and their shapes.
    var tensors: [String]
    var shapes: [[Int]]
    /// Tensors left out, with the reason (non-finite values).
    var skipped: [(tensor: String, reason: String)]
    /// Per distance tensor (outer, in `tensors` order) and model: excess kurtosis.
    var kurtosis: [[Double]]
    /// The per-tensor votes on the direction of training.
    var direction: DirectionEvidence
    /// A partition of the models into measured blocks (sorted by first member).
    var blocks: [PairBlock]
    /// The ranks of differences the LoRA distance needs, computed on demand.
    var ranks: any RankEvidence
    /// Per model, how coarsely its weights are stored: the largest relative rounding of its
    /// distance tensors' encodings (`TensorSource.unitRoundoff`: 2^-8 for BF16 and int8, 2^-4 for
    /// Q4_0 …) and the RMS of its weights (mean over the distance tensors). Lets the auto metric
    /// tell an export from a fine-tune; nil when unknown (signatures), which treats every model
    /// as stored exactly.
    var storage: [(rounding: Double, weightRMS: Double)]? = nil

    var count: Int { models.count }

    /// Whether two models stored with `a` and `b` (`storage`) whose RMS difference is `rms` can
    /// differ by storage rounding alone: within 4× the coarser side's relative rounding of the
    /// larger RMS of the weights (every element of a rounded copy moved by at most half a step, a
    /// step is at most twice the rounding of the value — of a block's largest, for a block
    /// quantization — and 4× leaves room). The auto metric keeps such pairs out of the LoRA test;
    /// the grid test (`QuantizedCopies`) reads only them.
    static func withinRounding(_ a: (rounding: Double, weightRMS: Double), _ b: (rounding: Double, weightRMS: Double),
                               rms: Double) -> Bool {
        rms <= 4 * Swift.max(a.rounding, b.rounding) * Swift.max(a.weightRMS, b.weightRMS)
    }
}

/// The numerical rank of `W_a − W_b` per distance tensor, for pairs of models (the LoRA distance).
protocol RankEvidence {
    /// The largest rank this evidence can tell apart from "larger": the auto metric's low-rank
    /// limit is capped one below it (a full-rank difference must read as above the limit).
    var rankCapacity: Int { get }

    /// `ranks[p][t]` for pair `pairs[p]` (model indices of the evidence) and distance tensor t.
    /// - Parameter progress: the fraction done, on the caller's thread; throws to stop.
    func ranks(pairs: [(Int, Int)], threads: Int, progress: (Double) throws -> Void) throws -> [[Int]]

    /// The auto metric's test and, while it holds, the ranks of every pair: nil as soon as a rank
    /// of a `nearest` pair exceeds its tensor's limit in `limits`; otherwise the ranks of the
    /// `nearest` pairs and of `pairs` (as `ranks`). The exact pass sketches each tensor once for
    /// both (`RankDistances.screenedRanks`).
    func screenedRanks(nearest: [(Int, Int)], limits: [Int], pairs: [(Int, Int)], threads: Int,
                       progress: (Double) throws -> Void) throws -> (nearest: [[Int]], pairs: [[Int]])?
}

/// One tensor's share of a pair's statistics: the RMS of the difference and the Pearson
/// correlation, from the pair's sum of squared differences and each model's moments. The exact
/// pass feeds it exact sums, the index sums estimated from sketches; both add tensors up here.
struct PairAccumulator {
    private(set) var rmsSum = 0.0
    private(set) var meanSquareSum = 0.0
    private(set) var tensors = 0
    private(set) var correlationSum = 0.0
    private(set) var correlationCount = 0

    /// Adds one tensor of `count` elements whose squared differences sum to `sumSquares`.
    ///
    /// Pearson correlation from the variance of the difference:
    /// cov = (var a + var b − var(a − b)) / 2, var(a − b) = E[(a−b)²] − (mean a − mean b)²;
    /// undefined (not counted) when either tensor is constant.
    mutating func add(sumSquares ss: Double, count: Int, _ a: Moments, _ b: Moments) {
        let total = Double(count)
        rmsSum += (Swift.max(0, ss) / total).squareRoot()
        meanSquareSum += Swift.max(0, ss) / total
        tensors += 1
        let va = a.variance, vb = b.variance
        if va > 0 && vb > 0 {
            let dm = a.mean - b.mean
            let vd = Swift.max(0, ss / total - dm * dm)
            let c = (va + vb - vd) / (2 * (va * vb).squareRoot())
            correlationSum += Swift.min(1, Swift.max(-1, c))
            correlationCount += 1
        }
    }

    /// Mean over the tensors added of the RMS of the difference (0 for none).
    var rms: Double { tensors > 0 ? rmsSum / Double(tensors) : 0 }

    /// Mean over the tensors added of the mean squared difference (0 for none).
    var meanSquare: Double { tensors > 0 ? meanSquareSum / Double(tensors) : 0 }

    /// Mean correlation over the tensors where it is defined; two models whose every tensor is
    /// constant are related only if equal.
    var correlation: Double {
        correlationCount > 0 ? correlationSum / Double(correlationCount) : (rms == 0 ? 1 : 0)
    }
}
