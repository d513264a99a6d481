/// Recovers the Model Graph of `models` from their weights (Horwitz, Shul, Hoshen, ICLR 2025,
/// with the number of trees, the metric and the direction found from the data).
///
/// 0. Map an export's tensor names onto the other models' (`TensorMatching`).
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
///   incompatible models when no tensor is shared; out of memory past `maxModels` or
///   `memoryBudget`; cancelled when `progress` returns false; io when a file changed).
public func recover(_ models: [Model], options: RecoveryOptions = RecoveryOptions()) throws -> ModelGraph {
    let (aligned, matches, notes) = try TensorMatching.align(models)
    var graph = try Recovery(models: aligned, options: options).run().prepending(warnings: notes)
    graph.tensorMatches = matches
    return graph
}

/// Correlation above which two models count as related (see `recover`).
let relatednessThreshold = 0.5

/// Edges whose confidence is below this are reported as unsure: an alternative tree without the
/// edge costs less than about 12 % more. The graph carries it (`ModelGraph.unsureThreshold`).
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
        guard !models.isEmpty else { throw ModelTreeError.invalidArgument("no models to compare") }
        var seen = Set<String>()
        for m in models where !seen.insert(m.id).inserted {
            throw ModelTreeError.invalidArgument("model id '\(m.id)' appears twice")
        }
        try options.validate(modelCount: models.count)
        // Tensors no pass can decode (GGUF's IQ types) are not weights, so never compared: say so.
        let skipped = models.flatMap { m in
            m.tensors.compactMap { t in t.undecodableReason.map { "model '\(m.id)': tensor '\(t.name)' is \($0): not compared" } }
        }
        let groups = TensorSelection.architectureGroups(models)
        guard groups.count > 1 else { return try recoverGroup().prepending(warnings: skipped) }
        if let trees = options.trees, trees < groups.count {
            throw ModelTreeError.invalidArgument("trees is \(trees), fewer than the \(groups.count) different architectures "
                + "of the models, each of which makes trees of its own")
        }
        var parts: [(members: [Int], graph: ModelGraph)] = []
        var done = 0
        for members in groups {
            var sub = Recovery(models: members.map { models[$0] }, options: options)
            // One tree per architecture when that many were asked for; more cannot be shared out
            // between the architectures without a rule of our own, so each then finds its own.
            sub.options.trees = options.trees == groups.count ? 1 : nil
            sub.progressPart = (done, members.count, models.count)
            parts.append((members, try sub.recoverGroup()))
            done += members.count
        }
        let graph = try ModelGraph.sideBySide(parts, count: models.count)
        var notes = ["the models have \(groups.count) different architectures (no tensors in common between: "
            + groups.map { "[" + $0.map { models[$0].id }.joined(separator: ", ") + "]" }.joined(separator: " and ")
            + "); each was recovered on its own"]
        if let trees = options.trees, trees > groups.count {
            notes.append("\(trees) trees were asked for, but the models have \(groups.count) different "
                + "architectures, recovered separately: each was cut into trees from its own data (\(graph.trees.count) in all)")
        }
        return try graph.prepending(warnings: skipped + notes)
    }

    /// Recovers models that share an architecture.
    func recoverGroup() throws -> ModelGraph {
        let n = models.count
        var warnings: [String] = []

        try report(0, "selecting tensors")
        let names = try TensorSelection.select(models: models, include: options.include, exclude: options.exclude)
        let directionNames = TensorSelection.directionTensors(models: models, selected: names,
                                                              include: options.include, exclude: options.exclude)
        let threads = try workingMemory(names, directionTensors: directionNames.count)
            .threads(upTo: options.resolvedThreads, budget: options.memoryBudget)
        let stats = try PairwiseStatistics.gather(models: models, tensorNames: names, maxDifference: options.metric == .max,
                                                  threads: threads, kernels: options.kernels) { f in
            try report(0.02 + 0.68 * f, "reading weights")
        }
        for s in stats.skipped { warnings.append("tensor '\(s.tensor)' skipped: \(s.reason)") }
        guard !stats.tensors.isEmpty else {
            throw ModelTreeError.incompatibleModels("every selected tensor was skipped (\(stats.skipped.map(\.reason).joined(separator: "; ")))")
        }

        let (metric, distance, largestRank) = try Distances.matrix(options.metric, stats: stats, models: models, threads: threads,
                                                                   kernels: options.kernels) { f, stage in
            try report(0.70 + 0.25 * f, stage)
        }
        // With include patterns the direction tensors are the selected ones that were not skipped.
        let evidenceNames = options.include.isEmpty ? directionNames : stats.tensors
        let evidence = try DirectionEvidence.gather(models: models, tensorNames: evidenceNames,
                                                    known: Dictionary(uniqueKeysWithValues: zip(stats.tensors, stats.moments)),
                                                    threads: threads, kernels: options.kernels) { f in
            try report(0.95 + 0.04 * f, "reading direction evidence")
        }
        try report(0.99, "building trees")

        let nodes = (0..<n).map { m -> ModelGraph.Node in
            let values = stats.kurtosis.map { $0[m] }.filter { $0.isFinite }
            return ModelGraph.Node(id: models[m].id, path: models[m].path,
                                   kurtosis: values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count))
        }
        let duplicates = Duplicates.groups(count: n) { stats.rms[$0, $1] == 0 }
        for group in duplicates {
            let names = group.map { "'\(models[$0].id)'" }
            warnings.append("models \(names.dropLast().joined(separator: ", ")) and \(names.last!) have identical weights in every tensor used: "
                + "a group of duplicates, in the tree as \(names[0]) (the first given; the weights cannot tell which came first)")
        }

        let groups = options.trees.map { Clustering.cut(similarity: stats.correlation, into: $0) }
            ?? Clustering.components(similarity: stats.correlation, threshold: relatednessThreshold)

        var edges: [ModelGraph.Edge] = [], trees: [ModelGraph.Tree] = []
        for members in groups {
            let solver = TreeSolver(distance: distance.submatrix(members), kurtosis: members.map { evidence.kurtosis[$0] },
                                    sumSquares: members.map { evidence.sumSquares[$0] }, lambda: options.lambda)
            let solution = try solver.solve(direction: options.direction)
            let directionUnsure = solution.directionUnsure && members.count > 1
            var root = members[0]
            for (local, p) in solution.parent.enumerated() {
                guard p >= 0 else { root = members[local]; continue }
                let confidence = solution.confidence[local]
                let (parent, child) = (members[p], members[local])
                let votes = solver.votes(parent: p, child: local, solution.direction)
                let other = solution.runnerUp[local]
                let evidence = ModelGraph.EdgeEvidence(
                    runnerUp: other < 0 ? nil : .init(parent: members[other], distance: distance[members[other], child]),
                    kurtosisVotes: votes.kurtosis, normVotes: votes.norm, largestRank: largestRank.map { $0[parent, child] })
                edges.append(ModelGraph.Edge(parent: parent, child: child, type: .finetune, distance: distance[parent, child],
                                             confidence: confidence, unsure: !(confidence >= unsureConfidence) || directionUnsure,
                                             evidence: evidence))
            }
            trees.append(ModelGraph.Tree(members: members, root: root, direction: solution.direction, directionUnsure: directionUnsure))
            if directionUnsure {
                warnings.append("tree of '\(models[members[0]].id)': the weights cannot tell fine-tuning from further training (a chain reads the same both ways); assumed fine-tuning")
            }
        }
        try report(1, "done")

        let standIn = Duplicates.standIns(groups: duplicates, count: n)
        trees = trees.map { var t = $0; t.root = standIn[t.root]; return t }
        edges = Duplicates.standIn(groups: duplicates, edges: edges.sorted { $0.child < $1.child }, count: n)

        let weightRMS = (0..<n).map { i in
            stats.tensors.indices.map { t -> Double in
                (stats.moments[t][i].sumOfSquares / Double(Swift.max(1, models[i].tensor(named: stats.tensors[t])!.count))).squareRoot()
            }.reduce(0, +) / Double(Swift.max(1, stats.tensors.count))
        }
        (edges, trees) = try QuantizedTyping.type(edges: edges, trees: trees, models: models, tensors: stats.tensors,
                                                  distance: distance, rms: stats.rms, weightRMS: weightRMS, standIn: standIn,
                                                  threads: threads, kernels: options.kernels)
        var graph = try ModelGraph(models: nodes, edges: edges, trees: trees, distances: distance, tensors: stats.tensors,
                                   metric: metric, warnings: warnings, unsureThreshold: unsureConfidence)
        graph.duplicates = duplicates
        return graph
    }

    /// The working memory of this group's recovery (see `RecoveryOptions.memoryBudget`).
    func workingMemory(_ names: [String], directionTensors: Int) -> WorkingMemory {
        let views = names.map { models[0].tensor(named: $0)! }
        let largest = views.max { $0.count < $1.count }
        let rows = largest?.shape.first ?? 1
        return WorkingMemory(models: models.count, largestTensor: largest?.count ?? 0, largestRows: rows,
                             largestColumns: (largest?.count ?? 0) / Swift.max(rows, 1),
                             tensors: names.count + directionTensors, rank: options.metric == .auto || options.metric == .rank,
                             gram: PairwiseStatistics.usesGram(models: models.count, maxDifference: options.metric == .max,
                                                               kernels: options.kernels))
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
