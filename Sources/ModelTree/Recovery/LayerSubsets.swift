/// Layer subsets: a smaller model initialised from some of a larger one's layers (DistilBERT
/// keeps teacher layers 0, 2, 4, 7, 9, 11), then trained, has other tensor names and counts than
/// its teacher, so it is recovered in an architecture group of its own (`TensorSelection`
/// keeps models with another number of layers apart). This step matches its layers by content
/// across the groups and reports the relation with its layer map (issue 12).
///
/// A model is a candidate child when it is the root of its tree and its layers have the same
/// tensors (name suffixes and shapes) as another group's models, which have more layers. Each of
/// its layers is compared with each layer of a candidate parent: the mean Pearson correlation of
/// the same-named 2-D tensors. A copied layer stays correlated with its source after training
/// (as a fine-tune stays correlated with its base), while layers initialised independently are
/// not (correlation ≈ 0). Each child layer takes the parent layer it correlates with most (no
/// order is imposed: the map is reported as found), and the candidate is a source when every
/// child layer's best correlation exceeds `relatednessThreshold` — the rule that makes two
/// models related at all (`recover`) — and the layers it takes are distinct. Among the sources
/// (a whole family: the teacher, its fine-tunes, its exports), the parent is the one nearest
/// over the matched layers and the shared tensors outside the layers (embeddings, head): mean
/// RMS of the differences; quantized copies, duplicates' copies, merges and adapters are not
/// candidates (the layers were copied from a model, not from its export).
enum LayerSubsets {
    /// A tensor name around its layer index: `model.layers.3.mlp.up_proj.weight` is
    /// (`model.layers.`, 3, `mlp.up_proj.weight`). The layer is the first dot-separated
    /// component made of digits only.
    struct LayeredName: Hashable {
        var prefix: String
        var layer: Int
        var suffix: String
    }

    static func split(_ name: String) -> LayeredName? {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard let k = parts.firstIndex(where: { !$0.isEmpty && $0.count <= 6 && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let layer = Int(parts[k]) else { return nil }
        let prefix = parts[..<k].map { $0 + "." }.joined()
        return LayeredName(prefix: prefix, layer: layer, suffix: parts[(k + 1)...].joined(separator: "."))
    }

    /// The number of layers of the largest stack among `names` (the prefix with the most
    /// distinct layer indices): models with different counts are of different sizes, never one
    /// architecture group (`TensorSelection`). Only the largest stack counts, so that a head
    /// written as a small `Sequential` (`classifier.0`, `classifier.1`) does not split a
    /// fine-tune from its parent.
    static func layerCount(_ names: some Sequence<String>) -> Int {
        var layers: [String: Set<Int>] = [:]
        for name in names { if let n = split(name) { layers[n.prefix, default: []].insert(n.layer) } }
        return layers.values.map(\.count).max() ?? 0
    }

    /// A model's stack of layers: one prefix, each layer with the same 2-D tensors (suffix →
    /// shape); nil when its layers differ from one another or it has none.
    struct Stack: Equatable {
        var prefix: String
        var layers: [Int]
        var tensors: [String: [Int]]
        /// The 2-D tensors outside the layers (embeddings, head), name → shape.
        var outside: [String: [Int]]
    }

    static func stack(_ model: Model) -> Stack? {
        var prefix: String?
        var perLayer: [Int: [String: [Int]]] = [:]
        var outside: [String: [Int]] = [:]
        for t in model.tensors where t.isWeight && t.shape.count == 2 && t.count > 0 {
            guard let name = split(t.name) else { outside[t.name] = t.shape; continue }
            if prefix == nil { prefix = name.prefix }
            guard prefix == name.prefix else { return nil }
            perLayer[name.layer, default: [:]][name.suffix] = t.shape
        }
        guard let prefix, let first = perLayer.values.first, !first.isEmpty, perLayer.values.allSatisfy({ $0 == first }) else { return nil }
        return Stack(prefix: prefix, layers: perLayer.keys.sorted(), tensors: first, outside: outside)
    }

    /// What a candidate parent's layers say about a child's.
    struct Match {
        var parent: Int
        /// Child layer → parent layer, in the child's layer order.
        var layers: [ModelGraph.LayerPair]
        /// Per child layer, its correlation with the parent layer matched.
        var matched: [Double]
        /// The largest correlation of a child layer with a parent layer it was not matched to.
        var unrelated: Double
        /// Mean RMS difference over the matched layers' tensors and the shared tensors outside.
        var distance: Double
    }

    /// `graph` (every architecture group side by side) with each layer subset attached to its
    /// parent by a `layerSubset` edge; unchanged for statistics without weights (an index), or
    /// when `options` says not to.
    static func attached(to graph: ModelGraph, source: any EvidenceSource, options: RecoveryOptions) throws -> ModelGraph {
        guard options.infersLatentParentsAndLayerSubsets, let weights = source as? WeightSource else { return graph }
        let models = weights.models
        let stacks = models.map(stack)
        let core = LatentParents.core(graph)
        var added: [(edge: ModelGraph.Edge, note: String)] = []
        for c in models.indices where graph.primaryParent(of: c) == nil {
            guard let child = stacks[c] else { continue }
            let candidates = models.indices.filter { p in
                guard p != c, core[p], graph.tree(of: p) != graph.tree(of: c), let s = stacks[p] else { return false }
                return s.prefix == child.prefix && s.tensors == child.tensors && s.layers.count > child.layers.count
            }
            guard !candidates.isEmpty else { continue }
            var found = try candidates.compactMap { try match(child: c, child, parent: $0, stacks[$0]!, models) }
                .sorted { ($0.distance, $0.parent) < ($1.distance, $1.parent) }
            guard let nearest = found.first else { continue }
            // Sources the distances cannot tell from the nearest (a raw confidence below
            // `tieConfidence` against it): the ancestor of the others in the tree, if one is
            // (`NearIdenticalCandidates`), with the nearest as its runner-up.
            let tied = found.filter { nearest.distance >= $0.distance * (1 - tieConfidence).squareRoot() }
            if let a = NearIdenticalCandidates.ancestor(among: tied.map(\.parent), in: graph), a != nearest.parent,
               let k = found.firstIndex(where: { $0.parent == a }) {
                found.insert(found.remove(at: k), at: 0)
            }
            let best = found[0]
            let runnerUp = found.dropFirst().first
            // As the tree's confidences: a runner-up at √2 times the distance gives ½.
            let confidence = runnerUp.map { r in r.distance > 0 ? Swift.max(0, 1 - (best.distance / r.distance) * (best.distance / r.distance)) : 0 } ?? 1
            let edge = ModelGraph.Edge(parent: best.parent, child: c, type: .layerSubset, distance: best.distance,
                                       confidence: confidence, unsure: false,
                                       evidence: .init(runnerUp: runnerUp.map { .init(parent: $0.parent, distance: $0.distance) },
                                                       kurtosisVotes: nil, normVotes: nil, largestRank: nil),
                                       layers: best.layers)
            let map = best.layers.map { "\($0.child)←\($0.parent)" }.joined(separator: " ")
            added.append((edge, "model '\(models[c].id)' is a layer subset of '\(models[best.parent].id)': its \(child.layers.count) layers "
                + "were initialised from the parent's (\(map)), correlation \(Formatting.fixed(best.matched.min()!, 2)) at least against "
                + "\(Formatting.fixed(best.unrelated, 2)) at most between layers not matched"))
        }
        guard !added.isEmpty else { return graph }
        return try joined(graph, added)
    }

    /// The match of `child`'s layers with `parent`'s, or nil when some child layer has no
    /// related parent layer, or two take the same one.
    static func match(child c: Int, _ child: Stack, parent p: Int, _ parent: Stack, _ models: [Model]) throws -> Match? {
        let suffixes = child.tensors.keys.sorted()
        func values(_ m: Int, _ prefix: String, _ layer: Int, _ suffix: String) throws -> [Float] {
            try models[m].tensor(named: "\(prefix)\(layer).\(suffix)")!.decode()
        }
        let childValues = try child.layers.map { l in try suffixes.map { try values(c, child.prefix, l, $0) } }
        let parentValues = try parent.layers.map { l in try suffixes.map { try values(p, parent.prefix, l, $0) } }
        var pairs: [ModelGraph.LayerPair] = [], matched: [Double] = []
        var unrelated = -Double.infinity
        var distances: [Double] = []
        for (i, cl) in childValues.enumerated() {
            let correlations = parentValues.map { pl in zip(cl, pl).map { correlation($0, $1) }.reduce(0, +) / Double(suffixes.count) }
            let j = correlations.indices.max { (correlations[$0], $1) < (correlations[$1], $0) }!
            guard correlations[j] > relatednessThreshold else { return nil }
            for (k, r) in correlations.enumerated() where k != j { unrelated = Swift.max(unrelated, r) }
            pairs.append(.init(child: child.layers[i], parent: parent.layers[j]))
            matched.append(correlations[j])
            distances += zip(cl, parentValues[j]).map { rms($0, $1) }
        }
        guard Set(pairs.map(\.parent)).count == pairs.count else { return nil }
        for (name, shape) in child.outside.sorted(by: { $0.key < $1.key }) {
            guard let t = models[p].tensor(named: name), t.shape == shape, t.isWeight else { continue }
            distances.append(rms(try models[c].tensor(named: name)!.decode(), try t.decode()))
        }
        return Match(parent: p, layers: pairs, matched: matched, unrelated: unrelated,
                     distance: distances.reduce(0, +) / Double(distances.count))
    }

    /// Pearson correlation of two equally long tensors (0 when one is constant).
    static func correlation(_ a: [Float], _ b: [Float]) -> Double {
        let n = Double(a.count)
        var sa = 0.0, sb = 0.0
        for (x, y) in zip(a, b) { sa += Double(x); sb += Double(y) }
        let ma = sa / n, mb = sb / n
        var ab = 0.0, aa = 0.0, bb = 0.0
        for (x, y) in zip(a, b) {
            let u = Double(x) - ma, v = Double(y) - mb
            ab += u * v; aa += u * u; bb += v * v
        }
        return aa > 0 && bb > 0 ? ab / (aa * bb).squareRoot() : 0
    }

    /// RMS of the difference of two equally long tensors.
    static func rms(_ a: [Float], _ b: [Float]) -> Double {
        var s = 0.0
        for (x, y) in zip(a, b) { let d = Double(x) - Double(y); s += d * d }
        return (s / Double(Swift.max(1, a.count))).squareRoot()
    }

    /// The graph with `added` edges, each child's tree (it was its root) joined to its parent's.
    static func joined(_ graph: ModelGraph, _ added: [(edge: ModelGraph.Edge, note: String)]) throws -> ModelGraph {
        var treeOf = graph.trees.indices.map { $0 }
        func find(_ t: Int) -> Int { var t = t; while treeOf[t] != t { t = treeOf[t] }; return t }
        for (edge, _) in added { treeOf[find(graph.tree(of: edge.child))] = find(graph.tree(of: edge.parent)) }
        var grouped: [Int: [Int]] = [:]
        for (t, tree) in graph.trees.enumerated() { grouped[find(t), default: []] += tree.members }
        // The parent's tree keeps its root and direction; the child's tree joins it below the child.
        let merged = grouped.map { r, members -> ModelGraph.Tree in
            var tree = graph.trees[r]
            tree.members = members.sorted()
            return tree
        }.sorted { $0.members[0] < $1.members[0] }
        let edges = (graph.edges + added.map(\.edge)).enumerated()
            .sorted { ($0.element.child, $0.offset) < ($1.element.child, $1.offset) }.map(\.element)
        return try graph.replacing(edges: edges, trees: merged, warnings: graph.warnings + added.map(\.note))
    }
}
