extension Drawing {
    /// The picture of a recovered graph: what `--format svg|html` draws.
    ///
    /// One node per model (its id and kurtosis; the root of each tree marked), one edge per edge
    /// of the graph (so a child with several parents, a merge, gets several), one family per tree
    /// with its direction, the graph's warnings, the score when there is one, and the legend's
    /// note of what made an edge unsure (`ModelGraph.unsureThreshold`). The evidence the HTML
    /// view lists on a click is what the graph holds — distance, confidence, type, the runner-up
    /// parent, the direction votes, the rank for LoRA (`ModelGraph.EdgeEvidence`) — presented,
    /// never recomputed. Nodes without an id (`NodeKind.latent`) are for latent parents, which
    /// the graph value does not hold yet. O(models + edges + score trees).
    public init(_ graph: ModelGraph, score: Score? = nil) {
        typealias F = Formatting
        let ids = graph.ids
        let plural = { (n: Int, word: String) in "\(n) \(word)\(n == 1 ? "" : "s")" }
        self.init(title: "Model graph of \(plural(graph.count, "model")) · metric \(graph.metric.rawValue)")

        families = graph.trees.enumerated().map { t, tree in
            let direction = tree.direction.summary + (tree.directionUnsure ? " (a guess)" : "")
            return Family(title: "Family \(t + 1) · \(plural(tree.members.count, "model")) · \(direction)",
                          evidence: [Fact("root", ids[tree.root]), Fact("models", "\(tree.members.count)"),
                                     Fact("direction", tree.direction.summary),
                                     Fact("direction told by the weights", tree.directionUnsure ? "no: assumed" : "yes")])
        }
        let roots = Set(graph.roots)
        nodes = graph.models.enumerated().map { i, m in
            Node(id: m.id, lines: [m.id, "kurtosis " + F.fixed(m.kurtosis, 2)], kind: roots.contains(i) ? .root : .model,
                 family: graph.tree(of: i),
                 evidence: [Fact("kurtosis", F.significant(m.kurtosis, 6)), Fact("path", m.path ?? "(given in memory)")])
        }
        edges = graph.edges.map { e in
            let rank = graph.metric == .rank
            let shown = rank ? "rank \(Int(e.distance.rounded(.down)))" : F.significant(e.distance)
            return Edge(parent: e.parent, child: e.child, type: EdgeType(e.type), lines: (e.coefficient.map { ["× " + F.fixed($0, 2)] } ?? []) + [shown, "conf " + F.fixed(e.confidence, 2)],
                        unsure: e.unsure, evidence: Self.facts(e, in: graph))
        }
        duplicates = graph.duplicates
        warnings = graph.warnings
        if let score {
            self.score = [Fact("edges right", "\(score.correct)/\(score.total) (\(F.fixed(100 * score.accuracy, 1))%)"),
                          Fact("adjusted Rand index", F.fixed(score.adjustedRandIndex, 3))]
            // Against a truth of fine-tunes only, the typed score repeats the edge accuracy.
            if score.relations.contains(where: { $0.type != EdgeType.finetune.rawValue }) {
                self.score += [Fact("typed F1", F.fixed(score.typedF1, 3))]
                    + score.relations.map { Fact("\($0.type) recall", "\($0.correct)/\($0.total)") }
            }
            self.score += score.trees.map { Fact("tree of " + $0.root, "\($0.correct)/\($0.total)") }
        }
        unsureLegend = "unsure: confidence below \(F.fixed(graph.unsureThreshold, 2)), or direction a guess"
    }

    /// The rows the HTML view lists for edge `e` (beside its type, parent and child).
    static func facts(_ e: ModelGraph.Edge, in graph: ModelGraph) -> [Fact] {
        typealias F = Formatting
        let metric = graph.metric.rawValue
        var facts = [Fact("distance (\(metric))", F.significant(e.distance, 6)), Fact("confidence", F.fixed(e.confidence, 3))]
        if e.unsure {
            let guessed = graph.trees[graph.tree(of: e.child)].directionUnsure
            facts.append(Fact("why unsure", e.confidence >= graph.unsureThreshold && guessed
                                ? "the family's direction is a guess"
                                : "confidence below \(F.fixed(graph.unsureThreshold, 2))" + (guessed ? ", and the family's direction is a guess" : "")))
        }
        guard let evidence = e.evidence else { return facts }
        if let c = e.coefficient { facts.append(Fact("merge coefficient", F.fixed(c, 3))) }
        if let r = evidence.residual, let q = evidence.residualRatio {
            facts.append(Fact("merge residual", F.significant(r, 4) + " (× \(F.fixed(q, 3)) the distance to the nearest model)"))
        }
        if let share = evidence.gridShare { facts.append(Fact("within half a step of its grid", F.fixed(100 * share, 2) + "% of the differing elements")) }
        if e.type == .merge || e.type == .quantized {
            if let other = evidence.runnerUp { facts.append(Fact("next best source", graph.ids[other.parent])) }
            return facts
        }
        if let other = evidence.runnerUp {
            let ratio = e.distance > 0 ? " (× \(F.fixed(other.distance / e.distance, 2)) the parent's)" : ""
            facts.append(Fact("runner-up parent", graph.ids[other.parent]))
            facts.append(Fact("runner-up distance", F.significant(other.distance, 6) + ratio))
        } else {
            facts.append(Fact("runner-up parent", "none: without this edge, the best tree makes \(graph.ids[e.child]) a root"))
        }
        func votes(_ v: ModelGraph.EdgeEvidence.Votes?) -> String {
            guard let v else { return "no tensor to tell" }
            let agreeing = v.agreeing == v.agreeing.rounded() ? String(Int(v.agreeing)) : F.fixed(v.agreeing, 1)
            return "\(agreeing) of \(v.total) tensors agree (\(F.fixed(100 * v.agreeing / Double(v.total), 0))%)"
        }
        facts.append(Fact("kurtosis votes", votes(evidence.kurtosisVotes)))
        facts.append(Fact("norm votes (the child's larger)", votes(evidence.normVotes)))
        if let rank = evidence.largestRank {
            facts.append(Fact("rank of the difference", "\(rank) at most per tensor, \(Int(e.distance.rounded(.down))) summed over the tensors"))
        }
        return facts
    }
}

extension Drawing.EdgeType {
    /// The drawing's style for a relation of the graph.
    init(_ type: EdgeType) {
        switch type {
        case .finetune: self = .finetune
        case .adapter: self = .adapter
        case .quantized: self = .quantized
        case .merge: self = .merge
        case .layerSubset: self = .layerSubset
        }
    }
}
