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
    /// 3. Each tree: direction and minimum spanning arborescence, confidences (`TreeSolver`).
    ///
    /// - Parameter progress: the fraction of this stage done, and its name; throws to stop.
    /// - Throws: `.invalidArgument` for `options.trees` over several blocks or the `max` metric
    ///   without its statistic; what `progress` or the rank evidence throw.
    static func graph(_ evidence: RelationEvidence, options: RecoveryOptions, threads: Int,
                      warnings inherited: [String] = [],
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
            for local in Duplicates.groups(count: members.count, identical: { block.rms[$0, $1] == 0 }) {
                let group = local.map { members[$0] }
                duplicates.append(group)
                let names = group.map { "'\(evidence.models[$0].id)'" }
                warnings.append("models \(names.dropLast().joined(separator: ", ")) and \(names.last!) have identical weights in every tensor used: "
                    + "a group of duplicates, in the tree as \(names[0]) (the first given; the weights cannot tell which came first)")
            }
            let groups = options.trees.map { Clustering.cut(similarity: block.correlation, into: $0) }
                ?? Clustering.components(similarity: block.correlation, threshold: relatednessThreshold)
            for local in groups {
                let tree = local.map { members[$0] }
                let solver = TreeSolver(distance: distance.submatrix(local), kurtosis: tree.map { evidence.direction.kurtosis[$0] },
                                        sumSquares: tree.map { evidence.direction.sumSquares[$0] }, lambda: options.lambda)
                let wanted = options.confidenceFor.map { ids in Set(tree.indices.filter { ids.contains(evidence.models[tree[$0]].id) }) }
                let solution = try solver.solve(direction: options.direction, confidenceFor: wanted)
                let directionUnsure = solution.directionUnsure && tree.count > 1
                var root = tree[0]
                for (k, p) in solution.parent.enumerated() {
                    guard p >= 0 else { root = tree[k]; continue }
                    let confidence = solution.confidence[k]
                    let votes = solver.votes(parent: p, child: k, solution.direction)
                    let other = solution.runnerUp[k]
                    let edgeEvidence = ModelGraph.EdgeEvidence(
                        runnerUp: other < 0 ? nil : .init(parent: tree[other], distance: distance[local[other], local[k]]),
                        kurtosisVotes: votes.kurtosis, normVotes: votes.norm,
                        largestRank: largestRanks.map { $0[b][local[p], local[k]] })
                    edges.append(ModelGraph.Edge(parent: tree[p], child: tree[k], type: .finetune,
                                                 distance: distance[local[p], local[k]], confidence: confidence,
                                                 unsure: !(confidence >= unsureConfidence) || directionUnsure,
                                                 evidence: edgeEvidence))
                }
                trees.append(ModelGraph.Tree(members: tree, root: root, direction: solution.direction, directionUnsure: directionUnsure))
                if directionUnsure {
                    warnings.append("tree of '\(evidence.models[tree[0]].id)': the weights cannot tell fine-tuning from further training (a chain reads the same both ways); assumed fine-tuning")
                }
            }
        }
        try progress(1, "done")
        duplicates.sort { $0[0] < $1[0] }
        let standIn = Duplicates.standIns(groups: duplicates, count: n)
        trees = trees.map { var t = $0; t.root = standIn[t.root]; return t }
        var graph = try ModelGraph(models: nodes, edges: Duplicates.standIn(groups: duplicates, edges: edges.sorted { $0.child < $1.child }, count: n),
                                   trees: trees.sorted { $0.members[0] < $1.members[0] },
                                   distanceBlocks: zip(evidence.blocks, distances).map { .init(members: $0.members, matrix: $1) },
                                   tensors: evidence.tensors, metric: metric, warnings: warnings, unsureThreshold: unsureConfidence)
        graph.duplicates = duplicates
        return graph
    }
}
