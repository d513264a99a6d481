/// Everything a recovery does after the weights were read, on the statistics alone
/// (`RelationEvidence`): the metric, the trees, their direction, the minimum spanning
/// arborescences and the edges' confidences. `recover` feeds it the exact pass's statistics, the
/// hub index the statistics its signatures estimate; the graph comes out the same way from both.
enum RelationAnalysis {
    /// The graph of one architecture group.
    ///
    /// 1. Metric (`Distances.matrices`), per measured block.
    /// 2. Trees: within each block, models are related when their mean correlation exceeds
    ///    `relatednessThreshold`; trees are the connected components, or `options.trees` cuts the
    ///    single linkage tree into that many (only when every pair was measured: one block).
    /// 3. Each tree: duplicates stand in for their group; `copies` (found from the weights,
    ///    `QuantizedCopies`) hang from their sources; merges (`Merges`, from the mean squares;
    ///    TIES/DARE from `retentions`) from their parents; the rest get a direction, a minimum
    ///    spanning arborescence and confidences (`TreeSolver`); with `rows` (the exact pass),
    ///    pairs whose untouched rows order them (`UntouchedRows`) fix those pairs' direction.
    ///
    /// - Parameters:
    ///   - directions: the direction evidence of a tree's models (evidence indices, in order) when
    ///     they share more direction tensors than `evidence.direction` was gathered over; nil to
    ///     use `evidence.direction` (`Recovery.recoverGroup`: each family votes with its own).
    ///   - progress: the fraction of this stage done, and its name; throws to stop.
    /// - Throws: `.invalidArgument` for `options.trees` over several blocks or the `max` metric
    ///   without its statistic; what `progress`, `directions` or the rank evidence throw.
    static func graph(_ evidence: RelationEvidence, options: RecoveryOptions, threads: Int,
                      warnings inherited: [String] = [], copies: [QuantizedCopies.Copy] = [],
                      retentions: [TrimmedMerges.Retention] = [], rows: UntouchedRows.Tester? = nil,
                      directions: (([Int]) throws -> DirectionEvidence?)? = nil,
                      progress: (Double, String) throws -> Void) throws -> ModelGraph {
        let n = evidence.count
        var warnings = inherited
        for s in evidence.skipped { warnings.append("tensor '\(s.tensor)' skipped: \(s.reason)") }
        if options.trees != nil && evidence.blocks.count > 1 {
            throw ModelTreeError.invalidArgument("trees cannot be forced over models compared family by family "
                + "(an index): leave it unset to find the trees from the data")
        }

        let (metric, distances, largestRanks) = try Distances.matrices(options.metric, evidence: evidence, threads: threads) { f, stage in
            try progress(0.95 * f, stage)
        }
        try progress(0.95, "building trees")

        let nodes = (0..<n).map { m -> ModelGraph.Node in
            let values = evidence.kurtosis.map { $0[m] }.filter { $0.isFinite }
            return ModelGraph.Node(id: evidence.models[m].id, path: evidence.models[m].path,
                                   kurtosis: values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count))
        }

        var edges: [ModelGraph.Edge] = [], trees: [ModelGraph.Tree] = []
        var duplicates: [[Int]] = []
        for (b, (block, distance)) in zip(evidence.blocks, distances).enumerated() {
            let members = block.members
            let localOf = Dictionary(uniqueKeysWithValues: members.enumerated().map { ($1, $0) })
            var standIn = Array(0..<n)
            for local in Duplicates.groups(count: members.count, identical: { block.rms[$0, $1] == 0 }) {
                let group = local.map { members[$0] }
                duplicates.append(group)
                for m in group { standIn[m] = group[0] }
                warnings.append(Duplicates.note(group.map { "'\(evidence.models[$0].id)'" }))
            }
            for local in RelationAnalysis.trees(of: block, options: options) {
                let tree = local.map { members[$0] }
                let inTree = Set(tree)
                // The typed structure, in order: duplicates stand in for their group; quantized
                // copies (found before, from the grids) and merges (`Merges`) hang from their
                // sources and leave the tree solve; the tree is solved on the rest.
                let copyOf = Dictionary(uniqueKeysWithValues: copies.filter { inTree.contains($0.child) && inTree.contains($0.source) }
                    .map { ($0.child, $0) })
                let sources = tree.filter { standIn[$0] == $0 && copyOf[$0] == nil }
                let merges: [Merges.Merge]
                if metric != .rank, let meanSquare = block.meanSquare, sources.count > 2,
                   evidence.shapes.reduce(0, { $0 + $1.reduce(1, *) }) >= Merges.minimumElements {
                    let sub = meanSquare.submatrix(sources.map { localOf[$0]! })
                    let sourceIndex = Dictionary(uniqueKeysWithValues: sources.enumerated().map { ($1, $0) })
                    var bases: [Int: [Int]] = [:]
                    for r in retentions.sorted(by: { $0.share > $1.share }) {      // most retained first (`Merges.find`)
                        if let c = sourceIndex[r.child], let b = sourceIndex[r.base] { bases[c, default: []].append(b) }
                    }
                    merges = Merges.find(meanSquare: sub, children: Array(sources.indices), parents: Array(sources.indices),
                                         bases: bases).map { m in
                        var m = m
                        m.child = sources[m.child]
                        m.parents = m.parents.map { sources[$0] }
                        return m
                    }
                } else {
                    merges = []
                }
                let merged = Set(merges.map(\.child))
                let solved = sources.filter { !merged.contains($0) }
                let solvedLocal = solved.map { localOf[$0]! }
                func d(_ p: Int, _ c: Int) -> Double { distance[localOf[p]!, localOf[c]!] }
                let solvedIndex = Dictionary(uniqueKeysWithValues: solved.enumerated().map { ($1, $0) })
                let own = try directions?(tree)
                let treeIndex = Dictionary(uniqueKeysWithValues: tree.enumerated().map { ($1, $0) })
                var solver = TreeSolver(distance: distance.submatrix(solvedLocal),
                                        kurtosis: solved.map { own?.kurtosis[treeIndex[$0]!] ?? evidence.direction.kurtosis[$0] },
                                        sumSquares: solved.map { own?.sumSquares[treeIndex[$0]!] ?? evidence.direction.sumSquares[$0] },
                                        lambda: options.lambda)
                let wanted = options.confidenceFor.map { ids in Set(solved.indices.filter { ids.contains(evidence.models[solved[$0]].id) }) }
                // Pairs the untouched rows order (`UntouchedRows`): each model with its nearest
                // first, then the edges and runners-up of each tree solved with what is known,
                // until no pair tested adds an order.
                var ordered: [UntouchedRows.Order] = []
                func learn(_ pairs: [(Int, Int)]) throws -> Bool {
                    guard let rows else { return false }
                    let fresh = try rows.orders(pairs)
                    ordered += fresh
                    solver.known = Set(ordered.map { [solvedIndex[$0.ancestor]!, solvedIndex[$0.descendant]!] })
                    return !fresh.isEmpty
                }
                _ = try learn(UntouchedRows.Tester.nearestPairs(solved, distance: distance.submatrix(solvedLocal)))
                var solution = try solver.solve(direction: options.direction, confidenceFor: wanted)
                for _ in 0..<UntouchedRows.rounds {
                    let asked = solution.parent.indices.flatMap { k in
                        [solution.parent[k], solution.runnerUp[k]].filter { $0 >= 0 }.map { (solved[$0], solved[k]) }
                    }
                    guard try learn(asked) else { break }
                    solution = try solver.solve(direction: options.direction, confidenceFor: wanted)
                }
                let directionUnsure = solution.directionUnsure && solved.count > 1
                var root = solved[0]
                for (k, p) in solution.parent.enumerated() {
                    guard p >= 0 else { root = solved[k]; continue }
                    let confidence = solution.confidence[k]
                    let votes = solver.votes(parent: p, child: k, solution.direction)
                    let other = solution.runnerUp[k]
                    let edgeEvidence = ModelGraph.EdgeEvidence(
                        runnerUp: other < 0 ? nil : .init(parent: solved[other], distance: d(solved[other], solved[k])),
                        kurtosisVotes: votes.kurtosis, normVotes: votes.norm,
                        largestRank: largestRanks.map { $0[b][solvedLocal[p], solvedLocal[k]] })
                    // An edge the untouched rows order keeps its direction whatever the tree's mode.
                    let order = ordered.first { $0.ancestor == solved[p] && $0.descendant == solved[k] }
                    edges.append(ModelGraph.Edge(parent: solved[p], child: solved[k], type: .finetune,
                                                 distance: d(solved[p], solved[k]), confidence: confidence,
                                                 unsure: directionUnsure && order == nil,
                                                 evidence: edgeEvidence))
                    if let order { warnings.append(order.note(evidence.models.map(\.id))) }
                }
                edges += typedEdges(copies: tree.compactMap { copyOf[$0] }, merges: merges, distance: d)
                for m in tree where standIn[m] != m {
                    edges.append(Duplicates.placeholder(standIn: standIn[m], copy: m))
                }
                trees.append(ModelGraph.Tree(members: tree, root: root, direction: solution.direction, directionUnsure: directionUnsure))
                if !ordered.isEmpty && options.direction == .auto {
                    let (mode, share) = solver.modeOfKnownPairs()
                    let read = mode.map { "\($0 == .finetune ? "fine-tuning" : "further training") read from them" } ?? "which does not choose the direction"
                    warnings.append("tree of '\(evidence.models[tree[0]].id)': of the \(ordered.count) pairs whose order the untouched rows decide, "
                        + "the kurtosis of \(Formatting.fixed(100 * share, 0)) % of tensors falls from ancestor to descendant; \(read)")
                }
                if directionUnsure {
                    warnings.append("tree of '\(evidence.models[tree[0]].id)': the weights cannot tell fine-tuning from further training (a chain reads the same both ways); assumed fine-tuning")
                }
            }
        }
        try progress(1, "done")
        duplicates.sort { $0[0] < $1[0] }
        // Stable: a child's edges keep their order (its primary edge first).
        let byChild = edges.enumerated().sorted { ($0.element.child, $0.offset) < ($1.element.child, $1.offset) }.map(\.element)
        var graph = try ModelGraph(models: nodes, edges: byChild, trees: trees.sorted { $0.members[0] < $1.members[0] },
                                   distanceBlocks: zip(evidence.blocks, distances).map { .init(members: $0.members, matrix: $1) },
                                   tensors: evidence.tensors, metric: metric, warnings: warnings, unsureThreshold: Calibration.unsureThreshold)
        graph.duplicates = duplicates
        return graph
    }

    /// The trees of a measured block, in its local indices: models related when their mean
    /// correlation exceeds `relatednessThreshold`, the connected components — or `options.trees`
    /// of them, cut from the single linkage tree.
    static func trees(of block: RelationEvidence.PairBlock, options: RecoveryOptions) -> [[Int]] {
        options.trees.map { Clustering.cut(similarity: block.correlation, into: $0) }
            ?? Clustering.components(similarity: block.correlation, threshold: relatednessThreshold)
    }

    /// The edges of a tree's quantized copies and merges (model indices; `distance` in the
    /// graph's metric). Confidences follow `TreeSolver`'s reading — 1 − (e / e′)², e the edge's
    /// cost and e′ that of the best alternative: for a copy, the share of its differences its
    /// grid leaves unexplained from its source against that from the next best candidate
    /// source (distance is no evidence here: a BF16 copy's rounding moves it farther than a
    /// light fine-tune); for a merge parent, the fit's residual against the residual of the
    /// best fit without that parent.
    static func typedEdges(copies: [QuantizedCopies.Copy], merges: [Merges.Merge],
                           distance d: (Int, Int) -> Double) -> [ModelGraph.Edge] {
        func confidence(_ e: Double, against alternative: Double) -> Double {
            guard alternative > 0 else { return 0 }
            let ratio = Swift.min(1, e / alternative)
            return 1 - ratio * ratio
        }
        var edges: [ModelGraph.Edge] = []
        for copy in copies {
            let c = confidence(1 - copy.share, against: 1 - copy.runnerUpShare)
            edges.append(ModelGraph.Edge(parent: copy.source, child: copy.child, type: .quantized, distance: d(copy.source, copy.child),
                                         confidence: c, unsure: false,
                                         evidence: .init(runnerUp: copy.runnerUp.map { .init(parent: $0, distance: d($0, copy.child)) },
                                                         kurtosisVotes: nil, normVotes: nil, largestRank: nil, gridShare: copy.share)))
        }
        for m in merges {
            for (k, p) in m.parents.enumerated() {
                let c = confidence(m.residual, against: m.without[k])
                edges.append(ModelGraph.Edge(parent: p, child: m.child, type: .merge, distance: d(p, m.child), confidence: c,
                                             unsure: false,
                                             evidence: .init(runnerUp: nil, kurtosisVotes: nil, normVotes: nil, largestRank: nil,
                                                             residual: m.residual, residualRatio: m.ratio),
                                             coefficient: m.coefficients[k]))
            }
        }
        return edges
    }
}
