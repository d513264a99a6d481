/// The statistics of models from their weights: the exact pass of `recover`.
struct WeightSource: EvidenceSource {
    let models: [Model]

    var ids: [String] { models.map(\.id) }

    func architectureGroups() -> [[Int]] { TensorSelection.architectureGroups(models) }

    func isAdapter(_ i: Int) -> Bool { models[i].isAdapter }

    func compared(_ members: [Int], options: RecoveryOptions) throws -> TensorSelection.Compared {
        try TensorSelection.compared(models: members.map { models[$0] }, include: options.include, exclude: options.exclude)
    }

    func direction(of members: [Int], tensors: [String], threads: Int, options: RecoveryOptions) throws -> DirectionEvidence {
        try DirectionEvidence.gather(models: members.map { models[$0] }, tensorNames: tensors, threads: threads,
                                     kernels: options.kernels) { _ in }
    }

    /// One streaming pass over the selected tensors (moments, every pair's RMS, correlation and,
    /// for `max`, normalised maximum), the direction tensors' moments, and the weights themselves
    /// as rank evidence. Every pair is measured: one block.
    func evidence(of members: [Int], options: RecoveryOptions,
                  report: (Double, String) throws -> Void) throws -> (RelationEvidence, threads: Int) {
        let models = members.map { self.models[$0] }
        try report(0, "selecting tensors")
        let compared = try TensorSelection.compared(models: models, include: options.include, exclude: options.exclude)
        let (names, directionNames) = (compared.distance, compared.direction)
        let threads = try workingMemory(models, names, directionTensors: directionNames.count, options: options)
            .threads(upTo: options.resolvedThreads, budget: options.memoryBudget)
        let stats = try PairwiseStatistics.gather(models: models, tensorNames: names, maxDifference: options.metric == .max,
                                                  threads: threads, kernels: options.kernels) { f in
            try report(0.03 + 0.91 * f, "reading weights")
        }
        guard !stats.tensors.isEmpty else {
            throw ModelTreeError.incompatibleModels("every selected tensor was skipped (\(stats.skipped.map(\.reason).joined(separator: "; ")))")
        }
        // With include patterns the direction tensors are the selected ones that were not skipped.
        let evidenceNames = options.include.isEmpty ? directionNames : stats.tensors
        let direction = try DirectionEvidence.gather(models: models, tensorNames: evidenceNames,
                                                     known: Dictionary(uniqueKeysWithValues: zip(stats.tensors, stats.moments)),
                                                     threads: threads, kernels: options.kernels) { f in
            try report(0.94 + 0.06 * f, "reading direction evidence")
        }
        let block = RelationEvidence.PairBlock(members: Array(models.indices), rms: stats.rms, correlation: stats.correlation,
                                               maxNormalized: options.metric == .max ? stats.maxNormalized : nil,
                                               meanSquare: stats.meanSquare)
        let evidence = RelationEvidence(models: models.map { .init(id: $0.id, path: $0.path) }, tensors: stats.tensors,
                                        shapes: stats.tensors.map { models[0].tensor(named: $0)!.shape },
                                        skipped: stats.skipped, kurtosis: stats.kurtosis, direction: direction, blocks: [block],
                                        ranks: WeightRankEvidence(models: models, tensorNames: stats.tensors,
                                                                  sumSquares: stats.moments.map { $0.map(\.sumOfSquares) },
                                                                  kernels: options.kernels),
                                        storage: models.indices.map { m in
                                            let views = stats.tensors.map { models[m].tensor(named: $0)! }
                                            let rms = zip(views, stats.moments).map { view, moments in
                                                (moments[m].sumOfSquares / Double(Swift.max(1, view.count))).squareRoot()
                                            }
                                            return (views.map(\.unitRoundoff).max() ?? 0, rms.reduce(0, +) / Double(Swift.max(1, rms.count)))
                                        })
        return (evidence, threads)
    }

    /// The working memory of this group's recovery (see `RecoveryOptions.memoryBudget`).
    func workingMemory(_ models: [Model], _ names: [String], directionTensors: Int, options: RecoveryOptions) -> WorkingMemory {
        let views = names.map { models[0].tensor(named: $0)! }
        let largest = views.max { $0.count < $1.count }
        let rows = largest?.shape.first ?? 1
        return WorkingMemory(models: models.count, largestTensor: largest?.count ?? 0, largestRows: rows,
                             largestColumns: (largest?.count ?? 0) / Swift.max(rows, 1),
                             tensors: names.count + directionTensors, rank: options.metric == .auto || options.metric == .rank,
                             gram: PairwiseStatistics.usesGram(models: models.count, maxDifference: options.metric == .max,
                                                               kernels: options.kernels))
    }
}
