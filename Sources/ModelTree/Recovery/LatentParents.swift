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
/// A sibling whose update is much smaller than the others' is where the angles fail: siblings
/// of squared updates a, b, c meet at x at cos = b / √((a + b)(b + c)), 0.25 for b a third of
/// a = c, and a true parent whose children's updates correlate by ρ makes cos ρ (0.245 measured on
/// examples/zoo2): the two triangles are the same up to scale (star branches ¼, ¾, ¾), so no
/// function of the three distances tells a small sibling from a parent. The weights' rows do
/// (`UntouchedRows.offPath`): every model on the path between u and v holds the embedding rows
/// neither u's nor v's training touched as a multiple of theirs, so rows that u and v hold scaled
/// and x holds trained put x off that path — not their parent. When the widest corner of a
/// triangle is not acute but the next one is, and at least `minimumOffPathRows` rows put the
/// widest corner's model off the path between the other two, the next corner decides. Measured
/// (`tools/make_latent_families.py`, `tools/measure_latent.py --families`; real fine-tunes of two
/// withheld bases, vocabularies of 384 and 320): such rows number 1–10 at a small sibling (the
/// tiny vocabularies' texts share most tokens; a real LM's 32k–256k rows leave far more) and
/// none at a true parent over 236 triangles (every given base there, and the example zoos' and
/// typed zoo 1's parents), as the argument says. The latent node is found with all its children
/// in 50 of those 50 families of three or four siblings, the smallest's squared update 1 to 4.4
/// times smaller than the others' (26 of 50 from the angles alone: 1 of 8 at 2×, 1 of 8 at 3×),
/// and nothing is latent in the 50 with the base given. Only the triangles the angles leave open
/// read rows: the sampled rows of their models' lookup tables, each model's decoded once while
/// they fit in `UntouchedRows.Tester.keptBytes`.
///
/// The latent node becomes the root of its family, the parent of its children; the models the
/// tree had above them hang below them instead (the edges on the way to the old root reversed).
/// The geometry cannot tell whether a model joined to the latent node is its parent or its child
/// (an unrooted tree), and kurtosis cannot tell directions apart in LMs (issue 12); hubs miss
/// bases far more often than they hold a base's base, so the latent node is taken for the base.
/// A model the triangles of two latent nodes share is the child of the one it is seen in most
/// acutely and the parent of the other (a base and an intermediate both missing).
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
    /// 40 synthetic triangles at 1.5×, 23 of 40 at 2×, 13 of 40 at 3×: from angles alone a much
    /// smaller sibling is taken for the parent, which it nearly is; the untouched rows take over
    /// there, see the type).
    static let acuteCosine = 0.37

    /// Rows (`UntouchedRows.offPath`) that show a triangle's widest corner off the path between
    /// the other two, at least: then the next corner decides (see the type). One suffices: a
    /// model on the path holds every such row scaled, and rounding keeps a scaled row within the
    /// tolerance while a trained one lies 30–190 tolerances away (`UntouchedRows.touchedMargin`).
    /// Measured: 1–10 rows at small siblings (a single one, 37 tolerances off, at three siblings
    /// whose texts share almost every token), none at any true parent.
    static let minimumOffPathRows = 1

    /// The true-parent angle's cosine as measured above (mean, standard deviation): the
    /// confidence of a latent edge is the probability that a true parent's angle is narrower than
    /// the widest one its child was seen in (a one-sided normal tail).
    static let parentCosine = (mean: 0.04, deviation: 0.075)

    /// `graph` (one architecture group, no latent nodes yet) with its latent parents inferred
    /// from `rms`, the models' RMS distances (`RelationEvidence.PairBlock.rms`, local indices).
    static func inferred(_ graph: ModelGraph, rms: SquareMatrix<Double>, rows: UntouchedRows.Tester? = nil) throws -> ModelGraph {
        let n = graph.count
        guard rms.count == n, n >= 3 else { return graph }
        let found = try latentSets(graph, rms: rms, rows: rows)
        guard !found.isEmpty else { return graph }
        return try withLatentNodes(graph, found, rms: rms)
    }

    /// A latent node to be: its children (models), and the widest-angle cosine of each child's
    /// acute triangles (the smallest over the triangles it is in).
    struct Found: Equatable {
        var children: [Int]
        var widest: [Int: Double]
        var triangles: Int
        /// Triangles whose widest corner the untouched rows showed off its path (`offPathRows`).
        var offPath = 0
        /// A model the node's triangles hold that is another latent node's child: the model
        /// between two missing parents, this node's parent.
        var parent: Int? = nil
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
    static func latentSets(_ graph: ModelGraph, rms: SquareMatrix<Double>, rows: UntouchedRows.Tester? = nil) throws -> [Found] {
        let n = graph.count
        let core = core(graph)
        var neighbours = [[Int]](repeating: [], count: n)
        for e in graph.relations where e.type == .finetune && core[e.parent] && core[e.child] {
            neighbours[e.parent].append(e.child)
            neighbours[e.child].append(e.parent)
        }
        var triangles: [(models: Set<Int>, widest: Double, offPath: Bool)] = []
        for x in 0..<n where core[x] {
            let around = neighbours[x].sorted()
            for (i, u) in around.enumerated() {
                for v in around[(i + 1)...] {
                    guard let cx = cosine(at: x, u, v, rms), let cu = cosine(at: u, x, v, rms),
                          let cv = cosine(at: v, x, u, rms) else { continue }
                    // The corners by angle, widest first: the one the geometry takes for the meeting point.
                    let corners = [(x, cx), (u, cu), (v, cv)].sorted { ($0.1, $0.0) < ($1.1, $1.0) }
                    var widest = corners[0].1, offPath = false
                    if widest <= acuteCosine, corners[1].1 > acuteCosine, let rows,
                       try rows.offPathRows(corners[0].0, between: corners[1].0, corners[2].0) >= minimumOffPathRows {
                        // A sibling with a smaller update than the others: off their path, so the
                        // meeting point is none of the three when the next corner is acute too.
                        widest = corners[1].1
                        offPath = true
                    }
                    if widest > acuteCosine { triangles.append(([x, u, v], widest, offPath)) }
                }
            }
        }
        // Triangles sharing two models share their meeting point: one latent node.
        var sets: [Found] = []
        var members: [Set<Int>] = []
        for t in triangles {
            let joined = members.indices.filter { members[$0].intersection(t.models).count >= 2 }
            var merged = Found(children: [], widest: [:], triangles: 1, offPath: t.offPath ? 1 : 0)
            var models = t.models
            for m in t.models { merged.widest[m] = t.widest }
            for k in joined {
                models.formUnion(members[k])
                merged.triangles += sets[k].triangles
                merged.offPath += sets[k].offPath
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
                    sets[a].offPath += sets[b].offPath
                    sets[a].widest.merge(sets[b].widest) { Swift.min($0, $1) }
                    sets.remove(at: b)
                    changed = true
                    break outer
                }
            }
        }
        // A model is a child of one latent node: one it shares with two (a model between two
        // missing parents) stays with the node it is seen in most acutely, and is the other's parent.
        var owner: [Int: Int] = [:]
        for (k, s) in sets.enumerated() {
            for m in s.children {
                if let other = owner[m], sets[other].widest[m]! >= s.widest[m]! { continue }
                owner[m] = k
            }
        }
        return sets.enumerated().compactMap { k, s in
            var s = s
            s.parent = s.children.filter { owner[$0] != k }.min { (s.widest[$0]!, $0) > (s.widest[$1]!, $1) }
            s.children = s.children.filter { owner[$0] == k }
            s.widest = s.widest.filter { owner[$0.key] == k }
            return s.children.count >= 3 || (s.children.count == 2 && s.parent != nil) ? s : nil
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

    /// The graph with a latent node per `found` set (see the type): the edges among its children
    /// give way to edges from it, and each family is oriented again from its root — a latent node
    /// without a parent of its own (taken for the base), else the tree's root — so the models the
    /// tree had above a latent node's children hang below them (those edges reversed).
    static func withLatentNodes(_ graph: ModelGraph, _ found: [Found], rms: SquareMatrix<Double>) throws -> ModelGraph {
        let n = graph.count, total = n + found.count
        var names = LatentNames(taken: graph.ids)
        var models = graph.models
        var trees = graph.trees
        var warnings = graph.warnings
        let ids = graph.ids
        let rmsMetric = graph.metric == .rms
        var latentOf = [Int](repeating: -1, count: n)
        for (k, s) in found.enumerated() { for c in s.children { latentOf[c] = n + k } }
        // Edges into a latent node's children from within its group (or from its parent) go.
        var links = graph.edges.filter { e in
            let l = latentOf[e.child]
            guard l >= 0 else { return true }
            let s = found[l - n]
            return !(s.children.contains(e.parent) || s.parent == e.parent)
        }
        var rootOf: [Int: Int] = [:]           // tree → the latent node to orient it from
        for (k, s) in found.enumerated() {
            let latent = n + k
            // The children and the parent, as one star (the parent is one more of its branches).
            let star = s.children + (s.parent.map { [$0] } ?? [])
            let branch = starBranches(star, rms)
            let widestOverall = s.widest.values.min()!
            models.append(ModelGraph.Node(id: names.next(), path: nil, kurtosis: .nan, latent: true,
                                          latentEvidence: .init(widestAngleCosine: widestOverall, threshold: acuteCosine,
                                                                triangles: s.triangles)))
            for (c, b) in zip(star, branch) {
                let confidence = confidence(widest: s.widest[c] ?? widestOverall)
                let edge = ModelGraph.Edge(parent: latent, child: c, type: .finetune, distance: rmsMetric ? b.squareRoot() : .nan,
                                           confidence: confidence, unsure: false)
                if c == s.parent {
                    var up = edge
                    (up.parent, up.child) = (c, latent)
                    links.append(up)
                } else {
                    links.append(edge)
                }
            }
            let t = graph.tree(of: s.children[0])
            trees[t].members.append(latent)
            if s.parent == nil && rootOf[t] == nil { rootOf[t] = latent }
            let names = s.children.map { "'\(ids[$0])'" }
            warnings.append("models \(names.dropLast().joined(separator: ", ")) and \(names.last!) are siblings of a parent that is not in the collection "
                + "(a latent node\(s.parent.map { ", itself a child of '\(ids[$0])'" } ?? ", taken for their family's base")): "
                + "their weights meet at a point none of them is "
                + "(\(s.triangles) acute triangle\(s.triangles == 1 ? "" : "s"), the widest angle's cosine \(Formatting.fixed(widestOverall, 2)) "
                + "against \(Formatting.fixed(acuteCosine, 2)) for a parent's right angle"
                + (s.offPath == 0 ? ")" : "; in \(s.offPath) of them the widest corner's model holds embedding rows the other two left untouched "
                   + "trained, so it is not their parent)"))
        }
        // Orient each family from its root over the primary links (a child's first link); the
        // other links (a merge's further parents) keep their direction.
        var adjacent = [[(link: Int, other: Int)]](repeating: [], count: total)
        for (k, e) in links.enumerated() where e.child >= n || e.parent >= n || graph.primaryEdge(into: e.child) == e {
            adjacent[e.parent].append((k, e.child))
            adjacent[e.child].append((k, e.parent))
        }
        var oriented = links
        var visited = [Bool](repeating: false, count: total)
        for (t, latent) in rootOf {
            trees[t].root = latent
        }
        for tree in trees {
            var queue = [tree.root]
            visited[tree.root] = true
            while let node = queue.popLast() {
                for (k, other) in adjacent[node] where !visited[other] {
                    visited[other] = true
                    if links[k].parent != node {
                        oriented[k].parent = node
                        oriented[k].child = other
                        oriented[k].evidence = nil      // what the tree weighed was for the other direction
                    }
                    queue.append(other)
                }
            }
        }
        var result = try ModelGraph(models: models, edges: oriented.enumerated().sorted { ($0.element.child, $0.offset) < ($1.element.child, $1.offset) }.map(\.element),
                                    trees: trees, distanceBlocks: graph.distanceBlocks, tensors: graph.tensors, metric: graph.metric,
                                    warnings: warnings, unsureThreshold: graph.unsureThreshold)
        result.duplicates = graph.duplicates
        result.tensorMatches = graph.tensorMatches
        return result
    }
}
