/// The kind of relation an edge stands for. The raw values are the JSON strings (and the order
/// is that of the C enum `modeltree_edge_type_t`). Duplicates are not edges: they are groups
/// (`ModelGraph.duplicates`).
///
/// The recovery produces `finetune`, `quantized`, `merge` and `layerSubset` (`LayerSubsets`);
/// `adapter` is a relation a truth file may name and the adapter attachment produces.
public enum EdgeType: String, CaseIterable, Sendable {
    /// A full fine-tune, a merged LoRA, continued pre-training.
    case finetune
    /// An un-merged PEFT adapter folder, the child of the base it loads onto.
    case adapter
    /// A lower-precision copy of the parent (GGUF of any type, an int8 export, a BF16/F16 cast).
    case quantized
    /// One of several parents whose combination the child is.
    case merge
    /// A smaller model initialised from some of the parent's layers.
    case layerSubset = "layer-subset"
}

/// The result of a recovery: the models, typed edges between them with a distance and a
/// confidence each, and the trees (families) they form. An immutable value, safe to share.
///
/// Indices refer to `models`. Edges are grouped by child (ascending); a merge has several (one
/// per parent, each with its `coefficient`), and the first is its *primary* edge (the largest
/// coefficient) — the one `primaryParent(of:)`, the per-model C accessors and the trees follow.
public struct ModelGraph: Sendable {
    /// One model of the graph.
    public struct Node: Sendable, Equatable {
        /// The caller's name for the model.
        public var id: String
        /// Where it was read from; nil for a model given in memory.
        public var path: String?
        /// Mean excess (Fisher) kurtosis over the tensors used; NaN for a latent node.
        public var kurtosis: Double
        /// Not a model of the collection: a parent the weights say its children share, which
        /// none of them is (`LatentParents`). Latent nodes come after the models, id `latent-k`,
        /// path nil, and have no distances to anything.
        public var latent: Bool
        /// Why a latent node was inferred; nil for a model.
        public var latentEvidence: LatentEvidence?

        public init(id: String, path: String?, kurtosis: Double, latent: Bool = false, latentEvidence: LatentEvidence? = nil) {
            self.id = id; self.path = path; self.kurtosis = kurtosis; self.latent = latent; self.latentEvidence = latentEvidence
        }
    }

    /// What made a latent node: its children, seen from one another, meet at a point none of
    /// them is. Independent fine-tune updates are nearly orthogonal, so the triangle of a parent
    /// and two of its children has a right angle at the parent; three children of a missing
    /// parent make a triangle acute at every corner (equilateral for updates of one size).
    public struct LatentEvidence: Sendable, Equatable {
        /// The cosine of the widest angle over the triangles of the children that were tested
        /// (0 at a right angle, the parent's; ½ for an equilateral triangle).
        public var widestAngleCosine: Double
        /// The cosine above which a triangle counted as acute (`LatentParents.acuteCosine`).
        public var threshold: Double
        /// How many triangles of the children were acute.
        public var triangles: Int
        public init(widestAngleCosine: Double, threshold: Double, triangles: Int) {
            self.widestAngleCosine = widestAngleCosine; self.threshold = threshold; self.triangles = triangles
        }
    }

    /// A child layer's index and the parent layer it was initialised from (a `layerSubset` edge).
    public struct LayerPair: Sendable, Equatable {
        public var child: Int
        public var parent: Int
        public init(child: Int, parent: Int) { self.child = child; self.parent = parent }
    }

    /// parent → child: the child was derived from the parent.
    public struct Edge: Sendable, Equatable {
        public var parent: Int
        public var child: Int
        public var type: EdgeType
        /// In the graph's metric.
        public var distance: Double
        /// In [0, 1]: the share of the development zoos' edges of its family and raw confidence
        /// that were right (`Calibration`); NaN when it was not computed.
        public var confidence: Double
        /// The confidence as the step that made the edge computed it, before `Calibration`: for a
        /// fine-tune, how much worse the best graph without this edge is (`TreeSolver`).
        public var rawConfidence: Double
        /// Not to be trusted: confidence below `unsureThreshold`, in a tree whose direction
        /// could not be told, or a choice between candidates the weights cannot tell apart.
        public var unsure: Bool
        /// What the recovery weighed in choosing the edge; nil for an edge made without it.
        public var evidence: EdgeEvidence?
        /// A merge's fitted coefficient of this parent (a merge's coefficients sum to 1); nil for
        /// every other type.
        public var coefficient: Double?
        /// A `layerSubset` edge's map: each child layer and the parent layer it came from; nil
        /// for other types.
        public var layers: [LayerPair]?

        public init(parent: Int, child: Int, type: EdgeType, distance: Double, confidence: Double, unsure: Bool,
                    evidence: EdgeEvidence? = nil, coefficient: Double? = nil, layers: [LayerPair]? = nil) {
            self.parent = parent; self.child = child; self.type = type
            self.distance = distance; self.confidence = confidence; self.rawConfidence = confidence
            self.unsure = unsure; self.evidence = evidence
            self.coefficient = coefficient
            self.layers = layers
        }
    }

    /// What the recovery weighed when it chose an edge parent → child, kept for a person who
    /// checks the edge (the HTML picture shows it on a click): facts the recovery had at hand,
    /// which the pictures present and never recompute. Not in the JSON document (yet).
    public struct EdgeEvidence: Sendable, Equatable {
        /// Votes of the direction tensors (`DirectionEvidence`) for parent → child.
        public struct Votes: Sendable, Equatable {
            /// Tensors that agree with the edge's direction; a tie counts half.
            public var agreeing: Double
            /// Tensors whose values were defined (finite) in both models.
            public var total: Int
            public init(agreeing: Double, total: Int) { self.agreeing = agreeing; self.total = total }
        }

        /// Another parent the child could have had.
        public struct Alternative: Sendable, Equatable {
            /// A model index.
            public var parent: Int
            /// Its distance to the child, in the graph's metric.
            public var distance: Double
            public init(parent: Int, distance: Double) { self.parent = parent; self.distance = distance }
        }

        /// The child's parent in the best tree without this edge (the tree the confidence is
        /// measured against, `TreeSolver.confidences`); nil when that tree makes the child its
        /// root (the edge reversed).
        public var runnerUp: Alternative?
        /// Kurtosis in the order the tree's direction expects (the parent's higher when
        /// fine-tuning lowers kurtosis, lower otherwise); nil when no tensor had a kurtosis.
        public var kurtosisVotes: Votes?
        /// The child's squared norm the larger (in either direction); nil when none was finite.
        public var normVotes: Votes?
        /// Under the rank metric: the largest numerical rank of the difference over the tensors
        /// (a merged LoRA adapter's r); nil under other metrics.
        public var largestRank: Int?
        /// For a merge: √ of the mean squared residual of the fitted combination (RMS units),
        /// the same for each of the child's merge edges; nil for other types.
        public var residual: Double?
        /// For a merge: `residual` over the child's distance (same units) to its nearest model.
        public var residualRatio: Double?
        /// For a quantized copy: the share of the differing elements within half a step of the
        /// copy's grid from its parent (`QuantizedCopies`).
        public var gridShare: Double?

        public init(runnerUp: Alternative?, kurtosisVotes: Votes?, normVotes: Votes?, largestRank: Int?,
                    residual: Double? = nil, residualRatio: Double? = nil, gridShare: Double? = nil) {
            self.runnerUp = runnerUp; self.kurtosisVotes = kurtosisVotes; self.normVotes = normVotes; self.largestRank = largestRank
            self.residual = residual; self.residualRatio = residualRatio; self.gridShare = gridShare
        }
    }

    /// A family: the models reachable from one root.
    public struct Tree: Sendable, Equatable {
        /// Ascending model indices.
        public var members: [Int]
        public var root: Int
        /// The direction used (never `.auto`).
        public var direction: DirectionMode
        /// Whether `auto` could not tell the direction (and guessed).
        public var directionUnsure: Bool

        public init(members: [Int], root: Int, direction: DirectionMode, directionUnsure: Bool) {
            self.members = members; self.root = root; self.direction = direction; self.directionUnsure = directionUnsure
        }
    }

    /// The collection's models, in the caller's order, then the latent nodes (`Node.latent`).
    public let models: [Node]
    /// Grouped by child, ascending; a child's primary edge first.
    public let edges: [Edge]
    /// Ordered by their smallest member.
    public let trees: [Tree]
    /// Pairwise distances in `metric` (symmetric, zero diagonal; +infinity between models that
    /// were never compared: of different architectures, or of different families in an index),
    /// as one dense matrix, made on each use (n² values: prefer `distance(_:_:)` for large graphs).
    public var distances: SquareMatrix<Double> {
        var d = SquareMatrix<Double>(count: count, repeating: .infinity)
        for block in distanceBlocks {
            for (a, i) in block.members.enumerated() {
                for (b, j) in block.members.enumerated() { d[i, j] = block.matrix[a, b] }
            }
        }
        for i in 0..<count { d[i, i] = 0 }
        return d
    }

    /// The distance between models i and j in `metric`; +infinity when they were never compared.
    public func distance(_ i: Int, _ j: Int) -> Double {
        if i == j { return 0 }
        let (bi, a) = blockOf[i], (bj, b) = blockOf[j]
        return bi == bj && bi >= 0 ? distanceBlocks[bi].matrix[a, b] : .infinity
    }

    /// Models that were compared with one another, and their distances (local indices): the
    /// distances are kept per block, since a graph of a large index compares models only within
    /// their families.
    struct DistanceBlock: Sendable {
        var members: [Int]
        var matrix: SquareMatrix<Double>
    }

    let distanceBlocks: [DistanceBlock]
    /// Per model: its block and its index in it; (−1, −1) for a model in none.
    private let blockOf: [(Int, Int)]
    /// Names of the tensors used.
    public let tensors: [String]
    /// The metric used (never `.auto`).
    public let metric: Metric
    /// Notes for the user (skipped tensors, duplicates, unsure decisions).
    public let warnings: [String]
    /// The confidence below which an edge was judged unsure (`Calibration.unsureThreshold`).
    public let unsureThreshold: Double
    /// Tensors of exports that were compared under another name (`TensorMatching`): by name
    /// with a prefix dropped, or by content. Tensors not listed were compared under their own name.
    public internal(set) var tensorMatches: [TensorMatch] = []
    /// Groups of models with identical weights in every tensor compared (ascending indices, the
    /// group's stand-in first; `Duplicates`). Each other member hangs from the stand-in by an
    /// edge that is not a relation: outputs show the group instead, and scoring skips the edge.
    public internal(set) var duplicates: [[Int]] = []
    /// Every claim the models' files make about their origin, judged against the recovered
    /// edges (`Audit`), in model order; empty for models given in memory. Claims never place an edge.
    public internal(set) var audit: [AuditEntry] = []
    /// Models read from a path whose files claim nothing about their origin (ascending).
    public internal(set) var unclaimed: [Int] = []

    /// The primary edge into each model (an index into `edges`), nil for a root.
    private let primary: [Int?]
    /// The tree of each model.
    private let treeIndex: [Int]

    /// Checks that the parts make a graph: indices in range, edges grouped by child and within
    /// one tree, trees that partition the models, each with its root among its members and
    /// without a primary edge, a distance matrix of the models' size.
    /// - Throws: `.internal` naming the first inconsistency (the engine's own bug).
    public init(models: [Node], edges: [Edge], trees: [Tree], distances: SquareMatrix<Double>, tensors: [String],
                metric: Metric, warnings: [String], unsureThreshold: Double) throws {
        guard distances.count == models.count else {
            throw ModelTreeError.internal("inconsistent graph: a \(distances.count) × \(distances.count) distance matrix for \(models.count) models")
        }
        try self.init(models: models, edges: edges, trees: trees,
                      distanceBlocks: [DistanceBlock(members: Array(models.indices), matrix: distances)],
                      tensors: tensors, metric: metric, warnings: warnings, unsureThreshold: unsureThreshold)
    }

    /// A graph whose distances are known within blocks of models only (see `distance(_:_:)`).
    init(models: [Node], edges: [Edge], trees: [Tree], distanceBlocks: [DistanceBlock], tensors: [String],
         metric: Metric, warnings: [String], unsureThreshold: Double) throws {
        let n = models.count
        func bad(_ what: String) -> ModelTreeError { .internal("inconsistent graph: \(what)") }
        var blockOf = [(Int, Int)](repeating: (-1, -1), count: n)
        for (k, block) in distanceBlocks.enumerated() {
            guard block.matrix.count == block.members.count else { throw bad("distance block \(k) has the wrong size") }
            for (local, m) in block.members.enumerated() {
                guard m >= 0, m < n, blockOf[m].0 < 0 else { throw bad("model \(m) is out of range or in two distance blocks") }
                blockOf[m] = (k, local)
            }
        }
        var treeIndex = [Int](repeating: -1, count: n)
        for (t, tree) in trees.enumerated() {
            guard !tree.members.isEmpty, zip(tree.members, tree.members.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw bad("tree \(t) has no members or unsorted ones")
            }
            guard t == 0 || trees[t - 1].members[0] < tree.members[0] else { throw bad("trees out of order") }
            for m in tree.members {
                guard m >= 0, m < n, treeIndex[m] < 0 else { throw bad("model \(m) of tree \(t) is out of range or in two trees") }
                treeIndex[m] = t
            }
            guard tree.members.contains(tree.root) else { throw bad("the root of tree \(t) is not a member") }
        }
        guard !treeIndex.contains(-1) else { throw bad("a model belongs to no tree") }
        var primary = [Int?](repeating: nil, count: n)
        for (k, e) in edges.enumerated() {
            guard e.parent >= 0, e.parent < n, e.child >= 0, e.child < n, e.parent != e.child else {
                throw bad("edge \(k) (\(e.parent) -> \(e.child)) is out of range")
            }
            guard k == 0 || edges[k - 1].child <= e.child else { throw bad("edges are not grouped by child") }
            guard treeIndex[e.parent] == treeIndex[e.child] else { throw bad("edge \(k) joins two trees") }
            // A latent node was never compared with anything: its edges stand on its children's distances.
            // A layer subset joins two architectures, compared layer by layer (`LayerSubsets`).
            // An adapter is compared with its base by `AdapterAttachment`, outside the blocks.
            guard blockOf[e.parent].0 == blockOf[e.child].0 || models[e.parent].latent || models[e.child].latent
                    || e.type == .layerSubset || e.type == .adapter else {
                throw bad("edge \(k) joins models never compared")
            }
            if let other = e.evidence?.runnerUp?.parent, other < 0 || other >= n || other == e.child || other == e.parent {
                throw bad("edge \(k) names model \(other) as its runner-up parent")
            }
            if primary[e.child] == nil { primary[e.child] = k }
        }
        for tree in trees where primary[tree.root] != nil { throw bad("the root \(tree.root) has a parent") }
        self.models = models
        self.edges = edges
        self.trees = trees
        self.distanceBlocks = distanceBlocks
        self.blockOf = blockOf
        self.tensors = tensors
        self.metric = metric
        self.warnings = warnings
        self.unsureThreshold = unsureThreshold
        self.primary = primary
        self.treeIndex = treeIndex
    }

    /// The number of models.
    public var count: Int { models.count }
    /// The models' ids, in index order.
    public var ids: [String] { models.map(\.id) }

    /// The primary edge into `child`; nil for a root.
    public func primaryEdge(into child: Int) -> Edge? { primary[child].map { edges[$0] } }
    /// The primary parent of `child`; nil for a root.
    public func primaryParent(of child: Int) -> Int? { primary[child].map { edges[$0].parent } }
    /// The primary parent of every model, −1 for a root (scipy's `linkage`-like flat form).
    public var parents: [Int] { primary.map { $0.map { edges[$0].parent } ?? -1 } }
    /// Every edge into `child`, its primary one first.
    public func edges(into child: Int) -> ArraySlice<Edge> {
        guard let first = primary[child] else { return [] }
        var end = first
        while end < edges.count && edges[end].child == child { end += 1 }
        return edges[first..<end]
    }
    /// The group of `duplicates` holding `model`, nil when it has no copy.
    public func duplicateGroup(of model: Int) -> Int? { duplicates.firstIndex { $0.contains(model) } }
    /// Whether `edge` only hangs a copy from its duplicate group's stand-in: not a relation.
    public func joinsCopies(_ edge: Edge) -> Bool {
        guard let g = duplicateGroup(of: edge.child) else { return false }
        return duplicates[g].contains(edge.parent)
    }
    /// The edges that are relations (`edges` without those inside a duplicate group).
    public var relations: [Edge] { duplicates.isEmpty ? edges : edges.filter { !joinsCopies($0) } }
    /// The index in `trees` of the tree holding `model`.
    public func tree(of model: Int) -> Int { treeIndex[model] }
    /// The root of each tree, in the order of `trees`.
    public var roots: [Int] { trees.map(\.root) }

    /// The same graph with `notes` put before its warnings (callers add what they know about
    /// the models' reading, such as `ModelLoader.survey`'s notes on entries left unread).
    public func prepending(warnings notes: [String]) throws -> ModelGraph {
        try replacing(warnings: notes + warnings)
    }

    /// The same graph with other edges, trees, warnings or unsure threshold, checked again by
    /// `init`; what the steps after it added (tensor matches, duplicate groups, the audit) kept.
    func replacing(edges: [Edge]? = nil, trees: [Tree]? = nil, warnings: [String]? = nil,
                   unsureThreshold: Double? = nil) throws -> ModelGraph {
        var graph = try ModelGraph(models: models, edges: edges ?? self.edges, trees: trees ?? self.trees,
                                   distanceBlocks: distanceBlocks, tensors: tensors, metric: metric,
                                   warnings: warnings ?? self.warnings, unsureThreshold: unsureThreshold ?? self.unsureThreshold)
        graph.tensorMatches = tensorMatches
        graph.duplicates = duplicates
        graph.audit = audit
        graph.unclaimed = unclaimed
        return graph
    }

    /// The same graph with the edges `leaves` added, and `notes` after its warnings: each edge's
    /// child, the only member of its tree, becomes a leaf of its parent's tree.
    /// - Throws: `.internal` when a child is not alone in its tree, or has two new edges.
    func attaching(_ leaves: [Edge], warnings notes: [String]) throws -> ModelGraph {
        var trees = self.trees
        var moved = Set<Int>()
        for e in leaves {
            let from = tree(of: e.child)
            guard trees[from].members == [e.child], moved.insert(e.child).inserted else {
                throw ModelTreeError.internal("inconsistent graph: model \(e.child) is attached as a leaf but is not alone in its tree")
            }
            trees[tree(of: e.parent)].members.append(e.child)
        }
        trees = trees.filter { !($0.members.count == 1 && moved.contains($0.root)) }.map { t in
            var t = t
            t.members.sort()
            return t
        }
        // Stable: a child's edges keep their order (its primary edge first).
        let byChild = (edges + leaves).enumerated().sorted { ($0.element.child, $0.offset) < ($1.element.child, $1.offset) }.map(\.element)
        return try replacing(edges: byChild, trees: trees.sorted { $0.members[0] < $1.members[0] }, warnings: warnings + notes)
    }

    /// Graphs of disjoint groups of models, put together in the caller's model order; pairs in
    /// different groups are at infinite distance. All parts must use the same metric to share a
    /// distance matrix; otherwise the first part's metric is reported and a warning says so.
    /// A part may hold latent nodes after its models (`LatentParents`): they come after all the
    /// parts' models, in part order, renamed `latent-1`, `latent-2` … (skipping ids the models
    /// use; warnings name a latent node by its children, so they need no renaming).
    static func sideBySide(_ parts: [(members: [Int], graph: ModelGraph)], count n: Int) throws -> ModelGraph {
        let latentCount = parts.reduce(0) { $0 + $1.graph.count - $1.members.count }
        var models = [Node](repeating: Node(id: "", path: nil, kurtosis: .nan), count: n + latentCount)
        var edges: [Edge] = [], trees: [Tree] = [], warnings: [String] = []
        var blocks: [DistanceBlock] = []
        var tensors = Set<String>()
        let metric = parts[0].graph.metric
        var nextLatent = n
        var latentNames = LatentNames(taken: parts.flatMap { $0.graph.models.filter { !$0.latent }.map(\.id) })
        for (given, part) in parts {
            // Local index → global: the models to the caller's places, latent nodes after them all.
            var members = given
            for local in given.count..<part.count {
                members.append(nextLatent)
                var node = part.models[local]
                node.id = latentNames.next()
                models[nextLatent] = node
                nextLatent += 1
            }
            for (local, global) in given.enumerated() { models[global] = part.models[local] }
            blocks += part.distanceBlocks.map { DistanceBlock(members: $0.members.map { members[$0] }, matrix: $0.matrix) }
            warnings += part.warnings
            edges += part.edges.map { e in
                var e = e
                e.parent = members[e.parent]
                e.child = members[e.child]
                if let alternative = e.evidence?.runnerUp { e.evidence?.runnerUp?.parent = members[alternative.parent] }
                return e
            }
            trees += part.trees.map { t in
                var t = t
                t.members = t.members.map { members[$0] }
                t.root = members[t.root]
                return t
            }
            tensors.formUnion(part.tensors)
            if part.metric != metric {
                warnings.append("trees use different metrics (\(metric.rawValue) and \(part.metric.rawValue)); distances are not comparable across them")
            }
        }
        // Stable: a child's edges keep their order (its primary edge first).
        let byChild = edges.enumerated().sorted { ($0.element.child, $0.offset) < ($1.element.child, $1.offset) }.map(\.element)
        var graph = try ModelGraph(models: models, edges: byChild, trees: trees.sorted { $0.members[0] < $1.members[0] },
                                   distanceBlocks: blocks, tensors: tensors.sorted(), metric: metric, warnings: warnings,
                                   unsureThreshold: parts[0].graph.unsureThreshold)
        graph.duplicates = parts.flatMap { members, part in part.duplicates.map { $0.map { members[$0] } } }
            .sorted { $0[0] < $1[0] }
        return graph
    }
}

/// Ids for latent nodes: `latent-1`, `latent-2` …, skipping any a model of the collection has.
struct LatentNames {
    private var taken: Set<String>
    private var counter = 0

    init(taken: [String]) { self.taken = Set(taken) }

    mutating func next() -> String {
        while true {
            counter += 1
            let id = "latent-\(counter)"
            if taken.insert(id).inserted { return id }
        }
    }

}
