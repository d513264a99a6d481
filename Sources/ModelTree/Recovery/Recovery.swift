/// Recovers the Model Graph of `models` from their weights (Horwitz, Shul, Hoshen, ICLR 2025,
/// with the number of trees, the metric and the direction found from the data).
///
/// 0. Map an export's tensor names onto the other models' (`TensorMatching`).
/// 1. Select the tensors every model shares (`TensorSelection`); a tree found over them whose
///    members share more is compared again over its own (`Recovery.recoverGroup`).
/// 2. One streaming pass: per-model kurtosis, pairwise RMS, normalised max and correlation
///    (`PairwiseStatistics`).
/// 3. Metric: `auto` takes the LoRA rank distance when every model's nearest neighbour differs from
///    it by a low-rank update (rank ≤ half the smaller side) in every tensor, else RMS.
/// 4. Trees: models are related when the mean correlation of their weights exceeds 1/2 — that is,
///    when their difference has less than half the variance of two unrelated models'
///    (independently initialised networks are uncorrelated; fine-tunes keep correlations near 1);
///    trees are the connected components (single linkage), or `options.trees` forces their number.
/// 5. Each tree, its typed structure first: duplicates stand in for their group, quantized
///    copies (`QuantizedCopies`) and merges (`Merges`, `TrimmedMerges`) hang from their sources
///    and leave the tree solve; then direction and minimum spanning arborescence of the rest
///    (`TreeSolver`).
///
/// Complexity: reading is O(n² · total elements) arithmetic at one pass over the bytes; the rank
/// distance adds O(n² · tensors · m·k²); the trees O(s⁴) for a tree of s ≤ 200 models.
/// The corresponding C function is `modeltree_recover`.
/// - Throws: `ModelTreeError` (invalid argument for no models, duplicate ids or bad options;
///   incompatible models when no tensor is shared; out of memory past `maxModels` or
///   `memoryBudget`; cancelled when `progress` returns false; io when a file changed).
public func recover(_ models: [Model], options: RecoveryOptions = RecoveryOptions()) throws -> ModelGraph {
    // An export's tensors under the other models' names (`TensorMatching`), before anything is compared.
    let (aligned, matches, notes) = try TensorMatching.align(models)
    // Tensors no pass can decode (GGUF's IQ types) are not weights, so never compared: say so.
    let skipped = aligned.flatMap { m in
        m.tensors.compactMap { t in t.undecodableReason.map { "model '\(m.id)': tensor '\(t.name)' is \($0): not compared" } }
    }
    var graph = try Recovery(models: aligned, options: options).run().prepending(warnings: skipped + notes)
    graph.tensorMatches = matches
    // The claims of the models' files, judged against the edges just recovered (never used to place one).
    return try graph.audited(models)
}

/// Correlation above which two models count as related (see `recover`).
package let relatednessThreshold = 0.5

/// The raw confidence below which the steps that choose between candidates count two as tied:
/// the tree's ancestor rule (`TreeSolver.preferringAncestors`), an adapter's bases
/// (`AdapterAttachment`) and a layer subset's sources (`LayerSubsets`). The unsure threshold of
/// the first release, kept as a rule of those choices, which were made with it, when the unsure
/// threshold became measured (`Calibration.unsureThreshold`, in calibrated units).
let tieConfidence = 0.2

/// Where a recovery's statistics come from: the weights (`WeightSource`, the exact pass of
/// `recover`) or signatures (`SignatureSource`, the hub index). `Recovery` splits the models
/// into architectures, asks the source for each one's `RelationEvidence`, and hands it to
/// `RelationAnalysis`.
protocol EvidenceSource {
    /// The models' ids, in order.
    var ids: [String] { get }
    /// Groups of models of one architecture each (`TensorSelection.architectureGroups`).
    func architectureGroups() -> [[Int]]
    /// Whether model `i` is an un-merged adapter (`Model.isAdapter`), a group of its own.
    func isAdapter(_ i: Int) -> Bool
    /// The tensors models `members` are compared over (`TensorSelection.compared`).
    func compared(_ members: [Int], options: RecoveryOptions) throws -> TensorSelection.Compared
    /// The direction evidence of models `members` over `tensors` (2-D tensors they all have).
    func direction(of members: [Int], tensors: [String], threads: Int, options: RecoveryOptions) throws -> DirectionEvidence
    /// The statistics of the models `members` (one architecture group), and the threads to use.
    /// - Parameter report: the fraction of the gathering done, and its stage; throws to stop.
    func evidence(of members: [Int], options: RecoveryOptions,
                  report: (Double, String) throws -> Void) throws -> (RelationEvidence, threads: Int)
}

extension EvidenceSource {
    func isAdapter(_ i: Int) -> Bool { false }
}

struct Recovery {
    let source: any EvidenceSource
    var options: RecoveryOptions

    init(models: [Model], options: RecoveryOptions) {
        self.init(source: WeightSource(models: models), options: options)
    }

    init(source: any EvidenceSource, options: RecoveryOptions) {
        self.source = source
        self.options = options
    }

    /// The graph, every edge's confidence calibrated and unsure decided there, once, after every
    /// step that makes edges (`ModelGraph.calibrated`).
    func run() throws -> ModelGraph {
        try uncalibrated().calibrated()
    }

    /// Models of different architectures are never compared: each group of models that share
    /// most of their tensors (see `TensorSelection.architectureGroups`) is recovered on its own,
    /// and the groups' trees are put side by side, at infinite distance from one another.
    private func uncalibrated() throws -> ModelGraph {
        let ids = source.ids
        guard !ids.isEmpty else { throw ModelTreeError.invalidArgument("no models to compare") }
        var seen = Set<String>()
        for id in ids where !seen.insert(id).inserted {
            throw ModelTreeError.invalidArgument("model id '\(id)' appears twice")
        }
        try options.validate(modelCount: ids.count)
        let groups = options.attachesAdapters ? separatingAdapters(source.architectureGroups()) : source.architectureGroups()
        guard groups.count > 1 else {
            return try attachingAdapters(try recoverGroup(Array(ids.indices), options: options) { f, stage in try report((0, 1, 1), f, stage) })
        }
        // An adapter is a group of its own (`separatingAdapters`), and then a leaf of its base's
        // tree: not an architecture, and not one of the trees asked for.
        let architectures = options.attachesAdapters ? groups.filter { $0.count > 1 || !source.isAdapter($0[0]) } : groups
        let adapters = groups.count - architectures.count
        if let trees = options.trees, trees < architectures.count {
            throw ModelTreeError.invalidArgument("trees is \(trees), fewer than the \(architectures.count) different architectures "
                + "of the models, each of which makes trees of its own")
        }
        var parts: [(members: [Int], graph: ModelGraph)] = []
        var done = 0
        for members in groups {
            var sub = options
            // One tree per architecture when that many were asked for; more cannot be shared out
            // between the architectures without a rule of our own, so each then finds its own.
            sub.trees = options.trees == architectures.count || !architectures.contains(members) ? 1 : nil
            let part = (done: done, count: members.count, total: ids.count)
            parts.append((members, try recoverGroup(members, options: sub) { f, stage in try report(part, f, stage) }))
            done += members.count
        }
        let graph = try LayerSubsets.attached(to: ModelGraph.sideBySide(parts, count: ids.count), source: source, options: options)
        var notes: [String] = []
        if architectures.count > 1 {
            notes.append("the models have \(architectures.count) different architectures (no tensors in common, or other numbers of layers, between: "
                + architectures.map { "[" + $0.map { ids[$0] }.joined(separator: ", ") + "]" }.joined(separator: " and ")
                + "); each was recovered on its own")
        }
        if let trees = options.trees, trees > architectures.count, architectures.count > 1 {
            notes.append("\(trees) trees were asked for, but the models have \(architectures.count) different "
                + "architectures, recovered separately: each was cut into trees from its own data (\(graph.trees.count - adapters) in all)")
        }
        return try attachingAdapters(try graph.prepending(warnings: notes))
    }

    /// The architecture groups of the full models; each adapter alone. An adapter's tensors are
    /// updates, not weights: compared with a model's they would make it a far relative (an adapter
    /// of every projection shares most tensor names with its base), and with another adapter's a
    /// parent of it. `AdapterAttachment` hangs each from its base instead.
    private func separatingAdapters(_ groups: [[Int]]) -> [[Int]] {
        groups.flatMap { group in
            let full = group.filter { !source.isAdapter($0) }
            return (full.isEmpty ? [] : [full]) + group.filter { source.isAdapter($0) }.map { [$0] }
        }.sorted { $0[0] < $1[0] }
    }

    /// Each adapter as a leaf of its base (`AdapterAttachment`): the exact pass only.
    private func attachingAdapters(_ graph: ModelGraph) throws -> ModelGraph {
        guard options.attachesAdapters, let weights = source as? WeightSource else { return graph }
        return try AdapterAttachment.attach(graph, models: weights.models)
    }

    /// Recovers models that share an architecture: the source gathers the statistics,
    /// `RelationAnalysis` makes the graph from them.
    ///
    /// Each family (tree) is compared over the tensors its own members share: an architecture
    /// group may hold a model with fewer tensors than the others (an adapter folder read as
    /// weights, a layer subset, a model without a head), and the group's shared tensors would
    /// then shrink the evidence of every other family — and make a family's edges depend on
    /// models it is not related to (the hub index's parent query solves one family alone).
    /// So when the trees found over the group's tensors do not all share the same distance
    /// tensors, they are recovered again in classes of trees that do (`familiesByTensors`), each
    /// class on its own (its own metric, as an architecture's; the index decides a query's
    /// metric over the families of its layout, the same distance tensors), and put side by side;
    /// and each tree's direction votes come from the 2-D tensors its own members share.
    /// - Parameter progress: the fraction of this group's recovery done, and its stage.
    func recoverGroup(_ members: [Int], options: RecoveryOptions, progress: (Double, String) throws -> Void) throws -> ModelGraph {
        let (evidence, threads) = try source.evidence(of: members, options: options) { f, stage in
            try progress(0.72 * f, stage)
        }
        let classes = try familiesByTensors(evidence, members: members, options: options)
        if classes.count > 1 {
            var parts: [(members: [Int], graph: ModelGraph)] = []
            var done = 0
            for (local, trees) in classes {
                var sub = options
                if options.trees != nil { sub.trees = trees }
                let start = done
                parts.append((local, try recoverGroup(local.map { members[$0] }, options: sub) { f, stage in
                    try progress(0.72 + 0.28 * (Double(start) + Double(local.count) * f) / Double(members.count), stage)
                }))
                done += local.count
            }
            return try ModelGraph.sideBySide(parts, count: members.count)
        }
        // Quantized copies are told by the weights themselves (their storage grids): the exact
        // pass only, before the tree is solved (`QuantizedCopies`).
        // So are the bases TIES and DARE merges keep (`TrimmedMerges`), among the models that are not copies.
        var copies: [QuantizedCopies.Copy] = []
        var retentions: [TrimmedMerges.Retention] = []
        if options.typesQuantizedCopies, let weights = source as? WeightSource, let storage = evidence.storage,
           evidence.blocks.count == 1 {
            let models = members.map { weights.models[$0] }
            copies = try QuantizedCopies.find(models: models, tensors: evidence.tensors, rms: evidence.blocks[0].rms,
                                              storage: storage, threads: threads, kernels: options.kernels)
            retentions = try TrimmedMerges.find(models: models, tensors: evidence.tensors, rms: evidence.blocks[0].rms,
                                                copies: Set(copies.map(\.child)), threads: threads, kernels: options.kernels)
        }
        // Pairs the weights order outright (`UntouchedRows`: rows only weight decay moved): the
        // exact pass only; `RelationAnalysis` asks for the pairs of each tree it solves.
        let rows = (source as? WeightSource).flatMap { weights in
            options.ordersByUntouchedRows && evidence.blocks.count == 1
                ? UntouchedRows.Tester(models: members.map { weights.models[$0] }, tensors: evidence.direction.tensors) : nil
        }
        let graph = try RelationAnalysis.graph(evidence, options: options, threads: threads, copies: copies,
                                               retentions: retentions, rows: rows, directions: { tree in
            let own = try source.compared(tree.map { members[$0] }, options: options).direction
            return own == evidence.direction.tensors ? nil
                : try source.direction(of: tree.map { members[$0] }, tensors: own, threads: threads, options: options)
        }) { f, stage in
            try progress(0.72 + 0.28 * f, stage)
        }
        // Missing parents, from the angles of the exact distances (an index's estimates are not asked).
        return options.infersLatentParentsAndLayerSubsets && source is WeightSource && evidence.blocks.count == 1
            ? try LatentParents.inferred(graph, rms: evidence.blocks[0].rms, rows: rows) : graph
    }

    /// The trees of `evidence` (`RelationAnalysis.trees`), in classes of trees compared over the
    /// same distance tensors (`EvidenceSource.compared` of each tree's members): indices into `members`,
    /// ascending, with the number of trees of each class; one class when every tree shares the
    /// group's tensors (or trees are forced over several blocks, which `RelationAnalysis` refuses).
    private func familiesByTensors(_ evidence: RelationEvidence, members: [Int],
                                   options: RecoveryOptions) throws -> [(members: [Int], trees: Int)] {
        guard options.trees == nil || evidence.blocks.count == 1 else { return [(Array(members.indices), options.trees!)] }
        var classes: [(members: [Int], trees: Int)] = []
        var classOf: [[String]: Int] = [:]
        for block in evidence.blocks {
            for local in RelationAnalysis.trees(of: block, options: options) {
                let tree = local.map { block.members[$0] }
                let key = try source.compared(tree.map { members[$0] }, options: options).distance
                if let c = classOf[key] {
                    classes[c].members += tree
                    classes[c].trees += 1
                } else {
                    classOf[key] = classes.count
                    classes.append((tree, 1))
                }
            }
        }
        return classes.map { ($0.members.sorted(), $0.trees) }.sorted { $0.members[0] < $1.members[0] }
    }

    private func report(_ part: (done: Int, count: Int, total: Int), _ fraction: Double, _ stage: String) throws {
        // (done + count·f) / total: exactly the next part's start at f = 1, so the fractions the
        // caller sees never go down, even by a rounding.
        let f = Swift.min(1, Swift.max(0, fraction))
        let overall = (Double(part.done) + Double(part.count) * f) / Double(part.total)
        if let progress = options.progress, !progress(overall, stage) {
            throw ModelTreeError.cancelled
        }
    }
}
