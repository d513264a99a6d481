/// What a picture of a Model Graph shows: the one input of `Layout`, `Drawing.svg()` and
/// `Drawing.html()`.
///
/// A drawing knows nothing about how the graph was recovered. An adapter fills it from a graph
/// value: one node per model (and per latent parent), one edge per typed relation (a merge child
/// has one edge per parent), the families side by side, the groups of identical copies, and the
/// evidence the HTML view shows when a node or an edge is clicked. Every string is shown as given
/// (after control, bidi and invisible characters are made visible and markup is escaped), so a
/// hostile model id cannot break or disguise the picture.
public struct Drawing: Sendable, Equatable {
    /// How a node is drawn.
    public enum NodeKind: String, Sendable, CaseIterable {
        /// A model of the collection with a parent in it.
        case model
        /// A model with no parent in the collection: drawn with a heavy border.
        case root
        /// A parent that is not in the collection, inferred from the children it explains: drawn
        /// as a dashed pill.
        case latent
    }

    /// The relation an edge stands for (the shared contract's edge types, in the C enum's order).
    public enum EdgeType: String, Sendable, CaseIterable {
        /// Full fine-tuning, a merged LoRA, continued pre-training.
        case finetune
        /// An un-merged PEFT adapter.
        case adapter
        /// A lower-precision copy (GGUF, int8 exports, a BF16/F16 cast).
        case quantized
        /// One of several parents a merged model combines.
        case merge
        /// A smaller model initialised from some of the parent's layers.
        case layerSubset = "layer-subset"
    }

    /// One line of evidence: shown as a row of the HTML view's details table.
    public struct Fact: Sendable, Equatable {
        public var key: String
        public var value: String
        public init(_ key: String, _ value: String) { self.key = key; self.value = value }
    }

    public struct Node: Sendable, Equatable {
        /// The model id, searched for and shown in full on hover; nil for a node that is not a
        /// model of the collection (a latent parent).
        public var id: String?
        /// The label, one entry per line; the first is the title (the id for a model). Empty
        /// means the id alone.
        public var lines: [String]
        public var kind: NodeKind
        /// Index into `families`.
        public var family: Int
        /// What the HTML view lists when the node is clicked.
        public var evidence: [Fact]

        public init(id: String?, lines: [String] = [], kind: NodeKind = .model, family: Int, evidence: [Fact] = []) {
            self.id = id; self.lines = lines; self.kind = kind; self.family = family; self.evidence = evidence
        }

        /// The label lines, never empty.
        var label: [String] { lines.isEmpty ? [id ?? "?"] : lines }
    }

    public struct Edge: Sendable, Equatable {
        /// Indices into `nodes`; the edge is drawn from parent (above) to child (below).
        public var parent: Int
        public var child: Int
        public var type: EdgeType
        /// The label, one entry per line (e.g. the distance and the confidence).
        public var lines: [String]
        /// Drawn dashed: the edge is not to be trusted.
        public var unsure: Bool
        public var evidence: [Fact]

        public init(parent: Int, child: Int, type: EdgeType = .finetune, lines: [String] = [], unsure: Bool = false,
                    evidence: [Fact] = []) {
            self.parent = parent; self.child = child; self.type = type; self.lines = lines; self.unsure = unsure
            self.evidence = evidence
        }
    }

    /// A group of related models (a tree of the graph, or a connected group of a DAG), drawn in
    /// its own band beside the others.
    public struct Family: Sendable, Equatable {
        public var title: String
        public var evidence: [Fact]
        public init(title: String, evidence: [Fact] = []) { self.title = title; self.evidence = evidence }
    }

    /// The heading of the picture.
    public var title: String
    public var nodes: [Node]
    public var edges: [Edge]
    public var families: [Family]
    /// Groups of node indices with identical weights, each drawn as one box listing its members.
    public var duplicates: [[Int]]
    /// Shown under the picture and in the HTML view's side panel.
    public var warnings: [String]
    /// The score against a known graph, when there is one; empty otherwise.
    public var score: [Fact]
    /// What makes an edge unsure, for the legend (e.g. "unsure: confidence below 0.20").
    public var unsureLegend = "unsure"

    public init(title: String = "", nodes: [Node] = [], edges: [Edge] = [], families: [Family] = [],
                duplicates: [[Int]] = [], warnings: [String] = [], score: [Fact] = []) {
        self.title = title; self.nodes = nodes; self.edges = edges; self.families = families
        self.duplicates = duplicates; self.warnings = warnings; self.score = score
    }

    /// Throws `invalidArgument` naming the first index out of range, a self-loop, or a node in
    /// two duplicate groups. O(nodes + edges + duplicate members).
    public func validate() throws {
        for (i, node) in nodes.enumerated() where !families.indices.contains(node.family) {
            throw ModelTreeError.invalidArgument("drawing: node \(i) names family \(node.family) of \(families.count)")
        }
        for (k, e) in edges.enumerated() {
            guard nodes.indices.contains(e.parent), nodes.indices.contains(e.child) else {
                throw ModelTreeError.invalidArgument("drawing: edge \(k) joins nodes \(e.parent) and \(e.child) of \(nodes.count)")
            }
            if e.parent == e.child { throw ModelTreeError.invalidArgument("drawing: edge \(k) joins node \(e.parent) to itself") }
        }
        var seen = [Bool](repeating: false, count: nodes.count)
        for (g, group) in duplicates.enumerated() {
            for i in group {
                guard nodes.indices.contains(i) else {
                    throw ModelTreeError.invalidArgument("drawing: duplicate group \(g) names node \(i) of \(nodes.count)")
                }
                if seen[i] { throw ModelTreeError.invalidArgument("drawing: node \(i) is in two duplicate groups") }
                seen[i] = true
            }
        }
    }
}
