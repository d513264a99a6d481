/// Types the edges whose child is a lower-precision copy of its parent `quantized`, from the
/// grids of the two sides (`GridEvidence`), and puts such copies where they belong in the tree.
///
/// An edge p → c is `quantized` when nearly every element of c lies within half a step of c's
/// storage grid from p (`minimumShare`) and p is not so explained by its own grid (or its grid is
/// the finer): c is p rounded to c's grid. When it is the other way round, the tree had the
/// direction wrong (a copy is as near its source one way as the other, and kurtosis cannot tell,
/// issue 12): the edge is reversed, the source taking the copy's place. A copy is a leaf: models
/// the tree hung from it (a fine-tune that happened to sit nearer the rounded values) move to
/// its source, from which they were trained — nothing is fine-tuned from a GGUF file.
enum QuantizedTyping {
    /// The share of the differing elements within half a step of a grid that makes the grid
    /// explain the difference. Chosen on the formats zoo and synthetic casts (the held-out typed
    /// zoo only measures it): every export there reaches 0.995 or more (Q4_0, the coarsest,
    /// lowest: ggml's F16 block scales round after the elements); fine-tunes and merges stored in
    /// BF16 from an F32 parent reach at most 0.35 (TIES and DARE merges leave a third of the
    /// elements at the parent's value, rounded to BF16). 0.9 leaves room on the exports' side for
    /// quantizers that do not round to the nearest level (importance-weighted K-quants).
    static let minimumShare = 0.9

    /// Models nearest a copy that the tree did not make its parent, tested as its source.
    static let candidates = 3

    /// A pair is first tested on this many elements of each tensor (one segment of the pass);
    /// only pairs where one grid explains at least `screenShare` of the differences there are
    /// read whole. Fine-tunes stored coarse measure at most 0.35 on the whole, exports 0.995: a
    /// screen at 0.5 keeps a BF16 collection from reading every pair again whole.
    static let screenElements = StreamingPass.segmentSize
    static let screenShare = 0.5

    /// `GridEvidence.gather` behind the screen: the fits of screened-out pairs are the screen's.
    static func screenedFits(_ pairs: [(parent: Int, child: Int)], models: [Model], tensors: [String], threads: Int,
                     kernels: KernelSet) throws -> [GridEvidence.Fit] {
        var fits = try GridEvidence.gather(models: models, pairs: pairs, tensorNames: tensors, prefix: screenElements,
                                           threads: threads, kernels: kernels)
        let whole = fits.indices.filter { fits[$0].childShare >= screenShare || fits[$0].parentShare >= screenShare }
        let more = try GridEvidence.gather(models: models, pairs: whole.map { pairs[$0] }, tensorNames: tensors,
                                           threads: threads, kernels: kernels)
        for (k, fit) in zip(whole, more) { fits[k] = fit }
        return fits
    }

    /// The edges and trees of one architecture group with quantized copies typed and placed.
    ///
    /// The tree's edges where one side is stored coarser than F32 are tested first. A model
    /// stored coarse whose edge is not explained so may hang from the wrong model: by distance
    /// alone a light fine-tune of its source can be nearer than the source (issue 12), so the
    /// `candidates` models nearest it in its tree (not its descendants) are tested as its
    /// source too, and the one whose rounding explains it best becomes its parent, the tree's
    /// choice then its runner-up.
    /// - Parameter standIn: each model's duplicate group's stand-in (itself when it has no copy).
    /// Only pairs close enough for one to be the other rounded are read
    /// (`RelationEvidence.withinRounding`): a BF16 collection's fine-tunes, 25 times farther
    /// apart than BF16 rounding moves weights, are not read again.
    /// - Parameters:
    ///   - standIn: each model's duplicate group's stand-in (itself when it has no copy).
    ///   - rms: RMS distances; `storage`: each model's rounding and RMS weight (`RelationEvidence.storage`).
    static func type(edges: [ModelGraph.Edge], trees: [ModelGraph.Tree], models: [Model], tensors: [String],
                     distance: SquareMatrix<Double>, rms: SquareMatrix<Double>, storage: [(rounding: Double, weightRMS: Double)],
                     standIn: [Int], threads: Int, kernels: KernelSet) throws -> (edges: [ModelGraph.Edge], trees: [ModelGraph.Tree]) {
        let n = models.count
        let isPlaceholder = { (e: ModelGraph.Edge) in standIn[e.parent] == standIn[e.child] }
        let coarse = models.map { storedCoarse($0, tensors: tensors) }
        func closeEnough(_ a: Int, _ b: Int) -> Bool { RelationEvidence.withinRounding(storage[a], storage[b], rms: rms[a, b]) }
        let tested = edges.indices.filter { k in
            let e = edges[k]
            return !isPlaceholder(e) && (coarse[e.parent] || coarse[e.child]) && closeEnough(e.parent, e.child)
        }
        var edges = edges
        var verdicts = [Verdict](repeating: .none, count: edges.count)
        let fits = try screenedFits(tested.map { (edges[$0].parent, edges[$0].child) }, models: models, tensors: tensors,
                            threads: threads, kernels: kernels)
        for (k, fit) in zip(tested, fits) { verdicts[k] = verdict(fit) }
        let candidateEdges = edges.indices.filter { k in
            !isPlaceholder(edges[k]) && coarse[edges[k].child] && verdicts[k] == .none
        }

        // Other sources for the coarse children the tree's edge does not explain.
        var treeOf = [Int](repeating: -1, count: n)
        for (t, tree) in trees.enumerated() { for m in tree.members { treeOf[m] = t } }
        var parentOf = [Int](repeating: -1, count: n)
        for e in edges { parentOf[e.child] = e.parent }
        func descends(_ m: Int, from c: Int) -> Bool {
            var node = m
            while node >= 0 { if node == c { return true }; node = parentOf[node] }
            return false
        }
        var asked: [(edge: Int, source: Int)] = []
        for k in candidateEdges {
            let c = edges[k].child
            let nearest = (0..<n).filter { m in
                m != edges[k].parent && standIn[m] == m && treeOf[m] == treeOf[c] && closeEnough(m, c) && !descends(m, from: c)
            }.sorted { (distance[$0, c], $0) < (distance[$1, c], $1) }
            asked += nearest.prefix(candidates).map { (k, $0) }
        }
        if !asked.isEmpty {
            let fits = try screenedFits(asked.map { ($0.source, edges[$0.edge].child) }, models: models, tensors: tensors,
                                threads: threads, kernels: kernels)
            var best: [Int: (source: Int, share: Double)] = [:]
            for (ask, fit) in zip(asked, fits) where verdict(fit) == .childQuantized {
                if let b = best[ask.edge], b.share >= fit.childShare { continue }
                best[ask.edge] = (ask.source, fit.childShare)
            }
            // In edge order, each move checked against the moves before it (no cycle).
            for (k, b) in best.sorted(by: { $0.key < $1.key }) where !descends(b.source, from: edges[k].child) {
                let c = edges[k].child, old = edges[k].parent
                parentOf[c] = b.source
                edges[k].parent = b.source
                edges[k].distance = distance[b.source, c]
                edges[k].evidence?.runnerUp = ModelGraph.EdgeEvidence.Alternative(parent: old, distance: distance[old, c])
                verdicts[k] = .childQuantized
            }
        }
        let typed = apply(verdicts, to: edges, distance: distance, count: n, isPlaceholder: isPlaceholder)
        return (typed.edges, trees.map { var t = $0; t.root = typed.newRoot[t.root] ?? t.root; return t })
    }

    /// `graph` (one architecture group, recovered from the weights of `models`) with its
    /// quantized copies typed and placed; unchanged when the evidence holds no storage figures
    /// or more than one measured block (every pair of the exact pass is one block).
    static func typed(_ graph: ModelGraph, models: [Model], evidence: RelationEvidence, threads: Int,
                      kernels: KernelSet) throws -> ModelGraph {
        guard let storage = evidence.storage, evidence.blocks.count == 1, evidence.blocks[0].members == Array(models.indices) else {
            return graph
        }
        let standIn = Duplicates.standIns(groups: graph.duplicates, count: models.count)
        let (edges, trees) = try type(edges: graph.edges, trees: graph.trees, models: models, tensors: graph.tensors,
                                      distance: graph.distances, rms: evidence.blocks[0].rms, storage: storage,
                                      standIn: standIn, threads: threads, kernels: kernels)
        var typed = try ModelGraph(models: graph.models, edges: edges, trees: trees, distanceBlocks: graph.distanceBlocks,
                                   tensors: graph.tensors, metric: graph.metric, warnings: graph.warnings,
                                   unsureThreshold: graph.unsureThreshold)
        typed.duplicates = graph.duplicates
        typed.tensorMatches = graph.tensorMatches
        return typed
    }

    /// The verdict for one edge.
    enum Verdict: Equatable {
        /// Neither side is a rounding of the other.
        case none
        /// The child is the parent rounded to the child's grid.
        case childQuantized
        /// The parent is the child rounded to the parent's grid: the edge is reversed.
        case parentQuantized
    }

    static func verdict(_ fit: GridEvidence.Fit) -> Verdict {
        let child = fit.childShare >= minimumShare, parent = fit.parentShare >= minimumShare
        switch (child, parent) {
        case (true, false): return .childQuantized
        case (false, true): return .parentQuantized
        case (true, true): return fit.childSteps >= fit.parentSteps ? .childQuantized : .parentQuantized
        case (false, false): return .none
        }
    }

    /// Whether some compared tensor of `model` is stored coarser than F32 (only then can it be a
    /// rounding of another model: an F32 tensor's grid is finer than any difference the pass
    /// can tell from a fine-tune's).
    static func storedCoarse(_ model: Model, tensors: [String]) -> Bool {
        tensors.contains { model.tensor(named: $0).map { $0.unitRoundoff > DType.f32.unitRoundoff } ?? false }
    }

    /// `edges` (grouped by child, one per child) with the verdicts applied, and the roots that
    /// changed (old → new). `verdicts` is indexed like `edges`; `distance` gives a moved edge its
    /// distance.
    /// `isPlaceholder` tells the edges that hang a copy from its duplicate group's stand-in.
    static func apply(_ verdicts: [Verdict], to edges: [ModelGraph.Edge], distance: SquareMatrix<Double>, count n: Int,
                      isPlaceholder: (ModelGraph.Edge) -> Bool) -> (edges: [ModelGraph.Edge], newRoot: [Int: Int]) {
        var incoming = [ModelGraph.Edge?](repeating: nil, count: n)
        for e in edges { incoming[e.child] = e }
        var newRoot: [Int: Int] = [:]
        // Moves an edge onto new ends; the runner-up is dropped when it became one of them.
        func moved(_ e: ModelGraph.Edge, parent: Int, child: Int) -> ModelGraph.Edge {
            var e = e
            e.parent = parent
            e.child = child
            e.distance = distance[parent, child]
            if let other = e.evidence?.runnerUp?.parent, other == parent || other == child { e.evidence?.runnerUp = nil }
            return e
        }
        for (e, verdict) in zip(edges, verdicts) {
            switch verdict {
            case .none: continue
            case .childQuantized:
                incoming[e.child]?.type = .quantized
            case .parentQuantized:
                // The source c takes the copy p's place; p hangs from c.
                let (p, c) = (e.parent, e.child)
                if let above = incoming[p] {
                    incoming[c] = moved(above, parent: above.parent, child: c)
                } else {
                    incoming[c] = nil
                    newRoot[p] = c
                }
                var reversed = moved(e, parent: c, child: p)
                reversed.type = .quantized
                incoming[p] = reversed
            }
        }
        // A copy is a leaf: what hangs from it by another relation (not its own identical copies)
        // moves to its source, the first ancestor that is not itself a copy.
        for x in 0..<n {
            guard let e = incoming[x], e.type != .quantized, !isPlaceholder(e) else { continue }
            var source = e.parent
            while let up = incoming[source], up.type == .quantized { source = up.parent }
            if source != e.parent { incoming[x] = moved(e, parent: source, child: x) }
        }
        return (incoming.compactMap { $0 }, newRoot)
    }
}
