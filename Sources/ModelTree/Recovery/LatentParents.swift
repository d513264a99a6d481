import Glibc

/// Latent parents: siblings whose common parent is not in the collection, reported as a latent
/// node instead of one sibling promoted to their parent (issue 12, "Missing parents").
///
/// Geometry: independent fine-tune updates are nearly orthogonal, so squared distances add along
/// the tree, d²(a, b) ≈ Σ of the squared branches on the path. Three models x, u, v make a
/// triangle whose angle at x is 90° when x lies on the path from u to v (x is u's parent and
/// v's, or a model between them), and acute at every corner when their paths meet at a point
/// none of them is: a latent node, at squared distance (d²xu + d²xv − d²uv) / 2 from x (the
/// additive tree of the three squared distances). Siblings of a missing parent with updates of
/// one size make an equilateral triangle (cosine ½ at every corner) whatever the correlation of
/// their updates; a true parent's angle has the cosine of its children's updates, near 0.
///
/// The test runs over the tree the solver made, on the models that stand for themselves (not a
/// duplicate's copies, not quantized copies, merges or adapters: those are not siblings): for
/// each model x and each pair u, v of its tree neighbours (parent and children), the triangle is
/// *acute* when the cosine of its widest angle exceeds `acuteCosine`. Acute triangles that share
/// two models describe one latent node; its children are their models. A latent node needs three
/// children — or two and a parent: a parent with a single child can never be told from a latent
/// node (two points make no angle), so no latent node is made for a pair.
///
/// The latent node becomes the root of its family, the parent of its children; the models the
/// tree had above them hang below them instead (the edges on the way to the old root reversed).
/// The geometry cannot tell whether a model joined to the latent node is its parent or its child
/// (an unrooted tree), and kurtosis cannot tell directions apart in LMs (issue 12); hubs miss
/// bases far more often than they hold a base's base, so the latent node is taken for the base.
enum LatentParents {
    /// A triangle of tree neighbours is acute when the cosine of its widest angle exceeds this.
    ///
    /// Measured (`tools/measure_latent.py`, ± a bootstrap over the compared tensors): at the 33
    /// true parents of examples/zoo, examples/zoo2, examples/formats_zoo and typed zoo 1 (full
    /// fine-tunes, merged LoRA, AdamW with weight decay; a parent and a pair of its neighbours),
    /// the cosine of the angle at the parent is 0.04 ± 0.075 (mean ± sd), at most 0.245 ± 0.03
    /// (two fine-tunes of examples/zoo2's net-q on similar tasks: correlated updates); synthetic
    /// orthogonal updates give 0.00 ± 0.02. The siblings of typed zoo 1's withheld base make
    /// 0.486 ± 0.004; synthetic siblings whose update sizes differ by up to 1.2×, 1.5×, 2×, 3×
    /// make 0.47, 0.43, 0.38, 0.32 on average. The threshold is halfway between the largest
    /// true-parent cosine and the smallest measured latent one, (0.245 + 0.486) / 2: no true
    /// parent's triangle of the 73 (33 real, 40 synthetic) counts as acute, and a latent node is
    /// found when its smallest child's squared update is at least about half the others' (38 of
    /// 40 synthetic triangles at 1.5×, 23 of 40 at 2×: a much smaller sibling is taken for the
    /// parent, which it nearly is).
    static let acuteCosine = 0.37

    /// The true-parent angle's cosine as measured above (mean, standard deviation): the
    /// confidence of a latent edge is the probability that a true parent's angle is narrower than
    /// the widest one its child was seen in (a one-sided normal tail).
    static let parentCosine = (mean: 0.04, deviation: 0.075)

    /// `graph` (one architecture group, no latent nodes yet) with its latent parents inferred
    /// from `rms`, the models' RMS distances (`RelationEvidence.PairBlock.rms`, local indices).
    static func inferred(_ graph: ModelGraph, rms: SquareMatrix<Double>) throws -> ModelGraph {
        let n = graph.count
        guard rms.count == n, n >= 3 else { return graph }
        let found = latentSets(graph, rms: rms)
        guard !found.isEmpty else { return graph }
        return try withLatentNodes(graph, found, rms: rms)
    }

    /// A latent node to be: its children (models), and the widest-angle cosine of each child's
    /// acute triangles (the smallest over the triangles it is in).
    struct Found: Equatable {
        var children: [Int]
        var widest: [Int: Double]
        var triangles: Int
    }

    /// The models that can be siblings: not a duplicate's copy, not the child of a typed
    /// relation other than a fine-tune (quantized copies, merges, adapters, layer subsets).
    static func core(_ graph: ModelGraph) -> [Bool] {
        var core = [Bool](repeating: true, count: graph.count)
        for group in graph.duplicates { for m in group.dropFirst() { core[m] = false } }
        for e in graph.edges where e.type != .finetune { core[e.child] = false }
        return core
    }

    /// The cosine of the angle at x of the triangle x, u, v (from squared distances); nil when
    /// two of them coincide.
    static func cosine(at x: Int, _ u: Int, _ v: Int, _ d: SquareMatrix<Double>) -> Double? {
        let a = d[x, u], b = d[x, v], c = d[u, v]
        guard a > 0, b > 0, a.isFinite, b.isFinite, c.isFinite else { return nil }
        return (a * a + b * b - c * c) / (2 * a * b)
    }

    /// The acute triangles of tree neighbours, merged into latent nodes (see the type).
    static func latentSets(_ graph: ModelGraph, rms: SquareMatrix<Double>) -> [Found] {
        let n = graph.count
        let core = core(graph)
        var neighbours = [[Int]](repeating: [], count: n)
        for e in graph.relations where e.type == .finetune && core[e.parent] && core[e.child] {
            neighbours[e.parent].append(e.child)
            neighbours[e.child].append(e.parent)
        }
        var triangles: [(models: Set<Int>, widest: Double)] = []
        for x in 0..<n where core[x] {
            let around = neighbours[x].sorted()
            for (i, u) in around.enumerated() {
                for v in around[(i + 1)...] {
                    guard let cx = cosine(at: x, u, v, rms), let cu = cosine(at: u, x, v, rms),
                          let cv = cosine(at: v, x, u, rms) else { continue }
                    let widest = Swift.min(cx, cu, cv)
                    if widest > acuteCosine { triangles.append(([x, u, v], widest)) }
                }
            }
        }
        // Triangles sharing two models share their meeting point: one latent node.
        var sets: [Found] = []
        var members: [Set<Int>] = []
        for t in triangles {
            let joined = members.indices.filter { members[$0].intersection(t.models).count >= 2 }
            var merged = Found(children: [], widest: [:], triangles: 1)
            var models = t.models
            for m in t.models { merged.widest[m] = t.widest }
            for k in joined {
                models.formUnion(members[k])
                merged.triangles += sets[k].triangles
                merged.widest.merge(sets[k].widest) { Swift.min($0, $1) }
            }
            for k in joined.reversed() { members.remove(at: k); sets.remove(at: k) }
            merged.children = models.sorted()
            members.append(models)
            sets.append(merged)
        }
        // Sets joined later may now share two models with each other: merge until none do.
        var changed = true
        while changed {
            changed = false
            outer: for a in sets.indices {
                for b in sets.indices where b > a && Set(sets[a].children).intersection(sets[b].children).count >= 2 {
                    sets[a].children = Array(Set(sets[a].children).union(sets[b].children)).sorted()
                    sets[a].triangles += sets[b].triangles
                    sets[a].widest.merge(sets[b].widest) { Swift.min($0, $1) }
                    sets.remove(at: b)
                    changed = true
                    break outer
                }
            }
        }
        // A model is a child of one latent node: one it shares with two (a model between two
        // missing parents) stays with the node it is seen in most acutely.
        var owner: [Int: Int] = [:]
        for (k, s) in sets.enumerated() {
            for m in s.children {
                if let other = owner[m], sets[other].widest[m]! >= s.widest[m]! { continue }
                owner[m] = k
            }
        }
        return sets.enumerated().compactMap { k, s in
            var s = s
            s.children = s.children.filter { owner[$0] == k }
            s.widest = s.widest.filter { owner[$0.key] == k }
            return s.children.count >= 3 ? s : nil
        }.sorted { $0.children[0] < $1.children[0] }
    }

    /// Squared branch lengths of the star that best fits (least squares) the squared distances
    /// between `models`: d²(i, j) ≈ b_i + b_j, so b_i = (r_i − R / (k − 1)) / (k − 2) with r_i the
    /// sum of i's squared distances to the others and R the sum over the pairs; clamped at 0.
    static func starBranches(_ models: [Int], _ d: SquareMatrix<Double>) -> [Double] {
        let k = models.count
        precondition(k >= 3)
        var r = [Double](repeating: 0, count: k)
        var total = 0.0
        for i in 0..<k {
            for j in 0..<k where j != i {
                let s = d[models[i], models[j]] * d[models[i], models[j]]
                r[i] += s
                if j > i { total += s }
            }
        }
        return r.map { Swift.max(0, ($0 - total / Double(k - 1)) / Double(k - 2)) }
    }

    /// One-sided normal tail: the probability that a true parent's angle cosine is below `c`.
    static func confidence(widest c: Double) -> Double {
        let z = (c - parentCosine.mean) / parentCosine.deviation
        return Swift.min(1, Swift.max(0, 0.5 * erfc(-z / 2.0.squareRoot())))
    }

    /// The graph with a latent node per `found` set, the root of its family (see the type): its
    /// children's edges come from it, and the models the tree had above them hang from them
    /// instead (the edges on the way to the old root reversed).
    static func withLatentNodes(_ graph: ModelGraph, _ found: [Found], rms: SquareMatrix<Double>) throws -> ModelGraph {
        let n = graph.count
        var names = LatentNames(taken: graph.ids)
        var models = graph.models
        var edges = graph.edges
        var trees = graph.trees
        var warnings = graph.warnings
        let ids = graph.ids
        let rmsMetric = graph.metric == .rms
        for (k, s) in found.enumerated() {
            let latent = n + k
            var parentOf = [Int](repeating: -1, count: n + found.count)
            for e in edges where parentOf[e.child] < 0 { parentOf[e.child] = e.parent }
            func path(_ m: Int) -> [Int] {
                var out = [m]
                while parentOf[out.last!] >= 0 { out.append(parentOf[out.last!]) }
                return out
            }
            let top = s.children.min { (path($0).count, $0) < (path($1).count, $1) }!
            let above = Array(path(top).dropFirst())       // up to the old root
            let branch = starBranches(s.children, rms)
            let widestOverall = s.widest.values.min()!
            models.append(ModelGraph.Node(id: names.next(), path: nil, kurtosis: .nan, latent: true,
                                          latentEvidence: .init(widestAngleCosine: widestOverall, threshold: acuteCosine,
                                                                triangles: s.triangles)))
            // The edges on the way from the top child to the old root, reversed.
            var reversed: [ModelGraph.Edge] = []
            for (lower, upper) in zip([top] + above, above) {
                guard var e = edges.first(where: { $0.child == lower && $0.parent == upper }) else { continue }
                (e.parent, e.child) = (lower, upper)
                e.evidence = nil          // what the tree weighed was for the other direction
                reversed.append(e)
            }
            let pathEdges = Set(zip([top] + above, above).map { [$0.0, $0.1] })
            edges.removeAll { s.children.contains($0.child) || pathEdges.contains([$0.child, $0.parent]) }
            edges += reversed
            for (c, b) in zip(s.children, branch) {
                let confidence = confidence(widest: s.widest[c]!)
                edges.append(ModelGraph.Edge(parent: latent, child: c, type: .finetune, distance: rmsMetric ? b.squareRoot() : .nan,
                                             confidence: confidence, unsure: !(confidence >= graph.unsureThreshold)))
            }
            let t = graph.tree(of: top)
            trees[t].members.append(latent)
            trees[t].root = latent
            let names = s.children.map { "'\(ids[$0])'" }
            let turned = above.isEmpty ? "" : "; the models the tree had above them (\(above.map { "'\(ids[$0])'" }.joined(separator: ", "))) "
                + "now hang below them: the weights cannot tell a latent node's parent from its child, and bases are what hubs miss"
            warnings.append("models \(names.dropLast().joined(separator: ", ")) and \(names.last!) are siblings of a parent that is not in the collection "
                + "(a latent node, the root of their family): their weights meet at a point none of them is "
                + "(\(s.triangles) acute triangle\(s.triangles == 1 ? "" : "s"), the widest angle's cosine \(Formatting.fixed(widestOverall, 2)) "
                + "against \(Formatting.fixed(acuteCosine, 2)) for a parent's right angle)" + turned)
        }
        var result = try ModelGraph(models: models, edges: edges.enumerated().sorted { ($0.element.child, $0.offset) < ($1.element.child, $1.offset) }.map(\.element),
                                    trees: trees, distanceBlocks: graph.distanceBlocks, tensors: graph.tensors, metric: graph.metric,
                                    warnings: warnings, unsureThreshold: graph.unsureThreshold)
        result.duplicates = graph.duplicates
        result.tensorMatches = graph.tensorMatches
        return result
    }
}
