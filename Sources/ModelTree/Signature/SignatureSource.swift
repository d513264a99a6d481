/// Recovers the Model Graph of models from their signatures alone, every pair of each
/// architecture compared: what `recover` gives from the weights, with pair statistics estimated
/// by the sketches (see `ModelSignature`). The hub index does the same family by family.
///
/// Tensors are those of the default selection (the options' `include` and `exclude` need the
/// weights); the `max` metric needs the weights too.
/// - Throws: as `recover`; `.invalidArgument` for include/exclude patterns or the `max` metric.
public func recover(signatures: [ModelSignature], options: RecoveryOptions = RecoveryOptions()) throws -> ModelGraph {
    try Recovery(source: SignatureSource(signatures: signatures), options: options).run()
}

/// The statistics of models from their signatures (`RelationEvidence.init(signatures:…)`).
package struct SignatureSource: EvidenceSource {
    let signatures: [ModelSignature]
    /// A partition of the models into families whose pairs are compared; nil compares every pair
    /// of an architecture.
    var families: [[Int]]? = nil
    /// Σ (W_a − W_b)² per tensor for a pair (model indices), when known (an index's cache).
    var squaredDifferences: ((Int, Int, [String]) throws -> [Double])? = nil
    /// The ranks of W_a − W_b per tensor for a pair (model indices), when known or to be computed
    /// by the caller (an index's cache, loading rank sketches on demand).
    var pairRanks: ((Int, Int, [String]) throws -> [Int])? = nil

    package init(signatures: [ModelSignature], families: [[Int]]? = nil,
                 squaredDifferences: ((Int, Int, [String]) throws -> [Double])? = nil,
                 pairRanks: ((Int, Int, [String]) throws -> [Int])? = nil) {
        self.signatures = signatures
        self.families = families
        self.squaredDifferences = squaredDifferences
        self.pairRanks = pairRanks
    }

    /// The graph of these signatures (`recover(signatures:options:)` with this source's families
    /// and caches). The hub index's graph and parent queries come from here.
    package func recover(options: RecoveryOptions) throws -> ModelGraph {
        try Recovery(source: self, options: options).run()
    }

    var ids: [String] { signatures.map(\.id) }

    func architectureGroups() -> [[Int]] { TensorSelection.architectureGroups(signatures) }

    func compared(_ members: [Int], options: RecoveryOptions) throws -> TensorSelection.Compared {
        try TensorSelection.compared(models: members.map { signatures[$0] }, include: [], exclude: [])
    }

    func direction(of members: [Int], tensors: [String], threads: Int, options: RecoveryOptions) throws -> DirectionEvidence {
        DirectionEvidence(signatures: members.map { signatures[$0] }, tensors: tensors)
    }

    func evidence(of members: [Int], options: RecoveryOptions,
                  report: (Double, String) throws -> Void) throws -> (RelationEvidence, threads: Int) {
        guard options.include.isEmpty && options.exclude.isEmpty else {
            throw ModelTreeError.invalidArgument("include and exclude patterns need the weights: signatures keep the default selection of tensors")
        }
        try report(0, "comparing signatures")
        var local = [Int: Int]()
        for (k, m) in members.enumerated() { local[m] = k }
        let blocks: [[Int]]
        if let families {
            blocks = families.map { $0.compactMap { local[$0] }.sorted() }.filter { !$0.isEmpty }.sorted { $0[0] < $1[0] }
        } else {
            blocks = [Array(members.indices)]
        }
        let sums = squaredDifferences.map { sums in { (a: Int, b: Int, t: [String]) in try sums(members[a], members[b], t) } }
        let ranks = pairRanks.map { ranks in { (a: Int, b: Int, t: [String]) in try ranks(members[a], members[b], t) } }
        let evidence = try RelationEvidence(signatures: members.map { signatures[$0] }, blocks: blocks,
                                            squaredDifferences: sums, pairRanks: ranks)
        try report(1, "comparing signatures")
        return (evidence, options.resolvedThreads)
    }
}
