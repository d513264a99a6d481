/// Recovers the Model Graph of `models` from their weights (Horwitz, Shul, Hoshen, ICLR 2025,
/// with the number of trees, the metric and the direction found from the data).
///
/// 1. Select the tensors every model shares (`TensorSelection`).
/// 2. One streaming pass: per-model kurtosis, pairwise RMS, normalised max and correlation
///    (`PairwiseStatistics`).
/// 3. Metric: `auto` takes the LoRA rank distance when every model's nearest neighbour differs from
///    it by a low-rank update (rank ≤ half the smaller side) in every tensor, else RMS.
/// 4. Trees: models are related when the mean correlation of their weights exceeds 1/2 — that is,
///    when their difference has less than half the variance of two unrelated models'
///    (independently initialised networks are uncorrelated; fine-tunes keep correlations near 1);
///    trees are the connected components (single linkage), or `options.trees` forces their number.
/// 5. Each tree: direction and minimum spanning arborescence (`TreeSolver`).
///
/// Complexity: reading is O(n² · total elements) arithmetic at one pass over the bytes; the rank
/// distance adds O(n² · tensors · m·k²); the trees O(s⁴) for a tree of s ≤ 200 models.
/// The corresponding C function is `modeltree_recover`.
/// - Throws: `ModelTreeError` (invalid argument for no models, duplicate ids or bad options;
///   incompatible models when no tensor is shared; cancelled when `progress` returns false).
public func recover(_ models: [Model], options: RecoveryOptions = RecoveryOptions()) throws -> ModelGraph {
    try Recovery(models: models, options: options).run()
}

/// Correlation above which two models count as related (see `recover`).
let relatednessThreshold = 0.5

/// Edges whose confidence is below this are reported as unsure: an alternative tree without the
/// edge costs less than about 12 % more.
let unsureConfidence = 0.2

struct Recovery {
    let models: [Model]
    var options: RecoveryOptions
    /// The part of the caller's progress bar this recovery fills, in models: from `done` of
    /// `total` for `count` more (several parts when architectures differ).
    var progressPart: (done: Int, count: Int, total: Int) = (0, 1, 1)

    init(models: [Model], options: RecoveryOptions) {
        self.models = models
        self.options = options
    }

    /// Models of different architectures are never compared: each group of models that share
    /// most of their tensors (see `TensorSelection.architectureGroups`) is recovered on its own,
    /// and the groups' trees are put side by side, at infinite distance from one another.
    func run() throws -> ModelGraph {
        try validate()
        let groups = TensorSelection.architectureGroups(models)
        guard groups.count > 1 else { return try recoverGroup() }
        if options.trees > 0 && options.trees < groups.count {
            throw ModelTreeError.invalidArgument("the models have \(groups.count) different architectures, so they make at least \(groups.count) trees; --trees \(options.trees) is too few")
        }
        var parts: [(members: [Int], graph: ModelGraph)] = []
        var done = 0
        for members in groups {
            var sub = Recovery(models: members.map { models[$0] }, options: options)
            // One tree per architecture when that many were asked for; more cannot be shared out
            // between the architectures without a rule of our own, so each then finds its own.
            sub.options.trees = options.trees == groups.count ? 1 : 0
            sub.progressPart = (done, members.count, models.count)
            parts.append((members, try sub.recoverGroup()))
            done += members.count
        }
        var graph = ModelGraph.sideBySide(parts, count: models.count)
        if options.trees > groups.count {
            graph.warnings.insert("\(options.trees) trees were asked for, but the models have \(groups.count) different "
                + "architectures, recovered separately: each was cut into trees from its own data (\(graph.roots.count) in all)", at: 0)
        }
        graph.warnings.insert("the models have \(groups.count) different architectures (no tensors in common between: "
            + groups.map { "[" + $0.map { models[$0].id }.joined(separator: ", ") + "]" }.joined(separator: " and ")
            + "); each was recovered on its own", at: 0)
        return graph
    }

    /// Recovers models that share an architecture.
    func recoverGroup() throws -> ModelGraph {
        let n = models.count
        var warnings: [String] = []

        try report(0, "selecting tensors")
        let names = try TensorSelection.select(models: models, include: options.include, exclude: options.exclude)
        let stats = try PairwiseStatistics.gather(models: models, tensorNames: names, maxDifference: options.metric == .max) { f in
            try report(0.02 + 0.68 * f, "reading weights")
        }
        for s in stats.skipped { warnings.append("tensor '\(s.tensor)' skipped: \(s.reason)") }
        guard !stats.tensors.isEmpty else {
            throw ModelTreeError.incompatibleModels("every selected tensor was skipped (\(stats.skipped.map(\.reason).joined(separator: "; ")))")
        }

        let (metric, distance) = try distances(stats)
        let directionNames = TensorSelection.directionTensors(models: models, selected: stats.tensors,
                                                              include: options.include, exclude: options.exclude)
        let evidence = try DirectionEvidence.gather(models: models, tensorNames: directionNames,
                                                    known: Dictionary(uniqueKeysWithValues: zip(stats.tensors, stats.moments))) { f in
            try report(0.95 + 0.04 * f, "reading direction evidence")
        }
        try report(0.99, "building trees")

        let kurtosis = (0..<n).map { m -> Double in
            let values = stats.kurtosis.map { $0[m] }.filter { $0.isFinite }
            return values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
        }
        for a in 0..<n {
            for b in (a + 1)..<n where distance[a * n + b] == 0 {
                warnings.append("models '\(models[a].id)' and '\(models[b].id)' have identical weights in every tensor used; the edge between them is arbitrary")
            }
        }

        let trees = options.trees > 0
            ? Clustering.cut(similarity: matrix(stats.correlation, n), into: options.trees)
            : Clustering.components(similarity: matrix(stats.correlation, n), threshold: relatednessThreshold)

        var parent = [Int](repeating: -1, count: n)
        var confidence = [Double](repeating: .nan, count: n)
        var unsure = [Bool](repeating: false, count: n)
        var roots: [Int] = [], directions: [DirectionMode] = [], directionUnsure: [Bool] = []
        for members in trees {
            let s = members.count
            var sub = [Double](repeating: 0, count: s * s)
            for i in 0..<s { for j in 0..<s { sub[i * s + j] = distance[members[i] * n + members[j]] } }
            let solver = TreeSolver(distance: sub, kurtosis: members.map { evidence.kurtosis[$0] },
                                    sumSquares: members.map { evidence.sumSquares[$0] }, lambda: options.lambda)
            let solution = try solver.solve(direction: options.direction)
            let treeDirectionUnsure = solution.directionUnsure && s > 1
            for (local, p) in solution.parent.enumerated() {
                if p >= 0 {
                    parent[members[local]] = members[p]
                    confidence[members[local]] = solution.confidence[local]
                    unsure[members[local]] = !(solution.confidence[local] >= unsureConfidence) || treeDirectionUnsure
                } else {
                    roots.append(members[local])
                }
            }
            directions.append(solution.direction)
            directionUnsure.append(treeDirectionUnsure)
            if treeDirectionUnsure {
                warnings.append("tree of '\(models[members[0]].id)': the weights cannot tell fine-tuning from further training (a chain reads the same both ways); assumed fine-tuning")
            }
        }
        try report(1, "done")

        return ModelGraph(
            ids: models.map(\.id), paths: models.map(\.path), kurtosis: kurtosis, parent: parent,
            edgeDistance: (0..<n).map { parent[$0] >= 0 ? distance[parent[$0] * n + $0] : .nan },
            edgeConfidence: confidence,
            unsure: unsure,
            roots: roots, trees: trees, treeDirections: directions, treeDirectionUnsure: directionUnsure,
            tensors: stats.tensors, metric: metric, distances: distance, warnings: warnings)
    }

    private func validate() throws {
        guard !models.isEmpty else { throw ModelTreeError.invalidArgument("no models to compare") }
        var seen = Set<String>()
        for m in models where !seen.insert(m.id).inserted {
            throw ModelTreeError.invalidArgument("model id '\(m.id)' appears twice")
        }
        guard options.lambda.isFinite && options.lambda >= 0 else {
            throw ModelTreeError.invalidArgument("lambda must be a finite number ≥ 0, got \(options.lambda)")
        }
        guard options.trees >= 0 && options.trees <= models.count else {
            throw ModelTreeError.invalidArgument("cannot split \(models.count) models into \(options.trees) trees")
        }
    }

    /// The distance matrix in the requested (or detected) metric.
    private func distances(_ stats: PairwiseStatistics) throws -> (Metric, [Double]) {
        let n = models.count
        switch options.metric {
        case .rms: return (.rms, stats.rms)
        case .max: return (.max, stats.maxNormalized)
        case .rank: return (.rank, try rankDistances(stats, pairs: allPairs(n)))
        case .auto:
            guard n > 1 else { return (.rms, stats.rms) }
            // Each model with its nearest neighbour under RMS.
            var pairs = Set<Pair>()
            for i in 0..<n {
                let j = (0..<n).filter { $0 != i }.min { stats.rms[i * n + $0] < stats.rms[i * n + $1] }!
                pairs.insert(Pair(Swift.min(i, j), Swift.max(i, j)))
            }
            let nearest = pairs.sorted { ($0.a, $0.b) < ($1.a, $1.b) }
            let limits = stats.tensors.map { name -> Int in
                let shape = models[0].tensor(named: name)!.shape
                let r = shape.first ?? 1, c = shape.dropFirst().reduce(1, *)
                return Swift.min(Swift.min(r, c) / 2, RankDistances.sketchColumns - 1)
            }
            // Stops at the first rank above its limit: a full fine-tune costs one pair's sketch.
            let ranks = try RankDistances.ranks(models: models, tensorNames: stats.tensors, pairs: nearest.map { ($0.a, $0.b) },
                                                stopAbove: limits) { f in
                try report(0.70 + 0.05 * f, "testing for low-rank differences")
            }
            let lowRank = ranks.allSatisfy { row in zip(row, limits).allSatisfy { $0 <= $1 } }
                && ranks.contains { $0.contains { $0 > 0 } }
            guard lowRank else { return (.rms, stats.rms) }
            return (.rank, try rankDistances(stats, pairs: allPairs(n)))
        }
    }

    /// Σ over tensors of the rank of the difference, plus RMS / (2 · max RMS) < 1/2 to break the
    /// ties that integer ranks leave (all LoRA children of one parent sit at the same rank).
    private func rankDistances(_ stats: PairwiseStatistics, pairs: [(Int, Int)]) throws -> [Double] {
        let n = models.count
        let ranks = try RankDistances.ranks(models: models, tensorNames: stats.tensors, pairs: pairs) { f in
            try report(0.75 + 0.2 * f, "computing ranks of differences")
        }
        let maxRMS = stats.rms.max() ?? 0
        var d = [Double](repeating: 0, count: n * n)
        for (p, pair) in pairs.enumerated() {
            let tie = maxRMS > 0 ? stats.rms[pair.0 * n + pair.1] / (2 * maxRMS) : 0
            let value = Double(ranks[p].reduce(0, +)) + tie
            d[pair.0 * n + pair.1] = value
            d[pair.1 * n + pair.0] = value
        }
        return d
    }

    private func report(_ fraction: Double, _ stage: String) throws {
        // (done + count·f) / total: exactly the next part's start at f = 1, so the fractions the
        // caller sees never go down, even by a rounding.
        let f = Swift.min(1, Swift.max(0, fraction))
        let overall = (Double(progressPart.done) + Double(progressPart.count) * f) / Double(progressPart.total)
        if let progress = options.progress, !progress(overall, stage) {
            throw ModelTreeError.cancelled
        }
    }
}

private struct Pair: Hashable { var a: Int, b: Int; init(_ a: Int, _ b: Int) { self.a = a; self.b = b } }

private func allPairs(_ n: Int) -> [(Int, Int)] {
    var pairs: [(Int, Int)] = []
    for a in 0..<n { for b in (a + 1)..<n { pairs.append((a, b)) } }
    return pairs
}

private func matrix(_ flat: [Double], _ n: Int) -> [[Double]] {
    (0..<n).map { Array(flat[($0 * n)..<($0 * n + n)]) }
}
